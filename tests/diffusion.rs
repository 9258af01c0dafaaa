//! Score-based diffusion: exact recursions of the reverse-time samplers (TESTING.md T11),
//! score oracles (T12), the forward SDE coefficients and denoising score matching.
//!
//! Every statistical test has a fixed seed and a false-failure rate α ≤ 2e-6, split over its
//! sub-statistics (Bonferroni), and names the bug it catches.

use langevin::annealed::{
    BetaSchedule, Ddim, EmpiricalScore, ForwardSde, Marginal, NoiseScoreBatch, ParticleRun,
    Particles, Predictor, ProbabilityFlow, ReverseSampler, ReverseSde, SmoothedGaussian,
    SmoothedLaw, SubVp, TimeConditionalScore, Ve, Vp, dsm_loss,
};
use langevin::prelude::*;
use langevin::rng::ChainRng;
use langevin::targets::{Gaussian, GaussianMixture};
use statrs::distribution::{ContinuousCDF, Normal};

fn z_crit(alpha: f64, k: usize) -> f64 {
    Normal::standard().inverse_cdf(1.0 - alpha / (2.0 * k as f64))
}

fn z_mean_var(xs: &[f64], m: f64, v: f64) -> (f64, f64) {
    let c = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / c;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (c - 1.0);
    (
        (mean - m) / (v / c).sqrt(),
        (var - v) / (v * (2.0 / c).sqrt()),
    )
}

const MU: f64 = 2.0;
const S0: f64 = 0.25;
const EPS: f64 = 1e-3;

fn grid(n: usize) -> Vec<f64> {
    let mut t: Vec<f64> = (0..=n)
        .map(|k| 1.0 - k as f64 * (1.0 - EPS) / n as f64)
        .collect();
    t[n] = EPS;
    t
}

/// Variance of the exact marginal p_t of data N(MU, S0): α_t² S0 + σ_t².
fn vt<S: ForwardSde>(sde: &S, t: f64) -> f64 {
    sde.mean_coef(t).powi(2) * S0 + sde.marginal_std(t).powi(2)
}

/// Iterates an affine-Gaussian step x ← A x + B + sqrt(Q) z from the exact p_1.
fn iterate<S: ForwardSde>(
    sde: &S,
    n: usize,
    step: impl Fn(f64, f64) -> (f64, f64, f64),
) -> (f64, f64) {
    let (mut m, mut v) = (sde.mean_coef(1.0) * MU, vt(sde, 1.0));
    let t = grid(n);
    for k in 0..n {
        let (a, b, q) = step(t[k], t[k + 1]);
        m = a * m + b;
        v = a * a * v + q;
    }
    (m, v)
}

/// Euler–Maruyama on the reverse SDE with the exact score s = −(x − α_t μ)/v_t, at t_k.
fn em_recursion<S: ForwardSde>(sde: &S, n: usize) -> (f64, f64) {
    iterate(sde, n, |t, tn| {
        let dt = t - tn;
        let (a, g) = (sde.drift_coef(t), sde.diffusion_coef(t));
        let v = vt(sde, t);
        let g2 = g * g * dt;
        (1.0 - a * dt - g2 / v, g2 * sde.mean_coef(t) * MU / v, g2)
    })
}

/// Ancestral step x ← (x + b² s)/a + b̃ z with b̃² = b² σ_{t'}²/σ_t².
fn ancestral_recursion<S: ForwardSde>(sde: &S, n: usize) -> (f64, f64) {
    iterate(sde, n, |t, tn| {
        let a = sde.mean_coef(t) / sde.mean_coef(tn);
        let b2 = sde.marginal_std(t).powi(2) - a * a * sde.marginal_std(tn).powi(2);
        let v = vt(sde, t);
        let post = b2 * sde.marginal_std(tn).powi(2) / sde.marginal_std(t).powi(2);
        (
            1.0 / a - b2 / (a * v),
            b2 * sde.mean_coef(t) * MU / (a * v),
            post,
        )
    })
}

/// Heun on the probability-flow ODE dx/dt = F = c(t) x + e(t), c = a + g²/(2v), e = −g² α μ/(2v):
/// x' = x − Δ/2 (F(x, t) + F(x − Δ F(x, t), t')) = A x + B with
/// A = 1 − Δ/2 (c₁ + c₂ (1 − Δ c₁)),  B = −Δ/2 (e₁ + e₂ − Δ c₂ e₁).
fn heun_recursion<S: ForwardSde>(sde: &S, n: usize) -> (f64, f64) {
    let ce = |t: f64| {
        let (a, g) = (sde.drift_coef(t), sde.diffusion_coef(t));
        let v = vt(sde, t);
        (
            a + g * g / (2.0 * v),
            -g * g * sde.mean_coef(t) * MU / (2.0 * v),
        )
    };
    iterate(sde, n, |t, tn| {
        let dt = t - tn;
        let ((c1, e1), (c2, e2)) = (ce(t), ce(tn));
        (
            1.0 - 0.5 * dt * (c1 + c2 * (1.0 - dt * c1)),
            -0.5 * dt * (e1 + e2 - dt * c2 * e1),
            0.0,
        )
    })
}

