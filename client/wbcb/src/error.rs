//! The one error type of the WBCB core. Messages are written for the person
//! running the tool: they say what is wrong and never include key material or
//! plaintext.

use std::io;

/// Everything that can go wrong while encrypting, decrypting, wrapping or
/// indexing a record.
#[derive(Debug, thiserror::Error)]
pub enum WbcbError {
    #[error("not a WBCB record: bad magic bytes")]
    BadMagic,
    #[error("unsupported WBCB format version {0} (this build reads version 1)")]
    UnsupportedVersion(u8),
    #[error("unknown AEAD algorithm id {0} in WBCB header")]
    UnknownAlgorithm(u8),
    #[error("malformed WBCB header: {0}")]
    MalformedHeader(&'static str),
    #[error("invalid record context: {0}")]
    InvalidContext(&'static str),
    #[error("invalid chunk size {0}: must be between {min} and {max} bytes", min = crate::format::MIN_CHUNK_SIZE, max = crate::format::MAX_CHUNK_SIZE)]
    InvalidChunkSize(u64),
    #[error("WBCB record is truncated: it ends before the authenticated final chunk")]
    Truncated,
    #[error("WBCB record has data after its final chunk (appended or reordered chunks)")]
    TrailingData,
    #[error("chunk {index} failed authentication: the record was altered, cut, reordered, or the data key does not match")]
    ChunkAuthentication { index: u64 },
    #[error("AEAD failure while setting up the chunk cipher or sealing a chunk")]
    ChunkSeal,
    #[error("record is too large: more than 2^32 chunks")]
    TooManyChunks,
    #[error("record context mismatch: blob is for {found}, expected {expected}")]
    ContextMismatch { found: String, expected: String },
    #[error("malformed key wrap: {0}")]
    MalformedWrap(&'static str),
    #[error(
        "key wrap is addressed to key {wrap_fingerprint}, not to this key ({key_fingerprint})"
    )]
    WrongRecipient {
        wrap_fingerprint: String,
        key_fingerprint: String,
    },
    #[error("key wrap is for {found}, not for {expected}")]
    WrapRecordMismatch { found: String, expected: String },
    #[error("key wrap failed authentication: it was tampered with or does not belong to this key and record")]
    WrapAuthentication,
    #[error("HPKE sealing failed")]
    WrapSeal,
    #[error("invalid key: {0}")]
    InvalidKey(String),
    #[error("invalid search term: {0}")]
    InvalidSearchTerm(String),
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

/// Result alias used across the crate.
pub type Result<T, E = WbcbError> = std::result::Result<T, E>;
