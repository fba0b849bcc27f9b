//! Refusal branches of the EHR contract that no other suite reaches: a
//! malformed role extension, a certificate without a CN, the admin OU beside
//! an `hb.role` attribute, a home-hospital auditor asking for keys, grantee
//! and expiry validation, closing a break-glass while consents that do not
//! keep the doctor's (legacy) wraps exist, the per-version wrap and per-put
//! token limits, review notes with control characters, and repeated openings by
//! one doctor. Each test names the branch it reaches and checks the answer.

mod ehr_support;

use ehr_support::*;
use healthblock_chaincode::ehr::model::Role;
use healthblock_chaincode::ehr::record::MAX_TOKENS;
use healthblock_chaincode::ehr::roles::Caller;
use healthblock_chaincode::ehr::wraps::MAX_WRAPS;
use rcgen::{CertificateParams, CustomExtension, DistinguishedName, DnType, KeyPair};
use serde_json::{json, Value};

/// A self-signed certificate with exactly the subject entries and attribute
/// extension bytes given (the shared `cert()` always sets a CN and writes JSON).
fn raw_cert(subject: &[(DnType, &str)], extension: Option<&[u8]>) -> (String, Vec<u8>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = DistinguishedName::new();
    for (kind, value) in subject {
        dn.push(kind.clone(), *value);
    }
    params.distinguished_name = dn;
    if let Some(bytes) = extension {
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(&ATTR_OID, bytes.to_vec()));
    }
    let cert = params.self_signed(&KeyPair::generate().unwrap()).unwrap();
    (cert.pem(), cert.der().to_vec())
}

// --- roles.rs ---------------------------------------------------------------

#[test]
fn a_malformed_attribute_extension_is_refused() {
    for bytes in [
        &b"not json at all"[..],
        br#"{"attrs": ["hb.role", "doctor"]}"#,
        br#"{"attrs": {"hb.role": 7}}"#,
    ] {
        let (pem, _) = raw_cert(&[(DnType::CommonName, "x")], Some(bytes));
        let err = Caller::from_certificate(H1, pem.as_bytes()).unwrap_err();
        assert!(
            err.to_string()
                .contains("the Fabric CA attribute extension is not the expected JSON"),
            "{err}"
        );
    }
}

#[test]
fn a_certificate_without_a_cn_is_named_by_its_hash() {
    let attrs = br#"{"attrs":{"hb.role":"doctor"}}"#;
    let (pem, der) = raw_cert(&[(DnType::OrganizationalUnitName, "client")], Some(attrs));
    let caller = Caller::from_certificate(H1, pem.as_bytes()).unwrap();
    use sha2::{Digest, Sha256};
    let want = format!("sha256:{}@{H1}", hex::encode(Sha256::digest(&der)));
    assert_eq!(caller.role, Role::Doctor);
    assert_eq!(caller.user, want);
    // An empty CN counts as none.
    let (pem, der) = raw_cert(&[(DnType::CommonName, "")], Some(attrs));
    let caller = Caller::from_certificate(H1, pem.as_bytes()).unwrap();
    assert_eq!(
        caller.user,
        format!("sha256:{}@{H1}", hex::encode(Sha256::digest(&der)))
    );
}

#[test]
fn the_admin_ou_does_not_override_an_hb_role_attribute() {
    // An org admin's certificate that also carries hb.role acts in that role,
    // not as admin: the attribute is the role, the OU only fills in when absent.
    let nurse = cert("Admin", "admin", Some(json!({"hb.role": "nurse"})));
    let caller = Caller::from_certificate(H1, nurse.as_bytes()).unwrap();
    assert_eq!(caller.role, Role::Nurse);
    // And an unusable role is refused even with the admin OU.
    let bad = cert("Admin", "admin", Some(json!({"hb.role": "root"})));
    let err = Caller::from_certificate(H1, bad.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("unknown role"), "{err}");
}

