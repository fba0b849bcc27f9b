//! Fabric's MSP folder layout, file by file, as cryptogen writes it.
//!
//! Owns: the names and contents of the files of an org skeleton (`ca/`,
//! `tlsca/`, the verifying `msp/`) and of one identity (`msp/` + `tls/`),
//! including `config.yaml`, and the list of files that make each complete.

use super::ca::{CertAuthority, Issued, LeafRequest, Usage};
use super::spec::RenderedOrg;
use super::CryptogenError;
use crate::fsutil::{create_dir, create_private_dir, write_new, write_private};
use std::path::{Path, PathBuf};

/// cryptogen's file names, kept with the rest of the layout.
pub use healthblock_consortium::layout::{cert_file, KEY_FILE};

/// What an identity is; decides its NodeOU and its TLS file names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeRole {
    Peer,
    Orderer,
    Client,
    Admin,
}

impl NodeRole {
    /// The subject OU cryptogen gives this role when NodeOUs are enabled.
    pub fn ou(self) -> &'static str {
        match self {
            NodeRole::Peer => "peer",
            NodeRole::Orderer => "orderer",
            NodeRole::Client => "client",
            NodeRole::Admin => "admin",
        }
    }

    /// Users get `client.crt/.key`, nodes `server.crt/.key`.
    pub fn tls_prefix(self) -> &'static str {
        match self {
            NodeRole::Client | NodeRole::Admin => "client",
            NodeRole::Peer | NodeRole::Orderer => "server",
        }
    }

    /// Nodes carry their host names in the identity certificate too; users carry none.
    fn identity_has_sans(self) -> bool {
        matches!(self, NodeRole::Peer | NodeRole::Orderer)
    }
}

/// One identity to write.
pub(super) struct IdentitySpec<'a> {
    pub common_name: &'a str,
    pub sans: &'a [String],
    pub role: NodeRole,
}

/// Writes `ca/`, `tlsca/` and the verifying `msp/` of an org into `dir`; returns both CAs.
pub(super) fn write_org_skeleton(
    org: &RenderedOrg,
    dir: &Path,
) -> Result<(CertAuthority, CertAuthority), CryptogenError> {
    let (ca, ca_key) = CertAuthority::create(&org.ca_common_name, &org.domain, &org.subject)?;
    let tls_cn = org.tls_ca_common_name();
    let (tlsca, tlsca_key) = CertAuthority::create(&tls_cn, &org.domain, &org.subject)?;
    write_ca_dir(&dir.join("ca"), &ca, &ca_key)?;
    write_ca_dir(&dir.join("tlsca"), &tlsca, &tlsca_key)?;
    let msp = dir.join("msp");
    write_trust(&msp, org, &ca, &tlsca)?;
    Ok((ca, tlsca))
}

fn write_ca_dir(dir: &Path, ca: &CertAuthority, key_pem: &str) -> Result<(), CryptogenError> {
    create_private_dir(dir)?;
    write_private(&dir.join(KEY_FILE), key_pem.as_bytes())?;
    write_new(
        &dir.join(cert_file(&ca.common_name)),
        ca.cert_pem.as_bytes(),
    )?;
    Ok(())
}

/// `admincerts/`, `cacerts/`, `tlscacerts/` and `config.yaml`: what every MSP dir holds.
fn write_trust(
    msp: &Path,
    org: &RenderedOrg,
    ca: &CertAuthority,
    tlsca: &CertAuthority,
) -> Result<(), CryptogenError> {
    for sub in ["admincerts", "cacerts", "tlscacerts"] {
        create_dir(&msp.join(sub))?;
    }
    let ca_file = cert_file(&ca.common_name);
    write_new(&msp.join("cacerts").join(&ca_file), ca.cert_pem.as_bytes())?;
    let tls_file = cert_file(&tlsca.common_name);
    write_new(
        &msp.join("tlscacerts").join(tls_file),
        tlsca.cert_pem.as_bytes(),
    )?;
    if org.node_ous {
        let config = node_ous_config(&format!("cacerts/{ca_file}"));
        write_new(&msp.join("config.yaml"), config.as_bytes())?;
    }
    Ok(())
}

/// The MSP `config.yaml` cryptogen writes with `EnableNodeOUs: true`.
pub fn node_ous_config(ca_cert: &str) -> String {
    let mut out = String::from("NodeOUs:\n  Enable: true\n");
    for (key, ou) in [
        ("ClientOUIdentifier", "client"),
        ("PeerOUIdentifier", "peer"),
        ("AdminOUIdentifier", "admin"),
        ("OrdererOUIdentifier", "orderer"),
    ] {
        out.push_str(&format!(
            "  {key}:\n    Certificate: {ca_cert}\n    OrganizationalUnitIdentifier: {ou}\n"
        ));
    }
    out
}

