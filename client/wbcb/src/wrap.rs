//! HPKE key wraps: the data key sealed to one recipient's encryption public
//! key (RFC 9180 base mode, DHKEM(P-256, HKDF-SHA256), HKDF-SHA256,
//! AES-256-GCM).
//!
//! Wire layout (big-endian; see docs/wbcb-format.md):
//!
//! ```text
//! magic "WBCW" (4) | wrap version (1) | kem id (2) | kdf id (2) | aead id (2)
//! recipient fingerprint (32) | record version (8) | record id length (2) | record id
//! enc length (2) | enc | ciphertext length (2) | ciphertext
//! ```
//!
//! HPKE `info` binds record id, version and recipient fingerprint; the `aad`
//! is the wire bytes up to and including the record id.

use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::kem::DhP256HkdfSha256;
use hpke::{Deserializable, Kem as KemTrait, OpModeR, OpModeS, Serializable};
use rand_core::OsRng;
use zeroize::Zeroizing;

use crate::context::{RecordContext, MAX_CONTEXT_FIELD};
use crate::error::{Result, WbcbError};
use crate::format::Cursor;
use crate::key::{DataKey, DATA_KEY_LEN};
use crate::keys::{EncryptionPublicKey, EncryptionSecretKey, Fingerprint};

type Kem = DhP256HkdfSha256;

/// Magic bytes of a key wrap.
pub const WRAP_MAGIC: [u8; 4] = *b"WBCW";
/// The only wrap version this build writes and reads.
pub const WRAP_VERSION: u8 = 1;
/// RFC 9180 suite identifiers.
const KEM_ID: u16 = 0x0010;
const KDF_ID: u16 = 0x0001;
const AEAD_ID: u16 = 0x0002;
const INFO_LABEL: &[u8] = b"healthblock/wbcb/v1 key wrap";
/// Bound on any length-prefixed byte field of a wrap.
const MAX_BLOB_FIELD: usize = 512;

/// One data key wrapped for one recipient, bound to one record version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyWrap {
    pub recipient: Fingerprint,
    pub record_id: String,
    pub version: u64,
    enc: Vec<u8>,
    ciphertext: Vec<u8>,
}

impl KeyWrap {
    /// Seals `key` to `recipient` for the record version in `context`.
    pub fn seal(
        key: &DataKey,
        context: &RecordContext,
        recipient: &EncryptionPublicKey,
    ) -> Result<Self> {
        context.validate()?;
        let pk = <Kem as KemTrait>::PublicKey::from_bytes(&recipient.sec1_uncompressed()).map_err(
            |_| WbcbError::InvalidKey("recipient public key is not a valid P-256 point".into()),
        )?;
        let mut wrap = KeyWrap {
            recipient: recipient.fingerprint(),
            record_id: context.record_id.clone(),
            version: context.version,
            enc: Vec::new(),
            ciphertext: Vec::new(),
        };
        let aad = wrap.bound_prefix();
        let info = wrap.info();
        let (enc, ciphertext) = hpke::single_shot_seal::<AesGcm256, HkdfSha256, Kem, _>(
            &OpModeS::Base,
            &pk,
            &info,
            key.as_bytes(),
            &aad,
            &mut OsRng,
        )
        .map_err(|_| WbcbError::WrapSeal)?;
        wrap.enc = enc.to_bytes().to_vec();
        wrap.ciphertext = ciphertext;
        Ok(wrap)
    }

    /// Opens the wrap with `secret`, checking it is addressed to that key and
    /// bound to the record version in `context`.
    pub fn open(&self, secret: &EncryptionSecretKey, context: &RecordContext) -> Result<DataKey> {
        let mine = secret.public_key().fingerprint();
        if self.recipient != mine {
            return Err(WbcbError::WrongRecipient {
                wrap_fingerprint: self.recipient.to_hex(),
                key_fingerprint: mine.to_hex(),
            });
        }
        if self.record_id != context.record_id || self.version != context.version {
            return Err(WbcbError::WrapRecordMismatch {
                found: format!("record {:?} version {}", self.record_id, self.version),
                expected: context.to_string(),
            });
        }
        let sk = <Kem as KemTrait>::PrivateKey::from_bytes(&secret.scalar_bytes())
            .map_err(|_| WbcbError::InvalidKey("private key is not a valid P-256 scalar".into()))?;
        let enc = <Kem as KemTrait>::EncappedKey::from_bytes(&self.enc)
            .map_err(|_| WbcbError::MalformedWrap("encapsulated key is not a valid P-256 point"))?;
        let plain = hpke::single_shot_open::<AesGcm256, HkdfSha256, Kem>(
            &OpModeR::Base,
            &sk,
            &enc,
            &self.info(),
            &self.ciphertext,
            &self.bound_prefix(),
        )
        .map_err(|_| WbcbError::WrapAuthentication)?;
        let plain = Zeroizing::new(plain);
        let bytes: [u8; DATA_KEY_LEN] = plain
            .as_slice()
            .try_into()
            .map_err(|_| WbcbError::MalformedWrap("wrapped key has the wrong length"))?;
        Ok(DataKey::from_bytes(bytes))
    }

