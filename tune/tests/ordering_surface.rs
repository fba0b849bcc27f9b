//! The criterion on a synthetic surface shaped like an ordering
//! service's latency: whale optimisation reaches within 5% of the grid optimum
//! with at most a third of the grid's evaluations (median over seeds), and is
//! compared with grid and random search at that same budget.
//!
//! The model (closed form, noise added per measurement), at a fixed offered
//! load `lambda` (tx/s), for a batch timeout `T` (ms, log 10..2000) and a
//! maximum message count `M` (log 1..1000):
//!
//! - A block is cut when `M` transactions are waiting or `T` has passed, so it
//!   holds `B = clamp(lambda T / 1000, 1, M)` transactions and one is cut
//!   every `tau = 1000 B / lambda` ms.
//! - Ordering and committing a block costs `S = c_block + c_tx B` ms (a fixed
//!   per-block cost: consensus round, signature, fsync; plus validation per
//!   transaction), so the committer's utilisation is `rho = S / tau`.
//! - A transaction waits for its block to be cut (at the 95th percentile
//!   `0.95 tau`), then queues behind earlier blocks (an M/D/1-style mean wait
//!   `rho S / (2 (1 - rho))`, times 3 for the 95th percentile of an
//!   exponential-like tail), then is committed (`S`), after a fixed client,
//!   endorsement and network latency `L0`.
//! - `p95 = L0 + 0.95 tau + S + 3 rho S / (2 (1 - rho))`; above `rho = 0.97`
//!   the queue does not drain within a measurement, and p95 is the value at
//!   0.97 growing by 10x the excess utilisation (finite, increasing: what a
//!   bounded measurement window reports). Committed tx/s is
//!   `lambda min(1, 1/rho)`.
//!
//! So: small blocks (tiny `M`, or tiny `T`) pay the per-block cost too often
//! and queue; large blocks that never fill wait for the timeout; the optimum
//! is an L-shaped valley (`M` about the optimal block with any `T` above its
//! fill time, or `T` about the fill time with any larger `M`). Each
//! measurement is the model's p95 times `1 + sigma z`, `z` standard normal,
//! `sigma = 0.05 + max(0, rho - 0.8)` (15% at a utilisation of 0.9: runs
//! near saturation are less repeatable).

use healthblock_tune::compare::{self, Config, ReferenceGrid, Report, REFERENCE};
use healthblock_tune::replay::{Lookup, Replay};
use healthblock_tune::{Dim, Evaluate, Measurement, Objective, Point, Space};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The ordering-service model above.
#[derive(Clone)]
struct Ordering {
    load_tps: f64,
    base_ms: f64,
    block_ms: f64,
    tx_ms: f64,
    rng: ChaCha8Rng,
}

