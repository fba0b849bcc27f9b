//! `healthblock tune`: tunes the live channel's BatchTimeout and
//! MaxMessageCount for an objective the operator states, with whale
//! optimisation (or grid or random search), measuring each candidate with the
//! open-loop load generator after a config update, then applies the best and
//! reports before and after. `healthblock tune compare` runs the optimisers
//! offline over seeds on a measured table (a grid run's `--table` output).
//! The work is in `crate::tune` and `healthblock_tune`; this file parses and prints.

use crate::bench::cpu;
use crate::bench::environment::Environment;
use crate::bench::open_loop::StepConfig;
use crate::bench::workload::{Driver, SetupSizes, Workload};
use crate::cmd::bench::humantime_duration;
use crate::context::Context;
use crate::output;
use crate::tune::{batch_space, point_params, LiveChannel, Sample};
use anyhow::{anyhow, bail, Context as _, Result};
use healthblock_network::running::running_backend;
use healthblock_tune::compare::{self, ReferenceGrid};
use healthblock_tune::replay::{Lookup, Replay, Table};
use healthblock_tune::{grid, random, whale, Budget, Measurement, Objective, Outcome, WhaleConfig};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct TuneArgs {
    #[command(subcommand)]
    pub compare: Option<TuneCmd>,
    #[command(flatten)]
    pub live: LiveArgs,
}

#[derive(clap::Subcommand, Debug)]
pub(crate) enum TuneCmd {
    /// Compare whale, grid and random search over seeds on a measured table, at a third
    /// of the table's evaluations (offline: nothing is measured).
    Compare(CompareArgs),
}

#[derive(clap::Args, Debug)]
pub(crate) struct LiveArgs {
    /// The objective: `minimise METRIC` or `maximise METRIC`, optionally `subject to
    /// METRIC<=LIMIT, ...`. Metrics: tps, p50_ms, p95_ms, p99_ms, failed, failed_pct.
    #[arg(long, default_value = "minimise p95_ms subject to failed_pct<=0")]
    pub objective: String,
    /// Offered load of every measurement (transactions per second, open loop).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Search method.
    #[arg(long, value_enum, default_value = "whale")]
    pub method: Method,
    /// Measurements the search may make (repeats included); grid search measures its
    /// whole grid instead.
    #[arg(long, default_value_t = 12)]
    pub budget: usize,
    /// Measurements per point (their mean is ranked; more repeats, less noise).
    #[arg(long, default_value_t = 1)]
    pub repeats: usize,
    /// Values per dimension for `--method grid`.
    #[arg(long, default_value_t = 5)]
    pub grid_resolution: usize,
    /// Seed of the search's random moves (reproducible runs).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// BatchTimeout range in milliseconds, LO:HI.
    #[arg(long, default_value = "10:2000", value_parser = range)]
    pub timeout_ms: (i64, i64),
    /// MaxMessageCount range, LO:HI.
    #[arg(long, default_value = "1:1000", value_parser = range)]
    pub max_message_count: (i64, i64),
    /// Workload of the load generator.
    #[arg(long, value_enum, default_value = "kv-put")]
    pub workload: Workload,
    /// Chaincode (default: the workload's).
    #[arg(long)]
    pub chaincode: Option<String>,
    /// Client identity as USER@ORG.
    #[arg(long = "as", default_value = "User1@Hospital1")]
    pub who: String,
    /// Bytes per value (kv workloads).
    #[arg(long, default_value_t = 100)]
    pub value_size: usize,
    /// gRPC connections to the gateway peer.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Warm-up before each measured window (not counted).
    #[arg(long, default_value = "2s", value_parser = humantime_duration)]
    pub warmup: Duration,
    /// Length of each measured window.
    #[arg(long, default_value = "6s", value_parser = humantime_duration)]
    pub duration: Duration,
    /// Most transactions outstanding at once.
    #[arg(long, default_value_t = 4096)]
    pub max_in_flight: usize,
    /// Leave the channel's original parameters in force at the end (measure only).
    #[arg(long)]
    pub no_apply: bool,
    /// Write every measurement as a replay table (input of `tune compare`).
    #[arg(long)]
    pub table: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Method {
    Whale,
    Grid,
    Random,
}

#[derive(clap::Args, Debug)]
pub(crate) struct CompareArgs {
    /// A measured table: `{"rows":[{"params":{...},"samples":[{...}]}]}` (`tune --table`).
    #[arg(long)]
    pub table: PathBuf,
    /// The objective (as for live tuning).
    #[arg(long, default_value = "minimise p95_ms subject to failed_pct<=0")]
    pub objective: String,
    /// Seeds (one run of every method per seed).
    #[arg(long, default_value_t = 9)]
    pub seeds: u64,
    /// Evaluations per point for every method.
    #[arg(long, default_value_t = 1)]
    pub repeats: usize,
    /// Budget of the compared methods (default: a third of the table's evaluations).
    #[arg(long)]
    pub budget: Option<usize>,
    /// BatchTimeout range of the table, LO:HI milliseconds.
    #[arg(long, default_value = "10:2000", value_parser = range)]
    pub timeout_ms: (i64, i64),
    /// MaxMessageCount range of the table, LO:HI.
    #[arg(long, default_value = "1:1000", value_parser = range)]
    pub max_message_count: (i64, i64),
    #[arg(long)]
    pub json: bool,
}

fn range(s: &str) -> Result<(i64, i64), String> {
    let (lo, hi) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?}: expected LO:HI"))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<i64>()
            .map_err(|e| format!("{v:?} is not an integer: {e}"))
    };
    let (lo, hi) = (parse(lo)?, parse(hi)?);
    if lo < 1 || hi < lo {
        return Err(format!("{s:?}: expected 1 <= LO <= HI"));
    }
    Ok((lo, hi))
}

