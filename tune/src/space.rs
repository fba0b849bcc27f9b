//! The search space.
//!
//! Owns: named, bounded dimensions (continuous or integer, on a linear or a
//! logarithmic scale), the [`Point`] type, the mapping between the unit cube
//! `[0, 1]^d` that the optimisers move in and concrete points (with integer
//! rounding), and grids of a given resolution per dimension.
//!
//! Every optimiser works in the unit cube so that one step size means the same
//! thing on every axis; a log-scaled dimension is uniform in `ln(value)`, so a
//! batch timeout of 10 ms..2 s gets as many grid lines below 100 ms as above.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use serde::{Serialize, Serializer};

/// How a dimension's unit coordinate maps to its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    /// `value = lo + u (hi - lo)`.
    Linear,
    /// `ln(value) = ln(lo) + u (ln(hi) - ln(lo))`; needs `lo > 0`.
    Log,
}

/// One named, bounded dimension.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dim {
    /// The parameter's name, as the evaluator reads it from a [`Point`].
    pub name: String,
    /// Lower bound (inclusive).
    pub lo: f64,
    /// Upper bound (inclusive).
    pub hi: f64,
    /// Values are whole numbers (rounded after mapping from the unit cube).
    pub integer: bool,
    /// Linear or logarithmic.
    pub scale: Scale,
}

impl Dim {
    /// A continuous dimension on a linear scale.
    pub fn continuous(name: impl Into<String>, lo: f64, hi: f64) -> Self {
        Self {
            name: name.into(),
            lo,
            hi,
            integer: false,
            scale: Scale::Linear,
        }
    }

    /// An integer dimension on a linear scale.
    pub fn integer(name: impl Into<String>, lo: i64, hi: i64) -> Self {
        Self {
            name: name.into(),
            // Bounds of tuning parameters are far below 2^53, where i64 -> f64 is exact.
            lo: lo as f64,
            hi: hi as f64,
            integer: true,
            scale: Scale::Linear,
        }
    }

    /// The same dimension on a logarithmic scale.
    pub fn log(mut self) -> Self {
        self.scale = Scale::Log;
        self
    }

    fn check(&self) -> Result<(), SpaceError> {
        let bad = |reason: &str| SpaceError::BadDim {
            name: self.name.clone(),
            reason: reason.to_string(),
        };
        if self.name.is_empty() {
            return Err(bad("empty name"));
        }
        if !self.lo.is_finite() || !self.hi.is_finite() {
            return Err(bad("bounds must be finite"));
        }
        if self.lo >= self.hi {
            return Err(bad("needs lo < hi"));
        }
        if self.scale == Scale::Log && self.lo <= 0.0 {
            return Err(bad("a log-scaled dimension needs lo > 0"));
        }
        if self.integer && (self.lo.fract() != 0.0 || self.hi.fract() != 0.0) {
            return Err(bad("an integer dimension needs whole-number bounds"));
        }
        Ok(())
    }

    /// The value at unit coordinate `u` (clamped to `[0, 1]`), rounded for
    /// integer dimensions and kept inside the bounds.
    pub fn from_unit(&self, u: f64) -> f64 {
        let u = if u.is_nan() { 0.0 } else { u.clamp(0.0, 1.0) };
        let raw = match self.scale {
            Scale::Linear => self.lo + u * (self.hi - self.lo),
            Scale::Log => (self.lo.ln() + u * (self.hi.ln() - self.lo.ln())).exp(),
        };
        let v = if self.integer { raw.round() } else { raw };
        v.clamp(self.lo, self.hi)
    }

    /// The unit coordinate of `value` (not clamped: a value outside the bounds
    /// maps outside `[0, 1]`).
    pub fn to_unit(&self, value: f64) -> f64 {
        match self.scale {
            Scale::Linear => (value - self.lo) / (self.hi - self.lo),
            Scale::Log => (value.ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln()),
        }
    }

