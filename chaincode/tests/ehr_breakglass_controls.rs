//! Break-glass controls: a coded reason with enough text, a per-doctor rate
//! limit in a sliding 24 h window (set by administrators), a review never by
//! the opener's own hospital, and keys released per request only while the
//! event is in force (no wrap is ever recorded for the doctor; closing
//! withdraws what a delivery from before left). Every refused opening is a
//! committed, audited `granted:false`.

mod ehr_support;

use ehr_support::*;
use fabric_shim::create_composite_key;
use serde_json::{json, Value};

const DAY: i64 = 86_400;
const RULE: &str = "a reason is `<CODE>: <text>` with CODE one of UNCONSCIOUS, LIFE_THREATENING, \
                    URGENT_TREATMENT, INCAPACITATED, OTHER and a text of at least 20 characters";
const REASON: &str = "UNCONSCIOUS: found unresponsive in the waiting room";

async fn attempt(world: &World, by: &Actor, pid: &str, reason: &str) -> Outcome {
    world.net.submit(by, &["break_glass", pid, reason]).await
}

/// Opens a break-glass and returns its id.
async fn open(world: &World, by: &Actor, pid: &str) -> String {
    let opened = attempt(world, by, pid, REASON).await.ok();
    assert_eq!(opened["granted"], true, "{opened}");
    opened["break_glass_id"].as_str().unwrap().to_owned()
}

/// Asserts a refused attempt: committed, `granted:false` with `reason`, one
/// denied audit entry flagged for review, nothing opened.
async fn assert_refused(world: &World, by: &Actor, pid: &str, typed: &str, reason: &str) {
    let before = break_glass_events(world);
    let outcome = attempt(world, by, pid, typed).await;
    let tx_id = outcome.tx_id.clone();
    let answer = outcome.ok();
    assert_eq!(answer["granted"], false, "{answer}");
    assert_eq!(answer["reason"], reason);
    assert_eq!(answer["flagged_for_review"], true);
    assert!(answer.get("break_glass_id").is_none(), "{answer}");
    let entries = world.entries_of(pid, &tx_id).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["action"], "break_glass");
    assert_eq!(entries[0]["granted"], false);
    assert_eq!(entries[0]["break_glass"], true);
    assert_eq!(entries[0]["reason"], reason);
    assert_eq!(break_glass_events(world), before, "a refusal opens nothing");
}

fn break_glass_events(world: &World) -> usize {
    world
        .net
        .ledger
        .keys()
        .iter()
        .filter(|k| k.starts_with("\u{0}breakglass\u{0}"))
        .count()
}

/// The keys of the rate limit's index for `doctor`.
fn doctor_index(world: &World, doctor: &Actor) -> Vec<String> {
    let prefix = create_composite_key("breakglass~doctor", &[&doctor.user]).unwrap();
    world
        .net
        .ledger
        .keys()
        .into_iter()
        .filter(|k| k.starts_with(&prefix))
        .collect()
}

#[tokio::test]
async fn a_reason_needs_a_known_code_and_twenty_characters_of_text() {
    let world = World::new().await;
    let doctor = &world.h3_doctor;
    let p1 = world.p1.as_str();
    let short = format!("the text of a break-glass reason has 9 characters, fewer than 20; {RULE}");
    assert_refused(&world, doctor, p1, "UNCONSCIOUS: collapsed", &short).await;
    assert_refused(&world, doctor, p1, "OTHER:    collapsed     ", &short).await;
    let unknown = format!("unknown break-glass reason code; {RULE}");
    assert_refused(
        &world,
        doctor,
        p1,
        "CURIOSITY: I would like to see the chart of this patient",
        &unknown,
    )
    .await;
    assert_refused(
        &world,
        doctor,
        p1,
        "unconscious: lower case codes are not codes",
        &unknown,
    )
    .await;
    let no_code = format!("a break-glass reason starts with a code and a colon; {RULE}");
    assert_refused(
        &world,
        doctor,
        p1,
        "patient found unresponsive in the waiting room",
        &no_code,
    )
    .await;
    // The refusals never repeat the typed text.
    let trail = world
        .net
        .evaluate(&world.auditor, &["audit_by_patient", p1, "500"])
        .await
        .ok()
        .to_string();
    assert!(!trail.contains("CURIOSITY") && !trail.contains("waiting room"));

    // Every code opens; the event stores the reason as `CODE: text`, trimmed.
    world
        .net
        .submit(&world.h1_admin, &["set_break_glass_limit", "10"])
        .await
        .ok();
    for code in [
        "UNCONSCIOUS",
        "LIFE_THREATENING",
        "URGENT_TREATMENT",
        "INCAPACITATED",
        "OTHER",
    ] {
        let typed = format!("  {code} :   exactly twenty chars  ");
        let opened = attempt(&world, doctor, p1, &typed).await.ok();
        assert_eq!(opened["granted"], true, "{code}: {opened}");
        assert_eq!(opened["reason"], format!("{code}: exactly twenty chars"));
    }
}

