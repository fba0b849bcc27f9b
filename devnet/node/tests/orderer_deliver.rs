//! The orderer and deliver paths over TLS: genesis block contents, Broadcast
//! admission (status per message as Fabric answers), block cutting, signed
//! hash-chained blocks, peer and orderer Deliver (full and filtered), seek
//! semantics, and restart with a peer catching up from the orderer's chain.

mod common;

use common::tx::{self, kv};
use common::Fixture;
use fabric_msp::{Msp, MspManager};
use fabric_proto::common::{Block, BlockMetadataIndex, ConfigEnvelope, Envelope, Payload, Status};
use fabric_proto::orderer::atomic_broadcast_client::AtomicBroadcastClient;
use fabric_proto::orderer::{self, BatchSize};
use fabric_proto::protos::deliver_client::DeliverClient;
use fabric_proto::protos::{self, deliver_response};
use prost::Message;
use std::time::Duration;
use tokio_stream::StreamExt;

/// Broadcasts each envelope on one stream; returns the statuses and infos.
async fn broadcast(
    client: &mut AtomicBroadcastClient<tonic::transport::Channel>,
    envs: Vec<Envelope>,
) -> Vec<(i32, String)> {
    let n = envs.len();
    let mut responses = client
        .broadcast(tokio_stream::iter(envs))
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while out.len() < n {
        match responses.next().await {
            Some(Ok(r)) => out.push((r.status, r.info)),
            _ => break,
        }
    }
    out
}

/// Blocks from the orderer's Deliver, then the final status.
async fn orderer_blocks(
    client: &mut AtomicBroadcastClient<tonic::transport::Channel>,
    req: Envelope,
) -> (Vec<Block>, i32) {
    let mut stream = client
        .deliver(tokio_stream::iter(vec![req]))
        .await
        .unwrap()
        .into_inner();
    let mut blocks = Vec::new();
    while let Some(Ok(r)) = stream.next().await {
        match r.r#type {
            Some(orderer::deliver_response::Type::Block(b)) => blocks.push(b),
            Some(orderer::deliver_response::Type::Status(s)) => return (blocks, s),
            None => break,
        }
    }
    (blocks, -1)
}

