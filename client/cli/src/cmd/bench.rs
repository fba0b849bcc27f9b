//! `healthblock bench`: the load generator. Closed loop (the default):
//! submits `put` transactions at several concurrency levels against the
//! running network and reports, per level, committed tx/s, submit-to-commit latency percentiles, failures,
//! evaluate latency measured while that level's load runs, and the network's
//! resident memory. A benchmark, not a test: it asserts nothing.
//!
//! Owns: the measurement window of each level. The load runs for `--warmup`
//! and then `--duration`; only the window after the warm-up counts:
//! throughput is the VALID commits seen inside the window divided by its
//! length, latency percentiles are over the transactions submitted inside it
//! (each to its commit, even one that lands in the drain after the window),
//! failures are those that ended inside it. The warm-up and the drain (waiting
//! for the last in-flight transactions) are excluded from every figure.
//! Percentiles are nearest-rank ([`crate::stats`]). The report names the
//! backend that actually ran (from its processes, not the description).
//!
//! Open loop (`--open-loop --rate R[,R2...]`): the logic lives in
//! [`crate::bench`]; this file parses its arguments and prints its report.

use crate::bench::cpu;
use crate::bench::environment::{build_profile, Environment};
use crate::bench::open_loop::{run_step, StepConfig, StepReport};
use crate::bench::workload::{Driver, SetupSizes, Workload};
use crate::context::Context;
use crate::output;
use crate::stats::percentile_of_sorted;
use anyhow::{anyhow, Result};
use fabric_client::contract::Contract;
use healthblock_network::consortium::Backend;
use healthblock_network::fabric_process;
use healthblock_network::running::running_backend;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub(crate) struct BenchArgs {
    /// Client identity as USER@ORG.
    #[arg(long = "as", default_value = "User1@Hospital1")]
    pub who: String,
    /// Chaincode to call (default: `kv`, or `ehr` for the EHR workloads); the
    /// closed loop needs put(key, value) and get(key).
    #[arg(long)]
    pub chaincode: Option<String>,
    /// Open loop: send at fixed rates (`--rate`) instead of from a fixed number
    /// of in-flight workers; latency runs from each transaction's due time.
    #[arg(long, requires = "rate")]
    pub open_loop: bool,
    /// Open loop: offered rates in transactions per second, one step each
    /// (each with its own warm-up and measured window), comma-separated.
    #[arg(long, value_delimiter = ',', requires = "open_loop")]
    pub rate: Vec<f64>,
    /// Open loop: what each transaction does.
    #[arg(long, value_enum, default_value = "kv-put")]
    pub workload: Workload,
    /// Open loop: most transactions outstanding at once; the sender waits (and
    /// the wait counts in the latency) beyond it.
    #[arg(long, default_value_t = 20_000)]
    pub max_in_flight: usize,
    /// Open loop, EHR workloads: patients registered before the steps.
    #[arg(long, default_value_t = 100)]
    pub patients: u64,
    /// Open loop, read workloads: records (EHR) or keys (kv-get) written before the steps.
    #[arg(long, default_value_t = 1_000)]
    pub records: u64,
    /// Concurrency levels (in-flight transactions), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32,128")]
    pub concurrency: Vec<usize>,
    /// How long each level is measured (after its warm-up).
    #[arg(long, default_value = "10s", value_parser = humantime_duration)]
    pub duration: Duration,
    /// Load before each level's measurement window; not counted.
    #[arg(long, default_value = "2s", value_parser = humantime_duration)]
    pub warmup: Duration,
    /// Bytes per value.
    #[arg(long, default_value_t = 100)]
    pub value_size: usize,
    /// gRPC connections to the gateway peer, shared by the workers.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// A label for this run (e.g. the batch settings), copied into the report.
    #[arg(long, default_value = "")]
    pub label: String,
    /// Print the report as JSON (for scripts) instead of text.
    #[arg(long)]
    pub json: bool,
}

pub(crate) fn humantime_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = s.trim().split_at(
        s.trim()
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(s.len()),
    );
    let n: f64 = num.parse().map_err(|_| format!("bad duration {s:?}"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        _ => return Err(format!("bad duration unit in {s:?} (use ms, s or m)")),
    };
    Ok(Duration::from_secs_f64(secs))
}

