//! Reading a client's request stream (Deliver, DeliverFiltered,
//! DeliverWithPrivateData, Broadcast).
//!
//! Owns: how a failed read ends the response stream. Fabric's handlers return
//! the error of `Recv` as is, and Go's gRPC server reports a request message
//! that does not decode as INTERNAL "grpc: failed to unmarshal the received
//! message: <proto error>"; the devnet answers with the same code and prefix
//! (the protobuf library's own description follows it, as in Go).

use tonic::{Code, Status};

/// Go's gRPC server message for a request message that does not decode.
pub(crate) const UNMARSHAL_FAILED: &str = "grpc: failed to unmarshal the received message";

/// How tonic's prost codec words a decode failure (`prost::DecodeError`'s
/// display), which it reports as INTERNAL.
const PROST_DECODE_PREFIX: &str = "failed to decode Protobuf message: ";

/// The status that ends a response stream whose request stream failed with
/// `status`: a decode failure in Go gRPC's words, anything else unchanged.
pub(crate) fn request_stream_error(status: Status) -> Status {
    match status.message().strip_prefix(PROST_DECODE_PREFIX) {
        Some(cause) if status.code() == Code::Internal => {
            Status::internal(format!("{UNMARSHAL_FAILED}: {cause}"))
        }
        _ => status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn decode_failures_read_like_go_grpc() {
        // What tonic's codec makes of an undecodable Envelope.
        let err = fabric_proto::common::Envelope::decode(&[0x0a, 0x05, 0x01][..])
            .expect_err("truncated field");
        let status = request_stream_error(Status::internal(err.to_string()));
        assert_eq!(status.code(), Code::Internal);
        assert!(
            status
                .message()
                .starts_with("grpc: failed to unmarshal the received message: "),
            "{}",
            status.message()
        );
        assert!(!status.message().contains(PROST_DECODE_PREFIX));
    }

    #[test]
    fn other_failures_pass_through() {
        for status in [
            Status::internal("Unexpected EOF decoding stream."),
            Status::unknown("failed to decode Protobuf message: not from the codec"),
            Status::out_of_range("Error, decoded message length too large"),
        ] {
            let (code, message) = (status.code(), status.message().to_owned());
            let out = request_stream_error(status);
            assert_eq!((out.code(), out.message()), (code, message.as_str()));
        }
    }
}
