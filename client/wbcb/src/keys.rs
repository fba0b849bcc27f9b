//! Encryption key pairs of users and hospitals (P-256, separate from their
//! signing keys): generation from the OS random source, PEM encoding
//! (PKCS#8 private, SPKI public) and fingerprints (SHA-256 of the SPKI DER).

use std::fmt;
use std::str::FromStr;

use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use p256::{PublicKey, SecretKey};
use rand_core::OsRng;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Result, WbcbError};

/// SHA-256 of a public key's SPKI DER encoding; written as 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// Lower-case hex form.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.to_hex())
    }
}

impl FromStr for Fingerprint {
    type Err = WbcbError;

    fn from_str(s: &str) -> Result<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s.trim(), &mut out)
            .map_err(|_| WbcbError::InvalidKey("a fingerprint is 64 hex digits".into()))?;
        Ok(Fingerprint(out))
    }
}

/// A recipient's public encryption key.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionPublicKey {
    key: PublicKey,
    fingerprint: Fingerprint,
}

impl EncryptionPublicKey {
    fn from_key(key: PublicKey) -> Result<Self> {
        let der = key
            .to_public_key_der()
            .map_err(|e| WbcbError::InvalidKey(format!("cannot encode public key: {e}")))?;
        let fingerprint = Fingerprint(Sha256::digest(der.as_bytes()).into());
        Ok(Self { key, fingerprint })
    }

    /// Parses a `-----BEGIN PUBLIC KEY-----` (SPKI) P-256 key.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let key = PublicKey::from_public_key_pem(pem.trim()).map_err(|e| {
            WbcbError::InvalidKey(format!("not a P-256 public key in SPKI PEM form ({e})"))
        })?;
        Self::from_key(key)
    }

    /// SPKI PEM encoding.
    pub fn to_pem(&self) -> Result<String> {
        self.key
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| WbcbError::InvalidKey(format!("cannot encode public key: {e}")))
    }

    /// SHA-256 of the SPKI DER.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// Uncompressed SEC1 point (the HPKE serialisation).
    pub(crate) fn sec1_uncompressed(&self) -> Vec<u8> {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        self.key.to_encoded_point(false).as_bytes().to_vec()
    }
}

impl fmt::Debug for EncryptionPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptionPublicKey({})", self.fingerprint)
    }
}

/// A private encryption key. Never printed; wiped on drop by `p256`.
#[derive(Clone)]
pub struct EncryptionSecretKey {
    key: SecretKey,
    public: EncryptionPublicKey,
}

impl EncryptionSecretKey {
    /// A fresh key pair from the OS random source.
    pub fn generate() -> Result<Self> {
        Self::from_key(SecretKey::random(&mut OsRng))
    }

    fn from_key(key: SecretKey) -> Result<Self> {
        let public = EncryptionPublicKey::from_key(key.public_key())?;
        Ok(Self { key, public })
    }

    /// Parses a `-----BEGIN PRIVATE KEY-----` (PKCS#8) P-256 key.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let key = SecretKey::from_pkcs8_pem(pem.trim()).map_err(|e| {
            WbcbError::InvalidKey(format!("not a P-256 private key in PKCS#8 PEM form ({e})"))
        })?;
        Self::from_key(key)
    }

    /// PKCS#8 PEM encoding (store it with mode 0600).
    pub fn to_pem(&self) -> Result<Zeroizing<String>> {
        self.key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| WbcbError::InvalidKey(format!("cannot encode private key: {e}")))
    }

    /// The matching public key.
    pub fn public_key(&self) -> &EncryptionPublicKey {
        &self.public
    }

    /// The scalar bytes (the HPKE serialisation).
    pub(crate) fn scalar_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.key.to_bytes().to_vec())
    }
}

impl fmt::Debug for EncryptionSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "EncryptionSecretKey(<redacted>, {})",
            self.public.fingerprint
        )
    }
}
