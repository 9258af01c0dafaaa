//! T13 — strong and weak orders of the SDE integrators, measured with
//! `testing::estimate_order` on shared Brownian paths (TESTING.md §2.3).
//!
//! Bands: the slope is a least-squares fit over a 16-fold (32-fold) range of steps, so it
//! carries pre-asymptotic curvature as well as Monte Carlo noise. The bands [0.4, 0.6] for
//! order ½ and [0.85, 1.15] for order 1 are TESTING.md's; for order 1.5 we use the same
//! ±0.15. Each test also asserts that the 95 % bootstrap half-width is < 0.05, i.e. the
//! Monte Carlo error of the slope is small against the band (a 3σ slope excursion would be
//! < 0.08 < 0.1): the false-failure rate of each band check is then far below 2e-6, and
//! the bands leave out the wrong orders the bugs produce (½ vs 1 vs 1.5).

use langevin::integrators::{Milstein, MilsteinDerivativeFree, Sra1, StochasticHeun};
use langevin::prelude::*;
use langevin::sde::{BrownianPath, GeometricBrownianMotion, OrnsteinUhlenbeck};
use langevin::testing::{ExactReference, OrderConfig, OrderEstimate, estimate_order};

fn report(name: &str, e: &OrderEstimate) {
    eprintln!(
        "{name}: strong {:.3} [{:.3}, {:.3}]  weak {:.3} [{:.3}, {:.3}]  errors {:?}",
        e.strong.order,
        e.strong.lower,
        e.strong.upper,
        e.weak.order,
        e.weak.lower,
        e.weak.upper,
        e.strong_errors
    );
}

fn assert_band(what: &str, p: f64, lo: f64, hi: f64, ci: (f64, f64)) {
    assert!(
        p >= lo && p <= hi,
        "{what}: fitted order {p} outside [{lo}, {hi}]"
    );
    assert!(
        ci.1 - ci.0 < 0.1,
        "{what}: bootstrap interval [{}, {}] too wide for the band to be meaningful",
        ci.0,
        ci.1
    );
}

fn gbm_exact(
    gbm: &GeometricBrownianMotion<f64>,
) -> impl Fn(&[f64], &BrownianPath<f64>, &mut [f64]) + Sync + '_ {
    move |x0, p, out| gbm.exact_solution(x0, p.duration(), p.total(), out)
}

/// Higham (2001): λ = 2, μ = 1, X₀ = 1, T = 1, δ = 2⁻⁹, Δ = Rδ, R ∈ {1, 2, 4, 8, 16}.
/// Bug caught: ΔW with sd Δ instead of √Δ (EM slope → ~1 and errors explode), the Milstein
/// correction with the wrong sign or factor (slope → ½), drift at the wrong time.
#[test]
fn t13_gbm_strong_orders_em_half_milstein_one() {
    let gbm = GeometricBrownianMotion::new(1, 2.0, 1.0).unwrap();
    let exact = ExactReference(gbm_exact(&gbm));
    let cfg = OrderConfig::new(vec![1.0], 1.0)
        .fine_steps(512)
        .paths(10_000)
        .seed(2001);
    let em = estimate_order(&EulerMaruyama, &gbm, &exact, &cfg).unwrap();
    report("EM/GBM", &em);
    assert_band(
        "EM on GBM",
        em.strong.order,
        0.4,
        0.6,
        (em.strong.lower, em.strong.upper),
    );
    let mil = estimate_order(&Milstein, &gbm, &exact, &cfg).unwrap();
    report("Milstein/GBM", &mil);
    assert_band(
        "Milstein on GBM",
        mil.strong.order,
        0.85,
        1.15,
        (mil.strong.lower, mil.strong.upper),
    );
    let dfm = estimate_order(&MilsteinDerivativeFree, &gbm, &exact, &cfg).unwrap();
    report("Milstein-DF/GBM", &dfm);
    assert_band(
        "derivative-free Milstein on GBM",
        dfm.strong.order,
        0.85,
        1.15,
        (dfm.strong.lower, dfm.strong.upper),
    );
}

/// Stochastic Heun converges to the Stratonovich solution: the Itô GBM (λ, μ) is the
/// Stratonovich GBM with drift λ − μ²/2, whose solution X₀ exp(λ' T + μW) equals the Itô one.
/// Bug caught: an Itô-style (non-averaged) diffusion term — Heun would then converge to the
/// wrong process and the error would not decrease (slope ≈ 0).
#[test]
fn t13_heun_stratonovich_gbm_strong_order_one() {
    let (l, m) = (2.0, 1.0);
    let itô = GeometricBrownianMotion::new(1, l, m).unwrap();
    let strat = GeometricBrownianMotion::new(1, l - 0.5 * m * m, m).unwrap();
    let exact = ExactReference(gbm_exact(&itô));
    let cfg = OrderConfig::new(vec![1.0], 1.0)
        .fine_steps(512)
        .paths(10_000)
        .seed(1982);
    let e = estimate_order(&StochasticHeun, &strat, &exact, &cfg).unwrap();
    report("Heun/GBM", &e);
    assert_band(
        "Heun on Stratonovich GBM",
        e.strong.order,
        0.85,
        1.15,
        (e.strong.lower, e.strong.upper),
    );
}

