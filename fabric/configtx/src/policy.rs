//! Evaluating a channel config's policies over a set of signatures, as Fabric's
//! policy manager does for mod_policies.
//!
//! Facts reproduced from Fabric (`common/policies`, `cauthdsl`):
//! - each signature becomes an identity only if it deserializes, is not a
//!   duplicate of an earlier one, and its signature verifies; the others are
//!   dropped silently (identities that fail their MSP's validation then satisfy
//!   no principal, which is what dropping them here amounts to);
//! - a policy name is relative to a group (`Admins`, `Org1MSP/Admins`) or absolute
//!   from the root (`/Channel/Orderer/Admins`); a name that resolves to nothing is
//!   a policy that rejects everything;
//! - an ImplicitMeta policy of a group evaluates the named sub-policy in every
//!   direct sub-group: ANY needs 1, ALL every one, MAJORITY `n/2 + 1`; with no
//!   sub-groups the threshold is 0;
//! - a Signature policy is Fabric's `cauthdsl` evaluation (fabric-policy).

use crate::ROOT_GROUP;
use fabric_msp::{Identity, MspManager};
use fabric_proto::common::{
    implicit_meta_policy::Rule, policy::PolicyType, ConfigGroup, ConfigPolicy,
    ConfigUpdateEnvelope, ImplicitMetaPolicy, SignatureHeader, SignaturePolicyEnvelope,
};
use prost::Message;
use std::collections::HashSet;

/// One signature over some data, as a policy sees it.
#[derive(Debug, Clone)]
pub struct SignedData {
    pub data: Vec<u8>,
    pub identity: Vec<u8>,
    pub signature: Vec<u8>,
}

/// The signed data of a config update's signatures (`signature_header || config_update`).
pub fn update_signed_data(update: &ConfigUpdateEnvelope) -> Result<Vec<SignedData>, String> {
    update
        .signatures
        .iter()
        .map(|sig| {
            let shdr = SignatureHeader::decode(sig.signature_header.as_slice())
                .map_err(|e| format!("error unmarshalling signature header: {e}"))?;
            let mut data = sig.signature_header.clone();
            data.extend_from_slice(&update.config_update);
            Ok(SignedData {
                data,
                identity: shdr.creator,
                signature: sig.signature.clone(),
            })
        })
        .collect()
}

/// The identities behind `signed` whose signatures verify, deduplicated; the
/// others are dropped, as Fabric's `SignatureSetToValidIdentities` does.
pub fn valid_identities(signed: &[SignedData], msps: &MspManager, at: i64) -> Vec<Identity> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for sd in signed {
        let Ok(id) = msps.validate_serialized(&sd.identity, at) else {
            continue;
        };
        if !seen.insert(sd.identity.clone()) {
            continue;
        }
        if msps.verify(&id, &sd.data, &sd.signature).is_err() {
            continue;
        }
        out.push(id);
    }
    out
}

/// The policies of one config tree.
pub struct Policies<'a> {
    root: &'a ConfigGroup,
}

/// Where a policy name led: the policy and the path of the group holding it.
struct Resolved<'a> {
    policy: &'a ConfigPolicy,
    group: &'a ConfigGroup,
    name: String,
}

impl<'a> Policies<'a> {
    pub fn new(root: &'a ConfigGroup) -> Self {
        Self { root }
    }

    fn group_at(&self, path: &[String]) -> Option<&'a ConfigGroup> {
        let (first, rest) = path.split_first()?;
        if first != ROOT_GROUP {
            return None;
        }
        let mut group = self.root;
        for name in rest {
            group = group.groups.get(name)?;
        }
        Some(group)
    }

    /// Resolves `name` as seen from the group at `scope` (a path from `Channel`).
    fn resolve(&self, scope: &[String], name: &str) -> Option<Resolved<'a>> {
        if name.is_empty() {
            return None;
        }
        let (base, relative): (Vec<String>, &str) = match name.strip_prefix('/') {
            Some(abs) => {
                let prefix = format!("{}/", scope.join("/"));
                (scope.to_vec(), abs.strip_prefix(&prefix)?)
            }
            None => (scope.to_vec(), name),
        };
        let mut parts: Vec<&str> = relative.split('/').collect();
        let policy_name = parts.pop()?;
        let mut path = base;
        path.extend(parts.iter().map(|p| (*p).to_owned()));
        let group = self.group_at(&path)?;
        let policy = group.policies.get(policy_name)?;
        Some(Resolved {
            policy,
            group,
            name: format!("/{}/{policy_name}", path.join("/")),
        })
    }

    /// True if a policy named `name` exists as seen from `scope`.
    pub fn exists(&self, scope: &[String], name: &str) -> bool {
        self.resolve(scope, name).is_some()
    }

    /// Evaluates the policy `name` seen from the group at `scope` over `signers`
    /// (identities whose signatures were verified); the error is Fabric's text.
    pub fn evaluate(
        &self,
        scope: &[String],
        name: &str,
        signers: &[Identity],
        msps: &MspManager,
    ) -> Result<(), String> {
        match self.resolve(scope, name) {
            Some(r) => self.evaluate_resolved(&r, signers, msps),
            None => Err(format!("no such policy: '{name}'")),
        }
    }

    fn evaluate_resolved(
        &self,
        r: &Resolved<'_>,
        signers: &[Identity],
        msps: &MspManager,
    ) -> Result<(), String> {
        let Some(policy) = r.policy.policy.as_ref() else {
            return Err(format!("policy {} is empty", r.name));
        };
        match PolicyType::try_from(policy.r#type) {
            Ok(PolicyType::Signature) => {
                let envelope = SignaturePolicyEnvelope::decode(policy.value.as_slice())
                    .map_err(|e| format!("Error unmarshalling to SignaturePolicy: {e}"))?;
                if fabric_policy::evaluate(&envelope, signers, msps) {
                    Ok(())
                } else {
                    Err("signature set did not satisfy policy".into())
                }
            }
            Ok(PolicyType::ImplicitMeta) => {
                let meta = ImplicitMetaPolicy::decode(policy.value.as_slice())
                    .map_err(|e| format!("Error unmarshalling to ImplicitMetaPolicy: {e}"))?;
                let subs: Vec<&ConfigGroup> = r.group.groups.values().collect();
                let threshold = match Rule::try_from(meta.rule) {
                    _ if subs.is_empty() => 0,
                    Ok(Rule::Any) => 1,
                    Ok(Rule::All) => subs.len(),
                    Ok(Rule::Majority) => subs.len() / 2 + 1,
                    Err(_) => return Err(format!("unknown implicit meta rule {}", meta.rule)),
                };
                let mut satisfied = 0;
                for sub in subs {
                    let ok = sub.policies.get(&meta.sub_policy).is_some_and(|p| {
                        let resolved = Resolved {
                            policy: p,
                            group: sub,
                            name: meta.sub_policy.clone(),
                        };
                        self.evaluate_resolved(&resolved, signers, msps).is_ok()
                    });
                    if ok {
                        satisfied += 1;
                        if satisfied >= threshold {
                            return Ok(());
                        }
                    }
                }
                if satisfied >= threshold {
                    return Ok(());
                }
                Err(format!(
                    "implicit policy evaluation failed - {satisfied} sub-policies were satisfied, but this policy requires {threshold} of the '{}' sub-policies to be satisfied",
                    meta.sub_policy
                ))
            }
            _ => Err(format!(
                "policy {} has unsupported policy type {}",
                r.name, policy.r#type
            )),
        }
    }
}
