//! The client's single error type.
//!
//! Owns: naming the stage that failed, and carrying what the peer said: the
//! gRPC code, its message and the `gateway.ErrorDetail` entries the Fabric
//! Gateway attaches to its status (one per peer or orderer that failed,
//! decoded from `grpc-status-details-bin`, a `google.rpc.Status`).

use crate::commit::TxValidationCode;
use fabric_proto::rpc_status;
use std::fmt;
use std::time::Duration;

/// Which step of a call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Connect,
    Endorse,
    Submit,
    CommitStatus,
    Evaluate,
    ChaincodeEvents,
    Deliver,
    Commit,
    ProcessProposal,
    Broadcast,
    Participation,
    /// Building or decoding messages locally (no call was made or the answer was unreadable).
    Local,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Stage::Connect => "connect",
            Stage::Endorse => "endorse",
            Stage::Submit => "submit",
            Stage::CommitStatus => "commit status",
            Stage::Evaluate => "evaluate",
            Stage::ChaincodeEvents => "chaincode events",
            Stage::Deliver => "deliver",
            Stage::Commit => "commit",
            Stage::ProcessProposal => "process proposal",
            Stage::Broadcast => "broadcast",
            Stage::Participation => "channel participation",
            Stage::Local => "local processing",
        };
        f.write_str(name)
    }
}

/// One `gateway.ErrorDetail`: which endorser or orderer failed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorDetail {
    pub address: String,
    pub msp_id: String,
    pub message: String,
}

/// A failed gRPC call, as the server reported it.
#[derive(Debug, Clone)]
pub struct RpcError {
    pub code: tonic::Code,
    pub message: String,
    pub details: Vec<ErrorDetail>,
}

impl RpcError {
    /// Extracts code, message and gateway error details from a tonic status.
    pub fn from_status(status: &tonic::Status) -> Self {
        Self {
            code: status.code(),
            message: status.message().to_owned(),
            details: decode_error_details(status.details()),
        }
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} ({}): {}",
            self.code, self.code as i32, self.message
        )?;
        for d in &self.details {
            write!(
                f,
                "\n  - {} ({}): {}",
                d.address,
                if d.msp_id.is_empty() { "?" } else { &d.msp_id },
                d.message
            )?;
        }
        Ok(())
    }
}

/// Decodes the `gateway.ErrorDetail` entries of a serialized `google.rpc.Status`
/// (see [`fabric_proto::rpc_status`]); other details and undecodable bytes are ignored.
pub fn decode_error_details(status_details: &[u8]) -> Vec<ErrorDetail> {
    rpc_status::decode_error_details(status_details)
        .into_iter()
        .map(|d| ErrorDetail {
            address: d.address,
            msp_id: d.msp_id,
            message: d.message,
        })
        .collect()
}

/// Encodes error details the way the Fabric Gateway does (used by tests and by servers that imitate it).
pub fn encode_error_details(code: tonic::Code, message: &str, details: &[ErrorDetail]) -> Vec<u8> {
    let details: Vec<_> = details
        .iter()
        .map(|d| fabric_proto::gateway::ErrorDetail {
            address: d.address.clone(),
            msp_id: d.msp_id.clone(),
            message: d.message.clone(),
        })
        .collect();
    rpc_status::encode_error_details(code, message, &details)
}

