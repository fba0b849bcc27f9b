//! Owns: the contract's failure codes. A refused call is a chaincode error
//! response whose message starts with its code (`not found: record r1`);
//! Fabric carries only that text to the client (the peer wraps it as
//! `chaincode response 500, <message>`), so the code's words are the wire
//! format. The contract formats its errors with [`ErrorCode::prefix`] and
//! clients recover the code with [`ErrorCode::find`], so neither side
//! compares free text.

/// Why the contract refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// An argument is malformed.
    InvalidArgument,
    /// The caller's identity carries no usable role.
    Identity,
    /// The caller's role or organisation may not do this.
    PermissionDenied,
    /// A patient, record, consent or break-glass does not exist.
    NotFound,
    /// The call conflicts with the ledger (duplicate, stale version).
    Conflict,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [ErrorCode; 5] = [
        ErrorCode::InvalidArgument,
        ErrorCode::Identity,
        ErrorCode::PermissionDenied,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
    ];

    /// The words that open the contract's message for this code.
    pub const fn prefix(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "invalid argument",
            ErrorCode::Identity => "identity",
            ErrorCode::PermissionDenied => "permission denied",
            ErrorCode::NotFound => "not found",
            ErrorCode::Conflict => "conflict",
        }
    }

    /// The code of a contract failure message as a client receives it: the
    /// contract's own message, or the peer's `chaincode response <status>,
    /// <message>` around it (possibly inside the gateway's text).
    pub fn find(text: &str) -> Option<ErrorCode> {
        const WRAPPER: &str = "chaincode response ";
        let message = match text.find(WRAPPER) {
            Some(at) => {
                let rest = &text[at + WRAPPER.len()..];
                let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                rest[digits..].strip_prefix(", ")?
            }
            None => text,
        };
        ErrorCode::ALL.into_iter().find(|code| {
            message
                .strip_prefix(code.prefix())
                .is_some_and(|rest| rest.starts_with(": "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_found_in_the_peers_wrapping_and_alone() {
        assert_eq!(
            ErrorCode::find("not found: record r1"),
            Some(ErrorCode::NotFound)
        );
        assert_eq!(
            ErrorCode::find("evaluate failed: chaincode response 500, not found: record r1"),
            Some(ErrorCode::NotFound)
        );
        assert_eq!(
            ErrorCode::find("chaincode response 500, permission denied: role nurse may not"),
            Some(ErrorCode::PermissionDenied)
        );
        assert_eq!(
            ErrorCode::find("chaincode response 500, conflict: record r1 is at version 2"),
            Some(ErrorCode::Conflict)
        );
    }

    #[test]
    fn free_text_mentioning_a_code_is_not_a_code() {
        // The words anywhere else in a message do not count.
        assert_eq!(
            ErrorCode::find("peer said the record was not found: x"),
            None
        );
        assert_eq!(
            ErrorCode::find("chaincode response 500, invalid argument record not found: x"),
            None
        );
        assert_eq!(ErrorCode::find("chaincode response 500"), None);
        assert_eq!(ErrorCode::find(""), None);
    }
}