/// Euler on the probability-flow ODE (to reproduce TESTING.md's PF-ODE oracle).
fn pf_euler_recursion<S: ForwardSde>(sde: &S, n: usize) -> (f64, f64) {
    iterate(sde, n, |t, tn| {
        let dt = t - tn;
        let (a, g) = (sde.drift_coef(t), sde.diffusion_coef(t));
        let v = vt(sde, t);
        let h = 0.5 * g * g * dt;
        (1.0 - a * dt - h / v, h * sde.mean_coef(t) * MU / v, 0.0)
    })
}

/// DDIM: x ← (α'/α) x + (α' σ²/α − keep σ) s + σ_η z.
fn ddim_recursion<S: ForwardSde>(sde: &S, n: usize, eta: f64) -> (f64, f64) {
    iterate(sde, n, |t, tn| {
        let (al, sd, aln, sdn) = (
            sde.mean_coef(t),
            sde.marginal_std(t),
            sde.mean_coef(tn),
            sde.marginal_std(tn),
        );
        let b2 = sd * sd - (al / aln).powi(2) * sdn * sdn;
        let var_eta = eta * eta * b2 * sdn * sdn / (sd * sd);
        let keep = (sdn * sdn - var_eta).sqrt();
        let cs = aln * sd * sd / al - keep * sd;
        let v = vt(sde, t);
        (aln / al - cs / v, cs * al * MU / v, var_eta)
    })
}

fn data() -> GaussianMixture<f64> {
    GaussianMixture::new(vec![1.0], vec![vec![MU]], vec![S0]).unwrap()
}

fn exact_p1<S: ForwardSde<Scalar = f64> + Sync>(
    sde: &S,
) -> impl Fn(usize, &mut ChainRng, &mut [f64]) + Sync + '_ {
    move |_i, rng, x| {
        x[0] = sde.mean_coef(1.0) * MU + vt(sde, 1.0).sqrt() * f64::standard_normal(rng);
    }
}

/// T11: reverse VP-SDE with Euler–Maruyama, the exact score and the exact start p_1, data
/// N(2, 0.25), ε = 1e-3, N ∈ {20, 100}, C = 2e4: sample mean and variance against the exact
/// recursion (TESTING.md §2.5; N = 100 gives (2.01172, 0.25390), checked here). The same for
/// the VE and sub-VP SDEs. 12 z-statistics share α = 2e-6.
/// Bugs caught: drift −βx (missing ½; ~20 chains), the score evaluated at t_{k+1} (~940
/// chains at N = 20), the score sign (blow-up), a wrong VE g(t) or sub-VP kernel variance.
#[test]
fn t11_reverse_sde_euler_maruyama_exact_recursion() -> Result<()> {
    let vp = Vp::<f64>::linear(1, 0.1, 20.0)?;
    let (m, v) = em_recursion(&vp, 100);
    assert!(
        (m - 2.01172).abs() < 1e-5 && (v - 0.25390).abs() < 1e-5,
        "{m} {v}"
    );
    let zc = z_crit(2e-6, 12);
    let d = data();
    let ve = Ve::<f64>::new(1, 0.01, 10.0)?;
    let svp = SubVp::<f64>::linear(1, 0.1, 20.0)?;
    for n in [20, 100] {
        let s = ReverseSampler::new(vp, Marginal::new(&d, vp)?, n, EPS, Predictor::EulerMaruyama)?;
        let out = s.run(
            &ParticleRun::new(20_000).seed(1100 + n as u64),
            &exact_p1(&vp),
        )?;
        let (m, v) = em_recursion(&vp, n);
        let (zm, zv) = z_mean_var(out.as_slice(), m, v);
        assert!(zm.abs() < zc && zv.abs() < zc, "VP N={n}: {zm} {zv}");

        let s = ReverseSampler::new(ve, Marginal::new(&d, ve)?, n, EPS, Predictor::EulerMaruyama)?;
        let out = s.run(
            &ParticleRun::new(20_000).seed(1200 + n as u64),
            &exact_p1(&ve),
        )?;
        let (m, v) = em_recursion(&ve, n);
        let (zm, zv) = z_mean_var(out.as_slice(), m, v);
        assert!(zm.abs() < zc && zv.abs() < zc, "VE N={n}: {zm} {zv}");

        let s = ReverseSampler::new(
            svp,
            Marginal::new(&d, svp)?,
            n,
            EPS,
            Predictor::EulerMaruyama,
        )?;
        let out = s.run(
            &ParticleRun::new(20_000).seed(1300 + n as u64),
            &exact_p1(&svp),
        )?;
        let (m, v) = em_recursion(&svp, n);
        let (zm, zv) = z_mean_var(out.as_slice(), m, v);
        assert!(zm.abs() < zc && zv.abs() < zc, "sub-VP N={n}: {zm} {zv}");
    }
    Ok(())
}

