//! Building and signing proposal responses.
//!
//! Owns: the ProposalResponsePayload (proposal hash + ChaincodeAction), the
//! endorsement signature over `payload || endorser`, and the shape of the
//! ProposalResponse for success, chaincode errors and failures (Fabric's
//! `ProcessProposalSuccessfullyOrError`).

use fabric_msp::SigningIdentity;
use fabric_proto::protos::{
    ChaincodeAction, ChaincodeEvent, ChaincodeId, ChaincodeInterest, Endorsement, ProposalResponse,
    ProposalResponsePayload, Response,
};
use prost::Message;

/// Fabric's `shim.ERRORTHRESHOLD`: responses at or above it are not endorsed.
pub(crate) const ERROR_THRESHOLD: i32 = 400;
/// Fabric's `shim.ERROR`: responses at or above it still carry the payload.
pub(crate) const ERROR: i32 = 500;

/// What a simulation produced.
pub(crate) struct Simulated {
    pub response: Response,
    /// Serialized `rwset.TxReadWriteSet` (empty for channel-less proposals).
    pub results: Vec<u8>,
    pub event: Option<ChaincodeEvent>,
    pub interest: Option<ChaincodeInterest>,
    pub chaincode_id: ChaincodeId,
}

/// A failed proposal: status 500 and the message, nothing else (as Fabric answers).
pub(crate) fn failure(message: impl Into<String>) -> ProposalResponse {
    ProposalResponse {
        response: Some(Response {
            status: ERROR,
            message: message.into(),
            payload: Vec::new(),
        }),
        ..Default::default()
    }
}

/// The ProposalResponsePayload bytes (what endorsers sign and the transaction carries).
pub(crate) fn payload_bytes(proposal_hash: &[u8], sim: &Simulated) -> Vec<u8> {
    let action = ChaincodeAction {
        results: sim.results.clone(),
        events: sim
            .event
            .as_ref()
            .map(Message::encode_to_vec)
            .unwrap_or_default(),
        response: Some(sim.response.clone()),
        chaincode_id: Some(sim.chaincode_id.clone()),
    };
    ProposalResponsePayload {
        proposal_hash: proposal_hash.to_vec(),
        extension: action.encode_to_vec(),
    }
    .encode_to_vec()
}

/// Signs `payload || endorser` with the peer's identity.
pub(crate) fn endorse(identity: &SigningIdentity, payload: &[u8]) -> Endorsement {
    let endorser = identity.serialize();
    let mut message = Vec::with_capacity(payload.len() + endorser.len());
    message.extend_from_slice(payload);
    message.extend_from_slice(&endorser);
    Endorsement {
        signature: identity.sign(&message),
        endorser,
    }
}

/// The response for a finished simulation: endorsed when the chaincode succeeded,
/// otherwise shaped as Fabric shapes chaincode errors.
pub(crate) fn build(
    identity: &SigningIdentity,
    proposal_hash: &[u8],
    channel_less: bool,
    sim: Simulated,
) -> ProposalResponse {
    let status = sim.response.status;
    let payload = payload_bytes(proposal_hash, &sim);
    if status >= ERROR {
        return ProposalResponse {
            response: Some(sim.response),
            payload,
            interest: sim.interest,
            ..Default::default()
        };
    }
    if channel_less || status >= ERROR_THRESHOLD {
        return ProposalResponse {
            response: Some(sim.response),
            ..Default::default()
        };
    }
    let endorsement = endorse(identity, &payload);
    ProposalResponse {
        version: 1,
        timestamp: None,
        response: Some(sim.response),
        payload,
        endorsement: Some(endorsement),
        interest: sim.interest,
    }
}
