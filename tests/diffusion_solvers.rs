//! The EDM samplers (Karras et al. 2022: Heun, churn) and DPM-Solver++(2M) (Lu et al. 2022)
//! against exact recursions of the *discretised* samplers on a Gaussian data law, where every
//! update is affine in x (TESTING.md T11 style), plus their measured ODE orders and typed
//! errors.
//!
//! Data N(MU, S0) in one dimension. For the EDM samplers the exact score is
//! `s(x, σ) = −(x − MU)/(S0 + σ²)`; for the VP-SDE `s(x, t) = −(x − α_t MU)/(α_t² S0 + σ_t²)`.
//! Every statistical test has a fixed seed and a false-failure rate α ≤ 2e-6, split over its
//! sub-statistics (Bonferroni), and names the bug it catches; where a bug is a different
//! affine recursion, the test *computes* the shift it would cause and asserts it is past the
//! threshold (power check).

use langevin::annealed::{
    Churn, DpmSolverPp, EmpiricalScore, ForwardSde, Marginal, NoiseScoreBatch, ParticleRun,
    SigmaLevels, TimeConditionalScore, TimeGrid, Ve, Vp,
};
use langevin::prelude::*;
use langevin::rng::ChainRng;
use langevin::targets::GaussianMixture;
use statrs::distribution::{ContinuousCDF, Normal};

type Edm<P> = langevin::annealed::Edm<P>;

const MU: f64 = 2.0;
const S0: f64 = 0.25;
const EPS: f64 = 1e-3;
const C: usize = 20_000;

fn z_crit(alpha: f64, k: usize) -> f64 {
    Normal::standard().inverse_cdf(1.0 - alpha / (2.0 * k as f64))
}

/// z-statistics of the sample mean and unbiased variance of IID N(m, v) draws.
fn z_mean_var(xs: &[f64], m: f64, v: f64) -> (f64, f64) {
    let c = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / c;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (c - 1.0);
    (
        (mean - m) / (v / c).sqrt(),
        (var - v) / (v * (2.0 / c).sqrt()),
    )
}

/// The z-shifts a different (buggy) law (m', v') would cause on C draws of N(m, v).
fn z_shift(m: f64, v: f64, mb: f64, vb: f64) -> f64 {
    let c = C as f64;
    ((mb - m) / (v / c).sqrt())
        .abs()
        .max(((vb - v) / (v * (2.0 / c).sqrt())).abs())
}

fn data() -> GaussianMixture<f64> {
    GaussianMixture::new(vec![1.0], vec![vec![MU]], vec![S0]).unwrap()
}

/// The two starts MU ± 1 (particles 0 and 1) of a deterministic sampler.
fn two_starts(i: usize, _rng: &mut ChainRng, x: &mut [f64]) {
    x[0] = if i == 0 { MU + 1.0 } else { MU - 1.0 };
}

/// The affine map x ↦ A x + B of a deterministic sampler from its outputs at [`two_starts`].
fn measured_map(out: Vec<f64>) -> (f64, f64) {
    let a = 0.5 * (out[0] - out[1]);
    (a, out[0] - a * (MU + 1.0))
}

// ---------------------------------------------------------------- EDM: independent recursions

/// One EDM step of the discretised sampler on the Gaussian data, in u = x − MU: the noise
/// added by churn (variance `q`) and the affine factor `a` (u ← a u). `bug` selects a named
/// mutation (0 = the correct sampler).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Bug {
    None,
    /// S_noise ignored (noise std sqrt(σ̂² − σ²)).
    SNoiseIgnored,
    /// Noise std (σ̂ − σ) S_noise instead of sqrt(σ̂² − σ²) S_noise.
    NoiseStdLinear,
    /// The first score evaluated at σ instead of σ̂ (and the step from σ).
    ScoreAtSigma,
    /// γ not clamped at √2 − 1.
    NoClamp,
    /// The S_tmin/S_tmax window ignored (churn at every level).
    NoWindow,
    /// Heun's corrector evaluated at σ̂ instead of σ_{i+1}.
    CorrectorAtHat,
}

