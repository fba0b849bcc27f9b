//! The time bound: every function that writes or decides on time refuses a
//! transaction whose timestamp is more than 300 s from the endorsing peer's
//! clock; the time-free reads do not look at it. The peer clock is the test
//! clock plus a chosen skew, so nothing here depends on the wall clock.

mod ehr_support;

use ehr_support::*;
use healthblock_chaincode::ehr::TIME_FREE_FUNCTIONS;
use serde_json::json;

/// Every function of the dispatch that is bounded (all but the time-free
/// reads), with arguments that would otherwise be valid or fail later.
fn bounded_calls(world: &World) -> Vec<Vec<String>> {
    let p1 = world.p1.clone();
    let grant = grant_json(&world.p1, org(H2), all()).to_string();
    let record = record_json("obs-9", &world.p1, 1, "Observation").to_string();
    let wraps = json!({"record_id": "obs-1", "version": 1, "add": [hex64("k")]}).to_string();
    let calls: Vec<Vec<&str>> = vec![
        vec!["register_patient", &p1],
        vec!["put_record", &record],
        vec!["update_wraps", &wraps],
        vec!["get_record", "obs-1"],
        vec!["list_records_by_patient", &p1],
        vec!["list_records_by_token", &p1],
        vec!["record_history", "obs-1"],
        vec!["verify_record", "obs-1", "1"],
        vec!["grant_consent", &grant],
        vec!["revoke_consent", &p1, "c"],
        vec!["list_consents", &p1],
        vec!["request_access", "obs-1", "", &p1],
        vec![
            "break_glass",
            &p1,
            "UNCONSCIOUS: emergency, no response to voice",
        ],
        vec!["review_break_glass", &p1, "x", "note"],
        vec!["set_break_glass_limit", "5"],
        vec!["list_open_break_glass"],
        vec!["list_unreviewed_break_glass"],
        vec!["close_break_glass", &p1, "x"],
    ];
    calls
        .into_iter()
        .map(|c| c.into_iter().map(str::to_owned).collect())
        .collect()
}

/// A caller the function accepts (so only the clock can refuse it).
fn caller_for<'a>(world: &'a World, function: &str) -> &'a Actor {
    match function {
        "review_break_glass" | "list_unreviewed_break_glass" => &world.auditor,
        "grant_consent"
        | "revoke_consent"
        | "close_break_glass"
        | "set_break_glass_limit"
        | "list_open_break_glass" => &world.h1_admin,
        "break_glass" => &world.h3_doctor,
        _ => &world.h1_doctor,
    }
}

#[tokio::test]
async fn every_bounded_function_refuses_a_skewed_timestamp() {
    let world = World::new().await;
    let net = &world.net;
    let keys_before = net.ledger.keys();
    for skew in [301, -301, 86_400 * 365] {
        net.set_peer_skew(skew);
        for call in bounded_calls(&world) {
            let args: Vec<&str> = call.iter().map(String::as_str).collect();
            let by = caller_for(&world, args[0]);
            let outcome = net.submit(by, &args).await;
            assert_eq!(outcome.status, 500, "{} with skew {skew}", args[0]);
            assert!(
                outcome.message.contains(" s away from the peer's clock")
                    && outcome
                        .message
                        .contains(&format!("is {} s away", skew.unsigned_abs()))
                    && outcome.message.contains("the bound is 300 s"),
                "{} with skew {skew}: {}",
                args[0],
                outcome.message
            );
        }
    }
    assert_eq!(
        net.ledger.keys(),
        keys_before,
        "a refused timestamp writes nothing"
    );
}

#[tokio::test]
async fn the_message_says_which_way_the_client_clock_is_off() {
    let world = World::new().await;
    world.net.set_time(T0 + 1000);
    world.net.set_peer_skew(-400);
    world
        .net
        .submit(
            &world.h3_doctor,
            &[
                "break_glass",
                &world.p1,
                "UNCONSCIOUS: future, no response to voice",
            ],
        )
        .await
        .fails_with(
            "invalid argument: transaction timestamp 2023-11-14T22:30:00Z is 400 s away from \
             the peer's clock (ahead of 2023-11-14T22:23:20Z); the bound is 300 s",
        );
    world.net.set_peer_skew(400);
    world
        .net
        .submit(
            &world.h3_doctor,
            &[
                "break_glass",
                &world.p1,
                "UNCONSCIOUS: past, no response to voice",
            ],
        )
        .await
        .fails_with("is 400 s away from the peer's clock (behind ");
}

