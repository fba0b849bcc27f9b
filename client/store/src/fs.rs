//! Local filesystem backend.
//!
//! Layout under the root: `blobs/<hash>`, `blobs/<hash>.wraps/<fingerprint>`
//! and `tmp/` for uploads in progress. Every write goes to a uniquely named
//! temporary file that is synced and then renamed into place, so a reader
//! never sees a partial object and concurrent writers of the same content
//! simply replace one complete copy with another.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::fs;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::error::{Result, StoreError};
use crate::names::{blob_key, temp_name, wrap_key, wraps_prefix, BlobHash, WrapName};
use crate::verify::{Tally, VerifyingReader};
use crate::{BlobInfo, BlobReader, ObjectStore, COPY_BUF};

/// An object store in a local directory.
#[derive(Debug, Clone)]
pub struct FsStore {
    root: PathBuf,
}

impl FsStore {
    /// Uses (and creates if needed) the directory `root`.
    pub async fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        for dir in ["blobs", "tmp"] {
            fs::create_dir_all(root.join(dir)).await?;
        }
        Ok(Self { root })
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    /// A new, exclusively created temporary file.
    async fn temp_file(&self) -> Result<(PathBuf, fs::File)> {
        let path = self.root.join("tmp").join(temp_name());
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await?;
        Ok((path, file))
    }

    /// Syncs `file` and renames it to `dest` (atomic on one filesystem).
    async fn commit(&self, temp: &Path, mut file: fs::File, dest: &Path) -> Result<()> {
        file.flush().await?;
        file.sync_all().await?;
        drop(file);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).await?;
        }
        fs::rename(temp, dest).await?;
        Ok(())
    }

    async fn stream_to_temp(
        &self,
        data: &mut (dyn AsyncRead + Send + Unpin),
        file: &mut fs::File,
    ) -> Result<Tally> {
        let mut tally = Tally::new();
        let mut buf = vec![0u8; COPY_BUF];
        loop {
            let n = data.read(&mut buf).await?;
            if n == 0 {
                return Ok(tally);
            }
            tally.update(&buf[..n]);
            file.write_all(&buf[..n]).await?;
        }
    }
}

fn not_found_as<T>(err: std::io::Error, mapped: impl FnOnce() -> StoreError) -> Result<T> {
    if err.kind() == ErrorKind::NotFound {
        Err(mapped())
    } else {
        Err(err.into())
    }
}

#[async_trait]
impl ObjectStore for FsStore {
    async fn put_blob(&self, data: &mut (dyn AsyncRead + Send + Unpin)) -> Result<BlobInfo> {
        let (temp, mut file) = self.temp_file().await?;
        let streamed = self.stream_to_temp(data, &mut file).await;
        let tally = match streamed {
            Ok(t) => t,
            Err(e) => {
                drop(file);
                let _ = fs::remove_file(&temp).await;
                return Err(e);
            }
        };
        let (hash, size) = tally.finish();
        if let Err(e) = self.commit(&temp, file, &self.path(&blob_key(&hash))).await {
            let _ = fs::remove_file(&temp).await;
            return Err(e);
        }
        Ok(BlobInfo { hash, size })
    }

    async fn get_blob(&self, hash: &BlobHash) -> Result<BlobReader> {
        match fs::File::open(self.path(&blob_key(hash))).await {
            Ok(file) => Ok(Box::pin(VerifyingReader::new(file, *hash))),
            Err(e) => not_found_as(e, || StoreError::BlobNotFound(hash.to_hex())),
        }
    }

    async fn has_blob(&self, hash: &BlobHash) -> Result<bool> {
        Ok(fs::try_exists(self.path(&blob_key(hash))).await?)
    }

    async fn delete_blob(&self, hash: &BlobHash) -> Result<()> {
        match fs::remove_dir_all(self.path(&wraps_prefix(hash))).await {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        match fs::remove_file(self.path(&blob_key(hash))).await {
            Ok(()) => Ok(()),
            Err(e) => not_found_as(e, || StoreError::BlobNotFound(hash.to_hex())),
        }
    }

    async fn put_wrap(&self, hash: &BlobHash, recipient: &WrapName, wrap: &[u8]) -> Result<()> {
        if !self.has_blob(hash).await? {
            return Err(StoreError::BlobNotFound(hash.to_hex()));
        }
        let (temp, mut file) = self.temp_file().await?;
        let written = file.write_all(wrap).await;
        let committed = match written {
            Ok(()) => {
                self.commit(&temp, file, &self.path(&wrap_key(hash, recipient)))
                    .await
            }
            Err(e) => Err(e.into()),
        };
        if committed.is_err() {
            let _ = fs::remove_file(&temp).await;
        }
        committed
    }

    async fn get_wrap(&self, hash: &BlobHash, recipient: &WrapName) -> Result<Vec<u8>> {
        match fs::read(self.path(&wrap_key(hash, recipient))).await {
            Ok(bytes) => Ok(bytes),
            Err(e) => not_found_as(e, || StoreError::WrapNotFound {
                blob: hash.to_hex(),
                recipient: recipient.to_string(),
            }),
        }
    }

    async fn list_wraps(&self, hash: &BlobHash) -> Result<Vec<WrapName>> {
        let mut entries = match fs::read_dir(self.path(&wraps_prefix(hash))).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut names = Vec::new();
        while let Some(entry) = entries.next_entry().await? {
            // Anything that is not a fingerprint (stray files) is not a wrap.
            if let Some(name) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<WrapName>().ok())
            {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    async fn delete_wrap(&self, hash: &BlobHash, recipient: &WrapName) -> Result<()> {
        match fs::remove_file(self.path(&wrap_key(hash, recipient))).await {
            Ok(()) => Ok(()),
            Err(e) => not_found_as(e, || StoreError::WrapNotFound {
                blob: hash.to_hex(),
                recipient: recipient.to_string(),
            }),
        }
    }
}
