//! The record context: which record, which version, whose. It is bound into
//! every chunk (through the authenticated header) and into every key wrap, so
//! a ciphertext or a wrap cannot be passed off as another record's.

use std::fmt;

use crate::error::{Result, WbcbError};

/// Longest accepted record id or patient pseudonym, in bytes.
pub const MAX_CONTEXT_FIELD: usize = 256;

/// Identifies one version of one record of one patient.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordContext {
    /// Application record id (as on the ledger).
    pub record_id: String,
    /// Record version; every version gets a fresh data key.
    pub version: u64,
    /// The patient's pseudonym (a keyed hash, never a name or MRN).
    pub patient_pseudonym: String,
}

impl RecordContext {
    /// Builds a context, checking that both text fields are usable.
    pub fn new(
        record_id: impl Into<String>,
        version: u64,
        patient_pseudonym: impl Into<String>,
    ) -> Result<Self> {
        let ctx = Self {
            record_id: record_id.into(),
            version,
            patient_pseudonym: patient_pseudonym.into(),
        };
        ctx.validate()?;
        Ok(ctx)
    }

    /// Checks the field lengths the binary format can carry.
    pub fn validate(&self) -> Result<()> {
        check_field(
            &self.record_id,
            "record id is empty",
            "record id is longer than 256 bytes",
        )?;
        check_field(
            &self.patient_pseudonym,
            "patient pseudonym is empty",
            "patient pseudonym is longer than 256 bytes",
        )
    }
}

fn check_field(value: &str, empty: &'static str, too_long: &'static str) -> Result<()> {
    match value.len() {
        0 => Err(WbcbError::InvalidContext(empty)),
        n if n > MAX_CONTEXT_FIELD => Err(WbcbError::InvalidContext(too_long)),
        _ => Ok(()),
    }
}

impl fmt::Display for RecordContext {
    // The pseudonym is left out on purpose: this string appears in errors.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "record {:?} version {}", self.record_id, self.version)
    }
}
