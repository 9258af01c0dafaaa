//! Constrained parameters: change-of-variables scores against finite differences, round
//! trips, and constrained targets sampled in unconstrained space checked by KS against the
//! statrs CDF (final states of independent chains started at exact draws; DKW bound at
//! α = 2e-6 per test, see tests/statrs_targets.rs for the design).

use langevin::density::check_score_with_step;
use langevin::prelude::*;
use langevin::targets::Univariate;
use langevin::transform::{Bijection, Constrained, Constraint, Elementwise, StickBreaking};
use statrs::distribution::{Beta, ContinuousCDF, Gamma};

const ALPHA: f64 = 2e-6;
const CHAINS: usize = 20_000;
const STEPS: usize = 20;

fn dkw(n: usize, alpha: f64) -> f64 {
    ((2.0 / alpha).ln() / (2.0 * n as f64)).sqrt()
}

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

/// MALA on the unconstrained target from exact constrained draws; returns the constrained
/// final states and the acceptance rate.
fn run_constrained<P, B>(
    c: &Constrained<P, B>,
    exact: impl Fn(&mut langevin::rng::ChainRng) -> Vec<f64> + Sync,
    h: f64,
    seed: u64,
) -> (Vec<Vec<f64>>, f64)
where
    P: LogDensity<Scalar = f64> + Score + Sync,
    B: Bijection,
{
    let mala = Mala::new(c, h).unwrap();
    let z_trace = Sampler::new(1)
        .chains(CHAINS)
        .warmup(STEPS - 1)
        .seed(seed)
        .run_from(
            &mala,
            |_, rng| c.to_unconstrained(&exact(rng)).unwrap(),
            &langevin::run::NoAdaptation,
            &(),
        )
        .unwrap();
    let x_trace = z_trace.constrain(c.bijection());
    let last = x_trace.last_draws().iter().map(|x| x.to_vec()).collect();
    (last, z_trace.acceptance())
}

fn exact_univariate<D: statrs::distribution::ContinuousCDF<f64, f64>>(
    d: &D,
    rng: &mut langevin::rng::ChainRng,
) -> Vec<f64> {
    let u: f64 = rng.random::<f64>().clamp(1e-300, 1.0 - 1e-16);
    vec![d.inverse_cdf(u)]
}

/// Catches: a missing or wrong log-Jacobian (log x for exp: without it z would follow
/// Gamma(3,2) pushed through log *without* the density change, i.e. x ~ Gamma(2, 2)), a wrong
/// chain rule in the score (MALA stays exact with any drift, but the FD test below catches it),
/// and draws mapped back wrongly. Rate ≤ 2e-6 (DKW).
#[test]
fn gamma_through_exp_matches_statrs_cdf() {
    let g = Gamma::new(3.0, 2.0).unwrap();
    let c = Constrained::new(
        Univariate::new(g),
        Elementwise::new(vec![Constraint::Positive]).unwrap(),
    )
    .unwrap();
    let (xs, acc) = run_constrained(&c, |r| exact_univariate(&g, r), 0.1, 21);
    let xs: Vec<f64> = xs.iter().map(|x| x[0]).collect();
    assert!(xs.iter().all(|&x| x > 0.0));
    let d = ks(xs, |x| g.cdf(x));
    assert!(d < dkw(CHAINS, ALPHA), "KS {d:.4} (acceptance {acc:.3})");
    assert!(acc > 0.3, "acceptance {acc:.3}");
}

/// As above for Gamma(0.8, 1) through softplus (shape < 1: the density is unbounded at 0,
/// which the transform makes harmless). Rate ≤ 2e-6.
#[test]
fn gamma_through_softplus_matches_statrs_cdf() {
    let g = Gamma::new(0.8, 1.0).unwrap();
    let c = Constrained::new(
        Univariate::new(g),
        Elementwise::new(vec![Constraint::Softplus]).unwrap(),
    )
    .unwrap();
    let (xs, acc) = run_constrained(&c, |r| exact_univariate(&g, r), 0.1, 22);
    let xs: Vec<f64> = xs.iter().map(|x| x[0]).collect();
    let d = ks(xs, |x| g.cdf(x));
    assert!(d < dkw(CHAINS, ALPHA), "KS {d:.4} (acceptance {acc:.3})");
    assert!(acc > 0.3, "acceptance {acc:.3}");
}

