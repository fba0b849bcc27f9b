//! MSP behaviour on certificates generated here with rcgen: signing and
//! verification (low-S), key formats, MSP directories, chains through
//! intermediates, expiry, wrong-org claims and NodeOU roles.

use fabric_msp::{Identity, Msp, MspError, MspManager, NodeOus, Role, SigningIdentity};
use healthblock_test_support::TestCa;
use p256::elliptic_curve::bigint::{Encoding, U256};
use p256::elliptic_curve::Curve;

/// 2026-01-01T00:00:00Z.
const JAN_2026: i64 = 1_767_225_600;

/// Validity of the fixture CAs; a test relies on them expiring before their leaves.
const CA_YEARS: (i32, i32) = (2025, 2035);

struct Ca {
    ca: TestCa,
}

impl Ca {
    fn root(org: &str) -> Self {
        Self {
            ca: TestCa::root_valid_years(&format!("ca.{org}"), Some(org), CA_YEARS),
        }
    }

    fn intermediate(org: &str, parent: &Ca) -> Self {
        Self {
            ca: parent
                .ca
                .intermediate_valid_years(&format!("ica.{org}"), Some(org), CA_YEARS),
        }
    }

    fn pem(&self) -> Vec<u8> {
        self.ca.pem().into_bytes()
    }

    /// A leaf certificate (PEM) and its PKCS#8 key (PEM).
    fn leaf(&self, cn: &str, ous: &[&str], years: (i32, i32)) -> (Vec<u8>, String) {
        let leaf = ous
            .iter()
            .fold(self.ca.leaf(cn), |leaf, ou| leaf.ou(ou))
            .valid_years(years.0, years.1)
            .fabric_ca_extension(
                br#"{"attrs":{"role":"doctor","hf.EnrollmentID":"alice"}}"#.to_vec(),
            )
            .issue();
        (leaf.cert_pem.into_bytes(), leaf.key_pem)
    }

    fn msp(&self, mspid: &str) -> Msp {
        Msp::from_ca_pems(mspid, &[self.pem()], &[], &[], NodeOus::fabric_default()).unwrap()
    }
}

fn signer(ca: &Ca, mspid: &str, ous: &[&str]) -> SigningIdentity {
    let (cert, key) = ca.leaf("user", ous, (2025, 2030));
    SigningIdentity::from_pem(mspid, &cert, key.as_bytes()).unwrap()
}

/// Re-encodes a DER signature with S replaced by n - S (the "high-S twin").
fn high_s_twin(der: &[u8]) -> Vec<u8> {
    let sig = p256::ecdsa::Signature::from_der(der).unwrap();
    let s = U256::from_be_slice(&sig.s().to_bytes());
    let twin = p256::NistP256::ORDER.wrapping_sub(&s);
    let twin_bytes: p256::FieldBytes = twin.to_be_bytes().into();
    let twin = p256::ecdsa::Signature::from_scalars(sig.r().to_bytes(), twin_bytes).unwrap();
    twin.to_der().as_bytes().to_vec()
}

#[test]
fn sign_and_verify_round_trip() {
    let ca = Ca::root("org1.example.com");
    let s = signer(&ca, "Org1MSP", &["client"]);
    let sig = s.sign(b"hello fabric");
    s.identity.verify(b"hello fabric", &sig).unwrap();
    assert!(matches!(
        s.identity.verify(b"hello fabriC", &sig),
        Err(MspError::BadSignature)
    ));
}

#[test]
fn thousand_signatures_are_all_low_s() {
    let ca = Ca::root("org1.example.com");
    let s = signer(&ca, "Org1MSP", &["peer"]);
    let half_n = p256::NistP256::ORDER.shr_vartime(1);
    for i in 0u32..1000 {
        let msg = i.to_be_bytes();
        let der = s.sign(&msg);
        let sig = p256::ecdsa::Signature::from_der(&der).unwrap();
        let s_value = U256::from_be_slice(&sig.s().to_bytes());
        assert!(s_value <= half_n, "signature {i} is high-S");
        s.identity.verify(&msg, &der).unwrap();
    }
}

#[test]
fn high_s_twin_is_rejected() {
    let ca = Ca::root("org1.example.com");
    let s = signer(&ca, "Org1MSP", &["peer"]);
    let der = s.sign(b"msg");
    let twin = high_s_twin(&der);
    assert_ne!(twin, der);
    assert!(matches!(
        s.identity.verify(b"msg", &twin),
        Err(MspError::HighS)
    ));
}

