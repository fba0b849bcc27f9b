//! Owns: the key directory's vocabulary. Every party a data key is wrapped
//! for publishes its own encryption public key on the ledger, in a
//! transaction it signs itself; the contract derives the owner from the
//! signer, so no one publishes (or replaces) a key for someone else, and a
//! client seals wraps only to published keys.
//!
//! Owners: a user is `CN@MSP`, a patient `patient:<id>` (published by the
//! patient's own identity, enrolled at their home hospital), a hospital
//! `hospital:<MSP>` (published by one of that hospital's administrators).

use serde::{Deserialize, Serialize};

use crate::model::{PatientId, Principal, Timestamp};

/// The second argument of `publish_key`/`revoke_key` that names the caller's
/// hospital's key instead of the caller's own.
pub const HOSPITAL_SCOPE: &str = "hospital";

/// The directory owner of a hospital's key.
pub fn hospital_owner(mspid: &str) -> String {
    format!("hospital:{mspid}")
}

/// The directory owner of a patient's key (the patient's user id).
pub fn patient_owner(pid: &PatientId) -> String {
    format!("patient:{pid}")
}

/// A published encryption public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedKey {
    /// Whose key: `CN@MSP`, `patient:<id>` or `hospital:<MSP>`.
    pub owner: String,
    /// The P-256 public key, SPKI PEM.
    pub public_key_pem: String,
    /// SHA-256 of the SPKI DER, hex: the name of every wrap sealed to it.
    pub fingerprint: String,
    /// Who published it (the owner, or for a hospital one of its administrators).
    pub published_by: Principal,
    /// When.
    pub published_at: Timestamp,
    /// The publishing transaction.
    pub tx_id: String,
    /// Set when the owner revoked it: no new wrap is sealed to it.
    pub revoked_at: Option<Timestamp>,
}
