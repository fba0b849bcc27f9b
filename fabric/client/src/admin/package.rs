//! Chaincode-as-a-service install packages.
//!
//! Owns: building the `.tgz` a peer installs for an external (CCaaS)
//! chaincode — `metadata.json` `{"type":"ccaas","label":...}` and
//! `code.tar.gz` holding `connection.json` — deterministically (fixed order,
//! mtimes, owners and modes), so the same inputs always give the same bytes
//! and therefore the same package id `label:hex(sha256(tgz))`; and reading the
//! label back out of a package file.

use crate::error::{Error, Result};
use flate2::read::GzDecoder;
use flate2::{Compression, GzBuilder};
use serde::{Deserialize, Serialize};
use std::io::Read;

/// The fixed modification time of every entry (and of the gzip headers).
const FIXED_MTIME: u64 = 0;
/// Metadata files are tiny; refuse to read more than this from an untrusted package.
const MAX_METADATA_BYTES: u64 = 64 * 1024;

/// `connection.json`: how the peer reaches the chaincode server.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CcaasConnection {
    /// `host:port` of the chaincode server, as the peer dials it.
    pub address: String,
    /// A Go duration, e.g. "10s".
    pub dial_timeout: String,
    pub tls_required: bool,
    #[serde(default)]
    pub client_auth_required: bool,
    /// PEM of the CA that signed the chaincode server's TLS certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_cert: Option<String>,
    /// PEM client certificate the peer presents when client auth is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<String>,
    /// PEM key of `client_cert` (Fabric's format puts it in the package).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key: Option<String>,
    /// Server name to verify the chaincode server's certificate against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

impl std::fmt::Debug for CcaasConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client key is never printed.
        f.debug_struct("CcaasConnection")
            .field("address", &self.address)
            .field("dial_timeout", &self.dial_timeout)
            .field("tls_required", &self.tls_required)
            .field("client_auth_required", &self.client_auth_required)
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

impl CcaasConnection {
    /// A plain-text connection (no TLS) to `address` with a 10 s dial timeout.
    pub fn plaintext(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            dial_timeout: "10s".into(),
            tls_required: false,
            client_auth_required: false,
            root_cert: None,
            client_cert: None,
            client_key: None,
            domain: None,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Metadata {
    #[serde(rename = "type")]
    kind: String,
    label: String,
}

/// A built package: its bytes and the id peers will report for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChaincodePackage {
    pub label: String,
    pub bytes: Vec<u8>,
    pub package_id: String,
}

/// `label:hex(sha256(package bytes))`.
pub fn package_id(label: &str, package_bytes: &[u8]) -> String {
    format!("{label}:{}", hex::encode(fabric_msp::sha256(package_bytes)))
}

/// Fabric's label rule: starts with an alphanumeric, then alphanumerics or `_ . + -`.
pub fn validate_label(label: &str) -> Result<()> {
    let mut chars = label.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || "_.+-".contains(c));
    if first_ok && rest_ok {
        Ok(())
    } else {
        Err(Error::Package(format!(
            "invalid label {label:?}: must start with a letter or digit and contain only letters, digits, '_', '.', '+', '-'"
        )))
    }
}

/// Builds the CCaaS package for `label` and `connection`.
pub fn build_ccaas_package(label: &str, connection: &CcaasConnection) -> Result<ChaincodePackage> {
    validate_label(label)?;
    let connection_json = serde_json::to_vec(connection)
        .map_err(|e| Error::Package(format!("connection.json: {e}")))?;
    let code = tar_gz(&[("connection.json", &connection_json)])?;
    let metadata = serde_json::to_vec(&Metadata {
        kind: "ccaas".into(),
        label: label.to_owned(),
    })
    .map_err(|e| Error::Package(format!("metadata.json: {e}")))?;
    let bytes = tar_gz(&[("metadata.json", &metadata), ("code.tar.gz", &code)])?;
    Ok(ChaincodePackage {
        label: label.to_owned(),
        package_id: package_id(label, &bytes),
        bytes,
    })
}

