//! S3-compatible backend on the `object_store` crate.
//!
//! Uploads stream through a multipart writer into `tmp/<random>` while the
//! content is hashed; the finished object is then copied server-side to its
//! content address `blobs/<hash>` and the temporary object removed. Reads
//! stream the response body.

use std::sync::Arc;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ObjectStore as RawStore, ObjectStoreExt, PutPayload};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio_util::io::StreamReader;

use crate::error::{Result, StoreError};
use crate::names::{blob_key, temp_name, wrap_key, wraps_prefix, BlobHash, WrapName};
use crate::verify::{Tally, VerifyingReader};
use crate::{BlobInfo, BlobReader, ObjectStore, COPY_BUF};

/// Multipart part size (S3 needs at least 5 MiB for all but the last part).
const PART_SIZE: usize = 8 * 1024 * 1024;

/// Which bucket holds whose blobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Buckets {
    /// One bucket for every hospital (`HEALTHBLOCK_S3_BUCKET`).
    Shared(String),
    /// One bucket per home hospital, `<prefix>-<mspid in lower case>`
    /// (`HEALTHBLOCK_S3_BUCKET_PREFIX`): each hospital's credential may write
    /// and delete only in its own bucket and read the others (the MinIO
    /// policies scripts/s3-server.sh installs).
    PerHome {
        /// Bucket names start with this.
        prefix: String,
    },
}

impl Buckets {
    /// The bucket that holds the blobs of `home_msp`'s patients.
    pub fn for_home(&self, home_msp: &str) -> Result<String> {
        match self {
            Buckets::Shared(bucket) => Ok(bucket.clone()),
            Buckets::PerHome { prefix } => home_bucket(prefix, home_msp),
        }
    }
}

/// `<prefix>-<mspid in lower case>`, checked against S3's bucket-name rules
/// (3 to 63 characters of `a-z`, `0-9`, `-`, starting and ending with a
/// letter or digit).
pub fn home_bucket(prefix: &str, home_msp: &str) -> Result<String> {
    let name = format!("{prefix}-{}", home_msp.to_ascii_lowercase());
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let valid = (3..=63).contains(&name.len())
        && !home_msp.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && edge_ok(name.chars().next())
        && edge_ok(name.chars().last());
    if valid {
        Ok(name)
    } else {
        Err(StoreError::Config(format!(
            "no valid bucket name for home {home_msp:?} with prefix {prefix:?} \
             (got {name:?}; S3 allows 3-63 of a-z, 0-9 and -)"
        )))
    }
}

