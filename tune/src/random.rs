//! Random search.
//!
//! Owns: uniform sampling of the unit cube (so log-scaled dimensions are
//! sampled log-uniformly) until the budget is spent, seeded for
//! reproducibility.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::TuneError;
use crate::noise::{Budget, Outcome, Session};
use crate::objective::{Evaluate, Objective};
use crate::space::Space;

/// The method name in reports.
pub const NAME: &str = "random";

/// Consecutive draws of already-measured points after which a small integer
/// space counts as exhausted.
const MAX_REDRAWS: usize = 10_000;

/// Samples points uniformly in the unit cube until the budget cannot pay for
/// another new point (revisits of integer points are free and not counted).
pub fn search<E: Evaluate>(
    space: &Space,
    objective: &Objective,
    evaluator: &mut E,
    budget: Budget,
    seed: u64,
) -> Result<Outcome, TuneError<E::Error>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut session = Session::new(evaluator, objective, budget)?;
    let mut redraws = 0;
    while session.can_afford_new() && redraws < MAX_REDRAWS {
        let u: Vec<f64> = (0..space.len()).map(|_| rng.gen::<f64>()).collect();
        let p = space.from_unit(&u);
        if session.is_memoised(&p) {
            redraws += 1;
            continue;
        }
        redraws = 0;
        if session.measure(&p)?.is_none() {
            break;
        }
    }
    Ok(session.finish(NAME))
}