    /// HPKE info: label, record id, version, recipient fingerprint.
    fn info(&self) -> Vec<u8> {
        let mut info = Vec::with_capacity(INFO_LABEL.len() + 2 + self.record_id.len() + 8 + 32);
        info.extend_from_slice(INFO_LABEL);
        push_field(&mut info, self.record_id.as_bytes());
        info.extend_from_slice(&self.version.to_be_bytes());
        info.extend_from_slice(&self.recipient.0);
        info
    }

    /// The wire bytes before `enc`; also the HPKE aad.
    fn bound_prefix(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 1 + 6 + 32 + 8 + 2 + self.record_id.len());
        out.extend_from_slice(&WRAP_MAGIC);
        out.push(WRAP_VERSION);
        for id in [KEM_ID, KDF_ID, AEAD_ID] {
            out.extend_from_slice(&id.to_be_bytes());
        }
        out.extend_from_slice(&self.recipient.0);
        out.extend_from_slice(&self.version.to_be_bytes());
        push_field(&mut out, self.record_id.as_bytes());
        out
    }

    /// Serialises the wrap.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.bound_prefix();
        push_field(&mut out, &self.enc);
        push_field(&mut out, &self.ciphertext);
        out
    }

    /// Parses a serialised wrap (any input: never panics).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        parse_wrap(bytes).map_err(|e| match e {
            WbcbError::MalformedHeader(msg) => WbcbError::MalformedWrap(msg),
            other => other,
        })
    }
}

fn parse_wrap(bytes: &[u8]) -> Result<KeyWrap> {
    let mut cur = Cursor { buf: bytes };
    if cur.take(4)? != WRAP_MAGIC {
        return Err(WbcbError::MalformedWrap(
            "not a WBCB key wrap: bad magic bytes",
        ));
    }
    if cur.u8()? != WRAP_VERSION {
        return Err(WbcbError::MalformedWrap("unsupported key wrap version"));
    }
    if [cur.u16()?, cur.u16()?, cur.u16()?] != [KEM_ID, KDF_ID, AEAD_ID] {
        return Err(WbcbError::MalformedWrap("unsupported HPKE suite"));
    }
    let mut fp = [0u8; 32];
    fp.copy_from_slice(cur.take(32)?);
    let version = cur.u64()?;
    let record_id = take_field(&mut cur, MAX_CONTEXT_FIELD)?;
    let record_id = String::from_utf8(record_id.to_vec())
        .map_err(|_| WbcbError::MalformedWrap("record id is not valid UTF-8"))?;
    let enc = take_field(&mut cur, MAX_BLOB_FIELD)?.to_vec();
    let ciphertext = take_field(&mut cur, MAX_BLOB_FIELD)?.to_vec();
    if !cur.buf.is_empty() {
        return Err(WbcbError::MalformedWrap("unexpected bytes after the wrap"));
    }
    if record_id.is_empty() {
        return Err(WbcbError::MalformedWrap("record id is empty"));
    }
    Ok(KeyWrap {
        recipient: Fingerprint(fp),
        record_id,
        version,
        enc,
        ciphertext,
    })
}

fn take_field<'a>(cur: &mut Cursor<'a>, max: usize) -> Result<&'a [u8]> {
    let len = cur.u16()? as usize;
    if len > max {
        return Err(WbcbError::MalformedWrap("field too long"));
    }
    cur.take(len)
}

fn push_field(out: &mut Vec<u8>, field: &[u8]) {
    out.extend_from_slice(&(field.len() as u16).to_be_bytes());
    out.extend_from_slice(field);
}