/// Where and how to reach the S3 service.
#[derive(Clone)]
pub struct S3Config {
    pub endpoint: String,
    pub buckets: Buckets,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("buckets", &self.buckets)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl S3Config {
    /// Reads `HEALTHBLOCK_S3_{ENDPOINT,ACCESS_KEY,SECRET_KEY,REGION}` and
    /// either `HEALTHBLOCK_S3_BUCKET_PREFIX` (one bucket per home hospital)
    /// or `HEALTHBLOCK_S3_BUCKET` (one shared bucket) through `lookup` (the
    /// process environment or an env file).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let need =
            |name: &str| get(name).ok_or_else(|| StoreError::Config(format!("{name} is not set")));
        let buckets = match get("HEALTHBLOCK_S3_BUCKET_PREFIX") {
            Some(prefix) => Buckets::PerHome { prefix },
            None => Buckets::Shared(need("HEALTHBLOCK_S3_BUCKET")?),
        };
        Ok(Self {
            endpoint: need("HEALTHBLOCK_S3_ENDPOINT")?,
            buckets,
            access_key: need("HEALTHBLOCK_S3_ACCESS_KEY")?,
            secret_key: need("HEALTHBLOCK_S3_SECRET_KEY")?,
            region: get("HEALTHBLOCK_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
        })
    }

    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration from a `KEY=value` file (as written by
    /// scripts/s3-server.sh).
    pub fn from_env_file(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| StoreError::Config(format!("cannot read {}: {e}", path.display())))?;
        let pairs: Vec<(String, String)> = text
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        Self::from_lookup(|name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }
}

/// An object store in one S3 bucket.
#[derive(Debug, Clone)]
pub struct S3Store {
    inner: Arc<dyn RawStore>,
}

impl S3Store {
    /// Connects (lazily) to the shared bucket of `config`; a per-home
    /// configuration names no single bucket (see [`S3Store::for_home`] and
    /// [`crate::Stores`]).
    pub fn new(config: &S3Config) -> Result<Self> {
        match &config.buckets {
            Buckets::Shared(bucket) => Self::in_bucket(config, bucket),
            Buckets::PerHome { prefix } => Err(StoreError::Config(format!(
                "HEALTHBLOCK_S3_BUCKET_PREFIX={prefix} names one bucket per home hospital: \
                 say whose (S3Store::for_home)"
            ))),
        }
    }

    /// Connects (lazily) to the bucket of `home_msp`'s blobs, with the
    /// credential of `config`.
    pub fn for_home(config: &S3Config, home_msp: &str) -> Result<Self> {
        Self::in_bucket(config, &config.buckets.for_home(home_msp)?)
    }

    fn in_bucket(config: &S3Config, bucket: &str) -> Result<Self> {
        let store = AmazonS3Builder::new()
            .with_endpoint(&config.endpoint)
            .with_allow_http(config.endpoint.starts_with("http://"))
            .with_bucket_name(bucket)
            .with_access_key_id(&config.access_key)
            .with_secret_access_key(&config.secret_key)
            .with_region(&config.region)
            .with_virtual_hosted_style_request(false)
            .build()
            .map_err(|e| StoreError::Config(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(store),
        })
    }

    async fn upload(
        &self,
        temp: &Path,
        data: &mut (dyn AsyncRead + Send + Unpin),
    ) -> Result<Tally> {
        let mut writer = BufWriter::with_capacity(Arc::clone(&self.inner), temp.clone(), PART_SIZE);
        let mut tally = Tally::new();
        let mut buf = vec![0u8; COPY_BUF];
        let written: Result<()> = async {
            loop {
                let n = data.read(&mut buf).await?;
                if n == 0 {
                    return Ok(());
                }
                tally.update(&buf[..n]);
                writer.write_all(&buf[..n]).await?;
            }
        }
        .await;
        // A writer that failed while writing is aborted (its multipart
        // upload removed); one that failed to shut down is finished either
        // way and must not be aborted (the writer would panic).
        let finished = match written {
            Ok(()) => writer.shutdown().await.map_err(StoreError::from),
            Err(e) => {
                let _ = writer.abort().await;
                Err(e)
            }
        };
        if let Err(e) = finished {
            return Err(match e {
                StoreError::Io(io) if refused(&io) => StoreError::AccessDenied(io.to_string()),
                other => other,
            });
        }
        Ok(tally)
    }

    async fn exists(&self, key: &Path) -> Result<bool> {
        match self.inner.head(key).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

/// Whether an I/O error of the multipart writer is the service refusing
/// the credential (the writer wraps the store's error in an `io::Error`).
fn refused(io: &std::io::Error) -> bool {
    io.kind() == std::io::ErrorKind::PermissionDenied
        || io
            .get_ref()
            .and_then(|e| e.downcast_ref::<object_store::Error>())
            .is_some_and(crate::error::is_refusal)
}

fn is_not_found(err: &object_store::Error) -> bool {
    matches!(err, object_store::Error::NotFound { .. })
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn put_blob(&self, data: &mut (dyn AsyncRead + Send + Unpin)) -> Result<BlobInfo> {
        let temp = Path::from(format!("tmp/{}", temp_name()));
        let (hash, size) = self.upload(&temp, data).await?.finish();
        let copied = self.inner.copy(&temp, &Path::from(blob_key(&hash))).await;
        let _ = self.inner.delete(&temp).await;
        copied?;
        Ok(BlobInfo { hash, size })
    }

    async fn get_blob(&self, hash: &BlobHash) -> Result<BlobReader> {
        let result = match self.inner.get(&Path::from(blob_key(hash))).await {
            Ok(r) => r,
            Err(e) if is_not_found(&e) => return Err(StoreError::BlobNotFound(hash.to_hex())),
            Err(e) => return Err(e.into()),
        };
        let stream = result.into_stream().map_err(std::io::Error::other);
        Ok(Box::pin(VerifyingReader::new(
            StreamReader::new(stream),
            *hash,
        )))
    }

    async fn has_blob(&self, hash: &BlobHash) -> Result<bool> {
        self.exists(&Path::from(blob_key(hash))).await
    }

    async fn delete_blob(&self, hash: &BlobHash) -> Result<()> {
        let blob = Path::from(blob_key(hash));
        let found = self.exists(&blob).await?;
        let prefix = Path::from(wraps_prefix(hash));
        let wraps: Vec<_> = self.inner.list(Some(&prefix)).try_collect().await?;
        for meta in wraps {
            match self.inner.delete(&meta.location).await {
                Err(e) if !is_not_found(&e) => return Err(e.into()),
                _ => {}
            }
        }
        if !found {
            return Err(StoreError::BlobNotFound(hash.to_hex()));
        }
        self.inner.delete(&blob).await?;
        Ok(())
    }

    async fn put_wrap(&self, hash: &BlobHash, recipient: &WrapName, wrap: &[u8]) -> Result<()> {
        if !self.has_blob(hash).await? {
            return Err(StoreError::BlobNotFound(hash.to_hex()));
        }
        let key = Path::from(wrap_key(hash, recipient));
        self.inner
            .put(&key, PutPayload::from(wrap.to_vec()))
            .await?;
        Ok(())
    }

    async fn get_wrap(&self, hash: &BlobHash, recipient: &WrapName) -> Result<Vec<u8>> {
        let key = Path::from(wrap_key(hash, recipient));
        match self.inner.get(&key).await {
            Ok(r) => Ok(r.bytes().await?.to_vec()),
            Err(e) if is_not_found(&e) => Err(StoreError::WrapNotFound {
                blob: hash.to_hex(),
                recipient: recipient.to_string(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    async fn list_wraps(&self, hash: &BlobHash) -> Result<Vec<WrapName>> {
        let prefix = Path::from(wraps_prefix(hash));
        let mut listing = self.inner.list(Some(&prefix));
        let mut names = Vec::new();
        while let Some(meta) = listing.next().await {
            if let Some(name) = meta?
                .location
                .filename()
                .and_then(|n| n.parse::<WrapName>().ok())
            {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    async fn delete_wrap(&self, hash: &BlobHash, recipient: &WrapName) -> Result<()> {
        let key = Path::from(wrap_key(hash, recipient));
        if !self.exists(&key).await? {
            return Err(StoreError::WrapNotFound {
                blob: hash.to_hex(),
                recipient: recipient.to_string(),
            });
        }
        self.inner.delete(&key).await?;
        Ok(())
    }
}
