//! Hand-built Fabric messages for tests: proposals, endorser transactions
//! with chosen read/write sets and endorsers, deliver seek requests, and the
//! signed gateway requests a client sends.

use fabric_msp::SigningIdentity;
use fabric_proto::common::{ChannelHeader, Envelope, Header, HeaderType, Payload, SignatureHeader};
use fabric_proto::gateway::{CommitStatusRequest, SignedCommitStatusRequest};
use fabric_proto::kvrwset::KvrwSet;
use fabric_proto::orderer::{seek_info, seek_position, SeekInfo, SeekPosition, SeekSpecified};
use fabric_proto::protos::{
    chaincode_spec, ChaincodeAction, ChaincodeActionPayload, ChaincodeEndorsedAction,
    ChaincodeEvent, ChaincodeHeaderExtension, ChaincodeId, ChaincodeInput, ChaincodeInvocationSpec,
    ChaincodeProposalPayload, ChaincodeSpec, Endorsement, Proposal, ProposalResponsePayload,
    Response, SignedProposal, Transaction, TransactionAction,
};
use fabric_proto::rwset::{NsReadWriteSet, TxReadWriteSet};
use prost::Message;

fn now() -> prost_types::Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    prost_types::Timestamp {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    }
}

fn nonce() -> Vec<u8> {
    let mut n = vec![0u8; 24];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut n);
    n
}

/// Headers of a new transaction: (channel header bytes, signature header bytes, txid).
pub(crate) fn headers(
    signer: &SigningIdentity,
    channel: &str,
    chaincode: &str,
    kind: HeaderType,
) -> (Vec<u8>, Vec<u8>, String) {
    let creator = signer.serialize();
    let nonce = nonce();
    let txid = fabric_block::compute_txid(&nonce, &creator);
    let extension = if kind == HeaderType::EndorserTransaction {
        ChaincodeHeaderExtension {
            chaincode_id: Some(ChaincodeId {
                name: chaincode.to_owned(),
                ..Default::default()
            }),
        }
        .encode_to_vec()
    } else {
        Vec::new()
    };
    let chdr = ChannelHeader {
        r#type: kind as i32,
        timestamp: Some(now()),
        channel_id: channel.to_owned(),
        tx_id: txid.clone(),
        extension,
        ..Default::default()
    };
    let shdr = SignatureHeader { creator, nonce };
    (chdr.encode_to_vec(), shdr.encode_to_vec(), txid)
}

fn invocation(chaincode: &str, args: &[&[u8]]) -> Vec<u8> {
    let spec = ChaincodeInvocationSpec {
        chaincode_spec: Some(ChaincodeSpec {
            r#type: chaincode_spec::Type::Golang as i32,
            chaincode_id: Some(ChaincodeId {
                name: chaincode.to_owned(),
                ..Default::default()
            }),
            input: Some(ChaincodeInput {
                args: args.iter().map(|a| a.to_vec()).collect(),
                ..Default::default()
            }),
            timeout: 0,
        }),
    };
    ChaincodeProposalPayload {
        input: spec.encode_to_vec(),
        transient_map: Default::default(),
    }
    .encode_to_vec()
}

/// A signed proposal invoking `chaincode` with `args`; returns it with its txid.
pub(crate) fn proposal(
    signer: &SigningIdentity,
    channel: &str,
    chaincode: &str,
    args: &[&[u8]],
) -> (SignedProposal, String) {
    let (chdr, shdr, txid) = headers(signer, channel, chaincode, HeaderType::EndorserTransaction);
    let proposal = Proposal {
        header: Header {
            channel_header: chdr,
            signature_header: shdr,
        }
        .encode_to_vec(),
        payload: invocation(chaincode, args),
        extension: Vec::new(),
    };
    let bytes = proposal.encode_to_vec();
    let signature = signer.sign(&bytes);
    (
        SignedProposal {
            proposal_bytes: bytes,
            signature,
        },
        txid,
    )
}