pub(crate) async fn run(ctx: &Context, args: TuneArgs) -> Result<()> {
    match args.compare {
        Some(TuneCmd::Compare(a)) => compare_table(a),
        None => live(ctx, args.live).await,
    }
}

/// The parameters and what was measured with them.
#[derive(Serialize)]
struct Setting {
    timeout_ms: u64,
    max_message_count: u32,
    samples: Vec<Measurement>,
}

#[derive(Serialize)]
struct LiveReport {
    backend: healthblock_network::consortium::Backend,
    environment: Environment,
    objective: String,
    method: Method,
    seed: u64,
    budget: Budget,
    offered_rate: f64,
    workload: Workload,
    before: Setting,
    search: Outcome,
    best: Setting,
    applied: bool,
    after: Option<Setting>,
    /// Every measurement in order (the parameters and the config block that set them).
    measurements: Vec<Sample>,
}

async fn live(ctx: &Context, a: LiveArgs) -> Result<()> {
    let rate = a
        .rate
        .ok_or_else(|| anyhow!("give the offered load with --rate (transactions per second)"))?;
    let objective: Objective = a
        .objective
        .parse()
        .with_context(|| format!("objective {:?}", a.objective))?;
    let space = batch_space(a.timeout_ms, a.max_message_count)?;
    let backend = running_backend(&ctx.consortium, &ctx.layout).ok_or_else(|| {
        anyhow!("no network is running (start one with `healthblock network up`)")
    })?;
    let mut environment = Environment::at_start();
    let chaincode = a
        .chaincode
        .clone()
        .unwrap_or_else(|| a.workload.default_chaincode().to_owned());
    let (contracts, network) =
        crate::bench::workload::connect(ctx, &a.who, &chaincode, a.connections).await?;
    let say = |m: String| {
        if !a.json {
            output::step(m)
        }
    };
    say(format!(
        "setting up the {:?} workload on {chaincode}",
        a.workload
    ));
    let sizes = SetupSizes {
        patients: 100,
        records: 1000,
        concurrency: 64,
    };
    let driver = Arc::new(Driver::prepare(ctx, a.workload, contracts, a.value_size, sizes).await?);
    let admin_name = format!("Admin@{}", ctx.consortium.orderer_org.name);
    let mut target = LiveChannel {
        orderer: crate::cmd::channel::orderer(ctx).await?,
        admin: crate::cmd::channel::signer(ctx, &admin_name)?,
        channel: ctx.consortium.channel.clone(),
        driver,
        network,
        processes: cpu::network_processes(&ctx.layout),
        load: StepConfig {
            rate,
            warmup: a.warmup,
            duration: a.duration,
            max_in_flight: a.max_in_flight,
            drain_limit: Duration::from_secs(60),
        },
        next_step: 0,
        samples: Vec::new(),
    };

    let original = target.params().await?;
    let (t0, n0) = (
        original.timeout.as_millis() as u64,
        original.max_message_count,
    );
    say(format!(
        "before: BatchTimeout {t0} ms, MaxMessageCount {n0}: measuring at {rate} tx/s ({} x {:?})",
        a.repeats, a.duration
    ));
    let before = measure_setting(&mut target, t0, n0, a.repeats).await?;
    print_setting(&a, "before", &before);

    say(format!(
        "searching ({:?}, budget {} measurements, seed {})",
        a.method, a.budget, a.seed
    ));
    let budget = Budget::new(a.budget, a.repeats.max(1));
    let method = a.method;
    let (seed, resolution, repeats) = (a.seed, a.grid_resolution, a.repeats.max(1));
    let outcome = tokio::task::block_in_place(|| match method {
        Method::Whale => whale::search(
            &space,
            &objective,
            &mut target,
            budget,
            &WhaleConfig::default(),
            seed,
        ),
        Method::Random => random::search(&space, &objective, &mut target, budget, seed),
        Method::Grid => grid::search(
            &space,
            &objective,
            &mut target,
            &vec![resolution; space.len()],
            repeats,
        ),
    })
    .map_err(|e| anyhow!("{e}: {}", source_chain(&e)))?;
    let best = outcome
        .best
        .clone()
        .ok_or_else(|| anyhow!("the search measured nothing"))?;
    let (tb, nb) = point_params(&best.point).map_err(|e| e.0)?;
    let best_setting = Setting {
        timeout_ms: tb,
        max_message_count: nb,
        samples: target
            .samples
            .iter()
            .filter(|s| s.timeout_ms == tb && s.max_message_count == nb)
            .map(|s| s.metrics.clone())
            .collect(),
    };
    print_setting(&a, "best found", &best_setting);

    let after = if a.no_apply {
        target.apply(t0, n0).await?;
        say(format!(
            "--no-apply: restored BatchTimeout {t0} ms, MaxMessageCount {n0}"
        ));
        None
    } else {
        say(format!(
            "applying BatchTimeout {tb} ms, MaxMessageCount {nb} to channel {} and measuring again",
            target.channel
        ));
        let s = measure_setting(&mut target, tb, nb, a.repeats).await?;
        print_setting(&a, "after", &s);
        Some(s)
    };
    if let Some(path) = &a.table {
        let table: Table = target.table();
        std::fs::write(path, serde_json::to_vec_pretty(&table)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        say(format!("wrote the measurements to {}", path.display()));
    }
    environment.finish();
    let report = LiveReport {
        backend,
        environment,
        objective: a.objective.clone(),
        method: a.method,
        seed: a.seed,
        budget,
        offered_rate: rate,
        workload: a.workload,
        before,
        search: outcome,
        best: best_setting,
        applied: !a.no_apply,
        after,
        measurements: target.samples.clone(),
    };
    if a.json {
        output::json(&report)?;
    }
    Ok(())
}

async fn measure_setting(
    target: &mut LiveChannel,
    timeout_ms: u64,
    count: u32,
    repeats: usize,
) -> Result<Setting> {
    let mut samples = Vec::new();
    for _ in 0..repeats.max(1) {
        samples.push(target.measure(timeout_ms, count).await?.metrics);
    }
    Ok(Setting {
        timeout_ms,
        max_message_count: count,
        samples,
    })
}

fn mean(samples: &[Measurement], metric: &str) -> Option<f64> {
    let v: Vec<f64> = samples.iter().filter_map(|m| m.get(metric)).collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn print_setting(a: &LiveArgs, label: &str, s: &Setting) {
    if a.json {
        return;
    }
    let f = |m: &str| mean(&s.samples, m).map_or("-".into(), |v| format!("{v:.1}"));
    println!(
        "  {label}: {} ms / {}: committed {} tx/s, p50 {} ms, p95 {} ms, p99 {} ms, failed {} ({} measurement(s))",
        s.timeout_ms,
        s.max_message_count,
        f("tps"),
        f("p50_ms"),
        f("p95_ms"),
        f("p99_ms"),
        f("failed"),
        s.samples.len()
    );
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut parts = Vec::new();
    let mut cur = e.source();
    while let Some(s) = cur {
        parts.push(s.to_string());
        cur = s.source();
    }
    parts.join(": ")
}

fn compare_table(a: CompareArgs) -> Result<()> {
    let objective: Objective = a
        .objective
        .parse()
        .with_context(|| format!("objective {:?}", a.objective))?;
    let space = batch_space(a.timeout_ms, a.max_message_count)?;
    let text = std::fs::read_to_string(&a.table)
        .with_context(|| format!("cannot read {}", a.table.display()))?;
    let replay = Replay::from_json(space.clone(), &text, Lookup::Nearest, 0)
        .with_context(|| format!("{} is not a usable table", a.table.display()))?;
    if a.seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    let config = compare::Config {
        seeds: (0..a.seeds).collect(),
        repeats: a.repeats.max(1),
        reference_grid: ReferenceGrid::Points(replay.points()),
        budget: a.budget,
        ..compare::Config::default()
    };
    let report = compare::run(&space, &objective, &config, |seed| replay.reseeded(seed))
        .map_err(|e| anyhow!("{e}: {}", source_chain(&e)))?;
    if a.json {
        return output::json(&report);
    }
    println!(
        "grid optimum {:.1} at {} ({} points, {} evaluations); compared methods: {} evaluations ({:.0}% of the grid)",
        report.optimum.value,
        report.optimum.point,
        report.reference_points,
        report.reference_evaluations,
        report.budget.evaluations,
        report.budget_fraction * 100.0
    );
    for m in &report.methods {
        println!(
            "  {:<15} median gap {:>7} %  within {}%: {}/{}  median evaluations {}",
            m.name,
            m.median_gap_pct.map_or("-".into(), |g| format!("{g:.2}")),
            report.target_gap_pct,
            m.runs_within_target,
            m.runs.len(),
            m.median_evaluations
        );
    }
    Ok(())
}
