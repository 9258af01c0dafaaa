//! Statistical tests of ULA and MALA against exact oracles (TESTING.md §2–§4 numbering).
//!
//! Error budget: every test has a family-wise false-failure rate α = 2e-6 (Bonferroni over
//! ~50 tests gives a suite rate below 1e-4), split evenly over its sub-statistics. Seeds are
//! fixed, so CI is deterministic; the small α matters when refactors re-roll the randomness.
//! Each test names the bug it catches and shows that bug moves its statistic far beyond the
//! threshold.

use langevin::mcmc::MalaState;
use langevin::prelude::*;
use langevin::rng::stream;
use langevin::targets::Gaussian;
use statrs::distribution::{ContinuousCDF, Normal};

const ALPHA: f64 = 2e-6;

/// Two-sided standard-normal critical value at level `alpha`.
fn z_crit(alpha: f64) -> f64 {
    Normal::standard().inverse_cdf(1.0 - alpha / 2.0)
}

/// DKW bound: P(sup|F̂ − F| > ε) ≤ 2 exp(−2nε²) = α.
fn dkw_eps(n: usize, alpha: f64) -> f64 {
    ((2.0 / alpha).ln() / (2.0 * n as f64)).sqrt()
}

fn ks_statistic(xs: &mut [f64], cdf: impl Fn(f64) -> f64) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len() as f64;
    let mut d: f64 = 0.0;
    for (i, &x) in xs.iter().enumerate() {
        let f = cdf(x);
        d = d.max((i as f64 + 1.0) / n - f).max(f - i as f64 / n);
    }
    d
}

fn mean_var(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, v)
}

/// T1 — ULA stationary moments on one long (here: four independent long) chains.
///
/// Target N(1.5, 2); h/s² ∈ {0.05, 0.5, 1.5}; chains start at the exact stationary law of
/// the *discretised* chain, N(m, v_h) with v_h = s²/(1 − h/(2s²)), so there is no burn-in.
/// ULA on a Gaussian is AR(1) with a = 1 − h/s², so the MCSEs are exact:
/// Var(ȳ) = v τ₁/N, τ₁ = (1+a)/(1−a); Var(mean y²) = 2v² τ₂/N, τ₂ = (1+a²)/(1−a²).
/// Six z-statistics at α/6 each.
///
/// Bugs caught (at h/s² = 0.5, N = 2e6; N = 5e6 at h/s² = 0.05): missing √2 in the noise (v_h 2.67 → 1.33,
/// z ≈ 400), the NCSN α/2-vs-h mix-up (drift h/2: v_h → 4.57), an accidental MH step
/// (v_h → s²: z ≈ 100), a wrong drift sign (divergence → error).
#[test]
fn t1_ula_stationary_moments() {
    let (m, s2) = (1.5, 2.0);
    let z = z_crit(ALPHA / 6.0);
    for (k, &ratio) in [0.05, 0.5, 1.5].iter().enumerate() {
        let h = ratio * s2;
        let vh = s2 / (1.0 - h / (2.0 * s2));
        let a: f64 = 1.0 - h / s2;
        let target = Gaussian::isotropic(vec![m], s2).unwrap();
        let ula = Ula::new(target, h).unwrap();
        let chains = 4;
        // The small step has a = 0.95 (τ₂ ≈ 19.5): more draws keep the power claim below.
        let per_chain = if ratio < 0.1 { 1_250_000 } else { 500_000 };
        let trace = Sampler::new(per_chain)
            .chains(chains)
            .warmup(0)
            .seed(1000 + k as u64)
            .run_from(
                &ula,
                |_, rng| vec![m + vh.sqrt() * f64::standard_normal(rng)],
                &langevin::run::NoAdaptation,
                &(),
            )
            .unwrap();
        let n = (chains * per_chain) as f64;
        let ys: Vec<f64> = trace.chains.iter().flatten().map(|x| x - m).collect();
        let ybar = ys.iter().sum::<f64>() / n;
        let y2bar = ys.iter().map(|y| y * y).sum::<f64>() / n;
        let tau1 = (1.0 + a) / (1.0 - a);
        let tau2 = (1.0 + a * a) / (1.0 - a * a);
        let z1 = ybar / (vh * tau1 / n).sqrt();
        let z2 = (y2bar - vh) / (2.0 * vh * vh * tau2 / n).sqrt();
        assert!(z1.abs() < z, "h/s²={ratio}: mean z = {z1}");
        assert!(
            z2.abs() < z,
            "h/s²={ratio}: E[y²] = {y2bar} vs v_h = {vh}, z = {z2}"
        );
        // Power: the most subtle bug above (an MH step giving v = s²) is ≥ 7.84 SE away.
        let se2 = (2.0 * vh * vh * tau2 / n).sqrt();
        assert!(
            (vh - s2) / se2 > z + 3.09,
            "test too weak at h/s² = {ratio}"
        );
    }
}