#[tokio::test]
async fn a_doctor_opens_at_most_three_in_a_sliding_day() {
    let world = World::new().await;
    let net = &world.net;
    let doctor = &world.h3_doctor;
    let p1 = world.p1.as_str();
    let p2 = world.p2.as_str();
    net.set_time(T0 + 1000);
    let first = open(&world, doctor, p1).await;
    net.set_time(T0 + 2000);
    open(&world, doctor, p2).await;
    net.set_time(T0 + 3000);
    open(&world, doctor, p1).await;
    assert_eq!(doctor_index(&world, doctor).len(), 3);

    // The fourth within 24 h of the first is refused, committed and audited.
    net.set_time(T0 + 1000 + DAY - 1);
    let refusal = "break-glass limit reached: dr.er@Hospital3MSP opened 3 break-glass event(s) \
                   in the last 24 hours; at most 3 per doctor in any 24 hours (the next opening \
                   is possible from 2023-11-15T22:30:00Z)";
    assert_refused(&world, doctor, p2, REASON, refusal).await;
    // A refusal does not count, and other doctors have their own count.
    assert_eq!(doctor_index(&world, doctor).len(), 3);
    open(&world, &world.h2_doctor, p1).await;

    // Once the first leaves the window, one more opens; the stale index
    // entry is pruned in the same transaction.
    net.set_time(T0 + 1000 + DAY);
    let fourth = open(&world, doctor, p2).await;
    let index = doctor_index(&world, doctor);
    assert_eq!(index.len(), 3, "{index:?}");
    assert!(index.iter().all(|k| !k.ends_with(&format!("{first}\u{0}"))));
    assert!(index.iter().any(|k| k.ends_with(&format!("{fourth}\u{0}"))));
    net.set_time(T0 + 1000 + DAY + 1);
    let refusal = "break-glass limit reached: dr.er@Hospital3MSP opened 3 break-glass event(s) \
                   in the last 24 hours; at most 3 per doctor in any 24 hours (the next opening \
                   is possible from 2023-11-15T22:46:40Z)";
    assert_refused(&world, doctor, p1, REASON, refusal).await;
    // The events themselves stay: the index is only the window.
    assert_eq!(break_glass_events(&world), 5);
}

#[tokio::test]
async fn any_hospitals_administrator_sets_the_limit_within_bounds() {
    let world = World::new().await;
    let net = &world.net;
    let default = net
        .evaluate(&world.h3_doctor, &["get_break_glass_limit"])
        .await
        .ok();
    assert_eq!(default, json!({"per_doctor": 3, "window_seconds": DAY}));
    for not_admin in [
        &world.h1_doctor,
        &world.auditor,
        &world.patient1,
        &world.h3_nurse,
    ] {
        net.submit(not_admin, &["set_break_glass_limit", "5"])
            .await
            .fails_with("may not set the break-glass limit (allowed: admin)");
    }
    for bad in ["0", "11", "-1", "three", ""] {
        net.submit(&world.h2_admin, &["set_break_glass_limit", bad])
            .await
            .fails_with("invalid argument: the break-glass limit is a whole number from 1 to 10");
    }
    let outcome = net
        .submit(&world.h2_admin, &["set_break_glass_limit", "1"])
        .await;
    let tx_id = outcome.tx_id.clone();
    let set = outcome.ok();
    assert_eq!(set["per_doctor"], 1);
    assert_eq!(set["set_by"]["user"], world.h2_admin.user.as_str());
    assert_eq!(set["tx_id"], tx_id.as_str());
    let read = net
        .evaluate(&world.h1_doctor, &["get_break_glass_limit"])
        .await
        .ok();
    assert_eq!(read, set);
    // The setting is a mutable key, judged by the chaincode-level policy.
    let key = create_composite_key("setting", &["breakglass_limit"]).unwrap();
    assert!(net.ledger.metadata(&key).is_empty());

    open(&world, &world.h3_doctor, &world.p1).await;
    let outcome = attempt(&world, &world.h3_doctor, &world.p1, REASON)
        .await
        .ok();
    assert_eq!(outcome["granted"], false);
    assert!(outcome["reason"]
        .as_str()
        .unwrap()
        .contains("at most 1 per doctor in any 24 hours"));
}

