//! Chaincode install packages (the `peer lifecycle chaincode package` format)
//! and the connection details of a chaincode-as-a-service server.
//!
//! Owns: reading a package `.tgz` (`metadata.json` + `code.tar.gz`), the
//! package id (`<label>:<hex sha256 of the package bytes>`), the package
//! store under `<data_dir>/packages/`, and `connection.json`.

use crate::ccaas_template::{render, BuilderConfig, TemplateError};
use serde::Deserialize;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Largest file we read out of a package (a CCaaS package holds two small JSON files).
const MAX_ENTRY_BYTES: u64 = 16 * 1024 * 1024;

/// `metadata.json` of a package.
#[derive(Debug, Clone, Deserialize)]
pub struct PackageMetadata {
    #[serde(rename = "type")]
    pub kind: String,
    pub label: String,
}

/// `connection.json` inside `code.tar.gz` of a CCaaS package.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConnectionInfo {
    pub address: String,
    #[serde(default)]
    pub dial_timeout: String,
    #[serde(default)]
    pub tls_required: bool,
    #[serde(default)]
    pub client_auth_required: bool,
    #[serde(default)]
    pub root_cert: String,
    #[serde(default)]
    pub client_key: String,
    #[serde(default)]
    pub client_cert: String,
    /// TLS server name to expect (defaults to the host of `address`).
    #[serde(default)]
    pub domain: String,
}

impl ConnectionInfo {
    /// The connection as one peer uses it: the fields Fabric's CCaaS builder
    /// templates rendered with the peer's builder configuration (the rules of
    /// [`crate::ccaas_template::render_connection`]: the client TLS fields
    /// only with `tls_required`). `domain`, a devnet addition, is kept as is.
    pub fn rendered(&self, config: &BuilderConfig) -> Result<Self, TemplateError> {
        let field = |field: &'static str, text: &str| {
            render(text, config).map_err(|e| TemplateError::Field {
                field,
                source: Box::new(e),
            })
        };
        let tls = |name: &'static str, text: &str| {
            if self.tls_required {
                field(name, text)
            } else {
                Ok(String::new())
            }
        };
        Ok(Self {
            address: field("address", &self.address)?,
            dial_timeout: field("dial_timeout", &self.dial_timeout)?,
            tls_required: self.tls_required,
            client_auth_required: self.tls_required && self.client_auth_required,
            root_cert: tls("root_cert", &self.root_cert)?,
            client_key: tls("client_key", &self.client_key)?,
            client_cert: tls("client_cert", &self.client_cert)?,
            domain: self.domain.clone(),
        })
    }

    /// The dial timeout (Go duration syntax such as `10s`; 3 s when absent, as Fabric).
    pub fn dial_timeout(&self) -> Result<Duration, String> {
        if self.dial_timeout.is_empty() {
            return Ok(Duration::from_secs(3));
        }
        parse_go_duration(&self.dial_timeout).ok_or_else(|| {
            format!(
                "connection.json: invalid dial_timeout '{}'",
                self.dial_timeout
            )
        })
    }
}

/// A parsed install package.
#[derive(Debug, Clone)]
pub struct Package {
    pub metadata: PackageMetadata,
    pub package_id: String,
    pub connection: Option<ConnectionInfo>,
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

/// The files of a gzipped tar, by path (only regular files, each up to `MAX_ENTRY_BYTES`).
fn untar_gz(bytes: &[u8], what: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let entries = archive
        .entries()
        .map_err(|e| format!("{what} is not a gzipped tar: {e}"))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("{what}: corrupt tar entry: {e}"))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(|e| format!("{what}: bad entry path: {e}"))?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        let mut data = Vec::new();
        entry
            .take(MAX_ENTRY_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(|e| format!("{what}: cannot read {path}: {e}"))?;
        if data.len() as u64 > MAX_ENTRY_BYTES {
            return Err(format!(
                "{what}: {path} is larger than {MAX_ENTRY_BYTES} bytes"
            ));
        }
        files.push((path, data));
    }
    Ok(files)
}

/// Fabric's label rule: `^[[:alnum:]][[:alnum:]_.+-]*$`.
fn valid_label(label: &str) -> bool {
    let mut chars = label.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'))
}

/// Parses an install package and computes its package id.
pub fn parse_package(bytes: &[u8]) -> Result<Package, String> {
    let files = untar_gz(bytes, "chaincode install package")?;
    let find = |name: &str| {
        files
            .iter()
            .find(|(p, _)| p == name)
            .map(|(_, d)| d.as_slice())
    };
    let metadata_bytes =
        find("metadata.json").ok_or("chaincode install package is missing metadata.json")?;
    let metadata: PackageMetadata = serde_json::from_slice(metadata_bytes)
        .map_err(|e| format!("could not unmarshal metadata.json: {e}"))?;
    if !valid_label(&metadata.label) {
        return Err(format!(
            "invalid label '{}'. Label must be non-empty, can only consist of alphanumerics, symbols from '.+-_', and can only begin with alphanumerics",
            metadata.label
        ));
    }
    let connection = match (metadata.kind.as_str(), find("code.tar.gz")) {
        ("ccaas", Some(code)) => {
            let inner = untar_gz(code, "code.tar.gz")?;
            let json = inner
                .iter()
                .find(|(p, _)| p == "connection.json")
                .map(|(_, d)| d.as_slice())
                .ok_or("code.tar.gz of a ccaas package is missing connection.json")?;
            let info: ConnectionInfo = serde_json::from_slice(json)
                .map_err(|e| format!("could not unmarshal connection.json: {e}"))?;
            if info.address.is_empty() {
                return Err("connection.json: address is empty".into());
            }
            Some(info)
        }
        ("ccaas", None) => return Err("ccaas package is missing code.tar.gz".into()),
        _ => None,
    };
    let package_id = format!(
        "{}:{}",
        metadata.label,
        hex::encode(fabric_msp::sha256(bytes))
    );
    Ok(Package {
        metadata,
        package_id,
        connection,
    })
}

