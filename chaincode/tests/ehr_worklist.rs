//! The reviewers' work list: break-glass events not yet reviewed, kept in an
//! index by home hospital that `break_glass` adds to and
//! `review_break_glass` removes from; listed for auditors (one hospital or
//! all) and the home hospital's administrators, never with the events the
//! caller's own hospital opened (it may not review them).

mod ehr_support;

use ehr_support::*;
use serde_json::Value;

/// Opens a break-glass (reason `UNCONSCIOUS: {text}...`) and returns its id.
async fn open(world: &World, by: &Actor, pid: &str, text: &str) -> String {
    let reason = format!("UNCONSCIOUS: {text}, no response to voice");
    let opened = world
        .net
        .submit(by, &["break_glass", pid, &reason])
        .await
        .ok();
    assert_eq!(opened["granted"], true);
    opened["break_glass_id"].as_str().unwrap().to_owned()
}

async fn unreviewed(world: &World, by: &Actor, args: &[&str]) -> Vec<Value> {
    let mut call = vec!["list_unreviewed_break_glass"];
    call.extend_from_slice(args);
    let page = world.net.evaluate(by, &call).await.ok();
    assert_eq!(page["bookmark"], "");
    page["items"].as_array().unwrap().clone()
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["event"]["break_glass_id"].as_str().unwrap().to_owned())
        .collect()
}

fn index_keys(net: &Net) -> Vec<String> {
    net.ledger
        .keys()
        .into_iter()
        .filter(|k| k.starts_with("\u{0}breakglass~unreviewed\u{0}"))
        .collect()
}

/// Patient 3, registered at Hospital2.
async fn h2_patient(world: &World) -> String {
    let p3 = pid(3);
    world.net.register(&world.h2_doctor, &p3).await;
    p3
}

#[tokio::test]
async fn auditors_see_every_hospital_and_admins_their_own() {
    let world = World::new().await;
    let p3 = h2_patient(&world).await;
    let a = open(&world, &world.h3_doctor, &world.p1, "first").await;
    let b = open(&world, &world.h1_doctor, &p3, "second").await;
    let c = open(&world, &world.h2_doctor, &world.p1, "third").await;

    // Sorted by home hospital, then opening time. The auditor (of
    // Hospital2) does not see `c`: Hospital2's doctor opened it, and an
    // opener's hospital never reviews its own break-glass.
    let all = unreviewed(&world, &world.auditor, &[]).await;
    assert_eq!(ids(&all), [a.as_str(), b.as_str()]);
    assert_eq!(all[0]["home_msp"], H1);
    assert_eq!(all[0]["status"], "active");
    assert_eq!(
        all[0]["event"]["reason"],
        "UNCONSCIOUS: first, no response to voice"
    );
    assert_eq!(all[1]["home_msp"], H2);
    assert_eq!(
        ids(&unreviewed(&world, &world.auditor, &[""]).await).len(),
        2
    );
    assert_eq!(
        ids(&unreviewed(&world, &world.auditor, &[H1]).await),
        [a.as_str()]
    );
    assert_eq!(
        ids(&unreviewed(&world, &world.auditor, &[H2]).await),
        [b.as_str()]
    );
    assert!(unreviewed(&world, &world.auditor, &[H3]).await.is_empty());

    assert_eq!(ids(&unreviewed(&world, &world.h1_admin, &[]).await), [a, c]);
    assert_eq!(ids(&unreviewed(&world, &world.h2_admin, &[H2]).await), [b]);
    world
        .net
        .evaluate(&world.h1_admin, &["list_unreviewed_break_glass", H2])
        .await
        .fails_with(
            "permission denied: administrators of Hospital1MSP list only their own hospital's \
             unreviewed break-glass events, not those of Hospital2MSP",
        );
    for outsider in [&world.h1_doctor, &world.h1_nurse, &world.patient1] {
        world
            .net
            .evaluate(outsider, &["list_unreviewed_break_glass"])
            .await
            .fails_with("may not list unreviewed break-glass events (allowed: auditor, admin)");
    }
}

