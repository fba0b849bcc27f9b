//! Owns: the JSON answers of the contract's functions (everything that is
//! not a stored document of [`model`](crate::model)), as the contract writes
//! them and clients read them.

use serde::{Deserialize, Serialize};

use crate::consent::ConsentStatus;
use crate::model::{
    AuditAction, BreakGlass, BreakGlassGrant, BreakGlassReview, Consent, KeyFingerprint, PatientId,
    Principal, RecordId, RecordMetadata, ResourceType, Role, Sha256Hex, StoragePointer, Timestamp,
    VersionRef,
};

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass this bookmark to get the next page; empty when nothing follows.
    #[serde(default)]
    pub bookmark: String,
}

/// The `whoami` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhoAmI {
    /// MSP id of the caller's organisation.
    pub mspid: String,
    /// The caller's user id as the ledger records it.
    pub user: String,
    /// The caller's role.
    pub role: Role,
    /// A patient caller's pseudonym.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pseudonym: Option<PatientId>,
}

/// The answer to an access request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessResponse {
    /// Whether access was granted.
    pub granted: bool,
    /// Why: the basis of a grant or the reason of a denial.
    pub reason: String,
    /// The transaction (and audit entry) id.
    pub tx_id: String,
    /// Record.
    pub record_id: RecordId,
    /// Version.
    pub version: u64,
    /// What a granted caller needs to fetch and open the blob.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub grant: Option<Grant>,
}

/// The part of an access response only a granted caller receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The record's patient (pseudonym); bound into the encryption.
    pub patient_id: PatientId,
    /// Where the blob lives.
    pub storage_pointer: StoragePointer,
    /// SHA-256 of the blob, to check after download.
    pub ciphertext_sha256: Sha256Hex,
    /// Size of the blob.
    pub size: u64,
    /// FHIR type of the plaintext.
    pub resource_type: ResourceType,
    /// The hospital whose key custodian releases the data key: the
    /// patient's home hospital.
    pub home_msp: String,
    /// The caller as the key directory names key owners (`CN@MSP`, or
    /// `patient:<id>`): whose published key `recipient` is.
    pub requester: String,
    /// The caller's published, unrevoked encryption key (its fingerprint):
    /// the custodian seals the data key to this key and to no other.
    pub recipient: KeyFingerprint,
    /// True when access rests on break-glass (flagged for review).
    pub break_glass: bool,
}

/// Payload of the `access` event: every access decision, and every refused
/// break-glass attempt (`action` `break_glass`, no record), so one event
/// stream carries every denial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessEvent {
    /// Transaction id.
    pub tx_id: String,
    /// What was decided: `access`, or `break_glass` for a refused attempt.
    pub action: AuditAction,
    /// Patient.
    pub patient_id: PatientId,
    /// Record (absent for a break-glass attempt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<RecordId>,
    /// Version (absent for a break-glass attempt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// Who asked.
    pub actor: Principal,
    /// Outcome.
    pub granted: bool,
    /// Basis or reason.
    pub reason: String,
    /// Break-glass involved.
    pub break_glass: bool,
}

/// The answer to `break_glass`: `granted` and the transaction id, then
/// either the opened event or the refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakGlassAnswer {
    /// True when the glass was broken.
    pub granted: bool,
    /// The transaction (and audit entry) id; the break-glass id when opened.
    pub tx_id: String,
    /// The event, or why the attempt was refused.
    #[serde(flatten)]
    pub outcome: BreakGlassOutcome,
}

/// What a break-glass attempt produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BreakGlassOutcome {
    /// The glass was broken: the stored event (its `reason` is the stated one).
    Opened(BreakGlass),
    /// The attempt was refused and audited.
    Refused(BreakGlassRefusal),
}

/// A refused break-glass attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakGlassRefusal {
    /// Whose records.
    pub patient_id: PatientId,
    /// Why it was refused (also the audit entry's reason).
    pub reason: String,
    /// Always true: the attempt's audit entry is flagged for review.
    pub flagged_for_review: bool,
}

/// Where a break-glass stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BreakGlassStatus {
    /// In force: the doctor's requests are granted, and the custodian
    /// releases keys per committed request.
    Active,
    /// Past its expiry: the custodian should close it.
    Expired,
    /// Reviewed (closed early): the custodian should close it.
    Reviewed,
}

/// One entry of the custodian's open list (`list_open_break_glass`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenBreakGlass {
    /// The event.
    pub event: BreakGlass,
    /// Its status at the time of the call.
    pub status: BreakGlassStatus,
    /// A delivery recorded before per-request key release, if any.
    pub grant: Option<BreakGlassGrant>,
    /// The review, if any.
    pub review: Option<BreakGlassReview>,
}

/// What `close_break_glass` answers: for a break-glass served by an earlier
/// delivery of wraps, the versions whose wrap for the doctor the custodian
/// must now delete from the store, and those kept because an active consent
/// to the doctor still covers them. Nothing for events served per request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    /// The break-glass closed.
    pub break_glass_id: String,
    /// Whose records.
    pub patient_id: PatientId,
    /// Why it closed.
    pub status: BreakGlassStatus,
    /// The doctor's wrap name, when wraps had been delivered.
    pub key_fingerprint: Option<KeyFingerprint>,
    /// Versions whose wrap for the doctor was withdrawn.
    pub removed: Vec<VersionRef>,
    /// Versions whose wrap stays (an active consent to the doctor covers
    /// them, or another break-glass of the doctor still in force was
    /// delivered them with the same key).
    pub kept: Vec<VersionRef>,
}

/// One entry of the reviewers' work list (`list_unreviewed_break_glass`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreviewedBreakGlass {
    /// The patient's home hospital (whose administrators may review it).
    pub home_msp: String,
    /// `active` (still in force) or `expired`, at the time of the call.
    pub status: BreakGlassStatus,
    /// The event.
    pub event: BreakGlass,
}

/// One entry of a record's history (`record_history`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Transaction that changed the head.
    pub tx_id: String,
    /// Its time, when the ledger reports it.
    pub timestamp: Option<Timestamp>,
    /// True for a delete (the contract never deletes heads).
    pub is_delete: bool,
    /// The version written.
    pub record: Option<RecordMetadata>,
}

/// What `verify_record` returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// Record id.
    pub record_id: RecordId,
    /// Version.
    pub version: u64,
    /// The hash the ledger holds; compare with the SHA-256 of the blob.
    pub ciphertext_sha256: Sha256Hex,
    /// Size the ledger holds.
    pub size: u64,
    /// Transaction that wrote this version.
    pub tx_id: String,
    /// Its time.
    pub tx_time: Timestamp,
}

/// What a batch `update_wraps` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResult {
    /// Versions whose wrap lists were written.
    pub updated: usize,
}

/// A consent with its status at the time of the call (`list_consents`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentView {
    /// The stored consent.
    #[serde(flatten)]
    pub consent: Consent,
    /// `active`, `expired` or `revoked`.
    pub status: ConsentStatus,
}

impl ConsentView {
    /// `consent` with its status at `now`.
    pub fn new(consent: Consent, now: Timestamp) -> Self {
        let status = crate::consent::status(&consent, now);
        ConsentView { consent, status }
    }
}
