//! Robustness of the consortium on real Fabric (runs where `FABRIC_BIN` and
//! `FABRIC_CFG_PATH` are set, otherwise each trial is reported as skipped with
//! the reason):
//! - the whole network restarts with nothing lost and equal heights;
//! - one of three Raft orderers (the leader) is killed under load and restarted:
//!   every transaction whose commit the client saw is on every peer;
//! - one Hospital1 peer stops: the gateway on the other keeps serving, and the
//!   stopped peer catches up when it is back.

mod load;

use anyhow::{anyhow, ensure, Context, Result};
use healthblock_network::consortium::Backend;
use healthblock_network::fabric_process::{nodes, probe, process::running_pid, FabricNode};
use healthblock_network::pid;
use healthblock_tests::{fabric_unavailable, report_fabric_skipped, skipped_trial, TestNet, KV};
use libtest_mimic::{Arguments, Failed, Trial};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

const PORT_OFFSET: u16 = 10000;

type Case = fn(&TestNet) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + '_>>;

fn cases() -> Vec<(&'static str, Case)> {
    vec![
        ("robust::restart_whole_network", |n| {
            Box::pin(restart_whole_network(n))
        }),
        ("robust::kill_orderer_leader_under_load", |n| {
            Box::pin(kill_orderer_under_load(n))
        }),
        ("robust::one_hospital1_peer_down", |n| {
            Box::pin(one_peer_down(n))
        }),
    ]
}

fn main() {
    let mut args = Arguments::from_args();
    // The trials stop and start nodes of one shared network: one at a time.
    args.test_threads = Some(1);
    let skip = fabric_unavailable();
    let net: Arc<OnceLock<Result<TestNet, String>>> = Arc::default();
    let trials = cases()
        .into_iter()
        .map(|(name, case)| {
            if let Some(reason) = &skip {
                return skipped_trial(name, reason.clone());
            }
            let net = net.clone();
            Trial::test(name, move || {
                let net = net
                    .get_or_init(|| {
                        TestNet::start_on(Backend::Fabric, PORT_OFFSET)
                            .map_err(|e| format!("{e:#}"))
                    })
                    .as_ref()
                    .map_err(|e| Failed::from(format!("the fabric network did not start: {e}")))?;
                let runtime =
                    tokio::runtime::Runtime::new().map_err(|e| Failed::from(e.to_string()))?;
                runtime
                    .block_on(case(net))
                    .map_err(|e| Failed::from(format!("{e:#}")))
            })
        })
        .collect();
    if let Some(reason) = &skip {
        report_fabric_skipped("fabric_robustness (every trial)", reason);
    }
    let conclusion = libtest_mimic::run(&args, trials);
    drop(net);
    conclusion.exit();
}

/// The orderer or peer named `name` (fully qualified) of the running network.
fn node(net: &TestNet, name: &str) -> Result<FabricNode> {
    nodes(&net.consortium, &net.layout)
        .into_iter()
        .find(|n| n.name == name)
        .ok_or_else(|| anyhow!("no node {name}"))
}

/// Sends `sig` to the node's process (from its pid file) and returns that pid;
/// fails unless `kill` succeeded.
fn signal(net: &TestNet, node: &FabricNode, sig: &str) -> Result<u32> {
    let pid = running_pid(&net.layout, node)?
        .ok_or_else(|| anyhow!("{} has no running process to signal", node.name))?;
    let status = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()?;
    ensure!(
        status.success(),
        "kill {sig} {pid} ({}) failed: {status}",
        node.name
    );
    Ok(pid)
}

