//! Test fixtures: orgs with real X.509 identities (rcgen), peers with their own
//! ledgers, proposal building, and committing endorsed transactions through the
//! devnet validator.

#![allow(dead_code)]

pub(crate) mod fake_chaincode;

use devnet_endorser::{ChannelPolicies, ChannelResources, Endorser, PeerContext, SharedResources};
use devnet_ledger::{Ledger, StateUpdates, ValidationContext, Validator, WriteOp};
use fabric_msp::{Msp, MspManager, NodeOus, SigningIdentity};
use fabric_proto::common::{
    BlockMetadataIndex, ChannelHeader, Envelope, Header, HeaderType, Payload, SignatureHeader,
};
use fabric_proto::kvrwset::KvrwSet;
use fabric_proto::protos::{
    ChaincodeActionPayload, ChaincodeEndorsedAction, ChaincodeHeaderExtension, ChaincodeId,
    ChaincodeInput, ChaincodeInvocationSpec, ChaincodeProposalPayload, ChaincodeSpec, Proposal,
    ProposalResponse, SignedProposal, Transaction, TransactionAction,
};
use fabric_proto::rwset::TxReadWriteSet;
use healthblock_test_support::TestCa;
use prost::Message;
use rand_core::RngCore;
use std::collections::BTreeMap;
use std::sync::Arc;

pub(crate) const CHANNEL: &str = "ehr";

/// One organisation: its CA and an admin, a peer and a client identity.
pub(crate) struct Org {
    pub mspid: String,
    pub msp: Msp,
    pub admin: SigningIdentity,
    pub peer: SigningIdentity,
    pub client: SigningIdentity,
    _ca: TestCa,
}

impl Org {
    pub(crate) fn new(n: u32) -> Self {
        let mspid = format!("Org{n}MSP");
        let domain = format!("org{n}.example.com");
        let ca = TestCa::root_valid_years(&format!("ca.{domain}"), Some(&domain), (2025, 2040));
        let msp = Msp::from_ca_pems(
            &mspid,
            &[ca.pem().into_bytes()],
            &[],
            &[],
            NodeOus::fabric_default(),
        )
        .unwrap();
        let leaf = |cn: &str, ou: &str| {
            let leaf = ca.leaf(cn).ou(ou).valid_years(2025, 2040).issue();
            SigningIdentity::from_pem(&mspid, leaf.cert_pem.as_bytes(), leaf.key_pem.as_bytes())
                .unwrap()
        };
        Self {
            admin: leaf(&format!("Admin@{domain}"), "admin"),
            peer: leaf(&format!("peer0.{domain}"), "peer"),
            client: leaf(&format!("User1@{domain}"), "client"),
            mspid,
            msp,
            _ca: ca,
        }
    }
}

/// A peer of one org with its own ledger.
pub(crate) struct Peer {
    pub endorser: Endorser,
    pub ledger: Arc<Ledger>,
    pub mspid: String,
    _dir: tempfile::TempDir,
}

/// A channel of `n` orgs (`MAJORITY Endorsement` for chaincodes and lifecycle).
pub(crate) struct Net {
    pub orgs: Vec<Org>,
    pub msps: Arc<MspManager>,
    pub policies: ChannelPolicies,
}

impl Net {
    pub(crate) fn new(n: u32) -> Self {
        let orgs: Vec<Org> = (1..=n).map(Org::new).collect();
        let msps = Arc::new(MspManager::new(orgs.iter().map(|o| o.msp.clone())));
        let policies = ChannelPolicies {
            endorsement: "MAJORITY Endorsement".into(),
            lifecycle: "MAJORITY Endorsement".into(),
            org_policies: orgs
                .iter()
                .map(|o| {
                    let policy = fabric_policy::parse(&format!("OR('{}.peer')", o.mspid)).unwrap();
                    (o.mspid.clone(), policy)
                })
                .collect(),
        };
        Self {
            orgs,
            msps,
            policies,
        }
    }

    pub(crate) fn peer(&self, org: usize) -> Peer {
        self.peer_with_timeout(org, std::time::Duration::from_secs(30))
    }

    pub(crate) fn peer_with_timeout(&self, org: usize, timeout: std::time::Duration) -> Peer {
        self.peer_with(org, timeout, Default::default())
    }

