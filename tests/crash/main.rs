//! Crash safety: kill -9 the devnet under load, start it again, and check that
//! every transaction whose commit the client saw is on every peer, that all
//! peers agree on the height, and that `ledger verify` accepts each chain.

use anyhow::{ensure, Context, Result};
use healthblock_tests::{TestNet, KV};
use libtest_mimic::{Arguments, Failed, Trial};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PORT_OFFSET: u16 = 21000;
const WORKERS: usize = 16;

fn main() {
    let args = Arguments::from_args();
    let trial = Trial::test("crash::kill9_under_load_loses_no_commit", || {
        let runtime = tokio::runtime::Runtime::new().map_err(|e| Failed::from(e.to_string()))?;
        let net = TestNet::start(PORT_OFFSET).map_err(|e| Failed::from(format!("{e:#}")))?;
        runtime
            .block_on(kill_and_recover(&net))
            .map_err(|e| Failed::from(format!("{e:#}")))?;
        // The recovered network also takes a new chaincode definition.
        runtime
            .block_on(redeploy(&net))
            .map_err(|e| Failed::from(format!("{e:#}")))
    });
    libtest_mimic::run(&args, vec![trial]).exit();
}

async fn kill_and_recover(net: &TestNet) -> Result<()> {
    let committed: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let gw = net.gateway("User1@Hospital1").await?;
        let contract = gw.network(&net.consortium.channel).contract(KV);
        let committed = committed.clone();
        let stop = stop.clone();
        workers.push(tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let (k, v) = (format!("crash-{w}-{i}"), format!("value-{i}"));
                i += 1;
                let Ok(sub) = contract.submit_async("put", [k.as_str(), v.as_str()]).await else {
                    continue;
                };
                if let Ok(status) = sub.status().await {
                    if status.is_valid() {
                        committed.lock().map(|mut c| c.push((k, v))).ok();
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pid = net.devnet_pid()?;
    let before = committed.lock().map(|c| c.len()).unwrap_or(0);
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        let _ = tokio::time::timeout(Duration::from_secs(30), w).await;
    }
    let seen = committed.lock().map(|c| c.clone()).unwrap_or_default();
    ensure!(
        before > 0,
        "no transaction committed before the kill: the load did not run"
    );
    eprintln!(
        "{} commits seen by the client before and around the kill",
        seen.len()
    );

    let up = net.cli_ok(&["network", "up"])?;
    eprintln!("restart: {}", up.trim());

    let mut heights = Vec::new();
    for (org, peer) in net.peers() {
        let gw = net
            .gateway_on(net.identity(&format!("User1@{}", org.name))?, org, peer)
            .await?;
        let network = gw.network(&net.consortium.channel);
        let contract = network.contract(KV);
        for (k, v) in &seen {
            let read = contract
                .evaluate("get", [k.as_str()])
                .await
                .with_context(|| format!("read {k} on {}", org.fqdn(peer)))?;
            ensure!(
                read == v.as_bytes(),
                "{} lost committed {k}: reads {:?}",
                org.fqdn(peer),
                String::from_utf8_lossy(&read)
            );
        }
        heights.push(network.block_height().await?);
        let peer_arg = peer.name.clone();
        let verify = net.cli_ok(&[
            "ledger",
            "verify",
            "--as",
            &format!("Admin@{}", org.name),
            "--peer",
            &peer_arg,
            "--json",
        ])?;
        let report: serde_json::Value = serde_json::from_str(&verify)?;
        ensure!(
            report["ok"] == true,
            "ledger verify on {}: {verify}",
            org.fqdn(peer)
        );
    }
    ensure!(
        heights.windows(2).all(|w| w[0] == w[1]),
        "peer heights differ after recovery: {heights:?}"
    );
    Ok(())
}

/// A redeploy commits sequence 2 and transactions keep committing on the new package.
async fn redeploy(net: &TestNet) -> Result<()> {
    let out = net.cli_ok(&[
        "chaincode",
        "deploy",
        "--name",
        KV,
        "--version",
        "2.0",
        "--json",
    ])?;
    let report: serde_json::Value = serde_json::from_str(&out)?;
    ensure!(report["sequence"] == 2, "redeploy: {out}");
    let gw = net.gateway("User1@Hospital2").await?;
    let contract = gw.network(&net.consortium.channel).contract(KV);
    contract.submit("put", ["after-redeploy", "v2"]).await?;
    ensure!(contract.evaluate("get", ["after-redeploy"]).await? == b"v2");
    Ok(())
}
