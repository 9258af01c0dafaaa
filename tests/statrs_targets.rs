//! statrs distributions as targets: analytic scores against finite differences, and MALA
//! invariance checked by Kolmogorov–Smirnov against the statrs CDF.
//!
//! Design of the invariance tests (TESTING.md T4 pattern, IID across chains): C independent
//! chains start at exact draws (inverse CDF), take K MALA steps, and the C final states are
//! compared with the statrs CDF. Started at stationarity, the final states are exactly IID
//! from the target if MALA is correct, so the DKW inequality gives
//! `P(sup|F̂ − F| > ε) ≤ 2 exp(−2Cε²)`: with ε = sqrt(ln(2/α)/(2C)) the false-failure rate is
//! at most α = 2e-6 per test (split over coordinates for products).
#![allow(clippy::float_cmp)] // exact values (−∞, a subgradient 0, ±1/b) are compared exactly

use langevin::prelude::*;
use langevin::targets::{AnalyticScore, Independent, Univariate};
use statrs::distribution::{
    Beta, Cauchy, Chi, ChiSquared, Continuous, ContinuousCDF, Erlang, Exp, Gamma, Gumbel,
    InverseGamma, Laplace, LogNormal, Normal, Pareto, StudentsT, Uniform, Weibull,
};

const ALPHA: f64 = 2e-6;
const CHAINS: usize = 20_000;
const STEPS: usize = 20;

/// DKW threshold for n IID draws at false-failure rate `alpha`.
fn dkw(n: usize, alpha: f64) -> f64 {
    ((2.0 / alpha).ln() / (2.0 * n as f64)).sqrt()
}

/// The one-sample KS statistic sup|F̂ − F| of `xs` against `cdf`.
fn ks(mut xs: Vec<f64>, cdf: impl Fn(f64) -> f64) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = xs.len() as f64;
    let mut d = 0.0f64;
    for (i, &x) in xs.iter().enumerate() {
        let f = cdf(x);
        d = d.max((i as f64 + 1.0) / n - f).max(f - i as f64 / n);
    }
    d
}

/// Runs MALA from exact draws and returns the final states and the acceptance rate.
fn mala_final_states<P>(target: &P, h: f64, seed: u64) -> (Vec<Vec<f64>>, f64)
where
    P: LogDensity<Scalar = f64> + Score + ExactSample + Sync,
{
    let mala = Mala::new(target, h).unwrap();
    let d = target.dim();
    let trace = Sampler::new(1)
        .chains(CHAINS)
        .warmup(STEPS - 1)
        .seed(seed)
        .run_from(
            &mala,
            |_, rng| {
                let mut x = vec![0.0; d];
                target.sample_into(rng, &mut x);
                x
            },
            &langevin::run::NoAdaptation,
            &(),
        )
        .unwrap();
    let last = trace.last_draws().iter().map(|x| x.to_vec()).collect();
    (last, trace.acceptance())
}

/// Catches: a wrong log density or support (draws leave the support or drift away from the
/// statrs law), a broken −∞ handling in MALA at the support boundary. Rate ≤ 2e-6 (DKW).
/// The acceptance floor rules out a kernel that never moves (which would pass trivially).
fn check_invariance<D>(dist: D, h: f64, seed: u64)
where
    D: Continuous<f64, f64> + ContinuousCDF<f64, f64> + AnalyticScore + Sync + Clone,
{
    let target = Univariate::new(dist);
    let (states, acc) = mala_final_states(&target, h, seed);
    let xs: Vec<f64> = states.iter().map(|x| x[0]).collect();
    assert!(
        xs.iter().all(|&x| target.in_support(x)),
        "a chain left the support"
    );
    let d = ks(xs, |x| target.cdf(x));
    let eps = dkw(CHAINS, ALPHA);
    assert!(
        d < eps,
        "KS {d:.4} ≥ DKW bound {eps:.4} (acceptance {acc:.3})"
    );
    assert!(acc > 0.3, "acceptance {acc:.3}: the kernel barely moves");
}

/// Catches: a score formula that disagrees with statrs' ln_pdf (sign, factor, parameter
/// swapped such as rate vs scale). Deterministic: central differences with relative step
/// 1e-6 have truncation + rounding error < 1e-7 relative at these interior points, a wrong
/// formula errs by O(1).
fn check_fd<D>(dist: D, points: &[f64])
where
    D: Continuous<f64, f64> + ContinuousCDF<f64, f64> + AnalyticScore + Clone,
{
    let target = Univariate::new(dist);
    for &x in points {
        let r = check_score_with_step_rel(&target, x);
        assert!(r < 1e-6, "score at {x}: relative error {r:e}");
    }
}

fn check_score_with_step_rel<P: LogDensity<Scalar = f64> + Score>(p: &P, x: f64) -> f64 {
    let r = langevin::density::check_score_with_step(p, &[x], 1e-6).unwrap();
    r.max_rel_error
}

macro_rules! statrs_case {
    ($name:ident, $dist:expr, $h:expr, $seed:expr, $points:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn score_matches_finite_differences() {
                check_fd($dist, &$points);
            }
            #[test]
            fn mala_leaves_statrs_law_invariant() {
                check_invariance($dist, $h, $seed);
            }
        }
    };
}

