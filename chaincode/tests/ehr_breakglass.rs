//! Break-glass: doctors only, with a reason, time-limited, audited, flagged,
//! and listed for the patient, the home hospital and auditors.

mod ehr_support;

use ehr_support::*;

#[tokio::test]
async fn only_doctors_break_the_glass_and_only_with_a_reason() {
    let world = World::new().await;
    let net = &world.net;
    for not_doctor in [
        &world.h3_nurse,
        &world.h2_admin,
        &world.auditor,
        &world.patient1,
    ] {
        net.submit(not_doctor, &["break_glass", &world.p1, "cardiac arrest"])
            .await
            .fails_with("only doctors may break the glass");
    }
    net.submit(&world.h3_doctor, &["break_glass", &world.p1, ""])
        .await
        .fails_with("needs a reason");
    net.submit(&world.h3_doctor, &["break_glass", &world.p1, "   "])
        .await
        .fails_with("needs a reason");
    net.submit(&world.h3_doctor, &["break_glass", &world.p1, "a\u{7}b"])
        .await
        .fails_with("control characters");
    net.submit(
        &world.h3_doctor,
        &["break_glass", &world.p1, &"x".repeat(501)],
    )
    .await
    .fails_with("at most 500 bytes");
    net.submit(&world.h3_doctor, &["break_glass", &pid(42), "emergency"])
        .await
        .fails_with("not registered");
    assert!(
        !net.ledger
            .keys()
            .iter()
            .any(|k| k.starts_with("\u{0}breakglass")),
        "refusals write nothing"
    );
}

#[tokio::test]
async fn break_glass_opens_access_for_an_hour_flagged_and_audited() {
    let world = World::new().await;
    let net = &world.net;
    assert_eq!(
        world.access(&world.h3_doctor, "img-1", "er").await.ok()["granted"],
        false
    );
    net.set_time(T0 + 10_000);
    let opened = net
        .submit(
            &world.h3_doctor,
            &["break_glass", &world.p1, "unconscious in ER"],
        )
        .await;
    let (event_name, _) = opened.event.clone().expect("event");
    let opened = opened.ok();
    assert_eq!(event_name, "breakglass");
    assert_eq!(opened["flagged_for_review"], true);
    assert_eq!(opened["expires_at"]["unix"], T0 + 10_000 + 3600);
    let id = opened["break_glass_id"].as_str().unwrap().to_owned();

    let granted = world.access(&world.h3_doctor, "img-1", "er").await.ok();
    assert_eq!(granted["granted"], true);
    assert_eq!(granted["break_glass"], true);
    assert_eq!(granted["reason"], format!("break-glass {id}"));

    // Another doctor, or a nurse of the same hospital, gains nothing.
    let colleague = Actor::doctor(H3, "dr.other");
    assert_eq!(
        world.access(&colleague, "img-1", "c").await.ok()["granted"],
        false
    );
    assert_eq!(
        world.access(&world.h3_nurse, "img-1", "n").await.ok()["granted"],
        false
    );

    net.set_time(T0 + 10_000 + 3600);
    let expired = world.access(&world.h3_doctor, "img-1", "er").await.ok();
    assert_eq!(expired["granted"], false);
    assert!(expired["reason"]
        .as_str()
        .unwrap()
        .contains(&format!("break-glass {id} has expired")));

    let trail = net
        .evaluate(&world.auditor, &["audit_by_patient", &world.p1])
        .await
        .ok();
    let flagged: Vec<_> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["break_glass"] == true)
        .collect();
    assert_eq!(flagged.len(), 2, "the opening and the access under it");
    assert_eq!(flagged[0]["action"], "break_glass");
    assert_eq!(flagged[0]["reason"], "unconscious in ER");
    assert_eq!(flagged[1]["action"], "access");
}

#[tokio::test]
async fn break_glass_events_are_listed_for_patient_home_and_auditors() {
    let world = World::new().await;
    let net = &world.net;
    net.submit(&world.h3_doctor, &["break_glass", &world.p1, "trauma bay"])
        .await
        .ok();
    for reader in [
        &world.patient1,
        &world.h1_admin,
        &world.h1_doctor,
        &world.auditor,
    ] {
        let page = net
            .evaluate(reader, &["list_break_glass", &world.p1])
            .await
            .ok();
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["opened_by"]["user"], "dr.er@Hospital3MSP");
        assert_eq!(items[0]["reason"], "trauma bay");
    }
    for outsider in [
        &world.patient2,
        &world.h2_doctor,
        &world.h3_doctor,
        &world.h1_nurse,
    ] {
        net.evaluate(outsider, &["list_break_glass", &world.p1])
            .await
            .fails_with("permission denied");
    }
}
