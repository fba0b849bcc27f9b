//! An organisation's MSP (trusted CAs, NodeOUs) and the set of MSPs of a channel.

use crate::{Identity, MspError, Role};
use std::collections::BTreeMap;
use std::path::Path;

/// NodeOU configuration (`config.yaml` in an MSP dir): OU names for each role.
#[derive(Debug, Clone, Default)]
pub struct NodeOus {
    pub enabled: bool,
    pub client_ou: String,
    pub peer_ou: String,
    pub admin_ou: String,
    pub orderer_ou: String,
}

/// One organisation's verifying MSP.
#[derive(Debug, Clone)]
pub struct Msp {
    pub mspid: String,
    pub root_certs_der: Vec<Vec<u8>>,
    pub intermediate_certs_der: Vec<Vec<u8>>,
    pub tls_root_certs_der: Vec<Vec<u8>>,
    pub node_ous: NodeOus,
}

impl Msp {
    /// Loads `cacerts/`, `intermediatecerts/`, `tlscacerts/` and `config.yaml` from an MSP dir.
    pub fn from_dir(mspid: &str, dir: &Path) -> Result<Self, MspError> {
        let _ = (mspid, dir);
        todo!()
    }

    /// Validates an identity of this MSP at unix time `at`: chain to a root (via intermediates) and validity window.
    pub fn validate(&self, id: &Identity, at: i64) -> Result<(), MspError> {
        let _ = (id, at);
        todo!()
    }

    /// The identity's role by NodeOU (Member when NodeOUs are disabled or no OU matches).
    pub fn role_of(&self, id: &Identity) -> Role {
        let _ = id;
        todo!()
    }

    /// Whether `id` satisfies `role` (Member is satisfied by any valid identity).
    pub fn satisfies_role(&self, id: &Identity, role: Role) -> bool {
        role == Role::Member || self.role_of(id) == role
    }
}

/// The MSPs of a channel, by MSP id.
#[derive(Debug, Clone, Default)]
pub struct MspManager {
    pub msps: BTreeMap<String, Msp>,
}

impl MspManager {
    pub fn new(msps: impl IntoIterator<Item = Msp>) -> Self {
        Self {
            msps: msps.into_iter().map(|m| (m.mspid.clone(), m)).collect(),
        }
    }

    pub fn get(&self, mspid: &str) -> Option<&Msp> {
        self.msps.get(mspid)
    }

    /// Parses serialized identity bytes and validates them against their MSP at `at`.
    pub fn validate_serialized(&self, bytes: &[u8], at: i64) -> Result<Identity, MspError> {
        let id = Identity::from_serialized(bytes)?;
        let msp = self
            .get(&id.mspid)
            .ok_or_else(|| MspError::UnknownMsp(id.mspid.clone()))?;
        msp.validate(&id, at)?;
        Ok(id)
    }
}