#[tokio::test]
async fn an_admin_ou_with_a_role_attribute_gets_that_roles_rights_only() {
    let world = World::new().await;
    // Hospital1's "admin" certificate with hb.role=nurse: no custodian rights.
    let nurse_admin = Actor::new(
        H1,
        "Admin",
        cert("Admin", "admin", Some(json!({"hb.role": "nurse"}))),
    );
    let me = world.net.evaluate(&nurse_admin, &["whoami"]).await.ok();
    assert_eq!(me["role"], "nurse");
    world
        .net
        .evaluate(&nurse_admin, &["list_open_break_glass"])
        .await
        .fails_with("role nurse may not");
}

// --- policy.rs ----------------------------------------------------------------

#[tokio::test]
async fn a_home_hospital_auditor_gets_no_key_material() {
    // The auditor rule comes before the home-hospital grant: an auditor of the
    // patient's own hospital is refused too.
    let world = World::new().await;
    let home_auditor = Actor::auditor(H1, "home.auditor");
    world.net.publish(&home_auditor).await;
    let answer = world.access(&home_auditor, "obs-1").await.ok();
    assert_eq!(answer["granted"], false);
    assert!(
        answer["reason"]
            .as_str()
            .unwrap()
            .contains("never key material"),
        "{answer}"
    );
    assert!(answer.get("recipient").is_none());
    assert!(answer.get("storage_pointer").is_none());
    // Metadata stays readable to the auditor.
    let meta = world
        .net
        .evaluate(&home_auditor, &["get_record", "obs-1"])
        .await
        .ok();
    assert_eq!(meta["record_id"], "obs-1");
}

// --- consent.rs -----------------------------------------------------------------

#[tokio::test]
async fn grantees_must_be_printable_and_bounded() {
    let world = World::new().await;
    let long = "H".repeat(257);
    let cases = [
        json!({"kind": "org", "mspid": "Hospital2MSP\u{7}"}),
        json!({"kind": "org", "mspid": "Hospital2MSP\n"}),
        json!({"kind": "org", "mspid": "Hôpital2MSP"}),
        json!({"kind": "org", "mspid": long}),
        json!({"kind": "org", "mspid": ""}),
        json!({"kind": "user", "user": "dr.grey@Hospital2MSP\u{0}"}),
        json!({"kind": "user", "user": format!("{}@Hospital2MSP", "d".repeat(250))}),
    ];
    for grantee in cases {
        world
            .net
            .submit(
                &world.patient1,
                &[
                    "grant_consent",
                    &grant_json(&world.p1, grantee.clone(), all()).to_string(),
                ],
            )
            .await
            .fails_with("must be 1 to 256 printable ASCII characters");
    }
    // The bound itself is accepted.
    let at_limit = "H".repeat(256);
    world
        .net
        .submit(
            &world.patient1,
            &[
                "grant_consent",
                &grant_json(&world.p1, json!({"kind": "org", "mspid": at_limit}), all())
                    .to_string(),
            ],
        )
        .await
        .ok();
}

#[tokio::test]
async fn expiry_must_be_whole_seconds_or_rfc3339() {
    let world = World::new().await;
    let grant = |expires: Value| {
        let mut g = grant_json(&world.p1, org(H2), all());
        g["expires_at"] = expires;
        g.to_string()
    };
    for (expires, error) in [
        (
            json!(T0 as f64 + 1000.5),
            "expires_at must be whole unix seconds",
        ),
        (
            json!(true),
            "expires_at must be RFC 3339 text or unix seconds",
        ),
        (
            json!(false),
            "expires_at must be RFC 3339 text or unix seconds",
        ),
        (
            json!([T0 + 1000]),
            "expires_at must be RFC 3339 text or unix seconds",
        ),
        (
            json!({"at": T0 + 1000}),
            "expires_at must be RFC 3339 text or unix seconds",
        ),
    ] {
        world
            .net
            .submit(&world.patient1, &["grant_consent", &grant(expires)])
            .await
            .fails_with(error);
    }
    // Whole seconds in the future are fine.
    world
        .net
        .submit(
            &world.patient1,
            &["grant_consent", &grant(json!(T0 + 100_000))],
        )
        .await
        .ok();
}

// --- custodian.rs -----------------------------------------------------------