    /// A peer with a CCaaS builder configuration (connection.json template values).
    pub(crate) fn peer_with(
        &self,
        org: usize,
        timeout: std::time::Duration,
        ccaas_builder_config: fabric_package::ccaas_template::BuilderConfig,
    ) -> Peer {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Arc::new(Ledger::open(&dir.path().join("ledger.redb")).unwrap());
        let o = &self.orgs[org];
        let ctx = PeerContext {
            name: format!("peer0.org{}.example.com", org + 1),
            mspid: o.mspid.clone(),
            identity: o.peer.clone(),
            ledger: ledger.clone(),
            resources: SharedResources::new(Arc::new(ChannelResources {
                msps: self.msps.clone(),
                policies: self.policies.clone(),
            })),
            channel: CHANNEL.into(),
            data_dir: dir.path().to_path_buf(),
            ccaas_builder_config,
        };
        Peer {
            endorser: Endorser::with_execute_timeout(ctx, timeout),
            ledger,
            mspid: o.mspid.clone(),
            _dir: dir,
        }
    }
}

/// A proposal as a Fabric client builds it.
pub(crate) struct Prop {
    pub signed: SignedProposal,
    pub txid: String,
    pub header: Header,
    pub payload_no_transient: Vec<u8>,
}

pub(crate) fn proposal(
    signer: &SigningIdentity,
    channel: &str,
    chaincode: &str,
    args: &[&[u8]],
) -> Prop {
    proposal_with(signer, channel, chaincode, args, BTreeMap::new(), None)
}

