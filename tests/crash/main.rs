//! Crash safety: kill -9 the devnet under load, start it again, and check that
//! every transaction whose commit the client saw is on every peer, that all
//! peers agree on the height, and that `ledger verify` accepts each chain.
//! The fault is proven, not assumed: `kill` succeeded, the old pid is gone,
//! submissions failed during the outage, and a new pid serves afterwards.

use anyhow::{ensure, Context, Result};
use healthblock_network::pid;
use healthblock_tests::{TestNet, KV};
use libtest_mimic::{Arguments, Failed, Trial};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PORT_OFFSET: u16 = 21000;
const WORKERS: usize = 16;
/// How long a submitter waits for one commit status.
const STATUS_WAIT: Duration = Duration::from_secs(10);

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

/// Bound on every wait for a condition below.
const WAIT: Duration = Duration::from_secs(60);
/// Commits the load must have seen before the kill.
const COMMITS_BEFORE_KILL: usize = 50;

/// What the load generator saw.
#[derive(Default)]
struct Seen {
    /// (key, value) of every transaction whose VALID commit the client saw.
    committed: Mutex<Vec<(String, String)>>,
    /// Submissions or commit-status waits that failed.
    failed: AtomicUsize,
}

impl Seen {
    fn committed(&self) -> usize {
        self.committed.lock().map(|c| c.len()).unwrap_or(0)
    }
}

/// Polls `cond` every 50 ms until it holds; fails with `what` after WAIT.
async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) -> Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond() {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "timed out after {WAIT:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

async fn kill_and_recover(net: &TestNet) -> Result<()> {
    let seen: Arc<Seen> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let gw = net.gateway("User1@Hospital1").await?;
        let contract = gw.network(&net.consortium.channel).contract(KV);
        let (seen, stop) = (seen.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let _gw = gw;
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let (k, v) = (format!("crash-{w}-{i}"), format!("value-{i}"));
                i += 1;
                let outcome = async {
                    let sub = contract
                        .submit_async("put", [k.as_str(), v.as_str()])
                        .await?;
                    // A transaction the dead devnet took but never committed has no status to give.
                    tokio::time::timeout(STATUS_WAIT, sub.status())
                        .await
                        .map_err(|_| anyhow::anyhow!("no commit status in {STATUS_WAIT:?}"))?
                        .map_err(anyhow::Error::from)
                }
                .await;
                match outcome {
                    Ok(status) if status.is_valid() => {
                        if let Ok(mut c) = seen.committed.lock() {
                            c.push((k, v));
                        }
                    }
                    _ => {
                        seen.failed.fetch_add(1, Ordering::Relaxed);
                        // Do not spin on a dead endpoint.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        }));
    }
    wait_until(
        &format!("{COMMITS_BEFORE_KILL} commits before the kill"),
        || seen.committed() >= COMMITS_BEFORE_KILL,
    )
    .await?;
    let old_pid = net.devnet_pid()?;
    let old = u32::try_from(old_pid)?;
    ensure!(
        pid::is_alive(old),
        "the devnet pid {old} is not running before the kill"
    );
    let failed_before = seen.failed.load(Ordering::Relaxed);
    let killed = std::process::Command::new("kill")
        .args(["-9", &old.to_string()])
        .status()?;
    ensure!(killed.success(), "kill -9 {old} failed: {killed}");
    wait_until(&format!("the devnet pid {old} is gone"), || {
        !pid::is_alive(old)
    })
    .await?;
    // The outage is real: submissions fail while nothing serves.
    wait_until("submissions fail during the outage", || {
        seen.failed.load(Ordering::Relaxed) > failed_before
    })
    .await?;
    stop.store(true, Ordering::Relaxed);
    for (w, worker) in workers.into_iter().enumerate() {
        // A worker's loop ends within STATUS_WAIT of `stop`; one that does not is hung.
        tokio::time::timeout(STATUS_WAIT + Duration::from_secs(20), worker)
            .await
            .map_err(|_| anyhow::anyhow!("load worker {w} hung after the stop"))?
            .map_err(|e| anyhow::anyhow!("load worker {w} panicked: {e}"))?;
    }
    let seen_commits = seen.committed.lock().map(|c| c.clone()).unwrap_or_default();
    let failed = seen.failed.load(Ordering::Relaxed);
    eprintln!(
        "{} commits seen by the client, {} failed submissions ({} after the kill of pid {old})",
        seen_commits.len(),
        failed,
        failed - failed_before
    );

    let up = net.cli_ok(&["network", "up"])?;
    eprintln!("restart: {}", up.trim());
    let new = u32::try_from(net.devnet_pid()?)?;
    ensure!(
        new != old && pid::is_alive(new),
        "after `network up` the devnet pid is {new} (killed: {old}, running: {})",
        pid::is_alive(new)
    );

    let mut heights = Vec::new();
    for (org, peer) in net.peers() {
        // An admin: the height below is read through Deliver, which the
        // channel's ACLs give to peers and admins only.
        let gw = net
            .gateway_on(net.identity(&format!("Admin@{}", org.name))?, org, peer)
            .await?;
        let network = gw.network(&net.consortium.channel);
        let contract = network.contract(KV);
        for (k, v) in &seen_commits {
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
    // (Checked after the heights, which it would change.) The new process serves: a fresh transaction commits through it.
    let gw = net.gateway("User1@Hospital3").await?;
    gw.network(&net.consortium.channel)
        .contract(KV)
        .submit("put", ["after-the-crash", "served"])
        .await
        .context("submit through the restarted devnet")?;
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
