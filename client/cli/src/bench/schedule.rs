//! Owns: when each transaction of an open-loop rate step is due, which
//! transactions a step's measurement window counts, and the summary of a
//! step from its samples (HdrHistogram percentiles).
//!
//! Open loop: transaction `i` of a step at rate `R` is due at `i / R`
//! seconds after the step starts, whether or not earlier ones have finished.
//! Its latency runs from that *due* time to its commit, so a generator that
//! falls behind (a slow network holding up the sender, or a full in-flight
//! limit) adds its delay to the latency instead of hiding it (no coordinated
//! omission). A step runs a warm-up and then a measured window; a transaction
//! belongs to the window when it is *due* inside it, wherever it finishes.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Largest latency the histograms record (longer ones are clamped to it).
const HISTOGRAM_MAX_MICROS: u64 = 3_600_000_000;
/// Significant decimal digits of the histograms.
const HISTOGRAM_DIGITS: u8 = 3;
/// At most this many distinct failure reasons are listed; the rest are summed.
const MAX_FAILURE_KINDS: usize = 8;
/// The bucket of failure reasons beyond [`MAX_FAILURE_KINDS`].
pub(crate) const OTHER_FAILURES: &str = "(other reasons)";

/// Errors of the schedule and the summary.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ScheduleError {
    #[error("a rate must be a positive number of transactions per second, not {0}")]
    BadRate(f64),
    #[error("cannot create a latency histogram")]
    Histogram(#[from] hdrhistogram::CreationError),
}

/// The arrival schedule of one rate step.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schedule {
    rate: f64,
}

impl Schedule {
    /// A schedule of `rate` transactions per second.
    pub(crate) fn new(rate: f64) -> Result<Self, ScheduleError> {
        if rate.is_finite() && rate > 0.0 {
            Ok(Self { rate })
        } else {
            Err(ScheduleError::BadRate(rate))
        }
    }

    pub(crate) fn rate(&self) -> f64 {
        self.rate
    }

    /// When transaction `i` is due, from the start of the step.
    pub(crate) fn due(&self, i: u64) -> Duration {
        Duration::from_secs_f64(i as f64 / self.rate)
    }

    /// How many transactions are due before `end` (those with `due(i) < end`).
    pub(crate) fn count_before(&self, end: Duration) -> u64 {
        // A float estimate, corrected so the answer agrees with `due` exactly.
        let mut n = (end.as_secs_f64() * self.rate).ceil() as u64;
        while n > 0 && self.due(n - 1) >= end {
            n -= 1;
        }
        while self.due(n) < end {
            n += 1;
        }
        n
    }
}

/// A half-open span `[start, end)` of time since the step started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) start: Duration,
    pub(crate) end: Duration,
}

impl Window {
    /// The window after `warmup`, lasting `duration`.
    pub(crate) fn after(warmup: Duration, duration: Duration) -> Self {
        Self {
            start: warmup,
            end: warmup + duration,
        }
    }

    pub(crate) fn contains(&self, t: Duration) -> bool {
        t >= self.start && t < self.end
    }

    pub(crate) fn seconds(&self) -> f64 {
        (self.end - self.start).as_secs_f64()
    }
}

/// One transaction of a step; times are from the start of the step.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    /// When the schedule said to send it.
    pub(crate) due: Duration,
    /// When the generator sent it (later than `due` when it fell behind).
    pub(crate) sent: Duration,
    /// When it committed VALID (or the evaluate answered), or failed.
    pub(crate) done: Duration,
    /// `Err` holds the failure reason (one line).
    pub(crate) outcome: Result<(), String>,
}

/// Percentiles of one latency distribution, in milliseconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Percentiles {
    /// Values recorded.
    pub(crate) count: u64,
    pub(crate) mean_ms: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p95_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) p99_9_ms: f64,
    pub(crate) max_ms: f64,
}

