//! The cases of the channel_config suite.

use crate::Net;
use anyhow::{anyhow, bail, ensure, Context, Result};
use fabric_client::admin::channel_config::{
    self as cc, batch_config_update, batch_params, config_update_envelope, BatchUpdate,
};
use fabric_client::admin::Orderer;
use fabric_client::Endpoint;
use fabric_msp::SigningIdentity;
use fabric_proto::common::{Block, ConfigUpdate};
use healthblock_tests::backends::{case, Case};
use healthblock_tests::{broadcast, TestNet, KV};
use prost::Message;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const POLICY_REFUSAL: &str = "error applying config update to existing channel 'ehr': error authorizing update: error validating DeltaSet: policy for [Value]  /Channel/Orderer/BatchSize not satisfied: implicit policy evaluation failed - 0 sub-policies were satisfied, but this policy requires 1 of the 'Admins' sub-policies to be satisfied";
const BAD_REQUEST: i32 = 400;
const SUCCESS: i32 = 200;

pub(crate) fn all() -> Vec<Case<crate::ChannelNet>> {
    vec![
        case(
            "batch_update_changes_block_sizes_from_the_next_block",
            batch_update_changes_block_sizes,
        ),
        case(
            "batch_update_under_load_loses_nothing",
            batch_update_under_load,
        ),
        case("refusals_with_fabrics_status_and_text", refusals),
        case(
            "configtxlator_compute_update_is_accepted",
            configtxlator_compute_update,
        ),
        case("the_update_survives_a_restart", survives_restart),
    ]
}

fn orderer_admin(net: &TestNet) -> Result<SigningIdentity> {
    let org = &net.consortium.orderer_org;
    Ok(SigningIdentity::from_msp_dir(
        &org.mspid,
        &net.layout.orderer_admin_msp_dir(org),
    )?)
}

pub(crate) async fn orderer(net: &TestNet) -> Result<Orderer> {
    let org = &net.consortium.orderer_org;
    let node = org.solo();
    let ca = std::fs::read(net.layout.orderer_tls_dir(org, node).join("ca.crt"))?;
    let endpoint = Endpoint::new(net.consortium.address(node.ports.listen), ca)
        .with_server_name(org.fqdn(node));
    Ok(Orderer::connect(&endpoint).await?)
}

/// `healthblock channel update batch ARGS --json`, on a blocking thread; the config block.
async fn update_batch(n: &Net, args: &[&str]) -> Result<u64> {
    let n = n.clone();
    let mut full = vec!["channel", "update", "batch", "--json"];
    full.extend_from_slice(args);
    let full: Vec<String> = full.into_iter().map(String::from).collect();
    let out = tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = full.iter().map(String::as_str).collect();
        n.net.cli_ok(&refs)
    })
    .await??;
    let v: serde_json::Value = serde_json::from_str(&out).context("update batch --json")?;
    v["config_block"]
        .as_u64()
        .ok_or_else(|| anyhow!("no config_block in {out}"))
}

/// Blocks `from..to` of the channel, as Hospital1's peer has them.
async fn blocks(net: &TestNet, from: u64, to: u64) -> Result<Vec<Block>> {
    let gw = net.gateway("Admin@Hospital1").await?;
    let network = gw.network(&net.consortium.channel);
    let mut out = Vec::new();
    for n in from..to {
        out.push(network.block(n).await?);
    }
    Ok(out)
}

fn tx_count(b: &Block) -> usize {
    b.data.as_ref().map_or(0, |d| d.data.len())
}

fn number(b: &Block) -> u64 {
    b.header.as_ref().map_or(0, |h| h.number)
}

/// Submits `count` puts at once and waits for every commit; the block of each.
async fn submit_concurrently(net: &TestNet, count: usize, tag: &str) -> Result<Vec<u64>> {
    let gw = net.gateway("User1@Hospital1").await?;
    let contract = gw.network(&net.consortium.channel).contract(KV);
    let calls = (0..count).map(|i| {
        let contract = contract.clone();
        let key = format!("{tag}-{}-{i}", std::process::id());
        async move {
            let submitted = contract.submit_async("put", [key.as_str(), "v"]).await?;
            let status = submitted.status().await?.ensure_valid()?;
            Ok::<u64, anyhow::Error>(status.block_number)
        }
    });
    futures::future::try_join_all(calls).await
}

async fn height(net: &TestNet) -> Result<u64> {
    let gw = net.gateway("Admin@Hospital1").await?;
    Ok(gw.network(&net.consortium.channel).block_height().await?)
}

