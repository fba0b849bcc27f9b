//! Turning validation parameters and channel policy names into endorsement
//! policies the validator can evaluate.
//!
//! Owns: resolving a serialized `common.ApplicationPolicy` (an explicit
//! signature policy, or a reference to a channel policy such as
//! `/Channel/Application/Endorsement`) against the channel's policies.

use crate::error::{EndorserError, Result};
use crate::ChannelPolicies;
use fabric_policy::EndorsementPolicy;
use fabric_proto::common::{application_policy, ApplicationPolicy, SignaturePolicyEnvelope};
use prost::Message;

pub const ENDORSEMENT_REF: &str = "/Channel/Application/Endorsement";
pub const LIFECYCLE_ENDORSEMENT_REF: &str = "/Channel/Application/LifecycleEndorsement";

/// The default validation parameter: a reference to the channel's Endorsement policy.
pub fn default_validation_parameter() -> Vec<u8> {
    ApplicationPolicy {
        r#type: Some(application_policy::Type::ChannelConfigPolicyReference(
            ENDORSEMENT_REF.to_string(),
        )),
    }
    .encode_to_vec()
}

impl ChannelPolicies {
    /// Each org's own Endorsement sub-policy, parsed.
    fn org_envelopes(&self) -> Result<Vec<SignaturePolicyEnvelope>> {
        self.org_policies
            .iter()
            .map(|(mspid, text)| {
                fabric_policy::parse(text).map_err(|source| EndorserError::Policy {
                    context: format!("Endorsement policy of {mspid} ('{text}')"),
                    source,
                })
            })
            .collect()
    }

    /// A channel policy string (`MAJORITY Endorsement` or a signature policy) as an endorsement policy.
    pub fn resolve_str(&self, text: &str) -> Result<EndorsementPolicy> {
        EndorsementPolicy::from_str_with_orgs(text, &self.org_envelopes()?).map_err(|source| {
            EndorserError::Policy {
                context: format!("channel policy '{text}'"),
                source,
            }
        })
    }

    /// The policy an org's own peers must satisfy (its Endorsement sub-policy).
    pub fn org_policy(&self, mspid: &str) -> Option<Result<EndorsementPolicy>> {
        let (_, text) = self.org_policies.iter().find(|(id, _)| id == mspid)?;
        Some(
            fabric_policy::parse(text)
                .map(EndorsementPolicy::Signature)
                .map_err(|source| EndorserError::Policy {
                    context: format!("Endorsement policy of {mspid} ('{text}')"),
                    source,
                }),
        )
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
