//! A second channel for two of the three hospitals (`healthblock channel
//! create second --orgs Hospital1,Hospital2`). On Fabric: its orderers and
//! the two hospitals' peers serve it, Hospital3's peer does not, and
//! Hospital3's admin cannot read its blocks while Hospital1's can. The devnet
//! serves one channel: its orderer refuses the join with that reason, and
//! nothing changes.

use crate::cases::orderer;
use crate::{cli, Net};
use anyhow::{anyhow, ensure, Result};
use fabric_client::admin::channel_config as cc;
use healthblock_network::consortium::Backend;
use healthblock_tests::backends::{case, Case};
use serde_json::Value;

pub(crate) fn all() -> Vec<Case<crate::ChannelNet>> {
    vec![case(
        "a_second_channel_for_two_hospitals_that_the_third_cannot_read",
        second_channel,
    )]
}

const SECOND: &str = "second";

/// Node name -> the channels it lists (`channel list --json`).
async fn listed(n: &Net) -> Result<Vec<(String, Vec<String>)>> {
    let nodes: Value = serde_json::from_str(&cli(n, &["channel", "list", "--json"]).await?)?;
    nodes
        .as_array()
        .ok_or_else(|| anyhow!("{nodes}"))?
        .iter()
        .map(|node| {
            let channels = node["channels"]
                .as_array()
                .ok_or_else(|| anyhow!("no channels for {node}"))?
                .iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect();
            Ok((
                node["node"].as_str().unwrap_or_default().to_owned(),
                channels,
            ))
        })
        .collect()
}

async fn second_channel(n: Net) -> Result<()> {
    let _serial = n.serial.lock().await;
    let net = &n.net;
    let created = cli(
        &n,
        &[
            "channel",
            "create",
            SECOND,
            "--orgs",
            "Hospital1,Hospital2",
            "--json",
        ],
    )
    .await;
    if net.backend == Backend::Devnet {
        let refusal = created
            .err()
            .ok_or_else(|| anyhow!("the devnet created a second channel"))?
            .to_string();
        ensure!(
            refusal.contains("cannot join: the devnet orderer serves only channel"),
            "the devnet's refusal: {refusal}"
        );
        for (node, channels) in listed(&n).await? {
            ensure!(
                channels == [net.consortium.channel.clone()],
                "{node} lists {channels:?}"
            );
        }
        return Ok(());
    }
    let created: Value = serde_json::from_str(&created?)?;
    ensure!(
        created["orgs"] == serde_json::json!(["Hospital1MSP", "Hospital2MSP"]),
        "{created}"
    );
    for (node, channels) in listed(&n).await? {
        let serves = channels.iter().any(|c| c == SECOND);
        let should = !node.contains("hospital3");
        ensure!(
            serves == should,
            "{node} lists {channels:?} (should serve {SECOND}: {should})"
        );
    }
    // Hospital1's admin reads the new channel's config: two hospitals.
    let orderer = orderer(net).await?;
    let h1 = net.identity("Admin@Hospital1")?;
    let config = cc::current_config(&orderer, &h1, SECOND).await?;
    let application = config
        .config
        .channel_group
        .as_ref()
        .and_then(|g| g.groups.get("Application"))
        .ok_or_else(|| anyhow!("no Application group"))?;
    let mut orgs: Vec<String> = application
        .groups
        .values()
        .filter_map(fabric_configtx::org::org_mspid)
        .collect();
    orgs.sort();
    ensure!(orgs == ["Hospital1MSP", "Hospital2MSP"], "{orgs:?}");
    // Hospital3's admin is no reader of it.
    let h3 = net.identity("Admin@Hospital3")?;
    let refused = cc::current_config(&orderer, &h3, SECOND).await;
    ensure!(
        refused.is_err(),
        "Hospital3's admin read the config of {SECOND}"
    );
    println!(
        "  Hospital3's admin is refused: {}",
        refused.err().map(|e| e.to_string()).unwrap_or_default()
    );
    Ok(())
}
