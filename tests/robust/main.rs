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
use healthblock_network::fabric_process::{nodes, process::pid_file, FabricNode};
use healthblock_tests::{fabric_unavailable, report_fabric_skipped, TestNet, KV};
use libtest_mimic::{Arguments, Failed, Trial};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

const PORT_OFFSET: u16 = 31000;

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
            if skip.is_some() {
                return Trial::test(name, || Ok(())).with_ignored_flag(true);
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

fn signal(net: &TestNet, node: &FabricNode, sig: &str) -> Result<()> {
    let file = pid_file(&net.layout, node);
    let pid = std::fs::read_to_string(&file)
        .with_context(|| format!("no pid file {}", file.display()))?;
    let status = std::process::Command::new("kill")
        .args([sig, pid.trim()])
        .status()?;
    ensure!(status.success(), "kill {sig} {} failed", node.name);
    Ok(())
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
    net.cli_ok(&["network", "down"])?;
    let started = std::time::Instant::now();
    net.cli_ok(&["network", "up"])?;
    eprintln!("whole-network restart: ready in {:.1?}", started.elapsed());
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
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before_kill = load.seen();
    signal(net, &victim, "-KILL")?;
    eprintln!("killed the Raft leader {leader} after {before_kill} commits");
    // Raft elects a new leader within its election timeout (a few seconds);
    // submitters stuck on a lost transaction give up after 10 s.
    tokio::time::sleep(Duration::from_secs(20)).await;
    let seen = load.stop().await;
    ensure!(
        before_kill > 0,
        "no commit before the kill: the load did not run"
    );
    ensure!(
        seen.len() > before_kill,
        "no commit after the leader was killed ({before_kill} before, {} in all)",
        seen.len()
    );
    net.cli_ok(&["network", "up"])?;
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
    signal(net, &victim, "-TERM")?;
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
    net.cli_ok(&["network", "up"])?;
    wait_equal_heights(net, 1).await?;
    Ok(())
}