/// T2 — ULA transient moments from a fixed x₀ across C = 1e5 IID chains.
///
/// E[x_K] = m + a^K (x₀ − m) and Var[x_K] = v_h (1 − a^{2K}) exactly (TESTING.md §2.1);
/// K ∈ {1, 5, 50}, 6 statistics at α/6. SE of the mean √(V/C), of the sample variance
/// V √(2/(C−1)) (Gaussian draws).
///
/// Bugs caught: a step-count off-by-one (K=1 vs 2: mean 3.25 vs 2.375, z ≈ 900), a wrong
/// contraction a, noise bugs, and identical per-chain RNG streams (all chains equal:
/// sample variance 0 → z ≈ −220).
#[test]
fn t2_ula_transient_moments() {
    let (m, s2, h, x0) = (1.5, 2.0, 1.0, 5.0);
    let a: f64 = 1.0 - h / s2;
    let vh = s2 / (1.0 - h / (2.0 * s2));
    let c = 100_000;
    let z = z_crit(ALPHA / 6.0);
    let ula = Ula::new(Gaussian::isotropic(vec![m], s2).unwrap(), h).unwrap();
    for (i, &k) in [1usize, 5, 50].iter().enumerate() {
        let trace = Sampler::new(1)
            .chains(c)
            .warmup(k - 1)
            .seed(77 + i as u64)
            .run(&ula, &[vec![x0]])
            .unwrap();
        let xs: Vec<f64> = trace.chains.iter().map(|ch| ch[0]).collect();
        let (mean, var) = mean_var(&xs);
        let em = m + a.powi(k as i32) * (x0 - m);
        let ev = vh * (1.0 - a.powi(2 * k as i32));
        let zm = (mean - em) / (ev / c as f64).sqrt();
        let zv = (var - ev) / (ev * (2.0 / (c as f64 - 1.0)).sqrt());
        assert!(zm.abs() < z, "K={k}: mean {mean} vs {em} (z = {zm})");
        assert!(zv.abs() < z, "K={k}: var {var} vs {ev} (z = {zv})");
    }
}

/// Runs K MALA steps from `x0` and returns the final state (manual loop: the test controls
/// every stream).
fn mala_k_steps<P: LogDensity + Score + Sync>(
    mala: &Mala<P>,
    x0: &[P::Scalar],
    k: usize,
    rng: &mut langevin::rng::ChainRng,
) -> MalaState<P::Scalar> {
    let mut s = mala.init(x0, 0).unwrap();
    for _ in 0..k {
        mala.step(&mut s, rng).unwrap();
    }
    s
}

/// Invariance statistic of T4 on one coordinate: (KS distance, variance z, mean |x_K − x₀|).
struct Invariance {
    ks: Vec<f64>,
    var_z: Vec<f64>,
    movement: f64,
}

fn mala_invariance(
    target: &Gaussian<f64>,
    cooled: Option<&Gaussian<f64>>,
    h: f64,
    k: usize,
    c: usize,
    seed: u64,
) -> Invariance {
    // Start from the target's exact law; run MALA on `cooled` (or the target) for K steps.
    let d = target.dim();
    let run_on = cooled.unwrap_or(target);
    let mala = Mala::new(run_on.clone(), h).unwrap();
    let mut finals = vec![Vec::with_capacity(c); d];
    let mut moved = 0.0;
    for i in 0..c {
        let mut rng = stream(seed, i as u64);
        let mut x0 = vec![0.0; d];
        target.sample_into(&mut rng, &mut x0);
        let s = mala_k_steps(&mala, &x0, k, &mut rng);
        let x = s.position();
        moved += x.iter().zip(&x0).map(|(a, b)| (a - b).abs()).sum::<f64>() / d as f64;
        for j in 0..d {
            finals[j].push(x[j]);
        }
    }
    let cov = target.exact_covariance();
    let mut ks = Vec::new();
    let mut var_z = Vec::new();
    for j in 0..d {
        let sd = cov[j * d + j].sqrt();
        let n01 = Normal::new(target.mean()[j], sd).unwrap();
        let (_, v) = mean_var(&finals[j]);
        var_z.push((v - sd * sd) / (sd * sd * (2.0 / (c as f64 - 1.0)).sqrt()));
        ks.push(ks_statistic(&mut finals[j], |x| n01.cdf(x)));
    }
    Invariance {
        ks,
        var_z,
        movement: moved / c as f64,
    }
}

