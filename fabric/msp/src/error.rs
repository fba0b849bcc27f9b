//! Errors raised while loading, signing or validating identities.

/// Everything that can go wrong with an identity. Messages never contain key material.
#[derive(Debug, thiserror::Error)]
pub enum MspError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("bad certificate: {0}")]
    BadCertificate(String),
    #[error("bad private key: {0}")]
    BadKey(String),
    #[error("bad serialized identity: {0}")]
    BadIdentity(String),
    #[error("unknown MSP {0:?}")]
    UnknownMsp(String),
    #[error("certificate of {subject} does not chain to a CA of {mspid}")]
    UntrustedChain { subject: String, mspid: String },
    #[error("certificate of {subject} is not valid at {at} (valid {not_before} .. {not_after})")]
    Expired {
        subject: String,
        at: i64,
        not_before: i64,
        not_after: i64,
    },
    #[error("signature is malformed: {0}")]
    MalformedSignature(String),
    #[error("signature has a high S value (Fabric accepts only low-S)")]
    HighS,
    #[error("signature does not verify")]
    BadSignature,
    #[error("MSP config: {0}")]
    Config(String),
}
