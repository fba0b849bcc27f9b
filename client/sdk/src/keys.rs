//! Owns: the key material clinical operations use, behind the [`KeyStore`]
//! trait: each party's encryption key pair (users, hospitals, patients) and
//! the consortium's two secrets (the pseudonym key and the blind-index key);
//! the patient pseudonym derived from a name; and the one way a private key
//! file is written ([`write_private`]: created 0600, never overwritten).
//!
//! [`FsKeyStore`] keeps everything on local disk, as the demo's single
//! machine does: pairs beside the wallet, generated on first use, other
//! parties' public keys read from the same wallet. In production each party
//! generates its own pair and publishes only the public key, and a
//! [`KeyStore`] of its own (an HSM, a key service) answers these calls.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use healthblock_ehr_types::model::PatientId;
use rand_core::{OsRng, RngCore};
use wbcb::{EncryptionPublicKey, EncryptionSecretKey, IndexKey, WbcbError};
use zeroize::Zeroizing;

/// Whose encryption key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOwner<'a> {
    /// A user, as the contract names them: `CN@MSPID`.
    User(&'a str),
    /// A hospital, by MSP id.
    Hospital(&'a str),
    /// A patient, by pseudonym.
    Patient(&'a PatientId),
}

impl std::fmt::Display for KeyOwner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyOwner::User(u) => write!(f, "user {u}"),
            KeyOwner::Hospital(h) => write!(f, "hospital {h}"),
            KeyOwner::Patient(p) => write!(f, "patient {p}"),
        }
    }
}

/// The consortium's shared secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsortiumSecret {
    /// The WBCB blind-index key. (No consortium key maps names to patient
    /// ids: ids are random, see [`crate::mpi`].)
    BlindIndex,
}

impl ConsortiumSecret {
    fn file_stem(self) -> &'static str {
        match self {
            ConsortiumSecret::BlindIndex => "blind-index",
        }
    }
}

/// Why key material is unavailable.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key file could not be read or written.
    #[error("{}: cannot {what}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A key file does not hold a key.
    #[error("{}: not a valid key", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: WbcbError,
    },
    /// A consortium secret is not 64 hex digits.
    #[error("{}: must hold 64 hex digits", path.display())]
    MalformedSecret {
        /// The file.
        path: PathBuf,
    },
    /// This store holds no key for the owner, and knows no way to get one.
    #[error("no key for {owner}: {reason}")]
    Unknown {
        /// Whose key.
        owner: String,
        /// Why.
        reason: String,
    },
    /// A key could not be generated or encoded.
    #[error("cannot {what}")]
    Crypto {
        /// What was being done.
        what: &'static str,
        /// Why.
        #[source]
        source: WbcbError,
    },
}

/// Where the SDK finds key material.
pub trait KeyStore: Send + Sync {
    /// The secret key of an owner this client acts for (the caller, their
    /// hospital, the patient themself).
    fn secret_key(&self, owner: KeyOwner<'_>) -> Result<EncryptionSecretKey, KeyError>;
    /// The public half of an owner this client acts for. Other parties'
    /// keys come from the key directory on the ledger, never from here.
    fn public_key(&self, owner: KeyOwner<'_>) -> Result<EncryptionPublicKey, KeyError>;
    /// One of the consortium's 32-byte secrets.
    fn consortium_secret(&self, which: ConsortiumSecret) -> Result<Zeroizing<[u8; 32]>, KeyError>;
    /// Retires the owner's current pair (kept, so wraps sealed to it still
    /// open) and makes a new one; returns the new public key.
    fn rotate(&self, owner: KeyOwner<'_>) -> Result<EncryptionPublicKey, KeyError> {
        Err(KeyError::Unknown {
            owner: owner.to_string(),
            reason: "this key store cannot rotate keys".into(),
        })
    }
    /// The owner's retired secret keys (oldest order not guaranteed).
    fn retired_secret_keys(
        &self,
        owner: KeyOwner<'_>,
    ) -> Result<Vec<EncryptionSecretKey>, KeyError> {
        let _ = owner;
        Ok(Vec::new())
    }
}

/// Creates `path` with mode 0600 and writes `bytes`; fails if it exists, so
/// a private key is never replaced by accident (delete it first, on
/// purpose, to replace it). The file is synced before this returns.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|source| KeyError::File {
        path: dir.to_path_buf(),
        what: "create the directory",
        source,
    })?;
    let file_error = |what, source| KeyError::File {
        path: path.to_path_buf(),
        what,
        source,
    };
    // Written in full under a private temporary name, then linked into place:
    // another process never sees the file half-written (it either does not
    // exist yet or holds every byte), and an existing file is never replaced.
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{:016x}.tmp", OsRng.next_u64()));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&tmp)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()));
    let linked = written
        .map_err(|e| file_error("write the private key file", e))
        .and_then(|()| {
            fs::hard_link(&tmp, path).map_err(|e| file_error("create the private key file", e))
        });
    let _ = fs::remove_file(&tmp);
    linked
}

