//! Roles come from the Fabric CA attribute extension of the creator
//! certificate; MSP membership alone is not a role.

mod ehr_support;

use ehr_support::*;
use healthblock_chaincode::ehr::model::Role;
use healthblock_chaincode::ehr::roles::{Caller, ATTRIBUTE_OID};
use x509_parser::pem::parse_x509_pem;

#[test]
fn attribute_extension_holds_raw_json_as_fabric_ca_writes_it() {
    let pem = cert(
        "dr.a",
        "client",
        Some(serde_json::json!({"hb.role": "doctor"})),
    );
    let (_, pem) = parse_x509_pem(pem.as_bytes()).unwrap();
    let cert = pem.parse_x509().unwrap();
    let ext = cert
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == ATTRIBUTE_OID)
        .expect("attribute extension");
    assert_eq!(ext.value, br#"{"attrs":{"hb.role":"doctor"}}"#);
}

#[test]
fn reads_role_user_and_pseudonym() {
    let doctor = Actor::doctor(H1, "dr.a");
    let caller = Caller::from_certificate(H1, doctor.pem.as_bytes()).unwrap();
    assert_eq!(caller.role, Role::Doctor);
    assert_eq!(caller.user, "dr.a@Hospital1MSP");
    assert_eq!(caller.pseudonym, None);

    let patient = Actor::patient(H1, "jane", &pid(7));
    let caller = Caller::from_certificate(H1, patient.pem.as_bytes()).unwrap();
    assert_eq!(caller.role, Role::Patient);
    assert_eq!(caller.pseudonym.unwrap().as_str(), pid(7));
    assert_eq!(
        caller.user,
        format!("patient:{}", pid(7)),
        "no enrollment id"
    );
}

#[test]
fn org_admin_without_role_is_admin_and_plain_member_is_refused() {
    let admin = Actor::org_admin(H1, "Admin@hospital1");
    let caller = Caller::from_certificate(H1, admin.pem.as_bytes()).unwrap();
    assert_eq!(caller.role, Role::Admin);

    let plain = Actor::plain(H1, "someone");
    let err = Caller::from_certificate(H1, plain.pem.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("no role attribute"), "{err}");

    // An attribute extension without hb.role is no role either.
    let other = cert(
        "x",
        "client",
        Some(serde_json::json!({"hf.Type": "client"})),
    );
    let err = Caller::from_certificate(H1, other.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("no role attribute"), "{err}");
}

#[test]
fn bad_attributes_are_refused() {
    let unknown = Actor::with_role(H1, "x", "surgeon");
    let err = Caller::from_certificate(H1, unknown.pem.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("unknown role"), "{err}");

    let no_pseudonym = Actor::with_role(H1, "p", "patient");
    let err = Caller::from_certificate(H1, no_pseudonym.pem.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("hb.pseudonym"), "{err}");

    let bad_pseudonym = Actor::patient(H1, "p", "not-a-hash");
    assert!(Caller::from_certificate(H1, bad_pseudonym.pem.as_bytes()).is_err());

    assert!(Caller::from_certificate(H1, b"not a certificate").is_err());
}

#[tokio::test]
async fn whoami_reports_the_role_and_calls_without_role_fail() {
    let net = Net::new();
    let nurse = Actor::nurse(H2, "n1");
    let me = net.evaluate(&nurse, &["whoami"]).await.ok();
    assert_eq!(me["role"], "nurse");
    assert_eq!(me["mspid"], H2);
    assert_eq!(me["user"], "n1@Hospital2MSP");

    let plain = Actor::plain(H1, "member");
    net.evaluate(&plain, &["whoami"])
        .await
        .fails_with("no role attribute");
    net.submit(&plain, &["register_patient", &pid(1)])
        .await
        .fails_with("no role attribute");

    let admin = Actor::org_admin(H1, "Admin");
    assert_eq!(
        net.evaluate(&admin, &["whoami"]).await.ok()["role"],
        "admin"
    );
}

#[tokio::test]
async fn unknown_functions_and_wrong_arity_fail() {
    let net = Net::new();
    let doctor = Actor::doctor(H1, "d");
    net.evaluate(&doctor, &["drop_tables"])
        .await
        .fails_with("unknown function");
    net.evaluate(&doctor, &["register_patient"])
        .await
        .fails_with("expects 1 arguments, got 0");
    net.evaluate(&doctor, &["list_consents", &pid(1), "10", "", "extra"])
        .await
        .fails_with("expects 1 to 3 arguments");
}
