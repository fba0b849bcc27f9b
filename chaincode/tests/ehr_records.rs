//! Record versions: who may write, succession rules, no key-level policy on
//! any record key (the chaincode-level policy judges them), indexes with pagination, metadata reads, history,
//! verify and wraps.

mod ehr_support;

use ehr_support::*;
use fabric_shim::{create_composite_key, VALIDATION_PARAMETER};
use serde_json::{json, Value};

fn key(object_type: &str, attrs: &[&str]) -> String {
    create_composite_key(object_type, attrs).unwrap()
}

fn version_component(v: u64) -> String {
    format!("{v:020}")
}

#[tokio::test]
async fn put_writes_head_version_and_indexes_all_bound_to_the_home_peer() {
    let world = World::new().await;
    let net = &world.net;
    let token_patient = hex64(&format!("patient:{}", world.p1));
    let token_type = hex64("type:Observation");
    let keys = [
        key("record", &["obs-1"]),
        key("record~version", &["obs-1", &version_component(1)]),
        key("record~patient", &[&world.p1, "obs-1"]),
        key("record~token", &[&token_patient, "obs-1"]),
        key("record~token", &[&token_type, "obs-1"]),
    ];
    for k in &keys {
        assert!(net.ledger.get(k).is_some(), "missing {k:?}");
        assert!(
            !net.ledger.metadata(k).contains_key(VALIDATION_PARAMETER),
            "mutable patient data has no key-level policy: the every-org chaincode policy judges it"
        );
    }
    assert_eq!(net.ledger.get(&keys[2]).unwrap(), b"obs-1");
}

#[tokio::test]
async fn put_records_author_time_txid_and_previous_link() {
    let world = World::new().await;
    let net = &world.net;
    let v2 = net
        .put(
            &world.h1_nurse,
            &record_json("obs-1", &world.p1, 2, "Observation"),
        )
        .await;
    let tx_id = v2.tx_id.clone();
    let v2 = v2.ok();
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["author"]["user"], "nurse.joy@Hospital1MSP");
    assert_eq!(v2["author"]["role"], "nurse");
    assert_eq!(v2["home_msp"], H1);
    assert_eq!(v2["tx_id"], tx_id.as_str());
    assert!(v2["tx_time"]["unix"].as_i64().unwrap() > T0);
    assert_eq!(v2["previous"]["version"], 1);
    assert_eq!(v2["previous"]["ciphertext_sha256"], hex64("obs-1/1"));
    assert_eq!(v2["ciphertext_sha256"], hex64("obs-1/2"));
}

#[tokio::test]
async fn only_home_hospital_writers_put() {
    let world = World::new().await;
    let net = &world.net;
    let v2 = record_json("obs-1", &world.p1, 2, "Observation");
    let new = record_json("new-1", &world.p1, 1, "Observation");
    for other in [&world.h2_doctor, &world.h2_admin, &world.h3_nurse] {
        net.put(other, &v2)
            .await
            .fails_with("only the home hospital");
        net.put(other, &new)
            .await
            .fails_with("only the home hospital");
    }
    for role in [&world.auditor, &world.patient1] {
        net.put(role, &new)
            .await
            .fails_with("may not write records");
    }
    net.put(&world.h1_admin, &new).await.ok();
}

#[tokio::test]
async fn versions_must_follow_on_for_the_same_patient_and_type() {
    let world = World::new().await;
    let net = &world.net;
    let d = &world.h1_doctor;
    net.put(d, &record_json("obs-1", &world.p1, 1, "Observation"))
        .await
        .fails_with("at version 1; the next version is 2, not 1");
    net.put(d, &record_json("obs-1", &world.p1, 3, "Observation"))
        .await
        .fails_with("not 3");
    net.put(d, &record_json("fresh", &world.p1, 2, "Observation"))
        .await
        .fails_with("its first version is 1");
    net.put(d, &record_json("obs-1", &world.p2, 2, "Observation"))
        .await
        .fails_with("belongs to another patient");
    net.put(d, &record_json("obs-1", &world.p1, 2, "Condition"))
        .await
        .fails_with("cannot change its type");
    net.put(d, &record_json("x", &pid(99), 1, "Observation"))
        .await
        .fails_with("not registered");
}

