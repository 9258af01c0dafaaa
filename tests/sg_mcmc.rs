//! Preconditioned SGLD (RMSprop) and SGHMC against exact recursions of the discretised
//! processes on the conjugate Gaussian model (the design of `tests/sgld.rs`).
//!
//! All Monte Carlo designs use C IID chains from a fixed start, so the final states are IID
//! and the z-tests are exact up to the CLT. Every statistical test has α ≤ 2e-6, split evenly
//! over its z-statistics (stated per test).

use langevin::mcmc::{Constant, ExactScore, PSgld, PolynomialDecay, Sghmc, StochasticScore};
use langevin::prelude::*;
use langevin::rng::stream;
use langevin::run::NoAdaptation;
use langevin::targets::Gaussian;
use rand::{Rng, RngExt};

/// Conjugate Gaussian model: θ ~ N(0, s₀²), y_i | θ ~ N(θ, s²), i = 1…N; minibatch of n with
/// replacement. The estimate is ĝ(θ) = −P(θ − m_N) + ε with ε independent of θ, mean 0,
/// variance σ_g² = (N²/n) Var_pop(y)/s⁴.
struct Conjugate {
    y: Vec<f64>,
    s0sq: f64,
    ssq: f64,
    batch: usize,
}
impl Target for Conjugate {
    type Scalar = f64;
    fn dim(&self) -> usize {
        1
    }
}
impl StochasticScore for Conjugate {
    fn estimate_into<R: Rng + ?Sized>(&self, x: &[f64], rng: &mut R, out: &mut [f64]) {
        let n = self.y.len();
        let mut s = 0.0;
        for _ in 0..self.batch {
            s += self.y[rng.random_range(0..n)] - x[0];
        }
        out[0] = -x[0] / self.s0sq + (n as f64 / self.batch as f64) * s / self.ssq;
    }
}

/// The model (N = 100, s² = 1, s₀² = 10, n = 10, data y ~ N(1.5, 1) from seed 1234) and its
/// posterior precision P, mean m_N and gradient-noise variance σ_g².
fn model() -> (Conjugate, f64, f64, f64) {
    let (n_data, s0sq, ssq, batch) = (100usize, 10.0, 1.0, 10usize);
    let mut rng = stream(1234, 0);
    let y: Vec<f64> = (0..n_data)
        .map(|_| 1.5 + f64::standard_normal(&mut rng))
        .collect();
    let prec = 1.0 / s0sq + n_data as f64 / ssq;
    let m_post = (y.iter().sum::<f64>() / ssq) / prec;
    let ybar = y.iter().sum::<f64>() / n_data as f64;
    let var_pop = y.iter().map(|v| (v - ybar).powi(2)).sum::<f64>() / n_data as f64;
    let sg2 = (n_data * n_data) as f64 / batch as f64 * var_pop / (ssq * ssq);
    (
        Conjugate {
            y,
            s0sq,
            ssq,
            batch,
        },
        prec,
        m_post,
        sg2,
    )
}

fn mean_var_m4(xs: &[f64]) -> (f64, f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    let m4 = xs.iter().map(|x| (x - m).powi(4)).sum::<f64>() / n;
    (m, v, m4)
}

/// C chains of `kernel` for `steps` transitions from x₀ = 0: the final x of each.
fn finals<K: Kernel<Scalar = f64>>(kernel: &K, c: usize, steps: usize, seed: u64) -> Vec<f64> {
    let trace = Sampler::new(1)
        .chains(c)
        .warmup(steps - 1)
        .seed(seed)
        .run_from(kernel, |_, _| vec![0.0], &NoAdaptation, &())
        .unwrap();
    trace.last_draws().iter().map(|x| x[0]).collect()
}