    /// `n` values evenly spaced in unit coordinates (log-spaced on a log
    /// scale), both bounds included when `n >= 2`, the middle when `n == 1`;
    /// integer dimensions are rounded and duplicates dropped, so a narrow
    /// integer range yields fewer than `n` values.
    pub fn grid_values(&self, n: usize) -> Vec<f64> {
        let mut out: Vec<f64> = Vec::with_capacity(n);
        for i in 0..n {
            let u = if n == 1 {
                0.5
            } else {
                i as f64 / (n - 1) as f64
            };
            let v = self.from_unit(u);
            if out.last().is_none_or(|last| *last != v) {
                out.push(v);
            }
        }
        out
    }

    /// Whether `value` is a legal value of this dimension.
    pub fn contains(&self, value: f64) -> bool {
        value.is_finite()
            && value >= self.lo
            && value <= self.hi
            && (!self.integer || value.fract() == 0.0)
    }

    /// How many distinct values an integer dimension has (`None` if continuous).
    pub fn cardinality(&self) -> Option<u64> {
        // Bounds are whole numbers below 2^53 (checked), so the cast is exact.
        self.integer.then(|| (self.hi - self.lo) as u64 + 1)
    }
}

/// Why a space, a point or a grid could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpaceError {
    /// The space has no dimension.
    #[error("a search space needs at least one dimension")]
    Empty,
    /// Two dimensions share a name.
    #[error("dimension {0:?} appears twice")]
    DuplicateName(String),
    /// A dimension is malformed.
    #[error("dimension {name:?}: {reason}")]
    BadDim {
        /// The dimension.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A point has the wrong number of coordinates.
    #[error("a point of this space has {expected} coordinates, got {got}")]
    Arity {
        /// Dimensions of the space.
        expected: usize,
        /// Coordinates given.
        got: usize,
    },
    /// A point's value is outside its dimension (or not whole on an integer one).
    #[error("{name} = {value} is not a legal value (bounds {lo}..={hi}{integer})", integer = if *integer { ", integer" } else { "" })]
    OutOfBounds {
        /// The dimension.
        name: String,
        /// The value given.
        value: f64,
        /// Lower bound.
        lo: f64,
        /// Upper bound.
        hi: f64,
        /// Whether the dimension is integer.
        integer: bool,
    },
    /// A named point lacks a dimension.
    #[error("the point has no value for dimension {0:?}")]
    Missing(String),
    /// A named point has a name the space does not know.
    #[error("the point names {0:?}, which is not a dimension of this space")]
    Unknown(String),
    /// A grid resolution list does not match the space.
    #[error("a grid needs one resolution per dimension ({expected}), got {got}; each at least 1")]
    Resolution {
        /// Dimensions of the space.
        expected: usize,
        /// Resolutions given.
        got: usize,
    },
}

/// A bounded search space of named dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct Space {
    dims: Vec<Dim>,
    names: Arc<[String]>,
}

impl Space {
    /// Checks the dimensions (non-empty, unique names, `lo < hi`, `lo > 0` on a
    /// log scale, whole bounds on integer dimensions).
    pub fn new(dims: Vec<Dim>) -> Result<Self, SpaceError> {
        if dims.is_empty() {
            return Err(SpaceError::Empty);
        }
        let mut seen = BTreeSet::new();
        for d in &dims {
            d.check()?;
            if !seen.insert(d.name.clone()) {
                return Err(SpaceError::DuplicateName(d.name.clone()));
            }
        }
        let names: Arc<[String]> = dims.iter().map(|d| d.name.clone()).collect();
        Ok(Self { dims, names })
    }

    /// The dimensions, in order.
    pub fn dims(&self) -> &[Dim] {
        &self.dims
    }

    /// Number of dimensions.
    pub fn len(&self) -> usize {
        self.dims.len()
    }

    /// Always false (a space has at least one dimension); for clippy's sake.
    pub fn is_empty(&self) -> bool {
        self.dims.is_empty()
    }