/// T11, deterministic: the EM error at ε halves as N doubles (weak order 1; TESTING.md: 8.2e-3,
/// 3.8e-3, 1.8e-3, …, 1.1e-4 for N = 50 … 3200), computed from the *library's* reverse SDE:
/// one [`EulerMaruyama`] step of [`ReverseSde`] with zero noise, applied to x = 0 and x = 1,
/// gives the step's affine map (A, B), and its diffusion gives Q = g²Δ. The recursion built
/// from them must agree with the independent one and its variance error must halve.
/// Bugs caught: reverse drift sign or ½ factor, reversed clock off by one step, diffusion
/// evaluated at the wrong time.
#[test]
fn t11_em_error_halves_as_n_doubles() -> Result<()> {
    let vp = Vp::<f64>::linear(1, 0.1, 20.0)?;
    let d = data();
    let rev = ReverseSde::new(vp, Marginal::new(&d, vp)?)?;
    let v_eps = vt(&vp, EPS);
    assert!((v_eps - 0.250082).abs() < 1e-6 && (vp.mean_coef(EPS) * MU - 1.99989).abs() < 1e-5);
    let mut errs = vec![];
    for n in [50, 100, 200, 400, 800, 1600, 3200] {
        let t = grid(n);
        let (mut m, mut v) = (vp.mean_coef(1.0) * MU, vt(&vp, 1.0));
        let mut scratch = vec![0.0; EulerMaruyama.scratch_len(&rev)];
        for k in 0..n {
            let (tau, h) = (1.0 - t[k], t[k] - t[k + 1]);
            let mut x0 = [0.0];
            let mut x1 = [1.0];
            EulerMaruyama.step_with_noise(&rev, tau, h, &mut x0, &[0.0], &mut scratch);
            EulerMaruyama.step_with_noise(&rev, tau, h, &mut x1, &[0.0], &mut scratch);
            let mut g = [0.0];
            rev.diffusion_into(tau, &[0.0], &mut g);
            let (a, b) = (x1[0] - x0[0], x0[0]);
            m = a * m + b;
            v = a * a * v + g[0] * g[0] * h;
        }
        let (mr, vr) = em_recursion(&vp, n);
        assert!(
            (m - mr).abs() < 1e-9 && (v - vr).abs() < 1e-9,
            "N={n}: library {m} {v} vs {mr} {vr}"
        );
        errs.push(v - v_eps);
    }
    assert!(
        (errs[0] - 8.2e-3).abs() < 1e-4 && (errs[6] - 1.1e-4).abs() < 1e-5,
        "{errs:?}"
    );
    for w in errs.windows(2) {
        let r = w[0] / w[1];
        assert!((1.8..2.3).contains(&r), "ratio {r} in {errs:?}");
    }
    Ok(())
}

