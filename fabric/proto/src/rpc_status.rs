//! `google.rpc.Status` and the Fabric Gateway's error details inside it.
//!
//! Owns: the `google.rpc.Status` message (not part of Fabric's protos, so
//! declared here by hand; field numbers are gRPC's) and encoding/decoding the
//! `gateway.ErrorDetail{address, msp_id, message}` entries the Gateway
//! attaches to a failed call's `grpc-status-details-bin` (one per endorser or
//! orderer that failed). The devnet encodes them; the client decodes them.

use crate::gateway::ErrorDetail;
use prost::Message;

/// `google.rpc.Status`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<prost_types::Any>,
}

/// The fully qualified protobuf name of `gateway.ErrorDetail`.
const ERROR_DETAIL_NAME: &str = "gateway.ErrorDetail";
/// The type URL prefix Go's `anypb` writes.
const TYPE_URL_PREFIX: &str = "type.googleapis.com/";

/// The serialized `google.rpc.Status` carrying `details`, as the Fabric Gateway builds it.
pub fn encode_error_details(code: tonic::Code, message: &str, details: &[ErrorDetail]) -> Vec<u8> {
    RpcStatus {
        code: code as i32,
        message: message.to_owned(),
        details: details
            .iter()
            .map(|d| prost_types::Any {
                type_url: format!("{TYPE_URL_PREFIX}{ERROR_DETAIL_NAME}"),
                value: d.encode_to_vec(),
            })
            .collect(),
    }
    .encode_to_vec()
}

/// The `gateway.ErrorDetail` entries of a serialized `google.rpc.Status`.
/// Details of other types, and undecodable bytes, are ignored: they are
/// diagnostics of a call that has already failed for its own reason.
pub fn decode_error_details(status_details: &[u8]) -> Vec<ErrorDetail> {
    if status_details.is_empty() {
        return Vec::new();
    }
    let Ok(status) = RpcStatus::decode(status_details) else {
        return Vec::new();
    };
    status
        .details
        .iter()
        // Any type URL host is allowed; the message name after the last `/` decides.
        .filter(|any| any.type_url.rsplit('/').next() == Some(ERROR_DETAIL_NAME))
        .filter_map(|any| ErrorDetail::decode(any.value.as_slice()).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(address: &str, msp_id: &str, message: &str) -> ErrorDetail {
        ErrorDetail {
            address: address.into(),
            msp_id: msp_id.into(),
            message: message.into(),
        }
    }

    #[test]
    fn details_round_trip() {
        let details = vec![
            detail("p0:7051", "Org1MSP", "boom"),
            detail("p1:9051", "", "x"),
        ];
        let bytes = encode_error_details(tonic::Code::Aborted, "failed", &details);
        let status = RpcStatus::decode(bytes.as_slice()).unwrap();
        assert_eq!(status.code, tonic::Code::Aborted as i32);
        assert_eq!(status.message, "failed");
        assert_eq!(
            status.details[0].type_url,
            "type.googleapis.com/gateway.ErrorDetail"
        );
        assert_eq!(decode_error_details(&bytes), details);
    }

    #[test]
    fn other_detail_types_and_garbage_are_ignored() {
        let status = RpcStatus {
            code: 2,
            message: "x".into(),
            details: vec![
                prost_types::Any {
                    type_url: "type.googleapis.com/google.rpc.DebugInfo".into(),
                    value: vec![1, 2, 3],
                },
                prost_types::Any {
                    type_url: "example.org/gateway.ErrorDetail".into(),
                    value: detail("a", "M", "m").encode_to_vec(),
                },
            ],
        };
        assert_eq!(
            decode_error_details(&status.encode_to_vec()),
            vec![detail("a", "M", "m")]
        );
        assert!(decode_error_details(&[0xff, 0xff, 0xff]).is_empty());
        assert!(decode_error_details(&[]).is_empty());
    }
}
