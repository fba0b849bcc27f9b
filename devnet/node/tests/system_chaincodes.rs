//! `qscc` and `cscc` on a running devnet, as `peer channel list`, `peer channel
//! getinfo` and SDKs call them: without a channel in the proposal (the channel is
//! an argument), and through the Gateway on the channel. Each answer is checked
//! against the blocks the peer delivers; each refusal against Fabric's words.

mod common;

use common::tx;
use common::Fixture;
use fabric_msp::SigningIdentity;
use fabric_proto::common::{Block, BlockchainInfo, Config, Status};
use fabric_proto::gateway::gateway_client::GatewayClient;
use fabric_proto::gateway::EvaluateRequest;
use fabric_proto::orderer::atomic_broadcast_client::AtomicBroadcastClient;
use fabric_proto::protos::endorser_client::EndorserClient;
use fabric_proto::protos::{ChannelQueryResponse, ProcessedTransaction, ProposalResponse};
use prost::Message;
use std::time::Duration;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

type Peer = EndorserClient<Channel>;

async fn call(
    peer: &mut Peer,
    signer: &SigningIdentity,
    channel: &str,
    chaincode: &str,
    args: &[&[u8]],
) -> Result<ProposalResponse, tonic::Status> {
    let (sp, _) = tx::proposal(signer, channel, chaincode, args);
    peer.process_proposal(sp).await.map(|r| r.into_inner())
}

/// The payload of a successful answer; panics with the message otherwise.
fn ok_payload(resp: &ProposalResponse) -> Vec<u8> {
    let r = resp.response.as_ref().expect("a response");
    assert_eq!(r.status, 200, "{}", r.message);
    r.payload.clone()
}

