//! Validator behaviour on blocks built here: one test per validation code,
//! key-level policies, in-block dependencies, range queries and malformed input.

use devnet_ledger::{
    ChaincodeRegistry, Ledger, StateUpdates, ValidationContext, Validator, WriteOp,
};
use fabric_msp::{Msp, MspManager, NodeOus, SigningIdentity};
use fabric_policy::EndorsementPolicy;
use fabric_proto::common::{
    Block, ChannelHeader, Envelope, Header, HeaderType, Payload, SignatureHeader,
};
use fabric_proto::kvrwset::{
    range_query_info::ReadsInfo, KvMetadataEntry, KvMetadataWrite, KvRead, KvWrite, KvrwSet,
    QueryReads, RangeQueryInfo, Version,
};
use fabric_proto::protos::{
    ChaincodeAction, ChaincodeActionPayload, ChaincodeEndorsedAction, ChaincodeHeaderExtension,
    ChaincodeId, Endorsement, ProposalResponsePayload, Transaction, TransactionAction,
};
use fabric_proto::rwset::{NsReadWriteSet, TxReadWriteSet};
use healthblock_test_support::TestCa;
use prost::Message;
use std::collections::HashMap;

const CHANNEL: &str = "ch";
/// 2027-06-01T00:00:00Z: inside the validity window of the fixture certificates.
const TX_TIME: i64 = 1_811_808_000;

// ---------------------------------------------------------------- identities

struct Org {
    mspid: String,
    ca: TestCa,
}

impl Org {
    fn new(n: u32) -> Self {
        Self {
            mspid: format!("Org{n}MSP"),
            ca: TestCa::root_valid_years(&format!("ca.org{n}"), None, (2020, 2040)),
        }
    }

    /// An identity with NodeOU `ou`, valid from `from` to `to` (years), claiming `mspid`.
    fn identity_as(&self, mspid: &str, ou: &str, from: i32, to: i32) -> SigningIdentity {
        let leaf = self
            .ca
            .leaf(&format!("{ou}.{}", self.mspid))
            .ou(ou)
            .valid_years(from, to)
            .issue();
        SigningIdentity::from_pem(mspid, leaf.cert_pem.as_bytes(), leaf.key_pem.as_bytes()).unwrap()
    }

    fn identity(&self, ou: &str) -> SigningIdentity {
        self.identity_as(&self.mspid, ou, 2025, 2035)
    }

    fn msp(&self) -> Msp {
        Msp::from_ca_pems(
            &self.mspid,
            &[self.ca.pem().into_bytes()],
            &[],
            &[],
            NodeOus::fabric_default(),
        )
        .unwrap()
    }
}

// ---------------------------------------------------------------- transactions

/// A transaction under construction; `envelope()` signs it.
struct TxBuilder<'a> {
    creator: &'a SigningIdentity,
    endorsers: Vec<&'a SigningIdentity>,
    channel: String,
    chaincode: String,
    nonce: Vec<u8>,
    txid: Option<String>,
    ns: Vec<(String, KvrwSet)>,
}

fn tx<'a>(creator: &'a SigningIdentity, endorsers: &[&'a SigningIdentity]) -> TxBuilder<'a> {
    TxBuilder {
        creator,
        endorsers: endorsers.to_vec(),
        channel: CHANNEL.into(),
        chaincode: "cc".into(),
        nonce: random_nonce(),
        txid: None,
        ns: Vec::new(),
    }
}

fn random_nonce() -> Vec<u8> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    COUNTER
        .fetch_add(1, Ordering::Relaxed)
        .to_be_bytes()
        .to_vec()
}

