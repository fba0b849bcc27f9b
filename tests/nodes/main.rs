//! One node stopped and started while the rest of the network serves, on each
//! backend (the devnet always, real Fabric where `FABRIC_BIN`/`FABRIC_CFG_PATH`
//! are set), through `healthblock network stop|start --node`: a stopped peer
//! refuses connections, the Gateway endorses with the org's other peer, with no
//! peer of an org left an endorsement that needs it fails, and a started peer
//! catches up to the others' height.

use anyhow::{anyhow, ensure, Result};
use healthblock_tests::backends::{self, case, Case, Suite};
use healthblock_tests::{TestNet, KV};
use std::sync::Arc;
use std::time::Duration;

pub struct NodesNet {
    pub net: TestNet,
    /// The cases stop and start nodes of one network: one at a time.
    pub serial: tokio::sync::Mutex<()>,
}

type Net = Arc<NodesNet>;

fn main() {
    backends::run(Suite {
        name: "node_control",
        devnet_offset: 12000,
        fabric_offset: 8000,
        start: |_, backend, offset| {
            Ok(NodesNet {
                net: TestNet::start_on(backend, offset)?,
                serial: tokio::sync::Mutex::new(()),
            })
        },
        cases,
        needs_peer_binary: |_| false,
    })
}

fn cases() -> Vec<Case<NodesNet>> {
    vec![
        case(
            "a_stopped_peer_is_replaced_by_its_orgs_other_peer",
            failover,
        ),
        case("unknown_nodes_are_refused_clearly", unknown_node),
    ]
}

/// `healthblock ARGS`: Ok(stdout) or Err(stdout + stderr).
async fn cli(n: &Net, args: &[&str]) -> Result<String> {
    n.net.cli_ok_async(args).await
}

fn fqdn(net: &TestNet, org: &str, index: usize) -> Result<String> {
    let org = net.org(org)?;
    let peer = org
        .peers
        .get(index)
        .ok_or_else(|| anyhow!("{} has no peer {index}", org.name))?;
    Ok(org.fqdn(peer))
}

/// A kv put from Hospital2's gateway, endorsed by the named orgs.
async fn put(net: &TestNet, key: &str, orgs: &[&str]) -> Result<()> {
    let h2 = net.org("Hospital2")?;
    let gw = net
        .gateway_on(net.identity("User1@Hospital2")?, h2, &h2.peers[0])
        .await?;
    gw.network(&net.consortium.channel)
        .contract(KV)
        .transaction("put")
        .args([key, "v"])
        .endorsing_organizations(orgs.iter().map(|o| o.to_string()))
        .submit()
        .await?;
    Ok(())
}

/// Whether `network status --json` reports the node up.
async fn node_up(n: &Net, name: &str) -> Result<bool> {
    // `network status` exits 1 while a node is down; its JSON is on stdout either way.
    let net = n.clone();
    let out = tokio::task::spawn_blocking(move || net.net.cli(&["network", "status", "--json"]))
        .await??;
    let status: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let nodes = status["nodes"]
        .as_array()
        .ok_or_else(|| anyhow!("no nodes in {status}"))?;
    let node = nodes
        .iter()
        .find(|node| node["name"] == name)
        .ok_or_else(|| anyhow!("{name} is not in network status: {status}"))?;
    node["up"]
        .as_bool()
        .ok_or_else(|| anyhow!("no up flag for {name}: {node}"))
}

