//! Consent: who grants and revokes, expiries, listing with status, and
//! the consent keys (under the chaincode-level policy, no key-level one).

mod ehr_support;

use ehr_support::*;
use fabric_shim::{create_composite_key, VALIDATION_PARAMETER};
use serde_json::json;

#[tokio::test]
async fn patient_grants_and_the_consent_has_no_key_level_policy() {
    let world = World::new().await;
    let id = world
        .grant(&world.patient1, grant_json(&world.p1, org(H2), all()))
        .await;
    let key = create_composite_key("consent", &[&world.p1, &id]).unwrap();
    let stored: serde_json::Value =
        serde_json::from_slice(&world.net.ledger.get(&key).unwrap()).unwrap();
    assert_eq!(stored["grantee"], org(H2));
    assert_eq!(stored["scope"], all());
    assert_eq!(stored["granted_by"]["role"], "patient");
    assert_eq!(stored["expires_at"], json!(null));
    assert!(
        !world
            .net
            .ledger
            .metadata(&key)
            .contains_key(VALIDATION_PARAMETER),
        "mutable patient data has no key-level policy: the every-org chaincode policy judges it"
    );
}

#[tokio::test]
async fn home_admin_grants_but_not_doctors_other_admins_or_other_patients() {
    let world = World::new().await;
    let net = &world.net;
    let grant = grant_json(&world.p1, org(H3), all()).to_string();
    net.submit(&world.patient2, &["grant_consent", &grant])
        .await
        .fails_with("a patient may grant or revoke consent only for their own records");
    for other in [
        &world.h1_doctor,
        &world.h1_nurse,
        &world.h2_admin,
        &world.auditor,
    ] {
        net.submit(other, &["grant_consent", &grant])
            .await
            .fails_with("only the patient or an administrator of the home hospital");
    }
    world
        .grant(&world.h1_admin, grant_json(&world.p1, org(H3), all()))
        .await;
    world
        .grant(
            &Actor::org_admin(H1, "Admin"),
            grant_json(&world.p1, org(H3), all()),
        )
        .await;
}

#[tokio::test]
async fn expiries_accept_rfc3339_and_unix_seconds_in_the_future_only() {
    let world = World::new().await;
    let net = &world.net;
    let mut grant = grant_json(&world.p1, org(H2), all());
    grant["expires_at"] = json!("2030-01-01T00:00:00Z");
    let id = world.grant(&world.patient1, grant.clone()).await;
    let key = create_composite_key("consent", &[&world.p1, &id]).unwrap();
    let stored: serde_json::Value = serde_json::from_slice(&net.ledger.get(&key).unwrap()).unwrap();
    assert_eq!(stored["expires_at"]["unix"], 1_893_456_000);
    grant["expires_at"] = json!(T0 + 3600);
    world.grant(&world.patient1, grant.clone()).await;
    grant["expires_at"] = json!((T0 + 3600).to_string());
    world.grant(&world.patient1, grant.clone()).await;
    grant["expires_at"] = json!("2001-01-01T00:00:00Z");
    net.submit(&world.patient1, &["grant_consent", &grant.to_string()])
        .await
        .fails_with("not in the future");
    grant["expires_at"] = json!("next week");
    net.submit(&world.patient1, &["grant_consent", &grant.to_string()])
        .await
        .fails_with("neither unix seconds nor RFC 3339");
}

#[tokio::test]
async fn malformed_grants_are_refused() {
    let world = World::new().await;
    let net = &world.net;
    let cases = [
        (
            grant_json(&world.p1, json!({"kind": "user", "user": "nobody"}), all()),
            "CN@MSPID",
        ),
        (
            grant_json(&world.p1, json!({"kind": "org", "mspid": ""}), all()),
            "grantee MSP id",
        ),
        (
            grant_json(&world.p1, json!({"kind": "group"}), all()),
            "grant_consent arguments",
        ),
        (
            grant_json(
                &world.p1,
                org(H2),
                json!({"kind": "type", "resource_type": "Poem"}),
            ),
            "FHIR",
        ),
        (grant_json(&pid(77), org(H2), all()), "not registered"),
    ];
    for (grant, needle) in cases {
        net.submit(&world.h1_admin, &["grant_consent", &grant.to_string()])
            .await
            .fails_with(needle);
    }
}

