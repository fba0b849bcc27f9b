//! The endorser: Fabric's ProcessProposal on one peer.
//!
//! Owns: the order of the checks (unpack, channel, validate, duplicate txid,
//! ACL), routing a proposal to `_lifecycle` or to a user chaincode, resolving
//! the chaincode a user proposal runs on (committed definition -> this org's
//! approved package -> installed CCaaS package -> connection), `init`
//! semantics, and which failures are gRPC errors versus status-500 responses.

use crate::chaincode::{ChaincodeSupport, Invocation, DEFAULT_EXECUTE_TIMEOUT};
use crate::error::{EndorserError, Result};
use crate::lifecycle::registry::LifecycleRegistry;
use crate::lifecycle::state::{self, Committed, LIFECYCLE};
use crate::lifecycle::{LifecycleCall, SYSCC_VERSION};
use crate::package::{CcaasConnection, PackageStore};
use crate::proposal::{self, UnpackedProposal};
use crate::response::{self, Simulated, ERROR_THRESHOLD};
use crate::simulator::TxSimulator;
use crate::syscc::{self, SysccCall};
use crate::{ChaincodeDefinition, ChannelResources, PeerContext, Refusal};
use fabric_msp::Identity;
use fabric_proto::protos::{ChaincodeId, ProposalResponse, SignedProposal};
use prost::Message;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Fabric's key recording that a chaincode version ran its init (`"\x00" + MaxRune + "initialized"`).
const INITIALIZED_KEY: &str = "\u{0}\u{10FFFF}initialized";

/// The chaincode a user proposal runs on.
struct Resolved {
    version: String,
    init_required: bool,
    package_id: String,
    connection: CcaasConnection,
}

pub(crate) struct Inner {
    ctx: PeerContext,
    packages: PackageStore,
    support: ChaincodeSupport,
    registry: Arc<LifecycleRegistry>,
    /// package id -> connection.json, so a package is unpacked once.
    connections: Mutex<HashMap<String, CcaasConnection>>,
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn unix_now_nanos() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

impl Inner {
    pub(crate) fn new(ctx: PeerContext, execute_timeout: Duration) -> Self {
        Self {
            packages: PackageStore::new(&ctx.data_dir),
            support: ChaincodeSupport::new(execute_timeout),
            registry: Arc::new(LifecycleRegistry::new(
                ctx.ledger.clone(),
                ctx.resources.clone(),
            )),
            connections: Mutex::new(HashMap::new()),
            ctx,
        }
    }

    pub(crate) fn default_timeout() -> Duration {
        DEFAULT_EXECUTE_TIMEOUT
    }

    pub(crate) fn registry(&self) -> Arc<LifecycleRegistry> {
        self.registry.clone()
    }

    pub(crate) fn definition(&self, name: &str) -> Option<ChaincodeDefinition> {
        self.registry.definition(name).unwrap_or_else(|e| {
            tracing::error!("definition of {name}: {e}");
            None
        })
    }

    /// Fabric's ProcessProposal. Errors about the proposal itself are gRPC errors
    /// (Fabric returns them as errors, which gRPC reports as UNKNOWN); everything
    /// after the checks is a ProposalResponse, status 500 on failure.
    pub(crate) async fn process_proposal(
        &self,
        sp: &SignedProposal,
    ) -> Result<ProposalResponse, Refusal> {
        let now = unix_now();
        // The gRPC edge: errors become Fabric's words here.
        let resources = self.ctx.resources.current();
        crate::filter::check_expiration(sp, &resources.msps, now)
            .and_then(|()| crate::filter::check_timewindow(sp, unix_now_nanos()))
            .map_err(|e| Refusal::Filtered(tonic::Status::unknown(e.to_string())))?;
        self.process_filtered(sp, now)
            .await
            .map_err(Refusal::Rejected)
    }

    /// ProcessProposal behind the auth filter.
    async fn process_filtered(
        &self,
        sp: &SignedProposal,
        now: i64,
    ) -> Result<ProposalResponse, tonic::Status> {
        let up = proposal::unpack(sp).map_err(|e| tonic::Status::unknown(e.to_string()))?;
        let channel = up.channel_id().to_string();
        if !channel.is_empty() && channel != self.ctx.channel {
            return Ok(response::failure(format!("channel '{channel}' not found")));
        }
        let resources = self.ctx.resources.current();
        let creator = proposal::validate(&up, &resources.msps, now)
            .map_err(|e| tonic::Status::unknown(format!("error validating proposal: {e}")))?;
        if channel.is_empty() {
            // Fabric checks a channel-less proposal's creator against the peer's own
            // (local) MSP: another org's identity is unknown there.
            if creator.mspid != self.ctx.mspid {
                return Err(tonic::Status::unknown(
                    "error validating proposal: access denied: channel [] creator org unknown, creator is malformed",
                ));
            }
        } else {
            self.check_unique_and_writer(&up, &creator, &resources)?;
        }
        match self.process_checked(&up, &creator).await {
            Ok(resp) => Ok(resp),
            Err(error) => {
                tracing::warn!(txid = %up.txid(), chaincode = %up.chaincode_name, "proposal failed: {error}");
                Ok(response::failure(error.to_string()))
            }
        }
    }

