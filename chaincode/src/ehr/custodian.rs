//! The home hospital's key custodian and break-glass. The contract lets a
//! doctor of another hospital in; the doctor then submits `request_access`,
//! and the home hospital's custodian service releases the version's data
//! key to the doctor's published key after checking that committed
//! transaction, per request. A data key is wrapped at rest only to the home
//! hospital's and the patient's published keys ([`super::keydir::check_wraps`]),
//! so no wrap is delivered to the doctor (one delivered before this rule is
//! withdrawn at closing).
//!
//! The custodian (an administrator of the home hospital) works through the
//! hospital's open list:
//!
//! - `list_open_break_glass`: the hospital's break-glass events not yet
//!   closed, with their status (and any delivery recorded before key release
//!   moved to per-request custody);
//! - `close_break_glass`: once the break-glass has expired or been reviewed,
//!   takes the event off the open list (audited). Should an earlier delivery
//!   have left wraps for the doctor in the ledger's wrap lists, it withdraws
//!   them (except where an active consent to that doctor still covers the
//!   record, or another break-glass of the same doctor still in force was
//!   delivered the same version: the wrap is one per key) and marks the
//!   delivery withdrawn; for events opened since, there is none.
//!
//! The open list and deliveries are judged by the contract's every-hospital
//! chaincode policy: no write to them lacks the home hospital's endorsement.

use std::collections::BTreeSet;

use fabric_shim::ChaincodeStub;
use healthblock_ehr_types::consent::{self, ConsentStatus};

use super::audit;
use super::breakglass;
use super::clock;
use super::error::{denied, EhrError, EhrResult};
use super::keys;
use super::model::{
    AuditAction, BreakGlass, BreakGlassGrant, BreakGlassReview, Consent, Grantee, OpenEntry,
    Patient, PatientId, RecordVersion, Revocation, Role, Timestamp, VersionRef,
};
use super::patient;
use super::record;
use super::roles::Caller;
use super::store::{self, Page, PageRequest};
use super::wraps::{self, WrapArgs};

pub use healthblock_ehr_types::results::{BreakGlassStatus, Closure, OpenBreakGlass};

/// Only an administrator of the home hospital acts as its custodian.
fn require_custodian(caller: &Caller, patient: &Patient) -> EhrResult<()> {
    if caller.is_member(&patient.home_msp, &[Role::Admin]) {
        return Ok(());
    }
    Err(denied(format!(
        "only an administrator of the home hospital ({}) closes break-glass events",
        patient.home_msp
    )))
}

fn status_of(
    event: &BreakGlass,
    review: Option<&BreakGlassReview>,
    now: Timestamp,
) -> BreakGlassStatus {
    if review.is_some() {
        BreakGlassStatus::Reviewed
    } else if now >= event.expires_at {
        BreakGlassStatus::Expired
    } else {
        BreakGlassStatus::Active
    }
}

/// Break-glass opens one patient's records: refuses a version of another.
fn of_patient(record: &RecordVersion, pid: &PatientId) -> EhrResult<()> {
    if record.meta.patient_id == *pid {
        Ok(())
    } else {
        Err(denied(format!(
            "record {} is not a record of patient {pid}",
            record.meta.record_id
        )))
    }
}

async fn load_grant(
    stub: &mut dyn ChaincodeStub,
    patient_id: &PatientId,
    id: &str,
) -> EhrResult<Option<BreakGlassGrant>> {
    store::get_json(stub, &keys::break_glass_grant(patient_id, id)?).await
}

/// `list_open_break_glass([page size, bookmark])`: the caller's hospital's
/// open list (administrators only).
pub async fn list_open(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    page: &PageRequest,
) -> EhrResult<Page<OpenBreakGlass>> {
    caller.require_role(
        &[Role::Admin],
        "list the hospital's open break-glass events",
    )?;
    let now = clock::tx_time(stub)?;
    let (values, bookmark) =
        store::page_of(stub, keys::BREAK_GLASS_OPEN, &[&caller.mspid], page).await?;
    let mut items = Vec::with_capacity(values.len());
    for value in values {
        let entry: OpenEntry = serde_json::from_slice(&value)?;
        let pid = &entry.patient_id;
        let event = breakglass::load(stub, pid, &entry.break_glass_id).await?;
        let review = breakglass::load_review(stub, pid, &entry.break_glass_id).await?;
        let grant = load_grant(stub, pid, &entry.break_glass_id).await?;
        items.push(OpenBreakGlass {
            status: status_of(&event, review.as_ref(), now),
            event,
            grant,
            review,
        });
    }
    Ok(Page { items, bookmark })
}

