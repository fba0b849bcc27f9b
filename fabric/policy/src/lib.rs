//! Fabric endorsement policies.
//!
//! Owns: the policy string language (`AND`, `OR`, `OutOf`, `'Org1MSP.peer'`),
//! its encoding as `common.SignaturePolicyEnvelope`, implicit-meta channel
//! policies (`MAJORITY Endorsement`), and evaluation over a set of signed
//! identities with Fabric's rules (each signature satisfies at most one
//! principal; duplicate identities count once).

mod endorsement;
mod eval;
mod parse;
mod render;

pub use endorsement::{EndorsementPolicy, MetaRule};
pub use eval::evaluate;
pub use parse::parse;
pub use render::to_string;

/// A policy-language error.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy syntax error at {pos}: {msg}")]
    Syntax { pos: usize, msg: String },
    #[error("invalid policy: {0}")]
    Invalid(String),
}
