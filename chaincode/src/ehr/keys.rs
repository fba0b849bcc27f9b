//! The contract's key layout. Every key is a Fabric composite key
//! (`\0type\0attr\0...\0`), so each listing is a range over one prefix and
//! never a scan of all records.
//!
//! | object type | attributes | value |
//! |---|---|---|
//! | `patient` | pid | [`Patient`](super::model::Patient) |
//! | `record` | rid | latest [`RecordVersion`](super::model::RecordVersion); its history is the record's history |
//! | `record~version` | rid, version (20 digits) | that [`RecordVersion`](super::model::RecordVersion) |
//! | `record~patient` | pid, rid | rid (index) |
//! | `record~token` | token, rid | rid (blind index) |
//! | `consent` | pid, consent id | [`Consent`](super::model::Consent) |
//! | `breakglass` | pid, id | [`BreakGlass`](super::model::BreakGlass) |
//! | `breakglass~open` | home MSP, pid, id | `{patient_id, break_glass_id}` (the custodian's work list) |
//! | `breakglass~grant` | pid, id | [`BreakGlassGrant`](super::model::BreakGlassGrant) |
//! | `breakglass~review` | pid, id | [`BreakGlassReview`](super::model::BreakGlassReview) |
//! | `breakglass~unreviewed` | home MSP, opened at (20 digits), pid, id | `{patient_id, break_glass_id}` (the reviewers' work list) |
//! | `breakglass~doctor` | doctor user, opened at (20 digits), pid, id | `{patient_id, break_glass_id}` (the doctor's openings in the rate limit's window; older ones are pruned) |
//! | `setting` | name (`breakglass_limit`) | a contract setting ([`BreakGlassLimit`](healthblock_ehr_types::breakglass::BreakGlassLimit)) |
//! | `audit~patient` | pid, time (20 digits), txid | [`AuditEntry`](super::model::AuditEntry) |
//! | `audit~record` | rid, time (20 digits), txid | [`AuditEntry`](super::model::AuditEntry) |
//! | `pubkey` | owner (`CN@MSP`, `patient:<id>`, `hospital:<MSP>`) | [`PublishedKey`](healthblock_ehr_types::keydir::PublishedKey) |
//!
//! Audit (`audit~patient`, `audit~record`), break-glass (`breakglass`) and
//! review (`breakglass~review`) keys are evidence: written once, then sealed
//! with a key-level policy that nothing satisfies ([`super::store`]), so no
//! transaction can change or delete them. Every other key carries no
//! key-level policy and is judged by the contract's chaincode-level policy,
//! which names a peer of every hospital.

use fabric_shim::create_composite_key;

use super::error::EhrResult;
use super::model::{IndexToken, PatientId, RecordId};

/// Object type of patients.
pub const PATIENT: &str = "patient";
/// Object type of record heads (latest version).
pub const RECORD: &str = "record";
/// Object type of record versions.
pub const RECORD_VERSION: &str = "record~version";
/// Object type of the patient -> records index.
pub const RECORD_BY_PATIENT: &str = "record~patient";
/// Object type of the blind-index token -> records index.
pub const RECORD_BY_TOKEN: &str = "record~token";
/// Object type of consents.
pub const CONSENT: &str = "consent";
/// Object type of break-glass events.
pub const BREAK_GLASS: &str = "breakglass";
/// Object type of the custodian's list of open break-glass events, by home hospital.
pub const BREAK_GLASS_OPEN: &str = "breakglass~open";
/// Object type of break-glass key deliveries.
pub const BREAK_GLASS_GRANT: &str = "breakglass~grant";
/// Object type of break-glass reviews.
pub const BREAK_GLASS_REVIEW: &str = "breakglass~review";
/// Object type of the reviewers' list of break-glass events not yet
/// reviewed, by home hospital and opening time.
pub const BREAK_GLASS_UNREVIEWED: &str = "breakglass~unreviewed";
/// Object type of a doctor's recent break-glass openings (the rate limit's
/// index), by doctor and opening time.
pub const BREAK_GLASS_BY_DOCTOR: &str = "breakglass~doctor";
/// Object type of contract settings.
pub const SETTING: &str = "setting";
/// Name of the break-glass rate limit setting.
pub const BREAK_GLASS_LIMIT_SETTING: &str = "breakglass_limit";
/// Object type of the key directory (published encryption public keys).
pub const PUBLISHED_KEY: &str = "pubkey";
/// Object type of the per-patient audit trail.
pub const AUDIT_BY_PATIENT: &str = "audit~patient";
/// Object type of the per-record audit trail.
pub const AUDIT_BY_RECORD: &str = "audit~record";

