//! ECDSA P-256/SHA-256 verification through `ring`, as an accelerator only.
//!
//! Why: verification is the devnet's hottest path (the creator, every
//! endorsement and every certificate chain, on every peer), and ring's
//! assembly field arithmetic is an order of magnitude faster than p256's
//! portable code. Why "accelerator only": ring answers just yes or no, takes
//! only uncompressed points and has its own DER rules, while callers must tell
//! a malformed or high-S signature from a wrong one. So ring may only *accept*:
//! whatever it refuses is decided again by the RustCrypto verifier, whose
//! answer (and error) stands. A mathematically valid signature under a valid
//! key is accepted by both, so the outcome is exactly p256's, only faster.

use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};

/// True if ring verifies the DER signature over SHA-256(`msg`) with the SEC1 key.
/// False says nothing: the caller must then ask the authoritative verifier.
pub(crate) fn ring_accepts(public_key_sec1: &[u8], msg: &[u8], signature_der: &[u8]) -> bool {
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, public_key_sec1)
        .verify(msg, signature_der)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::ring_accepts;
    use p256::ecdsa::signature::Signer;
    use p256::ecdsa::{Signature, SigningKey};

    fn key() -> SigningKey {
        SigningKey::random(&mut rand_core::OsRng)
    }

    #[test]
    fn accepts_a_valid_signature_and_refuses_tampering() {
        let sk = key();
        let public = sk.verifying_key().to_encoded_point(false);
        let sig: Signature = sk.sign(b"record");
        let der = sig.to_der();
        assert!(ring_accepts(public.as_bytes(), b"record", der.as_bytes()));
        assert!(!ring_accepts(public.as_bytes(), b"recorD", der.as_bytes()));
        let other = key().verifying_key().to_encoded_point(false);
        assert!(!ring_accepts(other.as_bytes(), b"record", der.as_bytes()));
    }

    #[test]
    fn refuses_garbage_keys_and_signatures() {
        let sk = key();
        let public = sk.verifying_key().to_encoded_point(false);
        let sig: Signature = sk.sign(b"record");
        assert!(!ring_accepts(&[4; 65], b"record", sig.to_der().as_bytes()));
        assert!(!ring_accepts(public.as_bytes(), b"record", &[0x30, 0x00]));
        assert!(!ring_accepts(&[], b"record", &[]));
    }
}