/// Writes one identity's `msp/` and `tls/` into `dir`. Returns its identity certificate PEM.
/// `admin_cert` goes into `msp/admincerts/` (only used when NodeOUs are off).
pub(super) fn write_identity(
    org: &RenderedOrg,
    id: &IdentitySpec<'_>,
    (ca, tlsca): (&CertAuthority, &CertAuthority),
    admin_cert: Option<(&str, &str)>,
    dir: &Path,
) -> Result<String, CryptogenError> {
    let msp = dir.join("msp");
    write_trust(&msp, org, ca, tlsca)?;
    let no_sans: &[String] = &[];
    let signing = ca.issue(&LeafRequest {
        common_name: id.common_name,
        node_ou: org.node_ous.then(|| id.role.ou()),
        sans: if id.role.identity_has_sans() {
            id.sans
        } else {
            no_sans
        },
        usage: Usage::Identity,
    })?;
    create_private_dir(&msp.join("keystore"))?;
    write_private(
        &msp.join("keystore").join(KEY_FILE),
        signing.key_pem.as_bytes(),
    )?;
    create_dir(&msp.join("signcerts"))?;
    let signcert = msp.join("signcerts").join(cert_file(id.common_name));
    write_new(&signcert, signing.cert_pem.as_bytes())?;
    if !org.node_ous {
        // Without NodeOUs admins are listed explicitly: the org admin for nodes, the user itself otherwise.
        let (name, pem) = admin_cert.unwrap_or((id.common_name, signing.cert_pem.as_str()));
        write_new(
            &msp.join("admincerts").join(cert_file(name)),
            pem.as_bytes(),
        )?;
    }
    let tls = tlsca.issue(&LeafRequest {
        common_name: id.common_name,
        node_ou: None,
        sans: id.sans,
        usage: Usage::Tls,
    })?;
    write_tls(&dir.join("tls"), id.role, tlsca, &tls)?;
    Ok(signing.cert_pem)
}

/// Writes a TLS server identity for a hospital service that is not a
/// Fabric node (the key custodian): `ca.crt`, `server.crt`, `server.key`
/// under `dir`, issued by the org's TLS CA. It gets no MSP identity, so it
/// can never endorse or administer anything.
pub(super) fn write_service_tls(
    common_name: &str,
    sans: &[String],
    tlsca: &CertAuthority,
    dir: &Path,
) -> Result<(), CryptogenError> {
    let tls = tlsca.issue(&LeafRequest {
        common_name,
        node_ou: None,
        sans,
        usage: Usage::Tls,
    })?;
    write_tls(dir, NodeRole::Peer, tlsca, &tls)
}

/// Files (relative to a service dir) that make its TLS identity complete.
pub(super) fn service_files() -> Vec<PathBuf> {
    ["ca.crt", "server.crt", "server.key"]
        .iter()
        .map(PathBuf::from)
        .collect()
}

fn write_tls(
    dir: &Path,
    role: NodeRole,
    tlsca: &CertAuthority,
    tls: &Issued,
) -> Result<(), CryptogenError> {
    create_dir(dir)?;
    let prefix = role.tls_prefix();
    write_new(&dir.join("ca.crt"), tlsca.cert_pem.as_bytes())?;
    write_new(&dir.join(format!("{prefix}.crt")), tls.cert_pem.as_bytes())?;
    write_private(&dir.join(format!("{prefix}.key")), tls.key_pem.as_bytes())?;
    Ok(())
}

/// Files (relative to the org dir) that make an org skeleton complete.
pub(super) fn skeleton_files(org: &RenderedOrg) -> Vec<PathBuf> {
    let ca = cert_file(&org.ca_common_name);
    let tlsca = cert_file(&org.tls_ca_common_name());
    let mut files = vec![
        PathBuf::from("ca").join(KEY_FILE),
        PathBuf::from("ca").join(&ca),
        PathBuf::from("tlsca").join(KEY_FILE),
        PathBuf::from("tlsca").join(&tlsca),
        PathBuf::from("msp/cacerts").join(&ca),
        PathBuf::from("msp/tlscacerts").join(&tlsca),
    ];
    if org.node_ous {
        files.push(PathBuf::from("msp/config.yaml"));
    }
    files
}

/// Files (relative to the identity's dir) that make an identity complete.
pub(super) fn identity_files(org: &RenderedOrg, common_name: &str, role: NodeRole) -> Vec<PathBuf> {
    let prefix = role.tls_prefix();
    let mut files = vec![
        PathBuf::from("msp/cacerts").join(cert_file(&org.ca_common_name)),
        PathBuf::from("msp/tlscacerts").join(cert_file(&org.tls_ca_common_name())),
        PathBuf::from("msp/keystore").join(KEY_FILE),
        PathBuf::from("msp/signcerts").join(cert_file(common_name)),
        PathBuf::from("tls/ca.crt"),
        PathBuf::from(format!("tls/{prefix}.crt")),
        PathBuf::from(format!("tls/{prefix}.key")),
    ];
    if org.node_ous {
        files.push(PathBuf::from("msp/config.yaml"));
    }
    files
}

/// Whether every one of `files` exists under `dir`.
pub(super) fn all_present(dir: &Path, files: &[PathBuf]) -> bool {
    files.iter().all(|f| dir.join(f).is_file())
}
