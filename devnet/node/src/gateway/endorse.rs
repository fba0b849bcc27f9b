//! Gateway Endorse: collect enough endorsements for a proposal and return the
//! prepared (unsigned) transaction. As Fabric's gateway: endorse first on this
//! gateway's org, read the ChaincodeInterest, then choose the smallest set of
//! orgs that satisfies the chaincode and key-level policies and collect the
//! rest; or use exactly the orgs the client names.

use super::outcome::{endorse_on, peer_detail, Outcome};
use super::proposal::{self, ProposalInfo};
use crate::network::Network;
use crate::peer::Peer;
use crate::rpc_error::rpc_error;
use fabric_msp::Identity;
use fabric_policy::EndorsementPolicy;
use fabric_proto::common::SignaturePolicyEnvelope;
use fabric_proto::gateway::{EndorseRequest, EndorseResponse, ErrorDetail};
use fabric_proto::protos::{ChaincodeInterest, Endorsement, ProposalResponse, SignedProposal};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tonic::{Code, Status};

const COLLECT_FAILED: &str =
    "failed to collect enough transaction endorsements, see attached details for more info";

pub(super) async fn endorse(
    net: &Network,
    local: &Arc<Peer>,
    request: EndorseRequest,
) -> Result<EndorseResponse, Status> {
    let sp = request
        .proposed_transaction
        .as_ref()
        .filter(|sp| !sp.proposal_bytes.is_empty())
        .ok_or_else(|| {
            Status::invalid_argument("the proposed transaction must contain a signed proposal")
        })?;
    let info = proposal::unpack(Some(sp)).map_err(Status::invalid_argument)?;
    if !super::is_defined(local, &info.chaincode) {
        return Err(undefined_chaincode(&request, &info));
    }
    let collected = if request.endorsing_organizations.is_empty() {
        collect_planned(net, local, sp, &info).await?
    } else {
        collect_for_orgs(net, local, sp, &request.endorsing_organizations).await?
    };
    let payload = collected[0].payload.clone();
    let mut endorsements: Vec<Endorsement> = Vec::new();
    for e in collected.into_iter().filter_map(|r| r.endorsement) {
        if !endorsements.iter().any(|x| x.endorser == e.endorser) {
            endorsements.push(e);
        }
    }
    Ok(EndorseResponse {
        prepared_transaction: Some(proposal::prepare_transaction(&info, payload, endorsements)),
    })
}

/// Fabric's refusal of a chaincode no peer has, before anything is endorsed:
/// the named orgs have no endorser for it (UNAVAILABLE), the gateway's org has
/// none to protect transient data, or discovery has no metadata to plan with
/// (FAILED_PRECONDITION). No error details: no endorser was asked.
fn undefined_chaincode(request: &EndorseRequest, info: &ProposalInfo) -> Status {
    if !request.endorsing_organizations.is_empty() {
        return Status::unavailable(format!(
            "failed to find any endorsing peers for org(s): {}",
            request.endorsing_organizations.join(", ")
        ));
    }
    if info.has_transient {
        return Status::failed_precondition(
            "no endorsers found in the gateway's organization; retry specifying endorsing organization(s) to protect transient data",
        );
    }
    Status::failed_precondition(format!(
        "no combination of peers can be derived which satisfy the endorsement policy: \
         No metadata was found for chaincode {} in channel {}",
        info.chaincode, info.channel
    ))
}

/// The client chose the orgs: one endorsement from each, all payloads identical.
async fn collect_for_orgs(
    net: &Network,
    local: &Arc<Peer>,
    sp: &SignedProposal,
    orgs: &[String],
) -> Result<Vec<ProposalResponse>, Status> {
    let missing: Vec<&str> = orgs
        .iter()
        .filter(|o| net.peers_of(o).next().is_none())
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(Status::unavailable(format!(
            "failed to find any endorsing peers for org(s): {}",
            missing.join(", ")
        )));
    }
    let results = futures::future::join_all(
        orgs.iter()
            .map(|org| endorse_org(net, local, org, sp, None)),
    )
    .await;
    let mut collected: Vec<ProposalResponse> = Vec::new();
    let mut details = Vec::new();
    for result in results {
        match result {
            Ok((peer, pr)) => match collected.first() {
                Some(first) if first.payload != pr.payload => {
                    details.push(peer_detail(&peer, "ProposalResponsePayloads do not match"))
                }
                _ => collected.push(pr),
            },
            Err(mut d) => details.append(&mut d),
        }
    }
    if !details.is_empty() {
        return Err(rpc_error(Code::Aborted, COLLECT_FAILED, &details));
    }
    Ok(collected)
}

