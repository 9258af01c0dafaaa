//! T14 — temperature and gradient noise as temperature; SGLD against an exact conjugate
//! posterior (TESTING.md §2.1–2.2).
//!
//! All designs are IID across chains started from the exact law (or a fixed point with an
//! exact recursion), so the z-tests are exact up to the CLT. Per-test α ≤ 2e-6.

use langevin::mcmc::{Constant, ExactScore, GradientNoise, PolynomialDecay, Sgld, StochasticScore};
use langevin::prelude::*;
use langevin::rng::stream;
use langevin::run::NoAdaptation;
use langevin::sde::Solver;
use langevin::targets::Gaussian;

fn mean_var_m4(xs: &[f64]) -> (f64, f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    let m4 = xs.iter().map(|x| (x - m).powi(4)).sum::<f64>() / n;
    (m, v, m4)
}

/// z of a sample variance against `v` for Gaussian data: SE = v sqrt(2/(n−1)).
fn z_var_gauss(xs: &[f64], v: f64) -> f64 {
    let (_, s2, _) = mean_var_m4(xs);
    (s2 - v) / (v * (2.0 / (xs.len() as f64 - 1.0)).sqrt())
}

/// Runs `c` IID chains of `kernel` for `steps` steps from `init` and returns coordinate 0 of
/// the last draw of each chain (through the multi-chain driver).
fn last_draws<K: Kernel<Scalar = f64>>(
    kernel: &K,
    c: usize,
    steps: usize,
    seed: u64,
    sd0: f64,
) -> Vec<f64> {
    let trace = Sampler::new(1)
        .chains(c)
        .warmup(steps - 1)
        .seed(seed)
        .run_from(
            kernel,
            |_, rng| vec![sd0 * f64::standard_normal(rng)],
            &NoAdaptation,
            &(),
        )
        .unwrap();
    trace.last_draws().iter().map(|x| x[0]).collect()
}

/// T14a: tempered ULA on N(0, 1) with h = 1, T = 2 has stationary variance T·v_h =
/// 2 · 1/(1 − ½) = 4.0 (TESTING.md §2.1). Chains start from N(0, 4), so every step is
/// stationary; 100 000 IID chains, SE = 4·sqrt(2/C) ≈ 0.018.
/// Bug caught: 1/T applied to the drift instead of T to the noise gives 2.667 (z ≈ 75);
/// √T missing gives 2.0.
/// Two statistics (the kernel and EM on the tempered Langevin SDE via the solver), each
/// at α = 1e-6 (z = 4.892).
#[test]
fn t14_tempered_langevin_variance_is_t_times_vh() {
    let target = Gaussian::<f64>::standard(1).unwrap();
    let ula = Ula::with_temperature(target.clone(), 1.0, 2.0).unwrap();
    let xs = last_draws(&ula, 100_000, 3, 14, 2.0);
    let z = z_var_gauss(&xs, 4.0);
    eprintln!("tempered ULA variance z = {z:.2}");
    assert!(z.abs() < 4.892);

    let sde = LangevinSde::with_temperature(target, 2.0).unwrap();
    let sol = Solver::new(0.0, 3.0, 1.0)
        .paths(100_000)
        .seed(15)
        .solve_from(&sde, &EulerMaruyama, |_, rng| {
            vec![2.0 * f64::standard_normal(rng)]
        })
        .unwrap();
    let xs: Vec<f64> = (0..100_000).map(|p| sol.state(p, 0).unwrap()[0]).collect();
    let z = z_var_gauss(&xs, 4.0);
    eprintln!("tempered Langevin SDE (EM) variance z = {z:.2}");
    assert!(z.abs() < 4.892);
}

