//! Annealed Langevin dynamics: exact recursions (TESTING.md T10), Metropolis-adjusted
//! annealing, recovery of unequal mode weights, reproducibility and validation.
//!
//! Every statistical test has a fixed seed and a false-failure rate α ≤ 2e-6, split over its
//! sub-statistics (Bonferroni), and names the bug it catches.

use langevin::annealed::{
    AnnealedLangevin, AnnealedMala, LangevinCorrector, LevelStep, Marginal, ParticleRun, Predictor,
    ReverseSampler, SigmaLevels, SmoothedGaussian, Vp,
};
use langevin::prelude::*;
use langevin::rng::ChainRng;
use langevin::targets::{Gaussian, GaussianMixture};
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

/// Two-sided z critical value for a total false-failure rate `alpha` split over `k` statistics.
fn z_crit(alpha: f64, k: usize) -> f64 {
    Normal::standard().inverse_cdf(1.0 - alpha / (2.0 * k as f64))
}

/// z statistics of the sample mean and variance of IID Gaussian draws against (m, v).
fn z_mean_var(xs: &[f64], m: f64, v: f64) -> (f64, f64) {
    let c = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / c;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (c - 1.0);
    (
        (mean - m) / (v / c).sqrt(),
        (var - v) / (v * (2.0 / c).sqrt()),
    )
}

fn normal_init(mean: f64, sd: f64) -> impl Fn(usize, &mut ChainRng, &mut [f64]) + Sync {
    move |_i, rng, x| {
        for xi in x.iter_mut() {
            *xi = mean + sd * f64::standard_normal(rng);
        }
    }
}

/// T10 (TESTING.md §2.5/§3), sensitive configuration: L = 3, σ = (1, 0.2236, 0.05), target
/// N(0.5, 0.05²), NCSN ε = 1e-3, T = 10, x₀ ~ N(0, 1 + s²), C = 2e4 particles. With the exact
/// score each step is the affine map m ← c m + (1 − c) μ, V ← c² V + α_i, c = 1 − α_i/(2 v_i),
/// α_i = ε σ_i²/σ_L² (NCSN units; crate h_i = α_i/2), so the output is exactly N(m, V).
/// z-tests on mean and variance, α = 2e-6 split in two.
/// Bugs caught (each moves the variance by ≫ 7.84 SE at C = 2e4): the score evaluated at
/// σ_{i+1} at level i, the last level skipped, α_i ∝ σ_i instead of σ_i², a reversed
/// schedule, the α/2 factor (h = α instead of α/2), per-particle streams not independent.
#[test]
fn t10_annealed_langevin_exact_recursion() -> Result<()> {
    let (mu, s2) = (0.5, 0.05f64 * 0.05);
    let sigmas = [1.0, 0.2236, 0.05];
    let (eps, t_steps, c) = (1e-3, 10, 20_000);
    // The recursion, written independently of the library (NCSN notation α_i).
    let (mut m, mut v) = (0.0, 1.0 + s2);
    for &s in &sigmas {
        let alpha = eps * s * s / (0.05 * 0.05);
        let vi = s2 + s * s;
        let cc = 1.0 - alpha / (2.0 * vi);
        for _ in 0..t_steps {
            m = cc * m + (1.0 - cc) * mu;
            v = cc * cc * v + alpha;
        }
    }
    // The oracle values of TESTING.md.
    assert!(
        (v - 0.013550).abs() < 1e-6 && (m - 0.49772).abs() < 1e-5,
        "{m} {v}"
    );

    let target = GaussianMixture::new(vec![1.0], vec![vec![mu]], vec![s2])?;
    let al = AnnealedLangevin::new(
        &target,
        SigmaLevels::new(sigmas.to_vec())?,
        t_steps,
        LevelStep::Ncsn { epsilon: eps },
    )?;
    assert!((al.steps()[2] - 5e-4).abs() < 1e-15, "h_L = ε/2");
    let out = al.run(
        &ParticleRun::new(c).seed(1010),
        &normal_init(0.0, (1.0 + s2).sqrt()),
    )?;
    let (zm, zv) = z_mean_var(out.as_slice(), m, v);
    let zc = z_crit(2e-6, 2);
    assert!(zm.abs() < zc && zv.abs() < zc, "z_mean {zm}, z_var {zv}");

    // The same recursion through the full-covariance eigen-basis score (a 1×1 "full" Σ).
    let g = SmoothedGaussian::new(&Gaussian::full(vec![mu], &[s2])?)?;
    let al = AnnealedLangevin::new(
        &g,
        SigmaLevels::new(sigmas.to_vec())?,
        t_steps,
        LevelStep::Langevin { h_last: eps / 2.0 },
    )?;
    let out2 = al.run(
        &ParticleRun::new(c).seed(1010),
        &normal_init(0.0, (1.0 + s2).sqrt()),
    )?;
    // LevelStep::Ncsn{ε} and LevelStep::Langevin{ε/2} are the same sampler: identical
    // streams give identical particles (up to rounding in the two score formulas).
    for (a, b) in out.as_slice().iter().zip(out2.as_slice()) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }
    Ok(())
}

