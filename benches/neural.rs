//! Learned scores (feature `neural`): a training step of the NCSN MLP 3 → 128 → 128 → 2
//! (SiLU, Adam, f32 — the model of `benches/jax/`'s JAX/optax script) at batch 256 and 2048,
//! and the batched score evaluation used by the samplers.
//!
//! Before the criterion groups it prints a plain hand-off line per batch size,
//! `neural train batch B: N examples/s`, to compare with the JAX script's output on the same
//! machine at the same load. One measured step includes everything a training run does per
//! step: drawing σ and the noise, the forward and backward passes, the gradient reduction and
//! the Adam update.
//!
//! ## How the backend was chosen (measured 2026-12-03 on the project machine, AMD EPYC with
//! AVX-512, 2 cores, load average ≈ 14 from other jobs — absolute figures are low, ratios hold)
//!
//! * candle 0.11 (from the issue): 46–55k examples/s for this model at batch 256 / 2048;
//!   JAX + optax: 260–470k (load ≈ 0.5).
//! * The f32 product of the 128 → 128 layer, `[B, 128] · [128, 128]`, by nalgebra's `gemm`
//!   (→ `matrixmultiply` 0.3, its AVX-512 kernel, one thread) vs `faer` 0.23 `matmul`:
//!   B = 256: 22.5 GFLOP/s vs 27.1 (faer, 1 thread) / 24.0 (faer, 2 threads);
//!   B = 2048: 19.4 vs 28.4 / 31.2. faer is 1.2–1.5× faster on the product, but the product
//!   is ≈ 40 % of a training step (perf: the AVX-512 sgemm kernel + packing), so the whole
//!   step would gain ≈ 10–15 %, against a large new dependency tree (faer, gemm, pulp, …) and
//!   its build time. nalgebra is already a dependency: chosen.
//! * The dedicated MLP: a training step at batch 256 / 2048 ran at 74k / 52k examples/s in
//!   the first version (libm `expf` 19 % of the time), 106–140k / 69–78k after storing the
//!   sigmoid for the backward pass and a vectorisable f32 exp (same load ≈ 15); with the
//!   chunks dealt to 4 fixed lanes (buffers stay cache-resident at batch 2048): 130–266k /
//!   120–138k at load ≈ 10 (consecutive runs; the shared machine makes single figures
//!   noisy). Rerun this bench beside `benches/jax/` at low load for the ratio to JAX.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use langevin::annealed::{NoiseScoreBatch, SigmaLevels};
use langevin::neural::{Embedding, NcsnMlp, TrainConfig};
use langevin::prelude::*;
use langevin::targets::GaussianMixture;
use std::hint::black_box;
use std::time::Instant;

const STEPS: usize = 8;

fn data(n: usize) -> Vec<f32> {
    let gmm = GaussianMixture::<f32>::ring(8, 4.0, 0.3).unwrap();
    let mut rng = langevin::rng::stream(1, 0);
    let mut x = vec![0.0f32; 2 * n];
    for r in x.chunks_exact_mut(2) {
        gmm.sample_into(&mut rng, r);
    }
    x
}

fn cfg(batch: usize) -> TrainConfig {
    TrainConfig::new()
        .epochs(1)
        .batch_size(batch)
        .validation_fraction(0.0)
        .seed(3)
}

fn bench(c: &mut Criterion) {
    let levels = SigmaLevels::<f32>::geometric(8.0, 0.05, 10).unwrap();
    for batch in [256usize, 2048] {
        let x = data(batch * STEPS);
        let mut model = NcsnMlp::<f32>::new(2, &[128, 128], Embedding::Raw, 1).unwrap();
        // Hand-off figure: ~1 s of training steps.
        let _ = model.train_dsm(&x, &levels, &cfg(batch)).unwrap();
        let t = Instant::now();
        let mut seen = 0usize;
        while t.elapsed().as_secs_f64() < 1.0 {
            seen += model.train_dsm(&x, &levels, &cfg(batch)).unwrap().examples;
        }
        println!(
            "neural train batch {batch}: {:.0} examples/s",
            seen as f64 / t.elapsed().as_secs_f64()
        );
        let mut g = c.benchmark_group(format!("neural_train_step_batch{batch}"));
        g.throughput(Throughput::Elements((batch * STEPS) as u64));
        g.sample_size(10);
        g.bench_function(format!("{STEPS}_steps"), |b| {
            b.iter(|| {
                model
                    .train_dsm(black_box(&x), &levels, &cfg(batch))
                    .unwrap()
            })
        });
        g.finish();
    }

    let model = NcsnMlp::<f32>::new(2, &[128, 128], Embedding::Raw, 1).unwrap();
    let xs = data(4096);
    let mut out = vec![0.0f32; xs.len()];
    let mut work = Vec::new();
    let mut g = c.benchmark_group("neural_score_batch");
    g.throughput(Throughput::Elements(4096));
    g.bench_function("4096_particles", |b| {
        b.iter(|| model.score_sigma_batch_into(black_box(&xs), 0.5, &mut out, &mut work))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
