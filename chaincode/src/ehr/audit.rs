//! The audit trail: one entry per access request (granted or denied),
//! break-glass attempt (opened or refused) and step, and consent change,
//! indexed by patient and by record in time order.
//!
//! Every access decision and refused break-glass attempt is also announced
//! as an `access` chaincode event ([`emit_access_event`]).
//!
//! Entries are written once under fresh keys (time + txid) and sealed
//! ([`store::put_sealed_json`]): no transaction, however endorsed, can
//! rewrite or delete the trail.
//! Entries never hold key material (no wrap names or key fingerprints).

use fabric_shim::ChaincodeStub;
use healthblock_ehr_types::functions::ACCESS_EVENT;
use healthblock_ehr_types::results::AccessEvent;

use super::clock;
use super::error::{denied, EhrError, EhrResult};
use super::keys;
use super::model::{AuditAction, AuditEntry, Patient, PatientId, RecordId, RecordVersion, Role};
use super::patient;
use super::roles::Caller;
use super::store::{self, Page, PageRequest};

/// Writes `entry` to the patient's trail and, when it names a record, to the
/// record's trail.
pub async fn write(stub: &mut dyn ChaincodeStub, entry: &AuditEntry) -> EhrResult<()> {
    let time = clock::sortable(entry.time);
    let key = keys::audit_by_patient(&entry.patient_id, &time, &entry.tx_id)?;
    store::put_sealed_json(stub, &key, entry).await?;
    if let Some(record_id) = &entry.record_id {
        let key = keys::audit_by_record(record_id, &time, &entry.tx_id)?;
        store::put_sealed_json(stub, &key, entry).await?;
    }
    Ok(())
}

/// A patient-level entry (no record) for this transaction. Break-glass
/// steps are flagged (`break_glass: true`), refused attempts included.
pub fn patient_entry(
    stub: &dyn ChaincodeStub,
    caller: &Caller,
    patient: &Patient,
    action: AuditAction,
    granted: bool,
    reason: &str,
) -> EhrResult<AuditEntry> {
    Ok(AuditEntry {
        tx_id: stub.tx_id().to_owned(),
        time: clock::tx_time(stub)?,
        action,
        patient_id: patient.patient_id.clone(),
        record_id: None,
        version: None,
        actor: caller.principal(),
        granted,
        reason: reason.to_owned(),
        break_glass: action.is_break_glass(),
    })
}

/// Logs a patient-level event that happened (consent change, break-glass step).
pub async fn log_patient_event(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    patient: &Patient,
    action: AuditAction,
    reason: &str,
) -> EhrResult<()> {
    let entry = patient_entry(stub, caller, patient, action, true, reason)?;
    write(stub, &entry).await
}

/// Emits the `access` event ([`ACCESS_EVENT`]) of a decision already
/// written as `entry`: access decisions and refused break-glass attempts.
pub fn emit_access_event(stub: &mut dyn ChaincodeStub, entry: &AuditEntry) -> EhrResult<()> {
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

/// The patient, the home hospital's administrators and doctors, and
/// auditors read a patient's trail.
pub fn require_trail_reader(caller: &Caller, patient: &Patient) -> EhrResult<()> {
    let allowed = caller.is_patient(&patient.patient_id, &patient.home_msp)
        || caller.is_member(&patient.home_msp, &[Role::Admin, Role::Doctor])
        || caller.role == Role::Auditor;
    if allowed {
        Ok(())
    } else {
        Err(denied(format!(
            "audit trails are read by the patient, the home hospital ({}) and auditors",
            patient.home_msp
        )))
    }
}

/// `audit_by_patient(pid[, page size, bookmark])`, oldest first.
pub async fn by_patient(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    pid: &str,
    page: &PageRequest,
) -> EhrResult<Page<AuditEntry>> {
    let patient = patient::load(stub, &PatientId::parse(pid)?).await?;
    require_trail_reader(caller, &patient)?;
    store::json_page(
        stub,
        keys::AUDIT_BY_PATIENT,
        &[patient.patient_id.as_str()],
        page,
    )
    .await
}

/// `audit_by_record(rid[, page size, bookmark])`, oldest first.
pub async fn by_record(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    rid: &str,
    page: &PageRequest,
) -> EhrResult<Page<AuditEntry>> {
    let record_id = RecordId::parse(rid)?;
    let head: RecordVersion = store::get_json(stub, &keys::record(&record_id)?)
        .await?
        .ok_or_else(|| EhrError::NotFound(format!("record {record_id}")))?;
    let patient = patient::load(stub, &head.meta.patient_id).await?;
    require_trail_reader(caller, &patient)?;
    store::json_page(stub, keys::AUDIT_BY_RECORD, &[record_id.as_str()], page).await
}
