//! The WBCB v1 header: its fields, its byte layout, and its parser.
//!
//! Layout (all integers big-endian; see docs/wbcb-format.md):
//!
//! ```text
//! magic "WBCB" (4) | format version (1) | algorithm (1) | header length (2)
//! chunk size (4) | nonce prefix (7) | record version (8)
//! record id length (2) | record id | pseudonym length (2) | pseudonym
//! ```
//!
//! The exact header bytes are the associated data of every chunk, so any
//! change to them makes the first chunk fail authentication.

use std::io::Read;

use crate::context::{RecordContext, MAX_CONTEXT_FIELD};
use crate::error::{Result, WbcbError};

/// The four bytes every WBCB record starts with.
pub const MAGIC: [u8; 4] = *b"WBCB";
/// The only format version this build writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// Length of the random per-record nonce prefix.
pub const NONCE_PREFIX_LEN: usize = 7;
/// AEAD tag length (both algorithms).
pub const TAG_LEN: usize = 16;
/// Smallest chunk size accepted.
pub const MIN_CHUNK_SIZE: u32 = 64;
/// Largest chunk size accepted (bounds decryptor memory).
pub const MAX_CHUNK_SIZE: u32 = 16 * 1024 * 1024;
/// Default plaintext bytes per chunk.
pub const DEFAULT_CHUNK_SIZE: u32 = 64 * 1024;

/// Bytes before the variable-length fields.
const FIXED_LEN: usize = 4 + 1 + 1 + 2 + 4 + NONCE_PREFIX_LEN + 8;
/// Largest possible header: fixed part plus two full context fields.
pub const MAX_HEADER_LEN: usize = FIXED_LEN + 2 * (2 + MAX_CONTEXT_FIELD);

/// The AEAD used for the chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// AES-256-GCM (hardware AES where the CPU has it). The default.
    #[default]
    Aes256Gcm,
    /// ChaCha20-Poly1305 (fast without AES hardware).
    ChaCha20Poly1305,
}

impl Algorithm {
    /// Wire id of the algorithm.
    pub fn id(self) -> u8 {
        match self {
            Algorithm::Aes256Gcm => 1,
            Algorithm::ChaCha20Poly1305 => 2,
        }
    }

    /// Parses a wire id.
    pub fn from_id(id: u8) -> Result<Self> {
        match id {
            1 => Ok(Algorithm::Aes256Gcm),
            2 => Ok(Algorithm::ChaCha20Poly1305),
            other => Err(WbcbError::UnknownAlgorithm(other)),
        }
    }

    /// Human-readable name.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Aes256Gcm => "AES-256-GCM",
            Algorithm::ChaCha20Poly1305 => "ChaCha20-Poly1305",
        }
    }
}

/// A parsed (or about-to-be-written) WBCB header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub algorithm: Algorithm,
    pub chunk_size: u32,
    pub nonce_prefix: [u8; NONCE_PREFIX_LEN],
    pub context: RecordContext,
}

/// Checks a chunk size against the format's bounds.
pub fn check_chunk_size(size: u64) -> Result<u32> {
    if (MIN_CHUNK_SIZE as u64..=MAX_CHUNK_SIZE as u64).contains(&size) {
        Ok(size as u32)
    } else {
        Err(WbcbError::InvalidChunkSize(size))
    }
}

