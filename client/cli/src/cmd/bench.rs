//! `healthblock bench`: the load generator. Submits `put` transactions at
//! several concurrency levels against the running network and reports
//! committed tx/s, submit-to-commit latency percentiles, evaluate latency and
//! the devnet's resident memory. A benchmark, not a test: it asserts nothing.

use crate::context::Context;
use crate::output;
use anyhow::{anyhow, Result};
use fabric_client::contract::Contract;
use hdrhistogram::Histogram;
use healthblock_network::consortium::Backend;
use healthblock_network::fabric_process;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Client identity as USER@ORG.
    #[arg(long = "as", default_value = "User1@Hospital1")]
    pub who: String,
    /// Chaincode with a put(key, value) and get(key) function.
    #[arg(long, default_value = "kv")]
    pub chaincode: String,
    /// Concurrency levels (in-flight transactions), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32,128")]
    pub concurrency: Vec<usize>,
    /// How long each level runs.
    #[arg(long, default_value = "10s", value_parser = humantime_duration)]
    pub duration: Duration,
    /// Bytes per value.
    #[arg(long, default_value_t = 100)]
    pub value_size: usize,
    /// gRPC connections to the gateway peer, shared by the workers.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// A label for this run (e.g. the batch settings), copied into the report.
    #[arg(long, default_value = "")]
    pub label: String,
    #[arg(long)]
    pub json: bool,
}

fn humantime_duration(s: &str) -> Result<Duration, String> {
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

/// Results of one concurrency level.
#[derive(Serialize, Debug)]
pub struct Level {
    pub concurrency: usize,
    pub committed: u64,
    pub failed: u64,
    pub seconds: f64,
    pub tps: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub evaluate_p50_ms: f64,
    pub evaluate_p95_ms: f64,
    /// Peak RSS during the level per process kind (`devnet`, or `peer` / `orderer`:
    /// the largest process of that kind).
    pub peak_rss_mib: BTreeMap<String, f64>,
}

#[derive(Serialize, Debug)]
struct Report {
    label: String,
    chaincode: String,
    batch_timeout_ms: u128,
    max_message_count: u32,
    endorsement_policy: String,
    levels: Vec<Level>,
}

pub async fn run(ctx: &Context, args: BenchArgs) -> Result<()> {
    let mut contracts = Vec::new();
    for _ in 0..args.connections.max(1) {
        let gw = crate::cmd::tx::connect(ctx, &args.who, None).await?;
        contracts.push(
            gw.network(&ctx.consortium.channel)
                .contract(&args.chaincode),
        );
    }
    // Fail fast with a clear message if the chaincode is not there.
    contracts[0]
        .evaluate("get", ["bench-probe"])
        .await
        .map_err(|e| anyhow!("the network does not answer {}.get: {e}", args.chaincode))?;
    let processes = network_processes(ctx);
    let mut levels = Vec::new();
    for &c in &args.concurrency {
        if !args.json {
            output::step(format!(
                "concurrency {c}: submitting for {:?}",
                args.duration
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
        chaincode: args.chaincode.clone(),
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

fn print_level(l: &Level) {
    println!(
        "  c={:<4} committed {:>7} failed {:>4}  {:>8.1} tx/s  p50 {:>7.1} ms  p95 {:>7.1} ms  p99 {:>7.1} ms  eval p50 {:>5.1} ms  rss {}",
        l.concurrency,
        l.committed,
        l.failed,
        l.tps,
        l.p50_ms,
        l.p95_ms,
        l.p99_ms,
        l.evaluate_p50_ms,
        l.peak_rss_mib
            .iter()
            .map(|(kind, r)| format!("{kind} {r:.0} MiB"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

/// The network's processes as (kind, pid): the devnet process, or every Fabric peer and orderer.
fn network_processes(ctx: &Context) -> Vec<(String, u32)> {
    let read = |file: std::path::PathBuf| -> Option<u32> {
        std::fs::read_to_string(file).ok()?.trim().parse().ok()
    };
    match ctx.consortium.backend {
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

async fn run_level(
    contracts: &[Contract],
    concurrency: usize,
    args: &BenchArgs,
    processes: &[(String, u32)],
) -> Result<Level> {
    let hist = Arc::new(Mutex::new(Histogram::<u64>::new(3)?));
    let (committed, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let stop = Arc::new(AtomicBool::new(false));
    let value = "x".repeat(args.value_size);
    let run_id = std::process::id();
    let start = Instant::now();
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
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let contract = contracts[w % contracts.len()].clone();
        let (hist, committed, failed, stop, value) = (
            hist.clone(),
            committed.clone(),
            failed.clone(),
            stop.clone(),
            value.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let key = format!("bench-{run_id}-{concurrency}-{w}-{i}");
                i += 1;
                let t0 = Instant::now();
                let outcome = async {
                    let sub = contract
                        .submit_async("put", [key.as_str(), value.as_str()])
                        .await?;
                    sub.status().await
                }
                .await;
                match outcome {
                    Ok(s) if s.is_valid() => {
                        committed.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut h) = hist.lock() {
                            let _ = h.record(t0.elapsed().as_micros() as u64);
                        }
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    tokio::time::sleep(args.duration).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    let seconds = start.elapsed().as_secs_f64();
    let _ = sampler.await;
    let eval = evaluate_latency(&contracts[0], concurrency.min(32)).await?;
    let h = hist
        .lock()
        .map_err(|_| anyhow!("histogram lock poisoned"))?;
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let committed = committed.load(Ordering::Relaxed);
    let peak = peak_rss.lock().map(|p| p.clone()).unwrap_or_default();
    Ok(Level {
        concurrency,
        committed,
        failed: failed.load(Ordering::Relaxed),
        seconds,
        tps: committed as f64 / seconds,
        p50_ms: ms(0.50),
        p95_ms: ms(0.95),
        p99_ms: ms(0.99),
        evaluate_p50_ms: eval.0,
        evaluate_p95_ms: eval.1,
        peak_rss_mib: peak,
    })
}

/// p50 and p95 of 200 evaluate calls spread over `concurrency` tasks.
async fn evaluate_latency(contract: &Contract, concurrency: usize) -> Result<(f64, f64)> {
    let hist = Arc::new(Mutex::new(Histogram::<u64>::new(3)?));
    let per_task = 200 / concurrency.max(1);
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (contract, hist) = (contract.clone(), hist.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_task.max(1) {
                let t0 = Instant::now();
                if contract.evaluate("get", ["bench-probe"]).await.is_ok() {
                    if let Ok(mut h) = hist.lock() {
                        let _ = h.record(t0.elapsed().as_micros() as u64);
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let h = hist
        .lock()
        .map_err(|_| anyhow!("histogram lock poisoned"))?;
    Ok((
        h.value_at_quantile(0.5) as f64 / 1000.0,
        h.value_at_quantile(0.95) as f64 / 1000.0,
    ))
}
