//! An organisation's MSP (trusted CAs, NodeOUs) and the set of MSPs of a channel.
//!
//! Owns: loading an MSP's trust material, deciding whether an identity is a
//! valid member at a given time (chain to a root through intermediates,
//! validity of every certificate in the chain, NodeOU classification) and
//! which role it has.

use crate::files::{files_in, read};
use crate::validated::ValidatedIdentities;
use crate::verified::VerifiedSignatures;
use crate::{cert, Identity, MspError, Role};
use std::collections::BTreeMap;
use std::path::Path;

pub use crate::node_ous::NodeOus;

/// Longest chain (leaf excluded) we follow before giving up; guards against issuer loops.
const MAX_CHAIN_DEPTH: usize = 8;

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
        let root_certs_der = certs_in_dir(&dir.join("cacerts"), true)?;
        let intermediate_certs_der = certs_in_dir(&dir.join("intermediatecerts"), false)?;
        let tls_root_certs_der = certs_in_dir(&dir.join("tlscacerts"), false)?;
        let config = dir.join("config.yaml");
        let node_ous = if config.is_file() {
            let text = std::fs::read_to_string(&config).map_err(|source| MspError::Io {
                path: config.display().to_string(),
                source,
            })?;
            NodeOus::from_config_yaml(&text)?
        } else {
            NodeOus::default()
        };
        Ok(Self {
            mspid: mspid.to_owned(),
            root_certs_der,
            intermediate_certs_der,
            tls_root_certs_der,
            node_ous,
        })
    }

    /// Builds an MSP from PEM CA certificates (each entry may hold several certificates).
    pub fn from_ca_pems(
        mspid: &str,
        root_pems: &[Vec<u8>],
        intermediate_pems: &[Vec<u8>],
        tls_root_pems: &[Vec<u8>],
        node_ous: NodeOus,
    ) -> Result<Self, MspError> {
        let all = |pems: &[Vec<u8>]| -> Result<Vec<Vec<u8>>, MspError> {
            let mut out = Vec::new();
            for p in pems {
                out.extend(cert::pem_certs_to_der(p)?);
            }
            Ok(out)
        };
        let root_certs_der = all(root_pems)?;
        if root_certs_der.is_empty() {
            return Err(MspError::Config(format!("MSP {mspid} has no root CA")));
        }
        Ok(Self {
            mspid: mspid.to_owned(),
            root_certs_der,
            intermediate_certs_der: all(intermediate_pems)?,
            tls_root_certs_der: all(tls_root_pems)?,
            node_ous,
        })
    }

    /// Validates an identity of this MSP at unix time `at`: chain to a root (via intermediates) and validity window.
    pub fn validate(&self, id: &Identity, at: i64) -> Result<(), MspError> {
        self.validity_window(id, at).map(|_| ())
    }

    /// As [`Msp::validate`], and on success the window (unix seconds, inclusive)
    /// in which every certificate of the identity's chain is valid: the identity
    /// validates at any other time in it with the same result, because neither
    /// the chain followed nor the NodeOU check depends on the time.
    pub fn validity_window(&self, id: &Identity, at: i64) -> Result<(i64, i64), MspError> {
        let leaf = cert::parse(&id.cert_der)?;
        if id.mspid != self.mspid {
            return Err(self.untrusted(&leaf.subject_cn));
        }
        if leaf.is_ca {
            return Err(MspError::BadCertificate(format!(
                "{} is a CA certificate and cannot be used as an identity",
                leaf.subject_cn
            )));
        }
        check_window(&leaf, at)?;
        let (not_before, not_after) = self.check_chain(&id.cert_der, &leaf.subject_cn, at)?;
        self.check_node_ou(id)?;
        Ok((
            not_before.max(leaf.not_before),
            not_after.min(leaf.not_after),
        ))
    }

    /// The identity's role by NodeOU (Member when NodeOUs are disabled or no OU matches).
    pub fn role_of(&self, id: &Identity) -> Role {
        if !self.node_ous.enabled {
            return Role::Member;
        }
        match self.node_ous.matching_roles(&id.ous).as_slice() {
            [role] => *role,
            _ => Role::Member,
        }
    }

    /// Follows issuers from `leaf_der` up to one of our roots; every certificate on the way must be valid at `at`.
    /// Returns the intersection of the validity windows of the certificates above the leaf.
    fn check_chain(&self, leaf_der: &[u8], subject: &str, at: i64) -> Result<(i64, i64), MspError> {
        let mut window = (i64::MIN, i64::MAX);
        let mut current: &[u8] = leaf_der;
        for _ in 0..=MAX_CHAIN_DEPTH {
            if let Some(root) = self
                .root_certs_der
                .iter()
                .find(|r| cert::is_signed_by(current, r))
            {
                let root = cert::parse(root)?;
                check_window(&root, at)?;
                return Ok(narrow(window, &root));
            }
            let next = self
                .intermediate_certs_der
                .iter()
                .find(|i| i.as_slice() != current && cert::is_signed_by(current, i));
            let Some(next) = next else {
                return Err(self.untrusted(subject));
            };
            let info = cert::parse(next)?;
            check_window(&info, at)?;
            window = narrow(window, &info);
            current = next;
        }
        Err(self.untrusted(subject))
    }

    /// With NodeOUs enabled Fabric requires exactly one role OU (client, peer, admin or orderer).
    fn check_node_ou(&self, id: &Identity) -> Result<(), MspError> {
        if !self.node_ous.enabled {
            return Ok(());
        }
        match self.node_ous.matching_roles(&id.ous).len() {
            1 => Ok(()),
            n => Err(MspError::BadIdentity(format!(
                "{} has {n} NodeOU roles (OUs {:?}); exactly one of client, peer, admin, orderer is required",
                id.subject_cn, id.ous
            ))),
        }
    }

    fn untrusted(&self, subject: &str) -> MspError {
        MspError::UntrustedChain {
            subject: subject.to_owned(),
            mspid: self.mspid.clone(),
        }
    }

    /// Whether `id` satisfies `role` (Member is satisfied by any valid identity).
    pub fn satisfies_role(&self, id: &Identity, role: Role) -> bool {
        role == Role::Member || self.role_of(id) == role
    }
}