/// Ancestral (DDPM-type) predictor and DDIM (η = 0 and 1): exact affine-Gaussian recursions,
/// VP data N(2, 0.25), N = 20, C = 2e4 from the exact p_1; plus the PF-ODE with Heun, whose
/// recursion (derived in `heun_recursion`) differs from TESTING.md's Euler PF-ODE oracle
/// (2.00616, 0.24790 at N = 100, reproduced here). Heun is second order: its variance error
/// quarters as N doubles (1.4e-4 at N = 100, against 2.2e-3 for Euler).
/// 8 z-statistics share α = 2e-6. Bugs caught: DDPM mean without 1/a, posterior variance β
/// instead of β̃ (variance shifted by ≫ 8 SE), DDIM ε̂ sign, PF-ODE with weight 1 instead of
/// ½ on g² (V → 0), Heun's corrector evaluated at t instead of t'.
#[test]
fn ancestral_ddim_and_heun_exact_recursions() -> Result<()> {
    let vp = Vp::<f64>::linear(1, 0.1, 20.0)?;
    let d = data();
    let sc = Marginal::new(&d, vp)?;
    let zc = z_crit(2e-6, 8);
    let n = 20;
    let check = |out: &[f64], (m, v): (f64, f64), what: &str| {
        let (zm, zv) = z_mean_var(out, m, v);
        assert!(zm.abs() < zc && zv.abs() < zc, "{what}: {zm} {zv}");
    };
    let s = ReverseSampler::new(vp, &sc, n, EPS, Predictor::Ancestral)?;
    check(
        s.run(&ParticleRun::new(20_000).seed(21), &exact_p1(&vp))?
            .as_slice(),
        ancestral_recursion(&vp, n),
        "ancestral",
    );
    for (eta, seed) in [(0.0, 22), (1.0, 23)] {
        let s = Ddim::new(vp, &sc, n, EPS, eta)?;
        check(
            s.run(&ParticleRun::new(20_000).seed(seed), &exact_p1(&vp))?
                .as_slice(),
            ddim_recursion(&vp, n, eta),
            "ddim",
        );
    }
    let s = ProbabilityFlow::new(vp, &sc, n, EPS)?;
    check(
        s.run(&ParticleRun::new(20_000).seed(24), &exact_p1(&vp))?
            .as_slice(),
        heun_recursion(&vp, n),
        "heun",
    );

    let (m, v) = pf_euler_recursion(&vp, 100);
    assert!(
        (m - 2.00616).abs() < 1e-5 && (v - 0.24790).abs() < 1e-5,
        "{m} {v}"
    );
    // Heun's variance error is second order: it quarters as N doubles.
    let e = |n: usize| heun_recursion(&vp, n).1 - vt(&vp, EPS);
    let (e1, e2, e3) = (e(100), e(200), e(400));
    assert!(
        (3.5..4.6).contains(&(e1 / e2)) && (3.5..4.6).contains(&(e2 / e3)),
        "{e1} {e2} {e3}"
    );
    // The deterministic samplers are affine maps x ↦ A x + B here: read (A, B) off the library
    // from the starts 0 and 1 and compare the implied law with the recursions (N = 100).
    let affine = |out: Particles<f64>| {
        let (b, a) = (out.get(0)[0], out.get(1)[0] - out.get(0)[0]);
        (a * vp.mean_coef(1.0) * MU + b, a * a * vt(&vp, 1.0))
    };
    let two = |i: usize, _r: &mut ChainRng, x: &mut [f64]| x[0] = i as f64;
    let (m, v) = affine(ProbabilityFlow::new(vp, &sc, 100, EPS)?.run(&ParticleRun::new(2), &two)?);
    let (mr, vr) = heun_recursion(&vp, 100);
    assert!(
        (m - mr).abs() < 1e-10 && (v - vr).abs() < 1e-10,
        "heun {m} {v} vs {mr} {vr}"
    );
    let (m, v) = affine(Ddim::new(vp, &sc, 100, EPS, 0.0)?.run(&ParticleRun::new(2), &two)?);
    let (mr, vr) = ddim_recursion(&vp, 100, 0.0);
    assert!(
        (m - mr).abs() < 1e-10 && (v - vr).abs() < 1e-10,
        "ddim {m} {v} vs {mr} {vr}"
    );
    // Deterministic samplers are deterministic maps of the start: same seed ⇒ same output.
    let a = s.run(&ParticleRun::new(100).seed(1).threads(1), &exact_p1(&vp))?;
    let b = s.run(&ParticleRun::new(100).seed(1).threads(2), &exact_p1(&vp))?;
    assert_eq!(a, b);
    Ok(())
}

/// Forward SDE coefficients against their closed forms (deterministic): VP log α_t =
/// −¼t²(β₁−β₀) − ½tβ₀ (TESTING.md §2.5), sub-VP std = 1 − α_t², VE σ(t)² − σ_min²; the drift
/// and diffusion are consistent with the kernel, d(σ_t²)/dt = 2a σ_t² + g² (checked by central
/// differences); cosine β integrates to −ln ᾱ. Bugs caught: β vs β/2 in the drift, g² vs g,
/// a wrong cosine derivative.
#[test]
fn forward_sde_kernels_match_their_sdes() -> Result<()> {
    let vp = Vp::<f64>::linear(1, 0.1, 20.0)?;
    let cvp = Vp::<f64>::new(1, BetaSchedule::cosine(0.008, 20.0)?)?;
    let svp = SubVp::<f64>::linear(1, 0.1, 20.0)?;
    let ve = Ve::<f64>::new(1, 0.01, 50.0)?;
    for t in [0.05, 0.3, 0.7, 0.95] {
        let la = -0.25 * t * t * 19.9 - 0.5 * t * 0.1;
        assert!((vp.mean_coef(t).ln() - la).abs() < 1e-12);
        assert!((svp.marginal_std(t) - (1.0 - (2.0 * la).exp())).abs() < 1e-12);
        let s = 0.01 * 5000f64.powf(t);
        assert!((ve.marginal_std(t).powi(2) - (s * s - 1e-4)).abs() < 1e-9 * s * s);
        fn consistent<S: ForwardSde>(sde: &S, t: f64) {
            let h = 1e-5;
            let v = |t: f64| sde.marginal_std(t).powi(2);
            let dv = (v(t + h) - v(t - h)) / (2.0 * h);
            let rhs = 2.0 * sde.drift_coef(t) * v(t) + sde.diffusion_coef(t).powi(2);
            assert!(
                (dv - rhs).abs() < 1e-5 * (1.0 + rhs.abs()),
                "t={t}: {dv} vs {rhs}"
            );
            let la = |t: f64| sde.mean_coef(t).ln();
            let dla = (la(t + h) - la(t - h)) / (2.0 * h);
            assert!((dla - sde.drift_coef(t)).abs() < 1e-5 * (1.0 + dla.abs()));
        }
        consistent(&vp, t);
        consistent(&cvp, t);
        consistent(&svp, t);
        consistent(&ve, t);
    }
    // Cosine: ᾱ(t) = cos²(π/2 (t+s)/(1+s)) / cos²(π/2 s/(1+s)) below the clip.
    let abar = |t: f64| {
        let f = |u: f64| {
            (std::f64::consts::FRAC_PI_2 * (u + 0.008) / 1.008)
                .cos()
                .powi(2)
        };
        f(t) / f(0.0)
    };
    assert!((cvp.mean_coef(0.5).powi(2) - abar(0.5)).abs() < 1e-12);
    Ok(())
}

