//! Comparing optimisers at an equal budget, over seeds.
//!
//! Owns: [`run`], which measures a reference grid (the "grid optimum") and
//! then runs grid search, random search and whale optimisation under one
//! smaller budget for each seed, and the JSON-serialisable [`Report`]: per
//! seed and as medians, the best value each found, its gap to the grid
//! optimum in percent, and the evaluations it used.
//!
//! Scoring is what makes a noisy comparison fair. Every optimiser picks its
//! best point by the means of its own repeats, which flatters lucky points.
//! The gap is therefore computed from the evaluator's noise-free
//! [`Evaluate::reference`] at the point picked, when the evaluator has one (a
//! closed-form surface, a replayed table), and the grid optimum is the best
//! reference value over the reference grid. Without a reference, both come
//! from the measured means (the per-seed full grid's best mean), and the
//! report says so in [`Report::scored_by`].
//!
//! Two gaps are reported per run: to the grid optimum (the best grid point's
//! value: the issue's criterion) and to what the full grid search picked for
//! the same seed. They differ when the reference itself is noisy (a measured
//! table): the best row's mean is the luckiest of several near-equal rows, a
//! value that grid search, re-measuring every row, does not reach either.
//!
//! ```
//! use healthblock_tune::compare::{self, Config, ReferenceGrid};
//! use healthblock_tune::replay::{Lookup, Replay};
//! use healthblock_tune::{Dim, Objective, Space};
//!
//! let space = Space::new(vec![
//!     Dim::integer("batch_timeout_ms", 10, 2000).log(),
//!     Dim::integer("max_message_count", 1, 1000).log(),
//! ])?;
//! // A measured grid: rows of parameters with repeated samples (here made up).
//! let mut rows = Vec::new();
//! for t in space.dims()[0].grid_values(6) {
//!     for m in space.dims()[1].grid_values(6) {
//!         let p95 = 50.0 + t / 2.0 + 3000.0 / m;
//!         rows.push(serde_json::json!({
//!             "params": {"batch_timeout_ms": t, "max_message_count": m},
//!             "samples": [{"p95_ms": p95 * 0.97}, {"p95_ms": p95 * 1.03}],
//!         }));
//!     }
//! }
//! let json = serde_json::Value::Array(rows).to_string();
//! let replay = Replay::from_json(space.clone(), &json, Lookup::Nearest, 0)?;
//! let config = Config {
//!     seeds: (0..7).collect(),
//!     repeats: 2,
//!     reference_grid: ReferenceGrid::Points(replay.points()),
//!     ..Config::default()
//! };
//! let objective: Objective = "minimise p95_ms".parse()?;
//! let report = compare::run(&space, &objective, &config, |seed| replay.reseeded(seed))?;
//! let whale = report.method("whale").unwrap();
//! assert!(whale.max_evaluations <= report.budget.evaluations);
//! println!("{}", serde_json::to_string_pretty(&report)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::Serialize;

use crate::error::TuneError;
use crate::grid;
use crate::noise::{Budget, Measured, Outcome};
use crate::objective::{Evaluate, Objective, Score};
use crate::random;
use crate::space::{Dim, Point, Space};
use crate::whale::{self, WhaleConfig};

/// The grid whose best point is the optimum every method is measured against.
#[derive(Debug, Clone, PartialEq)]
pub enum ReferenceGrid {
    /// `resolution[i]` values on dimension `i` ([`Space::grid`]).
    Resolution(Vec<usize>),
    /// Explicit points, e.g. the rows of a measured table ([`crate::replay::Replay::points`]).
    Points(Vec<Point>),
}