/// The final Tweedie step x ← x + σ_L² s(x, σ_L) on N(μ, s²) is the affine map
/// x ↦ (s²/v_L) x + (σ_L²/v_L) μ of the undenoised output (same seed ⇒ same particles).
/// Deterministic. Bug caught: denoising with σ_L instead of σ_L², at the wrong level, or a
/// missing/extra step.
#[test]
fn tweedie_denoising_is_the_exact_affine_map() -> Result<()> {
    let (mu, s2) = (-1.0, 0.3);
    let target = GaussianMixture::new(vec![1.0], vec![vec![mu]], vec![s2])?;
    let levels = SigmaLevels::geometric(2.0, 0.4, 4)?;
    let al = AnnealedLangevin::new(&target, levels, 7, LevelStep::Langevin { h_last: 0.01 })?;
    let run = ParticleRun::new(300).seed(3);
    let init = normal_init(0.0, 2.0);
    let raw = al.run(&run, &init)?;
    let den = al.clone().denoise(true).run(&run, &init)?;
    let vl = s2 + 0.16;
    for (x, y) in raw.as_slice().iter().zip(den.as_slice()) {
        let want = (s2 / vl) * x + (0.16 / vl) * mu;
        assert!((y - want).abs() < 1e-12, "{y} vs {want}");
    }
    Ok(())
}

/// Metropolis-adjusted annealing keeps each p_σ exactly invariant: one level σ = 0.3 on
/// N(0.5, 0.05²) (so p_σ = N(0.5, 0.0925)), start exactly at p_σ, h = 0.0925 (= v, where ULA's
/// stationary variance would be v/(1 − h/(2v)) = 2v), T = 10 steps, C = 2e4. z-tests on mean
/// and variance (α = 2e-6 split in two) plus a deterministic acceptance window.
/// Bugs caught: a missing or swapped correction (variance 2v-like, z ≫ 100), the proposal
/// density with the wrong h (variance biased), a stale score after rejection.
#[test]
fn annealed_mala_is_exact_at_each_level() -> Result<()> {
    let (mu, s2, sigma) = (0.5, 0.0025, 0.3);
    let v = s2 + sigma * sigma;
    let target = GaussianMixture::new(vec![1.0], vec![vec![mu]], vec![s2])?;
    let am = AnnealedMala::new(
        &target,
        SigmaLevels::new(vec![sigma])?,
        10,
        LevelStep::Langevin { h_last: v },
    )?;
    let out = am.run(
        &ParticleRun::new(20_000).seed(77),
        &normal_init(mu, v.sqrt()),
    )?;
    let (zm, zv) = z_mean_var(out.particles.as_slice(), mu, v);
    let zc = z_crit(2e-6, 2);
    assert!(zm.abs() < zc && zv.abs() < zc, "z_mean {zm}, z_var {zv}");
    // At h/v = 1 on a Gaussian the stationary acceptance is 0.7837 (TESTING.md §2.4); the
    // Rao–Blackwellised mean over 2e5 proposals has SE < 0.002.
    assert!(
        (out.acceptance[0] - 0.7837).abs() < 0.01,
        "{:?}",
        out.acceptance
    );
    assert_eq!(out.divergences, vec![0]);
    Ok(())
}

fn chi2(counts: &[f64], w: &[f64]) -> f64 {
    let n: f64 = counts.iter().sum();
    counts
        .iter()
        .zip(w)
        .map(|(o, p)| (o - n * p).powi(2) / (n * p))
        .sum()
}

fn mode_counts<'a>(gmm: &GaussianMixture<f64>, xs: impl Iterator<Item = &'a [f64]>) -> Vec<f64> {
    let mut c = vec![0.0; gmm.n_components()];
    for x in xs {
        c[gmm.nearest_component(x)] += 1.0;
    }
    c
}

