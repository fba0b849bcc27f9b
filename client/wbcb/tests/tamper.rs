//! Every part of the format is authenticated: each kind of tampering is
//! rejected, with an error that says what happened.

use wbcb::format::TAG_LEN;
use wbcb::{
    decrypt_bytes, encrypt_bytes, Algorithm, DataKey, EncryptOptions, Header, RecordContext,
    WbcbError,
};

const CHUNK: usize = 64;
const ENC_CHUNK: usize = CHUNK + TAG_LEN;

struct Sealed {
    key: DataKey,
    bytes: Vec<u8>,
    header_len: usize,
}

impl Sealed {
    fn new(len: usize, algorithm: Algorithm) -> Self {
        let key = DataKey::generate();
        let opts = EncryptOptions {
            algorithm,
            chunk_size: CHUNK as u32,
        };
        let plain: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let bytes = encrypt_bytes(&key, &ctx(), opts, &plain).expect("encrypt");
        let (_, header) = Header::read_from(&mut bytes.as_slice()).expect("header");
        Sealed {
            key,
            header_len: header.len(),
            bytes,
        }
    }

    fn chunk_range(&self, i: usize) -> std::ops::Range<usize> {
        let start = self.header_len + i * ENC_CHUNK;
        start..(start + ENC_CHUNK).min(self.bytes.len())
    }

    fn open(&self, bytes: &[u8]) -> Result<Vec<u8>, WbcbError> {
        decrypt_bytes(&self.key, bytes, Some(&ctx()))
    }
}

fn ctx() -> RecordContext {
    RecordContext::new("rec-7", 1, "pseudo-aa").expect("context")
}

fn flipped(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at] ^= 0x01;
    out
}

fn both_algorithms() -> [Algorithm; 2] {
    [Algorithm::Aes256Gcm, Algorithm::ChaCha20Poly1305]
}

#[test]
fn untouched_record_opens() {
    for alg in both_algorithms() {
        let s = Sealed::new(4 * CHUNK + 10, alg);
        assert_eq!(s.open(&s.bytes).expect("open").len(), 4 * CHUNK + 10);
    }
}

#[test]
fn every_header_byte_is_authenticated() {
    for alg in both_algorithms() {
        let s = Sealed::new(3 * CHUNK, alg);
        for at in 0..s.header_len {
            let err = s
                .open(&flipped(&s.bytes, at))
                .expect_err("tampered header accepted");
            // Whatever the field, the change is caught: by the parser, by the
            // context check, or by chunk 0's tag (header = AAD).
            assert!(!err.to_string().is_empty());
        }
    }
}

#[test]
fn header_fields_give_specific_errors() {
    let s = Sealed::new(100, Algorithm::Aes256Gcm);
    assert!(matches!(
        s.open(&flipped(&s.bytes, 0)),
        Err(WbcbError::BadMagic)
    ));
    assert!(matches!(
        s.open(&flipped(&s.bytes, 4)),
        Err(WbcbError::UnsupportedVersion(0))
    ));
    assert!(matches!(
        s.open(&flipped(&s.bytes, 5)),
        Err(WbcbError::UnknownAlgorithm(0))
    ));
    // Record version (offset 19..27) changed: context no longer matches.
    assert!(matches!(
        s.open(&flipped(&s.bytes, 26)),
        Err(WbcbError::ContextMismatch { .. })
    ));
    // Without an expected context, the header change is caught by chunk 0's tag.
    let err = decrypt_bytes(&s.key, &flipped(&s.bytes, 26), None).unwrap_err();
    assert!(
        matches!(err, WbcbError::ChunkAuthentication { index: 0 }),
        "{err}"
    );
}

#[test]
fn nonce_prefix_is_authenticated() {
    let s = Sealed::new(100, Algorithm::Aes256Gcm);
    for at in 12..19 {
        let err = s.open(&flipped(&s.bytes, at)).unwrap_err();
        assert!(
            matches!(err, WbcbError::ChunkAuthentication { index: 0 }),
            "{err}"
        );
    }
}

#[test]
fn every_chunk_body_and_tag_byte_is_authenticated() {
    for alg in both_algorithms() {
        let s = Sealed::new(4 * CHUNK + 10, alg);
        for i in 0..5 {
            let range = s.chunk_range(i);
            let tag_start = range.end - TAG_LEN;
            // First/last body byte and every tag byte.
            let positions = [range.start, tag_start - 1]
                .into_iter()
                .chain(tag_start..range.end);
            for at in positions {
                let err = s.open(&flipped(&s.bytes, at)).unwrap_err();
                match err {
                    WbcbError::ChunkAuthentication { index } => assert_eq!(index, i as u64),
                    other => panic!("chunk {i} byte {at}: unexpected error {other}"),
                }
            }
        }
    }
}