/// T4 — MALA K-step invariance (K = 20 ≥ 10) from exact draws, with movement check and
/// power self-check.
///
/// C = 2e4 chains start IID from the target; after K steps the law must still be the target.
/// Per coordinate: DKW sup|F̂ − F| < ε(C, α/(2d)) and a variance z-test at α/(2d).
/// Movement: mean |x_K − x₀| must exceed 0.5 (an identity kernel passes every invariance
/// test; 20 steps at acceptance ≈ 0.78 give ≈ 1.1 in 1-D).
/// Power self-check: MALA run on the cooled target (log p × 1.1: variance 1/1.1) must fail
/// the same test — its variance z is −9.1 SE at C = 2e4.
///
/// Bugs caught (TESTING.md §3, variance after K=20 at h=1): swapped correction (0.50), no
/// correction (0.66), √h noise (0.67), reverse density with ∇log p(x) (1.81), drift h/2
/// with the full-h correction (1.15), stale gradient after rejection (0.894: z ≈ −10.6).
#[test]
fn t4_mala_k_step_invariance() {
    let (k, c) = (20, 20_000);
    // 1-D N(0, 1) at h = 1.
    let g1 = Gaussian::standard(1).unwrap();
    let zc = z_crit(ALPHA / 4.0);
    let r = mala_invariance(&g1, None, 1.0, k, c, 4);
    assert!(
        r.ks[0] < dkw_eps(c, ALPHA / 4.0),
        "KS {} ≥ {}",
        r.ks[0],
        dkw_eps(c, ALPHA / 4.0)
    );
    assert!(r.var_z[0].abs() < zc, "variance z = {}", r.var_z[0]);
    assert!(r.movement > 0.5, "chains did not move: {}", r.movement);

    // Anisotropic, correlated 2-D N(0, Σ), h chosen for acceptance ≈ 0.6–0.7.
    let g2 = Gaussian::full(vec![0.5, -1.0], &[1.0, 0.6, 0.6, 0.5]).unwrap();
    let zc2 = z_crit(ALPHA / 8.0);
    let r2 = mala_invariance(&g2, None, 0.25, k, c, 5);
    for j in 0..2 {
        assert!(
            r2.ks[j] < dkw_eps(c, ALPHA / 8.0),
            "coord {j}: KS {}",
            r2.ks[j]
        );
        assert!(
            r2.var_z[j].abs() < zc2,
            "coord {j}: variance z = {}",
            r2.var_z[j]
        );
    }
    assert!(r2.movement > 0.3, "chains did not move: {}", r2.movement);

    // Power self-check: the cooled target must be rejected by the same statistics.
    let cooled = Gaussian::isotropic(vec![0.0], 1.0 / 1.1).unwrap();
    let p = mala_invariance(&g1, Some(&cooled), 1.0, k, c, 6);
    let fails = p.ks[0] >= dkw_eps(c, ALPHA / 4.0) || p.var_z[0].abs() >= zc;
    assert!(
        fails,
        "cooled target not detected: KS {}, var z {}",
        p.ks[0], p.var_z[0]
    );
}