    /// The concrete point at unit coordinates `u` (each clamped to `[0, 1]`,
    /// integers rounded).
    ///
    /// # Panics
    /// If `u.len()` differs from the number of dimensions: callers inside this
    /// crate always pass vectors they sized from the space.
    pub fn from_unit(&self, u: &[f64]) -> Point {
        assert_eq!(u.len(), self.dims.len(), "unit vector of the wrong arity");
        let values = self
            .dims
            .iter()
            .zip(u)
            .map(|(d, &x)| d.from_unit(x))
            .collect();
        Point {
            names: self.names.clone(),
            values,
        }
    }

    /// The unit coordinates of a point of this space.
    pub fn to_unit(&self, p: &Point) -> Vec<f64> {
        self.dims
            .iter()
            .zip(&p.values)
            .map(|(d, &v)| d.to_unit(v))
            .collect()
    }

    /// A point from values in dimension order, checked against the bounds.
    pub fn point(&self, values: Vec<f64>) -> Result<Point, SpaceError> {
        if values.len() != self.dims.len() {
            return Err(SpaceError::Arity {
                expected: self.dims.len(),
                got: values.len(),
            });
        }
        for (d, &v) in self.dims.iter().zip(&values) {
            if !d.contains(v) {
                return Err(SpaceError::OutOfBounds {
                    name: d.name.clone(),
                    value: v,
                    lo: d.lo,
                    hi: d.hi,
                    integer: d.integer,
                });
            }
        }
        Ok(Point {
            names: self.names.clone(),
            values,
        })
    }

    /// A point from a name -> value map, checked against the bounds.
    pub fn point_from_map(&self, map: &BTreeMap<String, f64>) -> Result<Point, SpaceError> {
        if let Some(unknown) = map.keys().find(|k| !self.names.contains(k)) {
            return Err(SpaceError::Unknown(unknown.clone()));
        }
        let values = self
            .dims
            .iter()
            .map(|d| {
                map.get(&d.name)
                    .copied()
                    .ok_or_else(|| SpaceError::Missing(d.name.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.point(values)
    }

    /// The Cartesian grid with `resolution[i]` values on dimension `i` (see
    /// [`Dim::grid_values`]), in row-major order (last dimension fastest).
    pub fn grid(&self, resolution: &[usize]) -> Result<Vec<Point>, SpaceError> {
        if resolution.len() != self.dims.len() || resolution.contains(&0) {
            return Err(SpaceError::Resolution {
                expected: self.dims.len(),
                got: resolution.len(),
            });
        }
        let axes: Vec<Vec<f64>> = self
            .dims
            .iter()
            .zip(resolution)
            .map(|(d, &n)| d.grid_values(n))
            .collect();
        let mut points = vec![Vec::with_capacity(axes.len())];
        for axis in &axes {
            let mut next = Vec::with_capacity(points.len() * axis.len());
            for prefix in &points {
                for &v in axis {
                    let mut p = prefix.clone();
                    p.push(v);
                    next.push(p);
                }
            }
            points = next;
        }
        Ok(points
            .into_iter()
            .map(|values| Point {
                names: self.names.clone(),
                values,
            })
            .collect())
    }

    /// The grid with the same resolution `n` on every dimension.
    pub fn grid_uniform(&self, n: usize) -> Result<Vec<Point>, SpaceError> {
        self.grid(&vec![n; self.dims.len()])
    }

    /// The number of distinct points, if every dimension is integer.
    pub fn cardinality(&self) -> Option<u64> {
        self.dims.iter().try_fold(1u64, |acc, d| {
            d.cardinality().map(|c| acc.saturating_mul(c))
        })
    }
}

/// A concrete point: one value per dimension, in the space's order, with the
/// dimensions' names so an evaluator can read parameters by name.
#[derive(Debug, Clone)]
pub struct Point {
    names: Arc<[String]>,
    values: Vec<f64>,
}

impl Point {
    /// The value of dimension `name`.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.values[i])
    }

    /// The values in dimension order.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The dimension names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Name -> value.
    pub fn to_map(&self) -> BTreeMap<String, f64> {
        self.names
            .iter()
            .cloned()
            .zip(self.values.iter().copied())
            .collect()
    }

    /// An exact identity for memoisation: the bit patterns of the values
    /// (with -0.0 folded into 0.0).
    pub(crate) fn key(&self) -> Vec<u64> {
        self.values
            .iter()
            .map(|v| if *v == 0.0 { 0u64 } else { v.to_bits() })
            .collect()
    }
}

impl PartialEq for Point {
    fn eq(&self, other: &Self) -> bool {
        self.names == other.names && self.key() == other.key()
    }
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (n, v)) in self.names.iter().zip(&self.values).enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{n}={v}")?;
        }
        f.write_str("}")
    }
}