    fn check_unique_and_writer(
        &self,
        up: &UnpackedProposal,
        creator: &Identity,
        resources: &ChannelResources,
    ) -> Result<(), tonic::Status> {
        let seen = self
            .ctx
            .ledger
            .try_tx_location(up.txid())
            .map_err(|e| tonic::Status::internal(format!("txid lookup failed: {e}")))?;
        if seen.is_some() {
            return Err(tonic::Status::unknown(format!(
                "duplicate transaction found [{}]. Creator [{}]",
                up.txid(),
                hex::encode(up.creator())
            )));
        }
        // Fabric checks /Channel/Application/Writers for application chaincodes:
        // a member of one of the channel's orgs.
        let is_writer = resources
            .policies
            .org_policies
            .iter()
            .any(|(id, _)| *id == creator.mspid);
        // System chaincodes check their own ACLs (Fabric: "ACLs for system chaincodes are checked elsewhere").
        let system = up.chaincode_name == LIFECYCLE || syscc::handles(&up.chaincode_name);
        if !system && !is_writer {
            return Err(tonic::Status::unknown(format!(
                "access denied for [propose]: creator org [{}] does not satisfy /Channel/Application/Writers of channel [{}]",
                creator.mspid,
                up.channel_id()
            )));
        }
        Ok(())
    }

    async fn process_checked(
        &self,
        up: &UnpackedProposal,
        creator: &Identity,
    ) -> Result<ProposalResponse> {
        let channel_less = up.channel_id().is_empty();
        let simulated = if up.chaincode_name == LIFECYCLE {
            self.run_lifecycle(up, creator, channel_less)?
        } else if syscc::handles(&up.chaincode_name) {
            self.run_syscc(up, creator, channel_less)?
        } else {
            if channel_less {
                return Err(EndorserError::refused(format!(
                    "chaincode {} cannot be invoked without a channel",
                    up.chaincode_name
                )));
            }
            self.run_user_chaincode(up).await?
        };
        Ok(response::build(
            &self.ctx.identity,
            &up.proposal_hash,
            channel_less,
            simulated,
        ))
    }

    fn run_lifecycle(
        &self,
        up: &UnpackedProposal,
        creator: &Identity,
        channel_less: bool,
    ) -> Result<Simulated> {
        let resources = self.ctx.resources.current();
        self.run_system(up, channel_less, |sim| {
            LifecycleCall {
                channel: up.channel_id(),
                mspid: &self.ctx.mspid,
                creator,
                msps: &resources.msps,
                policies: &resources.policies,
                packages: &self.packages,
                ledger: &self.ctx.ledger,
                sim,
            }
            .invoke(&up.input.args)
        })
    }

    /// `qscc` and `cscc`: answered from this peer's ledger, endorsed like any
    /// system chaincode when the proposal names a channel.
    fn run_syscc(
        &self,
        up: &UnpackedProposal,
        creator: &Identity,
        channel_less: bool,
    ) -> Result<Simulated> {
        self.run_system(up, channel_less, |_| {
            SysccCall {
                ctx: &self.ctx,
                creator,
            }
            .invoke(&up.chaincode_name, &up.input.args)
        })
    }

    /// A system chaincode call: simulated (read/write set, interest) when the
    /// proposal names a channel, bare otherwise; versioned `syscc`.
    fn run_system(
        &self,
        up: &UnpackedProposal,
        channel_less: bool,
        invoke: impl FnOnce(Option<&mut TxSimulator>) -> fabric_proto::protos::Response,
    ) -> Result<Simulated> {
        let mut sim = (!channel_less).then(|| TxSimulator::new(self.ctx.ledger.clone(), up.txid()));
        let response = invoke(sim.as_mut());
        let (results, interest) = match &sim {
            Some(sim) => (sim.results().encode_to_vec(), Some(sim.interest()?)),
            None => (Vec::new(), None),
        };
        Ok(Simulated {
            response,
            results,
            event: None,
            interest,
            chaincode_id: ChaincodeId {
                name: up.chaincode_name.clone(),
                version: SYSCC_VERSION.to_string(),
                path: String::new(),
            },
        })
    }

