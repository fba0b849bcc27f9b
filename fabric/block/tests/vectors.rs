//! Against the real Fabric v3.1.5 blocks in `fabric/testdata/v3.1.5`: decoding,
//! header DER and hashes, txids, rwsets, events, the hash chain and orderer
//! signatures on both the peer's and orderer0's copies.

use fabric_block::{
    compute_txid, data_hash, decode_envelope, header_der, header_hash, verify_block_signature,
    verify_chain, BlockError, DecodedTx,
};
use fabric_msp::{Identity, Msp, MspManager, NodeOus};
use fabric_proto::common::Block;
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

fn load_blocks(sub: &str) -> Vec<Block> {
    (0..=16)
        .map(|n| {
            let path = vectors_dir().join(format!("{sub}/{n:06}.block"));
            Block::decode(std::fs::read(&path).unwrap().as_slice()).unwrap()
        })
        .collect()
}

fn msps() -> MspManager {
    let base = vectors_dir().join("msp");
    let pems = |dir: PathBuf| -> Vec<Vec<u8>> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect()
    };
    MspManager::new(["OrdererMSP", "Org1MSP", "Org2MSP", "Org3MSP"].map(|id| {
        Msp::from_ca_pems(
            id,
            &pems(base.join(id).join("cacerts")),
            &[],
            &pems(base.join(id).join("tlscacerts")),
            NodeOus::fabric_default(),
        )
        .unwrap()
    }))
}

fn hex_field(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

/// expected.json encodes byte strings as `{"utf8": ..}` or `{"hex": ..}`.
fn bytes_of(v: &Value) -> Vec<u8> {
    if let Some(s) = v.get("utf8") {
        s.as_str().unwrap().as_bytes().to_vec()
    } else {
        hex_field(&v["hex"])
    }
}

fn version_of(v: &Value) -> Option<(u64, u64)> {
    (!v.is_null()).then(|| {
        (
            v["block_num"].as_u64().unwrap(),
            v["tx_num"].as_u64().unwrap(),
        )
    })
}

fn check_header(block: &Block, exp: &Value) {
    let h = block.header.as_ref().unwrap();
    assert_eq!(h.number, exp["number"].as_u64().unwrap());
    assert_eq!(
        h.previous_hash,
        hex_field(&exp["header"]["previous_hash_hex"])
    );
    assert_eq!(h.data_hash, hex_field(&exp["header"]["data_hash_hex"]));
    let der = header_der(h.number, &h.previous_hash, &h.data_hash);
    assert_eq!(
        hex::encode(der),
        exp["header_asn1_der_hex"].as_str().unwrap()
    );
    assert_eq!(
        hex::encode(header_hash(h)),
        exp["header_hash_hex"].as_str().unwrap()
    );
    let data = &block.data.as_ref().unwrap().data;
    assert_eq!(
        hex::encode(data_hash(data)),
        exp["data_hash_recomputed_hex"].as_str().unwrap()
    );
    assert_eq!(data.len() as u64, exp["tx_count"].as_u64().unwrap());
    let slots = &block.metadata.as_ref().unwrap().metadata;
    assert_eq!(
        hex::encode(&slots[2]),
        exp["metadata"]["transactions_filter_hex"].as_str().unwrap()
    );
}

fn check_rwset(tx: &DecodedTx, exp: &Value) {
    let action = tx.action.as_ref().unwrap();
    let want = exp["rwset"].as_array().unwrap();
    assert_eq!(action.ns_rwsets.len(), want.len());
    for ((ns, kv), w) in action.ns_rwsets.iter().zip(want) {
        assert_eq!(ns, w["namespace"].as_str().unwrap());
        let reads: Vec<_> = kv
            .reads
            .iter()
            .map(|r| (r.key.clone(), r.version.map(|v| (v.block_num, v.tx_num))))
            .collect();
        let want_reads: Vec<_> = w["reads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["key"].as_str().unwrap().to_owned(),
                    version_of(&r["version"]),
                )
            })
            .collect();
        assert_eq!(reads, want_reads, "{ns} reads");
        let writes: Vec<_> = kv
            .writes
            .iter()
            .map(|w| (w.key.clone(), w.is_delete, w.value.clone()))
            .collect();
        let want_writes: Vec<_> = w["writes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                (
                    w["key"].as_str().unwrap().to_owned(),
                    w["is_delete"].as_bool().unwrap(),
                    bytes_of(&w["value"]),
                )
            })
            .collect();
        assert_eq!(writes, want_writes, "{ns} writes");
        check_range_queries(kv, w);
        check_metadata_writes(kv, w);
    }
}

