//! Bounded property tests: random and mutated bytes fed to the parsers and
//! the decryptor never panic; they are rejected with an error.

use proptest::prelude::*;
use wbcb::{decrypt_bytes, encrypt_bytes, DataKey, EncryptOptions, Header, KeyWrap, RecordContext};

fn sample() -> (DataKey, Vec<u8>) {
    let key = DataKey::generate();
    let ctx = RecordContext::new("rec", 1, "p").expect("context");
    let opts = EncryptOptions {
        chunk_size: 64,
        ..EncryptOptions::default()
    };
    let bytes = encrypt_bytes(&key, &ctx, opts, &[7u8; 300]).expect("encrypt");
    (key, bytes)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let key = DataKey::generate();
        let _ = Header::read_from(&mut data.as_slice());
        let _ = Header::parse(&data);
        let _ = KeyWrap::from_bytes(&data);
        prop_assert!(decrypt_bytes(&key, &data, None).is_err());
    }

    #[test]
    fn random_bytes_after_magic_never_panic(data in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let mut bytes = b"WBCB\x01".to_vec();
        bytes.extend_from_slice(&data);
        let key = DataKey::generate();
        prop_assert!(decrypt_bytes(&key, &bytes, None).is_err());
        let mut wrap = b"WBCW\x01\x00\x10\x00\x01\x00\x02".to_vec();
        wrap.extend_from_slice(&data);
        let _ = KeyWrap::from_bytes(&wrap);
    }

    #[test]
    fn mutated_records_are_rejected(at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (key, mut bytes) = sample();
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        prop_assert!(decrypt_bytes(&key, &bytes, None).is_err());
    }

    #[test]
    fn truncated_records_are_rejected(cut in any::<prop::sample::Index>()) {
        let (key, bytes) = sample();
        let n = cut.index(bytes.len());
        prop_assert!(decrypt_bytes(&key, &bytes[..n], None).is_err());
    }
}