/// Items from a peer's Deliver or DeliverFiltered, then the final status.
async fn peer_items(
    client: &mut DeliverClient<tonic::transport::Channel>,
    req: Envelope,
    filtered: bool,
) -> (Vec<deliver_response::Type>, i32) {
    let stream = if filtered {
        client.deliver_filtered(tokio_stream::iter(vec![req])).await
    } else {
        client.deliver(tokio_stream::iter(vec![req])).await
    };
    let mut stream = stream.unwrap().into_inner();
    let mut items = Vec::new();
    while let Some(Ok(protos::DeliverResponse { r#type: Some(t) })) = stream.next().await {
        match t {
            deliver_response::Type::Status(s) => return (items, s),
            other => items.push(other),
        }
    }
    (items, -1)
}

fn msps(fx: &Fixture) -> MspManager {
    let mut all: Vec<Msp> = fx
        .config
        .orgs
        .iter()
        .map(|o| Msp::from_dir(&o.mspid, &o.msp_dir).unwrap())
        .collect();
    all.push(Msp::from_dir("OrdererMSP", &fx.config.orderer.org_msp_dir).unwrap());
    MspManager::new(all)
}

/// Block 0 of the real Fabric v3.1.5 channel in the repository's golden vectors.
fn real_genesis() -> Block {
    let bytes = healthblock_test_support::read_vector("blocks/000000.block");
    Block::decode(bytes.as_slice()).unwrap()
}

/// Every group, value and policy path of a genesis config, with org names
/// replaced by `<org>` (application) and `<orderer-org>`.
fn config_paths(block: &Block) -> std::collections::BTreeSet<String> {
    fn walk(
        group: &fabric_proto::common::ConfigGroup,
        path: &str,
        out: &mut std::collections::BTreeSet<String>,
    ) {
        out.insert(format!("{path} mod_policy={}", group.mod_policy));
        for k in group.values.keys() {
            out.insert(format!("{path}/value:{k}"));
        }
        for k in group.policies.keys() {
            out.insert(format!("{path}/policy:{k}"));
        }
        for (k, g) in &group.groups {
            let name = match path {
                "Channel/Application" => "<org>",
                "Channel/Orderer" => "<orderer-org>",
                _ => k.as_str(),
            };
            walk(g, &format!("{path}/{name}"), out);
        }
    }
    let env = Envelope::decode(block.data.as_ref().unwrap().data[0].as_slice()).unwrap();
    let payload = Payload::decode(env.payload.as_slice()).unwrap();
    let config = ConfigEnvelope::decode(payload.data.as_slice())
        .unwrap()
        .config
        .unwrap();
    let mut out = std::collections::BTreeSet::new();
    walk(config.channel_group.as_ref().unwrap(), "Channel", &mut out);
    out
}

fn filter(block: &Block) -> Vec<u8> {
    block.metadata.as_ref().unwrap().metadata[BlockMetadataIndex::TransactionsFilter as usize]
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genesis_broadcast_and_deliver() {
    let fx = Fixture::new(3, Duration::from_millis(200), 10);
    let devnet = fx.start().await;
    let client = fx.client(0);
    let mut orderer = AtomicBroadcastClient::new(fx.orderer_channel(&devnet).await);

    // Genesis: one unsigned CONFIG envelope with the channel's config.
    let (blocks, status) = orderer_blocks(
        &mut orderer,
        tx::seek(&client, "ehr", tx::specified(0), Some(0), true),
    )
    .await;
    assert_eq!(status, Status::Success as i32);
    let genesis = &blocks[0];
    let env = Envelope::decode(genesis.data.as_ref().unwrap().data[0].as_slice()).unwrap();
    assert!(
        env.signature.is_empty(),
        "the genesis envelope is unsigned, like Fabric's"
    );
    let payload = Payload::decode(env.payload.as_slice()).unwrap();
    let config = ConfigEnvelope::decode(payload.data.as_slice())
        .unwrap()
        .config
        .unwrap();
    let channel = config.channel_group.unwrap();
    let app = &channel.groups["Application"];
    assert_eq!(app.groups.len(), 3);
    assert!(
        app.policies.contains_key("Endorsement")
            && app.policies.contains_key("LifecycleEndorsement")
    );
    let batch = BatchSize::decode(
        channel.groups["Orderer"].values["BatchSize"]
            .value
            .as_slice(),
    )
    .unwrap();
    assert_eq!(batch.max_message_count, 10);
    assert!(
        filter(genesis).is_empty(),
        "orderer copies carry no TRANSACTIONS_FILTER"
    );
    assert_eq!(
        config_paths(genesis),
        config_paths(&real_genesis()),
        "same config tree as Fabric's genesis"
    );

    // Broadcast: valid envelopes succeed; bad ones get Fabric's statuses.
    let peer_signer =
        fabric_msp::SigningIdentity::from_msp_dir("Org1MSP", &fx.config.peers[0].msp_dir).unwrap();
    let (good1, txid1) = tx::endorser_tx(&client, "ehr", "kv", kv(&[], &[("a", b"1")]), None, &[]);
    let (good2, txid2) = tx::endorser_tx(&client, "ehr", "kv", kv(&[], &[("b", b"2")]), None, &[]);
    let (wrong_channel, _) = tx::endorser_tx(&client, "nochannel", "kv", kv(&[], &[]), None, &[]);
    let (mut bad_sig, _) = tx::endorser_tx(&client, "ehr", "kv", kv(&[], &[]), None, &[]);
    bad_sig.signature = client.sign(b"something else");
    let (by_peer, _) = tx::endorser_tx(&peer_signer, "ehr", "kv", kv(&[], &[]), None, &[]);
    assert_eq!(
        broadcast(&mut orderer, vec![good1, good2]).await,
        vec![
            (Status::Success as i32, String::new()),
            (Status::Success as i32, String::new())
        ]
    );
    // Fabric v3.1.5's answers (the e2e conformance trials compare both backends).
    assert_eq!(
        broadcast(&mut orderer, vec![wrong_channel]).await,
        vec![(
            Status::BadRequest as i32,
            "channel does not exist".to_owned()
        )]
    );
    let writers_refusal = (
        Status::Forbidden as i32,
        "implicit policy evaluation failed - 0 sub-policies were satisfied, but this policy \
         requires 1 of the 'Writers' sub-policies to be satisfied: permission denied"
            .to_owned(),
    );
    assert_eq!(
        broadcast(&mut orderer, vec![bad_sig]).await,
        vec![writers_refusal.clone()]
    );
    assert_eq!(
        broadcast(&mut orderer, vec![by_peer]).await,
        vec![writers_refusal],
        "peers are not channel writers"
    );

    // The peer delivers block 1 (waiting for it) with its validation codes.
    let mut deliver = DeliverClient::new(fx.peer_channel(&devnet, 1).await);
    let (items, status) = peer_items(
        &mut deliver,
        tx::seek(&fx.client(1), "ehr", tx::specified(0), Some(1), false),
        false,
    )
    .await;
    assert_eq!(status, Status::Success as i32);
    let blocks: Vec<Block> = items
        .into_iter()
        .map(|i| match i {
            deliver_response::Type::Block(b) => b,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(blocks.len(), 2);
    assert_eq!(filter(&blocks[0]), vec![0]);
    // Both txs write to an undefined chaincode: INVALID_CHAINCODE on every peer.
    assert_eq!(filter(&blocks[1]), vec![25, 25]);
    let report = fabric_block::verify_chain(&blocks, &msps(&fx));
    assert_eq!(report.first_broken, None);
    assert_eq!(report.height, 2);

    // Filtered blocks: txids, types and codes.
    let (items, status) = peer_items(
        &mut deliver,
        tx::seek(&fx.client(1), "ehr", tx::specified(1), Some(1), true),
        true,
    )
    .await;
    assert_eq!(status, Status::Success as i32);
    let deliver_response::Type::FilteredBlock(fb) = &items[0] else {
        panic!("expected a filtered block")
    };
    assert_eq!(fb.number, 1);
    assert_eq!(fb.channel_id, "ehr");
    let txids: Vec<&str> = fb
        .filtered_transactions
        .iter()
        .map(|t| t.txid.as_str())
        .collect();
    assert_eq!(txids, vec![txid1.as_str(), txid2.as_str()]);

    // FAIL_IF_NOT_READY past the tip: NOT_FOUND. Orderer identities may not read a peer.
    let (_, status) = peer_items(
        &mut deliver,
        tx::seek(&client, "ehr", tx::specified(5), Some(5), true),
        false,
    )
    .await;
    assert_eq!(status, Status::NotFound as i32);
    let orderer_user = fx.orderer_org.user("Admin@example.com", "admin");
    let (_, status) = peer_items(
        &mut deliver,
        tx::seek(&orderer_user, "ehr", tx::specified(0), Some(0), true),
        false,
    )
    .await;
    assert_eq!(status, Status::Forbidden as i32);

    // The orderer's copies: same headers and data, no filter.
    let (oblocks, status) = orderer_blocks(
        &mut orderer,
        tx::seek(&client, "ehr", tx::specified(0), Some(1), true),
    )
    .await;
    assert_eq!(status, Status::Success as i32);
    assert_eq!(oblocks[1].header, blocks[1].header);
    assert!(filter(&oblocks[1]).is_empty());
    devnet.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_blocks_and_peer_catches_up() {
    let fx = Fixture::new(2, Duration::from_millis(100), 10);
    let client = fx.client(0);
    let devnet = fx.start().await;
    let mut orderer = AtomicBroadcastClient::new(fx.orderer_channel(&devnet).await);
    let (env, _) = tx::endorser_tx(&client, "ehr", "kv", kv(&[], &[("a", b"1")]), None, &[]);
    assert_eq!(
        broadcast(&mut orderer, vec![env]).await[0].0,
        Status::Success as i32
    );
    let mut deliver = DeliverClient::new(fx.peer_channel(&devnet, 0).await);
    let (items, status) = peer_items(
        &mut deliver,
        tx::seek(&client, "ehr", tx::specified(1), Some(1), false),
        false,
    )
    .await;
    assert_eq!((items.len(), status), (1, Status::Success as i32));
    devnet.stop().await.unwrap();

    // Lose one peer's ledger entirely: on restart it rebuilds from the orderer's chain.
    std::fs::remove_file(
        fx.config
            .data_dir
            .join(&fx.config.peers[1].name)
            .join("ledger.redb"),
    )
    .unwrap();
    let devnet = fx.start().await;
    let mut deliver = DeliverClient::new(fx.peer_channel(&devnet, 1).await);
    let (items, status) = tokio::time::timeout(
        Duration::from_secs(20),
        peer_items(
            &mut deliver,
            tx::seek(&client, "ehr", tx::specified(0), Some(1), false),
            false,
        ),
    )
    .await
    .expect("the peer catches up");
    assert_eq!((items.len(), status), (2, Status::Success as i32));
    // The orderer's chain continues from where it was (no second genesis).
    let mut orderer = AtomicBroadcastClient::new(fx.orderer_channel(&devnet).await);
    let (env, _) = tx::endorser_tx(&client, "ehr", "kv", kv(&[], &[("b", b"2")]), None, &[]);
    assert_eq!(
        broadcast(&mut orderer, vec![env]).await[0].0,
        Status::Success as i32
    );
    let (blocks, status) = orderer_blocks(
        &mut orderer,
        tx::seek(&client, "ehr", tx::specified(0), Some(2), false),
    )
    .await;
    assert_eq!(status, Status::Success as i32);
    let report = fabric_block::verify_chain(&blocks, &msps(&fx));
    assert_eq!((report.height, report.first_broken), (3, None));
    devnet.stop().await.unwrap();
}
