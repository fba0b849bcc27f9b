//! Offline evaluation from a measured table.
//!
//! Owns: the table format (rows of parameters -> repeated metric samples),
//! its validation against a [`Space`], and [`Replay`], an [`Evaluate`] that
//! answers a point from the table, so optimisers can be compared on a grid
//! that was measured once on a real network.
//!
//! Table JSON (either the object or the bare array of rows):
//!
//! ```json
//! {"rows": [
//!   {"params": {"batch_timeout_ms": 250, "max_message_count": 100},
//!    "samples": [{"tps": 812.0, "p95_ms": 171.0}, {"tps": 799.0, "p95_ms": 180.5}]}
//! ]}
//! ```
//!
//! Every row names every dimension of the space, within its bounds, and has
//! at least one sample; every sample carries the same metrics.
//!
//! A point is answered as `reference(point)` with a residual: the reference is the
//! nearest row's means ([`Lookup::Nearest`]) or an inverse-distance-weighted
//! mean of the `2^d` nearest rows in unit-cube coordinates
//! ([`Lookup::Interpolate`], exact on a row); the residual is one of the
//! nearest row's samples relative to that row's mean (a ratio when the means
//! share a sign, else a difference), drawn with a seeded generator, so the
//! replay has the noise that was measured where it was measured. An interpolated value is a weighted mean of measured means, so no
//! optimiser can find a point better than the best measured row by landing
//! between rows.

use std::collections::{BTreeMap, BTreeSet};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::objective::{Evaluate, Measurement};
use crate::space::{Point, Space, SpaceError};

/// One measured configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Dimension name -> value.
    pub params: BTreeMap<String, f64>,
    /// Repeated measurements at these parameters.
    pub samples: Vec<Measurement>,
}

/// A measured table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// The rows.
    pub rows: Vec<Row>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TableJson {
    Object(Table),
    Rows(Vec<Row>),
}

/// How a point between rows is answered.
///
/// For a table measured on a grid, prefer [`Lookup::Nearest`] when comparing
/// optimisers: every method is then confined to what was measured. An
/// interpolated value is a weighted mean of rows, so it never equals the
/// luckiest row's mean (the grid optimum of a noisy table), which handicaps
/// the methods that land between rows against grid search, which only visits
/// rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lookup {
    /// The nearest row (unit-cube Euclidean distance; the first row on ties).
    Nearest,
    /// Inverse-squared-distance weighting of the `2^d` nearest rows.
    Interpolate,
}

/// Why a table cannot be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The JSON does not parse as a table.
    #[error("the table is not valid JSON of rows with params and samples")]
    Json(#[source] serde_json::Error),
    /// The table has no row.
    #[error("the table has no rows")]
    Empty,
    /// A row does not fit the space (missing or unknown parameter, out of bounds).
    #[error("row {row}: its parameters do not fit the search space")]
    Params {
        /// Row index.
        row: usize,
        /// What does not fit.
        #[source]
        source: SpaceError,
    },
    /// A row has no sample.
    #[error("row {0} has no samples")]
    NoSamples(usize),
    /// A sample's metrics differ from the first sample's.
    #[error("row {row} sample {sample}: metrics {found:?} differ from the table's {expected:?}")]
    Metrics {
        /// Row index.
        row: usize,
        /// Sample index.
        sample: usize,
        /// The table's metric names (from row 0 sample 0).
        expected: Vec<String>,
        /// This sample's metric names.
        found: Vec<String>,
    },
    /// A sample holds NaN or an infinity.
    #[error("row {row} sample {sample}: metric {metric:?} is not a finite number")]
    NonFinite {
        /// Row index.
        row: usize,
        /// Sample index.
        sample: usize,
        /// The metric.
        metric: String,
    },
    /// A point from another space was asked for.
    #[error("the point {0} does not belong to the replayed space")]
    ForeignPoint(String),
}

#[derive(Clone)]
struct Loaded {
    point: Point,
    unit: Vec<f64>,
    means: BTreeMap<String, f64>,
    samples: Vec<Measurement>,
}

/// An evaluator that replays a measured table.
#[derive(Clone)]
pub struct Replay {
    space: Space,
    rows: Vec<Loaded>,
    lookup: Lookup,
    rng: ChaCha8Rng,
}