/// Results of one concurrency level (all over its measurement window).
#[derive(Serialize, Debug)]
pub(crate) struct Level {
    pub concurrency: usize,
    /// VALID commits seen inside the window.
    pub committed: u64,
    /// Submissions that failed (endorsement, ordering, or an invalid commit) inside the window.
    pub failed: u64,
    /// Failure messages by count (the first line of each, at most 8 kinds).
    pub errors: BTreeMap<String, u64>,
    /// Length of the window.
    pub seconds: f64,
    /// Unmeasured load before the window.
    pub warmup_seconds: f64,
    pub tps: f64,
    /// Transactions submitted inside the window that committed VALID: the latency samples.
    pub latency_samples: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// Evaluate calls made inside the window, while this level's load ran.
    pub evaluate_samples: usize,
    pub evaluate_failed: u64,
    pub evaluate_p50_ms: f64,
    pub evaluate_p95_ms: f64,
    /// Peak RSS during the level per process kind (`devnet`, or `peer` / `orderer`:
    /// the largest process of that kind).
    pub peak_rss_mib: BTreeMap<String, f64>,
}

#[derive(Serialize, Debug)]
struct Report {
    label: String,
    /// `release` or `debug`: how this load generator was built.
    build_profile: &'static str,
    /// The backend whose processes ran the benchmark.
    backend: Backend,
    chaincode: String,
    batch_timeout_ms: u128,
    max_message_count: u32,
    endorsement_policy: String,
    levels: Vec<Level>,
}

/// How long the drain after a level may take before the run is declared hung.
const DRAIN_LIMIT: Duration = Duration::from_secs(120);
/// Pause between one evaluator's calls: a probe of latency, not extra load.
const EVALUATE_PAUSE: Duration = Duration::from_millis(20);
/// At most this many distinct failure messages are kept per level.
const MAX_ERROR_KINDS: usize = 8;

pub(crate) async fn run(ctx: &Context, args: BenchArgs) -> Result<()> {
    let backend = running_backend(&ctx.consortium, &ctx.layout).ok_or_else(|| {
        anyhow!(
            "no network runs under {}: start one with `healthblock network up`",
            ctx.layout.home().display()
        )
    })?;
    if backend != ctx.consortium.backend {
        return Err(anyhow!(
            "the network under {} runs the {backend} backend, not {} as asked",
            ctx.layout.home().display(),
            ctx.consortium.backend
        ));
    }
    if args.open_loop {
        return run_open_loop(ctx, backend, args).await;
    }
    if args.workload != Workload::KvPut {
        return Err(anyhow!(
            "the closed loop runs kv put only; --workload needs --open-loop"
        ));
    }
    let chaincode = args.chaincode.clone().unwrap_or_else(|| "kv".to_owned());
    let mut contracts = Vec::new();
    for _ in 0..args.connections.max(1) {
        let gw = crate::cmd::tx::connect(ctx, &args.who, None).await?;
        contracts.push(gw.network(&ctx.consortium.channel).contract(&chaincode));
    }
    // Fail fast with a clear message if the chaincode is not there.
    contracts[0]
        .evaluate("get", ["bench-probe"])
        .await
        .map_err(|e| anyhow!("the network does not answer {chaincode}.get: {e}"))?;
    let processes = network_processes(ctx, backend);
    let mut levels = Vec::new();
    for &c in &args.concurrency {
        if !args.json {
            output::step(format!(
                "concurrency {c}: warm-up {:?}, then measuring for {:?}",
                args.warmup, args.duration
            ));
        }
        let level = run_level(&contracts, c, &args, &processes).await?;
        if !args.json {
            print_level(&level);
        }
        levels.push(level);
    }
    let report = Report {
        label: args.label.clone(),
        build_profile: build_profile(),
        backend,
        chaincode,
        batch_timeout_ms: ctx.consortium.batch.timeout.as_millis(),
        max_message_count: ctx.consortium.batch.max_message_count,
        endorsement_policy: ctx.consortium.policies.endorsement.clone(),
        levels,
    };
    if args.json {
        output::json(&report)?;
    }
    Ok(())
}