fn fd_check<F: Fn(&[f64]) -> f64>(f: F, x: &[f64], s: &[f64]) {
    let h = 1e-5;
    for i in 0..x.len() {
        let (mut a, mut b) = (x.to_vec(), x.to_vec());
        a[i] += h;
        b[i] -= h;
        let fd = (f(&a) - f(&b)) / (2.0 * h);
        assert!(
            (fd - s[i]).abs() < 1e-6 * (1.0 + s[i].abs()),
            "coordinate {i}: fd {fd} vs {}",
            s[i]
        );
    }
}

/// T12, deterministic: every exact score equals the central difference of its own log density
/// (relative 1e-6) at random points: a 3-D diagonal mixture at σ ∈ {0, 0.1, 1}, a full-covariance
/// Gaussian through its eigen-basis, the empirical score (single and batched paths agree to
/// 1e-10), and the VP marginal against an explicitly built mixture N(α μ_k, α² S_k + (1−α²) I).
/// Far from every mode scores stay finite (log-sum-exp).
/// Bugs caught: Σ + σ instead of Σ + σ², a wrong eigenvector orientation, a missing α in the
/// empirical Gram term, the VP α_t scaling, responsibilities without log-sum-exp (NaN far out).
#[test]
fn t12_scores_match_finite_differences() -> Result<()> {
    let mut rng = langevin::rng::stream(12, 0);
    let gmm = GaussianMixture::with_diagonal(
        vec![0.2, 0.5, 0.3],
        vec![
            vec![0.0, 1.0, -1.0],
            vec![2.0, 0.0, 0.5],
            vec![-1.0, -2.0, 1.0],
        ],
        vec![
            vec![0.5, 0.3, 1.0],
            vec![0.2, 0.2, 0.4],
            vec![1.0, 0.6, 0.3],
        ],
    )?;
    let g = Gaussian::full(
        vec![1.0, -1.0, 0.5],
        &[2.0, 0.6, 0.2, 0.6, 1.0, -0.3, 0.2, -0.3, 0.7],
    )?;
    let sg = SmoothedGaussian::new(&g)?;
    let mut data = vec![0.0; 3 * 50];
    data.iter_mut()
        .for_each(|v| *v = f64::standard_normal(&mut rng));
    let emp = EmpiricalScore::new(data, 3)?;
    let mut s = [0.0; 3];
    for _ in 0..5 {
        let x: Vec<f64> = (0..3)
            .map(|_| 1.5 * f64::standard_normal(&mut rng))
            .collect();
        for sigma in [0.0, 0.1, 1.0] {
            gmm.score_sigma_into(&x, sigma, &mut s);
            fd_check(|y| gmm.log_density_sigma(y, sigma), &x, &s);
            sg.score_sigma_into(&x, sigma, &mut s);
            fd_check(|y| sg.log_density_sigma(y, sigma), &x, &s);
            if sigma > 0.0 {
                emp.score_sigma_into(&x, sigma, &mut s);
                fd_check(|y| emp.log_density_sigma(y, sigma), &x, &s);
            }
        }
        // The eigen-basis Gaussian at σ = 0 equals the crate's Gaussian score.
        sg.score_sigma_into(&x, 0.0, &mut s);
        let want = g.score(&x);
        for i in 0..3 {
            assert!((s[i] - want[i]).abs() < 1e-10);
        }
        // Smoothed law with α ≠ 1 (VP-style) for the empirical score.
        let lp = |y: &[f64]| emp.smoothed_log_density_and_score(y, 0.7, 0.3, &mut [0.0; 3]);
        emp.smoothed_log_density_and_score(&x, 0.7, 0.3, &mut s);
        fd_check(lp, &x, &s);
    }
    // VP marginal of the mixture = explicit mixture with scaled means and variances.
    let vp = Vp::<f64>::linear(3, 0.1, 20.0)?;
    let marg = Marginal::new(&gmm, vp)?;
    let t = 0.4;
    let a = vp.mean_coef(t);
    let means = (0..3)
        .map(|k| {
            gmm.component_mean(k)
                .unwrap()
                .iter()
                .map(|m| a * m)
                .collect()
        })
        .collect();
    let vars = (0..3)
        .map(|k| {
            gmm.component_variances(k)
                .unwrap()
                .iter()
                .map(|v| a * a * v + 1.0 - a * a)
                .collect()
        })
        .collect();
    let explicit = GaussianMixture::with_diagonal(vec![0.2, 0.5, 0.3], means, vars)?;
    let x = [0.3, -0.2, 0.9];
    marg.score_t_into(&x, t, &mut s);
    let want = explicit.score(&x);
    for i in 0..3 {
        assert!((s[i] - want[i]).abs() < 1e-10, "{s:?} vs {want:?}");
    }
    // Batched empirical score = single-point path.
    let xs: Vec<f64> = (0..3 * 70)
        .map(|_| 2.0 * f64::standard_normal(&mut rng))
        .collect();
    let mut out = vec![0.0; xs.len()];
    let mut work = Vec::new();
    emp.score_sigma_batch_into(&xs, 0.4, &mut out, &mut work);
    for (x, o) in xs.chunks(3).zip(out.chunks(3)) {
        emp.score_sigma_into(x, 0.4, &mut s);
        for i in 0..3 {
            assert!(
                (s[i] - o[i]).abs() < 1e-10 * (1.0 + s[i].abs()),
                "{s:?} vs {o:?}"
            );
        }
    }
    // Far out: finite scores pointing back (log-sum-exp), batched too.
    let far = [1e3, -1e3, 5e2];
    gmm.score_sigma_into(&far, 0.1, &mut s);
    assert!(s.iter().all(|v| v.is_finite()) && s[0] < 0.0);
    emp.score_sigma_into(&far, 0.1, &mut s);
    assert!(s.iter().all(|v| v.is_finite()) && s[0] < 0.0);
    let mut o = [0.0; 3];
    emp.score_sigma_batch_into(&far, 0.1, &mut o, &mut work);
    assert!(o.iter().all(|v| v.is_finite()) && o[0] < 0.0, "{o:?}");
    Ok(())
}

