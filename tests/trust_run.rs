//! Runs a user can trust (issue 10, driver side): zero draws, huge runs, `threads(0)`,
//! panicking user closures and cancellation across chains give typed errors — never a
//! plausible trace, an abort or a run that goes on long after a chain failed.
//!
//! Every test here failed before the change it names (noted per test).

use langevin::error::PartialRun;
use langevin::prelude::*;
use langevin::run::{NoAdaptation, Observer};
use langevin::targets::Gaussian;
use std::sync::atomic::{AtomicUsize, Ordering};

fn mala(d: usize) -> Mala<Gaussian<f64>> {
    Mala::new(Gaussian::<f64>::standard(d).unwrap(), 0.5).unwrap()
}

/// Before: `Sampler::new(0)` returned `Ok` with `mean() = [0, 0]`.
#[test]
fn zero_draws_is_a_typed_error() {
    let r = Sampler::new(0)
        .chains(2)
        .warmup(10)
        .run(&mala(2), &[vec![0.0; 2]]);
    assert_eq!(r.unwrap_err(), Error::ZeroCount { what: "draws" });
}

/// Before: `threads(0)` was silently run on one thread.
#[test]
fn zero_threads_is_a_typed_error() {
    let r = Sampler::new(10).threads(0).run(&mala(1), &[vec![0.0]]);
    assert_eq!(r.unwrap_err(), Error::ZeroCount { what: "threads" });
}

/// Before: the process aborted with "memory allocation of 160000000000 bytes failed" (the
/// test binary died with SIGABRT). The machine's overcommit heuristic refuses a single
/// 160 GB reservation; a size beyond `isize::MAX` is refused before any allocation.
#[test]
fn huge_runs_are_a_typed_error_with_the_bytes_asked_for() {
    let r = Sampler::new(10_000_000_000)
        .chains(4)
        .warmup(0)
        .run(&mala(2), &[vec![0.0; 2]]);
    match r.unwrap_err() {
        Error::AllocationTooLarge { bytes, .. } => assert_eq!(bytes, 640_000_000_000),
        e => panic!("unexpected {e}"),
    }
    let r = Sampler::new(usize::MAX / 2)
        .chains(3)
        .warmup(0)
        .run(&mala(2), &[vec![0.0; 2]]);
    match r.unwrap_err() {
        e @ Error::AllocationTooLarge { .. } => {
            assert!(e.to_string().contains("bytes"), "{e}")
        }
        e => panic!("unexpected {e}"),
    }
    // warmup + draws × thin overflowing usize
    let r = Sampler::new(usize::MAX / 2)
        .thin(4)
        .run(&mala(1), &[vec![0.0]]);
    assert!(matches!(r, Err(Error::InvalidConfig { .. })), "{r:?}");
}

/// Panics in chain `chain` at (0-based, warm-up included) iteration `at`.
struct PanicAt {
    chain: usize,
    at: usize,
}
impl Observer<f64> for PanicAt {
    fn on_step(&self, chain: usize, iteration: usize, _: bool, _: &StepInfo, _: &[f64]) {
        if chain == self.chain && iteration == self.at {
            panic!("observer bug at {iteration}");
        }
    }
}

/// Before: the panic unwound through rayon and aborted the test binary (no partial trace).
#[test]
fn a_panicking_observer_is_a_typed_error_naming_chain_and_iteration() {
    let (warmup, d) = (100, 2);
    for threads in [1, 2] {
        let r = Sampler::new(1_000)
            .chains(3)
            .warmup(warmup)
            .seed(3)
            .threads(threads)
            .run_with(
                &mala(d),
                &[vec![0.0; d]],
                &NoAdaptation,
                &PanicAt { chain: 1, at: 500 },
            );
        let Err(Error::ChainPanicked {
            chain,
            iteration,
            message,
            partial,
        }) = r
        else {
            panic!("expected a ChainPanicked error, got {r:?}")
        };
        assert_eq!((chain, iteration), (1, Some(500)));
        assert_eq!(message, "observer bug at 500");
        let p: PartialRun = *partial.expect("the driver returns the partial run");
        assert_eq!(p.dim, d);
        assert_eq!(p.transitions[1], 500);
        assert_eq!(p.draws[1].len(), (500 - warmup) * d);
        assert!(!p.completed[1]);
        for c in [0, 2] {
            // Other chains: completed, or stopped when chain 1 failed, with every draw they
            // recorded kept.
            let t = p.transitions[c];
            assert_eq!(p.draws[c].len(), t.saturating_sub(warmup) * d);
            assert_eq!(p.completed[c], t == warmup + 1_000);
            assert!(p.draws[c].iter().all(|v| v.is_finite()));
        }
    }
}

