//! Errors of the identity crate: each says what failed and, where it helps, what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("invalid {what}: {message}")]
    InvalidArgument { what: &'static str, message: String },
    #[error("unknown organisation {name:?} (known: {known})")]
    UnknownOrg { name: String, known: String },
    #[error("the {org} CA at {url} is not reachable: {reason} (is the network up? `healthblock network up`)")]
    Unreachable {
        org: String,
        url: String,
        reason: String,
    },
    #[error("the {org} CA refused {operation} ({status}): {message}")]
    Refused {
        org: String,
        operation: &'static str,
        status: u16,
        message: String,
    },
    #[error("the {org} CA answered {operation} with something unexpected: {message}")]
    BadResponse {
        org: String,
        operation: &'static str,
        message: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("wallet entry {path}: {message}")]
    Wallet { path: PathBuf, message: String },
    #[error("no identity {name} in the wallet {dir} (enroll it: `healthblock user enroll`)")]
    NotInWallet { name: String, dir: PathBuf },
    #[error("key or certificate: {0}")]
    Crypto(String),
    #[error(transparent)]
    Msp(#[from] fabric_msp::MspError),
    #[error(transparent)]
    Ca(#[from] healthblock_consortium::ca::RegistrarError),
}

impl IdentityError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn invalid(what: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidArgument {
            what,
            message: message.into(),
        }
    }
}

pub type Result<T, E = IdentityError> = std::result::Result<T, E>;
