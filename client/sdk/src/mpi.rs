//! Owns: patient ids and a hospital's master patient index.
//!
//! A patient id is 32 bytes from the OS random source, as 64 hex digits: it
//! says nothing about the patient, two patients with the same name get
//! different ids, and no other hospital can compute or pre-register a
//! future patient's id. The only map from names to ids is the registering
//! hospital's master patient index (name, date of birth, MRN -> id), kept on
//! that hospital's side, encrypted at rest under a key of its own (0600),
//! never on the ledger and never shared. Another hospital learns an id from
//! the patient (the card `patient register` prints) or from a consent.
//!
//! The index is one file sealed with AES-256-GCM (a fresh random nonce per
//! write, the hospital's name as associated data), replaced atomically;
//! writers on one machine take an exclusive lock on a sibling lock file.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use rand_core::{OsRng, RngCore};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::keys::{secret_file, KeyError};
use crate::types::model::PatientId;

/// A fresh patient id: 32 bytes from the OS random source, hex.
pub fn new_patient_id() -> PatientId {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    PatientId::parse(&hex::encode(bytes)).expect("64 hex digits are a patient id")
}

/// One patient known to a hospital.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MpiEntry {
    /// The id on the ledger.
    pub patient_id: PatientId,
    /// The name as registered.
    pub name: String,
    /// Date of birth (free text, e.g. `1980-02-29`), when given.
    pub birth_date: Option<String>,
    /// The hospital's medical record number, when given.
    pub mrn: Option<String>,
}

/// Why the index could not be used.
#[derive(Debug, thiserror::Error)]
pub enum MpiError {
    /// A file could not be read or written.
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
    /// The index key could not be created or read.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The index does not open under this hospital's key: another key, or
    /// the file was altered.
    #[error("{}: does not decrypt under this hospital's index key (wrong key or altered file)", path.display())]
    Sealed {
        /// The file.
        path: PathBuf,
    },
    /// The decrypted index is not an index.
    #[error("{}: not a patient index", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A name normalises to nothing.
    #[error("the patient's name is empty")]
    EmptyName,
}

/// One hospital's master patient index.
pub struct MasterPatientIndex {
    hospital: String,
    path: PathBuf,
    key: LessSafeKey,
}

impl std::fmt::Debug for MasterPatientIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterPatientIndex")
            .field("hospital", &self.hospital)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Trimmed, single-spaced, lower case: how names are compared.
fn normal(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl MasterPatientIndex {
    /// The index of `hospital` in `dir` (`<hospital>.mpi`), sealed under the
    /// key in `<hospital>.mpi.key` (created, 0600, on first use).
    pub fn open(dir: &Path, hospital: &str) -> Result<Self, MpiError> {
        let raw = secret_file(&dir.join(format!("{hospital}.mpi.key")))?;
        let key = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, raw.as_ref()).expect("AES-256 takes 32-byte keys"),
        );
        Ok(MasterPatientIndex {
            hospital: hospital.to_owned(),
            path: dir.join(format!("{hospital}.mpi")),
            key,
        })
    }

    fn aad(&self) -> Vec<u8> {
        format!("healthblock/mpi/v1\0{}", self.hospital).into_bytes()
    }

    /// Every entry (none when the index does not exist yet).
    pub fn entries(&self) -> Result<Vec<MpiEntry>, MpiError> {
        let sealed = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(MpiError::File {
                    path: self.path.clone(),
                    what: "read the index",
                    source,
                })
            }
        };
        let sealed_err = || MpiError::Sealed {
            path: self.path.clone(),
        };
        if sealed.len() < NONCE_LEN {
            return Err(sealed_err());
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| sealed_err())?;
        let mut body = Zeroizing::new(body.to_vec());
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(self.aad()), &mut body)
            .map_err(|_| sealed_err())?;
        serde_json::from_slice(plain).map_err(|source| MpiError::Malformed {
            path: self.path.clone(),
            source,
        })
    }

    /// Adds `entry` (under an exclusive lock, replacing the file atomically).
    pub fn add(&self, entry: MpiEntry) -> Result<(), MpiError> {
        if normal(&entry.name).is_empty() {
            return Err(MpiError::EmptyName);
        }
        let io = |what: &'static str, path: &Path| {
            let path = path.to_owned();
            move |source| MpiError::File { path, what, source }
        };
        let lock_path = self.path.with_extension("mpi.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io("open the index lock", &lock_path))?;
        lock.lock().map_err(io("lock the index", &lock_path))?;
        let mut entries = self.entries()?;
        entries.push(entry);
        let plain =
            Zeroizing::new(
                serde_json::to_vec(&entries).map_err(|source| MpiError::Malformed {
                    path: self.path.clone(),
                    source,
                })?,
            );
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let mut body = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.aad()),
                &mut body,
            )
            .expect("AES-GCM seals any index that fits in memory");
        let tmp = self.path.with_extension("mpi.tmp");
        let _ = fs::remove_file(&tmp);
        {
            let mut file = private_file(&tmp).map_err(io("create the index", &tmp))?;
            file.write_all(&nonce)
                .and_then(|()| file.write_all(&body))
                .and_then(|()| file.sync_all())
                .map_err(io("write the index", &tmp))?;
        }
        fs::rename(&tmp, &self.path).map_err(io("replace the index", &self.path))?;
        drop(lock);
        Ok(())
    }

    /// The entries whose name (case and spacing ignored) and, when given,
    /// date of birth match.
    pub fn find(&self, name: &str, birth_date: Option<&str>) -> Result<Vec<MpiEntry>, MpiError> {
        let wanted = normal(name);
        if wanted.is_empty() {
            return Err(MpiError::EmptyName);
        }
        Ok(self
            .entries()?
            .into_iter()
            .filter(|e| normal(&e.name) == wanted)
            .filter(|e| birth_date.is_none() || e.birth_date.as_deref() == birth_date)
            .collect())
    }
}

