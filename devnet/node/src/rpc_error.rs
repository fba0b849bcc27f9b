//! gRPC errors shaped like Fabric's gateway errors: a status code, a message
//! and, in `grpc-status-details-bin`, a `google.rpc.Status` whose details are
//! `gateway.ErrorDetail{address, msp_id, message}` per failed node. The
//! official SDKs decode exactly this to report which endorser or orderer failed.

use fabric_proto::gateway::ErrorDetail;
use prost::Message;
use tonic::{Code, Status};

/// `google.rpc.Status` (not part of Fabric's protos, so declared here).
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types::Any>,
}

const ERROR_DETAIL_TYPE: &str = "type.googleapis.com/gateway.ErrorDetail";

/// A status with `details` attached as Fabric's gateway attaches them.
pub fn rpc_error(code: Code, message: impl Into<String>, details: &[ErrorDetail]) -> Status {
    let message = message.into();
    if details.is_empty() {
        return Status::new(code, message);
    }
    let status = RpcStatus {
        code: code as i32,
        message: message.clone(),
        details: details
            .iter()
            .map(|d| prost_types::Any {
                type_url: ERROR_DETAIL_TYPE.into(),
                value: d.encode_to_vec(),
            })
            .collect(),
    };
    Status::with_details(code, message, bytes::Bytes::from(status.encode_to_vec()))
}

/// The `ErrorDetail`s carried by a status (empty when none); used by tests and clients.
pub fn error_details(status: &Status) -> Vec<ErrorDetail> {
    let Ok(decoded) = RpcStatus::decode(status.details()) else {
        return Vec::new();
    };
    decoded
        .details
        .iter()
        .filter(|a| a.type_url == ERROR_DETAIL_TYPE)
        .filter_map(|a| ErrorDetail::decode(a.value.as_slice()).ok())
        .collect()
}

/// One node's failure.
pub fn detail(address: &str, mspid: &str, message: impl Into<String>) -> ErrorDetail {
    ErrorDetail {
        address: address.to_owned(),
        msp_id: mspid.to_owned(),
        message: message.into(),
    }
}
