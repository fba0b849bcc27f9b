//! Signing with an identity's private key, and signature verification.
//!
//! Fabric's rule: ECDSA signatures must have S ≤ n/2 ("low-S"), otherwise
//! the same signature would have two valid encodings. Neither ring nor
//! RustCrypto normalises by itself, so [`SigningIdentity::sign`] does and
//! [`verify_signature`] rejects high-S explicitly.
//!
//! Signing runs on every endorsement, block and client request, so it uses
//! ring (several times faster than RustCrypto's P-256 here; nonces from the
//! OS random source). The RustCrypto key is kept for key checks and as the
//! deterministic (RFC 6979) signer should the OS random source ever fail.

use crate::files::{files_in, read};
use crate::{Identity, MspError};
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::DecodePrivateKey;
use sha2::Digest;
use std::path::Path;

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(data).into()
}

/// Verifies a DER ECDSA P-256/SHA-256 signature; rejects high-S signatures as Fabric does.
pub fn verify_signature(
    public_key_sec1: &[u8],
    msg: &[u8],
    signature_der: &[u8],
) -> Result<(), MspError> {
    // Fast path: a well-formed low-S signature that ring accepts is valid.
    // Anything else gets the full RustCrypto check, which decides the error.
    if is_low_s_der(signature_der)
        && crate::fast_verify::ring_accepts(public_key_sec1, msg, signature_der)
    {
        return Ok(());
    }
    verify_with_p256(public_key_sec1, msg, signature_der)
}

/// True if `signature_der` is a DER ECDSA P-256 signature with S ≤ n/2.
/// Costs a DER parse and a scalar comparison, no curve arithmetic.
fn is_low_s_der(signature_der: &[u8]) -> bool {
    Signature::from_der(signature_der).is_ok_and(|sig| sig.normalize_s().is_none())
}

/// The authoritative verifier: every check, with the error that explains a rejection.
fn verify_with_p256(
    public_key_sec1: &[u8],
    msg: &[u8],
    signature_der: &[u8],
) -> Result<(), MspError> {
    let key = VerifyingKey::from_sec1_bytes(public_key_sec1)
        .map_err(|_| MspError::BadCertificate("public key is not a P-256 point".into()))?;
    let sig = Signature::from_der(signature_der)
        .map_err(|e| MspError::MalformedSignature(e.to_string()))?;
    if sig.normalize_s().is_some() {
        return Err(MspError::HighS);
    }
    key.verify(msg, &sig).map_err(|_| MspError::BadSignature)
}

/// The same key for ring, from its scalar and uncompressed public point.
fn ring_key_pair(
    key: &SigningKey,
    public: &[u8],
) -> Result<ring::signature::EcdsaKeyPair, MspError> {
    // A transient copy of the scalar, wiped when dropped.
    let scalar = p256::elliptic_curve::zeroize::Zeroizing::new(key.to_bytes());
    ring::signature::EcdsaKeyPair::from_private_key_and_public_key(
        &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        &scalar[..],
        public,
        &ring::rand::SystemRandom::new(),
    )
    .map_err(|_| MspError::BadKey("the P-256 key is not usable for signing".into()))
}

/// Parses a PEM private key: PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`).
fn parse_key_pem(key_pem: &[u8]) -> Result<SigningKey, MspError> {
    let text = std::str::from_utf8(key_pem)
        .map_err(|_| MspError::BadKey("key file is not PEM text".into()))?;
    // Error details from the decoders are dropped on purpose: they never carry
    // key bytes, but there is nothing useful in them beyond "which format".
    if text.contains("-----BEGIN PRIVATE KEY-----") {
        SigningKey::from_pkcs8_pem(text)
            .map_err(|_| MspError::BadKey("invalid PKCS#8 P-256 key".into()))
    } else if text.contains("-----BEGIN EC PRIVATE KEY-----") {
        p256::SecretKey::from_sec1_pem(text)
            .map(SigningKey::from)
            .map_err(|_| MspError::BadKey("invalid SEC1 P-256 key".into()))
    } else {
        Err(MspError::BadKey(
            "expected a PEM 'PRIVATE KEY' or 'EC PRIVATE KEY' block".into(),
        ))
    }
}

/// An identity with its private key: what clients, peers and orderers sign with.
#[derive(Clone)]
pub struct SigningIdentity {
    pub identity: Identity,
    key: p256::ecdsa::SigningKey,
    fast: std::sync::Arc<ring::signature::EcdsaKeyPair>,
}

impl std::fmt::Debug for SigningIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningIdentity")
            .field("mspid", &self.identity.mspid)
            .field("subject", &self.identity.subject_cn)
            .finish_non_exhaustive()
    }
}

impl SigningIdentity {
    /// From a PEM certificate and a PEM private key (PKCS#8 or SEC1).
    pub fn from_pem(mspid: &str, cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, MspError> {
        let identity = Identity::from_pem(mspid, cert_pem)?;
        let key = parse_key_pem(key_pem)?;
        let public = key.verifying_key().to_encoded_point(false);
        if public.as_bytes() != identity.public_key.as_slice() {
            return Err(MspError::BadKey(format!(
                "private key does not match the certificate of {}",
                identity.subject_cn
            )));
        }
        let fast = ring_key_pair(&key, public.as_bytes())?;
        Ok(Self {
            identity,
            key,
            fast: std::sync::Arc::new(fast),
        })
    }

    /// From an MSP directory: `signcerts/*.pem` and the single key in `keystore/`.
    pub fn from_msp_dir(mspid: &str, dir: &Path) -> Result<Self, MspError> {
        let certs: Vec<_> = files_in(&dir.join("signcerts"))?
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "pem"))
            .collect();
        let [cert_path] = certs.as_slice() else {
            return Err(MspError::Config(format!(
                "{}: expected one signcerts/*.pem, found {}",
                dir.display(),
                certs.len()
            )));
        };
        let keys = files_in(&dir.join("keystore"))?;
        let [key_path] = keys.as_slice() else {
            return Err(MspError::Config(format!(
                "{}: expected one file in keystore/, found {}",
                dir.display(),
                keys.len()
            )));
        };
        Self::from_pem(mspid, &read(cert_path)?, &read(key_path)?)
    }

    /// `msp.SerializedIdentity` bytes of the public identity (the "creator").
    pub fn serialize(&self) -> Vec<u8> {
        self.identity.serialize()
    }

    pub fn mspid(&self) -> &str {
        &self.identity.mspid
    }

    /// DER ECDSA signature over SHA-256(msg), normalised to low-S.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let sig = self
            .fast
            .sign(&ring::rand::SystemRandom::new(), msg)
            .ok()
            .and_then(|der| Signature::from_der(der.as_ref()).ok())
            // ring fails only if the OS random source does: RFC 6979 needs none.
            .unwrap_or_else(|| self.key.sign(msg));
        let low = sig.normalize_s().unwrap_or(sig);
        let der = low.to_der().as_bytes().to_vec();
        // Verifiers in this process need not redo the curve arithmetic for it
        // (see crate::verified): the key matches the certificate (checked in from_pem).
        crate::verified::note_own_signature(&self.identity.public_key, msg, &der);
        der
    }
}
