//! The chaincode lifecycle through `_lifecycle`, driven by each org's admin,
//! exactly as `peer lifecycle chaincode` does it: the same calls work on the
//! devnet and on real Fabric.

use crate::context::Context;
use crate::output;
use anyhow::{anyhow, Context as _, Result};
use fabric_client::admin::lifecycle::{self, ChaincodeDefinition, SubmitTargets};
use fabric_client::admin::orderer::Orderer;
use fabric_client::admin::peer::Peer;
use fabric_msp::SigningIdentity;
use prost::Message;
use std::time::Duration;

/// One org's admin and connections to its peers.
struct OrgAdmin {
    name: String,
    admin: SigningIdentity,
    peers: Vec<Peer>,
}

async fn connect_orgs(ctx: &Context) -> Result<Vec<OrgAdmin>> {
    let mut out = Vec::new();
    for org in &ctx.consortium.orgs {
        let admin = ctx.identity(&format!("Admin@{}", org.name))?;
        let mut peers = Vec::new();
        for p in &org.peers {
            let peer = Peer::connect(&ctx.peer_endpoint(org, p)?)
                .await
                .with_context(|| format!("cannot reach {}", org.fqdn(p)))?;
            peers.push(peer);
        }
        out.push(OrgAdmin {
            name: org.name.clone(),
            admin,
            peers,
        });
    }
    Ok(out)
}

/// The `--policy` preset that requires a peer of every hospital on the
/// channel. The EHR contract is deployed with it: a key that does not exist
/// yet has no key-level policy, so only a chaincode-level policy naming
/// every hospital makes each patient's home hospital endorse every creation
/// under that patient, whichever hospital is home.
pub(crate) const EVERY_ORG: &str = "every-org";

/// The signature policy `--policy` names: the [`EVERY_ORG`] preset expanded
/// over the consortium's hospitals, or the policy text itself.
pub(crate) fn policy_text(ctx: &Context, policy: &str) -> String {
    if policy != EVERY_ORG {
        return policy.to_owned();
    }
    let peers: Vec<String> = ctx
        .consortium
        .orgs
        .iter()
        .map(|o| format!("'{}.peer'", o.mspid))
        .collect();
    format!("AND({})", peers.join(","))
}

/// The definition's validation parameter: empty (the channel's Endorsement policy) or a signature policy.
fn validation_parameter(ctx: &Context, policy: Option<&str>) -> Result<Vec<u8>> {
    let Some(policy) = policy else {
        return Ok(Vec::new());
    };
    let text = policy_text(ctx, policy);
    let envelope = fabric_policy::parse(&text).map_err(|e| anyhow!("--policy {text}: {e}"))?;
    Ok(fabric_proto::common::ApplicationPolicy {
        r#type: Some(fabric_proto::common::application_policy::Type::SignaturePolicy(envelope)),
    }
    .encode_to_vec())
}

fn is_not_defined(e: &fabric_client::error::Error) -> bool {
    let text = format!("{e} {:?}", e.details()).to_lowercase();
    ["not defined", "not found", "does not exist", "no such"]
        .iter()
        .any(|m| text.contains(m))
}

/// Installs the package on every peer, approves the next sequence for every org and commits it.
pub(crate) async fn define(
    ctx: &Context,
    name: &str,
    version: &str,
    package: &[u8],
    package_id: &str,
    policy: Option<&str>,
    quiet: bool,
) -> Result<i64> {
    let say = |m: String| {
        if !quiet {
            output::step(m);
        }
    };
    let channel = ctx.consortium.channel.clone();
    let orgs = connect_orgs(ctx).await?;
    let orderer = Orderer::connect(&ctx.orderer_endpoint()?)
        .await
        .context("cannot reach the orderer")?;
    for org in &orgs {
        for peer in &org.peers {
            match lifecycle::install(peer, &org.admin, package).await {
                Ok(r) if r.package_id != package_id => {
                    return Err(anyhow!(
                        "{} computed package id {} (expected {package_id})",
                        peer.address(),
                        r.package_id
                    ))
                }
                Ok(_) => {}
                Err(e) if format!("{e}").contains("already") => {}
                Err(e) => return Err(anyhow!(e).context(format!("install on {}", peer.address()))),
            }
        }
        say(format!(
            "installed {package_id} on {} peer(s) of {}",
            org.peers.len(),
            org.name
        ));
    }
    let first = &orgs[0];
    let sequence =
        match lifecycle::query_committed(&first.peers[0], &first.admin, &channel, name).await {
            Ok(current) => current.sequence + 1,
            Err(e) if is_not_defined(&e) => 1,
            Err(e) => return Err(anyhow!(e).context("query the committed definition")),
        };
    let mut definition = ChaincodeDefinition::new(name, version, sequence);
    definition.validation_parameter = validation_parameter(ctx, policy)?;
    if let Some(policy) = policy {
        say(format!("endorsement policy {}", policy_text(ctx, policy)));
    }
    let timeout = Duration::from_secs(60);
    // The commit is endorsed by one peer per org; each approval must be on all of
    // them first, or their simulations read different versions and disagree.
    let endorsers: Vec<Peer> = orgs.iter().map(|o| o.peers[0].clone()).collect();
    for org in &orgs {
        let targets = SubmitTargets {
            endorsers: &org.peers[..1],
            orderer: &orderer,
            commit_peers: &endorsers,
            commit_timeout: timeout,
        };
        lifecycle::approve_for_my_org(targets, &org.admin, &channel, &definition, Some(package_id))
            .await
            .with_context(|| format!("approve for {}", org.name))?;
        say(format!("{} approved {name} sequence {sequence}", org.name));
    }
    let targets = SubmitTargets {
        endorsers: &endorsers,
        orderer: &orderer,
        commit_peers: &[],
        commit_timeout: timeout,
    };
    let status = lifecycle::commit(targets, &first.admin, &channel, &definition)
        .await
        .context("commit the definition")?;
    say(format!(
        "committed {name} sequence {sequence} in block {}",
        status.block_number
    ));
    Ok(sequence)
}