/// The consortium's blind-index key.
pub fn index_key(keys: &dyn KeyStore) -> Result<IndexKey, KeyError> {
    let secret = keys.consortium_secret(ConsortiumSecret::BlindIndex)?;
    IndexKey::from_hex(&hex::encode(secret.as_ref())).map_err(|source| KeyError::Crypto {
        what: "use the blind-index key",
        source,
    })
}

/// Finds a user's wallet folder from the certificate CN and the
/// organisation's name (the wallet's own naming; see `healthblock-identity`).
pub type UserDirs = Arc<dyn Fn(&str, &str) -> Option<PathBuf> + Send + Sync>;

const SECRET_KEY_FILE: &str = "encryption.key.pem";
const PUBLIC_KEY_FILE: &str = "encryption.pub.pem";
/// Where an owner's rotated pairs are kept, one folder per fingerprint.
const RETIRED_DIR: &str = "retired";

/// Key material on local disk:
///
/// - consortium secrets: `<secrets>/pseudonym.key`, `<secrets>/blind-index.key`
///   (64 hex digits from the OS random source, created on first use);
/// - user pairs beside their wallet identity:
///   `<user dir>/encryption.{key,pub}.pem`;
/// - hospital pairs: `<wallet>/hospitals/<Org name>/...`;
/// - patient pairs: `<wallet>/patients/<pseudonym>/...`.
///
/// Pairs are generated on first use.
#[derive(Clone)]
pub struct FsKeyStore {
    secrets_dir: PathBuf,
    wallet_dir: PathBuf,
    /// MSP id -> organisation name.
    orgs: BTreeMap<String, String>,
    user_dirs: UserDirs,
}

impl std::fmt::Debug for FsKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsKeyStore")
            .field("secrets_dir", &self.secrets_dir)
            .field("wallet_dir", &self.wallet_dir)
            .field("orgs", &self.orgs)
            .finish_non_exhaustive()
    }
}

impl FsKeyStore {
    /// A store over `secrets_dir` and `wallet_dir`; `orgs` maps MSP ids to
    /// organisation names, `user_dirs` finds a user's wallet folder.
    pub fn new(
        secrets_dir: impl Into<PathBuf>,
        wallet_dir: impl Into<PathBuf>,
        orgs: BTreeMap<String, String>,
        user_dirs: UserDirs,
    ) -> Self {
        FsKeyStore {
            secrets_dir: secrets_dir.into(),
            wallet_dir: wallet_dir.into(),
            orgs,
            user_dirs,
        }
    }

    fn org_name(&self, mspid: &str, owner: KeyOwner<'_>) -> Result<&str, KeyError> {
        self.orgs
            .get(mspid)
            .map(String::as_str)
            .ok_or_else(|| KeyError::Unknown {
                owner: owner.to_string(),
                reason: format!("organisation {mspid} is not in the consortium"),
            })
    }

    fn dir_of(&self, owner: KeyOwner<'_>) -> Result<PathBuf, KeyError> {
        match owner {
            KeyOwner::User(user) => {
                let unknown = |reason: String| KeyError::Unknown {
                    owner: owner.to_string(),
                    reason,
                };
                let (cn, msp) = user
                    .rsplit_once('@')
                    .ok_or_else(|| unknown("a user is named CN@MSPID".into()))?;
                let org = self.org_name(msp, owner)?;
                // cryptogen names its users `Name@domain` in the CN; the
                // wallet files them (like its own users) under `Name`.
                let cn = cn.split('@').next().unwrap_or(cn);
                (self.user_dirs)(cn, org)
                    .ok_or_else(|| unknown(format!("{cn} is not a valid wallet name")))
            }
            KeyOwner::Hospital(msp) => Ok(self
                .wallet_dir
                .join("hospitals")
                .join(self.org_name(msp, owner)?)),
            KeyOwner::Patient(pid) => Ok(self.wallet_dir.join("patients").join(pid.as_str())),
        }
    }
}

/// Reads the private key at `secret_path`.
fn load(secret_path: &Path) -> Result<EncryptionSecretKey, KeyError> {
    let text =
        Zeroizing::new(
            fs::read_to_string(secret_path).map_err(|source| KeyError::File {
                path: secret_path.to_path_buf(),
                what: "read the private key",
                source,
            })?,
        );
    EncryptionSecretKey::from_pem(&text).map_err(|source| KeyError::Malformed {
        path: secret_path.to_path_buf(),
        source,
    })
}