/// z of the sample mean and variance against (m, v), the variance SE from the fourth moment.
fn z_mean_var(xs: &[f64], m: f64, v: f64) -> (f64, f64) {
    let c = xs.len() as f64;
    let (sm, sv, m4) = mean_var_m4(xs);
    (
        (sm - m) / (v / c).sqrt(),
        (sv - v) / ((m4 - sv * sv) / c).sqrt(),
    )
}

/// pSGLD with α = 1 keeps V = 0, so G = 1/λ is constant and the chain is SGLD with step
/// h_k/λ in the drift and noise variance 2h_k/λ:
/// ```text
/// m_{k+1} − m_N = (1 − h_k G P)(m_k − m_N),   v_{k+1} = (1 − h_k G P)² v_k + 2h_k G + h_k² G² σ_g²
/// ```
/// λ = 2 (G = ½), h_k = a/(10 + k) with a G P = 5, K = 500 steps, 20 000 chains from 0.
/// Two z-tests at α = 1e-6 each (z = 4.89). Bias budget (deterministic): at the final frozen
/// step the relative variance bias is h G P/2 + h G σ_g²/2 (discretisation + minibatch
/// noise); as in `tests/sgld.rs` the decaying step lags by ≈ 1/(1 − 1/10), budget 1.5× that.
/// Bugs caught: G applied to the drift but not the noise (noise 2h instead of 2hG: variance
/// ≈ ×2, z ≈ 70 at SE ≈ 1 %), λ instead of 1/λ (G = 2: the minibatch bias h G σ_g²/2 four
/// times larger, and the early steps unstable), the ordering of the V update (see the
/// deterministic test below).
#[test]
fn psgld_frozen_preconditioner_matches_exact_recursion() {
    let (model, prec, m_post, sg2) = model();
    let (lambda, b, k_steps) = (2.0, 10.0, 500usize);
    let g = 1.0 / lambda;
    let a = 5.0 / (g * prec);
    let psgld = PSgld::new(model, PolynomialDecay::new(a, b, 1.0).unwrap(), 1.0, lambda).unwrap();
    let (mut m, mut v) = (0.0, 0.0);
    for k in 0..k_steps {
        let h = a / (b + k as f64);
        let r = 1.0 - h * g * prec;
        m = m_post + r * (m - m_post);
        v = r * r * v + 2.0 * h * g + h * h * g * g * sg2;
    }
    let xs = finals(&psgld, 20_000, k_steps, 2016);
    let (zm, zv) = z_mean_var(&xs, m, v);
    eprintln!("pSGLD (α = 1): recursion N({m:.5}, {v:.6}); z_mean {zm:.2}, z_var {zv:.2}");
    assert!(zm.abs() < 4.892 && zv.abs() < 4.892);
    let h_k = a / (b + k_steps as f64);
    let budget = 1.5 * (h_k * g * prec / 2.0 + h_k * g * sg2 / 2.0);
    let bias = v * prec - 1.0;
    eprintln!("pSGLD (α = 1): variance rel. bias {bias:.4}, budget {budget:.4}");
    assert!(bias.abs() < budget);
}

