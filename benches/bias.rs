//! Cost of a discretisation-bias study (`testing::BiasStudy`): Euler–Maruyama on a 1-D OU
//! process, 10 coarse + 20 fine steps per path, 2 000 coupled paths, one thread, beside a
//! hand-written loop doing the same (fine increments drawn once, summed in pairs for the
//! coarse run).
//!
//! `cargo bench --bench bias`.

use criterion::{Criterion, criterion_group, criterion_main};
use langevin::prelude::*;
use langevin::rng::stream;
use langevin::sde::OrnsteinUhlenbeck;
use langevin::testing::BiasStudy;
use rand_distr::{Distribution, StandardNormal};
use std::hint::black_box;

const PATHS: usize = 2_000;
const STEPS: usize = 10;
const H: f64 = 0.1;
const MU: f64 = 0.5;
const THETA: f64 = 1.5;
const SIGMA: f64 = 0.8;
const X0: f64 = 2.0;

fn hand(seed: u64) -> f64 {
    let hf = H / 2.0;
    let mut dw = [0.0; 2 * STEPS];
    let mut acc = 0.0;
    for p in 0..PATHS {
        let mut rng = stream(seed, p as u64);
        for w in dw.iter_mut() {
            let z: f64 = StandardNormal.sample(&mut rng);
            *w = hf.sqrt() * z;
        }
        let (mut c, mut f) = (X0, X0);
        for k in 0..STEPS {
            c += THETA * (MU - c) * H + SIGMA * (dw[2 * k] + dw[2 * k + 1]);
        }
        for w in dw {
            f += THETA * (MU - f) * hf + SIGMA * w;
        }
        acc += 2.0 * (c - f);
    }
    acc / PATHS as f64
}

fn bench(c: &mut Criterion) {
    let ou = OrnsteinUhlenbeck::new(vec![MU], THETA, SIGMA).unwrap();
    let study = BiasStudy::new(H, STEPS, PATHS).unwrap().seed(1).threads(1);
    let mut g = c.benchmark_group("bias_ou_em_2000paths");
    g.bench_function("library", |b| {
        b.iter(|| {
            black_box(
                study
                    .run(&ou, &EulerMaruyama, &[X0], |x| x[0])
                    .unwrap()
                    .bias
                    .value,
            )
        })
    });
    g.bench_function("hand_loop", |b| b.iter(|| black_box(hand(1))));
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
