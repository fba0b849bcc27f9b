//! The per-record-version data key and the payload cipher derived from it.
//!
//! The data key is 256 random bits from the OS. The chunk cipher does not use
//! it directly: its key is HKDF-SHA256(data key, salt = nonce prefix,
//! info = label || algorithm id), which ties the key to one algorithm.

use std::fmt;

use hkdf::Hkdf;
use rand_core::{OsRng, RngCore};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::format::{Algorithm, NONCE_PREFIX_LEN, TAG_LEN};

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

/// The chunk AEAD of one record, keyed from its data key.
///
/// Sealing and opening use the same implementation ([`Aead`]), so decryption
/// runs as fast as encryption. Opening is out of place within one buffer
/// (ciphertext after the plaintext area): a failed chunk keeps its ciphertext
/// and can be opened again to diagnose it (truncated vs appended vs altered).
pub(crate) struct PayloadCipher(Aead);

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
        Ok(Self(Aead::new(algorithm, &okm)?))
    }

    /// Encrypts `buf` in place and appends the tag.
    pub(crate) fn seal(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        buf: &mut Vec<u8>,
    ) -> Result<(), AeadFailure> {
        self.0.seal(nonce, aad, buf)
    }

    /// Verifies the ciphertext-and-tag at `buf[src..]` and writes its
    /// plaintext to `buf[..n]`, returning `n`. The two regions must not
    /// overlap (`src >= n`), otherwise this fails without touching `buf`.
    /// On failure `buf[..src]` is unspecified but `buf[src..]` still holds
    /// the ciphertext, so it can be opened again under another nonce.
    pub(crate) fn open_within(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        buf: &mut [u8],
        src: usize,
    ) -> Result<usize, AeadFailure> {
        let sealed_len = buf.len().checked_sub(src).ok_or(AeadFailure)?;
        let plain_len = sealed_len.checked_sub(TAG_LEN).ok_or(AeadFailure)?;
        if plain_len > src {
            return Err(AeadFailure);
        }
        self.0.open_within(nonce, aad, buf, src)?;
        Ok(plain_len)
    }
}

/// Native targets: ring's AES-256-GCM and ChaCha20-Poly1305 (hand-tuned
/// assembly, CPU features detected at run time), several times faster than
/// the portable crates. The output is the standard AEAD, so records move
/// between native and wasm builds (tests check the two agree byte for byte).
#[cfg(not(target_arch = "wasm32"))]
struct Aead(ring::aead::LessSafeKey);

#[cfg(not(target_arch = "wasm32"))]
impl Aead {
    fn new(algorithm: Algorithm, key: &[u8; 32]) -> Result<Self, AeadFailure> {
        let alg = match algorithm {
            Algorithm::Aes256Gcm => &ring::aead::AES_256_GCM,
            Algorithm::ChaCha20Poly1305 => &ring::aead::CHACHA20_POLY1305,
        };
        // Both algorithms take 32-byte keys, so this does not fail in practice.
        let unbound = ring::aead::UnboundKey::new(alg, key).map_err(|_| AeadFailure)?;
        Ok(Aead(ring::aead::LessSafeKey::new(unbound)))
    }

    fn seal(&self, nonce: &[u8; 12], aad: &[u8], buf: &mut Vec<u8>) -> Result<(), AeadFailure> {
        let nonce = ring::aead::Nonce::assume_unique_for_key(*nonce);
        self.0
            .seal_in_place_append_tag(nonce, ring::aead::Aad::from(aad), buf)
            .map_err(|_| AeadFailure)
    }

