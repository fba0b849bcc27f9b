//! Against the real Fabric v3.1.5 blocks in `fabric/testdata/v3.1.5`: every
//! creator, endorsement and orderer signature verifies with the certificate it
//! names, every such certificate chains to its org's CA at the block's time,
//! and NodeOU roles come out as Fabric classified them.

use fabric_msp::{Identity, Msp, MspManager, NodeOus, Role};
use fabric_proto::common::{Block, ChannelHeader, Envelope, Metadata, Payload, SignatureHeader};
use fabric_proto::protos::{ChaincodeActionPayload, Transaction};
use prost::Message;
use serde_json::Value;
use std::path::PathBuf;
/// The Fabric v3.1.5 golden vectors kept in the repository (`fabric/testdata/`).
fn vectors_dir() -> PathBuf {
    healthblock_test_support::fabric_vectors()
}

fn expected() -> Value {
    let text = std::fs::read_to_string(vectors_dir().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn load_block(sub: &str, n: u64) -> Block {
    let path = vectors_dir().join(format!("{sub}/{n:06}.block"));
    Block::decode(std::fs::read(&path).unwrap().as_slice()).unwrap()
}

fn read_pems(dir: PathBuf) -> Vec<Vec<u8>> {
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

fn msps() -> MspManager {
    let base = vectors_dir().join("msp");
    let msps = ["OrdererMSP", "Org1MSP", "Org2MSP", "Org3MSP"].map(|id| {
        Msp::from_ca_pems(
            id,
            &read_pems(base.join(id).join("cacerts")),
            &[],
            &read_pems(base.join(id).join("tlscacerts")),
            NodeOus::fabric_default(),
        )
        .unwrap()
    });
    MspManager::new(msps)
}

fn role_named(ous: &Value) -> Role {
    match ous[0].as_str().unwrap() {
        "client" => Role::Client,
        "peer" => Role::Peer,
        "admin" => Role::Admin,
        "orderer" => Role::Orderer,
        other => panic!("unexpected OU {other}"),
    }
}

/// Verifies a signature by a serialized identity, validates the identity at `at`,
/// and checks its MSP id, CN and role against the expected.json entry `who`.
fn check_signer(mgr: &MspManager, creator: &[u8], msg: &[u8], sig: &[u8], at: i64, who: &Value) {
    let id = mgr.validate_serialized(creator, at).unwrap();
    id.verify(msg, sig).unwrap();
    assert_eq!(id.mspid, who["mspid"].as_str().unwrap());
    assert_eq!(id.subject_cn, who["cn"].as_str().unwrap());
    let msp = mgr.get(&id.mspid).unwrap();
    assert_eq!(
        msp.role_of(&id),
        role_named(&who["ou"]),
        "{}",
        id.subject_cn
    );
    // A single flipped byte of the message must break the signature.
    let mut tampered = msg.to_vec();
    tampered[0] ^= 1;
    assert!(id.verify(&tampered, sig).is_err());
}

#[derive(Default, Debug, PartialEq)]
struct Counts {
    creators: usize,
    endorsements: usize,
    orderers: usize,
}

fn check_transactions(mgr: &MspManager, block: &Block, exp: &Value, counts: &mut Counts) -> i64 {
    let mut last_ts = 0;
    let data = &block.data.as_ref().unwrap().data;
    for (env_bytes, tx) in data.iter().zip(exp["transactions"].as_array().unwrap()) {
        let env = Envelope::decode(env_bytes.as_slice()).unwrap();
        let payload = Payload::decode(env.payload.as_slice()).unwrap();
        let header = payload.header.unwrap();
        let ch = ChannelHeader::decode(header.channel_header.as_slice()).unwrap();
        let at = ch.timestamp.unwrap().seconds;
        last_ts = at;
        let sh = SignatureHeader::decode(header.signature_header.as_slice()).unwrap();
        if tx["creator"].is_null() {
            assert!(sh.creator.is_empty());
            continue;
        }
        check_signer(
            mgr,
            &sh.creator,
            &env.payload,
            &env.signature,
            at,
            &tx["creator"],
        );
        counts.creators += 1;
        if ch.r#type != 3 {
            continue;
        }
        let txn = Transaction::decode(payload.data.as_slice()).unwrap();
        let cap = ChaincodeActionPayload::decode(txn.actions[0].payload.as_slice()).unwrap();
        let action = cap.action.unwrap();
        let expected_endorsements = tx["endorsements"].as_array().unwrap();
        assert_eq!(action.endorsements.len(), expected_endorsements.len());
        for (e, who) in action.endorsements.iter().zip(expected_endorsements) {
            let msg = [action.proposal_response_payload.as_slice(), &e.endorser].concat();
            check_signer(mgr, &e.endorser, &msg, &e.signature, at, who);
            counts.endorsements += 1;
        }
    }
    last_ts
}

fn check_orderer_signatures(mgr: &MspManager, block: &Block, exp: &Value, at: i64) -> usize {
    let header_der = hex::decode(exp["header_asn1_der_hex"].as_str().unwrap()).unwrap();
    let slot0 = &block.metadata.as_ref().unwrap().metadata[0];
    let md = Metadata::decode(slot0.as_slice()).unwrap();
    for ms in &md.signatures {
        let sh = SignatureHeader::decode(ms.signature_header.as_slice()).unwrap();
        let msg = [md.value.as_slice(), &ms.signature_header, &header_der].concat();
        let id = Identity::from_serialized(&sh.creator).unwrap();
        let who = serde_json::json!({"mspid": id.mspid, "cn": id.subject_cn, "ou": ["orderer"]});
        check_signer(mgr, &sh.creator, &msg, &ms.signature, at, &who);
        assert!(id.subject_cn.starts_with("orderer"));
    }
    md.signatures.len()
}

#[test]
fn every_signature_in_the_vectors_verifies_and_chains() {
    let exp = expected();
    let mgr = msps();
    let blocks = exp["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 17);
    let mut counts = Counts::default();
    let mut want = Counts::default();
    for (n, b) in blocks.iter().enumerate() {
        let peer_copy = load_block("blocks", n as u64);
        let at = check_transactions(&mgr, &peer_copy, b, &mut counts);
        for tx in b["transactions"].as_array().unwrap() {
            want.creators += usize::from(!tx["creator_signature"].is_null());
            want.endorsements += tx["endorsements"].as_array().map_or(0, Vec::len);
        }
        let signed = check_orderer_signatures(&mgr, &peer_copy, b, at);
        assert_eq!(
            signed,
            b["metadata"]["signatures"].as_array().unwrap().len()
        );
        counts.orderers += signed;
        let orderer_copy = load_block("blocks-orderer0", n as u64);
        counts.orderers += check_orderer_signatures(&mgr, &orderer_copy, b, at);
        if n > 0 {
            want.orderers += 2;
        }
    }
    assert_eq!(counts, want);
    // Sanity on the totals themselves: 16 client/CLI transactions plus 2 extra
    // in blocks 9 and 12, and 2 signed copies of each of blocks 1..=16.
    assert_eq!(counts.creators, 18);
    assert_eq!(counts.orderers, 32);
}

#[test]
fn ca_certificates_in_the_vectors_are_not_identities() {
    let mgr = msps();
    let base = vectors_dir().join("msp/Org1MSP/cacerts");
    let pem = read_pems(base).remove(0);
    let id = Identity::from_pem("Org1MSP", &pem).unwrap();
    assert!(mgr
        .get("Org1MSP")
        .unwrap()
        .validate(&id, 1_795_773_200)
        .is_err());
}

#[test]
fn vector_identity_claimed_by_another_org_is_rejected() {
    let mgr = msps();
    let block = load_block("blocks", 15);
    let env = Envelope::decode(block.data.unwrap().data[0].as_slice()).unwrap();
    let payload = Payload::decode(env.payload.as_slice()).unwrap();
    let txn = Transaction::decode(payload.data.as_slice()).unwrap();
    let cap = ChaincodeActionPayload::decode(txn.actions[0].payload.as_slice()).unwrap();
    for e in cap.action.unwrap().endorsements {
        let mut id = Identity::from_serialized(&e.endorser).unwrap();
        let real = id.mspid.clone();
        id.mspid = if real == "Org1MSP" {
            "Org2MSP"
        } else {
            "Org1MSP"
        }
        .into();
        assert!(
            mgr.validate_serialized(&id.serialize(), 1_795_773_200)
                .is_err(),
            "{real} cert accepted as {}",
            id.mspid
        );
        // And at a time after the certificates expired (2036-11-24), even the honest claim fails.
        id.mspid = real;
        assert!(mgr
            .validate_serialized(&id.serialize(), 2_200_000_000)
            .is_err());
    }
}