/// Function name of the endorsement probe: no chaincode defines it, and the probe is never submitted.
const PROBE_FUNCTION: &str = "__healthblock_readiness_probe";
/// Bound on waiting for the gateways after a commit on real Fabric.
const ENDORSABLE_TIMEOUT: Duration = Duration::from_secs(90);
/// gRPC status ABORTED: the gateway collected endorsements and one refused.
const GRPC_ABORTED: i32 = 10;

/// Whether one probe shows the gateway can reach an endorser of `name` in every org.
enum Probe {
    Ready,
    /// Still waiting; the reason, for the final error.
    NotYet(String),
}

/// On real Fabric a peer's gateway plans endorsements from what gossip has told it: right after
/// `up` or a commit it may not yet know a peer of every org holding the chaincode, and submits
/// fail with "no combination of peers can be derived" / "failed to find any endorsing peers".
/// Asks every peer's gateway to endorse a probe (never submitted) with every org as endorser,
/// until all of them reach every org or `ENDORSABLE_TIMEOUT` passes.
pub(crate) async fn wait_endorsable(ctx: &Context, name: &str) -> Result<Duration> {
    let started = std::time::Instant::now();
    let orgs: Vec<String> = ctx
        .consortium
        .orgs
        .iter()
        .map(|o| o.mspid.clone())
        .collect();
    for (org, peer) in ctx.all_peers() {
        let admin = ctx.identity(&format!("Admin@{}", org.name))?;
        let endpoint = ctx.peer_endpoint(org, peer)?;
        let gateway = fabric_client::gateway::Gateway::connect_endpoint(&endpoint, admin)
            .await
            .with_context(|| format!("cannot reach the gateway of {}", org.fqdn(peer)))?;
        let contract = gateway.network(&ctx.consortium.channel).contract(name);
        loop {
            let proposal = contract.new_proposal(PROBE_FUNCTION, Vec::<Vec<u8>>::new());
            let reason = match probe_outcome(contract.endorse(&proposal, &orgs).await) {
                Probe::Ready => break,
                Probe::NotYet(reason) => reason,
            };
            if started.elapsed() >= ENDORSABLE_TIMEOUT {
                return Err(anyhow!(
                    "chaincode {name} is committed, but the gateway of {} cannot reach an endorser in every org ({}) after {:?}: {reason}",
                    org.fqdn(peer),
                    orgs.join(", "),
                    ENDORSABLE_TIMEOUT
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Ok(started.elapsed())
}

fn probe_outcome<T>(result: fabric_client::error::Result<T>) -> Probe {
    let e = match result {
        Ok(_) => return Probe::Ready,
        Err(e) => e,
    };
    let details: Vec<&str> = e.details().iter().map(|d| d.message.as_str()).collect();
    match e.code().map(i32::from) {
        // Every org's endorser ran the chaincode, which refused the unknown probe function:
        // the plan exists. A chaincode the peers cannot launch is not ready, though.
        Some(GRPC_ABORTED)
            if !details
                .iter()
                .any(|m| m.contains("could not launch chaincode")) =>
        {
            Probe::Ready
        }
        _ => Probe::NotYet(format!("{e} {}", details.join("; "))),
    }
}