impl TxBuilder<'_> {
    fn chaincode(mut self, name: &str) -> Self {
        self.chaincode = name.into();
        self
    }

    fn channel(mut self, name: &str) -> Self {
        self.channel = name.into();
        self
    }

    fn txid(mut self, txid: &str) -> Self {
        self.txid = Some(txid.into());
        self
    }

    fn rwset(mut self, namespace: &str, kv: KvrwSet) -> Self {
        self.ns.push((namespace.into(), kv));
        self
    }

    fn txid_value(&self) -> String {
        self.txid
            .clone()
            .unwrap_or_else(|| fabric_block::compute_txid(&self.nonce, &self.creator.serialize()))
    }

    /// The envelope with the creator's signature computed by `sign`.
    fn envelope_signed_with(&self, sign: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
        let cc_id = ChaincodeId {
            name: self.chaincode.clone(),
            version: "1.0".into(),
            ..Default::default()
        };
        let chdr = ChannelHeader {
            r#type: HeaderType::EndorserTransaction as i32,
            channel_id: self.channel.clone(),
            tx_id: self.txid_value(),
            timestamp: Some(prost_types::Timestamp {
                seconds: TX_TIME,
                nanos: 0,
            }),
            extension: ChaincodeHeaderExtension {
                chaincode_id: Some(cc_id.clone()),
            }
            .encode_to_vec(),
            ..Default::default()
        }
        .encode_to_vec();
        let shdr = SignatureHeader {
            creator: self.creator.serialize(),
            nonce: self.nonce.clone(),
        }
        .encode_to_vec();
        let ccpp = b"proposal payload".to_vec();
        let proposal_hash =
            fabric_msp::sha256(&[chdr.clone(), shdr.clone(), ccpp.clone()].concat());
        let results = TxReadWriteSet {
            data_model: 0,
            ns_rwset: self
                .ns
                .iter()
                .map(|(ns, kv)| NsReadWriteSet {
                    namespace: ns.clone(),
                    rwset: kv.encode_to_vec(),
                    ..Default::default()
                })
                .collect(),
        };
        let prp = ProposalResponsePayload {
            proposal_hash: proposal_hash.to_vec(),
            extension: ChaincodeAction {
                results: results.encode_to_vec(),
                chaincode_id: Some(cc_id),
                ..Default::default()
            }
            .encode_to_vec(),
        }
        .encode_to_vec();
        let endorsements = self
            .endorsers
            .iter()
            .map(|e| {
                let endorser = e.serialize();
                Endorsement {
                    signature: e.sign(&[prp.clone(), endorser.clone()].concat()),
                    endorser,
                }
            })
            .collect();
        let cap = ChaincodeActionPayload {
            chaincode_proposal_payload: ccpp,
            action: Some(ChaincodeEndorsedAction {
                proposal_response_payload: prp,
                endorsements,
            }),
        };
        let transaction = Transaction {
            actions: vec![TransactionAction {
                header: shdr.clone(),
                payload: cap.encode_to_vec(),
            }],
        };
        let payload = Payload {
            header: Some(Header {
                channel_header: chdr,
                signature_header: shdr,
            }),
            data: transaction.encode_to_vec(),
        }
        .encode_to_vec();
        Envelope {
            signature: sign(&payload),
            payload,
        }
        .encode_to_vec()
    }

    fn envelope(&self) -> Vec<u8> {
        self.envelope_signed_with(|p| self.creator.sign(p))
    }
}

fn write(key: &str, value: &str) -> KvWrite {
    KvWrite {
        key: key.into(),
        is_delete: false,
        value: value.as_bytes().to_vec(),
    }
}

fn read(key: &str, version: Option<(u64, u64)>) -> KvRead {
    KvRead {
        key: key.into(),
        version: version.map(|(block_num, tx_num)| Version { block_num, tx_num }),
    }
}

fn writes(pairs: &[(&str, &str)]) -> KvrwSet {
    KvrwSet {
        writes: pairs.iter().map(|(k, v)| write(k, v)).collect(),
        ..Default::default()
    }
}

fn key_policy_write(key: &str, policy: &str) -> KvMetadataWrite {
    KvMetadataWrite {
        key: key.into(),
        entries: vec![KvMetadataEntry {
            name: "VALIDATION_PARAMETER".into(),
            value: fabric_policy::parse(policy).unwrap().encode_to_vec(),
        }],
    }
}

// ---------------------------------------------------------------- network

struct Registry(HashMap<String, EndorsementPolicy>);

impl ChaincodeRegistry for Registry {
    fn endorsement_policy(&self, name: &str) -> Option<EndorsementPolicy> {
        self.0.get(name).cloned()
    }
}

struct Net {
    org1: Org,
    msps: MspManager,
    registry: Registry,
    _dir: tempfile::TempDir,
    ledger: Ledger,
    client: SigningIdentity,
    peer1: SigningIdentity,
    peer2: SigningIdentity,
}

fn policy(s: &str) -> EndorsementPolicy {
    EndorsementPolicy::Signature(fabric_policy::parse(s).unwrap())
}

