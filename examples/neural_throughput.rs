//! Training throughput of the `neural` feature in examples per second — the Rust half of the
//! side-by-side comparison with JAX (`benches/jax/train_mlp.py`, driven in alternating rounds
//! by `benches/jax/compare.py`; see `benches/jax/README.md`).
//!
//! The network and the step are the ones of the JAX script: an NCSN MLP
//! 3 → 128 → 128 → 2 (input `[x₁, x₂, ln σ]`, SiLU, output `σ s_θ`), `f32`, trained by
//! denoising score matching with λ(σ) = σ² (σ log-uniform in [0.01, 8]) by AdamW
//! (learning rate 1e-3, weight decay 1e-4) on 20 000 points of the weighted 8-mode ring. Each
//! round is one [`NcsnMlp::train_dsm`] call over about `--examples` examples without a
//! validation split; its examples/s is the run's examples over its wall-clock seconds (the
//! whole training loop: shuffling, noise, forward, backward, AdamW). A warm-up run precedes
//! the timed rounds. With `--json` it also reports `cpu_median`: examples per CPU-second of the
//! process (all threads, from `/proc/self/stat`; absent elsewhere), the work per example
//! whatever share of a loaded machine the process got.
//!
//! With `--forward` it times batched score evaluation instead (what a sampler does each
//! step): `NoiseScoreBatch::score_sigma_batch_into` on a batch of particles at one σ, each call
//! followed by the update `x ← x + 10⁻³ s(x, σ)` so that every call depends on the previous
//! one (as in the JAX script's `--forward`); examples/s counts particles scored.
//!
//! ```text
//! cargo run --release --features neural --example neural_throughput -- \
//!     [--batch 256 2048] [--rounds 5] [--examples 1000000] [--forward] [--json]
//! ```

use langevin::annealed::{NoiseScoreBatch, SigmaLevels};
use langevin::neural::{Embedding, NcsnMlp, TrainConfig};
use langevin::prelude::*;
use langevin::targets::GaussianMixture;

const N_DATA: usize = 20_000;

/// CPU seconds used so far by this process, all threads (user + system, from
/// `/proc/self/stat` in clock ticks of 1/100 s); `None` where that file does not exist.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn main() -> Result<()> {
    let mut batches = vec![256usize, 2048];
    let (mut rounds, mut examples, mut json, mut forward) = (5usize, 1_000_000usize, false, false);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--batch" => {
                batches.clear();
                while i + 1 < args.len() && !args[i + 1].starts_with("--") {
                    i += 1;
                    batches.push(args[i].parse().expect("--batch takes sizes"));
                }
            }
            "--rounds" => {
                i += 1;
                rounds = args[i].parse().expect("--rounds takes a count");
            }
            "--examples" => {
                i += 1;
                examples = args[i].parse().expect("--examples takes a count");
            }
            "--json" => json = true,
            "--forward" => forward = true,
            other => panic!("unknown argument {other}"),
        }
        i += 1;
    }

    // The data: the weighted 8-mode ring of examples/gmm8.rs, drawn in f64, trained in f32.
    let weights: Vec<f64> = (1..=8).map(|k| k as f64).collect();
    let gmm = GaussianMixture::ring_weighted(weights, 4.0, 0.3)?;
    let mut rng = langevin::rng::stream(0, 0);
    let mut x = [0.0f64; 2];
    let data: Vec<f32> = (0..N_DATA)
        .flat_map(|_| {
            gmm.sample_into(&mut rng, &mut x);
            [x[0] as f32, x[1] as f32]
        })
        .collect();
    let sigmas = SigmaLevels::geometric(8.0f32, 0.01, 10)?;

    if forward {
        return forward_only(&data, &batches, rounds, examples, json);
    }
    if !json {
        println!(
            "{:>6} {:>12} {:>10} {:>10}  loss   (NCSN MLP 3 → 128 → 128 → 2, f32, AdamW, {} rayon threads)",
            "batch",
            "median ex/s",
            "min",
            "max",
            rayon::current_num_threads()
        );
    }
    for &b in &batches {
        let cfg = |epochs: usize| {
            TrainConfig::new()
                .epochs(epochs)
                .batch_size(b)
                .learning_rate(1e-3)
                .weight_decay(1e-4)
                .validation_fraction(0.0)
                .seed(1)
        };
        let mut model = NcsnMlp::<f32>::new(2, &[128, 128], Embedding::Raw, 0)?;
        // Warm-up (not timed): page in the buffers, spin up the thread pool.
        model.train_dsm(&data, &sigmas, &cfg(2))?;
        let epochs = examples.div_ceil(N_DATA).max(1);
        let mut rates = Vec::with_capacity(rounds);
        let mut cpu_rates = Vec::with_capacity(rounds);
        let mut loss = f64::NAN;
        for _ in 0..rounds {
            let c0 = cpu_seconds();
            let r = model.train_dsm(&data, &sigmas, &cfg(epochs))?;
            if let (Some(c0), Some(c1)) = (c0, cpu_seconds()) {
                cpu_rates.push(r.examples as f64 / (c1 - c0));
            }
            rates.push(r.examples_per_second());
            loss = *r.train_loss.last().unwrap_or(&f64::NAN);
        }
        cpu_rates.sort_by(f64::total_cmp);
        let cpu_med = cpu_rates.get(cpu_rates.len() / 2).copied();
        let mut sorted = rates.clone();
        sorted.sort_by(f64::total_cmp);
        let med = sorted[sorted.len() / 2];
        if json {
            let list: Vec<String> = rates.iter().map(|r| format!("{r:.1}")).collect();
            let cpu = cpu_med.map_or(String::new(), |c| format!(", \"cpu_median\": {c:.1}"));
            println!(
                "{{\"impl\": \"rust\", \"batch\": {b}, \"median\": {med:.1}, \"rates\": [{}]{cpu}, \"loss\": {loss:.4}}}",
                list.join(", ")
            );
        } else {
            println!(
                "{b:>6} {med:>12.0} {:>10.0} {:>10.0}  {loss:.3}",
                sorted[0],
                sorted[sorted.len() - 1]
            );
        }
    }
    Ok(())
}