pub(crate) fn proposal_with(
    signer: &SigningIdentity,
    channel: &str,
    chaincode: &str,
    args: &[&[u8]],
    transient: BTreeMap<String, Vec<u8>>,
    txid_override: Option<String>,
) -> Prop {
    let creator = signer.serialize();
    let mut nonce = vec![0u8; 24];
    rand_core::OsRng.fill_bytes(&mut nonce);
    let txid = txid_override.unwrap_or_else(|| fabric_block::compute_txid(&nonce, &creator));
    let chaincode_id = ChaincodeId {
        name: chaincode.into(),
        ..Default::default()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let channel_header = ChannelHeader {
        r#type: HeaderType::EndorserTransaction as i32,
        timestamp: Some(prost_types::Timestamp {
            seconds: now.as_secs() as i64,
            nanos: 0,
        }),
        channel_id: channel.into(),
        tx_id: txid.clone(),
        extension: ChaincodeHeaderExtension {
            chaincode_id: Some(chaincode_id.clone()),
        }
        .encode_to_vec(),
        ..Default::default()
    };
    let header = Header {
        channel_header: channel_header.encode_to_vec(),
        signature_header: SignatureHeader { creator, nonce }.encode_to_vec(),
    };
    let input = ChaincodeInvocationSpec {
        chaincode_spec: Some(ChaincodeSpec {
            r#type: 1,
            chaincode_id: Some(chaincode_id),
            input: Some(ChaincodeInput {
                args: args.iter().map(|a| a.to_vec()).collect(),
                ..Default::default()
            }),
            timeout: 0,
        }),
    }
    .encode_to_vec();
    let payload_no_transient = ChaincodeProposalPayload {
        input: input.clone(),
        transient_map: Default::default(),
    }
    .encode_to_vec();
    let proposal = Proposal {
        header: header.encode_to_vec(),
        payload: ChaincodeProposalPayload {
            input,
            transient_map: transient.into_iter().collect(),
        }
        .encode_to_vec(),
        extension: Vec::new(),
    };
    let proposal_bytes = proposal.encode_to_vec();
    let signature = signer.sign(&proposal_bytes);
    Prop {
        signed: SignedProposal {
            proposal_bytes,
            signature,
        },
        txid,
        header,
        payload_no_transient,
    }
}

/// The transaction envelope a client submits for endorsed responses.
pub(crate) fn envelope(
    signer: &SigningIdentity,
    prop: &Prop,
    responses: &[&ProposalResponse],
) -> Vec<u8> {
    let action = ChaincodeEndorsedAction {
        proposal_response_payload: responses[0].payload.clone(),
        endorsements: responses
            .iter()
            .map(|r| r.endorsement.clone().unwrap())
            .collect(),
    };
    let tx = Transaction {
        actions: vec![TransactionAction {
            header: prop.header.signature_header.clone(),
            payload: ChaincodeActionPayload {
                chaincode_proposal_payload: prop.payload_no_transient.clone(),
                action: Some(action),
            }
            .encode_to_vec(),
        }],
    };
    let payload = Payload {
        header: Some(prop.header.clone()),
        data: tx.encode_to_vec(),
    }
    .encode_to_vec();
    Envelope {
        signature: signer.sign(&payload),
        payload,
    }
    .encode_to_vec()
}

/// Validates a block of envelopes with the devnet validator (policies from `registry_of`)
/// and commits it to every ledger. Returns the validation codes.
pub(crate) fn commit_block(
    registry_of: &Peer,
    net: &Net,
    ledgers: &[&Arc<Ledger>],
    envelopes: Vec<Vec<u8>>,
) -> Vec<u8> {
    let first = ledgers[0];
    let mut block = fabric_block::new_block(first.height(), &first.tip_hash(), envelopes);
    let registry = registry_of.endorser.registry();
    let ctx = ValidationContext {
        channel_id: CHANNEL,
        msps: &net.msps,
        chaincodes: registry.as_ref(),
    };
    let (codes, updates) = Validator::validate(first, &block, &ctx);
    block.metadata.as_mut().unwrap().metadata[BlockMetadataIndex::TransactionsFilter as usize] =
        codes.clone();
    for ledger in ledgers {
        ledger.commit(&block, &updates).unwrap();
    }
    codes
}

/// Applies the public writes of an rwset directly (no validation) as one block.
pub(crate) fn apply_rwset(ledger: &Ledger, rwset: &TxReadWriteSet) {
    let mut updates = StateUpdates::default();
    for ns in &rwset.ns_rwset {
        let kv = KvrwSet::decode(ns.rwset.as_slice()).unwrap();
        for w in kv.writes {
            let op = if w.is_delete {
                WriteOp::Delete
            } else {
                WriteOp::Put(w.value)
            };
            updates
                .writes
                .push((ns.namespace.clone(), w.key, op, 0, "seed".into(), None));
        }
        for m in kv.metadata_writes {
            let md = m.entries.into_iter().map(|e| (e.name, e.value)).collect();
            updates.writes.push((
                ns.namespace.clone(),
                m.key,
                WriteOp::Metadata(md),
                0,
                "seed".into(),
                None,
            ));
        }
    }
    let block = fabric_block::new_block(ledger.height(), &ledger.tip_hash(), Vec::new());
    ledger.commit(&block, &updates).unwrap();
}

/// Puts plain key/values into a namespace as one block (versions (height, 0)).
pub(crate) fn seed(ledger: &Ledger, ns: &str, kvs: &[(&str, &[u8])]) {
    let updates = StateUpdates {
        writes: kvs
            .iter()
            .map(|(k, v)| {
                (
                    ns.to_string(),
                    k.to_string(),
                    WriteOp::Put(v.to_vec()),
                    0,
                    "seed".into(),
                    None,
                )
            })
            .collect(),
    };
    let block = fabric_block::new_block(ledger.height(), &ledger.tip_hash(), Vec::new());
    ledger.commit(&block, &updates).unwrap();
}

/// Defines chaincode `name` (sequence 1, default policy) approved by every org with
/// `package_id`, written straight into state.
pub(crate) fn define_chaincode(ledger: &Arc<Ledger>, net: &Net, name: &str, package_id: &str) {
    let mspids: Vec<String> = net.orgs.iter().map(|o| o.mspid.clone()).collect();
    let rwset =
        devnet_endorser::testing::chaincode_definition(ledger, &mspids, name, package_id).unwrap();
    apply_rwset(ledger, &rwset);
}

/// The rwset of an endorsed response.
pub(crate) fn rwset_of(resp: &ProposalResponse) -> TxReadWriteSet {
    let prp =
        fabric_proto::protos::ProposalResponsePayload::decode(resp.payload.as_slice()).unwrap();
    let action = fabric_proto::protos::ChaincodeAction::decode(prp.extension.as_slice()).unwrap();
    TxReadWriteSet::decode(action.results.as_slice()).unwrap()
}

/// The KVRWSet of one namespace of an rwset.
pub(crate) fn ns_kv(rwset: &TxReadWriteSet, ns: &str) -> KvrwSet {
    let n = rwset
        .ns_rwset
        .iter()
        .find(|n| n.namespace == ns)
        .unwrap_or_else(|| panic!("namespace {ns} not in rwset"));
    KvrwSet::decode(n.rwset.as_slice()).unwrap()
}
