//! Structural checks of one transaction envelope, in Fabric's order, each
//! failure mapped to the code Fabric assigns (core/common/validation and the
//! v20 plugin dispatcher). Only decoding and signature checks live here; the
//! endorsement policy and MVCC checks come after.

use super::ValidationContext;
use fabric_proto::common::{ChannelHeader, Envelope, Header, HeaderType, Payload, SignatureHeader};
use fabric_proto::kvrwset::KvrwSet;
use fabric_proto::protos::{
    ChaincodeAction, ChaincodeActionPayload, ChaincodeEvent, ChaincodeHeaderExtension, Endorsement,
    ProposalResponsePayload, Transaction, TxValidationCode as Code,
};
use fabric_proto::rwset::TxReadWriteSet;
use prost::Message;

/// A transaction that passed the envelope-level checks.
pub(crate) struct CheckedTx {
    pub channel_header: ChannelHeader,
    pub payload: Payload,
    /// Unix seconds of the channel header timestamp: the time at which identities are validated.
    pub at: i64,
}

impl CheckedTx {
    pub(super) fn header_type(&self) -> i32 {
        self.channel_header.r#type
    }
}

/// The hashed read/write set of one private data collection (`kvrwset.HashedRWSet`).
/// Decoded only to know whether a transaction writes to a collection (the devnet
/// stores no private data), so each write is kept as its undecoded message bytes.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct HashedRwSet {
    #[prost(bytes = "vec", repeated, tag = "2")]
    pub hashed_writes: Vec<Vec<u8>>,
    #[prost(bytes = "vec", repeated, tag = "3")]
    pub metadata_writes: Vec<Vec<u8>>,
}

/// One namespace of a transaction's read/write set, decoded.
pub(crate) struct NsRwSet {
    pub namespace: String,
    pub kv: KvrwSet,
    pub collections: Vec<(String, HashedRwSet)>,
}

impl NsRwSet {
    /// Fabric's "writes to namespace": public writes, metadata writes, or collection writes.
    pub(super) fn writes(&self) -> bool {
        !self.kv.writes.is_empty()
            || !self.kv.metadata_writes.is_empty()
            || self
                .collections
                .iter()
                .any(|(_, c)| !c.hashed_writes.is_empty() || !c.metadata_writes.is_empty())
    }
}

/// The chaincode action of an endorser transaction, ready for policy and MVCC checks.
pub(crate) struct EndorserAction {
    pub chaincode: String,
    pub proposal_response_payload: Vec<u8>,
    pub endorsements: Vec<Endorsement>,
    pub ns_rwsets: Vec<NsRwSet>,
}

/// Fabric's ValidateTransaction plus the channel check: decoding, header sanity,
/// creator signature, txid and proposal-hash binding. Genesis config is accepted unsigned.
pub(crate) fn check_envelope(
    env_bytes: &[u8],
    block_number: u64,
    ctx: &ValidationContext<'_>,
) -> Result<CheckedTx, Code> {
    if env_bytes.is_empty() {
        return Err(Code::NilEnvelope);
    }
    // Fabric: an envelope that cannot be unmarshalled from the block is INVALID_OTHER_REASON.
    let env = Envelope::decode(env_bytes).map_err(|_| Code::InvalidOtherReason)?;
    let payload = Payload::decode(env.payload.as_slice()).map_err(|_| Code::BadPayload)?;
    let header = payload.header.clone().ok_or(Code::BadCommonHeader)?;
    let chdr = ChannelHeader::decode(header.channel_header.as_slice())
        .map_err(|_| Code::BadCommonHeader)?;
    let shdr = SignatureHeader::decode(header.signature_header.as_slice())
        .map_err(|_| Code::BadCommonHeader)?;
    let at = chdr.timestamp.map(|t| t.seconds).unwrap_or(0);

    let genesis_config = block_number == 0 && chdr.r#type == HeaderType::Config as i32;
    if !genesis_config {
        check_headers(&chdr, &shdr)?;
        check_creator(&shdr, &env, at, ctx)?;
        if chdr.r#type == HeaderType::EndorserTransaction as i32 {
            if fabric_block::compute_txid(&shdr.nonce, &shdr.creator) != chdr.tx_id {
                return Err(Code::BadProposalTxid);
            }
            check_endorser_transaction(&payload.data, &header)
                .ok_or(Code::InvalidEndorserTransaction)?;
        } else if chdr.r#type != HeaderType::Config as i32 {
            return Err(Code::UnsupportedTxPayload);
        }
    }
    if chdr.channel_id != ctx.channel_id {
        return Err(Code::TargetChainNotFound);
    }
    Ok(CheckedTx {
        channel_header: chdr,
        payload,
        at,
    })
}

/// Decodes an envelope without checking anything (for blocks whose validation
/// result is already known and trusted).
pub(crate) fn parse_unchecked(env_bytes: &[u8]) -> Option<CheckedTx> {
    let env = Envelope::decode(env_bytes).ok()?;
    let payload = Payload::decode(env.payload.as_slice()).ok()?;
    let chdr = ChannelHeader::decode(payload.header.as_ref()?.channel_header.as_slice()).ok()?;
    let at = chdr.timestamp.map(|t| t.seconds).unwrap_or(0);
    Some(CheckedTx {
        channel_header: chdr,
        payload,
        at,
    })
}