/// How a comparison runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// One run of every method per seed (the seed drives the optimiser and is
    /// passed to the evaluator factory for its noise).
    pub seeds: Vec<u64>,
    /// Measurements per point, for every method alike.
    pub repeats: usize,
    /// The reference grid.
    pub reference_grid: ReferenceGrid,
    /// Evaluations for the compared methods; `None` is a third of the
    /// reference grid's evaluations (rounded down).
    pub budget: Option<usize>,
    /// Whale settings.
    pub whale: WhaleConfig,
    /// The gap, in percent, a run must stay within to count in
    /// [`MethodReport::runs_within_target`].
    pub target_gap_pct: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            seeds: (0..7).collect(),
            repeats: 3,
            reference_grid: ReferenceGrid::Resolution(Vec::new()),
            budget: None,
            whale: WhaleConfig::default(),
            target_gap_pct: 5.0,
        }
    }
}

/// The grid optimum.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Optimum {
    /// The best grid point (for the first seed when scored by means).
    pub point: Point,
    /// Its objective value.
    pub value: f64,
    /// Whether it meets the constraints.
    pub feasible: bool,
}

/// One method's run for one seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    /// The seed.
    pub seed: u64,
    /// The point the method picked (`None` if it measured nothing).
    pub best: Option<Measured>,
    /// The picked point's objective value as scored (reference or mean).
    pub value: Option<f64>,
    /// Whether the picked point meets the constraints, as scored.
    pub feasible: bool,
    /// Gap to the grid optimum in percent (positive = worse); `None` when the
    /// picked point is infeasible.
    pub gap_pct: Option<f64>,
    /// Gap to what the full reference-grid search picked for the same seed
    /// (scored the same way): "as good as grid search", where `gap_pct` is
    /// "as good as the best grid point". On a noisy table the grid optimum is
    /// the luckiest row's mean, which grid search itself does not reach.
    pub gap_to_grid_search_pct: Option<f64>,
    /// Evaluations used (repeats included).
    pub evaluations: usize,
    /// Distinct points measured.
    pub points: usize,
}

/// One method over all seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodReport {
    /// `grid-reference`, `grid`, `random` or `whale`.
    pub name: String,
    /// Its budget.
    pub budget: Budget,
    /// Per seed.
    pub runs: Vec<RunReport>,
    /// Median gap over seeds (an infeasible run counts as an infinite gap;
    /// `None` if the median is one).
    pub median_gap_pct: Option<f64>,
    /// Median of [`RunReport::gap_to_grid_search_pct`], infeasible as infinite.
    pub median_gap_to_grid_search_pct: Option<f64>,
    /// Median of the picked points' values.
    pub median_value: Option<f64>,
    /// Median evaluations used.
    pub median_evaluations: f64,
    /// Most evaluations any seed used.
    pub max_evaluations: usize,
    /// Seeds whose gap is at most [`Config::target_gap_pct`].
    pub runs_within_target: usize,
}

/// A dimension as reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DimReport {
    /// Name.
    pub name: String,
    /// Bounds.
    pub lo: f64,
    /// Bounds.
    pub hi: f64,
    /// Integer or continuous.
    pub integer: bool,
    /// `linear` or `log`.
    pub scale: crate::space::Scale,
}

impl From<&Dim> for DimReport {
    fn from(d: &Dim) -> Self {
        Self {
            name: d.name.clone(),
            lo: d.lo,
            hi: d.hi,
            integer: d.integer,
            scale: d.scale,
        }
    }
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The objective, as text.
    pub objective: String,
    /// The space.
    pub space: Vec<DimReport>,
    /// `reference` (noise-free values from the evaluator) or `means`.
    pub scored_by: String,
    /// Points in the reference grid.
    pub reference_points: usize,
    /// Evaluations of the reference grid (points x repeats).
    pub reference_evaluations: usize,
    /// The compared methods' budget.
    pub budget: Budget,
    /// The compared budget as a fraction of the reference grid's evaluations.
    pub budget_fraction: f64,
    /// The grid optimum.
    pub optimum: Optimum,
    /// The target gap.
    pub target_gap_pct: f64,
    /// `grid-reference` (the full grid, measured with noise per seed), then
    /// `grid`, `random`, `whale` at [`Report::budget`].
    pub methods: Vec<MethodReport>,
}