/// A key pair in a directory, generated on first use.
fn load_or_create(dir: &Path) -> Result<EncryptionSecretKey, KeyError> {
    let secret_path = dir.join(SECRET_KEY_FILE);
    if secret_path.exists() {
        return load(&secret_path);
    }
    let crypto = |what| move |source| KeyError::Crypto { what, source };
    let secret = EncryptionSecretKey::generate().map_err(crypto("generate a key pair"))?;
    let pem = secret.to_pem().map_err(crypto("encode a private key"))?;
    if let Err(e) = write_private(&secret_path, pem.as_bytes()) {
        let lost_race = matches!(&e, KeyError::File { source, .. }
            if source.kind() == std::io::ErrorKind::AlreadyExists);
        if !lost_race {
            return Err(e);
        }
        // Another task created the pair first: never replace it, use theirs once its
        // writer has finished (it writes and syncs right after creating the file).
        return load_after_race(&secret_path, e);
    }
    let public_path = dir.join(PUBLIC_KEY_FILE);
    let public = secret
        .public_key()
        .to_pem()
        .map_err(crypto("encode a public key"))?;
    fs::write(&public_path, public).map_err(|source| KeyError::File {
        path: public_path,
        what: "write the public key",
        source,
    })?;
    Ok(secret)
}

/// Reads a private key another writer has just created, waiting briefly for its
/// contents; `first` is returned if it never becomes readable.
fn load_after_race(secret_path: &Path, first: KeyError) -> Result<EncryptionSecretKey, KeyError> {
    for _ in 0..50 {
        if let Ok(secret) = load(secret_path) {
            return Ok(secret);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    load(secret_path).map_err(|_| first)
}

impl KeyStore for FsKeyStore {
    fn secret_key(&self, owner: KeyOwner<'_>) -> Result<EncryptionSecretKey, KeyError> {
        load_or_create(&self.dir_of(owner)?)
    }

    fn public_key(&self, owner: KeyOwner<'_>) -> Result<EncryptionPublicKey, KeyError> {
        // One machine holds every party's pair in the demo; see the module docs.
        Ok(self.secret_key(owner)?.public_key().clone())
    }

    fn consortium_secret(&self, which: ConsortiumSecret) -> Result<Zeroizing<[u8; 32]>, KeyError> {
        secret_file(&self.secrets_dir.join(format!("{}.key", which.file_stem())))
    }

    fn rotate(&self, owner: KeyOwner<'_>) -> Result<EncryptionPublicKey, KeyError> {
        let dir = self.dir_of(owner)?;
        let current = load_or_create(&dir)?;
        let fingerprint = current.public_key().fingerprint().to_hex();
        let retired = dir.join(RETIRED_DIR).join(&fingerprint);
        fs::create_dir_all(&retired).map_err(|source| KeyError::File {
            path: retired.clone(),
            what: "create the retired keys' directory",
            source,
        })?;
        for file in [SECRET_KEY_FILE, PUBLIC_KEY_FILE] {
            let from = dir.join(file);
            if from.exists() {
                fs::rename(&from, retired.join(file)).map_err(|source| KeyError::File {
                    path: from.clone(),
                    what: "retire the key file",
                    source,
                })?;
            }
        }
        Ok(load_or_create(&dir)?.public_key().clone())
    }

    fn retired_secret_keys(
        &self,
        owner: KeyOwner<'_>,
    ) -> Result<Vec<EncryptionSecretKey>, KeyError> {
        let root = self.dir_of(owner)?.join(RETIRED_DIR);
        let entries = match fs::read_dir(&root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(KeyError::File {
                    path: root,
                    what: "list the retired keys",
                    source,
                })
            }
        };
        let mut keys = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| KeyError::File {
                path: root.clone(),
                what: "list the retired keys",
                source,
            })?;
            keys.push(load(&entry.path().join(SECRET_KEY_FILE))?);
        }
        Ok(keys)
    }
}

