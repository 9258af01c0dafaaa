//! Convergence diagnostics on 4 chains × 10 000 draws (AR(1), φ = 0.5): rank-normalised split
//! R-hat, bulk / tail ESS and the MCSEs, to set beside ArviZ's timings of the same functions
//! (`benches/arviz/time_arviz.py`, run in the same session, alternating), plus a 100-parameter
//! summary to show the parallel path.
//!
//! `cargo bench -p langevin-benches --bench diagnostics`.

use criterion::{Criterion, criterion_group, criterion_main};
use langevin::diagnostics::{
    Summary, ess_bulk, ess_tail, mcse_mean, mcse_quantile, mcse_sd, rhat_rank, summarize,
};
use langevin::rng::stream;
use rand_distr::{Distribution, StandardNormal};
use std::hint::black_box;
use std::time::Duration;

/// `chains` AR(1) chains of `draws` draws, started at stationarity.
fn ar1(seed: u64, phi: f64, chains: usize, draws: usize) -> Vec<Vec<f64>> {
    (0..chains)
        .map(|c| {
            let mut rng = stream(seed, c as u64);
            let z: f64 = StandardNormal.sample(&mut rng);
            let mut prev = z / (1.0 - phi * phi).sqrt();
            (0..draws)
                .map(|_| {
                    let e: f64 = StandardNormal.sample(&mut rng);
                    prev = phi * prev + e;
                    prev
                })
                .collect()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let x = ar1(1, 0.5, 4, 10_000);
    let mut g = c.benchmark_group("diagnostics_4x10000");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g.bench_function("rhat_rank", |b| {
        b.iter(|| rhat_rank(black_box(&x)).unwrap())
    });
    g.bench_function("ess_bulk", |b| b.iter(|| ess_bulk(black_box(&x)).unwrap()));
    g.bench_function("ess_tail", |b| b.iter(|| ess_tail(black_box(&x)).unwrap()));
    g.bench_function("mcse_mean", |b| {
        b.iter(|| mcse_mean(black_box(&x)).unwrap())
    });
    g.bench_function("mcse_sd", |b| b.iter(|| mcse_sd(black_box(&x)).unwrap()));
    g.bench_function("mcse_q05", |b| {
        b.iter(|| mcse_quantile(black_box(&x), 0.05).unwrap())
    });
    g.bench_function("summary_row", |b| {
        b.iter(|| Summary::new("x", black_box(&x)).unwrap())
    });
    g.finish();

    let params: Vec<Vec<Vec<f64>>> = (0..100).map(|k| ar1(100 + k, 0.5, 4, 1_000)).collect();
    let refs: Vec<&[Vec<f64>]> = params.iter().map(Vec::as_slice).collect();
    let names: Vec<String> = (0..100).map(|k| format!("x[{k}]")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut g = c.benchmark_group("summarize_100x4x1000");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g.bench_function("summarize", |b| {
        b.iter(|| summarize(black_box(&refs), &names).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
