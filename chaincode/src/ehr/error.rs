//! Why an EHR call failed. Every variant becomes a status-500 response whose
//! message is the variant's text, so texts name the rule that was broken and
//! never carry health data or key material.

use fabric_shim::ShimError;
use thiserror::Error;

/// A failed EHR call.
#[derive(Debug, Error)]
pub enum EhrError {
    /// Wrong number of arguments.
    #[error("{function} expects {expected} arguments, got {got}")]
    Arity {
        /// Function called.
        function: String,
        /// What it accepts, e.g. "1" or "1 to 3".
        expected: String,
        /// Arguments given.
        got: usize,
    },
    /// An argument is malformed.
    #[error("invalid argument: {0}")]
    Argument(String),
    /// The caller's identity carries no usable role.
    #[error("identity: {0}")]
    Identity(String),
    /// The caller's role or organisation may not do this.
    #[error("permission denied: {0}")]
    Denied(String),
    /// A patient, record or consent does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The call conflicts with the ledger (duplicate, stale version).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A ledger call failed.
    #[error(transparent)]
    Ledger(#[from] ShimError),
    /// Stored or returned JSON did not (de)serialize.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Result of an EHR operation.
pub type EhrResult<T> = Result<T, EhrError>;

/// Shorthand for a permission denial.
pub(crate) fn denied(reason: impl Into<String>) -> EhrError {
    EhrError::Denied(reason.into())
}

/// Shorthand for a malformed argument.
pub(crate) fn invalid(reason: impl Into<String>) -> EhrError {
    EhrError::Argument(reason.into())
}