fn edm_step(sigma: f64, next: f64, gamma: f64, s_noise: f64, bug: Bug) -> (f64, f64) {
    let hat = sigma * (1.0 + gamma);
    let q = match bug {
        Bug::SNoiseIgnored => hat * hat - sigma * sigma,
        Bug::NoiseStdLinear => ((hat - sigma) * s_noise).powi(2),
        _ => (hat * hat - sigma * sigma) * s_noise * s_noise,
    };
    let c = |s: f64| s / (S0 + s * s); // d = −σ s(x, σ) = c(σ) u
    let (from, eval) = if bug == Bug::ScoreAtSigma {
        (sigma, sigma)
    } else {
        (hat, hat)
    };
    let dt = next - from;
    let c1 = c(eval);
    let a = if next > 0.0 {
        let c2 = if bug == Bug::CorrectorAtHat {
            c(eval)
        } else {
            c(next)
        };
        1.0 + 0.5 * dt * (c1 + c2 * (1.0 + dt * c1))
    } else {
        1.0 + dt * c1
    };
    (a, q)
}

/// The law N(m, v) after the EDM sampler on `sigmas` from N(m0, v0), with per-step γ.
fn edm_recursion(
    sigmas: &[f64],
    gammas: &[f64],
    s_noise: f64,
    m0: f64,
    v0: f64,
    bug: Bug,
) -> (f64, f64) {
    let (mut u, mut v) = (m0 - MU, v0);
    for (k, w) in sigmas.windows(2).enumerate() {
        let (a, q) = edm_step(w[0], w[1], gammas[k], s_noise, bug);
        v = a * a * (v + q);
        u *= a;
    }
    (MU + u, v)
}

/// γ_i of Karras et al. Alg. 2 (test-side): min(S_churn/N, √2 − 1) inside [S_tmin, S_tmax].
fn gammas(sigmas: &[f64], ch: &Churn, bug: Bug) -> Vec<f64> {
    let n = (sigmas.len() - 1) as f64;
    let g = if bug == Bug::NoClamp {
        ch.s_churn / n
    } else {
        (ch.s_churn / n).min(2f64.sqrt() - 1.0)
    };
    sigmas[..sigmas.len() - 1]
        .iter()
        .map(|&s| {
            if bug == Bug::NoWindow || (ch.s_tmin <= s && s <= ch.s_tmax) {
                g
            } else {
                0.0
            }
        })
        .collect()
}

/// The exact probability-flow map from σ_a to σ_b: u ↦ sqrt((S0 + σ_b²)/(S0 + σ_a²)) u.
fn edm_exact_a(sa: f64, sb: f64) -> f64 {
    ((S0 + sb * sb) / (S0 + sa * sa)).sqrt()
}

fn karras(levels: usize) -> SigmaLevels<f64> {
    SigmaLevels::karras(80.0, 0.002, levels, 7.0).unwrap()
}