/// A standard normal whose score panics outside a lookup table's range (|x| > 2): a user
/// bug that shows only in the tails.
#[derive(Debug)]
struct TableTarget;
impl Target for TableTarget {
    type Scalar = f64;
    fn dim(&self) -> usize {
        1
    }
}
impl LogDensity for TableTarget {
    fn log_density(&self, x: &[f64]) -> f64 {
        -0.5 * x[0] * x[0]
    }
}
impl Score for TableTarget {
    fn score_into(&self, x: &[f64], out: &mut [f64]) {
        assert!(x[0].abs() <= 2.0, "x = {} outside the table", x[0]);
        out[0] = -x[0];
    }
}

/// Before: abort of the process (exit 101 in a binary; the test harness died here).
#[test]
fn a_panicking_score_is_a_typed_error() {
    let k = Mala::new(TableTarget, 0.5).unwrap();
    let r = Sampler::new(10_000)
        .chains(1)
        .warmup(0)
        .seed(1)
        .run(&k, &[vec![0.0]]);
    match r.unwrap_err() {
        e @ Error::ChainPanicked {
            chain: 0,
            iteration: Some(_),
            ..
        } => {
            assert!(e.to_string().contains("outside the table"), "{e}")
        }
        e => panic!("unexpected {e}"),
    }
    // A panic while building the start (the score at x0) has no iteration.
    let r = Sampler::new(10).chains(1).run(&k, &[vec![5.0]]);
    assert!(
        matches!(
            r,
            Err(Error::ChainPanicked {
                chain: 0,
                iteration: None,
                ..
            })
        ),
        "{r:?}"
    );
}