/// Opens a break-glass for Hospital3's doctor on patient 1, served by a
/// delivery of both records to the doctor's key from before per-request key
/// release; returns its id.
async fn opened_with_legacy_delivery(world: &World) -> String {
    let id = world.open_break_glass().await;
    world.seed_legacy_delivery(&id, &["obs-1", "img-1"]);
    id
}

#[tokio::test]
async fn closing_withdraws_wraps_despite_consents_that_do_not_name_the_doctor_in_force() {
    // Consents that exist but do not keep the doctor's wrap: one to the
    // doctor's hospital (org-scoped: the doctor's personal wrap is not what
    // it needs), one to the doctor that has expired, one to the doctor that
    // was revoked. None keeps a wrap: everything delivered is withdrawn.
    let world = World::new().await;
    let net = &world.net;
    net.set_time(T0 + 100);
    let id = opened_with_legacy_delivery(&world).await;
    let er_key = fp_of(&world.h3_doctor);
    world
        .grant(&world.patient1, grant_json(&world.p1, org(H3), all()))
        .await;
    let mut expiring = grant_json(&world.p1, user(&world.h3_doctor), all());
    expiring["expires_at"] = json!(T0 + 200);
    world.grant(&world.patient1, expiring).await;
    let revoked = world
        .grant(
            &world.patient1,
            grant_json(&world.p1, user(&world.h3_doctor), all()),
        )
        .await;
    net.submit(&world.patient1, &["revoke_consent", &world.p1, &revoked])
        .await
        .ok();
    assert!(stored_wraps(net, "obs-1", 1).contains(&er_key));

    net.set_time(T0 + 100 + 3600 + 5);
    let closure = net
        .submit(&world.h1_admin, &["close_break_glass", &world.p1, &id])
        .await
        .ok();
    assert_eq!(closure["status"], "expired");
    assert_eq!(closure["kept"], json!([]), "{closure}");
    assert_eq!(
        closure["removed"],
        json!([{"record_id": "img-1", "version": 1}, {"record_id": "obs-1", "version": 1}])
    );
    for rid in ["obs-1", "img-1"] {
        assert!(!stored_wraps(net, rid, 1).contains(&er_key), "{rid}");
    }
}

// --- wraps.rs / record.rs limits ----------------------------------------------

fn fingerprints(n: usize) -> Vec<String> {
    (0..n).map(|i| hex64(&format!("key:{i}"))).collect()
}

#[tokio::test]
async fn a_put_carries_at_most_max_wraps_and_max_tokens() {
    let world = World::new().await;
    let net = &world.net;
    let limit =
        format!("at most {MAX_TOKENS} blind-index tokens and {MAX_WRAPS} wraps per version");

    let mut too_many_wraps = record_json("lim-1", &world.p1, 1, "Observation");
    too_many_wraps["wraps"] = json!(fingerprints(MAX_WRAPS + 1));
    net.put(&world.h1_doctor, &too_many_wraps)
        .await
        .fails_with(&limit);

    let mut too_many_tokens = record_json("lim-1", &world.p1, 1, "Observation");
    too_many_tokens["blind_index"] = json!((0..=MAX_TOKENS)
        .map(|i| hex64(&format!("token:{i}")))
        .collect::<Vec<_>>());
    net.put(&world.h1_doctor, &too_many_tokens)
        .await
        .fails_with(&limit);

    // Under the limit, a put still wraps only to the home hospital's and
    // the patient's keys.
    let mut third_parties = record_json("lim-1", &world.p1, 1, "Observation");
    third_parties["wraps"] = json!(fingerprints(MAX_WRAPS));
    net.put(&world.h1_doctor, &third_parties)
        .await
        .fails_with("wrapped at rest only to the published keys of the home hospital");

    // Duplicates count once, and exactly the token limit is accepted.
    let mut at_limit = record_json("lim-1", &world.p1, 1, "Observation");
    let allowed = at_rest(&world.p1);
    let wraps: Vec<&String> = allowed.iter().cycle().take(MAX_WRAPS + 1).collect();
    at_limit["wraps"] = json!(wraps);
    at_limit["blind_index"] = json!((0..MAX_TOKENS)
        .map(|i| hex64(&format!("token:{i}")))
        .collect::<Vec<_>>());
    net.put(&world.h1_doctor, &at_limit).await.ok();
    assert_eq!(stored_wraps(net, "lim-1", 1), allowed);
}

