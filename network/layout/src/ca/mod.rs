//! The hospitals' Fabric CA servers, as their clients see them.
//!
//! Owns: where a CA server and its files are ([`CaPaths`], its URL, its CA
//! name, the certificate its TLS chains to) and reading the bootstrap
//! admin's credentials ([`Registrar`]) that register the hospital's users.
//! Starting and stopping the servers is `healthblock-network`'s.

mod paths;

pub use paths::{identity_ca, process_name, tls_ca, CaPaths, OrgCaFiles, PROCESS_PREFIX};

use crate::consortium::{Consortium, PeerOrg};
use crate::fsutil::{self, IoError};
use crate::layout::Layout;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Enrollment id of every hospital CA's bootstrap admin.
pub const REGISTRAR_NAME: &str = "ca-admin";

/// Why the registrar's credentials cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum RegistrarError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("no registrar credentials at {0}: the CA has never been started (run `healthblock network up`)")]
    NoRegistrar(PathBuf),
    #[error("{path}: {source}")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// The bootstrap admin's enrollment id and secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registrar {
    pub name: String,
    pub secret: String,
}

impl std::fmt::Debug for Registrar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret is never printed.
        f.debug_struct("Registrar")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Registrar {
    /// `name:secret`, Fabric CA's bootstrap form (`-b`).
    pub fn boot_value(&self) -> String {
        format!("{}:{}", self.name, self.secret)
    }

    /// Reads the registrar of a CA that has been started at least once.
    pub fn load(paths: &CaPaths) -> Result<Registrar, RegistrarError> {
        if !paths.registrar_file.exists() {
            return Err(RegistrarError::NoRegistrar(paths.registrar_file.clone()));
        }
        let text = fsutil::read_text(&paths.registrar_file)?;
        serde_json::from_str(&text).map_err(|source| RegistrarError::Corrupt {
            path: paths.registrar_file.clone(),
            source,
        })
    }
}

/// The CA server's URL: `https://<host>:<ca_port>`.
pub fn url(c: &Consortium, org: &PeerOrg) -> String {
    format!("https://{}", c.address(org.ca_port))
}

/// The CA's name (`--ca.name`): `ca.<domain>`, the common name of the org's identity root.
pub fn ca_name(org: &PeerOrg) -> String {
    format!("ca.{}", org.domain)
}

/// The certificate clients trust the CA server's TLS with: the org's TLS root.
pub fn tls_root_cert(layout: &Layout, org: &PeerOrg) -> PathBuf {
    layout.org_tls_ca_cert(org)
}

/// The bootstrap admin of the org's CA (exists once the CA has been started).
pub fn registrar(layout: &Layout, org: &PeerOrg) -> Result<Registrar, RegistrarError> {
    Registrar::load(&CaPaths::new(layout, org))
}
