//! Break-glass key delivery by the home hospital's custodian (list, fulfil,
//! close), break-glass review, and batched wrap updates.

mod ehr_support;

use ehr_support::*;
use fabric_shim::{create_composite_key, VALIDATION_PARAMETER};
use serde_json::{json, Value};

fn version_key(rid: &str, v: u64) -> String {
    create_composite_key("record~version", &[rid, &format!("{v:020}")]).unwrap()
}

/// The wrap list stored for one version.
fn stored_wraps(world: &World, rid: &str, v: u64) -> Vec<String> {
    let stored: Value =
        serde_json::from_slice(&world.net.ledger.get(&version_key(rid, v)).unwrap()).unwrap();
    stored["wraps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_owned())
        .collect()
}

/// The emergency doctor's key fingerprint (the `key:er` label of `World::access`).
fn er_key() -> String {
    hex64("key:er")
}

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
async fn the_home_admin_delivers_wraps_and_the_doctor_gets_one() {
    let world = World::new().await;
    let net = &world.net;
    let id = world.open_break_glass().await;
    let args = world.fulfil_args(&id, &er_key(), &["obs-1", "img-1"]);
    for outsider in [
        &world.h1_doctor,
        &world.h2_admin,
        &world.h3_doctor,
        &world.patient1,
    ] {
        net.submit(outsider, &["fulfil_break_glass", &args])
            .await
            .fails_with("only an administrator of the home hospital");
    }
    let before = world.access(&world.h3_doctor, "obs-1", "er").await.ok();
    assert_eq!(before["granted"], true);
    assert!(
        before["wrap"].is_null(),
        "no wrap before the custodian acts"
    );

    let grant = net
        .submit(&world.h1_admin, &["fulfil_break_glass", &args])
        .await
        .ok();
    assert_eq!(grant["doctor"]["user"], "dr.er@Hospital3MSP");
    assert_eq!(grant["versions"].as_array().unwrap().len(), 2);
    assert!(grant["withdrawn"].is_null());
    for rid in ["obs-1", "img-1"] {
        assert!(stored_wraps(&world, rid, 1).contains(&er_key()));
        assert!(
            !net.ledger.metadata(&version_key(rid, 1)).contains_key(VALIDATION_PARAMETER),
            "mutable patient data has no key-level policy: the every-org chaincode policy judges it"
        );
    }
    let after = world.access(&world.h3_doctor, "obs-1", "er").await.ok();
    assert_eq!(after["wrap"], er_key().as_str());
    assert_eq!(after["break_glass"], true);
    assert_eq!(
        after["patient_id"],
        world.p1.as_str(),
        "the grant names the patient"
    );

    let items = open_list(&world, &world.h1_admin).await;
    assert_eq!(items[0]["grant"]["versions"].as_array().unwrap().len(), 2);

    let entries = trail(&world).await;
    let fulfil: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "break_glass_fulfil")
        .collect();
    assert_eq!(fulfil.len(), 1);
    assert_eq!(fulfil[0]["break_glass"], true, "flagged for review");
    assert_eq!(fulfil[0]["actor"]["user"], "admin1@Hospital1MSP");
    assert!(
        !serde_json::to_string(&entries).unwrap().contains(&er_key()),
        "the trail holds no key fingerprints"
    );
}