impl Net {
    /// Two orgs; chaincode `cc` needs a peer of Org1, `cc2` of Org2, `_lifecycle` both.
    fn new() -> Self {
        let (org1, org2) = (Org::new(1), Org::new(2));
        let msps = MspManager::new([org1.msp(), org2.msp()]);
        let registry = Registry(HashMap::from([
            ("cc".to_string(), policy("OR('Org1MSP.peer')")),
            ("cc2".to_string(), policy("OR('Org2MSP.peer')")),
            (
                "_lifecycle".to_string(),
                policy("AND('Org1MSP.peer', 'Org2MSP.peer')"),
            ),
        ]));
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("l.redb")).unwrap();
        let (client, peer1, peer2) = (
            org1.identity("client"),
            org1.identity("peer"),
            org2.identity("peer"),
        );
        let net = Self {
            org1,
            msps,
            registry,
            _dir: dir,
            ledger,
            client,
            peer1,
            peer2,
        };
        // Block 0: an unsigned genesis config transaction.
        let codes = net.run(vec![genesis_config()]);
        assert_eq!(codes, vec![0], "genesis config is valid");
        net
    }

    fn ctx(&self) -> ValidationContext<'_> {
        ValidationContext {
            channel_id: CHANNEL,
            msps: &self.msps,
            chaincodes: &self.registry,
        }
    }

    /// Validates and commits a block of `envelopes`; returns its codes.
    fn run(&self, envelopes: Vec<Vec<u8>>) -> Vec<u8> {
        let (codes, updates, block) = self.validate(envelopes);
        self.commit(block, &codes, &updates);
        codes
    }

    fn validate(&self, envelopes: Vec<Vec<u8>>) -> (Vec<u8>, StateUpdates, Block) {
        let block =
            fabric_block::new_block(self.ledger.height(), &self.ledger.tip_hash(), envelopes);
        let (codes, updates) = Validator::try_validate(&self.ledger, &block, &self.ctx()).unwrap();
        (codes, updates, block)
    }

    fn commit(&self, mut block: Block, codes: &[u8], updates: &StateUpdates) {
        block.metadata.as_mut().unwrap().metadata[2] = codes.to_vec();
        self.ledger.commit(&block, updates).unwrap();
    }

    fn value(&self, key: &str) -> Option<String> {
        self.ledger
            .get_state("cc", key)
            .map(|v| String::from_utf8(v.value).unwrap())
    }
}

fn genesis_config() -> Vec<u8> {
    let chdr = ChannelHeader {
        r#type: HeaderType::Config as i32,
        channel_id: CHANNEL.into(),
        tx_id: "genesis".into(),
        ..Default::default()
    };
    let payload = Payload {
        header: Some(Header {
            channel_header: chdr.encode_to_vec(),
            signature_header: SignatureHeader::default().encode_to_vec(),
        }),
        data: b"config envelope".to_vec(),
    };
    Envelope {
        payload: payload.encode_to_vec(),
        signature: Vec::new(),
    }
    .encode_to_vec()
}

// ---------------------------------------------------------------- tests

#[test]
fn valid_transaction_is_committed_with_its_version() {
    let net = Net::new();
    let t = tx(&net.client, &[&net.peer1]).rwset("cc", writes(&[("a", "1")]));
    assert_eq!(net.run(vec![t.envelope()]), vec![0]);
    let v = net.ledger.get_state("cc", "a").unwrap();
    assert_eq!((v.value.as_slice(), v.version), (b"1".as_slice(), (1, 0)));
    assert_eq!(net.ledger.tx_status(&t.txid_value()), Some((1, 0)));
}

#[test]
fn duplicate_txid_in_block_and_on_ledger() {
    let net = Net::new();
    let t = tx(&net.client, &[&net.peer1]).rwset("cc", writes(&[("a", "1")]));
    assert_eq!(net.run(vec![t.envelope(), t.envelope()]), vec![0, 9]);
    assert_eq!(net.run(vec![t.envelope()]), vec![9]);
}

#[test]
fn bad_creator_signature() {
    let net = Net::new();
    let t = tx(&net.client, &[&net.peer1]).rwset("cc", writes(&[("a", "1")]));
    let env = t.envelope_signed_with(|p| net.client.sign(&[p, b"x".as_slice()].concat()));
    assert_eq!(net.run(vec![env]), vec![4]);
    // Signed by someone other than the creator.
    let env = t.envelope_signed_with(|p| net.peer1.sign(p));
    assert_eq!(net.run(vec![env]), vec![4]);
    assert_eq!(net.value("a"), None);
}

