//! What is measured and what the operator wants from it.
//!
//! Owns: the [`Evaluate`] trait (one noisy measurement of the system at a
//! point), [`Measurement`] (named metrics), and the typed [`Objective`]
//! ("maximise tps subject to p95_ms<=300", "minimise p95_ms"): its parser,
//! with errors that say where the text went wrong, and the ranking of two
//! measured points under it.
//!
//! Constraints are handled by **feasibility-first ranking** (Deb's rules), not
//! by a penalty: a point that meets every constraint beats one that does not;
//! two feasible points compare by the objective metric; two infeasible points
//! compare by their total relative violation. A penalty needs a weight that
//! turns milliseconds of violation into transactions per second of objective,
//! which the operator never stated and which changes the optimum when it is
//! wrong; the ranking needs no weight. It suits the optimisers here because
//! none of them uses fitness magnitudes: whale optimisation, grid and random
//! search only ask "which of these is best".

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::noise::Estimate;
use crate::space::Point;

/// One measurement of the system: metric name -> value (e.g. `tps`, `p95_ms`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Measurement {
    metrics: BTreeMap<String, f64>,
}

impl Measurement {
    /// An empty measurement.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a metric.
    pub fn with(mut self, name: impl Into<String>, value: f64) -> Self {
        self.metrics.insert(name.into(), value);
        self
    }

    /// Sets a metric.
    pub fn set(&mut self, name: impl Into<String>, value: f64) {
        self.metrics.insert(name.into(), value);
    }

    /// A metric's value.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.metrics.get(name).copied()
    }

    /// All metrics.
    pub fn metrics(&self) -> &BTreeMap<String, f64> {
        &self.metrics
    }
}

impl From<BTreeMap<String, f64>> for Measurement {
    fn from(metrics: BTreeMap<String, f64>) -> Self {
        Self { metrics }
    }
}

/// The system under tuning: measures it once at a point.
///
/// A plain (not async) trait: an evaluator that drives a network runs its own
/// runtime inside `evaluate` (e.g. `Runtime::block_on`), so the optimisers stay
/// free of any executor. Each call is one evaluation of the budget; repeats are
/// the caller's business (see [`crate::noise`]).
pub trait Evaluate {
    /// Why a measurement failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// One (noisy) measurement at `point`.
    fn evaluate(&mut self, point: &Point) -> Result<Measurement, Self::Error>;

    /// The noise-free metrics at `point`, when the evaluator knows them (a
    /// closed-form test surface, a replayed table's means). Used only to score
    /// what the optimisers found ([`crate::compare`]), never by the optimisers,
    /// and costs no evaluation.
    fn reference(&self, _point: &Point) -> Option<Measurement> {
        None
    }
}

/// Maximise or minimise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Larger is better.
    Maximise,
    /// Smaller is better.
    Minimise,
}

/// `<=` or `>=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Bound {
    /// The metric must be at most the limit.
    #[serde(rename = "<=")]
    AtMost,
    /// The metric must be at least the limit.
    #[serde(rename = ">=")]
    AtLeast,
}

/// One constraint: `metric <= limit` or `metric >= limit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Constraint {
    /// The constrained metric.
    pub metric: String,
    /// Which side.
    pub bound: Bound,
    /// The limit.
    pub limit: f64,
}

impl Constraint {
    /// How far `value` is outside the constraint, relative to the limit's
    /// magnitude (so violations of metrics in different units add up); 0 when
    /// the constraint holds.
    pub fn violation(&self, value: f64) -> f64 {
        let over = match self.bound {
            Bound::AtMost => value - self.limit,
            Bound::AtLeast => self.limit - value,
        };
        if over <= 0.0 {
            0.0
        } else {
            over / self.limit.abs().max(1e-9)
        }
    }
}

/// The operator's objective: one metric to maximise or minimise, subject to
/// zero or more constraints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    /// Maximise or minimise.
    pub direction: Direction,
    /// The metric optimised.
    pub metric: String,
    /// Constraints every acceptable point meets.
    pub constraints: Vec<Constraint>,
}

/// The metrics of one point as the objective sees them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Score {
    /// The objective metric's value.
    pub value: f64,
    /// Sum of relative constraint violations (0 when feasible).
    pub violation: f64,
}

impl Score {
    /// Whether every constraint holds.
    pub fn feasible(&self) -> bool {
        self.violation == 0.0
    }
}

/// A metric the objective needs is not in a measurement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the measurement has no metric {metric:?} (it has: {available})")]
pub struct MissingMetric {
    /// The metric the objective names.
    pub metric: String,
    /// The metrics the measurement has, comma-separated.
    pub available: String,
}