/// The MSPs of a channel, by MSP id.
///
/// Remembers the serialized identities that validated (see [`MspManager::validate_serialized`])
/// and the signatures checked through [`MspManager::verify`];
/// build a new manager rather than changing `msps` of one that has validated identities.
#[derive(Debug, Default)]
pub struct MspManager {
    pub msps: BTreeMap<String, Msp>,
    validated: ValidatedIdentities,
    verified: VerifiedSignatures,
}

impl Clone for MspManager {
    /// A clone starts with an empty memo: its `msps` may be changed independently.
    fn clone(&self) -> Self {
        Self {
            msps: self.msps.clone(),
            validated: ValidatedIdentities::default(),
            verified: VerifiedSignatures::default(),
        }
    }
}

impl MspManager {
    pub fn new(msps: impl IntoIterator<Item = Msp>) -> Self {
        Self {
            msps: msps.into_iter().map(|m| (m.mspid.clone(), m)).collect(),
            validated: ValidatedIdentities::default(),
            verified: VerifiedSignatures::default(),
        }
    }

    pub fn get(&self, mspid: &str) -> Option<&Msp> {
        self.msps.get(mspid)
    }

    /// Parses serialized identity bytes and validates them against their MSP at `at`.
    ///
    /// Identities that validated before are answered from memory when `at` lies
    /// in the validity window of their whole chain (same result, no X.509 work);
    /// otherwise they are validated in full. Safe to call from many threads.
    pub fn validate_serialized(&self, bytes: &[u8], at: i64) -> Result<Identity, MspError> {
        if let Some(id) = self.validated.get(bytes, at) {
            return Ok(id);
        }
        let id = Identity::from_serialized(bytes)?;
        let msp = self
            .get(&id.mspid)
            .ok_or_else(|| MspError::UnknownMsp(id.mspid.clone()))?;
        let window = msp.validity_window(&id, at)?;
        self.validated.insert(bytes, &id, window);
        Ok(id)
    }

    /// [`Identity::verify`] (high-S rejected), remembering the outcome: everyone
    /// verifying through this manager checks a given signature only once, and
    /// concurrent checks of the same signature wait for one another.
    pub fn verify(&self, id: &Identity, msg: &[u8], signature: &[u8]) -> Result<(), MspError> {
        self.verified.verify(&id.public_key, msg, signature)
    }
}

/// Certificates of every file in `dir` (sorted by name). A missing optional dir yields none.
fn certs_in_dir(dir: &Path, required: bool) -> Result<Vec<Vec<u8>>, MspError> {
    if !dir.is_dir() {
        return if required {
            Err(MspError::Config(format!("{} is missing", dir.display())))
        } else {
            Ok(Vec::new())
        };
    }
    let mut certs = Vec::new();
    for path in files_in(dir)? {
        let text = read(&path)?;
        certs.extend(cert::pem_certs_to_der(&text)?);
    }
    if required && certs.is_empty() {
        return Err(MspError::Config(format!(
            "{} holds no certificate",
            dir.display()
        )));
    }
    Ok(certs)
}

/// The part of `window` in which `info` is valid too.
fn narrow(window: (i64, i64), info: &cert::CertInfo) -> (i64, i64) {
    (window.0.max(info.not_before), window.1.min(info.not_after))
}

/// Fails with [`MspError::Expired`] unless `at` is within the certificate's validity window.
fn check_window(info: &cert::CertInfo, at: i64) -> Result<(), MspError> {
    if info.not_before <= at && at <= info.not_after {
        Ok(())
    } else {
        Err(MspError::Expired {
            subject: info.subject_cn.clone(),
            at,
            not_before: info.not_before,
            not_after: info.not_after,
        })
    }
}
