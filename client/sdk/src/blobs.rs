//! Owns: the ciphertext side of a record version: encrypting plaintext with
//! a fresh data key (WBCB) into the object store, sealing that key for each
//! recipient as a wrap beside the blob, opening it again with one of the
//! caller's keys, and fetching, hash-checking and decrypting a blob.
//! Nothing here talks to the ledger.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use healthblock_ehr_types::model::{KeyFingerprint, RecordId, Sha256Hex};
use healthblock_store::{BlobHash, BlobInfo, ObjectStore, StoreError, WrapName};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use wbcb::{
    DataKey, EncryptOptions, EncryptionPublicKey, EncryptionSecretKey, Header, KeyWrap,
    RecordContext,
};

use crate::error::{Result, SdkError};

/// Plaintext of a record version.
#[derive(Debug, Clone)]
pub enum Plaintext {
    /// A file, read (and encrypted) in a stream.
    File(PathBuf),
    /// Bytes in memory.
    Bytes(Vec<u8>),
}

/// Files up to this size are encrypted in memory; larger ones stream
/// through a temporary file in constant memory.
const IN_MEMORY_LIMIT: u64 = 8 << 20;

/// The blob address of a ledger hash.
pub(crate) fn blob_hash(hash: &Sha256Hex) -> Result<BlobHash> {
    hash.as_str().parse().map_err(|source| {
        SdkError::store(format!("ledger hash {hash} is not a blob address"), source)
    })
}

/// The wrap name (object name beside the blob) of a key.
pub(crate) fn wrap_name(fingerprint: &KeyFingerprint) -> Result<WrapName> {
    fingerprint.as_str().parse().map_err(|source| {
        SdkError::store(
            format!("key fingerprint {fingerprint} is not a wrap name"),
            source,
        )
    })
}

/// A key's fingerprint as the contract names it.
pub(crate) fn fingerprint_of(key: &EncryptionPublicKey) -> Result<KeyFingerprint> {
    Ok(KeyFingerprint::parse(&key.fingerprint().to_hex())?)
}

fn file_error<'a>(
    path: &'a Path,
    what: &'static str,
) -> impl FnOnce(std::io::Error) -> SdkError + 'a {
    move |source| SdkError::File {
        path: path.to_path_buf(),
        what,
        source,
    }
}

fn encrypt_into<W: Write>(
    key: &DataKey,
    context: &RecordContext,
    input: impl Read,
    output: W,
) -> Result<()> {
    wbcb::encrypt_stream(key, context, EncryptOptions::default(), input, output)
        .map(|_| ())
        .map_err(|e| SdkError::crypto(format!("encrypting {context}"), e))
}

/// Encrypts `plaintext` for `context` with a fresh data key and stores the
/// ciphertext; returns the blob's address and size, and the data key.
/// `scratch` holds the temporary file of a large plaintext.
pub(crate) async fn encrypt_and_store(
    store: &dyn ObjectStore,
    plaintext: Plaintext,
    context: &RecordContext,
    scratch: &Path,
) -> Result<(BlobInfo, DataKey)> {
    let key = DataKey::generate();
    let large_file = match &plaintext {
        Plaintext::File(path) => {
            let len = std::fs::metadata(path)
                .map_err(file_error(path, "read the plaintext"))?
                .len();
            (len > IN_MEMORY_LIMIT).then(|| path.clone())
        }
        Plaintext::Bytes(_) => None,
    };
    let (task_key, task_context) = (key.clone(), context.clone());
    let Some(path) = large_file else {
        let ciphertext = tokio::task::spawn_blocking(move || -> Result<Vec<u8>> {
            let mut out = Vec::new();
            match plaintext {
                Plaintext::Bytes(bytes) => {
                    encrypt_into(&task_key, &task_context, bytes.as_slice(), &mut out)?
                }
                Plaintext::File(path) => {
                    let file =
                        File::open(&path).map_err(file_error(&path, "open the plaintext"))?;
                    encrypt_into(&task_key, &task_context, BufReader::new(file), &mut out)?
                }
            }
            Ok(out)
        })
        .await
        .map_err(|_| SdkError::Task("encryption"))??;
        let info = store
            .put_blob(&mut ciphertext.as_slice())
            .await
            .map_err(|e| SdkError::store(format!("storing the ciphertext of {context}"), e))?;
        return Ok((info, key));
    };
    let scratch = scratch.to_path_buf();
    let temp = tokio::task::spawn_blocking(move || -> Result<tempfile::NamedTempFile> {
        let input = File::open(&path).map_err(file_error(&path, "open the plaintext"))?;
        let temp = tempfile::Builder::new()
            .prefix(".hb-encrypt-")
            .tempfile_in(&scratch)
            .map_err(file_error(&scratch, "create a temporary file"))?;
        let mut writer = BufWriter::with_capacity(1 << 20, temp.as_file());
        encrypt_into(&task_key, &task_context, BufReader::new(input), &mut writer)?;
        writer
            .flush()
            .map_err(file_error(temp.path(), "write the ciphertext"))?;
        drop(writer);
        Ok(temp)
    })
    .await
    .map_err(|_| SdkError::Task("encryption"))??;
    let file = tokio::fs::File::open(temp.path())
        .await
        .map_err(file_error(temp.path(), "read the ciphertext"))?;
    let mut reader = tokio::io::BufReader::new(file);
    let info = store
        .put_blob(&mut reader)
        .await
        .map_err(|e| SdkError::store(format!("storing the ciphertext of {context}"), e))?;
    Ok((info, key))
}

