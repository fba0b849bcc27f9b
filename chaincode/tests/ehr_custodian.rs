//! The home hospital's key custodian under audited key release: a
//! break-glass doctor's data keys are released per committed request, never
//! delivered as wraps; the custodian lists and closes open events (and
//! withdraws wraps a delivery from before left behind); review; batched
//! wrap updates.

mod ehr_support;

use ehr_support::*;
use fabric_shim::{create_composite_key, VALIDATION_PARAMETER};
use serde_json::{json, Value};

async fn open_list(world: &World, by: &Actor) -> Vec<Value> {
    let page = world
        .net
        .evaluate(by, &["list_open_break_glass"])
        .await
        .ok();
    page["items"].as_array().unwrap().clone()
}

async fn trail(world: &World) -> Vec<Value> {
    let page = world
        .net
        .evaluate(&world.auditor, &["audit_by_patient", &world.p1, "500"])
        .await
        .ok();
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_open_list_is_the_home_hospitals_and_for_admins_only() {
    let world = World::new().await;
    let id = world.open_break_glass().await;
    let items = open_list(&world, &world.h1_admin).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["event"]["break_glass_id"], id.as_str());
    assert_eq!(items[0]["status"], "active");
    assert!(items[0]["grant"].is_null());
    assert!(
        open_list(&world, &world.h2_admin).await.is_empty(),
        "another hospital's admin sees only its own patients"
    );
    for not_admin in [&world.h1_doctor, &world.auditor, &world.patient1] {
        world
            .net
            .evaluate(not_admin, &["list_open_break_glass"])
            .await
            .fails_with("may not list the hospital's open break-glass events");
    }
    let open_key = create_composite_key("breakglass~open", &[H1, &world.p1, &id]).unwrap();
    assert!(
        !world
            .net
            .ledger
            .metadata(&open_key)
            .contains_key(VALIDATION_PARAMETER),
        "mutable patient data has no key-level policy: the every-org chaincode policy judges it"
    );
}

#[tokio::test]
async fn a_break_glass_doctors_keys_are_released_per_request_never_delivered() {
    let world = World::new().await;
    let net = &world.net;
    let id = world.open_break_glass().await;
    let doctor_fp = fp_of(&world.h3_doctor);
    // The push delivery is gone from the contract.
    let args = json!({
        "patient_id": world.p1, "break_glass_id": id, "key_fingerprint": doctor_fp,
        "versions": [{"record_id": "obs-1", "version": 1}],
    })
    .to_string();
    net.submit(&world.h1_admin, &["fulfil_break_glass", &args])
        .await
        .fails_with("unknown function \"fulfil_break_glass\"");
    // Nor can the custodian record a wrap for the doctor some other way.
    let wrap_for_doctor =
        json!({"record_id": "obs-1", "version": 1, "add": [doctor_fp]}).to_string();
    net.submit(&world.h1_admin, &["update_wraps", &wrap_for_doctor])
        .await
        .fails_with("wrapped at rest only to the published keys of the home hospital");

    // The doctor's committed request names the custodian (the home
    // hospital) and the doctor's own key: the custodian seals to that.
    let granted = world.access(&world.h3_doctor, "obs-1").await.ok();
    assert_eq!(granted["granted"], true);
    assert_eq!(granted["break_glass"], true);
    assert_eq!(granted["home_msp"], H1);
    assert_eq!(granted["recipient"], doctor_fp.as_str());
    assert_eq!(
        granted["patient_id"],
        world.p1.as_str(),
        "the grant names the patient"
    );
    assert!(granted.get("wrap").is_none(), "{granted}");
    for rid in ["obs-1", "img-1"] {
        assert_eq!(
            stored_wraps(net, rid, 1),
            at_rest(&world.p1),
            "only the home hospital and the patient hold wraps at rest"
        );
    }

    let items = open_list(&world, &world.h1_admin).await;
    assert!(items[0]["grant"].is_null(), "nothing is delivered");
    let grant_key = create_composite_key("breakglass~grant", &[&world.p1, &id]).unwrap();
    assert!(net.ledger.get(&grant_key).is_none());
    let entries = trail(&world).await;
    assert!(entries.iter().all(|e| e["action"] != "break_glass_fulfil"));
    assert!(
        !serde_json::to_string(&entries)
            .unwrap()
            .contains(&doctor_fp),
        "the trail holds no key fingerprints"
    );
}