/// T12, statistical: with exact mixture samples, (a) the Stein identity E_{p_σ}[x·s_σ(x)] = −d
/// for x ~ p_σ = p ∗ N(0, σ²I), (b) the Tweedie residual r = σ² s_σ(x̃) + x̃ − x₀ has mean 0 and
/// E[r_i x̃_i] = 0 (Efron 2011: σ² s(x̃) + x̃ = E[x₀ | x̃]). 3-D mixture, σ ∈ {0.1, 1}, n = 4e4 IID
/// draws; 2 × (1 + 3 + 3) = 14 z-statistics share α = 2e-6.
/// Bugs caught: Σ + σ instead of Σ + σ² (Stein mean off by ≫ 8 SE at σ = 0.1), a score
/// smoothed at the wrong level, a missing weight in the responsibilities.
#[test]
fn t12_stein_and_tweedie_identities() -> Result<()> {
    let gmm = GaussianMixture::with_diagonal(
        vec![0.2, 0.5, 0.3],
        vec![
            vec![0.0, 1.0, -1.0],
            vec![2.0, 0.0, 0.5],
            vec![-1.0, -2.0, 1.0],
        ],
        vec![
            vec![0.5, 0.3, 1.0],
            vec![0.2, 0.2, 0.4],
            vec![1.0, 0.6, 0.3],
        ],
    )?;
    let n = 40_000;
    let zc = z_crit(2e-6, 14);
    let zstat = |v: &[f64]| {
        let c = v.len() as f64;
        let m = v.iter().sum::<f64>() / c;
        let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (c - 1.0)).sqrt();
        (m / (sd / c.sqrt()), m)
    };
    for (li, sigma) in [0.1, 1.0].into_iter().enumerate() {
        let mut rng = langevin::rng::stream(1212, li as u64);
        let mut stein = Vec::with_capacity(n);
        let mut resid = vec![Vec::<f64>::new(); 3];
        let mut cross = vec![Vec::<f64>::new(); 3];
        let (mut x0, mut xt, mut s) = ([0.0; 3], [0.0; 3], [0.0; 3]);
        for _ in 0..n {
            gmm.sample_into(&mut rng, &mut x0);
            for i in 0..3 {
                xt[i] = x0[i] + sigma * f64::standard_normal(&mut rng);
            }
            gmm.score_sigma_into(&xt, sigma, &mut s);
            stein.push(xt.iter().zip(&s).map(|(a, b)| a * b).sum::<f64>() + 3.0);
            for i in 0..3 {
                let r = sigma * sigma * s[i] + xt[i] - x0[i];
                resid[i].push(r);
                cross[i].push(r * xt[i]);
            }
        }
        let (z, m) = zstat(&stein);
        assert!(z.abs() < zc, "Stein σ={sigma}: E[x·s] + d = {m} (z = {z})");
        for i in 0..3 {
            let (z, m) = zstat(&resid[i]);
            assert!(z.abs() < zc, "Tweedie mean σ={sigma}, i={i}: {m} (z = {z})");
            let (z, m) = zstat(&cross[i]);
            assert!(
                z.abs() < zc,
                "Tweedie cross σ={sigma}, i={i}: {m} (z = {z})"
            );
        }
    }
    Ok(())
}

struct Perturbed<'a> {
    inner: &'a GaussianMixture<f64>,
    scale: f64,
    shift: f64,
}
impl Target for Perturbed<'_> {
    type Scalar = f64;
    fn dim(&self) -> usize {
        self.inner.dim()
    }
}
impl NoiseConditionalScore for Perturbed<'_> {
    fn score_sigma_into(&self, x: &[f64], sigma: f64, out: &mut [f64]) {
        self.inner.score_sigma_into(x, sigma, out);
        out.iter_mut()
            .for_each(|o| *o = self.scale * *o + self.shift);
    }
}

