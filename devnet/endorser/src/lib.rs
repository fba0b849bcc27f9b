//! A devnet peer's endorsement path.
//!
//! Owns: checking a signed proposal, the peer side of the chaincode shim
//! (dialling chaincode-as-a-service servers), simulation that records
//! Fabric read/write sets, signing proposal responses, the ChaincodeInterest,
//! and the `_lifecycle` system chaincode that installs, approves and commits
//! chaincode definitions (kept in the `_lifecycle` namespace of world state), and
//! the `qscc` / `cscc` system chaincodes answered from the peer's own ledger.
//!
//! The public surface is [`Endorser`] and what it needs; failures inside are
//! [`EndorserError`]s, turned into Fabric's words only where they leave the
//! peer (gRPC statuses and proposal responses).

mod chaincode;
mod endorser;
mod error;
mod filter;
mod lifecycle;
mod package;
mod policy;
mod proposal;
mod range;
mod response;
mod rwset;
mod simulator;
mod syscc;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::EndorserError;
pub use lifecycle::registry::LifecycleRegistry;

use fabric_proto::protos::{ProposalResponse, SignedProposal};
use std::sync::Arc;
use std::time::Duration;

/// The channel's endorsement-related policies, as the channel config states them.
#[derive(Debug, Clone)]
pub struct ChannelPolicies {
    /// /Channel/Application/Endorsement, e.g. `MAJORITY Endorsement`.
    pub endorsement: String,
    /// /Channel/Application/LifecycleEndorsement, e.g. `MAJORITY Endorsement`.
    pub lifecycle: String,
    /// Each application org's own `Endorsement` sub-policy, in config order.
    pub org_policies: Vec<(String, fabric_proto::common::SignaturePolicyEnvelope)>,
}

/// What a peer knows of its channel from the newest config block it
/// committed: the orgs' MSPs and the endorsement policies. Fabric's peer calls
/// this the channel's config bundle.
#[derive(Debug)]
pub struct ChannelResources {
    /// Every org of the channel (application and orderer orgs).
    pub msps: Arc<fabric_msp::MspManager>,
    pub policies: ChannelPolicies,
}

/// A peer's current [`ChannelResources`], shared by its endorser, its
/// chaincode registry and its commit pipeline; replaced when the peer commits
/// a config block, so an org that joins counts (and one that leaves no
/// longer does) from the next block on.
#[derive(Debug, Clone)]
pub struct SharedResources(Arc<std::sync::RwLock<Arc<ChannelResources>>>);

impl SharedResources {
    pub fn new(resources: Arc<ChannelResources>) -> Self {
        Self(Arc::new(std::sync::RwLock::new(resources)))
    }

    /// The resources in force now (a snapshot: a later replace does not change it).
    pub fn current(&self) -> Arc<ChannelResources> {
        // A poisoned lock only means a writer panicked mid-replace of an Arc: the value is whole.
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn replace(&self, resources: Arc<ChannelResources>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = resources;
    }
}

/// Everything one peer's endorser needs.
#[derive(Debug, Clone)]
pub struct PeerContext {
    /// e.g. `peer0.org1.example.com`
    pub name: String,
    pub mspid: String,
    /// The peer's own signing identity (signs endorsements).
    pub identity: fabric_msp::SigningIdentity,
    pub ledger: Arc<devnet_ledger::Ledger>,
    /// The channel's MSPs and policies, as this peer's newest config block has them.
    pub resources: SharedResources,
    pub channel: String,
    /// This peer's data directory; installed packages live in `packages/`.
    pub data_dir: std::path::PathBuf,
    /// This peer's CCaaS builder configuration (Fabric's
    /// `CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG`): the values a package's
    /// `connection.json` templates name, such as `{{.peername}}`.
    pub ccaas_builder_config: fabric_package::ccaas_template::BuilderConfig,
}

/// A committed chaincode definition (what `_lifecycle` holds for a chaincode).
#[derive(Debug, Clone)]
pub struct ChaincodeDefinition {
    pub name: String,
    pub version: String,
    pub sequence: i64,
    pub endorsement_plugin: String,
    pub validation_plugin: String,
    /// The serialized `common.ApplicationPolicy` (validation parameter).
    pub validation_parameter: Vec<u8>,
    pub init_required: bool,
    /// The endorsement policy the validation parameter resolves to.
    pub policy: fabric_policy::EndorsementPolicy,
}

/// One peer's endorser. Cheap to clone; all clones share the chaincode connections.
#[derive(Clone)]
pub struct Endorser {
    inner: Arc<endorser::Inner>,
}

impl std::fmt::Debug for Endorser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endorser").finish_non_exhaustive()
    }
}

impl Endorser {
    pub fn new(ctx: PeerContext) -> Self {
        Self::with_execute_timeout(ctx, endorser::Inner::default_timeout())
    }

    /// Like [`Endorser::new`] with a chaincode execute timeout other than Fabric's 30 s.
    pub fn with_execute_timeout(ctx: PeerContext, execute_timeout: Duration) -> Self {
        Self {
            inner: Arc::new(endorser::Inner::new(ctx, execute_timeout)),
        }
    }

    /// Fabric's ProcessProposal: never panics. An expired creator is refused by
    /// the auth filter ([`Refusal::Filtered`]); other problems with the proposal
    /// itself (undecodable, bad signature or txid, duplicate txid, not a channel
    /// writer) are [`Refusal::Rejected`]; failures after that are a
    /// ProposalResponse with response status 500 and Fabric's message.
    pub async fn process_proposal(&self, sp: &SignedProposal) -> Result<ProposalResponse, Refusal> {
        self.inner.process_proposal(sp).await
    }

    /// Chaincode definitions as the validator needs them, read from this peer's `_lifecycle` state.
    /// Also answers `_lifecycle` (the LifecycleEndorsement policy) and `_implicit_org_<MSPID>`
    /// (where the devnet keeps org approvals: that org's Endorsement policy).
    pub fn registry(&self) -> Arc<dyn devnet_ledger::ChaincodeRegistry> {
        self.inner.registry()
    }

    /// The committed definition of a chaincode, for the gateway's endorsement planning.
    pub fn definition(&self, name: &str) -> Option<ChaincodeDefinition> {
        self.inner.definition(name)
    }
}

/// Why a peer refused a proposal outright. Both reach a gRPC caller as an
/// UNKNOWN status with Fabric's message; Fabric's gateway tells them apart by
/// whether a ProposalResponse came with the error.
#[derive(Debug, Clone)]
pub enum Refusal {
    /// Refused by an auth filter in front of the endorser: an error, no response
    /// (the gateway retries on another peer).
    Filtered(tonic::Status),
    /// Refused by the endorser's proposal checks: an error next to a status-500
    /// response (a client error; the gateway does not retry).
    Rejected(tonic::Status),
}

impl Refusal {
    pub fn status(&self) -> &tonic::Status {
        match self {
            Refusal::Filtered(s) | Refusal::Rejected(s) => s,
        }
    }

    pub fn message(&self) -> &str {
        self.status().message()
    }
}

impl From<Refusal> for tonic::Status {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Filtered(s) | Refusal::Rejected(s) => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    fn assert_send<T: Send>(_: T) {}

    /// The node serves `process_proposal` from tonic handlers, which need `Send` futures.
    #[allow(dead_code)]
    fn endorser_is_shareable(e: Endorser, sp: SignedProposal) {
        assert_send_sync(&e);
        assert_send(async move { e.process_proposal(&sp).await });
    }
}
