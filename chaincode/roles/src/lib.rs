//! HealthBlock roles and the certificate attributes that carry them.
//!
//! Owns: the role names the contract enforces and the Fabric CA attribute
//! names (`hb.role`, `hb.pseudonym`) under which a hospital's CA writes them
//! into a user's certificate. The contract reads them, the identity client
//! writes them; both use this one definition. Reading the attribute
//! extension itself is `fabric_msp`'s.

use serde::{Deserialize, Serialize};

/// Attribute holding the user's role.
pub const ROLE_ATTR: &str = "hb.role";
/// Attribute holding a patient's pseudonymous id.
pub const PSEUDONYM_ATTR: &str = "hb.pseudonym";

/// What a user may do in HealthBlock (enforced by the contract from `hb.role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A physician; may write records and break the glass.
    Doctor,
    /// A nurse; may write records at home, reads elsewhere only by consent.
    Nurse,
    /// A patient; acts on their own records only.
    Patient,
    /// Reads audit trails and metadata, never key material.
    Auditor,
    /// A hospital's application administrator. Still a Fabric *client*: it is
    /// not an MSP admin (those come from the generated material).
    Admin,
}

impl Role {
    /// Every role, in the order they are listed to users.
    pub const ALL: [Role; 5] = [
        Role::Doctor,
        Role::Nurse,
        Role::Patient,
        Role::Auditor,
        Role::Admin,
    ];

    /// The `hb.role` attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Doctor => "doctor",
            Role::Nurse => "nurse",
            Role::Patient => "patient",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    /// Parses an `hb.role` value (exact, lower case).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Doctors and nurses.
    pub fn is_clinician(self) -> bool {
        matches!(self, Role::Doctor | Role::Nurse)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(
                serde_json::to_string(&role).ok(),
                Some(format!("\"{role}\""))
            );
        }
        assert_eq!(Role::parse("Doctor"), None);
        assert_eq!(Role::parse(""), None);
    }
}
