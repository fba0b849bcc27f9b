//! Interop with the official Fabric Gateway SDK for Node: it evaluates,
//! submits, waits for commit and reads events on the devnet, reads back what
//! the Rust client wrote; then the Rust client reads what Node wrote.

use crate::{key, trial, Net, TestFn};
use anyhow::{bail, ensure, Result};
use healthblock_tests::KV;

pub fn trials() -> Vec<(&'static str, TestFn)> {
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
    .output()
    .await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "the Node SDK tests failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    ensure!(
        stdout.contains("# fail 0"),
        "unexpected node test output:\n{stdout}"
    );
    let read = contract.evaluate("get", [node_key.as_str()]).await?;
    ensure!(
        read == node_value.as_bytes(),
        "Rust read {:?} for the key Node wrote",
        String::from_utf8_lossy(&read)
    );
    Ok(())
}

/// `healthblock ledger verify` walks the backend's chain from block 0: hash
/// links, data hashes and orderer signatures, on every peer.
pub async fn ledger_verify(net: Net) -> Result<()> {
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
