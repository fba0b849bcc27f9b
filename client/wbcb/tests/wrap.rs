//! HPKE key wraps and encryption key pairs: round trips, binding to record
//! and recipient, and clean failures.

use wbcb::{
    decrypt_bytes, encrypt_bytes, DataKey, EncryptOptions, EncryptionPublicKey,
    EncryptionSecretKey, Fingerprint, KeyWrap, RecordContext, WbcbError,
};

fn ctx(id: &str, version: u64) -> RecordContext {
    RecordContext::new(id, version, "pseudo-1").expect("context")
}

#[test]
fn wrap_round_trip_for_many_recipients_decrypts_record() {
    let key = DataKey::generate();
    let record = encrypt_bytes(
        &key,
        &ctx("r1", 1),
        EncryptOptions::default(),
        b"blood panel",
    )
    .expect("encrypt");
    let recipients: Vec<EncryptionSecretKey> = (0..5)
        .map(|_| EncryptionSecretKey::generate().expect("key"))
        .collect();
    for sk in &recipients {
        let wrap = KeyWrap::seal(&key, &ctx("r1", 1), sk.public_key()).expect("seal");
        let parsed = KeyWrap::from_bytes(&wrap.to_bytes()).expect("parse");
        assert_eq!(parsed, wrap);
        let opened = parsed.open(sk, &ctx("r1", 1)).expect("open");
        assert_eq!(
            decrypt_bytes(&opened, &record, None).expect("decrypt"),
            b"blood panel"
        );
    }
}

#[test]
fn wrong_recipient_key_fails_with_clear_error() {
    let key = DataKey::generate();
    let alice = EncryptionSecretKey::generate().expect("key");
    let mallory = EncryptionSecretKey::generate().expect("key");
    let wrap = KeyWrap::seal(&key, &ctx("r1", 1), alice.public_key()).expect("seal");
    let err = wrap.open(&mallory, &ctx("r1", 1)).unwrap_err();
    assert!(matches!(err, WbcbError::WrongRecipient { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains(&alice.public_key().fingerprint().to_hex()),
        "{msg}"
    );
    assert!(
        msg.contains(&mallory.public_key().fingerprint().to_hex()),
        "{msg}"
    );
}

#[test]
fn relabelled_wrap_for_wrong_key_fails_authentication() {
    // A wrap whose recipient field is rewritten to Mallory's fingerprint still
    // cannot be opened by Mallory: the fingerprint is bound in HPKE info/aad.
    let key = DataKey::generate();
    let alice = EncryptionSecretKey::generate().expect("key");
    let mallory = EncryptionSecretKey::generate().expect("key");
    let mut bytes = KeyWrap::seal(&key, &ctx("r1", 1), alice.public_key())
        .expect("seal")
        .to_bytes();
    bytes[11..43].copy_from_slice(&mallory.public_key().fingerprint().0);
    let forged = KeyWrap::from_bytes(&bytes).expect("parse");
    assert!(matches!(
        forged.open(&mallory, &ctx("r1", 1)),
        Err(WbcbError::WrapAuthentication)
    ));
}

#[test]
fn wrap_for_another_record_is_rejected() {
    let key = DataKey::generate();
    let sk = EncryptionSecretKey::generate().expect("key");
    let wrap = KeyWrap::seal(&key, &ctx("r1", 1), sk.public_key()).expect("seal");
    for other in [ctx("r2", 1), ctx("r1", 2)] {
        let err = wrap.open(&sk, &other).unwrap_err();
        assert!(matches!(err, WbcbError::WrapRecordMismatch { .. }), "{err}");
    }
    // Rewriting the record binding inside the wrap breaks authentication.
    let mut bytes = wrap.to_bytes();
    bytes[50] ^= 1; // last byte of the record version
    let forged = KeyWrap::from_bytes(&bytes).expect("parse");
    let claimed = RecordContext::new("r1", forged.version, "pseudo-1").expect("context");
    assert!(matches!(
        forged.open(&sk, &claimed),
        Err(WbcbError::WrapAuthentication)
    ));
}

#[test]
fn every_wrap_byte_is_checked() {
    let key = DataKey::generate();
    let sk = EncryptionSecretKey::generate().expect("key");
    let bytes = KeyWrap::seal(&key, &ctx("r1", 1), sk.public_key())
        .expect("seal")
        .to_bytes();
    for at in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[at] ^= 0x80;
        let opened = KeyWrap::from_bytes(&bad).and_then(|w| w.open(&sk, &ctx("r1", 1)));
        assert!(opened.is_err(), "byte {at} flipped but wrap still opened");
    }
    for cut in 0..bytes.len() {
        assert!(KeyWrap::from_bytes(&bytes[..cut]).is_err());
    }
}

#[test]
fn pem_round_trip_and_fingerprint() {
    let sk = EncryptionSecretKey::generate().expect("key");
    let pem = sk.to_pem().expect("pem");
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let back = EncryptionSecretKey::from_pem(&pem).expect("parse");
    assert_eq!(back.public_key(), sk.public_key());
    let pub_pem = sk.public_key().to_pem().expect("pub pem");
    assert!(pub_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    let pk = EncryptionPublicKey::from_pem(&pub_pem).expect("parse pub");
    let fp = pk.fingerprint();
    assert_eq!(fp.to_hex().len(), 64);
    assert_eq!(fp.to_hex().parse::<Fingerprint>().expect("hex"), fp);
    // Fingerprint is SHA-256 over the SPKI DER (the PEM body).
    let body: String = pub_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = base64_decode(&body);
    use sha2::Digest;
    let digest: [u8; 32] = sha2::Sha256::digest(&der).into();
    assert_eq!(digest, fp.0);
    assert!(!format!("{sk:?}").contains(pem.lines().nth(1).expect("body line")));
}

#[test]
fn bad_pem_gives_clear_error() {
    let err = EncryptionPublicKey::from_pem("not a key").unwrap_err();
    assert!(err.to_string().contains("SPKI PEM"), "{err}");
    let err = EncryptionSecretKey::from_pem(
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap_err();
    assert!(err.to_string().contains("PKCS#8"), "{err}");
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base64 digit") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
