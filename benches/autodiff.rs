//! Cost of a forward-mode autodiff score against the hand-written one, on Neal's funnel
//! (d = 10 and 100): `hand` is `Funnel::log_density_and_score` (one pass), `dual1` is
//! `AutoDiff::new` (d passes with Dual64), `chunk8` is `AutoDiff::chunked::<8>` (⌈d/8⌉
//! passes with an 8-wide gradient dual).
//!
//! `cargo bench -p langevin-benches --features autodiff --bench autodiff -- --quick`

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use langevin::autodiff::{AutoDiff, DualScalar, GenericLogDensity};
use langevin::density::log_density_and_score;
use langevin::targets::Funnel;
use std::hint::black_box;

struct NealFunnel {
    s: f64,
}
impl GenericLogDensity for NealFunnel {
    fn eval<D: DualScalar>(&self, x: &[D]) -> D {
        let v = x[0];
        let n = (x.len() - 1) as f64;
        let ss: D = x[1..].iter().map(|&xi| xi * xi).sum();
        -(v * v) / (2.0 * self.s * self.s) - v * (n / 2.0) - (-v).exp() * ss * 0.5
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("funnel_score");
    for d in [10usize, 100] {
        let x: Vec<f64> = (0..d).map(|i| 0.01 * i as f64 - 0.2).collect();
        let mut out = vec![0.0; d];
        let hand = Funnel::<f64>::new(d, 3.0).unwrap();
        let dual1 = AutoDiff::new(d, NealFunnel { s: 3.0 }).unwrap();
        let chunk8 = AutoDiff::chunked::<8>(d, NealFunnel { s: 3.0 }).unwrap();
        g.bench_with_input(BenchmarkId::new("hand", d), &d, |b, _| {
            b.iter(|| log_density_and_score(&hand, black_box(&x), &mut out))
        });
        g.bench_with_input(BenchmarkId::new("dual1", d), &d, |b, _| {
            b.iter(|| log_density_and_score(&dual1, black_box(&x), &mut out))
        });
        g.bench_with_input(BenchmarkId::new("chunk8", d), &d, |b, _| {
            b.iter(|| log_density_and_score(&chunk8, black_box(&x), &mut out))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
