//! Evaluating a signature policy over verified identities, as Fabric's `cauthdsl` does.
//!
//! Facts reproduced from Fabric:
//! - signer identities are deduplicated first (same serialized identity counts once);
//! - each identity may satisfy at most one `SignedBy`: a `used` flag per identity;
//! - `SignedBy(i)` takes the first unused identity satisfying principal `i`;
//! - `NOutOf` evaluates every sub-rule in order on a scratch copy of `used`, and
//!   keeps the identities a sub-rule consumed only if that sub-rule succeeded;
//!   it succeeds when at least `n` sub-rules did (greedy, no backtracking);
//! - an envelope whose version is not 0, with an empty rule or an identity index
//!   out of range never evaluates to true (Fabric refuses to compile it).
//!
//! Identities are assumed already validated by their MSP (chain, expiry) and
//! their signatures verified; principals only check MSP id and role.

use fabric_msp::{Identity, MspManager, Role};
use fabric_proto::common::signature_policy::Type;
use fabric_proto::common::{SignaturePolicy, SignaturePolicyEnvelope};
use fabric_proto::msp::msp_principal::Classification;
use fabric_proto::msp::{MspPrincipal, MspRole, OrganizationUnit, SerializedIdentity};
use prost::Message;

/// A principal decoded from its `MSPPrincipal` bytes.
#[derive(Debug, Clone)]
pub(crate) enum Principal {
    Role {
        mspid: String,
        role: Role,
    },
    OrgUnit {
        mspid: String,
        ou: String,
    },
    Identity {
        serialized: Vec<u8>,
    },
    /// Unknown classification or undecodable bytes: never satisfied.
    Unsatisfiable,
}

impl Principal {
    pub(crate) fn decode(p: &MspPrincipal) -> Self {
        match Classification::try_from(p.principal_classification) {
            Ok(Classification::Role) => match MspRole::decode(p.principal.as_slice()) {
                Ok(r) => match role_of(r.role) {
                    Some(role) => Principal::Role {
                        mspid: r.msp_identifier,
                        role,
                    },
                    None => Principal::Unsatisfiable,
                },
                Err(_) => Principal::Unsatisfiable,
            },
            Ok(Classification::OrganizationUnit) => {
                match OrganizationUnit::decode(p.principal.as_slice()) {
                    Ok(ou) => Principal::OrgUnit {
                        mspid: ou.msp_identifier,
                        ou: ou.organizational_unit_identifier,
                    },
                    Err(_) => Principal::Unsatisfiable,
                }
            }
            Ok(Classification::Identity) => Principal::Identity {
                serialized: p.principal.clone(),
            },
            _ => Principal::Unsatisfiable,
        }
    }

    /// The MSP this principal belongs to, if any.
    pub(crate) fn mspid(&self) -> Option<String> {
        match self {
            Principal::Role { mspid, .. } | Principal::OrgUnit { mspid, .. } => Some(mspid.clone()),
            Principal::Identity { serialized } => SerializedIdentity::decode(serialized.as_slice())
                .ok()
                .map(|sid| sid.mspid),
            Principal::Unsatisfiable => None,
        }
    }

    fn satisfied_by(&self, id: &Identity, msps: &MspManager) -> bool {
        let Some(msp) = msps.get(&id.mspid) else {
            return false;
        };
        match self {
            Principal::Role { mspid, role } => *mspid == id.mspid && msp.satisfies_role(id, *role),
            Principal::OrgUnit { mspid, ou } => {
                *mspid == id.mspid && id.ous.iter().any(|o| o == ou)
            }
            Principal::Identity { serialized } => same_identity(serialized, id),
            Principal::Unsatisfiable => false,
        }
    }
}

fn role_of(value: i32) -> Option<Role> {
    Some(match value {
        0 => Role::Member,
        1 => Role::Admin,
        2 => Role::Client,
        3 => Role::Peer,
        4 => Role::Orderer,
        _ => return None,
    })
}

/// An IDENTITY principal matches the same MSP id and the same certificate.
fn same_identity(serialized: &[u8], id: &Identity) -> bool {
    match SerializedIdentity::decode(serialized) {
        Ok(sid) => sid.mspid == id.mspid && sid.id_bytes == id.cert_pem,
        Err(_) => false,
    }
}

/// True when every `SignedBy` index points at an identity and every node has a type.
fn well_formed(rule: &SignaturePolicy, identities: usize) -> bool {
    match &rule.r#type {
        None => false,
        Some(Type::SignedBy(i)) => usize::try_from(*i).is_ok_and(|i| i < identities),
        Some(Type::NOutOf(n)) => n.rules.iter().all(|r| well_formed(r, identities)),
    }
}

/// Evaluates a signature policy over verified identities with Fabric's rules.
pub fn evaluate(policy: &SignaturePolicyEnvelope, signers: &[Identity], msps: &MspManager) -> bool {
    let Some(rule) = policy.rule.as_ref() else {
        return false;
    };
    if policy.version != 0 || !well_formed(rule, policy.identities.len()) {
        return false;
    }
    let principals: Vec<Principal> = policy.identities.iter().map(Principal::decode).collect();
    let signers = dedup(signers);
    let mut used = vec![false; signers.len()];
    Evaluation {
        principals: &principals,
        signers: &signers,
        msps,
    }
    .rule(rule, &mut used)
}

/// Signers with duplicates (same serialized identity) removed, first occurrence kept.
fn dedup(signers: &[Identity]) -> Vec<&Identity> {
    let mut seen = std::collections::HashSet::new();
    signers
        .iter()
        .filter(|id| seen.insert(id.serialize()))
        .collect()
}

struct Evaluation<'a> {
    principals: &'a [Principal],
    signers: &'a [&'a Identity],
    msps: &'a MspManager,
}

impl Evaluation<'_> {
    fn rule(&self, rule: &SignaturePolicy, used: &mut [bool]) -> bool {
        match &rule.r#type {
            Some(Type::SignedBy(i)) => self.signed_by(*i, used),
            Some(Type::NOutOf(n_out_of)) => {
                let mut scratch = used.to_vec();
                let mut satisfied = 0i64;
                for sub in &n_out_of.rules {
                    scratch.copy_from_slice(used);
                    if self.rule(sub, &mut scratch) {
                        satisfied += 1;
                        used.copy_from_slice(&scratch);
                    }
                }
                satisfied >= i64::from(n_out_of.n)
            }
            None => false,
        }
    }

    /// Marks and reports the first unused signer satisfying principal `index`.
    fn signed_by(&self, index: i32, used: &mut [bool]) -> bool {
        let Some(principal) = usize::try_from(index)
            .ok()
            .and_then(|i| self.principals.get(i))
        else {
            return false;
        };
        for (slot, id) in used.iter_mut().zip(self.signers) {
            if !*slot && principal.satisfied_by(id, self.msps) {
                *slot = true;
                return true;
            }
        }
        false
    }
}