impl Objective {
    /// Maximise `metric`, unconstrained.
    pub fn maximise(metric: impl Into<String>) -> Self {
        Self {
            direction: Direction::Maximise,
            metric: metric.into(),
            constraints: Vec::new(),
        }
    }

    /// Minimise `metric`, unconstrained.
    pub fn minimise(metric: impl Into<String>) -> Self {
        Self {
            direction: Direction::Minimise,
            metric: metric.into(),
            constraints: Vec::new(),
        }
    }

    /// Adds a constraint.
    pub fn subject_to(mut self, metric: impl Into<String>, bound: Bound, limit: f64) -> Self {
        self.constraints.push(Constraint {
            metric: metric.into(),
            bound,
            limit,
        });
        self
    }

    /// Every metric the objective reads.
    pub fn metrics(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.metric.as_str())
            .chain(self.constraints.iter().map(|c| c.metric.as_str()))
    }

    /// Scores a measurement (a single one, or the means of an estimate).
    pub fn score(&self, m: &Measurement) -> Result<Score, MissingMetric> {
        let get = |name: &str| {
            m.get(name).ok_or_else(|| MissingMetric {
                metric: name.to_string(),
                available: m.metrics.keys().cloned().collect::<Vec<_>>().join(", "),
            })
        };
        let value = get(&self.metric)?;
        let mut violation = 0.0;
        for c in &self.constraints {
            violation += c.violation(get(&c.metric)?);
        }
        Ok(Score { value, violation })
    }

    /// Scores the means of an estimate.
    pub fn score_estimate(&self, e: &Estimate) -> Result<Score, MissingMetric> {
        self.score(&e.means())
    }

    /// Feasibility-first order: `Less` when `a` is better than `b`.
    pub fn rank(&self, a: &Score, b: &Score) -> Ordering {
        match (a.feasible(), b.feasible()) {
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => a.violation.total_cmp(&b.violation),
            (true, true) => match self.direction {
                Direction::Minimise => a.value.total_cmp(&b.value),
                Direction::Maximise => b.value.total_cmp(&a.value),
            },
        }
    }

    /// Whether `a` is strictly better than `b`.
    pub fn better(&self, a: &Score, b: &Score) -> bool {
        self.rank(a, b) == Ordering::Less
    }

    /// How much worse `found` is than `optimum`, in percent of the optimum's
    /// magnitude (0 = as good, negative = better). `None` if `found` is
    /// infeasible or the optimum is 0.
    pub fn gap_pct(&self, found: &Score, optimum: &Score) -> Option<f64> {
        if !found.feasible() || optimum.value == 0.0 {
            return None;
        }
        let worse_by = match self.direction {
            Direction::Minimise => found.value - optimum.value,
            Direction::Maximise => optimum.value - found.value,
        };
        Some(100.0 * worse_by / optimum.value.abs())
    }
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = match self.direction {
            Direction::Maximise => "maximise",
            Direction::Minimise => "minimise",
        };
        write!(f, "{dir} {}", self.metric)?;
        for (i, c) in self.constraints.iter().enumerate() {
            let op = match c.bound {
                Bound::AtMost => "<=",
                Bound::AtLeast => ">=",
            };
            let sep = if i == 0 { " subject to " } else { " and " };
            write!(f, "{sep}{}{op}{}", c.metric, c.limit)?;
        }
        Ok(())
    }
}

/// Why an objective's text could not be parsed. `at` is a byte offset into
/// the text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseObjectiveError {
    /// Nothing to parse.
    #[error("empty objective: write e.g. \"maximise tps subject to p95_ms<=300\" or \"minimise p95_ms\"")]
    Empty,
    /// The first word is not a direction.
    #[error("at {at}: expected \"maximise\" or \"minimise\" (or -ize), found {found:?}")]
    Direction {
        /// Offset.
        at: usize,
        /// The word found.
        found: String,
    },
    /// A metric name was expected.
    #[error("at {at}: expected a metric name (letters, digits, '_' or '.', not starting with a digit), found {found:?}")]
    Metric {
        /// Offset.
        at: usize,
        /// What was found (empty at the end of the text).
        found: String,
    },
    /// Something other than "subject to" followed the objective metric.
    #[error("at {at}: expected \"subject to\" and constraints after the metric, found {found:?}")]
    SubjectTo {
        /// Offset.
        at: usize,
        /// What was found.
        found: String,
    },
    /// "subject to" with no constraint after it.
    #[error("at {at}: \"subject to\" needs at least one constraint such as p95_ms<=300")]
    NoConstraint {
        /// Offset.
        at: usize,
    },
    /// A constraint's operator is missing or not `<=`/`>=`.
    #[error("at {at}: expected \"<=\" or \">=\" after metric {metric:?}, found {found:?} (strict < > and = are not accepted: measured metrics are continuous)")]
    Operator {
        /// Offset.
        at: usize,
        /// The constrained metric.
        metric: String,
        /// What was found.
        found: String,
    },
    /// A constraint's limit is not a finite number.
    #[error("at {at}: expected a finite number as the limit of {metric:?}, found {found:?}")]
    Limit {
        /// Offset.
        at: usize,
        /// The constrained metric.
        metric: String,
        /// What was found.
        found: String,
    },
    /// Text left after the last constraint.
    #[error("at {at}: expected \"and\" or \",\" between constraints, found {found:?}")]
    Trailing {
        /// Offset.
        at: usize,
        /// What was found.
        found: String,
    },
}

