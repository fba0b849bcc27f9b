//! Roles from the Fabric CA, enforced by the contract: break-glass only for
//! doctors and only with a reason (a refused attempt is a committed, audited
//! denial), consent managed by the patient for their
//! own records only, auditors read trails but never key material, access
//! without consent denied and audited, consent lets a grantee in and
//! revocation shuts them out again.

use crate::fixtures::{fingerprint, other_patient, put_record, submit_err, submit_json};
use crate::{trial, Ctx, TestFn};
use anyhow::{ensure, Result};
use fabric_client::Contract;
use serde_json::{json, Value};

pub fn trials() -> Vec<(&'static str, TestFn)> {
    vec![
        trial("roles::nurse_cannot_break_glass", nurse_cannot_break_glass),
        trial(
            "roles::doctor_breaks_glass_only_with_a_reason",
            doctor_breaks_glass,
        ),
        trial(
            "roles::patient_grants_consent_only_for_own_records",
            patient_consent,
        ),
        trial("roles::auditor_reads_trail_never_keys", auditor),
        trial(
            "roles::nurse_without_consent_is_denied_and_audited",
            nurse_denied,
        ),
        trial(
            "roles::consent_grants_access_and_revocation_stops_it",
            consent_and_revocation,
        ),
    ]
}

/// `request_access(rid, latest, fingerprint)` as a submitted transaction.
async fn request_access(contract: &Contract, rid: &str, fp: &str) -> Result<Value> {
    submit_json(contract, "request_access", &[rid, "", fp]).await
}

/// Every entry of a record's audit trail, as the auditor reads it.
async fn record_trail(ctx: &Ctx, rid: &str) -> Result<Vec<Value>> {
    let auditor = ctx.contract(&ctx.users.auditor).await?;
    let out = auditor.evaluate("audit_by_record", [rid, "500"]).await?;
    let page: Value = serde_json::from_slice(&out)?;
    ensure!(
        page["bookmark"] == "",
        "audit trail of {rid} is longer than one page: {page}"
    );
    Ok(page["items"].as_array().cloned().unwrap_or_default())
}

/// Every entry of the patient's audit trail, as the auditor reads it (all
/// pages: other trials write to the same patient's trail).
async fn patient_trail(ctx: &Ctx, pid: &str) -> Result<Vec<Value>> {
    ctx.net.settle().await?;
    let auditor = ctx.contract(&ctx.users.auditor).await?;
    let mut items = Vec::new();
    let mut bookmark = String::new();
    loop {
        let out = auditor
            .evaluate("audit_by_patient", [pid, "500", bookmark.as_str()])
            .await?;
        let page: Value = serde_json::from_slice(&out)?;
        items.extend(page["items"].as_array().cloned().unwrap_or_default());
        bookmark = page["bookmark"].as_str().unwrap_or_default().to_owned();
        if bookmark.is_empty() {
            return Ok(items);
        }
    }
}

/// A refused break-glass attempt: status 200, `granted:false`, the exact
/// reason, nothing opened, and exactly one audit entry in the patient's
/// trail (denied, flagged for review).
async fn expect_break_glass_refused(
    ctx: &Ctx,
    answer: &Value,
    pid: &str,
    reason: &str,
) -> Result<()> {
    ensure!(
        answer["granted"] == false
            && answer["reason"] == reason
            && answer["patient_id"] == pid
            && answer["flagged_for_review"] == true
            && answer.get("break_glass_id").is_none()
            && answer.get("expires_at").is_none(),
        "break_glass must be refused with {reason:?}: {answer}"
    );
    let trail = patient_trail(ctx, pid).await?;
    let entries: Vec<&Value> = trail
        .iter()
        .filter(|e| e["tx_id"] == answer["tx_id"])
        .collect();
    ensure!(
        entries.len() == 1,
        "a refused break-glass leaves exactly one audit entry, found {entries:?}"
    );
    let entry = entries[0];
    ensure!(
        entry["action"] == "break_glass"
            && entry["granted"] == false
            && entry["break_glass"] == true
            && entry["reason"] == reason,
        "audit entry of the refused break-glass: {entry}"
    );
    Ok(())
}

/// The audit entry written by transaction `tx_id`.
fn entry_of<'a>(trail: &'a [Value], tx_id: &Value) -> Result<&'a Value> {
    trail
        .iter()
        .find(|e| e["tx_id"] == *tx_id)
        .ok_or_else(|| anyhow::anyhow!("no audit entry for tx {tx_id} in {trail:?}"))
}