impl Percentiles {
    fn of(h: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        if h.is_empty() {
            return Self {
                count: 0,
                mean_ms: 0.0,
                p50_ms: 0.0,
                p95_ms: 0.0,
                p99_ms: 0.0,
                p99_9_ms: 0.0,
                max_ms: 0.0,
            };
        }
        Self {
            count: h.len(),
            mean_ms: h.mean() / 1000.0,
            p50_ms: ms(h.value_at_quantile(0.50)),
            p95_ms: ms(h.value_at_quantile(0.95)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p99_9_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        }
    }
}

/// What the samples of one step say about its measured window.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StepSummary {
    /// Transactions due inside the window (the offered load).
    pub(crate) scheduled: u64,
    /// Of those, how many succeeded (committed VALID, or answered for an evaluate):
    /// exactly the latency histogram's count.
    pub(crate) committed: u64,
    /// Successes that *finished* inside the window, whenever they were due:
    /// the throughput's numerator.
    pub(crate) committed_in_window: u64,
    /// `committed_in_window` per second of the window.
    pub(crate) committed_tps: f64,
    /// Transactions due inside the window that failed.
    pub(crate) failed: u64,
    /// Failures by reason (the first line of each error).
    pub(crate) failures: BTreeMap<String, u64>,
    /// Due-to-done latency of the window's successes (HdrHistogram, 3 significant digits).
    pub(crate) latency: Percentiles,
    /// How late the generator sent the window's transactions (due to sent).
    pub(crate) send_lag: Percentiles,
}

