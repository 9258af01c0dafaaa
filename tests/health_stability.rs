//! The health report's warning for a ULA step at or beyond its stability bound
//! (`HealthWarning::UnstableStep`, from `Kernel::stability_bound` and `Score::score_lipschitz`).
//!
//! The bound is exact for Gaussian targets: with the step convention
//! `x' = x + h ∇log p(x) + sqrt(2h) ξ`, on `N(m, Σ)` the mean recursion multiplies by
//! `I − hΣ⁻¹`, which contracts iff `h < 2 λ_min(Σ)`. The tests check the bound against the
//! exact stationary law of the discretised chain (`Gaussian::ula_stationary_covariance`, which
//! exists iff the chain is stable) and that a run just beyond it is flagged while a run just
//! below it is not. Deterministic (fixed seeds, no statistical threshold).

use langevin::density::Tempered;
use langevin::diagnostics::health::HealthWarning;
use langevin::prelude::*;
use langevin::targets::Gaussian;

fn unstable(trace: &Trace<f64>) -> Option<(f64, f64)> {
    trace.warnings().into_iter().find_map(|w| match w {
        HealthWarning::UnstableStep {
            step_size,
            max_step_size,
        } => Some((step_size, max_step_size)),
        _ => None,
    })
}

/// Bug it catches: a wrong factor in the bound (`h < λ_min(Σ)` or `h < 4 λ_min(Σ)`), or the
/// smallest precision used instead of the largest (`2/λ_min(Σ⁻¹)` = 2 here instead of 0.5).
/// On `N(0, diag(1, 1/4))` the bound is `2 · 1/4 = 0.5`: `h = 0.45` (10 % below) must pass,
/// `h = 0.52` (4 % beyond: the second coordinate's mean is multiplied by `1 − 0.52·4 = −1.08`
/// per step, 1.08³⁰⁰ ≈ 1e10, still finite, so the run returns `Ok`) must be flagged, with the
/// bound reported to 1e-15. A factor-2 error flags 0.45 (bound 0.25) or misses 0.52 (bound
/// 1 or 2).
#[test]
fn ula_beyond_two_lambda_min_is_flagged() {
    let target = Gaussian::diagonal(vec![0.0, 0.0], vec![1.0, 0.25]).unwrap();
    let run = |h: f64| {
        let ula = Ula::new(&target, h).unwrap();
        Sampler::new(200)
            .chains(2)
            .warmup(100)
            .seed(3)
            .run(&ula, &[vec![0.1, 0.1]])
            .unwrap()
    };
    let ok = run(0.45);
    assert_eq!(unstable(&ok), None, "{}", ok.check());
    let b = ok.config.stability.unwrap();
    assert!((b.max_step_size - 0.5).abs() < 1e-15 && !b.is_unstable());
    let bad = run(0.52);
    let (h, max) = unstable(&bad).expect("h = 0.52 > 0.5 must be flagged");
    assert!((h - 0.52).abs() < 1e-15 && (max - 0.5).abs() < 1e-15);
    // The message names the remedy.
    assert!(
        bad.check()
            .to_string()
            .contains("use a step below the bound")
    );
}

/// Bug it catches: a bound that disagrees with the exact stationary law of the discretised
/// chain (`V = (P − (h/2)P²)⁻¹`, defined iff stable), e.g. from the wrong eigenvalue of a full
/// covariance (its largest, or a diagonal entry). For `Σ = [[2, 0.6], [0.6, 1]]`,
/// `λ_min = (3 − sqrt(2.44))/2`; the oracle exists at `0.999 ×` the bound and not at
/// `1.001 ×`.
#[test]
fn full_covariance_bound_matches_the_exact_stationary_law() {
    let target = Gaussian::full(vec![1.0, -1.0], &[2.0, 0.6, 0.6, 1.0]).unwrap();
    let lambda_min = (3.0 - 2.44f64.sqrt()) / 2.0;
    let l = target.score_lipschitz().unwrap();
    assert!((l - 1.0 / lambda_min).abs() < 1e-12 * l, "{l}");
    let bound = Ula::new(&target, 0.1)
        .unwrap()
        .stability_bound()
        .unwrap()
        .max_step_size;
    assert!((bound - 2.0 * lambda_min).abs() < 1e-12);
    assert!(target.ula_stationary_covariance(0.999 * bound).is_some());
    assert!(target.ula_stationary_covariance(1.001 * bound).is_none());
    // Isotropic: the bound is 2σ².
    let iso = Gaussian::isotropic(vec![0.0; 3], 0.7).unwrap();
    let b = Ula::new(&iso, 0.1).unwrap().stability_bound().unwrap();
    assert!((b.max_step_size - 1.4).abs() < 1e-15);
}

/// Bug it catches: tempering ignored in the bound. `p^(1/T)` has score `∇log p / T`, so its
/// Lipschitz constant is `L/T` and the bound `2T/L`: at `T = 4` on `N(0, 1)`, 8.
#[test]
fn tempering_scales_the_bound() {
    let t = Tempered::new(Gaussian::<f64>::standard(2).unwrap(), 4.0).unwrap();
    assert!((t.score_lipschitz().unwrap() - 0.25).abs() < 1e-15);
    let b = Ula::new(t, 1.0).unwrap().stability_bound().unwrap();
    assert!((b.max_step_size - 8.0).abs() < 1e-15);
}

/// Bug it catches: the warning raised where no bound is known — for MALA (the accept/reject
/// step keeps it stable at any step; a huge step is flagged by the acceptance checks instead)
/// or for a target that does not know its Lipschitz constant.
#[test]
fn no_bound_no_warning() {
    let g = Gaussian::<f64>::standard(2).unwrap();
    let mala = Mala::new(&g, 50.0).unwrap();
    assert!(mala.stability_bound().is_none());
    let trace = Sampler::new(100)
        .chains(2)
        .warmup(0)
        .seed(1)
        .run(&mala, &[vec![0.5; 2]])
        .unwrap();
    assert_eq!(unstable(&trace), None);
    let f = langevin::density::FnScore::new(2, |x: &[f64], g: &mut [f64]| {
        g.iter_mut().zip(x).for_each(|(g, x)| *g = -x);
    })
    .unwrap();
    assert!(Ula::new(f, 0.1).unwrap().stability_bound().is_none());
}