/// T5 — deterministic MALA log-acceptance identities (no randomness in the statistic).
///
/// (a) A hand-computed case: N(0,1), x = 0, y = 1, h = 0.5: log p(y) − log p(x) = −0.5,
///     ‖y − x − h g_x‖² = 1, ‖x − y − h g_y‖² = 0.25, so log r = −0.5 + 0.75/2 = −0.125.
/// (b) log r(x, y) agrees with an independent transcription of §2.4 on random 7-D Gaussian
///     pairs and steps (relative 1e-12), and log r(x, y) + log r(y, x) = 0.
///
/// Bugs caught: correction sign, 4h vs 2h in the proposal density, gradient at the wrong
/// point — each changes log r by O(1).
#[test]
fn t5_mala_log_acceptance_identities() {
    let g = Gaussian::standard(1).unwrap();
    let (mut gx, mut gy) = ([0.0], [0.0]);
    let lx = langevin::density::log_density_and_score(&g, &[0.0], &mut gx);
    let ly = langevin::density::log_density_and_score(&g, &[1.0], &mut gy);
    let lr = langevin::mcmc::mala_log_acceptance(&[0.0], lx, &gx, &[1.0], ly, &gy, 0.5);
    assert!((lr - (-0.125)).abs() < 1e-14, "log r = {lr}");

    let d = 7;
    let mut cov = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            cov[i * d + j] = 0.3f64.powi((i as i32 - j as i32).abs())
                * (1.0 + 0.1 * i as f64).sqrt()
                * (1.0 + 0.1 * j as f64).sqrt();
        }
    }
    let mean: Vec<f64> = (0..d).map(|i| 0.1 * i as f64).collect();
    let g = Gaussian::full(mean.clone(), &cov).unwrap();
    let p = g.precision();
    let mut rng = stream(5, 0);
    for _ in 0..200 {
        let h = 0.01 + rng.random::<f64>();
        let x: Vec<f64> = (0..d)
            .map(|_| 2.0 * f64::standard_normal(&mut rng))
            .collect();
        let y: Vec<f64> = (0..d)
            .map(|_| 2.0 * f64::standard_normal(&mut rng))
            .collect();
        // Independent transcription: log p via the precision, gradients −P(x − m).
        let grad = |z: &[f64]| -> Vec<f64> {
            (0..d)
                .map(|i| -(0..d).map(|j| p[i * d + j] * (z[j] - mean[j])).sum::<f64>())
                .collect()
        };
        let quad = |z: &[f64]| -> f64 {
            -0.5 * (0..d)
                .map(|i| {
                    (z[i] - mean[i]) * (0..d).map(|j| p[i * d + j] * (z[j] - mean[j])).sum::<f64>()
                })
                .sum::<f64>()
        };
        let (g_x, g_y) = (grad(&x), grad(&y));
        let log_q = |to: &[f64], from: &[f64], g_from: &[f64]| -> f64 {
            -(0..d)
                .map(|i| (to[i] - from[i] - h * g_from[i]).powi(2))
                .sum::<f64>()
                / (4.0 * h)
        };
        let expected = quad(&y) - quad(&x) + log_q(&x, &y, &g_y) - log_q(&y, &x, &g_x);
        let (mut sx, mut sy) = (vec![0.0; d], vec![0.0; d]);
        let lx = langevin::density::log_density_and_score(&g, &x, &mut sx);
        let ly = langevin::density::log_density_and_score(&g, &y, &mut sy);
        let fwd = langevin::mcmc::mala_log_acceptance(&x, lx, &sx, &y, ly, &sy, h);
        let bwd = langevin::mcmc::mala_log_acceptance(&y, ly, &sy, &x, lx, &sx, h);
        let scale = expected.abs().max(1.0);
        assert!(
            (fwd - expected).abs() < 1e-12 * scale,
            "{fwd} vs {expected}"
        );
        assert!(
            (fwd + bwd).abs() < 1e-12 * scale,
            "antisymmetry: {fwd} + {bwd}"
        );
    }
}

/// Rao–Blackwellised acceptance of one MALA proposal from each of `n` stationary IID starts:
/// returns (mean, standard error) of min(1, r).
fn stationary_acceptance(d: usize, h: f64, n: usize, seed: u64) -> (f64, f64) {
    let g = Gaussian::<f64>::standard(d).unwrap();
    let mala = Mala::new(g.clone(), h).unwrap();
    let mut acc = Vec::with_capacity(n);
    let mut x0 = vec![0.0; d];
    for i in 0..n {
        let mut rng = stream(seed, i as u64);
        g.sample_into(&mut rng, &mut x0);
        let mut s = mala.init(&x0, 0).unwrap();
        acc.push(mala.step(&mut s, &mut rng).unwrap().accept_prob);
    }
    let (m, v) = mean_var(&acc);
    (m, (v / n as f64).sqrt())
}