/// An endorser transaction on `chaincode` with the given read/write set,
/// endorsed by `endorsers` and signed by `creator`. Returns it with its txid.
pub(crate) fn endorser_tx(
    creator: &SigningIdentity,
    channel: &str,
    chaincode: &str,
    kv: KvrwSet,
    event: Option<(&str, &[u8])>,
    endorsers: &[&SigningIdentity],
) -> (Envelope, String) {
    let (chdr, shdr, txid) = headers(creator, channel, chaincode, HeaderType::EndorserTransaction);
    let cpp = invocation(chaincode, &[b"put"]);
    let proposal_hash =
        fabric_msp::sha256(&[chdr.as_slice(), shdr.as_slice(), cpp.as_slice()].concat());
    let results = TxReadWriteSet {
        data_model: 0,
        ns_rwset: vec![NsReadWriteSet {
            namespace: chaincode.to_owned(),
            rwset: kv.encode_to_vec(),
            collection_hashed_rwset: Vec::new(),
        }],
    };
    let events = event
        .map(|(name, payload)| {
            ChaincodeEvent {
                chaincode_id: chaincode.to_owned(),
                tx_id: txid.clone(),
                event_name: name.to_owned(),
                payload: payload.to_vec(),
            }
            .encode_to_vec()
        })
        .unwrap_or_default();
    let action = ChaincodeAction {
        results: results.encode_to_vec(),
        events,
        response: Some(Response {
            status: 200,
            ..Default::default()
        }),
        chaincode_id: Some(ChaincodeId {
            name: chaincode.to_owned(),
            version: "1.0".into(),
            ..Default::default()
        }),
    };
    let prp = ProposalResponsePayload {
        proposal_hash: proposal_hash.to_vec(),
        extension: action.encode_to_vec(),
    }
    .encode_to_vec();
    let endorsements = endorsers
        .iter()
        .map(|e| {
            let endorser = e.serialize();
            let signature = e.sign(&[prp.as_slice(), endorser.as_slice()].concat());
            Endorsement {
                endorser,
                signature,
            }
        })
        .collect();
    let cap = ChaincodeActionPayload {
        chaincode_proposal_payload: cpp,
        action: Some(ChaincodeEndorsedAction {
            proposal_response_payload: prp,
            endorsements,
        }),
    };
    let tx = Transaction {
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
        data: tx.encode_to_vec(),
    }
    .encode_to_vec();
    let signature = creator.sign(&payload);
    (Envelope { payload, signature }, txid)
}

/// A deliver request for blocks `start..=stop` (None: no upper bound) of `channel`.
pub(crate) fn seek(
    signer: &SigningIdentity,
    channel: &str,
    start: SeekPosition,
    stop: Option<u64>,
    fail_if_not_ready: bool,
) -> Envelope {
    let (chdr, shdr, _) = headers(signer, channel, "", HeaderType::DeliverSeekInfo);
    let info = SeekInfo {
        start: Some(start),
        stop: Some(SeekPosition {
            r#type: Some(match stop {
                Some(n) => seek_position::Type::Specified(SeekSpecified { number: n }),
                None => seek_position::Type::Specified(SeekSpecified { number: u64::MAX }),
            }),
        }),
        behavior: if fail_if_not_ready {
            seek_info::SeekBehavior::FailIfNotReady as i32
        } else {
            seek_info::SeekBehavior::BlockUntilReady as i32
        },
        ..Default::default()
    };
    let payload = Payload {
        header: Some(Header {
            channel_header: chdr,
            signature_header: shdr,
        }),
        data: info.encode_to_vec(),
    }
    .encode_to_vec();
    let signature = signer.sign(&payload);
    Envelope { payload, signature }
}

pub(crate) fn specified(n: u64) -> SeekPosition {
    SeekPosition {
        r#type: Some(seek_position::Type::Specified(SeekSpecified { number: n })),
    }
}

/// A signed commit status request.
pub(crate) fn commit_status_request(
    signer: &SigningIdentity,
    channel: &str,
    txid: &str,
) -> SignedCommitStatusRequest {
    let request = CommitStatusRequest {
        transaction_id: txid.to_owned(),
        channel_id: channel.to_owned(),
        identity: signer.serialize(),
    }
    .encode_to_vec();
    let signature = signer.sign(&request);
    SignedCommitStatusRequest { request, signature }
}

/// A KV read/write set: reads with versions (None = key absent), then writes.
pub(crate) fn kv(reads: &[(&str, Option<(u64, u64)>)], writes: &[(&str, &[u8])]) -> KvrwSet {
    use fabric_proto::kvrwset::{KvRead, KvWrite, Version};
    KvrwSet {
        reads: reads
            .iter()
            .map(|(k, v)| KvRead {
                key: (*k).to_owned(),
                version: v.map(|(b, t)| Version {
                    block_num: b,
                    tx_num: t,
                }),
            })
            .collect(),
        writes: writes
            .iter()
            .map(|(k, v)| KvWrite {
                key: (*k).to_owned(),
                is_delete: false,
                value: v.to_vec(),
            })
            .collect(),
        ..Default::default()
    }
}

/// A signed chaincode events request starting at block `start`.
pub(crate) fn chaincode_events_request(
    signer: &SigningIdentity,
    channel: &str,
    chaincode: &str,
    start: Option<SeekPosition>,
    after_txid: &str,
) -> fabric_proto::gateway::SignedChaincodeEventsRequest {
    let request = fabric_proto::gateway::ChaincodeEventsRequest {
        channel_id: channel.to_owned(),
        chaincode_id: chaincode.to_owned(),
        identity: signer.serialize(),
        start_position: start,
        after_transaction_id: after_txid.to_owned(),
    }
    .encode_to_vec();
    let signature = signer.sign(&request);
    fabric_proto::gateway::SignedChaincodeEventsRequest { request, signature }
}