/// A tiny cursor over the objective's text.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn skip_ws(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.pos == self.text.len()
    }

    /// The next whitespace-free run, for error messages.
    fn peek_token(&mut self) -> String {
        self.skip_ws();
        self.text[self.pos..]
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string()
    }

    /// Takes a word made of `pred` characters.
    fn take_while(&mut self, pred: impl Fn(char) -> bool) -> &'a str {
        self.skip_ws();
        let rest = &self.text[self.pos..];
        let end = rest.find(|c: char| !pred(c)).unwrap_or(rest.len());
        self.pos += end;
        &rest[..end]
    }

    /// Takes `word` (case-insensitive, whole word) if it comes next.
    fn eat_word(&mut self, word: &str) -> bool {
        self.skip_ws();
        let rest = &self.text[self.pos..];
        let matches = rest.len() >= word.len()
            && rest.is_char_boundary(word.len())
            && rest[..word.len()].eq_ignore_ascii_case(word)
            && !rest[word.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_');
        if matches {
            self.pos += word.len();
        }
        matches
    }

    fn eat(&mut self, s: &str) -> bool {
        self.skip_ws();
        if self.text[self.pos..].starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn metric(&mut self) -> Result<String, ParseObjectiveError> {
        self.skip_ws();
        let at = self.pos;
        let name = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            self.pos = at;
            return Err(ParseObjectiveError::Metric {
                at,
                found: self.peek_token(),
            });
        }
        Ok(name.to_string())
    }
}

impl FromStr for Objective {
    type Err = ParseObjectiveError;

