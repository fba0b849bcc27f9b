//! Break-glass: a doctor opens all of a patient's records in an emergency,
//! with a stated reason, for [`BREAK_GLASS_SECONDS`] from the transaction
//! time. Every opening is audited and flagged for review; the patient, the
//! home hospital and auditors can list them.
//!
//! The controls on an opening (rules shared with clients in
//! [`healthblock_ehr_types::breakglass`]):
//! - only doctors break the glass;
//! - the reason is coded: `<CODE>: <text>`, CODE one of a closed set
//!   ([`EmergencyCode`]: `UNCONSCIOUS`, `LIFE_THREATENING`,
//!   `URGENT_TREATMENT`, `INCAPACITATED`, `OTHER`) and at least
//!   [`MIN_REASON_TEXT_CHARS`] characters of text; the event stores it as
//!   `CODE: text`;
//! - a rate limit: at most [`BreakGlassLimit::per_doctor`] openings per
//!   doctor in a sliding 24 h window (default [`DEFAULT_LIMIT`]), counted
//!   with one range read of the doctor's own index
//!   (`breakglass~doctor(doctor, opened at, pid, id)`); entries older than
//!   the window are pruned when the doctor next tries. Any hospital's
//!   administrator sets the limit (`set_break_glass_limit(n)`, 1 to
//!   [`MAX_LIMIT`]): it is one consortium rule that protects every
//!   hospital's patients and binds every hospital's doctors alike, the bound
//!   keeps any one administrator from switching the control off, and the
//!   setting names who set it (its key history keeps every change);
//! - the review is independent: never by someone of the opener's hospital.
//!   The home hospital's administrator (its privacy officer) reviews an
//!   opening by another hospital's doctor; an auditor of any hospital other
//!   than the opener's reviews any opening.
//!
//! **A refused attempt is a success response**, like a denied access
//! request: a caller who is not a doctor, a doctor without a usable reason
//! or over the rate limit, gets status 200 with `{"granted":false,"reason":...}`, so the
//! transaction commits with one audit entry (action `break_glass`, denied,
//! flagged) and an `access` event, and nothing is opened. An attempt to break
//! the glass without the right therefore shows in the patient's trail.
//! Malformed calls (a bad or unknown patient id, a missing timestamp) are
//! still errors (500): there is no patient whose trail could hold them.
//! The refusal's audit entry never repeats the text the caller typed.
//! The access requests made under an opening are audited like any other.
//!
//! Break-glass events and their reviews are evidence: sealed once written
//! ([`store::put_sealed_json`]), so no transaction can erase or alter them
//! (an opening's expiry included).
//!
//! Opening also puts the event on the home hospital's open list, where its
//! custodian finds it and closes it once expired or reviewed
//! ([`custodian`](super::custodian)). The contract decides; the doctor's
//! data keys come from the home hospital's custodian service, released to
//! the doctor's published key per committed `request_access`. A
//! review (by an auditor or a home administrator) closes a break-glass early
//! and takes it off the reviewers' work list ([`worklist`](super::worklist)).

use fabric_shim::ChaincodeStub;

use super::audit;
use super::clock;
use super::error::{denied, invalid, EhrError, EhrResult};
use super::keys;
use super::model::{
    AuditAction, BreakGlass, BreakGlassReview, OpenEntry, Patient, PatientId, Role, Timestamp,
};
use super::patient;
use super::roles::Caller;
use super::store::{self, Page, PageRequest};
use fabric_shim::split_composite_key;
pub use healthblock_ehr_types::breakglass::{
    parse_limit, BreakGlassLimit, BreakGlassReason, EmergencyCode, DEFAULT_LIMIT,
    LIMIT_WINDOW_SECONDS, MAX_LIMIT, MAX_REASON_LEN, MIN_REASON_TEXT_CHARS,
};

/// How long a break-glass opening lasts.
pub const BREAK_GLASS_SECONDS: i64 = 3600;
pub use healthblock_ehr_types::functions::BREAK_GLASS_EVENT;
pub use healthblock_ehr_types::results::{BreakGlassAnswer, BreakGlassOutcome, BreakGlassRefusal};