/// Re-encodes a DER ECDSA signature with s replaced by n - s.
fn high_s(der: &[u8]) -> Vec<u8> {
    use p256::elliptic_curve::PrimeField;
    let sig = p256::ecdsa::Signature::from_der(der).unwrap();
    let (r, s) = sig.split_scalars();
    let flipped = -*s.as_ref();
    p256::ecdsa::Signature::from_scalars(r.to_repr(), flipped.to_repr())
        .unwrap()
        .to_der()
        .as_bytes()
        .to_vec()
}

#[test]
fn high_s_creator_signature_is_rejected() {
    let net = Net::new();
    let t = tx(&net.client, &[&net.peer1]).rwset("cc", writes(&[("a", "1")]));
    let env = t.envelope_signed_with(|p| high_s(&net.client.sign(p)));
    // The same transaction with the low-S signature is fine (an invalid tx does not claim its txid).
    assert_eq!(net.run(vec![env, t.envelope()]), vec![4, 0]);
}

#[test]
fn high_s_endorsement_does_not_count() {
    let net = Net::new();
    let t = tx(&net.client, &[]).rwset("cc", writes(&[("a", "1")]));
    let mut env = Envelope::decode(t.envelope().as_slice()).unwrap();
    // Rebuild with a high-S endorsement by peer1.
    let mut payload = Payload::decode(env.payload.as_slice()).unwrap();
    let mut transaction = Transaction::decode(payload.data.as_slice()).unwrap();
    let mut cap =
        ChaincodeActionPayload::decode(transaction.actions[0].payload.as_slice()).unwrap();
    let action = cap.action.as_mut().unwrap();
    let endorser = net.peer1.serialize();
    let sig = net
        .peer1
        .sign(&[action.proposal_response_payload.clone(), endorser.clone()].concat());
    action.endorsements = vec![Endorsement {
        endorser,
        signature: high_s(&sig),
    }];
    transaction.actions[0].payload = cap.encode_to_vec();
    payload.data = transaction.encode_to_vec();
    env.payload = payload.encode_to_vec();
    env.signature = net.client.sign(&env.payload);
    assert_eq!(net.run(vec![env.encode_to_vec()]), vec![10]);
}

#[test]
fn expired_creator_certificate() {
    let net = Net::new();
    let expired = net.org1.identity_as("Org1MSP", "client", 2020, 2022);
    let t = tx(&expired, &[&net.peer1]).rwset("cc", writes(&[("a", "1")]));
    assert_eq!(net.run(vec![t.envelope()]), vec![4]);
}

#[test]
fn certificate_of_another_org() {
    let net = Net::new();
    // Issued by Org1's CA but claiming to be Org2MSP.
    let impostor = net.org1.identity_as("Org2MSP", "client", 2025, 2035);
    let t = tx(&impostor, &[&net.peer1]).rwset("cc", writes(&[("a", "1")]));
    assert_eq!(net.run(vec![t.envelope()]), vec![4]);
    // An org the channel does not know.
    let stranger = Org::new(9).identity("client");
    let t = tx(&stranger, &[&net.peer1]).rwset("cc", writes(&[("a", "1")]));
    assert_eq!(net.run(vec![t.envelope()]), vec![4]);
}

#[test]
fn txid_not_bound_to_nonce_and_creator() {
    let net = Net::new();
    let t = tx(&net.client, &[&net.peer1])
        .txid("00ff")
        .rwset("cc", writes(&[("a", "1")]));
    assert_eq!(net.run(vec![t.envelope()]), vec![8]);
}

#[test]
fn other_channel() {
    let net = Net::new();
    let t = tx(&net.client, &[&net.peer1])
        .channel("elsewhere")
        .rwset("cc", writes(&[("a", "1")]));
    assert_eq!(net.run(vec![t.envelope()]), vec![14]);
}

#[test]
fn undefined_chaincode_and_undefined_written_namespace() {
    let net = Net::new();
    let t = tx(&net.client, &[&net.peer1])
        .chaincode("nope")
        .rwset("nope", writes(&[("a", "1")]));
    assert_eq!(net.run(vec![t.envelope()]), vec![25]);
    let t = tx(&net.client, &[&net.peer1])
        .rwset("cc", writes(&[("a", "1")]))
        .rwset("ghost", writes(&[("b", "1")]));
    assert_eq!(net.run(vec![t.envelope()]), vec![25]);
}

