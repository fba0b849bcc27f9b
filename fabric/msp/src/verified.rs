//! A bounded, thread-safe memo of signature checks, shared by everyone who
//! verifies through one [`crate::MspManager`].
//!
//! Why: in one process several parties check the very same signatures: the
//! orderer checks a transaction's creator signature on broadcast, then every
//! peer checks it again at commit, together with each endorsement; each
//! endorser checks the same proposal signature. The outcome is a pure
//! function of (key, message, signature), so it is computed once.
//!
//! Entries are keyed by SHA-256 over the key, SHA-256 of the message and the
//! signature, so a hit means exactly that triple was checked. Concurrent
//! checks of one triple wait for the first instead of repeating it, which is
//! what makes the memo pay off when peers validate the same block at once.
//! Only acceptance is taken from the memo: a recorded rejection is checked
//! again by the caller, to return the precise error.
//!
//! Signatures this process made itself ([`crate::SigningIdentity::sign`]) are
//! noted in a process-wide set ([`note_own_signature`]) and accepted without
//! curve arithmetic: the devnet's validators check every endorsement its own
//! endorsers signed a moment earlier in the same process (two or more verifications
//! per transaction). That is exact, not a shortcut: a signing identity's key is
//! checked to match its certificate when it is loaded, and `sign` returns a
//! canonical DER, low-S signature over exactly these bytes, which every correct
//! ECDSA verifier accepts (ECDSA's correctness); a triple that differs in any
//! byte of key, message or signature has another memo key and is verified in full.

use crate::MspError;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

/// Beyond this many remembered checks the memo starts over (an entry is about 100 bytes).
const MAX_ENTRIES: usize = 65_536;

/// Beyond this many noted own signatures the set starts over (32 bytes each).
const MAX_OWN: usize = 65_536;

/// Memo keys of the signatures this process made (see the module documentation).
static OWN_SIGNATURES: Mutex<Option<HashSet<Key>>> = Mutex::new(None);

/// Notes that this process signed `msg` with the private key of `public_key_sec1`,
/// producing `signature_der` (canonical DER, low-S): any memo will accept that triple.
pub(crate) fn note_own_signature(public_key_sec1: &[u8], msg: &[u8], signature_der: &[u8]) {
    let k = key(public_key_sec1, msg, signature_der);
    let mut own = OWN_SIGNATURES.lock().unwrap_or_else(|p| p.into_inner());
    let own = own.get_or_insert_with(HashSet::new);
    if own.len() >= MAX_OWN {
        own.clear();
    }
    own.insert(k);
}

/// Whether the triple with memo key `k` is a signature this process made.
fn is_own_signature(k: &Key) -> bool {
    let own = OWN_SIGNATURES.lock().unwrap_or_else(|p| p.into_inner());
    own.as_ref().is_some_and(|own| own.contains(k))
}

type Key = [u8; 32];

/// Outcomes of signature checks (true: valid), each computed by the first thread to ask.
#[derive(Default)]
pub(crate) struct VerifiedSignatures {
    entries: Mutex<HashMap<Key, Arc<OnceLock<bool>>>>,
}

impl std::fmt::Debug for VerifiedSignatures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries = self.entries.lock().map(|e| e.len()).unwrap_or_default();
        f.debug_struct("VerifiedSignatures")
            .field("entries", &entries)
            .finish()
    }
}

impl VerifiedSignatures {
    /// [`crate::verify_signature`], computed at most once per (key, message, signature)
    /// while remembered; the same result and, on rejection, the same error.
    pub(crate) fn verify(
        &self,
        public_key_sec1: &[u8],
        msg: &[u8],
        signature_der: &[u8],
    ) -> Result<(), MspError> {
        let k = key(public_key_sec1, msg, signature_der);
        let cell = self.cell(k);
        let valid = *cell.get_or_init(|| {
            is_own_signature(&k)
                || crate::verify_signature(public_key_sec1, msg, signature_der).is_ok()
        });
        if valid {
            Ok(())
        } else {
            crate::verify_signature(public_key_sec1, msg, signature_der)
        }
    }

    fn cell(&self, key: Key) -> Arc<OnceLock<bool>> {
        // A poisoned lock only means another thread panicked while inserting; the map is sound.
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.entry(key).or_default().clone()
    }
}

/// SHA-256(len(key) ‖ key ‖ SHA-256(msg) ‖ signature): the length prefix and the
/// fixed-size digest make the split between the three parts unambiguous.
fn key(public_key_sec1: &[u8], msg: &[u8], signature_der: &[u8]) -> Key {
    let mut h = Sha256::new();
    h.update((public_key_sec1.len() as u64).to_be_bytes());
    h.update(public_key_sec1);
    h.update(Sha256::digest(msg));
    h.update(signature_der);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::{key, VerifiedSignatures};
    use crate::MspError;
    use p256::ecdsa::signature::Signer;
    use p256::ecdsa::{Signature, SigningKey};

    #[test]
    fn remembers_valid_signatures_and_keeps_rejecting_bad_ones() {
        let sk = SigningKey::random(&mut rand_core::OsRng);
        let public = sk.verifying_key().to_encoded_point(false);
        let sig: Signature = sk.sign(b"record");
        let der = sig.normalize_s().unwrap_or(sig).to_der();
        let memo = VerifiedSignatures::default();
        for _ in 0..2 {
            memo.verify(public.as_bytes(), b"record", der.as_bytes())
                .unwrap();
            assert!(matches!(
                memo.verify(public.as_bytes(), b"recorD", der.as_bytes()),
                Err(MspError::BadSignature)
            ));
            assert!(matches!(
                memo.verify(public.as_bytes(), b"record", &[0x30, 0x00]),
                Err(MspError::MalformedSignature(_))
            ));
        }
    }

    #[test]
    fn keys_separate_the_parts() {
        assert_ne!(key(b"ab", b"c", b"d"), key(b"a", b"bc", b"d"));
        assert_ne!(key(b"a", b"b", b"cd"), key(b"a", b"bc", b"d"));
        assert_ne!(key(b"k", b"m", b"s1"), key(b"k", b"m", b"s2"));
    }
}
