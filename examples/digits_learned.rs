//! A **learned** score on the 1797 handwritten 8×8 digits (UCI/scikit-learn,
//! `examples/data/digits.csv.gz`, CC BY 4.0): does a trained network generate digits that are
//! *not* copies of its training images, where the exact empirical score (`examples/digits.rs`)
//! only returns training images?
//!
//! 300 images (a seeded random split) are held out; an NCSN MLP
//! `s_θ(x, σ) = f_θ([x, e(ln σ)])/σ` (64 + 9 → 256 → 256 → 64, SiLU, sinusoidal embedding of
//! ln σ, f32) is trained by denoising score matching on the other 1497 (1000 epochs of batch
//! 128, AdamW, cosine learning-rate decay), with σ log-uniform in [0.02, 5] (σ_max ≈ the largest pairwise distance of the data, 4.8; Song & Ermon 2020).
//! Then 64 digits are drawn by annealed Langevin (20 geometric levels 5 → 0.02, 100 steps
//! each, final Tweedie denoising step) on the learned score, and by the same sampler on the
//! empirical score of the 1497 training images.
//!
//! For each sample the example prints the Euclidean distance (pixels in [0, 1]) to its
//! nearest training image, next to the same distance for held-out real digits — what a
//! genuinely new digit looks like — and for the empirical-score samples (copies: distance 0).
//! A sample much closer to a training image than held-out digits are is a (near-)copy; much
//! farther, it is off the data (noise or a blend of strokes). Judge the grids too.
//!
//! Finally the example reports the model's **bits/dim** on the 300 held-out images and on 300
//! training images, through the probability-flow ODE (`annealed::FlowLikelihood`; see
//! `bits_per_dim` below for the ε, the dequantisation and the units). Measured (load ≈ 19):
//! held-out median 2.875, mean 3.45 ± 0.38 bits/dim; training median 2.823, mean 2.865 ±
//! 0.020 — against 2.46 / 2.41 for an independent-pixel categorical baseline and 4.09 for a
//! uniform code: a DSM-trained NCSN is not a good density model here, and it generalises
//! (held-out ≈ training at the median). The held-out mean is pulled up by 6 images whose
//! log-likelihood is not resolved by Heun (100 vs 200 steps differ by up to 37 bits/dim; the
//! forward ODE path of an image the model finds very unlikely expands exponentially); the
//! median image converges (|Δ| ≈ 2e-3). The likelihoods add 36 s (400 score+JVP evaluations
//! of 3 rows per image, 600 images, twice: 100 and 200 steps) to a run of 2 min 7 s without
//! them.
//!
//! Run with `cargo run --release --features neural --example digits_learned` (40 s on the 2
//! shared cores at load ≈ 7, 1 min 27 s at load ≈ 14; most of it training). With `--features neural,plot` it writes
//! `langevin-digits-learned.png` in the system's temporary directory: 64 learned samples,
//! then 16 held-out real digits and 16 empirical-score samples.

use langevin::annealed::{
    AnnealedLangevin, Divergence, EmpiricalScore, FlowLikelihood, LevelStep, LogLikelihood,
    OdeSolver, ParticleRun, Probe, SigmaLevels, Ve, mean_bits_per_dim,
};
use langevin::neural::{Embedding, LrSchedule, NcsnMlp, TimeFromNoise, TrainConfig};
use langevin::prelude::*;
use langevin::rng::ChainRng;
use rand::RngExt;
use rand::seq::SliceRandom;
use std::time::Instant;

#[path = "common/data.rs"]
mod data;

const D: usize = 64;
const HELD_OUT: usize = 300;
const M: usize = 64;
const SIGMA_MAX: f64 = 5.0;
const SIGMA_MIN: f64 = 0.02;
const HIDDEN: usize = 256;
const EPOCHS: usize = 1000;

fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn summary(name: &str, d: &[f64], near: f64) {
    let mut s = d.to_vec();
    s.sort_by(f64::total_cmp);
    let mean = s.iter().sum::<f64>() / s.len() as f64;
    let below = s.iter().filter(|&&v| v < near).count();
    println!(
        "{name:>34} {:>4} {:>6.3} {:>6.3} {:>6.3} {:>6.3} {:>6.3} {:>6.3}   {below:>3} ({:.0} %)",
        s.len(),
        s[0],
        quantile(&s, 0.1),
        quantile(&s, 0.5),
        mean,
        quantile(&s, 0.9),
        s[s.len() - 1],
        100.0 * below as f64 / s.len() as f64
    );
}