/// `break_glass(pid, reason)`: doctors only, with a coded reason, within
/// the rate limit. Other attempts on a registered patient are refused,
/// audited and answered with `granted: false`.
pub async fn open(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    pid: &str,
    reason: &str,
) -> EhrResult<BreakGlassAnswer> {
    let patient = patient::load(stub, &PatientId::parse(pid)?).await?;
    if caller.role != Role::Doctor {
        let why = format!(
            "only doctors may break the glass (caller is {})",
            caller.role
        );
        return refuse(stub, caller, &patient, why).await;
    }
    // An unusable reason or an exhausted limit is a decision about this
    // attempt, to be committed and audited; anything else stays an error.
    let reason = match reason.parse::<BreakGlassReason>() {
        Ok(reason) => reason,
        Err(e) => return refuse(stub, caller, &patient, e.explained()).await,
    };
    let now = clock::tx_time(stub)?;
    if let Some(why) = over_limit(stub, caller, now).await? {
        return refuse(stub, caller, &patient, why).await;
    }
    open_checked(stub, caller, &patient, &reason.to_string()).await
}

/// The rate limit in force: the administrators' setting, else the default.
pub async fn limit(stub: &mut dyn ChaincodeStub) -> EhrResult<BreakGlassLimit> {
    let key = keys::setting(keys::BREAK_GLASS_LIMIT_SETTING)?;
    Ok(store::get_json(stub, &key).await?.unwrap_or_default())
}

/// `set_break_glass_limit(n)`: an administrator of any hospital sets the
/// per-doctor limit (1 to [`MAX_LIMIT`] openings per 24 h) for the whole
/// consortium.
pub async fn set_limit(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    n: &str,
) -> EhrResult<BreakGlassLimit> {
    caller.require_role(&[Role::Admin], "set the break-glass limit")?;
    let per_doctor = parse_limit(n).map_err(invalid)?;
    let setting = BreakGlassLimit {
        per_doctor,
        window_seconds: LIMIT_WINDOW_SECONDS,
        set_by: Some(caller.principal()),
        set_at: Some(clock::tx_time(stub)?),
        tx_id: Some(stub.tx_id().to_owned()),
    };
    let key = keys::setting(keys::BREAK_GLASS_LIMIT_SETTING)?;
    store::put_json(stub, &key, &setting).await?;
    Ok(setting)
}

/// Counts the doctor's openings in the window ending at `now` (one range
/// read of the doctor's index) and prunes older entries. `Some(refusal)`
/// when the limit is reached.
async fn over_limit(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    now: Timestamp,
) -> EhrResult<Option<String>> {
    let limit = limit(stub).await?;
    let since = now.0.saturating_sub(limit.window_seconds);
    let entries = stub
        .get_state_by_partial_composite_key(keys::BREAK_GLASS_BY_DOCTOR, &[&caller.user])
        .await?;
    let mut recent = Vec::new();
    for kv in entries {
        let (_, attributes) = split_composite_key(&kv.key)?;
        let opened_at = attributes
            .get(1)
            .and_then(|t| t.parse::<i64>().ok())
            .unwrap_or(0);
        if opened_at > since {
            recent.push(opened_at);
        } else {
            stub.del_state(&kv.key).await?;
        }
    }
    let count = recent.len();
    if count < limit.per_doctor as usize {
        return Ok(None);
    }
    // Oldest first (the index sorts by time): the limit frees up once enough
    // of them leave the window.
    let frees_at = recent[count - limit.per_doctor as usize] + limit.window_seconds;
    Ok(Some(format!(
        "break-glass limit reached: {} opened {count} break-glass event(s) in the last {} hours; \
         at most {} per doctor in any {} hours (the next opening is possible from {})",
        caller.user,
        limit.window_seconds / 3600,
        limit.per_doctor,
        limit.window_seconds / 3600,
        clock::rfc3339(frees_at)
    )))
}

