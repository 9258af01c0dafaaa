//! Per-step cost of ULA and MALA on an isotropic Gaussian, beside hand-written loops doing
//! the same arithmetic with the same RNG (Xoshiro256++ and rand_distr's ziggurat normal).
//!
//! `cargo bench -p langevin-benches --bench step`. The library should be within 1.10× of the hand loop for
//! d ≥ 100 (the cost is the normal draws, ≈ 2 ns per coordinate).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use langevin::prelude::*;
use langevin::rng::{ChainRng, stream};
use langevin::targets::Gaussian;
use rand_distr::{Distribution, StandardNormal};
use std::hint::black_box;

const DIMS: [usize; 3] = [2, 100, 10_000];

fn target(d: usize) -> Gaussian<f64> {
    Gaussian::isotropic(vec![0.0; d], 1.0).unwrap()
}

/// Hand-written ULA on N(m, s² I): g = (m − x)/s², x += h g + sqrt(2h) ξ.
struct HandUla {
    m: Vec<f64>,
    prec: f64,
    h: f64,
    g: Vec<f64>,
}
impl HandUla {
    #[inline(never)]
    fn step(&mut self, x: &mut [f64], rng: &mut ChainRng) {
        for i in 0..x.len() {
            self.g[i] = (self.m[i] - x[i]) * self.prec;
        }
        let s = (2.0 * self.h).sqrt();
        for i in 0..x.len() {
            let z: f64 = StandardNormal.sample(rng);
            x[i] += self.h * self.g[i] + s * z;
        }
    }
}

/// Hand-written MALA on N(m, s² I) with eight-accumulator reductions.
struct HandMala {
    m: Vec<f64>,
    prec: f64,
    h: f64,
    x: Vec<f64>,
    g: Vec<f64>,
    lp: f64,
    y: Vec<f64>,
    gy: Vec<f64>,
}
impl HandMala {
    fn logp_grad(m: &[f64], prec: f64, x: &[f64], g: &mut [f64]) -> f64 {
        let mut acc = [0.0; 8];
        let n = x.len();
        for i in 0..n {
            g[i] = (m[i] - x[i]) * prec;
        }
        let chunks = n / 8;
        for c in 0..chunks {
            for k in 0..8 {
                let i = c * 8 + k;
                acc[k] += (m[i] - x[i]) * g[i];
            }
        }
        let mut s: f64 = acc.iter().sum();
        for i in chunks * 8..n {
            s += (m[i] - x[i]) * g[i];
        }
        -0.5 * s
    }
    #[inline(never)]
    fn step(&mut self, rng: &mut ChainRng) -> bool {
        let h = self.h;
        let s = (2.0 * h).sqrt();
        for i in 0..self.x.len() {
            let z: f64 = StandardNormal.sample(rng);
            self.y[i] = self.x[i] + h * self.g[i] + s * z;
        }
        let lpy = Self::logp_grad(&self.m, self.prec, &self.y, &mut self.gy);
        let (mut f, mut b) = ([0.0; 8], [0.0; 8]);
        let n = self.x.len();
        let chunks = n / 8;
        for c in 0..chunks {
            for k in 0..8 {
                let i = c * 8 + k;
                let d = self.y[i] - self.x[i];
                let a = d - h * self.g[i];
                let bb = d + h * self.gy[i];
                f[k] += a * a;
                b[k] += bb * bb;
            }
        }
        let (mut sf, mut sb): (f64, f64) = (f.iter().sum(), b.iter().sum());
        for i in chunks * 8..n {
            let d = self.y[i] - self.x[i];
            sf += (d - h * self.g[i]).powi(2);
            sb += (d + h * self.gy[i]).powi(2);
        }
        let log_r = lpy - self.lp + (sf - sb) / (4.0 * h);
        let u: f64 = rng.random();
        let acc = u < log_r.exp().min(1.0);
        if acc {
            std::mem::swap(&mut self.x, &mut self.y);
            std::mem::swap(&mut self.g, &mut self.gy);
            self.lp = lpy;
        }
        acc
    }
}

fn bench_ula(c: &mut Criterion) {
    let mut group = c.benchmark_group("ula_step");
    for &d in &DIMS {
        group.throughput(Throughput::Elements(d as u64));
        let h = 0.5 * (d as f64).powf(-1.0 / 3.0);
        let ula = Ula::new(target(d), h).unwrap();
        let mut state = ula.init(&vec![0.1; d], 0).unwrap();
        let mut rng = stream(1, 0);
        group.bench_with_input(BenchmarkId::new("library", d), &d, |b, _| {
            b.iter(|| black_box(ula.step(&mut state, &mut rng).unwrap()))
        });
        let mut hand = HandUla {
            m: vec![0.0; d],
            prec: 1.0,
            h,
            g: vec![0.0; d],
        };
        let mut x = vec![0.1; d];
        let mut rng = stream(1, 0);
        group.bench_with_input(BenchmarkId::new("hand_loop", d), &d, |b, _| {
            b.iter(|| {
                hand.step(&mut x, &mut rng);
                black_box(x[0])
            })
        });
    }
    group.finish();
}

fn bench_mala(c: &mut Criterion) {
    let mut group = c.benchmark_group("mala_step");
    for &d in &DIMS {
        group.throughput(Throughput::Elements(d as u64));
        let h = 1.361 * (d as f64).powf(-1.0 / 3.0);
        let mala = Mala::new(target(d), h).unwrap();
        let mut state = mala.init(&vec![0.1; d], 0).unwrap();
        let mut rng = stream(2, 0);
        group.bench_with_input(BenchmarkId::new("library", d), &d, |b, _| {
            b.iter(|| black_box(mala.step(&mut state, &mut rng).unwrap()))
        });
        let mut hand = HandMala {
            m: vec![0.0; d],
            prec: 1.0,
            h,
            x: vec![0.1; d],
            g: vec![0.0; d],
            lp: 0.0,
            y: vec![0.0; d],
            gy: vec![0.0; d],
        };
        hand.lp = HandMala::logp_grad(&hand.m, hand.prec, &hand.x.clone(), &mut hand.g);
        let mut rng = stream(2, 0);
        group.bench_with_input(BenchmarkId::new("hand_loop", d), &d, |b, _| {
            b.iter(|| black_box(hand.step(&mut rng)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_ula, bench_mala);
criterion_main!(benches);