/// T7 — MALA acceptance-rate oracles.
///
/// The exact stationary acceptance E[min(1, r)] on N(0, I_d) is a 1-D integral (the log
/// ratio is l₁χ²_d + l₂χ²_d, see tests/reference/mala_acceptance.py, whose output
/// tests/reference/mala_acceptance.txt reproduces TESTING.md §2.4 to 1e-6). IID stationary
/// starts make the SE exact; 5 sub-tests at α/5.
///
/// Bugs caught: any mis-scaling of h (h vs 2h at d = 1, h = 0.5: 0.921 → 0.784, z ≈ 100),
/// errors in the correction; and at d = 1000 the Roberts–Rosenthal optimal scaling
/// h = 1.361 d^(−1/3) giving ≈ 0.5747 (a noise √h bug gives acceptance ≈ 0).
#[test]
fn t7_mala_acceptance_oracles() {
    let z = z_crit(ALPHA / 5.0);
    let cases = [
        (1, 0.25, 0.9718834107, 100_000),
        (1, 0.5, 0.9208331517, 100_000),
        (1, 1.0, 0.7836531041, 100_000),
        (1, 1.5, 0.6332834267, 100_000),
        (1000, 0.1361, 0.5746772764, 4_000),
    ];
    for (k, &(d, h, exact, n)) in cases.iter().enumerate() {
        let (m, se) = stationary_acceptance(d, h, n, 700 + k as u64);
        assert!(
            ((m - exact) / se).abs() < z,
            "d={d} h={h}: {m} ± {se} vs exact {exact}"
        );
    }
}

/// T14 (foundation part) — tempered ULA: variance T·v_h.
///
/// N(0, 1), h = 1, T = 2: x' = x − h x + √(2hT) ξ has stationary variance T s²/(1 − h/(2s²))
/// = 4.0. The common bug of putting 1/T on the drift instead gives 2.667; √T missing gives
/// 2.0. 4 chains × 2.5e5 steps from the exact stationary law; AR(1) with a = 0, so the
/// draws are IID: SE of the second moment = v√(2/N).
#[test]
fn t14_tempered_ula_variance() {
    let ula = Ula::with_temperature(Gaussian::standard(1).unwrap(), 1.0, 2.0).unwrap();
    let v = 4.0f64;
    let trace = Sampler::new(250_000)
        .chains(4)
        .warmup(0)
        .seed(14)
        .run_from(
            &ula,
            |_, rng| vec![v.sqrt() * f64::standard_normal(rng)],
            &langevin::run::NoAdaptation,
            &(),
        )
        .unwrap();
    let n = 1_000_000.0;
    let m2 = trace.chains.iter().flatten().map(|x| x * x).sum::<f64>() / n;
    let zs = (m2 - v) / (v * (2.0 / n).sqrt());
    assert!(zs.abs() < z_crit(ALPHA), "E[x²] = {m2}, z = {zs}");
}

/// f32 and f64 both run ULA and MALA: stationary variance checks in single precision.
///
/// ULA on N(0, 1) at h = 0.5 has v_h = 4/3 (the single-precision rounding, ~1e-7 relative
/// per step, is far below the MC error 4e-3); MALA must give 1. 4 × 2.5e5 draws, α/2 each,
/// SEs from the AR(1) τ₂ for ULA (a = 0.5) and a conservative τ ≤ 10 for MALA (h = 1:
/// integrated autocorrelation of x² well below 10).
#[test]
fn f32_ula_and_mala_run_and_are_right() {
    let g = Gaussian::<f32>::standard(1).unwrap();
    let z = z_crit(ALPHA / 2.0);
    let n = 1_000_000.0;
    let ula = Ula::new(g.clone(), 0.5f32).unwrap();
    let t = Sampler::new(250_000)
        .chains(4)
        .warmup(100)
        .seed(32)
        .run(&ula, &[vec![0.0f32]])
        .unwrap();
    let m2 = t
        .chains
        .iter()
        .flatten()
        .map(|&x| (x as f64).powi(2))
        .sum::<f64>()
        / n;
    let (a, v): (f64, f64) = (0.5, 4.0 / 3.0);
    let tau2 = (1.0 + a * a) / (1.0 - a * a);
    let zu = (m2 - v) / (2.0 * v * v * tau2 / n).sqrt();
    assert!(zu.abs() < z, "f32 ULA E[x²] = {m2} vs 4/3, z = {zu}");

    let mala = Mala::new(g, 1.0f32).unwrap();
    let t = Sampler::new(250_000)
        .chains(4)
        .warmup(100)
        .seed(33)
        .run(&mala, &[vec![0.0f32]])
        .unwrap();
    let m2 = t
        .chains
        .iter()
        .flatten()
        .map(|&x| (x as f64).powi(2))
        .sum::<f64>()
        / n;
    let zm = (m2 - 1.0) / (2.0 * 10.0 / n).sqrt();
    assert!(zm.abs() < z, "f32 MALA E[x²] = {m2} vs 1, z = {zm}");
    assert!(
        (t.mean_accept_prob() - 0.7837).abs() < 0.01,
        "f32 MALA acceptance {}",
        t.mean_accept_prob()
    );
}
