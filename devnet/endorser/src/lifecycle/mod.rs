//! The `_lifecycle` system chaincode: install, approve, check readiness,
//! commit and query chaincode definitions.
//!
//! Owns: dispatching `_lifecycle` proposals (arg 0 = function name, arg 1 =
//! the serialized `lifecycle.<Function>Args`), the ACL of each function, and
//! Fabric's rules and messages for sequences and approvals. Definitions and
//! approvals are read and written through the transaction's simulator, so
//! they reach the ledger only through an ordered, validated transaction.

pub mod registry;
pub mod state;

use crate::error::{EndorserError, Result};
use crate::package::PackageStore;
use crate::policy::default_validation_parameter;
use crate::simulator::TxSimulator;
use crate::ChannelPolicies;
use fabric_msp::{Identity, MspManager, Role};
use fabric_proto::lifecycle::{
    chaincode_source, check_commit_readiness_result::Mismatches,
    query_chaincode_definitions_result, query_installed_chaincodes_result as installed,
    ApproveChaincodeDefinitionForMyOrgArgs, ApproveChaincodeDefinitionForMyOrgResult,
    CheckCommitReadinessArgs, CheckCommitReadinessResult, CommitChaincodeDefinitionArgs,
    CommitChaincodeDefinitionResult, InstallChaincodeArgs, InstallChaincodeResult,
    QueryChaincodeDefinitionArgs, QueryChaincodeDefinitionResult, QueryChaincodeDefinitionsArgs,
    QueryChaincodeDefinitionsResult, QueryInstalledChaincodesArgs, QueryInstalledChaincodesResult,
};
use fabric_proto::protos::{CollectionConfigPackage, Response};
use prost::Message;
use state::{ChaincodeEndorsementInfo, ChaincodeValidationInfo, Committed, Definition, Parameters};
use std::collections::HashMap;

/// The version Fabric reports for system chaincodes.
pub const SYSCC_VERSION: &str = "syscc";

const SYSTEM_CHAINCODE_NAMES: [&str; 5] = ["cscc", "escc", "lscc", "qscc", "vscc"];

/// A failed lifecycle call: Fabric answers 404 for "not defined / not found", 500 otherwise.
/// This is the `_lifecycle` edge: the error's text becomes the response message.
enum Failure {
    NotFound(String),
    Error(EndorserError),
}

impl From<EndorserError> for Failure {
    fn from(e: EndorserError) -> Self {
        Failure::Error(e)
    }
}

/// A refusal in Fabric's words, with no underlying error.
impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Error(EndorserError::Refused(message))
    }
}

/// Everything a lifecycle call may consult.
pub struct LifecycleCall<'a> {
    pub channel: &'a str,
    /// This peer's org.
    pub mspid: &'a str,
    pub creator: &'a Identity,
    pub msps: &'a MspManager,
    pub policies: &'a ChannelPolicies,
    pub packages: &'a PackageStore,
    pub ledger: &'a devnet_ledger::Ledger,
    /// The transaction's simulator (None for channel-less proposals such as install).
    pub sim: Option<&'a mut TxSimulator>,
}

fn success(payload: Vec<u8>) -> Response {
    Response {
        status: 200,
        message: String::new(),
        payload,
    }
}

fn error(status: i32, message: String) -> Response {
    Response {
        status,
        message,
        payload: Vec::new(),
    }
}

fn decode<M: Message + Default>(bytes: &[u8]) -> Result<M, Failure> {
    M::decode(bytes).map_err(|source| {
        Failure::Error(EndorserError::Decode {
            context: "failed to decode input arg to function".into(),
            source,
        })
    })
}

/// Fabric's chaincode name rule: `^[a-zA-Z0-9]+([-_][a-zA-Z0-9]+)*$`.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .split(['-', '_'])
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Fabric's chaincode version rule: `^[A-Za-z0-9_.+-]+$`.
fn valid_version(version: &str) -> bool {
    !version.is_empty()
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'))
}

fn validate_input(
    name: &str,
    version: &str,
    collections: &Option<CollectionConfigPackage>,
) -> Result<()> {
    let result = if !valid_name(name) {
        Err(format!("invalid chaincode name '{name}'. Names can only consist of alphanumerics, '_', and '-' and can only begin with alphanumerics"))
    } else if SYSTEM_CHAINCODE_NAMES.contains(&name) {
        Err(format!(
            "chaincode name '{name}' is the name of a system chaincode"
        ))
    } else if !valid_version(version) {
        Err(format!("invalid chaincode version '{version}'. Versions can only consist of alphanumerics, '_', '-', '+', and '.'"))
    } else if collections.as_ref().is_some_and(|c| !c.config.is_empty()) {
        Err("private data collections are not supported on the devnet".to_string())
    } else {
        Ok(())
    };
    result.map_err(|e| EndorserError::Refused(e).context("error validating chaincode definition"))
}

