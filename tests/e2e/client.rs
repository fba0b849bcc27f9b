//! The Rust Gateway client against the devnet: submit, read back, events,
//! history, range pagination, chaincode errors, and agreement of all peers.

use crate::{key, trial, Net, TestFn};
use anyhow::{ensure, Context, Result};
use futures::StreamExt;
use healthblock_tests::KV;
use std::time::Duration;

pub(crate) fn trials() -> Vec<(&'static str, TestFn)> {
    vec![
        trial("client::submit_and_read_back", submit_and_read_back),
        trial("client::chaincode_events", chaincode_events),
        trial("client::block_events", block_events),
        trial("client::key_history", key_history),
        trial("client::range_pagination", range_pagination),
        trial("client::chaincode_error_carries_message", chaincode_error),
        trial("client::all_peers_agree", all_peers_agree),
    ]
}

async fn submit_and_read_back(net: Net) -> Result<()> {
    let gw = net.gateway("User1@Hospital1").await?;
    let contract = gw.network(&net.consortium.channel).contract(KV);
    let k = key("rb");
    let submitted = contract.submit_async("put", [k.as_str(), "hello"]).await?;
    let status = submitted.status().await?;
    ensure!(status.is_valid(), "put committed as {}", status.code);
    ensure!(
        status.block_number > 0,
        "block number {}",
        status.block_number
    );
    let value = contract.evaluate("get", [k.as_str()]).await?;
    ensure!(
        value == b"hello",
        "read back {:?}",
        String::from_utf8_lossy(&value)
    );
    Ok(())
}

async fn chaincode_events(net: Net) -> Result<()> {
    let gw = net.gateway("User1@Hospital2").await?;
    let network = gw.network(&net.consortium.channel);
    let contract = network.contract(KV);
    let k = key("ev");
    let submitted = contract
        .submit_async("putevent", [k.as_str(), "payload-1"])
        .await?;
    let status = submitted.status().await?.ensure_valid()?;
    let mut events = network
        .chaincode_events(KV, Some(status.block_number))
        .await?;
    let event = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(ev) = events.next().await {
            let ev = ev?;
            if ev.txid == status.txid {
                return Ok::<_, anyhow::Error>(ev);
            }
        }
        anyhow::bail!("event stream ended")
    })
    .await
    .context("no event within 20 s")??;
    ensure!(event.name == "kv_put", "event name {}", event.name);
    ensure!(event.payload == format!("{k}=payload-1").into_bytes());
    ensure!(event.block_number == status.block_number);
    ensure!(event.chaincode == KV, "chaincode {}", event.chaincode);
    Ok(())
}

async fn block_events(net: Net) -> Result<()> {
    // Blocks are for peers and admins (the channel's ACLs): a client submits,
    // Hospital3's admin reads the block.
    let client = net.gateway("User1@Hospital3").await?;
    let gw = net.gateway("Admin@Hospital3").await?;
    let network = gw.network(&net.consortium.channel);
    let k = key("blk");
    let status = client
        .network(&net.consortium.channel)
        .contract(KV)
        .submit_async("put", [k.as_str(), "b"])
        .await?
        .status()
        .await?
        .ensure_valid()?;
    let mut blocks = network.block_events(Some(status.block_number)).await?;
    let block = tokio::time::timeout(Duration::from_secs(20), blocks.next())
        .await
        .context("no block within 20 s")?
        .context("stream ended")??;
    let header = block.header.clone().context("block without header")?;
    ensure!(header.number == status.block_number);
    let data = block.data.clone().context("block without data")?;
    let txids: Vec<String> = data
        .data
        .iter()
        .map(|env| fabric_block::decode_envelope(env).map(|t| t.txid))
        .collect::<Result<_, _>>()?;
    ensure!(
        txids.contains(&status.txid),
        "block {} lacks {}",
        header.number,
        status.txid
    );
    ensure!(
        fabric_block::data_hash(&data.data).to_vec() == header.data_hash,
        "data hash mismatch"
    );
    Ok(())
}

async fn key_history(net: Net) -> Result<()> {
    let gw = net.gateway("User1@Hospital1").await?;
    let contract = gw.network(&net.consortium.channel).contract(KV);
    let k = key("hist");
    for v in ["v1", "v2", "v3"] {
        contract.submit("put", [k.as_str(), v]).await?;
    }
    contract.submit("del", [k.as_str()]).await?;
    let history: serde_json::Value =
        serde_json::from_slice(&contract.evaluate("history", [k.as_str()]).await?)?;
    let entries = history.as_array().context("history is not a JSON array")?;
    ensure!(
        entries.len() == 4,
        "history has {} entries: {history}",
        entries.len()
    );
    ensure!(
        entries[0]["is_delete"] == true,
        "newest entry should be the delete: {history}"
    );
    ensure!(
        entries[1]["value"] == "v3" && entries[3]["value"] == "v1",
        "order: {history}"
    );
    Ok(())
}