#[test]
fn chaincode_endorsement_policy() {
    let net = Net::new();
    // cc needs an Org1 peer: Org2's peer, or Org1's client, does not do.
    let t = tx(&net.client, &[&net.peer2]).rwset("cc", writes(&[("a", "1")]));
    assert_eq!(net.run(vec![t.envelope()]), vec![10]);
    let t = tx(&net.client, &[&net.client]).rwset("cc", writes(&[("a", "1")]));
    assert_eq!(net.run(vec![t.envelope()]), vec![10]);
    // A read-only transaction still needs the chaincode policy.
    let t = tx(&net.client, &[&net.peer2]).rwset("cc", KvrwSet::default());
    assert_eq!(net.run(vec![t.envelope()]), vec![10]);
    // Writing into a second namespace needs that namespace's policy too.
    let t = tx(&net.client, &[&net.peer1])
        .rwset("cc", writes(&[("a", "1")]))
        .rwset("cc2", writes(&[("b", "1")]));
    assert_eq!(net.run(vec![t.envelope()]), vec![10]);
    let t = tx(&net.client, &[&net.peer1, &net.peer2])
        .rwset("cc", writes(&[("a", "1")]))
        .rwset("cc2", writes(&[("b", "1")]));
    assert_eq!(net.run(vec![t.envelope()]), vec![0]);
}

#[test]
fn expired_endorser_does_not_count() {
    let net = Net::new();
    let old_peer = net.org1.identity_as("Org1MSP", "peer", 2020, 2022);
    let t = tx(&net.client, &[&old_peer]).rwset("cc", writes(&[("a", "1")]));
    assert_eq!(net.run(vec![t.envelope()]), vec![10]);
}

/// Commits key `k` of `cc` with a key-level policy `OR('Org2MSP.peer')`.
fn with_key_policy(net: &Net, key: &str) {
    let kv = KvrwSet {
        writes: vec![write(key, "init")],
        metadata_writes: vec![key_policy_write(key, "OR('Org2MSP.peer')")],
        ..Default::default()
    };
    let t = tx(&net.client, &[&net.peer1]).rwset("cc", kv);
    assert_eq!(net.run(vec![t.envelope()]), vec![0]);
    let state = net.ledger.get_state("cc", key).unwrap();
    assert!(state.metadata.contains_key("VALIDATION_PARAMETER"));
}

#[test]
fn key_level_policy_replaces_chaincode_policy_for_its_key() {
    let net = Net::new();
    with_key_policy(&net, "k");
    // The chaincode policy (Org1) alone does not satisfy the key's policy (Org2).
    let t = tx(&net.client, &[&net.peer1]).rwset("cc", writes(&[("k", "v1")]));
    assert_eq!(net.run(vec![t.envelope()]), vec![10]);
    // Org2 alone is enough: every written key has a key-level policy.
    let t = tx(&net.client, &[&net.peer2]).rwset("cc", writes(&[("k", "v2")]));
    assert_eq!(net.run(vec![t.envelope()]), vec![0]);
    assert_eq!(net.value("k").as_deref(), Some("v2"));
    // The policy survives value writes.
    assert!(net
        .ledger
        .get_state("cc", "k")
        .unwrap()
        .metadata
        .contains_key("VALIDATION_PARAMETER"));
    // Also writing a key without a key-level policy brings the chaincode policy back.
    let t = tx(&net.client, &[&net.peer2]).rwset("cc", writes(&[("k", "v3"), ("free", "x")]));
    assert_eq!(net.run(vec![t.envelope()]), vec![10]);
    let t = tx(&net.client, &[&net.peer1, &net.peer2])
        .rwset("cc", writes(&[("k", "v3"), ("free", "x")]));
    assert_eq!(net.run(vec![t.envelope()]), vec![0]);
}

#[test]
fn metadata_write_on_a_key_with_policy_needs_that_policy() {
    let net = Net::new();
    with_key_policy(&net, "k");
    let kv = KvrwSet {
        metadata_writes: vec![key_policy_write("k", "OR('Org1MSP.peer')")],
        ..Default::default()
    };
    let t = tx(&net.client, &[&net.peer1]).rwset("cc", kv.clone());
    assert_eq!(net.run(vec![t.envelope()]), vec![10]);
    let t = tx(&net.client, &[&net.peer2]).rwset("cc", kv);
    assert_eq!(net.run(vec![t.envelope()]), vec![0]);
    let state = net.ledger.get_state("cc", "k").unwrap();
    assert_eq!(state.value, b"init");
    assert_eq!(
        state.version.0,
        net.ledger.height() - 1,
        "a metadata write bumps the version"
    );
}