#[tokio::test]
async fn malformed_put_arguments_are_refused() {
    let world = World::new().await;
    let net = &world.net;
    let d = &world.h1_doctor;
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "resource_type",
            json!("Banana"),
            "not one of the allowed FHIR types",
        ),
        ("ciphertext_sha256", json!("abc"), "64 hex digits"),
        ("record_id", json!("bad id/with spaces"), "a record id is"),
        ("storage_pointer", json!(""), "storage pointer"),
        ("blind_index", json!(["zz"]), "blind-index token"),
        ("wraps", json!(["nothex"]), "key fingerprint"),
        ("size", json!(-1), "invalid"),
    ];
    for (field, value, needle) in cases {
        let mut doc = record_json("new-1", &world.p1, 1, "Observation");
        doc[field] = value;
        net.put(d, &doc).await.fails_with(needle);
    }
    let mut doc = record_json("new-1", &world.p1, 1, "Observation");
    doc["patient_name"] = json!("John Smith");
    net.put(d, &doc).await.fails_with("unknown field");
    net.submit(d, &["put_record", "not json"])
        .await
        .fails_with("put_record arguments");
}

#[tokio::test]
async fn get_record_returns_metadata_without_wraps() {
    let world = World::new().await;
    let net = &world.net;
    net.put(
        &world.h1_doctor,
        &record_json("obs-1", &world.p1, 2, "Observation"),
    )
    .await
    .ok();
    let latest = net
        .evaluate(&world.h1_nurse, &["get_record", "obs-1"])
        .await
        .ok();
    assert_eq!(latest["version"], 2);
    assert!(latest.get("wraps").is_none(), "metadata never lists wraps");
    let first = net
        .evaluate(&world.patient1, &["get_record", "obs-1", "1"])
        .await
        .ok();
    assert_eq!(first["version"], 1);
    let audited = net
        .evaluate(&world.auditor, &["get_record", "obs-1"])
        .await
        .ok();
    assert!(audited.get("wraps").is_none());
    net.evaluate(&world.h1_doctor, &["get_record", "obs-1", "9"])
        .await
        .fails_with("not found: record obs-1 version 9");
    net.evaluate(&world.h1_doctor, &["get_record", "obs-1", "zero"])
        .await
        .fails_with("not a positive integer");
    net.evaluate(&world.h1_doctor, &["get_record", "nope"])
        .await
        .fails_with("not found");
}

/// Issue 13: where the ciphertext lives, and whose keys wrap its data key,
/// come only with an audited grant. Every unaudited read leaves both out.
#[tokio::test]
async fn unaudited_reads_carry_no_storage_pointer_and_no_wraps() {
    let world = World::new().await;
    let net = &world.net;
    let type_token = hex64("type:Observation");
    let reads: Vec<(&str, Vec<&str>)> = vec![
        ("get_record", vec!["get_record", "obs-1"]),
        ("get_record v1", vec!["get_record", "obs-1", "1"]),
        ("record_history", vec!["record_history", "obs-1"]),
        ("verify_record", vec!["verify_record", "obs-1", "1"]),
        (
            "list_records_by_patient",
            vec!["list_records_by_patient", &world.p1],
        ),
        (
            "list_records_by_token",
            vec!["list_records_by_token", &type_token],
        ),
    ];
    for (name, args) in reads {
        let answer = net.evaluate(&world.h1_doctor, &args).await.ok();
        let text = answer.to_string();
        for field in ["storage_pointer", "wraps", "\"blobs/"] {
            assert!(!text.contains(field), "{name} reveals {field}: {text}");
        }
        assert!(text.contains(&hex64("obs-1/1")), "{name} answered {text}");
    }
    // The grant, committed and audited, is where the pointer comes from.
    let granted = world.access(&world.h1_doctor, "obs-1").await.ok();
    assert_eq!(
        granted["storage_pointer"],
        format!("blobs/{}", hex64("obs-1/1"))
    );
}

#[tokio::test]
async fn metadata_reads_need_home_ownership_or_consent() {
    let world = World::new().await;
    let net = &world.net;
    for outsider in [
        &world.h2_doctor,
        &world.h3_nurse,
        &world.h2_admin,
        &world.patient2,
    ] {
        net.evaluate(outsider, &["get_record", "obs-1"])
            .await
            .fails_with("permission denied");
        net.evaluate(outsider, &["record_history", "obs-1"])
            .await
            .fails_with("permission denied");
        net.evaluate(outsider, &["verify_record", "obs-1", "1"])
            .await
            .fails_with("permission denied");
    }
    world
        .grant(
            &world.patient1,
            grant_json(
                &world.p1,
                org(H2),
                json!({"kind": "type", "resource_type": "Observation"}),
            ),
        )
        .await;
    net.evaluate(&world.h2_doctor, &["get_record", "obs-1"])
        .await
        .ok();
    net.evaluate(&world.h2_doctor, &["get_record", "img-1"])
        .await
        .fails_with("no consent covers record img-1");
}