/// EDM Heun, deterministic: the sampler's affine map (measured from two starts) equals the
/// independent recursion to 1e-12 (relative), with and without the final step to σ = 0, and
/// the error of the map against the exact flow quarters as N doubles.
///
/// Measured on the Karras ρ = 7 grid 80 → 0.002 stopping at σ_min, N = 8 … 256 steps:
/// relative errors of A 2.78e-1, 6.29e-2, 1.47e-2, 3.55e-3, 8.74e-4, 2.17e-4, fitted orders
/// log₂(e_N/e_2N) = 2.15, 2.10, 2.05, 2.02, 2.01; asserted: the last three in [1.9, 2.1].
/// To σ = 0 the extra step is Euler, i.e. Tweedie: its factor is S0/(S0 + σ_min²) to 1e-12.
/// Bugs caught: the corrector evaluated at σ̂ instead of σ_{i+1} (errors 5.0 … 6.1e-2, order
/// ≈ 1.1; asserted > 10× the correct error at every N), a Heun step with σ' = 0 at the end
/// (factor 1 − σ²/(2(S0 + σ²)) instead of S0/(S0 + σ²)), d = −s instead of −σ s, the levels
/// in the wrong order (maps off by ≫ 1e-12).
#[test]
fn edm_heun_exact_map_and_second_order() -> Result<()> {
    let d = data();
    let mut errs = Vec::new();
    for levels in [9, 17, 33, 65, 129, 257] {
        let lv = karras(levels);
        let heun = Edm::stop_at_sigma_min(&d, lv.clone())?;
        assert_eq!(heun.score_evaluations(), 2 * (levels - 1));
        let (a, b) = measured_map(
            heun.run(&ParticleRun::new(2).seed(0), &two_starts)?
                .into_vec(),
        );
        let sig = heun.sigmas().to_vec();
        assert!(sig.len() == levels && (sig[levels - 1] - 0.002).abs() < 1e-18);
        let zeros = vec![0.0; levels - 1];
        let (m1, _) = edm_recursion(&sig, &zeros, 1.0, MU + 1.0, 0.0, Bug::None);
        let (m0, _) = edm_recursion(&sig, &zeros, 1.0, MU, 0.0, Bug::None);
        assert!(
            ((a - (m1 - MU)) / a).abs() < 1e-12 && (b - (m0 - a * MU)).abs() < 1e-12,
            "L={levels}: map ({a}, {b}) vs recursion ({}, {})",
            m1 - MU,
            m0 - a * MU
        );
        let exact = edm_exact_a(80.0, 0.002);
        errs.push((a / exact - 1.0).abs());
        // The bug "corrector at σ̂" has a first-order recursion.
        let bug = (edm_recursion(&sig, &zeros, 1.0, MU + 1.0, 0.0, Bug::CorrectorAtHat).0 - MU)
            / exact
            - 1.0;
        eprintln!(
            "L={levels}: err {:.3e}, corrector-at-σ̂ bug {bug:.3e}",
            errs.last().unwrap()
        );
        assert!(bug.abs() > 10.0 * errs.last().unwrap(), "L={levels}: {bug}");

        // To σ = 0: the same map with one Euler step at the end.
        let to0 = Edm::new(&d, lv)?;
        assert_eq!(to0.score_evaluations(), 2 * levels - 1);
        let (a0, _) = measured_map(
            to0.run(&ParticleRun::new(2).seed(0), &two_starts)?
                .into_vec(),
        );
        let sig0 = to0.sigmas().to_vec();
        assert_eq!(sig0.len(), levels + 1);
        let (m1, _) = edm_recursion(&sig0, &vec![0.0; levels], 1.0, MU + 1.0, 0.0, Bug::None);
        assert!(((a0 - (m1 - MU)) / a0).abs() < 1e-12, "L={levels}: {a0}");
        // The last step is Euler (Tweedie at σ_min): a0 = a · S0/(S0 + σ_min²) exactly. A Heun
        // step to σ' = 0 would give the factor 1 − σ_min²/(2(S0 + σ_min²)) instead.
        let euler = S0 / (S0 + 0.002f64.powi(2));
        assert!(((a0 / a) / euler - 1.0).abs() < 1e-12, "{a0} {a} {euler}");
    }
    let orders: Vec<f64> = errs.windows(2).map(|w| (w[0] / w[1]).log2()).collect();
    eprintln!("EDM Heun errors {errs:?} orders {orders:.3?}");
    for p in &orders[2..] {
        assert!((1.9..=2.1).contains(p), "orders {orders:?}");
    }
    Ok(())
}

