//! Cost of one SMC run (fixed schedule of 10 levels, 2 MALA steps per level, N = 256
//! particles, d = 10, one thread) beside a hand-written loop doing the same arithmetic:
//! the geometric path between N(0, I) and N(m, I) evaluated as (1 − β) log p₀ + β log p₁
//! with both scores, MALA with cached log density and score, log-space weights and
//! systematic resampling when ESS < N/2.
//!
//! `cargo bench --bench smc`.

use criterion::{Criterion, criterion_group, criterion_main};
use langevin::rng::{ChainRng, stream};
use langevin::smc::{Move, Smc};
use langevin::targets::Gaussian;
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use std::hint::black_box;

const N: usize = 256;
const D: usize = 10;
const LEVELS: usize = 10;
const STEPS: usize = 2;
const H: f64 = 0.2;

fn ladder() -> Vec<f64> {
    (1..=LEVELS)
        .map(|k| (k as f64 / LEVELS as f64).powi(2))
        .collect()
}

/// log p_β and its score for p₀ = N(0, I), p₁ = N(m, I) (unnormalised halves, as the
/// library's Gaussian evaluates both ends).
fn eval(beta: f64, m: &[f64], x: &[f64], g: &mut [f64]) -> f64 {
    let (mut l0, mut l1) = (0.0, 0.0);
    for i in 0..x.len() {
        let r1 = x[i] - m[i];
        l0 -= 0.5 * x[i] * x[i];
        l1 -= 0.5 * r1 * r1;
        g[i] = (1.0 - beta) * (-x[i]) + beta * (-r1);
    }
    (1.0 - beta) * l0 + beta * l1
}

fn hand_smc(seed: u64, m: &[f64]) -> f64 {
    let betas = ladder();
    let mut rngs: Vec<ChainRng> = (0..N).map(|i| stream(seed, i as u64)).collect();
    let mut rs = stream(seed, N as u64);
    let mut xs = vec![0.0; N * D];
    for (x, rng) in xs.chunks_mut(D).zip(rngs.iter_mut()) {
        for v in x.iter_mut() {
            *v = StandardNormal.sample(rng);
        }
    }
    let ell = |x: &[f64]| -> f64 {
        let mut s = 0.0;
        for i in 0..D {
            s += -0.5 * (x[i] - m[i]).powi(2) + 0.5 * x[i] * x[i];
        }
        s
    };
    let mut lw = vec![-(N as f64).ln(); N];
    let mut el: Vec<f64> = xs.chunks(D).map(ell).collect();
    let (mut g, mut y, mut gy) = (vec![0.0; D], vec![0.0; D], vec![0.0; D]);
    let mut log_z = 0.0;
    let mut beta = 0.0;
    for &b in &betas {
        let delta = b - beta;
        for (w, e) in lw.iter_mut().zip(&el) {
            *w += delta * e;
        }
        let mx = lw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let inc = mx + lw.iter().map(|w| (w - mx).exp()).sum::<f64>().ln();
        log_z += inc;
        lw.iter_mut().for_each(|w| *w -= inc);
        let ess = 1.0 / lw.iter().map(|w| (2.0 * w).exp()).sum::<f64>();
        if ess < 0.5 * N as f64 {
            let u: f64 = rs.random();
            let old = xs.clone();
            let (mut cum, mut i) = (0.0, 0);
            for j in 0..N {
                let t = (j as f64 + u) / N as f64;
                while i + 1 < N && cum + lw[i].exp() <= t {
                    cum += lw[i].exp();
                    i += 1;
                }
                xs[j * D..(j + 1) * D].copy_from_slice(&old[i * D..(i + 1) * D]);
            }
            lw.fill(-(N as f64).ln());
        }
        beta = b;
        let s = (2.0 * H).sqrt();
        for ((x, rng), e) in xs.chunks_mut(D).zip(rngs.iter_mut()).zip(el.iter_mut()) {
            let mut lp = eval(beta, m, x, &mut g);
            for _ in 0..STEPS {
                for i in 0..D {
                    let z: f64 = StandardNormal.sample(rng);
                    y[i] = x[i] + H * g[i] + s * z;
                }
                let lpy = eval(beta, m, &y, &mut gy);
                let (mut f, mut bk) = (0.0, 0.0);
                for i in 0..D {
                    let a = y[i] - x[i] - H * g[i];
                    let c = x[i] - y[i] - H * gy[i];
                    f += a * a;
                    bk += c * c;
                }
                let log_r = lpy - lp + (f - bk) / (4.0 * H);
                let u: f64 = rng.random();
                if u < log_r.exp().min(1.0) {
                    x.copy_from_slice(&y);
                    g.copy_from_slice(&gy);
                    lp = lpy;
                }
            }
            *e = ell(x);
        }
    }
    log_z
}

fn bench(c: &mut Criterion) {
    let m: Vec<f64> = (0..D).map(|i| 0.2 * i as f64 - 0.9).collect();
    let p0 = Gaussian::<f64>::standard(D).unwrap();
    let p1 = Gaussian::<f64>::isotropic(m.clone(), 1.0).unwrap();
    let smc = Smc::new(N, Move::mala(H, STEPS).unwrap())
        .schedule(ladder())
        .threads(1)
        .seed(1);
    let mut grp = c.benchmark_group("smc_n256_d10_10levels_2mala");
    grp.bench_function("library", |b| {
        b.iter(|| black_box(smc.run(&p0, &p1).unwrap().log_z()))
    });
    grp.bench_function("hand_loop", |b| b.iter(|| black_box(hand_smc(1, &m))));
    grp.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
