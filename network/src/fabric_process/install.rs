//! Finding the operator's Fabric installation.
//!
//! Owns: reading `FABRIC_BIN` and `FABRIC_CFG_PATH` and checking, before
//! anything starts, that they hold what the backend runs: Fabric's release
//! layout puts `peer`, `orderer`, `osnadmin` and `configtxgen` in `bin/` and
//! `core.yaml` and `orderer.yaml` in `config/`.

use std::path::{Path, PathBuf};

/// Environment variable naming the directory of Fabric's executables.
pub const BIN_ENV: &str = "FABRIC_BIN";
/// Environment variable naming the directory of `core.yaml` and `orderer.yaml`.
pub const CFG_ENV: &str = "FABRIC_CFG_PATH";

/// Executables the backend runs.
pub const BINARIES: [&str; 4] = ["peer", "orderer", "osnadmin", "configtxgen"];
/// Configuration files the peer and the orderer read their defaults from.
pub const CONFIG_FILES: [&str; 2] = ["core.yaml", "orderer.yaml"];

/// A usable Fabric installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FabricInstall {
    pub bin: PathBuf,
    pub cfg: PathBuf,
}

/// What is missing from the installation, as one message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the fabric backend needs Hyperledger Fabric v3.1 binaries: set {BIN_ENV} to the release's bin/ \
     (peer, orderer, osnadmin, configtxgen) and {CFG_ENV} to its config/ (core.yaml, orderer.yaml); \
     missing: {}", .missing.join(", ")
)]
pub struct InstallError {
    pub missing: Vec<String>,
}

impl FabricInstall {
    /// Reads [`BIN_ENV`] and [`CFG_ENV`] and checks them.
    pub fn from_env() -> Result<Self, InstallError> {
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
        Self::check(
            var(BIN_ENV).map(PathBuf::from),
            var(CFG_ENV).map(PathBuf::from),
        )
    }

    /// Checks both directories; every missing variable or file is named at once.
    pub fn check(bin: Option<PathBuf>, cfg: Option<PathBuf>) -> Result<Self, InstallError> {
        let mut missing = Vec::new();
        match &bin {
            None => missing.push(BIN_ENV.to_owned()),
            Some(dir) => missing.extend(missing_files(dir, &BINARIES, true)),
        }
        match &cfg {
            None => missing.push(CFG_ENV.to_owned()),
            Some(dir) => missing.extend(missing_files(dir, &CONFIG_FILES, false)),
        }
        match (bin, cfg) {
            (Some(bin), Some(cfg)) if missing.is_empty() => Ok(Self { bin, cfg }),
            _ => Err(InstallError { missing }),
        }
    }

    /// Path of one of Fabric's executables.
    pub fn binary(&self, name: &str) -> PathBuf {
        self.bin.join(name)
    }
}

fn missing_files(dir: &Path, names: &[&str], executable: bool) -> Vec<String> {
    names
        .iter()
        .map(|n| dir.join(n))
        .filter(|p| !(p.is_file() && (!executable || is_executable(p))))
        .map(|p| p.display().to_string())
        .collect()
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn touch(path: &Path, mode: u32) {
        std::fs::write(path, b"").unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn unset_variables_are_named() {
        let err = FabricInstall::check(None, None).unwrap_err();
        assert_eq!(err.missing, vec![BIN_ENV, CFG_ENV]);
        let text = err.to_string();
        assert!(text.contains("bin/") && text.contains("config/"), "{text}");
    }

    #[test]
    fn every_missing_file_is_named_and_a_complete_install_passes() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        let cfg = dir.path().join("config");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&cfg).unwrap();
        touch(&bin.join("peer"), 0o755);
        touch(&bin.join("orderer"), 0o644); // not executable
        touch(&cfg.join("core.yaml"), 0o644);
        let err = FabricInstall::check(Some(bin.clone()), Some(cfg.clone())).unwrap_err();
        let names: Vec<_> = err
            .missing
            .iter()
            .map(|p| {
                Path::new(p)
                    .file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            names,
            vec!["orderer", "osnadmin", "configtxgen", "orderer.yaml"]
        );
        for name in ["orderer", "osnadmin", "configtxgen"] {
            touch(&bin.join(name), 0o755);
        }
        touch(&cfg.join("orderer.yaml"), 0o644);
        let install = FabricInstall::check(Some(bin.clone()), Some(cfg)).unwrap();
        assert_eq!(install.binary("peer"), bin.join("peer"));
    }
}
