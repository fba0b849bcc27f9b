//! Chaincode install packages, the format of `peer lifecycle chaincode package`.
//!
//! Owns: the `.tgz` layout (`metadata.json` `{"type":..,"label":..}` and
//! `code.tar.gz`, which for chaincode-as-a-service holds `connection.json`),
//! Fabric's label rule, the package id (`<label>:<hex sha256 of the package
//! bytes>`), building a CCaaS package deterministically (fixed order, mtimes,
//! owners and modes, so the same inputs always give the same id) and parsing
//! a package as a peer does on install. The client builds packages with it;
//! the devnet's peers parse them with it.

pub mod ccaas_template;

use flate2::read::GzDecoder;
use flate2::{Compression, GzBuilder};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::time::Duration;

/// The fixed modification time of every entry (and of the gzip headers).
const FIXED_MTIME: u64 = 0;
/// Largest file read out of a package: a CCaaS package holds two small JSON
/// files, and a peer must not be made to inflate an unbounded archive.
pub const MAX_ENTRY_BYTES: u64 = 16 * 1024 * 1024;
/// Fabric's dial timeout when `connection.json` names none.
const DEFAULT_DIAL_TIMEOUT: Duration = Duration::from_secs(3);

/// Why a package could not be built or read. The texts of the reading errors
/// are the peer's, since a peer answers an install with them.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("{what} is not a gzipped tar: {source}")]
    NotTarGz {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: corrupt tar entry: {source}")]
    CorruptEntry {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: cannot read {path}: {source}")]
    ReadEntry {
        what: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: {path} is larger than {MAX_ENTRY_BYTES} bytes")]
    EntryTooLarge { what: &'static str, path: String },
    #[error("chaincode install package is missing metadata.json")]
    MissingMetadata,
    #[error("could not unmarshal metadata.json: {0}")]
    BadMetadata(#[source] serde_json::Error),
    #[error("invalid label '{0}'. Label must be non-empty, can only consist of alphanumerics, symbols from '.+-_', and can only begin with alphanumerics")]
    InvalidLabel(String),
    #[error("ccaas package is missing code.tar.gz")]
    MissingCode,
    #[error("code.tar.gz of a ccaas package is missing connection.json")]
    MissingConnection,
    #[error("could not unmarshal connection.json: {0}")]
    BadConnection(#[source] serde_json::Error),
    #[error("connection.json: address is empty")]
    EmptyAddress,
    #[error("connection.json: invalid dial_timeout '{0}'")]
    BadDialTimeout(String),
    #[error("the package is not a chaincode-as-a-service package (type {0:?})")]
    NotCcaas(String),
    #[error("cannot encode {what}: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("writing archive: {0}")]
    Write(#[source] std::io::Error),
}

pub type Result<T, E = PackageError> = std::result::Result<T, E>;

/// `connection.json`: how the peer reaches the chaincode server.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CcaasConnection {
    /// `host:port` of the chaincode server, as the peer dials it.
    pub address: String,
    /// A Go duration, e.g. "10s" (empty: Fabric's 3 s).
    #[serde(default)]
    pub dial_timeout: String,
    #[serde(default)]
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
    /// Server name to verify the chaincode server's certificate against
    /// (absent: the host of `address`).
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

    /// The connection as one peer uses it: the fields Fabric's CCaaS builder
    /// templates rendered with the peer's builder configuration (the rules of
    /// [`ccaas_template::render_connection`]: the client TLS fields only with
    /// `tls_required`). `domain`, a devnet addition, is kept as is.
    pub fn rendered(
        &self,
        config: &ccaas_template::BuilderConfig,
    ) -> Result<Self, ccaas_template::TemplateError> {
        use ccaas_template::{render, TemplateError};
        let field = |field: &'static str, text: &str| {
            render(text, config).map_err(|e| TemplateError::Field {
                field,
                source: Box::new(e),
            })
        };
        // Without TLS Fabric's builder drops these fields rather than rendering them.
        let tls = |name: &'static str, text: &Option<String>| match text {
            Some(text) if self.tls_required => field(name, text).map(Some),
            _ => Ok(None),
        };
        Ok(Self {
            address: field("address", &self.address)?,
            dial_timeout: field("dial_timeout", &self.dial_timeout)?,
            tls_required: self.tls_required,
            client_auth_required: self.tls_required && self.client_auth_required,
            root_cert: tls("root_cert", &self.root_cert)?,
            client_cert: tls("client_cert", &self.client_cert)?,
            client_key: tls("client_key", &self.client_key)?,
            domain: self.domain.clone(),
        })
    }

    /// The dial timeout (Go duration syntax; 3 s when absent, as Fabric).
    pub fn dial_timeout(&self) -> Result<Duration> {
        if self.dial_timeout.is_empty() {
            return Ok(DEFAULT_DIAL_TIMEOUT);
        }
        parse_go_duration(&self.dial_timeout)
            .ok_or_else(|| PackageError::BadDialTimeout(self.dial_timeout.clone()))
    }
}

/// `metadata.json` of a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageMetadata {
    #[serde(rename = "type")]
    pub kind: String,
    pub label: String,
}

/// A built package: its bytes and the id peers will report for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChaincodePackage {
    pub label: String,
    pub bytes: Vec<u8>,
    pub package_id: String,
}

/// A package as a peer reads it on install.
#[derive(Debug, Clone)]
pub struct Package {
    pub metadata: PackageMetadata,
    pub package_id: String,
    /// `connection.json` of a CCaaS package; None for other types.
    pub connection: Option<CcaasConnection>,
}

/// `label:hex(sha256(package bytes))`.
pub fn package_id(label: &str, package_bytes: &[u8]) -> String {
    format!("{label}:{}", hex::encode(fabric_msp::sha256(package_bytes)))
}

/// Fabric's label rule: `^[[:alnum:]][[:alnum:]_.+-]*$`.
pub fn validate_label(label: &str) -> Result<()> {
    let mut chars = label.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'));
    if valid {
        Ok(())
    } else {
        Err(PackageError::InvalidLabel(label.to_owned()))
    }
}

/// Parses Go's duration syntax (`300ms`, `10s`, `1m30s`, `1h`).
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total = total.checked_add(Duration::try_from_secs_f64(number * seconds).ok()?)?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// Builds the CCaaS package for `label` and `connection`.
pub fn build_ccaas_package(label: &str, connection: &CcaasConnection) -> Result<ChaincodePackage> {
    validate_label(label)?;
    let connection_json =
        serde_json::to_vec(connection).map_err(|source| PackageError::Encode {
            what: "connection.json",
            source,
        })?;
    let code = tar_gz(&[("connection.json", &connection_json)])?;
    let metadata = serde_json::to_vec(&PackageMetadata {
        kind: "ccaas".into(),
        label: label.to_owned(),
    })
    .map_err(|source| PackageError::Encode {
        what: "metadata.json",
        source,
    })?;
    let bytes = tar_gz(&[("metadata.json", &metadata), ("code.tar.gz", &code)])?;
    Ok(ChaincodePackage {
        label: label.to_owned(),
        package_id: package_id(label, &bytes),
        bytes,
    })
}

/// A gzip'd tar of `files`, in the given order, with fixed metadata.
fn tar_gz(files: &[(&str, &[u8])]) -> Result<Vec<u8>> {
    let gz = GzBuilder::new()
        .mtime(FIXED_MTIME as u32)
        .write(Vec::new(), Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (name, data) in files {
        let mut header = tar::Header::new_ustar();
        header.set_path(name).map_err(PackageError::Write)?;
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_username("root").map_err(PackageError::Write)?;
        header.set_groupname("root").map_err(PackageError::Write)?;
        header.set_mtime(FIXED_MTIME);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        tar.append(&header, *data).map_err(PackageError::Write)?;
    }
    tar.into_inner()
        .map_err(PackageError::Write)?
        .finish()
        .map_err(PackageError::Write)
}

/// The regular files named in `wanted` of a gzipped tar, by path. Every entry
/// is walked, so a corrupt archive fails even after the wanted files.
fn untar_gz(bytes: &[u8], what: &'static str, wanted: &[&str]) -> Result<Vec<(String, Vec<u8>)>> {
    let mut archive = tar::Archive::new(GzDecoder::new(bytes));
    let entries = archive
        .entries()
        .map_err(|source| PackageError::NotTarGz { what, source })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| PackageError::CorruptEntry { what, source })?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(|source| PackageError::CorruptEntry { what, source })?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        if !wanted.contains(&path.as_str()) {
            continue;
        }
        let mut data = Vec::new();
        entry
            .take(MAX_ENTRY_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(|source| PackageError::ReadEntry {
                what,
                path: path.clone(),
                source,
            })?;
        if data.len() as u64 > MAX_ENTRY_BYTES {
            return Err(PackageError::EntryTooLarge { what, path });
        }
        files.push((path, data));
    }
    Ok(files)
}

fn take(files: &mut Vec<(String, Vec<u8>)>, name: &str) -> Option<Vec<u8>> {
    let at = files.iter().position(|(p, _)| p == name)?;
    Some(files.swap_remove(at).1)
}

/// Parses an install package as a peer does, and computes its package id.
pub fn parse_package(bytes: &[u8]) -> Result<Package> {
    let mut files = untar_gz(
        bytes,
        "chaincode install package",
        &["metadata.json", "code.tar.gz"],
    )?;
    let metadata_bytes = take(&mut files, "metadata.json").ok_or(PackageError::MissingMetadata)?;
    let metadata: PackageMetadata =
        serde_json::from_slice(&metadata_bytes).map_err(PackageError::BadMetadata)?;
    validate_label(&metadata.label)?;
    let connection = match (metadata.kind.as_str(), take(&mut files, "code.tar.gz")) {
        ("ccaas", Some(code)) => {
            let mut inner = untar_gz(&code, "code.tar.gz", &["connection.json"])?;
            let json =
                take(&mut inner, "connection.json").ok_or(PackageError::MissingConnection)?;
            let info: CcaasConnection =
                serde_json::from_slice(&json).map_err(PackageError::BadConnection)?;
            if info.address.is_empty() {
                return Err(PackageError::EmptyAddress);
            }
            Some(info)
        }
        ("ccaas", None) => return Err(PackageError::MissingCode),
        _ => None,
    };
    Ok(Package {
        package_id: package_id(&metadata.label, bytes),
        metadata,
        connection,
    })
}

/// The label and type recorded in a package's `metadata.json`.
pub fn read_metadata(package_bytes: &[u8]) -> Result<(String, String)> {
    let package = parse_package(package_bytes)?;
    Ok((package.metadata.label, package.metadata.kind))
}

/// The package id of an existing package file, as a peer computes it on install.
pub fn package_id_of(package_bytes: &[u8]) -> Result<String> {
    Ok(parse_package(package_bytes)?.package_id)
}

/// The `connection.json` inside a CCaaS package.
pub fn read_connection(package_bytes: &[u8]) -> Result<CcaasConnection> {
    let package = parse_package(package_bytes)?;
    package
        .connection
        .ok_or(PackageError::NotCcaas(package.metadata.kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    use healthblock_test_support::read_vector as vector;

    #[test]
    fn fabric_package_id_matches_the_vectors() {
        let bytes = vector("chaincode/anchorcc.tgz");
        let expected: serde_json::Value = serde_json::from_slice(&vector("expected.json")).unwrap();
        let package = parse_package(&bytes).unwrap();
        assert_eq!(
            package.package_id,
            expected["chaincode"]["package_id"].as_str().unwrap()
        );
        assert_eq!(
            package_id_of(&bytes).unwrap(),
            "anchorcc_1.0:d30550cb57f927a25071e9c1af6d6c01c830c5768b38c04d1d80b0a2a0e97893"
        );
        assert_eq!(package.metadata.kind, "ccaas");
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
        let read = read_connection(&a.bytes).unwrap();
        assert_eq!(read, conn);
        assert_eq!(read.dial_timeout().unwrap(), Duration::from_secs(10));

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
        let files = untar_gz(&pkg.bytes, "package", &["metadata.json"]).unwrap();
        assert_eq!(files[0].1, br#"{"type":"ccaas","label":"x"}"#);
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
    fn a_peer_reads_defaults_for_absent_fields() {
        let conn: CcaasConnection = serde_json::from_str(r#"{"address":"a:1"}"#).unwrap();
        assert_eq!(conn.dial_timeout().unwrap(), Duration::from_secs(3));
        assert!(!conn.tls_required);
        let bad = CcaasConnection {
            dial_timeout: "soon".into(),
            ..conn
        };
        assert_eq!(
            bad.dial_timeout().unwrap_err().to_string(),
            "connection.json: invalid dial_timeout 'soon'"
        );
    }

    #[test]
    fn bad_labels_and_garbage_packages_are_rejected() {
        assert!(validate_label("anchorcc_1.0").is_ok());
        for bad in ["", "_x", "a b", "-bad"] {
            assert!(matches!(
                validate_label(bad),
                Err(PackageError::InvalidLabel(_))
            ));
        }
        let err = build_ccaas_package("a/b", &CcaasConnection::plaintext("h:1")).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("invalid label 'a/b'. Label must be non-empty"));
        assert!(matches!(
            parse_package(b"not a tgz"),
            Err(PackageError::NotTarGz { .. } | PackageError::CorruptEntry { .. })
        ));
        let no_address = build_ccaas_package("x", &CcaasConnection::plaintext("")).unwrap();
        assert!(matches!(
            parse_package(&no_address.bytes),
            Err(PackageError::EmptyAddress)
        ));
    }

    #[test]
    fn rendering_fills_templates_and_drops_tls_fields_without_tls() {
        let config = ccaas_template::parse_config(r#"{"peername":"peer0hospital1"}"#).unwrap();
        let mut conn = CcaasConnection::plaintext("{{.peername}}.kv:9999");
        conn.root_cert = Some("{{.missing}}".into());
        conn.client_auth_required = true;
        conn.domain = Some("{{.peername}}".into());
        let out = conn.rendered(&config).unwrap();
        assert_eq!(out.address, "peer0hospital1.kv:9999");
        assert_eq!(out.dial_timeout, "10s");
        assert_eq!(out.root_cert, None);
        assert!(!out.client_auth_required);
        // `domain` is a devnet addition, not one of Fabric's templated fields.
        assert_eq!(out.domain.as_deref(), Some("{{.peername}}"));
        conn.tls_required = true;
        let err = conn.rendered(&config).unwrap_err().to_string();
        assert!(err.starts_with("the root_cert field template: "), "{err}");
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("ten"), None);
        assert_eq!(parse_go_duration("99999999999999999999999999h"), None);
    }
}
