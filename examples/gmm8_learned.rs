//! A **learned** score on the 8-mode ring with unequal weights (∝ 1, 2, …, 8): an NCSN MLP
//! `s_θ(x, σ) = f_θ([x, ln σ])/σ` (2 + 1 → 128 → 128 → 2, SiLU, f32) trained by denoising
//! score matching on 20 000 samples, then annealed Langevin and the predictor–corrector
//! sampler driven by it — and, for comparison, the *same* samplers driven by the exact score
//! of the mixture. Printed: the training run, the relative error of the learned score at
//! several noise levels, and the recovered mode weights next to the truth with a χ²
//! goodness-of-fit statistic (7 degrees of freedom; the 1e-6 critical value is ≈ 40.5).
//!
//! * Training: σ drawn log-uniformly in [0.01, 8] per example (σ_max ≈ the diameter of the
//!   data, Song & Ermon 2020), the loss ½‖σ s_θ + z‖² (λ(σ) = σ²), AdamW with a cosine
//!   learning-rate decay, 5 % of the data held out for the validation loss.
//! * Annealed Langevin: 10 geometric levels 8 → 0.3, 100 steps each, `h_L = 0.01` (the
//!   settings of `examples/gmm8.rs`), from N(0, 8² I).
//! * Predictor–corrector on the VE SDE σ(t) = 0.01 · 800^t: 500 reverse Euler–Maruyama steps
//!   with one Langevin corrector step each (SNR 0.16); the learned NCSN model becomes a
//!   time-conditional score through `TimeFromNoise`.
//!
//! The exact-score rows have sampling error only (and the samplers' discretisation bias); the
//! learned rows add the training error of the network, which the "relative error" table
//! shows per noise level.
//!
//! Run with `cargo run --release --features neural --example gmm8_learned` (41 s on the
//! 2 shared cores at load ≈ 7, 1 min 49 s at load ≈ 14; about half of it training). `-- --save PATH` writes the trained model as a
//! safetensors file; `-- --load PATH` skips training and samples with a model from a file —
//! for instance one trained in JAX by `benches/jax/train_mlp.py --save PATH`. With `--features neural,plot` it also draws the learned
//! score field over the exact one, `langevin-gmm8-learned-score-field.png`, and scatter plots
//! of the learned samplers' particles, `langevin-gmm8-learned-<sampler>.png`, in the system's
//! temporary directory.

use langevin::annealed::{
    AnnealedLangevin, LangevinCorrector, LevelStep, Marginal, NoiseScoreBatch, ParticleRun,
    Predictor, ReverseSampler, SigmaLevels, TimeConditionalScore, Ve,
};
use langevin::neural::{Embedding, LrSchedule, NcsnMlp, TimeFromNoise, TrainConfig};
use langevin::prelude::*;
use langevin::rng::ChainRng;
use langevin::targets::GaussianMixture;
use std::time::Instant;

const N_TRAIN: usize = 20_000;
const N: usize = 4_000;
const SIGMA_MAX: f64 = 8.0;
const SIGMA_MIN: f64 = 0.01;
const BATCH: usize = 256;

fn row(gmm: &GaussianMixture<f64>, name: &str, xs: &[Vec<f64>]) {
    let mut c = vec![0.0; gmm.n_components()];
    for x in xs {
        c[gmm.nearest_component(x)] += 1.0;
    }
    let n = xs.len() as f64;
    let chi2: f64 = c
        .iter()
        .zip(gmm.weights())
        .map(|(o, p)| (o - n * p).powi(2) / (n * p))
        .sum();
    print!("{name:>28}");
    for v in &c {
        print!(" {:6.3}", v / n);
    }
    println!("   χ² = {chi2:8.1}");
}

/// Annealed Langevin and the VE predictor–corrector sampler on one score (noise-conditional
/// for the first, time-conditional for the second); final particles as f64 rows.
/// Final particles as f64 rows.
type Rows = Vec<Vec<f64>>;