/// The definition parameters with Fabric's defaults filled in (escc, vscc, the channel's Endorsement policy).
fn parameters(
    version: &str,
    endorsement_plugin: &str,
    init_required: bool,
    validation_plugin: &str,
    validation_parameter: &[u8],
    collections: &Option<CollectionConfigPackage>,
) -> Parameters {
    let or_default = |v: &str, d: &str| {
        if v.is_empty() {
            d.to_string()
        } else {
            v.to_string()
        }
    };
    Parameters {
        endorsement: ChaincodeEndorsementInfo {
            version: version.to_string(),
            init_required,
            endorsement_plugin: or_default(endorsement_plugin, "escc"),
        },
        validation: ChaincodeValidationInfo {
            validation_plugin: or_default(validation_plugin, "vscc"),
            validation_parameter: if validation_parameter.is_empty() {
                default_validation_parameter()
            } else {
                validation_parameter.to_vec()
            },
        },
        collections: collections.clone().unwrap_or_default().encode_to_vec(),
    }
}

impl LifecycleCall<'_> {
    /// Runs `_lifecycle` with the proposal's args and answers like Fabric's lifecycle SCC.
    pub fn invoke(mut self, args: &[Vec<u8>]) -> Response {
        if args.is_empty() {
            return error(500, "lifecycle scc must be invoked with arguments".into());
        }
        if args.len() != 2 {
            return error(
                500,
                format!(
                    "lifecycle scc operations require exactly two arguments but received {}",
                    args.len()
                ),
            );
        }
        let function = String::from_utf8_lossy(&args[0]).to_string();
        if let Err(e) = self.check_acl(&function) {
            return error(
                500,
                format!("Failed to authorize invocation due to failed ACL check: {e}"),
            );
        }
        match self.dispatch(&function, &args[1]) {
            Ok(payload) => success(payload),
            Err(Failure::NotFound(msg)) => error(404, msg),
            Err(Failure::Error(msg)) => error(
                500,
                format!("failed to invoke backing implementation of '{function}': {msg}"),
            ),
        }
    }

    fn role(&self) -> Role {
        self.msps
            .get(&self.creator.mspid)
            .map(|m| m.role_of(self.creator))
            .unwrap_or(Role::Member)
    }

    /// Install and approve need an admin of this peer's org; the channel-wide
    /// functions need a member of one of the channel's orgs (Fabric's Writers).
    fn check_acl(&self, function: &str) -> Result<()> {
        match function {
            "InstallChaincode"
            | "QueryInstalledChaincodes"
            | "ApproveChaincodeDefinitionForMyOrg" => {
                if self.creator.mspid != self.mspid || self.role() != Role::Admin {
                    return Err(EndorserError::refused(format!(
                        "the identity {} of {} is not an admin under this peer's MSP [{}]",
                        self.creator.subject_cn, self.creator.mspid, self.mspid
                    )));
                }
                Ok(())
            }
            _ => {
                if !self.policies.org_ids().contains(&self.creator.mspid) {
                    return Err(EndorserError::refused(format!(
                        "the creator's org {} is not an application org of channel '{}'",
                        self.creator.mspid, self.channel
                    )));
                }
                Ok(())
            }
        }
    }

    fn dispatch(&mut self, function: &str, arg: &[u8]) -> Result<Vec<u8>, Failure> {
        match function {
            "InstallChaincode" => self.install(decode(arg)?),
            "QueryInstalledChaincodes" => {
                let _: QueryInstalledChaincodesArgs = decode(arg)?;
                self.query_installed()
            }
            "ApproveChaincodeDefinitionForMyOrg" => self.approve(decode(arg)?),
            "CheckCommitReadiness" => self.check_commit_readiness(decode(arg)?),
            "CommitChaincodeDefinition" => self.commit(decode(arg)?),
            "QueryChaincodeDefinition" => self.query_definition(decode(arg)?),
            "QueryChaincodeDefinitions" => {
                let _: QueryChaincodeDefinitionsArgs = decode(arg)?;
                self.query_definitions()
            }
            other => Err(format!("unknown function '{other}'").into()),
        }
    }

    fn sim(&mut self) -> Result<&mut TxSimulator, Failure> {
        let channel = self.channel;
        self.sim.as_deref_mut().ok_or_else(|| {
            Failure::from(format!("this function needs a channel (got '{channel}')"))
        })
    }

    fn install(&mut self, args: InstallChaincodeArgs) -> Result<Vec<u8>, Failure> {
        let package = self
            .packages
            .install(&args.chaincode_install_package)
            .map_err(|e| Failure::Error(e.context("could not install chaincode")))?;
        tracing::info!(package_id = %package.package_id, "chaincode installed");
        Ok(InstallChaincodeResult {
            package_id: package.package_id,
            label: package.metadata.label,
        }
        .encode_to_vec())
    }

    fn query_installed(&mut self) -> Result<Vec<u8>, Failure> {
        let packages = self.packages.list()?;
        // Which committed definitions this org runs with each package.
        let mut refs: HashMap<String, Vec<installed::Chaincode>> = HashMap::new();
        let mut committed = Committed(self.ledger);
        for name in state::defined_names(self.ledger)? {
            let Some(def) = state::definition(&mut committed, &name)? else {
                continue;
            };
            if let Some((_, package_id)) =
                state::approval(&mut committed, self.mspid, &name, def.sequence)?
            {
                refs.entry(package_id)
                    .or_default()
                    .push(installed::Chaincode {
                        name: name.clone(),
                        version: def.params.endorsement.version.clone(),
                    });
            }
        }
        let channel = self.channel.to_string();
        let installed_chaincodes = packages
            .into_iter()
            .map(|p| {
                let mut references = HashMap::new();
                if let Some(chaincodes) = refs.remove(&p.package_id) {
                    references.insert(channel.clone(), installed::References { chaincodes });
                }
                installed::InstalledChaincode {
                    package_id: p.package_id,
                    label: p.metadata.label,
                    references,
                }
            })
            .collect();
        Ok(QueryInstalledChaincodesResult {
            installed_chaincodes,
        }
        .encode_to_vec())
    }

    fn approve(
        &mut self,
        args: ApproveChaincodeDefinitionForMyOrgArgs,
    ) -> Result<Vec<u8>, Failure> {
        validate_input(&args.name, &args.version, &args.collections)?;
        let package_id = match args.source.and_then(|s| s.r#type) {
            Some(chaincode_source::Type::LocalPackage(local)) => local.package_id,
            _ => String::new(),
        };
        let params = parameters(
            &args.version,
            &args.endorsement_plugin,
            args.init_required,
            &args.validation_plugin,
            &args.validation_parameter,
            &args.collections,
        );
        let mspid = self.mspid.to_string();
        let name = args.name;
        let requested = args.sequence;
        let sim = self.sim()?;
        // Fabric checks that the name is not a legacy (lscc) chaincode.
        sim.get_state("lscc", &name)?;
        let current = state::current_sequence(sim, &name)?;
        if current == requested && requested == 0 {
            return Err(
                "requested sequence is 0, but first definable sequence number is 1"
                    .to_string()
                    .into(),
            );
        }
        if requested < current {
            return Err(format!("currently defined sequence {current} is larger than requested sequence {requested}").into());
        }
        if requested > current + 1 {
            return Err(format!(
                "requested sequence {requested} is larger than the next available sequence number {}",
                current + 1
            )
            .into());
        }
        let committed = state::definition(sim, &name)?;
        if requested == current {
            let committed = committed.ok_or_else(|| {
                format!("missing metadata for currently committed sequence number ({current})")
            })?;
            if committed.params != params {
                return Err(format!(
                    "attempted to redefine the current committed sequence ({current}) for namespace {name} with different parameters"
                )
                .into());
            }
        }
        let unchanged = state::approval(sim, &mspid, &name, requested)?
            .is_some_and(|(p, id)| p == params && id == package_id);
        if unchanged {
            return Err(if requested == current {
                format!("attempted to redefine the current committed sequence ({current}) for namespace {name}")
            } else {
                format!("attempted to redefine uncommitted sequence ({requested}) for namespace {name} with unchanged content")
            }
            .into());
        }
        state::write_approval(sim, &mspid, &name, requested, &params, &package_id)?;
        tracing::info!(%name, sequence = requested, %package_id, org = %mspid, "chaincode definition approved");
        Ok(ApproveChaincodeDefinitionForMyOrgResult {}.encode_to_vec())
    }

    /// Fabric's CheckCommitReadiness core: the sequence must be the next one; returns
    /// each org's approval and the fields where its approval differs.
    #[allow(clippy::type_complexity)]
    fn readiness(
        &mut self,
        name: &str,
        sequence: i64,
        params: &Parameters,
    ) -> Result<(HashMap<String, bool>, HashMap<String, Vec<String>>), Failure> {
        let orgs = self.policies.org_ids();
        let sim = self.sim()?;
        let current = state::current_sequence(sim, name)?;
        if sequence != current + 1 {
            return Err(format!(
                "requested sequence is {sequence}, but new definition must be sequence {}",
                current + 1
            )
            .into());
        }
        let mut approvals = HashMap::new();
        let mut mismatches = HashMap::new();
        for org in orgs {
            let diff = state::mismatches(sim, &org, name, sequence, params)?;
            approvals.insert(org.clone(), diff.is_empty());
            if !diff.is_empty() {
                mismatches.insert(org, diff);
            }
        }
        Ok((approvals, mismatches))
    }

    fn check_commit_readiness(
        &mut self,
        args: CheckCommitReadinessArgs,
    ) -> Result<Vec<u8>, Failure> {
        let params = parameters(
            &args.version,
            &args.endorsement_plugin,
            args.init_required,
            &args.validation_plugin,
            &args.validation_parameter,
            &args.collections,
        );
        let (approvals, mismatches) = self.readiness(&args.name, args.sequence, &params)?;
        Ok(CheckCommitReadinessResult {
            approvals,
            mismatches: mismatches
                .into_iter()
                .map(|(org, items)| (org, Mismatches { items }))
                .collect(),
        }
        .encode_to_vec())
    }

    fn commit(&mut self, args: CommitChaincodeDefinitionArgs) -> Result<Vec<u8>, Failure> {
        validate_input(&args.name, &args.version, &args.collections)?;
        if !self.policies.org_ids().iter().any(|id| id == self.mspid) {
            return Err("impossibly, this peer's org is processing requests for a channel it is not a member of"
                .to_string()
                .into());
        }
        let params = parameters(
            &args.version,
            &args.endorsement_plugin,
            args.init_required,
            &args.validation_plugin,
            &args.validation_parameter,
            &args.collections,
        );
        self.sim()?.get_state("lscc", &args.name)?;
        let (approvals, _) = self.readiness(&args.name, args.sequence, &params)?;
        let definition = Definition {
            sequence: args.sequence,
            params,
        };
        state::write_definition(self.sim()?, &args.name, &definition)?;
        // As in Fabric, a peer endorses a commit only if its own org approved this exact
        // definition; the LifecycleEndorsement policy (a majority of orgs by default) is
        // enforced when the transaction is validated.
        if !approvals.get(self.mspid).copied().unwrap_or(false) {
            return Err(format!(
                "chaincode definition not agreed to by this org ({})",
                self.mspid
            )
            .into());
        }
        tracing::info!(name = %args.name, sequence = args.sequence, "chaincode definition commit endorsed");
        Ok(CommitChaincodeDefinitionResult {}.encode_to_vec())
    }

    fn query_definition(&mut self, args: QueryChaincodeDefinitionArgs) -> Result<Vec<u8>, Failure> {
        let orgs = self.policies.org_ids();
        let sim = self.sim()?;
        let Some(def) = state::definition(sim, &args.name)? else {
            return Err(Failure::NotFound(format!(
                "namespace {} is not defined",
                args.name
            )));
        };
        let mut approvals = HashMap::new();
        for org in orgs {
            let diff = state::mismatches(sim, &org, &args.name, def.sequence, &def.params)?;
            approvals.insert(org, diff.is_empty());
        }
        let collections = decode_collections(&def.params.collections)?;
        Ok(QueryChaincodeDefinitionResult {
            sequence: def.sequence,
            version: def.params.endorsement.version,
            endorsement_plugin: def.params.endorsement.endorsement_plugin,
            validation_plugin: def.params.validation.validation_plugin,
            validation_parameter: def.params.validation.validation_parameter,
            collections,
            init_required: def.params.endorsement.init_required,
            approvals,
        }
        .encode_to_vec())
    }

    fn query_definitions(&mut self) -> Result<Vec<u8>, Failure> {
        let names = state::defined_names(self.ledger)?;
        let sim = self.sim()?;
        let mut chaincode_definitions = Vec::new();
        for name in names {
            let Some(def) = state::definition(sim, &name)? else {
                continue;
            };
            chaincode_definitions.push(query_chaincode_definitions_result::ChaincodeDefinition {
                name,
                sequence: def.sequence,
                version: def.params.endorsement.version,
                endorsement_plugin: def.params.endorsement.endorsement_plugin,
                validation_plugin: def.params.validation.validation_plugin,
                validation_parameter: def.params.validation.validation_parameter,
                collections: decode_collections(&def.params.collections)?,
                init_required: def.params.endorsement.init_required,
            });
        }
        Ok(QueryChaincodeDefinitionsResult {
            chaincode_definitions,
        }
        .encode_to_vec())
    }
}

fn decode_collections(bytes: &[u8]) -> Result<Option<CollectionConfigPackage>, Failure> {
    CollectionConfigPackage::decode(bytes)
        .map(Some)
        .map_err(|source| {
            Failure::Error(EndorserError::Decode {
                context: "corrupt collection config".into(),
                source,
            })
        })
}
