//! The object store for WBCB ciphertext blobs and their key wraps.
//!
//! Blobs are content-addressed by the SHA-256 of their ciphertext; each
//! blob's wraps live beside it (`<hash>.wraps/<fingerprint>`) so one
//! recipient's access, or the whole record, can be deleted. Two backends share
//! one trait and one test suite: [`FsStore`] (local directory) and
//! [`S3Store`] (any S3-compatible service), chosen by configuration
//! ([`StoreSpec`]). Both stream: neither holds a whole
//! blob in memory. [`Stores`] says which store holds a home hospital's blobs:
//! one shared store, or one S3 bucket per home hospital, where only the home
//! hospital's credential may write or delete (scripts/s3-server.sh installs
//! the MinIO users and policies).

mod config;
mod error;
mod fs;
mod names;
mod router;
mod s3;
mod verify;

use std::pin::Pin;

use async_trait::async_trait;
use tokio::io::AsyncRead;

pub use config::StoreSpec;
pub use error::{Result, StoreError};
pub use fs::FsStore;
pub use names::{BlobHash, WrapName};
pub use router::Stores;
pub use s3::{home_bucket, Buckets, S3Config, S3Store};

/// A readable blob; the hash is re-checked as it is read, and a mismatch is
/// reported as an error at the end of the stream.
pub type BlobReader = Pin<Box<dyn AsyncRead + Send>>;

/// What a stored blob is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobInfo {
    pub hash: BlobHash,
    pub size: u64,
}

/// Storage for ciphertext blobs and key wraps.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Streams `data` into the store; returns its hash and size. Storing the
    /// same content twice is harmless (same address).
    async fn put_blob(&self, data: &mut (dyn AsyncRead + Send + Unpin)) -> Result<BlobInfo>;

    /// Opens a blob for streaming reads.
    async fn get_blob(&self, hash: &BlobHash) -> Result<BlobReader>;

    /// Whether a blob is stored.
    async fn has_blob(&self, hash: &BlobHash) -> Result<bool>;

    /// Deletes a blob and all of its wraps (crypto-shredding).
    async fn delete_blob(&self, hash: &BlobHash) -> Result<()>;

    /// Stores (or replaces) the wrap for one recipient beside its blob.
    async fn put_wrap(&self, hash: &BlobHash, recipient: &WrapName, wrap: &[u8]) -> Result<()>;

    /// Reads one recipient's wrap.
    async fn get_wrap(&self, hash: &BlobHash, recipient: &WrapName) -> Result<Vec<u8>>;

    /// Lists the recipients that have a wrap for this blob.
    async fn list_wraps(&self, hash: &BlobHash) -> Result<Vec<WrapName>>;

    /// Deletes one recipient's wrap (revoking that recipient's stored access).
    async fn delete_wrap(&self, hash: &BlobHash, recipient: &WrapName) -> Result<()>;
}

/// Size of the buffer used when streaming into a backend.
pub(crate) const COPY_BUF: usize = 64 * 1024;