impl Header {
    /// Serialises the header; these exact bytes are the chunks' AAD.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.context.validate()?;
        check_chunk_size(self.chunk_size.into())?;
        let id = self.context.record_id.as_bytes();
        let pseudo = self.context.patient_pseudonym.as_bytes();
        let total = FIXED_LEN + 2 + id.len() + 2 + pseudo.len();
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&MAGIC);
        out.push(FORMAT_VERSION);
        out.push(self.algorithm.id());
        // MAX_HEADER_LEN < u16::MAX, and validate() bounded both fields.
        out.extend_from_slice(&(total as u16).to_be_bytes());
        out.extend_from_slice(&self.chunk_size.to_be_bytes());
        out.extend_from_slice(&self.nonce_prefix);
        out.extend_from_slice(&self.context.version.to_be_bytes());
        push_field(&mut out, id);
        push_field(&mut out, pseudo);
        Ok(out)
    }

    /// Reads and parses a header from the front of a stream, returning the
    /// header and its exact bytes (for use as AAD).
    pub fn read_from<R: Read>(reader: &mut R) -> Result<(Header, Vec<u8>)> {
        let mut prefix = [0u8; 8];
        read_exact_or_truncated(reader, &mut prefix)?;
        if prefix[..4] != MAGIC {
            return Err(WbcbError::BadMagic);
        }
        if prefix[4] != FORMAT_VERSION {
            return Err(WbcbError::UnsupportedVersion(prefix[4]));
        }
        let total = u16::from_be_bytes([prefix[6], prefix[7]]) as usize;
        if !(FIXED_LEN + 4..=MAX_HEADER_LEN).contains(&total) {
            return Err(WbcbError::MalformedHeader("header length out of range"));
        }
        let mut bytes = vec![0u8; total];
        bytes[..8].copy_from_slice(&prefix);
        read_exact_or_truncated(reader, &mut bytes[8..])?;
        let header = Self::parse(&bytes)?;
        Ok((header, bytes))
    }

    /// Parses a complete header held in `bytes` (exactly the header).
    pub fn parse(bytes: &[u8]) -> Result<Header> {
        let mut cur = Cursor { buf: bytes };
        if cur.take(4)? != MAGIC {
            return Err(WbcbError::BadMagic);
        }
        let version = cur.u8()?;
        if version != FORMAT_VERSION {
            return Err(WbcbError::UnsupportedVersion(version));
        }
        let algorithm = Algorithm::from_id(cur.u8()?)?;
        let total = cur.u16()? as usize;
        if total != bytes.len() {
            return Err(WbcbError::MalformedHeader(
                "header length does not match its contents",
            ));
        }
        let chunk_size = check_chunk_size(cur.u32()?.into())?;
        let mut nonce_prefix = [0u8; NONCE_PREFIX_LEN];
        nonce_prefix.copy_from_slice(cur.take(NONCE_PREFIX_LEN)?);
        let version = cur.u64()?;
        let record_id = cur.text_field("record id is not valid UTF-8")?;
        let patient_pseudonym = cur.text_field("patient pseudonym is not valid UTF-8")?;
        if !cur.buf.is_empty() {
            return Err(WbcbError::MalformedHeader(
                "unexpected bytes after the header fields",
            ));
        }
        let context = RecordContext {
            record_id,
            version,
            patient_pseudonym,
        };
        context.validate()?;
        Ok(Header {
            algorithm,
            chunk_size,
            nonce_prefix,
            context,
        })
    }
}

fn push_field(out: &mut Vec<u8>, field: &[u8]) {
    out.extend_from_slice(&(field.len() as u16).to_be_bytes());
    out.extend_from_slice(field);
}

/// Reads exactly `buf.len()` bytes; a short stream means the record is truncated.
pub(crate) fn read_exact_or_truncated<R: Read>(reader: &mut R, buf: &mut [u8]) -> Result<()> {
    reader.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => WbcbError::Truncated,
        _ => WbcbError::Io(e),
    })
}

/// A bounds-checked reader over a byte slice.
pub(crate) struct Cursor<'a> {
    pub(crate) buf: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() < n {
            return Err(WbcbError::MalformedHeader("header ends inside a field"));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn text_field(&mut self, not_utf8: &'static str) -> Result<String> {
        let len = self.u16()? as usize;
        if len > MAX_CONTEXT_FIELD {
            return Err(WbcbError::MalformedHeader(
                "context field longer than 256 bytes",
            ));
        }
        let raw = self.take(len)?;
        String::from_utf8(raw.to_vec()).map_err(|_| WbcbError::MalformedHeader(not_utf8))
    }
}
