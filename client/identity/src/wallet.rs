//! The local wallet of enrolled identities.
//!
//! Owns: one folder per identity, `<home>/wallet/<user>@<Org>/`, holding
//! `cert.pem`, `key.pem` (0600), `ca.pem` (the CA chain) and `id.json` (who
//! it is: org, MSP id, role, pseudonym, CA, enrollment time); writing an
//! entry atomically (a folder is complete or absent); reading it back as a
//! [`SigningIdentity`]. The wallet and its folders are owner-only (0700).

use crate::error::{IdentityError, Result};
use crate::role::Role;
use fabric_msp::SigningIdentity;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub const CERT_FILE: &str = "cert.pem";
pub const KEY_FILE: &str = "key.pem";
pub const CA_FILE: &str = "ca.pem";
pub const ID_FILE: &str = "id.json";
/// Longest user name: Fabric CA limits a certificate's CN to 64 characters.
const MAX_NAME_LEN: usize = 64;

/// What `id.json` records about an identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletId {
    /// Enrollment id (the certificate's CN).
    pub name: String,
    /// Organisation name, e.g. `Hospital1`.
    pub org: String,
    pub mspid: String,
    /// Always `X.509`.
    #[serde(rename = "type")]
    pub kind: String,
    pub role: Option<Role>,
    pub pseudonym: Option<String>,
    pub ca_url: String,
    /// RFC 3339.
    pub enrolled_at: String,
}

impl WalletId {
    /// `name@Org`, the wallet label and the CLI's `--as` form.
    pub fn label(&self) -> String {
        label(&self.name, &self.org)
    }
}

/// One stored identity (the key stays on disk until [`Wallet::signing_identity`]).
#[derive(Debug, Clone)]
pub struct WalletEntry {
    pub id: WalletId,
    pub dir: PathBuf,
    pub cert_pem: Vec<u8>,
    pub ca_pem: Vec<u8>,
}

/// `name@Org`.
pub fn label(name: &str, org: &str) -> String {
    format!("{name}@{org}")
}

/// Checks a user or org name: it becomes a certificate CN and a folder name.
pub fn validate_name(what: &'static str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(IdentityError::invalid(
            what,
            format!(
                "{name:?} must be 1-{MAX_NAME_LEN} ASCII letters, digits, '-', '_' or '.', not starting with '.'"
            ),
        ))
    }
}

/// The wallet folder.
#[derive(Debug, Clone)]
pub struct Wallet {
    dir: PathBuf,
}

impl Wallet {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The folder of `name@org`.
    pub fn entry_dir(&self, name: &str, org: &str) -> Result<PathBuf> {
        validate_name("user name", name)?;
        validate_name("organisation", org)?;
        Ok(self.dir.join(label(name, org)))
    }

    pub fn contains(&self, name: &str, org: &str) -> bool {
        self.entry_dir(name, org)
            .is_ok_and(|d| d.join(ID_FILE).is_file())
    }

    /// Stores an identity, replacing an older one of the same name.
    pub fn put(
        &self,
        id: &WalletId,
        cert_pem: &[u8],
        key_pem: &[u8],
        ca_pem: &[u8],
    ) -> Result<PathBuf> {
        let target = self.entry_dir(&id.name, &id.org)?;
        private_dir(&self.dir)?;
        let mut nonce = [0u8; 8];
        OsRng.fill_bytes(&mut nonce);
        let staging = self.dir.join(format!(
            ".staging-{}-{}",
            id.label(),
            nonce.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ));
        private_dir(&staging)?;
        let json = serde_json::to_vec_pretty(id).map_err(|e| IdentityError::Wallet {
            path: staging.clone(),
            message: e.to_string(),
        })?;
        let written = write_file(&staging.join(KEY_FILE), key_pem, 0o600)
            .and_then(|()| write_file(&staging.join(CERT_FILE), cert_pem, 0o644))
            .and_then(|()| write_file(&staging.join(CA_FILE), ca_pem, 0o644))
            .and_then(|()| write_file(&staging.join(ID_FILE), &json, 0o644))
            .and_then(|()| replace_dir(&staging, &target));
        if written.is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        written.map(|()| target)
    }

    /// Reads `name@org` (certificate, chain and description; not the key).
    pub fn get(&self, name: &str, org: &str) -> Result<WalletEntry> {
        let dir = self.entry_dir(name, org)?;
        if !dir.join(ID_FILE).is_file() {
            return Err(IdentityError::NotInWallet {
                name: label(name, org),
                dir: self.dir.clone(),
            });
        }
        let id: WalletId = serde_json::from_slice(&read(&dir.join(ID_FILE))?).map_err(|e| {
            IdentityError::Wallet {
                path: dir.join(ID_FILE),
                message: e.to_string(),
            }
        })?;
        Ok(WalletEntry {
            id,
            cert_pem: read(&dir.join(CERT_FILE))?,
            ca_pem: read(&dir.join(CA_FILE))?,
            dir,
        })
    }

    /// `name@org` with its key, ready to sign.
    pub fn signing_identity(&self, name: &str, org: &str) -> Result<SigningIdentity> {
        let entry = self.get(name, org)?;
        let key = read(&entry.dir.join(KEY_FILE))?;
        Ok(SigningIdentity::from_pem(
            &entry.id.mspid,
            &entry.cert_pem,
            &key,
        )?)
    }

    /// Every identity in the wallet, by label.
    pub fn list(&self) -> Result<Vec<WalletId>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(IdentityError::io(&self.dir, e)),
        };
        let mut ids = Vec::new();
        for entry in entries.filter_map(|e| e.ok()) {
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let Some((user, org)) = name.rsplit_once('@') else {
                continue;
            };
            if !name.starts_with('.') {
                ids.push(self.get(user, org)?.id);
            }
        }
        ids.sort_by_key(WalletId::label);
        Ok(ids)
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| IdentityError::io(path, e))
}

/// Creates `dir` (with parents) and makes it owner-only.
fn private_dir(dir: &Path) -> Result<()> {
    let err = |e| IdentityError::io(dir, e);
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(err)?;
    std::fs::set_permissions(dir, Permissions::from_mode(0o700)).map_err(err)
}

/// Writes a new file created with `mode` (a key is never readable by others).
fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| IdentityError::io(path, e))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| IdentityError::io(path, e))
}

/// Moves a complete `staging` folder to `target`, replacing an older entry.
fn replace_dir(staging: &Path, target: &Path) -> Result<()> {
    if target.exists() {
        std::fs::remove_dir_all(target).map_err(|e| IdentityError::io(target, e))?;
    }
    std::fs::rename(staging, target).map_err(|e| IdentityError::io(target, e))
}

#[cfg(test)]
mod tests;
