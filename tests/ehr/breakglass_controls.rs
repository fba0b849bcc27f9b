//! Break-glass controls on the real network: a reason is a code of the
//! closed set plus at least 20 characters of text (a short text or an
//! unknown code is a committed, audited refusal, through the SDK and the
//! CLI); a doctor opens at most N (the ledger's limit, 3 by default) in any
//! 24 hours; nobody of the opener's hospital reviews the opening, another
//! hospital's auditor or the home hospital's administrator does; and the
//! home hospital's custodian cannot deliver keys for an opening reviewed
//! since it listed it (no delivery recorded, no wrap stored).
//!
//! The trial has its own doctor and auditor (enrolled here) and its own
//! patient at Hospital2, so its openings neither count against the other
//! trials' doctors nor meet Hospital1's custodian passes.

use crate::fixtures::{error_text, observation, record_id};
use crate::users::User;
use crate::{trial, Ctx, TestFn};
use anyhow::{anyhow, ensure, Context, Result};
use healthblock_sdk::types::breakglass::{reason_rule, ReasonError};
use healthblock_sdk::types::code::ErrorCode;
use healthblock_sdk::types::model::{PatientId, RecordId, ResourceType, Role};
use healthblock_sdk::types::results::BreakGlassStatus;
use healthblock_sdk::{CustodianAction, NewVersion, Plaintext};
use serde_json::Value;

pub(crate) fn trials() -> Vec<(&'static str, TestFn)> {
    vec![trial(
        "breakglass_controls::coded_reason_rate_limit_independent_review_and_active_only_keys",
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

/// Names of the wraps beside a blob in the network's object store.
fn wraps_beside(ctx: &Ctx, hash: &str) -> Result<Vec<String>> {
    let dir = ctx
        .net
        .home()
        .join("store/blobs")
        .join(format!("{hash}.wraps"));
    Ok(std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect())
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

    // The custodian lists the openings while they are all active.
    let custodian = ctx.sdk(&H2_ADMIN).await?;
    let listing = custodian.open_break_glass().await?;
    let stale = listing
        .iter()
        .find(|i| i.event.break_glass_id == opened[0])
        .cloned()
        .with_context(|| format!("{} is not on Hospital2's open list", opened[0]))?;
    ensure!(stale.status == BreakGlassStatus::Active, "{stale:?}");

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

    // 4. Keys only while active: a delivery from the listing made before the
    // review is refused, and no wrap for the doctor reaches the store.
    let late = custodian.deliver_break_glass_keys(&stale).await;
    let err = match late {
        Ok(action) => {
            return Err(anyhow!(
                "keys delivered for a reviewed break-glass: {action:?}"
            ))
        }
        Err(e) => error_text(e),
    };
    ensure!(
        err.contains(&format!(
            "break-glass {} was reviewed and is closed",
            opened[0]
        )),
        "the late delivery: {err}"
    );
    ensure!(
        !wraps_beside(&ctx, &hash)?.contains(&doctor_key),
        "a wrap for the doctor was stored for a reviewed break-glass"
    );
    // A delivery for an opening still in force stores the wrap; the home
    // hospital's privacy officer reviews that one, and the next pass
    // withdraws the wrap. (Every peer first catches up: the contract is
    // endorsed by every hospital, and a peer a block behind would simulate
    // on older state, so the gateway would see the endorsements differ.)
    ctx.net.settle().await?;
    let pass = custodian.custodian_pass().await?;
    ensure!(
        pass.failures.is_empty(),
        "custodian pass: {:?}",
        pass.failures
    );
    let delivered = pass.handled.iter().any(|h| {
        h.break_glass_id == opened[1]
            && matches!(&h.action, CustodianAction::Delivered { versions, .. } if !versions.is_empty())
    });
    ensure!(
        delivered,
        "the pass did not deliver {}: {:?}",
        opened[1],
        pass.handled
    );
    ensure!(
        wraps_beside(&ctx, &hash)?.contains(&doctor_key),
        "no wrap for the doctor beside the blob after the delivery"
    );
    // (Every opening of the doctor is reviewed first: they share one wrap.)
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
    ctx.net.settle().await?;
    let pass = custodian.custodian_pass().await?;
    ensure!(
        pass.failures.is_empty(),
        "custodian pass: {:?}",
        pass.failures
    );
    ensure!(
        !wraps_beside(&ctx, &hash)?.contains(&doctor_key),
        "the doctor's wrap survived the reviews and the pass"
    );
    Ok(())
}