/// True when an active consent addressed to `doctor` as a user covers the
/// version: then the doctor's wrap is still needed after the break-glass.
fn consent_still_covers(
    consents: &[Consent],
    doctor: &str,
    record: &RecordVersion,
    now: Timestamp,
) -> bool {
    consents.iter().any(|c| {
        consent::status(c, now) == ConsentStatus::Active
            && matches!(&c.grantee, Grantee::User { user } if user == doctor)
            && c.scope
                .covers(&record.meta.record_id, &record.meta.resource_type)
    })
}

/// The versions delivered, with the same key, under the doctor's other
/// break-glass events on this patient that are still in force: their wrap
/// is the same one, so closing this event must not withdraw it.
async fn still_delivered(
    stub: &mut dyn ChaincodeStub,
    pid: &PatientId,
    closing: &BreakGlassGrant,
    now: Timestamp,
) -> EhrResult<BTreeSet<VersionRef>> {
    let grants: Vec<BreakGlassGrant> =
        store::json_all(stub, keys::BREAK_GLASS_GRANT, &[pid.as_str()]).await?;
    let mut covered = BTreeSet::new();
    for g in grants {
        if g.break_glass_id == closing.break_glass_id
            || g.key_fingerprint != closing.key_fingerprint
            || g.withdrawn.is_some()
        {
            continue;
        }
        let event = breakglass::load(stub, pid, &g.break_glass_id).await?;
        let review = breakglass::load_review(stub, pid, &g.break_glass_id).await?;
        if status_of(&event, review.as_ref(), now) == BreakGlassStatus::Active {
            covered.extend(g.versions);
        }
    }
    Ok(covered)
}

/// `close_break_glass(pid, id)`: the custodian closes an expired or reviewed
/// break-glass: takes it off the open list and withdraws any wraps an
/// earlier delivery left for the doctor in the ledger's wrap lists.
pub async fn close(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    pid: &str,
    id: &str,
) -> EhrResult<Closure> {
    let patient = patient::load(stub, &PatientId::parse(pid)?).await?;
    require_custodian(caller, &patient)?;
    let pid = patient.patient_id.clone();
    let event = breakglass::load(stub, &pid, id).await?;
    let review = breakglass::load_review(stub, &pid, id).await?;
    let now = clock::tx_time(stub)?;
    let status = status_of(&event, review.as_ref(), now);
    if status == BreakGlassStatus::Active {
        return Err(EhrError::Conflict(format!(
            "break-glass {id} is in force until {}; it closes once expired or reviewed",
            clock::rfc3339(event.expires_at.0)
        )));
    }
    let open_key = keys::break_glass_open(&patient.home_msp, &pid, id)?;
    if stub.get_state(&open_key).await?.is_none() {
        return Err(EhrError::Conflict(format!(
            "break-glass {id} is already closed"
        )));
    }
    let mut closure = Closure {
        break_glass_id: id.to_owned(),
        patient_id: pid.clone(),
        status,
        key_fingerprint: None,
        removed: Vec::new(),
        kept: Vec::new(),
    };
    if let Some(mut grant) = load_grant(stub, &pid, id).await? {
        let consents: Vec<Consent> = store::json_all(stub, keys::CONSENT, &[pid.as_str()]).await?;
        let in_force = still_delivered(stub, &pid, &grant, now).await?;
        for v in &grant.versions {
            let version = record::load(stub, &v.record_id, Some(v.version)).await?;
            if in_force.contains(v)
                || consent_still_covers(&consents, &grant.doctor.user, &version, now)
            {
                closure.kept.push(v.clone());
            } else {
                closure.removed.push(v.clone());
            }
        }
        let changes: Vec<WrapArgs> = closure
            .removed
            .iter()
            .map(|v| WrapArgs {
                record_id: v.record_id.clone(),
                version: v.version,
                add: Vec::new(),
                remove: vec![grant.key_fingerprint.clone()],
            })
            .collect();
        if !changes.is_empty() {
            wraps::apply(stub, changes, |r| of_patient(r, &pid)).await?;
        }
        grant.withdrawn = Some(Revocation {
            by: caller.principal(),
            at: now,
            tx_id: stub.tx_id().to_owned(),
        });
        closure.key_fingerprint = Some(grant.key_fingerprint.clone());
        let key = keys::break_glass_grant(&pid, id)?;
        store::put_json(stub, &key, &grant).await?;
    }
    stub.del_state(&open_key).await?;
    let why = match status {
        BreakGlassStatus::Reviewed => "reviewed",
        _ => "expired",
    };
    let reason = format!(
        "break-glass {id} closed ({why}): the doctor's wraps withdrawn from {} record version(s), kept on {} still covered by a consent or by another break-glass of the doctor in force",
        closure.removed.len(),
        closure.kept.len()
    );
    audit::log_patient_event(
        stub,
        caller,
        &patient,
        AuditAction::BreakGlassClose,
        &reason,
    )
    .await?;
    Ok(closure)
}
