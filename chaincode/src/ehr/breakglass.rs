//! Break-glass: a doctor opens all of a patient's records in an emergency,
//! with a stated reason, for [`BREAK_GLASS_SECONDS`] from the transaction
//! time. Every opening is audited and flagged for review; the patient, the
//! home hospital and auditors can list them.
//!
//! Refusals (wrong role, missing reason) are errors (status 500), so nothing
//! is written: break-glass grants access, it does not read anything. The
//! access requests made under it are audited like any other.
//!
//! Break-glass keys carry no key-level policy: they are evidence, and the
//! chaincode-level policy (MAJORITY) keeps any single hospital, including the
//! home hospital, from erasing them. Reviews are evidence too.
//!
//! Opening also puts the event on the home hospital's open list, where its
//! custodian finds it and delivers the data keys
//! ([`custodian`](super::custodian)): the contract decides, but a doctor can
//! decrypt only once the home hospital has wrapped the keys for them. A
//! review (by an auditor or a home administrator) closes a break-glass early.

use fabric_shim::ChaincodeStub;
use serde::{Deserialize, Serialize};

use super::audit;
use super::clock;
use super::error::{denied, invalid, EhrError, EhrResult};
use super::keys;
use super::model::{
    AuditAction, BreakGlass, BreakGlassReview, Patient, PatientId, Role, Timestamp,
};
use super::patient;
use super::roles::Caller;
use super::store::{self, Page, PageRequest};

/// The work-list entry of an open break-glass (value of its open-list key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenEntry {
    /// Whose records.
    pub patient_id: PatientId,
    /// The break-glass.
    pub break_glass_id: String,
}

/// How long a break-glass opening lasts.
pub const BREAK_GLASS_SECONDS: i64 = 3600;
/// Longest reason accepted (bytes). The reason is free text typed by the
/// clinician; it should state the emergency, not clinical details.
pub const MAX_REASON_LEN: usize = 500;
/// Event emitted when the glass is broken.
pub const BREAK_GLASS_EVENT: &str = "breakglass";

/// `break_glass(pid, reason)`: doctors only.
pub async fn open(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    pid: &str,
    reason: &str,
) -> EhrResult<BreakGlass> {
    if caller.role != Role::Doctor {
        return Err(denied(format!(
            "only doctors may break the glass (caller is {})",
            caller.role
        )));
    }
    let reason = checked_text(reason, "reason")?;
    let patient = patient::load(stub, &PatientId::parse(pid)?).await?;
    let now = clock::tx_time(stub)?;
    let event = BreakGlass {
        break_glass_id: stub.tx_id().to_owned(),
        patient_id: patient.patient_id.clone(),
        opened_by: caller.principal(),
        reason: reason.to_owned(),
        opened_at: now,
        expires_at: Timestamp(now.0.saturating_add(BREAK_GLASS_SECONDS)),
        flagged_for_review: true,
    };
    let key = keys::break_glass(&patient.patient_id, &event.break_glass_id)?;
    store::put_json(stub, &key, &event).await?;
    let open_key = keys::break_glass_open(&patient.home_msp, &patient.patient_id, stub.tx_id())?;
    let entry = OpenEntry {
        patient_id: patient.patient_id.clone(),
        break_glass_id: event.break_glass_id.clone(),
    };
    store::put_owned_json(stub, &open_key, &entry, &patient.home_msp).await?;
    audit::log_patient_event(stub, caller, &patient, AuditAction::BreakGlass, reason).await?;
    stub.set_event(BREAK_GLASS_EVENT, serde_json::to_vec(&event)?)?;
    Ok(event)
}

/// A break-glass reason or review note: trimmed, non-empty, at most
/// [`MAX_REASON_LEN`] bytes, no control characters.
fn checked_text<'a>(text: &'a str, what: &str) -> EhrResult<&'a str> {
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid(format!("break-glass needs a {what}")));
    }
    if text.len() > MAX_REASON_LEN || text.chars().any(char::is_control) {
        return Err(invalid(format!(
            "a break-glass {what} is at most {MAX_REASON_LEN} bytes of text without control characters"
        )));
    }
    Ok(text)
}

/// Loads one break-glass event of a patient.
pub async fn load(
    stub: &mut dyn ChaincodeStub,
    patient_id: &PatientId,
    id: &str,
) -> EhrResult<BreakGlass> {
    store::get_json(stub, &keys::break_glass(patient_id, id)?)
        .await?
        .ok_or_else(|| EhrError::NotFound(format!("break-glass {id} of patient {patient_id}")))
}

