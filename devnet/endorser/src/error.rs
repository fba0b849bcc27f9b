//! The endorser's error type.
//!
//! Owns: what can go wrong on a peer's endorsement path, each failure with
//! its cause attached (`source()`), and the text a Fabric peer would answer
//! with as its `Display`. The gRPC edge (`Endorser::process_proposal`, the
//! `_lifecycle` responses) turns an error into Fabric's words with
//! `to_string()` and nowhere else, so the texts clients and tests compare
//! stay byte for byte those of Fabric.

use fabric_package::PackageError;

/// Everything the endorsement path can fail with.
#[derive(Debug, thiserror::Error)]
pub enum EndorserError {
    /// A protobuf message that did not decode (Fabric: `error unmarshalling ...`).
    #[error("error unmarshalling {what}: {source}")]
    Unmarshal {
        what: &'static str,
        #[source]
        source: prost::DecodeError,
    },
    /// A message the auth filter could not parse (Fabric: `failed parsing ...`).
    #[error("failed parsing {what}: {source}")]
    Parse {
        what: &'static str,
        #[source]
        source: prost::DecodeError,
    },
    /// Stored or submitted bytes that do not decode as the message they must be.
    #[error("{context}: {source}")]
    Decode {
        context: String,
        #[source]
        source: prost::DecodeError,
    },
    /// An install package that is not a valid one.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// A package's `connection.json` template that this peer's CCaaS builder
    /// configuration cannot render.
    #[error("{context}: {source}")]
    Template {
        context: String,
        #[source]
        source: fabric_package::ccaas_template::TemplateError,
    },
    /// A package id that cannot name a file of the package store.
    #[error("invalid package id '{0}'")]
    InvalidPackageId(String),
    /// A file of the package store that could not be read or written.
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The peer's ledger failed under a read.
    #[error("{context}: {source}")]
    Ledger {
        context: String,
        #[source]
        source: devnet_ledger::LedgerError,
    },
    /// A policy that does not parse or resolve.
    #[error("{context}: {source}")]
    Policy {
        context: String,
        #[source]
        source: fabric_policy::PolicyError,
    },
    /// The chaincode server could not be reached or dropped the stream.
    #[error("{context}: {source}")]
    Transport {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The chaincode's gRPC stream answered with an error status (its message is what Fabric quotes).
    #[error("{context}: {}", .status.message())]
    Stream {
        context: String,
        #[source]
        status: tonic::Status,
    },
    /// A refusal in Fabric's words that has no underlying error (a failed
    /// check of the proposal, the chaincode's state or the caller's rights).
    #[error("{0}")]
    Refused(String),
    /// A failure of an inner step, with the step Fabric names in front of it.
    #[error("{context}: {source}")]
    Context {
        context: String,
        #[source]
        source: Box<EndorserError>,
    },
}

impl EndorserError {
    /// A refusal in Fabric's words.
    pub(crate) fn refused(message: impl Into<String>) -> Self {
        EndorserError::Refused(message.into())
    }

    /// This error behind `context` (`"<context>: <this>"`), cause kept.
    /// A transport failure (dialling, TLS set-up) behind `context`.
    pub(crate) fn transport(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        EndorserError::Transport {
            context: context.into(),
            source: Box::new(source),
        }
    }

    pub(crate) fn context(self, context: impl Into<String>) -> Self {
        EndorserError::Context {
            context: context.into(),
            source: Box::new(self),
        }
    }
}

pub(crate) type Result<T, E = EndorserError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn context_keeps_the_cause_and_fabrics_text() {
        let inner = EndorserError::refused("could not find chaincode with name 'kv'");
        let outer = inner.context("make sure the chaincode kv has been successfully defined");
        assert_eq!(
            outer.to_string(),
            "make sure the chaincode kv has been successfully defined: could not find chaincode with name 'kv'"
        );
        assert_eq!(
            outer.source().map(|s| s.to_string()).as_deref(),
            Some("could not find chaincode with name 'kv'")
        );
    }
}
