//! Unpacking and checking a signed proposal, as Fabric's endorser does
//! before it runs any chaincode.
//!
//! Owns: decoding Proposal -> Header -> ChannelHeader / SignatureHeader ->
//! ChaincodeHeaderExtension -> ChaincodeProposalPayload -> ChaincodeInvocationSpec,
//! the proposal hash (transient map stripped), and the header, txid, creator and
//! signature checks (Fabric's `UnpackProposal` and `Validate`).

use crate::error::{EndorserError, Result};
use fabric_msp::{Identity, MspError, MspManager};
use fabric_proto::common::{ChannelHeader, Header, HeaderType, SignatureHeader};
use fabric_proto::protos::{
    ChaincodeHeaderExtension, ChaincodeInput, ChaincodeInvocationSpec, ChaincodeProposalPayload,
    Proposal, SignedProposal,
};
use prost::Message;

/// The interesting parts of a proposal, all decoded.
#[derive(Debug, Clone)]
pub struct UnpackedProposal {
    pub signed: SignedProposal,
    pub channel_header: ChannelHeader,
    pub signature_header: SignatureHeader,
    pub chaincode_name: String,
    pub input: ChaincodeInput,
    /// SHA-256(channel_header || signature_header || payload without transient map).
    pub proposal_hash: [u8; 32],
}

impl UnpackedProposal {
    pub fn channel_id(&self) -> &str {
        &self.channel_header.channel_id
    }

    pub fn txid(&self) -> &str {
        &self.channel_header.tx_id
    }

    /// The serialized identity of the client that signed the proposal.
    pub fn creator(&self) -> &[u8] {
        &self.signature_header.creator
    }
}

fn decode<M: Message + Default>(bytes: &[u8], what: &'static str) -> Result<M> {
    M::decode(bytes).map_err(|source| EndorserError::Unmarshal { what, source })
}

/// Decodes a signed proposal (Fabric's `UnpackProposal`); every error is a client error.
pub fn unpack(signed: &SignedProposal) -> Result<UnpackedProposal> {
    let proposal: Proposal = decode(&signed.proposal_bytes, "Proposal")?;
    let header: Header = decode(&proposal.header, "Header")?;
    let channel_header: ChannelHeader = decode(&header.channel_header, "ChannelHeader")?;
    let signature_header: SignatureHeader = decode(&header.signature_header, "SignatureHeader")?;
    let extension: ChaincodeHeaderExtension =
        decode(&channel_header.extension, "ChaincodeHeaderExtension")?;
    let chaincode_id = extension
        .chaincode_id
        .ok_or_else(|| EndorserError::refused("ChaincodeHeaderExtension.ChaincodeId is nil"))?;
    if chaincode_id.name.is_empty() {
        return Err(EndorserError::refused(
            "ChaincodeHeaderExtension.ChaincodeId.Name is empty",
        ));
    }
    let payload: ChaincodeProposalPayload = decode(&proposal.payload, "ChaincodeProposalPayload")?;
    let spec: ChaincodeInvocationSpec = decode(&payload.input, "ChaincodeInvocationSpec")?;
    let spec = spec.chaincode_spec.ok_or_else(|| {
        EndorserError::refused("chaincode invocation spec did not contain chaincode spec")
    })?;
    let input = spec
        .input
        .ok_or_else(|| EndorserError::refused("chaincode input did not contain any input"))?;
    let proposal_hash = proposal_hash(&header, &payload.input);
    Ok(UnpackedProposal {
        signed: signed.clone(),
        channel_header,
        signature_header,
        chaincode_name: chaincode_id.name,
        input,
        proposal_hash,
    })
}

/// Fabric's proposal hash: the payload is re-encoded without its transient map,
/// because the transient data never goes into the transaction.
pub fn proposal_hash(header: &Header, invocation_spec: &[u8]) -> [u8; 32] {
    let stripped = ChaincodeProposalPayload {
        input: invocation_spec.to_vec(),
        transient_map: Default::default(),
    }
    .encode_to_vec();
    let mut bytes = Vec::with_capacity(
        header.channel_header.len() + header.signature_header.len() + stripped.len(),
    );
    bytes.extend_from_slice(&header.channel_header);
    bytes.extend_from_slice(&header.signature_header);
    bytes.extend_from_slice(&stripped);
    fabric_msp::sha256(&bytes)
}

