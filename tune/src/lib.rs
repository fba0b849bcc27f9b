//! Tuning a noisy measured system: whale optimisation (Mirjalili and Lewis,
//! 2016), grid search and random search over a bounded search space, for an
//! objective the operator states, with measurement noise handled by repeats
//! and confidence intervals.
//!
//! Owns nothing about what is tuned: an [`Evaluate`] implementation measures
//! the system at a [`Point`] (e.g. by running a network with those ordering
//! parameters at a fixed offered load) and returns named metrics; this crate
//! decides where to measure and which point is best.
//!
//! - [`space`]: dimensions (continuous/integer, linear/log), the unit cube, grids.
//! - [`objective`]: [`Evaluate`], [`Measurement`], [`Objective`] and its parser
//!   ("maximise tps subject to p95_ms<=300"), feasibility-first ranking.
//! - [`noise`]: repeats, Student-t confidence intervals, the memo, the budget.
//! - [`whale`], [`grid`], [`random`]: the optimisers, one budget interface.
//! - [`compare`]: all of them over seeds at an equal budget against the grid optimum.
//! - [`replay`]: an evaluator over a measured table, for offline comparisons.
//!
//! All randomness here is the optimisers' (and the replay's choice of
//! residuals), from a seeded ChaCha8 generator, so every run is reproducible
//! from its seed; none of it is key material.
//!
//! ```
//! use healthblock_tune::{whale, Budget, Dim, Evaluate, Measurement, Objective, Point, Space};
//!
//! struct Bowl;
//! impl Evaluate for Bowl {
//!     type Error = std::convert::Infallible;
//!     fn evaluate(&mut self, p: &Point) -> Result<Measurement, Self::Error> {
//!         let x = p.get("x").unwrap_or(0.0);
//!         Ok(Measurement::new().with("cost", (x - 3.0).powi(2)))
//!     }
//! }
//!
//! let space = Space::new(vec![Dim::continuous("x", -10.0, 10.0)])?;
//! let objective: Objective = "minimise cost".parse()?;
//! let out = whale::search(&space, &objective, &mut Bowl, Budget::new(200, 1), &Default::default(), 7)?;
//! let best = out.best.unwrap();
//! assert!((best.point.get("x").unwrap() - 3.0).abs() < 0.05);
//! assert!(out.evaluations <= 200);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod compare;
pub mod error;
pub mod grid;
pub mod noise;
pub mod objective;
pub mod random;
pub mod replay;
pub mod space;
pub mod whale;

pub use error::TuneError;
pub use noise::{Budget, Estimate, Measured, MetricEstimate, Outcome, Session};
pub use objective::{Bound, Constraint, Direction, Evaluate, Measurement, Objective, Score};
pub use space::{Dim, Point, Scale, Space, SpaceError};
pub use whale::WhaleConfig;
