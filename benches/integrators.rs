//! One step of each integrator / splitting kernel at d = 100 and d = 10 000.
//!
//! SDE integrators step the isotropic Ornstein–Uhlenbeck process (scalar noise; the noise
//! draw is included, as in a simulation); BAOAB / OBABO / SGLD step on a standard Gaussian.
//! Run briefly: `cargo bench -p langevin-benches --bench integrators -- --quick`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use langevin::integrators::{Baoab, Milstein, MilsteinDerivativeFree, Obabo, Sra1, StochasticHeun};
use langevin::mcmc::{Constant, ExactScore, Sgld};
use langevin::prelude::*;
use langevin::rng::stream;
use langevin::sde::OrnsteinUhlenbeck;
use langevin::targets::Gaussian;
use std::hint::black_box;

fn bench_integrator<I: Integrator<OrnsteinUhlenbeck<f64>>>(
    c: &mut Criterion,
    name: &str,
    integ: I,
) {
    let mut group = c.benchmark_group(name);
    for &d in &[100usize, 10_000] {
        let ou = OrnsteinUhlenbeck::new(vec![0.0; d], 1.0, 1.0).unwrap();
        let mut x = vec![0.5; d];
        let mut dw = vec![0.0; integ.noise_len(&ou)];
        let mut scratch = vec![0.0; integ.scratch_len(&ou)];
        let mut rng = stream(1, 0);
        group.bench_with_input(BenchmarkId::from_parameter(d), &d, |b, _| {
            b.iter(|| {
                integ.step(
                    &ou,
                    0.0,
                    0.01,
                    black_box(&mut x),
                    &mut rng,
                    &mut dw,
                    &mut scratch,
                );
            })
        });
    }
    group.finish();
}

fn bench_kernel<K: Kernel<Scalar = f64>>(c: &mut Criterion, name: &str, make: impl Fn(usize) -> K) {
    let mut group = c.benchmark_group(name);
    for &d in &[100usize, 10_000] {
        let k = make(d);
        let mut s = k.init(&vec![0.5; d], 0).unwrap();
        let mut rng = stream(2, 0);
        group.bench_with_input(BenchmarkId::from_parameter(d), &d, |b, _| {
            b.iter(|| k.step(black_box(&mut s), &mut rng).unwrap())
        });
    }
    group.finish();
}

fn integrators(c: &mut Criterion) {
    bench_integrator(c, "euler_maruyama", EulerMaruyama);
    bench_integrator(c, "milstein", Milstein);
    bench_integrator(c, "milstein_derivative_free", MilsteinDerivativeFree);
    bench_integrator(c, "stochastic_heun", StochasticHeun);
    bench_integrator(c, "sra1", Sra1);
    bench_kernel(c, "baoab", |d| {
        Baoab::new(Gaussian::<f64>::standard(d).unwrap(), 0.1, 1.0).unwrap()
    });
    bench_kernel(c, "obabo", |d| {
        Obabo::new(Gaussian::<f64>::standard(d).unwrap(), 0.1, 1.0).unwrap()
    });
    bench_kernel(c, "sgld", |d| {
        Sgld::new(
            ExactScore(Gaussian::<f64>::standard(d).unwrap()),
            Constant::new(0.1).unwrap(),
        )
        .unwrap()
    });
}

criterion_group!(benches, integrators);
criterion_main!(benches);