/// validateChannelHeader / validateSignatureHeader: known type, epoch 0, nonce and creator present.
fn check_headers(chdr: &ChannelHeader, shdr: &SignatureHeader) -> Result<(), Code> {
    let known = [
        HeaderType::EndorserTransaction as i32,
        HeaderType::ConfigUpdate as i32,
        HeaderType::Config as i32,
    ];
    if !known.contains(&chdr.r#type)
        || chdr.epoch != 0
        || shdr.nonce.is_empty()
        || shdr.creator.is_empty()
    {
        return Err(Code::BadCommonHeader);
    }
    Ok(())
}

/// The creator must be a valid identity of a channel MSP at the tx time and must have signed the payload.
fn check_creator(
    shdr: &SignatureHeader,
    env: &Envelope,
    at: i64,
    ctx: &ValidationContext<'_>,
) -> Result<(), Code> {
    if env.signature.is_empty() {
        return Err(Code::BadCreatorSignature);
    }
    let creator = ctx
        .msps
        .validate_serialized(&shdr.creator, at)
        .map_err(|e| {
            tracing::debug!("creator rejected: {e}");
            Code::BadCreatorSignature
        })?;
    ctx.msps
        .verify(&creator, &env.payload, &env.signature)
        .map_err(|e| {
            tracing::debug!("creator signature rejected: {e}");
            Code::BadCreatorSignature
        })
}

/// validateEndorserTransaction: one action, a sane action header, and a proposal
/// response payload bound to this proposal by its hash.
fn check_endorser_transaction(data: &[u8], header: &Header) -> Option<()> {
    let tx = Transaction::decode(data).ok()?;
    let [action] = tx.actions.as_slice() else {
        return None;
    };
    let shdr = SignatureHeader::decode(action.header.as_slice()).ok()?;
    if shdr.nonce.is_empty() || shdr.creator.is_empty() {
        return None;
    }
    let cap = ChaincodeActionPayload::decode(action.payload.as_slice()).ok()?;
    let prp =
        ProposalResponsePayload::decode(cap.action?.proposal_response_payload.as_slice()).ok()?;
    let mut hashed = Vec::with_capacity(
        header.channel_header.len() + action.header.len() + cap.chaincode_proposal_payload.len(),
    );
    hashed.extend_from_slice(&header.channel_header);
    hashed.extend_from_slice(&action.header);
    hashed.extend_from_slice(&cap.chaincode_proposal_payload);
    (fabric_msp::sha256(&hashed).as_slice() == prp.proposal_hash.as_slice()).then_some(())
}

/// The plugin dispatcher's decoding: header extension, chaincode action, read/write
/// set, chaincode id consistency, event and namespace uniqueness.
pub(crate) fn decode_action(tx: &CheckedTx) -> Result<EndorserAction, Code> {
    let ext = ChaincodeHeaderExtension::decode(tx.channel_header.extension.as_slice())
        .map_err(|_| Code::BadHeaderExtension)?;
    let (cap, action) = chaincode_action(&tx.payload.data).ok_or(Code::BadResponsePayload)?;
    let ns_rwsets = decode_rwset(&action.results).ok_or(Code::BadRwset)?;

    let header_cc = ext.chaincode_id.ok_or(Code::InvalidOtherReason)?;
    let action_cc = action.chaincode_id.ok_or(Code::InvalidOtherReason)?;
    if header_cc.name.is_empty() || header_cc.name != action_cc.name || action_cc.version.is_empty()
    {
        return Err(Code::InvalidChaincode);
    }
    if !action.events.is_empty() {
        let event = ChaincodeEvent::decode(action.events.as_slice())
            .map_err(|_| Code::InvalidOtherReason)?;
        if event.chaincode_id != header_cc.name {
            return Err(Code::InvalidOtherReason);
        }
    }
    let mut seen = std::collections::HashSet::new();
    if !ns_rwsets
        .iter()
        .all(|ns| seen.insert(ns.namespace.as_str()))
    {
        return Err(Code::IllegalWriteset);
    }
    let endorsed = cap.action.unwrap_or_default();
    Ok(EndorserAction {
        chaincode: header_cc.name,
        proposal_response_payload: endorsed.proposal_response_payload,
        endorsements: endorsed.endorsements,
        ns_rwsets,
    })
}

fn chaincode_action(data: &[u8]) -> Option<(ChaincodeActionPayload, ChaincodeAction)> {
    let tx = Transaction::decode(data).ok()?;
    let cap = ChaincodeActionPayload::decode(tx.actions.first()?.payload.as_slice()).ok()?;
    let prp =
        ProposalResponsePayload::decode(cap.action.as_ref()?.proposal_response_payload.as_slice())
            .ok()?;
    let action = ChaincodeAction::decode(prp.extension.as_slice()).ok()?;
    Some((cap, action))
}

fn decode_rwset(results: &[u8]) -> Option<Vec<NsRwSet>> {
    let txrw = TxReadWriteSet::decode(results).ok()?;
    txrw.ns_rwset
        .into_iter()
        .map(|ns| {
            let kv = KvrwSet::decode(ns.rwset.as_slice()).ok()?;
            let collections = ns
                .collection_hashed_rwset
                .into_iter()
                .map(|c| {
                    Some((
                        c.collection_name,
                        HashedRwSet::decode(c.hashed_rwset.as_slice()).ok()?,
                    ))
                })
                .collect::<Option<Vec<_>>>()?;
            Some(NsRwSet {
                namespace: ns.namespace,
                kv,
                collections,
            })
        })
        .collect()
}