    /// ring decrypts from `buf[src..]` into `buf[..]`, writing only the
    /// output region (zeroed on a tag mismatch); with the regions disjoint
    /// (checked by the caller) the ciphertext survives a failure. The unit
    /// test `failed_open_keeps_ciphertext` pins this for the pinned ring.
    fn open_within(
        &self,
        nonce: &[u8; 12],
        aad: &[u8],
        buf: &mut [u8],
        src: usize,
    ) -> Result<(), AeadFailure> {
        let nonce = ring::aead::Nonce::assume_unique_for_key(*nonce);
        self.0
            .open_within(nonce, ring::aead::Aad::from(aad), buf, src..)
            .map(|_| ())
            .map_err(|_| AeadFailure)
    }
}

#[cfg(target_arch = "wasm32")]
use portable::Portable as Aead;

/// wasm32 (and native tests, as the reference ring must agree with): the
/// RustCrypto crates, pure Rust, no assembly to build for the browser.
#[cfg(any(target_arch = "wasm32", test))]
mod portable {
    use aes_gcm::aead::{AeadInPlace, KeyInit};
    use aes_gcm::{Aes256Gcm, Nonce, Tag};
    use chacha20poly1305::ChaCha20Poly1305;

    use super::AeadFailure;
    use crate::format::{Algorithm, TAG_LEN};

    pub(crate) enum Portable {
        Aes(Box<Aes256Gcm>),
        ChaCha(Box<ChaCha20Poly1305>),
    }

    impl Portable {
        pub(crate) fn new(algorithm: Algorithm, key: &[u8; 32]) -> Result<Self, AeadFailure> {
            Ok(match algorithm {
                Algorithm::Aes256Gcm => Portable::Aes(Box::new(Aes256Gcm::new(key.into()))),
                Algorithm::ChaCha20Poly1305 => {
                    Portable::ChaCha(Box::new(ChaCha20Poly1305::new(key.into())))
                }
            })
        }

        pub(crate) fn seal(
            &self,
            nonce: &[u8; 12],
            aad: &[u8],
            buf: &mut Vec<u8>,
        ) -> Result<(), AeadFailure> {
            let nonce = Nonce::from(*nonce);
            match self {
                Portable::Aes(c) => c.encrypt_in_place(&nonce, aad, buf),
                Portable::ChaCha(c) => c.encrypt_in_place(&nonce, aad, buf),
            }
            .map_err(|_| AeadFailure)
        }

        /// Copies the ciphertext to the front and opens it there; these
        /// crates verify before decrypting, and the source is never written.
        pub(crate) fn open_within(
            &self,
            nonce: &[u8; 12],
            aad: &[u8],
            buf: &mut [u8],
            src: usize,
        ) -> Result<(), AeadFailure> {
            let (front, sealed) = buf.split_at_mut(src);
            let plain_len = sealed.len().checked_sub(TAG_LEN).ok_or(AeadFailure)?;
            let (ciphertext, tag) = sealed.split_at(plain_len);
            let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| AeadFailure)?;
            let out = front.get_mut(..plain_len).ok_or(AeadFailure)?;
            out.copy_from_slice(ciphertext);
            let nonce = Nonce::from(*nonce);
            let tag = Tag::from(tag);
            match self {
                Portable::Aes(c) => c.decrypt_in_place_detached(&nonce, aad, out, &tag),
                Portable::ChaCha(c) => c.decrypt_in_place_detached(&nonce, aad, out, &tag),
            }
            .map_err(|_| AeadFailure)
        }
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
    use super::portable::Portable;
    use super::*;

    const LENS: [usize; 7] = [0, 1, 15, 16, 17, 4096, 65_536 + 3];

    fn plain(len: usize) -> Vec<u8> {
        (0..len).map(|i| i as u8).collect()
    }

    /// `[room for the plaintext | sealed]`, the layout `open_within` takes.
    fn layout(sealed: &[u8]) -> (Vec<u8>, usize) {
        let src = sealed.len().saturating_sub(TAG_LEN);
        let mut buf = vec![0u8; src];
        buf.extend_from_slice(sealed);
        (buf, src)
    }