/// Denoising score matching (Vincent 2011), λ(σ) = σ²: on IID data from a 2-D mixture, the
/// exact noise-conditional score has a lower DSM loss than the same score scaled by 1.1 or
/// shifted by 0.2 (every coordinate, every σ). The excess loss of a perturbation δ is ½σ²E‖δ‖² > 0
/// (orthogonality of the optimum); compared with common random numbers (same seed ⇒ same
/// noise), the paired per-point differences must be positive with z > z_α (α = 2e-6 split in
/// two). Power: n = 8000 points × 8 draws give paired z = 10.2 (scale) and 25.8 (shift)
/// with this seed, ≥ 5 SE above the critical 5.03. Also checks the optimum's
/// value d/2 − σ²E‖s‖²/2 < d/2. Bugs caught: a loss without the λ(σ) weighting or with
/// (x̃ − x₀)/σ instead of /σ², a sign error in the target (then the perturbed score wins).
#[test]
fn dsm_exact_score_beats_perturbed_scores() -> Result<()> {
    let gmm = GaussianMixture::<f64>::ring(4, 2.0, 0.4)?;
    let mut rng = langevin::rng::stream(66, 0);
    let mut data = vec![0.0; 2 * 8000];
    for x in data.chunks_exact_mut(2) {
        gmm.sample_into(&mut rng, x);
    }
    let sigmas = [1.0, 0.5, 0.2];
    let exact = dsm_loss(&gmm, &data, &sigmas, 8, 67)?;
    assert!(exact.total < 1.0, "{}", exact.total); // < d/2
    let zc = z_crit(2e-6, 2);
    for (scale, shift) in [(1.1, 0.0), (1.0, 0.2)] {
        let p = Perturbed {
            inner: &gmm,
            scale,
            shift,
        };
        let other = dsm_loss(&p, &data, &sigmas, 8, 67)?;
        let diffs: Vec<f64> = other
            .per_point
            .iter()
            .zip(&exact.per_point)
            .map(|(a, b)| a - b)
            .collect();
        let c = diffs.len() as f64;
        let m = diffs.iter().sum::<f64>() / c;
        let sd = (diffs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (c - 1.0)).sqrt();
        assert!(
            m / (sd / c.sqrt()) > zc,
            "scale {scale} shift {shift}: Δ = {m} ± {}",
            sd / c.sqrt()
        );
    }
    assert!(dsm_loss(&gmm, &data, &[], 2, 1).is_err());
    assert!(dsm_loss(&gmm, &data, &[0.0], 2, 1).is_err());
    assert!(dsm_loss(&gmm, &data[..3], &[1.0], 2, 1).is_err());
    Ok(())
}

/// Reverse samplers: bad configurations are typed errors; a blown-up run names the particle.
/// Bug caught: NaN particles returned silently, ε = 0 accepted (score singular at t = 0), a
/// corrector that treats a NaN score norm like a zero score and skips it.
#[test]
fn reverse_sampler_validation() -> Result<()> {
    let vp = Vp::<f64>::linear(1, 0.1, 20.0)?;
    let d = data();
    let sc = Marginal::new(&d, vp)?;
    assert!(ReverseSampler::new(vp, &sc, 0, EPS, Predictor::EulerMaruyama).is_err());
    assert!(ReverseSampler::new(vp, &sc, 10, 0.0, Predictor::EulerMaruyama).is_err());
    assert!(ReverseSampler::new(vp, &sc, 10, 1.0, Predictor::EulerMaruyama).is_err());
    assert!(Ddim::new(vp, &sc, 10, EPS, 1.5).is_err());
    let vp2 = Vp::<f64>::linear(2, 0.1, 20.0)?;
    assert!(Marginal::new(&d, vp2).is_err());
    assert!(BetaSchedule::linear(-1.0, 20.0).is_err());
    assert!(BetaSchedule::cosine(0.0, 20.0).is_err());
    assert!(Ve::<f64>::new(1, 1.0, 0.5).is_err());
    // A score with the wrong sign explodes: the run stops with NonFiniteState.
    struct Bad;
    impl Target for Bad {
        type Scalar = f64;
        fn dim(&self) -> usize {
            1
        }
    }
    impl TimeConditionalScore for Bad {
        fn score_t_into(&self, x: &[f64], _t: f64, out: &mut [f64]) {
            out[0] = 1e3 * x[0];
        }
    }
    let s = ReverseSampler::new(vp, Bad, 1000, EPS, Predictor::EulerMaruyama)?;
    assert!(matches!(
        s.run_from_prior(&ParticleRun::new(5).seed(1)),
        Err(Error::NonFiniteState { .. })
    ));
    // A NaN score seen only by the Langevin corrector (no predictor) must not be skipped as
    // if it were a zero score: the run stops at the first time step.
    struct NanScore;
    impl Target for NanScore {
        type Scalar = f64;
        fn dim(&self) -> usize {
            1
        }
    }
    impl TimeConditionalScore for NanScore {
        fn score_t_into(&self, _x: &[f64], _t: f64, out: &mut [f64]) {
            out[0] = f64::NAN;
        }
    }
    let s = ReverseSampler::new(vp, NanScore, 10, EPS, Predictor::None)?.corrector(
        langevin::annealed::LangevinCorrector {
            snr: 0.16,
            steps: 1,
        },
    )?;
    assert!(matches!(
        s.run_from_prior(&ParticleRun::new(5).seed(1)),
        Err(Error::NonFiniteState { step: 0, .. })
    ));
    Ok(())
}