/// The RMSprop recursion, transcribed: pSGLD with α = 0.9, λ = 1e-3, T = 1, constant h = 0.01
/// on a badly scaled 2-D Gaussian (sd 10 and 0.1) with exact gradients, 200 steps, against a
/// hand-written loop drawing the same normals from the same stream (agreement 1e-12).
/// Bugs caught: V updated with the previous instead of the current gradient, √V vs V in G,
/// G missing under the square root of the noise, the (1 − α) weight on the wrong term.
#[test]
fn psgld_rmsprop_recursion_transcribed() {
    let target = Gaussian::<f64>::diagonal(vec![1.0, -1.0], vec![100.0, 0.01]).unwrap();
    let (alpha, lambda, h) = (0.9, 1e-3, 0.01);
    let psgld = PSgld::new(
        ExactScore(target.clone()),
        Constant::new(h).unwrap(),
        alpha,
        lambda,
    )
    .unwrap();
    let x0 = [5.0, 0.5];
    let mut s = psgld.init(&x0, 0).unwrap();
    let mut rng = stream(77, 0);
    let mut rng_ref = stream(77, 0);
    let (mut x, mut vv) = (x0.to_vec(), vec![0.0; 2]);
    for _ in 0..200 {
        psgld.step(&mut s, &mut rng).unwrap();
        let g = target.score(&x);
        for i in 0..2 {
            vv[i] = alpha * vv[i] + (1.0 - alpha) * g[i] * g[i];
            let pre = 1.0 / (lambda + vv[i].sqrt());
            x[i] += h * pre * g[i] + (2.0 * h * pre).sqrt() * f64::standard_normal(&mut rng_ref);
        }
    }
    for i in 0..2 {
        assert!(
            (s.position()[i] - x[i]).abs() < 1e-12 * (1.0 + x[i].abs()),
            "{:?} vs {x:?}",
            s.position()
        );
        assert!((s.second_moment()[i] - vv[i]).abs() < 1e-12 * (1.0 + vv[i]));
    }
}

/// The exact first two moments of SGHMC on the conjugate model after K steps from
/// (x, v) = (0, 0), constant η: with y = x − m_N, a = ηP, c = 1 − α,
/// ```text
/// y' = y + v,   v' = −a y + (c − a) v + w,   Var w = q = η²σ_g² + 2(α − β̂)η
/// ```
/// (the gradient is taken at the *new* x). Returns (E x_K, Var x_K).
fn sghmc_recursion(
    eta: f64,
    alpha: f64,
    beta: f64,
    prec: f64,
    m_post: f64,
    sg2: f64,
    k: usize,
) -> (f64, f64) {
    let (a, c) = (eta * prec, 1.0 - alpha);
    let q = eta * eta * sg2 + 2.0 * (alpha - beta) * eta;
    let (mut my, mut mv) = (-m_post, 0.0);
    let (mut syy, mut syv, mut svv) = (0.0, 0.0, 0.0);
    for _ in 0..k {
        // z' = A z + (0, w), A = [[1, 1], [−a, c − a]].
        let (a11, a12, a21, a22) = (1.0, 1.0, -a, c - a);
        let (ny, nv) = (a11 * my + a12 * mv, a21 * my + a22 * mv);
        let nyy = a11 * a11 * syy + 2.0 * a11 * a12 * syv + a12 * a12 * svv;
        let nyv = a11 * a21 * syy + (a11 * a22 + a12 * a21) * syv + a12 * a22 * svv;
        let nvv = a21 * a21 * syy + 2.0 * a21 * a22 * syv + a22 * a22 * svv + q;
        (my, mv, syy, syv, svv) = (ny, nv, nyy, nyv, nvv);
    }
    (my + m_post, syy)
}

/// The stationary variance of x derived in `Sghmc`'s docs.
fn sghmc_stationary_var(eta: f64, alpha: f64, beta: f64, prec: f64, sg2: f64) -> f64 {
    let (a, c) = (eta * prec, 1.0 - alpha);
    let q = eta * eta * sg2 + 2.0 * (alpha - beta) * eta;
    (1.0 + c) * q / (2.0 * a * (1.0 - c) * (1.0 + c - a / 2.0))
}

