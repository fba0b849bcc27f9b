//! Rendering a `SignaturePolicyEnvelope` back to the policy language, for display.
//!
//! `NOutOf(1, ..)` renders as `OR`, `NOutOf(len, ..)` (len > 1) as `AND`,
//! anything else as `OutOf(n, ..)`. Parsing the rendering of an envelope
//! Fabric compiled gives back the same rule. Principals that the language
//! cannot express (OU, IDENTITY) render in angle brackets.

use crate::eval::Principal;
use fabric_msp::Role;
use fabric_proto::common::signature_policy::Type;
use fabric_proto::common::{SignaturePolicy, SignaturePolicyEnvelope};

/// Renders an envelope back to the policy language (for display).
pub fn to_string(policy: &SignaturePolicyEnvelope) -> String {
    let principals: Vec<Principal> = policy.identities.iter().map(Principal::decode).collect();
    match &policy.rule {
        Some(rule) => render_rule(rule, &principals),
        None => "<empty policy>".into(),
    }
}

fn render_rule(rule: &SignaturePolicy, principals: &[Principal]) -> String {
    match &rule.r#type {
        None => "<empty rule>".into(),
        Some(Type::SignedBy(i)) => usize::try_from(*i)
            .ok()
            .and_then(|i| principals.get(i))
            .map_or_else(|| format!("<missing identity {i}>"), render_principal),
        Some(Type::NOutOf(n)) => {
            let args: Vec<String> = n.rules.iter().map(|r| render_rule(r, principals)).collect();
            let args = args.join(", ");
            let len = n.rules.len() as i64;
            match i64::from(n.n) {
                1 => format!("OR({args})"),
                t if t == len => format!("AND({args})"),
                t => format!("OutOf({t}, {args})"),
            }
        }
    }
}

fn render_principal(p: &Principal) -> String {
    match p {
        Principal::Role { mspid, role } => format!("'{mspid}.{}'", role_name(*role)),
        Principal::OrgUnit { mspid, ou } => format!("<OU {ou} of {mspid}>"),
        Principal::Identity { .. } => format!(
            "<identity of {}>",
            p.mspid().unwrap_or_else(|| "unknown MSP".into())
        ),
        Principal::Unsatisfiable => "<unsupported principal>".into(),
    }
}

pub(crate) fn role_name(role: Role) -> &'static str {
    match role {
        Role::Member => "member",
        Role::Admin => "admin",
        Role::Client => "client",
        Role::Peer => "peer",
        Role::Orderer => "orderer",
    }
}