#[tokio::test]
async fn close_after_expiry_withdraws_a_legacy_delivery_except_where_consent_covers() {
    let world = World::new().await;
    let net = &world.net;
    let admin = &world.h1_admin;
    let er_key = fp_of(&world.h3_doctor);
    net.set_time(T0 + 100);
    let id = world.open_break_glass().await;
    // Served by a delivery of wraps from before per-request key release.
    world.seed_legacy_delivery(&id, &["obs-1", "img-1"]);
    world
        .grant(
            &world.patient1,
            grant_json(
                &world.p1,
                user(&world.h3_doctor),
                json!({"kind": "type", "resource_type": "Observation"}),
            ),
        )
        .await;
    net.submit(admin, &["close_break_glass", &world.p1, &id])
        .await
        .fails_with("is in force until");

    net.set_time(T0 + 100 + 3600 + 5);
    let denied = world.access(&world.h3_doctor, "img-1").await.ok();
    assert_eq!(denied["granted"], false);
    assert_eq!(open_list(&world, admin).await[0]["status"], "expired");
    for not_custodian in [&world.h2_admin, &world.h1_doctor, &world.auditor] {
        net.submit(not_custodian, &["close_break_glass", &world.p1, &id])
            .await
            .fails_with("only an administrator of the home hospital");
    }
    net.submit(admin, &["close_break_glass", &world.p1, "nope"])
        .await
        .fails_with("not found: break-glass nope");

    let closure = net
        .submit(admin, &["close_break_glass", &world.p1, &id])
        .await
        .ok();
    assert_eq!(closure["status"], "expired");
    assert_eq!(closure["key_fingerprint"], er_key.as_str());
    assert_eq!(
        closure["removed"],
        json!([{"record_id": "img-1", "version": 1}])
    );
    assert_eq!(
        closure["kept"],
        json!([{"record_id": "obs-1", "version": 1}])
    );
    assert_eq!(stored_wraps(net, "img-1", 1), at_rest(&world.p1));
    assert!(stored_wraps(net, "obs-1", 1).contains(&er_key));
    assert!(open_list(&world, admin).await.is_empty());
    net.submit(admin, &["close_break_glass", &world.p1, &id])
        .await
        .fails_with("already closed");
    let grant_key = create_composite_key("breakglass~grant", &[&world.p1, &id]).unwrap();
    let grant: Value = serde_json::from_slice(&net.ledger.get(&grant_key).unwrap()).unwrap();
    assert_eq!(grant["withdrawn"]["by"]["user"], "admin1@Hospital1MSP");
    let closed: Vec<Value> = trail(&world)
        .await
        .into_iter()
        .filter(|e| e["action"] == "break_glass_close")
        .collect();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0]["break_glass"], true);
}

