//! Building the `protos.Response` a contract returns from `init` / `invoke`.
//!
//! Status codes follow Fabric: below 400 the endorser endorses, 400 and above
//! it refuses. Application failures are a normal `Response` with status 500,
//! never a shim ERROR.

pub use fabric_proto::protos::Response;

/// Status of a successful call.
pub const OK: i32 = 200;
/// First status the endorser treats as failure.
pub const ERROR_THRESHOLD: i32 = 400;
/// Status of an application error.
pub const ERROR: i32 = 500;

/// A 200 response carrying `payload`.
pub fn success(payload: impl Into<Vec<u8>>) -> Response {
    Response {
        status: OK,
        message: String::new(),
        payload: payload.into(),
    }
}

/// A 500 response carrying `message`.
pub fn error(message: impl Into<String>) -> Response {
    Response {
        status: ERROR,
        message: message.into(),
        payload: Vec::new(),
    }
}

/// True when the endorser would endorse a response with this status.
pub fn is_success(response: &Response) -> bool {
    response.status < ERROR_THRESHOLD
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_set_fabric_status_codes() {
        let ok = success(b"x".to_vec());
        assert_eq!((ok.status, ok.payload.as_slice()), (200, &b"x"[..]));
        assert!(is_success(&ok));
        let bad = error("nope");
        assert_eq!((bad.status, bad.message.as_str()), (500, "nope"));
        assert!(!is_success(&bad));
    }
}
