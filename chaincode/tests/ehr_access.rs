//! `request_access`: decisions, the audit entry written for grants and
//! denials alike, the event, what a granted caller receives (the home
//! hospital whose custodian releases the key, and the caller's own published
//! key it releases to), and the refusal of any other key.

mod ehr_support;

use ehr_support::*;
use serde_json::{json, Value};

fn audit_entries(world: &World) -> Vec<Value> {
    world
        .net
        .ledger
        .keys()
        .into_iter()
        .filter(|k| k.starts_with("\u{0}audit~patient\u{0}"))
        .map(|k| serde_json::from_slice(&world.net.ledger.get(&k).unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn home_clinicians_and_the_patient_are_granted_for_their_own_key() {
    let world = World::new().await;
    for (actor, basis) in [
        (&world.h1_doctor, "home hospital"),
        (&world.h1_nurse, "home hospital"),
        (&world.h1_admin, "home hospital"),
        (&world.patient1, "patient's own record"),
    ] {
        let outcome = world.access(actor, "obs-1").await;
        let (event_name, event) = outcome.event.clone().expect("event");
        let response = outcome.ok();
        assert_eq!(response["granted"], true);
        assert_eq!(response["reason"], basis);
        assert_eq!(response["home_msp"], H1);
        assert_eq!(response["recipient"], fp_of(actor).as_str());
        assert!(response.get("wrap").is_none(), "no wrap is handed out");
        assert_eq!(
            response["storage_pointer"],
            format!("blobs/{}", hex64("obs-1/1"))
        );
        assert_eq!(response["ciphertext_sha256"], hex64("obs-1/1"));
        assert_eq!(response["size"], 1024);
        assert_eq!(response["break_glass"], false);
        assert_eq!(event_name, "access");
        assert_eq!(event["granted"], true);
        assert_eq!(event["record_id"], "obs-1");
    }
    assert_eq!(audit_entries(&world).len(), 4);
}

#[tokio::test]
async fn a_denial_is_a_committed_audited_answer_with_a_reason() {
    let world = World::new().await;
    let outcome = world.access(&world.h2_doctor, "obs-1").await;
    let tx_id = outcome.tx_id.clone();
    let (_, event) = outcome.event.clone().expect("denials emit the event too");
    let response = outcome.ok();
    assert_eq!(response["granted"], false);
    let reason = response["reason"].as_str().unwrap();
    assert!(
        reason.contains("no consent covers record obs-1"),
        "{reason}"
    );
    for field in [
        "storage_pointer",
        "ciphertext_sha256",
        "recipient",
        "home_msp",
    ] {
        assert!(response.get(field).is_none(), "a denial reveals no {field}");
    }
    assert_eq!(event["granted"], false);
    let entries = audit_entries(&world);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["tx_id"], tx_id.as_str());
    assert_eq!(entries[0]["granted"], false);
    assert_eq!(entries[0]["action"], "access");
    assert_eq!(entries[0]["actor"]["user"], "dr.grey@Hospital2MSP");
    assert_eq!(entries[0]["reason"], reason);
}

#[tokio::test]
async fn org_consent_lets_that_hospitals_clinicians_in_but_not_its_admin() {
    let world = World::new().await;
    world
        .grant(&world.patient1, grant_json(&world.p1, org(H2), all()))
        .await;
    for clinician in [&world.h2_doctor, &world.h2_nurse] {
        let response = world.access(clinician, "img-1").await.ok();
        assert_eq!(response["granted"], true);
        assert!(response["reason"].as_str().unwrap().starts_with("consent "));
    }
    let admin = world.access(&world.h2_admin, "img-1").await.ok();
    assert_eq!(admin["granted"], false);
    assert!(admin["reason"]
        .as_str()
        .unwrap()
        .contains("administrators of Hospital2MSP"));
    let h3 = world.access(&world.h3_nurse, "img-1").await.ok();
    assert_eq!(h3["granted"], false, "consent for Hospital2 only");
}

#[tokio::test]
async fn user_consent_covers_only_that_user_and_scope_limits_records() {
    let world = World::new().await;
    world
        .grant(
            &world.patient1,
            grant_json(
                &world.p1,
                user(&world.h2_doctor),
                json!({"kind": "type", "resource_type": "Observation"}),
            ),
        )
        .await;
    assert_eq!(
        world.access(&world.h2_doctor, "obs-1").await.ok()["granted"],
        true
    );
    assert_eq!(
        world.access(&world.h2_doctor, "img-1").await.ok()["granted"],
        false
    );
    assert_eq!(
        world.access(&world.h2_doctor_b, "obs-1").await.ok()["granted"],
        false
    );
    world
        .grant(
            &world.h1_admin,
            grant_json(
                &world.p1,
                org(H3),
                json!({"kind": "record", "record_id": "img-1"}),
            ),
        )
        .await;
    assert_eq!(
        world.access(&world.h3_nurse, "img-1").await.ok()["granted"],
        true
    );
    assert_eq!(
        world.access(&world.h3_nurse, "obs-1").await.ok()["granted"],
        false
    );
}

#[tokio::test]
async fn expired_consent_is_denied_with_the_expiry() {
    let world = World::new().await;
    let mut grant = grant_json(&world.p1, org(H2), all());
    grant["expires_at"] = json!(T0 + 1000);
    let id = world.grant(&world.patient1, grant).await;
    assert_eq!(
        world.access(&world.h2_doctor, "obs-1").await.ok()["granted"],
        true
    );
    world.net.set_time(T0 + 1000);
    let denied = world.access(&world.h2_doctor, "obs-1").await.ok();
    assert_eq!(denied["granted"], false);
    assert_eq!(
        denied["reason"],
        format!("consent {id} expired at 2023-11-14T22:30:00Z")
    );
}

#[tokio::test]
async fn revoked_consent_is_denied_and_a_new_grant_restores_access() {
    let world = World::new().await;
    let id = world
        .grant(&world.patient1, grant_json(&world.p1, org(H2), all()))
        .await;
    world
        .net
        .submit(&world.patient1, &["revoke_consent", &world.p1, &id])
        .await
        .ok();
    let denied = world.access(&world.h2_nurse, "obs-1").await.ok();
    assert_eq!(denied["granted"], false);
    assert_eq!(denied["reason"], format!("consent {id} was revoked"));
    world
        .grant(&world.patient1, grant_json(&world.p1, org(H2), all()))
        .await;
    assert_eq!(
        world.access(&world.h2_nurse, "obs-1").await.ok()["granted"],
        true
    );
}

#[tokio::test]
async fn auditors_and_other_patients_never_get_key_material() {
    let world = World::new().await;
    world
        .grant(&world.patient1, grant_json(&world.p1, org(H2), all()))
        .await;
    let outcome = world.access(&world.auditor, "obs-1").await;
    let (_, event) = outcome.event.clone().unwrap();
    let response = outcome.ok();
    assert_eq!(response["granted"], false);
    assert!(response["reason"]
        .as_str()
        .unwrap()
        .contains("never key material"));
    assert!(response.get("recipient").is_none());
    assert!(response.get("storage_pointer").is_none());
    let other = world.access(&world.patient2, "obs-1").await.ok();
    assert_eq!(other["granted"], false);
    assert!(other["reason"]
        .as_str()
        .unwrap()
        .contains("only their own records"));
    // Neither the trail nor the event names a wrap or a key fingerprint.
    let fingerprints = [
        hospital_fp(H1),
        patient_fp(&world.p1),
        fp_of(&world.auditor),
        fp_of(&world.patient2),
    ];
    for entry in audit_entries(&world) {
        for fp in &fingerprints {
            assert!(!entry.to_string().contains(fp.as_str()));
        }
        assert!(entry.get("wrap").is_none());
    }
    for fp in &fingerprints {
        assert!(!event.to_string().contains(fp.as_str()));
    }
}

#[tokio::test]
async fn specific_versions_and_bad_arguments() {
    let world = World::new().await;
    let net = &world.net;
    net.put(
        &world.h1_doctor,
        &record_json("obs-1", &world.p1, 2, "Observation"),
    )
    .await
    .ok();
    let fp = fp_of(&world.h1_doctor);
    let v1 = net
        .submit(&world.h1_doctor, &["request_access", "obs-1", "1", &fp])
        .await
        .ok();
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["ciphertext_sha256"], hex64("obs-1/1"));
    let latest = net
        .submit(&world.h1_doctor, &["request_access", "obs-1", "", &fp])
        .await
        .ok();
    assert_eq!(latest["version"], 2);
    net.submit(&world.h1_doctor, &["request_access", "missing", "", &fp])
        .await
        .fails_with("not found");
    net.submit(&world.h1_doctor, &["request_access", "obs-1", "", "short"])
        .await
        .fails_with("key fingerprint");
    net.submit(&world.h1_doctor, &["request_access", "obs-1", "-1", &fp])
        .await
        .fails_with("positive integer");
}

/// The refusal of a key that is not the caller's published, unrevoked one.
fn not_yours(fp: &str, user: &str) -> String {
    format!("invalid argument: key {fp} is not the published, unrevoked encryption key of {user}")
}

#[tokio::test]
async fn a_key_that_is_not_the_callers_own_is_refused_unaudited() {
    let world = World::new().await;
    let net = &world.net;
    world
        .grant(&world.patient1, grant_json(&world.p1, org(H2), all()))
        .await;
    let before = audit_entries(&world).len();
    let doctor = &world.h2_doctor;
    // Another reader's key, the home hospital's, the patient's: the custodian
    // would seal the data key to someone other than the caller.
    for other in [
        fp_of(&world.h2_doctor_b),
        hospital_fp(H1),
        hospital_fp(H2),
        patient_fp(&world.p1),
        hex64("key:unpublished"),
    ] {
        let refused = net
            .submit(doctor, &["request_access", "obs-1", "", &other])
            .await;
        assert!(refused.event.is_none(), "no access event");
        refused.fails_with(&not_yours(&other, &doctor.user));
    }
    // The caller's own key, once revoked, is refused too.
    let own = fp_of(doctor);
    net.submit(doctor, &["revoke_key"]).await.ok();
    net.submit(doctor, &["request_access", "obs-1", "", &own])
        .await
        .fails_with(&not_yours(&own, &doctor.user));
    // A caller with no key published at all.
    let keyless = Actor::doctor(H2, "dr.nokey");
    net.submit(&keyless, &["request_access", "obs-1", "", &fp_of(&keyless)])
        .await
        .fails_with("has published no encryption key");
    // The home hospital's staff are held to the same rule.
    net.submit(
        &world.h1_nurse,
        &["request_access", "obs-1", "", &fp_of(&world.h1_doctor)],
    )
    .await
    .fails_with(&not_yours(&fp_of(&world.h1_doctor), &world.h1_nurse.user));
    assert_eq!(
        audit_entries(&world).len(),
        before,
        "a refused key is no access decision: nothing is audited"
    );
    // Republished, the doctor's new key is the one the custodian seals to.
    let rotated = fresh_key();
    net.submit(doctor, &["publish_key", &rotated.pem])
        .await
        .ok();
    let granted = net
        .submit(
            doctor,
            &["request_access", "obs-1", "", &rotated.fingerprint],
        )
        .await
        .ok();
    assert_eq!(granted["granted"], true);
    assert_eq!(granted["home_msp"], H1);
    assert_eq!(granted["recipient"], rotated.fingerprint.as_str());
    assert_eq!(audit_entries(&world).len(), before + 1);
}

#[tokio::test]
async fn a_grant_names_the_home_hospital_and_the_callers_key() {
    let world = World::new().await;
    let p3 = pid(3);
    // A patient of Hospital2: its custodian, not Hospital1's, releases keys.
    world.net.register(&world.h2_doctor, &p3).await;
    let h2_admin_hospital_fp = hospital_fp(H2);
    let mut doc = record_json("h2-obs", &p3, 1, "Observation");
    doc["wraps"] = json!([h2_admin_hospital_fp]);
    world.net.put(&world.h2_doctor, &doc).await.ok();
    world
        .grant(
            &world.h2_admin,
            grant_json(&p3, user(&world.h1_doctor), all()),
        )
        .await;
    for (actor, rid, home) in [
        (&world.h1_doctor, "h2-obs", H2),
        (&world.h2_nurse, "h2-obs", H2),
        (&world.h1_nurse, "obs-1", H1),
    ] {
        let granted = world.access(actor, rid).await.ok();
        assert_eq!(granted["granted"], true, "{granted}");
        assert_eq!(granted["home_msp"], home);
        assert_eq!(granted["recipient"], fp_of(actor).as_str());
    }
}
