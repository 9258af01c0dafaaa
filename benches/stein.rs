//! Stein thinning (n = 2 000 draws of a 2-D Gaussian to m = 50 points, IMQ kernel c = 1,
//! β = −1/2) and first-order zero-variance control variates (n = 2 000, d = 2), beside
//! hand-written loops doing the same arithmetic.
//!
//! `cargo bench --bench stein`.

use criterion::{Criterion, criterion_group, criterion_main};
use langevin::diagnostics::{CvOrder, ImqKernel, stein_thinning, zv_control_variates};
use langevin::prelude::*;
use langevin::rng::stream;
use langevin::targets::Gaussian;
use std::hint::black_box;

const N: usize = 2_000;
const M: usize = 50;

/// k₀ of the IMQ kernel with c = 1, β = −1/2 in 2-D.
fn k0(x: &[f64], y: &[f64], sx: &[f64], sy: &[f64]) -> f64 {
    let b = -0.5;
    let (mut r2, mut rds, mut ss) = (0.0, 0.0, 0.0);
    for i in 0..2 {
        let r = x[i] - y[i];
        r2 += r * r;
        rds += r * (sy[i] - sx[i]);
        ss += sx[i] * sy[i];
    }
    let u = 1.0 + r2;
    let ub = u.powf(b);
    let ub1 = ub / u;
    let ub2 = ub1 / u;
    -4.0 * b * (b - 1.0) * ub2 * r2 - 4.0 * b * ub1 + 2.0 * b * ub1 * rds + ub * ss
}

fn hand_thin(xs: &[f64], ss: &[f64]) -> usize {
    let pt = |i: usize| (&xs[2 * i..2 * i + 2], &ss[2 * i..2 * i + 2]);
    let diag: Vec<f64> = (0..N)
        .map(|i| k0(pt(i).0, pt(i).0, pt(i).1, pt(i).1))
        .collect();
    let mut acc = vec![0.0; N];
    let mut last = 0;
    for _ in 0..M {
        let mut best = (0, f64::INFINITY);
        for i in 0..N {
            let v = 0.5 * diag[i] + acc[i];
            if v < best.1 {
                best = (i, v);
            }
        }
        let (xb, sb) = pt(best.0);
        for i in 0..N {
            acc[i] += k0(xb, pt(i).0, sb, pt(i).1);
        }
        last = best.0;
    }
    last
}

fn bench(c: &mut Criterion) {
    let p = Gaussian::<f64>::standard(2).unwrap();
    let mut rng = stream(1, 0);
    let draws: Vec<Vec<f64>> = (0..N)
        .map(|_| {
            let mut x = vec![0.0; 2];
            p.sample_into(&mut rng, &mut x);
            x
        })
        .collect();
    let xs: Vec<f64> = draws.iter().flatten().copied().collect();
    let ss: Vec<f64> = draws.iter().flat_map(|x| p.score(x)).collect();
    let k = ImqKernel::default();
    let mut g = c.benchmark_group("stein_thinning_n2000_m50_d2");
    g.bench_function("library", |b| {
        b.iter(|| black_box(stein_thinning(&p, &draws, M, &k).unwrap().indices[M - 1]))
    });
    g.bench_function("hand_loop", |b| b.iter(|| black_box(hand_thin(&xs, &ss))));
    g.finish();
    let mut g = c.benchmark_group("zv_cv_first_order_n2000_d2");
    g.bench_function("library", |b| {
        b.iter(|| {
            black_box(
                zv_control_variates(&p, &draws, |x| x[0], CvOrder::First)
                    .unwrap()
                    .value,
            )
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