#[test]
fn own_signatures_pass_the_memo_and_their_variants_are_still_checked() {
    // Signatures this process made are noted and accepted by the memo without curve
    // arithmetic; anything that differs from them in a byte is verified in full.
    let ca = Ca::root("org1.example.com");
    let mgr = MspManager::new([ca.msp("Org1MSP")]);
    let a = signer(&ca, "Org1MSP", &["peer"]);
    let b = signer(&ca, "Org1MSP", &["peer"]);
    let der = a.sign(b"payload || endorser");
    for _ in 0..2 {
        mgr.verify(&a.identity, b"payload || endorser", &der)
            .unwrap();
        assert!(matches!(
            mgr.verify(&a.identity, b"payload || endorseR", &der),
            Err(MspError::BadSignature)
        ));
        assert!(matches!(
            mgr.verify(&b.identity, b"payload || endorser", &der),
            Err(MspError::BadSignature)
        ));
        assert!(matches!(
            mgr.verify(&a.identity, b"payload || endorser", &high_s_twin(&der)),
            Err(MspError::HighS)
        ));
    }
}

#[test]
fn malformed_and_foreign_signatures_are_rejected() {
    let ca = Ca::root("org1.example.com");
    let a = signer(&ca, "Org1MSP", &["peer"]);
    let b = signer(&ca, "Org1MSP", &["peer"]);
    let sig = a.sign(b"msg");
    assert!(matches!(
        b.identity.verify(b"msg", &sig),
        Err(MspError::BadSignature)
    ));
    assert!(matches!(
        a.identity.verify(b"msg", &sig[..sig.len() - 1]),
        Err(MspError::MalformedSignature(_))
    ));
    assert!(matches!(
        a.identity.verify(b"msg", b""),
        Err(MspError::MalformedSignature(_))
    ));
}

#[test]
fn pkcs8_and_sec1_keys_both_load() {
    let ca = Ca::root("org1.example.com");
    let (cert, pkcs8) = ca.leaf("peer0", &["peer"], (2025, 2030));
    assert!(pkcs8.contains("BEGIN PRIVATE KEY"));
    let secret = {
        use p256::pkcs8::DecodePrivateKey;
        p256::SecretKey::from_pkcs8_pem(&pkcs8).unwrap()
    };
    let sec1 = secret.to_sec1_pem(Default::default()).unwrap();
    assert!(sec1.contains("BEGIN EC PRIVATE KEY"));
    for key in [pkcs8.as_bytes(), sec1.as_bytes()] {
        let s = SigningIdentity::from_pem("Org1MSP", &cert, key).unwrap();
        s.identity.verify(b"x", &s.sign(b"x")).unwrap();
    }
}

#[test]
fn mismatched_or_garbage_key_is_rejected() {
    let ca = Ca::root("org1.example.com");
    let (cert, _) = ca.leaf("peer0", &["peer"], (2025, 2030));
    let (_, other_key) = ca.leaf("peer1", &["peer"], (2025, 2030));
    assert!(matches!(
        SigningIdentity::from_pem("Org1MSP", &cert, other_key.as_bytes()),
        Err(MspError::BadKey(_))
    ));
    assert!(matches!(
        SigningIdentity::from_pem("Org1MSP", &cert, b"not a key"),
        Err(MspError::BadKey(_))
    ));
}

#[test]
fn identity_fields_and_serialization() {
    let ca = Ca::root("org1.example.com");
    let (cert, _) = ca.leaf("doctor1", &["client", "department"], (2025, 2030));
    let id = Identity::from_pem("Org1MSP", &cert).unwrap();
    assert_eq!(id.subject_cn, "doctor1");
    assert_eq!(id.ous, vec!["client".to_string(), "department".to_string()]);
    assert_eq!(id.attr("role"), Some("doctor"));
    assert_eq!(id.attr("hf.EnrollmentID"), Some("alice"));
    assert_eq!(id.not_before, 1_735_689_600); // 2025-01-01
    assert_eq!(id.not_after, 1_893_456_000); // 2030-01-01
    assert_eq!(id.public_key.len(), 65);
    let bytes = id.serialize();
    let back = Identity::from_serialized(&bytes).unwrap();
    assert_eq!(back.cert_pem, cert);
    assert_eq!(back.mspid, "Org1MSP");
    assert_eq!(back.serialize(), bytes);
    assert!(Identity::from_serialized(b"\xff\xff\xff").is_err());
    assert!(Identity::from_pem(
        "Org1MSP",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    )
    .is_err());
}

#[test]
fn valid_identity_chains_to_root() {
    let ca = Ca::root("org1.example.com");
    let msp = ca.msp("Org1MSP");
    let s = signer(&ca, "Org1MSP", &["peer"]);
    msp.validate(&s.identity, JAN_2026).unwrap();
    assert_eq!(msp.role_of(&s.identity), Role::Peer);
}

