//! Patient registration: who may register, pseudonym checks, home hospital
//! and its key (under the chaincode-level policy, no key-level one).

mod ehr_support;

use ehr_support::*;
use fabric_shim::{create_composite_key, VALIDATION_PARAMETER};

fn patient_key(pid: &str) -> String {
    create_composite_key("patient", &[pid]).unwrap()
}

#[tokio::test]
async fn doctor_registers_at_their_hospital_with_home_peer_policy() {
    let net = Net::new();
    let doctor = Actor::doctor(H2, "dr.b");
    let patient = net
        .submit(&doctor, &["register_patient", &pid(5)])
        .await
        .ok();
    assert_eq!(patient["patient_id"], pid(5));
    assert_eq!(patient["home_msp"], H2);
    assert_eq!(patient["registered_by"]["user"], "dr.b@Hospital2MSP");
    assert_eq!(patient["registered_at"]["unix"], T0);
    assert_eq!(patient["registered_at"]["rfc3339"], "2023-11-14T22:13:20Z");
    let key = patient_key(&pid(5));
    assert!(net.ledger.get(&key).is_some());
    assert!(
        !net.ledger.metadata(&key).contains_key(VALIDATION_PARAMETER),
        "mutable patient data has no key-level policy: the every-org chaincode policy judges it"
    );
    let fetched = net
        .evaluate(&Actor::nurse(H3, "n"), &["get_patient", &pid(5)])
        .await
        .ok();
    assert_eq!(fetched, patient);
}

#[tokio::test]
async fn admins_register_too() {
    let net = Net::new();
    net.register(&Actor::admin(H1, "a"), &pid(1)).await;
    net.register(&Actor::org_admin(H3, "Admin"), &pid(3)).await;
    let p3 = net
        .evaluate(&Actor::doctor(H1, "d"), &["get_patient", &pid(3)])
        .await
        .ok();
    assert_eq!(p3["home_msp"], H3);
}

#[tokio::test]
async fn other_roles_may_not_register() {
    let net = Net::new();
    for actor in [
        Actor::nurse(H1, "n"),
        Actor::auditor(H1, "au"),
        Actor::patient(H1, "p", &pid(9)),
    ] {
        net.submit(&actor, &["register_patient", &pid(9)])
            .await
            .fails_with("may not register patients");
    }
    assert!(net.ledger.keys().is_empty(), "nothing committed");
}

#[tokio::test]
async fn pseudonyms_must_be_64_hex_and_unique() {
    let net = Net::new();
    let doctor = Actor::doctor(H1, "d");
    for bad in [
        "John Smith",
        "MRN-12345",
        &pid(1)[..63],
        &format!("{}zz", &pid(1)[..62]),
    ] {
        net.submit(&doctor, &["register_patient", bad])
            .await
            .fails_with("64 hex digits");
    }
    // Upper case is accepted and stored in lower case.
    let upper = "AB".repeat(32);
    let stored = net
        .submit(&doctor, &["register_patient", &upper])
        .await
        .ok();
    assert_eq!(stored["patient_id"], "ab".repeat(32));
    net.submit(
        &Actor::doctor(H2, "other"),
        &["register_patient", &"ab".repeat(32)],
    )
    .await
    .fails_with("already registered");
}

#[tokio::test]
async fn unknown_patient_is_not_found() {
    let net = Net::new();
    net.evaluate(&Actor::doctor(H1, "d"), &["get_patient", &pid(4)])
        .await
        .fails_with("not registered");
}