/// Counts chain 1's transitions.
#[derive(Default)]
struct Count1(AtomicUsize);
impl Observer<f64> for Count1 {
    fn on_step(&self, chain: usize, _: usize, _: bool, _: &StepInfo, _: &[f64]) {
        if chain == 1 {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Before: chain 0's bad start was reported only after chain 1 had run all its 2·10⁶
/// transitions (the counter read 2 000 000). Now chain 1 stops within a few hundred
/// transitions of chain 0's failure (a check every `CANCEL_CHECK_EVERY` transitions); the bound
/// 10⁶ leaves chain 0's thread half a million of chain 1's transitions (tens of ms) to be
/// scheduled, so it holds on a loaded machine, while the bug gives 2·10⁶.
#[test]
fn a_failing_chain_stops_the_others() {
    for threads in [1, 2] {
        let count = Count1::default();
        let r = Sampler::new(2_000_000)
            .chains(2)
            .warmup(0)
            .threads(threads)
            .run_with(
                &mala(1),
                &[vec![f64::NAN], vec![0.0]],
                &NoAdaptation,
                &count,
            );
        assert!(
            matches!(r, Err(Error::InvalidInitialState { chain: 0, .. })),
            "{r:?}"
        );
        let n = count.0.load(Ordering::Relaxed);
        assert!(
            n < 1_000_000,
            "chain 1 ran {n} transitions after chain 0 failed"
        );
    }
}

/// Cancellation never fires when nothing fails: the draws are bit-identical whatever the
/// number of threads (a check that the flag is not raised spuriously, e.g. by a completed
/// chain).
#[test]
fn runs_without_failure_are_unchanged_by_the_cancellation_checks() {
    let s = Sampler::new(700).chains(3).warmup(300).seed(9);
    let a = s.clone().threads(1).run(&mala(2), &[vec![0.0; 2]]).unwrap();
    let b = s.threads(2).run(&mala(2), &[vec![0.0; 2]]).unwrap();
    assert_eq!(a.chains, b.chains);
    assert!(a.chains.iter().all(|c| c.len() == 700 * 2));
}

mod particles_and_paths {
    use langevin::Error;
    use langevin::annealed::{AnnealedLangevin, LevelStep, ParticleRun, SigmaLevels};
    use langevin::prelude::*;
    use langevin::rng::ChainRng;
    use langevin::sde::{NoiseKind, Solver};
    use langevin::targets::GaussianMixture;

    fn sampler() -> AnnealedLangevin<GaussianMixture<f64>> {
        let gmm = GaussianMixture::<f64>::ring(4, 2.0, 0.5).unwrap();
        let levels = SigmaLevels::geometric(2.0, 0.5, 3).unwrap();
        AnnealedLangevin::new(gmm, levels, 5, LevelStep::Langevin { h_last: 0.01 }).unwrap()
    }

    /// Before: the user's `copy_from_slice` panicked inside a rayon worker and the panic took
    /// the test down. Now the panic is caught per block of 64 particles.
    #[test]
    fn a_panicking_start_callback_is_a_typed_error() {
        let start = vec![0.0; 3]; // wrong length for d = 2
        let init = |i: usize, _: &mut ChainRng, x0: &mut [f64]| {
            if i == 100 {
                x0.copy_from_slice(&start);
            }
        };
        let r = sampler().run(&ParticleRun::new(200).seed(1).threads(2), &init);
        match r.unwrap_err() {
            Error::ChainPanicked {
                chain: 64,
                iteration: None,
                message,
                partial: None,
            } => assert!(message.contains("length"), "{message}"),
            e => panic!("unexpected {e}"),
        }
    }

    /// Before: no fixed-start initialiser existed (users wrote the panicking closure above);
    /// `threads(0)` ran on one thread.
    #[test]
    fn fixed_starts_are_length_checked_and_zero_threads_rejected() {
        let r = sampler().run(&ParticleRun::new(10), &vec![0.0; 3]);
        assert!(
            matches!(
                r,
                Err(Error::DimensionMismatch {
                    expected: 2,
                    got: 3,
                    ..
                })
            ),
            "{r:?}"
        );
        let p = sampler()
            .run(&ParticleRun::new(10), &vec![1.0, -1.0])
            .unwrap();
        assert_eq!(p.len(), 10);
        let r = sampler().run(&ParticleRun::new(10).threads(0), &vec![0.0; 2]);
        assert_eq!(r.unwrap_err(), Error::ZeroCount { what: "threads" });
    }

    /// Empty particle sets have no statistics: NaN, never 0 (before: mean 0, variance 0).
    #[test]
    fn empty_particle_statistics_are_nan() {
        let p = sampler().run(&ParticleRun::new(0), &vec![0.0; 2]).unwrap();
        assert!(p.mean().iter().all(|m| m.is_nan()));
        let p1 = sampler().run(&ParticleRun::new(1), &vec![0.0; 2]).unwrap();
        assert!(p1.variance().iter().all(|v| v.is_nan()));
    }

    /// An OU process whose drift panics once `t ≥ 0.5`.
    struct Brittle;
    impl Target for Brittle {
        type Scalar = f64;
        fn dim(&self) -> usize {
            1
        }
    }
    impl Sde for Brittle {
        fn noise_kind(&self) -> NoiseKind {
            NoiseKind::Scalar
        }
        fn drift_into(&self, t: f64, x: &[f64], out: &mut [f64]) {
            assert!(t < 0.5, "drift undefined at t = {t}");
            out[0] = -x[0];
        }
        fn diffusion_into(&self, _: f64, _: &[f64], out: &mut [f64]) {
            out[0] = 1.0;
        }
    }

    /// Before: the drift's panic unwound through the solver's rayon loop.
    #[test]
    fn a_panicking_drift_is_a_typed_error_naming_path_and_step() {
        let r =
            Solver::new(0.0, 1.0, 0.1)
                .paths(3)
                .threads(2)
                .solve(&Brittle, &EulerMaruyama, &[0.0]);
        match r.unwrap_err() {
            Error::ChainPanicked {
                chain: 0,
                iteration: Some(5),
                message,
                ..
            } => assert!(message.contains("drift undefined"), "{message}"),
            e => panic!("unexpected {e}"),
        }
        let r = Solver::new(0.0, 1.0, 0.1)
            .threads(0)
            .solve(&Brittle, &EulerMaruyama, &[0.0]);
        assert_eq!(r.unwrap_err(), Error::ZeroCount { what: "threads" });
    }
}

/// Before: `increment(r, k, …)` past the end of the path panicked with a slice index error.
#[test]
fn brownian_increments_past_the_path_are_typed_errors() {
    use langevin::sde::BrownianPath;
    let mut path = BrownianPath::<f64>::with_area(2, 8, 0.125).unwrap();
    path.regenerate(3, 0);
    let (mut w, mut z) = ([0.0; 2], [0.0; 2]);
    assert!(path.increment(4, 1, &mut w).is_ok());
    assert!(matches!(
        path.increment(4, 2, &mut w),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(matches!(
        path.increment(0, 0, &mut w),
        Err(Error::ZeroCount { .. })
    ));
    assert!(matches!(
        path.increment(3, 2, &mut w),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(matches!(
        path.increment(usize::MAX, 1, &mut w),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(matches!(
        path.increment(4, 0, &mut [0.0; 3]),
        Err(Error::DimensionMismatch {
            expected: 2,
            got: 3,
            ..
        })
    ));
    assert!(path.increment_with_area(8, 0, &mut w, &mut z).is_ok());
    assert!(path.increment_with_area(8, 1, &mut w, &mut z).is_err());
    assert!(
        path.increment_with_area(8, 0, &mut w, &mut [0.0; 1])
            .is_err()
    );
}

/// Standard normal in any dimension with O(d) evaluation.
struct StdNormal(usize);
impl Target for StdNormal {
    type Scalar = f64;
    fn dim(&self) -> usize {
        self.0
    }
}
impl Score for StdNormal {
    fn score_into(&self, x: &[f64], out: &mut [f64]) {
        for (o, v) in out.iter_mut().zip(x) {
            *o = -v;
        }
    }
}

/// Before: `variance()` built the d × d covariance — at d = 10⁵ an 80 GB allocation that
/// aborted the test binary. Now O(N d); the values equal the two-pass formula computed here,
/// and equal the covariance's diagonal at small d.
#[test]
fn variance_is_linear_in_the_dimension() {
    let d = 100_000;
    let ula = Ula::new(StdNormal(d), 0.1).unwrap();
    let t = Sampler::new(2)
        .chains(2)
        .warmup(0)
        .seed(5)
        .run(&ula, &[vec![0.0; d]])
        .unwrap();
    let v = t.variance();
    assert_eq!(v.len(), d);
    for j in [0, 1, d / 2, d - 1] {
        let xs: Vec<f64> = (0..2).flat_map(|c| t.coordinate(c, j)).collect();
        let m = xs.iter().sum::<f64>() / 4.0;
        let want = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / 3.0;
        assert!(
            (v[j] - want).abs() <= 1e-12 * want.max(1.0),
            "{} vs {want}",
            v[j]
        );
    }
    let small = Sampler::new(50)
        .chains(2)
        .warmup(0)
        .seed(5)
        .run(&Ula::new(StdNormal(3), 0.1).unwrap(), &[vec![0.0; 3]])
        .unwrap();
    let (v, c) = (small.variance(), small.covariance());
    for i in 0..3 {
        assert!((v[i] - c[i * 3 + i]).abs() <= 1e-12 * v[i]);
    }
}

/// Before: with a single draw, `variance()` and `covariance()` returned 0 (divisor clamped to
/// 1): a plausible number for a quantity that does not exist. Now NaN.
#[test]
fn one_draw_has_no_variance() {
    let t = Sampler::new(1)
        .chains(1)
        .warmup(0)
        .run(&mala(2), &[vec![0.0; 2]])
        .unwrap();
    assert!(t.variance().iter().all(|v| v.is_nan()));
    assert!(t.covariance().iter().all(|v| v.is_nan()));
    assert!(t.mean().iter().all(|v| v.is_finite()));
}

/// Counts every callback.
#[derive(Default)]
struct Calls {
    starts: AtomicUsize,
    steps: AtomicUsize,
    ends: AtomicUsize,
    finishes: AtomicUsize,
}
impl Observer<f64> for Calls {
    fn on_start(&self, _: usize, _: usize) {
        self.starts.fetch_add(1, Ordering::Relaxed);
    }
    fn on_step(&self, _: usize, _: usize, _: bool, _: &StepInfo, _: &[f64]) {
        self.steps.fetch_add(1, Ordering::Relaxed);
    }
    fn on_chain_end(&self, _: usize) {
        self.ends.fetch_add(1, Ordering::Relaxed);
    }
    fn on_finish(&self) {
        self.finishes.fetch_add(1, Ordering::Relaxed);
    }
}
impl Calls {
    fn get(&self) -> [usize; 4] {
        [&self.starts, &self.steps, &self.ends, &self.finishes].map(|a| a.load(Ordering::Relaxed))
    }
}

/// Before: a tuple, slice or `Vec` of observers was not an observer (did not compile); a
/// progress bar and a statistics observer could not run together.
#[test]
fn observers_compose() {
    let (a, b, c) = (Calls::default(), Calls::default(), Calls::default());
    let dynamic: Vec<Box<dyn Observer<f64>>> = vec![Box::new(Calls::default())];
    let s = Sampler::new(40).chains(3).warmup(10).seed(2);
    s.run_with(
        &mala(1),
        &[vec![0.0]],
        &NoAdaptation,
        &(&a, (&b, dynamic), vec![&c]),
    )
    .unwrap();
    for o in [&a, &b, &c] {
        assert_eq!(o.get(), [1, 3 * 50, 3, 1]);
    }
    #[cfg(feature = "progress")]
    {
        let bars = langevin::progress::ProgressBars::hidden();
        let d = Calls::default();
        s.run_with(&mala(1), &[vec![0.0]], &NoAdaptation, &(&bars, &d))
            .unwrap();
        assert_eq!(bars.counts(2).0, 50);
        assert_eq!(d.get(), [1, 150, 3, 1]);
    }
}