#[test]
fn key_policy_set_earlier_in_the_block_invalidates_later_writers() {
    let net = Net::new();
    let set_policy = tx(&net.client, &[&net.peer1]).rwset(
        "cc",
        KvrwSet {
            writes: vec![write("k", "init")],
            metadata_writes: vec![key_policy_write("k", "OR('Org2MSP.peer')")],
            ..Default::default()
        },
    );
    // Even endorsed by both orgs, a later write of k in the same block is invalid (Fabric's rule).
    let writer = tx(&net.client, &[&net.peer1, &net.peer2]).rwset("cc", writes(&[("k", "later")]));
    let other = tx(&net.client, &[&net.peer1]).rwset("cc", writes(&[("other", "x")]));
    assert_eq!(
        net.run(vec![
            set_policy.envelope(),
            writer.envelope(),
            other.envelope()
        ]),
        vec![0, 10, 0]
    );
    assert_eq!(net.value("k").as_deref(), Some("init"));
}

#[test]
fn key_policy_update_by_an_invalid_tx_does_not_block_later_writers() {
    let net = Net::new();
    // Not endorsed per the chaincode policy: its metadata write never counts.
    let bad = tx(&net.client, &[&net.peer2]).rwset(
        "cc",
        KvrwSet {
            writes: vec![write("k", "init")],
            metadata_writes: vec![key_policy_write("k", "OR('Org2MSP.peer')")],
            ..Default::default()
        },
    );
    let writer = tx(&net.client, &[&net.peer1]).rwset("cc", writes(&[("k", "later")]));
    assert_eq!(
        net.run(vec![bad.envelope(), writer.envelope()]),
        vec![10, 0]
    );
}

#[test]
fn mvcc_read_conflicts() {
    let net = Net::new();
    let t = tx(&net.client, &[&net.peer1]).rwset("cc", writes(&[("a", "1")]));
    assert_eq!(net.run(vec![t.envelope()]), vec![0]); // a @ (1,0)

    let rw = |key: &str, version, value: &str| KvrwSet {
        reads: vec![read(key, version)],
        writes: vec![write(key, value)],
        ..Default::default()
    };
    // Stale version.
    let stale = tx(&net.client, &[&net.peer1]).rwset("cc", rw("a", Some((0, 0)), "x"));
    assert_eq!(net.run(vec![stale.envelope()]), vec![11]);
    // Read of a missing key recorded with no version, but the key exists.
    let missing = tx(&net.client, &[&net.peer1]).rwset("cc", rw("a", None, "x"));
    assert_eq!(net.run(vec![missing.envelope()]), vec![11]);
    // Two transactions read the same version: the second loses in-block.
    let first = tx(&net.client, &[&net.peer1]).rwset("cc", rw("a", Some((1, 0)), "first"));
    let second = tx(&net.client, &[&net.peer1]).rwset("cc", rw("a", Some((1, 0)), "second"));
    assert_eq!(
        net.run(vec![first.envelope(), second.envelope()]),
        vec![0, 11]
    );
    assert_eq!(net.value("a").as_deref(), Some("first"));
    // A missing key read with no version is fine; an invalid tx's write is not visible.
    let fresh = tx(&net.client, &[&net.peer1]).rwset("cc", rw("new", None, "n"));
    assert_eq!(
        net.run(vec![stale.envelope(), fresh.envelope()]),
        vec![9, 0]
    );
}

#[test]
fn deletes_are_in_block_updates_too() {
    let net = Net::new();
    let t = tx(&net.client, &[&net.peer1]).rwset("cc", writes(&[("a", "1")]));
    net.run(vec![t.envelope()]);
    let delete = tx(&net.client, &[&net.peer1]).rwset(
        "cc",
        KvrwSet {
            writes: vec![KvWrite {
                key: "a".into(),
                is_delete: true,
                value: vec![],
            }],
            ..Default::default()
        },
    );
    let reader = tx(&net.client, &[&net.peer1]).rwset(
        "cc",
        KvrwSet {
            reads: vec![read("a", Some((1, 0)))],
            ..Default::default()
        },
    );
    assert_eq!(
        net.run(vec![delete.envelope(), reader.envelope()]),
        vec![0, 11]
    );
    assert_eq!(net.value("a"), None);
    let history = net.ledger.history("cc", "a");
    assert_eq!(history.len(), 2);
    assert!(history[0].is_delete && !history[1].is_delete);
}