/// The review of a break-glass, if any.
pub async fn load_review(
    stub: &mut dyn ChaincodeStub,
    patient_id: &PatientId,
    id: &str,
) -> EhrResult<Option<BreakGlassReview>> {
    store::get_json(stub, &keys::break_glass_review(patient_id, id)?).await
}

/// Auditors and the home hospital's administrators review break-glass.
fn require_reviewer(caller: &Caller, patient: &Patient) -> EhrResult<()> {
    if caller.role == Role::Auditor || caller.is_member(&patient.home_msp, &[Role::Admin]) {
        return Ok(());
    }
    Err(denied(format!(
        "break-glass is reviewed by auditors and administrators of the home hospital ({})",
        patient.home_msp
    )))
}

/// `review_break_glass(pid, id, note)`: an auditor or a home administrator
/// records the review; a break-glass still in force closes with it.
pub async fn review(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    pid: &str,
    id: &str,
    note: &str,
) -> EhrResult<BreakGlassReview> {
    let patient = patient::load(stub, &PatientId::parse(pid)?).await?;
    require_reviewer(caller, &patient)?;
    let note = checked_text(note, "review note")?;
    let event = load(stub, &patient.patient_id, id).await?;
    if load_review(stub, &patient.patient_id, id).await?.is_some() {
        return Err(EhrError::Conflict(format!(
            "break-glass {id} is already reviewed"
        )));
    }
    let review = BreakGlassReview {
        break_glass_id: event.break_glass_id.clone(),
        patient_id: patient.patient_id.clone(),
        reviewed_by: caller.principal(),
        reviewed_at: clock::tx_time(stub)?,
        tx_id: stub.tx_id().to_owned(),
        note: note.to_owned(),
    };
    let key = keys::break_glass_review(&patient.patient_id, id)?;
    store::put_json(stub, &key, &review).await?;
    let reason = format!("break-glass {id} reviewed: {note}");
    audit::log_patient_event(
        stub,
        caller,
        &patient,
        AuditAction::BreakGlassReview,
        &reason,
    )
    .await?;
    Ok(review)
}

/// `list_break_glass(pid[, page size, bookmark])`: the patient, the home
/// hospital's admins and doctors, auditors.
pub async fn list(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    pid: &str,
    page: &PageRequest,
) -> EhrResult<Page<BreakGlass>> {
    let patient = patient::load(stub, &PatientId::parse(pid)?).await?;
    audit::require_trail_reader(caller, &patient)?;
    store::json_page(
        stub,
        keys::BREAK_GLASS,
        &[patient.patient_id.as_str()],
        page,
    )
    .await
}

/// What the caller's break-glass openings say at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakGlassCheck {
    /// An opening by this caller is in force.
    Active {
        /// Its id.
        break_glass_id: String,
    },
    /// The caller's latest opening has expired.
    Expired {
        /// Its id.
        break_glass_id: String,
    },
    /// The caller's latest opening was reviewed, which closed it.
    Closed {
        /// Its id.
        break_glass_id: String,
    },
    /// The caller never broke the glass for this patient.
    None,
}

/// True when `event` is in force at `now`: not expired and not reviewed.
pub fn in_force(event: &BreakGlass, reviews: &[BreakGlassReview], now: Timestamp) -> bool {
    now < event.expires_at && !is_reviewed(event, reviews)
}

fn is_reviewed(event: &BreakGlass, reviews: &[BreakGlassReview]) -> bool {
    reviews
        .iter()
        .any(|r| r.break_glass_id == event.break_glass_id)
}

/// Checks the patient's break-glass openings (and their reviews) for this
/// caller. Only doctors benefit: a nurse never gains access through
/// break-glass.
pub fn check(
    events: &[BreakGlass],
    reviews: &[BreakGlassReview],
    caller: &Caller,
    now: Timestamp,
) -> BreakGlassCheck {
    if caller.role != Role::Doctor {
        return BreakGlassCheck::None;
    }
    let mine = events.iter().filter(|e| e.opened_by.user == caller.user);
    if let Some(active) = mine.clone().find(|e| in_force(e, reviews, now)) {
        return BreakGlassCheck::Active {
            break_glass_id: active.break_glass_id.clone(),
        };
    }
    match mine.max_by_key(|e| e.opened_at) {
        Some(e) if is_reviewed(e, reviews) => BreakGlassCheck::Closed {
            break_glass_id: e.break_glass_id.clone(),
        },
        Some(e) => BreakGlassCheck::Expired {
            break_glass_id: e.break_glass_id.clone(),
        },
        None => BreakGlassCheck::None,
    }
}