statrs_case!(
    normal,
    Normal::new(1.0, 2.0).unwrap(),
    1.0,
    1,
    [-3.0, 0.5, 4.0]
);
statrs_case!(
    students_t,
    StudentsT::new(0.5, 1.5, 4.0).unwrap(),
    0.5,
    2,
    [-3.0, 0.4, 6.0]
);
statrs_case!(
    gamma,
    Gamma::new(3.0, 2.0).unwrap(),
    0.05,
    3,
    [0.2, 1.0, 4.0]
);
statrs_case!(
    beta,
    Beta::new(2.0, 5.0).unwrap(),
    0.003,
    4,
    [0.05, 0.3, 0.9]
);
statrs_case!(
    log_normal,
    LogNormal::new(0.2, 0.5).unwrap(),
    0.05,
    5,
    [0.3, 1.0, 3.0]
);
statrs_case!(
    laplace,
    Laplace::new(-1.0, 0.7).unwrap(),
    0.1,
    6,
    [-3.0, -0.5, 2.0]
);
statrs_case!(
    cauchy,
    Cauchy::new(0.0, 1.0).unwrap(),
    0.3,
    7,
    [-5.0, 0.3, 10.0]
);
statrs_case!(exp, Exp::new(1.5).unwrap(), 0.02, 8, [0.1, 1.0, 5.0]);
statrs_case!(
    weibull,
    Weibull::new(2.0, 1.5).unwrap(),
    0.05,
    9,
    [0.2, 1.0, 3.0]
);
statrs_case!(
    gumbel,
    Gumbel::new(0.5, 2.0).unwrap(),
    0.5,
    10,
    [-3.0, 0.5, 6.0]
);
statrs_case!(chi, Chi::new(3).unwrap(), 0.1, 11, [0.3, 1.5, 3.0]);
statrs_case!(
    chi_squared,
    ChiSquared::new(5.0).unwrap(),
    0.5,
    12,
    [0.5, 4.0, 12.0]
);
statrs_case!(
    erlang,
    Erlang::new(3, 0.5).unwrap(),
    0.5,
    13,
    [0.5, 4.0, 12.0]
);
statrs_case!(
    inverse_gamma,
    InverseGamma::new(4.0, 3.0).unwrap(),
    0.01,
    14,
    [0.3, 1.0, 4.0]
);
statrs_case!(
    pareto,
    Pareto::new(1.0, 3.0).unwrap(),
    0.01,
    15,
    [1.1, 2.0, 5.0]
);
statrs_case!(
    uniform,
    Uniform::new(-1.0, 2.0).unwrap(),
    0.1,
    16,
    [-0.5, 0.5, 1.5]
);

/// Catches: the product summing log densities or scores of the wrong coordinates, and
/// support handling per coordinate. Three KS statistics share α (ε at α/3 each).
#[test]
fn product_of_marginals_is_invariant_under_mala() {
    let p = Independent::new(vec![
        Box::new(Univariate::new(Normal::new(-1.0, 0.5).unwrap())),
        Box::new(Univariate::new(Gamma::new(4.0, 4.0).unwrap())),
        Box::new(Univariate::new(Beta::new(3.0, 3.0).unwrap())),
    ])
    .unwrap();
    let r = langevin::density::check_score_with_step(&p, &[-0.7, 1.2, 0.4], 1e-6).unwrap();
    assert!(r.passed(1e-6), "{r:?}");
    let (states, acc) = mala_final_states(&p, 0.01, 99);
    let eps = dkw(CHAINS, ALPHA / 3.0);
    for j in 0..3 {
        let xs: Vec<f64> = states.iter().map(|x| x[j]).collect();
        let d = ks(xs, |x| p.marginal_cdf(j, x).unwrap());
        assert!(d < eps, "coordinate {j}: KS {d:.4} ≥ {eps:.4}");
    }
    assert!(acc > 0.3, "acceptance {acc:.3}");
}

/// Catches: a missing −∞ outside the support (statrs' ln_pdf of Beta at 1.5 is not −∞ for
/// every version) and a Laplace kink that returns NaN. Deterministic.
#[test]
fn support_and_kink() {
    let b = Univariate::new(Beta::new(2.0, 2.0).unwrap());
    assert_eq!(b.log_density(&[1.5]), f64::NEG_INFINITY);
    assert_eq!(b.log_density(&[-0.1]), f64::NEG_INFINITY);
    assert!(b.log_density(&[f64::NAN]).is_nan());
    let l = Univariate::new(Laplace::new(0.0, 1.0).unwrap());
    assert_eq!(l.score(&[0.0]), vec![0.0]);
    assert_eq!(l.score(&[1.0]), vec![-1.0]);
    assert!(Independent::new(vec![]).is_err());
    // Analytic moments come from statrs: Gamma(3, rate 2) has mean 3/2, variance 3/4.
    use langevin::targets::Analytic;
    let g = Univariate::new(Gamma::new(3.0, 2.0).unwrap());
    assert!((g.exact_mean()[0] - 1.5).abs() < 1e-15);
    assert!((g.exact_covariance()[0] - 0.75).abs() < 1e-15);
    assert!(g.marginal_cdf(1, 0.5).is_none());
}