/// Everything the client can fail with. Each variant names its stage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The connection could not be opened: `problem` names the step, the
    /// cause (a bad URI, a TLS set-up or dial error) is the source.
    #[error("cannot connect to {endpoint}: {problem}")]
    Connect {
        endpoint: String,
        problem: &'static str,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    #[error("endorse of transaction {txid} failed: {rpc}")]
    Endorse { txid: String, rpc: RpcError },
    #[error("submit of transaction {txid} failed: {rpc}")]
    Submit { txid: String, rpc: RpcError },
    #[error("commit status of transaction {txid} failed: {rpc}")]
    CommitStatus { txid: String, rpc: RpcError },
    #[error("evaluate of transaction {txid} failed: {rpc}")]
    Evaluate { txid: String, rpc: RpcError },
    #[error("chaincode events failed: {rpc}")]
    ChaincodeEvents { rpc: RpcError },
    #[error("deliver from {endpoint} failed: {rpc}")]
    Deliver { endpoint: String, rpc: RpcError },
    /// The deliver service answered with a non-success `common.Status` (e.g. FORBIDDEN, NOT_FOUND).
    #[error("deliver from {endpoint} ended with status {status}")]
    DeliverStatus { endpoint: String, status: String },
    #[error("transaction {txid} failed to commit with status {code} in block {block_number}")]
    Commit {
        txid: String,
        code: TxValidationCode,
        block_number: u64,
    },
    #[error("proposal {txid} to {endpoint} failed: {rpc}")]
    ProcessProposal {
        endpoint: String,
        txid: String,
        rpc: RpcError,
    },
    #[error("proposal {txid} rejected by {endpoint} with status {status}: {message}")]
    ProposalRejected {
        endpoint: String,
        txid: String,
        status: i32,
        message: String,
    },
    #[error("broadcast of transaction {txid} to {endpoint} failed: {rpc}")]
    Broadcast {
        endpoint: String,
        txid: String,
        rpc: RpcError,
    },
    #[error("orderer {endpoint} rejected transaction {txid} with status {status}: {info}")]
    BroadcastRejected {
        endpoint: String,
        txid: String,
        status: String,
        info: String,
    },
    #[error("channel participation {operation} failed: HTTP {status}: {message}")]
    Participation {
        operation: &'static str,
        status: u16,
        message: String,
    },
    #[error("{stage} timed out after {after:?}")]
    Timeout { stage: Stage, after: Duration },
    #[error("malformed {what}: {msg}")]
    Malformed { what: &'static str, msg: String },
    /// Bytes that do not decode as the message they must be.
    #[error("malformed {what}")]
    Decode {
        what: &'static str,
        #[source]
        source: prost::DecodeError,
    },
    /// The channel participation client could not be set up, or a request not built.
    #[error("orderer admin client, {what}")]
    HttpSetup {
        what: String,
        #[source]
        source: reqwest::Error,
    },
    /// An address that does not resolve.
    #[error("{address} does not resolve")]
    Resolve {
        address: String,
        #[source]
        source: Option<std::io::Error>,
    },
    #[error("chaincode package: {0}")]
    Package(#[from] fabric_package::PackageError),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A channel configuration that cannot be read or changed as asked.
    #[error("channel config")]
    Config(#[from] fabric_configtx::ConfigError),
    /// No config update could be computed (e.g. nothing would change).
    #[error("config update")]
    ComputeUpdate(#[from] fabric_configtx::compute::ComputeError),
}

impl Error {
    /// The stage that failed.
    pub fn stage(&self) -> Stage {
        match self {
            Error::Connect { .. } => Stage::Connect,
            Error::Endorse { .. } => Stage::Endorse,
            Error::Submit { .. } => Stage::Submit,
            Error::CommitStatus { .. } => Stage::CommitStatus,
            Error::Evaluate { .. } => Stage::Evaluate,
            Error::ChaincodeEvents { .. } => Stage::ChaincodeEvents,
            Error::Deliver { .. } | Error::DeliverStatus { .. } => Stage::Deliver,
            Error::Commit { .. } => Stage::Commit,
            Error::ProcessProposal { .. } | Error::ProposalRejected { .. } => {
                Stage::ProcessProposal
            }
            Error::Broadcast { .. } | Error::BroadcastRejected { .. } => Stage::Broadcast,
            Error::Participation { .. } => Stage::Participation,
            Error::Timeout { stage, .. } => *stage,
            Error::Malformed { .. }
            | Error::Decode { .. }
            | Error::Package(_)
            | Error::InvalidArgument(_)
            | Error::Config(_)
            | Error::ComputeUpdate(_) => Stage::Local,
            Error::HttpSetup { .. } | Error::Resolve { .. } => Stage::Participation,
        }
    }

    /// The failed gRPC call, if this error came from one.
    pub fn rpc(&self) -> Option<&RpcError> {
        match self {
            Error::Endorse { rpc, .. }
            | Error::Submit { rpc, .. }
            | Error::CommitStatus { rpc, .. }
            | Error::Evaluate { rpc, .. }
            | Error::ChaincodeEvents { rpc }
            | Error::Deliver { rpc, .. }
            | Error::ProcessProposal { rpc, .. }
            | Error::Broadcast { rpc, .. } => Some(rpc),
            _ => None,
        }
    }

    /// The gRPC status code, if this error came from a gRPC call.
    pub fn code(&self) -> Option<tonic::Code> {
        self.rpc().map(|r| r.code)
    }

    /// The gateway's per-peer error details (empty if none).
    pub fn details(&self) -> &[ErrorDetail] {
        self.rpc().map(|r| r.details.as_slice()).unwrap_or(&[])
    }

    /// The validation code of a failed commit.
    pub fn validation_code(&self) -> Option<TxValidationCode> {
        match self {
            Error::Commit { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// A decode failure of `what`, cause kept.
    pub(crate) fn decode(what: &'static str) -> impl FnOnce(prost::DecodeError) -> Self {
        move |source| Error::Decode { what, source }
    }

    pub(crate) fn malformed(what: &'static str, err: impl fmt::Display) -> Self {
        Error::Malformed {
            what,
            msg: err.to_string(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(address: &str, msp: &str, message: &str) -> ErrorDetail {
        ErrorDetail {
            address: address.into(),
            msp_id: msp.into(),
            message: message.into(),
        }
    }

    #[test]
    fn error_details_round_trip_through_a_tonic_status() {
        let details = vec![
            detail("peer0.org1:7051", "Org1MSP", "chaincode response 500, boom"),
            detail("peer0.org2:9051", "Org2MSP", "access denied"),
        ];
        let bytes = encode_error_details(tonic::Code::Aborted, "failed to endorse", &details);
        let status =
            tonic::Status::with_details(tonic::Code::Aborted, "failed to endorse", bytes.into());
        let rpc = RpcError::from_status(&status);
        assert_eq!(rpc.code, tonic::Code::Aborted);
        assert_eq!(rpc.message, "failed to endorse");
        assert_eq!(rpc.details, details);
        let text = rpc.to_string();
        assert!(
            text.contains("peer0.org2:9051 (Org2MSP): access denied"),
            "{text}"
        );
    }

    #[test]
    fn garbage_details_are_ignored() {
        assert!(decode_error_details(&[0xff, 0xff, 0xff]).is_empty());
        assert!(decode_error_details(&[]).is_empty());
    }

    #[test]
    fn error_accessors_name_stage_code_and_details() {
        let err = Error::Endorse {
            txid: "t1".into(),
            rpc: RpcError {
                code: tonic::Code::FailedPrecondition,
                message: "no peers".into(),
                details: vec![detail("p", "Org1MSP", "down")],
            },
        };
        assert_eq!(err.stage(), Stage::Endorse);
        assert_eq!(err.code(), Some(tonic::Code::FailedPrecondition));
        assert_eq!(err.details().len(), 1);
        assert!(err
            .to_string()
            .starts_with("endorse of transaction t1 failed"));
    }

    #[test]
    fn commit_error_names_the_validation_code() {
        let err = Error::Commit {
            txid: "abc".into(),
            code: TxValidationCode(11),
            block_number: 9,
        };
        assert_eq!(
            err.to_string(),
            "transaction abc failed to commit with status MVCC_READ_CONFLICT (11) in block 9"
        );
        assert_eq!(err.validation_code(), Some(TxValidationCode(11)));
    }
}
