//! The endorsement-policy attack: a dishonest hospital overwrites another
//! hospital's patient record. It does what it really could: its own
//! peer's key (and a colluding hospital's peer key, so the chaincode-level
//! MAJORITY is met) signs a hand-built response whose write set replaces the
//! record, and the transaction goes straight to the orderer. Every peer must
//! invalidate it with ENDORSEMENT_POLICY_FAILURE, because the record's key
//! carries a key-level policy naming the home hospital's peer. The control
//! builds the same kind of transaction with the home hospital's peer key and
//! must commit VALID, so the test can pass only through that key-level policy.

use crate::fixtures::{get_record, put_record};
use crate::{trial, Ctx, TestFn, EHR};
use anyhow::{anyhow, ensure, Context, Result};
use fabric_client::admin::Peer;
use fabric_client::{Proposal, ProposalBuilder, TxValidationCode};
use fabric_msp::SigningIdentity;
use fabric_proto::kvrwset::{KvWrite, KvrwSet};
use fabric_proto::protos::{
    ChaincodeAction, ChaincodeId, Endorsement, ProposalResponse, ProposalResponsePayload, Response,
};
use fabric_proto::rwset::{NsReadWriteSet, TxReadWriteSet};
use healthblock_tests::{broadcast, find_tx_code, peer_identity, wallet_identity};
use prost::Message;
use serde_json::Value;

const ENDORSEMENT_POLICY_FAILURE: i32 = 10;

pub fn trials() -> Vec<(&'static str, TestFn)> {
    vec![
        trial(
            "attack::colluding_hospitals_cannot_overwrite_a_record",
            colluding_overwrite,
        ),
        trial(
            "attack::control_home_peer_endorsement_is_valid",
            home_peer_control,
        ),
    ]
}

async fn colluding_overwrite(ctx: Ctx) -> Result<()> {
    let (rid, stored) = put_record(&ctx, "attack").await?;
    let before = get_record(&ctx, &rid).await?;
    let txid = forge_overwrite(&ctx, &stored, &["Hospital2", "Hospital3"]).await?;
    expect_code_on_every_peer(&ctx, &txid, ENDORSEMENT_POLICY_FAILURE).await?;
    let after = get_record(&ctx, &rid).await?;
    ensure!(
        after == before,
        "the rejected overwrite changed the record:\nbefore {before}\nafter  {after}"
    );
    Ok(())
}

async fn home_peer_control(ctx: Ctx) -> Result<()> {
    let (rid, stored) = put_record(&ctx, "attack-control").await?;
    let txid = forge_overwrite(&ctx, &stored, &["Hospital1", "Hospital2"]).await?;
    expect_code_on_every_peer(&ctx, &txid, TxValidationCode::VALID.0).await?;
    let after = get_record(&ctx, &rid).await?;
    ensure!(
        after["storage_pointer"] == tampered(&stored)["storage_pointer"],
        "the valid hand-built write did not land: {after}"
    );
    Ok(())
}

/// The record as the attacker wants it: the blob pointer and hash replaced.
fn tampered(stored: &Value) -> Value {
    let mut forged = stored.clone();
    forged["storage_pointer"] = Value::from("s3://attacker/replaced-record");
    forged["ciphertext_sha256"] = Value::from("00".repeat(32));
    forged
}

/// Builds the overwrite of `stored`'s head key as a Hospital2 doctor's
/// `put_record`, endorsed with the peer keys of `endorsing_orgs`, and sends
/// it to the orderer. Returns the transaction id.
async fn forge_overwrite(ctx: &Ctx, stored: &Value, endorsing_orgs: &[&str]) -> Result<String> {
    let net = &ctx.net;
    let attacker = ctx.users.doctor2;
    let creator = wallet_identity(net, attacker.name, attacker.org)?;
    let forged = tampered(stored);
    let args = forged.to_string();
    let proposal = ProposalBuilder::new(&net.consortium.channel, EHR, "put_record")
        .arg(args.as_bytes())
        .build(creator.serialize());
    let chaincode_id = deployed_chaincode_id(ctx, &creator).await?;
    let rid = stored["record_id"]
        .as_str()
        .ok_or_else(|| anyhow!("stored record has no id: {stored}"))?;
    let payload = response_payload(
        &proposal,
        chaincode_id,
        rid,
        forged.to_string().into_bytes(),
    );
    let mut responses = Vec::new();
    for org in endorsing_orgs {
        let org = net.org(org)?;
        let peer = peer_identity(net, org, &org.peers[0])?;
        responses.push(endorse_with(
            &peer,
            &payload,
            forged.to_string().into_bytes(),
        ));
    }
    let envelope =
        fabric_client::transaction::signed_transaction(&proposal.message, &responses, &creator)?;
    let (status, info) = broadcast(net, envelope).await?;
    ensure!(
        status == 200,
        "the orderer refused the envelope: {status} {info}"
    );
    Ok(proposal.txid)
}