/// T14b: gradient descent θ' = θ − η(kθ + σξ) on L = ½kθ² has stationary variance
/// (ησ²/(2k))/(1 − ηk/2) (TESTING.md §2.2): the Gibbs law exp(−L/T) at T = ησ²/2 with ULA's
/// inflation. k = 2, η = 0.25, σ = 2 ⇒ 1/3. Three implementations, IID from N(0, 1/3),
/// 100 000 chains each: (a) a hand-written loop (the oracle's own check), (b) `Sgld` at
/// T = 0 with the noisy gradient `GradientNoise`, (c) `Sgld::from_noisy_sgd` with the exact gradient.
/// Three statistics at α = 6.7e-7 each (z = 4.97).
/// Bug caught: temperature ησ² (missing ½: variance 2/3), T = σ²/2 without η (4/3),
/// `from_noisy_sgd` injecting noise sqrt(2hT) with T applied twice.
#[test]
fn t14_sgd_with_gradient_noise_is_gibbs_at_eta_sigma2_over_2() {
    let (k, eta, sigma) = (2.0, 0.25, 2.0);
    let exact = (eta * sigma * sigma / (2.0 * k)) / (1.0 - eta * k / 2.0);
    assert!((exact - 1.0 / 3.0).abs() < 1e-15);
    let c = 100_000;
    let sd0 = exact.sqrt();
    // (a) hand-written SGD with gradient noise.
    let xs: Vec<f64> = (0..c)
        .map(|i| {
            let mut rng = stream(31, i as u64);
            let mut th = sd0 * f64::standard_normal(&mut rng);
            for _ in 0..5 {
                th -= eta * (k * th + sigma * f64::standard_normal(&mut rng));
            }
            th
        })
        .collect();
    let za = z_var_gauss(&xs, exact);
    // (b) SGLD at T = 0 with the noisy gradient: plain noisy SGD.
    let quad = Gaussian::isotropic(vec![0.0], 1.0 / k).unwrap();
    let noisy = Sgld::with_temperature(
        GradientNoise::new(quad, sigma).unwrap(),
        Constant::new(eta).unwrap(),
        0.0,
    )
    .unwrap();
    let zb = z_var_gauss(&last_draws(&noisy, c, 5, 32, sd0), exact);
    // (c) the equivalent tempered Langevin: h = η, T = ησ²/2, exact gradient.
    let target = Gaussian::isotropic(vec![0.0], 1.0 / k).unwrap();
    let tempered = Sgld::from_noisy_sgd(ExactScore(target), eta, sigma).unwrap();
    assert!((tempered.temperature() - 0.5).abs() < 1e-15);
    let zc = z_var_gauss(&last_draws(&tempered, c, 5, 33, sd0), exact);
    eprintln!("SGD-noise variance z: hand {za:.2}, SGLD(T=0) {zb:.2}, from_noisy_sgd {zc:.2}");
    for z in [za, zb, zc] {
        assert!(z.abs() < 4.97);
    }
}

/// Conjugate Gaussian model: θ ~ N(0, s₀²), y_i | θ ~ N(θ, s²), i = 1…N.
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
    /// ∇log prior + (N/n) Σ_{batch, with replacement} ∇log lik.
    fn estimate_into<R: Rng + ?Sized>(&self, x: &[f64], rng: &mut R, out: &mut [f64]) {
        let n = self.y.len();
        let mut s = 0.0;
        for _ in 0..self.batch {
            s += self.y[rng.random_range(0..n)] - x[0];
        }
        out[0] = -x[0] / self.s0sq + (n as f64 / self.batch as f64) * s / self.ssq;
    }
}