#[tokio::test]
async fn nobody_of_the_openers_hospital_reviews_it() {
    let world = World::new().await;
    let net = &world.net;
    let h1_auditor = Actor::auditor(H1, "auditor.one");
    let h3_auditor = Actor::auditor(H3, "auditor.three");
    let h3_admin = Actor::admin(H3, "admin3");
    let review = |by: &Actor, id: &str| {
        let args = [
            "review_break_glass",
            &world.p1,
            id,
            "justified: cardiac arrest",
        ];
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let by = by.clone();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            net.submit(&by, &args).await
        }
    };

    // Opened by Hospital3's doctor on a Hospital1 patient.
    let by_h3 = open(&world, &world.h3_doctor, &world.p1).await;
    let refusal = format!(
        "permission denied: break-glass {by_h3} was opened by a doctor of Hospital3MSP, so nobody \
         of Hospital3MSP may review it; it is reviewed by an administrator (privacy officer) of \
         the home hospital (Hospital1MSP) or an auditor of another hospital"
    );
    review(&h3_auditor, &by_h3).await.fails_with(&refusal);
    // A Hospital3 administrator is not a reviewer at all (not the home).
    review(&h3_admin, &by_h3)
        .await
        .fails_with("reviewed by auditors and administrators of the home hospital");
    // The home hospital's privacy officer reviews it.
    let done = review(&world.h1_admin, &by_h3).await.ok();
    assert_eq!(done["reviewed_by"]["user"], world.h1_admin.user.as_str());

    // Opened by a doctor of the home hospital: only another hospital's auditor.
    let by_h1 = open(&world, &world.h1_doctor, &world.p1).await;
    let refusal = format!(
        "permission denied: break-glass {by_h1} was opened by a doctor of Hospital1MSP, so nobody \
         of Hospital1MSP may review it; it is reviewed by an auditor of another hospital"
    );
    review(&world.h1_admin, &by_h1).await.fails_with(&refusal);
    review(&h1_auditor, &by_h1).await.fails_with(&refusal);
    let done = review(&h3_auditor, &by_h1).await.ok();
    assert_eq!(done["reviewed_by"]["mspid"], H3);

    // Opened by Hospital2's doctor: Hospital2's auditor is refused, another's accepted.
    let by_h2 = open(&world, &world.h2_doctor, &world.p1).await;
    review(&world.auditor, &by_h2)
        .await
        .fails_with("so nobody of Hospital2MSP may review it");
    review(&h1_auditor, &by_h2).await.ok();
}

