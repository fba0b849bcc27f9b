//! The orderer's block cutter: Fabric's batch rules as a pure state machine.
//!
//! Rules (Fabric's `orderer/common/blockcutter`), applied to each ordered envelope:
//! 1. a message larger than PreferredMaxBytes is isolated: the pending batch is
//!    cut first (if any), then the message alone;
//! 2. if adding the message would push the pending batch over PreferredMaxBytes,
//!    the pending batch is cut first, and the message starts the next one;
//! 3. when the pending batch reaches MaxMessageCount it is cut.
//!
//! BatchTimeout is the caller's job: start a timer when [`BlockCutter::pending_since`]
//! becomes `Some`, and call [`BlockCutter::cut`] when it fires. AbsoluteMaxBytes is
//! enforced at broadcast, before ordering, with [`BlockCutter::check_size`].

use fabric_proto::common::Envelope;
use prost::Message;
use std::time::{Duration, Instant};

/// A channel's batch settings (Orderer.BatchSize and BatchTimeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchConfig {
    pub max_message_count: u32,
    pub absolute_max_bytes: u32,
    pub preferred_max_bytes: u32,
    pub batch_timeout: Duration,
}

/// Why the broadcast handler refuses an envelope before ordering.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("message of {size} bytes exceeds AbsoluteMaxBytes ({max})")]
pub struct TooLarge {
    pub size: usize,
    pub max: u32,
}

/// Accumulates envelopes and says when a batch is cut.
#[derive(Debug)]
pub struct BlockCutter {
    pub config: BatchConfig,
    pending: Vec<Vec<u8>>,
    pending_bytes: u64,
    pending_since: Option<Instant>,
}

/// The size Fabric's cutter counts for an envelope: payload plus signature.
/// Bytes that do not decode as an Envelope count at their full length.
pub fn message_size(envelope: &[u8]) -> u64 {
    match Envelope::decode(envelope) {
        Ok(env) => (env.payload.len() + env.signature.len()) as u64,
        Err(_) => envelope.len() as u64,
    }
}

impl BlockCutter {
    pub fn new(config: BatchConfig) -> Self {
        Self {
            config,
            pending: Vec::new(),
            pending_bytes: 0,
            pending_since: None,
        }
    }

    /// The broadcast-time check: the serialized envelope must not exceed AbsoluteMaxBytes
    /// (Fabric's size filter compares the whole marshalled message).
    pub fn check_size(&self, envelope: &[u8]) -> Result<(), TooLarge> {
        if envelope.len() as u64 > u64::from(self.config.absolute_max_bytes) {
            return Err(TooLarge {
                size: envelope.len(),
                max: self.config.absolute_max_bytes,
            });
        }
        Ok(())
    }

    /// Adds an envelope; returns the batches cut by it (0, 1 or 2) and whether a batch is pending.
    pub fn ordered(&mut self, envelope: Vec<u8>) -> (Vec<Vec<Vec<u8>>>, bool) {
        let size = message_size(&envelope);
        let preferred = u64::from(self.config.preferred_max_bytes);
        let mut batches = Vec::new();

        if size > preferred {
            if !self.pending.is_empty() {
                batches.push(self.cut());
            }
            batches.push(vec![envelope]);
            return (batches, false);
        }

        if self.pending_bytes + size > preferred {
            batches.push(self.cut());
        }
        if self.pending.is_empty() {
            self.pending_since = Some(Instant::now());
        }
        self.pending.push(envelope);
        self.pending_bytes += size;

        if self.pending.len() as u64 >= u64::from(self.config.max_message_count) {
            batches.push(self.cut());
            return (batches, false);
        }
        (batches, true)
    }

    /// Cuts whatever is pending (on BatchTimeout).
    pub fn cut(&mut self) -> Vec<Vec<u8>> {
        self.pending_bytes = 0;
        self.pending_since = None;
        std::mem::take(&mut self.pending)
    }

