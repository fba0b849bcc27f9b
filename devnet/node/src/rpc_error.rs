//! gRPC errors shaped like Fabric's gateway errors: a status code, a message
//! and, in `grpc-status-details-bin`, a `google.rpc.Status` whose details are
//! `gateway.ErrorDetail{address, msp_id, message}` per failed node. The
//! official SDKs decode exactly this to report which endorser or orderer failed.
//!
//! Owns: building such statuses on the devnet's side; the wire format itself
//! lives in [`fabric_proto::rpc_status`].

use fabric_proto::gateway::ErrorDetail;
use fabric_proto::rpc_status;
use tonic::{Code, Status};

/// A status with `details` attached as Fabric's gateway attaches them.
pub fn rpc_error(code: Code, message: impl Into<String>, details: &[ErrorDetail]) -> Status {
    let message = message.into();
    if details.is_empty() {
        return Status::new(code, message);
    }
    let bytes = rpc_status::encode_error_details(code, &message, details);
    Status::with_details(code, message, bytes::Bytes::from(bytes))
}

/// The `ErrorDetail`s carried by a status (empty when none); used by tests and clients.
pub fn error_details(status: &Status) -> Vec<ErrorDetail> {
    rpc_status::decode_error_details(status.details())
}

/// One node's failure.
pub fn detail(address: &str, mspid: &str, message: impl Into<String>) -> ErrorDetail {
    ErrorDetail {
        address: address.to_owned(),
        msp_id: mspid.to_owned(),
        message: message.into(),
    }
}