impl Ordering {
    /// At `load_tps`, with costs that give a peak near 833 tx/s.
    fn at_load(load_tps: f64, seed: u64) -> Self {
        Self {
            load_tps,
            base_ms: 40.0,
            block_ms: 12.0,
            tx_ms: 1.2,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// Noise-free (p95 ms, committed tx/s, utilisation).
    fn truth(&self, timeout_ms: f64, max_messages: f64) -> (f64, f64, f64) {
        let lambda = self.load_tps;
        let b = (lambda * timeout_ms / 1000.0).clamp(1.0, max_messages);
        let tau = 1000.0 * b / lambda;
        let s = self.block_ms + self.tx_ms * b;
        let rho = s / tau;
        let p95_at = |r: f64| self.base_ms + 0.95 * tau + s + 3.0 * r * s / (2.0 * (1.0 - r));
        let p95 = if rho < 0.97 {
            p95_at(rho)
        } else {
            p95_at(0.97) * (1.0 + 10.0 * (rho - 0.97))
        };
        (p95, lambda * (1.0 / rho).min(1.0), rho)
    }

    fn normal(&mut self) -> f64 {
        // Box-Muller; 1 - u keeps the logarithm finite.
        let u1: f64 = 1.0 - self.rng.gen::<f64>();
        let u2: f64 = self.rng.gen();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

fn params(p: &Point) -> (f64, f64) {
    (
        p.get("batch_timeout_ms").expect("timeout dimension"),
        p.get("max_message_count").expect("count dimension"),
    )
}

impl Evaluate for Ordering {
    type Error = std::convert::Infallible;

    fn evaluate(&mut self, p: &Point) -> Result<Measurement, Self::Error> {
        let (t, m) = params(p);
        let (p95, tps, rho) = self.truth(t, m);
        let sigma = 0.05 + (rho - 0.8).max(0.0);
        let p95 = p95 * (1.0 + sigma * self.normal()).max(0.5);
        let tps = tps * (1.0 + 0.01 * self.normal());
        Ok(Measurement::new().with("p95_ms", p95).with("tps", tps))
    }

    fn reference(&self, p: &Point) -> Option<Measurement> {
        let (t, m) = params(p);
        let (p95, tps, _) = self.truth(t, m);
        Some(Measurement::new().with("p95_ms", p95).with("tps", tps))
    }
}

fn space() -> Space {
    Space::new(vec![
        Dim::integer("batch_timeout_ms", 10, 2000).log(),
        Dim::integer("max_message_count", 1, 1000).log(),
    ])
    .unwrap()
}

fn print(report: &Report) {
    eprintln!(
        "objective {:?}; reference grid {} points x {} repeats = {} evaluations; budget {} ({:.3} of the grid); grid optimum {:.1} at {}",
        report.objective,
        report.reference_points,
        report.budget.repeats,
        report.reference_evaluations,
        report.budget.evaluations,
        report.budget_fraction,
        report.optimum.value,
        report.optimum.point,
    );
    for m in &report.methods {
        let gaps: Vec<String> = m
            .runs
            .iter()
            .map(|r| r.gap_pct.map_or("infeasible".into(), |g| format!("{g:.1}")))
            .collect();
        eprintln!(
            "  {:<15} budget {:>5}  median gap {:>6}% (to grid search's pick {:>6}%)  within 5%: {}/{}  median evals {:>6}  gaps per seed [{}]",
            m.name,
            m.budget.evaluations,
            m.median_gap_pct.map_or("-".into(), |g| format!("{g:.2}")),
            m.median_gap_to_grid_search_pct.map_or("-".into(), |g| format!("{g:.2}")),
            m.runs_within_target,
            m.runs.len(),
            m.median_evaluations,
            gaps.join(", ")
        );
    }
    if let Ok(path) = std::env::var("TUNE_REPORT") {
        let json = serde_json::to_string_pretty(report).unwrap();
        std::fs::write(&path, json).unwrap();
        eprintln!("  report written to {path}");
    }
}

fn compare_at(load_tps: f64, resolution: usize, repeats: usize, seeds: u64) -> Report {
    let objective: Objective = "minimise p95_ms".parse().unwrap();
    let config = Config {
        seeds: (0..seeds).collect(),
        repeats,
        reference_grid: ReferenceGrid::Resolution(vec![resolution, resolution]),
        ..Config::default()
    };
    let report = compare::run(&space(), &objective, &config, |seed| {
        Ordering::at_load(load_tps, seed)
    })
    .unwrap();
    print(&report);
    report
}

fn assert_criterion(report: &Report) {
    // The report is JSON for whoever consumes it.
    let json = serde_json::to_value(report).unwrap();
    assert_eq!(json["methods"].as_array().unwrap().len(), 4);
    assert!(
        json["methods"][3]["runs"][0]["best"]["estimate"]["metrics"]["p95_ms"]["ci95"].is_array()
    );
    let whale = report.method("whale").unwrap();
    let reference = report.method(REFERENCE).unwrap();
    assert!(3 * whale.budget.evaluations <= reference.budget.evaluations);
    assert!(whale.max_evaluations <= whale.budget.evaluations);
    assert!(
        whale.runs.len() >= 7,
        "the criterion is a median over at least 7 seeds"
    );
    let to_search = whale
        .median_gap_to_grid_search_pct
        .expect("whale's median run is feasible");
    assert!(
        to_search <= 5.0,
        "whale's median gap to the full grid search's pick is {to_search:.2}%"
    );
    let gap = whale
        .median_gap_pct
        .expect("whale's median run is feasible");
    assert!(
        gap <= 5.0,
        "whale's median gap to the grid optimum is {gap:.2}% (> 5%)"
    );
}

#[test]
fn model_has_the_documented_shape() {
    let m = Ordering::at_load(400.0, 0);
    let (small_blocks, _, rho) = m.truth(10.0, 1.0);
    assert!(rho > 1.0, "one-transaction blocks saturate the committer");
    let (timeout_bound, _, _) = m.truth(2000.0, 1000.0);
    assert!(timeout_bound > 1900.0, "blocks that never fill wait ~2 s");
    let (best, tps, _) = m.truth(50.0, 1000.0);
    assert!(best < 300.0 && best < small_blocks && (tps - 400.0).abs() < 1e-9);
    // The L-shaped valley: the same block size by count or by timeout.
    assert_eq!(m.truth(2000.0, 20.0).0, m.truth(50.0, 1000.0).0);
}

/// The case: minimise p95 at about 50% of the model's peak load
/// (400 of ~833 tx/s), 20 x 20 grid, 3 repeats per point, 9 seeds.
#[test]
fn whale_within_5pct_of_grid_optimum_with_a_third_of_its_evaluations() {
    let report = compare_at(400.0, 20, 3, 9);
    assert_criterion(&report);
}

/// A coarser grid leaves whale fewer points (15 x 15 x 3 = 675 evaluations,
/// whale 225 = 75 points) and a lighter load moves the valley.
#[test]
fn criterion_holds_on_a_coarser_grid_at_a_lighter_load() {
    let report = compare_at(200.0, 15, 3, 9);
    assert_criterion(&report);
}

/// Near saturation (650 of ~833 tx/s) the valley is narrow and the noise
/// larger: the case where the search method matters most.
#[test]
fn criterion_holds_near_saturation() {
    let report = compare_at(650.0, 20, 3, 9);
    assert_criterion(&report);
}

/// The study's offline flow: a grid measured once (here: the model, 20 x 20,
/// 5 noisy samples per row, written as the replay table's JSON), replayed with
/// the nearest row's samples as measurements. The grid optimum is then the
/// best row's mean, as it would be on a real network; that mean is the
/// luckiest of several near-equal rows, so even the full grid search, which
/// re-measures every row, is a few percent short of it (printed as
/// `grid-reference`).
///
/// Nearest, not interpolated, lookup: every method is confined to what was
/// measured. With interpolation a point between rows gets a weighted mean of
/// rows, which can never equal the luckiest row, so a method that lands
/// between rows (whale, random) is handicapped against one that only visits
/// rows (grid). With interpolation this test measured whale at a median gap
/// of 5.06% (4 of 9 seeds within 5%: the criterion fails) against a
/// full-grid-search floor of 4.31%; to the grid search's own pick, whale's
/// median gap was 0.72%.
#[test]
fn criterion_holds_on_a_replayed_measured_grid() {
    let space = space();
    let mut model = Ordering::at_load(400.0, 99);
    let mut rows = Vec::new();
    for p in space.grid_uniform(20).unwrap() {
        let samples: Vec<Measurement> = (0..5).map(|_| model.evaluate(&p).unwrap()).collect();
        rows.push(serde_json::json!({ "params": p.to_map(), "samples": samples }));
    }
    let json = serde_json::json!({ "rows": rows }).to_string();
    let replay = Replay::from_json(space.clone(), &json, Lookup::Nearest, 0).unwrap();
    let objective: Objective = "minimise p95_ms".parse().unwrap();
    let config = Config {
        seeds: (0..9).collect(),
        repeats: 3,
        reference_grid: ReferenceGrid::Points(replay.points()),
        ..Config::default()
    };
    let report = compare::run(&space, &objective, &config, |seed| replay.reseeded(seed)).unwrap();
    print(&report);
    assert_eq!(report.scored_by, "reference");
    assert_criterion(&report);
}