/// Records a refused attempt: one audit entry (denied, flagged) and an
/// `access` event; nothing is opened.
async fn refuse(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    patient: &Patient,
    why: String,
) -> EhrResult<BreakGlassAnswer> {
    let entry = audit::patient_entry(stub, caller, patient, AuditAction::BreakGlass, false, &why)?;
    audit::write(stub, &entry).await?;
    audit::emit_access_event(stub, &entry)?;
    Ok(BreakGlassAnswer {
        granted: false,
        tx_id: entry.tx_id,
        outcome: BreakGlassOutcome::Refused(BreakGlassRefusal {
            patient_id: entry.patient_id,
            reason: why,
            flagged_for_review: true,
        }),
    })
}

/// Opens a break-glass for a doctor with a valid reason, within the limit.
async fn open_checked(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    patient: &Patient,
    reason: &str,
) -> EhrResult<BreakGlassAnswer> {
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
    store::put_sealed_json(stub, &key, &event).await?;
    let open_key = keys::break_glass_open(&patient.home_msp, &patient.patient_id, stub.tx_id())?;
    let entry = OpenEntry {
        patient_id: patient.patient_id.clone(),
        break_glass_id: event.break_glass_id.clone(),
    };
    store::put_json(stub, &open_key, &entry).await?;
    let doctor_key = keys::break_glass_by_doctor(
        &caller.user,
        &clock::sortable(now),
        &patient.patient_id,
        &event.break_glass_id,
    )?;
    store::put_json(stub, &doctor_key, &entry).await?;
    add_unreviewed(stub, &patient.home_msp, &event).await?;
    audit::log_patient_event(stub, caller, patient, AuditAction::BreakGlass, reason).await?;
    stub.set_event(BREAK_GLASS_EVENT, serde_json::to_vec(&event)?)?;
    Ok(BreakGlassAnswer {
        granted: true,
        tx_id: event.break_glass_id.clone(),
        outcome: BreakGlassOutcome::Opened(event),
    })
}

/// A review note: trimmed, non-empty, at most [`MAX_REASON_LEN`] bytes, no
/// control characters.
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

fn unreviewed_key(home_msp: &str, event: &BreakGlass) -> EhrResult<String> {
    keys::break_glass_unreviewed(
        home_msp,
        &clock::sortable(event.opened_at),
        &event.patient_id,
        &event.break_glass_id,
    )
}

/// Puts a newly opened event on the reviewers' work list
/// ([`worklist`](super::worklist)).
async fn add_unreviewed(
    stub: &mut dyn ChaincodeStub,
    home_msp: &str,
    event: &BreakGlass,
) -> EhrResult<()> {
    let entry = OpenEntry {
        patient_id: event.patient_id.clone(),
        break_glass_id: event.break_glass_id.clone(),
    };
    store::put_json(stub, &unreviewed_key(home_msp, event)?, &entry).await
}

/// Takes a reviewed event off the reviewers' work list (a no-op for an event opened before
/// the list existed).
async fn remove_unreviewed(
    stub: &mut dyn ChaincodeStub,
    home_msp: &str,
    event: &BreakGlass,
) -> EhrResult<()> {
    stub.del_state(&unreviewed_key(home_msp, event)?).await?;
    Ok(())
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

/// The review is independent of the opener: nobody of the opener's hospital
/// reviews it. That leaves the home hospital's administrator (privacy
/// officer) when the opener is from another hospital, and auditors of the
/// other hospitals.
fn require_independent(caller: &Caller, patient: &Patient, event: &BreakGlass) -> EhrResult<()> {
    let opener = &event.opened_by.mspid;
    if caller.mspid != *opener {
        return Ok(());
    }
    let home_admin = if *opener == patient.home_msp {
        String::new()
    } else {
        format!(
            "an administrator (privacy officer) of the home hospital ({}) or ",
            patient.home_msp
        )
    };
    Err(denied(format!(
        "break-glass {} was opened by a doctor of {opener}, so nobody of {opener} may review it; \
         it is reviewed by {home_admin}an auditor of another hospital",
        event.break_glass_id
    )))
}

/// `review_break_glass(pid, id, note)`: an auditor or a home administrator,
/// not of the opener's hospital, records the review; a break-glass still in
/// force closes with it.
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
    require_independent(caller, &patient, &event)?;
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
    store::put_sealed_json(stub, &key, &review).await?;
    remove_unreviewed(stub, &patient.home_msp, &event).await?;
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