impl Report {
    /// A method's report by name.
    pub fn method(&self, name: &str) -> Option<&MethodReport> {
        self.methods.iter().find(|m| m.name == name)
    }
}

/// Name of the full reference-grid search in [`Report::methods`].
pub const REFERENCE: &str = "grid-reference";

/// Runs the comparison. `make_evaluator(seed)` builds a fresh evaluator for
/// each run (its noise seeded by `seed`).
pub fn run<E, F>(
    space: &Space,
    objective: &Objective,
    config: &Config,
    mut make_evaluator: F,
) -> Result<Report, TuneError<E::Error>>
where
    E: Evaluate,
    F: FnMut(u64) -> E,
{
    if config.seeds.is_empty() {
        return Err(TuneError::Budget(
            "a comparison needs at least one seed".into(),
        ));
    }
    let grid_points = match &config.reference_grid {
        ReferenceGrid::Resolution(r) => space.grid(r)?,
        ReferenceGrid::Points(p) => p.clone(),
    };
    if grid_points.is_empty() {
        return Err(TuneError::Budget("the reference grid is empty".into()));
    }
    let reference_evaluations = grid_points.len() * config.repeats;
    let budget = Budget::new(
        config.budget.unwrap_or(reference_evaluations / 3),
        config.repeats,
    );
    budget.check()?;

    // The grid optimum from the evaluator's noise-free reference, if it has one
    // at every grid point.
    let probe = make_evaluator(config.seeds[0]);
    let mut reference_optimum: Option<(Point, Score)> = None;
    let mut by_reference = true;
    for p in &grid_points {
        let Some(m) = probe.reference(p) else {
            by_reference = false;
            break;
        };
        let score = objective.score(&m).map_err(|source| TuneError::Metric {
            point: p.to_string(),
            source,
        })?;
        if reference_optimum
            .as_ref()
            .is_none_or(|(_, best)| objective.better(&score, best))
        {
            reference_optimum = Some((p.clone(), score));
        }
    }
    if !by_reference {
        reference_optimum = None;
    }

    let names = [REFERENCE, grid::NAME, random::NAME, whale::NAME];
    let mut runs: Vec<Vec<RunReport>> = vec![Vec::new(); names.len()];
    let mut first_optimum: Option<(Point, Score)> = None;
    for &seed in &config.seeds {
        let full = {
            let mut ev = make_evaluator(seed);
            grid::search_points(&grid_points, objective, &mut ev, config.repeats)?
        };
        let at_budget = [
            {
                let mut ev = make_evaluator(seed);
                grid::search_within(space, objective, &mut ev, budget)?
            },
            {
                let mut ev = make_evaluator(seed);
                random::search(space, objective, &mut ev, budget, seed)?
            },
            {
                let mut ev = make_evaluator(seed);
                whale::search(space, objective, &mut ev, budget, &config.whale, seed)?
            },
        ];
        // The optimum this seed is scored against.
        let optimum = match &reference_optimum {
            Some(o) => o.clone(),
            None => match &full.best {
                Some(b) => (b.point.clone(), b.score),
                None => {
                    return Err(TuneError::Budget(
                        "the reference grid measured nothing".into(),
                    ))
                }
            },
        };
        if first_optimum.is_none() {
            first_optimum = Some(optimum.clone());
        }
        let scorer = make_evaluator(seed);
        let outcomes: Vec<&Outcome> = std::iter::once(&full).chain(at_budget.iter()).collect();
        let scores = outcomes
            .iter()
            .map(|o| score_of(o, objective, by_reference, &scorer))
            .collect::<Result<Vec<_>, _>>()?;
        let grid_search = scores[0];
        for (slot, (outcome, score)) in outcomes.iter().zip(&scores).enumerate() {
            runs[slot].push(RunReport {
                seed,
                best: outcome.best.clone(),
                value: score.map(|s| s.value),
                feasible: score.is_some_and(|s| s.feasible()),
                gap_pct: score.and_then(|s| objective.gap_pct(&s, &optimum.1)),
                gap_to_grid_search_pct: match (score, grid_search) {
                    (Some(s), Some(g)) if g.feasible() => objective.gap_pct(s, &g),
                    _ => None,
                },
                evaluations: outcome.evaluations,
                points: outcome.points,
            });
        }
    }
    let (opt_point, opt_score) =
        first_optimum.ok_or_else(|| TuneError::Budget("no seed ran".into()))?;

    let methods = names
        .iter()
        .zip(runs)
        .map(|(name, runs)| {
            let method_budget = if *name == REFERENCE {
                Budget::new(reference_evaluations, config.repeats)
            } else {
                budget
            };
            summarise(name, method_budget, runs, config.target_gap_pct)
        })
        .collect();

    Ok(Report {
        objective: objective.to_string(),
        space: space.dims().iter().map(DimReport::from).collect(),
        scored_by: if by_reference { "reference" } else { "means" }.to_string(),
        reference_points: grid_points.len(),
        reference_evaluations,
        budget,
        budget_fraction: budget.evaluations as f64 / reference_evaluations as f64,
        optimum: Optimum {
            point: opt_point,
            value: opt_score.value,
            feasible: opt_score.feasible(),
        },
        target_gap_pct: config.target_gap_pct,
        methods,
    })
}

