//! Which channels the nodes serve and the chain info a peer reports, asked the
//! way operators ask: `healthblock channel list` / `channel info --peer`, and
//! Fabric's own `peer channel list`, `peer channel getinfo` and `osnadmin
//! channel list` (where `FABRIC_BIN` is set). Same expectations on both backends.

use crate::Net;
use anyhow::{anyhow, ensure, Context, Result};
use base64::Engine;
use healthblock_tests::backends::{case, Case};
use serde_json::Value;

pub(crate) fn all() -> Vec<Case<crate::ChannelNet>> {
    vec![
        case("channel_list_names_the_channel_on_every_node", channel_list),
        case(
            "peer_channel_list_and_getinfo_answer",
            peer_channel_list_and_getinfo,
        ),
        case("osnadmin_channel_list_answers", osnadmin_channel_list),
    ]
}

/// Cases that run Fabric's binaries.
pub(crate) fn needs_fabric_binaries(name: &str) -> bool {
    name.starts_with("peer_channel_") || name.starts_with("osnadmin_")
}

/// `healthblock ARGS`, parsed as JSON.
async fn cli_json(n: &Net, args: &[&str]) -> Result<Value> {
    let out = n.net.cli_ok_async(args).await?;
    serde_json::from_str(&out).with_context(|| format!("not JSON: {out}"))
}

async fn channel_list(n: Net) -> Result<()> {
    // Other cases grow the chain; heights are compared only while none runs.
    let _serial = n.serial.lock().await;
    let net = &n.net;
    let nodes = cli_json(&n, &["channel", "list", "--json"]).await?;
    let nodes = nodes
        .as_array()
        .ok_or_else(|| anyhow!("not a list: {nodes}"))?;
    let peers = net.peers().len();
    let orderers = nodes.iter().filter(|n| n["kind"] == "orderer").count();
    ensure!(
        nodes.iter().filter(|n| n["kind"] == "peer").count() == peers && orderers >= 1,
        "every peer and at least one orderer: {nodes:?}"
    );
    // Every node serves the network's channel (and, on Fabric, once the
    // `second` case ran, its members serve that one too).
    for node in nodes {
        let serves = node["channels"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| *c == net.consortium.channel.as_str()));
        ensure!(serves, "{node}");
    }
    // A peer's chain info (qscc) and the orderer's agree once the peers settled.
    let height = net.settle().await?;
    let on_peer = cli_json(&n, &["channel", "info", "--peer", "Hospital2", "--json"]).await?;
    ensure!(
        on_peer["height"] == height,
        "{on_peer} vs settled height {height}"
    );
    Ok(())
}

fn fabric_bin() -> Result<std::path::PathBuf> {
    Ok(std::path::PathBuf::from(
        std::env::var_os("FABRIC_BIN").ok_or_else(|| anyhow!("FABRIC_BIN is not set"))?,
    ))
}

async fn peer_channel_list_and_getinfo(n: Net) -> Result<()> {
    let _serial = n.serial.lock().await;
    let net = &n.net;
    let org = net.org("Hospital1")?;
    let admin_msp = net.layout.admin_msp_dir(org);
    let listed = healthblock_tests::peer_cli(net, org, &admin_msp, &["channel", "list"]).await?;
    ensure!(
        listed.lines().any(|l| l.trim() == net.consortium.channel),
        "peer channel list: {listed:?}"
    );
    // getinfo against our own qscc call on the same peer; a block committed in
    // between changes both, so retry until two readings agree.
    let channel = net.consortium.channel.clone();
    for _ in 0..10 {
        let text = healthblock_tests::peer_cli(
            net,
            org,
            &admin_msp,
            &["channel", "getinfo", "-c", &channel],
        )
        .await?;
        let json = text
            .trim()
            .strip_prefix("Blockchain info: ")
            .ok_or_else(|| anyhow!("peer channel getinfo printed {text:?}"))?;
        let theirs: Value = serde_json::from_str(json)?;
        let ours = cli_json(&n, &["channel", "info", "--peer", "Hospital1", "--json"]).await?;
        let b64 = |v: &Value| -> Result<String> {
            let s = v.as_str().ok_or_else(|| anyhow!("not a string: {v}"))?;
            Ok(hex::encode(
                base64::engine::general_purpose::STANDARD.decode(s)?,
            ))
        };
        if theirs["height"].as_u64() == ours["height"].as_u64() {
            ensure!(
                b64(&theirs["currentBlockHash"])? == ours["current_block_hash"]
                    && b64(&theirs["previousBlockHash"])? == ours["previous_block_hash"],
                "peer channel getinfo {theirs} vs qscc {ours}"
            );
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    Err(anyhow!("the chain kept growing between readings"))
}

async fn osnadmin_channel_list(n: Net) -> Result<()> {
    let net = &n.net;
    let oo = &net.consortium.orderer_org;
    let tls = net.layout.orderer_admin_tls_dir(oo);
    let run = |extra: Vec<String>| {
        let mut cmd = tokio::process::Command::new(fabric_bin()?.join("osnadmin"));
        cmd.args(["channel", "list", "--no-status", "-o"])
            .arg(net.consortium.address(oo.solo().ports.admin))
            .arg("--ca-file")
            .arg(tls.join("ca.crt"))
            .arg("--client-cert")
            .arg(tls.join("client.crt"))
            .arg("--client-key")
            .arg(tls.join("client.key"))
            .args(extra);
        Ok::<_, anyhow::Error>(cmd)
    };
    let out = run(vec![])?.output().await.context("running osnadmin")?;
    ensure!(
        out.status.success(),
        "osnadmin: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout)?;
    let names: Vec<&str> = list["channels"]
        .as_array()
        .ok_or_else(|| anyhow!("{list}"))?
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    ensure!(names.contains(&net.consortium.channel.as_str()), "{list}");
    let out = run(vec!["-c".into(), net.consortium.channel.clone()])?
        .output()
        .await?;
    ensure!(
        out.status.success(),
        "osnadmin -c: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: Value = serde_json::from_slice(&out.stdout)?;
    ensure!(
        info["status"] == "active"
            && info["consensusRelation"] == "consenter"
            && info["height"].as_u64().is_some_and(|h| h >= 1),
        "{info}"
    );
    Ok(())
}