/// Mode-weight recovery on the 8-mode ring (radius 4, std 0.3) with UNEQUAL weights ∝ 1..8.
/// All samplers start from the same cloud x₀ ~ N(0, 8² I) with C = 2000 particles.
/// * Annealed Langevin (10 geometric levels 8 → 0.3, T = 100, h_L = 0.01) and the PC sampler
///   (VP-SDE, 500 Euler–Maruyama steps + one Langevin corrector step, snr 0.16, exact marginal
///   score) must pass a χ² goodness-of-fit test (7 df) on the nearest-mode counts, α = 2e-6
///   split between the two (critical value 40.52). Their residual biases are small at this
///   budget: measured χ² = 7.6 (annealed) and 7.0 (PC, whole-batch corrector steps) with
///   these seeds (mean under the null: 7), and 8.8 and 3.4 at C = 4000 in the `gmm8` example,
///   i.e. χ²/C ≲ 2e-3.
/// * Plain ULA with the same start, h = h_L and the same budget (1000 steps) provably fails:
///   neighbouring modes are 3.06 apart (≈ 10 std), so the chance of a barrier crossing in
///   1000 steps is negligible and each particle keeps the mode of its starting basin; the
///   basins split N(0, 64 I) almost uniformly (1/8 each), far from weights 1/36 … 8/36
///   (measured χ² = 898 ≈ 0.45 C). The test asserts ULA's χ² exceeds the critical value.
///
/// Bugs caught: annealing that skips the large-σ levels or uses σ_{i+1} (weights freeze
/// early, like ULA), a corrector with per-particle SNR steps (measured χ² ≈ 550 at C = 4000), a VP
/// marginal without the α_t scaling, responsibilities that ignore the weights.
#[test]
fn unequal_mode_weights_recovered_by_annealing_and_pc_not_by_ula() -> Result<()> {
    let c = 2000;
    let weights: Vec<f64> = (1..=8).map(|k| k as f64).collect();
    let gmm = GaussianMixture::ring_weighted(weights, 4.0, 0.3)?;
    let w = gmm.weights().to_vec();
    let crit = ChiSquared::new(7.0).unwrap().inverse_cdf(1.0 - 1e-6);
    let init = normal_init(0.0, 8.0);

    let levels = SigmaLevels::geometric(8.0, 0.3, 10)?;
    let al = AnnealedLangevin::new(&gmm, levels, 100, LevelStep::Langevin { h_last: 0.01 })?;
    let out = al.run(&ParticleRun::new(c).seed(88), &init)?;
    let chi_al = chi2(&mode_counts(&gmm, out.iter()), &w);

    let sde = Vp::<f64>::linear(2, 0.1, 20.0)?;
    let pc = ReverseSampler::new(
        sde,
        Marginal::new(&gmm, sde)?,
        500,
        1e-3,
        Predictor::EulerMaruyama,
    )?
    .corrector(LangevinCorrector {
        snr: 0.16,
        steps: 1,
    })?;
    let out = pc.run(&ParticleRun::new(c).seed(89), &init)?;
    let chi_pc = chi2(&mode_counts(&gmm, out.iter()), &w);

    let starts: Vec<Vec<f64>> = (0..c)
        .map(|i| {
            let mut x = vec![0.0; 2];
            init(i, &mut langevin::rng::stream(88, i as u64), &mut x);
            x
        })
        .collect();
    let ula = Ula::new(&gmm, 0.01)?;
    let tr = Sampler::new(1)
        .warmup(999)
        .chains(c)
        .seed(90)
        .run(&ula, &starts)?;
    let chi_ula = chi2(&mode_counts(&gmm, tr.last_draws().into_iter()), &w);

    assert!(chi_al < crit, "annealed Langevin χ² = {chi_al} ≥ {crit}");
    assert!(chi_pc < crit, "PC sampler χ² = {chi_pc} ≥ {crit}");
    assert!(chi_ula > crit, "ULA χ² = {chi_ula} should exceed {crit}");
    Ok(())
}

