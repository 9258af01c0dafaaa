//! Explicit per-level steps for annealed Langevin / annealed MALA (`LevelStep::PerLevel`,
//! issue 10 item 16): validation, equivalence with the σ²-rule, and the exact Gaussian
//! recursion with steps that are *not* proportional to σ_i².
//!
//! The statistical test has a fixed seed and a false-failure rate α = 2e-6 split over its
//! two sub-statistics (Bonferroni).

use langevin::Error;
use langevin::annealed::{AnnealedLangevin, AnnealedMala, LevelStep, ParticleRun, SigmaLevels};
use langevin::prelude::*;
use langevin::rng::ChainRng;
use langevin::targets::GaussianMixture;
use statrs::distribution::{ContinuousCDF, Normal};

fn normal_init(sd: f64) -> impl Fn(usize, &mut ChainRng, &mut [f64]) + Sync {
    move |_i, rng, x| {
        for xi in x.iter_mut() {
            *xi = sd * f64::standard_normal(rng);
        }
    }
}

/// Catches: a `PerLevel` list accepted with the wrong length (too short would index out of
/// bounds in the level loop, too long would silently drop steps), a non-finite or
/// non-positive entry accepted, and `steps()` not reporting the list as given.
#[test]
fn per_level_steps_are_validated() {
    let target = GaussianMixture::new(vec![1.0], vec![vec![0.5]], vec![0.01]).unwrap();
    let lv = || SigmaLevels::<f64>::new(vec![1.0, 0.3, 0.1]).unwrap();
    let ok = AnnealedLangevin::new(
        &target,
        lv(),
        5,
        LevelStep::PerLevel(vec![0.02, 0.01, 0.005]),
    )
    .unwrap();
    assert_eq!(ok.steps(), [0.02, 0.01, 0.005]);
    let am = AnnealedMala::new(
        &target,
        lv(),
        5,
        LevelStep::PerLevel(vec![0.02, 0.01, 0.005]),
    )
    .unwrap();
    assert_eq!(am.steps(), [0.02, 0.01, 0.005]);
    for bad in [vec![0.02, 0.01], vec![0.02, 0.01, 0.005, 0.001], vec![]] {
        assert!(matches!(
            AnnealedLangevin::new(&target, lv(), 5, LevelStep::PerLevel(bad.clone())),
            Err(Error::DimensionMismatch { expected: 3, .. })
        ));
        assert!(AnnealedMala::new(&target, lv(), 5, LevelStep::PerLevel(bad)).is_err());
    }
    for bad in [0.0, -0.01, f64::NAN, f64::INFINITY] {
        let r = AnnealedLangevin::new(
            &target,
            lv(),
            5,
            LevelStep::PerLevel(vec![0.02, bad, 0.005]),
        );
        assert!(matches!(r, Err(Error::InvalidStepSize { .. })), "{bad}");
    }
}

/// Catches: `PerLevel` steps applied at the wrong levels (reversed or shifted) or scaled
/// again by σ²: the list the σ²-rule would produce must give bit-identical particles.
/// Deterministic (same seed, same arithmetic).
#[test]
fn per_level_list_of_the_sigma_rule_is_the_same_sampler() {
    let target = GaussianMixture::new(vec![1.0], vec![vec![0.5]], vec![0.01]).unwrap();
    let lv = || SigmaLevels::<f64>::new(vec![1.0, 0.3, 0.1]).unwrap();
    let rule =
        AnnealedLangevin::new(&target, lv(), 4, LevelStep::Langevin { h_last: 0.003 }).unwrap();
    let list = AnnealedLangevin::new(&target, lv(), 4, LevelStep::PerLevel(rule.steps().to_vec()))
        .unwrap();
    let run = ParticleRun::new(300).seed(5);
    let a = rule.run(&run, &normal_init(1.0)).unwrap();
    let b = list.run(&run, &normal_init(1.0)).unwrap();
    assert_eq!(a.as_slice(), b.as_slice());
}

/// Exact oracle of the discretised process: on the target N(μ, s²) with the exact smoothed
/// score −(x − μ)/v_i, v_i = s² + σ_i², each unadjusted step with crate step h_i maps a
/// Gaussian N(m, V) to N(c m + (1 − c) μ, c² V + 2 h_i), c = 1 − h_i/v_i. Steps chosen
/// *constant over the first two levels* (h = 0.02, 0.02, 0.004 — not ∝ σ_i²), T = 10,
/// C = 2·10⁴ particles; z-tests of mean and variance, α = 2e-6 split in two.
/// Bugs caught: the list read in reverse (h = 0.004, 0.02, 0.02: its exact output is
/// computed below and asserted to lie more than 2 z_c standard errors away), the σ²-rule
/// applied on top of the list (steps 100× smaller at level 1), a level skipped.
#[test]
fn per_level_steps_follow_the_exact_recursion() {
    let (mu, s2) = (0.5, 0.1f64 * 0.1);
    let sigmas = [1.0, 0.3, 0.1];
    let steps = [0.02, 0.02, 0.004];
    let (t_steps, c) = (10, 20_000);
    let recursion = |h: &[f64]| {
        let (mut m, mut v) = (0.0, 1.0);
        for (&s, &hi) in sigmas.iter().zip(h) {
            let cc = 1.0 - hi / (s2 + s * s);
            for _ in 0..t_steps {
                m = cc * m + (1.0 - cc) * mu;
                v = cc * cc * v + 2.0 * hi;
            }
        }
        (m, v)
    };
    let (m, v) = recursion(&steps);
    let target = GaussianMixture::new(vec![1.0], vec![vec![mu]], vec![s2]).unwrap();
    let al = AnnealedLangevin::new(
        &target,
        SigmaLevels::new(sigmas.to_vec()).unwrap(),
        t_steps,
        LevelStep::PerLevel(steps.to_vec()),
    )
    .unwrap();
    let out = al
        .run(&ParticleRun::new(c).seed(77), &normal_init(1.0))
        .unwrap();
    let xs = out.as_slice();
    let cf = c as f64;
    let mean = xs.iter().sum::<f64>() / cf;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (cf - 1.0);
    let (zm, zv) = (
        (mean - m) / (v / cf).sqrt(),
        (var - v) / (v * (2.0 / cf).sqrt()),
    );
    let zc = Normal::standard().inverse_cdf(1.0 - 2e-6 / 4.0);
    assert!(
        zm.abs() < zc && zv.abs() < zc,
        "z_mean {zm}, z_var {zv} (m {m}, v {v})"
    );
    // Power: the reversed list moves the variance (or the mean) by more than 2 zc SE.
    let (mr, vr) = recursion(&[0.004, 0.02, 0.02]);
    let shift = ((vr - v) / (v * (2.0 / cf).sqrt()))
        .abs()
        .max(((mr - m) / (v / cf).sqrt()).abs());
    println!("z_mean {zm:.2}, z_var {zv:.2}; reversed list {shift:.1} SE away (z_c {zc:.2})");
    assert!(shift > 2.0 * zc, "reversed list only {shift} SE away");
}
