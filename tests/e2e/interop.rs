//! Interop with the official Fabric Gateway SDK for Node: it evaluates,
//! submits, waits for commit and reads events on the devnet, reads back what
//! the Rust client wrote; then the Rust client reads what Node wrote.

use crate::{key, trial, Net, TestFn};
use anyhow::{bail, ensure, Result};
use healthblock_tests::KV;

pub(crate) fn trials() -> Vec<(&'static str, TestFn)> {
    vec![
        trial("interop::official_node_gateway_sdk", node_sdk),
        trial("interop::ledger_verify_accepts_chain", ledger_verify),
    ]
}

async fn node_sdk(net: Net) -> Result<()> {
    let gw = net.gateway("User1@Hospital1").await?;
    let contract = gw.network(&net.consortium.channel).contract(KV);
    let (rust_key, rust_value) = (key("from-rust"), "written by the Rust client");
    contract
        .submit("put", [rust_key.as_str(), rust_value])
        .await?;

    let org = net.org("Hospital1")?;
    let user_dir = net.layout.user_msp_dir(org, "User1");
    let first_file = |dir: std::path::PathBuf| -> Result<std::path::PathBuf> {
        Ok(std::fs::read_dir(&dir)?
            .next()
            .ok_or_else(|| anyhow::anyhow!("empty {}", dir.display()))??
            .path())
    };
    // Blocks are for peers and admins (the channel's ACLs): the Node test
    // reads them as Hospital1's admin and checks that the client is refused.
    let admin_dir = net.layout.user_msp_dir(org, "Admin");
    let (node_key, node_value) = (key("from-node"), "written by the official Node SDK");
    let output = healthblock_tests::node_sdk(
        &net,
        org,
        &first_file(user_dir.join("signcerts"))?,
        &first_file(user_dir.join("keystore"))?,
        &["--test", "interop.test.mjs"],
    )?
    .env("HB_CHAINCODE", KV)
    .env("HB_RUST_KEY", &rust_key)
    .env("HB_RUST_VALUE", rust_value)
    .env("HB_NODE_KEY", &node_key)
    .env("HB_NODE_VALUE", node_value)
    .env("HB_ADMIN_CERT", first_file(admin_dir.join("signcerts"))?)
    .env("HB_ADMIN_KEY", first_file(admin_dir.join("keystore"))?)
    // The timeout below drops the child: kill it rather than leave it running.
    .kill_on_drop(true)
    .output();
    let output = tokio::time::timeout(NODE_TIMEOUT, output)
        .await
        .map_err(|_| anyhow::anyhow!("the Node SDK tests did not finish in {NODE_TIMEOUT:?}"))??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "the Node SDK tests failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let want = node_test_count()?;
    check_tap_summary(&stdout, want)?;
    let read = contract.evaluate("get", [node_key.as_str()]).await?;
    ensure!(
        read == node_value.as_bytes(),
        "Rust read {:?} for the key Node wrote",
        String::from_utf8_lossy(&read)
    );
    Ok(())
}

/// Bound on the whole Node run (each of its tests has its own 90 s bound).
const NODE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(240);

/// How many tests interop.test.mjs declares (top-level `test(` calls), so a
/// test that silently stops running is noticed.
fn node_test_count() -> Result<u64> {
    let path = healthblock_tests::repo_root().join("tests/node/interop.test.mjs");
    let text = std::fs::read_to_string(&path)?;
    let n = text.lines().filter(|l| l.starts_with("test(")).count() as u64;
    ensure!(n > 0, "no test( in {}", path.display());
    Ok(n)
}

/// node:test's closing TAP summary: every declared test passed, none failed,
/// was cancelled, skipped or left as todo.
fn check_tap_summary(stdout: &str, want: u64) -> Result<()> {
    let field = |name: &str| -> Option<u64> {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("# {name} ")))
            .and_then(|v| v.trim().parse().ok())
    };
    for (name, expected) in [
        ("tests", want),
        ("pass", want),
        ("fail", 0),
        ("cancelled", 0),
        ("skipped", 0),
        ("todo", 0),
    ] {
        ensure!(
            field(name) == Some(expected),
            "node test summary: `# {name}` is {:?}, want {expected}:\n{stdout}",
            field(name)
        );
    }
    Ok(())
}

/// `healthblock ledger verify` walks the backend's chain from block 0: hash
/// links, data hashes and orderer signatures, on every peer.
pub(crate) async fn ledger_verify(net: Net) -> Result<()> {
    // At least one transaction beyond the lifecycle's blocks.
    let gw = net.gateway("User1@Hospital1").await?;
    gw.network(&net.consortium.channel)
        .contract(KV)
        .submit("put", [key("verify").as_str(), "v"])
        .await?;
    for (org, peer) in net.peers() {
        let who = format!("Admin@{}", org.name);
        let out = net.cli_ok(&[
            "ledger",
            "verify",
            "--as",
            &who,
            "--peer",
            &org.fqdn(peer),
            "--json",
        ])?;
        let report: serde_json::Value = serde_json::from_str(&out)?;
        ensure!(
            report["ok"] == true,
            "ledger verify on {}: {report}",
            org.fqdn(peer)
        );
        ensure!(
            report["height"].as_u64().unwrap_or(0) >= 5,
            "short chain: {report}"
        );
    }
    Ok(())
}