#[tokio::test]
async fn a_review_closes_the_break_glass_early() {
    let world = World::new().await;
    let net = &world.net;
    let id = world.open_break_glass().await;
    assert_eq!(
        world.access(&world.h3_doctor, "obs-1").await.ok()["granted"],
        true
    );
    for not_reviewer in [
        &world.h3_doctor,
        &world.h2_admin,
        &world.h1_doctor,
        &world.patient1,
    ] {
        net.submit(
            not_reviewer,
            &["review_break_glass", &world.p1, &id, "justified"],
        )
        .await
        .fails_with("reviewed by auditors and administrators of the home hospital");
    }
    net.submit(&world.auditor, &["review_break_glass", &world.p1, &id, " "])
        .await
        .fails_with("needs a review note");
    net.submit(
        &world.auditor,
        &["review_break_glass", &world.p1, "nope", "ok"],
    )
    .await
    .fails_with("not found");
    let review = net
        .submit(
            &world.auditor,
            &[
                "review_break_glass",
                &world.p1,
                &id,
                "justified: cardiac arrest",
            ],
        )
        .await
        .ok();
    assert_eq!(review["reviewed_by"]["role"], "auditor");
    net.submit(
        &world.h1_admin,
        &["review_break_glass", &world.p1, &id, "again"],
    )
    .await
    .fails_with("already reviewed");

    let after = world.access(&world.h3_doctor, "obs-1").await.ok();
    assert_eq!(after["granted"], false);
    assert!(after["reason"]
        .as_str()
        .unwrap()
        .contains(&format!("break-glass {id} was reviewed and is closed")));
    assert_eq!(
        open_list(&world, &world.h1_admin).await[0]["status"],
        "reviewed"
    );
    let closure = net
        .submit(&world.h1_admin, &["close_break_glass", &world.p1, &id])
        .await
        .ok();
    assert_eq!(closure["status"], "reviewed");
    assert!(
        closure["key_fingerprint"].is_null(),
        "nothing was delivered"
    );
    assert_eq!(closure["removed"], json!([]));
    assert_eq!(closure["kept"], json!([]));
    assert!(open_list(&world, &world.h1_admin).await.is_empty());
    let actions: Vec<Value> = trail(&world)
        .await
        .iter()
        .map(|e| e["action"].clone())
        .collect();
    assert!(actions.contains(&json!("break_glass_review")));
    assert!(actions.contains(&json!("break_glass_close")));
}

#[tokio::test]
async fn update_wraps_takes_a_batch_in_one_transaction() {
    let world = World::new().await;
    let net = &world.net;
    // The patient rotates their key: every version is re-wrapped to the new
    // one and the old wrap goes, in one transaction.
    let old = patient_fp(&world.p1);
    let rotated = fresh_key();
    net.submit(&world.patient1, &["publish_key", &rotated.pem])
        .await
        .ok();
    let new = rotated.fingerprint.clone();
    let batch = json!([
        {"record_id": "obs-1", "version": 1, "add": [new]},
        {"record_id": "img-1", "version": 1, "add": [new]},
        {"record_id": "obs-1", "version": 1, "remove": [old]},
    ])
    .to_string();
    net.submit(&world.h2_doctor, &["update_wraps", &batch])
        .await
        .fails_with("may change a record's wraps");
    let result = net
        .submit(&world.patient1, &["update_wraps", &batch])
        .await
        .ok();
    assert_eq!(
        result,
        json!({"updated": 2}),
        "changes to one version merge"
    );
    let mut expected = vec![hospital_fp(H1), new.clone()];
    expected.sort();
    assert_eq!(stored_wraps(net, "obs-1", 1), expected);
    assert!(stored_wraps(net, "img-1", 1).contains(&new));
    assert!(stored_wraps(net, "img-1", 1).contains(&old));
    for rid in ["obs-1", "img-1"] {
        for k in [
            version_key(rid, 1),
            create_composite_key("record", &[rid]).unwrap(),
        ] {
            assert!(
                !net.ledger.metadata(&k).contains_key(VALIDATION_PARAMETER),
                "mutable patient data has no key-level policy: the every-org chaincode policy judges it"
            );
        }
    }

    // One unknown version fails the whole batch: nothing is written.
    let bad = json!([
        {"record_id": "obs-1", "version": 1, "remove": [new]},
        {"record_id": "missing", "version": 1, "remove": [new]},
    ])
    .to_string();
    net.submit(&world.h1_nurse, &["update_wraps", &bad])
        .await
        .fails_with("not found");
    assert!(stored_wraps(net, "obs-1", 1).contains(&new));

    net.submit(&world.h1_nurse, &["update_wraps", "[]"])
        .await
        .fails_with("at least one version");
    let too_many: Vec<Value> = (0..501)
        .map(|i| json!({"record_id": format!("r{i}"), "version": 1, "add": [new]}))
        .collect();
    net.submit(
        &world.h1_nurse,
        &["update_wraps", &Value::from(too_many).to_string()],
    )
    .await
    .fails_with("at most 500 versions");
    net.submit(
        &world.h1_nurse,
        &["update_wraps", r#"[{"record_id": "obs-1"}]"#],
    )
    .await
    .fails_with("update_wraps arguments");
}
