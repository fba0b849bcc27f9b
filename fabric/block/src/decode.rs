//! Decoding a transaction envelope into what validators and clients need.
//!
//! Every layer is a nested protobuf in a `bytes` field; each is decoded with
//! its own error naming the layer, so garbage input yields a
//! [`BlockError::Malformed`] and never a panic.

use crate::BlockError;
use fabric_proto::common::{ChannelHeader, Envelope, HeaderType, Payload, SignatureHeader};
use fabric_proto::kvrwset::KvrwSet;
use fabric_proto::protos::{
    ChaincodeAction, ChaincodeActionPayload, ChaincodeEvent, ChaincodeInvocationSpec,
    ChaincodeProposalPayload, Endorsement, ProposalResponsePayload, Response, Transaction,
};
use fabric_proto::rwset::TxReadWriteSet;
use prost::Message;

/// An endorser transaction decoded into what validators and clients need.
#[derive(Debug, Clone)]
pub struct DecodedTx {
    pub header_type: i32,
    pub channel_id: String,
    pub txid: String,
    pub timestamp: Option<prost_types::Timestamp>,
    /// Serialized creator identity and nonce from the signature header.
    pub creator: Vec<u8>,
    pub nonce: Vec<u8>,
    /// Bytes signed by the creator (Envelope.payload) and the signature.
    pub payload_bytes: Vec<u8>,
    pub signature: Vec<u8>,
    /// Raw `Header.channel_header` and `Header.signature_header` bytes (inputs of the proposal hash).
    pub channel_header_bytes: Vec<u8>,
    pub signature_header_bytes: Vec<u8>,
    /// For endorser transactions: the first action's details.
    pub action: Option<DecodedAction>,
}

/// The chaincode action of an endorser transaction.
#[derive(Debug, Clone)]
pub struct DecodedAction {
    pub chaincode_name: String,
    pub chaincode_version: String,
    pub proposal_response_payload: Vec<u8>,
    pub endorsements: Vec<Endorsement>,
    pub response: Option<Response>,
    pub rwset: TxReadWriteSet,
    /// Decoded per-namespace KV sets, in order.
    pub ns_rwsets: Vec<(String, KvrwSet)>,
    pub event: Option<ChaincodeEvent>,
    /// Invocation args (from the chaincode proposal payload).
    pub args: Vec<Vec<u8>>,
    /// Raw `ChaincodeActionPayload.chaincode_proposal_payload` (input of the proposal hash).
    pub chaincode_proposal_payload: Vec<u8>,
    /// `ProposalResponsePayload.proposal_hash`.
    pub proposal_hash: Vec<u8>,
}

impl DecodedTx {
    /// SHA-256(channel_header || signature_header || chaincode_proposal_payload): what the
    /// endorsers' `proposal_hash` must equal. `None` for non-endorser transactions.
    pub fn recompute_proposal_hash(&self) -> Option<[u8; 32]> {
        let action = self.action.as_ref()?;
        Some(fabric_msp::sha256(
            &[
                self.channel_header_bytes.as_slice(),
                &self.signature_header_bytes,
                &action.chaincode_proposal_payload,
            ]
            .concat(),
        ))
    }
}

impl DecodedAction {
    /// The invoked function name (first argument), if it is UTF-8.
    pub fn function(&self) -> Option<&str> {
        self.args.first().and_then(|a| std::str::from_utf8(a).ok())
    }

    /// The bytes an endorser signed: `proposal_response_payload || endorser`.
    pub fn endorsement_signed_bytes(&self, endorsement: &Endorsement) -> Vec<u8> {
        [
            self.proposal_response_payload.as_slice(),
            endorsement.endorser.as_slice(),
        ]
        .concat()
    }
}

fn proto<M: Message + Default>(what: &'static str, bytes: &[u8]) -> Result<M, BlockError> {
    M::decode(bytes).map_err(|e| BlockError::Malformed {
        what,
        msg: e.to_string(),
    })
}

fn missing(what: &'static str, field: &str) -> BlockError {
    BlockError::Malformed {
        what,
        msg: format!("{field} is missing"),
    }
}