/// Catches: a wrong logit Jacobian ln σ + ln(1 − σ) (without it the z-law is off by the
/// factor x(1 − x), i.e. x ~ Beta(1, 4) instead of Beta(2, 5)), interval bounds swapped or
/// mis-scaled. Rate ≤ 2e-6.
#[test]
fn beta_through_logit_matches_statrs_cdf() {
    let b = Beta::new(2.0, 5.0).unwrap();
    let c = Constrained::new(
        Univariate::new(b),
        Elementwise::new(vec![Constraint::Interval(0.0, 1.0)]).unwrap(),
    )
    .unwrap();
    let (xs, acc) = run_constrained(&c, |r| exact_univariate(&b, r), 0.3, 23);
    let xs: Vec<f64> = xs.iter().map(|x| x[0]).collect();
    assert!(xs.iter().all(|&x| x > 0.0 && x < 1.0));
    let d = ks(xs, |x| b.cdf(x));
    assert!(d < dkw(CHAINS, ALPHA), "KS {d:.4} (acceptance {acc:.3})");
    assert!(acc > 0.3, "acceptance {acc:.3}");
}

/// A Dirichlet(α) log density on the simplex (w.r.t. Lebesgue on the first K−1 coordinates)
/// with its score as a function of all K coordinates.
#[derive(Debug)]
struct Dirichlet(Vec<f64>);
impl Target for Dirichlet {
    type Scalar = f64;
    fn dim(&self) -> usize {
        self.0.len()
    }
}
impl LogDensity for Dirichlet {
    fn log_density(&self, x: &[f64]) -> f64 {
        if x.iter().any(|&v| v <= 0.0) {
            return f64::NEG_INFINITY;
        }
        self.0.iter().zip(x).map(|(a, v)| (a - 1.0) * v.ln()).sum()
    }
}
impl Score for Dirichlet {
    fn score_into(&self, x: &[f64], out: &mut [f64]) {
        for ((o, a), v) in out.iter_mut().zip(&self.0).zip(x) {
            *o = (a - 1.0) / v;
        }
    }
}

/// Catches: stick-breaking forward map, Jacobian or reverse-mode pullback errors (the
/// marginal x₁ of Dirichlet(2, 3, 4) is Beta(2, 7); x₃ is Beta(4, 5)). Two KS statistics
/// share α = 2e-6.
#[test]
fn dirichlet_through_stick_breaking_has_beta_marginals() {
    let alpha = vec![2.0, 3.0, 4.0];
    let c = Constrained::new(Dirichlet(alpha.clone()), StickBreaking::new(3).unwrap()).unwrap();
    // Exact Dirichlet draws from normalised Gamma variates (inverse CDF).
    let gammas: Vec<Gamma> = alpha.iter().map(|&a| Gamma::new(a, 1.0).unwrap()).collect();
    let exact = |r: &mut langevin::rng::ChainRng| {
        let g: Vec<f64> = gammas.iter().map(|d| exact_univariate(d, r)[0]).collect();
        let s: f64 = g.iter().sum();
        g.iter().map(|v| v / s).collect::<Vec<f64>>()
    };
    let (xs, acc) = run_constrained(&c, exact, 0.2, 24);
    let eps = dkw(CHAINS, ALPHA / 2.0);
    let b1 = Beta::new(2.0, 7.0).unwrap();
    let b3 = Beta::new(4.0, 5.0).unwrap();
    let d1 = ks(xs.iter().map(|x| x[0]).collect(), |v| b1.cdf(v));
    let d3 = ks(xs.iter().map(|x| x[2]).collect(), |v| b3.cdf(v));
    assert!(d1 < eps && d3 < eps, "KS {d1:.4}, {d3:.4} ≥ {eps:.4}");
    assert!(
        xs.iter()
            .all(|x| (x.iter().sum::<f64>() - 1.0).abs() < 1e-12)
    );
    assert!(acc > 0.3, "acceptance {acc:.3}");
}