#[test]
fn chain_through_intermediate() {
    let root = Ca::root("org1.example.com");
    let ica = Ca::intermediate("org1.example.com", &root);
    let s = signer(&ica, "Org1MSP", &["client"]);
    let with_ica = Msp::from_ca_pems(
        "Org1MSP",
        &[root.pem()],
        &[ica.pem()],
        &[],
        NodeOus::fabric_default(),
    )
    .unwrap();
    with_ica.validate(&s.identity, JAN_2026).unwrap();
    let without_ica = root.msp("Org1MSP");
    assert!(matches!(
        without_ica.validate(&s.identity, JAN_2026),
        Err(MspError::UntrustedChain { .. })
    ));
}

#[test]
fn expired_certificate_is_rejected() {
    let ca = Ca::root("org1.example.com");
    let msp = ca.msp("Org1MSP");
    let (cert, _) = ca.leaf("old", &["client"], (2025, 2026));
    let id = Identity::from_pem("Org1MSP", &cert).unwrap();
    // Valid during 2025, expired from 2026-01-01.
    msp.validate(&id, JAN_2026 - 86_400).unwrap();
    assert!(matches!(
        msp.validate(&id, JAN_2026 + 1),
        Err(MspError::Expired { .. })
    ));
    // Not yet valid before 2025.
    assert!(matches!(
        msp.validate(&id, 1_700_000_000),
        Err(MspError::Expired { .. })
    ));
}

/// 2036-01-01T00:00:00Z: after the fixture CAs (valid 2025..2035) expired.
const JAN_2036: i64 = 2_082_758_400;

#[test]
fn remembered_identities_are_still_checked_against_the_time() {
    let ca = Ca::root("org1.example.com");
    let mgr = MspManager::new([ca.msp("Org1MSP")]);
    // The leaf outlives its root (2025..2040 vs 2025..2035): the whole chain counts.
    let (cert, _) = ca.leaf("long", &["client"], (2025, 2040));
    let serialized = Identity::from_pem("Org1MSP", &cert).unwrap().serialize();
    for _ in 0..2 {
        let id = mgr.validate_serialized(&serialized, JAN_2026).unwrap();
        assert_eq!(id.subject_cn, "long");
        assert!(matches!(
            mgr.validate_serialized(&serialized, JAN_2036),
            Err(MspError::Expired { ref subject, .. }) if subject == "ca.org1.example.com"
        ));
        assert!(matches!(
            mgr.validate_serialized(&serialized, 1_700_000_000),
            Err(MspError::Expired { ref subject, .. }) if subject == "long"
        ));
    }
    // A rejected identity is not remembered as valid.
    let other = Ca::root("org1.example.com");
    let (foreign, _) = other.leaf("foreign", &["client"], (2025, 2030));
    let foreign = Identity::from_pem("Org1MSP", &foreign).unwrap().serialize();
    for _ in 0..2 {
        assert!(matches!(
            mgr.validate_serialized(&foreign, JAN_2026),
            Err(MspError::UntrustedChain { .. })
        ));
    }
    // A clone may get other MSPs, so it does not share what the original remembers.
    let mut changed = mgr.clone();
    changed.msps.insert("Org1MSP".into(), other.msp("Org1MSP"));
    assert!(matches!(
        changed.validate_serialized(&serialized, JAN_2026),
        Err(MspError::UntrustedChain { .. })
    ));
}

#[test]
fn manager_validates_from_many_threads() {
    let ca = Ca::root("org1.example.com");
    let mgr = MspManager::new([ca.msp("Org1MSP")]);
    let ids: Vec<Vec<u8>> = (0..4)
        .map(|i| {
            let (cert, _) = ca.leaf(&format!("user{i}"), &["client"], (2025, 2030));
            Identity::from_pem("Org1MSP", &cert).unwrap().serialize()
        })
        .collect();
    std::thread::scope(|scope| {
        for t in 0..4 {
            let (mgr, ids) = (&mgr, &ids);
            scope.spawn(move || {
                for round in 0..50 {
                    let bytes = &ids[(t + round) % ids.len()];
                    let id = mgr.validate_serialized(bytes, JAN_2026).unwrap();
                    assert_eq!(id.serialize(), *bytes);
                }
            });
        }
    });
}

#[test]
fn certificate_of_another_org_is_rejected() {
    let org1 = Ca::root("org1.example.com");
    let org2 = Ca::root("org2.example.com");
    let mgr = MspManager::new([org1.msp("Org1MSP"), org2.msp("Org2MSP")]);
    let (cert, _) = org2.leaf("peer0.org2", &["peer"], (2025, 2030));
    let claimed = Identity::from_pem("Org1MSP", &cert).unwrap();
    assert!(matches!(
        mgr.validate_serialized(&claimed.serialize(), JAN_2026),
        Err(MspError::UntrustedChain { .. })
    ));
    let honest = Identity::from_pem("Org2MSP", &cert).unwrap();
    mgr.validate_serialized(&honest.serialize(), JAN_2026)
        .unwrap();
    let unknown = Identity::from_pem("Org9MSP", &cert).unwrap();
    assert!(matches!(
        mgr.validate_serialized(&unknown.serialize(), JAN_2026),
        Err(MspError::UnknownMsp(_))
    ));
}

