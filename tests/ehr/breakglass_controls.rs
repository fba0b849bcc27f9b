//! Break-glass controls on the real network: a reason is a code of the
//! closed set plus at least 20 characters of text (a short text or an
//! unknown code is a committed, audited refusal, through the SDK and the
//! CLI); a doctor opens at most N (the ledger's limit, 3 by default) in any
//! 24 hours; nobody of the opener's hospital reviews the opening, another
//! hospital's auditor or the home hospital's administrator does; and keys
//! only while a break-glass is in force, by audited key release: the
//! doctor reads through the home hospital's key custodian (a committed
//! `request_access`, then a wrap sealed to the doctor's published key),
//! with no wrap for the doctor ever stored beside the blob; the custodian
//! releases once per decision (a replay is refused), only to the decision's
//! creator, and nothing for the denial that follows the last review.
//!
//! The trial has its own doctor and auditor (enrolled here, each with a
//! published key) and its own patient at Hospital2, so its openings
//! neither count against the other trials' doctors nor meet Hospital1's
//! custodian.

use crate::fixtures::{
    custodian_release, error_text, expect_refusal, observation, record_id, wraps_at,
};
use crate::users::User;
use crate::{trial, Ctx, TestFn};
use anyhow::{anyhow, ensure, Context, Result};
use healthblock_sdk::types::breakglass::{reason_rule, ReasonError};
use healthblock_sdk::types::code::ErrorCode;
use healthblock_sdk::types::model::{PatientId, RecordId, ResourceType, Role};
use healthblock_sdk::types::results::BreakGlassStatus;
use healthblock_sdk::{NewVersion, Plaintext, Sink};
use serde_json::Value;

pub(crate) fn trials() -> Vec<(&'static str, TestFn)> {
    vec![trial(
        "breakglass_controls::coded_reason_rate_limit_independent_review_and_keys_released_only_while_in_force",
        controls,
    )]
}

/// The trial's emergency doctor, at Hospital3.
const DOCTOR: User = User {
    name: "bgdoctor3",
    org: "Hospital3",
    mspid: "Hospital3MSP",
    role: "doctor",
};
/// An auditor of the doctor's own hospital.
const H3_AUDITOR: User = User {
    name: "bgauditor3",
    org: "Hospital3",
    mspid: "Hospital3MSP",
    role: "auditor",
};
/// Hospital2's administrator: the patient's home custodian and privacy officer.
const H2_ADMIN: User = User {
    name: "Admin",
    org: "Hospital2",
    mspid: "Hospital2MSP",
    role: "admin",
};

fn enroll(ctx: &Ctx, user: &User) -> Result<()> {
    crate::users::register_and_enroll(&ctx.net, user, None)
}

/// Opens (or tries to) through the SDK as the trial's doctor.
async fn attempt(ctx: &Ctx, pid: &PatientId, reason: &str) -> Result<Value> {
    let answer = ctx.sdk(&DOCTOR).await?.break_glass(pid, reason).await?;
    Ok(serde_json::to_value(answer.value)?)
}

/// A refused attempt with exactly `reason`, and its one audit entry
/// (denied, flagged) in the patient's trail.
async fn expect_refused(ctx: &Ctx, pid: &PatientId, answer: &Value, reason: &str) -> Result<()> {
    ensure!(
        answer["granted"] == false
            && answer["reason"] == reason
            && answer["flagged_for_review"] == true
            && answer.get("break_glass_id").is_none(),
        "break_glass must be refused with {reason:?}: {answer}"
    );
    ctx.net.settle().await?;
    let trail = ctx
        .sdk(&ctx.users.auditor)
        .await?
        .audit_by_patient(pid)
        .await?;
    let trail = serde_json::to_value(trail)?;
    let entries: Vec<&Value> = trail
        .as_array()
        .context("trail")?
        .iter()
        .filter(|e| e["tx_id"] == answer["tx_id"])
        .collect();
    ensure!(
        entries.len() == 1
            && entries[0]["action"] == "break_glass"
            && entries[0]["granted"] == false
            && entries[0]["break_glass"] == true
            && entries[0]["reason"] == reason,
        "audit entries of the refused attempt: {entries:?}"
    );
    Ok(())
}