/// The 32-byte secret (64 hex digits, 0600) in `path`, created from the OS
/// random source on first use; a concurrent first use reads the same one.
pub fn secret_file(path: &Path) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    if !path.exists() {
        let mut fresh = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(fresh.as_mut());
        let text = Zeroizing::new(hex::encode(fresh.as_ref()));
        // Another process may have created it meanwhile: then read theirs.
        if let Err(e) = write_private(path, text.as_bytes()) {
            if !path.exists() {
                return Err(e);
            }
        }
    }
    let text = Zeroizing::new(fs::read_to_string(path).map_err(|source| KeyError::File {
        path: path.to_path_buf(),
        what: "read the secret",
        source,
    })?);
    let mut key = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text.trim(), key.as_mut()).map_err(|_| KeyError::MalformedSecret {
        path: path.to_path_buf(),
    })?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path) -> FsKeyStore {
        let wallet = dir.join("wallet");
        let users = wallet.clone();
        FsKeyStore::new(
            dir.join("secrets"),
            wallet,
            BTreeMap::from([("Hospital1MSP".to_owned(), "Hospital1".to_owned())]),
            Arc::new(move |cn: &str, org: &str| Some(users.join(format!("{cn}@{org}")))),
        )
    }

    #[test]
    fn private_files_are_0600_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/secret.key");
        write_private(&path, b"one").unwrap();
        let again = write_private(&path, b"two").unwrap_err();
        assert!(
            matches!(&again, KeyError::File { source, .. }
                if source.kind() == std::io::ErrorKind::AlreadyExists),
            "{again:?}"
        );
        assert_eq!(fs::read(&path).unwrap(), b"one");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn concurrent_first_uses_agree_on_one_pair() {
        let dir = tempfile::tempdir().unwrap();
        let pair_dir = dir.path().join("pair");
        let keys: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| load_or_create(&pair_dir).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let first = keys[0].public_key().to_pem().unwrap();
        for key in &keys {
            assert_eq!(key.public_key().to_pem().unwrap(), first);
        }
    }

    #[test]
    fn pairs_are_created_once_and_found_again() {
        let dir = tempfile::tempdir().unwrap();
        let keys = store(dir.path());
        let alice = keys
            .secret_key(KeyOwner::User("alice@Hospital1MSP"))
            .unwrap();
        let again = keys
            .public_key(KeyOwner::User("alice@Hospital1MSP"))
            .unwrap();
        assert_eq!(alice.public_key().fingerprint(), again.fingerprint());
        assert!(dir
            .path()
            .join("wallet/alice@Hospital1/encryption.key.pem")
            .is_file());
        let h1 = keys.public_key(KeyOwner::Hospital("Hospital1MSP")).unwrap();
        assert_ne!(h1.fingerprint(), again.fingerprint());
        assert!(dir.path().join("wallet/hospitals/Hospital1").is_dir());
        let unknown = keys.public_key(KeyOwner::Hospital("Nowhere")).unwrap_err();
        assert!(matches!(unknown, KeyError::Unknown { .. }), "{unknown:?}");
        assert!(keys.public_key(KeyOwner::User("no-msp")).is_err());
        // A cryptogen admin (`CN=Admin@hospital1.example`) is filed as `Admin`.
        keys.public_key(KeyOwner::User("Admin@hospital1.example@Hospital1MSP"))
            .unwrap();
        assert!(dir
            .path()
            .join("wallet/Admin@Hospital1/encryption.key.pem")
            .is_file());
    }

    #[test]
    fn concurrent_first_uses_of_a_secret_agree() {
        // Many processes (CLI calls) may create the secret at once: none may
        // read it half-written.
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let secrets: Vec<_> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..8)
                    .map(|_| {
                        let keys = store(dir.path());
                        scope.spawn(move || keys.consortium_secret(ConsortiumSecret::BlindIndex))
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let first = secrets[0].as_ref().unwrap();
            for s in &secrets {
                assert_eq!(**s.as_ref().unwrap(), **first);
            }
        }
    }

    #[test]
    fn rotation_keeps_the_retired_pair() {
        let dir = tempfile::tempdir().unwrap();
        let keys = store(dir.path());
        let owner = KeyOwner::Hospital("Hospital1MSP");
        let old = keys.public_key(owner).unwrap();
        assert!(keys.retired_secret_keys(owner).unwrap().is_empty());
        let new = keys.rotate(owner).unwrap();
        assert_ne!(old.fingerprint(), new.fingerprint());
        assert_eq!(keys.public_key(owner).unwrap(), new);
        let retired = keys.retired_secret_keys(owner).unwrap();
        assert_eq!(retired.len(), 1);
        assert_eq!(*retired[0].public_key(), old);
        keys.rotate(owner).unwrap();
        assert_eq!(keys.retired_secret_keys(owner).unwrap().len(), 2);
    }

    #[test]
    fn consortium_secrets_are_stable_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let keys = store(dir.path());
        let b1 = keys
            .consortium_secret(ConsortiumSecret::BlindIndex)
            .unwrap();
        let b2 = keys
            .consortium_secret(ConsortiumSecret::BlindIndex)
            .unwrap();
        assert_eq!(*b1, *b2);
        fs::write(dir.path().join("secrets/blind-index.key"), "zz").unwrap();
        assert!(matches!(
            keys.consortium_secret(ConsortiumSecret::BlindIndex),
            Err(KeyError::MalformedSecret { .. })
        ));
    }
}