/// The chaincode id (name and version) the attacker's own peer reports for
/// the contract, from a real response to a harmless `whoami` proposal.
async fn deployed_chaincode_id(ctx: &Ctx, creator: &SigningIdentity) -> Result<ChaincodeId> {
    let net = &ctx.net;
    let org = net.org("Hospital2")?;
    let proposal =
        ProposalBuilder::new(&net.consortium.channel, EHR, "whoami").build(creator.serialize());
    let peer = Peer::connect(&net.endpoint(org, &org.peers[0])?).await?;
    let response = peer.endorse(&proposal.txid, proposal.sign(creator)).await?;
    let status = response.response.as_ref().map_or(0, |r| r.status);
    ensure!(status == 200, "whoami on Hospital2's peer: status {status}");
    let prp = ProposalResponsePayload::decode(response.payload.as_slice())?;
    let action = ChaincodeAction::decode(prp.extension.as_slice())?;
    action
        .chaincode_id
        .filter(|id| id.name == EHR && !id.version.is_empty())
        .context("the peer's response names no chaincode version")
}

/// The serialized `ProposalResponsePayload` of a response writing `value` to `rid`'s head key.
fn response_payload(
    proposal: &Proposal,
    chaincode_id: ChaincodeId,
    rid: &str,
    value: Vec<u8>,
) -> Vec<u8> {
    // Composite key `\0record\0<rid>\0`, the contract's record head key.
    let key = format!("\u{0}record\u{0}{rid}\u{0}");
    let kv = KvrwSet {
        writes: vec![KvWrite {
            key,
            is_delete: false,
            value: value.clone(),
        }],
        ..Default::default()
    };
    let results = TxReadWriteSet {
        data_model: 0,
        ns_rwset: vec![NsReadWriteSet {
            namespace: EHR.to_owned(),
            rwset: kv.encode_to_vec(),
            collection_hashed_rwset: Vec::new(),
        }],
    };
    let action = ChaincodeAction {
        results: results.encode_to_vec(),
        events: Vec::new(),
        response: Some(Response {
            status: 200,
            message: String::new(),
            payload: value,
        }),
        chaincode_id: Some(chaincode_id),
    };
    ProposalResponsePayload {
        proposal_hash: proposal.hash().to_vec(),
        extension: action.encode_to_vec(),
    }
    .encode_to_vec()
}

/// A proposal response signed by `peer` as an endorser signs: over payload || endorser.
fn endorse_with(peer: &SigningIdentity, payload: &[u8], result: Vec<u8>) -> ProposalResponse {
    let endorser = peer.serialize();
    let mut signed = payload.to_vec();
    signed.extend_from_slice(&endorser);
    ProposalResponse {
        version: 1,
        timestamp: None,
        response: Some(Response {
            status: 200,
            message: String::new(),
            payload: result,
        }),
        payload: payload.to_vec(),
        endorsement: Some(Endorsement {
            endorser,
            signature: peer.sign(&signed),
        }),
        interest: None,
    }
}

/// Waits for `txid` on each of the network's peers and checks its validation code there.
async fn expect_code_on_every_peer(ctx: &Ctx, txid: &str, want: i32) -> Result<()> {
    let net = &ctx.net;
    let peers = net.peers();
    ensure!(
        peers.len() == 4,
        "expected 4 peers, the network has {}",
        peers.len()
    );
    for (org, peer) in peers {
        let reader = net.identity(&format!("User1@{}", org.name))?;
        let gw = net.gateway_on(reader, org, peer).await?;
        let (block, code) = find_tx_code(&gw, &net.consortium.channel, 0, txid, 0)
            .await
            .with_context(|| format!("{} on {}", txid, org.fqdn(peer)))?;
        ensure!(
            code == want,
            "{} committed tx {txid} in block {block} as {} (want {})",
            org.fqdn(peer),
            TxValidationCode(code),
            TxValidationCode(want)
        );
    }
    Ok(())
}