/// Seals `key` for every recipient and stores the wraps beside the blob
/// (concurrently: each is its own durable write). Returns their names.
pub(crate) async fn store_wraps(
    store: &dyn ObjectStore,
    blob: &BlobHash,
    key: &DataKey,
    context: &RecordContext,
    recipients: &[EncryptionPublicKey],
) -> Result<Vec<KeyFingerprint>> {
    let mut sealed = Vec::with_capacity(recipients.len());
    for recipient in recipients {
        let wrap = KeyWrap::seal(key, context, recipient)
            .map_err(|e| SdkError::crypto(format!("sealing the data key of {context}"), e))?;
        let fingerprint = fingerprint_of(recipient)?;
        sealed.push((wrap_name(&fingerprint)?, fingerprint, wrap.to_bytes()));
    }
    futures::future::try_join_all(
        sealed
            .iter()
            .map(|(name, _, bytes)| store.put_wrap(blob, name, bytes)),
    )
    .await
    .map_err(|e| SdkError::store(format!("storing the wraps of {context}"), e))?;
    Ok(sealed.into_iter().map(|(_, f, _)| f).collect())
}

/// Opens the data key of a blob with the first of `mine` that has a wrap
/// beside it; `None` when none has. A wrap that exists but does not open is
/// an error, not a miss.
pub(crate) async fn open_data_key(
    store: &dyn ObjectStore,
    hash: &BlobHash,
    context: &RecordContext,
    mine: &[EncryptionSecretKey],
) -> Result<Option<DataKey>> {
    for secret in mine {
        let name = wrap_name(&fingerprint_of(secret.public_key())?)?;
        let bytes = match store.get_wrap(hash, &name).await {
            Ok(bytes) => bytes,
            Err(StoreError::WrapNotFound { .. }) => continue,
            Err(e) => return Err(SdkError::store(format!("reading a wrap of {context}"), e)),
        };
        let wrap = KeyWrap::from_bytes(&bytes)
            .map_err(|e| SdkError::crypto(format!("reading the wrap of {context}"), e))?;
        let key = wrap
            .open(secret, context)
            .map_err(|e| SdkError::crypto(format!("opening the wrap of {context}"), e))?;
        return Ok(Some(key));
    }
    Ok(None)
}

/// Where decrypted plaintext goes.
pub enum Sink<'a> {
    /// A file, written atomically (a temporary file renamed into place once
    /// decryption and authentication succeeded).
    File(&'a Path),
    /// A writer (e.g. stdout), written as chunks authenticate.
    Writer(&'a mut (dyn Write + Send)),
}

/// The version a blob belongs to, for errors.
pub(crate) struct VersionLabel<'a> {
    pub record_id: &'a RecordId,
    pub version: u64,
}