async fn controls(ctx: Ctx) -> Result<()> {
    enroll(&ctx, &DOCTOR)?;
    enroll(&ctx, &H3_AUDITOR)?;
    // A patient of Hospital2 with one record, written by its doctor.
    let pid = PatientId::parse(&crate::users::pseudonym("break-glass controls patient"))?;
    let doctor2 = ctx.sdk(&ctx.users.doctor2).await?;
    doctor2.register_patient(&pid).await?;
    let rid = record_id("bgcontrols");
    let stored = doctor2
        .put_record(NewVersion {
            patient: pid.clone(),
            resource_type: ResourceType::parse("Observation")?,
            record_id: Some(RecordId::parse(&rid)?),
            plaintext: Plaintext::Bytes(observation(&rid)),
        })
        .await?;
    let hash = stored.record.value.meta.ciphertext_sha256.to_string();
    let doctor_key = ctx
        .sdk(&DOCTOR)
        .await?
        .my_public_key()?
        .fingerprint()
        .to_hex();
    // At rest, the version is wrapped for Hospital2 (and the patient, who
    // published no key here) only; so it stays.
    let at_rest = wraps_at(&ctx, &hash)?;
    ensure!(
        !at_rest.is_empty() && !at_rest.contains(&doctor_key),
        "wraps at rest of a new version: {at_rest:?}"
    );

    // 1. Coded reasons: a short text and an unknown code are refused and audited.
    let short = attempt(&ctx, &pid, "UNCONSCIOUS: collapsed").await?;
    let why = format!("{}; {}", ReasonError::TooShort(9), reason_rule());
    expect_refused(&ctx, &pid, &short, &why).await?;
    let unknown = attempt(
        &ctx,
        &pid,
        "CURIOSITY: I want to see how this patient is doing",
    )
    .await?;
    expect_refused(&ctx, &pid, &unknown, &ReasonError::UnknownCode.explained()).await?;
    // The CLI takes the code and the text apart and shows the rule on a refusal.
    let who = format!("{}@{}", DOCTOR.name, DOCTOR.org);
    let out = ctx.net.cli(&[
        "breakglass",
        "--as",
        &who,
        "--patient",
        pid.as_str(),
        "--code",
        "OTHER",
        "--reason",
        "too short",
    ])?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        !out.status.success()
            && stderr.contains("break-glass refused: the text of a break-glass reason has 9")
            && stderr
                .contains("UNCONSCIOUS, LIFE_THREATENING, URGENT_TREATMENT, INCAPACITATED, OTHER")
            && stderr.contains("at least 20 characters"),
        "the CLI's refusal must explain the rule: {stderr}"
    );

    // 2. The rate limit: N openings (the first through the CLI), then a refusal.
    let limit = ctx.sdk(&DOCTOR).await?.break_glass_limit().await?;
    let n = limit.per_doctor as usize;
    ensure!(n >= 2, "the trial needs a limit of at least 2: {limit:?}");
    let first = ctx.net.cli_ok(&[
        "breakglass",
        "--as",
        &who,
        "--patient",
        pid.as_str(),
        "--code",
        "life_threatening",
        "--reason",
        "anaphylaxis in the ER, airway closing",
    ])?;
    let mut opened = vec![first.trim().to_owned()];
    for i in 1..n {
        let answer = attempt(
            &ctx,
            &pid,
            &format!("UNCONSCIOUS: unresponsive on arrival, case {i}"),
        )
        .await?;
        ensure!(answer["granted"] == true, "opening {i}: {answer}");
        opened.push(
            answer["break_glass_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    let listed = ctx
        .sdk(&ctx.users.auditor)
        .await?
        .list_break_glass(&pid)
        .await?;
    ensure!(
        listed.iter().any(|e| e.break_glass_id == opened[0]
            && e.reason == "LIFE_THREATENING: anaphylaxis in the ER, airway closing"),
        "the CLI's opening is stored as `CODE: text`: {listed:?}"
    );
    let over = attempt(&ctx, &pid, "UNCONSCIOUS: unresponsive again, one too many").await?;
    let reason = over["reason"].as_str().unwrap_or_default().to_owned();
    ensure!(
        reason.starts_with(&format!(
            "break-glass limit reached: {} opened {n} break-glass event(s) in the last 24 hours; \
             at most {n} per doctor in any 24 hours",
            DOCTOR.principal()
        )),
        "the opening past the limit: {over}"
    );
    expect_refused(&ctx, &pid, &over, &reason).await?;

    // The reviewers' work list of the patient's home hospital holds every
    // opening, in force.
    let custodian = ctx.sdk(&H2_ADMIN).await?;
    let on_list = |ids: Vec<healthblock_sdk::types::results::UnreviewedBreakGlass>| {
        ids.into_iter()
            .filter(|i| opened.contains(&i.event.break_glass_id))
            .map(|i| (i.event.break_glass_id, i.home_msp, i.status))
            .collect::<Vec<_>>()
    };
    let listed = on_list(
        custodian
            .unreviewed_break_glass(Some("Hospital2MSP"))
            .await?,
    );
    ensure!(
        listed.len() == n
            && listed
                .iter()
                .all(|(_, home, status)| home == "Hospital2MSP"
                    && *status == BreakGlassStatus::Active),
        "Hospital2's work list must hold the {n} openings in force: {listed:?}"
    );

    // 3. The review: not by the opener's hospital; another hospital's auditor may.
    let review = |user: User, id: String| {
        let ctx = ctx.clone();
        let pid = pid.clone();
        async move {
            ctx.sdk(&user)
                .await?
                .review_break_glass(&pid, &id, "justified: anaphylaxis, no other source")
                .await
                .map_err(anyhow::Error::from)
        }
    };
    let refused = review(H3_AUDITOR, opened[0].clone()).await;
    let err = match refused {
        Ok(r) => {
            return Err(anyhow!(
                "an auditor of the opener's hospital reviewed: {:?}",
                r.value
            ))
        }
        Err(e) => format!("{e:#}"),
    };
    ensure!(
        ErrorCode::find(&err) == Some(ErrorCode::PermissionDenied)
            && err.contains(&format!(
                "break-glass {} was opened by a doctor of Hospital3MSP, so nobody of \
                 Hospital3MSP may review it; it is reviewed by an administrator (privacy \
                 officer) of the home hospital (Hospital2MSP) or an auditor of another hospital",
                opened[0]
            )),
        "the opener's hospital's auditor must be refused: {err}"
    );
    let done = review(ctx.users.auditor, opened[0].clone()).await?;
    ensure!(
        done.value.reviewed_by.mspid == "Hospital2MSP",
        "review by Hospital2's auditor: {:?}",
        done.value
    );
    let listed = on_list(
        custodian
            .unreviewed_break_glass(Some("Hospital2MSP"))
            .await?,
    );
    ensure!(
        listed.len() == n - 1 && listed.iter().all(|(id, _, _)| *id != opened[0]),
        "the reviewed opening must leave the work list, the others stay: {listed:?}"
    );

    // 4. Keys only while in force, by audited key release. The other
    // openings are still in force: the doctor reads through Hospital2's
    // custodian (no delivery step), and no wrap for the doctor is stored.
    // Every endorser must have committed the review first, or their
    // decisions differ (a loaded machine lets a peer lag a block).
    ctx.net.settle().await?;
    let doctor = ctx.sdk(&DOCTOR).await?;
    let mut plain = Vec::new();
    let read = doctor
        .read_record(&RecordId::parse(&rid)?, None, Sink::Writer(&mut plain))
        .await
        .map_err(|e| anyhow!("the break-glass doctor's read: {}", error_text(e)))?;
    let access = &read.access.value;
    let grant = access
        .grant
        .as_ref()
        .context("a granted read has a grant")?;
    ensure!(
        access.granted
            && grant.break_glass
            && grant.home_msp == "Hospital2MSP"
            && grant.recipient.to_string() == doctor_key,
        "the doctor's read is a break-glass grant for the doctor's own key: {access:?}"
    );
    ensure!(
        plain == observation(&rid) && read.bytes == plain.len() as u64,
        "the doctor decrypted something else than the record ({} bytes)",
        read.bytes
    );
    ensure!(
        wraps_at(&ctx, &hash)? == at_rest,
        "the wraps beside the blob changed with the doctor's read: {:?} (before {at_rest:?})",
        wraps_at(&ctx, &hash)?
    );
    let mut audited = vec![(access.tx_id.clone(), true)];
    // A replay of the redeemed decision releases nothing.
    let replay = custodian_release(&ctx, &as_arg(&DOCTOR), &access.tx_id, "Hospital2")?;
    expect_refusal(
        replay,
        &format!("decision {} was redeemed before", access.tx_id),
        "the replay of a redeemed break-glass decision",
    )?;
    // A fresh decision is released only to its creator: not to another
    // user of the doctor's hospital, then to the doctor (through the CLI).
    let fresh = doctor.request_access(&RecordId::parse(&rid)?, None).await?;
    ensure!(
        fresh.value.granted && fresh.value.grant.as_ref().is_some_and(|g| g.break_glass),
        "the doctor's second request: {:?}",
        fresh.value
    );
    let tx = fresh.value.tx_id.clone();
    audited.push((tx.clone(), true));
    ctx.net.settle().await?;
    let foreign = custodian_release(&ctx, &as_arg(&H3_AUDITOR), &tx, "Hospital2")?;
    expect_refusal(
        foreign,
        &format!("transaction {tx} was created by another identity than the caller's"),
        "another identity asking for the doctor's decision",
    )?;
    let released =
        custodian_release(&ctx, &as_arg(&DOCTOR), &tx, "Hospital2")?.map_err(|e| anyhow!(e))?;
    ensure!(
        released["tx_id"] == tx.as_str()
            && released["record_id"] == rid.as_str()
            && released["version"] == 1
            && released["recipient"] == doctor_key.as_str()
            && released["wrap"].as_str().is_some_and(|w| !w.is_empty()),
        "the doctor's release: {released}"
    );

    // Every opening reviewed (the home hospital's privacy officer reviews
    // one): the next request is denied, and the custodian releases nothing
    // for the denial.
    let done = review(H2_ADMIN, opened[1].clone()).await?;
    ensure!(
        done.value.reviewed_by.mspid == "Hospital2MSP"
            && done.value.reviewed_by.role == Role::Admin,
        "review by the home hospital's administrator: {:?}",
        done.value
    );
    for id in &opened[2..] {
        review(ctx.users.auditor, id.clone()).await?;
    }
    let listed = on_list(
        custodian
            .unreviewed_break_glass(Some("Hospital2MSP"))
            .await?,
    );
    ensure!(
        listed.is_empty(),
        "reviewed openings on the work list: {listed:?}"
    );
    let denied = doctor
        .request_access(&RecordId::parse(&rid)?, None)
        .await?
        .value;
    ensure!(
        !denied.granted
            && denied.grant.is_none()
            && denied.reason.contains("was reviewed and is closed"),
        "access after every review: {denied:?}"
    );
    audited.push((denied.tx_id.clone(), false));
    ctx.net.settle().await?;
    let nothing = custodian_release(&ctx, &as_arg(&DOCTOR), &denied.tx_id, "Hospital2")?;
    expect_refusal(
        nothing,
        &format!("transaction {} denied access", denied.tx_id),
        "a denied request",
    )?;
    ensure!(
        wraps_at(&ctx, &hash)? == at_rest && !at_rest.contains(&doctor_key),
        "a wrap for the doctor reached the store"
    );

    // One audit entry per request of the doctor, with its outcome.
    let trail = serde_json::to_value(
        ctx.sdk(&ctx.users.auditor)
            .await?
            .audit_by_patient(&pid)
            .await?,
    )?;
    let trail = trail.as_array().context("trail")?;
    for (tx, granted) in &audited {
        let entries: Vec<&Value> = trail.iter().filter(|e| e["tx_id"] == tx.as_str()).collect();
        ensure!(
            entries.len() == 1
                && entries[0]["action"] == "access"
                && entries[0]["granted"] == *granted,
            "audit entries of request {tx}: {entries:?}"
        );
    }
    Ok(())
}

/// `--as` of a suite user.
fn as_arg(user: &User) -> String {
    format!("{}@{}", user.name, user.org)
}