/// Key of an owner's published encryption public key.
pub fn published_key(owner: &str) -> EhrResult<String> {
    Ok(create_composite_key(PUBLISHED_KEY, &[owner])?)
}

/// Version numbers as fixed-width keys, so versions sort numerically.
pub fn version_component(version: u64) -> String {
    format!("{version:020}")
}

/// Key of a patient.
pub fn patient(pid: &PatientId) -> EhrResult<String> {
    Ok(create_composite_key(PATIENT, &[pid.as_str()])?)
}

/// Key of a record's latest version.
pub fn record(rid: &RecordId) -> EhrResult<String> {
    Ok(create_composite_key(RECORD, &[rid.as_str()])?)
}

/// Key of one version of a record.
pub fn record_version(rid: &RecordId, version: u64) -> EhrResult<String> {
    Ok(create_composite_key(
        RECORD_VERSION,
        &[rid.as_str(), &version_component(version)],
    )?)
}

/// Index key patient -> record.
pub fn record_by_patient(pid: &PatientId, rid: &RecordId) -> EhrResult<String> {
    Ok(create_composite_key(
        RECORD_BY_PATIENT,
        &[pid.as_str(), rid.as_str()],
    )?)
}

/// Index key token -> record.
pub fn record_by_token(token: &IndexToken, rid: &RecordId) -> EhrResult<String> {
    Ok(create_composite_key(
        RECORD_BY_TOKEN,
        &[token.as_str(), rid.as_str()],
    )?)
}

/// Key of a consent.
pub fn consent(pid: &PatientId, consent_id: &str) -> EhrResult<String> {
    Ok(create_composite_key(CONSENT, &[pid.as_str(), consent_id])?)
}

/// Key of a break-glass event.
pub fn break_glass(pid: &PatientId, id: &str) -> EhrResult<String> {
    Ok(create_composite_key(BREAK_GLASS, &[pid.as_str(), id])?)
}

/// Key of a break-glass event in its home hospital's open list.
pub fn break_glass_open(home_msp: &str, pid: &PatientId, id: &str) -> EhrResult<String> {
    Ok(create_composite_key(
        BREAK_GLASS_OPEN,
        &[home_msp, pid.as_str(), id],
    )?)
}

/// Key of a break-glass key delivery.
pub fn break_glass_grant(pid: &PatientId, id: &str) -> EhrResult<String> {
    Ok(create_composite_key(
        BREAK_GLASS_GRANT,
        &[pid.as_str(), id],
    )?)
}

/// Key of a break-glass review.
pub fn break_glass_review(pid: &PatientId, id: &str) -> EhrResult<String> {
    Ok(create_composite_key(
        BREAK_GLASS_REVIEW,
        &[pid.as_str(), id],
    )?)
}

/// Key of a break-glass event in the reviewers' work list; `opened_at` is
/// the zero-padded opening time, so each hospital's list is oldest first.
pub fn break_glass_unreviewed(
    home_msp: &str,
    opened_at: &str,
    pid: &PatientId,
    id: &str,
) -> EhrResult<String> {
    Ok(create_composite_key(
        BREAK_GLASS_UNREVIEWED,
        &[home_msp, opened_at, pid.as_str(), id],
    )?)
}

/// Key of a doctor's break-glass opening in the rate limit's index;
/// `opened_at` is the zero-padded opening time, so a doctor's range is
/// oldest first.
pub fn break_glass_by_doctor(
    doctor: &str,
    opened_at: &str,
    pid: &PatientId,
    id: &str,
) -> EhrResult<String> {
    Ok(create_composite_key(
        BREAK_GLASS_BY_DOCTOR,
        &[doctor, opened_at, pid.as_str(), id],
    )?)
}

/// Key of a contract setting.
pub fn setting(name: &str) -> EhrResult<String> {
    Ok(create_composite_key(SETTING, &[name])?)
}

/// Key of an audit entry in a patient's trail.
pub fn audit_by_patient(pid: &PatientId, time: &str, tx_id: &str) -> EhrResult<String> {
    Ok(create_composite_key(
        AUDIT_BY_PATIENT,
        &[pid.as_str(), time, tx_id],
    )?)
}

/// Key of an audit entry in a record's trail.
pub fn audit_by_record(rid: &RecordId, time: &str, tx_id: &str) -> EhrResult<String> {
    Ok(create_composite_key(
        AUDIT_BY_RECORD,
        &[rid.as_str(), time, tx_id],
    )?)
}

/// The record id stored as the value (and last attribute) of an index key.
pub fn indexed_record(value: &[u8]) -> EhrResult<RecordId> {
    Ok(RecordId::parse(&String::from_utf8_lossy(value))?)
}