    /// Grammar (case-insensitive keywords, spaces optional around operators):
    ///
    /// ```text
    /// objective  := direction metric [ "subject to" constraint { ("and" | ",") constraint } ]
    /// direction  := "maximise" | "maximize" | "minimise" | "minimize"
    /// constraint := metric ("<=" | ">=") number
    /// ```
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut c = Cursor { text, pos: 0 };
        if c.at_end() {
            return Err(ParseObjectiveError::Empty);
        }
        let at = c.pos;
        let direction = if c.eat_word("maximise") || c.eat_word("maximize") {
            Direction::Maximise
        } else if c.eat_word("minimise") || c.eat_word("minimize") {
            Direction::Minimise
        } else {
            return Err(ParseObjectiveError::Direction {
                at,
                found: c.peek_token(),
            });
        };
        let metric = c.metric()?;
        let mut constraints = Vec::new();
        if !c.at_end() {
            let at = c.pos;
            if !(c.eat_word("subject") && c.eat_word("to")) {
                c.pos = at;
                return Err(ParseObjectiveError::SubjectTo {
                    at,
                    found: c.peek_token(),
                });
            }
            if c.at_end() {
                return Err(ParseObjectiveError::NoConstraint { at: c.pos });
            }
            loop {
                let name = c.metric()?;
                c.skip_ws();
                let op_at = c.pos;
                let bound = if c.eat("<=") {
                    Bound::AtMost
                } else if c.eat(">=") {
                    Bound::AtLeast
                } else {
                    return Err(ParseObjectiveError::Operator {
                        at: op_at,
                        metric: name,
                        found: c.peek_token(),
                    });
                };
                c.skip_ws();
                let num_at = c.pos;
                let num = c.take_while(|ch| {
                    ch.is_ascii_digit() || matches!(ch, '.' | '-' | '+' | 'e' | 'E')
                });
                let limit = match num.parse::<f64>() {
                    Ok(v) if v.is_finite() => v,
                    _ => {
                        c.pos = num_at;
                        return Err(ParseObjectiveError::Limit {
                            at: num_at,
                            metric: name,
                            found: c.peek_token(),
                        });
                    }
                };
                constraints.push(Constraint {
                    metric: name,
                    bound,
                    limit,
                });
                if c.at_end() {
                    break;
                }
                let sep_at = c.pos;
                if !(c.eat(",") || c.eat_word("and")) {
                    return Err(ParseObjectiveError::Trailing {
                        at: sep_at,
                        found: c.peek_token(),
                    });
                }
            }
        }
        Ok(Objective {
            direction,
            metric,
            constraints,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_operator_forms() {
        let o: Objective = "maximise tps subject to p95_ms<=300".parse().unwrap();
        assert_eq!(
            o,
            Objective::maximise("tps").subject_to("p95_ms", Bound::AtMost, 300.0)
        );
        let o: Objective = "  Minimize p95_ms ".parse().unwrap();
        assert_eq!(o, Objective::minimise("p95_ms"));
        let o: Objective = "maximise tps subject to p95_ms <= 3e2 and failures<=0, tps >= 10.5"
            .parse()
            .unwrap();
        assert_eq!(o.constraints.len(), 3);
        assert_eq!(o.constraints[2].bound, Bound::AtLeast);
        assert_eq!(o.constraints[0].limit, 300.0);
        // Display is parseable back to the same objective.
        assert_eq!(o.to_string().parse::<Objective>().unwrap(), o);
    }

    #[test]
    fn parse_errors_say_where_and_what() {
        use ParseObjectiveError as E;
        let err = |s: &str| s.parse::<Objective>().unwrap_err();
        assert_eq!(err("   "), E::Empty);
        assert_eq!(
            err("optimise tps"),
            E::Direction {
                at: 0,
                found: "optimise".into()
            }
        );
        assert_eq!(
            err("maximise"),
            E::Metric {
                at: 8,
                found: String::new()
            }
        );
        assert_eq!(
            err("maximise 95p"),
            E::Metric {
                at: 9,
                found: "95p".into()
            }
        );
        assert_eq!(
            err("maximise tps where p95_ms<=300"),
            E::SubjectTo {
                at: 13,
                found: "where".into()
            }
        );
        assert_eq!(
            err("minimise p95_ms subject to"),
            E::NoConstraint { at: 26 }
        );
        assert_eq!(
            err("maximise tps subject to p95_ms < 300"),
            E::Operator {
                at: 31,
                metric: "p95_ms".into(),
                found: "<".into()
            }
        );
        assert_eq!(
            err("maximise tps subject to p95_ms <= fast"),
            E::Limit {
                at: 34,
                metric: "p95_ms".into(),
                found: "fast".into()
            }
        );
        assert!(matches!(
            err("maximise tps subject to p95_ms <= 300ms"),
            E::Trailing { .. }
        ));
        assert!(matches!(
            err("maximise tps subject to p95_ms <= 300 or tps >= 1"),
            E::Trailing { at: 38, .. }
        ));
        // The message names the problem in words.
        assert!(err("maximise tps subject to p95_ms = 300")
            .to_string()
            .contains("expected \"<=\" or \">=\""));
    }

    #[test]
    fn feasibility_first_ranking() {
        let o = Objective::maximise("tps").subject_to("p95_ms", Bound::AtMost, 300.0);
        let m = |tps: f64, p95: f64| {
            o.score(&Measurement::new().with("tps", tps).with("p95_ms", p95))
                .unwrap()
        };
        // feasible beats infeasible whatever the throughput
        assert!(o.better(&m(10.0, 299.0), &m(1000.0, 301.0)));
        // among feasible, the objective decides
        assert!(o.better(&m(200.0, 290.0), &m(100.0, 100.0)));
        // among infeasible, the smaller violation decides
        assert!(o.better(&m(10.0, 310.0), &m(1000.0, 600.0)));
        assert!((m(0.0, 450.0).violation - 0.5).abs() < 1e-12);
        assert_eq!(o.gap_pct(&m(95.0, 1.0), &m(100.0, 1.0)), Some(5.0));
        assert_eq!(o.gap_pct(&m(95.0, 400.0), &m(100.0, 1.0)), None);
        let min = Objective::minimise("p95_ms");
        let s = |v: f64| Score {
            value: v,
            violation: 0.0,
        };
        assert_eq!(min.gap_pct(&s(105.0), &s(100.0)), Some(5.0));
        let missing = o.score(&Measurement::new().with("tps", 1.0)).unwrap_err();
        assert_eq!(missing.metric, "p95_ms");
        assert_eq!(missing.available, "tps");
    }
}
