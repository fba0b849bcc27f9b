//! Grid search.
//!
//! Owns: measuring every point of a Cartesian grid (an explicit resolution
//! per dimension, or an explicit list of points such as a measured table's
//! rows), and choosing the finest uniform grid a budget pays for, so grid
//! search runs under the same budget interface as the other optimisers.

use crate::error::TuneError;
use crate::noise::{Budget, Outcome, Session};
use crate::objective::{Evaluate, Objective};
use crate::space::{Point, Space};

/// The method name in reports.
pub const NAME: &str = "grid";

/// Measures every point of the grid with `resolution[i]` values on dimension
/// `i`; the budget is exactly the grid's size times `repeats`.
pub fn search<E: Evaluate>(
    space: &Space,
    objective: &Objective,
    evaluator: &mut E,
    resolution: &[usize],
    repeats: usize,
) -> Result<Outcome, TuneError<E::Error>> {
    let points = space.grid(resolution)?;
    search_points(&points, objective, evaluator, repeats)
}

/// Measures every point of `points` (in order), `repeats` times each.
pub fn search_points<E: Evaluate>(
    points: &[Point],
    objective: &Objective,
    evaluator: &mut E,
    repeats: usize,
) -> Result<Outcome, TuneError<E::Error>> {
    let budget = Budget::new(points.len().saturating_mul(repeats), repeats);
    let mut session = Session::new(evaluator, objective, budget)?;
    for p in points {
        if session.measure(p)?.is_none() {
            break;
        }
    }
    Ok(session.finish(NAME))
}

/// The finest uniform resolution `n` (the same on every dimension) whose grid
/// the budget pays for in full, and that grid. Integer dimensions narrower
/// than `n` contribute all their values.
pub fn fit<E>(space: &Space, budget: Budget) -> Result<(usize, Vec<Point>), TuneError<E>> {
    budget.check()?;
    let size = |n: usize| -> usize {
        space
            .dims()
            .iter()
            .map(|d| d.grid_values(n).len())
            .fold(1usize, |acc, k| acc.saturating_mul(k))
    };
    // An all-integer space stops growing once n covers its widest dimension.
    let n_max = space
        .dims()
        .iter()
        .map(|d| d.cardinality().map_or(usize::MAX, |c| c as usize))
        .max()
        .unwrap_or(usize::MAX);
    let mut n = 1;
    while n < n_max && size(n + 1) <= budget.points() {
        n += 1;
    }
    Ok((n, space.grid_uniform(n)?))
}

/// Grid search under a budget: the finest uniform grid it pays for ([`fit`]).
pub fn search_within<E: Evaluate>(
    space: &Space,
    objective: &Objective,
    evaluator: &mut E,
    budget: Budget,
) -> Result<Outcome, TuneError<E::Error>> {
    let (_, points) = fit(space, budget)?;
    let mut session = Session::new(evaluator, objective, budget)?;
    for p in &points {
        if session.measure(p)?.is_none() {
            break;
        }
    }
    Ok(session.finish(NAME))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::Dim;

    #[test]
    fn fit_uses_the_budget_without_exceeding_it() {
        let space = Space::new(vec![
            Dim::continuous("a", 0.0, 1.0),
            Dim::continuous("b", 0.0, 1.0),
        ])
        .unwrap();
        let (n, g) = fit::<()>(&space, Budget::new(400, 3)).unwrap();
        assert_eq!((n, g.len()), (11, 121)); // 12 x 12 x 3 = 432 > 400
        let narrow = Space::new(vec![Dim::integer("k", 0, 2)]).unwrap();
        let (_, g) = fit::<()>(&narrow, Budget::new(1000, 1)).unwrap();
        assert_eq!(g.len(), 3);
    }
}
