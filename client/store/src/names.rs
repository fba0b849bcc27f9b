//! Validated object names: blob hashes and wrap names (key fingerprints).
//! Both are fixed-length lower-case hex, so they are safe as path segments.

use std::fmt;
use std::str::FromStr;

use crate::error::StoreError;

/// SHA-256 of a blob's ciphertext: its address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobHash(pub [u8; 32]);

impl BlobHash {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobHash({})", self.to_hex())
    }
}

impl FromStr for BlobHash {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        Ok(BlobHash(parse_hex32(s, "a blob hash")?))
    }
}

/// The name a wrap is stored under: the recipient key's fingerprint.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WrapName(String);

impl WrapName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WrapName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for WrapName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WrapName({})", self.0)
    }
}

impl FromStr for WrapName {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        Ok(WrapName(hex::encode(parse_hex32(s, "a key fingerprint")?)))
    }
}

fn parse_hex32(s: &str, what: &str) -> Result<[u8; 32], StoreError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s.trim(), &mut out).map_err(|_| {
        StoreError::InvalidName(format!("{what} is 64 hex digits, got {:?}", truncate(s)))
    })?;
    Ok(out)
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Object key of a blob, relative to the store root.
pub(crate) fn blob_key(hash: &BlobHash) -> String {
    format!("blobs/{hash}")
}

/// Prefix under which a blob's wraps live.
pub(crate) fn wraps_prefix(hash: &BlobHash) -> String {
    format!("blobs/{hash}.wraps")
}

/// Object key of one wrap.
pub(crate) fn wrap_key(hash: &BlobHash, recipient: &WrapName) -> String {
    format!("{}/{recipient}", wraps_prefix(hash))
}

/// A random name for an in-progress upload.
pub(crate) fn temp_name() -> String {
    use rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}