/// Uniform dequantisation of pixels k/16: `x = (k + u − ½)/16`, u ~ U[0, 1) from the
/// image's own stream, i.e. uniform noise over the level's bin of width 1/16.
fn dequantise(x: &[f64], seed: u64) -> Vec<f32> {
    x.chunks_exact(D)
        .enumerate()
        .flat_map(|(i, img)| {
            let mut rng = langevin::rng::stream(seed, i as u64);
            img.iter()
                .map(|&v| (v + (rng.random::<f64>() - 0.5) / 16.0) as f32)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Held-out and training bits/dim of the learned model through the probability-flow ODE.
///
/// The NCSN model is the score of the VE SDE (σ_min = 0.01, σ_max = 5) through
/// `TimeFromNoise`; the ODE starts at the ε where the marginal std is 0.02, the smallest noise
/// level the model was trained on (below it the score is an extrapolation), so the density
/// measured is the model's p_ε — the data law smoothed by N(0, 0.02²). The pixels are 17-level
/// (0–16, scaled to k/16) and are dequantised uniformly within their bin; then
/// `−E_u log p(x)` upper-bounds the model's discrete code length (Theis et al. 2016). Bits/dim
/// are stated in level units (y = 16 x): the Jacobian adds `log2 16 = 4` bits/dim to the
/// [0, 1]-scale figure, so a uniform code over the 17 levels scores log2 17 = 4.09.
fn bits_per_dim(model: &NcsnMlp<f32>, train: &[f64], held: &[f64]) -> Result<()> {
    let (sde_min, sigma_eps) = (0.01f64, SIGMA_MIN);
    let sde = Ve::<f32>::new(D, sde_min, SIGMA_MAX)?;
    // marginal std at ε: sqrt(σ(ε)² − σ_min²) = σ_eps.
    let eps = (sigma_eps.hypot(sde_min) / sde_min).ln() / (SIGMA_MAX / sde_min).ln();
    let score = TimeFromNoise::new(model, sde)?;
    let probes = 2;
    let lik = |solver: OdeSolver| -> Result<_> {
        FlowLikelihood::new(sde, &score, eps)?
            .solver(solver)?
            .divergence(Divergence::Hutchinson {
                probes,
                probe: Probe::Rademacher,
                seed: 11,
            })
    };
    let level_bits = 16f64.log2();
    // A baseline: independent pixels, each a categorical over the 17 levels fitted on the
    // training images (add-one smoothing).
    let mut counts = vec![[1.0f64; 17]; D];
    for img in train.chunks_exact(D) {
        for (c, &v) in counts.iter_mut().zip(img) {
            c[(v * 16.0).round() as usize] += 1.0;
        }
    }
    let indep = |xs: &[f64]| -> f64 {
        let mut nats = 0.0;
        for img in xs.chunks_exact(D) {
            for (c, &v) in counts.iter().zip(img) {
                nats -= (c[(v * 16.0).round() as usize] / c.iter().sum::<f64>()).ln();
            }
        }
        nats / (xs.len() as f64 * std::f64::consts::LN_2)
    };
    println!(
        "\nbits/dim of the learned model (probability-flow ODE, VE σ 0.01 → {SIGMA_MAX}, from ε = \
         {eps:.4} where σ_ε = {sigma_eps}; Heun, Hutchinson with {probes} Rademacher probes; \
         pixels dequantised, in units of the 17 levels):"
    );
    let (coarse, fine) = (
        lik(OdeSolver::Heun { steps: 100 })?,
        lik(OdeSolver::Heun { steps: 200 })?,
    );
    for (name, xs) in [("held-out", held), ("training", train)] {
        let x = dequantise(xs, 3);
        let (lc, ll) = (coarse.log_likelihood(&x)?, fine.log_likelihood(&x)?);
        let (b, se) = mean_bits_per_dim(&ll);
        let probe_se = (ll.iter().map(|l| l.std_error.powi(2)).sum::<f64>()
            / (ll.len() as f64).powi(2))
        .sqrt()
            / (D as f64 * std::f64::consts::LN_2);
        let mut diff: Vec<f64> = lc
            .iter()
            .zip(&ll)
            .map(|(a, b)| (a.bits_per_dim() - b.bits_per_dim()).abs())
            .collect();
        diff.sort_by(f64::total_cmp);
        let unresolved = diff.iter().filter(|&&d| d > 0.01).count();
        println!(
            "  {name:>8} ({} images): mean {:.3} ± {se:.3}, median {:.3} bits/dim (probe part of \
             the SE {probe_se:.3}; {} score+JVP evaluations per image); independent-pixel \
             baseline {:.3}, uniform {:.3}\n           Heun 100 vs 200 steps: per image |Δ| \
             median {:.1e}, {unresolved} images with |Δ| > 0.01 bits/dim (max {:.1})",
            ll.len(),
            b + level_bits,
            median_bits(&ll) + level_bits,
            ll[0].score_evals,
            indep(xs),
            17f64.log2(),
            diff[diff.len() / 2],
            diff[diff.len() - 1],
        );
    }
    Ok(())
}

fn median_bits(ll: &[LogLikelihood]) -> f64 {
    let mut b: Vec<f64> = ll.iter().map(LogLikelihood::bits_per_dim).collect();
    b.sort_by(f64::total_cmp);
    b[b.len() / 2]
}

fn main() -> Result<()> {
    let all = data::digits().expect("read examples/data/digits.csv.gz");
    let n_all = all.len() / D;
    // A seeded random split: HELD_OUT images aside, the rest for training.
    let mut idx: Vec<usize> = (0..n_all).collect();
    idx.shuffle(&mut langevin::rng::stream(2024, 0));
    let rows = |ids: &[usize]| -> Vec<f64> {
        ids.iter()
            .flat_map(|&i| all[i * D..(i + 1) * D].iter().copied())
            .collect()
    };
    let (held_ids, train_ids) = idx.split_at(HELD_OUT);
    let (train, held) = (rows(train_ids), rows(held_ids));
    let n_train = train_ids.len();
    let emp = EmpiricalScore::new(train.clone(), D)?;

    // Held-out real digits: distance to the nearest training image.
    let held_d: Vec<f64> = held.chunks_exact(D).map(|x| emp.nearest(x).1).collect();
    let mut hs = held_d.clone();
    hs.sort_by(f64::total_cmp);
    let near = quantile(&hs, 0.05);

    // Train the network.
    let train32: Vec<f32> = train.iter().map(|&v| v as f32).collect();
    let mut model = NcsnMlp::<f32>::new(
        D,
        &[HIDDEN, HIDDEN],
        Embedding::Sinusoidal { frequencies: 4 },
        1,
    )?;
    let sigmas = SigmaLevels::geometric(SIGMA_MAX as f32, SIGMA_MIN as f32, 20)?;
    let cfg = TrainConfig::new()
        .epochs(EPOCHS)
        .batch_size(128)
        .learning_rate(2e-3)
        .lr_schedule(LrSchedule::Cosine {
            final_fraction: 0.02,
        })
        .warmup_steps(200)
        .validation_fraction(0.05)
        .seed(5);
    let t0 = Instant::now();
    let rep = model.train_dsm(&train32, &sigmas, &cfg)?;
    let t_train = t0.elapsed().as_secs_f64();
    println!(
        "{n_all} digits (8×8, pixels in [0, 1]): {n_train} for training, {HELD_OUT} held out.\n\
         trained NCSN MLP 73 → {HIDDEN} → {HIDDEN} → 64 (f32) by DSM: {} epochs, {} steps, {:.0}k \
         examples/s; loss train {:.4} / validation {:.4} (first epoch {:.4})\n",
        rep.epochs,
        rep.steps,
        rep.examples_per_second() / 1e3,
        rep.train_loss.last().copied().unwrap_or(f64::NAN),
        rep.validation_loss.last().copied().unwrap_or(f64::NAN),
        rep.train_loss.first().copied().unwrap_or(f64::NAN),
    );

    // The same annealed Langevin sampler on the learned and on the empirical score.
    let t1 = Instant::now();
    let levels = SigmaLevels::geometric(SIGMA_MAX, SIGMA_MIN, 20)?;
    let step = LevelStep::Langevin {
        h_last: 0.2 * SIGMA_MIN * SIGMA_MIN,
    };
    let run = ParticleRun::new(M).seed(7);
    let start32 = |_i: usize, rng: &mut ChainRng, x: &mut [f32]| {
        for xi in x.iter_mut() {
            *xi = 0.5 + SIGMA_MAX as f32 * f32::standard_normal(rng);
        }
    };
    let start64 = |_i: usize, rng: &mut ChainRng, x: &mut [f64]| {
        for xi in x.iter_mut() {
            *xi = 0.5 + SIGMA_MAX * f64::standard_normal(rng);
        }
    };
    let levels32 = SigmaLevels::geometric(SIGMA_MAX as f32, SIGMA_MIN as f32, 20)?;
    let learned: Vec<Vec<f64>> = AnnealedLangevin::new(&model, levels32, 100, step.clone())?
        .denoise(true)
        .run(&run, &start32)?
        .iter()
        .map(|x| x.iter().map(|&v| v as f64).collect())
        .collect();
    let empirical: Vec<Vec<f64>> = AnnealedLangevin::new(&emp, levels, 100, step)?
        .denoise(true)
        .run(&run, &start64)?
        .iter()
        .map(|x| x.to_vec())
        .collect();
    let t_sample = t1.elapsed().as_secs_f64();
    let learned_d: Vec<f64> = learned.iter().map(|x| emp.nearest(x).1).collect();
    let emp_d: Vec<f64> = empirical.iter().map(|x| emp.nearest(x).1).collect();

    println!(
        "distance to the nearest training image ({M} samples each; annealed Langevin, 20 levels \
         {SIGMA_MAX} → {SIGMA_MIN}, 100 steps each, Tweedie denoising):\n"
    );
    println!(
        "{:>34} {:>4} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}   closer than {near:.3}¹",
        "", "n", "min", "10 %", "median", "mean", "90 %", "max"
    );
    summary("held-out real digits (all)", &held_d, near);
    summary("held-out real digits (first 64)", &held_d[..M], near);
    summary("learned score samples", &learned_d, near);
    summary("empirical score samples", &emp_d, near);
    println!(
        "  ¹ {near:.3} is the 5 % quantile of the held-out digits' distances: closer than that, \
         a sample is nearer a training image than 95 % of new real digits are."
    );
    println!("\nper sample (learned | held-out real | empirical), 8 per line:");
    for k in 0..M / 8 {
        let line = |d: &[f64]| {
            d[8 * k..8 * k + 8]
                .iter()
                .map(|v| format!("{v:.2}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        println!(
            "  {}  |  {}  |  {}",
            line(&learned_d),
            line(&held_d),
            line(&emp_d)
        );
    }

    println!("\nfirst learned samples | their nearest training images:");
    for x in learned.iter().take(3) {
        let (j, _) = emp.nearest(x);
        let (a, b) = (
            data::ascii(x),
            data::ascii(emp.point(j).unwrap_or(&[0.0; D])),
        );
        for r in 0..8 {
            println!("  {}  |  {}", a[r], b[r]);
        }
        println!();
    }
    let t2 = Instant::now();
    bits_per_dim(&model, &train[..HELD_OUT * D], &held)?;
    let t_lik = t2.elapsed().as_secs_f64();
    println!("training {t_train:.1} s, sampling {t_sample:.1} s, likelihoods {t_lik:.1} s");

    #[cfg(feature = "plot")]
    {
        let mut images: Vec<Vec<f64>> = learned
            .iter()
            .map(|x| x.iter().map(|v| v.clamp(0.0, 1.0)).collect())
            .collect();
        images.extend(held.chunks_exact(D).take(16).map(|x| x.to_vec()));
        images.extend(
            empirical
                .iter()
                .take(16)
                .map(|x| x.iter().map(|v| v.clamp(0.0, 1.0)).collect()),
        );
        let png = std::env::temp_dir().join("langevin-digits-learned.png");
        match langevin::plot::image_grid(&png, &images, 8, 8, 16, 6) {
            Ok(()) => println!(
                "wrote {} (rows 1–4: learned samples; 5: held-out real digits; 6: empirical-score \
                 samples)",
                png.display()
            ),
            Err(e) => println!("could not write {}: {e}", png.display()),
        }
    }
    Ok(())
}
