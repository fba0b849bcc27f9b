//! Endorser transactions assembled from a proposal and its endorsements.
//!
//! Owns: turning a `protos.Proposal` plus the endorsers' `ProposalResponse`s
//! into the `common.Envelope` that goes to the orderer, exactly as Fabric's
//! CLI does for the gateway-less path (lifecycle approve/commit), and reading
//! the chaincode result back out of a prepared envelope (gateway path).
//!
//! Layout: `Payload{header = the proposal's Header, data = Transaction{actions:
//! [TransactionAction{header = SignatureHeader bytes, payload =
//! ChaincodeActionPayload{chaincode_proposal_payload = proposal payload without
//! its transient map, action = ChaincodeEndorsedAction{proposal_response_payload,
//! endorsements}}}]}}`; the creator signs the payload bytes.

use crate::error::{Error, Result};
use fabric_msp::SigningIdentity;
use fabric_proto::common::{ChannelHeader, Envelope, Header, Payload, SignatureHeader};
use fabric_proto::protos::{
    ChaincodeAction, ChaincodeActionPayload, ChaincodeEndorsedAction, ChaincodeProposalPayload,
    Endorsement, Proposal, ProposalResponse, ProposalResponsePayload, Transaction,
    TransactionAction,
};
use prost::Message;
use std::collections::HashSet;

/// The proposal payload as it is written to the ledger: the same input, no transient map.
pub fn strip_transient(chaincode_proposal_payload: &[u8]) -> Result<Vec<u8>> {
    let payload = ChaincodeProposalPayload::decode(chaincode_proposal_payload)
        .map_err(Error::decode("chaincode proposal payload"))?;
    Ok(ChaincodeProposalPayload {
        input: payload.input,
        transient_map: Default::default(),
    }
    .encode_to_vec())
}

/// Checks the responses as Fabric's CLI does: every response successful
/// (status 200..400) and every response payload identical.
fn check_responses(responses: &[ProposalResponse]) -> Result<&[u8]> {
    let Some(first) = responses.first() else {
        return Err(Error::InvalidArgument(
            "at least one proposal response is required".into(),
        ));
    };
    for (i, r) in responses.iter().enumerate() {
        let Some(response) = &r.response else {
            return Err(Error::InvalidArgument(format!(
                "proposal response {i} has no response"
            )));
        };
        if !(200..400).contains(&response.status) {
            return Err(Error::InvalidArgument(format!(
                "proposal response {i} was not successful: status {}: {}",
                response.status, response.message
            )));
        }
        if r.payload != first.payload {
            return Err(Error::InvalidArgument(format!(
                "proposal response {i} has a different payload than response 0 (endorsers disagree)"
            )));
        }
    }
    Ok(&first.payload)
}

/// The endorsements of the responses, each endorser once, in response order.
fn distinct_endorsements(responses: &[ProposalResponse]) -> Vec<Endorsement> {
    let mut seen = HashSet::new();
    responses
        .iter()
        .filter_map(|r| r.endorsement.clone())
        .filter(|e| seen.insert(e.endorser.clone()))
        .collect()
}

/// Serialized `common.Payload` of the transaction (unsigned).
pub fn assemble_payload(proposal: &Proposal, responses: &[ProposalResponse]) -> Result<Vec<u8>> {
    let response_payload = check_responses(responses)?;
    let endorsements = distinct_endorsements(responses);
    if endorsements.is_empty() {
        return Err(Error::InvalidArgument(
            "the proposal responses carry no endorsement".into(),
        ));
    }
    let header =
        Header::decode(proposal.header.as_slice()).map_err(Error::decode("proposal header"))?;
    let action_payload = ChaincodeActionPayload {
        chaincode_proposal_payload: strip_transient(&proposal.payload)?,
        action: Some(ChaincodeEndorsedAction {
            proposal_response_payload: response_payload.to_vec(),
            endorsements,
        }),
    };
    let transaction = Transaction {
        actions: vec![TransactionAction {
            header: header.signature_header.clone(),
            payload: action_payload.encode_to_vec(),
        }],
    };
    Ok(Payload {
        header: Some(header),
        data: transaction.encode_to_vec(),
    }
    .encode_to_vec())
}

/// The signed transaction envelope; `signer` must be the proposal's creator.
pub fn signed_transaction(
    proposal: &Proposal,
    responses: &[ProposalResponse],
    signer: &SigningIdentity,
) -> Result<Envelope> {
    let header =
        Header::decode(proposal.header.as_slice()).map_err(Error::decode("proposal header"))?;
    let signature_header = SignatureHeader::decode(header.signature_header.as_slice())
        .map_err(Error::decode("signature header"))?;
    if signature_header.creator != signer.serialize() {
        return Err(Error::InvalidArgument(
            "the signer must be the creator named in the proposal header".into(),
        ));
    }
    let payload = assemble_payload(proposal, responses)?;
    let signature = signer.sign(&payload);
    Ok(Envelope { payload, signature })
}

/// What a client needs from a prepared (endorsed, unsigned) transaction envelope.
#[derive(Debug, Clone)]
pub struct PreparedParts {
    pub channel: String,
    pub txid: String,
    /// The chaincode's response payload (the transaction's result).
    pub result: Vec<u8>,
}

/// Reads channel, txid and chaincode result from a prepared transaction envelope.
pub fn parse_prepared(envelope: &Envelope) -> Result<PreparedParts> {
    let payload = Payload::decode(envelope.payload.as_slice())
        .map_err(Error::decode("transaction payload"))?;
    let header = payload
        .header
        .ok_or_else(|| Error::malformed("transaction payload", "no header"))?;
    let channel_header = ChannelHeader::decode(header.channel_header.as_slice())
        .map_err(Error::decode("channel header"))?;
    let transaction =
        Transaction::decode(payload.data.as_slice()).map_err(Error::decode("transaction"))?;
    let mut problems = Vec::new();
    for action in &transaction.actions {
        match action_result(action) {
            Ok(result) => {
                return Ok(PreparedParts {
                    channel: channel_header.channel_id,
                    txid: channel_header.tx_id,
                    result,
                })
            }
            Err(e) => problems.push(e.to_string()),
        }
    }
    Err(Error::Malformed {
        what: "transaction",
        msg: format!("no chaincode response found ({})", problems.join("; ")),
    })
}

fn action_result(action: &TransactionAction) -> Result<Vec<u8>> {
    let payload = ChaincodeActionPayload::decode(action.payload.as_slice())
        .map_err(Error::decode("chaincode action payload"))?;
    let endorsed = payload
        .action
        .ok_or_else(|| Error::malformed("chaincode action payload", "no action"))?;
    let response_payload =
        ProposalResponsePayload::decode(endorsed.proposal_response_payload.as_slice())
            .map_err(Error::decode("proposal response payload"))?;
    let chaincode_action = ChaincodeAction::decode(response_payload.extension.as_slice())
        .map_err(Error::decode("chaincode action"))?;
    Ok(chaincode_action
        .response
        .map(|r| r.payload)
        .unwrap_or_default())
}

#[cfg(test)]
mod tests;
