//! Endorsement policies as the validator applies them: an explicit signature
//! policy, or an implicit-meta rule (`ANY|ALL|MAJORITY Endorsement`) over each
//! org's own `Endorsement` sub-policy.
//!
//! Implicit-meta facts (Fabric's `ImplicitMetaPolicy`): each sub-policy is
//! evaluated on its own over the full signer set (identities are not
//! consumed across orgs); ANY needs 1, ALL needs every one, MAJORITY needs
//! `len / 2 + 1` satisfied sub-policies.

use crate::eval::{evaluate, Principal};
use crate::{parse, to_string, PolicyError};
use fabric_msp::{Identity, MspManager};
use fabric_proto::common::SignaturePolicyEnvelope;

/// The only sub-policy name an implicit-meta endorsement policy can refer to:
/// the org policies handed to [`EndorsementPolicy::from_str_with_orgs`] are the orgs' `Endorsement` policies.
const SUB_POLICY: &str = "Endorsement";

/// Implicit-meta rules (`common.ImplicitMetaPolicy.Rule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaRule {
    Any,
    All,
    Majority,
}

impl MetaRule {
    /// Fabric's spelling (`ANY`, `ALL`, `MAJORITY`).
    pub fn as_str(self) -> &'static str {
        match self {
            MetaRule::Any => "ANY",
            MetaRule::All => "ALL",
            MetaRule::Majority => "MAJORITY",
        }
    }

    fn from_name(s: &str) -> Option<Self> {
        match s {
            "ANY" => Some(MetaRule::Any),
            "ALL" => Some(MetaRule::All),
            "MAJORITY" => Some(MetaRule::Majority),
            _ => None,
        }
    }

    /// How many of `total` sub-policies must be satisfied.
    pub fn threshold(self, total: usize) -> usize {
        match self {
            MetaRule::Any => 1,
            MetaRule::All => total,
            MetaRule::Majority => total / 2 + 1,
        }
    }
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
        let words: Vec<&str> = s.split_whitespace().collect();
        if let [rule, sub_policy] = words.as_slice() {
            if let Some(rule) = MetaRule::from_name(rule) {
                if *sub_policy != SUB_POLICY {
                    return Err(PolicyError::Invalid(format!(
                        "implicit-meta policy {s:?}: only the '{SUB_POLICY}' sub-policy is supported"
                    )));
                }
                return Ok(EndorsementPolicy::ImplicitMeta {
                    rule,
                    org_policies: org_policies.to_vec(),
                });
            }
        }
        parse(s).map(EndorsementPolicy::Signature)
    }

    /// True if the policy is satisfied by `signers` (already signature-verified identities).
    pub fn evaluate(&self, signers: &[Identity], msps: &MspManager) -> bool {
        match self {
            EndorsementPolicy::Signature(env) => evaluate(env, signers, msps),
            EndorsementPolicy::ImplicitMeta { rule, org_policies } => {
                let satisfied = org_policies
                    .iter()
                    .filter(|p| evaluate(p, signers, msps))
                    .count();
                satisfied >= rule.threshold(org_policies.len())
            }
        }
    }

    /// MSP ids whose signatures can contribute to this policy (for planning endorsements).
    pub fn orgs(&self) -> Vec<String> {
        let envelopes: Vec<&SignaturePolicyEnvelope> = match self {
            EndorsementPolicy::Signature(env) => vec![env],
            EndorsementPolicy::ImplicitMeta { org_policies, .. } => org_policies.iter().collect(),
        };
        let mut orgs: Vec<String> = Vec::new();
        for mspid in envelopes
            .into_iter()
            .flat_map(|env| env.identities.iter())
            .filter_map(|p| Principal::decode(p).mspid())
        {
            if !orgs.contains(&mspid) {
                orgs.push(mspid);
            }
        }
        orgs
    }
}

impl std::fmt::Display for EndorsementPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EndorsementPolicy::Signature(env) => f.write_str(&to_string(env)),
            EndorsementPolicy::ImplicitMeta { rule, .. } => {
                write!(f, "{} {SUB_POLICY}", rule.as_str())
            }
        }
    }
}