#[tokio::test]
async fn revoke_marks_the_consent_once() {
    let world = World::new().await;
    let net = &world.net;
    let id = world
        .grant(&world.patient1, grant_json(&world.p1, org(H2), all()))
        .await;
    net.submit(&world.patient2, &["revoke_consent", &world.p1, &id])
        .await
        .fails_with("only for their own records");
    net.submit(&world.h2_admin, &["revoke_consent", &world.p1, &id])
        .await
        .fails_with("permission denied");
    let revoked = net
        .submit(&world.h1_admin, &["revoke_consent", &world.p1, &id])
        .await
        .ok();
    assert_eq!(revoked["revoked"]["by"]["user"], "admin1@Hospital1MSP");
    net.submit(&world.patient1, &["revoke_consent", &world.p1, &id])
        .await
        .fails_with("already revoked");
    net.submit(&world.patient1, &["revoke_consent", &world.p1, "nope"])
        .await
        .fails_with("not found");
}

#[tokio::test]
async fn list_shows_status_and_is_limited_to_patient_home_and_auditors() {
    let world = World::new().await;
    let net = &world.net;
    let active = world
        .grant(&world.patient1, grant_json(&world.p1, org(H2), all()))
        .await;
    let mut expiring = grant_json(&world.p1, org(H3), all());
    expiring["expires_at"] = json!(T0 + 100);
    let expired = world.grant(&world.patient1, expiring).await;
    let revoked = world
        .grant(
            &world.patient1,
            grant_json(&world.p1, user(&world.h3_doctor), all()),
        )
        .await;
    net.submit(&world.patient1, &["revoke_consent", &world.p1, &revoked])
        .await
        .ok();
    net.set_time(T0 + 200);
    let page = net
        .evaluate(&world.patient1, &["list_consents", &world.p1])
        .await
        .ok();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let status_of = |id: &str| {
        items
            .iter()
            .find(|c| c["consent_id"] == id)
            .map(|c| c["status"].clone())
            .unwrap()
    };
    assert_eq!(status_of(&active), "active");
    assert_eq!(status_of(&expired), "expired");
    assert_eq!(status_of(&revoked), "revoked");
    let first = net
        .evaluate(&world.h1_nurse, &["list_consents", &world.p1, "2"])
        .await
        .ok();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let rest = net
        .evaluate(
            &world.auditor,
            &[
                "list_consents",
                &world.p1,
                "2",
                first["bookmark"].as_str().unwrap(),
            ],
        )
        .await
        .ok();
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["bookmark"], "");
    for outsider in [&world.h2_doctor, &world.patient2, &world.h3_nurse] {
        net.evaluate(outsider, &["list_consents", &world.p1])
            .await
            .fails_with("consents are listed for");
    }
}

/// Finding 2 of the trust-model review: another hospital's CA can enroll a
/// patient identity carrying any pseudonym. Such an impostor is no patient:
/// it may not manage consent, read the trail, or access records.
#[tokio::test]
async fn a_patient_identity_counts_only_at_its_home_hospital() {
    let world = World::new().await;
    let net = &world.net;
    let impostor = Actor::patient(H2, "p-one-forged", &world.p1);
    let grant = grant_json(&world.p1, org(H2), all()).to_string();
    net.submit(&impostor, &["grant_consent", &grant])
        .await
        .fails_with("a patient may grant or revoke consent only for their own records");
    net.evaluate(&impostor, &["audit_by_patient", &world.p1])
        .await
        .fails_with("audit trails are read by");
    let answer = world.access(&impostor, "obs-1").await.ok();
    assert_eq!(
        answer["granted"], false,
        "the impostor got access: {answer}"
    );
    let consents = net
        .evaluate(&world.auditor, &["list_consents", &world.p1])
        .await
        .ok();
    assert_eq!(
        consents["items"],
        serde_json::json!([]),
        "a consent was created"
    );
}