/// EDM Heun from its prior N(0, σ_0² I) and EDM with churn: C = 2e4 particles against the exact
/// recursion of the discretised sampler (deterministic map + the churn noise variance
/// (σ̂² − σ²) S_noise² at each churned level). Three configurations on 18 Karras levels to 0
/// (Heun; churn (40, 0.05, 50, 1.05) where γ is clamped at √2 − 1; churn (5, 0.5, 10, 1.0),
/// unclamped); 6 z-statistics share α = 2e-6 (|z| < 5.45).
/// The shifts the named bugs would cause are computed from their recursions and asserted
/// to exceed 5.45 + 3 (power ≥ 0.998 each): S_noise ignored, noise std (σ̂ − σ) S_noise,
/// the first score at σ instead of σ̂, γ not clamped, the S_tmin/S_tmax window ignored.
/// The prior scale (σ_0 vs σ_0²) is caught by the Heun z-test on the variance.
#[test]
fn edm_heun_and_churn_exact_recursions() -> Result<()> {
    let d = data();
    let lv = karras(18);
    let zc = z_crit(2e-6, 6);
    let configs: [(Option<Churn>, u64, &[Bug]); 3] = [
        (None, 21, &[]),
        (
            Some(Churn {
                s_churn: 40.0,
                s_tmin: 0.05,
                s_tmax: 50.0,
                s_noise: 1.05,
            }),
            22,
            &[Bug::SNoiseIgnored, Bug::NoiseStdLinear, Bug::ScoreAtSigma],
        ),
        (
            Some(Churn {
                s_churn: 5.0,
                s_tmin: 0.5,
                s_tmax: 10.0,
                s_noise: 1.0,
            }),
            23,
            &[Bug::NoiseStdLinear, Bug::ScoreAtSigma],
        ),
    ];
    for (churn, seed, bugs) in configs {
        let mut edm = Edm::new(&d, lv.clone())?;
        let mut s_noise = 1.0;
        if let Some(ch) = churn {
            edm = edm.churn(ch)?;
            s_noise = ch.s_noise;
            assert_eq!(edm.gammas(), &gammas(edm.sigmas(), &ch, Bug::None)[..]);
        }
        let sig = edm.sigmas().to_vec();
        let g = edm.gammas().to_vec();
        let v0 = 80.0f64 * 80.0;
        let (m, v) = edm_recursion(&sig, &g, s_noise, 0.0, v0, Bug::None);
        let out = edm.run_from_prior(&ParticleRun::new(C).seed(seed))?;
        let (zm, zv) = z_mean_var(out.as_slice(), m, v);
        eprintln!("churn {churn:?}: law ({m:.5}, {v:.5}), z = ({zm:.2}, {zv:.2})");
        assert!(zm.abs() < zc && zv.abs() < zc, "{churn:?}: {zm} {zv}");
        if churn.is_none() {
            // Prior N(0, σ_0) instead of N(0, σ_0²).
            let (mb, vb) = edm_recursion(&sig, &g, 1.0, 0.0, 80.0, Bug::None);
            assert!(z_shift(m, v, mb, vb) > zc + 3.0);
        }
        for &bug in bugs {
            let ch = churn.unwrap();
            let gb = gammas(&sig, &ch, bug);
            let (mb, vb) = edm_recursion(&sig, &gb, s_noise, 0.0, v0, bug);
            let z = z_shift(m, v, mb, vb);
            eprintln!("  bug {bug:?}: shift {z:.1}");
            assert!(z > zc + 3.0, "bug {bug:?} shift {z}");
        }
    }
    // The clamp: S_churn/N = 40/18 > √2 − 1, so an unclamped γ is a different recursion.
    let ch = Churn {
        s_churn: 40.0,
        s_tmin: 0.05,
        s_tmax: 50.0,
        s_noise: 1.05,
    };
    let sig = Edm::new(&d, lv)?.sigmas().to_vec();
    let (m, v) = edm_recursion(
        &sig,
        &gammas(&sig, &ch, Bug::None),
        1.05,
        0.0,
        6400.0,
        Bug::None,
    );
    let (mb, vb) = edm_recursion(
        &sig,
        &gammas(&sig, &ch, Bug::NoClamp),
        1.05,
        0.0,
        6400.0,
        Bug::None,
    );
    let z = z_shift(m, v, mb, vb);
    eprintln!("  bug NoClamp: shift {z:.1}");
    assert!(z > zc + 3.0);
    Ok(())
}

// --------------------------------------------------------- DPM-Solver++(2M): independent recursion

/// Variance of the exact marginal p_t of data N(MU, S0): α_t² S0 + σ_t².
fn vt<S: ForwardSde>(sde: &S, t: f64) -> f64 {
    sde.mean_coef(t).powi(2) * S0 + sde.marginal_std(t).powi(2)
}