/// [`put`] endorsed by Hospital1 and Hospital2, retried for up to 30 s while the
/// gateways' view of the peers settles; each failed try is printed.
async fn put_eventually(net: &TestNet, key: &str, what: &str) -> Result<()> {
    let mut last = None;
    for attempt in 0..30 {
        match put(
            net,
            &format!("{key}-{attempt}"),
            &["Hospital1MSP", "Hospital2MSP"],
        )
        .await
        {
            Ok(()) => return Ok(()),
            Err(e) => {
                eprintln!("{key}: attempt {attempt} failed: {e:#}");
                last = Some(e);
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(last
        .unwrap_or_else(|| anyhow!("no attempt"))
        .context(what.to_owned()))
}

async fn failover(n: Net) -> Result<()> {
    let _serial = n.serial.lock().await;
    let net = &n.net;
    let h1 = net.org("Hospital1")?.clone();
    ensure!(
        h1.peers.len() >= 2,
        "Hospital1 needs two peers for this case"
    );
    let (peer0, peer1) = (fqdn(net, "Hospital1", 0)?, fqdn(net, "Hospital1", 1)?);
    put(net, "nodes-before", &["Hospital1MSP", "Hospital2MSP"]).await?;

    cli(&n, &["network", "stop", "--node", &peer0]).await?;
    // The stopped peer refuses connections.
    let refused = async {
        let gw = net
            .gateway_on(net.identity("User1@Hospital1")?, &h1, &h1.peers[0])
            .await?;
        gw.network(&net.consortium.channel).block_height().await?;
        anyhow::Ok(())
    }
    .await;
    ensure!(refused.is_err(), "a stopped peer answered");
    ensure!(
        !node_up(&n, &peer0).await? && node_up(&n, &peer1).await?,
        "network status: the stopped peer down, its neighbour up"
    );
    // Hospital1's endorsement now comes from its other peer. Fabric's gateway
    // learns of the dead peer through discovery: give it a few tries.
    put_eventually(
        net,
        "nodes-failover",
        "no endorsement from Hospital1's other peer",
    )
    .await?;

    // With neither Hospital1 peer, an endorsement that needs Hospital1 fails.
    cli(&n, &["network", "stop", "--node", &peer1]).await?;
    let err = put(net, "nodes-no-hospital1", &["Hospital1MSP", "Hospital2MSP"])
        .await
        .expect_err("no Hospital1 peer runs");
    // Fabric's gateway dials the Hospital1 peers its discovery still lists and
    // reports each refusal; a peer that has been down longer than gossip's alive
    // expiry is no longer listed (so one detail, or none and UNAVAILABLE). The
    // devnet always lists both. Every detail must be a Hospital1 refusal.
    let text = format!("{err:#}");
    let refusal = |address: &str| {
        format!(
            "{address} (Hospital1MSP): rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial tcp {address}: connect: connection refused\""
        )
    };
    let h1_addresses: Vec<String> = h1
        .peers
        .iter()
        .map(|p| net.consortium.address(p.ports.listen))
        .collect();
    let details: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("- "))
        .collect();
    let aborted = text.contains("Aborted")
        && text.contains("failed to collect enough transaction endorsements")
        && !details.is_empty()
        && details
            .iter()
            .all(|d| h1_addresses.iter().any(|a| *d == refusal(a)));
    let pruned = text.contains("Unavailable")
        && text.contains("failed to find any endorsing peers for org(s): Hospital1MSP");
    ensure!(aborted || pruned, "{text}");
    if net.backend == healthblock_network::consortium::Backend::Devnet {
        ensure!(details.len() == 2, "the devnet reports both peers: {text}");
    }

    // Both come back and catch up.
    cli(&n, &["network", "start", "--node", &peer1]).await?;
    cli(&n, &["network", "start", "--node", &peer0]).await?;
    ensure!(
        node_up(&n, &peer0).await? && node_up(&n, &peer1).await?,
        "network status: both peers up again"
    );
    // A restarted Fabric peer rejoins gossip and discovery over a few seconds.
    put_eventually(net, "nodes-after", "no endorsement after the restart").await?;
    net.settle().await?;
    Ok(())
}

async fn unknown_node(n: Net) -> Result<()> {
    let _serial = n.serial.lock().await;
    let err = cli(&n, &["network", "stop", "--node", "peer9.nowhere.test"])
        .await
        .expect_err("an unknown node");
    ensure!(
        format!("{err:#}").contains("named peer9.nowhere.test"),
        "{err:#}"
    );
    Ok(())
}