/// Catches: any error in a bijection's dx/dz or d log|J|/dz (the chain-rule score of the
/// unconstrained target against central finite differences of its log density).
/// Deterministic; FD error < 1e-7 relative at relative step 1e-6 for these smooth maps.
#[test]
fn transformed_scores_match_finite_differences() {
    let constraints = vec![
        Constraint::Real,
        Constraint::Positive,
        Constraint::LowerBound(-2.0),
        Constraint::UpperBound(3.0),
        Constraint::Interval(-1.0, 4.0),
        Constraint::Softplus,
    ];
    // A smooth target on the constrained space: independent normals N(1, 2²) (finite
    // everywhere, so every constraint can be checked against the same density).
    let n = constraints.len();
    let target = langevin::density::FnTarget::new(
        n,
        |x: &[f64]| -x.iter().map(|v| (v - 1.0).powi(2)).sum::<f64>() / 8.0,
        |x: &[f64], out: &mut [f64]| {
            for (o, v) in out.iter_mut().zip(x) {
                *o = -(v - 1.0) / 4.0;
            }
        },
    )
    .unwrap();
    let c = Constrained::new(target, Elementwise::new(constraints).unwrap()).unwrap();
    for z in [
        [0.3, -0.7, 0.2, 0.5, -1.3, 2.0],
        [-2.0, 1.2, -1.0, -0.4, 2.5, -3.0],
    ] {
        let r = check_score_with_step(&c, &z, 1e-6).unwrap();
        assert!(r.passed(1e-6), "{r:?}");
    }
    let sb = Constrained::new(
        Dirichlet(vec![1.5, 2.0, 0.7, 3.0]),
        StickBreaking::new(4).unwrap(),
    )
    .unwrap();
    for z in [[0.1, -0.4, 0.8], [1.5, -2.0, 0.3]] {
        let r = check_score_with_step(&sb, &z, 1e-6).unwrap();
        assert!(r.passed(1e-6), "{r:?}");
    }
}

/// Catches: a stick-breaking log-Jacobian or gradient computed through `ln rₖ` / `1/rₖ`, which
/// turns into −∞ / NaN once a remaining stick length rₖ underflows (z₁ = 800 gives
/// r₂ = σ(−800 + ln 3) ≈ e^(−799) = 0 in f64). Closed forms for K = 4, z = (800, 0, 0):
/// t₁ = 800 − ln 3, log|J| = −softplus(−t₁) − 3 softplus(t₁) + ln(1/3) + 2 ln(2/3) + 2 ln(1/2),
/// ∇ log|J| = (σ(−t₁) − 3σ(t₁), 0, 0). Deterministic; the tolerance is rounding of O(800).
#[test]
fn stick_breaking_jacobian_finite_when_sticks_underflow() {
    let sb = StickBreaking::new(4).unwrap();
    let z = [800.0, 0.0, 0.0];
    let mut x = [0.0; 4];
    let lj = sb.forward(&z, &mut x);
    let t1 = 800.0 - 3f64.ln();
    let exact = -3.0 * t1 + (1.0f64 / 3.0).ln() + 2.0 * (2.0f64 / 3.0).ln() + 2.0 * 0.5f64.ln();
    assert!((lj - exact).abs() < 1e-12 * t1, "{lj} vs {exact}");
    let mut gz = [0.0; 3];
    sb.pullback(&z, &x, &[0.0; 4], &mut gz);
    assert!((gz[0] + 3.0).abs() < 1e-12, "{gz:?}");
    assert!(gz[1].abs() < 1e-15 && gz[2].abs() < 1e-15, "{gz:?}");
}

