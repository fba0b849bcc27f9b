//! The orderer's block cutter: Fabric's batch rules as a pure state machine.

use std::time::Duration;

/// A channel's batch settings (Orderer.BatchSize and BatchTimeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchConfig {
    pub max_message_count: u32,
    pub absolute_max_bytes: u32,
    pub preferred_max_bytes: u32,
    pub batch_timeout: Duration,
}

/// Accumulates envelopes and says when a batch is cut.
#[derive(Debug)]
pub struct BlockCutter {
    pub config: BatchConfig,
}

impl BlockCutter {
    pub fn new(config: BatchConfig) -> Self {
        Self { config }
    }

    /// Adds an envelope; returns the batches cut by it (0, 1 or 2) and whether a batch is pending.
    pub fn ordered(&mut self, envelope: Vec<u8>) -> (Vec<Vec<Vec<u8>>>, bool) {
        let _ = envelope;
        todo!()
    }

    /// Cuts whatever is pending (on BatchTimeout).
    pub fn cut(&mut self) -> Vec<Vec<u8>> {
        todo!()
    }
}
