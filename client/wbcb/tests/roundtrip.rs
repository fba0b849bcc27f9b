//! Round trips for every size class and both AEADs, plus constant-size
//! framing facts (exact multiples of the chunk size, empty records).

use wbcb::format::TAG_LEN;
use wbcb::{
    decrypt_bytes, encrypt_bytes, Algorithm, DataKey, EncryptOptions, Header, RecordContext,
};

fn ctx() -> RecordContext {
    RecordContext::new("rec-42", 3, "pseudo-9f8e").expect("valid context")
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn round_trip(len: usize, algorithm: Algorithm, chunk_size: u32) {
    let key = DataKey::generate();
    let opts = EncryptOptions {
        algorithm,
        chunk_size,
    };
    let plain = pattern(len);
    let sealed = encrypt_bytes(&key, &ctx(), opts, &plain).expect("encrypt");
    let (header, header_bytes) = Header::read_from(&mut sealed.as_slice()).expect("header");
    assert_eq!(header.algorithm, algorithm);
    assert_eq!(header.chunk_size, chunk_size);
    // Number of chunks: the final chunk may be full, and an empty record has one empty chunk.
    let chunks = len.div_ceil(chunk_size as usize).max(1);
    assert_eq!(
        sealed.len(),
        header_bytes.len() + len + chunks * TAG_LEN,
        "len {len}"
    );
    let opened = decrypt_bytes(&key, &sealed, Some(&ctx())).expect("decrypt");
    assert_eq!(opened, plain, "len {len} {algorithm:?}");
}

#[test]
fn round_trip_every_size_class_both_algorithms() {
    for algorithm in [Algorithm::Aes256Gcm, Algorithm::ChaCha20Poly1305] {
        for len in [
            0,
            1,
            1023,
            1024,
            64 * 1024 - 1,
            64 * 1024,
            64 * 1024 + 1,
            1 << 20,
            3 * (1 << 20) + 17,
        ] {
            round_trip(len, algorithm, wbcb::format::DEFAULT_CHUNK_SIZE);
        }
    }
}

#[test]
fn round_trip_exact_multiples_and_small_chunks() {
    for len in [0, 64, 128, 640, 641, 639] {
        round_trip(len, Algorithm::Aes256Gcm, 64);
        round_trip(len, Algorithm::ChaCha20Poly1305, 64);
    }
}

#[test]
fn round_trip_16_mib() {
    round_trip(
        16 << 20,
        Algorithm::Aes256Gcm,
        wbcb::format::DEFAULT_CHUNK_SIZE,
    );
}

#[test]
fn streaming_writer_matches_any_write_pattern() {
    use std::io::Write;
    let key = DataKey::generate();
    let plain = pattern(10_000);
    let opts = EncryptOptions {
        algorithm: Algorithm::Aes256Gcm,
        chunk_size: 256,
    };
    let mut enc = wbcb::Encryptor::new(&key, &ctx(), opts, Vec::new()).expect("encryptor");
    // Odd write sizes across chunk boundaries.
    for piece in plain.chunks(77) {
        enc.write_all(piece).expect("write");
    }
    let (sealed, written) = enc.finish().expect("finish");
    assert_eq!(written as usize, sealed.len());
    assert_eq!(decrypt_bytes(&key, &sealed, None).expect("decrypt"), plain);
}

#[test]
fn fresh_keys_and_nonces_every_time() {
    let a = DataKey::generate();
    let b = DataKey::generate();
    assert_ne!(a.as_bytes(), b.as_bytes());
    let opts = EncryptOptions::default();
    let x = encrypt_bytes(&a, &ctx(), opts, b"same").expect("encrypt");
    let y = encrypt_bytes(&a, &ctx(), opts, b"same").expect("encrypt");
    assert_ne!(x, y, "nonce prefix must be fresh per encryption");
}

#[test]
fn invalid_inputs_rejected_up_front() {
    assert!(RecordContext::new("", 1, "p").is_err());
    assert!(RecordContext::new("r", 1, "").is_err());
    assert!(RecordContext::new("r".repeat(257), 1, "p").is_err());
    let key = DataKey::generate();
    let bad = EncryptOptions {
        algorithm: Algorithm::Aes256Gcm,
        chunk_size: 10,
    };
    let err = encrypt_bytes(&key, &ctx(), bad, b"x").unwrap_err();
    assert!(err.to_string().contains("chunk size"), "{err}");
}

#[test]
fn debug_output_never_shows_key_bytes() {
    let key = DataKey::generate();
    let shown = format!("{key:?}");
    assert!(!shown.contains(&hex::encode(key.as_bytes())));
    assert!(shown.contains("redacted"));
}

/// A reader that hands out at most 7 bytes per call, to exercise partial
/// reads at every chunk boundary.
struct Trickle<'a>(&'a [u8]);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.len().min(buf.len()).min(7);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn short_reads_from_input_and_ciphertext() {
    let key = DataKey::generate();
    let opts = EncryptOptions {
        algorithm: Algorithm::ChaCha20Poly1305,
        chunk_size: 64,
    };
    for len in [0, 63, 64, 65, 128, 1000] {
        let plain = pattern(len);
        let mut sealed = Vec::new();
        wbcb::encrypt_stream(&key, &ctx(), opts, Trickle(&plain), &mut sealed).expect("encrypt");
        // Same framing (length) as encrypting from a slice.
        let mut other = Vec::new();
        wbcb::encrypt_stream(&key, &ctx(), opts, plain.as_slice(), &mut other).expect("encrypt");
        assert_eq!(other.len(), sealed.len());
        let mut opened = Vec::new();
        wbcb::decrypt_stream(&key, Trickle(&sealed), &mut opened, Some(&ctx())).expect("decrypt");
        assert_eq!(opened, plain, "len {len}");
    }
}