fn range_query(start: &str, end: &str, exhausted: bool, results: &[(&str, (u64, u64))]) -> KvrwSet {
    KvrwSet {
        range_queries_info: vec![RangeQueryInfo {
            start_key: start.into(),
            end_key: end.into(),
            itr_exhausted: exhausted,
            reads_info: Some(ReadsInfo::RawReads(QueryReads {
                kv_reads: results.iter().map(|(k, v)| read(k, Some(*v))).collect(),
            })),
        }],
        writes: vec![write("count", &results.len().to_string())],
        ..Default::default()
    }
}

#[test]
fn phantom_reads() {
    let net = Net::new();
    let t = tx(&net.client, &[&net.peer1])
        .rwset("cc", writes(&[("r-b", "1"), ("r-d", "1"), ("z", "1")]));
    assert_eq!(net.run(vec![t.envelope()]), vec![0]); // all @ (1,0)
    let seen = [("r-b", (1, 0)), ("r-d", (1, 0))];

    // Unchanged range: valid.
    let ok = tx(&net.client, &[&net.peer1]).rwset("cc", range_query("r-a", "r-z", true, &seen));
    assert_eq!(net.run(vec![ok.envelope()]), vec![0]);
    // A key inserted into the range earlier in the same block.
    let insert = tx(&net.client, &[&net.peer1]).rwset("cc", writes(&[("r-c", "new")]));
    let counter =
        tx(&net.client, &[&net.peer1]).rwset("cc", range_query("r-a", "r-z", true, &seen));
    assert_eq!(
        net.run(vec![insert.envelope(), counter.envelope()]),
        vec![0, 12]
    );
    // A committed change of a key in the range (r-c now exists).
    let counter =
        tx(&net.client, &[&net.peer1]).rwset("cc", range_query("r-a", "r-z", true, &seen));
    assert_eq!(net.run(vec![counter.envelope()]), vec![12]);
    // Keys outside the range do not matter; a non-exhausted query includes its end key.
    let now = [("r-b", (1, 0)), ("r-c", (3, 0)), ("r-d", (1, 0))];
    let partial =
        tx(&net.client, &[&net.peer1]).rwset("cc", range_query("r-a", "r-d", false, &now));
    let outside = tx(&net.client, &[&net.peer1]).rwset("cc", writes(&[("z", "2")]));
    assert_eq!(
        net.run(vec![outside.envelope(), partial.envelope()]),
        vec![0, 0]
    );
    // Open-ended range (empty end key) sees every key after start.
    let open = tx(&net.client, &[&net.peer1])
        .rwset("cc", range_query("r-c", "", true, &[("r-c", (3, 0))]));
    assert_eq!(net.run(vec![open.envelope()]), vec![12]);
}

#[test]
fn merkle_hashed_range_reads() {
    let net = Net::new();
    let keys: Vec<String> = (0..10).map(|i| format!("m{i:02}")).collect();
    let pairs: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), "v")).collect();
    net.run(vec![tx(&net.client, &[&net.peer1])
        .rwset("cc", writes(&pairs))
        .envelope()]);
    let results: Vec<KvRead> = keys.iter().map(|k| read(k, Some((1, 0)))).collect();
    let summary = fabric_block::merkle_summary(&results, 2).expect("10 results exceed degree 2");
    assert!(summary.max_level >= 2);
    let hashed = |summary| KvrwSet {
        range_queries_info: vec![RangeQueryInfo {
            start_key: "m".into(),
            end_key: "n".into(),
            itr_exhausted: true,
            reads_info: Some(ReadsInfo::ReadsMerkleHashes(summary)),
        }],
        ..Default::default()
    };
    let same = tx(&net.client, &[&net.peer1]).rwset("cc", hashed(summary.clone()));
    assert_eq!(net.run(vec![same.envelope()]), vec![0]);
    let insert = tx(&net.client, &[&net.peer1]).rwset("cc", writes(&[("m05x", "v")]));
    let again = tx(&net.client, &[&net.peer1]).rwset("cc", hashed(summary));
    assert_eq!(
        net.run(vec![insert.envelope(), again.envelope()]),
        vec![0, 12]
    );
}