/// Creates `path` with mode 0600 (never world- or group-readable).
fn private_file(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(pid: PatientId, name: &str) -> MpiEntry {
        MpiEntry {
            patient_id: pid,
            name: name.to_owned(),
            birth_date: Some("1980-02-29".into()),
            mrn: Some("MRN-1".into()),
        }
    }

    #[test]
    fn ids_are_random_and_well_formed() {
        let a = new_patient_id();
        let b = new_patient_id();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 64);
    }

    #[test]
    fn same_name_two_patients_two_ids_found_by_name_only_at_their_hospital() {
        let dir = tempfile::tempdir().unwrap();
        let h1 = MasterPatientIndex::open(dir.path(), "Hospital1").unwrap();
        let (a, b) = (new_patient_id(), new_patient_id());
        h1.add(entry(a.clone(), "Jane Doe")).unwrap();
        h1.add(entry(b.clone(), "jane  DOE")).unwrap();
        let found: Vec<_> = h1
            .find(" Jane Doe ", None)
            .unwrap()
            .into_iter()
            .map(|e| e.patient_id)
            .collect();
        assert_eq!(found, vec![a, b]);
        assert!(h1.find("Jane Doe", Some("2001-01-01")).unwrap().is_empty());
        let h2 = MasterPatientIndex::open(dir.path(), "Hospital2").unwrap();
        assert!(h2.find("Jane Doe", None).unwrap().is_empty());
    }

    #[test]
    fn the_index_is_encrypted_at_rest_and_its_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let h1 = MasterPatientIndex::open(dir.path(), "Hospital1").unwrap();
        h1.add(entry(new_patient_id(), "Jane Doe")).unwrap();
        let raw = fs::read(dir.path().join("Hospital1.mpi")).unwrap();
        let text = String::from_utf8_lossy(&raw).to_lowercase();
        assert!(!text.contains("jane") && !text.contains("mrn-1"));
        for file in ["Hospital1.mpi", "Hospital1.mpi.key"] {
            let mode = fs::metadata(dir.path().join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
    }

    #[test]
    fn another_key_or_an_altered_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let h1 = MasterPatientIndex::open(dir.path(), "Hospital1").unwrap();
        h1.add(entry(new_patient_id(), "Jane Doe")).unwrap();
        // Hospital2's key on Hospital1's file.
        let h2 = MasterPatientIndex::open(dir.path(), "Hospital2").unwrap();
        fs::copy(
            dir.path().join("Hospital1.mpi"),
            dir.path().join("Hospital2.mpi"),
        )
        .unwrap();
        assert!(matches!(h2.entries(), Err(MpiError::Sealed { .. })));
        // One flipped byte.
        let path = dir.path().join("Hospital1.mpi");
        let mut raw = fs::read(&path).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        fs::write(&path, raw).unwrap();
        assert!(matches!(h1.entries(), Err(MpiError::Sealed { .. })));
        assert!(matches!(
            h1.add(entry(new_patient_id(), "x")),
            Err(MpiError::Sealed { .. })
        ));
        assert!(matches!(h1.find("  ", None), Err(MpiError::EmptyName)));
    }
}
