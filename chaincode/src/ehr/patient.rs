//! Patients: registration under a pseudonym at a home hospital, and lookup.
//!
//! The pseudonym is a keyed hash computed by the client; the contract only
//! checks its shape (64 hex digits) and never receives names or record
//! numbers. The home hospital is the registering caller's organisation, and
//! the every-hospital chaincode policy makes that hospital endorse the key.

use fabric_shim::ChaincodeStub;

use super::clock;
use super::error::{EhrError, EhrResult};
use super::keys;
use super::model::{Patient, PatientId, Role};
use super::roles::Caller;
use super::store;

/// `register_patient(pid)`: admin or doctor; home = caller's MSP.
pub async fn register(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    pid: &str,
) -> EhrResult<Patient> {
    caller.require_role(&[Role::Admin, Role::Doctor], "register patients")?;
    let patient_id = PatientId::parse(pid)?;
    let key = keys::patient(&patient_id)?;
    if stub.get_state(&key).await?.is_some() {
        return Err(EhrError::Conflict(format!(
            "patient {patient_id} is already registered"
        )));
    }
    let patient = Patient {
        patient_id,
        home_msp: caller.mspid.clone(),
        registered_by: caller.principal(),
        registered_at: clock::tx_time(stub)?,
        tx_id: stub.tx_id().to_owned(),
    };
    store::put_json(stub, &key, &patient).await?;
    Ok(patient)
}

/// Loads a patient or fails with "not found".
pub async fn load(stub: &mut dyn ChaincodeStub, patient_id: &PatientId) -> EhrResult<Patient> {
    store::get_json(stub, &keys::patient(patient_id)?)
        .await?
        .ok_or_else(|| EhrError::NotFound(format!("patient {patient_id} is not registered")))
}

/// `get_patient(pid)`: any caller with a role. The document holds only the
/// pseudonym and the home hospital, which other hospitals need in order to
/// ask for consent.
pub async fn get(stub: &mut dyn ChaincodeStub, pid: &str) -> EhrResult<Patient> {
    load(stub, &PatientId::parse(pid)?).await
}
