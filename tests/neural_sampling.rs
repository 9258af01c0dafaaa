//! Annealed Langevin on a *learned* score of the 8-mode ring with unequal weights recovers
//! the mode weights.
//!
//! Statistic: Pearson's X² = Σ_k (n_k − N w_k)² / (N w_k) of the particles' nearest-mode
//! counts against the true weights w_k = k/36. If the sampler on the learned score puts mass
//! p_k on mode k, X² is approximately ‖Z + μ‖² with ‖Z‖² ~ χ²₇ and ‖μ‖² = N·D,
//! D = Σ (p_k − w_k)²/w_k — the training (and sampler) error. By the triangle inequality
//! P(X² > (sqrt(q) + sqrt(N D))²) ≤ P(χ²₇ > q), so with q the 1 − 2e-6 quantile of χ²₇ and
//! an allowance D_allow ≥ D the false-failure rate is ≤ 2e-6.
//!
//! D was measured by `measure_mode_weight_error` (run it with `--ignored`): 16 000 particles
//! of the same sampler on the same trained model give D̂ = 0.0128 (the exact score under the
//! same sampler: D̂ = 0.0028 — the sampler's own bias; the χ²₇ noise in D̂ is only
//! 7/16 000 ≈ 0.0004). The allowance D_allow = 0.04 ≈ 3 D̂ leaves room for a model trained
//! on another CPU, whose rounding changes the trained weights. With N = 2000 the threshold is
//! (sqrt(38.9) + sqrt(80))² ≈ 230; measured X² = 20.2. Power: a sampler that finds the modes
//! but not their weights (measured: the same sampler on the exact score of the *equal*-weight
//! ring) gives X² ≈ 1210; a learned model that puts the weights of the equal ring would too.
#![cfg(feature = "neural")]

use langevin::annealed::{AnnealedLangevin, LevelStep, NoiseScoreBatch, ParticleRun, SigmaLevels};
use langevin::neural::{Embedding, NcsnMlp, SigmaDraw, TrainConfig};
use langevin::prelude::*;
use langevin::rng::{ChainRng, stream};
use langevin::targets::GaussianMixture;
use statrs::distribution::{ChiSquared, ContinuousCDF};

const N: usize = 2000;
const D_ALLOW: f64 = 0.04;

fn weights() -> Vec<f64> {
    (1..=8).map(|k| k as f64 / 36.0).collect()
}

fn gmm() -> GaussianMixture<f32> {
    GaussianMixture::ring_weighted((1..=8).map(|k| k as f32).collect(), 4.0, 0.3).unwrap()
}

fn levels() -> SigmaLevels<f32> {
    SigmaLevels::geometric(8.0, 0.3, 10).unwrap()
}

fn model() -> NcsnMlp<f32> {
    let g = gmm();
    let mut rng = stream(1, 0);
    let mut data = vec![0.0f32; 2 * 8000];
    for r in data.chunks_exact_mut(2) {
        g.sample_into(&mut rng, r);
    }
    let mut m =
        NcsnMlp::<f32>::new(2, &[48, 48], Embedding::Sinusoidal { frequencies: 4 }, 2).unwrap();
    let cfg = TrainConfig::new()
        .epochs(30)
        .batch_size(256)
        .learning_rate(2e-3)
        .lr_schedule(langevin::neural::LrSchedule::Cosine {
            final_fraction: 0.05,
        })
        .sigma_draw(SigmaDraw::Levels)
        .validation_fraction(0.0)
        .seed(3);
    m.train_dsm(&data, &levels(), &cfg).unwrap();
    m
}

fn init(_: usize, rng: &mut ChainRng, x: &mut [f32]) {
    for v in x.iter_mut() {
        *v = 8.0 * f32::standard_normal(rng);
    }
}

/// Nearest-mode counts of `n` particles of annealed Langevin on `score`.
fn counts<P: NoiseScoreBatch<Scalar = f32> + Sync>(score: P, n: usize, seed: u64) -> [usize; 8] {
    let al =
        AnnealedLangevin::new(score, levels(), 30, LevelStep::Langevin { h_last: 0.01 }).unwrap();
    let p = al.run(&ParticleRun::new(n).seed(seed), &init).unwrap();
    let mut c = [0usize; 8];
    for x in p.as_slice().chunks_exact(2) {
        let a = (x[1] as f64).atan2(x[0] as f64);
        let k = (a / (std::f64::consts::TAU / 8.0)).round().rem_euclid(8.0) as usize;
        c[k] += 1;
    }
    c
}

/// D̂ = Σ (n_k/N − w_k)² / w_k.
fn divergence(c: &[usize; 8]) -> f64 {
    let n: usize = c.iter().sum();
    c.iter()
        .zip(weights())
        .map(|(&ck, w)| (ck as f64 / n as f64 - w).powi(2) / w)
        .sum()
}

#[test]
fn learned_ring_score_recovers_mode_weights() {
    let m = model();
    let c = counts(&m, N, 11);
    let x2 = N as f64 * divergence(&c);
    let q = ChiSquared::new(7.0).unwrap().inverse_cdf(1.0 - 2e-6);
    let threshold = (q.sqrt() + (N as f64 * D_ALLOW).sqrt()).powi(2);
    let w: Vec<String> = c
        .iter()
        .map(|&k| format!("{:.3}", k as f64 / N as f64))
        .collect();
    println!("learned: weights {w:?}, X² = {x2:.1} (threshold {threshold:.1}, q = {q:.1})");
    assert!(x2 < threshold, "X² = {x2} ≥ {threshold}: counts {c:?}");
    // Power: equal weights on the same modes (the exact equal-weight ring) fail.
    let eq = GaussianMixture::<f32>::ring(8, 4.0, 0.3).unwrap();
    let x2_eq = N as f64 * divergence(&counts(&eq, N, 11));
    println!("equal-weight ring under the same sampler: X² = {x2_eq:.1}");
    assert!(x2_eq > threshold);
}

#[test]
#[ignore = "measurement behind D_ALLOW; takes a while"]
fn measure_mode_weight_error() {
    let m = model();
    let c = counts(&m, 16_000, 101);
    println!("learned: counts {c:?}, D̂ = {:.5}", divergence(&c));
    let c = counts(gmm(), 16_000, 101);
    println!("exact:   counts {c:?}, D̂ = {:.5}", divergence(&c));
}