#[tokio::test]
async fn no_wrap_is_recorded_for_the_doctor_and_no_key_released_once_closed() {
    let world = World::new().await;
    let net = &world.net;
    let admin = &world.h1_admin;
    let key = fp_of(&world.h3_doctor);
    let wrap_for_doctor = json!({"record_id": "obs-1", "version": 1, "add": [key]}).to_string();
    let fulfil_entries = |trail: Value| {
        trail["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "break_glass_fulfil")
            .count()
    };
    let trail = || async {
        net.evaluate(&world.auditor, &["audit_by_patient", &world.p1, "500"])
            .await
            .ok()
    };

    net.set_time(T0 + 100);
    let expired = open(&world, &world.h3_doctor, &world.p1).await;
    let reviewed = open(&world, &world.h3_doctor, &world.p1).await;
    // In force: the request is granted to the doctor's key, yet the
    // custodian may not wrap the data key for it at rest.
    let granted = world.access(&world.h3_doctor, "obs-1").await.ok();
    assert_eq!(granted["granted"], true);
    assert_eq!(granted["recipient"], key.as_str());
    net.submit(admin, &["update_wraps", &wrap_for_doctor])
        .await
        .fails_with("wrapped at rest only to the published keys of the home hospital");
    net.submit(
        &world.auditor,
        &["review_break_glass", &world.p1, &reviewed, "not justified"],
    )
    .await
    .ok();
    net.set_time(T0 + 100 + 3600);

    // Nothing was recorded: no delivery, no wrap for the doctor, no audit entry.
    for id in [&expired, &reviewed] {
        let grant = create_composite_key("breakglass~grant", &[&world.p1, id]).unwrap();
        assert!(net.ledger.get(&grant).is_none(), "a delivery for {id}");
    }
    assert_eq!(stored_wraps(net, "obs-1", 1), at_rest(&world.p1));
    assert_eq!(fulfil_entries(trail().await), 0);
    // The doctor gets no key under either (the denial names no recipient),
    // and the custodian closes both with nothing to withdraw.
    let denied = world.access(&world.h3_doctor, "obs-1").await.ok();
    assert_eq!(denied["granted"], false);
    assert!(denied.get("recipient").is_none(), "{denied}");
    for id in [&expired, &reviewed] {
        let closure = net
            .submit(admin, &["close_break_glass", &world.p1, id])
            .await
            .ok();
        assert!(closure["key_fingerprint"].is_null());
        assert_eq!(closure["removed"], json!([]));
    }
}

#[tokio::test]
async fn closing_one_legacy_delivery_keeps_the_wraps_another_in_force_still_needs() {
    let world = World::new().await;
    let net = &world.net;
    let admin = &world.h1_admin;
    let key = fp_of(&world.h3_doctor);
    let has_wrap = |rid: &str| {
        let k = create_composite_key("record~version", &[rid, &format!("{:020}", 1)]).unwrap();
        let v: Value = serde_json::from_slice(&net.ledger.get(&k).unwrap()).unwrap();
        v["wraps"].as_array().unwrap().contains(&json!(key))
    };
    net.set_time(T0 + 100);
    let first = open(&world, &world.h3_doctor, &world.p1).await;
    net.set_time(T0 + 200);
    let second = open(&world, &world.h3_doctor, &world.p1).await;
    // Both were served by deliveries of wraps from before per-request key
    // release (one wrap per key: obs-1 holds the doctor's once).
    world.seed_legacy_delivery(&first, &["obs-1", "img-1"]);
    world.seed_legacy_delivery(&second, &[]);
    let second_key = create_composite_key("breakglass~grant", &[&world.p1, &second]).unwrap();
    let mut delivery: Value =
        serde_json::from_slice(&net.ledger.get(&second_key).unwrap()).unwrap();
    delivery["versions"] = json!([{"record_id": "obs-1", "version": 1}]);
    net.ledger
        .seed(&second_key, serde_json::to_vec(&delivery).unwrap());

    // The first is reviewed and closed: the wrap the second (in force)
    // was delivered stays, the other goes.
    net.submit(
        &world.auditor,
        &["review_break_glass", &world.p1, &first, "justified"],
    )
    .await
    .ok();
    let closure = net
        .submit(admin, &["close_break_glass", &world.p1, &first])
        .await
        .ok();
    assert_eq!(
        closure["kept"],
        json!([{"record_id": "obs-1", "version": 1}])
    );
    assert_eq!(
        closure["removed"],
        json!([{"record_id": "img-1", "version": 1}])
    );
    assert!(has_wrap("obs-1") && !has_wrap("img-1"));
    let through = world.access(&world.h3_doctor, "obs-1").await.ok();
    assert_eq!(through["granted"], true);
    assert_eq!(through["recipient"], key.as_str(), "{through}");
    assert_eq!(through["home_msp"], H1);

    // Once the second expires, closing it withdraws the last wrap.
    net.set_time(T0 + 200 + 3600);
    let closure = net
        .submit(admin, &["close_break_glass", &world.p1, &second])
        .await
        .ok();
    assert_eq!(
        closure["removed"],
        json!([{"record_id": "obs-1", "version": 1}])
    );
    assert_eq!(closure["kept"], json!([]));
    assert!(!has_wrap("obs-1"));
}