impl Serialize for Point {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ordering_space() -> Space {
        Space::new(vec![
            Dim::integer("timeout_ms", 10, 2000).log(),
            Dim::integer("max_messages", 1, 1000).log(),
        ])
        .unwrap()
    }

    #[test]
    fn unit_mapping_round_trips_on_log_and_linear_scales() {
        let s = Space::new(vec![
            Dim::continuous("x", -2.0, 6.0),
            Dim::continuous("t", 0.01, 2.0).log(),
        ])
        .unwrap();
        let p = s.from_unit(&[0.25, 0.5]);
        assert_eq!(p.get("x"), Some(0.0));
        let geo_mean = (0.01f64 * 2.0).sqrt();
        assert!((p.get("t").unwrap() - geo_mean).abs() < 1e-12);
        let u = s.to_unit(&p);
        assert!((u[0] - 0.25).abs() < 1e-12 && (u[1] - 0.5).abs() < 1e-12);
    }

    #[test]
    fn integers_are_rounded_and_clamped() {
        let s = ordering_space();
        let p = s.from_unit(&[-0.3, 1.7]);
        assert_eq!(p.values(), &[10.0, 1000.0]);
        let mid = s.from_unit(&[0.5, 0.5]);
        // sqrt(10 * 2000) = 141.4 -> 141; sqrt(1000) = 31.6 -> 32
        assert_eq!(mid.values(), &[141.0, 32.0]);
    }

    #[test]
    fn grid_dedupes_narrow_integer_axes() {
        let s = Space::new(vec![
            Dim::integer("k", 1, 3),
            Dim::continuous("x", 0.0, 1.0),
        ])
        .unwrap();
        let g = s.grid(&[10, 3]).unwrap();
        assert_eq!(g.len(), 3 * 3);
        assert_eq!(g[0].values(), &[1.0, 0.0]);
        assert_eq!(g[8].values(), &[3.0, 1.0]);
        let log_axis = ordering_space().dims()[1].grid_values(4);
        assert_eq!(log_axis, vec![1.0, 10.0, 100.0, 1000.0]);
    }

    #[test]
    fn bad_spaces_and_points_are_refused() {
        assert_eq!(Space::new(vec![]), Err(SpaceError::Empty));
        assert!(matches!(
            Space::new(vec![Dim::continuous("t", 0.0, 1.0).log()]),
            Err(SpaceError::BadDim { .. })
        ));
        assert!(matches!(
            Space::new(vec![Dim::continuous("a", 1.0, 1.0)]),
            Err(SpaceError::BadDim { .. })
        ));
        assert!(matches!(
            Space::new(vec![Dim::integer("a", 0, 1), Dim::integer("a", 0, 1)]),
            Err(SpaceError::DuplicateName(_))
        ));
        let s = ordering_space();
        assert!(matches!(
            s.point(vec![5.0, 3.0]),
            Err(SpaceError::OutOfBounds { .. })
        ));
        assert!(matches!(
            s.point(vec![50.5, 3.0]),
            Err(SpaceError::OutOfBounds { .. })
        ));
        assert!(matches!(s.point(vec![50.0]), Err(SpaceError::Arity { .. })));
        let mut m = BTreeMap::new();
        m.insert("timeout_ms".to_string(), 50.0);
        assert_eq!(
            s.point_from_map(&m),
            Err(SpaceError::Missing("max_messages".into()))
        );
        m.insert("max_messages".to_string(), 5.0);
        m.insert("typo".to_string(), 5.0);
        assert_eq!(
            s.point_from_map(&m),
            Err(SpaceError::Unknown("typo".into()))
        );
    }
}