fn error_message(resp: &ProposalResponse) -> String {
    let r = resp.response.as_ref().expect("a response");
    assert_eq!(r.status, 500, "expected a refusal, got {r:?}");
    r.message.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qscc_and_cscc_answer_with_and_without_a_channel() {
    let fx = Fixture::new(2, Duration::from_millis(200), 10);
    let devnet = fx.start().await;
    let mut peer = EndorserClient::new(fx.peer_channel(&devnet, 0).await);
    let client = fx.client(0);

    // cscc GetChannels, channel-less: the one channel this peer has joined.
    let resp = call(&mut peer, &client, "", "cscc", &[b"GetChannels"])
        .await
        .unwrap();
    let channels = ChannelQueryResponse::decode(ok_payload(&resp).as_slice()).unwrap();
    let ids: Vec<_> = channels
        .channels
        .iter()
        .map(|c| c.channel_id.as_str())
        .collect();
    assert_eq!(ids, ["ehr"]);
    // A channel-less answer carries no endorsement (Fabric: "unendorsed success").
    assert!(resp.endorsement.is_none());

    // Another org's identity is unknown to the peer's local MSP.
    let err = call(&mut peer, &fx.client(1), "", "cscc", &[b"GetChannels"])
        .await
        .expect_err("another org's client");
    assert!(
        err.message().contains("creator org unknown"),
        "{}",
        err.message()
    );

    // qscc GetChainInfo matches the newest block the peer serves.
    let resp = call(&mut peer, &client, "", "qscc", &[b"GetChainInfo", b"ehr"])
        .await
        .unwrap();
    let info = BlockchainInfo::decode(ok_payload(&resp).as_slice()).unwrap();
    assert!(info.height >= 1);
    let tip_number = (info.height - 1).to_string();
    let resp = call(
        &mut peer,
        &client,
        "",
        "qscc",
        &[b"GetBlockByNumber", b"ehr", tip_number.as_bytes()],
    )
    .await
    .unwrap();
    let tip = Block::decode(ok_payload(&resp).as_slice()).unwrap();
    let header = tip.header.clone().unwrap();
    assert_eq!(header.number, info.height - 1);
    assert_eq!(
        info.current_block_hash,
        fabric_block::header_hash(&header).to_vec()
    );
    assert_eq!(info.previous_block_hash, header.previous_hash);

    // GetBlockByHash finds the same block; an unknown hash is refused in Fabric's words.
    let resp = call(
        &mut peer,
        &client,
        "",
        "qscc",
        &[b"GetBlockByHash", b"ehr", &info.current_block_hash],
    )
    .await
    .unwrap();
    assert_eq!(Block::decode(ok_payload(&resp).as_slice()).unwrap(), tip);
    let resp = call(
        &mut peer,
        &client,
        "",
        "qscc",
        &[b"GetBlockByHash", b"ehr", &[7u8; 32]],
    )
    .await
    .unwrap();
    assert!(error_message(&resp).contains("no such block hash"));

    // Refusals: an unknown block, an unknown transaction, a channel not joined,
    // a missing argument, an unknown function.
    let cases: [(&[&[u8]], &str); 5] = [
        (
            &[b"GetBlockByNumber", b"ehr", b"99"],
            "Failed to get block number 99, error no such block number [99] in index",
        ),
        (
            &[b"GetTransactionByID", b"ehr", b"nope"],
            "Failed to get transaction with id nope, error no such transaction ID [nope] in index",
        ),
        (&[b"GetChainInfo", b"other"], "Invalid chain ID, other"),
        (
            &[b"GetBlockByNumber", b"ehr"],
            "missing 3rd argument for GetBlockByNumber",
        ),
        (
            &[b"Nope", b"ehr", b"x"],
            "access denied for [Nope][ehr]: [Unmapped policy for qscc/Nope]",
        ),
    ];
    for (args, expected) in cases {
        let resp = call(&mut peer, &client, "", "qscc", args).await.unwrap();
        assert_eq!(error_message(&resp), expected);
    }

    // cscc GetChannelConfig: the config in force, and a channel not joined.
    let resp = call(
        &mut peer,
        &client,
        "",
        "cscc",
        &[b"GetChannelConfig", b"ehr"],
    )
    .await
    .unwrap();
    let config = Config::decode(ok_payload(&resp).as_slice()).unwrap();
    assert!(config
        .channel_group
        .unwrap()
        .groups
        .contains_key("Application"));
    let resp = call(&mut peer, &client, "", "cscc", &[b"GetChannelConfig", b"x"])
        .await
        .unwrap();
    assert_eq!(error_message(&resp), "unknown channel ID, x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qscc_on_the_channel_is_endorsed_and_guarded_by_its_acl() {
    let fx = Fixture::new(2, Duration::from_millis(200), 10);
    let devnet = fx.start().await;
    let mut peer = EndorserClient::new(fx.peer_channel(&devnet, 0).await);

    // With the channel in the proposal the answer is endorsed, as for any chaincode.
    let resp = call(
        &mut peer,
        &fx.client(1),
        "ehr",
        "qscc",
        &[b"GetChainInfo", b"ehr"],
    )
    .await
    .unwrap();
    ok_payload(&resp);
    assert!(
        resp.endorsement.is_some(),
        "an on-channel answer is endorsed"
    );

    // The orderer org is a channel member but no Application reader: the qscc
    // ACL (Fabric's default: /Channel/Application/Readers) refuses it, after the
    // endorser let the system chaincode decide.
    let orderer_client = fx.orderer_org.user("User1@example.com", "client");
    let resp = call(
        &mut peer,
        &orderer_client,
        "ehr",
        "qscc",
        &[b"GetChainInfo", b"ehr"],
    )
    .await
    .unwrap();
    let message = error_message(&resp);
    assert!(
        message.starts_with("access denied for [GetChainInfo][ehr]: ["),
        "{message}"
    );

    // A transaction's ProcessedTransaction and block: one hand-built transaction
    // on an undefined chaincode, committed (invalid) by the peer; qscc reports the
    // code the peer wrote in the block's TRANSACTIONS_FILTER.
    let peers: Vec<SigningIdentity> = fx
        .config
        .peers
        .iter()
        .map(|p| SigningIdentity::from_msp_dir(&p.mspid, &p.msp_dir).unwrap())
        .collect();
    let (env, txid) = tx::endorser_tx(
        &fx.client(0),
        "ehr",
        "undefined",
        tx::kv(&[], &[("k", b"v")]),
        None,
        &[&peers[0], &peers[1]],
    );
    let mut orderer = AtomicBroadcastClient::new(fx.orderer_channel(&devnet).await);
    let answer = orderer
        .broadcast(tokio_stream::iter([env]))
        .await
        .unwrap()
        .into_inner()
        .next()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer.status, Status::Success as i32, "{}", answer.info);
    let processed = loop {
        let resp = call(
            &mut peer,
            &fx.client(0),
            "",
            "qscc",
            &[b"GetTransactionByID", b"ehr", txid.as_bytes()],
        )
        .await
        .unwrap();
        if resp.response.as_ref().unwrap().status == 200 {
            break ProcessedTransaction::decode(ok_payload(&resp).as_slice()).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let resp = call(
        &mut peer,
        &fx.client(0),
        "",
        "qscc",
        &[b"GetBlockByTxID", b"ehr", txid.as_bytes()],
    )
    .await
    .unwrap();
    let block = Block::decode(ok_payload(&resp).as_slice()).unwrap();
    let index = block
        .data
        .as_ref()
        .unwrap()
        .data
        .iter()
        .position(|e| {
            fabric_proto::common::Envelope::decode(e.as_slice()).unwrap()
                == *processed.transaction_envelope.as_ref().unwrap()
        })
        .expect("the transaction is in the block qscc names");
    let filter = devnet_ledger::transactions_filter(&block);
    assert_eq!(processed.validation_code, i32::from(filter[index]));
    assert_ne!(
        processed.validation_code, 0,
        "an undefined chaincode's transaction is not valid"
    );

    // The Gateway's Evaluate of qscc (how SDK applications read chain info).
    let mut gw = GatewayClient::new(fx.peer_channel(&devnet, 1).await);
    let (sp, txid) = tx::proposal(&fx.client(1), "ehr", "qscc", &[b"GetChainInfo", b"ehr"]);
    let result = gw
        .evaluate(EvaluateRequest {
            transaction_id: txid,
            channel_id: "ehr".into(),
            proposed_transaction: Some(sp),
            target_organizations: vec![],
        })
        .await
        .expect("Gateway evaluate of qscc")
        .into_inner();
    let info = BlockchainInfo::decode(result.result.unwrap().payload.as_slice()).unwrap();
    assert!(info.height >= 1);
}
