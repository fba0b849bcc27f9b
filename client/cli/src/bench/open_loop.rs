//! Owns: running one open-loop rate step against the network: sending each
//! transaction at its due time (see [`schedule`](super::schedule)), recording
//! when it finished, watching the blocks and the CPU time of the network's
//! processes over the measured window, and the drain after it.
//!
//! The sender never waits for answers; it only waits when `max_in_flight`
//! transactions are outstanding (a bound on the generator's memory). Time it
//! loses that way is charged to the transactions' latency, since latency runs
//! from the due time.

use super::blocks::{self, BlockStats, Subscription};
use super::cpu::{self, Process};
use super::schedule::{summarise, Sample, Schedule, StepSummary, Window};
use super::workload::Driver;
use anyhow::{anyhow, Result};
use fabric_client::network::Network;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// How one step runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StepConfig {
    pub(crate) rate: f64,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
    pub(crate) max_in_flight: usize,
    /// How long the transactions still in flight after the window may take.
    pub(crate) drain_limit: Duration,
}

/// The report of one step.
#[derive(Debug, Serialize)]
pub(crate) struct StepReport {
    /// Offered rate (transactions due per second).
    pub(crate) offered_rate: f64,
    pub(crate) warmup_seconds: f64,
    /// Length of the measured window.
    pub(crate) seconds: f64,
    #[serde(flatten)]
    pub(crate) summary: StepSummary,
    /// Most transactions outstanding at once (any time in the step).
    pub(crate) peak_in_flight: usize,
    pub(crate) max_in_flight: usize,
    /// From the end of the window until the last transaction finished.
    pub(crate) drain_seconds: f64,
    /// Blocks delivered by the gateway peer inside the window.
    pub(crate) blocks: BlockStats,
    /// CPU seconds (user + system) each process used inside the window.
    pub(crate) cpu_seconds: BTreeMap<String, f64>,
    /// Why `cpu_seconds` is empty, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cpu_unavailable: Option<String>,
}

/// Counts the transactions outstanding and remembers the peak.
#[derive(Default)]
struct InFlight {
    now: usize,
    peak: usize,
}

/// Runs step number `step` of `driver` at `config.rate`.
pub(crate) async fn run_step(
    driver: Arc<Driver>,
    network: &Network,
    processes: &[Process],
    step: usize,
    config: StepConfig,
) -> Result<StepReport> {
    let schedule = Schedule::new(config.rate)?;
    let window = Window::after(config.warmup, config.duration);
    let total = schedule.count_before(window.end);
    let samples: Arc<Mutex<Vec<Sample>>> = Arc::new(Mutex::new(Vec::with_capacity(total as usize)));
    let in_flight: Arc<Mutex<InFlight>> = Arc::default();
    let permits = Arc::new(Semaphore::new(config.max_in_flight.max(1)));
    let t0 = Instant::now();
    let subscription = Subscription::start(network, t0).await?;

    // CPU snapshots at the window's edges, taken beside the load.
    let cpu_task = {
        let processes = processes.to_vec();
        tokio::spawn(async move {
            tokio::time::sleep_until(t0 + window.start).await;
            let before = cpu::snapshot(&processes);
            tokio::time::sleep_until(t0 + window.end).await;
            (before, cpu::snapshot(&processes))
        })
    };

    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = schedule.due(i);
        let at = t0 + due;
        if Instant::now() < at {
            tokio::time::sleep_until(at).await;
        }
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| anyhow!("the in-flight limit closed: {e}"))?;
        let sent = t0.elapsed();
        let (driver, samples, in_flight) = (driver.clone(), samples.clone(), in_flight.clone());
        if let Ok(mut f) = in_flight.lock() {
            f.now += 1;
            f.peak = f.peak.max(f.now);
        }
        tasks.push(tokio::spawn(async move {
            let outcome = driver.call(step, i).await;
            let done = t0.elapsed();
            drop(permit);
            if let Ok(mut f) = in_flight.lock() {
                f.now -= 1;
            }
            if let Ok(mut s) = samples.lock() {
                s.push(Sample {
                    due,
                    sent,
                    done,
                    outcome,
                });
            }
        }));
    }
    let (cpu_before, cpu_after) = cpu_task
        .await
        .map_err(|e| anyhow!("the CPU sampler failed: {e}"))?;
    // The drain: what is still in flight finishes; no figure of the window
    // counts the drain except the latency of transactions due inside it.
    let drain_started = Instant::now();
    let deadline = drain_started + config.drain_limit;
    for task in tasks {
        tokio::time::timeout_at(deadline, task)
            .await
            .map_err(|_| {
                anyhow!(
                    "transactions were still in flight {:?} after the window",
                    config.drain_limit
                )
            })?
            .map_err(|e| anyhow!("a transaction task failed: {e}"))?;
    }
    let drain_seconds = drain_started.elapsed().as_secs_f64();
    let seen = subscription
        .stop()
        .map_err(|e| anyhow!("the block subscription failed: {e}"))?;
    let samples = std::mem::take(
        &mut *samples
            .lock()
            .map_err(|_| anyhow!("samples lock poisoned"))?,
    );
    let summary = summarise(&samples, window)?;
    let (cpu_seconds, cpu_unavailable) = match cpu::ticks_per_second() {
        Ok(tps) => (cpu::seconds_between(&cpu_before, &cpu_after, tps), None),
        Err(e) => (BTreeMap::new(), Some(e)),
    };
    let peak_in_flight = in_flight.lock().map(|f| f.peak).unwrap_or(0);
    Ok(StepReport {
        offered_rate: schedule.rate(),
        warmup_seconds: config.warmup.as_secs_f64(),
        seconds: window.seconds(),
        summary,
        peak_in_flight,
        max_in_flight: config.max_in_flight,
        drain_seconds,
        blocks: blocks::summarise(&seen, window),
        cpu_seconds,
        cpu_unavailable,
    })
}
