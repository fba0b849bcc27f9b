//! Errors of a tuning run.
//!
//! Owns: [`TuneError`], generic over the evaluator's own error so a failed
//! measurement keeps its cause.

use crate::objective::MissingMetric;
use crate::space::SpaceError;

/// Why a tuning run stopped.
#[derive(Debug, thiserror::Error)]
pub enum TuneError<E> {
    /// The evaluator failed at a point.
    #[error("measuring {point} failed")]
    Evaluate {
        /// The point, as `{name=value, ...}`.
        point: String,
        /// The evaluator's error.
        #[source]
        source: E,
    },
    /// A measurement lacks a metric the objective needs.
    #[error("measuring {point}: the objective cannot be scored")]
    Metric {
        /// The point.
        point: String,
        /// Which metric.
        #[source]
        source: MissingMetric,
    },
    /// A measurement returned NaN or an infinity.
    #[error("measuring {point}: metric {metric:?} is {value}, not a finite number")]
    NonFinite {
        /// The metric.
        metric: String,
        /// Its value.
        value: f64,
        /// The point.
        point: String,
    },
    /// The budget or a configuration is unusable.
    #[error("budget: {0}")]
    Budget(String),
    /// A grid or point did not fit the space.
    #[error(transparent)]
    Space(#[from] SpaceError),
}
