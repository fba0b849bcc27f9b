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
//! home hospital, from erasing them.

use fabric_shim::ChaincodeStub;

use super::audit;
use super::clock;
use super::error::{denied, invalid, EhrResult};
use super::keys;
use super::model::{AuditAction, BreakGlass, PatientId, Role, Timestamp};
use super::patient;
use super::roles::Caller;
use super::store::{self, Page, PageRequest};

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
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(invalid("break-glass needs a reason"));
    }
    if reason.len() > MAX_REASON_LEN || reason.chars().any(char::is_control) {
        return Err(invalid(format!(
            "a break-glass reason is at most {MAX_REASON_LEN} bytes of text without control characters"
        )));
    }
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
    audit::log_patient_event(stub, caller, &patient, AuditAction::BreakGlass, reason).await?;
    stub.set_event(BREAK_GLASS_EVENT, serde_json::to_vec(&event)?)?;
    Ok(event)
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
    /// The caller never broke the glass for this patient.
    None,
}

/// Checks the patient's break-glass openings for this caller. Only doctors
/// benefit: a nurse never gains access through break-glass.
pub fn check(events: &[BreakGlass], caller: &Caller, now: Timestamp) -> BreakGlassCheck {
    if caller.role != Role::Doctor {
        return BreakGlassCheck::None;
    }
    let mine = events.iter().filter(|e| e.opened_by.user == caller.user);
    if let Some(active) = mine.clone().find(|e| now < e.expires_at) {
        return BreakGlassCheck::Active {
            break_glass_id: active.break_glass_id.clone(),
        };
    }
    match mine.max_by_key(|e| e.opened_at) {
        Some(e) => BreakGlassCheck::Expired {
            break_glass_id: e.break_glass_id.clone(),
        },
        None => BreakGlassCheck::None,
    }
}
