//! Identity material generator: our own `cryptogen`.
//!
//! Owns: turning a `crypto-config.yaml` (cryptogen's input format) into
//! Fabric's MSP folder tree exactly as `cryptogen generate` lays it out:
//!
//! ```text
//! <out>/peerOrganizations/<domain>/{ca,tlsca,msp}
//! <out>/peerOrganizations/<domain>/peers/<host>.<domain>/{msp,tls}
//! <out>/peerOrganizations/<domain>/users/{Admin@<domain>,User1@<domain>}/{msp,tls}
//! <out>/ordererOrganizations/<domain>/... (orderers/ instead of peers/, Admin only)
//! ```
//!
//! Generation is idempotent and crash-safe: each org skeleton and each
//! identity is written into a staging folder and renamed into place, so a
//! folder is either complete or absent. Existing material is kept (its CA is
//! loaded back to issue identities that are missing, like `cryptogen extend`)
//! unless `force` is set.

mod ca;
pub mod spec;
mod writer;

pub use spec::{CryptoConfig, OrgKind, RenderedNode, RenderedOrg};
pub use writer::{cert_file, node_ous_config, NodeRole, KEY_FILE};

use crate::fsutil::{self, IoError};
use ca::CertAuthority;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use writer::IdentitySpec;

/// Where work in progress goes before it is renamed into place.
const STAGING_DIR: &str = ".cryptogen-staging";

/// Errors of the generator.
#[derive(Debug, thiserror::Error)]
pub enum CryptogenError {
    #[error("crypto config {path}: {message}")]
    Config { path: String, message: String },
    #[error("crypto config, org {org}: {message}")]
    Spec { org: String, message: String },
    #[error("certificate generation: {0}")]
    Crypto(String),
    #[error(transparent)]
    Io(#[from] IoError),
}

impl CryptogenError {
    pub(crate) fn spec(org: &str, message: String) -> Self {
        Self::Spec {
            org: org.to_owned(),
            message,
        }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io(IoError::new(path, source))
    }
}

/// What a run of the generator did.
#[derive(Debug, Clone, Default)]
pub struct GenerateReport {
    /// Org folders and identity folders written by this run (empty: everything existed).
    pub created: Vec<PathBuf>,
    pub elapsed: Duration,
}

impl GenerateReport {
    /// True when all material already existed and nothing was written.
    pub fn is_unchanged(&self) -> bool {
        self.created.is_empty()
    }
}

/// Reads `config_path` and generates its material under `out` (see [`generate`]).
pub fn generate_from_file(
    config_path: &Path,
    out: &Path,
    force: bool,
) -> Result<GenerateReport, CryptogenError> {
    generate(&CryptoConfig::load(config_path)?, out, force)
}

/// Generates every org's material under `out`. Existing complete material is
/// kept; `force` deletes each configured org's folder first and starts afresh.
pub fn generate(
    config: &CryptoConfig,
    out: &Path,
    force: bool,
) -> Result<GenerateReport, CryptogenError> {
    let started = Instant::now();
    let orgs = config.render()?;
    let staging = out.join(STAGING_DIR);
    // Leftovers of an interrupted run are incomplete by construction.
    fsutil::remove_dir_if_exists(&staging)?;
    fsutil::create_dir(&staging)?;
    let mut report = GenerateReport::default();
    for org in &orgs {
        OrgGenerator {
            org,
            org_dir: org_dir(out, org),
            staging: &staging,
            report: &mut report,
        }
        .run(force)?;
    }
    fsutil::remove_dir_if_exists(&staging)?;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// The hospital service whose TLS identity cryptogen writes for every peer org.
pub const CUSTODIAN_SERVICE: &str = "custodian";

/// `<org dir>/services/<name>/tls`: a hospital service's TLS identity.
pub fn service_tls_dir(org_dir: &Path, name: &str) -> PathBuf {
    org_dir.join("services").join(name).join("tls")
}

/// `<out>/{peer,orderer}Organizations/<domain>`.
pub fn org_dir(out: &Path, org: &RenderedOrg) -> PathBuf {
    out.join(org.kind.dir_name()).join(&org.domain)
}

struct OrgGenerator<'a> {
    org: &'a RenderedOrg,
    org_dir: PathBuf,
    staging: &'a Path,
    report: &'a mut GenerateReport,
}

impl OrgGenerator<'_> {
    fn run(mut self, force: bool) -> Result<(), CryptogenError> {
        if force {
            fsutil::remove_dir_if_exists(&self.org_dir)?;
        }
        let cas = self.ensure_skeleton()?;
        let cas = (&cas.0, &cas.1);
        let org = self.org;
        let admin = org.admin_name();
        let users_dir = self.org_dir.join("users");
        let admin_spec = IdentitySpec {
            common_name: &admin,
            sans: &[],
            role: NodeRole::Admin,
        };
        self.ensure_identity(&users_dir, &admin_spec, cas, None)?;
        let admin_file = cert_file(&admin);
        let admin_pem_path = users_dir
            .join(&admin)
            .join("msp/signcerts")
            .join(&admin_file);
        let admin_pem = fsutil::read_text(&admin_pem_path)?;
        if !org.node_ous {
            self.ensure_org_admincert(&admin_file, &admin_pem)?;
        }
        if org.kind == OrgKind::Peer {
            for user in &org.users {
                let spec = IdentitySpec {
                    common_name: user,
                    sans: &[],
                    role: NodeRole::Client,
                };
                self.ensure_identity(&users_dir, &spec, cas, None)?;
            }
        }
        if org.kind == OrgKind::Peer {
            self.ensure_service_tls(CUSTODIAN_SERVICE, cas.1)?;
        }
        let (nodes_dir, role) = match org.kind {
            OrgKind::Peer => (self.org_dir.join("peers"), NodeRole::Peer),
            OrgKind::Orderer => (self.org_dir.join("orderers"), NodeRole::Orderer),
        };
        for node in &org.nodes {
            let spec = IdentitySpec {
                common_name: &node.common_name,
                sans: &node.sans,
                role,
            };
            let admin = Some((admin.as_str(), admin_pem.as_str()));
            self.ensure_identity(&nodes_dir, &spec, cas, admin)?;
        }
        Ok(())
    }

