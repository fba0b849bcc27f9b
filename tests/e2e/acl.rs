//! The channel's ACLs (`policies.acls` in network/consortium.yaml) on each
//! backend. A block carries every write set (on the EHR channel: record
//! metadata, consents, break-glass reasons, the audit trail), so block and
//! filtered-block delivery, and qscc's block and transaction queries, are for
//! peers and admins; a client follows its own transactions through the
//! Gateway's commit status and chaincode events, which stay open to it.

use crate::{key, trial, Net, TestFn};
use anyhow::{anyhow, ensure, Context, Result};
use fabric_client::admin::Peer;
use fabric_client::ProposalBuilder;
use futures::StreamExt;
use healthblock_tests::{peer_identity, KV};
use std::time::Duration;

pub(crate) fn trials() -> Vec<(&'static str, TestFn)> {
    vec![trial(
        "acl::clients_cannot_read_blocks_but_follow_their_transactions",
        clients_cannot_read_blocks,
    )]
}

/// What Fabric's Deliver answers a request its ACL refuses.
const FORBIDDEN: &str = "FORBIDDEN (403)";

async fn clients_cannot_read_blocks(net: Net) -> Result<()> {
    let channel = net.consortium.channel.clone();
    let client = net.gateway("User1@Hospital2").await?;
    let network = client.network(&channel);
    // The client's own transaction: submitted, its commit status and its
    // chaincode event reach it.
    let k = key("acl");
    let status = network
        .contract(KV)
        .submit_async("putevent", [k.as_str(), "v"])
        .await?
        .status()
        .await?
        .ensure_valid()?;
    let mut events = network
        .chaincode_events(KV, Some(status.block_number))
        .await?;
    let event = tokio::time::timeout(Duration::from_secs(20), events.next())
        .await
        .context("no chaincode event within 20 s")?
        .context("the event stream ended")??;
    ensure!(event.block_number == status.block_number, "event {event:?}");

    // Blocks, block events and filtered blocks are refused to the client.
    let refused = |what: &str, e: Option<String>| -> Result<()> {
        let e = e.ok_or_else(|| anyhow!("the client got {what}"))?;
        ensure!(e.contains(FORBIDDEN), "{what}: {e}");
        Ok(())
    };
    refused(
        "a block",
        network
            .block(status.block_number)
            .await
            .err()
            .map(|e| e.to_string()),
    )?;
    let mut blocks = network.block_events(Some(status.block_number)).await?;
    refused(
        "block events",
        first_error(blocks.next().await.map(|r| r.map(|_| ()))),
    )?;
    let mut filtered = network
        .filtered_block_events(Some(status.block_number))
        .await?;
    refused(
        "filtered block events",
        first_error(filtered.next().await.map(|r| r.map(|_| ()))),
    )?;

    // The org's admin and its peer's own identity read the same block.
    let org = net.org("Hospital2")?;
    let node = &org.peers[0];
    let admin = net.gateway("Admin@Hospital2").await?;
    let peer_id = peer_identity(&net, org, node)?;
    let as_peer = net.gateway_on(peer_id, org, node).await?;
    for (who, gw) in [("the admin", &admin), ("the peer", &as_peer)] {
        let block = gw.network(&channel).block(status.block_number).await?;
        ensure!(
            block.header.as_ref().map(|h| h.number) == Some(status.block_number),
            "{who} read the wrong block"
        );
    }

    // qscc's block query, straight to the peer's endorser: refused to a client
    // by the channel's ACL, answered to the org's admin (both backends).
    let endpoint = net.endpoint(org, node)?;
    let peer = Peer::connect(&endpoint).await?;
    for (who, want_ok) in [("User1@Hospital2", false), ("Admin@Hospital2", true)] {
        let id = net.identity(who)?;
        let proposal = ProposalBuilder::new(&channel, "qscc", "GetBlockByNumber")
            .arg(channel.as_bytes())
            .arg(status.block_number.to_string().as_bytes())
            .build(id.serialize());
        let answer = peer.endorse(&proposal.txid, proposal.sign(&id)).await;
        let (code, message) = match &answer {
            Ok(r) => r
                .response
                .as_ref()
                .map_or((0, String::new()), |r| (r.status, r.message.clone())),
            Err(e) => (500, e.to_string()),
        };
        if want_ok {
            ensure!(code == 200, "{who}: qscc GetBlockByNumber {code} {message}");
        } else {
            ensure!(
                code != 200 && message.contains("access denied for [GetBlockByNumber]"),
                "{who}: qscc GetBlockByNumber answered {code} {message}"
            );
        }
    }
    Ok(())
}

/// The error text of the first item of a stream, if it is an error.
fn first_error(item: Option<Result<(), fabric_client::Error>>) -> Option<String> {
    match item {
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    }
}