#[test]
fn ca_certificate_cannot_be_an_identity() {
    let ca = Ca::root("org1.example.com");
    let id = Identity::from_pem("Org1MSP", &ca.pem()).unwrap();
    assert!(ca.msp("Org1MSP").validate(&id, JAN_2026).is_err());
}

#[test]
fn node_ou_roles() {
    let ca = Ca::root("org1.example.com");
    let msp = ca.msp("Org1MSP");
    for (ou, role) in [
        ("client", Role::Client),
        ("peer", Role::Peer),
        ("admin", Role::Admin),
        ("orderer", Role::Orderer),
    ] {
        let s = signer(&ca, "Org1MSP", &[ou]);
        assert_eq!(msp.role_of(&s.identity), role, "OU {ou}");
        assert!(msp.satisfies_role(&s.identity, role));
        assert!(msp.satisfies_role(&s.identity, Role::Member));
    }
    // No role OU: not a valid identity while NodeOUs are enabled.
    let none = signer(&ca, "Org1MSP", &["nurses"]);
    assert_eq!(msp.role_of(&none.identity), Role::Member);
    assert!(matches!(
        msp.validate(&none.identity, JAN_2026),
        Err(MspError::BadIdentity(_))
    ));
    // Two role OUs: ambiguous, rejected as Fabric does.
    let both = signer(&ca, "Org1MSP", &["client", "peer"]);
    assert!(msp.validate(&both.identity, JAN_2026).is_err());
    // With NodeOUs disabled everyone is a plain member.
    let mut plain = msp.clone();
    plain.node_ous = NodeOus::default();
    plain.validate(&none.identity, JAN_2026).unwrap();
    assert_eq!(plain.role_of(&both.identity), Role::Member);
}

#[test]
fn msp_directories_load() {
    let ca = Ca::root("org1.example.com");
    let (cert, key) = ca.leaf("Admin@org1.example.com", &["admin"], (2025, 2030));
    let dir = tempfile::tempdir().unwrap();
    let msp_dir = dir.path();
    for sub in ["cacerts", "tlscacerts", "signcerts", "keystore"] {
        std::fs::create_dir_all(msp_dir.join(sub)).unwrap();
    }
    std::fs::write(msp_dir.join("cacerts/ca-cert.pem"), ca.pem()).unwrap();
    std::fs::write(msp_dir.join("tlscacerts/tlsca-cert.pem"), ca.pem()).unwrap();
    std::fs::write(msp_dir.join("signcerts/Admin@org1-cert.pem"), &cert).unwrap();
    std::fs::write(msp_dir.join("keystore/priv_sk"), &key).unwrap();
    std::fs::write(
        msp_dir.join("config.yaml"),
        "NodeOUs:\n  Enable: true\n  ClientOUIdentifier:\n    Certificate: cacerts/ca-cert.pem\n    OrganizationalUnitIdentifier: client\n  PeerOUIdentifier:\n    Certificate: cacerts/ca-cert.pem\n    OrganizationalUnitIdentifier: peer\n  AdminOUIdentifier:\n    Certificate: cacerts/ca-cert.pem\n    OrganizationalUnitIdentifier: admin\n  OrdererOUIdentifier:\n    Certificate: cacerts/ca-cert.pem\n    OrganizationalUnitIdentifier: orderer\n",
    )
    .unwrap();
    let msp = Msp::from_dir("Org1MSP", msp_dir).unwrap();
    assert_eq!(msp.root_certs_der.len(), 1);
    assert_eq!(msp.tls_root_certs_der.len(), 1);
    assert!(msp.intermediate_certs_der.is_empty());
    assert!(msp.node_ous.enabled);
    let s = SigningIdentity::from_msp_dir("Org1MSP", msp_dir).unwrap();
    msp.validate(&s.identity, JAN_2026).unwrap();
    assert_eq!(msp.role_of(&s.identity), Role::Admin);
    assert!(format!("{s:?}").contains("Admin@org1.example.com"));
    assert!(!format!("{s:?}").contains("PRIVATE"));

    // A second key makes the keystore ambiguous.
    std::fs::write(msp_dir.join("keystore/other_sk"), &key).unwrap();
    assert!(matches!(
        SigningIdentity::from_msp_dir("Org1MSP", msp_dir),
        Err(MspError::Config(_))
    ));
    // No cacerts: not an MSP.
    let empty = tempfile::tempdir().unwrap();
    assert!(Msp::from_dir("Org1MSP", empty.path()).is_err());
}