    /// Fabric's ChaincodeEndorsementInfo: the committed definition (recording the read of
    /// its Sequence), this org's approval of it, and the installed package.
    fn resolve(&self, sim: &mut TxSimulator, name: &str) -> Result<Resolved> {
        let channel = &self.ctx.channel;
        let undefined = |e: EndorserError| {
            e.context(format!("make sure the chaincode {name} has been successfully defined on channel {channel} and try again"))
        };
        let sequence = state::current_sequence(sim, name).map_err(undefined)?;
        let mut committed = Committed(&self.ctx.ledger);
        let definition = match state::definition(&mut committed, name).map_err(undefined)? {
            Some(def) if sequence > 0 => def,
            _ => {
                return Err(undefined(EndorserError::refused(format!(
                    "could not find chaincode with name '{name}'"
                ))))
            }
        };
        let approved =
            state::approval(&mut committed, &self.ctx.mspid, name, sequence).map_err(undefined)?;
        let package_id = match approved {
            Some((params, package_id)) if params == definition.params => package_id,
            _ => {
                return Err(undefined(EndorserError::refused(format!(
                    "chaincode definition for '{name}' at sequence {sequence} on channel '{channel}' has not yet been approved by this org"
                ))))
            }
        };
        let not_installed = || {
            undefined(EndorserError::refused(format!(
                "chaincode definition for '{name}' exists, but chaincode is not installed"
            )))
        };
        if package_id.is_empty() {
            return Err(not_installed());
        }
        let connection = self
            .connection_info(&package_id)?
            .ok_or_else(not_installed)?;
        Ok(Resolved {
            version: definition.params.endorsement.version,
            init_required: definition.params.endorsement.init_required,
            package_id,
            connection,
        })
    }

    fn connection_info(&self, package_id: &str) -> Result<Option<CcaasConnection>> {
        let mut cache = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(info) = cache.get(package_id) {
            return Ok(Some(info.clone()));
        }
        let Some(package) = self.packages.load(package_id)? else {
            return Ok(None);
        };
        let info = package.connection.ok_or_else(|| {
            EndorserError::refused(format!("package {package_id} is not a chaincode-as-a-service package; the devnet runs only ccaas chaincode"))
        })?;
        // Fabric's CCaaS builder renders the templates with this peer's config.
        let info = info
            .rendered(&self.ctx.ccaas_builder_config)
            .map_err(|source| EndorserError::Template {
                context: format!("chaincode package {package_id}"),
                source,
            })?;
        cache.insert(package_id.to_string(), info.clone());
        Ok(Some(info))
    }

    /// Fabric's 'init exactly once' rule; returns whether this invocation is an INIT.
    fn check_init(
        &self,
        sim: &mut TxSimulator,
        up: &UnpackedProposal,
        cc: &Resolved,
    ) -> Result<bool> {
        let name = &up.chaincode_name;
        let invalid = |message: String| {
            EndorserError::Refused(message).context(format!(
                "error in simulation: failed to execute transaction {}: invalid invocation",
                up.txid()
            ))
        };
        let needs_init = cc.init_required
            && sim.get_state(name, INITIALIZED_KEY)?.as_deref() != Some(cc.version.as_bytes());
        if up.input.is_init {
            if !cc.init_required {
                return Err(invalid(format!(
                    "chaincode '{name}' does not require initialization but called as init"
                )));
            }
            if !needs_init {
                return Err(invalid(format!(
                    "chaincode '{name}' is already initialized but called as init"
                )));
            }
            sim.set_state(name, INITIALIZED_KEY, cc.version.as_bytes().to_vec())?;
            return Ok(true);
        }
        if needs_init {
            return Err(invalid(format!(
                "chaincode '{name}' has not been initialized for this version, must call as init first"
            )));
        }
        Ok(false)
    }

    async fn run_user_chaincode(&self, up: &UnpackedProposal) -> Result<Simulated> {
        let name = &up.chaincode_name;
        let mut sim = TxSimulator::new(self.ctx.ledger.clone(), up.txid());
        let cc = self.resolve(&mut sim, name)?;
        let is_init = self.check_init(&mut sim, up, &cc)?;
        let invocation = Invocation {
            channel: up.channel_id(),
            txid: up.txid(),
            signed_proposal: &up.signed,
            input: up.input.clone(),
            is_init,
        };
        let outcome = self
            .support
            .execute(
                &cc.package_id,
                &cc.connection,
                name,
                invocation,
                &mut sim,
                self.ctx.ledger.clone(),
            )
            .await
            .map_err(|e| e.context("error in simulation"))?;
        // Fabric drops the event of a response it will not endorse.
        let event = if outcome.response.status >= ERROR_THRESHOLD {
            None
        } else {
            outcome.event
        };
        Ok(Simulated {
            response: outcome.response,
            results: sim.results().encode_to_vec(),
            event,
            interest: Some(sim.interest()?),
            chaincode_id: ChaincodeId {
                name: name.clone(),
                version: cc.version,
                path: String::new(),
            },
        })
    }
}
