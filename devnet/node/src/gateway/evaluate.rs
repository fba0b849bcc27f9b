//! Gateway Evaluate: run a proposal on one peer (this gateway's own when it
//! may) and return the chaincode's response, without ordering anything.

use super::outcome::{endorse_on, peer_detail, Outcome};
use super::proposal;
use crate::network::Network;
use crate::peer::Peer;
use crate::rpc_error::rpc_error;
use fabric_proto::gateway::{EvaluateRequest, EvaluateResponse};
use fabric_proto::protos::{ChaincodeAction, ProposalResponsePayload, Response};
use prost::Message;
use std::sync::Arc;
use tonic::{Code, Status};

pub(super) async fn evaluate(
    net: &Network,
    local: &Arc<Peer>,
    request: EvaluateRequest,
) -> Result<EvaluateResponse, Status> {
    let sp = request.proposed_transaction.as_ref();
    let info = proposal::unpack(sp).map_err(|e| {
        Status::invalid_argument(format!("failed to unpack transaction proposal: {e}"))
    })?;
    let sp = sp.ok_or_else(|| Status::invalid_argument("a signed proposal is required"))?;
    if info.channel != net.channel {
        return Err(Status::unavailable(format!(
            "channel {} not found",
            info.channel
        )));
    }
    let mut targets = request.target_organizations.clone();
    let transient_protected = info.has_transient && targets.is_empty();
    if transient_protected {
        targets.push(local.mspid.clone());
    }
    // No peer has an undefined chaincode: nothing to evaluate on (Fabric).
    let candidates = if super::is_defined(local, &info.chaincode) {
        candidates(net, local, &targets)
    } else {
        Vec::new()
    };
    if candidates.is_empty() {
        let none = format!(
            "no peers available to evaluate chaincode {} in channel {}",
            info.chaincode, info.channel
        );
        return Err(Status::failed_precondition(if transient_protected {
            format!("no endorsers found in the gateway's organization; retry specifying target organization(s) to protect transient data: {none}")
        } else {
            none
        }));
    }
    let mut details = Vec::new();
    let mut last_code = Code::Unavailable;
    for peer in candidates {
        match endorse_on(&peer, Arc::ptr_eq(&peer, local), sp).await {
            Outcome::Endorsed(pr) => {
                return Ok(EvaluateResponse {
                    result: Some(result_of(pr)),
                })
            }
            Outcome::Failed {
                code,
                message,
                retry,
            } => {
                details.push(peer_detail(&peer, &message));
                if !retry {
                    return Err(rpc_error(
                        code,
                        format!("evaluate call to endorser returned error: {message}"),
                        &details,
                    ));
                }
                last_code = code;
            }
        }
    }
    Err(rpc_error(
        last_code,
        "failed to evaluate transaction, see attached details for more info",
        &details,
    ))
}

/// Peers to try in order, as Fabric's gateway plans an evaluation: the peers
/// of this gateway's org (this peer first) when its org may evaluate, then the
/// peers of the other allowed orgs (all orgs when no target is given).
fn candidates(net: &Network, local: &Arc<Peer>, targets: &[String]) -> Vec<Arc<Peer>> {
    let allowed = |mspid: &str| targets.is_empty() || targets.iter().any(|t| t == mspid);
    let mut peers: Vec<Arc<Peer>> = Vec::new();
    if allowed(&local.mspid) {
        peers.push(local.clone());
        peers.extend(
            net.peers_of(&local.mspid)
                .filter(|p| !Arc::ptr_eq(p, local))
                .cloned(),
        );
    }
    for org in net
        .peer_orgs()
        .iter()
        .filter(|o| **o != local.mspid && allowed(o))
    {
        peers.extend(net.peers_of(org).cloned());
    }
    peers
}

/// The response with the transaction result from the proposal response payload,
/// which Fabric prefers over `Response.payload`.
fn result_of(pr: fabric_proto::protos::ProposalResponse) -> Response {
    let mut response = pr.response.clone().unwrap_or_default();
    let action = ProposalResponsePayload::decode(pr.payload.as_slice())
        .ok()
        .and_then(|prp| ChaincodeAction::decode(prp.extension.as_slice()).ok());
    if let Some(result) = action.and_then(|a| a.response) {
        response.payload = result.payload;
    }
    response
}