#[tokio::test]
async fn a_review_takes_the_event_off_the_list_and_closing_does_not() {
    let world = World::new().await;
    let net = &world.net;
    net.set_time(T0 + 1000);
    let reviewed = open(&world, &world.h3_doctor, &world.p1, "one").await;
    let closed = open(&world, &world.h2_doctor, &world.p1, "two").await;
    assert_eq!(index_keys(net).len(), 2);

    net.submit(
        &world.auditor,
        &["review_break_glass", &world.p1, &reviewed, "justified"],
    )
    .await
    .ok();
    assert_eq!(
        ids(&unreviewed(&world, &world.h1_admin, &[]).await),
        [closed.as_str()]
    );
    // Hospital2's doctor opened it: Hospital2's auditor does not list it.
    assert!(unreviewed(&world, &world.auditor, &[]).await.is_empty());
    assert_eq!(index_keys(net).len(), 1, "the review deleted its index key");

    // After the hour the custodian closes the other one without a review:
    // it stays on the reviewers' list, now expired.
    net.set_time(T0 + 1000 + 3600 + 10);
    net.submit(&world.h1_admin, &["close_break_glass", &world.p1, &closed])
        .await
        .ok();
    let left = unreviewed(&world, &world.h1_admin, &[]).await;
    assert_eq!(ids(&left), [closed.as_str()]);
    assert_eq!(left[0]["status"], "expired");

    net.submit(
        &world.h1_admin,
        &["review_break_glass", &world.p1, &closed, "late review"],
    )
    .await
    .ok();
    assert!(unreviewed(&world, &world.h1_admin, &[]).await.is_empty());
    assert!(index_keys(net).is_empty());
}

#[tokio::test]
async fn refused_attempts_are_not_on_the_list() {
    let world = World::new().await;
    let refused = world
        .net
        .submit(&world.h3_nurse, &["break_glass", &world.p1, "collapse"])
        .await
        .ok();
    assert_eq!(refused["granted"], false);
    assert!(unreviewed(&world, &world.auditor, &[]).await.is_empty());
    assert!(index_keys(&world.net).is_empty());
}

#[tokio::test]
async fn the_list_is_paged_and_its_index_needs_no_scan() {
    let world = World::new().await;
    // One doctor opens five: above the default limit of three a day.
    world
        .net
        .submit(&world.h1_admin, &["set_break_glass_limit", "5"])
        .await
        .ok();
    let mut opened = Vec::new();
    for n in 0..5 {
        opened.push(open(&world, &world.h3_doctor, &world.p1, &format!("case {n}")).await);
    }
    let mut seen = Vec::new();
    let mut bookmark = String::new();
    loop {
        let page = world
            .net
            .evaluate(
                &world.auditor,
                &["list_unreviewed_break_glass", "", "2", &bookmark],
            )
            .await
            .ok();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(ids(items));
        bookmark = page["bookmark"].as_str().unwrap().to_owned();
        if bookmark.is_empty() {
            break;
        }
    }
    assert_eq!(seen, opened, "oldest first, each once");
    // Each key names the home hospital and the opening time.
    for key in index_keys(&world.net) {
        let parts: Vec<&str> = key.split('\u{0}').collect();
        assert_eq!(parts[1], "breakglass~unreviewed");
        assert_eq!(parts[2], H1);
        assert_eq!(parts[3].len(), 20);
        assert_eq!(parts[4], world.p1);
    }
    world
        .net
        .evaluate(&world.auditor, &["list_unreviewed_break_glass", "", "0"])
        .await
        .fails_with("page size must be 1 to 500");
    world
        .net
        .evaluate(
            &world.auditor,
            &["list_unreviewed_break_glass", "", "1", "", "x"],
        )
        .await
        .fails_with("list_unreviewed_break_glass expects 0 to 3 arguments, got 4");
}
