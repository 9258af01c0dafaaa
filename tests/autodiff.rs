//! Forward-mode autodiff against the analytic scores of the crate's targets. Deterministic:
//! dual-number derivatives are exact up to rounding, so the tolerance is a few hundred ulps
//! of the score's magnitude (1e-12 relative); a wrong seed, a mis-ordered chunk or a stale
//! derivative slot errs by O(1).
#![cfg(feature = "autodiff")]

use langevin::autodiff::{AutoDiff, DualScalar, GenericLogDensity};
use langevin::prelude::*;
use langevin::targets::{Funnel, Gaussian, GaussianMixture, Rosenbrock};

fn close(a: &[f64], b: &[f64], what: &str) {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-12 * y.abs().max(1.0),
            "{what}[{i}]: autodiff {x} vs analytic {y}"
        );
    }
}

/// Compares the three AutoDiff modes (d passes, chunk 3, chunk 16 ≥ d) with an analytic
/// target at several points: score, fused hook and log density (up to a constant `c`).
fn compare<F, P>(f: F, p: &P, points: &[Vec<f64>])
where
    F: GenericLogDensity + Clone,
    P: LogDensity<Scalar = f64> + Score,
{
    let d = p.dim();
    let a1 = AutoDiff::new(d, f.clone()).unwrap();
    let a3 = AutoDiff::chunked::<3>(d, f.clone()).unwrap();
    let a16 = AutoDiff::chunked::<16>(d, f).unwrap();
    let c = a1.log_density(&points[0]) - p.log_density(&points[0]);
    for x in points {
        let want = p.score(x);
        close(&a1.score(x), &want, "d passes");
        close(&a3.score(x), &want, "chunk 3");
        close(&a16.score(x), &want, "chunk 16");
        let mut g = vec![0.0; d];
        let lp = log_density_and_score(&a3, x, &mut g);
        close(&g, &want, "fused");
        let lp_ref = p.log_density(x) + c;
        assert!(
            (lp - lp_ref).abs() <= 1e-12 * lp_ref.abs().max(1.0),
            "{lp} vs {lp_ref}"
        );
    }
}

#[derive(Clone)]
struct GaussianFull {
    mean: Vec<f64>,
    precision: Vec<f64>,
}
impl GenericLogDensity for GaussianFull {
    fn eval<D: DualScalar>(&self, x: &[D]) -> D {
        let d = self.mean.len();
        let y: Vec<D> = x.iter().zip(&self.mean).map(|(&a, &m)| a - m).collect();
        let mut q = D::from(0.0);
        for i in 0..d {
            for j in 0..d {
                q += y[i] * y[j] * self.precision[i * d + j];
            }
        }
        q * -0.5
    }
}

/// Catches: chunk seeding/reset errors in a model where every coordinate couples to every
/// other (full precision), for d = 7 (not a multiple of the chunk 3).
#[test]
fn gaussian_full_covariance() {
    let d = 7;
    let mean: Vec<f64> = (0..d).map(|i| i as f64 * 0.3 - 1.0).collect();
    // Σ = I + 0.5 · 1 1ᵀ / d + small diagonal ramp (SPD).
    let mut cov = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            cov[i * d + j] = 0.5 / d as f64 + if i == j { 1.0 + 0.1 * i as f64 } else { 0.0 };
        }
    }
    let g = Gaussian::<f64>::full(mean.clone(), &cov).unwrap();
    let f = GaussianFull {
        mean,
        precision: g.precision(),
    };
    let pts = vec![
        vec![0.0; d],
        (0..d).map(|i| (i as f64).sin() * 2.0).collect(),
    ];
    compare(f, &g, &pts);
}

#[derive(Clone)]
struct Banana {
    a: f64,
    b: f64,
}
impl GenericLogDensity for Banana {
    fn eval<D: DualScalar>(&self, x: &[D]) -> D {
        -((x[0] - self.a).powi(2) + (x[1] - x[0] * x[0]).powi(2) * self.b)
    }
}

/// Catches: wrong products/powers in the dual arithmetic path (polynomial coupling).
#[test]
fn rosenbrock() {
    let p = Rosenbrock::<f64>::new(1.0, 10.0).unwrap();
    compare(
        Banana { a: 1.0, b: 10.0 },
        &p,
        &[vec![0.3, -0.2], vec![-1.5, 2.0], vec![2.0, 4.1]],
    );
}

#[derive(Clone)]
struct NealFunnel {
    s: f64,
}
impl GenericLogDensity for NealFunnel {
    fn eval<D: DualScalar>(&self, x: &[D]) -> D {
        let v = x[0];
        let n = (x.len() - 1) as f64;
        let ss: D = x[1..].iter().map(|&xi| xi * xi).sum();
        -(v * v) / (2.0 * self.s * self.s) - v * (n / 2.0) - (-v).exp() * ss * 0.5
    }
}

/// Catches: exp/chain-rule errors and the d-th coordinate being missed when d is not a
/// multiple of the chunk width (d = 10, chunk 3).
#[test]
fn funnel() {
    let p = Funnel::<f64>::new(10, 3.0).unwrap();
    let pts = vec![
        (0..10).map(|i| 0.1 * i as f64 - 0.3).collect(),
        (0..10)
            .map(|i| if i == 0 { -2.0 } else { 0.05 * i as f64 })
            .collect(),
    ];
    compare(NealFunnel { s: 3.0 }, &p, &pts);
}

#[derive(Clone)]
struct Mixture {
    w: Vec<f64>,
    mu: Vec<Vec<f64>>,
    var: Vec<f64>,
}
impl GenericLogDensity for Mixture {
    fn eval<D: DualScalar>(&self, x: &[D]) -> D {
        // log Σ_k w_k N(x; μ_k, v_k I), via log-sum-exp on the real parts' maximum.
        let d = x.len() as f64;
        let terms: Vec<D> = (0..self.w.len())
            .map(|k| {
                let q: D = x
                    .iter()
                    .zip(&self.mu[k])
                    .map(|(&a, &m)| (a - m) * (a - m))
                    .sum();
                q * (-0.5 / self.var[k])
                    + (self.w[k].ln() - 0.5 * d * (2.0 * std::f64::consts::PI * self.var[k]).ln())
            })
            .collect();
        let m = terms
            .iter()
            .map(|t| t.re())
            .fold(f64::NEG_INFINITY, f64::max);
        let s: D = terms.iter().map(|&t| (t - m).exp()).sum();
        s.ln() + m
    }
}

/// Catches: log-sum-exp through duals (responsibility weighting of component scores).
#[test]
fn gaussian_mixture() {
    let w = vec![0.2, 0.5, 0.3];
    let mu = vec![
        vec![-2.0, 0.0, 1.0],
        vec![1.0, 1.0, -1.0],
        vec![0.0, -3.0, 0.5],
    ];
    let var = vec![0.5, 1.0, 2.0];
    let p = GaussianMixture::<f64>::new(w.clone(), mu.clone(), var.clone()).unwrap();
    compare(
        Mixture { w, mu, var },
        &p,
        &[
            vec![0.0, 0.0, 0.0],
            vec![-1.0, 0.5, 2.0],
            vec![3.0, -2.0, -1.0],
        ],
    );
}

/// Catches: accepting a zero-dimensional target or a zero-width dual.
#[test]
fn constructor_validation() {
    assert!(AutoDiff::new(0, Banana { a: 1.0, b: 1.0 }).is_err());
    assert!(AutoDiff::chunked::<0>(2, Banana { a: 1.0, b: 1.0 }).is_err());
}
