//! The gateway over TLS: a chaincode definition approved by every org and
//! committed through `_lifecycle` proposals (Endorse with named orgs, Endorse
//! planned by the gateway, Submit, CommitStatus), then hand-built transactions
//! on it: an MVCC read conflict inside one block, a single-org endorsement
//! under MAJORITY, and a replayed envelope; plus Fabric's gateway errors.

mod common;

use common::tx::{self, kv};
use common::Fixture;
use fabric_msp::SigningIdentity;
use fabric_proto::common::{Envelope, Status};
use fabric_proto::gateway::gateway_client::GatewayClient;
use fabric_proto::gateway::{EndorseRequest, EvaluateRequest, SubmitRequest};
use fabric_proto::lifecycle::{
    ApproveChaincodeDefinitionForMyOrgArgs, CommitChaincodeDefinitionArgs,
};
use fabric_proto::orderer::atomic_broadcast_client::AtomicBroadcastClient;
use fabric_proto::protos::TxValidationCode;
use prost::Message;
use std::time::Duration;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

type Gw = GatewayClient<Channel>;

/// Endorse (optionally on named orgs), sign, submit, wait for the commit status
/// on the gateway's peer. Returns the code, the block number and the txid.
async fn submit(
    gw: &mut Gw,
    signer: &SigningIdentity,
    chaincode: &str,
    args: &[&[u8]],
    orgs: &[&str],
) -> (i32, u64, String) {
    let (sp, txid) = tx::proposal(signer, "ehr", chaincode, args);
    let endorsed = gw
        .endorse(EndorseRequest {
            transaction_id: txid.clone(),
            channel_id: "ehr".into(),
            proposed_transaction: Some(sp),
            endorsing_organizations: orgs.iter().map(|o| o.to_string()).collect(),
        })
        .await
        .unwrap_or_else(|e| panic!("endorse {args:?}: {e:?}"))
        .into_inner();
    let mut env = endorsed.prepared_transaction.unwrap();
    env.signature = signer.sign(&env.payload);
    gw.submit(SubmitRequest {
        transaction_id: txid.clone(),
        channel_id: "ehr".into(),
        prepared_transaction: Some(env),
    })
    .await
    .expect("submit");
    let status = gw
        .commit_status(tx::commit_status_request(signer, "ehr", &txid))
        .await
        .expect("commit status")
        .into_inner();
    (status.result, status.block_number, txid)
}

fn definition_args(sequence: i64) -> (Vec<u8>, Vec<u8>) {
    let approve = ApproveChaincodeDefinitionForMyOrgArgs {
        sequence,
        name: "kv".into(),
        version: "1.0".into(),
        ..Default::default()
    };
    let commit = CommitChaincodeDefinitionArgs {
        sequence,
        name: "kv".into(),
        version: "1.0".into(),
        ..Default::default()
    };
    (approve.encode_to_vec(), commit.encode_to_vec())
}

async fn status_of(gw: &mut Gw, signer: &SigningIdentity, txid: &str) -> (i32, u64) {
    let s = tokio::time::timeout(
        Duration::from_secs(60),
        gw.commit_status(tx::commit_status_request(signer, "ehr", txid)),
    )
    .await
    .expect("commit status in time")
    .expect("commit status")
    .into_inner();
    (s.result, s.block_number)
}

async fn broadcast(orderer: &mut AtomicBroadcastClient<Channel>, envs: Vec<Envelope>) {
    let n = envs.len();
    let mut responses = orderer
        .broadcast(tokio_stream::iter(envs))
        .await
        .unwrap()
        .into_inner();
    for _ in 0..n {
        let r = responses.next().await.unwrap().unwrap();
        assert_eq!(r.status, Status::Success as i32, "{}", r.info);
    }
}

/// Gateway clients to every peer of the fixture.
async fn gateways(fx: &Fixture, devnet: &devnet::Devnet) -> Vec<Gw> {
    let mut gws = Vec::new();
    for i in 0..fx.config.peers.len() {
        gws.push(GatewayClient::new(fx.peer_channel(devnet, i).await));
    }
    gws
}