/// A gzip'd tar of `files`, in the given order, with fixed metadata.
fn tar_gz(files: &[(&str, &[u8])]) -> Result<Vec<u8>> {
    let io = |e: std::io::Error| Error::Package(format!("writing archive: {e}"));
    let gz = GzBuilder::new()
        .mtime(FIXED_MTIME as u32)
        .write(Vec::new(), Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (name, data) in files {
        let mut header = tar::Header::new_ustar();
        header.set_path(name).map_err(io)?;
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_username("root").map_err(io)?;
        header.set_groupname("root").map_err(io)?;
        header.set_mtime(FIXED_MTIME);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        tar.append(&header, *data).map_err(io)?;
    }
    tar.into_inner().map_err(io)?.finish().map_err(io)
}

/// Reads a file of a gzip'd tar, at most `limit` bytes; None if absent.
fn read_entry(tgz: &[u8], wanted: &str, limit: u64) -> Result<Option<Vec<u8>>> {
    let bad = |e: std::io::Error| Error::Package(format!("not a gzip'd tar: {e}"));
    let mut archive = tar::Archive::new(GzDecoder::new(tgz));
    for entry in archive.entries().map_err(bad)? {
        let entry = entry.map_err(bad)?;
        let path = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        if path.trim_start_matches("./") == wanted {
            let mut data = Vec::new();
            entry.take(limit).read_to_end(&mut data).map_err(bad)?;
            return Ok(Some(data));
        }
    }
    Ok(None)
}

/// The label and type recorded in a package's `metadata.json`.
pub fn read_metadata(package_bytes: &[u8]) -> Result<(String, String)> {
    let raw = read_entry(package_bytes, "metadata.json", MAX_METADATA_BYTES)?
        .ok_or_else(|| Error::Package("package has no metadata.json".into()))?;
    let meta: Metadata =
        serde_json::from_slice(&raw).map_err(|e| Error::Package(format!("metadata.json: {e}")))?;
    validate_label(&meta.label)?;
    Ok((meta.label, meta.kind))
}

/// The package id of an existing package file, as a peer computes it on install.
pub fn package_id_of(package_bytes: &[u8]) -> Result<String> {
    let (label, _) = read_metadata(package_bytes)?;
    Ok(package_id(&label, package_bytes))
}

/// The `connection.json` inside a CCaaS package.
pub fn read_connection(package_bytes: &[u8]) -> Result<CcaasConnection> {
    let code = read_entry(package_bytes, "code.tar.gz", 16 * 1024 * 1024)?
        .ok_or_else(|| Error::Package("package has no code.tar.gz".into()))?;
    let raw = read_entry(&code, "connection.json", MAX_METADATA_BYTES)?
        .ok_or_else(|| Error::Package("code.tar.gz has no connection.json".into()))?;
    serde_json::from_slice(&raw).map_err(|e| Error::Package(format!("connection.json: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors;

    #[test]
    fn vector_package_id_from_file_bytes() {
        let bytes = test_vectors::read("chaincode/anchorcc.tgz");
        assert_eq!(
            package_id_of(&bytes).unwrap(),
            "anchorcc_1.0:d30550cb57f927a25071e9c1af6d6c01c830c5768b38c04d1d80b0a2a0e97893"
        );
        let conn = read_connection(&bytes).unwrap();
        assert_eq!(conn.address, "127.0.0.1:27300");
        assert!(!conn.tls_required);
    }

    #[test]
    fn building_is_deterministic_and_round_trips() {
        let conn = CcaasConnection::plaintext("127.0.0.1:9999");
        let a = build_ccaas_package("records_1.0", &conn).unwrap();
        let b = build_ccaas_package("records_1.0", &conn).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.package_id, package_id_of(&a.bytes).unwrap());
        assert!(a.package_id.starts_with("records_1.0:"));
        assert_eq!(
            read_metadata(&a.bytes).unwrap(),
            ("records_1.0".into(), "ccaas".into())
        );
        assert_eq!(read_connection(&a.bytes).unwrap(), conn);

        // Any change of content changes the id.
        let other =
            build_ccaas_package("records_1.0", &CcaasConnection::plaintext("127.0.0.1:9998"))
                .unwrap();
        assert_ne!(other.package_id, a.package_id);
    }

    #[test]
    fn archive_layout_matches_fabric_packages() {
        let pkg = build_ccaas_package("x", &CcaasConnection::plaintext("h:1")).unwrap();
        let mut archive = tar::Archive::new(GzDecoder::new(pkg.bytes.as_slice()));
        let names: Vec<_> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                assert_eq!(e.header().mtime().unwrap(), FIXED_MTIME);
                assert_eq!(e.header().mode().unwrap(), 0o644);
                e.path().unwrap().to_string_lossy().into_owned()
            })
            .collect();
        assert_eq!(names, ["metadata.json", "code.tar.gz"]);
        let raw = read_entry(&pkg.bytes, "metadata.json", 1024)
            .unwrap()
            .unwrap();
        assert_eq!(raw, br#"{"type":"ccaas","label":"x"}"#);
    }

    #[test]
    fn tls_fields_are_written_only_when_set_and_keys_not_debug_printed() {
        let mut conn = CcaasConnection::plaintext("cc:7052");
        let plain = serde_json::to_string(&conn).unwrap();
        assert_eq!(
            plain,
            r#"{"address":"cc:7052","dial_timeout":"10s","tls_required":false,"client_auth_required":false}"#
        );
        conn.tls_required = true;
        conn.root_cert = Some("ROOT".into());
        conn.client_key = Some("SECRET-KEY".into());
        let json = serde_json::to_string(&conn).unwrap();
        assert!(json.contains(r#""root_cert":"ROOT""#));
        assert!(!format!("{conn:?}").contains("SECRET-KEY"));
    }

    #[test]
    fn bad_labels_and_garbage_packages_are_rejected() {
        assert!(validate_label("anchorcc_1.0").is_ok());
        assert!(validate_label("").is_err());
        assert!(validate_label("_x").is_err());
        assert!(validate_label("a b").is_err());
        assert!(build_ccaas_package("a/b", &CcaasConnection::plaintext("h:1")).is_err());
        assert!(package_id_of(b"not a tgz").is_err());
    }
}