impl Replay {
    /// Checks `table` against `space`; `seed` drives the choice of residuals.
    pub fn new(space: Space, table: Table, lookup: Lookup, seed: u64) -> Result<Self, ReplayError> {
        if table.rows.is_empty() {
            return Err(ReplayError::Empty);
        }
        let names = |m: &Measurement| m.metrics().keys().cloned().collect::<Vec<_>>();
        let expected = table.rows[0].samples.first().map(names).unwrap_or_default();
        let mut rows = Vec::with_capacity(table.rows.len());
        for (i, row) in table.rows.into_iter().enumerate() {
            let point = space
                .point_from_map(&row.params)
                .map_err(|source| ReplayError::Params { row: i, source })?;
            if row.samples.is_empty() {
                return Err(ReplayError::NoSamples(i));
            }
            for (j, s) in row.samples.iter().enumerate() {
                let found = names(s);
                if found != expected {
                    return Err(ReplayError::Metrics {
                        row: i,
                        sample: j,
                        expected: expected.clone(),
                        found,
                    });
                }
                if let Some((metric, _)) = s.metrics().iter().find(|(_, v)| !v.is_finite()) {
                    return Err(ReplayError::NonFinite {
                        row: i,
                        sample: j,
                        metric: metric.clone(),
                    });
                }
            }
            let n = row.samples.len() as f64;
            let means = expected
                .iter()
                .map(|k| {
                    let sum: f64 = row.samples.iter().filter_map(|s| s.get(k)).sum();
                    (k.clone(), sum / n)
                })
                .collect();
            rows.push(Loaded {
                unit: space.to_unit(&point),
                point,
                means,
                samples: row.samples,
            });
        }
        Ok(Self {
            space,
            rows,
            lookup,
            rng: ChaCha8Rng::seed_from_u64(seed),
        })
    }

    /// Parses a table from JSON and checks it (see [`Replay::new`]).
    pub fn from_json(
        space: Space,
        json: &str,
        lookup: Lookup,
        seed: u64,
    ) -> Result<Self, ReplayError> {
        let table = match serde_json::from_str::<TableJson>(json).map_err(ReplayError::Json)? {
            TableJson::Object(t) => t,
            TableJson::Rows(rows) => Table { rows },
        };
        Self::new(space, table, lookup, seed)
    }

    /// The same table with its residual generator seeded by `seed` (one
    /// evaluator per run in [`crate::compare::run`]).
    pub fn reseeded(&self, seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            ..self.clone()
        }
    }

    /// The measured points, in table order (a reference grid for
    /// [`crate::compare`]).
    pub fn points(&self) -> Vec<Point> {
        self.rows.iter().map(|r| r.point.clone()).collect()
    }

    /// The space the table was checked against.
    pub fn space(&self) -> &Space {
        &self.space
    }

    fn check(&self, p: &Point) -> Result<Vec<f64>, ReplayError> {
        let dims: BTreeSet<&str> = self.space.dims().iter().map(|d| d.name.as_str()).collect();
        let names: BTreeSet<&str> = p.names().iter().map(String::as_str).collect();
        if dims != names || p.values().len() != self.space.len() {
            return Err(ReplayError::ForeignPoint(p.to_string()));
        }
        Ok(self.space.to_unit(p))
    }

    /// Row indices by distance to `u`, nearest first, with squared distances.
    fn nearest(&self, u: &[f64], k: usize) -> Vec<(usize, f64)> {
        let mut d: Vec<(usize, f64)> = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let d2 = r.unit.iter().zip(u).map(|(a, b)| (a - b).powi(2)).sum();
                (i, d2)
            })
            .collect();
        d.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        d.truncate(k.max(1));
        d
    }

    fn means_at(&self, u: &[f64]) -> (usize, BTreeMap<String, f64>) {
        let k = match self.lookup {
            Lookup::Nearest => 1,
            Lookup::Interpolate => 1usize << self.space.len().min(16),
        };
        let near = self.nearest(u, k);
        let first = near[0].0;
        if self.lookup == Lookup::Nearest || near[0].1 < 1e-18 {
            return (first, self.rows[first].means.clone());
        }
        let weights: Vec<(usize, f64)> = near.iter().map(|&(i, d2)| (i, 1.0 / d2)).collect();
        let total: f64 = weights.iter().map(|w| w.1).sum();
        let means = self.rows[first]
            .means
            .keys()
            .map(|k| {
                let v = weights
                    .iter()
                    .map(|&(i, w)| w * self.rows[i].means[k])
                    .sum::<f64>()
                    / total;
                (k.clone(), v)
            })
            .collect();
        (first, means)
    }
}

