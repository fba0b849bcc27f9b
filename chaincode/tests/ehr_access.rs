//! `request_access`: decisions, the audit entry written for grants and
//! denials alike, the event, and what a granted caller receives.

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
async fn home_clinicians_and_the_patient_are_granted_with_their_wrap() {
    let world = World::new().await;
    for (actor, basis) in [
        (&world.h1_doctor, "home hospital"),
        (&world.h1_nurse, "home hospital"),
        (&world.h1_admin, "home hospital"),
        (&world.patient1, "patient's own record"),
    ] {
        let outcome = world.access(actor, "obs-1", "home").await;
        let (event_name, event) = outcome.event.clone().expect("event");
        let response = outcome.ok();
        assert_eq!(response["granted"], true);
        assert_eq!(response["reason"], basis);
        assert_eq!(response["wrap"], hex64("key:home"));
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
    let no_wrap = world
        .access(&world.h1_doctor, "obs-1", "unknown")
        .await
        .ok();
    assert_eq!(no_wrap["granted"], true);
    assert_eq!(no_wrap["wrap"], Value::Null, "no wrap for that key");
    assert_eq!(audit_entries(&world).len(), 5);
}

#[tokio::test]
async fn a_denial_is_a_committed_audited_answer_with_a_reason() {
    let world = World::new().await;
    let outcome = world.access(&world.h2_doctor, "obs-1", "grey").await;
    let tx_id = outcome.tx_id.clone();
    let (_, event) = outcome.event.clone().expect("denials emit the event too");
    let response = outcome.ok();
    assert_eq!(response["granted"], false);
    let reason = response["reason"].as_str().unwrap();
    assert!(
        reason.contains("no consent covers record obs-1"),
        "{reason}"
    );
    for field in ["storage_pointer", "ciphertext_sha256", "wrap"] {
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
        let response = world.access(clinician, "img-1", "grantee").await.ok();
        assert_eq!(response["granted"], true);
        assert!(response["reason"].as_str().unwrap().starts_with("consent "));
    }
    let admin = world.access(&world.h2_admin, "img-1", "x").await.ok();
    assert_eq!(admin["granted"], false);
    assert!(admin["reason"]
        .as_str()
        .unwrap()
        .contains("administrators of Hospital2MSP"));
    let h3 = world.access(&world.h3_nurse, "img-1", "x").await.ok();
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
        world.access(&world.h2_doctor, "obs-1", "g").await.ok()["granted"],
        true
    );
    assert_eq!(
        world.access(&world.h2_doctor, "img-1", "g").await.ok()["granted"],
        false
    );
    assert_eq!(
        world.access(&world.h2_doctor_b, "obs-1", "g").await.ok()["granted"],
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
        world.access(&world.h3_nurse, "img-1", "n").await.ok()["granted"],
        true
    );
    assert_eq!(
        world.access(&world.h3_nurse, "obs-1", "n").await.ok()["granted"],
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
        world.access(&world.h2_doctor, "obs-1", "g").await.ok()["granted"],
        true
    );
    world.net.set_time(T0 + 1000);
    let denied = world.access(&world.h2_doctor, "obs-1", "g").await.ok();
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
    let denied = world.access(&world.h2_nurse, "obs-1", "n").await.ok();
    assert_eq!(denied["granted"], false);
    assert_eq!(denied["reason"], format!("consent {id} was revoked"));
    world
        .grant(&world.patient1, grant_json(&world.p1, org(H2), all()))
        .await;
    assert_eq!(
        world.access(&world.h2_nurse, "obs-1", "n").await.ok()["granted"],
        true
    );
}

#[tokio::test]
async fn auditors_and_other_patients_never_get_key_material() {
    let world = World::new().await;
    world
        .grant(&world.patient1, grant_json(&world.p1, org(H2), all()))
        .await;
    let outcome = world.access(&world.auditor, "obs-1", "home").await;
    let (_, event) = outcome.event.clone().unwrap();
    let response = outcome.ok();
    assert_eq!(response["granted"], false);
    assert!(response["reason"]
        .as_str()
        .unwrap()
        .contains("never key material"));
    assert!(response.get("wrap").is_none());
    assert!(response.get("storage_pointer").is_none());
    let other = world.access(&world.patient2, "obs-1", "home").await.ok();
    assert_eq!(other["granted"], false);
    assert!(other["reason"]
        .as_str()
        .unwrap()
        .contains("only their own records"));
    // Neither the trail nor the event names a wrap or a key fingerprint.
    let home_fp = hex64("key:home");
    for entry in audit_entries(&world) {
        assert!(!entry.to_string().contains(&home_fp));
        assert!(entry.get("wrap").is_none());
    }
    assert!(!event.to_string().contains(&home_fp));
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
    let fp = hex64("key:home");
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