/// Decodes an envelope. Never panics on malformed input.
pub fn decode_envelope(env_bytes: &[u8]) -> Result<DecodedTx, BlockError> {
    decode(&proto::<Envelope>("envelope", env_bytes)?)
}

/// Decodes an already-parsed envelope.
pub fn decode(env: &Envelope) -> Result<DecodedTx, BlockError> {
    let payload: Payload = proto("payload", &env.payload)?;
    let header = payload.header.ok_or_else(|| missing("payload", "header"))?;
    let ch: ChannelHeader = proto("channel header", &header.channel_header)?;
    let sh: SignatureHeader = proto("signature header", &header.signature_header)?;
    let action = if ch.r#type == HeaderType::EndorserTransaction as i32 {
        Some(decode_action(&payload.data)?)
    } else {
        None
    };
    Ok(DecodedTx {
        header_type: ch.r#type,
        channel_id: ch.channel_id,
        txid: ch.tx_id,
        timestamp: ch.timestamp,
        creator: sh.creator,
        nonce: sh.nonce,
        payload_bytes: env.payload.clone(),
        signature: env.signature.clone(),
        channel_header_bytes: header.channel_header,
        signature_header_bytes: header.signature_header,
        action,
    })
}

/// Decodes the first action of an endorser transaction.
fn decode_action(tx_bytes: &[u8]) -> Result<DecodedAction, BlockError> {
    let tx: Transaction = proto("transaction", tx_bytes)?;
    let first = tx
        .actions
        .first()
        .ok_or_else(|| missing("transaction", "actions[0]"))?;
    let cap: ChaincodeActionPayload = proto("chaincode action payload", &first.payload)?;
    let endorsed = cap
        .action
        .ok_or_else(|| missing("chaincode action payload", "action"))?;
    let prp: ProposalResponsePayload = proto(
        "proposal response payload",
        &endorsed.proposal_response_payload,
    )?;
    let cc_action: ChaincodeAction = proto("chaincode action", &prp.extension)?;
    let rwset: TxReadWriteSet = proto("read/write set", &cc_action.results)?;
    let ns_rwsets = rwset
        .ns_rwset
        .iter()
        .map(|ns| Ok((ns.namespace.clone(), proto("namespace rwset", &ns.rwset)?)))
        .collect::<Result<Vec<_>, BlockError>>()?;
    let (spec_name, args) = invocation(&cap.chaincode_proposal_payload)?;
    let chaincode_id = cc_action.chaincode_id.unwrap_or_default();
    let chaincode_name = if chaincode_id.name.is_empty() {
        spec_name
    } else {
        chaincode_id.name
    };
    Ok(DecodedAction {
        chaincode_name,
        chaincode_version: chaincode_id.version,
        proposal_response_payload: endorsed.proposal_response_payload,
        endorsements: endorsed.endorsements,
        response: cc_action.response,
        rwset,
        ns_rwsets,
        event: event(&cc_action.events)?,
        args,
        chaincode_proposal_payload: cap.chaincode_proposal_payload,
        proposal_hash: prp.proposal_hash,
    })
}

/// Chaincode name and args from a `ChaincodeProposalPayload`.
fn invocation(cpp_bytes: &[u8]) -> Result<(String, Vec<Vec<u8>>), BlockError> {
    let cpp: ChaincodeProposalPayload = proto("chaincode proposal payload", cpp_bytes)?;
    let cis: ChaincodeInvocationSpec = proto("chaincode invocation spec", &cpp.input)?;
    let spec = cis.chaincode_spec.unwrap_or_default();
    let name = spec.chaincode_id.map(|id| id.name).unwrap_or_default();
    let args = spec.input.map(|i| i.args).unwrap_or_default();
    Ok((name, args))
}

/// A chaincode event; Fabric requires a non-empty name, so an empty one means "no event".
fn event(bytes: &[u8]) -> Result<Option<ChaincodeEvent>, BlockError> {
    let ev: ChaincodeEvent = proto("chaincode event", bytes)?;
    Ok((!ev.event_name.is_empty()).then_some(ev))
}
