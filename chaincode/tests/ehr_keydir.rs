//! The key directory: owners derived from the signer, hospital keys by
//! administrators only, patient keys only at the patient's home hospital,
//! P-256 SPKI keys with the fingerprint computed by the contract, revocation.

mod ehr_support;

use ehr_support::*;

/// A fresh P-256 public key (SPKI PEM) and its fingerprint.
fn p256_key() -> (String, String) {
    let key = fresh_key();
    (key.pem, key.fingerprint)
}

#[tokio::test]
async fn each_party_publishes_its_own_key_and_anyone_reads_it() {
    let world = World::new().await;
    let net = &world.net;
    let (pem, fingerprint) = p256_key();
    let published = net
        .submit(&world.h1_doctor, &["publish_key", &pem])
        .await
        .ok();
    assert_eq!(published["owner"], "dr.house@Hospital1MSP");
    assert_eq!(published["fingerprint"], fingerprint.as_str());
    assert!(published["revoked_at"].is_null());
    let read = net
        .evaluate(&world.h2_nurse, &["get_key", "dr.house@Hospital1MSP"])
        .await
        .ok();
    assert_eq!(read, published);

    let (pem, _) = p256_key();
    let patient = net
        .submit(&world.patient1, &["publish_key", &pem])
        .await
        .ok();
    assert_eq!(patient["owner"], format!("patient:{}", world.p1));

    let (pem, _) = p256_key();
    let hospital = net
        .submit(&world.h1_admin, &["publish_key", &pem, "hospital"])
        .await
        .ok();
    assert_eq!(hospital["owner"], "hospital:Hospital1MSP");
}

#[tokio::test]
async fn no_one_publishes_for_someone_else() {
    let world = World::new().await;
    let net = &world.net;
    let (pem, _) = p256_key();
    // Only administrators publish their hospital's key, and only their own.
    net.submit(&world.h1_doctor, &["publish_key", &pem, "hospital"])
        .await
        .fails_with("only an administrator of Hospital1MSP publishes or revokes its hospital key");
    let h2 = net
        .submit(&world.h2_admin, &["publish_key", &pem, "hospital"])
        .await
        .ok();
    assert_eq!(h2["owner"], "hospital:Hospital2MSP");
    // A patient identity minted by another hospital's CA is no patient.
    let impostor = Actor::patient(H2, "p-one-forged", &world.p1);
    net.submit(&impostor, &["publish_key", &pem])
        .await
        .fails_with("a patient publishes their key at their home hospital (Hospital1MSP)");
    let patient_key = net
        .evaluate(
            &world.h1_doctor,
            &["get_key", &format!("patient:{}", world.p1)],
        )
        .await
        .ok();
    assert_eq!(
        patient_key["fingerprint"],
        patient_fp(&world.p1).as_str(),
        "the patient's own key stays"
    );
    net.evaluate(&world.h1_doctor, &["get_key", "dr.nokey@Hospital1MSP"])
        .await
        .fails_with("has published no encryption key");
    net.submit(&world.h1_doctor, &["publish_key", &pem, "everyone"])
        .await
        .fails_with("the key scope is");
}

#[tokio::test]
async fn only_p256_public_keys_are_published() {
    let world = World::new().await;
    let net = &world.net;
    for bad in [
        "not a key",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
    ] {
        net.submit(&world.h1_doctor, &["publish_key", bad])
            .await
            .fails_with("the public key is not a P-256 SPKI PEM");
    }
    let ed = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    net.submit(&world.h1_doctor, &["publish_key", &ed.public_key_pem()])
        .await
        .fails_with("not an uncompressed P-256 point");
}

#[tokio::test]
async fn a_key_is_replaced_by_its_owner_and_revoked() {
    let world = World::new().await;
    let net = &world.net;
    let (first, _) = p256_key();
    let (second, second_fp) = p256_key();
    net.submit(&world.h2_doctor, &["publish_key", &first])
        .await
        .ok();
    let rotated = net
        .submit(&world.h2_doctor, &["publish_key", &second])
        .await
        .ok();
    assert_eq!(rotated["fingerprint"], second_fp.as_str());
    let revoked = net.submit(&world.h2_doctor, &["revoke_key"]).await.ok();
    assert!(!revoked["revoked_at"].is_null());
    assert_eq!(revoked["fingerprint"], second_fp.as_str());
    net.submit(&world.h2_doctor, &["revoke_key"])
        .await
        .fails_with("already revoked");
    net.submit(&Actor::doctor(H2, "dr.nokey"), &["revoke_key"])
        .await
        .fails_with("has published no encryption key");
}