/// Polls `cond` every 200 ms until it holds; fails naming `what` after `limit`.
async fn wait_until<F, Fut>(what: &str, limit: Duration, mut cond: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !cond().await {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// Waits until the node's old process `old` is gone and its gRPC port refuses.
async fn wait_down(node: &FabricNode, old: u32) -> Result<()> {
    wait_until(
        &format!("{} (pid {old}) is down", node.name),
        Duration::from_secs(60),
        || async { !pid::is_alive(old) && !probe::accepts_tcp(&node.address).await },
    )
    .await
}

/// After `network up`: the node runs under a new pid (not `old`) and its port accepts.
async fn check_restarted(net: &TestNet, node: &FabricNode, old: u32) -> Result<u32> {
    let new = running_pid(&net.layout, node)?
        .ok_or_else(|| anyhow!("{} does not run after `network up`", node.name))?;
    ensure!(
        new != old,
        "{} still has pid {old} after `network up`",
        node.name
    );
    ensure!(
        probe::accepts_tcp(&node.address).await,
        "{} (new pid {new}) does not accept on {}",
        node.name,
        node.address
    );
    Ok(new)
}

/// `healthblock network status --json`.
fn status(net: &TestNet) -> Result<serde_json::Value> {
    // A non-zero exit only means some node is down; the JSON is still printed.
    let out = net.cli(&["network", "status", "--json"])?;
    serde_json::from_slice(&out.stdout).context("status --json did not print JSON")
}

/// Heights of every peer, read through Deliver on that peer.
async fn peer_heights(net: &TestNet) -> Result<Vec<u64>> {
    let mut heights = Vec::new();
    for (org, peer) in net.peers() {
        let gw = net
            .gateway_on(net.identity(&format!("Admin@{}", org.name))?, org, peer)
            .await?;
        heights.push(gw.network(&net.consortium.channel).block_height().await?);
    }
    Ok(heights)
}

/// Waits (bounded) until every peer has the same height, at least `min`.
async fn wait_equal_heights(net: &TestNet, min: u64) -> Result<u64> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let heights = peer_heights(net).await.unwrap_or_default();
        if heights.len() == net.peers().len()
            && heights.windows(2).all(|w| w[0] == w[1])
            && heights[0] >= min
        {
            return Ok(heights[0]);
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "peer heights did not converge to >= {min} in 90 s: {heights:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Validation code of every transaction on one peer's chain, read through its Deliver.
async fn tx_codes_on(
    net: &TestNet,
    org_name: &str,
    peer_name: &str,
) -> Result<HashMap<String, i32>> {
    use futures::StreamExt;
    let org = net.org(org_name)?;
    let peer = org
        .peers
        .iter()
        .find(|p| p.name == peer_name)
        .ok_or_else(|| anyhow!("no peer {peer_name}"))?;
    let gw = net
        .gateway_on(net.identity(&format!("Admin@{}", org.name))?, org, peer)
        .await?;
    let network = gw.network(&net.consortium.channel);
    let height = network.block_height().await?;
    let mut blocks = network.filtered_block_events(Some(0)).await?;
    let mut codes = HashMap::new();
    while let Some(block) = tokio::time::timeout(Duration::from_secs(30), blocks.next())
        .await
        .map_err(|_| anyhow!("{peer_name}.{org_name}: block stream stalled"))?
    {
        let block = block?;
        for tx in &block.filtered_transactions {
            codes.insert(tx.txid.clone(), tx.tx_validation_code);
        }
        if block.number + 1 >= height {
            break;
        }
    }
    Ok(codes)
}

async fn restart_whole_network(net: &TestNet) -> Result<()> {
    let gw = net.gateway("User1@Hospital2").await?;
    let contract = gw.network(&net.consortium.channel).contract(KV);
    contract.submit("put", ["before-restart", "kept"]).await?;
    let before = wait_equal_heights(net, 1).await?;
    let all = nodes(&net.consortium, &net.layout);
    let mut old = Vec::new();
    for n in &all {
        old.push(
            running_pid(&net.layout, n)?
                .ok_or_else(|| anyhow!("{} is not running before the restart", n.name))?,
        );
    }
    net.cli_ok(&["network", "down"])?;
    for (n, pid) in all.iter().zip(&old) {
        wait_down(n, *pid).await?;
    }
    let started = std::time::Instant::now();
    net.cli_ok(&["network", "up"])?;
    eprintln!("whole-network restart: ready in {:.1?}", started.elapsed());
    for (n, pid) in all.iter().zip(&old) {
        check_restarted(net, n, *pid).await?;
    }
    let after = wait_equal_heights(net, before).await?;
    ensure!(
        after == before,
        "height changed across a restart: {before} -> {after}"
    );
    let gw = net.gateway("User1@Hospital3").await?;
    let contract = gw.network(&net.consortium.channel).contract(KV);
    ensure!(contract.evaluate("get", ["before-restart"]).await? == b"kept");
    contract.submit("put", ["after-restart", "new"]).await?;
    wait_equal_heights(net, after + 1).await?;
    Ok(())
}

async fn kill_orderer_under_load(net: &TestNet) -> Result<()> {
    let leader = status(net)?["nodes"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|n| n["leader"] == true))
        .and_then(|n| n["name"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("status --json names no Raft leader"))?;
    let victim = node(net, &leader)?;
    let load = load::Load::start(net, 8).await?;
    wait_until(
        "20 commits before the kill",
        Duration::from_secs(60),
        || async { load.seen() >= 20 },
    )
    .await?;
    let (before_kill, failed_before) = (load.seen(), load.failed());
    let old = signal(net, &victim, "-KILL")?;
    eprintln!("killed the Raft leader {leader} (pid {old}) after {before_kill} commits");
    wait_down(&victim, old).await?;
    // Raft elects a new leader among the two left within its election timeout.
    wait_until(
        "another orderer leads the channel",
        Duration::from_secs(60),
        || async {
            status(net).is_ok_and(|st| {
                st["nodes"].as_array().is_some_and(|nodes| {
                    nodes.iter().any(|n| {
                        n["leader"] == true
                            && n["up"] == true
                            && n["name"].as_str() != Some(&leader)
                    })
                })
            })
        },
    )
    .await?;
    wait_until(
        "commits resume after the kill",
        Duration::from_secs(90),
        || async { load.seen() >= before_kill + 20 },
    )
    .await?;
    let failed = load.failed() - failed_before;
    let seen = load.stop().await?;
    eprintln!(
        "{} commits in all, {failed} submissions failed after the kill",
        seen.len()
    );
    net.cli_ok(&["network", "up"])?;
    check_restarted(net, &victim, old).await?;
    let st = status(net)?;
    ensure!(
        st["nodes"]
            .as_array()
            .is_some_and(|n| n.iter().all(|n| n["up"] == true)),
        "not every node is up after the restart: {st}"
    );
    let height = wait_equal_heights(net, 1).await?;
    for (org, peer) in net.peers() {
        let codes = tx_codes_on(net, &org.name, &peer.name).await?;
        for txid in &seen {
            ensure!(
                codes.get(txid) == Some(&0),
                "{} lacks committed tx {txid} (code {:?})",
                org.fqdn(peer),
                codes.get(txid)
            );
        }
    }
    eprintln!(
        "{} seen commits on all 4 peers at height {height}",
        seen.len()
    );
    Ok(())
}

async fn one_peer_down(net: &TestNet) -> Result<()> {
    let h1 = net.org("Hospital1")?;
    let (peer0, peer1) = (&h1.peers[0], &h1.peers[1]);
    let victim = node(net, &h1.fqdn(peer0))?;
    let old = signal(net, &victim, "-TERM")?;
    // Submit only once the peer is really down: its process gone, its port refusing.
    wait_down(&victim, old).await?;
    let gw = net
        .gateway_on(net.identity("User1@Hospital1")?, h1, peer1)
        .await?;
    let contract = gw.network(&net.consortium.channel).contract(KV);
    for i in 0..5 {
        let k = format!("peer-down-{i}");
        contract
            .submit("put", [k.as_str(), "served"])
            .await
            .with_context(|| {
                format!(
                    "submit {i} through {} while {} is down",
                    h1.fqdn(peer1),
                    h1.fqdn(peer0)
                )
            })?;
        ensure!(contract.evaluate("get", [k.as_str()]).await? == b"served");
    }
    let height = peer_height(net, h1, peer1).await?;
    net.cli_ok(&["network", "up"])?;
    check_restarted(net, &victim, old).await?;
    // The stopped peer catches up with what was committed while it was down.
    wait_equal_heights(net, height).await?;
    let gw0 = net
        .gateway_on(net.identity("User1@Hospital1")?, h1, peer0)
        .await?;
    let back = gw0.network(&net.consortium.channel).contract(KV);
    for i in 0..5 {
        let k = format!("peer-down-{i}");
        ensure!(
            back.evaluate("get", [k.as_str()]).await? == b"served",
            "{} lacks {k} after catching up",
            h1.fqdn(peer0)
        );
    }
    Ok(())
}

/// One peer's height, through its own Deliver.
async fn peer_height(
    net: &TestNet,
    org: &healthblock_network::consortium::PeerOrg,
    peer: &healthblock_network::consortium::PeerNode,
) -> Result<u64> {
    let gw = net
        .gateway_on(net.identity(&format!("Admin@{}", org.name))?, org, peer)
        .await?;
    Ok(gw.network(&net.consortium.channel).block_height().await?)
}