/// A denial: status 200, `granted:false`, the exact reason, no key material.
fn expect_denied(resp: &Value, reason: &str) -> Result<()> {
    ensure!(resp["granted"] == false, "access must be denied: {resp}");
    ensure!(
        resp["reason"] == reason,
        "denial reason {} (want {reason:?})",
        resp["reason"]
    );
    for field in ["storage_pointer", "ciphertext_sha256", "wrap"] {
        ensure!(
            resp.get(field).is_none(),
            "a denial carries {field}: {resp}"
        );
    }
    Ok(())
}

async fn nurse_cannot_break_glass(ctx: Ctx) -> Result<()> {
    let nurse = ctx.contract(&ctx.users.nurse1).await?;
    let pid = ctx.users.patient1_pid.as_str();
    let refused = submit_json(&nurse, "break_glass", &[pid, "patient collapsed"]).await?;
    expect_break_glass_refused(
        &ctx,
        &refused,
        pid,
        "only doctors may break the glass (caller is nurse)",
    )
    .await?;
    ensure!(
        !refused["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("collapsed"),
        "the refusal repeats the typed reason: {refused}"
    );
    Ok(())
}

async fn doctor_breaks_glass(ctx: Ctx) -> Result<()> {
    let (rid, stored) = put_record(&ctx, "breakglass", &[]).await?;
    let doctor3 = ctx.contract(&ctx.users.doctor3).await?;
    let pid = ctx.users.patient1_pid.as_str();
    let refused = submit_json(&doctor3, "break_glass", &[pid, "  "]).await?;
    expect_break_glass_refused(&ctx, &refused, pid, "break-glass needs a reason").await?;
    // A refused attempt opens nothing: no access under break-glass yet.
    let before = request_access(&doctor3, &rid, &fingerprint("doctor3")).await?;
    ensure!(
        before["granted"] == false,
        "access after a refused break-glass: {before}"
    );

    let reason = "unconscious patient in the emergency room";
    let opened = submit_json(&doctor3, "break_glass", &[pid, reason]).await?;
    ensure!(
        opened["granted"] == true
            && opened["tx_id"] == opened["break_glass_id"]
            && opened["reason"] == reason
            && opened["flagged_for_review"] == true
            && opened["patient_id"] == pid
            && opened["opened_by"]["user"] == ctx.users.doctor3.principal().as_str()
            && opened["opened_by"]["role"] == "doctor",
        "break_glass answered {opened}"
    );
    let fp = fingerprint("doctor3");
    let access = request_access(&doctor3, &rid, &fp).await?;
    ensure!(
        access["granted"] == true
            && access["break_glass"] == true
            && access["reason"]
                == format!(
                    "break-glass {}",
                    opened["break_glass_id"].as_str().unwrap_or_default()
                )
            && access["storage_pointer"] == stored["storage_pointer"],
        "access under break-glass answered {access}"
    );
    // The patient sees the opening; the trail flags the access for review.
    let patient = ctx.contract(&ctx.users.patient1).await?;
    let listed: Value =
        serde_json::from_slice(&patient.evaluate("list_break_glass", [pid, "500"]).await?)?;
    let items = listed["items"].as_array().cloned().unwrap_or_default();
    ensure!(
        items
            .iter()
            .any(|e| e["break_glass_id"] == opened["break_glass_id"]),
        "the patient's break-glass list lacks {}: {listed}",
        opened["break_glass_id"]
    );
    let trail = record_trail(&ctx, &rid).await?;
    let entry = entry_of(&trail, &access["tx_id"])?;
    ensure!(
        entry["granted"] == true && entry["break_glass"] == true && entry["action"] == "access",
        "audit entry of the break-glass access: {entry}"
    );
    Ok(())
}

async fn patient_consent(ctx: Ctx) -> Result<()> {
    let patient = ctx.contract(&ctx.users.patient1).await?;
    let own = ctx.users.patient1_pid.as_str();
    // A grant that no trial's record falls under (they are all Observations).
    let grant = |pid: &str| {
        json!({
            "patient_id": pid,
            "grantee": {"kind": "user", "user": ctx.users.doctor3.principal()},
            "scope": {"kind": "type", "resource_type": "Immunization"},
        })
        .to_string()
    };
    let consent = submit_json(&patient, "grant_consent", &[&grant(own)]).await?;
    ctx.net.settle().await?;
    ensure!(
        consent["patient_id"] == own
            && consent["granted_by"]["user"] == format!("patient:{own}")
            && consent["revoked"].is_null(),
        "grant_consent answered {consent}"
    );
    let err = submit_err(&patient, "grant_consent", &[&grant(&other_patient())]).await?;
    ensure!(
        err.contains("a patient may grant or revoke consent only for their own records"),
        "grant for another patient: {err}"
    );
    Ok(())
}

async fn auditor(ctx: Ctx) -> Result<()> {
    let fp = fingerprint("auditor");
    let (rid, _) = put_record(&ctx, "auditor", std::slice::from_ref(&fp)).await?;
    let auditor = ctx.contract(&ctx.users.auditor).await?;
    let resp = request_access(&auditor, &rid, &fp).await?;
    expect_denied(
        &resp,
        "auditors read audit trails and metadata, never key material",
    )?;
    // Metadata yes, wraps no.
    let meta: Value =
        serde_json::from_slice(&auditor.evaluate("get_record", [rid.as_str()]).await?)?;
    ensure!(
        meta["record_id"] == rid.as_str() && meta.get("wraps").is_none(),
        "auditor's get_record: {meta}"
    );
    let trail = record_trail(&ctx, &rid).await?;
    let entry = entry_of(&trail, &resp["tx_id"])?;
    ensure!(
        entry["granted"] == false && entry["actor"]["role"] == "auditor",
        "audit entry of the auditor's request: {entry}"
    );
    let text = serde_json::to_string(&trail)?;
    ensure!(
        !text.contains(&fp),
        "the audit trail carries key material: {text}"
    );
    Ok(())
}

async fn nurse_denied(ctx: Ctx) -> Result<()> {
    let (rid, _) = put_record(&ctx, "nurse3", &[]).await?;
    let nurse3 = ctx.contract(&ctx.users.nurse3).await?;
    let resp = request_access(&nurse3, &rid, &fingerprint("nurse3")).await?;
    let user = ctx.users.nurse3.principal();
    expect_denied(
        &resp,
        &format!("no consent covers record {rid} for {user} (nurse at Hospital3MSP)"),
    )?;
    let trail = record_trail(&ctx, &rid).await?;
    let entry = entry_of(&trail, &resp["tx_id"])?;
    ensure!(
        entry["granted"] == false
            && entry["actor"]["user"] == user.as_str()
            && entry["reason"] == resp["reason"],
        "audit entry of the nurse's denial: {entry}"
    );
    Ok(())
}

async fn consent_and_revocation(ctx: Ctx) -> Result<()> {
    let fp = fingerprint("doctor2");
    let (rid, stored) = put_record(&ctx, "consent", std::slice::from_ref(&fp)).await?;
    let doctor2 = ctx.contract(&ctx.users.doctor2).await?;
    let patient = ctx.contract(&ctx.users.patient1).await?;
    let pid = ctx.users.patient1_pid.as_str();
    let user = ctx.users.doctor2.principal();

    let before = request_access(&doctor2, &rid, &fp).await?;
    expect_denied(
        &before,
        &format!("no consent covers record {rid} for {user} (doctor at Hospital2MSP)"),
    )?;

    let grant = json!({
        "patient_id": pid,
        "grantee": {"kind": "user", "user": user},
        "scope": {"kind": "record", "record_id": rid},
    })
    .to_string();
    let consent = submit_json(&patient, "grant_consent", &[&grant]).await?;
    ctx.net.settle().await?;
    let consent_id = consent["consent_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    ensure!(!consent_id.is_empty(), "grant_consent answered {consent}");

    let granted = request_access(&doctor2, &rid, &fp).await?;
    ensure!(
        granted["granted"] == true
            && granted["reason"] == format!("consent {consent_id}")
            && granted["wrap"] == fp.as_str()
            && granted["break_glass"] == false
            && granted["storage_pointer"] == stored["storage_pointer"]
            && granted["ciphertext_sha256"] == stored["ciphertext_sha256"],
        "access with consent answered {granted}"
    );

    let revoked = submit_json(&patient, "revoke_consent", &[pid, &consent_id]).await?;
    ctx.net.settle().await?;
    ensure!(
        revoked["revoked"].is_object(),
        "revoke_consent answered {revoked}"
    );
    let after = request_access(&doctor2, &rid, &fp).await?;
    expect_denied(&after, &format!("consent {consent_id} was revoked"))?;

    let trail = record_trail(&ctx, &rid).await?;
    for resp in [&before, &granted, &after] {
        let entry = entry_of(&trail, &resp["tx_id"])?;
        ensure!(
            entry["granted"] == resp["granted"],
            "audit entry {entry} for {resp}"
        );
    }
    Ok(())
}
