//! HealthBlock roles and the certificate attributes that carry them.
//!
//! Owns: nothing of its own; the roles and the attribute names are
//! `healthblock_roles`', the one definition the contract uses too.
//! Re-exported here because every user this crate enrolls gets one.

pub use healthblock_roles::{Role, PSEUDONYM_ATTR, ROLE_ATTR};
