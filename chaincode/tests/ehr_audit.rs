//! The audit trail: one entry per access request, granted or denied, in
//! time order, by patient and by record, paginated, readable by the patient,
//! the home hospital and auditors.

mod ehr_support;

use ehr_support::*;

#[tokio::test]
async fn every_access_request_leaves_one_entry_in_order() {
    let world = World::new().await;
    let net = &world.net;
    world.access(&world.h1_doctor, "obs-1").await.ok();
    world.access(&world.h2_doctor, "obs-1").await.ok();
    world.access(&world.auditor, "img-1").await.ok();
    world.access(&world.patient1, "img-1").await.ok();

    let trail = net
        .evaluate(&world.patient1, &["audit_by_patient", &world.p1])
        .await
        .ok();
    let entries = trail["items"].as_array().unwrap();
    let summary: Vec<(String, bool)> = entries
        .iter()
        .map(|e| {
            (
                e["actor"]["user"].as_str().unwrap().to_owned(),
                e["granted"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("dr.house@Hospital1MSP".to_owned(), true),
            ("dr.grey@Hospital2MSP".to_owned(), false),
            ("auditor@Hospital2MSP".to_owned(), false),
            (format!("patient:{}", world.p1), true),
        ]
    );
    let times: Vec<i64> = entries
        .iter()
        .map(|e| e["time"]["unix"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "oldest first");

    let by_record = net
        .evaluate(&world.auditor, &["audit_by_record", "img-1"])
        .await
        .ok();
    let items = by_record["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|e| e["record_id"] == "img-1"));
}

#[tokio::test]
async fn trails_are_paginated() {
    let world = World::new().await;
    for _ in 0..5 {
        world.access(&world.h1_nurse, "obs-1").await.ok();
    }
    let first = world
        .net
        .evaluate(&world.h1_admin, &["audit_by_record", "obs-1", "2"])
        .await
        .ok();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let mut bookmark = first["bookmark"].as_str().unwrap().to_owned();
    let mut total = 2;
    while !bookmark.is_empty() {
        let page = world
            .net
            .evaluate(
                &world.h1_admin,
                &["audit_by_record", "obs-1", "2", &bookmark],
            )
            .await
            .ok();
        total += page["items"].as_array().unwrap().len();
        bookmark = page["bookmark"].as_str().unwrap().to_owned();
    }
    assert_eq!(total, 5);
}

#[tokio::test]
async fn trail_readers_are_the_patient_home_and_auditors() {
    let world = World::new().await;
    let net = &world.net;
    world.access(&world.h2_doctor, "obs-1").await.ok();
    for reader in [
        &world.patient1,
        &world.h1_admin,
        &world.h1_doctor,
        &world.auditor,
    ] {
        net.evaluate(reader, &["audit_by_patient", &world.p1])
            .await
            .ok();
        net.evaluate(reader, &["audit_by_record", "obs-1"])
            .await
            .ok();
    }
    for outsider in [
        &world.patient2,
        &world.h2_doctor,
        &world.h2_admin,
        &world.h1_nurse,
    ] {
        net.evaluate(outsider, &["audit_by_patient", &world.p1])
            .await
            .fails_with("audit trails are read by");
        net.evaluate(outsider, &["audit_by_record", "obs-1"])
            .await
            .fails_with("audit trails are read by");
    }
    net.evaluate(&world.auditor, &["audit_by_record", "missing"])
        .await
        .fails_with("not found");
}

#[tokio::test]
async fn consent_changes_are_in_the_patient_trail() {
    let world = World::new().await;
    let id = world
        .grant(&world.patient1, grant_json(&world.p1, org(H2), all()))
        .await;
    world
        .net
        .submit(&world.h1_admin, &["revoke_consent", &world.p1, &id])
        .await
        .ok();
    let trail = world
        .net
        .evaluate(&world.auditor, &["audit_by_patient", &world.p1])
        .await
        .ok();
    let actions: Vec<&str> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["consent_grant", "consent_revoke"]);
}
