//! Measurement noise and the evaluation budget.
//!
//! Owns: [`Estimate`] (per-metric mean, standard deviation and Student-t 95%
//! confidence interval over a point's repeats), the [`Budget`] (counted in
//! single evaluations, repeats included), and the [`Session`] every optimiser
//! measures through: it takes `repeats` measurements of each new point, keeps
//! them in a memo so a point the search revisits costs nothing and is never
//! re-measured beyond its repeats, refuses a new point the budget cannot pay
//! for in full, and tracks the best point so far under the objective's
//! ranking. Because all spending goes through one place, no optimiser can
//! overrun its budget.
//!
//! Points are ranked by their means. The confidence intervals are reported
//! beside them so the operator can see whether the winner is distinguishable
//! from the runner-up; they do not change the ranking (a conservative
//! "upper bound <= limit" feasibility would need more repeats than a tuning
//! budget usually has).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::error::TuneError;
use crate::objective::{Evaluate, Measurement, Objective, Score};
use crate::space::Point;

/// The two-sided 97.5% quantile of Student's t for 1..=30 degrees of freedom.
const T975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// The 97.5% quantile of Student's t with `df` degrees of freedom (exact to
/// three decimals up to 30, then interpolated in 1/df towards the normal
/// 1.960, which is within 0.002 of the true value).
pub fn t975(df: usize) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T975[df - 1],
        _ => {
            // t(df) ~ z + c/df; c fitted at df = 30.
            let z = 1.959_964;
            z + (T975[29] - z) * 30.0 / df as f64
        }
    }
}

/// The estimate of one metric over a point's repeats.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MetricEstimate {
    /// Sample mean.
    pub mean: f64,
    /// Sample standard deviation (n - 1); 0 with one sample.
    pub sd: f64,
    /// 95% confidence interval of the mean (Student t); `None` with one sample.
    pub ci95: Option<(f64, f64)>,
}

impl MetricEstimate {
    /// Mean, sd and CI of `samples` (non-empty).
    pub fn of(samples: &[f64]) -> Self {
        let n = samples.len();
        let mean = samples.iter().sum::<f64>() / n as f64;
        if n < 2 {
            return Self {
                mean,
                sd: 0.0,
                ci95: None,
            };
        }
        let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let sd = var.sqrt();
        let half = t975(n - 1) * sd / (n as f64).sqrt();
        Self {
            mean,
            sd,
            ci95: Some((mean - half, mean + half)),
        }
    }
}

/// A point's repeats, summarised per metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// Number of repeats.
    pub n: usize,
    /// Metric name -> estimate.
    pub metrics: BTreeMap<String, MetricEstimate>,
}

impl Estimate {
    /// Summarises repeats (every sample must carry the same metric names; a
    /// metric missing from some samples is estimated from the ones that have it).
    pub fn of(samples: &[Measurement]) -> Self {
        let mut by_metric: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for s in samples {
            for (k, v) in s.metrics() {
                by_metric.entry(k.clone()).or_default().push(*v);
            }
        }
        Self {
            n: samples.len(),
            metrics: by_metric
                .into_iter()
                .map(|(k, v)| (k, MetricEstimate::of(&v)))
                .collect(),
        }
    }

    /// The means as a measurement (what the objective ranks).
    pub fn means(&self) -> Measurement {
        self.metrics
            .iter()
            .map(|(k, e)| (k.clone(), e.mean))
            .collect::<BTreeMap<_, _>>()
            .into()
    }
}

/// An evaluation budget: how many single measurements may be taken, and how
/// many of them each new point gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Budget {
    /// Total single evaluations allowed (repeats included).
    pub evaluations: usize,
    /// Measurements per new point.
    pub repeats: usize,
}

impl Budget {
    /// A budget of `evaluations`, `repeats` per point.
    pub fn new(evaluations: usize, repeats: usize) -> Self {
        Self {
            evaluations,
            repeats,
        }
    }