/// DPM-Solver++(2M) on the Gaussian data, written from Lu et al. (2022, Alg. 2): every state is
/// x_i = A_i x_0 + B_i and every data prediction x̂₀_i = p_i x_i + q_i with
/// p = α S0 / V_t, q = σ² MU / V_t. Returns the affine map (A_N, B_N).
fn dpm_recursion<S: ForwardSde>(sde: &S, times: &[f64], first_order_only: bool) -> (f64, f64) {
    let lam = |t: f64| (sde.mean_coef(t) / sde.marginal_std(t)).ln();
    let (mut a, mut b) = (1.0, 0.0);
    let mut prev: Option<(f64, f64)> = None; // previous x̂₀ as (coef of x0, const)
    for i in 1..times.len() {
        let (tp, t) = (times[i - 1], times[i]);
        let (ap, sp, vp) = (sde.mean_coef(tp), sde.marginal_std(tp), vt(sde, tp));
        let (al, sg) = (sde.mean_coef(t), sde.marginal_std(t));
        let (p, q) = (ap * S0 / vp, sp * sp * MU / vp);
        let cur = (p * a, p * b + q);
        let h = lam(t) - lam(tp);
        let dd = match prev {
            Some(pr) if !first_order_only => {
                let r = (lam(tp) - lam(times[i - 2])) / h;
                let (w1, w0) = (1.0 + 0.5 / r, 0.5 / r);
                (w1 * cur.0 - w0 * pr.0, w1 * cur.1 - w0 * pr.1)
            }
            _ => cur,
        };
        let k = al * (1.0 - (-h).exp());
        a = sg / sp * a + k * dd.0;
        b = sg / sp * b + k * dd.1;
        prev = Some(cur);
    }
    (a, b)
}

/// The exact probability-flow map from p_1 to p_ε: x − α_1 MU ↦ sqrt(V_ε/V_1)(x − α_1 MU) + …
fn dpm_exact<S: ForwardSde>(sde: &S) -> (f64, f64) {
    let a = (vt(sde, EPS) / vt(sde, 1.0)).sqrt();
    (a, sde.mean_coef(EPS) * MU - a * sde.mean_coef(1.0) * MU)
}

