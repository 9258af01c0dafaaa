//! Per-step cost of MALT, Barker, preconditioned SGLD and SGHMC on N(0, I_d), each beside a
//! hand-written loop doing the same arithmetic with the same RNG (Xoshiro256++ and
//! rand_distr's ziggurat normal).
//!
//! `cargo bench --bench mcmc_family`. Short measurement windows (the machine is shared):
//! read ratios, not absolute times.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use langevin::mcmc::{Barker, Constant, ExactScore, Malt, Metric, PSgld, Sghmc};
use langevin::prelude::*;
use langevin::rng::{ChainRng, stream};
use langevin::targets::Gaussian;
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use std::hint::black_box;
use std::time::Duration;

const DIMS: [usize; 2] = [10, 1000];

fn target(d: usize) -> Gaussian<f64> {
    Gaussian::isotropic(vec![0.0; d], 1.0).unwrap()
}

fn normal(rng: &mut ChainRng) -> f64 {
    StandardNormal.sample(rng)
}

/// Log density and score of N(0, I): (−½‖x‖², −x).
fn lp_grad(x: &[f64], g: &mut [f64]) -> f64 {
    let mut s = 0.0;
    for (g, &x) in g.iter_mut().zip(x) {
        *g = -x;
        s += x * x;
    }
    -0.5 * s
}

/// Hand-written MALT on N(0, I): L leapfrog steps with partial refreshment, energy error.
struct HandMalt {
    h: f64,
    l: usize,
    gamma: f64,
    x: Vec<f64>,
    lp: f64,
    g: Vec<f64>,
    y: Vec<f64>,
    gy: Vec<f64>,
    v: Vec<f64>,
}
impl HandMalt {
    #[inline(never)]
    fn step(&mut self, rng: &mut ChainRng) -> bool {
        let (h, hh) = (self.h, 0.5 * self.h);
        let eta = (-self.gamma * h).exp();
        let r = (1.0 - eta * eta).sqrt();
        self.y.copy_from_slice(&self.x);
        self.gy.copy_from_slice(&self.g);
        for v in self.v.iter_mut() {
            *v = normal(rng);
        }
        let mut dk = 0.0;
        let mut lpy = 0.0;
        for i in 0..self.l {
            if i > 0 {
                for v in self.v.iter_mut() {
                    *v = eta * *v + r * normal(rng);
                }
            }
            let k0: f64 = 0.5 * self.v.iter().map(|v| v * v).sum::<f64>();
            for j in 0..self.v.len() {
                self.v[j] += hh * self.gy[j];
                self.y[j] += h * self.v[j];
            }
            lpy = lp_grad(&self.y, &mut self.gy);
            for j in 0..self.v.len() {
                self.v[j] += hh * self.gy[j];
            }
            dk += 0.5 * self.v.iter().map(|v| v * v).sum::<f64>() - k0;
        }
        let delta = self.lp - lpy + dk;
        let u: f64 = rng.random();
        let acc = u < (-delta).exp().min(1.0);
        if acc {
            std::mem::swap(&mut self.x, &mut self.y);
            std::mem::swap(&mut self.g, &mut self.gy);
            self.lp = lpy;
        }
        acc
    }
}

fn softplus(t: f64) -> f64 {
    if t > 0.0 {
        t + (-t).exp().ln_1p()
    } else {
        t.exp().ln_1p()
    }
}