#[tokio::test]
async fn update_wraps_cannot_grow_a_version_past_max_wraps() {
    let world = World::new().await;
    let net = &world.net;
    // Only a version from before wraps at rest were limited can be full:
    // obs-1 v1 holds the hospital's and the patient's wraps plus grantees'.
    let mut full = at_rest(&world.p1);
    full.extend(fingerprints(MAX_WRAPS - 2));
    seed_wraps(net, "obs-1", 1, &full);
    // The patient rotates their key; re-wrapping to it would be one too many.
    let rotated = fresh_key();
    net.submit(&world.patient1, &["publish_key", &rotated.pem])
        .await
        .ok();
    let one_more = json!({"record_id": "obs-1", "version": 1, "add": [rotated.fingerprint]});
    net.submit(&world.h1_doctor, &["update_wraps", &one_more.to_string()])
        .await
        .fails_with(&format!("at most {MAX_WRAPS} wraps per version"));
    // Replacing one (add and remove in one change) stays within the limit.
    let swap = json!({
        "record_id": "obs-1", "version": 1,
        "add": [rotated.fingerprint], "remove": [patient_fp(&world.p1)],
    });
    let wraps = net
        .submit(&world.h1_doctor, &["update_wraps", &swap.to_string()])
        .await
        .ok();
    assert_eq!(wraps.as_array().unwrap().len(), MAX_WRAPS);
}

// --- breakglass.rs ----------------------------------------------------------

#[tokio::test]
async fn review_notes_with_control_characters_are_refused() {
    let world = World::new().await;
    let net = &world.net;
    let id = world.open_break_glass().await;
    let refused =
        "a break-glass review note is at most 500 bytes of text without control characters";
    for note in [
        "justified\u{7}",
        "line one\nline two",
        "tab\there",
        "esc \u{1b}[31m red",
        &"n".repeat(501),
    ] {
        net.submit(
            &world.auditor,
            &["review_break_glass", &world.p1, &id, note],
        )
        .await
        .fails_with(refused);
    }
    // Nothing was recorded: a clean note still reviews it.
    net.submit(
        &world.auditor,
        &["review_break_glass", &world.p1, &id, "justified"],
    )
    .await
    .ok();
}

#[tokio::test]
async fn repeated_openings_by_one_doctor_are_separate_events() {
    let world = World::new().await;
    let net = &world.net;
    let (doctor, p1) = (&world.h3_doctor, world.p1.as_str());
    let open = |reason: &'static str| async move {
        let answer = net.submit(doctor, &["break_glass", p1, reason]).await.ok();
        answer["break_glass_id"].as_str().unwrap().to_owned()
    };
    let first = open("UNCONSCIOUS: unresponsive in the ER").await;
    let second = open("UNCONSCIOUS: still unresponsive after an hour").await;
    assert_ne!(first, second);
    // Both are on the custodian's open list, each to be served and closed.
    let page = net
        .evaluate(&world.h1_admin, &["list_open_break_glass"])
        .await
        .ok();
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["event"]["break_glass_id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&first.as_str()) && ids.contains(&second.as_str()),
        "{page}"
    );
    // Reviewing one leaves the doctor in through the other.
    net.submit(
        &world.auditor,
        &["review_break_glass", &world.p1, &first, "ok"],
    )
    .await
    .ok();
    let through = world.access(&world.h3_doctor, "obs-1").await.ok();
    assert_eq!(through["granted"], true, "{through}");
    // Once both are reviewed, the refusal names the latest opening as closed.
    net.submit(
        &world.auditor,
        &["review_break_glass", &world.p1, &second, "ok"],
    )
    .await
    .ok();
    let refused = world.access(&world.h3_doctor, "obs-1").await.ok();
    assert_eq!(refused["granted"], false);
    let reason = refused["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("break-glass {second} was reviewed and is closed")),
        "{reason}"
    );
}