/// The score a run is judged by: the reference at its pick, or its own means.
fn score_of<E: Evaluate>(
    outcome: &Outcome,
    objective: &Objective,
    by_reference: bool,
    scorer: &E,
) -> Result<Option<Score>, TuneError<E::Error>> {
    match &outcome.best {
        None => Ok(None),
        Some(b) if by_reference => match scorer.reference(&b.point) {
            Some(m) => Ok(Some(objective.score(&m).map_err(|source| {
                TuneError::Metric {
                    point: b.point.to_string(),
                    source,
                }
            })?)),
            None => Err(TuneError::Budget(format!(
                "the evaluator gave a reference on the grid but not at {}",
                b.point
            ))),
        },
        Some(b) => Ok(Some(b.score)),
    }
}

/// The median of `values`; `None` entries sort last as +infinity, and a
/// median that touches one is `None`.
fn median(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let mut v: Vec<f64> = values.map(|x| x.unwrap_or(f64::INFINITY)).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let m = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    m.is_finite().then_some(m)
}

fn summarise(name: &str, budget: Budget, runs: Vec<RunReport>, target: f64) -> MethodReport {
    MethodReport {
        name: name.to_string(),
        budget,
        median_gap_pct: median(runs.iter().map(|r| r.gap_pct)),
        median_gap_to_grid_search_pct: median(runs.iter().map(|r| r.gap_to_grid_search_pct)),
        median_value: median(runs.iter().map(|r| r.value)),
        median_evaluations: median(runs.iter().map(|r| Some(r.evaluations as f64))).unwrap_or(0.0),
        max_evaluations: runs.iter().map(|r| r.evaluations).max().unwrap_or(0),
        runs_within_target: runs
            .iter()
            .filter(|r| r.gap_pct.is_some_and(|g| g <= target))
            .count(),
        runs,
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_treats_infeasible_as_infinite() {
        assert_eq!(
            median([Some(3.0), Some(1.0), Some(2.0)].into_iter()),
            Some(2.0)
        );
        assert_eq!(median([Some(3.0), Some(1.0)].into_iter()), Some(2.0));
        assert_eq!(median([None, Some(1.0), Some(2.0)].into_iter()), Some(2.0));
        assert_eq!(median([None, None, Some(2.0)].into_iter()), None);
        assert_eq!(median(std::iter::empty()), None);
    }
}
