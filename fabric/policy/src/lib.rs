//! Fabric endorsement policies.
//!
//! Owns: the policy string language (`AND`, `OR`, `OutOf`, `'Org1MSP.peer'`),
//! its encoding as `common.SignaturePolicyEnvelope`, implicit-meta channel
//! policies (`MAJORITY Endorsement`), and evaluation over a set of signed
//! identities with Fabric's rules (each signature satisfies at most one
//! principal; duplicate identities count once).

use fabric_msp::{Identity, MspManager};
use fabric_proto::common::SignaturePolicyEnvelope;

/// A policy-language error.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy syntax error at {pos}: {msg}")]
    Syntax { pos: usize, msg: String },
    #[error("invalid policy: {0}")]
    Invalid(String),
}

/// Parses a signature policy string such as `AND('Org1MSP.peer', OutOf(2, 'A.member', 'B.admin'))`.
pub fn parse(policy: &str) -> Result<SignaturePolicyEnvelope, PolicyError> {
    let _ = policy;
    todo!()
}

/// Implicit-meta rules (`common.ImplicitMetaPolicy.Rule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaRule {
    Any,
    All,
    Majority,
}

/// A chaincode or channel endorsement policy as the validator applies it.
#[derive(Debug, Clone)]
pub enum EndorsementPolicy {
    /// An explicit signature policy.
    Signature(SignaturePolicyEnvelope),
    /// `MAJORITY Endorsement` style: the rule over each org's own sub-policy.
    ImplicitMeta {
        rule: MetaRule,
        /// Each org's sub-policy (e.g. its `Endorsement` policy, typically `OR('OrgN.peer')`).
        org_policies: Vec<SignaturePolicyEnvelope>,
    },
}

impl EndorsementPolicy {
    /// Parses either a signature policy string or an implicit-meta one (`MAJORITY Endorsement`),
    /// resolving the latter against `org_policies`.
    pub fn from_str_with_orgs(
        s: &str,
        org_policies: &[SignaturePolicyEnvelope],
    ) -> Result<Self, PolicyError> {
        let _ = (s, org_policies);
        todo!()
    }

    /// True if the policy is satisfied by `signers` (already signature-verified identities).
    pub fn evaluate(&self, signers: &[Identity], msps: &MspManager) -> bool {
        let _ = (signers, msps);
        todo!()
    }

    /// MSP ids whose signatures can contribute to this policy (for planning endorsements).
    pub fn orgs(&self) -> Vec<String> {
        todo!()
    }
}

/// Evaluates a signature policy over verified identities with Fabric's rules.
pub fn evaluate(policy: &SignaturePolicyEnvelope, signers: &[Identity], msps: &MspManager) -> bool {
    let _ = (policy, signers, msps);
    todo!()
}

/// Renders an envelope back to the policy language (for display).
pub fn to_string(policy: &SignaturePolicyEnvelope) -> String {
    let _ = policy;
    todo!()
}
