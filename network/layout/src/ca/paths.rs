//! Where one hospital's CA server keeps its files.
//!
//! Owns: the paths of a CA server under the home directory (its Fabric CA home
//! with config and database, its TLS key pair, the registrar credentials, its
//! log and pid file) and the files of the org's identity material it serves.
//! `layout.rs` stays the map of the network's other files.
//!
//! ```text
//! <home>/ca/<domain>/                  fabric-ca-server home (config, sqlite db)
//! <home>/ca/<domain>/tls/server.{crt,key}
//! <home>/ca/<domain>/registrar.json    bootstrap admin name and secret (0600)
//! <home>/logs/ca-<domain>.log
//! <home>/run/ca-<domain>.pid
//! ```

use crate::consortium::PeerOrg;
use crate::layout::{cert_file, Layout, KEY_FILE};
use std::path::{Path, PathBuf};

/// Prefix of the process name of every CA server (`ca-<domain>`).
pub const PROCESS_PREFIX: &str = "ca-";

/// The files of one org's CA server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaPaths {
    /// The fabric-ca-server home (`-H`): its config file and sqlite database.
    pub server_home: PathBuf,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    /// The bootstrap admin's enrollment id and secret.
    pub registrar_file: PathBuf,
    pub log: PathBuf,
    pub pid_file: PathBuf,
}

impl CaPaths {
    /// The CA server files of `org`.
    pub fn new(layout: &Layout, org: &PeerOrg) -> Self {
        Self::for_process(layout, &process_name(org))
    }

    /// From the process name (`ca-<domain>`), as found in the run directory.
    pub fn for_process(layout: &Layout, process: &str) -> Self {
        let domain = process.strip_prefix(PROCESS_PREFIX).unwrap_or(process);
        let server_home = layout.home().join("ca").join(domain);
        let tls = server_home.join("tls");
        Self {
            tls_cert: tls.join("server.crt"),
            tls_key: tls.join("server.key"),
            registrar_file: server_home.join("registrar.json"),
            log: layout.logs_dir().join(format!("{process}.log")),
            pid_file: layout.pid_file(process),
            server_home,
        }
    }

    /// The config file fabric-ca-server writes on its first start.
    pub fn server_config(&self) -> PathBuf {
        self.server_home.join("fabric-ca-server-config.yaml")
    }
}

/// `ca-<domain>`: names the pid and log files of the org's CA server.
pub fn process_name(org: &PeerOrg) -> String {
    format!("{PROCESS_PREFIX}{}", org.domain)
}

/// A CA of the org's identity material (`ca/` or `tlsca/`): certificate and key files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgCaFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The org's identity root (`crypto/peerOrganizations/<domain>/ca/`): what the CA server signs with.
pub fn identity_ca(layout: &Layout, org: &PeerOrg) -> OrgCaFiles {
    org_ca(
        &layout.org_dir(org).join("ca"),
        &format!("ca.{}", org.domain),
    )
}

/// The org's TLS root (`.../tlsca/`): issues the CA server's TLS certificate.
pub fn tls_ca(layout: &Layout, org: &PeerOrg) -> OrgCaFiles {
    org_ca(
        &layout.org_dir(org).join("tlsca"),
        &format!("tlsca.{}", org.domain),
    )
}

/// The folder's one `*-cert.pem` (a custom CA common name in crypto-config is
/// honoured), else cryptogen's default name, which then fails clearly as missing.
fn org_ca(dir: &Path, default_common_name: &str) -> OrgCaFiles {
    let certs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.to_string_lossy().ends_with("-cert.pem"))
                .collect()
        })
        .unwrap_or_default();
    let cert = match certs.as_slice() {
        [one] => one.clone(),
        _ => dir.join(cert_file(default_common_name)),
    };
    OrgCaFiles {
        cert,
        key: dir.join(KEY_FILE),
    }
}