/// Catches: inverse maps that do not invert the forward maps. Deterministic.
#[test]
fn inverse_round_trips() {
    let e = Elementwise::new(vec![
        Constraint::Positive,
        Constraint::LowerBound(-2.0),
        Constraint::UpperBound(3.0),
        Constraint::Interval(-1.0, 4.0),
        Constraint::Softplus,
    ])
    .unwrap();
    let z = [0.4, -1.1, 2.0, -0.3, 0.9];
    let mut x = [0.0; 5];
    let mut z2 = [0.0; 5];
    e.forward(&z, &mut x);
    e.inverse(&x, &mut z2).unwrap();
    for (a, b) in z.iter().zip(&z2) {
        assert!((a - b).abs() < 1e-12, "{z:?} vs {z2:?}");
    }
    let sb = StickBreaking::new(4).unwrap();
    let z = [0.5, -0.2, 1.0];
    let mut x = [0.0; 4];
    let mut z2 = [0.0; 3];
    sb.forward(&z, &mut x);
    assert!((x.iter().sum::<f64>() - 1.0).abs() < 1e-15);
    sb.inverse(&x, &mut z2).unwrap();
    for (a, b) in z.iter().zip(&z2) {
        assert!((a - b).abs() < 1e-12);
    }
    // Just below b on a wide interval (x − a)/(b − a) rounds to 1: z must stay finite
    // (ln(1e10 + 1) − ln(2⁻⁵³) ≈ 59.8), not +∞.
    let x = 1.0 - f64::EPSILON / 2.0;
    let z_edge = Constraint::Interval(-1e10, 1.0).inverse(x).unwrap();
    assert!((z_edge - ((1e10 + x).ln() - (f64::EPSILON / 2.0).ln())).abs() < 1e-12 * z_edge);
    assert!(Constraint::Positive.inverse(-1.0).is_err());
    assert!(Elementwise::new(vec![Constraint::Interval(1.0, 1.0)]).is_err());
    assert!(StickBreaking::new(1).is_err());
}

/// The log-Jacobian dropped: x = exp(z) with p_z(z) = p_x(eᶻ) (no `+ z`).
#[derive(Debug)]
struct ExpWithoutJacobian;
impl Bijection for ExpWithoutJacobian {
    fn unconstrained_dim(&self) -> usize {
        1
    }
    fn constrained_dim(&self) -> usize {
        1
    }
    fn forward(&self, z: &[f64], x: &mut [f64]) -> f64 {
        x[0] = z[0].exp();
        0.0
    }
    fn pullback(&self, z: &[f64], _x: &[f64], gx: &[f64], gz: &mut [f64]) {
        gz[0] = z[0].exp() * gx[0];
    }
    fn inverse(&self, x: &[f64], z: &mut [f64]) -> langevin::Result<()> {
        z[0] = x[0].ln();
        Ok(())
    }
}

/// Power self-check of the design above (TESTING.md T4): the same experiment with the
/// log-Jacobian missing must fail. Without it the z-chain targets Gamma(3 − 1 = 2, 2) in x;
/// started from exact Gamma(3, 2) draws, 20 MALA steps move the law far enough that the KS
/// statistic (measured 0.27) exceeds the DKW bound 0.019 by a wide margin. The chance that
/// this test passes spuriously is negligible (it would need the broken chain to stay within
/// the bound); if it ever fails, the invariance tests above have lost their power.
#[test]
fn missing_jacobian_is_detected() {
    let g = Gamma::new(3.0, 2.0).unwrap();
    let c = Constrained::new(Univariate::new(g), ExpWithoutJacobian).unwrap();
    let (xs, _) = run_constrained(&c, |r| exact_univariate(&g, r), 0.1, 21);
    let d = ks(xs.iter().map(|x| x[0]).collect(), |x| g.cdf(x));
    assert!(
        d > 3.0 * dkw(CHAINS, ALPHA),
        "KS {d:.4} too small: the test has no power"
    );
}