/// Downloads a blob into a temporary file in `scratch`, checking its
/// SHA-256 against the ledger's hash.
pub(crate) async fn download(
    store: &dyn ObjectStore,
    hash: &BlobHash,
    label: &VersionLabel<'_>,
    scratch: &Path,
) -> Result<tempfile::NamedTempFile> {
    let tampered = || SdkError::Tampered {
        record_id: label.record_id.clone(),
        version: label.version,
        expected: hash.to_hex(),
    };
    let mut reader = store
        .get_blob(hash)
        .await
        .map_err(|e| SdkError::store(format!("fetching blob {hash}"), e))?;
    let temp = tempfile::Builder::new()
        .prefix(".hb-fetch-")
        .tempfile_in(scratch)
        .map_err(file_error(scratch, "create a temporary file"))?;
    let std_file = temp
        .reopen()
        .map_err(file_error(temp.path(), "open the temporary file"))?;
    let mut file = tokio::io::BufWriter::new(tokio::fs::File::from_std(std_file));
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(n) => n,
            // The store re-checks the hash as it reads and reports a
            // mismatch at the end of the stream.
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => return Err(tampered()),
            Err(e) => {
                return Err(SdkError::store(
                    format!("reading blob {hash}"),
                    StoreError::Io(e),
                ))
            }
        };
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        tokio::io::AsyncWriteExt::write_all(&mut file, &buf[..n])
            .await
            .map_err(file_error(temp.path(), "write the blob"))?;
    }
    tokio::io::AsyncWriteExt::flush(&mut file)
        .await
        .map_err(file_error(temp.path(), "write the blob"))?;
    let digest: [u8; 32] = hasher.finalize().into();
    if digest != hash.0 {
        return Err(tampered());
    }
    Ok(temp)
}

/// SHA-256 (hex) of a stored blob, or the store's error.
pub(crate) async fn hash_stored(
    store: &dyn ObjectStore,
    hash: &BlobHash,
) -> std::result::Result<String, StoreError> {
    let mut reader = store.get_blob(hash).await?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) => return Ok(hex::encode(hasher.finalize())),
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) => return Err(StoreError::Io(e)),
        }
    }
}

/// Decrypts a downloaded blob into `sink`, checking its header names
/// `context`. Returns the plaintext length.
pub(crate) fn decrypt_file(
    key: &DataKey,
    blob: &Path,
    context: &RecordContext,
    label: &VersionLabel<'_>,
    sink: Sink<'_>,
) -> Result<u64> {
    let open = || -> Result<BufReader<File>> {
        Ok(BufReader::new(
            File::open(blob).map_err(file_error(blob, "open the blob"))?,
        ))
    };
    let (header, _) = Header::read_from(&mut open()?)
        .map_err(|e| SdkError::crypto(format!("reading the header of {context}"), e))?;
    if header.context != *context {
        return Err(SdkError::ContextMismatch {
            record_id: label.record_id.clone(),
            version: label.version,
            found: header.context.to_string(),
        });
    }
    let decrypt = |out: &mut dyn Write| {
        wbcb::decrypt_stream(key, open()?, out, Some(context))
            .map(|(_, n)| n)
            .map_err(|e| SdkError::crypto(format!("decrypting {context}"), e))
    };
    match sink {
        Sink::Writer(w) => {
            let mut w = BufWriter::new(w);
            let n = decrypt(&mut w)?;
            w.flush().map_err(|source| SdkError::File {
                path: PathBuf::from("<output>"),
                what: "write the plaintext",
                source,
            })?;
            Ok(n)
        }
        Sink::File(out) => {
            let dir = match out.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let temp = tempfile::Builder::new()
                .prefix(".hb-plain-")
                .tempfile_in(&dir)
                .map_err(file_error(&dir, "create a temporary file"))?;
            let mut w = BufWriter::with_capacity(1 << 20, temp.as_file());
            let n = decrypt(&mut w)?;
            w.flush()
                .map_err(file_error(temp.path(), "write the plaintext"))?;
            drop(w);
            temp.persist(out).map_err(|e| SdkError::File {
                path: out.to_path_buf(),
                what: "write the plaintext",
                source: e.error,
            })?;
            Ok(n)
        }
    }
}
