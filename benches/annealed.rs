//! Annealed Langevin on the 8-mode ring with 1000 particles, and the empirical score of the
//! digits data (1797 × 64) for 1000 particles (batched GEMM path vs the per-point path).

use criterion::{Criterion, criterion_group, criterion_main};
use langevin::annealed::{
    AnnealedLangevin, EmpiricalScore, LevelStep, NoiseScoreBatch, ParticleRun, SigmaLevels,
};
use langevin::prelude::*;
use langevin::rng::ChainRng;
use langevin::targets::GaussianMixture;
use std::hint::black_box;
use std::io::{BufRead, BufReader};

fn digits() -> Vec<f64> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/digits.csv.gz"
    );
    let f = std::fs::File::open(path).expect("examples/data/digits.csv.gz");
    let mut data = Vec::new();
    for line in BufReader::new(flate2::read::GzDecoder::new(f)).lines() {
        let vals: Vec<f64> = line
            .expect("gzip")
            .split(',')
            .filter_map(|v| v.trim().parse().ok())
            .collect();
        if vals.len() == 65 {
            data.extend(vals[..64].iter().map(|v| v / 16.0));
        }
    }
    data
}

fn bench(c: &mut Criterion) {
    let weights: Vec<f64> = (1..=8).map(|k| k as f64).collect();
    let gmm = GaussianMixture::ring_weighted(weights, 4.0, 0.3).unwrap();
    let levels = SigmaLevels::geometric(8.0, 0.3, 10).unwrap();
    let al =
        AnnealedLangevin::new(&gmm, levels, 100, LevelStep::Langevin { h_last: 0.01 }).unwrap();
    let init = |_i: usize, rng: &mut ChainRng, x: &mut [f64]| {
        for xi in x.iter_mut() {
            *xi = 8.0 * f64::standard_normal(rng);
        }
    };
    c.bench_function("annealed_langevin_gmm8_1000x1000steps", |b| {
        b.iter(|| al.run(&ParticleRun::new(1000).seed(1), &init).unwrap())
    });

    let emp = EmpiricalScore::new(digits(), 64).unwrap();
    let mut rng = langevin::rng::stream(3, 0);
    let xs: Vec<f64> = (0..1000 * 64)
        .map(|_| 0.5 + 0.5 * f64::standard_normal(&mut rng))
        .collect();
    let mut out = vec![0.0; xs.len()];
    let mut work = Vec::new();
    c.bench_function("empirical_score_digits_1000_batched", |b| {
        b.iter(|| {
            for (x, o) in xs.chunks(64 * 64).zip(out.chunks_mut(64 * 64)) {
                emp.score_sigma_batch_into(black_box(x), 0.5, o, &mut work);
            }
        })
    });
    c.bench_function("empirical_score_digits_1000_per_point", |b| {
        b.iter(|| {
            for (x, o) in xs.chunks(64).zip(out.chunks_mut(64)) {
                emp.score_sigma_into(black_box(x), 0.5, o);
            }
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