/// Approves `kv` in every org through its own peer, then commits it (gateway-planned).
/// Returns the commit's block number.
///
/// Peers do not wait for one another before endorsing (as in Fabric), so, as
/// a client must, each approval is awaited on every peer before the commit is
/// endorsed; otherwise a peer that is behind would endorse a different result.
async fn define_kv(fx: &Fixture, gws: &mut [Gw]) -> u64 {
    let (approve, commit) = definition_args(1);
    for i in 0..gws.len() {
        let mspid = format!("Org{}MSP", i + 1);
        let args: [&[u8]; 2] = [b"ApproveChaincodeDefinitionForMyOrg", &approve];
        let (code, _, txid) =
            submit(&mut gws[i], &fx.admin(i), "_lifecycle", &args, &[&mspid]).await;
        assert_eq!(code, TxValidationCode::Valid as i32, "approval of {mspid}");
        for gw in gws.iter_mut() {
            let (code, _) = status_of(gw, &fx.admin(i), &txid).await;
            assert_eq!(code, TxValidationCode::Valid as i32, "approval of {mspid}");
        }
    }
    let args: [&[u8]; 2] = [b"CommitChaincodeDefinition", &commit];
    let (code, block, _) = submit(&mut gws[0], &fx.admin(0), "_lifecycle", &args, &[]).await;
    assert_eq!(
        code,
        TxValidationCode::Valid as i32,
        "commit of the definition"
    );
    block
}