/// Batched score evaluation: examples (particles scored) per second, per wall-clock and per
/// CPU second.
fn forward_only(
    data: &[f32],
    batches: &[usize],
    rounds: usize,
    examples: usize,
    json: bool,
) -> Result<()> {
    let model = NcsnMlp::<f32>::new(2, &[128, 128], Embedding::Raw, 0)?;
    let sigma = 0.5f32;
    if !json {
        println!(
            "{:>6} {:>12} {:>10} {:>10}  (score evaluation, NCSN MLP 3 → 128 → 128 → 2, f32)",
            "batch", "median ex/s", "min", "max"
        );
    }
    for &b in batches {
        let mut xs: Vec<f32> = data.iter().cycle().take(2 * b).copied().collect();
        let mut out = vec![0.0f32; 2 * b];
        let mut work = Vec::new();
        let mut step = |xs: &mut [f32]| {
            model.score_sigma_batch_into(xs, sigma, &mut out, &mut work);
            for (x, &s) in xs.iter_mut().zip(&out) {
                *x += 1e-3 * s;
            }
        };
        for _ in 0..50 {
            step(&mut xs);
        }
        let calls = examples.div_ceil(b).max(1);
        let (mut rates, mut cpu_rates) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let (t0, c0) = (std::time::Instant::now(), cpu_seconds());
            for _ in 0..calls {
                step(&mut xs);
            }
            let n = (calls * b) as f64;
            rates.push(n / t0.elapsed().as_secs_f64());
            if let (Some(c0), Some(c1)) = (c0, cpu_seconds()) {
                cpu_rates.push(n / (c1 - c0));
            }
        }
        assert!(xs.iter().all(|x| x.is_finite()));
        let list: Vec<String> = rates.iter().map(|r| format!("{r:.1}")).collect();
        rates.sort_by(f64::total_cmp);
        cpu_rates.sort_by(f64::total_cmp);
        let med = rates[rates.len() / 2];
        if json {
            let cpu = cpu_rates
                .get(cpu_rates.len() / 2)
                .map_or(String::new(), |c| format!(", \"cpu_median\": {c:.1}"));
            println!(
                "{{\"impl\": \"rust-forward\", \"batch\": {b}, \"median\": {med:.1}, \"rates\": [{}]{cpu}}}",
                list.join(", ")
            );
        } else {
            println!(
                "{b:>6} {med:>12.0} {:>10.0} {:>10.0}",
                rates[0],
                rates[rates.len() - 1]
            );
        }
    }
    Ok(())
}