/// SGLD on the conjugate model (N = 100, s² = 1, s₀² = 10, minibatch n = 10 with
/// replacement) with decaying steps h_k = a/(10 + k), a·P = 5 (so h₀P = 0.5,
/// h_KP ≈ 0.0098 at K = 500), 20 000 IID chains from θ₀ = 0.
///
/// The minibatch gradient is ĝ(θ) = −P(θ − m_N) + ε_k with ε_k independent of θ, mean 0,
/// variance σ_g² = (N²/n)·Var_pop(y)/s⁴. The chain is therefore a linear recursion with
/// exact moments:
/// ```text
/// m_{k+1} − m_N = (1 − h_k P)(m_k − m_N),   v_{k+1} = (1 − h_k P)² v_k + 2h_k + h_k² σ_g²
/// ```
/// (1) The Monte Carlo mean and variance after K steps match (m_K, v_K) (z-tests, the
/// variance SE from the sample fourth moment; α = 1e-6 each).
/// (2) Bias budget, deterministic: at a frozen step h the stationary variance is
/// (1/P)(1 + hσ_g²/2)/(1 − hP/2), a relative bias ≈ hP/2 (discretisation, 0.5 % at
/// h_K P ≈ 0.0098) + hσ_g²/2 (minibatch noise = hP·(N/n)·Var_pop(y)/(2s²) ≈ 6 % for these data). With
/// decaying steps the variance relaxes at rate 2h_kP = 10/(10 + k) while its frozen-step
/// target moves at rate 1/(10 + k), so it lags by a factor ≈ 1/(1 − 1/10) ≈ 1.11; the budget
/// is 1.5 × the frozen-step bias at h_K (≈ 9.7 %; the recursion gives 7.2 %). The mean's
/// initial error decays as Π(1 − h_k P) ≈ (10/510)^5 ≈ 3e-9: budget 1e-3 posterior sd.
/// Smaller final steps (longer runs) shrink both: SGLD trades bias for mixing.
/// Bugs caught: missing N/n rescaling (mean pulled to the prior, z ≫ 5), noise sqrt(h)
/// instead of sqrt(2h) (variance halved), schedule index not advancing (constant h₀:
/// v ≈ 1.3 v_N), the schedule applied to the noise but not the drift.
#[test]
fn sgld_conjugate_gaussian_matches_exact_recursion_and_posterior() {
    let (n_data, s0sq, ssq, batch) = (100usize, 10.0, 1.0, 10usize);
    let mut rng = stream(1234, 0);
    let y: Vec<f64> = (0..n_data)
        .map(|_| 1.5 + f64::standard_normal(&mut rng))
        .collect();
    let prec = 1.0 / s0sq + n_data as f64 / ssq;
    let m_post = (y.iter().sum::<f64>() / ssq) / prec;
    let v_post = 1.0 / prec;
    let ybar = y.iter().sum::<f64>() / n_data as f64;
    let var_pop = y.iter().map(|v| (v - ybar).powi(2)).sum::<f64>() / n_data as f64;
    let sg2 = (n_data * n_data) as f64 / batch as f64 * var_pop / (ssq * ssq);
    let (b, k_steps) = (10.0, 500usize);
    let a = 0.5 * b / prec;
    let schedule = PolynomialDecay::new(a, b, 1.0).unwrap();
    let model = Conjugate {
        y,
        s0sq,
        ssq,
        batch,
    };
    let sgld = Sgld::new(model, schedule).unwrap();
    // Exact recursion.
    let (mut m, mut v) = (0.0, 0.0);
    for k in 0..k_steps {
        let h = a / (b + k as f64);
        let r = 1.0 - h * prec;
        m = m_post + r * (m - m_post);
        v = r * r * v + 2.0 * h + h * h * sg2;
    }
    let c = 20_000;
    let trace = Sampler::new(1)
        .chains(c)
        .warmup(k_steps - 1)
        .seed(2011)
        .run_from(&sgld, |_, _| vec![0.0], &NoAdaptation, &())
        .unwrap();
    let xs: Vec<f64> = trace.last_draws().iter().map(|x| x[0]).collect();
    let (sm, sv, m4) = mean_var_m4(&xs);
    let zm = (sm - m) / (v / c as f64).sqrt();
    let zv = (sv - v) / ((m4 - sv * sv) / c as f64).sqrt();
    eprintln!(
        "SGLD: mean {sm:.5} vs recursion {m:.5} (z {zm:.2}); var {sv:.6} vs recursion {v:.6} (z {zv:.2}); posterior N({m_post:.5}, {v_post:.6})"
    );
    assert!(zm.abs() < 4.892 && zv.abs() < 4.892);
    let h_k = a / (b + k_steps as f64);
    let budget = 1.5 * (h_k * prec / 2.0 + h_k * sg2 / 2.0);
    eprintln!(
        "recursion vs posterior: var rel. bias {:.4} (budget {budget:.4})",
        v / v_post - 1.0
    );
    assert!((v / v_post - 1.0).abs() < budget);
    assert!((m - m_post).abs() < 1e-3 * v_post.sqrt());
}

/// Bad SGLD parameters are typed errors, never panics or silent NaN: a negative or NaN
/// gradient-noise σ (both constructors share one check), a negative temperature, a bad η.
/// Bug caught: a check dropped from one of the two σ entry points.
#[test]
fn sgld_constructors_validate() {
    let g = || Gaussian::<f64>::standard(1).unwrap();
    assert!(matches!(
        GradientNoise::new(g(), -1.0),
        Err(Error::InvalidParameter { name: "sigma", .. })
    ));
    assert!(GradientNoise::new(g(), 0.0).is_ok());
    assert!(matches!(
        Sgld::from_noisy_sgd(ExactScore(g()), 0.1, f64::NAN),
        Err(Error::InvalidParameter { name: "sigma", .. })
    ));
    assert!(matches!(
        Sgld::from_noisy_sgd(ExactScore(g()), 0.0, 1.0),
        Err(Error::InvalidStepSize { .. })
    ));
    assert!(matches!(
        Sgld::with_temperature(ExactScore(g()), Constant::new(0.1).unwrap(), -0.5),
        Err(Error::InvalidParameter {
            name: "temperature",
            ..
        })
    ));
}
