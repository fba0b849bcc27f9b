use super::*;
use std::os::unix::fs::PermissionsExt;

fn id(name: &str) -> WalletId {
    WalletId {
        name: name.into(),
        org: "Hospital1".into(),
        mspid: "Hospital1MSP".into(),
        kind: "X.509".into(),
        role: Some(Role::Nurse),
        pseudonym: None,
        ca_url: "https://127.0.0.1:7010".into(),
        enrolled_at: "2025-01-01T00:00:00Z".into(),
    }
}

/// A self-signed certificate and its key (PEM).
fn cert_and_key(cn: &str) -> (String, String) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
}

#[test]
fn put_get_and_sign_with_private_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let wallet = Wallet::new(dir.path().join("wallet"));
    let (cert, key) = cert_and_key("bob");
    let path = wallet
        .put(&id("bob"), cert.as_bytes(), key.as_bytes(), b"chain")
        .unwrap();
    assert_eq!(path, dir.path().join("wallet/bob@Hospital1"));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path.join(KEY_FILE)), 0o600);
    assert_eq!(mode(&path), 0o700);
    assert_eq!(mode(wallet.dir()), 0o700);

    let entry = wallet.get("bob", "Hospital1").unwrap();
    assert_eq!(entry.id, id("bob"));
    assert_eq!(entry.ca_pem, b"chain");
    let signer = wallet.signing_identity("bob", "Hospital1").unwrap();
    assert_eq!(signer.mspid(), "Hospital1MSP");
    assert_eq!(signer.identity.subject_cn, "bob");
    assert_eq!(wallet.list().unwrap(), vec![id("bob")]);
}

#[test]
fn put_replaces_an_older_entry_and_leaves_no_staging() {
    let dir = tempfile::tempdir().unwrap();
    let wallet = Wallet::new(dir.path());
    let (c1, k1) = cert_and_key("bob");
    let (c2, k2) = cert_and_key("bob");
    wallet
        .put(&id("bob"), c1.as_bytes(), k1.as_bytes(), b"")
        .unwrap();
    wallet
        .put(&id("bob"), c2.as_bytes(), k2.as_bytes(), b"")
        .unwrap();
    assert_eq!(
        wallet.get("bob", "Hospital1").unwrap().cert_pem,
        c2.as_bytes()
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("bob@Hospital1")]);
}

#[test]
fn missing_entries_and_bad_names_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let wallet = Wallet::new(dir.path());
    let err = wallet.get("alice", "Hospital1").unwrap_err().to_string();
    assert!(err.contains("no identity alice@Hospital1"), "{err}");
    assert!(err.contains("healthblock user enroll"), "{err}");
    for bad in ["", "../x", "a/b", ".hidden", "a b", &"x".repeat(65)] {
        assert!(
            wallet.entry_dir(bad, "Hospital1").is_err(),
            "{bad:?} accepted"
        );
    }
    assert!(wallet.list().unwrap().is_empty());
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let wallet = Wallet::new(dir.path());
    let (cert, _) = cert_and_key("bob");
    let (_, other_key) = cert_and_key("eve");
    wallet
        .put(&id("bob"), cert.as_bytes(), other_key.as_bytes(), b"")
        .unwrap();
    assert!(wallet.signing_identity("bob", "Hospital1").is_err());
}
