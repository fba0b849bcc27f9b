//! `request_access`: the only way to learn where a record's blob is and
//! which wrap opens it. A submitted transaction: it decides (see
//! [`policy`](super::policy)), writes an audit entry, emits an `access` event
//! and answers.
//!
//! **A denial is a success response.** A denied request returns status 200
//! with `{"granted":false,"reason":...}` so that the transaction is endorsed
//! and committed and its audit entry lands on the ledger: a status-500
//! response would be refused by the endorsers and the denial would leave no
//! trace. Clients (the CLI) turn `granted:false` into an error. Malformed
//! arguments and unknown records are still errors (500): there is no access
//! decision to record.
//!
//! Neither the audit entry nor the event carries key material: the caller's
//! wrap name appears in the response only.

use fabric_shim::ChaincodeStub;
use serde::{Deserialize, Serialize};

use super::audit;
use super::clock;
use super::error::EhrResult;
use super::model::{
    AuditAction, AuditEntry, KeyFingerprint, PatientId, Principal, RecordId, RecordVersion,
    ResourceType, Sha256Hex, StoragePointer,
};
use super::patient;
use super::policy::PatientAccess;
use super::record;
use super::roles::Caller;

/// Name of the chaincode event every access request emits.
pub const ACCESS_EVENT: &str = "access";

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

/// The part of a response only a granted caller receives.
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
    /// Name of the caller's wrap beside the blob (its key fingerprint), or
    /// `None` when the version has no wrap for that key yet.
    pub wrap: Option<KeyFingerprint>,
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

/// `request_access(rid, version or "", key fingerprint)`.
pub async fn request(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    rid: &str,
    version: Option<&str>,
    fingerprint: &str,
) -> EhrResult<AccessResponse> {
    let record_id = RecordId::parse(rid)?;
    let version = record::parse_version(version)?;
    let fingerprint = KeyFingerprint::parse(fingerprint)?;
    let record = record::load(stub, &record_id, version).await?;
    let patient = patient::load(stub, &record.meta.patient_id).await?;
    let access = PatientAccess::load(stub, caller, patient).await?;
    let now = clock::tx_time(stub)?;
    let decision = access.decide(caller, &record, now);
    let (granted, reason, break_glass) = match &decision {
        Ok(basis) => (true, basis.describe(), basis.is_break_glass()),
        Err(reason) => (false, reason.clone(), false),
    };
    let entry = AuditEntry {
        tx_id: stub.tx_id().to_owned(),
        time: now,
        action: AuditAction::Access,
        patient_id: record.meta.patient_id.clone(),
        record_id: Some(record.meta.record_id.clone()),
        version: Some(record.meta.version),
        actor: caller.principal(),
        granted,
        reason: reason.clone(),
        break_glass,
    };
    audit::write(stub, &entry).await?;
    emit(stub, &entry)?;
    Ok(AccessResponse {
        granted,
        reason,
        tx_id: entry.tx_id,
        record_id: record.meta.record_id.clone(),
        version: record.meta.version,
        grant: granted.then(|| grant(&record, &fingerprint, break_glass)),
    })
}

fn grant(record: &RecordVersion, fingerprint: &KeyFingerprint, break_glass: bool) -> Grant {
    Grant {
        patient_id: record.meta.patient_id.clone(),
        storage_pointer: record.meta.storage_pointer.clone(),
        ciphertext_sha256: record.meta.ciphertext_sha256.clone(),
        size: record.meta.size,
        resource_type: record.meta.resource_type.clone(),
        wrap: record
            .wraps
            .contains(fingerprint)
            .then(|| fingerprint.clone()),
        break_glass,
    }
}

/// Emits the [`ACCESS_EVENT`] of a decision already written as `entry`.
pub fn emit(stub: &mut dyn ChaincodeStub, entry: &AuditEntry) -> EhrResult<()> {
    let event = AccessEvent {
        tx_id: entry.tx_id.clone(),
        action: entry.action,
        patient_id: entry.patient_id.clone(),
        record_id: entry.record_id.clone(),
        version: entry.version,
        actor: entry.actor.clone(),
        granted: entry.granted,
        reason: entry.reason.clone(),
        break_glass: entry.break_glass,
    };
    stub.set_event(ACCESS_EVENT, serde_json::to_vec(&event)?)?;
    Ok(())
}
