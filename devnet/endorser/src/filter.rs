//! Fabric's auth filters in front of the endorser, in Fabric's order
//! (core.yaml's `authFilters`: DefaultAuth, ExpirationCheck, TimeWindowCheck).
//!
//! Owns: refusing, before the endorser looks at it, a proposal whose creator
//! certificate has expired (`core/handlers/auth/filter/expiration.go`) and
//! then one whose timestamp is outside the time window (`timewindow.go`):
//! an error and no ProposalResponse. The gateway treats that answer as an
//! unavailable peer and tries the next one, so the caller sees every peer's
//! refusal.

use crate::error::{EndorserError, Result};
use fabric_msp::{Identity, MspManager};
use fabric_proto::common::{ChannelHeader, Header, SignatureHeader};
use fabric_proto::protos::{Proposal, SignedProposal};
use prost::Message;

/// `peer.authentication.timewindow` (Fabric's default, 15m).
pub(crate) const TIME_WINDOW_SECS: i64 = 15 * 60;

/// The beginning of Fabric's refusal of a proposal outside the time window.
pub(crate) const INCORRECT_TIMESTAMP: &str = "request unauthorized due to incorrect timestamp";

/// Fabric's message for an expired creator.
pub(crate) const EXPIRED: &str = "proposal client identity expired";

/// Refuses a proposal whose creator expired before `now`. A creator valid in
/// its MSP is known not to have expired (one cache lookup); only the rest is
/// parsed. Undecodable proposals fail with Fabric's parsing messages.
pub(crate) fn check_expiration(sp: &SignedProposal, msps: &MspManager, now: i64) -> Result<()> {
    let parse = |what| move |source| EndorserError::Parse { what, source };
    let proposal = Proposal::decode(sp.proposal_bytes.as_slice()).map_err(parse("proposal"))?;
    let header = Header::decode(proposal.header.as_slice()).map_err(parse("header"))?;
    let signature_header = SignatureHeader::decode(header.signature_header.as_slice())
        .map_err(parse("signature header"))?;
    let creator = signature_header.creator;
    if msps.validate_serialized(&creator, now).is_ok() {
        return Ok(());
    }
    // Like Fabric, a creator whose certificate cannot be read has no expiry here:
    // the endorser's own checks refuse it.
    match Identity::from_serialized(&creator) {
        Ok(id) if now > id.not_after => Err(EndorserError::refused(EXPIRED)),
        _ => Ok(()),
    }
}

/// Refuses a proposal whose channel header timestamp is more than the time
/// window away from `now_nanos` (Unix nanoseconds). A missing timestamp reads
/// as the Unix epoch, as Go's `AsTime` of a nil timestamp does.
pub(crate) fn check_timewindow(sp: &SignedProposal, now_nanos: i128) -> Result<()> {
    let parse = |what| move |source| EndorserError::Parse { what, source };
    let proposal = Proposal::decode(sp.proposal_bytes.as_slice()).map_err(parse("proposal"))?;
    let header = Header::decode(proposal.header.as_slice()).map_err(parse("header"))?;
    let chdr =
        ChannelHeader::decode(header.channel_header.as_slice()).map_err(parse("channel header"))?;
    let ts = chdr.timestamp.unwrap_or_default();
    let proposed = i128::from(ts.seconds) * NANOS + i128::from(ts.nanos);
    let window = i128::from(TIME_WINDOW_SECS) * NANOS;
    if proposed + window < now_nanos || proposed - window > now_nanos {
        return Err(EndorserError::refused(format!(
            "{INCORRECT_TIMESTAMP} {}, peer time {}, peer.authentication.timewindow {}",
            rfc3339(proposed),
            rfc3339(now_nanos),
            go_duration(TIME_WINDOW_SECS)
        )));
    }
    Ok(())
}

const NANOS: i128 = 1_000_000_000;

/// Go's `time.RFC3339` rendering of a UTC instant: whole seconds, `Z`.
fn rfc3339(unix_nanos: i128) -> String {
    let secs = unix_nanos.div_euclid(NANOS);
    let (days, of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let year = if year < 0 {
        format!("-{:04}", -year)
    } else {
        format!("{year:04}")
    };
    format!(
        "{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i128) -> (i128, i128, i128) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i128::from(month <= 2);
    (year, month, day)
}

/// Go's `time.Duration.String()` of whole seconds (`15m0s`, `1h0m0s`, `30s`).
fn go_duration(secs: i64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::Timestamp;

    fn proposal_at(timestamp: Option<Timestamp>) -> SignedProposal {
        let chdr = ChannelHeader {
            timestamp,
            ..Default::default()
        };
        let header = Header {
            channel_header: chdr.encode_to_vec(),
            signature_header: Vec::new(),
        };
        let proposal = Proposal {
            header: header.encode_to_vec(),
            ..Default::default()
        };
        SignedProposal {
            proposal_bytes: proposal.encode_to_vec(),
            signature: Vec::new(),
        }
    }

    const NOW: i128 = 1_700_000_000 * NANOS + 123;

    #[test]
    fn empty_proposal_is_refused_for_its_epoch_timestamp() {
        let err = check_timewindow(&SignedProposal::default(), NOW)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "request unauthorized due to incorrect timestamp 1970-01-01T00:00:00Z, \
             peer time 2023-11-14T22:13:20Z, peer.authentication.timewindow 15m0s"
        );
    }

    #[test]
    fn window_edges_are_inclusive_like_fabric() {
        let at = |secs: i64, nanos: i32| {
            proposal_at(Some(Timestamp {
                seconds: 1_700_000_000 + secs,
                nanos,
            }))
        };
        assert!(check_timewindow(&at(0, 0), NOW).is_ok());
        // Exactly the window away (to the nanosecond) is still inside.
        assert!(check_timewindow(&at(-TIME_WINDOW_SECS, 123), NOW).is_ok());
        assert!(check_timewindow(&at(TIME_WINDOW_SECS, 123), NOW).is_ok());
        assert!(check_timewindow(&at(-TIME_WINDOW_SECS, 122), NOW).is_err());
        let err = check_timewindow(&at(TIME_WINDOW_SECS, 124), NOW)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "request unauthorized due to incorrect timestamp 2023-11-14T22:28:20Z, "
            ),
            "{err}"
        );
    }

    #[test]
    fn undecodable_parts_name_the_part() {
        let sp = SignedProposal {
            proposal_bytes: vec![0x0a, 0x05, 0x01],
            signature: Vec::new(),
        };
        assert!(check_timewindow(&sp, NOW)
            .unwrap_err()
            .to_string()
            .starts_with("failed parsing proposal: "));
        let proposal = Proposal {
            header: Header {
                channel_header: vec![0xff],
                signature_header: Vec::new(),
            }
            .encode_to_vec(),
            ..Default::default()
        };
        let sp = SignedProposal {
            proposal_bytes: proposal.encode_to_vec(),
            signature: Vec::new(),
        };
        assert!(check_timewindow(&sp, NOW)
            .unwrap_err()
            .to_string()
            .starts_with("failed parsing channel header: "));
    }

    #[test]
    fn dates_render_like_go() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 * NANOS), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(-NANOS), "1969-12-31T23:59:59Z");
        assert_eq!(
            rfc3339(253_402_300_799 * NANOS + 999),
            "9999-12-31T23:59:59Z"
        );
        assert_eq!(rfc3339(-62_135_596_800 * NANOS - 1), "0000-12-31T23:59:59Z");
        assert_eq!(go_duration(900), "15m0s");
        assert_eq!(go_duration(3600), "1h0m0s");
        assert_eq!(go_duration(30), "30s");
    }
}