/// Hand-written Barker on N(0, I) with identity preconditioner.
struct HandBarker {
    h: f64,
    x: Vec<f64>,
    lp: f64,
    g: Vec<f64>,
    y: Vec<f64>,
    gy: Vec<f64>,
}
impl HandBarker {
    #[inline(never)]
    fn step(&mut self, rng: &mut ChainRng) -> bool {
        let s = (2.0 * self.h).sqrt();
        for j in 0..self.x.len() {
            let z = s * normal(rng);
            let p = 1.0 / (1.0 + (-z * self.g[j]).exp());
            let u: f64 = rng.random();
            self.y[j] = if u < p { self.x[j] + z } else { self.x[j] - z };
        }
        let lpy = lp_grad(&self.y, &mut self.gy);
        let mut lr = lpy - self.lp;
        for j in 0..self.x.len() {
            let w = self.y[j] - self.x[j];
            lr += softplus(-w * self.g[j]) - softplus(w * self.gy[j]);
        }
        let u: f64 = rng.random();
        let acc = u < lr.exp().min(1.0);
        if acc {
            std::mem::swap(&mut self.x, &mut self.y);
            std::mem::swap(&mut self.g, &mut self.gy);
            self.lp = lpy;
        }
        acc
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

fn bench_malt(c: &mut Criterion) {
    let mut group = c.benchmark_group("malt_step_L5");
    for &d in &DIMS {
        group.throughput(Throughput::Elements(d as u64));
        let h = 0.8 * (d as f64).powf(-0.25);
        let malt = Malt::new(target(d), h, 5, 1.0).unwrap();
        let mut state = malt.init(&vec![0.1; d], 0).unwrap();
        let mut rng = stream(1, 0);
        group.bench_with_input(BenchmarkId::new("library", d), &d, |b, _| {
            b.iter(|| black_box(malt.step(&mut state, &mut rng).unwrap()))
        });
        let mut hand = HandMalt {
            h,
            l: 5,
            gamma: 1.0,
            x: vec![0.1; d],
            lp: 0.0,
            g: vec![0.0; d],
            y: vec![0.0; d],
            gy: vec![0.0; d],
            v: vec![0.0; d],
        };
        hand.lp = lp_grad(&hand.x.clone(), &mut hand.g);
        let mut rng = stream(1, 0);
        group.bench_with_input(BenchmarkId::new("hand_loop", d), &d, |b, _| {
            b.iter(|| black_box(hand.step(&mut rng)))
        });
    }
    group.finish();
}

fn bench_barker(c: &mut Criterion) {
    let mut group = c.benchmark_group("barker_step");
    for &d in &DIMS {
        group.throughput(Throughput::Elements(d as u64));
        let h = 0.5 * (d as f64).powf(-1.0 / 3.0);
        let barker = Barker::new(target(d), h, Metric::identity(d).unwrap()).unwrap();
        let mut state = barker.init(&vec![0.1; d], 0).unwrap();
        let mut rng = stream(2, 0);
        group.bench_with_input(BenchmarkId::new("library", d), &d, |b, _| {
            b.iter(|| black_box(barker.step(&mut state, &mut rng).unwrap()))
        });
        let mut hand = HandBarker {
            h,
            x: vec![0.1; d],
            lp: 0.0,
            g: vec![0.0; d],
            y: vec![0.0; d],
            gy: vec![0.0; d],
        };
        hand.lp = lp_grad(&hand.x.clone(), &mut hand.g);
        let mut rng = stream(2, 0);
        group.bench_with_input(BenchmarkId::new("hand_loop", d), &d, |b, _| {
            b.iter(|| black_box(hand.step(&mut rng)))
        });
    }
    group.finish();
}

fn bench_sg(c: &mut Criterion) {
    let mut group = c.benchmark_group("sg_step");
    for &d in &DIMS {
        group.throughput(Throughput::Elements(d as u64));
        let h = 0.01;
        let psgld =
            PSgld::new(ExactScore(target(d)), Constant::new(h).unwrap(), 0.99, 1e-5).unwrap();
        let mut state = psgld.init(&vec![0.1; d], 0).unwrap();
        let mut rng = stream(3, 0);
        group.bench_with_input(BenchmarkId::new("psgld_library", d), &d, |b, _| {
            b.iter(|| black_box(psgld.step(&mut state, &mut rng).unwrap()))
        });
        let (mut x, mut v, mut g) = (vec![0.1; d], vec![0.0; d], vec![0.0; d]);
        let mut rng = stream(3, 0);
        group.bench_with_input(BenchmarkId::new("psgld_hand_loop", d), &d, |b, _| {
            b.iter(|| {
                lp_grad(&x, &mut g);
                for j in 0..d {
                    v[j] = 0.99 * v[j] + 0.01 * g[j] * g[j];
                    let pre = 1.0 / (1e-5 + v[j].sqrt());
                    x[j] += h * pre * g[j] + (2.0 * h * pre).sqrt() * normal(&mut rng);
                }
                black_box(x[0])
            })
        });
        let (eta, alpha) = (0.01, 0.1);
        let sghmc = Sghmc::new(
            ExactScore(target(d)),
            Constant::new(eta).unwrap(),
            alpha,
            0.0,
        )
        .unwrap();
        let mut state = sghmc.init(&vec![0.1; d], 0).unwrap();
        let mut rng = stream(4, 0);
        group.bench_with_input(BenchmarkId::new("sghmc_library", d), &d, |b, _| {
            b.iter(|| black_box(sghmc.step(&mut state, &mut rng).unwrap()))
        });
        let (mut x, mut v, mut g) = (vec![0.1; d], vec![0.0; d], vec![0.0; d]);
        let noise = (2.0 * alpha * eta).sqrt();
        let mut rng = stream(4, 0);
        group.bench_with_input(BenchmarkId::new("sghmc_hand_loop", d), &d, |b, _| {
            b.iter(|| {
                for j in 0..d {
                    x[j] += v[j];
                }
                lp_grad(&x, &mut g);
                for j in 0..d {
                    v[j] = (1.0 - alpha) * v[j] + eta * g[j] + noise * normal(&mut rng);
                }
                black_box(x[0])
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_malt, bench_barker, bench_sg
}
criterion_main!(benches);
