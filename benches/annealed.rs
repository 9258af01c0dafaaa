//! Annealed Langevin on the 8-mode ring with 1000 particles, and the empirical score of the
//! digits data (1797 × 64) for 1000 particles (batched GEMM path vs the per-point path); the
//! EDM Heun sampler (32 Karras levels) and DPM-Solver++(2M) (20 steps) on the ring with 1000
//! particles, each against a hand-written single-threaded loop of the same update.

use criterion::{Criterion, criterion_group, criterion_main};
use langevin::annealed::{
    AnnealedLangevin, DpmSolverPp, Edm, EmpiricalScore, ForwardSde, LevelStep, Marginal,
    NoiseScoreBatch, ParticleRun, SigmaLevels, TimeConditionalScore, TimeGrid, Vp,
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

/// EDM Heun written out for one particle at a time (the reference loop of the bench).
fn heun_by_hand(gmm: &GaussianMixture<f64>, sigmas: &[f64], xs: &mut [f64]) {
    let (mut s, mut y) = ([0.0; 2], [0.0; 2]);
    let mut d1 = [0.0; 2];
    for x in xs.chunks_exact_mut(2) {
        for w in sigmas.windows(2) {
            let (sg, nx) = (w[0], w[1]);
            gmm.score_sigma_into(x, sg, &mut s);
            for k in 0..2 {
                d1[k] = -sg * s[k];
                y[k] = x[k] + (nx - sg) * d1[k];
            }
            if nx > 0.0 {
                gmm.score_sigma_into(&y, nx, &mut s);
                for k in 0..2 {
                    x[k] += 0.5 * (nx - sg) * (d1[k] - nx * s[k]);
                }
            } else {
                x.copy_from_slice(&y);
            }
        }
    }
}

/// DPM-Solver++(2M) written out for one particle at a time.
fn dpm_by_hand<S: ForwardSde<Scalar = f64>, P: TimeConditionalScore<Scalar = f64>>(
    sde: &S,
    score: &P,
    times: &[f64],
    xs: &mut [f64],
) {
    let lam = |t: f64| (sde.mean_coef(t) / sde.marginal_std(t)).ln();
    let (mut s, mut prev, mut cur) = ([0.0; 2], [0.0; 2], [0.0; 2]);
    for x in xs.chunks_exact_mut(2) {
        for i in 1..times.len() {
            let (tp, t) = (times[i - 1], times[i]);
            let (ap, sp) = (sde.mean_coef(tp), sde.marginal_std(tp));
            let (a, sg) = (sde.mean_coef(t), sde.marginal_std(t));
            let h = lam(t) - lam(tp);
            score.score_t_into(x, tp, &mut s);
            for k in 0..2 {
                cur[k] = (x[k] + sp * sp * s[k]) / ap;
            }
            let r = if i > 1 {
                (lam(tp) - lam(times[i - 2])) / h
            } else {
                0.0
            };
            for k in 0..2 {
                let dk = if i > 1 {
                    (1.0 + 0.5 / r) * cur[k] - 0.5 / r * prev[k]
                } else {
                    cur[k]
                };
                x[k] = sg / sp * x[k] + a * (1.0 - (-h).exp()) * dk;
            }
            prev = cur;
        }
    }
}

fn bench_solvers(c: &mut Criterion) {
    let weights: Vec<f64> = (1..=8).map(|k| k as f64).collect();
    let gmm = GaussianMixture::ring_weighted(weights, 4.0, 0.3).unwrap();
    let edm = Edm::new(&gmm, SigmaLevels::karras(80.0, 0.002, 32, 7.0).unwrap()).unwrap();
    let run = ParticleRun::new(1000).seed(1).threads(1);
    let mut rng = langevin::rng::stream(4, 0);
    let x0: Vec<f64> = (0..2000).map(|_| f64::standard_normal(&mut rng)).collect();
    c.bench_function("edm_heun_gmm8_1000x32levels_1thread", |b| {
        b.iter(|| edm.run_from_prior(&run).unwrap())
    });
    c.bench_function("edm_heun_gmm8_1000x32levels_by_hand", |b| {
        b.iter(|| {
            let mut xs: Vec<f64> = x0.iter().map(|v| 80.0 * v).collect();
            heun_by_hand(&gmm, edm.sigmas(), &mut xs);
            black_box(xs)
        })
    });
    let sde = Vp::<f64>::linear(2, 0.1, 20.0).unwrap();
    let score = Marginal::new(&gmm, sde).unwrap();
    let dpm = DpmSolverPp::new(sde, &score, 20, 1e-3, TimeGrid::LogSnr).unwrap();
    c.bench_function("dpm_solver_2m_gmm8_1000x20_1thread", |b| {
        b.iter(|| dpm.run_from_prior(&run).unwrap())
    });
    c.bench_function("dpm_solver_2m_gmm8_1000x20_by_hand", |b| {
        b.iter(|| {
            let mut xs = x0.clone();
            dpm_by_hand(&sde, &score, dpm.times(), &mut xs);
            black_box(xs)
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench, bench_solvers
}
criterion_main!(benches);