#[test]
fn truncation_is_detected() {
    // An exact multiple: 4 full chunks, the last of them flagged final.
    let s = Sealed::new(4 * CHUNK, Algorithm::Aes256Gcm);
    // Drop the final chunk: chunk 2 is now read as final and was not.
    let cut = &s.bytes[..s.chunk_range(3).start];
    assert!(matches!(s.open(cut), Err(WbcbError::Truncated)));
    // Cut inside a chunk.
    let err = s.open(&s.bytes[..s.bytes.len() - 5]).unwrap_err();
    assert!(
        matches!(err, WbcbError::ChunkAuthentication { index: 3 }),
        "{err}"
    );
    // Header only, part of the header, nothing.
    assert!(matches!(
        s.open(&s.bytes[..s.header_len]),
        Err(WbcbError::Truncated)
    ));
    assert!(matches!(s.open(&s.bytes[..10]), Err(WbcbError::Truncated)));
    assert!(matches!(s.open(&[]), Err(WbcbError::Truncated)));
    // Less than a tag after the header.
    assert!(matches!(
        s.open(&s.bytes[..s.header_len + 5]),
        Err(WbcbError::Truncated)
    ));
}

#[test]
fn appended_chunk_is_detected() {
    let s = Sealed::new(4 * CHUNK, Algorithm::Aes256Gcm);
    let mut longer = s.bytes.clone();
    longer.extend_from_slice(&s.bytes[s.chunk_range(1)]);
    assert!(matches!(s.open(&longer), Err(WbcbError::TrailingData)));
    // A few stray bytes after the end.
    let mut extra = s.bytes.clone();
    extra.extend_from_slice(b"xyz");
    assert!(s.open(&extra).is_err());
    // A whole second record appended.
    let mut doubled = s.bytes.clone();
    doubled.extend_from_slice(&s.bytes);
    assert!(s.open(&doubled).is_err());
}

#[test]
fn swapped_and_dropped_chunks_are_detected() {
    let s = Sealed::new(4 * CHUNK + 10, Algorithm::ChaCha20Poly1305);
    let (c1, c2) = (s.chunk_range(1), s.chunk_range(2));
    let mut swapped = s.bytes[..c1.start].to_vec();
    swapped.extend_from_slice(&s.bytes[c2.clone()]);
    swapped.extend_from_slice(&s.bytes[c1.clone()]);
    swapped.extend_from_slice(&s.bytes[c2.end..]);
    assert_eq!(swapped.len(), s.bytes.len());
    let err = s.open(&swapped).unwrap_err();
    assert!(
        matches!(err, WbcbError::ChunkAuthentication { index: 1 }),
        "{err}"
    );

    let mut dropped = s.bytes[..c1.start].to_vec();
    dropped.extend_from_slice(&s.bytes[c1.end..]);
    let err = s.open(&dropped).unwrap_err();
    assert!(
        matches!(err, WbcbError::ChunkAuthentication { index: 1 }),
        "{err}"
    );
}

#[test]
fn chunk_from_another_record_is_rejected() {
    let a = Sealed::new(3 * CHUNK, Algorithm::Aes256Gcm);
    let b = Sealed::new(3 * CHUNK, Algorithm::Aes256Gcm);
    let mut mixed = a.bytes.clone();
    let r = a.chunk_range(1);
    mixed[r.clone()].copy_from_slice(&b.bytes[b.chunk_range(1)]);
    assert!(matches!(
        a.open(&mixed),
        Err(WbcbError::ChunkAuthentication { index: 1 })
    ));
}

#[test]
fn wrong_data_key_and_wrong_context_fail_cleanly() {
    let s = Sealed::new(200, Algorithm::Aes256Gcm);
    let other = DataKey::generate();
    let err = decrypt_bytes(&other, &s.bytes, Some(&ctx())).unwrap_err();
    assert!(
        matches!(err, WbcbError::ChunkAuthentication { index: 0 }),
        "{err}"
    );
    let elsewhere = RecordContext::new("rec-8", 1, "pseudo-aa").expect("context");
    let err = decrypt_bytes(&s.key, &s.bytes, Some(&elsewhere)).unwrap_err();
    assert!(err.to_string().contains("context mismatch"), "{err}");
    assert!(
        !err.to_string().contains("pseudo-aa"),
        "pseudonym must not leak into errors"
    );
}