#[tokio::test]
async fn the_bound_itself_is_accepted() {
    let world = World::new().await;
    for skew in [300, -300] {
        world.net.set_peer_skew(skew);
        let opened = world
            .net
            .submit(
                &world.h3_doctor,
                &[
                    "break_glass",
                    &world.p1,
                    "UNCONSCIOUS: at the bound, no response to voice",
                ],
            )
            .await
            .ok();
        assert_eq!(opened["granted"], true, "skew {skew}");
        let access = world.access(&world.h3_doctor, "img-1").await.ok();
        assert_eq!(access["granted"], true, "skew {skew}");
    }
}

#[tokio::test]
async fn a_future_dated_break_glass_cannot_be_opened() {
    let world = World::new().await;
    // A client dates its proposal a day ahead, hoping to keep access from
    // now until then plus an hour.
    world.net.set_time(T0 + 86_400);
    world.net.set_peer_skew(-86_400);
    world
        .net
        .submit(
            &world.h3_doctor,
            &[
                "break_glass",
                &world.p1,
                "UNCONSCIOUS: later, no response to voice",
            ],
        )
        .await
        .fails_with("is 86400 s away from the peer's clock");
    // Nor can a backdated request fall inside an old window.
    world.net.set_peer_skew(0);
    world.net.set_time(T0 + 100_000);
    world
        .net
        .submit(
            &world.h3_doctor,
            &[
                "break_glass",
                &world.p1,
                "UNCONSCIOUS: now, no response to voice",
            ],
        )
        .await
        .ok();
    world.net.set_time(T0 + 100_000 + 4000);
    world.net.set_peer_skew(-3700);
    world
        .access(&world.h3_doctor, "img-1")
        .await
        .fails_with("is 3700 s away from the peer's clock (ahead of ");
    world.net.set_peer_skew(0);
    let expired = world.access(&world.h3_doctor, "img-1").await.ok();
    assert_eq!(expired["granted"], false);
}

#[tokio::test]
async fn time_free_reads_do_not_look_at_the_clock() {
    let world = World::new().await;
    let pem = rcgen::KeyPair::generate().unwrap().public_key_pem();
    world
        .net
        .submit(&world.h1_doctor, &["publish_key", &pem])
        .await
        .ok();
    world.net.set_peer_skew(-10_000_000);
    let calls: Vec<Vec<&str>> = vec![
        vec!["whoami"],
        vec!["get_key", "dr.house@Hospital1MSP"],
        vec!["get_patient", &world.p1],
        vec!["list_break_glass", &world.p1],
        vec!["get_break_glass_limit"],
        vec!["audit_by_patient", &world.p1],
        vec!["audit_by_record", "obs-1"],
    ];
    assert_eq!(calls.len(), TIME_FREE_FUNCTIONS.len());
    for call in calls {
        assert!(TIME_FREE_FUNCTIONS.contains(&call[0]), "{}", call[0]);
        world.net.evaluate(&world.auditor, &call).await.ok();
    }
}

/// The production contract bounds by the system clock: a transaction
/// stamped now (the in-memory stub's default) passes, one stamped at the
/// fixtures' 2023 time does not.
#[tokio::test]
async fn the_default_contract_uses_the_system_clock() {
    use fabric_shim::Chaincode;
    use healthblock_chaincode::ehr::EhrContract;
    let world = World::new().await;
    let cc = EhrContract::default();
    let doctor = &world.h3_doctor;
    let mut now_stub = world
        .net
        .ledger
        .stub(["list_open_break_glass"])
        .with_creator(&world.h1_admin.mspid, &world.h1_admin.pem);
    let response = cc.invoke(&mut now_stub).await;
    assert_eq!(response.status, 200, "{}", response.message);
    let mut old_stub = world
        .net
        .ledger
        .stub([
            "break_glass",
            &world.p1,
            "UNCONSCIOUS: old, no response to voice",
        ])
        .with_creator(&doctor.mspid, &doctor.pem)
        .with_timestamp(prost_types::Timestamp {
            seconds: T0,
            nanos: 0,
        });
    let response = cc.invoke(&mut old_stub).await;
    assert_eq!(response.status, 500);
    assert!(
        response
            .message
            .starts_with("invalid argument: transaction timestamp 2023-11-14T22:13:20Z is "),
        "{}",
        response.message
    );
}
