//! The acceptance test: replay the real Fabric v3.1.5 blocks.
//!
//! Blocks 0-4 (genesis and the lifecycle setup) are committed as trusted, with
//! their own TRANSACTIONS_FILTER; blocks 5-16 are validated by our validator from
//! that state and must get exactly the codes real Fabric peers gave them
//! (MVCC_READ_CONFLICT in block 9, PHANTOM_READ_CONFLICT in block 12,
//! ENDORSEMENT_POLICY_FAILURE in block 14). The final world state must equal the
//! state computed independently from expected.json and the client's read-backs.

use devnet_ledger::{transactions_filter, ChaincodeRegistry, Ledger, ValidationContext, Validator};
use fabric_msp::{Msp, MspManager, NodeOus};
use fabric_policy::{EndorsementPolicy, MetaRule};
use fabric_proto::common::{Block, BlockMetadataIndex};
use prost::Message;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// The Fabric v3.1.5 golden vectors kept in the repository (`fabric/testdata/`).
fn vectors_dir() -> PathBuf {
    healthblock_test_support::fabric_vectors()
}

fn read(path: PathBuf) -> Vec<u8> {
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn load_block(n: u64) -> Block {
    let bytes = read(vectors_dir().join(format!("blocks/{n:06}.block")));
    Block::decode(bytes.as_slice()).unwrap_or_else(|e| panic!("block {n}: {e}"))
}

fn json(name: &str) -> Value {
    serde_json::from_slice(&read(vectors_dir().join(name))).expect("valid JSON")
}

fn pems_in(dir: PathBuf) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.into_iter().map(read).collect()
}

fn msps() -> MspManager {
    let msp_dir = vectors_dir().join("msp");
    MspManager::new(["OrdererMSP", "Org1MSP", "Org2MSP", "Org3MSP"].map(|id| {
        let roots = pems_in(msp_dir.join(id).join("cacerts"));
        let tls = pems_in(msp_dir.join(id).join("tlscacerts"));
        Msp::from_ca_pems(id, &roots, &[], &tls, NodeOus::fabric_default())
            .expect("MSP from vector CA")
    }))
}

/// MAJORITY of the three orgs' `OR('OrgN.peer')` Endorsement policies: the
/// channel default that both `anchorcc` and `_lifecycle` resolve to.
fn majority_endorsement() -> EndorsementPolicy {
    let orgs = ["Org1MSP", "Org2MSP", "Org3MSP"]
        .map(|org| fabric_policy::parse(&format!("OR('{org}.peer')")).expect("policy"));
    EndorsementPolicy::ImplicitMeta {
        rule: MetaRule::Majority,
        org_policies: orgs.to_vec(),
    }
}

struct Registry(HashMap<String, EndorsementPolicy>);

impl ChaincodeRegistry for Registry {
    fn endorsement_policy(&self, name: &str) -> Option<EndorsementPolicy> {
        self.0.get(name).cloned()
    }
}

fn registry() -> Registry {
    Registry(HashMap::from([
        ("anchorcc".to_string(), majority_endorsement()),
        ("_lifecycle".to_string(), majority_endorsement()),
    ]))
}

fn set_filter(block: &mut Block, codes: &[u8]) {
    let metadata = block.metadata.get_or_insert_with(Default::default);
    let slot = BlockMetadataIndex::TransactionsFilter as usize;
    if metadata.metadata.len() <= slot {
        metadata.metadata.resize(slot + 1, Vec::new());
    }
    metadata.metadata[slot] = codes.to_vec();
}

/// Replays all 17 blocks into a fresh ledger; returns it with the codes our validator gave blocks 5-16.
fn replay() -> (tempfile::TempDir, Ledger, BTreeMap<u64, Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("peer.redb")).unwrap();
    for n in 0..=4 {
        let block = load_block(n);
        let updates = Validator::updates_from_filter(&ledger, &block).unwrap();
        ledger
            .commit(&block, &updates)
            .unwrap_or_else(|e| panic!("commit trusted block {n}: {e}"));
    }
    let msps = msps();
    let registry = registry();
    let ctx = ValidationContext {
        channel_id: "ehr",
        msps: &msps,
        chaincodes: &registry,
    };
    let mut ours = BTreeMap::new();
    for n in 5..=16 {
        let mut block = load_block(n);
        let (codes, updates) = Validator::try_validate(&ledger, &block, &ctx).unwrap();
        set_filter(&mut block, &codes);
        ledger
            .commit(&block, &updates)
            .unwrap_or_else(|e| panic!("commit block {n}: {e}"));
        ours.insert(n, codes);
    }
    (dir, ledger, ours)
}

#[test]
fn validator_reproduces_fabric_transactions_filter_for_blocks_5_to_16() {
    let (_dir, ledger, ours) = replay();
    for (n, codes) in &ours {
        let fabric = transactions_filter(&load_block(*n)).to_vec();
        assert_eq!(
            codes, &fabric,
            "block {n}: our codes vs Fabric's TRANSACTIONS_FILTER"
        );
    }
    assert_eq!(ours[&9], vec![0, 11], "MVCC_READ_CONFLICT case");
    assert_eq!(ours[&12], vec![0, 12], "PHANTOM_READ_CONFLICT case");
    assert_eq!(
        ours[&14],
        vec![10],
        "key-level ENDORSEMENT_POLICY_FAILURE case"
    );
    assert_eq!(ledger.height(), 17);
}