fn histogram() -> Result<Histogram<u64>, ScheduleError> {
    Ok(Histogram::new_with_bounds(
        1,
        HISTOGRAM_MAX_MICROS,
        HISTOGRAM_DIGITS,
    )?)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// Summarises the samples of a step over its measured `window`.
pub(crate) fn summarise(samples: &[Sample], window: Window) -> Result<StepSummary, ScheduleError> {
    let mut latency = histogram()?;
    let mut lag = histogram()?;
    let (mut scheduled, mut committed, mut committed_in_window, mut failed) = (0, 0, 0, 0);
    let mut failures: BTreeMap<String, u64> = BTreeMap::new();
    for s in samples {
        if s.outcome.is_ok() && window.contains(s.done) {
            committed_in_window += 1;
        }
        if !window.contains(s.due) {
            continue;
        }
        scheduled += 1;
        lag.saturating_record(micros(s.sent.saturating_sub(s.due)));
        match &s.outcome {
            Ok(()) => {
                committed += 1;
                latency.saturating_record(micros(s.done.saturating_sub(s.due)));
            }
            Err(reason) => {
                failed += 1;
                let key = if failures.len() < MAX_FAILURE_KINDS || failures.contains_key(reason) {
                    reason.clone()
                } else {
                    OTHER_FAILURES.to_owned()
                };
                *failures.entry(key).or_default() += 1;
            }
        }
    }
    Ok(StepSummary {
        scheduled,
        committed,
        committed_in_window,
        committed_tps: committed_in_window as f64 / window.seconds(),
        failed,
        failures,
        latency: Percentiles::of(&latency),
        send_lag: Percentiles::of(&lag),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn ok(due: u64, done: u64) -> Sample {
        Sample {
            due: ms(due),
            sent: ms(due),
            done: ms(done),
            outcome: Ok(()),
        }
    }

    #[test]
    fn due_times_follow_the_rate_not_the_answers() {
        let s = Schedule::new(4.0).unwrap();
        assert_eq!(s.due(0), ms(0));
        assert_eq!(s.due(1), ms(250));
        assert_eq!(s.due(8), ms(2000));
    }

    #[test]
    fn count_before_agrees_with_due() {
        for rate in [1.0, 3.0, 7.5, 100.0, 2500.0, 3333.3] {
            let s = Schedule::new(rate).unwrap();
            for end_ms in [0u64, 1, 999, 1000, 1001, 12_000] {
                let end = ms(end_ms);
                let n = s.count_before(end);
                assert!(n == 0 || s.due(n - 1) < end, "rate {rate} end {end_ms}");
                assert!(s.due(n) >= end, "rate {rate} end {end_ms}");
            }
        }
        // 10 s at 2,500/s: exactly 25,000 transactions, the first due at 0.
        assert_eq!(
            Schedule::new(2500.0).unwrap().count_before(ms(10_000)),
            25_000
        );
    }

    #[test]
    fn refuses_rates_that_are_not_positive() {
        for r in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(Schedule::new(r).is_err(), "{r}");
        }
    }

    #[test]
    fn latency_runs_from_the_due_time_not_the_send_time() {
        // Due at 1000 ms, sent 400 ms late (the generator was held up), done at 1500 ms:
        // the latency is 500 ms, not the 100 ms from the send.
        let s = Sample {
            due: ms(1000),
            sent: ms(1400),
            done: ms(1500),
            outcome: Ok(()),
        };
        let sum = summarise(&[s], Window::after(ms(1000), ms(1000))).unwrap();
        assert_eq!(sum.committed, 1);
        assert!(
            (sum.latency.p50_ms - 500.0).abs() < 1.0,
            "{:?}",
            sum.latency
        );
        assert!(
            (sum.send_lag.max_ms - 400.0).abs() < 1.0,
            "{:?}",
            sum.send_lag
        );
    }

    #[test]
    fn the_window_counts_by_due_time_and_throughput_by_finish_time() {
        let w = Window::after(ms(1000), ms(2000)); // [1 s, 3 s)
        let samples = vec![
            ok(500, 1200),  // warm-up transaction: finishes inside, not counted as due inside
            ok(1000, 1100), // inside
            ok(2900, 3300), // due inside, finishes in the drain
            ok(3000, 3100), // due after the window
            Sample {
                due: ms(2000),
                sent: ms(2000),
                done: ms(2100),
                outcome: Err("MVCC_READ_CONFLICT".into()),
            },
        ];
        let sum = summarise(&samples, w).unwrap();
        assert_eq!(sum.scheduled, 3);
        assert_eq!(sum.committed, 2);
        assert_eq!(sum.latency.count, sum.committed);
        assert_eq!(sum.failed, 1);
        assert_eq!(sum.failures.get("MVCC_READ_CONFLICT"), Some(&1));
        // Finished inside [1 s, 3 s) and succeeded: the ones done at 1200 and 1100.
        assert_eq!(sum.committed_in_window, 2);
        assert!((sum.committed_tps - 1.0).abs() < 1e-9);
    }

    #[test]
    fn percentiles_of_a_known_distribution() {
        // 1..=1000 ms latencies: p50 ~ 500, p99 ~ 990, p99.9 ~ 999, max ~ 1000 (3 digits).
        let samples: Vec<Sample> = (1..=1000).map(|i| ok(1000, 1000 + i)).collect();
        let sum = summarise(&samples, Window::after(ms(1000), ms(1))).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() <= b * 0.002 + 0.001;
        assert_eq!(sum.latency.count, 1000);
        assert!(close(sum.latency.p50_ms, 500.0), "{:?}", sum.latency);
        assert!(close(sum.latency.p95_ms, 950.0), "{:?}", sum.latency);
        assert!(close(sum.latency.p99_ms, 990.0), "{:?}", sum.latency);
        assert!(close(sum.latency.p99_9_ms, 999.0), "{:?}", sum.latency);
        assert!(close(sum.latency.max_ms, 1000.0), "{:?}", sum.latency);
        assert!(close(sum.latency.mean_ms, 500.5), "{:?}", sum.latency);
    }

    #[test]
    fn many_failure_reasons_are_capped() {
        let samples: Vec<Sample> = (0..20)
            .map(|i| Sample {
                due: ms(10),
                sent: ms(10),
                done: ms(20),
                outcome: Err(format!("reason {i}")),
            })
            .collect();
        let sum = summarise(&samples, Window::after(ms(0), ms(100))).unwrap();
        assert_eq!(sum.failed, 20);
        assert_eq!(sum.failures.len(), MAX_FAILURE_KINDS + 1);
        assert_eq!(sum.failures.get(OTHER_FAILURES), Some(&12));
        assert_eq!(sum.failures.values().sum::<u64>(), 20);
    }

    #[test]
    fn an_empty_window_reports_zeros() {
        let sum = summarise(&[], Window::after(ms(0), ms(1000))).unwrap();
        assert_eq!((sum.scheduled, sum.committed, sum.failed), (0, 0, 0));
        assert_eq!(sum.latency.count, 0);
        assert_eq!(sum.committed_tps, 0.0);
    }
}