/// OU has additive noise, so EM's strong order is 1 there (TESTING.md §2.3). Reference: the
/// OU solution on the path with the fine (ΔW, ΔZ) pairs, L² error O(δ²), negligible against
/// the studied errors. Bug caught: the noise scaled by h instead of √h, drift at t + h.
/// (SRA1 on this *linear* drift shows order 2.03 — the order-1.5 error terms vanish for
/// linear f — so SRA1's 1.5 is tested on a nonlinear drift below.)
#[test]
fn t13_ou_strong_order_em_one() {
    let ou = OrnsteinUhlenbeck::new(vec![0.5], 2.0, 1.0).unwrap();
    let exact = ExactReference(|x0: &[f64], p: &BrownianPath<f64>, out: &mut [f64]| {
        ou.solve_on_path(x0, p, out)
    });
    let cfg = OrderConfig::new(vec![2.0], 1.0)
        .fine_steps(1024)
        .ratios(vec![4, 8, 16, 32, 64])
        .with_area(true)
        .paths(10_000)
        .seed(2010);
    let em = estimate_order(&EulerMaruyama, &ou, &exact, &cfg).unwrap();
    report("EM/OU", &em);
    assert_band(
        "EM on OU",
        em.strong.order,
        0.85,
        1.15,
        (em.strong.lower, em.strong.upper),
    );
}

/// SRA1's strong order 1.5 on a nonlinear additive-noise SDE: the Langevin SDE of the double
/// well `(x² − 1)²`, dX = −4X(X² − 1) dt + √2 dW, X₀ = 0.5, T = 1. Reference: SRA1 itself at
/// the fine step δ = 2⁻¹⁴, whose error (∝ δ^{3/2}) is ≤ 1/64 of the error at the smallest
/// studied step 16δ, biasing the slope by < 0.01.
/// Bug caught: ΔZ mis-scaled or drawn independently of ΔW, or coarse ΔZ summed without the
/// δ(W(t_j) − W(t_k)) terms (the 1.5 terms are then wrong and the slope drops to 1).
#[test]
fn t13_sra1_strong_order_three_halves_on_nonlinear_langevin() {
    let sde = LangevinSde::new(langevin::targets::DoubleWell::new(1.0).unwrap());
    let fine = langevin::testing::FineReference(Sra1);
    let cfg = OrderConfig::new(vec![0.5], 1.0)
        .fine_steps(16_384)
        .ratios(vec![16, 32, 64, 128, 256])
        .paths(1_500)
        .seed(2010);
    let sra = estimate_order(&Sra1, &sde, &fine, &cfg).unwrap();
    report("SRA1/double-well Langevin", &sra);
    assert_band(
        "SRA1 on double-well Langevin",
        sra.strong.order,
        1.35,
        1.65,
        (sra.strong.lower, sra.strong.upper),
    );
}

/// Weak order of EM on GBM (Higham 2001: λ = 2, μ = 0.1, Δ = 2^{p−10}, p = 1…5), φ(x) = x.
/// The same-path difference mean_i (X_N^i − X^i(T)) estimates E X_N − E X(T) without bias.
/// Bug caught: a drift evaluated at the end of the step or with h² scaling changes the
/// leading weak error; a wrong noise scale leaves the mean right but blows up the CI.
#[test]
fn t13_em_gbm_weak_order_one() {
    let gbm = GeometricBrownianMotion::new(1, 2.0, 0.1).unwrap();
    let exact = ExactReference(gbm_exact(&gbm));
    let cfg = OrderConfig::new(vec![1.0], 1.0)
        .fine_steps(1024)
        .ratios(vec![2, 4, 8, 16, 32])
        .paths(5_000)
        .seed(7);
    let em = estimate_order(&EulerMaruyama, &gbm, &exact, &cfg).unwrap();
    report("EM/GBM weak", &em);
    assert_band(
        "EM weak on GBM",
        em.weak.order,
        0.85,
        1.15,
        (em.weak.lower, em.weak.upper),
    );
}

/// Bad designs are typed errors, and the study is deterministic (same seed ⇒ same fit on
/// 1 and 2 threads). Bug caught: path streams tied to threads.
#[test]
fn estimate_order_validates_and_is_reproducible() {
    let gbm = GeometricBrownianMotion::new(1, 1.0, 0.5).unwrap();
    let exact = ExactReference(gbm_exact(&gbm));
    let bad = OrderConfig::new(vec![1.0], 1.0)
        .fine_steps(100)
        .ratios(vec![1, 3]);
    assert!(matches!(
        estimate_order(&EulerMaruyama, &gbm, &exact, &bad),
        Err(Error::InvalidConfig { .. })
    ));
    let one = OrderConfig::new(vec![1.0], 1.0).ratios(vec![2, 2]);
    assert!(estimate_order(&EulerMaruyama, &gbm, &exact, &one).is_err());
    let wrong_x0 = OrderConfig::new(vec![1.0, 2.0], 1.0);
    assert!(matches!(
        estimate_order(&EulerMaruyama, &gbm, &exact, &wrong_x0),
        Err(Error::DimensionMismatch { .. })
    ));
    let nan_x0 = OrderConfig::new(vec![f64::NAN], 1.0);
    assert!(matches!(
        estimate_order(&EulerMaruyama, &gbm, &exact, &nan_x0),
        Err(Error::NonFiniteInput { .. })
    ));
    let cfg = OrderConfig::new(vec![1.0], 1.0)
        .fine_steps(64)
        .ratios(vec![1, 2, 4])
        .paths(300)
        .seed(5);
    let pool = |n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
    };
    let a = pool(1).install(|| estimate_order(&Milstein, &gbm, &exact, &cfg).unwrap());
    let b = pool(2).install(|| estimate_order(&Milstein, &gbm, &exact, &cfg).unwrap());
    assert_eq!(a.strong.order.to_bits(), b.strong.order.to_bits());
    assert_eq!(a.weak.lower.to_bits(), b.weak.lower.to_bits());
}
