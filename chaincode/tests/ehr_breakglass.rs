//! Break-glass: doctors only, with a reason, time-limited, audited, flagged,
//! and listed for the patient, the home hospital and auditors. Refused
//! attempts are committed, audited denials. (The coded reason, the rate
//! limit and the independent review: `ehr_breakglass_controls.rs`.)

mod ehr_support;

use ehr_support::*;

fn break_glass_keys(net: &Net) -> Vec<String> {
    net.ledger
        .keys()
        .into_iter()
        .filter(|k| k.starts_with("\u{0}breakglass"))
        .collect()
}

/// Asserts a refused attempt: status 200, `granted:false` with `reason`,
/// an `access` event, and exactly one audit entry (denied, flagged) that
/// does not repeat what the caller typed.
async fn assert_refused(world: &World, by: &Actor, typed: &str, reason: &str) {
    let outcome = world
        .net
        .submit(by, &["break_glass", &world.p1, typed])
        .await;
    let (event_name, event) = outcome.event.clone().expect("a refusal emits an event");
    let tx_id = outcome.tx_id.clone();
    let answer = outcome.ok();
    assert_eq!(answer["granted"], false, "{answer}");
    assert_eq!(answer["reason"], reason);
    assert_eq!(answer["tx_id"], tx_id.as_str());
    assert_eq!(answer["patient_id"], world.p1.as_str());
    assert_eq!(answer["flagged_for_review"], true);
    assert!(
        answer.get("break_glass_id").is_none(),
        "nothing opened: {answer}"
    );
    assert!(
        answer.get("expires_at").is_none(),
        "nothing opened: {answer}"
    );

    assert_eq!(event_name, "access");
    assert_eq!(event["action"], "break_glass");
    assert_eq!(event["granted"], false);
    assert_eq!(event["reason"], reason);
    assert_eq!(event["break_glass"], true);
    assert_eq!(event["actor"]["user"], by.user.as_str());
    assert!(event.get("record_id").is_none());

    let entries = world.entries_of(&world.p1, &tx_id).await;
    assert_eq!(
        entries.len(),
        1,
        "one audit entry per refused attempt: {entries:?}"
    );
    let entry = &entries[0];
    assert_eq!(entry["action"], "break_glass");
    assert_eq!(entry["granted"], false);
    assert_eq!(entry["break_glass"], true, "flagged for review");
    assert_eq!(entry["reason"], reason);
    assert_eq!(entry["actor"]["user"], by.user.as_str());
    assert!(entry["record_id"].is_null());
}

#[tokio::test]
async fn non_doctors_are_refused_audited_and_nothing_opens() {
    let world = World::new().await;
    for (not_doctor, role) in [
        (&world.h3_nurse, "nurse"),
        (&world.h2_admin, "admin"),
        (&world.auditor, "auditor"),
        (&world.patient1, "patient"),
    ] {
        let reason = format!("only doctors may break the glass (caller is {role})");
        assert_refused(&world, not_doctor, "cardiac arrest", &reason).await;
    }
    assert!(
        break_glass_keys(&world.net).is_empty(),
        "a refusal opens nothing: {:?}",
        break_glass_keys(&world.net)
    );
    // The refused nurse gains nothing.
    let after = world.access(&world.h3_nurse, "img-1").await.ok();
    assert_eq!(after["granted"], false);
}

#[tokio::test]
async fn a_doctor_without_a_usable_reason_is_refused_and_audited() {
    let world = World::new().await;
    let rule = "a reason is `<CODE>: <text>` with CODE one of UNCONSCIOUS, LIFE_THREATENING, \
                URGENT_TREATMENT, INCAPACITATED, OTHER and a text of at least 20 characters";
    let needs = format!("break-glass needs a reason; {rule}");
    let invalid = format!(
        "a break-glass reason is at most 500 bytes of text without control characters; {rule}"
    );
    assert_refused(&world, &world.h3_doctor, "", &needs).await;
    assert_refused(&world, &world.h3_doctor, "   ", &needs).await;
    let control = "OTHER: secret\u{7}text that is long enough";
    assert_refused(&world, &world.h3_doctor, control, &invalid).await;
    let long = format!("OTHER: {}", "y".repeat(501));
    assert_refused(&world, &world.h3_doctor, &long, &invalid).await;
    assert!(break_glass_keys(&world.net).is_empty());
    let denied = world.access(&world.h3_doctor, "img-1").await.ok();
    assert_eq!(denied["granted"], false, "a refused attempt grants nothing");
    // The refusals are in the trail; the caller's text is not.
    let trail = world
        .net
        .evaluate(&world.auditor, &["audit_by_patient", &world.p1, "500"])
        .await
        .ok();
    let text = trail.to_string();
    assert!(!text.contains("secret") && !text.contains(&long));
}

