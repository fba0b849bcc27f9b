//! HealthBlock roles and the certificate attributes that carry them.
//!
//! Owns: the role names the contract enforces and the Fabric CA attribute
//! names (`hb.role`, `hb.pseudonym`) under which a hospital's CA writes them
//! into a user's certificate (extension 1.2.3.4.5.6.7.8.1).

use serde::{Deserialize, Serialize};

/// Attribute holding the user's role.
pub const ROLE_ATTR: &str = "hb.role";
/// Attribute holding a patient's pseudonymous id.
pub const PSEUDONYM_ATTR: &str = "hb.pseudonym";

/// What a user may do in HealthBlock (enforced by the contract from `hb.role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Doctor,
    Nurse,
    Patient,
    Auditor,
    /// A hospital's application administrator. Still a Fabric *client*: it is
    /// not an MSP admin (those come from the generated material).
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Doctor => "doctor",
            Role::Nurse => "nurse",
            Role::Patient => "patient",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    /// Parses an `hb.role` value.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Role::Doctor,
            Role::Nurse,
            Role::Patient,
            Role::Auditor,
            Role::Admin,
        ]
        .into_iter()
        .find(|r| r.as_str() == text)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
