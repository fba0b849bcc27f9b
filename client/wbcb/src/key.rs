//! The per-record-version data key and the payload cipher derived from it.
//!
//! The data key is 256 random bits from the OS. The chunk cipher does not use
//! it directly: its key is HKDF-SHA256(data key, salt = nonce prefix,
//! info = label || algorithm id), which ties the key to one algorithm.

use std::fmt;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use rand_core::{OsRng, RngCore};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::format::{Algorithm, NONCE_PREFIX_LEN};

/// Length of a data key in bytes.
pub const DATA_KEY_LEN: usize = 32;

const PAYLOAD_KEY_LABEL: &[u8] = b"healthblock/wbcb/v1 payload key";

/// A record version's symmetric data key. Wiped from memory on drop and never
/// printed.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; DATA_KEY_LEN]>);

impl DataKey {
    /// A fresh key from the OS random source.
    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; DATA_KEY_LEN]);
        OsRng.fill_bytes(key.as_mut());
        DataKey(key)
    }

    /// Wraps existing key bytes (e.g. just unwrapped from HPKE).
    pub fn from_bytes(bytes: [u8; DATA_KEY_LEN]) -> Self {
        DataKey(Zeroizing::new(bytes))
    }

    /// The raw key bytes (for wrapping).
    pub fn as_bytes(&self) -> &[u8; DATA_KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// Fresh random nonce prefix for one record.
pub(crate) fn random_nonce_prefix() -> [u8; NONCE_PREFIX_LEN] {
    let mut prefix = [0u8; NONCE_PREFIX_LEN];
    OsRng.fill_bytes(&mut prefix);
    prefix
}

/// The AEAD instances that seal and open chunks.
///
/// Opening always uses the RustCrypto crates: they verify the tag before
/// decrypting, so a failed chunk still holds its ciphertext and can be
/// diagnosed (truncated vs appended vs altered). Sealing uses [`Sealer`].
pub(crate) struct PayloadCipher {
    opener: Opener,
    sealer: Sealer,
}

enum Opener {
    Aes(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
}

/// AEAD failure (details deliberately withheld by the AEAD crates).
pub(crate) struct AeadFailure;

impl PayloadCipher {
    pub(crate) fn new(
        key: &DataKey,
        algorithm: Algorithm,
        nonce_prefix: &[u8; NONCE_PREFIX_LEN],
    ) -> Result<Self, AeadFailure> {
        let hk = Hkdf::<Sha256>::new(Some(nonce_prefix), key.as_bytes());
        let mut okm = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
        let info = [PAYLOAD_KEY_LABEL, &[algorithm.id()]].concat();
        hk.expand(&info, okm.as_mut()).unwrap_or_default();
        let opener = match algorithm {
            Algorithm::Aes256Gcm => Opener::Aes(Box::new(Aes256Gcm::new(okm.as_ref().into()))),
            Algorithm::ChaCha20Poly1305 => {
                Opener::ChaCha(Box::new(ChaCha20Poly1305::new(okm.as_ref().into())))
            }
        };
        Ok(Self {
            sealer: Sealer::new(algorithm, &okm)?,
            opener,
        })
    }

    /// Encrypts `buf` in place and appends the tag.
    pub(crate) fn seal(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        buf: &mut Vec<u8>,
    ) -> Result<(), AeadFailure> {
        self.sealer.seal(nonce, aad, buf)
    }

    /// Verifies and decrypts `buf` in place, removing the tag. On failure
    /// `buf` is unchanged.
    pub(crate) fn open(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        buf: &mut Vec<u8>,
    ) -> Result<(), AeadFailure> {
        let nonce = Nonce::from(*nonce);
        match &self.opener {
            Opener::Aes(c) => c.decrypt_in_place(&nonce, aad, buf),
            Opener::ChaCha(c) => c.decrypt_in_place(&nonce, aad, buf),
        }
        .map_err(|_| AeadFailure)
    }
}

/// Sealing on native targets: ring's AES-256-GCM and ChaCha20-Poly1305
/// (hand-tuned assembly, CPU features detected at run time), several times
/// faster than the portable crates. The output is the standard AEAD, so the
/// RustCrypto opener reads it (tests check they agree byte for byte).
#[cfg(not(target_arch = "wasm32"))]
struct Sealer(ring::aead::LessSafeKey);

#[cfg(not(target_arch = "wasm32"))]
impl Sealer {
    fn new(algorithm: Algorithm, key: &[u8; 32]) -> Result<Self, AeadFailure> {
        let alg = match algorithm {
            Algorithm::Aes256Gcm => &ring::aead::AES_256_GCM,
            Algorithm::ChaCha20Poly1305 => &ring::aead::CHACHA20_POLY1305,
        };
        // Both algorithms take 32-byte keys, so this does not fail in practice.
        let unbound = ring::aead::UnboundKey::new(alg, key).map_err(|_| AeadFailure)?;
        Ok(Sealer(ring::aead::LessSafeKey::new(unbound)))
    }

    fn seal(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut Vec<u8>) -> Result<(), AeadFailure> {
        let nonce = ring::aead::Nonce::assume_unique_for_key(*nonce);
        self.0
            .seal_in_place_append_tag(nonce, ring::aead::Aad::from(aad), buf)
            .map_err(|_| AeadFailure)
    }
}

/// Sealing on wasm32: the same portable crates as opening.
#[cfg(target_arch = "wasm32")]
struct Sealer(Opener);

#[cfg(target_arch = "wasm32")]
impl Sealer {
    fn new(algorithm: Algorithm, key: &[u8; 32]) -> Result<Self, AeadFailure> {
        Ok(Sealer(match algorithm {
            Algorithm::Aes256Gcm => Opener::Aes(Box::new(Aes256Gcm::new(key.into()))),
            Algorithm::ChaCha20Poly1305 => {
                Opener::ChaCha(Box::new(ChaCha20Poly1305::new(key.into())))
            }
        }))
    }

    fn seal(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut Vec<u8>) -> Result<(), AeadFailure> {
        let nonce = Nonce::from(*nonce);
        match &self.0 {
            Opener::Aes(c) => c.encrypt_in_place(&nonce, aad, buf),
            Opener::ChaCha(c) => c.encrypt_in_place(&nonce, aad, buf),
        }
        .map_err(|_| AeadFailure)
    }
}

/// STREAM nonce: prefix (7) || chunk counter (4, big-endian) || last flag (1).
pub(crate) fn chunk_nonce(prefix: &[u8; NONCE_PREFIX_LEN], counter: u32, last: bool) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[..NONCE_PREFIX_LEN].copy_from_slice(prefix);
    nonce[NONCE_PREFIX_LEN..11].copy_from_slice(&counter.to_be_bytes());
    nonce[11] = u8::from(last);
    nonce
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The native sealer and the portable crates produce identical bytes.
    #[test]
    fn sealer_matches_portable_aead() {
        let key = [9u8; 32];
        let nonce = [3u8; 12];
        for algorithm in [Algorithm::Aes256Gcm, Algorithm::ChaCha20Poly1305] {
            for len in [0usize, 1, 15, 16, 17, 4096, 65_536 + 3] {
                let plain: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let mut ours = plain.clone();
                let sealer = Sealer::new(algorithm, &key).ok().expect("sealer");
                sealer.seal(&nonce, b"aad", &mut ours).ok().expect("seal");
                let mut portable = plain.clone();
                let n = Nonce::from(nonce);
                match algorithm {
                    Algorithm::Aes256Gcm => {
                        Aes256Gcm::new(&key.into()).encrypt_in_place(&n, b"aad", &mut portable)
                    }
                    Algorithm::ChaCha20Poly1305 => ChaCha20Poly1305::new(&key.into())
                        .encrypt_in_place(&n, b"aad", &mut portable),
                }
                .expect("portable seal");
                assert_eq!(ours, portable, "{algorithm:?} len {len}");
            }
        }
    }
}
