//! Installed chaincode packages of one peer.
//!
//! Owns: the package store under `<data_dir>/packages/` (one file
//! `<package id>.tgz` per package, written atomically). The package format
//! itself (layout, label, package id, `connection.json`) is
//! `fabric_package`'s, shared with the client that builds packages.

use crate::error::{EndorserError, Result};
pub(crate) use fabric_package::{parse_package, CcaasConnection, Package};
use std::path::{Path, PathBuf};

/// Installed packages of one peer, as files `<dir>/<package id>.tgz`.
#[derive(Debug, Clone)]
pub(crate) struct PackageStore {
    dir: PathBuf,
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> EndorserError {
    let path = path.to_owned();
    move |source| EndorserError::Io {
        action,
        path,
        source,
    }
}

impl PackageStore {
    pub(crate) fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("packages"),
        }
    }

    fn path(&self, package_id: &str) -> Result<PathBuf> {
        // A package id is `<label>:<hex>`; anything with a path separator is not one of ours.
        if package_id.is_empty() || package_id.contains(['/', '\\']) || package_id.starts_with('.')
        {
            return Err(EndorserError::InvalidPackageId(package_id.to_owned()));
        }
        Ok(self.dir.join(format!("{package_id}.tgz")))
    }

    /// Stores a package (idempotent: the same bytes give the same id and file).
    pub(crate) fn install(&self, bytes: &[u8]) -> Result<Package> {
        let package = parse_package(bytes)?;
        let path = self.path(&package.package_id)?;
        if path.is_file() {
            return Ok(package);
        }
        std::fs::create_dir_all(&self.dir).map_err(io("create", &self.dir))?;
        // Write to a temporary name and rename, so a crash never leaves a torn package.
        let tmp = self
            .dir
            .join(format!(".{}.tmp", hex::encode(fabric_msp::sha256(bytes))));
        std::fs::write(&tmp, bytes).map_err(io("write", &tmp))?;
        std::fs::rename(&tmp, &path).map_err(io("store", &path))?;
        Ok(package)
    }

    /// An installed package, or None.
    pub(crate) fn load(&self, package_id: &str) -> Result<Option<Package>> {
        let path = self.path(package_id)?;
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(parse_package(&bytes)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("read", &path)(e)),
        }
    }

    /// All installed packages, sorted by package id.
    pub(crate) fn list(&self) -> Result<Vec<Package>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("list", &self.dir)(e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry.map_err(io("list", &self.dir))?.path();
            let is_package = path.extension().is_some_and(|e| e == "tgz")
                && !path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if is_package {
                let bytes = std::fs::read(&path).map_err(io("read", &path))?;
                out.push(parse_package(&bytes)?);
            }
        }
        out.sort_by(|a, b| a.package_id.cmp(&b.package_id));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabric_package::build_ccaas_package;
    use std::time::Duration;

    #[test]
    fn store_round_trip_and_idempotent_install() {
        let tmp = tempfile::tempdir().unwrap();
        let store = PackageStore::new(tmp.path());
        let connection = CcaasConnection {
            dial_timeout: "2s".into(),
            ..CcaasConnection::plaintext("127.0.0.1:9999")
        };
        let bytes = build_ccaas_package("kv_1.0", &connection).unwrap().bytes;
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
        assert!(matches!(
            store.load("../x"),
            Err(EndorserError::InvalidPackageId(_))
        ));
    }

    #[test]
    fn garbage_is_refused_with_the_peers_words() {
        let tmp = tempfile::tempdir().unwrap();
        let store = PackageStore::new(tmp.path());
        let err = store.install(b"not a tgz").unwrap_err();
        assert!(matches!(err, EndorserError::Package(_)), "{err:?}");
        assert!(store.list().unwrap().is_empty());
    }
}