/// (a) MaxMessageCount 100 → 5: 20 concurrent transactions fill blocks of more
/// than 5 before the update and at most 5 after it, counted in the blocks.
async fn batch_update_changes_block_sizes(n: Net) -> Result<()> {
    let _serial = n.serial.lock().await;
    let net = &n.net;
    update_batch(&n, &["--max-message-count", "100", "--timeout", "2s"]).await?;
    let first = height(net).await?;
    let before = submit_concurrently(net, 20, "before").await?;
    let last_before = *before.iter().max().unwrap_or(&first);
    let sizes_before: Vec<usize> = blocks(net, first, last_before + 1)
        .await?
        .iter()
        .map(tx_count)
        .collect();
    ensure!(
        sizes_before.iter().any(|&c| c > 5),
        "with MaxMessageCount 100 and a 2 s timeout, 20 concurrent transactions should share a block: {sizes_before:?}"
    );

    let config_block = update_batch(&n, &["--max-message-count", "5"]).await?;
    ensure!(config_block > last_before, "config block {config_block}");
    let after = submit_concurrently(net, 20, "after").await?;
    let last_after = *after.iter().max().unwrap_or(&config_block);
    ensure!(
        after.iter().all(|&b| b > config_block),
        "every later transaction is after the config block: {after:?}"
    );
    let chain = blocks(net, config_block, last_after + 1).await?;
    let config = &chain[0];
    ensure!(
        tx_count(config) == 1,
        "a config block holds the config transaction alone"
    );
    ensure!(
        fabric_configtx::last_config_index(config)? == config_block,
        "the config block names itself as the last config"
    );
    let params = batch_params(&fabric_configtx::config_from_block(config)?)?;
    ensure!(params.max_message_count == 5, "{params:?}");
    let sizes_after: Vec<usize> = chain[1..].iter().map(tx_count).collect();
    ensure!(
        sizes_after.iter().all(|&c| c <= 5) && sizes_after.iter().sum::<usize>() == 20,
        "blocks after the update hold at most 5 transactions and all 20 of them: {sizes_after:?}"
    );
    for b in &chain[1..] {
        ensure!(
            fabric_configtx::last_config_index(b)? == config_block,
            "block {} names the config block as its LAST_CONFIG",
            number(b)
        );
    }
    println!(
        "{}: txs per block before the update {sizes_before:?}, config block {config_block}, after {sizes_after:?}",
        net_backend(net)
    );
    Ok(())
}

