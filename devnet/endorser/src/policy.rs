//! Turning validation parameters and channel policy names into endorsement
//! policies the validator can evaluate.
//!
//! Owns: resolving a serialized `common.ApplicationPolicy` (an explicit
//! signature policy, or a reference to a channel policy such as
//! `/Channel/Application/Endorsement`) against the channel's policies.

use crate::error::{EndorserError, Result};
use crate::ChannelPolicies;
use fabric_configtx::ConfigError;
use fabric_policy::EndorsementPolicy;
use fabric_proto::common::{
    application_policy, policy::PolicyType, ApplicationPolicy, Config, ImplicitMetaPolicy, Policy,
    SignaturePolicyEnvelope,
};
use prost::Message;

pub(crate) const ENDORSEMENT_REF: &str = "/Channel/Application/Endorsement";
pub(crate) const LIFECYCLE_ENDORSEMENT_REF: &str = "/Channel/Application/LifecycleEndorsement";
/// The org policy implicit-meta endorsement policies aggregate.
const SUB_POLICY: &str = "Endorsement";

/// The default validation parameter: a reference to the channel's Endorsement policy.
pub(crate) fn default_validation_parameter() -> Vec<u8> {
    ApplicationPolicy {
        r#type: Some(application_policy::Type::ChannelConfigPolicyReference(
            ENDORSEMENT_REF.to_string(),
        )),
    }
    .encode_to_vec()
}

impl ChannelPolicies {
    /// The policies `config` states: the Application group's Endorsement and
    /// LifecycleEndorsement, and each application org's own Endorsement.
    pub fn from_config(config: &Config) -> std::result::Result<Self, ConfigError> {
        let application = config
            .channel_group
            .as_ref()
            .and_then(|root| root.groups.get("Application"))
            .ok_or_else(|| ConfigError::Missing("Application group".into()))?;
        let channel_policy = |name: &str| {
            let policy = application
                .policies
                .get(name)
                .and_then(|p| p.policy.as_ref())
                .ok_or_else(|| ConfigError::Missing(format!("/Channel/Application/{name}")))?;
            policy_as_text(policy).map_err(|msg| ConfigError::Malformed {
                what: format!("/Channel/Application/{name}"),
                msg,
            })
        };
        let mut org_policies = Vec::new();
        for (org, group) in &application.groups {
            // An org without an Endorsement policy (configs older than Fabric 2.0)
            // cannot satisfy implicit-meta Endorsement policies: Fabric counts it
            // as unsatisfied, and leaving it out would lower the threshold.
            let Some(policy) = group
                .policies
                .get(SUB_POLICY)
                .and_then(|p| p.policy.as_ref())
            else {
                return Err(ConfigError::Missing(format!(
                    "/Channel/Application/{org}/{SUB_POLICY}"
                )));
            };
            let malformed = |msg: String| ConfigError::Malformed {
                what: format!("/Channel/Application/{org}/{SUB_POLICY}"),
                msg,
            };
            if policy.r#type != PolicyType::Signature as i32 {
                return Err(malformed("not a signature policy".into()));
            }
            let envelope = SignaturePolicyEnvelope::decode(policy.value.as_slice())
                .map_err(|e| malformed(e.to_string()))?;
            let mspid = fabric_configtx::org::org_mspid(group).unwrap_or_else(|| org.clone());
            org_policies.push((mspid, envelope));
        }
        Ok(Self {
            endorsement: channel_policy(SUB_POLICY)?,
            lifecycle: channel_policy("LifecycleEndorsement")?,
            org_policies,
        })
    }

    /// Each org's own Endorsement sub-policy.
    fn org_envelopes(&self) -> Vec<SignaturePolicyEnvelope> {
        self.org_policies
            .iter()
            .map(|(_, env)| env.clone())
            .collect()
    }

    /// A channel policy string (`MAJORITY Endorsement` or a signature policy) as an endorsement policy.
    pub fn resolve_str(&self, text: &str) -> Result<EndorsementPolicy> {
        EndorsementPolicy::from_str_with_orgs(text, &self.org_envelopes()).map_err(|source| {
            EndorserError::Policy {
                context: format!("channel policy '{text}'"),
                source,
            }
        })
    }

    /// The policy an org's own peers must satisfy (its Endorsement sub-policy).
    pub fn org_policy(&self, mspid: &str) -> Option<EndorsementPolicy> {
        let (_, envelope) = self.org_policies.iter().find(|(id, _)| id == mspid)?;
        Some(EndorsementPolicy::Signature(envelope.clone()))
    }

    /// The MSP ids of the channel's application orgs.
    pub fn org_ids(&self) -> Vec<String> {
        self.org_policies.iter().map(|(id, _)| id.clone()).collect()
    }

    /// Resolves a serialized ApplicationPolicy (a chaincode's validation parameter).
    pub fn resolve_application_policy(&self, bytes: &[u8]) -> Result<EndorsementPolicy> {
        let policy = ApplicationPolicy::decode(bytes).map_err(|source| EndorserError::Decode {
            context: "invalid validation parameter".into(),
            source,
        })?;
        match policy.r#type {
            Some(application_policy::Type::SignaturePolicy(env)) => {
                Ok(EndorsementPolicy::Signature(env))
            }
            Some(application_policy::Type::ChannelConfigPolicyReference(reference)) => {
                match reference.as_str() {
                    ENDORSEMENT_REF => self.resolve_str(&self.endorsement),
                    LIFECYCLE_ENDORSEMENT_REF => self.resolve_str(&self.lifecycle),
                    other => Err(EndorserError::refused(format!(
                        "unknown channel policy reference '{other}'"
                    ))),
                }
            }
            None => Err(EndorserError::refused(
                "validation parameter holds no policy",
            )),
        }
    }
}

/// A channel policy as the text [`EndorsementPolicy::from_str_with_orgs`]
/// reads: `MAJORITY Endorsement`, or a signature policy's rule.
fn policy_as_text(policy: &Policy) -> std::result::Result<String, String> {
    match PolicyType::try_from(policy.r#type) {
        Ok(PolicyType::ImplicitMeta) => {
            let meta =
                ImplicitMetaPolicy::decode(policy.value.as_slice()).map_err(|e| e.to_string())?;
            let rule = fabric_proto::common::implicit_meta_policy::Rule::try_from(meta.rule)
                .map_err(|_| format!("unknown implicit-meta rule {}", meta.rule))?;
            Ok(format!("{} {}", rule.as_str_name(), meta.sub_policy))
        }
        Ok(PolicyType::Signature) => {
            let envelope = SignaturePolicyEnvelope::decode(policy.value.as_slice())
                .map_err(|e| e.to_string())?;
            Ok(fabric_policy::to_string(&envelope))
        }
        _ => Err(format!("policy type {} is not supported", policy.r#type)),
    }
}
