//! Why an EHR call failed. Every variant becomes a status-500 response whose
//! message is the variant's text, so texts name the rule that was broken and
//! never carry health data or key material.

use fabric_shim::ShimError;
use healthblock_ehr_types::code::ErrorCode;
use healthblock_ehr_types::TypeError;
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

impl EhrError {
    /// The failure code a client reads back from this error's message
    /// (every message of a coded variant opens with the code's words).
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            EhrError::Argument(_) => Some(ErrorCode::InvalidArgument),
            EhrError::Identity(_) => Some(ErrorCode::Identity),
            EhrError::Denied(_) => Some(ErrorCode::PermissionDenied),
            EhrError::NotFound(_) => Some(ErrorCode::NotFound),
            EhrError::Conflict(_) => Some(ErrorCode::Conflict),
            EhrError::Arity { .. } | EhrError::Ledger(_) | EhrError::Json(_) => None,
        }
    }
}

/// A value refused while parsing reads like any other invalid argument.
impl From<TypeError> for EhrError {
    fn from(e: TypeError) -> Self {
        EhrError::Argument(e.reason)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_coded_message_opens_with_its_code() {
        let errors = [
            EhrError::Argument("x".into()),
            EhrError::Identity("x".into()),
            EhrError::Denied("x".into()),
            EhrError::NotFound("x".into()),
            EhrError::Conflict("x".into()),
        ];
        for e in errors {
            let code = e.code().expect("coded variant");
            let text = e.to_string();
            assert_eq!(text, format!("{}: x", code.prefix()));
            assert_eq!(ErrorCode::find(&text), Some(code));
            // As the peer wraps it for the client.
            assert_eq!(
                ErrorCode::find(&format!("chaincode response 500, {text}")),
                Some(code)
            );
        }
    }
}