fn sample<T, P, Q>(nc: P, tc: Q, sde: Ve<T>) -> Result<(Rows, Rows)>
where
    T: Real,
    P: NoiseScoreBatch<Scalar = T> + Sync,
    Q: TimeConditionalScore<Scalar = T> + Sync,
{
    let init = |_i: usize, rng: &mut ChainRng, x: &mut [T]| {
        for xi in x.iter_mut() {
            *xi = T::c(SIGMA_MAX) * T::standard_normal(rng);
        }
    };
    let levels = SigmaLevels::geometric(T::c(SIGMA_MAX), T::c(0.3), 10)?;
    let al = AnnealedLangevin::new(nc, levels, 100, LevelStep::Langevin { h_last: 0.01 })?;
    let al_x = al.run(&ParticleRun::new(N).seed(11), &init)?;
    let pc = ReverseSampler::new(sde, tc, 500, 1e-3, Predictor::EulerMaruyama)?.corrector(
        LangevinCorrector {
            snr: 0.16,
            steps: 1,
        },
    )?;
    let pc_x = pc.run_from_prior(&ParticleRun::new(N).seed(11))?;
    let rows = |p: &langevin::annealed::Particles<T>| {
        p.iter()
            .map(|x| x.iter().map(|v| v.to_f64()).collect())
            .collect::<Rows>()
    };
    Ok((rows(&al_x), rows(&pc_x)))
}

