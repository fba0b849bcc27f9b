//! The one error type of the shim: what can go wrong between a contract, the
//! stub and the peer.

use thiserror::Error;

/// Errors returned by stub calls, proposal decoding and the server.
#[derive(Debug, Error)]
pub enum ShimError {
    /// A key or composite-key component breaks Fabric's key rules.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// An argument to a stub call is unusable (empty event name, bad page size, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The peer answered a ledger call with ERROR; the text is the peer's.
    #[error("peer error: {0}")]
    Peer(String),
    /// The peer broke the shim protocol (unexpected reply type, inconsistent query).
    #[error("protocol error: {0}")]
    Protocol(String),
    /// Bytes that should hold a protobuf message did not decode.
    #[error("cannot decode {what}: {source}")]
    Decode {
        /// Which message was being decoded.
        what: &'static str,
        /// The protobuf decoding failure.
        #[source]
        source: prost::DecodeError,
    },
    /// The transaction carries no usable creator identity.
    #[error("creator identity unavailable: {0}")]
    Creator(String),
    /// The stream to the peer is gone; no further ledger calls are possible.
    #[error("the stream to the peer is closed")]
    StreamClosed,
    /// A message would exceed Fabric's gRPC message size limit.
    #[error("message of {size} bytes exceeds the {limit}-byte limit")]
    MessageTooLarge {
        /// Encoded size of the message.
        size: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The operation is not available on this ledger (e.g. private data in memory).
    #[error("not supported: {0}")]
    Unsupported(String),
    /// Server configuration is missing or invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// The gRPC server failed.
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// Socket or file I/O failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl ShimError {
    /// Wraps a protobuf decoding failure, naming the message.
    pub(crate) fn decode(what: &'static str, source: prost::DecodeError) -> Self {
        ShimError::Decode { what, source }
    }
}

/// Result alias used throughout the shim.
pub type Result<T, E = ShimError> = std::result::Result<T, E>;