fn peer_signers(fx: &Fixture) -> Vec<SigningIdentity> {
    fx.config
        .peers
        .iter()
        .map(|p| SigningIdentity::from_msp_dir(&p.mspid, &p.msp_dir).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_then_validation_codes() {
    let fx = Fixture::new(3, Duration::from_millis(300), 2);
    let devnet = fx.start().await;
    let mut gws = gateways(&fx, &devnet).await;

    // Before the definition exists, the gateway refuses to plan an evaluation, as Fabric's
    // does: FAILED_PRECONDITION, no endorser asked, so no error details.
    let (sp, txid) = tx::proposal(&fx.client(0), "ehr", "kv", &[b"get", b"k"]);
    let err = gws[0]
        .evaluate(EvaluateRequest {
            transaction_id: txid,
            channel_id: "ehr".into(),
            proposed_transaction: Some(sp),
            target_organizations: vec![],
        })
        .await
        .expect_err("undefined chaincode");
    assert_eq!(err.code(), tonic::Code::FailedPrecondition, "{err:?}");
    assert_eq!(
        err.message(),
        "no peers available to evaluate chaincode kv in channel ehr"
    );
    assert!(
        devnet::rpc_error::error_details(&err).is_empty(),
        "no endorser was asked, so no details: {err:?}"
    );
    // Endorse: no plan without discovery's metadata for the chaincode; nothing endorsed.
    let (sp, txid) = tx::proposal(&fx.client(0), "ehr", "kv", &[b"put", b"k", b"v"]);
    let err = gws[0]
        .endorse(EndorseRequest {
            transaction_id: txid,
            channel_id: "ehr".into(),
            proposed_transaction: Some(sp),
            endorsing_organizations: vec![],
        })
        .await
        .expect_err("undefined chaincode");
    assert_eq!(
        (err.code(), err.message()),
        (
            tonic::Code::FailedPrecondition,
            "no combination of peers can be derived which satisfy the endorsement policy: \
             No metadata was found for chaincode kv in channel ehr"
        )
    );
    assert!(devnet::rpc_error::error_details(&err).is_empty(), "{err:?}");

    // Each org approves through its own peer; then the gateway plans the commit (MAJORITY).
    let commit_block = define_kv(&fx, &mut gws).await;

    // Hand-built transactions on `kv`, endorsed by peers of two orgs (MAJORITY of 3).
    let peers = peer_signers(&fx);
    let client = fx.client(0);
    let mut orderer = AtomicBroadcastClient::new(fx.orderer_channel(&devnet).await);
    let (setup, setup_txid) = tx::endorser_tx(
        &client,
        "ehr",
        "kv",
        kv(&[], &[("k", b"v0")]),
        None,
        &[&peers[0], &peers[1]],
    );
    broadcast(&mut orderer, vec![setup.clone()]).await;
    let (code, setup_block) = status_of(&mut gws[1], &client, &setup_txid).await;
    assert_eq!(code, TxValidationCode::Valid as i32);
    assert!(setup_block > commit_block);

    // Two txs read k at its version and write it; cut into one block (MaxMessageCount 2).
    let read = [("k", Some((setup_block, 0)))];
    let (first, first_txid) = tx::endorser_tx(
        &client,
        "ehr",
        "kv",
        kv(&read, &[("k", b"v1")]),
        None,
        &[&peers[0], &peers[2]],
    );
    let (second, second_txid) = tx::endorser_tx(
        &client,
        "ehr",
        "kv",
        kv(&read, &[("k", b"v2")]),
        None,
        &[&peers[1], &peers[2]],
    );
    broadcast(&mut orderer, vec![first, second]).await;
    let (c1, b1) = status_of(&mut gws[2], &client, &first_txid).await;
    let (c2, b2) = status_of(&mut gws[2], &client, &second_txid).await;
    assert_eq!(b1, b2, "both in one block");
    assert_eq!(
        (c1, c2),
        (
            TxValidationCode::Valid as i32,
            TxValidationCode::MvccReadConflict as i32
        )
    );

    // One org's endorsement under MAJORITY; and a replay of the setup envelope.
    let (lone, lone_txid) = tx::endorser_tx(
        &client,
        "ehr",
        "kv",
        kv(&[], &[("x", b"1")]),
        None,
        &[&peers[0]],
    );
    broadcast(&mut orderer, vec![lone, setup]).await;
    let (code, _) = status_of(&mut gws[0], &client, &lone_txid).await;
    assert_eq!(code, TxValidationCode::EndorsementPolicyFailure as i32);
    // The replay is DUPLICATE_TXID in its block; the txid's status stays its first commit.
    let mut deliver =
        fabric_proto::protos::deliver_client::DeliverClient::new(fx.peer_channel(&devnet, 0).await);
    let (_, lone_block) = status_of(&mut gws[0], &client, &lone_txid).await;
    let mut stream = deliver
        .deliver_filtered(tokio_stream::iter(vec![tx::seek(
            &client,
            "ehr",
            tx::specified(lone_block),
            Some(lone_block),
            false,
        )]))
        .await
        .unwrap()
        .into_inner();
    let Some(Ok(fabric_proto::protos::DeliverResponse {
        r#type: Some(fabric_proto::protos::deliver_response::Type::FilteredBlock(fb)),
    })) = stream.next().await
    else {
        panic!("expected a filtered block")
    };
    let codes: Vec<(String, i32)> = fb
        .filtered_transactions
        .iter()
        .map(|t| (t.txid.clone(), t.tx_validation_code))
        .collect();
    assert_eq!(
        codes,
        vec![
            (lone_txid, TxValidationCode::EndorsementPolicyFailure as i32),
            (setup_txid.clone(), TxValidationCode::DuplicateTxid as i32)
        ]
    );
    assert_eq!(
        status_of(&mut gws[0], &client, &setup_txid).await,
        (TxValidationCode::Valid as i32, setup_block)
    );
    evaluate_and_events(&fx, &mut gws, &mut orderer, &peers, &setup_txid).await;
    devnet.stop().await.unwrap();
}

/// Evaluate through `_lifecycle`, then chaincode events of hand-built transactions.
async fn evaluate_and_events(
    fx: &Fixture,
    gws: &mut [Gw],
    orderer: &mut AtomicBroadcastClient<Channel>,
    peers: &[SigningIdentity],
    setup_txid: &str,
) {
    let client = fx.client(0);
    // Evaluate answers from one peer: the committed definition.
    let query =
        fabric_proto::lifecycle::QueryChaincodeDefinitionArgs { name: "kv".into() }.encode_to_vec();
    let (sp, txid) = tx::proposal(
        &client,
        "ehr",
        "_lifecycle",
        &[b"QueryChaincodeDefinition", &query],
    );
    let result = gws[1]
        .evaluate(EvaluateRequest {
            transaction_id: txid,
            channel_id: "ehr".into(),
            proposed_transaction: Some(sp),
            target_organizations: vec![],
        })
        .await
        .expect("evaluate")
        .into_inner()
        .result
        .unwrap();
    assert_eq!(result.status, 200);
    let definition =
        fabric_proto::lifecycle::QueryChaincodeDefinitionResult::decode(result.payload.as_slice())
            .unwrap();
    assert_eq!(
        (definition.sequence, definition.version.as_str()),
        (1, "1.0")
    );

    // Two valid txs with events; a stream from their block, and one resuming after the first txid.
    let height_before = status_of(&mut gws[0], &client, setup_txid).await.1;
    let endorsers = [&peers[0], &peers[1]];
    let (ev1, ev1_txid) = tx::endorser_tx(
        &client,
        "ehr",
        "kv",
        kv(&[], &[("e1", b"1")]),
        Some(("kv_put", b"e1=1")),
        &endorsers,
    );
    let (ev2, ev2_txid) = tx::endorser_tx(
        &client,
        "ehr",
        "kv",
        kv(&[], &[("e2", b"2")]),
        Some(("kv_put", b"e2=2")),
        &endorsers,
    );
    broadcast(orderer, vec![ev1, ev2]).await;
    let (_, ev_block) = status_of(&mut gws[0], &client, &ev2_txid).await;
    assert!(ev_block > height_before);
    let request =
        tx::chaincode_events_request(&client, "ehr", "kv", Some(tx::specified(ev_block)), "");
    let mut events = gws[0]
        .chaincode_events(request)
        .await
        .expect("chaincode events")
        .into_inner();
    let response = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(response.block_number, ev_block);
    let seen: Vec<(&str, &[u8])> = response
        .events
        .iter()
        .map(|e| (e.tx_id.as_str(), e.payload.as_slice()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (ev1_txid.as_str(), &b"e1=1"[..]),
            (ev2_txid.as_str(), &b"e2=2"[..])
        ]
    );
    let request = tx::chaincode_events_request(&client, "ehr", "kv", None, &ev1_txid);
    let mut resumed = gws[0]
        .chaincode_events(request)
        .await
        .expect("events after a txid")
        .into_inner();
    let response = tokio::time::timeout(Duration::from_secs(10), resumed.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let txids: Vec<&str> = response.events.iter().map(|e| e.tx_id.as_str()).collect();
    assert_eq!(txids, vec![ev2_txid.as_str()]);
    // Fabric refuses SeekOldest as a start position.
    let oldest = fabric_proto::orderer::SeekPosition {
        r#type: Some(fabric_proto::orderer::seek_position::Type::Oldest(
            Default::default(),
        )),
    };
    let request = tx::chaincode_events_request(&client, "ehr", "kv", Some(oldest), "");
    let err = gws[0]
        .chaincode_events(request)
        .await
        .expect_err("oldest is refused");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
}

/// Many pre-endorsed MAJORITY transactions broadcast on parallel streams all
/// commit VALID on every peer. (A correctness test: throughput is measured by
/// `healthblock bench`, not asserted here.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_broadcasts_all_commit() {
    const STREAMS: usize = 4;
    const PER_STREAM: usize = 50;
    let fx = Fixture::new(3, Duration::from_millis(200), 250);
    let devnet = fx.start().await;
    let mut gws = gateways(&fx, &devnet).await;
    define_kv(&fx, &mut gws).await;
    let peers = peer_signers(&fx);
    let client = fx.client(0);
    let batches: Vec<Vec<(Envelope, String)>> = (0..STREAMS)
        .map(|s| {
            (0..PER_STREAM)
                .map(|i| {
                    let key = format!("key-{s}-{i}");
                    let endorsers = [&peers[i % 3], &peers[(i + 1) % 3]];
                    tx::endorser_tx(
                        &client,
                        "ehr",
                        "kv",
                        kv(&[], &[(&key, &[7u8; 100])]),
                        None,
                        &endorsers,
                    )
                })
                .collect()
        })
        .collect();
    let txids: Vec<String> = batches
        .iter()
        .flat_map(|b| b.iter().map(|(_, txid)| txid.clone()))
        .collect();
    let started = std::time::Instant::now();
    let mut senders = Vec::new();
    for batch in batches {
        let mut orderer = AtomicBroadcastClient::new(fx.orderer_channel(&devnet).await);
        senders.push(tokio::spawn(async move {
            broadcast(&mut orderer, batch.into_iter().map(|(e, _)| e).collect()).await;
        }));
    }
    for s in senders {
        s.await.unwrap();
    }
    eprintln!(
        "broadcast done after {:.2}s",
        started.elapsed().as_secs_f64()
    );
    for gw in gws.iter_mut() {
        for txid in &txids {
            assert_eq!(
                status_of(gw, &client, txid).await.0,
                TxValidationCode::Valid as i32
            );
        }
    }
    eprintln!(
        "committed {} MAJORITY-endorsed txs on 3 peers in {:.2}s",
        STREAMS * PER_STREAM,
        started.elapsed().as_secs_f64()
    );
    devnet.stop().await.unwrap();
}