#[tokio::test]
async fn list_by_patient_pages_over_the_patient_index_only() {
    let world = World::new().await;
    let net = &world.net;
    for i in 0..5 {
        let json = record_json(&format!("lab-{i}"), &world.p1, 1, "Observation");
        net.put(&world.h1_doctor, &json).await.ok();
    }
    net.put(
        &world.h1_doctor,
        &record_json("other", &world.p2, 1, "Observation"),
    )
    .await
    .ok();
    let mut seen = Vec::new();
    let mut bookmark = String::new();
    let mut pages = 0;
    loop {
        let page = net
            .evaluate(
                &world.h1_doctor,
                &["list_records_by_patient", &world.p1, "3", &bookmark],
            )
            .await
            .ok();
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        for item in items {
            assert_eq!(item["patient_id"], world.p1.as_str());
            assert!(item.get("wraps").is_none());
            seen.push(item["record_id"].as_str().unwrap().to_owned());
        }
        bookmark = page["bookmark"].as_str().unwrap().to_owned();
        if bookmark.is_empty() {
            break;
        }
        assert!(
            bookmark.starts_with(&key("record~patient", &[&world.p1])),
            "the bookmark stays inside the patient's index prefix"
        );
    }
    assert_eq!(pages, 3);
    assert_eq!(
        seen,
        ["img-1", "lab-0", "lab-1", "lab-2", "lab-3", "lab-4", "obs-1"]
    );
    net.evaluate(
        &world.h1_doctor,
        &["list_records_by_patient", &world.p1, "0"],
    )
    .await
    .fails_with("page size must be 1 to 500");
    net.evaluate(
        &world.h1_doctor,
        &["list_records_by_patient", &world.p1, "501"],
    )
    .await
    .fails_with("page size");
}