/// Same seed ⇒ bit-identical particles on 1 and 2 threads, and distinct particles get
/// distinct streams. Bugs caught: per-thread RNGs, block layout depending on the pool size,
/// a shared stream.
#[test]
fn thread_count_independent() -> Result<()> {
    let gmm = GaussianMixture::<f64>::ring(8, 4.0, 0.3)?;
    let levels = SigmaLevels::geometric(5.0, 0.3, 5)?;
    let al = AnnealedLangevin::new(
        &gmm,
        levels.clone(),
        10,
        LevelStep::Langevin { h_last: 0.01 },
    )?;
    let init = normal_init(0.0, 5.0);
    let a = al.run(&ParticleRun::new(333).seed(5).threads(1), &init)?;
    let b = al.run(&ParticleRun::new(333).seed(5).threads(2), &init)?;
    assert_eq!(a, b);
    assert_ne!(a.get(0), a.get(1));
    let am = AnnealedMala::new(&gmm, levels, 10, LevelStep::Langevin { h_last: 0.01 })?;
    let a = am.run(&ParticleRun::new(200).seed(5).threads(1), &init)?;
    let b = am.run(&ParticleRun::new(200).seed(5).threads(2), &init)?;
    assert_eq!(a.particles, b.particles);
    assert_eq!(a.acceptance, b.acceptance);
    Ok(())
}

/// A diverging run stops with NonFiniteState naming a particle and a step; bad
/// configurations are typed errors. Bug caught: NaN particles returned silently.
#[test]
fn divergence_and_validation_errors() -> Result<()> {
    let target = GaussianMixture::new(vec![1.0], vec![vec![0.0]], vec![0.01])?;
    // h_i ≫ 2 v_i at every level: the unadjusted iteration explodes geometrically.
    let al = AnnealedLangevin::new(
        &target,
        SigmaLevels::new(vec![0.1])?,
        100_000,
        LevelStep::Langevin { h_last: 10.0 },
    )?;
    match al.run(&ParticleRun::new(10).seed(1), &normal_init(0.0, 1.0)) {
        Err(Error::NonFiniteState { chain, step, .. }) => {
            assert!(chain < 10 && step < 100_000);
        }
        other => panic!("expected NonFiniteState, got {other:?}"),
    }
    let lv = || SigmaLevels::new(vec![1.0, 0.5]).unwrap();
    assert!(AnnealedLangevin::new(&target, lv(), 0, LevelStep::Ncsn { epsilon: 1e-3 }).is_err());
    assert!(AnnealedLangevin::new(&target, lv(), 5, LevelStep::Ncsn { epsilon: 0.0 }).is_err());
    assert!(
        AnnealedLangevin::new(&target, lv(), 5, LevelStep::Langevin { h_last: f64::NAN }).is_err()
    );
    assert!(SigmaLevels::<f64>::new(vec![]).is_err());
    assert!(SigmaLevels::new(vec![1.0, 2.0]).is_err());
    assert!(SigmaLevels::new(vec![1.0, -0.5]).is_err());
    assert!(SigmaLevels::geometric(0.1, 1.0, 5).is_err());
    assert!(SigmaLevels::karras(80.0, 0.002, 10, 0.0).is_err());
    let bad_init = |_i: usize, _r: &mut ChainRng, x: &mut [f64]| x[0] = f64::NAN;
    assert!(matches!(
        al.run(&ParticleRun::new(3), &bad_init),
        Err(Error::InvalidInitialState { chain: 0, .. })
    ));
    // Empty runs are well-formed.
    assert_eq!(
        al.run(&ParticleRun::new(0), &normal_init(0.0, 1.0))?.len(),
        0
    );
    Ok(())
}

/// Schedules: geometric ratios constant, Karras endpoints and ρ = 7 spacing (Karras et al.
/// 2022, eq. 5), NCSN ε ↔ h conversion. Deterministic. Bugs caught: off-by-one in the level
/// index, ρ applied to the wrong end, the factor 2 in LevelStep.
#[test]
fn schedules_match_their_formulas() -> Result<()> {
    let g = SigmaLevels::<f64>::geometric(1.0, 0.01, 10)?;
    let r = g.as_slice()[1] / g.as_slice()[0];
    for w in g.as_slice().windows(2) {
        assert!((w[1] / w[0] - r).abs() < 1e-12);
    }
    let k = SigmaLevels::<f64>::karras(80.0, 0.002, 18, 7.0)?;
    assert!((k.sigma_max() - 80.0).abs() < 1e-12 && (k.sigma_min() - 0.002).abs() < 1e-15);
    let want =
        (80f64.powf(1.0 / 7.0) + 0.5 * (0.002f64.powf(1.0 / 7.0) - 80f64.powf(1.0 / 7.0))).powi(7);
    let mid = SigmaLevels::<f64>::karras(80.0, 0.002, 3, 7.0)?.as_slice()[1];
    assert!((mid - want).abs() < 1e-12 * want);
    assert!((LevelStep::Ncsn { epsilon: 2e-5 }.h(1.0, 0.01).unwrap() - 0.1).abs() < 1e-14);
    Ok(())
}
