//! Owns: the one error of this crate, a malformed identifier, argument or
//! document. Its text reads exactly like the contract's own "invalid
//! argument" failures, so a value refused while parsing JSON reads the same
//! as one refused by a check in the contract.

use thiserror::Error;

/// A value that does not have the shape the contract accepts.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid argument: {reason}")]
pub struct TypeError {
    /// Which rule was broken.
    pub reason: String,
}

/// Shorthand for a [`TypeError`].
pub(crate) fn invalid(reason: impl Into<String>) -> TypeError {
    TypeError {
        reason: reason.into(),
    }
}