/// The report of an open-loop run.
#[derive(Serialize, Debug)]
struct OpenLoopReport {
    mode: &'static str,
    label: String,
    /// The backend whose processes ran the benchmark (read back from them).
    backend: Backend,
    /// Host, CPUs, load averages, start time and the build profile of this binary.
    environment: Environment,
    workload: Workload,
    /// Whether each call is submitted (latency to VALID commit) or evaluated.
    submitted: bool,
    chaincode: String,
    value_size: usize,
    connections: usize,
    batch_timeout_ms: u128,
    max_message_count: u32,
    endorsement_policy: String,
    /// The processes whose CPU time each step reports (name and pid).
    processes: BTreeMap<String, u32>,
    steps: Vec<StepReport>,
}

async fn run_open_loop(ctx: &Context, backend: Backend, args: BenchArgs) -> Result<()> {
    let mut environment = Environment::at_start();
    let chaincode = args
        .chaincode
        .clone()
        .unwrap_or_else(|| args.workload.default_chaincode().to_owned());
    let (contracts, network) =
        crate::bench::workload::connect(ctx, &args.who, &chaincode, args.connections).await?;
    if !args.json {
        output::step(format!(
            "open loop, workload {:?} on {chaincode}: setting up",
            args.workload
        ));
    }
    let sizes = SetupSizes {
        patients: args.patients,
        records: args.records,
        concurrency: 64,
    };
    let driver =
        Arc::new(Driver::prepare(ctx, args.workload, contracts, args.value_size, sizes).await?);
    let processes = cpu::network_processes(&ctx.layout);
    let mut steps = Vec::new();
    for (step, &rate) in args.rate.iter().enumerate() {
        if !args.json {
            output::step(format!(
                "rate {rate} tx/s: warm-up {:?}, then measuring for {:?}",
                args.warmup, args.duration
            ));
        }
        let config = StepConfig {
            rate,
            warmup: args.warmup,
            duration: args.duration,
            max_in_flight: args.max_in_flight,
            drain_limit: DRAIN_LIMIT,
        };
        let report = run_step(driver.clone(), &network, &processes, step, config).await?;
        if !args.json {
            print_step(&report);
        }
        steps.push(report);
    }
    environment.finish();
    let report = OpenLoopReport {
        mode: "open-loop",
        label: args.label.clone(),
        backend,
        environment,
        workload: driver.workload(),
        submitted: driver.workload().submits(),
        chaincode,
        value_size: args.value_size,
        connections: args.connections.max(1),
        batch_timeout_ms: ctx.consortium.batch.timeout.as_millis(),
        max_message_count: ctx.consortium.batch.max_message_count,
        endorsement_policy: ctx.consortium.policies.endorsement.clone(),
        processes: processes.iter().map(|p| (p.name.clone(), p.pid)).collect(),
        steps,
    };
    if args.json {
        output::json(&report)?;
    } else {
        println!(
            "  ({} build, {} on {} CPUs, load average {:?} -> {:?})",
            report.environment.build_profile,
            report.environment.host,
            report.environment.cpus,
            report.environment.load_average_start,
            report.environment.load_average_end
        );
    }
    Ok(())
}