async fn range_pagination(net: Net) -> Result<()> {
    let gw = net.gateway("User1@Hospital1").await?;
    let contract = gw.network(&net.consortium.channel).contract(KV);
    let prefix = key("rng");
    for i in 0..7 {
        contract
            .submit_async("put", [format!("{prefix}-{i}").as_str(), &i.to_string()])
            .await?;
    }
    // Wait for the last batch: one more submit waited to commit orders after the others.
    contract
        .submit("put", [format!("{prefix}-z").as_str(), "end"])
        .await?;
    let (start, end) = (format!("{prefix}-0"), format!("{prefix}-9"));
    let mut bookmark = String::new();
    let mut keys = Vec::new();
    let mut pages = 0;
    loop {
        let page: serde_json::Value = serde_json::from_slice(
            &contract
                .evaluate(
                    "range",
                    [start.as_str(), end.as_str(), "3", bookmark.as_str()],
                )
                .await?,
        )?;
        pages += 1;
        for item in page["results"].as_array().context("results")? {
            keys.push(item["key"].as_str().context("key")?.to_owned());
        }
        bookmark = page["bookmark"].as_str().unwrap_or_default().to_owned();
        if bookmark.is_empty() || pages > 10 {
            break;
        }
    }
    let expected: Vec<String> = (0..7).map(|i| format!("{prefix}-{i}")).collect();
    ensure!(keys == expected, "paged keys {keys:?}");
    ensure!(
        pages == 3,
        "7 keys in pages of 3 should take 3 pages, took {pages}"
    );
    Ok(())
}

async fn chaincode_error(net: Net) -> Result<()> {
    let gw = net.gateway("User1@Hospital1").await?;
    let contract = gw.network(&net.consortium.channel).contract(KV);
    let started = std::time::Instant::now();
    let err = contract
        .submit("fail", ["the chaincode said no"])
        .await
        .err()
        .context("fail() must not commit")?;
    ensure!(
        started.elapsed() < Duration::from_secs(10),
        "error took {:?} (a timeout?)",
        started.elapsed()
    );
    let text = format!("{err} {:?}", err.details());
    ensure!(
        text.contains("the chaincode said no"),
        "error lacks the chaincode's message: {text}"
    );
    ensure!(
        format!("{:?}", err.stage()).contains("Endorse"),
        "stage should be Endorse: {:?}",
        err.stage()
    );
    Ok(())
}

async fn all_peers_agree(net: Net) -> Result<()> {
    let gw = net.gateway("User1@Hospital1").await?;
    let k = key("agree");
    let status = gw
        .network(&net.consortium.channel)
        .contract(KV)
        .submit_async("put", [k.as_str(), "same"])
        .await?
        .status()
        .await?
        .ensure_valid()?;
    let mut hashes = Vec::new();
    for (org, peer) in net.peers() {
        let admin = format!("Admin@{}", org.name);
        let gw = net.gateway_on(net.identity(&admin)?, org, peer).await?;
        let network = gw.network(&net.consortium.channel);
        // The peer has the block once it can deliver it (to an admin: the ACLs).
        let block =
            tokio::time::timeout(Duration::from_secs(20), network.block(status.block_number))
                .await??;
        let hash = fabric_block::header_hash(block.header.as_ref().context("header")?);
        let value = network.contract(KV).evaluate("get", [k.as_str()]).await?;
        ensure!(
            value == b"same",
            "{} reads {:?}",
            org.fqdn(peer),
            String::from_utf8_lossy(&value)
        );
        hashes.push((org.fqdn(peer), hash));
    }
    let (first_peer, first_hash) = &hashes[0];
    for (peer, hash) in &hashes[1..] {
        ensure!(
            hash == first_hash,
            "{peer} and {first_peer} have different blocks {}",
            status.block_number
        );
    }
    // Heights converge.
    let mut heights = Vec::new();
    for (org, peer) in net.peers() {
        let gw = net
            .gateway_on(net.identity(&format!("Admin@{}", org.name))?, org, peer)
            .await?;
        heights.push(gw.network(&net.consortium.channel).block_height().await?);
    }
    ensure!(
        heights.iter().all(|h| *h > status.block_number),
        "heights {heights:?}"
    );
    Ok(())
}
