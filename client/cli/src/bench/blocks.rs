//! Owns: the blocks a rate step produced, as the gateway peer delivers them
//! (full blocks from its Deliver service, the stream `healthblock ledger`
//! reads), and their statistics over the step's window: how many, the
//! transactions per block, the block size in bytes (the encoded `Block`), and
//! the time between consecutive blocks as the client received them.

use crate::bench::schedule::Window;
use crate::stats::percentile_of_sorted;
use fabric_client::network::Network;
use futures::StreamExt;
use prost::Message;
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// One delivered block; `at` is from the start of the step.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockSeen {
    pub(crate) at: Duration,
    pub(crate) transactions: usize,
    pub(crate) bytes: usize,
}

/// Mean, median (nearest rank) and maximum of one quantity.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Spread {
    pub(crate) mean: f64,
    pub(crate) p50: f64,
    pub(crate) max: f64,
}

impl Spread {
    fn of(mut values: Vec<f64>) -> Option<Self> {
        values.sort_by(f64::total_cmp);
        let p50 = percentile_of_sorted(&values, 50.0)?;
        let max = *values.last()?;
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        Some(Self { mean, p50, max })
    }
}

/// The blocks delivered inside a window.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct BlockStats {
    pub(crate) blocks: usize,
    pub(crate) transactions: usize,
    /// `None` when no block arrived.
    pub(crate) transactions_per_block: Option<Spread>,
    pub(crate) block_bytes: Option<Spread>,
    /// Between consecutive blocks of the window, as received (`None` below two blocks).
    pub(crate) interval_ms: Option<Spread>,
}

/// Statistics of the blocks that arrived inside `window`.
pub(crate) fn summarise(seen: &[BlockSeen], window: Window) -> BlockStats {
    let inside: Vec<&BlockSeen> = seen.iter().filter(|b| window.contains(b.at)).collect();
    let intervals = inside
        .windows(2)
        .map(|p| p[1].at.saturating_sub(p[0].at).as_secs_f64() * 1000.0)
        .collect();
    BlockStats {
        blocks: inside.len(),
        transactions: inside.iter().map(|b| b.transactions).sum(),
        transactions_per_block: Spread::of(inside.iter().map(|b| b.transactions as f64).collect()),
        block_bytes: Spread::of(inside.iter().map(|b| b.bytes as f64).collect()),
        interval_ms: Spread::of(intervals),
    }
}

/// A running subscription to the channel's new blocks.
pub(crate) struct Subscription {
    seen: Arc<Mutex<Vec<BlockSeen>>>,
    /// The first delivery error, which ends the stream.
    error: Arc<Mutex<Option<String>>>,
    task: JoinHandle<()>,
}

impl Subscription {
    /// Subscribes to the blocks committed from now on; times are from `t0`.
    pub(crate) async fn start(network: &Network, t0: Instant) -> anyhow::Result<Self> {
        let mut stream = network.block_events(None).await?;
        let seen: Arc<Mutex<Vec<BlockSeen>>> = Arc::default();
        let error: Arc<Mutex<Option<String>>> = Arc::default();
        let task = {
            let (seen, error) = (seen.clone(), error.clone());
            tokio::spawn(async move {
                while let Some(item) = stream.next().await {
                    match item {
                        Ok(block) => {
                            let b = BlockSeen {
                                at: t0.elapsed(),
                                transactions: block.data.as_ref().map_or(0, |d| d.data.len()),
                                bytes: block.encoded_len(),
                            };
                            if let Ok(mut s) = seen.lock() {
                                s.push(b);
                            }
                        }
                        Err(e) => {
                            if let Ok(mut slot) = error.lock() {
                                *slot = Some(e.to_string());
                            }
                            return;
                        }
                    }
                }
            })
        };
        Ok(Self { seen, error, task })
    }

    /// Ends the subscription; the blocks seen, or the delivery error that cut it short.
    pub(crate) fn stop(self) -> Result<Vec<BlockSeen>, String> {
        self.task.abort();
        if let Some(e) = self.error.lock().ok().and_then(|e| e.clone()) {
            return Err(e);
        }
        Ok(self.seen.lock().map(|s| s.clone()).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(at_ms: u64, transactions: usize, bytes: usize) -> BlockSeen {
        BlockSeen {
            at: Duration::from_millis(at_ms),
            transactions,
            bytes,
        }
    }

    #[test]
    fn stats_of_the_blocks_inside_the_window() {
        let w = Window::after(Duration::from_millis(1000), Duration::from_millis(1000));
        let seen = [
            block(900, 50, 5000), // warm-up
            block(1000, 100, 10_000),
            block(1250, 100, 12_000),
            block(1600, 40, 4_000),
            block(2000, 100, 10_000), // after
        ];
        let s = summarise(&seen, w);
        assert_eq!(s.blocks, 3);
        assert_eq!(s.transactions, 240);
        let tx = s.transactions_per_block.unwrap();
        assert_eq!((tx.mean, tx.p50, tx.max), (80.0, 100.0, 100.0));
        let bytes = s.block_bytes.unwrap();
        assert_eq!((bytes.p50, bytes.max), (10_000.0, 12_000.0));
        let gap = s.interval_ms.unwrap();
        assert_eq!((gap.mean, gap.p50, gap.max), (300.0, 250.0, 350.0));
    }

    #[test]
    fn no_blocks_no_spreads() {
        let w = Window::after(Duration::ZERO, Duration::from_secs(1));
        let s = summarise(&[block(10, 1, 100)], w);
        assert_eq!(s.blocks, 1);
        assert!(s.interval_ms.is_none());
        let s = summarise(&[], w);
        assert_eq!(s.blocks, 0);
        assert!(s.transactions_per_block.is_none());
    }
}
