//! Errors of the object store. Messages name the object, never its content.

/// What went wrong in a store operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("blob {0} not found in the store")]
    BlobNotFound(String),
    #[error("no wrap for key {recipient} beside blob {blob}")]
    WrapNotFound { blob: String, recipient: String },
    #[error("invalid object name: {0}")]
    InvalidName(String),
    #[error("stored blob {0} does not match its hash (corrupted or altered in storage)")]
    Integrity(String),
    #[error("storage I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("the object store refused access (this credential may not do that here): {0}")]
    AccessDenied(String),
    #[error("S3 store error: {0}")]
    S3(String),
    #[error("S3 configuration: {0}")]
    Config(String),
}

/// Result alias of the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<object_store::Error> for StoreError {
    fn from(err: object_store::Error) -> Self {
        if is_refusal(&err) {
            StoreError::AccessDenied(err.to_string())
        } else {
            StoreError::S3(err.to_string())
        }
    }
}

/// Whether the service refused the credential: HTTP 401/403, or a refused
/// key inside a batch answer (a `DeleteObjects` reply carries each key's S3
/// error code, which `object_store` reports as a generic error).
pub(crate) fn is_refusal(err: &object_store::Error) -> bool {
    match err {
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => true,
        object_store::Error::Generic { source, .. } => {
            source.to_string().contains("(code: AccessDenied)")
        }
        _ => false,
    }
}
