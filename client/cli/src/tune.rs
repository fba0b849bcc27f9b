//! Owns: tuning the live channel's ordering parameters. A [`LiveChannel`] is
//! the `healthblock-tune` evaluator for a running network: to measure a point
//! it changes the channel's batch parameters through a config update (signed by
//! the orderer organisation's admin, exactly as `healthblock channel update
//! batch` does), waits for the config block, then runs one open-loop step of
//! the load generator at the operator's offered rate and reports its committed
//! tx/s and latency percentiles. Every measurement is kept, so a run's points
//! form a replay table (`healthblock_tune::replay`) for offline comparisons.
//!
//! The optimisers are synchronous; the evaluator blocks on the CLI's runtime
//! for each measurement (`block_in_place`), so the tuner runs on a runtime
//! worker without starving the load generator's tasks.

use crate::bench::cpu::Process;
use crate::bench::open_loop::{run_step, StepConfig, StepReport};
use crate::bench::workload::Driver;
use anyhow::Result;
use fabric_client::admin::channel_config::{
    batch_params, current_config, update_batch, BatchParams, BatchUpdate,
};
use fabric_client::admin::Orderer;
use fabric_client::network::Network;
use fabric_msp::SigningIdentity;
use healthblock_tune::replay::{Row, Table};
use healthblock_tune::{Dim, Evaluate, Measurement, Point, Space};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Name of the batch-timeout dimension (milliseconds).
pub(crate) const TIMEOUT_MS: &str = "batch_timeout_ms";
/// Name of the max-message-count dimension.
pub(crate) const MAX_COUNT: &str = "max_message_count";

/// The search space: BatchTimeout and MaxMessageCount, both integer and
/// log-scaled (each spans orders of magnitude).
pub(crate) fn batch_space(timeout_ms: (i64, i64), count: (i64, i64)) -> Result<Space> {
    Ok(Space::new(vec![
        Dim::integer(TIMEOUT_MS, timeout_ms.0, timeout_ms.1).log(),
        Dim::integer(MAX_COUNT, count.0, count.1).log(),
    ])?)
}

/// A failed measurement, with its cause chain as text (the tuner's error type
/// must be a `std::error::Error`, which `anyhow::Error` is not).
#[derive(Debug)]
pub(crate) struct MeasureError(pub(crate) anyhow::Error);

impl std::fmt::Display for MeasureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for MeasureError {}

/// One measurement of the live channel.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Sample {
    pub(crate) timeout_ms: u64,
    pub(crate) max_message_count: u32,
    /// The config block that set these parameters (`None`: they were in force already).
    pub(crate) config_block: Option<u64>,
    pub(crate) metrics: Measurement,
}

/// The running channel as a tuning target.
pub(crate) struct LiveChannel {
    pub(crate) orderer: Orderer,
    pub(crate) admin: SigningIdentity,
    pub(crate) channel: String,
    pub(crate) driver: Arc<Driver>,
    pub(crate) network: Network,
    pub(crate) processes: Vec<Process>,
    /// The offered load and window of every measurement.
    pub(crate) load: StepConfig,
    /// Step numbers keep each measurement's keys apart.
    pub(crate) next_step: usize,
    /// Every measurement, in order.
    pub(crate) samples: Vec<Sample>,
}

impl LiveChannel {
    /// The batch parameters in force, from the channel's config block.
    pub(crate) async fn params(&self) -> Result<BatchParams> {
        let current = current_config(&self.orderer, &self.admin, &self.channel).await?;
        Ok(batch_params(&current.config)?)
    }

    /// Sets BatchTimeout and MaxMessageCount (a config update, unless they are in
    /// force already); returns the config block that set them.
    pub(crate) async fn apply(&self, timeout_ms: u64, count: u32) -> Result<Option<u64>> {
        let now = self.params().await?;
        let timeout = Duration::from_millis(timeout_ms);
        if now.timeout == timeout && now.max_message_count == count {
            return Ok(None);
        }
        let change = BatchUpdate {
            timeout: Some(timeout),
            max_message_count: Some(count),
            ..BatchUpdate::default()
        };
        let updated = update_batch(&self.orderer, &self.channel, &[&self.admin], &change).await?;
        Ok(Some(updated.config_block))
    }

    /// Applies the parameters, then runs one open-loop step at the offered load.
    pub(crate) async fn measure(&mut self, timeout_ms: u64, count: u32) -> Result<Sample> {
        let config_block = self.apply(timeout_ms, count).await?;
        let step = self.next_step;
        self.next_step += 1;
        let report = run_step(
            self.driver.clone(),
            &self.network,
            &self.processes,
            step,
            self.load,
        )
        .await?;
        let sample = Sample {
            timeout_ms,
            max_message_count: count,
            config_block,
            metrics: metrics_of(&report),
        };
        self.samples.push(sample.clone());
        Ok(sample)
    }

    /// The measurements as a replay table (one row per distinct point).
    pub(crate) fn table(&self) -> Table {
        let mut rows: BTreeMap<(u64, u32), Vec<Measurement>> = BTreeMap::new();
        for s in &self.samples {
            rows.entry((s.timeout_ms, s.max_message_count))
                .or_default()
                .push(s.metrics.clone());
        }
        Table {
            rows: rows
                .into_iter()
                .map(|((t, n), samples)| Row {
                    params: BTreeMap::from([
                        (TIMEOUT_MS.to_owned(), t as f64),
                        (MAX_COUNT.to_owned(), f64::from(n)),
                    ]),
                    samples,
                })
                .collect(),
        }
    }
}

/// The metrics a tuning objective may name.
pub(crate) fn metrics_of(r: &StepReport) -> Measurement {
    let s = &r.summary;
    let due = s.scheduled.max(1) as f64;
    Measurement::new()
        .with("tps", s.committed_tps)
        .with("p50_ms", s.latency.p50_ms)
        .with("p95_ms", s.latency.p95_ms)
        .with("p99_ms", s.latency.p99_ms)
        .with("failed", s.failed as f64)
        .with("failed_pct", s.failed as f64 * 100.0 / due)
}

/// A point's parameters as the channel takes them.
pub(crate) fn point_params(point: &Point) -> Result<(u64, u32), MeasureError> {
    let get = |name: &str| {
        point
            .get(name)
            .ok_or_else(|| MeasureError(anyhow::anyhow!("the point has no {name}")))
    };
    let timeout = get(TIMEOUT_MS)?.round().max(1.0) as u64;
    let count = get(MAX_COUNT)?.round().clamp(1.0, f64::from(u32::MAX)) as u32;
    Ok((timeout, count))
}

impl Evaluate for LiveChannel {
    type Error = MeasureError;

    fn evaluate(&mut self, point: &Point) -> Result<Measurement, MeasureError> {
        let (timeout, count) = point_params(point)?;
        let handle = tokio::runtime::Handle::current();
        tokio::task::block_in_place(|| handle.block_on(self.measure(timeout, count)))
            .map(|s| s.metrics)
            .map_err(MeasureError)
    }
}
