//! Roles from the Fabric CA, enforced by the contract: break-glass only for
//! doctors and only with a coded reason (a refused attempt is a committed, audited
//! denial), consent managed by the patient for their
//! own records only, auditors read trails but never key material, access
//! without consent denied and audited, consent lets a grantee in (they
//! decrypt the record, the key released by the home hospital's custodian)
//! and revocation shuts them out again (the contract denies, the grantee
//! never held a wrap, and the decision they held is redeemed already).
//! Every call goes through the client SDK, with real blobs, hashes and wraps.

use crate::fixtures::{error_text, observation, other_patient, put_record, wraps_of};
use crate::users::User;
use crate::{trial, Ctx, TestFn};
use anyhow::{ensure, Result};
use healthblock_sdk::types::args::GrantArgs;
use healthblock_sdk::types::breakglass::ReasonError;
use healthblock_sdk::types::code::ErrorCode;
use healthblock_sdk::types::model::{Grantee, PatientId, RecordId, ResourceType, Scope};
use healthblock_sdk::{RevokeFilter, SdkError, Sink};
use serde_json::Value;

pub(crate) fn trials() -> Vec<(&'static str, TestFn)> {
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

/// `request_access(rid, latest)` through the SDK as `user` (for their own
/// key), as the contract answered it.
async fn request_access(ctx: &Ctx, user: &User, rid: &str) -> Result<Value> {
    let client = ctx.sdk(user).await?;
    let answer = client.request_access(&RecordId::parse(rid)?, None).await?;
    Ok(serde_json::to_value(answer.value)?)
}

/// The fingerprint of `user`'s own encryption key (the wrap name the
/// contract hands them).
async fn fingerprint(ctx: &Ctx, user: &User) -> Result<String> {
    let key = ctx.sdk(user).await?.my_public_key()?;
    Ok(key.fingerprint().to_hex())
}

/// `break_glass(pid, reason)` through the SDK as `user`.
async fn break_glass(ctx: &Ctx, user: &User, pid: &str, reason: &str) -> Result<Value> {
    let client = ctx.sdk(user).await?;
    let answer = client.break_glass(&PatientId::parse(pid)?, reason).await?;
    Ok(serde_json::to_value(answer.value)?)
}

/// Every entry of a record's audit trail, as the auditor reads it.
async fn record_trail(ctx: &Ctx, rid: &str) -> Result<Vec<Value>> {
    // The entries were committed on the writers' peers; the auditor reads
    // on Hospital1's, which may be a block behind on a loaded machine.
    ctx.net.settle().await?;
    let auditor = ctx.sdk(&ctx.users.auditor).await?;
    let trail = auditor.audit_by_record(&RecordId::parse(rid)?).await?;
    Ok(serde_json::from_value(serde_json::to_value(trail)?)?)
}

/// Every entry of the patient's audit trail, as the auditor reads it (all
/// pages: other trials write to the same patient's trail).
async fn patient_trail(ctx: &Ctx, pid: &str) -> Result<Vec<Value>> {
    ctx.net.settle().await?;
    let auditor = ctx.sdk(&ctx.users.auditor).await?;
    let trail = auditor.audit_by_patient(&PatientId::parse(pid)?).await?;
    Ok(serde_json::from_value(serde_json::to_value(trail)?)?)
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
    let pid = ctx.users.patient1_pid.as_str();
    let refused = break_glass(&ctx, &ctx.users.nurse1, pid, "patient collapsed").await?;
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
    let (rid, stored) = put_record(&ctx, "breakglass").await?;
    let doctor3 = ctx.users.doctor3;
    let pid = ctx.users.patient1_pid.as_str();
    let refused = break_glass(&ctx, &doctor3, pid, "  ").await?;
    let needs = ReasonError::Empty.explained();
    ensure!(
        needs.starts_with("break-glass needs a reason; a reason is `<CODE>: <text>`"),
        "{needs}"
    );
    expect_break_glass_refused(&ctx, &refused, pid, &needs).await?;
    // A refused attempt opens nothing: no access under break-glass yet.
    let before = request_access(&ctx, &doctor3, &rid).await?;
    ensure!(
        before["granted"] == false,
        "access after a refused break-glass: {before}"
    );

    let reason = "UNCONSCIOUS: unconscious patient in the emergency room";
    let opened = break_glass(&ctx, &doctor3, pid, reason).await?;
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
    let access = request_access(&ctx, &doctor3, &rid).await?;
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
    let patient = ctx.sdk(&ctx.users.patient1).await?;
    let listed = patient.list_break_glass(&PatientId::parse(pid)?).await?;
    let items: Vec<Value> = serde_json::from_value(serde_json::to_value(&listed)?)?;
    ensure!(
        items
            .iter()
            .any(|e| e["break_glass_id"] == opened["break_glass_id"]),
        "the patient's break-glass list lacks {}: {items:?}",
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
    let patient = ctx.sdk(&ctx.users.patient1).await?;
    let own = ctx.users.patient1_pid.as_str();
    // A grant that no trial's record falls under (they are all Observations).
    let grant = |pid: &str| -> Result<GrantArgs> {
        Ok(GrantArgs {
            patient_id: PatientId::parse(pid)?,
            grantee: Grantee::User {
                user: ctx.users.doctor3.principal(),
            },
            scope: Scope::Type {
                resource_type: ResourceType::parse("Immunization")?,
            },
            expires_at: None,
        })
    };
    let granted = patient.grant_consent(grant(own)?).await?;
    ctx.net.settle().await?;
    let consent = serde_json::to_value(&granted.consent.value)?;
    ensure!(
        consent["patient_id"] == own
            && consent["granted_by"]["user"] == format!("patient:{own}")
            && consent["revoked"].is_null(),
        "grant_consent answered {consent}"
    );
    let refused = patient
        .grant_consent(grant(&other_patient())?)
        .await
        .err()
        .ok_or_else(|| anyhow::anyhow!("a grant for another patient succeeded"))?;
    ensure!(
        refused.code() == Some(ErrorCode::PermissionDenied),
        "grant for another patient: code {:?}",
        refused.code()
    );
    let err = error_text(refused);
    ensure!(
        err.contains("a patient may grant or revoke consent only for their own records"),
        "grant for another patient: {err}"
    );
    Ok(())
}

async fn auditor(ctx: Ctx) -> Result<()> {
    let (rid, stored) = put_record(&ctx, "auditor").await?;
    let auditor_user = ctx.users.auditor;
    let fp = fingerprint(&ctx, &auditor_user).await?;
    let resp = request_access(&ctx, &auditor_user, &rid).await?;
    expect_denied(
        &resp,
        "auditors read audit trails and metadata, never key material",
    )?;
    // Metadata yes, wraps no.
    let auditor = ctx.sdk(&auditor_user).await?;
    let meta = serde_json::to_value(auditor.get_record(&RecordId::parse(&rid)?, None).await?)?;
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
    // Neither the auditor's key nor any of the record's real wraps appears.
    let text = serde_json::to_string(&trail)?;
    let wraps: Vec<String> = serde_json::from_value(stored["wraps"].clone())?;
    for key in std::iter::once(&fp).chain(&wraps) {
        ensure!(
            !text.contains(key.as_str()),
            "the audit trail carries key material {key}: {text}"
        );
    }
    Ok(())
}

async fn nurse_denied(ctx: Ctx) -> Result<()> {
    let (rid, _) = put_record(&ctx, "nurse3").await?;
    let resp = request_access(&ctx, &ctx.users.nurse3, &rid).await?;
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
    let (rid, stored) = put_record(&ctx, "consent").await?;
    let record = RecordId::parse(&rid)?;
    let doctor2 = ctx.sdk(&ctx.users.doctor2).await?;
    let patient = ctx.sdk(&ctx.users.patient1).await?;
    let pid = PatientId::parse(&ctx.users.patient1_pid)?;
    let user = ctx.users.doctor2.principal();
    let fp = fingerprint(&ctx, &ctx.users.doctor2).await?;

    let before = request_access(&ctx, &ctx.users.doctor2, &rid).await?;
    expect_denied(
        &before,
        &format!("no consent covers record {rid} for {user} (doctor at Hospital2MSP)"),
    )?;

    // The patient grants: a ledger transaction, no wrap for doctor2.
    let granted_consent = patient
        .grant_consent(GrantArgs {
            patient_id: pid.clone(),
            grantee: Grantee::User { user: user.clone() },
            scope: Scope::Record {
                record_id: record.clone(),
            },
            expires_at: None,
        })
        .await?;
    ctx.net.settle().await?;
    let consent_id = granted_consent.consent.value.consent_id.clone();
    ensure!(!consent_id.is_empty(), "grant_consent answered no id");
    ensure!(
        !wraps_of(&ctx, &rid).await?.contains(&fp),
        "the grant stored a wrap for doctor2 at rest"
    );

    // Doctor2 reads and decrypts the record: the plaintext is the original.
    let mut plaintext = Vec::new();
    let read = doctor2
        .read_record(&record, None, Sink::Writer(&mut plaintext))
        .await?;
    ensure!(
        plaintext == observation(&rid) && read.bytes == plaintext.len() as u64,
        "doctor2 decrypted {} bytes that differ from the original",
        read.bytes
    );
    let grant_answer = read.access.value.clone();
    let granted = serde_json::to_value(&grant_answer)?;
    ensure!(
        granted["granted"] == true
            && granted["reason"] == format!("consent {consent_id}")
            && granted["recipient"] == fp.as_str()
            && granted["home_msp"] == "Hospital1MSP"
            && granted["break_glass"] == false
            && granted["storage_pointer"] == stored["storage_pointer"]
            && granted["ciphertext_sha256"] == stored["ciphertext_sha256"],
        "access with consent answered {granted}"
    );

    // The patient revokes: in force with its commit.
    let revocation = patient
        .revoke_consents(
            &pid,
            &RevokeFilter {
                consent_id: Some(consent_id.clone()),
                grantee: None,
            },
        )
        .await?;
    ctx.net.settle().await?;
    let revoked = serde_json::to_value(&revocation.revoked[0].value)?;
    ensure!(
        revocation.revoked.len() == 1 && revoked["revoked"].is_object(),
        "revoke_consent answered {revoked}"
    );
    let after = request_access(&ctx, &ctx.users.doctor2, &rid).await?;
    expect_denied(&after, &format!("consent {consent_id} was revoked"))?;

    // Even with the grant it held before, doctor2 can no longer decrypt:
    // it holds no wrap, and the custodian redeems that decision only once.
    let mut leaked = Vec::new();
    match doctor2
        .open_granted(&grant_answer, Sink::Writer(&mut leaked))
        .await
    {
        Err(SdkError::ReleaseRefused { refusal, .. })
            if refusal.code == healthblock_sdk::RefusalCode::Redeemed => {}
        Err(other) => anyhow::bail!("decryption after revocation failed otherwise: {other:?}"),
        Ok(n) => anyhow::bail!("doctor2 decrypted {n} bytes after the revocation"),
    }
    ensure!(leaked.is_empty(), "plaintext leaked after the revocation");

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