    /// When the oldest pending envelope entered the batch (None when nothing is pending).
    pub fn pending_since(&self) -> Option<Instant> {
        self.pending_since
    }

    /// Number of envelopes waiting in the pending batch.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(count: u32, preferred: u32) -> BatchConfig {
        BatchConfig {
            max_message_count: count,
            absolute_max_bytes: 1000,
            preferred_max_bytes: preferred,
            batch_timeout: Duration::from_secs(2),
        }
    }

    /// An envelope whose counted size (payload + signature) is exactly `size`.
    fn env(size: usize, tag: u8) -> Vec<u8> {
        Envelope {
            payload: vec![tag; size - 1],
            signature: vec![0xAA],
        }
        .encode_to_vec()
    }

    #[test]
    fn counted_size_is_payload_plus_signature() {
        assert_eq!(message_size(&env(40, 1)), 40);
        assert_eq!(
            message_size(&[0xFF, 0xFF]),
            2,
            "undecodable bytes count whole"
        );
    }

    #[test]
    fn cuts_at_max_message_count() {
        let mut c = BlockCutter::new(config(3, 1000));
        assert_eq!(c.ordered(env(10, 1)), (vec![], true));
        assert!(c.pending_since().is_some());
        assert_eq!(c.ordered(env(10, 2)), (vec![], true));
        let (batches, pending) = c.ordered(env(10, 3));
        assert!(!pending);
        assert_eq!(batches, vec![vec![env(10, 1), env(10, 2), env(10, 3)]]);
        assert_eq!(c.pending_len(), 0);
        assert!(c.pending_since().is_none());
    }

    #[test]
    fn overflow_of_preferred_bytes_cuts_pending_first() {
        let mut c = BlockCutter::new(config(10, 100));
        assert_eq!(c.ordered(env(60, 1)), (vec![], true));
        let (batches, pending) = c.ordered(env(50, 2));
        assert_eq!(batches, vec![vec![env(60, 1)]]);
        assert!(pending, "the overflowing message starts the next batch");
        assert_eq!(c.cut(), vec![env(50, 2)]);
    }

    #[test]
    fn exactly_preferred_bytes_does_not_overflow() {
        let mut c = BlockCutter::new(config(10, 100));
        c.ordered(env(60, 1));
        assert_eq!(c.ordered(env(40, 2)), (vec![], true));
        assert_eq!(c.pending_len(), 2);
    }

    #[test]
    fn oversized_message_is_isolated_after_pending() {
        let mut c = BlockCutter::new(config(10, 100));
        c.ordered(env(30, 1));
        let (batches, pending) = c.ordered(env(150, 2));
        assert_eq!(batches, vec![vec![env(30, 1)], vec![env(150, 2)]]);
        assert!(!pending);
        assert_eq!(c.pending_len(), 0);
    }

    #[test]
    fn oversized_message_alone_when_nothing_pending() {
        let mut c = BlockCutter::new(config(10, 100));
        let (batches, pending) = c.ordered(env(101, 9));
        assert_eq!(batches, vec![vec![env(101, 9)]]);
        assert!(!pending);
    }

    #[test]
    fn timeout_cut_returns_pending_and_empty_cut_is_empty() {
        let mut c = BlockCutter::new(config(10, 1000));
        assert!(c.cut().is_empty());
        c.ordered(env(10, 1));
        c.ordered(env(10, 2));
        assert_eq!(c.cut(), vec![env(10, 1), env(10, 2)]);
        assert!(c.cut().is_empty());
    }

    #[test]
    fn absolute_max_bytes_is_checked_on_the_whole_message() {
        let c = BlockCutter::new(config(10, 100));
        assert!(c.check_size(&vec![0u8; 1000]).is_ok());
        assert_eq!(
            c.check_size(&vec![0u8; 1001]),
            Err(TooLarge {
                size: 1001,
                max: 1000
            })
        );
    }
}