    /// How many distinct points the budget pays for.
    pub fn points(&self) -> usize {
        self.evaluations.checked_div(self.repeats).unwrap_or(0)
    }

    pub(crate) fn check<E>(&self) -> Result<(), TuneError<E>> {
        if self.repeats == 0 {
            return Err(TuneError::Budget("repeats must be at least 1".into()));
        }
        if self.evaluations < self.repeats {
            return Err(TuneError::Budget(format!(
                "a budget of {} evaluations cannot pay for one point at {} repeats",
                self.evaluations, self.repeats
            )));
        }
        Ok(())
    }
}

/// A measured point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measured {
    /// The point.
    pub point: Point,
    /// Its repeats, summarised.
    pub estimate: Estimate,
    /// The objective's view of the means.
    pub score: Score,
}

/// The best score after a number of evaluations (for convergence plots).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TracePoint {
    /// Evaluations spent so far.
    pub evaluations: usize,
    /// The best point's objective value (by means).
    pub best_value: f64,
    /// Whether the best point so far is feasible.
    pub feasible: bool,
}

/// One optimiser run's measuring context: the evaluator, the objective, the
/// budget, the memo and the incumbent.
pub struct Session<'e, E: Evaluate> {
    evaluator: &'e mut E,
    objective: &'e Objective,
    budget: Budget,
    spent: usize,
    memo: HashMap<Vec<u64>, Measured>,
    best: Option<Measured>,
    trace: Vec<TracePoint>,
}

impl<'e, E: Evaluate> Session<'e, E> {
    /// A session; fails if the budget cannot pay for a single point.
    pub fn new(
        evaluator: &'e mut E,
        objective: &'e Objective,
        budget: Budget,
    ) -> Result<Self, TuneError<E::Error>> {
        budget.check()?;
        Ok(Self {
            evaluator,
            objective,
            budget,
            spent: 0,
            memo: HashMap::new(),
            best: None,
            trace: Vec::new(),
        })
    }

    /// Measures `point` (`repeats` evaluations if new, nothing if memoised).
    /// `Ok(None)` when the point is new and the remaining budget cannot pay
    /// all its repeats: the caller stops.
    pub fn measure(&mut self, point: &Point) -> Result<Option<Measured>, TuneError<E::Error>> {
        let key = point.key();
        if let Some(m) = self.memo.get(&key) {
            return Ok(Some(m.clone()));
        }
        if self.remaining() < self.budget.repeats {
            return Ok(None);
        }
        let mut samples = Vec::with_capacity(self.budget.repeats);
        for _ in 0..self.budget.repeats {
            let m = self
                .evaluator
                .evaluate(point)
                .map_err(|source| TuneError::Evaluate {
                    point: point.to_string(),
                    source,
                })?;
            self.spent += 1;
            if let Some((metric, value)) = m.metrics().iter().find(|(_, v)| !v.is_finite()) {
                return Err(TuneError::NonFinite {
                    metric: metric.clone(),
                    value: *value,
                    point: point.to_string(),
                });
            }
            samples.push(m);
        }
        let estimate = Estimate::of(&samples);
        let score =
            self.objective
                .score_estimate(&estimate)
                .map_err(|source| TuneError::Metric {
                    point: point.to_string(),
                    source,
                })?;
        let measured = Measured {
            point: point.clone(),
            estimate,
            score,
        };
        if self
            .best
            .as_ref()
            .is_none_or(|b| self.objective.better(&score, &b.score))
        {
            self.best = Some(measured.clone());
        }
        if let Some(b) = &self.best {
            self.trace.push(TracePoint {
                evaluations: self.spent,
                best_value: b.score.value,
                feasible: b.score.feasible(),
            });
        }
        self.memo.insert(key, measured.clone());
        Ok(Some(measured))
    }

    /// Whether `point` has been measured (costs nothing to ask for again).
    pub fn is_memoised(&self, point: &Point) -> bool {
        self.memo.contains_key(&point.key())
    }