    /// The native AEAD and the portable crates (the wasm32 build) produce
    /// identical bytes and open each other's output.
    #[test]
    fn native_matches_portable_aead() {
        let key = [9u8; 32];
        let nonce = [3u8; 12];
        for algorithm in [Algorithm::Aes256Gcm, Algorithm::ChaCha20Poly1305] {
            let native = Aead::new(algorithm, &key).ok().expect("native");
            let portable = Portable::new(algorithm, &key).ok().expect("portable");
            for len in LENS {
                let mut ours = plain(len);
                native.seal(&nonce, b"aad", &mut ours).ok().expect("seal");
                let mut theirs = plain(len);
                portable
                    .seal(&nonce, b"aad", &mut theirs)
                    .ok()
                    .expect("seal");
                assert_eq!(ours, theirs, "{algorithm:?} len {len}");

                let (mut buf, src) = layout(&ours);
                native
                    .open_within(&nonce, b"aad", &mut buf, src)
                    .ok()
                    .expect("native open");
                assert_eq!(buf[..len], plain(len)[..], "{algorithm:?} len {len}");
                let (mut buf, src) = layout(&ours);
                portable
                    .open_within(&nonce, b"aad", &mut buf, src)
                    .ok()
                    .expect("portable open");
                assert_eq!(buf[..len], plain(len)[..], "{algorithm:?} len {len}");
            }
        }
    }

    /// The stream decryptor's diagnosis reopens a failed chunk under the
    /// other last-flag: a failed open must leave the ciphertext region as it
    /// was, for the native and the portable implementation alike.
    #[test]
    fn failed_open_keeps_ciphertext() {
        let key = [7u8; 32];
        let (right, wrong) = ([1u8; 12], [2u8; 12]);
        for algorithm in [Algorithm::Aes256Gcm, Algorithm::ChaCha20Poly1305] {
            let cipher = PayloadCipher(Aead::new(algorithm, &key).ok().expect("native"));
            let portable = Portable::new(algorithm, &key).ok().expect("portable");
            for len in LENS {
                let mut sealed = plain(len);
                cipher.seal(&right, b"h", &mut sealed).ok().expect("seal");
                let (mut buf, src) = layout(&sealed);
                assert!(cipher.open_within(&wrong, b"h", &mut buf, src).is_err());
                assert_eq!(buf[src..], sealed[..], "{algorithm:?} len {len}");
                let n = cipher
                    .open_within(&right, b"h", &mut buf, src)
                    .ok()
                    .expect("reopen");
                assert_eq!(buf[..n], plain(len)[..], "{algorithm:?} len {len}");

                let (mut buf, src) = layout(&sealed);
                assert!(portable.open_within(&wrong, b"h", &mut buf, src).is_err());
                assert_eq!(buf[src..], sealed[..], "{algorithm:?} len {len}");
            }
        }
    }

    /// Overlapping regions or a buffer shorter than a tag are refused.
    #[test]
    fn open_within_refuses_bad_layouts() {
        let cipher = PayloadCipher(
            Aead::new(Algorithm::Aes256Gcm, &[1u8; 32])
                .ok()
                .expect("key"),
        );
        let mut sealed = plain(100);
        cipher
            .seal(&[0u8; 12], b"", &mut sealed)
            .ok()
            .expect("seal");
        let (mut buf, src) = layout(&sealed);
        let mut overlapping = buf[1..].to_vec();
        let before = overlapping.clone();
        assert!(cipher
            .open_within(&[0u8; 12], b"", &mut overlapping, src - 1)
            .is_err());
        assert_eq!(overlapping, before, "refused without writing");
        assert!(cipher
            .open_within(&[0u8; 12], b"", &mut buf[..src + TAG_LEN - 1], src)
            .is_err());
        assert!(cipher
            .open_within(&[0u8; 12], b"", &mut buf, src + 1)
            .is_err());
        assert!(cipher.open_within(&[0u8; 12], b"", &mut buf, src).is_ok());
    }
}