fn check_range_queries(kv: &fabric_proto::kvrwset::KvrwSet, w: &Value) {
    use fabric_proto::kvrwset::range_query_info::ReadsInfo;
    let want = w["range_queries_info"].as_array().unwrap();
    assert_eq!(kv.range_queries_info.len(), want.len());
    for (rq, wq) in kv.range_queries_info.iter().zip(want) {
        assert_eq!(rq.start_key, wq["start_key"].as_str().unwrap());
        assert_eq!(rq.end_key, wq["end_key"].as_str().unwrap());
        assert_eq!(rq.itr_exhausted, wq["itr_exhausted"].as_bool().unwrap());
        let Some(ReadsInfo::RawReads(raw)) = &rq.reads_info else {
            panic!("expected raw reads");
        };
        let got: Vec<_> = raw
            .kv_reads
            .iter()
            .map(|r| (r.key.clone(), r.version.map(|v| (v.block_num, v.tx_num))))
            .collect();
        let want_reads: Vec<_> = wq["raw_reads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["key"].as_str().unwrap().to_owned(),
                    version_of(&r["version"]),
                )
            })
            .collect();
        assert_eq!(got, want_reads);
    }
}

fn check_metadata_writes(kv: &fabric_proto::kvrwset::KvrwSet, w: &Value) {
    let want = w.get("metadata_writes").and_then(Value::as_array);
    let want = want.map(Vec::as_slice).unwrap_or_default();
    assert_eq!(kv.metadata_writes.len(), want.len());
    for (mw, wm) in kv.metadata_writes.iter().zip(want) {
        assert_eq!(mw.key, wm["key"].as_str().unwrap());
        let entries: Vec<_> = mw
            .entries
            .iter()
            .map(|e| (e.name.clone(), hex::encode(&e.value)))
            .collect();
        let want_entries: Vec<_> = wm["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().unwrap().to_owned(),
                    e["value_hex"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(entries, want_entries);
    }
}

fn check_transaction(env_bytes: &[u8], exp: &Value) {
    let tx = decode_envelope(env_bytes).unwrap();
    assert_eq!(tx.txid, exp["txid"].as_str().unwrap());
    assert_eq!(compute_txid(&tx.nonce, &tx.creator), tx.txid);
    assert_eq!(tx.header_type as i64, exp["type_code"].as_i64().unwrap());
    assert_eq!(tx.channel_id, exp["channel_id"].as_str().unwrap());
    assert_eq!(hex::encode(&tx.nonce), exp["nonce_hex"].as_str().unwrap());
    let ts = tx.timestamp.unwrap();
    assert_eq!(ts.seconds, exp["timestamp"]["seconds"].as_i64().unwrap());
    assert_eq!(
        i64::from(ts.nanos),
        exp["timestamp"]["nanos"].as_i64().unwrap()
    );
    if exp["creator"].is_null() {
        assert!(tx.creator.is_empty());
    } else {
        let creator = Identity::from_serialized(&tx.creator).unwrap();
        assert_eq!(creator.subject_cn, exp["creator"]["cn"].as_str().unwrap());
        assert_eq!(
            hex::encode(&tx.signature),
            exp["creator_signature"]["signature_hex"].as_str().unwrap()
        );
    }
    if exp["type"] != "ENDORSER_TRANSACTION" {
        assert!(tx.action.is_none());
        return;
    }
    let action = tx.action.as_ref().unwrap();
    assert_eq!(
        action.chaincode_name,
        exp["chaincode_action_chaincode_id"]["name"]
    );
    assert_eq!(
        action.chaincode_version,
        exp["chaincode_action_chaincode_id"]["version"]
    );
    assert_eq!(action.function(), exp["function"].as_str());
    let want_args: Vec<_> = exp["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(bytes_of)
        .collect();
    assert_eq!(&action.args[1..], want_args.as_slice());
    assert_eq!(
        hex::encode(&action.proposal_hash),
        exp["proposal_hash_hex"].as_str().unwrap()
    );
    assert_eq!(
        tx.recompute_proposal_hash().unwrap().to_vec(),
        action.proposal_hash
    );
    let response = action.response.as_ref().unwrap();
    assert_eq!(
        i64::from(response.status),
        exp["response"]["status"].as_i64().unwrap()
    );
    assert_eq!(response.payload, bytes_of(&exp["response"]["payload"]));
    let endorsers: Vec<_> = action
        .endorsements
        .iter()
        .map(|e| Identity::from_serialized(&e.endorser).unwrap().mspid)
        .collect();
    let want_endorsers: Vec<_> = exp["endorsements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["mspid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(endorsers, want_endorsers);
    match (&action.event, exp["event"].is_null()) {
        (None, true) => {}
        (Some(ev), false) => {
            assert_eq!(ev.event_name, exp["event"]["event_name"].as_str().unwrap());
            assert_eq!(
                ev.chaincode_id,
                exp["event"]["chaincode_id"].as_str().unwrap()
            );
            assert_eq!(ev.tx_id, exp["event"]["tx_id"].as_str().unwrap());
            assert_eq!(ev.payload, bytes_of(&exp["event"]["payload"]));
        }
        (got, _) => panic!("event mismatch: got {got:?}, want {}", exp["event"]),
    }
    check_rwset(&tx, exp);
}

#[test]
fn every_block_decodes_as_expected() {
    let exp = expected();
    let blocks = load_blocks("blocks");
    let want = exp["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), want.len());
    let mut txs = 0;
    for (block, b) in blocks.iter().zip(want) {
        check_header(block, b);
        let data = &block.data.as_ref().unwrap().data;
        for (env, t) in data.iter().zip(b["transactions"].as_array().unwrap()) {
            check_transaction(env, t);
            txs += 1;
        }
    }
    assert_eq!(txs, 19);
}

#[test]
fn block_16_carries_the_chaincode_event() {
    let blocks = load_blocks("blocks");
    let env = &blocks[16].data.as_ref().unwrap().data[0];
    let ev = decode_envelope(env).unwrap().action.unwrap().event.unwrap();
    assert_eq!(ev.event_name, "kv_put");
    assert_eq!(ev.payload, b"event-key=event-value");
}

#[test]
fn hash_chain_and_orderer_signatures_verify_on_both_copies() {
    let exp = expected();
    let tip = exp["blocks"][16]["header_hash_hex"].as_str().unwrap();
    let mgr = msps();
    for sub in ["blocks", "blocks-orderer0"] {
        let blocks = load_blocks(sub);
        let report = verify_chain(&blocks, &mgr);
        assert_eq!(report.first_broken, None, "{sub}");
        assert_eq!(report.height, 17);
        assert_eq!(hex::encode(report.tip_hash), tip);
        for block in &blocks[1..] {
            verify_block_signature(block, &mgr).unwrap();
        }
        // Genesis is unsigned: accepted by the chain walk, but it has no signature to verify.
        assert!(matches!(
            verify_block_signature(&blocks[0], &mgr),
            Err(BlockError::Broken { number: 0, .. })
        ));
    }
}

#[test]
fn signature_of_a_foreign_org_is_rejected() {
    // Only OrdererMSP is trusted: the orderer's certificate cannot chain.
    let mgr = msps();
    let without_orderers = MspManager::new(
        mgr.msps
            .values()
            .filter(|m| m.mspid != "OrdererMSP")
            .cloned(),
    );
    let blocks = load_blocks("blocks");
    assert!(verify_block_signature(&blocks[3], &without_orderers).is_err());
    let report = verify_chain(&blocks, &without_orderers);
    assert_eq!(report.height, 1);
    assert_eq!(report.first_broken.unwrap().0, 1);
}

fn first_broken(blocks: &[Block]) -> (u64, String) {
    verify_chain(blocks, &msps()).first_broken.unwrap()
}

#[test]
fn tampering_is_reported_at_the_first_broken_block() {
    let original = load_blocks("blocks");

    let mut data = original.clone();
    let env = &mut data[9].data.as_mut().unwrap().data[1];
    let last = env.len() - 1;
    env[last] ^= 0x01;
    let (n, why) = first_broken(&data);
    assert_eq!(n, 9);
    assert!(why.contains("data hash"), "{why}");

    let mut link = original.clone();
    link[12].header.as_mut().unwrap().previous_hash[0] ^= 0x01;
    let (n, why) = first_broken(&link);
    assert_eq!(n, 12);
    assert!(why.contains("previous hash"), "{why}");

    let mut value = original.clone();
    // New data with a matching data hash changes the header, so the orderer signature fails.
    value[5].header.as_mut().unwrap().data_hash = data_hash(&[]).to_vec();
    value[5].data.as_mut().unwrap().data.clear();
    let (n, why) = first_broken(&value);
    assert_eq!(n, 5);
    assert!(why.contains("signature"), "{why}");

    let mut order = original.clone();
    order.swap(3, 4);
    assert_eq!(first_broken(&order).0, 3);

    let mut unsigned = original;
    unsigned[7].metadata.as_mut().unwrap().metadata[0].clear();
    let (n, why) = first_broken(&unsigned);
    assert_eq!(n, 7);
    assert!(why.contains("no orderer signature"), "{why}");
}

/// A small deterministic xorshift generator, so the fuzz test is reproducible.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn decode_envelope_never_panics_on_garbage() {
    let blocks = load_blocks("blocks");
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut errors = 0;
    for block in &blocks {
        for env in &block.data.as_ref().unwrap().data {
            // Every truncation of a real envelope.
            for len in 0..env.len() {
                errors += usize::from(decode_envelope(&env[..len]).is_err());
            }
            // Random byte flips.
            for _ in 0..200 {
                let mut m = env.clone();
                for _ in 0..1 + rng.next() % 4 {
                    let i = (rng.next() as usize) % m.len();
                    m[i] ^= rng.next() as u8 | 1;
                }
                let _ = decode_envelope(&m);
            }
        }
    }
    for _ in 0..2000 {
        let len = (rng.next() % 300) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let _ = decode_envelope(&bytes);
    }
    // Most truncations must be reported as errors, not silently accepted.
    assert!(errors > 1000, "only {errors} truncations rejected");
}