/// DPM-Solver++(2M), deterministic: its affine map (measured from two starts) equals the
/// independent recursion written from Lu et al. (2022, Alg. 2) to 1e-11 (relative), for the
/// VP-SDE on the log-SNR and uniform-time grids and for the VE-SDE; the log-SNR grid is uniform
/// in λ (to 1e-9); and the error of the map against the exact flow quarters as N doubles.
///
/// Measured (VP linear 0.1 → 20, ε = 1e-3, log-SNR grid, N = 10 … 320): relative errors of A
/// 3.27e-2, 1.30e-2, 3.51e-3, 8.90e-4, 2.23e-4, 5.59e-5; fitted orders 1.33, 1.89, 1.98, 2.00,
/// 2.00; asserted: the last three in [1.9, 2.1]. The first-order variant (DDIM, D_i = x̂₀ at
/// t_{i−1}) has error 7.5e-3 at N = 320, 133× larger (asserted > 10×).
/// Bugs caught: any wrong coefficient of the step (e^{h} for e^{−h}, α_{t_{i−1}} for α_{t_i},
/// σ ratio inverted, r_i = h_i/h_{i−1} on the non-uniform-in-λ time grid) moves the map by
/// ≫ 1e-11; a misread of the paper shared by both codes shows up as a wrong order against
/// the exact flow; the history x̂₀ not carried over (DDIM: order 1).
#[test]
fn dpm_solver_exact_map_and_second_order() -> Result<()> {
    let d = data();
    let vp = Vp::<f64>::linear(1, 0.1, 20.0)?;
    let ve = Ve::<f64>::new(1, 0.01, 10.0)?;
    let (ea, eb) = dpm_exact(&vp);
    let mut errs = Vec::new();
    let mut ddim_last = 0.0;
    for n in [10, 20, 40, 80, 160, 320] {
        for grid in [TimeGrid::LogSnr, TimeGrid::Time] {
            let dpm = DpmSolverPp::new(vp, Marginal::new(&d, vp)?, n, EPS, grid)?;
            assert_eq!(dpm.score_evaluations(), n);
            let times = dpm.times().to_vec();
            assert!(times.len() == n + 1 && times[0].to_bits() == 1f64.to_bits());
            assert_eq!(times[n].to_bits(), EPS.to_bits());
            let (a, b) = measured_map(
                dpm.run(&ParticleRun::new(2).seed(0), &two_starts)?
                    .into_vec(),
            );
            let (ra, rb) = dpm_recursion(&vp, &times, false);
            assert!(
                ((a - ra) / ra).abs() < 1e-11 && (b - rb).abs() < 1e-11 * rb.abs().max(1.0),
                "N={n} {grid:?}: ({a}, {b}) vs ({ra}, {rb})"
            );
            if grid == TimeGrid::LogSnr {
                let l = dpm.log_snrs();
                let h = (l[n] - l[0]) / n as f64;
                for w in l.windows(2) {
                    assert!((w[1] - w[0] - h).abs() < 1e-9, "λ steps {w:?} vs {h}");
                }
                errs.push(((a / ea - 1.0).abs(), (b - eb).abs()));
                let (da, _) = dpm_recursion(&vp, &times, true);
                ddim_last = (da / ea - 1.0).abs();
            }
        }
        let dpm = DpmSolverPp::new(ve, Marginal::new(&d, ve)?, n, EPS, TimeGrid::LogSnr)?;
        let (a, b) = measured_map(
            dpm.run(&ParticleRun::new(2).seed(0), &two_starts)?
                .into_vec(),
        );
        let (ra, rb) = dpm_recursion(&ve, dpm.times(), false);
        assert!(
            ((a - ra) / ra).abs() < 1e-11 && (b - rb).abs() < 1e-11 * rb.abs().max(1.0),
            "VE N={n}: ({a}, {b}) vs ({ra}, {rb})"
        );
    }
    let ea: Vec<f64> = errs.iter().map(|e| e.0).collect();
    let orders: Vec<f64> = ea.windows(2).map(|w| (w[0] / w[1]).log2()).collect();
    eprintln!("DPM-Solver++(2M) errors {ea:?} orders {orders:.3?}; DDIM at N=320 {ddim_last:.3e}");
    for p in &orders[2..] {
        assert!((1.9..=2.1).contains(p), "orders {orders:?}");
    }
    assert!(ddim_last > 10.0 * ea[ea.len() - 1]);
    Ok(())
}

/// DPM-Solver++(2M) from the exact p_1 (and from the prior N(0, 1)): C = 2e4 particles against
/// N(A m_1 + B, A² V_1) from the independent recursion, VP, N = 20 log-SNR steps; 4
/// z-statistics share α = 2e-6 (|z| < 5.33). Bug caught: the prior drawn with the wrong scale
/// or the start overwritten; particle blocks mixed up (a shared x̂₀ history across blocks:
/// the history buffer of the last block reused for the first).
#[test]
fn dpm_solver_exact_recursion_z_test() -> Result<()> {
    let d = data();
    let vp = Vp::<f64>::linear(1, 0.1, 20.0)?;
    let dpm = DpmSolverPp::new(vp, Marginal::new(&d, vp)?, 20, EPS, TimeGrid::LogSnr)?;
    let (a, b) = dpm_recursion(&vp, dpm.times(), false);
    let zc = z_crit(2e-6, 4);
    let (a1, v1) = (vp.mean_coef(1.0), vt(&vp, 1.0));
    let init = move |_i: usize, rng: &mut ChainRng, x: &mut [f64]| {
        x[0] = a1 * MU + v1.sqrt() * f64::standard_normal(rng);
    };
    let out = dpm.run(&ParticleRun::new(C).seed(31), &init)?;
    let (zm, zv) = z_mean_var(out.as_slice(), a * a1 * MU + b, a * a * v1);
    assert!(zm.abs() < zc && zv.abs() < zc, "exact p_1: {zm} {zv}");
    let out = dpm.run_from_prior(&ParticleRun::new(C).seed(32))?;
    let (zm, zv) = z_mean_var(out.as_slice(), b, a * a);
    assert!(zm.abs() < zc && zv.abs() < zc, "prior: {zm} {zv}");
    Ok(())
}