/// The gateway plans: first endorsement in its own org, then the cheapest
/// satisfying set of other orgs, falling back to other sets when an org fails.
async fn collect_planned(
    net: &Network,
    local: &Arc<Peer>,
    sp: &SignedProposal,
    info: &ProposalInfo,
) -> Result<Vec<ProposalResponse>, Status> {
    let (first_peer, first) = endorse_org(net, local, &local.mspid, sp, None)
        .await
        .map_err(|d| {
            rpc_error(
                Code::Aborted,
                "failed to endorse transaction, see attached details for more info",
                &d,
            )
        })?;
    let requirements = requirements(local, &info.chaincode, first.interest.as_ref());
    let layouts = layouts(net, local, &first_peer.mspid, &requirements);
    if layouts.is_empty() {
        return Err(Status::failed_precondition(
            "no combination of peers can be derived which satisfy the endorsement policy",
        ));
    }
    let mut collected: BTreeMap<String, ProposalResponse> = BTreeMap::new();
    let first_org = first_peer.mspid.clone();
    let mut order = vec![first_org.clone()];
    collected.insert(first_org, first);
    let mut failed: BTreeSet<String> = BTreeSet::new();
    let mut details: Vec<ErrorDetail> = Vec::new();
    for layout in layouts {
        if layout.iter().any(|o| failed.contains(o)) {
            continue;
        }
        let needed: Vec<&String> = layout
            .iter()
            .filter(|o| !collected.contains_key(*o))
            .collect();
        let expected = collected[&order[0]].payload.clone();
        let results = futures::future::join_all(
            needed
                .iter()
                .map(|org| endorse_org(net, local, org, sp, Some(&expected))),
        )
        .await;
        let mut complete = true;
        for (org, result) in needed.into_iter().zip(results) {
            match result {
                Ok((_, pr)) => {
                    order.push(org.clone());
                    collected.insert(org.clone(), pr);
                }
                Err(mut d) => {
                    complete = false;
                    failed.insert(org.clone());
                    details.append(&mut d);
                }
            }
        }
        if complete {
            return Ok(order
                .iter()
                .filter(|o| layout.contains(*o))
                .filter_map(|o| collected.remove(o))
                .collect());
        }
    }
    Err(rpc_error(Code::Aborted, COLLECT_FAILED, &details))
}

/// Endorses on the peers of `org` in turn (this gateway's peer first) until one
/// succeeds with the `expected` payload; the details of each failure otherwise.
async fn endorse_org(
    net: &Network,
    local: &Arc<Peer>,
    org: &str,
    sp: &SignedProposal,
    expected: Option<&Vec<u8>>,
) -> Result<(Arc<Peer>, ProposalResponse), Vec<ErrorDetail>> {
    let mut peers: Vec<&Arc<Peer>> = net.peers_of(org).collect();
    peers.sort_by_key(|p| !Arc::ptr_eq(p, local));
    let mut details = Vec::new();
    for peer in peers {
        match endorse_on(peer, Arc::ptr_eq(peer, local), sp).await {
            Outcome::Endorsed(pr) if expected.is_some_and(|e| *e != pr.payload) => {
                tracing::warn!(peer = %peer.name, "ProposalResponsePayloads do not match");
                details.push(peer_detail(peer, "ProposalResponsePayloads do not match"));
            }
            Outcome::Endorsed(pr) => return Ok((peer.clone(), pr)),
            Outcome::Failed { message, .. } => {
                tracing::warn!(peer = %peer.name, "endorse call to endorser failed: {message}");
                details.push(peer_detail(peer, &message));
            }
        }
    }
    Err(details)
}

/// A policy the endorsements must satisfy.
enum Requirement {
    Chaincode(EndorsementPolicy),
    Key(SignaturePolicyEnvelope),
}

/// The policies named by the ChaincodeInterest (or the invoked chaincode's alone).
fn requirements(
    local: &Peer,
    chaincode: &str,
    interest: Option<&ChaincodeInterest>,
) -> Vec<Requirement> {
    let mut out = Vec::new();
    let calls = interest
        .map(|i| i.chaincodes.as_slice())
        .unwrap_or_default();
    if calls.is_empty() {
        out.push(Requirement::Chaincode(chaincode_policy(local, chaincode)));
    }
    for call in calls {
        if !call.disregard_namespace_policy {
            out.push(Requirement::Chaincode(chaincode_policy(local, &call.name)));
        }
        out.extend(call.key_policies.iter().cloned().map(Requirement::Key));
    }
    out
}

/// The chaincode's policy as the gateway's peer knows it: its definition's,
/// or the channel's Endorsement policy (LifecycleEndorsement for
/// `_lifecycle`) under the config in force on that peer.
fn chaincode_policy(local: &Peer, name: &str) -> EndorsementPolicy {
    if name != "_lifecycle" {
        if let Some(definition) = local.endorser.definition(name) {
            return definition.policy;
        }
    }
    let resources = local.resources.current();
    let policies = &resources.policies;
    let text = if name == "_lifecycle" {
        &policies.lifecycle
    } else {
        &policies.endorsement
    };
    policies.resolve_str(text).unwrap_or_else(|e| {
        // The config was accepted with this policy, so this does not happen; if it
        // did, no layout satisfies the empty policy and the request fails.
        tracing::error!("channel policy '{text}': {e}");
        EndorsementPolicy::Signature(Default::default())
    })
}

/// Sets of orgs (each containing `first_org`) whose peers would satisfy every
/// requirement, smallest first, in configuration order within a size.
fn layouts(
    net: &Network,
    local: &Peer,
    first_org: &str,
    requirements: &[Requirement],
) -> Vec<Vec<String>> {
    let others: Vec<String> = net
        .peer_orgs()
        .into_iter()
        .filter(|o| o != first_org)
        .collect();
    let identity_of =
        |org: &str| -> Option<Identity> { net.peers_of(org).next().map(|p| p.identity.clone()) };
    let mut sets: Vec<Vec<String>> = (0u32..(1 << others.len().min(16)))
        .map(|mask| {
            let mut set = vec![first_org.to_owned()];
            set.extend(
                others
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, o)| o.clone()),
            );
            set
        })
        .collect();
    sets.sort_by_key(Vec::len);
    let resources = local.resources.current();
    let msps = &resources.msps;
    sets.into_iter()
        .filter(|set| {
            let signers: Vec<Identity> = set.iter().filter_map(|o| identity_of(o)).collect();
            requirements.iter().all(|r| match r {
                Requirement::Chaincode(p) => p.evaluate(&signers, msps),
                Requirement::Key(p) => fabric_policy::evaluate(p, &signers, msps),
            })
        })
        .collect()
}