#[test]
fn lifecycle_writes_need_the_lifecycle_policy() {
    let net = Net::new();
    let define = |endorsers: &[&SigningIdentity]| {
        tx(&net.client, endorsers)
            .chaincode("_lifecycle")
            .rwset(
                "_lifecycle",
                writes(&[("namespaces/fields/cc/Sequence", "1")]),
            )
            .envelope()
    };
    assert_eq!(net.run(vec![define(&[&net.peer1])]), vec![10]);
    assert_eq!(net.run(vec![define(&[&net.peer1, &net.peer2])]), vec![0]);
    // Invocations read the definition; a redefinition in the same block conflicts.
    let invoke = tx(&net.client, &[&net.peer1])
        .rwset(
            "_lifecycle",
            KvrwSet {
                reads: vec![read("namespaces/fields/cc/Sequence", Some((2, 0)))],
                ..Default::default()
            },
        )
        .rwset("cc", writes(&[("a", "1")]));
    assert_eq!(
        net.run(vec![define(&[&net.peer1, &net.peer2]), invoke.envelope()]),
        vec![0, 11]
    );
}

#[test]
fn malformed_envelopes_get_codes_not_panics() {
    let net = Net::new();
    let good = tx(&net.client, &[&net.peer1])
        .rwset("cc", writes(&[("a", "1")]))
        .envelope();
    let mut envelopes = vec![Vec::new(), vec![0xFF; 7], b"\x0a\x03abc".to_vec()];
    // Every truncation and many single-byte corruptions of a valid envelope.
    envelopes.extend((1..good.len()).map(|n| good[..n].to_vec()));
    envelopes.extend((0..good.len()).step_by(3).map(|i| {
        let mut e = good.clone();
        e[i] ^= 0x5A;
        e
    }));
    let (codes, updates, _) = net.validate(envelopes);
    assert_eq!(codes[0], 1, "empty envelope is NIL_ENVELOPE");
    assert_eq!(codes[1], 255, "undecodable envelope");
    assert_eq!(codes[2], 2, "payload that is not a Payload");
    assert!(
        codes.iter().all(|c| *c != 0),
        "no broken envelope is valid: {codes:?}"
    );
    assert!(updates.writes.is_empty());
}

#[test]
fn header_and_payload_codes() {
    let net = Net::new();
    let payload_without_header = Envelope {
        payload: Payload::default().encode_to_vec(),
        signature: vec![1],
    };
    let config_update = {
        let chdr = ChannelHeader {
            r#type: HeaderType::ConfigUpdate as i32,
            channel_id: CHANNEL.into(),
            timestamp: Some(prost_types::Timestamp {
                seconds: TX_TIME,
                nanos: 0,
            }),
            ..Default::default()
        };
        let shdr = SignatureHeader {
            creator: net.client.serialize(),
            nonce: vec![1],
        };
        let payload = Payload {
            header: Some(Header {
                channel_header: chdr.encode_to_vec(),
                signature_header: shdr.encode_to_vec(),
            }),
            data: vec![],
        }
        .encode_to_vec();
        Envelope {
            signature: net.client.sign(&payload),
            payload,
        }
    };
    let codes = net.run(vec![
        payload_without_header.encode_to_vec(),
        config_update.encode_to_vec(),
    ]);
    assert_eq!(codes, vec![3, 7]);
}

#[test]
fn state_updates_list_valid_writes_in_order() {
    let net = Net::new();
    let kv = KvrwSet {
        writes: vec![write("a", "1"), write("b", "")],
        metadata_writes: vec![key_policy_write("a", "OR('Org1MSP.peer')")],
        ..Default::default()
    };
    let t = tx(&net.client, &[&net.peer1]).rwset("cc", kv);
    let (codes, updates, _) = net.validate(vec![t.envelope()]);
    assert_eq!(codes, vec![0]);
    let ops: Vec<(&str, &WriteOp)> = updates
        .writes
        .iter()
        .map(|w| (w.1.as_str(), &w.2))
        .collect();
    assert_eq!(ops.len(), 3);
    assert_eq!(ops[0], ("a", &WriteOp::Put(b"1".to_vec())));
    assert_eq!(
        ops[1],
        ("b", &WriteOp::Delete),
        "an empty value is a delete"
    );
    assert!(
        matches!(ops[2], ("a", WriteOp::Metadata(m)) if m.contains_key("VALIDATION_PARAMETER"))
    );
}
