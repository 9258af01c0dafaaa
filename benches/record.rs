//! Recording every draw: `Sampler::run` of ULA on N(0, I), d = 100, one chain, 10 000 draws,
//! no warm-up, one thread, beside a hand-written loop doing the same arithmetic with the same
//! generator and recording every draw into freshly reserved memory (the page faults of fresh
//! memory are part of both).
//!
//! `cargo bench -p langevin-benches --bench record`. Measured 1.21–1.22× (two runs, load
//! average ≈ 15): the gap is the ULA step itself at d = 100 (≈ 1.2× in `benches/step.rs`), not
//! the recording, whose buffers are reserved before the run like the hand loop's.

use criterion::{Criterion, criterion_group, criterion_main};
use langevin::prelude::*;
use langevin::rng::stream;
use langevin::targets::Gaussian;
use rand_distr::{Distribution, StandardNormal};
use std::hint::black_box;
use std::time::Duration;

const D: usize = 100;
const N: usize = 10_000;
const H: f64 = 0.1;

/// Hand-written ULA on N(0, I) recording every draw into a fresh buffer.
fn hand(seed: u64) -> Vec<f64> {
    let mut rng = stream(seed, 0);
    let mut x = vec![0.1; D];
    let mut g = vec![0.0; D];
    let mut out = Vec::with_capacity(N * D);
    let s = (2.0 * H).sqrt();
    for _ in 0..N {
        for i in 0..D {
            g[i] = -x[i];
        }
        for i in 0..D {
            let z: f64 = StandardNormal.sample(&mut rng);
            x[i] += H * g[i] + s * z;
        }
        out.extend_from_slice(&x);
    }
    out
}

fn bench(c: &mut Criterion) {
    let ula = Ula::new(Gaussian::<f64>::isotropic(vec![0.0; D], 1.0).unwrap(), H).unwrap();
    let sampler = Sampler::new(N).chains(1).warmup(0).threads(1).seed(1);
    let mut g = c.benchmark_group("record_every_draw_d100_n10000");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("sampler", |b| {
        b.iter(|| black_box(sampler.run(&ula, &[vec![0.1; D]]).unwrap().chains[0][0]))
    });
    g.bench_function("hand_loop", |b| b.iter(|| black_box(hand(1)[0])));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