/// Installed packages of one peer, as files `<dir>/<package id>.tgz`.
#[derive(Debug, Clone)]
pub struct PackageStore {
    dir: PathBuf,
}

impl PackageStore {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("packages"),
        }
    }

    fn path(&self, package_id: &str) -> Result<PathBuf, String> {
        // A package id is `<label>:<hex>`; anything with a path separator is not one of ours.
        if package_id.is_empty() || package_id.contains(['/', '\\']) || package_id.starts_with('.')
        {
            return Err(format!("invalid package id '{package_id}'"));
        }
        Ok(self.dir.join(format!("{package_id}.tgz")))
    }

    /// Stores a package (idempotent: the same bytes give the same id and file).
    pub fn install(&self, bytes: &[u8]) -> Result<Package, String> {
        let package = parse_package(bytes)?;
        let path = self.path(&package.package_id)?;
        if path.is_file() {
            return Ok(package);
        }
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| format!("cannot create {}: {e}", self.dir.display()))?;
        // Write to a temporary name and rename, so a crash never leaves a torn package.
        let tmp = self
            .dir
            .join(format!(".{}.tmp", hex::encode(fabric_msp::sha256(bytes))));
        std::fs::write(&tmp, bytes).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &path)
            .map_err(|e| format!("cannot store {}: {e}", path.display()))?;
        Ok(package)
    }

    /// An installed package, or None.
    pub fn load(&self, package_id: &str) -> Result<Option<Package>, String> {
        let path = self.path(package_id)?;
        match std::fs::read(&path) {
            Ok(bytes) => parse_package(&bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// All installed packages, sorted by package id.
    pub fn list(&self) -> Result<Vec<Package>, String> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(format!("cannot list {}: {e}", self.dir.display())),
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|e| format!("cannot list {}: {e}", self.dir.display()))?
                .path();
            let is_package = path.extension().is_some_and(|e| e == "tgz")
                && !path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if is_package {
                let bytes = std::fs::read(&path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                out.push(parse_package(&bytes)?);
            }
        }
        out.sort_by(|a, b| a.package_id.cmp(&b.package_id));
        Ok(out)
    }
}

/// Builds a CCaaS package `.tgz` (for tests and tools): metadata.json + code.tar.gz/connection.json.
pub fn build_ccaas_package(label: &str, connection_json: &str) -> Result<Vec<u8>, String> {
    let code = tar_gz(&[("connection.json", connection_json.as_bytes())])?;
    let metadata = format!(r#"{{"type":"ccaas","label":"{label}"}}"#);
    tar_gz(&[
        ("metadata.json", metadata.as_bytes()),
        ("code.tar.gz", &code),
    ])
}

fn tar_gz(files: &[(&str, &[u8])]) -> Result<Vec<u8>, String> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(encoder);
    for (name, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, name, *data)
            .map_err(|e| format!("tar {name}: {e}"))?;
    }
    let encoder = builder.into_inner().map_err(|e| format!("tar: {e}"))?;
    encoder.finish().map_err(|e| format!("gzip: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Fabric v3.1.5 golden vectors kept in the repository (`fabric/testdata/`).
    fn vectors_dir() -> PathBuf {
        healthblock_test_support::fabric_vectors()
    }

    #[test]
    fn fabric_package_id_matches_the_vectors() {
        let dir = vectors_dir();
        let bytes = std::fs::read(dir.join("chaincode/anchorcc.tgz")).unwrap();
        let package = parse_package(&bytes).unwrap();
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        assert_eq!(
            package.package_id,
            expected["chaincode"]["package_id"].as_str().unwrap()
        );
        assert_eq!(package.metadata.kind, "ccaas");
        assert!(!package.connection.unwrap().address.is_empty());
    }

    #[test]
    fn store_round_trip_and_idempotent_install() {
        let tmp = tempfile::tempdir().unwrap();
        let store = PackageStore::new(tmp.path());
        let bytes = build_ccaas_package(
            "kv_1.0",
            r#"{"address":"127.0.0.1:9999","dial_timeout":"2s"}"#,
        )
        .unwrap();
        let a = store.install(&bytes).unwrap();
        let b = store.install(&bytes).unwrap();
        assert_eq!(a.package_id, b.package_id);
        assert!(a.package_id.starts_with("kv_1.0:"));
        let loaded = store.load(&a.package_id).unwrap().unwrap();
        let conn = loaded.connection.unwrap();
        assert_eq!(conn.address, "127.0.0.1:9999");
        assert_eq!(conn.dial_timeout().unwrap(), Duration::from_secs(2));
        assert_eq!(store.list().unwrap().len(), 1);
        assert!(store.load("nope:00").unwrap().is_none());
        assert!(store.load("../x").is_err());
    }

    #[test]
    fn rejects_garbage_and_bad_labels() {
        assert!(parse_package(b"not a tgz").is_err());
        let bad = build_ccaas_package("-bad", r#"{"address":"a:1"}"#).unwrap();
        assert!(parse_package(&bad).unwrap_err().contains("invalid label"));
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("ten"), None);
        assert_eq!(parse_go_duration("99999999999999999999999999h"), None);
    }
}
