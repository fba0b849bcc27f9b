//! Time as the contract sees it: the proposal's timestamp (identical on every
//! endorsing peer, unlike a local clock), the bound that keeps it near real
//! time, and the expiry formats accepted from clients (RFC 3339 or unix
//! seconds).
//!
//! The proposal timestamp is set by the submitting client, and Fabric peers
//! do not bound its skew. Consent and break-glass expiries, every access
//! decision and the order of the audit trail depend on it, so the contract
//! bounds it itself ([`TimeBound`]): a function that writes or decides on
//! time is refused when the transaction's timestamp is more than
//! [`MAX_SKEW_SECONDS`] away from the endorsing peer's own clock. A
//! future-dated break-glass or a backdated access request is then no longer
//! possible beyond that margin.
//!
//! Each endorsing peer checks against its own clock, so peers whose clocks
//! agree to within a second give the same answer except for a transaction
//! within a second of the bound. Such a transaction may be endorsed by one
//! peer and refused by another; it then fails endorsement (or its policy)
//! and is simply retried with a fresh timestamp. The decisions themselves
//! still use the transaction timestamp, which is the same on every peer.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use fabric_shim::ChaincodeStub;
pub use healthblock_ehr_types::time::{parse_instant, rfc3339};

use super::error::{invalid, EhrError, EhrResult};
use super::model::Timestamp;

/// Largest accepted distance (seconds) between a transaction's timestamp and
/// the endorsing peer's clock.
pub const MAX_SKEW_SECONDS: u64 = 300;

/// The transaction's timestamp (seconds). A transaction without one cannot
/// be judged against expiries, so it is refused.
pub fn tx_time(stub: &dyn ChaincodeStub) -> EhrResult<Timestamp> {
    stub.tx_timestamp()
        .map(|t| Timestamp(t.seconds))
        .ok_or_else(|| EhrError::Argument("the transaction carries no timestamp".into()))
}

/// The endorsing peer's own clock (the chaincode process runs beside it).
pub trait PeerClock: Send + Sync + fmt::Debug {
    /// Now, in unix seconds.
    fn now(&self) -> Timestamp;
}

/// The operating system's clock: the production [`PeerClock`].
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl PeerClock for SystemClock {
    fn now(&self) -> Timestamp {
        let seconds = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
        };
        Timestamp(seconds)
    }
}

/// A clock that always reads the same instant (for tests and tools).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Timestamp);

impl PeerClock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// How far a transaction's timestamp may be from the peer's clock.
#[derive(Debug, Clone)]
pub struct TimeBound {
    clock: Arc<dyn PeerClock>,
    max_skew_seconds: u64,
}

impl Default for TimeBound {
    /// The system clock and [`MAX_SKEW_SECONDS`].
    fn default() -> Self {
        TimeBound::new(Arc::new(SystemClock), MAX_SKEW_SECONDS)
    }
}

impl TimeBound {
    /// A bound of `max_skew_seconds` around `clock`.
    pub fn new(clock: Arc<dyn PeerClock>, max_skew_seconds: u64) -> Self {
        TimeBound {
            clock,
            max_skew_seconds,
        }
    }

    /// The transaction's timestamp, refused when it is farther than the
    /// bound from the peer's clock.
    pub fn checked_tx_time(&self, stub: &dyn ChaincodeStub) -> EhrResult<Timestamp> {
        let tx = tx_time(stub)?;
        within(tx, self.clock.now(), self.max_skew_seconds)?;
        Ok(tx)
    }
}

/// Fails when `tx` is more than `bound` seconds away from `peer`.
pub fn within(tx: Timestamp, peer: Timestamp, bound: u64) -> EhrResult<()> {
    let skew = tx.0.abs_diff(peer.0);
    if skew <= bound {
        return Ok(());
    }
    let direction = if tx > peer { "ahead of" } else { "behind" };
    Err(invalid(format!(
        "transaction timestamp {} is {skew} s away from the peer's clock ({direction} {}); \
         the bound is {bound} s: check the client's clock and retry",
        describe(tx.0),
        describe(peer.0)
    )))
}

/// RFC 3339 when representable, else the raw unix seconds.
fn describe(seconds: i64) -> String {
    let text = rfc3339(seconds);
    if text.is_empty() {
        format!("{seconds} (unix)")
    } else {
        text
    }
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
    fn the_bound_is_inclusive_and_names_the_skew() {
        let peer = Timestamp(1_700_000_000);
        assert!(within(Timestamp(peer.0 + 300), peer, 300).is_ok());
        assert!(within(Timestamp(peer.0 - 300), peer, 300).is_ok());
        let ahead = within(Timestamp(peer.0 + 301), peer, 300)
            .unwrap_err()
            .to_string();
        assert_eq!(
            ahead,
            "invalid argument: transaction timestamp 2023-11-14T22:18:21Z is 301 s away from \
             the peer's clock (ahead of 2023-11-14T22:13:20Z); the bound is 300 s: check the \
             client's clock and retry"
        );
        let behind = within(Timestamp(peer.0 - 3600), peer, 300)
            .unwrap_err()
            .to_string();
        assert!(behind.contains("is 3600 s away") && behind.contains("(behind "));
        // Extreme values neither overflow nor panic.
        assert!(within(Timestamp(i64::MIN), Timestamp(i64::MAX), 300).is_err());
    }

    #[test]
    fn the_system_clock_is_after_2020() {
        assert!(SystemClock.now() > Timestamp(1_577_836_800));
        assert_eq!(FixedClock(Timestamp(7)).now(), Timestamp(7));
    }

    #[test]
    fn sorts() {
        assert_eq!(sortable(Timestamp(42)), "00000000000000000042");
        assert!(sortable(Timestamp(9)) < sortable(Timestamp(10)));
    }
}