    /// Evaluations spent.
    pub fn spent(&self) -> usize {
        self.spent
    }

    /// Evaluations left.
    pub fn remaining(&self) -> usize {
        self.budget.evaluations - self.spent
    }

    /// Whether one more new point can be paid for.
    pub fn can_afford_new(&self) -> bool {
        self.remaining() >= self.budget.repeats
    }

    /// The budget.
    pub fn budget(&self) -> Budget {
        self.budget
    }

    /// The objective.
    pub fn objective(&self) -> &Objective {
        self.objective
    }

    /// The best point so far.
    pub fn best(&self) -> Option<&Measured> {
        self.best.as_ref()
    }

    /// Ends the session.
    pub fn finish(self, method: &str) -> Outcome {
        Outcome {
            method: method.to_string(),
            best: self.best,
            evaluations: self.spent,
            points: self.memo.len(),
            budget: self.budget,
            trace: self.trace,
        }
    }
}

/// What an optimiser run found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// Which optimiser.
    pub method: String,
    /// The best point by the objective's ranking of means (`None` only if
    /// nothing was measured).
    pub best: Option<Measured>,
    /// Single evaluations spent (repeats included); never above the budget.
    pub evaluations: usize,
    /// Distinct points measured.
    pub points: usize,
    /// The budget it ran under.
    pub budget: Budget,
    /// Best value after each new point.
    pub trace: Vec<TracePoint>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::{Dim, Space};

    #[test]
    fn student_t_interval() {
        // Samples 1..=5: mean 3, sd sqrt(2.5); half-width t(4) * sd / sqrt(5).
        let e = MetricEstimate::of(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(e.mean, 3.0);
        assert!((e.sd - 2.5f64.sqrt()).abs() < 1e-12);
        let half = 2.776 * 2.5f64.sqrt() / 5f64.sqrt();
        let (lo, hi) = e.ci95.unwrap();
        assert!((lo - (3.0 - half)).abs() < 1e-12 && (hi - (3.0 + half)).abs() < 1e-12);
        assert_eq!(MetricEstimate::of(&[7.0]).ci95, None);
        assert!((t975(60) - 2.000).abs() < 0.002);
        assert!((t975(120) - 1.980).abs() < 0.002);
    }

    struct Counter(usize);
    impl Evaluate for Counter {
        type Error = std::convert::Infallible;
        fn evaluate(&mut self, p: &Point) -> Result<Measurement, Self::Error> {
            self.0 += 1;
            Ok(Measurement::new().with("y", p.values()[0] + self.0 as f64 * 1e-3))
        }
    }

    #[test]
    fn memo_and_budget() {
        let space = Space::new(vec![Dim::integer("x", 0, 9)]).unwrap();
        let obj = Objective::minimise("y");
        let mut ev = Counter(0);
        let mut s = Session::new(&mut ev, &obj, Budget::new(7, 3)).unwrap();
        let p = space.point(vec![4.0]).unwrap();
        let first = s.measure(&p).unwrap().unwrap();
        assert_eq!(first.estimate.n, 3);
        assert_eq!(s.spent(), 3);
        // revisiting is free and returns the same estimate
        assert_eq!(s.measure(&p).unwrap().unwrap(), first);
        assert_eq!(s.spent(), 3);
        assert!(s
            .measure(&space.point(vec![2.0]).unwrap())
            .unwrap()
            .is_some());
        // 1 evaluation left cannot pay for 3 repeats
        assert!(s
            .measure(&space.point(vec![1.0]).unwrap())
            .unwrap()
            .is_none());
        let out = s.finish("t");
        assert_eq!(out.evaluations, 6);
        assert_eq!(out.best.unwrap().point.values(), &[2.0]);
        assert!(matches!(
            Session::new(&mut Counter(0), &obj, Budget::new(2, 3)),
            Err(TuneError::Budget(_))
        ));
    }
}