#[tokio::test]
async fn malformed_attempts_stay_errors_and_write_nothing() {
    let world = World::new().await;
    let net = &world.net;
    let before = net.ledger.keys().len();
    for by in [&world.h3_doctor, &world.h3_nurse] {
        net.submit(by, &["break_glass", &pid(42), "emergency"])
            .await
            .fails_with("not found: patient");
        net.submit(by, &["break_glass", "not-a-pseudonym", "emergency"])
            .await
            .fails_with("invalid argument: a patient id (pseudonym) must be 64 hex digits");
        net.submit(by, &["break_glass", &world.p1])
            .await
            .fails_with("break_glass expects 2 arguments, got 1");
    }
    assert_eq!(net.ledger.keys().len(), before, "errors write nothing");
}

#[tokio::test]
async fn an_opening_answers_granted_with_the_event() {
    let world = World::new().await;
    let outcome = world
        .net
        .submit(
            &world.h3_doctor,
            &[
                "break_glass",
                &world.p1,
                "UNCONSCIOUS: trauma, no response to voice",
            ],
        )
        .await;
    let tx_id = outcome.tx_id.clone();
    let opened = outcome.ok();
    assert_eq!(opened["granted"], true);
    assert_eq!(opened["tx_id"], tx_id.as_str());
    assert_eq!(opened["break_glass_id"], tx_id.as_str());
    assert_eq!(
        opened["reason"],
        "UNCONSCIOUS: trauma, no response to voice"
    );
    assert_eq!(opened["opened_by"]["user"], world.h3_doctor.user.as_str());
    let entries = world.entries_of(&world.p1, &tx_id).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["granted"], true);
    assert_eq!(entries[0]["action"], "break_glass");
}

#[tokio::test]
async fn break_glass_opens_access_for_an_hour_flagged_and_audited() {
    let world = World::new().await;
    let net = &world.net;
    assert_eq!(
        world.access(&world.h3_doctor, "img-1").await.ok()["granted"],
        false
    );
    net.set_time(T0 + 10_000);
    let opened = net
        .submit(
            &world.h3_doctor,
            &[
                "break_glass",
                &world.p1,
                "UNCONSCIOUS: unconscious in ER, no response to voice",
            ],
        )
        .await;
    let (event_name, _) = opened.event.clone().expect("event");
    let opened = opened.ok();
    assert_eq!(event_name, "breakglass");
    assert_eq!(opened["flagged_for_review"], true);
    assert_eq!(opened["expires_at"]["unix"], T0 + 10_000 + 3600);
    let id = opened["break_glass_id"].as_str().unwrap().to_owned();

    let granted = world.access(&world.h3_doctor, "img-1").await.ok();
    assert_eq!(granted["granted"], true);
    assert_eq!(granted["break_glass"], true);
    assert_eq!(granted["reason"], format!("break-glass {id}"));

    // Another doctor, or a nurse of the same hospital, gains nothing.
    let colleague = Actor::doctor(H3, "dr.other");
    net.publish(&colleague).await;
    assert_eq!(
        world.access(&colleague, "img-1").await.ok()["granted"],
        false
    );
    assert_eq!(
        world.access(&world.h3_nurse, "img-1").await.ok()["granted"],
        false
    );

    net.set_time(T0 + 10_000 + 3600);
    let expired = world.access(&world.h3_doctor, "img-1").await.ok();
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
    assert_eq!(
        flagged[0]["reason"],
        "UNCONSCIOUS: unconscious in ER, no response to voice"
    );
    assert_eq!(flagged[1]["action"], "access");
}

#[tokio::test]
async fn break_glass_events_are_listed_for_patient_home_and_auditors() {
    let world = World::new().await;
    let net = &world.net;
    net.submit(
        &world.h3_doctor,
        &[
            "break_glass",
            &world.p1,
            "UNCONSCIOUS: trauma bay, no response to voice",
        ],
    )
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
        assert_eq!(
            items[0]["reason"],
            "UNCONSCIOUS: trauma bay, no response to voice"
        );
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

#[tokio::test]
async fn evidence_keys_are_sealed_and_patient_data_is_not() {
    use fabric_shim::VALIDATION_PARAMETER;
    use healthblock_chaincode::sbe::sealed_policy;
    let world = World::new().await;
    let net = &world.net;
    world.access(&world.h1_doctor, "obs-1").await.ok();
    let id = world.open_break_glass().await;
    net.submit(
        &world.auditor,
        &["review_break_glass", &world.p1, &id, "justified"],
    )
    .await
    .ok();
    let evidence = [
        "\u{0}audit~patient\u{0}",
        "\u{0}audit~record\u{0}",
        "\u{0}breakglass\u{0}",
        "\u{0}breakglass~review\u{0}",
    ];
    let mut sealed = 0;
    for key in net.ledger.keys() {
        let policy = net.ledger.metadata(&key).get(VALIDATION_PARAMETER).cloned();
        if evidence.iter().any(|prefix| key.starts_with(prefix)) {
            assert_eq!(
                policy,
                Some(sealed_policy()),
                "evidence key {key:?} is not sealed"
            );
            sealed += 1;
        } else {
            assert_eq!(
                policy, None,
                "{key:?} must be judged by the chaincode-level policy"
            );
        }
    }
    // Two trail entries for the access request, the opening's entry, event and review.
    assert!(sealed >= 5, "only {sealed} evidence keys were written");
}
