//! Reading what a signed proposal is about (channel, chaincode, transient
//! data) and turning endorsements into the unsigned prepared transaction.

use fabric_proto::common::{ChannelHeader, Envelope, Header, Payload};
use fabric_proto::protos::{
    ChaincodeActionPayload, ChaincodeEndorsedAction, ChaincodeInvocationSpec,
    ChaincodeProposalPayload, Endorsement, Proposal, SignedProposal, Transaction,
    TransactionAction,
};
use prost::Message;

/// The parts of a proposal the gateway needs.
pub(super) struct ProposalInfo {
    pub channel: String,
    pub chaincode: String,
    pub has_transient: bool,
    pub header: Header,
    pub payload: ChaincodeProposalPayload,
}

/// Unpacks a signed proposal; the error texts follow Fabric's gateway.
pub(super) fn unpack(sp: Option<&SignedProposal>) -> Result<ProposalInfo, String> {
    let sp = sp
        .filter(|sp| !sp.proposal_bytes.is_empty())
        .ok_or("a signed proposal is required")?;
    let proposal = Proposal::decode(sp.proposal_bytes.as_slice())
        .map_err(|e| format!("error unmarshalling Proposal: {e}"))?;
    let header = Header::decode(proposal.header.as_slice())
        .map_err(|e| format!("error unmarshalling Header: {e}"))?;
    let chdr = ChannelHeader::decode(header.channel_header.as_slice())
        .map_err(|e| format!("error unmarshalling ChannelHeader: {e}"))?;
    let payload = ChaincodeProposalPayload::decode(proposal.payload.as_slice())
        .map_err(|e| format!("error unmarshalling ChaincodeProposalPayload: {e}"))?;
    let spec = ChaincodeInvocationSpec::decode(payload.input.as_slice())
        .map_err(|e| format!("error unmarshalling ChaincodeInvocationSpec: {e}"))?;
    if chdr.channel_id.is_empty() {
        return Err("no channel id provided".into());
    }
    let channel = chdr.channel_id;
    let cc_spec = spec
        .chaincode_spec
        .ok_or_else(|| format!("no chaincode spec is provided, channel id [{channel}]"))?;
    let cc_id = cc_spec
        .chaincode_id
        .ok_or_else(|| format!("no chaincode id is provided, channel id [{channel}]"))?;
    if cc_id.name.is_empty() {
        return Err(format!(
            "no chaincode name is provided, channel id [{channel}]"
        ));
    }
    Ok(ProposalInfo {
        channel,
        chaincode: cc_id.name,
        has_transient: !payload.transient_map.is_empty(),
        header,
        payload,
    })
}

/// Fabric's prepared transaction: the proposal's header, one action carrying the
/// signature header and the endorsed action; the transient map is removed. Unsigned.
pub(super) fn prepare_transaction(
    info: &ProposalInfo,
    response_payload: Vec<u8>,
    endorsements: Vec<Endorsement>,
) -> Envelope {
    let without_transient = ChaincodeProposalPayload {
        input: info.payload.input.clone(),
        transient_map: Default::default(),
    };
    let action_payload = ChaincodeActionPayload {
        chaincode_proposal_payload: without_transient.encode_to_vec(),
        action: Some(ChaincodeEndorsedAction {
            proposal_response_payload: response_payload,
            endorsements,
        }),
    };
    let tx = Transaction {
        actions: vec![TransactionAction {
            header: info.header.signature_header.clone(),
            payload: action_payload.encode_to_vec(),
        }],
    };
    let payload = Payload {
        header: Some(info.header.clone()),
        data: tx.encode_to_vec(),
    };
    Envelope {
        payload: payload.encode_to_vec(),
        signature: Vec::new(),
    }
}