    /// Loads the org's CAs, writing the skeleton first when it is missing or incomplete.
    fn ensure_skeleton(&mut self) -> Result<(CertAuthority, CertAuthority), CryptogenError> {
        let org = self.org;
        if writer::all_present(&self.org_dir, &writer::skeleton_files(org)) {
            let ca = load_ca(org, &self.org_dir.join("ca"), &org.ca_common_name)?;
            let tls_cn = org.tls_ca_common_name();
            let tlsca = load_ca(org, &self.org_dir.join("tlsca"), &tls_cn)?;
            return Ok((ca, tlsca));
        }
        // Identities of a missing or broken CA are worthless: start the org afresh.
        fsutil::remove_dir_if_exists(&self.org_dir)?;
        let tmp = self.staging.join(&org.domain);
        fsutil::create_dir(&tmp)?;
        let cas = writer::write_org_skeleton(org, &tmp)?;
        fsutil::rename_into_place(&tmp, &self.org_dir)?;
        self.report.created.push(self.org_dir.clone());
        Ok(cas)
    }

    fn ensure_identity(
        &mut self,
        parent: &Path,
        id: &IdentitySpec<'_>,
        cas: (&CertAuthority, &CertAuthority),
        admin_cert: Option<(&str, &str)>,
    ) -> Result<(), CryptogenError> {
        let dir = parent.join(id.common_name);
        let files = writer::identity_files(self.org, id.common_name, id.role);
        if writer::all_present(&dir, &files) {
            return Ok(());
        }
        fsutil::remove_dir_if_exists(&dir)?;
        let tmp = self.staging.join(id.common_name);
        fsutil::create_dir(&tmp)?;
        writer::write_identity(self.org, id, cas, admin_cert, &tmp)?;
        fsutil::rename_into_place(&tmp, &dir)?;
        self.report.created.push(dir);
        Ok(())
    }

    /// `services/<name>/tls/`: a TLS server identity for one of the
    /// hospital's own services, named `<name>.<domain>`.
    fn ensure_service_tls(
        &mut self,
        name: &str,
        tlsca: &CertAuthority,
    ) -> Result<(), CryptogenError> {
        let dir = service_tls_dir(&self.org_dir, name);
        if writer::all_present(&dir, &writer::service_files()) {
            return Ok(());
        }
        fsutil::remove_dir_if_exists(&dir)?;
        let common_name = format!("{name}.{}", self.org.domain);
        let mut sans = vec![common_name.clone()];
        sans.extend(spec::LOCAL_SANS.iter().map(|s| s.to_string()));
        let tmp = self.staging.join(&common_name);
        writer::write_service_tls(&common_name, &sans, tlsca, &tmp)?;
        if let Some(parent) = dir.parent() {
            fsutil::create_dir(parent)?;
        }
        fsutil::rename_into_place(&tmp, &dir)?;
        self.report.created.push(dir);
        Ok(())
    }

    /// Without NodeOUs the org MSP lists its admin explicitly (cryptogen's copyAdminCert).
    fn ensure_org_admincert(&self, file: &str, pem: &str) -> Result<(), CryptogenError> {
        let path = self.org_dir.join("msp/admincerts").join(file);
        if path.is_file() {
            return Ok(());
        }
        fsutil::write_new(&path, pem.as_bytes())?;
        Ok(())
    }
}

fn load_ca(
    org: &RenderedOrg,
    dir: &Path,
    common_name: &str,
) -> Result<CertAuthority, CryptogenError> {
    let cert = fsutil::read_text(&dir.join(cert_file(common_name)))?;
    let key = fsutil::read_text(&dir.join(KEY_FILE))?;
    CertAuthority::load(common_name, &org.subject, &cert, &key)
}

#[cfg(test)]
mod tests;