fn main() -> Result<()> {
    let weights: Vec<f64> = (1..=8).map(|k| k as f64).collect();
    let gmm = GaussianMixture::ring_weighted(weights, 4.0, 0.3)?;

    // Training data: 20 000 draws of the mixture, stored as f32.
    let mut rng = langevin::rng::stream(7, 0);
    let mut x = [0.0f64; 2];
    let data: Vec<f32> = (0..N_TRAIN)
        .flat_map(|_| {
            gmm.sample_into(&mut rng, &mut x);
            [x[0] as f32, x[1] as f32]
        })
        .collect();

    // `--load PATH`: a model trained elsewhere (e.g. `benches/jax/train_mlp.py --save PATH`)
    // instead of training; `--save PATH`: keep the model trained here.
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let t0 = Instant::now();
    let model = if let Some(path) = flag("--load") {
        let m = NcsnMlp::<f32>::load(&path)?;
        println!("loaded {path}: widths {:?}", m.net().widths());
        m
    } else {
        let mut model = NcsnMlp::<f32>::new(2, &[128, 128], Embedding::Raw, 1)?;
        let sigmas = SigmaLevels::geometric(SIGMA_MAX as f32, SIGMA_MIN as f32, 10)?;
        let cfg = TrainConfig::new()
            .epochs(300)
            .batch_size(BATCH)
            .learning_rate(2e-3)
            .lr_schedule(LrSchedule::Cosine {
                final_fraction: 0.05,
            })
            .validation_fraction(0.05)
            .seed(3);
        let rep = model.train_dsm(&data, &sigmas, &cfg)?;
        println!(
            "trained NCSN MLP 3 → 128 → 128 → 2 (f32) by DSM on {N_TRAIN} ring samples: {} epochs, \
             {} steps of batch {BATCH}, {:.0}k examples/s; loss train {:.4} / validation {:.4} \
             (first epoch {:.4})",
            rep.epochs,
            rep.steps,
            rep.examples_per_second() / 1e3,
            rep.train_loss.last().copied().unwrap_or(f64::NAN),
            rep.validation_loss.last().copied().unwrap_or(f64::NAN),
            rep.train_loss.first().copied().unwrap_or(f64::NAN),
        );
        if let Some(path) = flag("--save") {
            model.save(&path)?;
            println!("saved the model to {path}");
        }
        model
    };
    let t_train = t0.elapsed().as_secs_f64();

    // Relative L2 error of the learned score on points of p_σ, against the exact score.
    print!("\nrelative error ‖s_θ − s‖/‖s‖ on {N} points of p_σ:");
    for sigma in [8.0, 2.0, 0.5, 0.1, 0.03] {
        let mut rng = langevin::rng::stream(99, 0);
        let (mut num, mut den) = (0.0, 0.0);
        let (mut s, mut sl, mut xf) = ([0.0f64; 2], [0.0f32; 2], [0.0f32; 2]);
        for _ in 0..N {
            gmm.sample_into(&mut rng, &mut x);
            for (xi, xfi) in x.iter_mut().zip(xf.iter_mut()) {
                *xi += sigma * f64::standard_normal(&mut rng);
                *xfi = *xi as f32;
            }
            gmm.score_sigma_into(&x, sigma, &mut s);
            model.score_sigma_into(&xf, sigma as f32, &mut sl);
            num += (0..2).map(|k| (sl[k] as f64 - s[k]).powi(2)).sum::<f64>();
            den += (0..2).map(|k| s[k] * s[k]).sum::<f64>();
        }
        print!("  σ = {sigma}: {:.3}", (num / den).sqrt());
    }
    println!("\n");

    let t1 = Instant::now();
    let ve64 = Ve::<f64>::new(2, SIGMA_MIN, SIGMA_MAX)?;
    let (al_exact, pc_exact) = sample(&gmm, Marginal::new(&gmm, ve64)?, ve64)?;
    let ve32 = Ve::<f32>::new(2, SIGMA_MIN, SIGMA_MAX)?;
    let (al_learned, pc_learned) = sample(&model, TimeFromNoise::new(&model, ve32)?, ve32)?;
    let t_sample = t1.elapsed().as_secs_f64();

    println!("8-mode ring, radius 4, std 0.3, weights ∝ 1..8; {N} particles per sampler\n");
    print!("{:>28}", "mode");
    (0..8).for_each(|k| print!(" {k:>6}"));
    println!();
    print!("{:>28}", "truth");
    gmm.weights().iter().for_each(|w| print!(" {w:6.3}"));
    println!();
    row(&gmm, "annealed Langevin, exact", &al_exact);
    row(&gmm, "annealed Langevin, learned", &al_learned);
    row(&gmm, "PC (VE), exact", &pc_exact);
    row(&gmm, "PC (VE), learned", &pc_learned);
    println!("\ntraining {t_train:.1} s, sampling (4 runs) {t_sample:.1} s");

    #[cfg(feature = "plot")]
    {
        use langevin::plot::Plot;
        println!();
        // The score field at σ = 0.5 on a 21 × 21 grid, as the Tweedie displacement σ² s
        // (the step to the posterior mean of the clean point), scaled so that the longest
        // exact arrow spans one grid cell: learned (blue) over exact (orange).
        let (sigma, m, lim) = (0.5f64, 21usize, 6.0f64);
        let step = 2.0 * lim / (m - 1) as f64;
        let (mut gx, mut gy) = (Vec::new(), Vec::new());
        let (mut lu, mut lv, mut eu, mut ev) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut s, mut sl) = ([0.0f64; 2], [0.0f32; 2]);
        for i in 0..m {
            for j in 0..m {
                let p = [-lim + i as f64 * step, -lim + j as f64 * step];
                gmm.score_sigma_into(&p, sigma, &mut s);
                model.score_sigma_into(&[p[0] as f32, p[1] as f32], sigma as f32, &mut sl);
                gx.push(p[0]);
                gy.push(p[1]);
                eu.push(sigma * sigma * s[0]);
                ev.push(sigma * sigma * s[1]);
                lu.push(sigma * sigma * sl[0] as f64);
                lv.push(sigma * sigma * sl[1] as f64);
            }
        }
        let longest = eu
            .iter()
            .zip(&ev)
            .map(|(u, v)| u.hypot(*v))
            .fold(0.0, f64::max);
        let k = step / longest;
        for w in [&mut lu, &mut lv, &mut eu, &mut ev] {
            w.iter_mut().for_each(|a| *a *= k);
        }
        let path = std::env::temp_dir().join("langevin-gmm8-learned-score-field.png");
        match Plot::new(720, 720)
            .title(format!(
                "score at σ = {sigma}: learned (blue) over exact (orange), σ²s scaled"
            ))
            .vector_field(&path, &gx, &gy, &[(&lu, &lv), (&eu, &ev)])
        {
            Ok(()) => println!("wrote {}", path.display()),
            Err(e) => println!("could not write {}: {e}", path.display()),
        }
        for (file, title, xs) in [
            (
                "annealed-langevin",
                "annealed Langevin, learned score",
                &al_learned,
            ),
            ("pc", "predictor-corrector (VE), learned score", &pc_learned),
        ] {
            let path = std::env::temp_dir().join(format!("langevin-gmm8-learned-{file}.png"));
            let (x, y): (Vec<f64>, Vec<f64>) = xs.iter().map(|p| (p[0], p[1])).unzip();
            match Plot::new(640, 640)
                .title(format!("{title}: {N} particles"))
                .scatter(&path, &x, &y)
            {
                Ok(()) => println!("wrote {}", path.display()),
                Err(e) => println!("could not write {}: {e}", path.display()),
            }
        }
    }
    Ok(())
}