/// The samplers are generic over the scalar: f32 reverse VP-SDE (EM, N = 100, C = 2e4) against
/// the f64 exact recursion (z-tests, α = 2e-6 split in two; f32 rounding ≈ 1e-7 is far below the
/// SE ≈ 3.5e-3), and the f32 batched empirical score (sgemm) against the f64 one (relative
/// 1e-4). Bugs caught: coefficients formed in f32 with catastrophic cancellation (1 − α² near
/// t = 0), an f64-only fast path.
#[test]
fn f32_samplers_and_scores() -> Result<()> {
    let vp = Vp::<f32>::linear(1, 0.1, 20.0)?;
    let d = GaussianMixture::<f32>::new(vec![1.0], vec![vec![MU as f32]], vec![S0 as f32])?;
    let s = ReverseSampler::new(
        vp,
        Marginal::new(&d, vp)?,
        100,
        EPS,
        Predictor::EulerMaruyama,
    )?;
    let vp64 = Vp::<f64>::linear(1, 0.1, 20.0)?;
    let (a1, v1) = (vp64.mean_coef(1.0), vt(&vp64, 1.0));
    let init = move |_i: usize, rng: &mut ChainRng, x: &mut [f32]| {
        x[0] = (a1 * MU + v1.sqrt() * f64::standard_normal(rng)) as f32;
    };
    let out = s.run(&ParticleRun::new(20_000).seed(3232), &init)?;
    let xs: Vec<f64> = out.as_slice().iter().map(|&v| v as f64).collect();
    let (m, v) = em_recursion(&vp64, 100);
    let (zm, zv) = z_mean_var(&xs, m, v);
    let zc = z_crit(2e-6, 2);
    assert!(zm.abs() < zc && zv.abs() < zc, "{zm} {zv}");

    let mut rng = langevin::rng::stream(32, 0);
    let data: Vec<f64> = (0..5 * 40)
        .map(|_| f64::standard_normal(&mut rng))
        .collect();
    let e64 = EmpiricalScore::new(data.clone(), 5)?;
    let e32 = EmpiricalScore::new(data.iter().map(|&v| v as f32).collect(), 5)?;
    let xs: Vec<f64> = (0..5 * 70)
        .map(|_| f64::standard_normal(&mut rng))
        .collect();
    let xs32: Vec<f32> = xs.iter().map(|&v| v as f32).collect();
    let (mut o64, mut o32) = (vec![0.0; xs.len()], vec![0.0f32; xs.len()]);
    e64.score_sigma_batch_into(&xs, 0.7, &mut o64, &mut Vec::new());
    e32.score_sigma_batch_into(&xs32, 0.7, &mut o32, &mut Vec::new());
    for (a, b) in o64.iter().zip(&o32) {
        assert!((a - *b as f64).abs() < 1e-4 * (1.0 + a.abs()), "{a} vs {b}");
    }
    Ok(())
}

/// Reverse samplers with randomness (EM + Langevin corrector with whole-batch SNR steps,
/// ancestral, DDIM η = 1) give bit-identical particles on 1 and 2 threads. Bugs caught: SNR
/// norms averaged over a thread's share of particles, per-thread RNGs.
#[test]
fn reverse_samplers_thread_count_independent() -> Result<()> {
    let gmm = GaussianMixture::<f64>::ring(8, 4.0, 0.3)?;
    let sde = Vp::<f64>::linear(2, 0.1, 20.0)?;
    let sc = Marginal::new(&gmm, sde)?;
    let pc = ReverseSampler::new(sde, &sc, 50, EPS, Predictor::EulerMaruyama)?.corrector(
        langevin::annealed::LangevinCorrector {
            snr: 0.16,
            steps: 2,
        },
    )?;
    let anc = ReverseSampler::new(sde, &sc, 50, EPS, Predictor::Ancestral)?.denoise(true);
    let ddim = Ddim::new(sde, &sc, 50, EPS, 1.0)?;
    let r1 = ParticleRun::new(300).seed(9).threads(1);
    let r2 = ParticleRun::new(300).seed(9).threads(2);
    assert_eq!(pc.run_from_prior(&r1)?, pc.run_from_prior(&r2)?);
    assert_eq!(anc.run_from_prior(&r1)?, anc.run_from_prior(&r2)?);
    assert_eq!(ddim.run_from_prior(&r1)?, ddim.run_from_prior(&r2)?);
    Ok(())
}
