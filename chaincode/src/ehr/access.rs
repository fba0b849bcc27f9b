//! `request_access`: the only way to learn where a record's blob is and to
//! have its data key released to the caller. A submitted transaction: it decides (see
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
//! Neither the audit entry nor the event carries key material. A grant names
//! the caller's published key; the home hospital's key custodian reads this
//! committed response (its transaction) and only then seals the data key to
//! that key. Wraps at rest exist only for the home hospital and the patient.

use fabric_shim::ChaincodeStub;

use super::audit;
use super::clock;
use super::error::{invalid, EhrResult};
use super::keydir;
use super::model::{AuditAction, AuditEntry, KeyFingerprint, RecordId, RecordVersion};
use super::patient;
use super::policy::PatientAccess;
use super::record;
use super::roles::Caller;

pub use healthblock_ehr_types::functions::ACCESS_EVENT;
pub use healthblock_ehr_types::results::{AccessEvent, AccessResponse, Grant};

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
    // The custodian seals the data key to this key only: it must be the
    // caller's own published key, never one the caller names for someone else.
    let published = keydir::load(stub, &caller.user).await?;
    if published.fingerprint != fingerprint.as_str() || published.revoked_at.is_some() {
        return Err(invalid(format!(
            "key {fingerprint} is not the published, unrevoked encryption key of {}: publish yours first",
            caller.user
        )));
    }
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
    audit::emit_access_event(stub, &entry)?;
    Ok(AccessResponse {
        granted,
        reason,
        tx_id: entry.tx_id,
        record_id: record.meta.record_id.clone(),
        version: record.meta.version,
        grant: granted.then(|| grant(&record, caller, &fingerprint, break_glass)),
    })
}

fn grant(
    record: &RecordVersion,
    caller: &Caller,
    fingerprint: &KeyFingerprint,
    break_glass: bool,
) -> Grant {
    Grant {
        patient_id: record.meta.patient_id.clone(),
        storage_pointer: record.storage_pointer.clone(),
        ciphertext_sha256: record.meta.ciphertext_sha256.clone(),
        size: record.meta.size,
        resource_type: record.meta.resource_type.clone(),
        home_msp: record.meta.home_msp.clone(),
        requester: caller.user.clone(),
        recipient: fingerprint.clone(),
        break_glass,
    }
}