/// Fabric's `UnpackedProposal.Validate`: header type, epoch, nonce, creator, txid,
/// creator validity in its MSP at `now`, and the creator's signature (low-S).
/// Returns the validated creator.
pub fn validate(up: &UnpackedProposal, msps: &MspManager, now: i64) -> Result<Identity> {
    let kind = up.channel_header.r#type;
    if kind != HeaderType::EndorserTransaction as i32 && kind != HeaderType::Config as i32 {
        let name = HeaderType::try_from(kind)
            .map(|t| t.as_str_name().to_string())
            .unwrap_or_else(|_| kind.to_string());
        return Err(EndorserError::refused(format!(
            "invalid header type {name}"
        )));
    }
    if up.channel_header.epoch != 0 {
        return Err(EndorserError::refused("epoch is non-zero"));
    }
    if up.signature_header.nonce.is_empty() {
        return Err(EndorserError::refused("nonce is empty"));
    }
    if up.signature_header.creator.is_empty() {
        return Err(EndorserError::refused("creator is empty"));
    }
    let expected =
        fabric_block::compute_txid(&up.signature_header.nonce, &up.signature_header.creator);
    if up.txid() != expected {
        return Err(EndorserError::refused(format!(
            "incorrectly computed txid '{}' -- expected '{expected}'",
            up.txid()
        )));
    }
    if up.signed.proposal_bytes.is_empty() {
        return Err(EndorserError::refused("empty proposal bytes"));
    }
    if up.signed.signature.is_empty() {
        return Err(EndorserError::refused("empty signature bytes"));
    }
    let creator = validated_creator(up, msps, now)?;
    msps.verify(&creator, &up.signed.proposal_bytes, &up.signed.signature)
        .map_err(|e| {
            denied(
                up,
                &creator.mspid,
                format!("the creator's signature over the proposal is not valid: {e}"),
            )
        })?;
    Ok(creator)
}

/// The creator, valid in its MSP at `now`. The common case (a known, valid
/// creator) costs one memo lookup; only a rejection parses the certificate
/// again, to name the claimed org in the error.
fn validated_creator(up: &UnpackedProposal, msps: &MspManager, now: i64) -> Result<Identity> {
    let rejection = match msps.validate_serialized(up.creator(), now) {
        Ok(creator) => return Ok(creator),
        Err(e) => e,
    };
    let channel = up.channel_id();
    let malformed = || {
        tracing::warn!(txid = %up.txid(), "access denied: creator is malformed: {rejection}");
        EndorserError::refused(format!(
            "access denied: channel [{channel}] creator org unknown, creator is malformed"
        ))
    };
    // Fabric's MSP cannot even deserialize a creator of an unknown MSP, an
    // unreadable certificate, or one that does not chain to the claimed MSP
    // (deserializing sanitizes the signature against the issuing CA).
    match rejection {
        MspError::BadIdentity(_)
        | MspError::BadCertificate(_)
        | MspError::UnknownMsp(_)
        | MspError::UntrustedChain { .. } => Err(malformed()),
        _ => match Identity::from_serialized(up.creator()) {
            Ok(claimed) => Err(denied(up, &claimed.mspid, rejection.to_string())),
            Err(_) => Err(malformed()),
        },
    }
}

/// Fabric answers with a generic "access denied" (an attacker learns nothing
/// about why) and logs the reason; the devnet does the same, word for word.
fn denied(up: &UnpackedProposal, mspid: &str, reason: String) -> EndorserError {
    tracing::warn!(txid = %up.txid(), mspid, "access denied: {reason}");
    EndorserError::refused(format!(
        "access denied: channel [{}] creator org [{mspid}]",
        up.channel_id()
    ))
}
