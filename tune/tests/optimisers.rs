//! The optimisers on standard test functions: whale optimisation finds known
//! optima, every optimiser is deterministic per seed and stays within its
//! budget, and constrained objectives are respected.

use healthblock_tune::{
    grid, random, whale, Budget, Dim, Evaluate, Measurement, Objective, Point, Space, WhaleConfig,
};

/// Counts calls, so budgets are checked against what was really evaluated.
struct Counted<F> {
    f: F,
    calls: usize,
}

impl<F: FnMut(&Point) -> Measurement> Evaluate for Counted<F> {
    type Error = std::convert::Infallible;
    fn evaluate(&mut self, p: &Point) -> Result<Measurement, Self::Error> {
        self.calls += 1;
        Ok((self.f)(p))
    }
}

fn counted<F: FnMut(&Point) -> Measurement>(f: F) -> Counted<F> {
    Counted { f, calls: 0 }
}

/// The sphere centred in the box (for budget and determinism tests only).
fn sphere(p: &Point) -> Measurement {
    Measurement::new().with("f", p.values().iter().map(|x| x * x).sum::<f64>())
}

fn cube(d: usize, lo: f64, hi: f64) -> Space {
    Space::new(
        (0..d)
            .map(|i| Dim::continuous(format!("x{i}"), lo, hi))
            .collect(),
    )
    .unwrap()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

const SEEDS: u64 = 7;

/// A sphere whose minimum is off the centre and off the corners of the box
/// (WOA is drawn towards its coordinate origin, so a centred optimum would
/// flatter it).
#[test]
fn whale_finds_a_shifted_sphere_minimum() {
    let space = cube(3, -5.0, 5.0);
    let shift = [1.3, -3.7, 4.1];
    let f = move |p: &Point| {
        let v: f64 = p
            .values()
            .iter()
            .zip(shift)
            .map(|(x, s)| (x - s).powi(2))
            .sum();
        Measurement::new().with("f", v)
    };
    let obj: Objective = "minimise f".parse().unwrap();
    let budget = Budget::new(1000, 1);
    let mut whales = Vec::new();
    let mut randoms = Vec::new();
    for seed in 0..SEEDS {
        let mut ev = counted(f);
        let out =
            whale::search(&space, &obj, &mut ev, budget, &WhaleConfig::default(), seed).unwrap();
        assert_eq!(out.evaluations, ev.calls);
        assert!(out.evaluations <= 1000);
        whales.push(out.best.unwrap().score.value);
        let r = random::search(&space, &obj, &mut counted(f), budget, seed).unwrap();
        randoms.push(r.best.unwrap().score.value);
    }
    let (w, r) = (median(whales), median(randoms));
    eprintln!("shifted sphere, 3-d, 1000 evaluations: median best whale {w:.2e}, random {r:.2e}");
    // 0.01 is a distance of 0.1 from the optimum in a box 10 wide.
    assert!(w < 0.01, "whale median {w}");
    assert!(w * 10.0 < r, "whale {w} is not 10x better than random {r}");
}

/// A shifted quadratic over two integer dimensions (one log-scaled) and a
/// continuous one, each term scaled to the dimension's range.
#[test]
fn whale_finds_a_shifted_quadratic_on_integer_dimensions() {
    let space = Space::new(vec![
        Dim::integer("a", -20, 20),
        Dim::integer("b", 1, 1000).log(),
        Dim::continuous("c", -1.0, 1.0),
    ])
    .unwrap();
    let f = |p: &Point| {
        let a = p.get("a").unwrap();
        let b = p.get("b").unwrap();
        let c = p.get("c").unwrap();
        Measurement::new().with(
            "f",
            ((a - 7.0) / 40.0).powi(2)
                + ((b.ln() - 42f64.ln()) / 1000f64.ln()).powi(2)
                + ((c - 0.3) / 2.0).powi(2),
        )
    };
    let obj = Objective::minimise("f");
    let mut exact = 0;
    let mut cs = Vec::new();
    for seed in 0..SEEDS {
        let mut ev = counted(f);
        let out = whale::search(
            &space,
            &obj,
            &mut ev,
            Budget::new(600, 1),
            &WhaleConfig::default(),
            seed,
        )
        .unwrap();
        let best = out.best.unwrap();
        // integers are whole numbers when evaluated
        assert_eq!(best.point.get("a").unwrap().fract(), 0.0);
        assert_eq!(best.point.get("b").unwrap().fract(), 0.0);
        if best.point.get("a") == Some(7.0) && best.point.get("b") == Some(42.0) {
            exact += 1;
        }
        cs.push((best.point.get("c").unwrap() - 0.3).abs());
        eprintln!("seed {seed}: {} f={:.2e}", best.point, best.score.value);
    }
    let c_err = median(cs);
    assert!(
        exact >= 4,
        "exact integer optimum in {exact} of {SEEDS} seeds"
    );
    assert!(c_err < 0.05, "median |c - 0.3| = {c_err}");
}

/// maximise x + y subject to x^2 + y^2 <= 1: optimum sqrt(2) at (0.707, 0.707).
#[test]
fn whale_respects_a_constraint() {
    let space = cube(2, -2.0, 2.0);
    let f = |p: &Point| {
        let (x, y) = (p.values()[0], p.values()[1]);
        Measurement::new()
            .with("sum", x + y)
            .with("r2", x * x + y * y)
    };
    let obj: Objective = "maximise sum subject to r2 <= 1".parse().unwrap();
    let mut values = Vec::new();
    for seed in 0..SEEDS {
        let out = whale::search(
            &space,
            &obj,
            &mut counted(f),
            Budget::new(1500, 1),
            &WhaleConfig::default(),
            seed,
        )
        .unwrap();
        let best = out.best.unwrap();
        assert!(best.score.feasible(), "seed {seed}");
        values.push(best.score.value);
    }
    let m = median(values);
    assert!(
        m > 2f64.sqrt() * 0.98,
        "median {m} is not within 2% of sqrt(2)"
    );
}

#[test]
fn every_optimiser_is_deterministic_per_seed() {
    let space = cube(3, -5.0, 5.0);
    let obj = Objective::minimise("f");
    let budget = Budget::new(120, 2);
    let run_whale = |seed| {
        whale::search(
            &space,
            &obj,
            &mut counted(sphere),
            budget,
            &WhaleConfig::default(),
            seed,
        )
        .unwrap()
    };
    assert_eq!(run_whale(11), run_whale(11));
    assert_ne!(run_whale(11).trace, run_whale(12).trace);
    let run_random =
        |seed| random::search(&space, &obj, &mut counted(sphere), budget, seed).unwrap();
    assert_eq!(run_random(3), run_random(3));
    assert_ne!(run_random(3).best, run_random(4).best);
    let g1 = grid::search_within(&space, &obj, &mut counted(sphere), budget).unwrap();
    let g2 = grid::search_within(&space, &obj, &mut counted(sphere), budget).unwrap();
    assert_eq!(g1, g2);
}

#[test]
fn budgets_are_respected_including_repeats() {
    let spaces = [
        cube(2, -1.0, 1.0),
        Space::new(vec![Dim::integer("k", 0, 4), Dim::integer("j", 0, 3)]).unwrap(),
    ];
    let obj = Objective::minimise("f");
    for space in &spaces {
        for (evals, repeats) in [(10, 1), (11, 3), (100, 3), (301, 5), (1000, 7)] {
            let budget = Budget::new(evals, repeats);
            let mut ev = counted(sphere);
            let w =
                whale::search(space, &obj, &mut ev, budget, &WhaleConfig::default(), 1).unwrap();
            assert_eq!(w.evaluations, ev.calls);
            assert!(w.evaluations <= evals, "whale {evals}/{repeats}");
            assert_eq!(w.evaluations % repeats, 0);
            // the continuous space pays for every point it can
            if space.cardinality().is_none() {
                assert!(evals - w.evaluations < repeats, "whale left budget unspent");
            }
            let mut ev = counted(sphere);
            let r = random::search(space, &obj, &mut ev, budget, 1).unwrap();
            assert_eq!(r.evaluations, ev.calls);
            assert!(r.evaluations <= evals);
            let mut ev = counted(sphere);
            let g = grid::search_within(space, &obj, &mut ev, budget).unwrap();
            assert_eq!(g.evaluations, ev.calls);
            assert!(g.evaluations <= evals);
        }
        // The small integer space (20 points) is never measured twice.
        if let Some(card) = space.cardinality() {
            let mut ev = counted(sphere);
            let w = whale::search(
                space,
                &obj,
                &mut ev,
                Budget::new(1000, 2),
                &WhaleConfig::default(),
                5,
            )
            .unwrap();
            assert!(w.points as u64 <= card);
            assert_eq!(ev.calls, w.points * 2);
        }
    }
    // A budget that cannot pay for one point is refused.
    assert!(whale::search(
        &spaces[0],
        &obj,
        &mut counted(sphere),
        Budget::new(2, 3),
        &WhaleConfig::default(),
        0
    )
    .is_err());
}

#[derive(Debug, thiserror::Error)]
#[error("the network refused the configuration")]
struct Refused;

/// Fails at points with x > 0.5; returns NaN or drops a metric on request.
struct Faulty {
    nan: bool,
    drop_metric: bool,
}

impl Evaluate for Faulty {
    type Error = Refused;
    fn evaluate(&mut self, p: &Point) -> Result<Measurement, Refused> {
        if p.values()[0] > 0.5 {
            return Err(Refused);
        }
        let f = if self.nan { f64::NAN } else { p.values()[0] };
        Ok(if self.drop_metric {
            Measurement::new().with("g", f)
        } else {
            Measurement::new().with("f", f)
        })
    }
}

#[test]
fn measurement_failures_stop_the_run_with_their_cause() {
    use healthblock_tune::TuneError;
    use std::error::Error as _;
    let space = cube(1, -1.0, 1.0);
    let obj = Objective::minimise("f");
    let budget = Budget::new(200, 1);
    let cfg = WhaleConfig::default();
    let ok = || Faulty {
        nan: false,
        drop_metric: false,
    };
    // The grid reaches x = 1 and the evaluator refuses: the error names the
    // point and keeps the evaluator's error as its source.
    let err = grid::search(&space, &obj, &mut ok(), &[5], 1).unwrap_err();
    match &err {
        TuneError::Evaluate { point, .. } => assert_eq!(point, "{x0=1}"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(err.source().unwrap().to_string(), Refused.to_string());
    assert!(whale::search(&space, &obj, &mut ok(), budget, &cfg, 0).is_err());
    let nan = whale::search(
        &space,
        &obj,
        &mut Faulty {
            nan: true,
            drop_metric: false,
        },
        budget,
        &cfg,
        0,
    );
    assert!(matches!(nan, Err(TuneError::NonFinite { .. })), "{nan:?}");
    let missing = random::search(
        &space,
        &obj,
        &mut Faulty {
            nan: false,
            drop_metric: true,
        },
        budget,
        0,
    );
    match missing {
        Err(TuneError::Metric { source, .. }) => {
            assert_eq!(source.metric, "f");
            assert_eq!(source.available, "g");
        }
        other => panic!("unexpected {other:?}"),
    }
}