#[tokio::test]
async fn listings_leave_out_records_the_caller_may_not_read() {
    let world = World::new().await;
    let net = &world.net;
    let page = net
        .evaluate(&world.h2_doctor, &["list_records_by_patient", &world.p1])
        .await
        .ok();
    assert_eq!(page["items"], json!([]));
    world
        .grant(
            &world.patient1,
            grant_json(
                &world.p1,
                user(&world.h2_doctor),
                json!({"kind": "record", "record_id": "img-1"}),
            ),
        )
        .await;
    let page = net
        .evaluate(&world.h2_doctor, &["list_records_by_patient", &world.p1])
        .await
        .ok();
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["record_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["img-1"]);
    let audit_view = net
        .evaluate(&world.auditor, &["list_records_by_patient", &world.p1])
        .await
        .ok();
    assert_eq!(audit_view["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn list_by_token_follows_the_blind_index_across_versions() {
    let world = World::new().await;
    let net = &world.net;
    let type_token = hex64("type:Observation");
    let page = net
        .evaluate(
            &world.h1_doctor,
            &["list_records_by_token", &type_token, "10"],
        )
        .await
        .ok();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["record_id"], "obs-1");

    // Version 2 drops the type token and adds a new one.
    let new_token = hex64("month:2024-01");
    let mut v2 = record_json("obs-1", &world.p1, 2, "Observation");
    v2["blind_index"] = json!([new_token]);
    net.put(&world.h1_doctor, &v2).await.ok();
    assert!(net
        .ledger
        .get(&key("record~token", &[&type_token, "obs-1"]))
        .is_none());
    let page = net
        .evaluate(&world.h1_doctor, &["list_records_by_token", &type_token])
        .await
        .ok();
    assert_eq!(page["items"], json!([]));
    let page = net
        .evaluate(&world.h1_doctor, &["list_records_by_token", &new_token])
        .await
        .ok();
    assert_eq!(page["items"][0]["version"], 2);
    net.evaluate(&world.h1_doctor, &["list_records_by_token", "xyz"])
        .await
        .fails_with("blind-index token");
}

#[tokio::test]
async fn history_lists_every_version_newest_first() {
    let world = World::new().await;
    let net = &world.net;
    let v2 = net
        .put(
            &world.h1_doctor,
            &record_json("obs-1", &world.p1, 2, "Observation"),
        )
        .await;
    let v2_tx = v2.tx_id.clone();
    v2.ok();
    let history = net
        .evaluate(&world.patient1, &["record_history", "obs-1"])
        .await
        .ok();
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["tx_id"], v2_tx.as_str());
    assert_eq!(history[0]["record"]["version"], 2);
    assert_eq!(history[1]["record"]["version"], 1);
    assert!(history[0]["record"].get("wraps").is_none());
}

#[tokio::test]
async fn verify_returns_the_stored_hash_and_writing_txid() {
    let world = World::new().await;
    let net = &world.net;
    let v2 = net
        .put(
            &world.h1_doctor,
            &record_json("obs-1", &world.p1, 2, "Observation"),
        )
        .await;
    let v2_tx = v2.tx_id.clone();
    v2.ok();
    let proof = net
        .evaluate(&world.auditor, &["verify_record", "obs-1", "2"])
        .await
        .ok();
    assert_eq!(proof["ciphertext_sha256"], hex64("obs-1/2"));
    assert_eq!(proof["tx_id"], v2_tx.as_str());
    assert_eq!(proof["size"], 2048);
    let v1 = net
        .evaluate(&world.h1_nurse, &["verify_record", "obs-1", "1"])
        .await
        .ok();
    assert_eq!(v1["ciphertext_sha256"], hex64("obs-1/1"));
    net.evaluate(&world.h1_nurse, &["verify_record", "obs-1", ""])
        .await
        .fails_with("needs a version");
}

#[tokio::test]
async fn wraps_are_updated_by_the_patient_or_home_writers_only() {
    let world = World::new().await;
    let net = &world.net;
    // The patient rotates their key; the new wrap is recorded beside the old.
    let rotated = fresh_key();
    net.submit(&world.patient1, &["publish_key", &rotated.pem])
        .await
        .ok();
    let new_key = rotated.fingerprint;
    let update = json!({"record_id": "obs-1", "version": 1, "add": [new_key]}).to_string();
    for outsider in [&world.h2_doctor, &world.patient2, &world.auditor] {
        net.submit(outsider, &["update_wraps", &update])
            .await
            .fails_with("may change a record's wraps");
    }
    let wraps = net
        .submit(&world.patient1, &["update_wraps", &update])
        .await
        .ok();
    assert_eq!(wraps.as_array().unwrap().len(), 3);
    let version_key = key("record~version", &["obs-1", &version_component(1)]);
    let stored: Value = serde_json::from_slice(&net.ledger.get(&version_key).unwrap()).unwrap();
    assert!(stored["wraps"]
        .as_array()
        .unwrap()
        .contains(&json!(new_key)));
    assert!(
        !net.ledger
            .metadata(&version_key)
            .contains_key(VALIDATION_PARAMETER),
        "mutable patient data has no key-level policy: the every-org chaincode policy judges it"
    );
    let old_key = patient_fp(&world.p1);
    let remove = json!({"record_id": "obs-1", "version": 1, "remove": [old_key]}).to_string();
    let wraps = net
        .submit(&world.h1_nurse, &["update_wraps", &remove])
        .await
        .ok();
    let mut expected = vec![hospital_fp(H1), new_key];
    expected.sort();
    assert_eq!(wraps, json!(expected));
}

/// The error of a wrap to a key other than the home hospital's or the patient's.
const AT_REST_ONLY: &str = "wrapped at rest only to the published keys of the home hospital \
                            (Hospital1MSP) and the patient";

#[tokio::test]
async fn put_record_wraps_only_to_the_home_hospital_and_the_patient() {
    let world = World::new().await;
    let net = &world.net;
    let with_wraps = |rid: &str, wraps: Value| {
        let mut doc = record_json(rid, &world.p1, 1, "Observation");
        doc["wraps"] = wraps;
        doc
    };
    // A consent grantee's published key, another hospital's, an unpublished
    // one: each refused, alone or beside the allowed two, and nothing written.
    let grantee = world
        .grant(
            &world.patient1,
            grant_json(&world.p1, user(&world.h2_doctor), all()),
        )
        .await;
    assert!(!grantee.is_empty());
    for third in [
        fp_of(&world.h2_doctor),
        hospital_fp(H2),
        hex64("key:unpublished"),
    ] {
        for wraps in [
            json!([third]),
            json!([hospital_fp(H1), patient_fp(&world.p1), third]),
        ] {
            let refused = net.put(&world.h1_doctor, &with_wraps("new-1", wraps)).await;
            assert!(
                refused.message.contains(&format!("not to {third}")),
                "{}",
                refused.message
            );
            refused.fails_with(AT_REST_ONLY);
        }
    }
    assert!(net.ledger.get(&key("record", &["new-1"])).is_none());
    // The home hospital's and the patient's keys, together or alone, pass.
    net.put(
        &world.h1_doctor,
        &with_wraps("new-1", home_wraps(&world.p1)),
    )
    .await
    .ok();
    net.put(
        &world.h1_doctor,
        &with_wraps("new-2", json!([hospital_fp(H1)])),
    )
    .await
    .ok();
    net.put(&world.h1_doctor, &with_wraps("new-3", json!([])))
        .await
        .ok();
}

#[tokio::test]
async fn put_record_refuses_a_wrap_to_a_revoked_key() {
    let world = World::new().await;
    let net = &world.net;
    net.submit(&world.h1_admin, &["revoke_key", "hospital"])
        .await
        .ok();
    let refused = net
        .put(
            &world.h1_doctor,
            &record_json("new-1", &world.p1, 1, "Observation"),
        )
        .await;
    assert!(
        refused
            .message
            .contains(&format!("not to {}", hospital_fp(H1))),
        "{}",
        refused.message
    );
    refused.fails_with(AT_REST_ONLY);
    // The patient's key alone is still good; a revoked patient key is not.
    let mut patient_only = record_json("new-1", &world.p1, 1, "Observation");
    patient_only["wraps"] = json!([patient_fp(&world.p1)]);
    net.put(&world.h1_doctor, &patient_only).await.ok();
    net.submit(&world.patient1, &["revoke_key"]).await.ok();
    let mut next = record_json("new-1", &world.p1, 2, "Observation");
    next["wraps"] = json!([patient_fp(&world.p1)]);
    net.put(&world.h1_doctor, &next)
        .await
        .fails_with(AT_REST_ONLY);
    // Republished, the hospital's new key is the one wraps go to.
    let republished = fresh_key();
    net.submit(
        &world.h1_admin,
        &["publish_key", &republished.pem, "hospital"],
    )
    .await
    .ok();
    next["wraps"] = json!([republished.fingerprint]);
    net.put(&world.h1_doctor, &next).await.ok();
}

#[tokio::test]
async fn update_wraps_adds_no_grantee_key_but_removes_any() {
    let world = World::new().await;
    let net = &world.net;
    world
        .grant(&world.patient1, grant_json(&world.p1, org(H2), all()))
        .await;
    let grantee = fp_of(&world.h2_doctor);
    let add = json!({"record_id": "obs-1", "version": 1, "add": [grantee]}).to_string();
    for writer in [&world.patient1, &world.h1_doctor, &world.h1_admin] {
        net.submit(writer, &["update_wraps", &add])
            .await
            .fails_with(AT_REST_ONLY);
    }
    // In a batch, one grantee wrap fails it all.
    let batch = json!([
        {"record_id": "img-1", "version": 1, "remove": [patient_fp(&world.p1)]},
        {"record_id": "obs-1", "version": 1, "add": [hospital_fp(H2)]},
    ])
    .to_string();
    net.submit(&world.h1_nurse, &["update_wraps", &batch])
        .await
        .fails_with(AT_REST_ONLY);
    assert_eq!(stored_wraps(net, "img-1", 1), at_rest(&world.p1));
    assert_eq!(stored_wraps(net, "obs-1", 1), at_rest(&world.p1));
    // A grantee's wrap recorded before the rule can still be removed.
    let mut legacy = at_rest(&world.p1);
    legacy.push(grantee.clone());
    seed_wraps(net, "obs-1", 1, &legacy);
    let remove = json!({"record_id": "obs-1", "version": 1, "remove": [grantee]}).to_string();
    let wraps = net
        .submit(&world.patient1, &["update_wraps", &remove])
        .await
        .ok();
    assert_eq!(wraps, json!(at_rest(&world.p1)));
    assert_eq!(stored_wraps(net, "obs-1", 1), at_rest(&world.p1));
}