#[tokio::test]
async fn fulfil_refusals() {
    let world = World::new().await;
    let net = &world.net;
    let admin = &world.h1_admin;
    let id = world.open_break_glass().await;
    let other = record_json("p2-obs", &world.p2, 1, "Observation");
    net.put(&world.h1_doctor, &other).await.ok();
    net.submit(
        admin,
        &[
            "fulfil_break_glass",
            &world.fulfil_args(&id, &er_key(), &["p2-obs"]),
        ],
    )
    .await
    .fails_with("is not a record of patient");
    net.submit(
        admin,
        &[
            "fulfil_break_glass",
            &world.fulfil_args("nope", &er_key(), &["obs-1"]),
        ],
    )
    .await
    .fails_with("not found: break-glass nope");
    net.submit(
        admin,
        &[
            "fulfil_break_glass",
            &world.fulfil_args(&id, &er_key(), &[]),
        ],
    )
    .await
    .fails_with("needs at least one version");
    let many: Vec<String> = (0..501).map(|i| format!("r{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    net.submit(
        admin,
        &[
            "fulfil_break_glass",
            &world.fulfil_args(&id, &er_key(), &many),
        ],
    )
    .await
    .fails_with("at most 500 versions");
    net.submit(
        admin,
        &[
            "fulfil_break_glass",
            &world.fulfil_args(&id, &er_key(), &["obs-1"]),
        ],
    )
    .await
    .ok();
    net.submit(
        admin,
        &[
            "fulfil_break_glass",
            &world.fulfil_args(&id, &hex64("key:other"), &["img-1"]),
        ],
    )
    .await
    .fails_with("fulfilled for another key");
    // A second pass adds versions to the same delivery.
    let grant = net
        .submit(
            admin,
            &[
                "fulfil_break_glass",
                &world.fulfil_args(&id, &er_key(), &["img-1"]),
            ],
        )
        .await
        .ok();
    assert_eq!(grant["versions"].as_array().unwrap().len(), 2);
    assert_eq!(grant["tx_ids"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn close_after_expiry_withdraws_wraps_except_where_consent_covers() {
    let world = World::new().await;
    let net = &world.net;
    let admin = &world.h1_admin;
    net.set_time(T0 + 100);
    let id = world.open_break_glass().await;
    let args = world.fulfil_args(&id, &er_key(), &["obs-1", "img-1"]);
    net.submit(admin, &["fulfil_break_glass", &args]).await.ok();
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
    net.submit(admin, &["fulfil_break_glass", &args])
        .await
        .fails_with("has expired");
    let denied = world.access(&world.h3_doctor, "img-1", "er").await.ok();
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
    assert_eq!(closure["key_fingerprint"], er_key().as_str());
    assert_eq!(
        closure["removed"],
        json!([{"record_id": "img-1", "version": 1}])
    );
    assert_eq!(
        closure["kept"],
        json!([{"record_id": "obs-1", "version": 1}])
    );
    assert!(!stored_wraps(&world, "img-1", 1).contains(&er_key()));
    assert!(stored_wraps(&world, "obs-1", 1).contains(&er_key()));
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
        world.access(&world.h3_doctor, "obs-1", "er").await.ok()["granted"],
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

    let after = world.access(&world.h3_doctor, "obs-1", "er").await.ok();
    assert_eq!(after["granted"], false);
    assert!(after["reason"]
        .as_str()
        .unwrap()
        .contains(&format!("break-glass {id} was reviewed and is closed")));
    assert_eq!(
        open_list(&world, &world.h1_admin).await[0]["status"],
        "reviewed"
    );
    net.submit(
        &world.h1_admin,
        &[
            "fulfil_break_glass",
            &world.fulfil_args(&id, &er_key(), &["obs-1"]),
        ],
    )
    .await
    .fails_with("was reviewed and is closed");
    let closure = net
        .submit(&world.h1_admin, &["close_break_glass", &world.p1, &id])
        .await
        .ok();
    assert_eq!(closure["status"], "reviewed");
    assert!(
        closure["key_fingerprint"].is_null(),
        "nothing was delivered"
    );
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
    let (a, b) = (hex64("key:a"), hex64("key:b"));
    let batch = json!([
        {"record_id": "obs-1", "version": 1, "add": [a]},
        {"record_id": "img-1", "version": 1, "add": [a]},
        {"record_id": "obs-1", "version": 1, "add": [b]},
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
    assert!(stored_wraps(&world, "obs-1", 1).contains(&a));
    assert!(stored_wraps(&world, "obs-1", 1).contains(&b));
    assert!(stored_wraps(&world, "img-1", 1).contains(&a));
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
        {"record_id": "obs-1", "version": 1, "remove": [a]},
        {"record_id": "missing", "version": 1, "remove": [a]},
    ])
    .to_string();
    net.submit(&world.h1_nurse, &["update_wraps", &bad])
        .await
        .fails_with("not found");
    assert!(stored_wraps(&world, "obs-1", 1).contains(&a));

    net.submit(&world.h1_nurse, &["update_wraps", "[]"])
        .await
        .fails_with("at least one version");
    let too_many: Vec<Value> = (0..501)
        .map(|i| json!({"record_id": format!("r{i}"), "version": 1, "add": [a]}))
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