/// SGHMC on the conjugate model, η = 0.001 (ηP = 0.10), α = 0.9, K = 400 steps, 20 000 chains
/// from (0, 0), once with β̂ = 0 and once with the noise-cancelling β̂ = ησ_g²/2 (= 0.61 < α;
/// the minibatch noise σ_g² ≈ 1.2e3 is large, so η must be small for β̂ < α).
/// (1) Deterministic: the closed-form stationary variance equals the recursion iterated to
///     convergence (1e-9), and with β̂ = ησ_g²/2 it equals (1/P)/(1 − ηP/(2(2 − α))).
/// (2) Monte Carlo mean and variance after K steps match the recursion: 4 z-tests at α = 5e-7
///     each (z = 5.03).
/// (3) Bias budget (deterministic): the stationary variance relative to the posterior's is
///     ηP/(2(2 − α)) (discretisation) plus ησ_g²/(2α) (gradient noise, β̂ = 0);
///     asserted to within 1e-9 of the formula, and the β̂ correction removes the second term.
/// Bugs caught (computed from the recursion, in SEs of the variance, Gaussian SE sqrt(2/C)):
/// gradient taken at the old x: stationary variance +12.1 SE (both β̂); noise without the
/// factor 2: −29.8 SE (β̂ = 0) and −16.1 SE (β̂ cancelling); β̂ added instead of subtracted
/// would exceed α here and is rejected by the constructor.
#[test]
fn sghmc_conjugate_gaussian_matches_exact_recursion() {
    let (_, prec, m_post, sg2) = model();
    let (eta, alpha, k) = (0.001, 0.9, 400usize);
    for (i, beta) in [0.0, eta * sg2 / 2.0].into_iter().enumerate() {
        assert!(beta < alpha, "β̂ = {beta} must stay below α");
        let stat = sghmc_stationary_var(eta, alpha, beta, prec, sg2);
        let (_, long) = sghmc_recursion(eta, alpha, beta, prec, m_post, sg2, 20_000);
        assert!(
            (stat / long - 1.0).abs() < 1e-9,
            "closed form {stat} vs recursion {long}"
        );
        let disc = eta * prec / (2.0 * (2.0 - alpha));
        let noise = if i == 0 {
            eta * sg2 / (2.0 * alpha)
        } else {
            0.0
        };
        let want = (1.0 + noise) / (1.0 - disc);
        eprintln!(
            "SGHMC β̂ = {beta:.4}: stationary Var·P = {:.5} (discretisation {disc:.4}, noise {noise:.4})",
            stat * prec
        );
        assert!((stat * prec / want - 1.0).abs() < 1e-9);

        let (model, ..) = model();
        let sghmc = Sghmc::new(model, Constant::new(eta).unwrap(), alpha, beta).unwrap();
        let (m, v) = sghmc_recursion(eta, alpha, beta, prec, m_post, sg2, k);
        let xs = finals(&sghmc, 20_000, k, 2014 + i as u64);
        let (zm, zv) = z_mean_var(&xs, m, v);
        eprintln!(
            "SGHMC β̂ = {beta:.4}: recursion N({m:.5}, {v:.6}); z_mean {zm:.2}, z_var {zv:.2}"
        );
        assert!(zm.abs() < 5.03 && zv.abs() < 5.03);
    }
}

/// Bad parameters are typed errors: α outside [0, 1] or λ ≤ 0 for pSGLD; α ∉ (0, 1], β̂ ∉ [0, α)
/// or a negative temperature for SGHMC. Bug caught: a dropped check.
#[test]
fn sg_family_constructors_validate() {
    let g = || ExactScore(Gaussian::<f64>::standard(1).unwrap());
    let c = || Constant::new(0.1).unwrap();
    assert!(PSgld::new(g(), c(), 1.5, 1e-5).is_err());
    assert!(PSgld::new(g(), c(), 0.9, 0.0).is_err());
    assert!(PSgld::new(g(), c(), f64::NAN, 1e-5).is_err());
    assert!(
        PSgld::new(g(), c(), 0.9, 1e-5)
            .unwrap()
            .with_temperature(-1.0)
            .is_err()
    );
    assert!(Sghmc::new(g(), c(), 0.0, 0.0).is_err());
    assert!(Sghmc::new(g(), c(), 0.1, 0.1).is_err());
    assert!(Sghmc::new(g(), c(), 0.1, -0.01).is_err());
    assert!(
        Sghmc::new(g(), c(), 0.1, 0.0)
            .unwrap()
            .with_temperature(f64::NAN)
            .is_err()
    );
}