/// `mean` with the noise that `measured` showed around `row_mean`: scaled
/// (relative) when both means are non-zero and of one sign, so a row's noise
/// keeps its proportion when moved to an interpolated mean of another
/// magnitude (an additive residual from a saturated row, thousands of ms,
/// would turn a 100 ms mean negative); added otherwise.
fn with_residual(mean: f64, measured: f64, row_mean: f64) -> f64 {
    if row_mean != 0.0 && mean != 0.0 && row_mean.signum() == mean.signum() {
        mean * (measured / row_mean)
    } else {
        mean + (measured - row_mean)
    }
}

impl Evaluate for Replay {
    type Error = ReplayError;

    fn evaluate(&mut self, point: &Point) -> Result<Measurement, ReplayError> {
        let u = self.check(point)?;
        let (nearest, means) = self.means_at(&u);
        let row = &self.rows[nearest];
        let sample = &row.samples[self.rng.gen_range(0..row.samples.len())];
        let mut out = Measurement::new();
        for (k, mean) in &means {
            // Every sample has every metric (checked in `new`).
            let (measured, row_mean) = (sample.get(k).unwrap_or(row.means[k]), row.means[k]);
            out.set(k.clone(), with_residual(*mean, measured, row_mean));
        }
        Ok(out)
    }

    fn reference(&self, point: &Point) -> Option<Measurement> {
        let u = self.check(point).ok()?;
        Some(self.means_at(&u).1.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::Dim;

    fn space() -> Space {
        Space::new(vec![Dim::integer("t", 10, 1000).log()]).unwrap()
    }

    const TABLE: &str = r#"[
        {"params": {"t": 10},   "samples": [{"y": 1.0}, {"y": 3.0}]},
        {"params": {"t": 100},  "samples": [{"y": 10.0}]},
        {"params": {"t": 1000}, "samples": [{"y": 20.0}, {"y": 22.0}]}
    ]"#;

    #[test]
    fn nearest_and_interpolated_lookup() {
        let mut r = Replay::from_json(space(), TABLE, Lookup::Nearest, 1).unwrap();
        let p = |v: f64| space().point(vec![v]).unwrap();
        assert_eq!(r.reference(&p(20.0)).unwrap().get("y"), Some(2.0));
        let y = r.evaluate(&p(20.0)).unwrap().get("y").unwrap();
        assert!(y == 1.0 || y == 3.0);
        let r = Replay::from_json(space(), TABLE, Lookup::Interpolate, 1).unwrap();
        // exact on a row
        assert_eq!(r.reference(&p(100.0)).unwrap().get("y"), Some(10.0));
        // sqrt(10*100) ~ 32 is half-way in log space: halfway between 2 and 10
        let mid = r.reference(&p(32.0)).unwrap().get("y").unwrap();
        assert!((mid - 6.0).abs() < 0.3, "{mid}");
        assert_eq!(r.points().len(), 3);
    }

    #[test]
    fn residuals_keep_their_proportion() {
        // a +10% sample of a 2000 ms row, moved to a 100 ms interpolated mean
        assert!((with_residual(100.0, 2200.0, 2000.0) - 110.0).abs() < 1e-9);
        // a zero mean takes the residual as a difference
        assert_eq!(with_residual(0.0, 3.0, 2.0), 1.0);
    }

    #[test]
    fn bad_tables_are_refused() {
        let e = |json: &str| {
            Replay::from_json(space(), json, Lookup::Nearest, 0)
                .err()
                .unwrap()
        };
        assert!(matches!(e("[]"), ReplayError::Empty));
        assert!(matches!(e("{"), ReplayError::Json(_)));
        assert!(matches!(
            e(r#"[{"params": {"t": 5}, "samples": [{"y": 1}]}]"#),
            ReplayError::Params { row: 0, .. }
        ));
        assert!(matches!(
            e(r#"[{"params": {"x": 50}, "samples": [{"y": 1}]}]"#),
            ReplayError::Params { row: 0, .. }
        ));
        assert!(matches!(
            e(r#"{"rows": [{"params": {"t": 50}, "samples": []}]}"#),
            ReplayError::NoSamples(0)
        ));
        assert!(matches!(
            e(
                r#"[{"params": {"t": 50}, "samples": [{"y": 1}]}, {"params": {"t": 60}, "samples": [{"z": 1}]}]"#
            ),
            ReplayError::Metrics {
                row: 1,
                sample: 0,
                ..
            }
        ));
    }
}