fn print_step(r: &StepReport) {
    let s = &r.summary;
    println!(
        "  offered {:>7.0}/s  committed {:>7.1} tx/s ({} of {} due in the window; failed {})  latency p50 {:.1} p95 {:.1} p99 {:.1} p99.9 {:.1} max {:.1} ms  send lag p99 {:.1} ms  peak in flight {}",
        r.offered_rate,
        s.committed_tps,
        s.committed,
        s.scheduled,
        s.failed,
        s.latency.p50_ms,
        s.latency.p95_ms,
        s.latency.p99_ms,
        s.latency.p99_9_ms,
        s.latency.max_ms,
        s.send_lag.p99_ms,
        r.peak_in_flight
    );
    let b = &r.blocks;
    if let (Some(tx), Some(bytes)) = (&b.transactions_per_block, &b.block_bytes) {
        println!(
            "    blocks {}  tx/block mean {:.1} p50 {:.0} max {:.0}  bytes mean {:.0} p50 {:.0} max {:.0}  interval p50 {}",
            b.blocks,
            tx.mean,
            tx.p50,
            tx.max,
            bytes.mean,
            bytes.p50,
            bytes.max,
            b.interval_ms
                .as_ref()
                .map_or("-".to_owned(), |i| format!("{:.0} ms", i.p50))
        );
    }
    println!(
        "    cpu s: {}",
        r.cpu_seconds
            .iter()
            .map(|(p, c)| format!("{p} {c:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (reason, n) in &s.failures {
        println!("    {n} x {reason}");
    }
}

fn print_level(l: &Level) {
    println!(
        "  c={:<4} committed {:>7} failed {:>4}  {:>8.1} tx/s  p50 {:>7.1} ms  p95 {:>7.1} ms  p99 {:>7.1} ms  eval p50 {:>5.1} ms (n={}, failed {})  rss {}",
        l.concurrency,
        l.committed,
        l.failed,
        l.tps,
        l.p50_ms,
        l.p95_ms,
        l.p99_ms,
        l.evaluate_p50_ms,
        l.evaluate_samples,
        l.evaluate_failed,
        l.peak_rss_mib
            .iter()
            .map(|(kind, r)| format!("{kind} {r:.0} MiB"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (message, n) in &l.errors {
        println!("         {n} x {message}");
    }
}

/// The network's processes as (kind, pid): the devnet process, or every Fabric peer and orderer.
fn network_processes(ctx: &Context, backend: Backend) -> Vec<(String, u32)> {
    let read = |file: std::path::PathBuf| -> Option<u32> {
        std::fs::read_to_string(file).ok()?.trim().parse().ok()
    };
    match backend {
        Backend::Devnet => read(ctx.layout.devnet_pid_file())
            .map(|pid| ("devnet".to_owned(), pid))
            .into_iter()
            .collect(),
        Backend::Fabric => fabric_process::nodes(&ctx.consortium, &ctx.layout)
            .iter()
            .filter_map(|n| {
                let kind = format!("{:?}", n.kind).to_lowercase();
                read(fabric_process::process::pid_file(&ctx.layout, n)).map(|pid| (kind, pid))
            })
            .collect(),
    }
}

/// (VmRSS, VmHWM) of a process in MiB.
fn rss_mib(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// One finished call: when it started and ended (since the level began) and
/// its outcome (`Err` holds the first line of the failure).
struct Sample {
    start: Duration,
    end: Duration,
    outcome: Result<(), String>,
}

/// The samples a level's tasks push, shared with the level.
type Samples = Arc<Mutex<Vec<Sample>>>;

fn first_line(e: &dyn std::fmt::Display) -> String {
    e.to_string().lines().next().unwrap_or("").to_owned()
}

async fn run_level(
    contracts: &[Contract],
    concurrency: usize,
    args: &BenchArgs,
    processes: &[(String, u32)],
) -> Result<Level> {
    let submits: Samples = Arc::default();
    let evaluates: Samples = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let value = "x".repeat(args.value_size);
    let run_id = std::process::id();
    let t0 = Instant::now();
    let window = (args.warmup, args.warmup + args.duration);
    let peak_rss: Arc<Mutex<BTreeMap<String, f64>>> = Arc::default();
    let sampler = {
        let (stop, peak, processes) = (stop.clone(), peak_rss.clone(), processes.to_vec());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                for (kind, pid) in &processes {
                    if let (Some((rss, _)), Ok(mut p)) = (rss_mib(*pid), peak.lock()) {
                        let e = p.entry(kind.clone()).or_insert(0.0);
                        *e = e.max(rss);
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let contract = contracts[w % contracts.len()].clone();
        let (submits, stop, value) = (submits.clone(), stop.clone(), value.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let key = format!("bench-{run_id}-{concurrency}-{w}-{i}");
                i += 1;
                let start = t0.elapsed();
                let outcome = async {
                    let sub = contract
                        .submit_async("put", [key.as_str(), value.as_str()])
                        .await
                        .map_err(|e| first_line(&e))?;
                    let status = sub.status().await.map_err(|e| first_line(&e))?;
                    if status.is_valid() {
                        Ok(())
                    } else {
                        Err(format!("committed with validation code {:?}", status.code))
                    }
                }
                .await;
                let end = t0.elapsed();
                if let Ok(mut s) = submits.lock() {
                    s.push(Sample {
                        start,
                        end,
                        outcome,
                    });
                }
            }
        }));
    }
    // One evaluator, running beside the load, so its latency is the latency
    // under this level's load.
    {
        let contract = contracts[0].clone();
        let (evaluates, stop) = (evaluates.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let start = t0.elapsed();
                let outcome = contract
                    .evaluate("get", ["bench-probe"])
                    .await
                    .map(|_| ())
                    .map_err(|e| first_line(&e));
                let end = t0.elapsed();
                if let Ok(mut s) = evaluates.lock() {
                    s.push(Sample {
                        start,
                        end,
                        outcome,
                    });
                }
                tokio::time::sleep(EVALUATE_PAUSE).await;
            }
        }));
    }
    tokio::time::sleep(window.1).await;
    stop.store(true, Ordering::Relaxed);
    // The drain: the calls in flight at the end of the window finish (their
    // latency counts when they were submitted inside the window; nothing else
    // about the drain does).
    for task in tasks {
        tokio::time::timeout(DRAIN_LIMIT, task)
            .await
            .map_err(|_| {
                anyhow!("a load task did not finish within {DRAIN_LIMIT:?} after the level")
            })?
            .map_err(|e| anyhow!("a load task failed: {e}"))?;
    }
    sampler
        .await
        .map_err(|e| anyhow!("the memory sampler failed: {e}"))?;
    let submits = std::mem::take(
        &mut *submits
            .lock()
            .map_err(|_| anyhow!("samples lock poisoned"))?,
    );
    let evaluates = std::mem::take(
        &mut *evaluates
            .lock()
            .map_err(|_| anyhow!("samples lock poisoned"))?,
    );
    let inside = |t: Duration| t >= window.0 && t < window.1;

    let committed = submits
        .iter()
        .filter(|s| s.outcome.is_ok() && inside(s.end))
        .count() as u64;
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut failed = 0u64;
    for s in submits.iter().filter(|s| inside(s.end)) {
        if let Err(e) = &s.outcome {
            failed += 1;
            if errors.len() < MAX_ERROR_KINDS || errors.contains_key(e) {
                *errors.entry(e.clone()).or_default() += 1;
            }
        }
    }
    let latencies = sorted_micros(&submits, inside);
    let eval_latencies = sorted_micros(&evaluates, inside);
    let evaluate_failed = evaluates
        .iter()
        .filter(|s| s.outcome.is_err() && inside(s.start))
        .count() as u64;
    let ms = |sorted: &[u64], p: f64| {
        percentile_of_sorted(sorted, p).map_or(0.0, |us| us as f64 / 1000.0)
    };
    let seconds = args.duration.as_secs_f64();
    let peak = peak_rss.lock().map(|p| p.clone()).unwrap_or_default();
    Ok(Level {
        concurrency,
        committed,
        failed,
        errors,
        seconds,
        warmup_seconds: args.warmup.as_secs_f64(),
        tps: committed as f64 / seconds,
        latency_samples: latencies.len(),
        p50_ms: ms(&latencies, 50.0),
        p95_ms: ms(&latencies, 95.0),
        p99_ms: ms(&latencies, 99.0),
        evaluate_samples: eval_latencies.len(),
        evaluate_failed,
        evaluate_p50_ms: ms(&eval_latencies, 50.0),
        evaluate_p95_ms: ms(&eval_latencies, 95.0),
        peak_rss_mib: peak,
    })
}

/// Latencies (µs, ascending) of the successful calls that started inside the window.
fn sorted_micros(samples: &[Sample], inside: impl Fn(Duration) -> bool) -> Vec<u64> {
    let mut v: Vec<u64> = samples
        .iter()
        .filter(|s| s.outcome.is_ok() && inside(s.start))
        .map(|s| (s.end - s.start).as_micros() as u64)
        .collect();
    v.sort_unstable();
    v
}