#[test]
fn replay_ends_at_fabrics_chain_tip() {
    let (_dir, ledger, _) = replay();
    let expected = json("expected.json");
    let tip = expected["block_summary"][16]["header_hash_hex"]
        .as_str()
        .unwrap();
    assert_eq!(hex::encode(ledger.tip_hash()), tip);
    // Stored blocks come back byte-identical to Fabric's peer copies (same filter).
    for n in [0, 9, 16] {
        assert_eq!(
            ledger.block(n).unwrap().encode_to_vec(),
            load_block(n).encode_to_vec(),
            "block {n}"
        );
    }
}

/// The anchorcc state Fabric committed, recomputed from expected.json's decoded
/// read/write sets of the transactions Fabric marked VALID.
fn expected_anchorcc_state() -> BTreeMap<String, (Vec<u8>, (u64, u64))> {
    let expected = json("expected.json");
    let mut state = BTreeMap::new();
    for block in expected["blocks"].as_array().unwrap() {
        let number = block["number"].as_u64().unwrap();
        for tx in block["transactions"].as_array().unwrap() {
            if tx["validation_code"].as_u64() != Some(0) {
                continue;
            }
            let index = tx["index"].as_u64().unwrap();
            for ns in tx["rwset"].as_array().into_iter().flatten() {
                if ns["namespace"] != "anchorcc" {
                    continue;
                }
                for w in ns["writes"].as_array().unwrap() {
                    let key = w["key"].as_str().unwrap().to_string();
                    let value = w["value"]["utf8"]
                        .as_str()
                        .unwrap_or_default()
                        .as_bytes()
                        .to_vec();
                    if w["is_delete"].as_bool().unwrap() || value.is_empty() {
                        state.remove(&key);
                    } else {
                        state.insert(key, (value, (number, index)));
                    }
                }
                for m in ns["metadata_writes"].as_array().into_iter().flatten() {
                    let key = m["key"].as_str().unwrap();
                    if let Some(entry) = state.get_mut(key) {
                        entry.1 = (number, index);
                    }
                }
            }
        }
    }
    state
}

#[test]
fn final_state_equals_fabrics() {
    let (_dir, ledger, _) = replay();

    let ours: BTreeMap<String, (Vec<u8>, (u64, u64))> = ledger
        .range("anchorcc", "", "")
        .into_iter()
        .map(|(k, v)| (k, (v.value, v.version)))
        .collect();
    let expected = expected_anchorcc_state();
    assert!(expected.contains_key("mvcc-key") && expected.contains_key("range-m1"));
    assert_eq!(ours, expected);

    // The client's read-backs after the run ("" = the key does not exist).
    let observed = json("client-observed.json");
    for (key, value) in observed["final_state"].as_object().unwrap() {
        let got = ledger
            .get_state("anchorcc", key)
            .map(|v| String::from_utf8(v.value).unwrap());
        let want = value.as_str().filter(|s| !s.is_empty()).map(str::to_string);
        assert_eq!(got, want, "read-back of {key}");
    }

    // The key-level policy set in block 13 is stored as key metadata.
    let sbe = ledger.get_state("anchorcc", "sbe-key").unwrap();
    assert_eq!(
        hex::encode(&sbe.metadata["VALIDATION_PARAMETER"]),
        "120812060801120208001a0d120b0a074f7267324d53501003"
    );
    assert_eq!(sbe.version, (15, 0));

    // The chaincode definition every invocation read at version (4, 0).
    let seq = ledger
        .get_state("_lifecycle", "namespaces/fields/anchorcc/Sequence")
        .unwrap();
    assert_eq!(seq.version, (4, 0));
}

#[test]
fn history_and_txid_index_after_replay() {
    let (_dir, ledger, _) = replay();
    let cases = &json("client-observed.json")["cases"];

    let conflict = cases["mvcc_read_conflict"]["conflict_txid"]
        .as_str()
        .unwrap();
    let winner = cases["mvcc_read_conflict"]["valid_txid"].as_str().unwrap();
    assert_eq!(ledger.tx_status(conflict), Some((9, 11)));
    assert_eq!(ledger.tx_status(winner), Some((9, 0)));
    let failing = cases["endorsement_policy_failure"]["failing"]["txid"]
        .as_str()
        .unwrap();
    assert_eq!(ledger.tx_status(failing), Some((14, 10)));

    // mvcc-key: written in block 8 then by the winner in block 9; the conflicting write is absent.
    let history = ledger.history("anchorcc", "mvcc-key");
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[0].tx_id, winner);
    assert!(history[0].timestamp.is_some());
    assert!(history.iter().all(|m| m.tx_id != conflict));

    let recent = ledger.recent_txids(2).unwrap();
    let event_txid = cases["chaincode_event"]["txid"].as_str().unwrap();
    assert_eq!(recent[0], event_txid);
}