/// A noise-conditional score evaluated one point at a time (the default batch path), to check
/// that the samplers give the same particles through the empirical score's GEMM batch path.
struct PerPoint<'a>(&'a EmpiricalScore<f64>);
impl Target for PerPoint<'_> {
    type Scalar = f64;
    fn dim(&self) -> usize {
        self.0.dim()
    }
}
impl NoiseConditionalScore for PerPoint<'_> {
    fn score_sigma_into(&self, x: &[f64], sigma: f64, out: &mut [f64]) {
        self.0.score_sigma_into(x, sigma, out)
    }
}
impl NoiseScoreBatch for PerPoint<'_> {}

/// Any noise-conditional score: EDM (Heun and churn) on an empirical score (200 points in
/// ℝ³, 150 particles = three blocks, the last partial) gives the same particles through the
/// batched GEMM path as through per-point evaluation (1e-9), and churned runs are
/// bit-identical on 1 and 2 threads. Bugs caught: a batched call on a stale or mis-sized
/// buffer (the partial last block), per-thread RNGs, churn noise drawn from a shared stream.
#[test]
fn edm_on_empirical_score_batched_and_thread_independent() -> Result<()> {
    let mut rng = langevin::rng::stream(77, 0);
    let pts: Vec<f64> = (0..200 * 3)
        .map(|_| f64::standard_normal(&mut rng))
        .collect();
    let emp = EmpiricalScore::new(pts, 3)?;
    let lv = SigmaLevels::karras(20.0, 0.01, 12, 7.0)?;
    let ch = Churn {
        s_churn: 10.0,
        s_tmin: 0.05,
        s_tmax: 10.0,
        s_noise: 1.003,
    };
    for churn in [None, Some(ch)] {
        let (mut a, mut b) = (
            Edm::new(&emp, lv.clone())?,
            Edm::new(PerPoint(&emp), lv.clone())?,
        );
        if let Some(ch) = churn {
            a = a.churn(ch)?;
            b = b.churn(ch)?;
        }
        let r1 = ParticleRun::new(150).seed(5).threads(1);
        let r2 = ParticleRun::new(150).seed(5).threads(2);
        let (x, y) = (a.run_from_prior(&r1)?, b.run_from_prior(&r2)?);
        for (u, v) in x.as_slice().iter().zip(y.as_slice()) {
            assert!((u - v).abs() < 1e-9 * (1.0 + u.abs()), "{u} vs {v}");
        }
        assert_eq!(x, a.run_from_prior(&r2)?);
    }
    Ok(())
}

