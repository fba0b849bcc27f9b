//! Owns: the instant formats of the contract's documents and arguments
//! (RFC 3339 beside unix seconds), shared by the contract and its clients.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::{invalid, TypeError};
use crate::model::Timestamp;

/// RFC 3339 (UTC) of unix seconds; empty if out of the representable range.
pub fn rfc3339(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Parses an expiry given as unix seconds or RFC 3339.
pub fn parse_instant(s: &str) -> Result<Timestamp, TypeError> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<i64>()
            .map(Timestamp)
            .map_err(|_| invalid(format!("time {s:?} is out of range")));
    }
    OffsetDateTime::parse(s, &Rfc3339)
        .map(|t| Timestamp(t.unix_timestamp()))
        .map_err(|_| {
            invalid(format!(
                "time {s:?} is neither unix seconds nor RFC 3339 (e.g. 2030-01-31T12:00:00Z)"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_unix_seconds_and_rfc3339() {
        assert_eq!(
            parse_instant("1700000000").unwrap(),
            Timestamp(1_700_000_000)
        );
        assert_eq!(
            parse_instant("2023-11-14T22:13:20Z").unwrap(),
            Timestamp(1_700_000_000)
        );
        assert_eq!(
            parse_instant("2023-11-14T23:13:20+01:00").unwrap(),
            Timestamp(1_700_000_000)
        );
        assert!(parse_instant("tomorrow").is_err());
        assert!(parse_instant("").is_err());
        assert!(parse_instant("99999999999999999999999").is_err());
    }

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(i64::MAX), "");
    }
}