fn net_backend(net: &TestNet) -> String {
    net.home()
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// (b) Continuous load across `channel update batch`: every transaction the
/// orderer acknowledged is committed valid, exactly once; the block right after
/// the config block already obeys the new MaxMessageCount.
async fn batch_update_under_load(n: Net) -> Result<()> {
    let _serial = n.serial.lock().await;
    let net = &n.net;
    update_batch(&n, &["--max-message-count", "100", "--timeout", "250ms"]).await?;
    let first = height(net).await?;
    let gw = net.gateway("User1@Hospital1").await?;
    let contract = gw.network(&net.consortium.channel).contract(KV);
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let failed = Arc::new(Mutex::new(Vec::new()));
    let mut workers = Vec::new();
    for w in 0..8 {
        let (contract, stop, acked, failed) = (
            contract.clone(),
            stop.clone(),
            acknowledged.clone(),
            failed.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let key = format!("load-{}-{w}-{i}", std::process::id());
                i += 1;
                match contract.submit_async("put", [key.as_str(), "v"]).await {
                    Ok(s) => acked.lock().unwrap().push(s),
                    Err(e) => failed.lock().unwrap().push(e.to_string()),
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let config_block =
        update_batch(&n, &["--max-message-count", "3", "--timeout", "500ms"]).await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await?;
    }
    let acked = std::mem::take(&mut *acknowledged.lock().unwrap());
    let failed = std::mem::take(&mut *failed.lock().unwrap());
    ensure!(failed.is_empty(), "submissions failed: {failed:?}");
    let mut last = first;
    for s in &acked {
        let status = s.status().await?;
        ensure!(status.is_valid(), "{} committed as {}", s.txid, status.code);
        last = last.max(status.block_number);
    }
    let chain = blocks(net, first, last + 1).await?;
    let mut committed = HashSet::new();
    let mut sizes = BTreeMap::new();
    for b in &chain {
        let filter = b
            .metadata
            .as_ref()
            .and_then(|m| m.metadata.get(2))
            .cloned()
            .unwrap_or_default();
        for (i, env) in b
            .data
            .as_ref()
            .map(|d| d.data.as_slice())
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let decoded = fabric_block::decode_envelope(env)?;
            if filter.get(i) == Some(&0) && !decoded.txid.is_empty() {
                ensure!(
                    committed.insert(decoded.txid.clone()),
                    "{} committed twice",
                    decoded.txid
                );
            }
        }
        sizes.insert(number(b), tx_count(b));
    }
    let acked_ids: HashSet<String> = acked.iter().map(|s| s.txid.clone()).collect();
    ensure!(
        acked_ids.is_subset(&committed) && committed.len() == acked_ids.len(),
        "acknowledged {} vs committed {}",
        acked_ids.len(),
        committed.len()
    );
    let after: Vec<usize> = sizes.range(config_block + 1..).map(|(_, c)| *c).collect();
    ensure!(!after.is_empty(), "the load went on after the config block");
    ensure!(
        after.iter().all(|&c| c <= 3),
        "every block after config block {config_block} holds at most 3 transactions: {after:?}"
    );
    println!(
        "acknowledged {} = committed {}; config block {config_block}; {} blocks after it, at most {} transactions each",
        acked_ids.len(),
        committed.len(),
        after.len(),
        after.iter().max().unwrap_or(&0)
    );
    Ok(())
}

/// (c) The orderer refuses, with Fabric's status and words: a peer org admin's
/// signature, a client's, no signature, and an update computed against a config
/// another update has since replaced.
async fn refusals(n: Net) -> Result<()> {
    let _serial = n.serial.lock().await;
    let net = &n.net;
    for who in ["Admin@Hospital1", "User1@Hospital1"] {
        let out = net.cli(&[
            "channel",
            "update",
            "batch",
            "--max-message-count",
            "9",
            "--sign-as",
            who,
        ])?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        ensure!(
            !out.status.success(),
            "an update signed by {who} was accepted"
        );
        ensure!(
            stderr.contains(&format!("BAD_REQUEST (400): {POLICY_REFUSAL}")),
            "signed by {who}: {stderr}"
        );
    }

    let admin = orderer_admin(net)?;
    let orderer = orderer(net).await?;
    let channel = net.consortium.channel.clone();
    let current = cc::current_config(&orderer, &admin, &channel).await?;
    let params = batch_params(&current.config)?;
    let with_count = |count: u32| -> Result<ConfigUpdate> {
        Ok(batch_config_update(
            &current.config,
            &params.with(&BatchUpdate {
                max_message_count: Some(count),
                ..Default::default()
            }),
        )?)
    };

    let unsigned = config_update_envelope(&channel, with_count(9)?, &[], &admin);
    let (status, info) = broadcast(net, unsigned).await?;
    ensure!(
        (status, info.as_str()) == (BAD_REQUEST, POLICY_REFUSAL),
        "no signature: {status} {info}"
    );

    let version = current
        .config
        .channel_group
        .as_ref()
        .and_then(|g| g.groups.get("Orderer"))
        .and_then(|o| o.values.get("BatchSize"))
        .map(|v| v.version)
        .ok_or_else(|| anyhow!("no BatchSize"))?;
    let first = config_update_envelope(&channel, with_count(11)?, &[&admin], &admin);
    let stale = config_update_envelope(&channel, with_count(12)?, &[&admin], &admin);
    let (status, info) = broadcast(net, first).await?;
    ensure!(status == SUCCESS, "the first update: {status} {info}");
    wait_for_config_after(&orderer, &admin, &channel, current.block).await?;
    let (status, info) = broadcast(net, stale).await?;
    let expected = format!(
        "error applying config update to existing channel 'ehr': error authorizing update: error validating DeltaSet: attempt to set key [Value]  /Channel/Orderer/BatchSize to version {}, but key is at version {}",
        version + 1,
        version + 1
    );
    ensure!(
        (status, info.as_str()) == (BAD_REQUEST, expected.as_str()),
        "stale update: {status} {info}"
    );
    let now = batch_params(&cc::current_config(&orderer, &admin, &channel).await?.config)?;
    ensure!(
        now.max_message_count == 11,
        "the stale update changed nothing: {now:?}"
    );
    Ok(())
}

async fn wait_for_config_after(
    orderer: &Orderer,
    reader: &SigningIdentity,
    channel: &str,
    previous: u64,
) -> Result<u64> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let current = cc::current_config(orderer, reader, channel).await?;
        if current.block > previous {
            return Ok(current.block);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("no config block after {previous} in 30 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// (d) Fabric's `configtxlator compute_update` computes the same update as ours,
/// and its output, signed by the orderer admin, is accepted.
async fn configtxlator_compute_update(n: Net) -> Result<()> {
    let _serial = n.serial.lock().await;
    let net = &n.net;
    let bin = std::path::PathBuf::from(
        std::env::var_os("FABRIC_BIN").ok_or_else(|| anyhow!("FABRIC_BIN is not set"))?,
    );
    let admin = orderer_admin(net)?;
    let orderer = orderer(net).await?;
    let channel = net.consortium.channel.clone();
    let current = cc::current_config(&orderer, &admin, &channel).await?;
    let params = batch_params(&current.config)?.with(&BatchUpdate {
        max_message_count: Some(13),
        timeout: Some(Duration::from_millis(700)),
        ..Default::default()
    });
    let updated = fabric_configtx::batch::with_batch_params(&current.config, &params)?;
    let dir = tempfile::tempdir()?;
    let (orig, upd, out) = (
        dir.path().join("original.pb"),
        dir.path().join("updated.pb"),
        dir.path().join("update.pb"),
    );
    std::fs::write(&orig, current.config.encode_to_vec())?;
    std::fs::write(&upd, updated.encode_to_vec())?;
    let result = tokio::process::Command::new(bin.join("configtxlator"))
        .args(["compute_update", "--channel_id", &channel, "--original"])
        .arg(&orig)
        .arg("--updated")
        .arg(&upd)
        .arg("--output")
        .arg(&out)
        .output()
        .await
        .context("running configtxlator")?;
    ensure!(
        result.status.success(),
        "configtxlator compute_update: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    let theirs = ConfigUpdate::decode(std::fs::read(&out)?.as_slice())?;
    let mut ours = fabric_configtx::compute_update(&current.config, &updated)?;
    ours.channel_id = channel.clone();
    ensure!(theirs == ours, "configtxlator: {theirs:?}\nours: {ours:?}");
    let env = config_update_envelope(&channel, theirs, &[&admin], &admin);
    let (status, info) = broadcast(net, env).await?;
    ensure!(status == SUCCESS, "configtxlator's update: {status} {info}");
    wait_for_config_after(&orderer, &admin, &channel, current.block).await?;
    let now = batch_params(&cc::current_config(&orderer, &admin, &channel).await?.config)?;
    ensure!(
        now.max_message_count == 13 && now.timeout == Duration::from_millis(700),
        "{now:?}"
    );
    Ok(())
}

/// The batch parameters in force, from `channel config show --json`.
async fn shown_batch(n: &Net) -> Result<serde_json::Value> {
    let n = n.clone();
    let out =
        tokio::task::spawn_blocking(move || n.net.cli_ok(&["channel", "config", "show", "--json"]))
            .await??;
    let v: serde_json::Value = serde_json::from_str(&out)?;
    let orderer = &v["channel_group"]["groups"]["Orderer"]["values"];
    Ok(serde_json::json!({
        "size": orderer["BatchSize"],
        "timeout": orderer["BatchTimeout"],
        "config_block": v["config_block"],
        "sequence": v["sequence"],
    }))
}

/// A changed config is the one in force after the whole network restarts, and
/// blocks still follow it.
async fn survives_restart(n: Net) -> Result<()> {
    let _serial = n.serial.lock().await;
    update_batch(&n, &["--max-message-count", "4", "--timeout", "1s"]).await?;
    let before = shown_batch(&n).await?;
    ensure!(
        before["size"]["value"]["max_message_count"] == 4,
        "{before}"
    );
    {
        let n = n.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            n.net.cli_ok(&["network", "down"])?;
            n.net.cli_ok(&["network", "up"])?;
            Ok(())
        })
        .await??;
    }
    let after = shown_batch(&n).await?;
    ensure!(
        before == after,
        "before the restart {before}, after {after}"
    );
    let first = height(&n.net).await?;
    let blocks_of = submit_concurrently(&n.net, 12, "restart").await?;
    let chain = blocks(&n.net, first, blocks_of.iter().max().unwrap_or(&first) + 1).await?;
    let sizes: Vec<usize> = chain.iter().map(tx_count).collect();
    ensure!(
        sizes.iter().all(|&c| c <= 4) && sizes.iter().sum::<usize>() == 12,
        "after the restart blocks hold at most 4 transactions: {sizes:?}"
    );
    Ok(())
}
