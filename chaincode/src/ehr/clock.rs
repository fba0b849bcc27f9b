//! Time as the contract sees it: the proposal's timestamp (identical on every
//! endorsing peer, unlike a local clock), and the expiry formats accepted
//! from clients (RFC 3339 or unix seconds).
//!
//! The proposal timestamp is set by the submitting client; Fabric peers do
//! not bound its skew. Expiries (consent, break-glass) are therefore only as
//! trustworthy as the endorsing peers' acceptance of that timestamp: every
//! decision records the time it used in the audit entry, so a backdated
//! request stays visible.

use fabric_shim::ChaincodeStub;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::error::{invalid, EhrError, EhrResult};
use super::model::Timestamp;

/// The transaction's timestamp (seconds). A transaction without one cannot
/// be judged against expiries, so it is refused.
pub fn tx_time(stub: &dyn ChaincodeStub) -> EhrResult<Timestamp> {
    stub.tx_timestamp()
        .map(|t| Timestamp(t.seconds))
        .ok_or_else(|| EhrError::Argument("the transaction carries no timestamp".into()))
}

/// Parses an expiry given as unix seconds or RFC 3339.
pub fn parse_instant(s: &str) -> EhrResult<Timestamp> {
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

/// RFC 3339 (UTC) of unix seconds; empty if out of the representable range.
pub fn rfc3339(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Zero-padded seconds for composite-key components that must sort by time.
/// Negative times (before 1970) sort first as 0.
pub fn sortable(t: Timestamp) -> String {
    format!("{:020}", t.0.max(0))
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
    fn formats_and_sorts() {
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(sortable(Timestamp(42)), "00000000000000000042");
        assert!(sortable(Timestamp(9)) < sortable(Timestamp(10)));
    }
}