/// Bad input is a typed error whose message says what to change; a blown-up run names the
/// particle and the step. Bugs caught: S_noise ≤ 0 or S_churn < 0 accepted (NaN noise), an
/// increasing schedule accepted (the ODE run backwards), a DPM grid with t = 0 (σ_0 = 0: x̂₀
/// divides by nothing but λ = ∞), NaN particles returned silently.
#[test]
fn solver_validation() -> Result<()> {
    let d = data();
    let lv = karras(10);
    let ok = Churn {
        s_churn: 10.0,
        s_tmin: 0.05,
        s_tmax: 50.0,
        s_noise: 1.0,
    };
    for (bad, name) in [
        (Churn { s_noise: 0.0, ..ok }, "s_noise"),
        (
            Churn {
                s_noise: -1.0,
                ..ok
            },
            "s_noise",
        ),
        (
            Churn {
                s_noise: f64::NAN,
                ..ok
            },
            "s_noise",
        ),
        (
            Churn {
                s_churn: -1.0,
                ..ok
            },
            "s_churn",
        ),
        (
            Churn {
                s_churn: f64::INFINITY,
                ..ok
            },
            "s_churn",
        ),
        (Churn { s_tmin: -0.1, ..ok }, "s_tmin"),
        (Churn { s_tmax: 0.01, ..ok }, "s_tmax"),
        (
            Churn {
                s_tmax: f64::NAN,
                ..ok
            },
            "s_tmax",
        ),
    ] {
        match Edm::new(&d, lv.clone())?.churn(bad) {
            Err(e @ Error::InvalidParameter { name: n, .. }) if n == name => {
                assert!(e.to_string().contains(name), "{e}")
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    assert!(
        Edm::new(&d, lv.clone())?
            .churn(Churn {
                s_tmax: f64::INFINITY,
                ..ok
            })
            .is_ok()
    );
    // Schedules: not decreasing, non-positive, a single level when stopping at σ_min.
    for bad in [
        vec![1.0, 2.0],
        vec![1.0, 1.0],
        vec![1.0, 0.0],
        vec![f64::NAN],
    ] {
        let e = SigmaLevels::<f64>::new(bad.clone()).unwrap_err();
        assert!(matches!(e, Error::InvalidSchedule { .. }), "{bad:?}: {e}");
    }
    assert!(matches!(
        Edm::stop_at_sigma_min(&d, SigmaLevels::new(vec![1.0])?),
        Err(Error::ZeroCount { .. })
    ));
    assert_eq!(
        Edm::new(&d, SigmaLevels::new(vec![1.0])?)?.score_evaluations(),
        1
    );

    let vp = Vp::<f64>::linear(1, 0.1, 20.0)?;
    let sc = Marginal::new(&d, vp)?;
    assert!(matches!(
        DpmSolverPp::new(vp, &sc, 0, EPS, TimeGrid::LogSnr),
        Err(Error::ZeroCount { .. })
    ));
    for eps in [0.0, 1.0, f64::NAN] {
        assert!(matches!(
            DpmSolverPp::new(vp, &sc, 10, eps, TimeGrid::LogSnr),
            Err(Error::InvalidSchedule { .. })
        ));
    }
    for bad in [
        vec![1.0, 0.5, 0.5],
        vec![0.5, 1.0],
        vec![1.0, 0.0],
        vec![1.5, 0.5],
        vec![1.0, f64::NAN],
    ] {
        let e = DpmSolverPp::with_times(vp, &sc, bad.clone()).unwrap_err();
        assert!(matches!(e, Error::InvalidSchedule { .. }), "{bad:?}: {e}");
    }
    assert!(matches!(
        DpmSolverPp::with_times(vp, &sc, vec![1.0]),
        Err(Error::ZeroCount { .. })
    ));
    let vp2 = Vp::<f64>::linear(2, 0.1, 20.0)?;
    assert!(matches!(
        DpmSolverPp::new(vp2, &sc, 10, EPS, TimeGrid::LogSnr),
        Err(Error::DimensionMismatch { .. })
    ));

    // Scores that blow up: NaN below σ = 1 (EDM), below t = 0.5 (DPM) → NonFiniteState.
    struct Nan;
    impl Target for Nan {
        type Scalar = f64;
        fn dim(&self) -> usize {
            1
        }
    }
    impl NoiseConditionalScore for Nan {
        fn score_sigma_into(&self, x: &[f64], sigma: f64, out: &mut [f64]) {
            out[0] = if sigma < 1.0 { f64::NAN } else { -x[0] };
        }
    }
    impl NoiseScoreBatch for Nan {}
    impl TimeConditionalScore for Nan {
        fn score_t_into(&self, x: &[f64], t: f64, out: &mut [f64]) {
            out[0] = if t < 0.5 { f64::NAN } else { -x[0] };
        }
    }
    let edm = Edm::new(Nan, SigmaLevels::new(vec![4.0, 2.0, 1.0, 0.5])?)?;
    match edm.run_from_prior(&ParticleRun::new(70).seed(1)) {
        Err(Error::NonFiniteState { chain: 0, step, .. }) => assert_eq!(step, 2),
        other => panic!("{other:?}"),
    }
    let dpm = DpmSolverPp::with_times(vp, Nan, vec![1.0, 0.75, 0.5, 0.25, 0.1])?;
    match dpm.run_from_prior(&ParticleRun::new(70).seed(1)) {
        Err(Error::NonFiniteState { chain: 0, step, .. }) => assert_eq!(step, 3),
        other => panic!("{other:?}"),
    }
    Ok(())
}
