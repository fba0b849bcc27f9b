//! Who may read a record, in one place. `request_access` and every metadata
//! read (get, list, history, verify) ask [`PatientAccess::decide`].
//!
//! Rules, in order:
//! 1. auditors never receive key material (`request_access` is denied);
//!    they may read metadata;
//! 2. a patient reaches their own records only;
//! 3. the home hospital's doctors, nurses and administrators reach its
//!    patients' records;
//! 4. other doctors and nurses need an active consent addressed to their
//!    hospital or to them, covering the record;
//! 5. failing that, a doctor's own break-glass opening in force for the
//!    patient: not expired and not yet reviewed (never a nurse's: nurses
//!    read only what consent allows).

use fabric_shim::ChaincodeStub;

use super::breakglass::{self, BreakGlassCheck};
use super::consent::{self, ConsentCheck};
use super::error::EhrResult;
use super::keys;
use super::model::{
    BreakGlass, BreakGlassReview, Consent, Patient, RecordVersion, Role, Timestamp,
};
use super::roles::Caller;
use super::store;

/// Why access is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Basis {
    /// The caller is the patient.
    Owner,
    /// The caller works at the home hospital.
    HomeHospital,
    /// An active consent.
    Consent(String),
    /// An active break-glass opening of the caller.
    BreakGlass(String),
}

impl Basis {
    /// Text for audit entries and responses.
    pub fn describe(&self) -> String {
        match self {
            Basis::Owner => "patient's own record".into(),
            Basis::HomeHospital => "home hospital".into(),
            Basis::Consent(id) => format!("consent {id}"),
            Basis::BreakGlass(id) => format!("break-glass {id}"),
        }
    }

    /// True for break-glass access, which is flagged for review.
    pub fn is_break_glass(&self) -> bool {
        matches!(self, Basis::BreakGlass(_))
    }
}

/// What a caller may do with one patient's records; consents and
/// break-glass events are loaded once per patient, and only when needed.
#[derive(Debug, Clone)]
pub struct PatientAccess {
    patient: Patient,
    consents: Vec<Consent>,
    break_glass: Vec<BreakGlass>,
    reviews: Vec<BreakGlassReview>,
}

impl PatientAccess {
    /// Loads what deciding for `caller` needs about `patient`.
    pub async fn load(
        stub: &mut dyn ChaincodeStub,
        caller: &Caller,
        patient: Patient,
    ) -> EhrResult<Self> {
        let needs_grants = caller.role.is_clinician() && caller.mspid != patient.home_msp;
        let pid = patient.patient_id.as_str();
        let consents = if needs_grants {
            store::json_all(stub, keys::CONSENT, &[pid]).await?
        } else {
            Vec::new()
        };
        let (break_glass, reviews) = if needs_grants && caller.role == Role::Doctor {
            (
                store::json_all(stub, keys::BREAK_GLASS, &[pid]).await?,
                store::json_all(stub, keys::BREAK_GLASS_REVIEW, &[pid]).await?,
            )
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(PatientAccess {
            patient,
            consents,
            break_glass,
            reviews,
        })
    }

    /// The patient.
    pub fn patient(&self) -> &Patient {
        &self.patient
    }

    /// May `caller` obtain key material for `record` at `now`? `Err` holds
    /// the reason of a denial.
    pub fn decide(
        &self,
        caller: &Caller,
        record: &RecordVersion,
        now: Timestamp,
    ) -> Result<Basis, String> {
        let home = &self.patient.home_msp;
        match caller.role {
            Role::Auditor => {
                return Err("auditors read audit trails and metadata, never key material".into())
            }
            Role::Patient if caller.is_patient(&record.meta.patient_id, home) => {
                return Ok(Basis::Owner)
            }
            Role::Patient => return Err("a patient may access only their own records".into()),
            _ if caller.mspid == *home => return Ok(Basis::HomeHospital),
            Role::Admin => {
                return Err(format!(
                    "administrators of {} have no access to records of {home}",
                    caller.mspid
                ))
            }
            Role::Doctor | Role::Nurse => {}
        }
        let refused = match consent::check(
            &self.consents,
            caller,
            &record.meta.record_id,
            &record.meta.resource_type,
            now,
        ) {
            ConsentCheck::Allowed { consent_id } => return Ok(Basis::Consent(consent_id)),
            ConsentCheck::Refused(reason) => reason,
        };
        match breakglass::check(&self.break_glass, &self.reviews, caller, now) {
            BreakGlassCheck::Active { break_glass_id } => Ok(Basis::BreakGlass(break_glass_id)),
            BreakGlassCheck::Expired { break_glass_id } => Err(format!(
                "{refused}; break-glass {break_glass_id} has expired"
            )),
            BreakGlassCheck::Closed { break_glass_id } => Err(format!(
                "{refused}; break-glass {break_glass_id} was reviewed and is closed"
            )),
            BreakGlassCheck::None => Err(refused),
        }
    }

    /// May `caller` read `record`'s metadata (no key material)? Auditors
    /// may; everyone else as for access.
    pub fn may_read_metadata(
        &self,
        caller: &Caller,
        record: &RecordVersion,
        now: Timestamp,
    ) -> bool {
        caller.role == Role::Auditor || self.decide(caller, record, now).is_ok()
    }
}
