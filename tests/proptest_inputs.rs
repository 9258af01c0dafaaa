//! Property tests over the public constructors and run entry points with arbitrary numbers
//! (NaN, ±∞, ±0, huge, tiny, negative, ordinary): every call returns a typed error or a
//! finite result — never a panic (proptest turns a panic into a failing case) and never a
//! non-finite draw inside an `Ok`.
//!
//! Case counts are small (48 per property) so that the file runs in about a second; the
//! edge values are drawn with high probability by `num()`.

use langevin::annealed::{AnnealedLangevin, LevelStep, ParticleRun, SigmaLevels};
use langevin::prelude::*;
use langevin::sde::{BrownianPath, OrnsteinUhlenbeck, Solver};
use langevin::targets::{Gaussian, GaussianMixture};
use proptest::prelude::*;

/// 48 cases per property from a fixed seed (reproducible runs; no regression files written).
/// Searched more widely once by hand: `PROPTEST_WIDE=1` runs 3000 cases from a random seed.
fn config_fixed() -> ProptestConfig {
    let wide = std::env::var_os("PROPTEST_WIDE").is_some();
    ProptestConfig {
        cases: if wide { 3000 } else { 48 },
        rng_seed: if wide {
            proptest::test_runner::RngSeed::Random
        } else {
            proptest::test_runner::RngSeed::Fixed(10)
        },
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Edge values half of the time, any f64 or an ordinary magnitude otherwise.
fn num() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        Just(-0.0),
        Just(f64::MAX),
        Just(-f64::MAX),
        Just(f64::MIN_POSITIVE),
        Just(1e-300),
        Just(-1.0),
        any::<f64>(),
        -10.0..10.0f64,
        0.0..3.0f64,
    ]
}

fn all_finite(xs: &[f64]) -> bool {
    xs.iter().all(|v| v.is_finite())
}

/// A sampler configuration with small, possibly zero counts.
#[derive(Debug, Clone)]
struct Config {
    draws: usize,
    chains: usize,
    warmup: usize,
    thin: usize,
    threads: Option<usize>,
    seed: u64,
}

fn config() -> impl Strategy<Value = Config> {
    (
        0..30usize,
        0..4usize,
        0..30usize,
        0..3usize,
        prop::option::of(0..3usize),
        any::<u64>(),
    )
        .prop_map(|(draws, chains, warmup, thin, threads, seed)| Config {
            draws,
            chains,
            warmup,
            thin,
            threads,
            seed,
        })
}

fn sampler(c: &Config) -> Sampler {
    let s = Sampler::new(c.draws)
        .chains(c.chains)
        .warmup(c.warmup)
        .thin(c.thin)
        .seed(c.seed);
    match c.threads {
        Some(t) => s.threads(t),
        None => s,
    }
}

fn check_trace(c: &Config, r: Result<Trace<f64>>) -> std::result::Result<(), TestCaseError> {
    if let Ok(t) = r {
        prop_assert_eq!(t.n_chains(), c.chains);
        prop_assert!(c.draws > 0 && c.thin > 0 && c.threads != Some(0));
        for ch in &t.chains {
            prop_assert!(all_finite(ch), "non-finite draw in an Ok trace");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config_fixed())]

    #[test]
    fn mala_and_ula_runs(h in num(), x0 in num(), x1 in num(), c in config(), var in num()) {
        let inits = vec![vec![x0, x1]];
        if let Ok(target) = Gaussian::isotropic(vec![0.0, 1.0], var) {
            if let Ok(mala) = Mala::new(&target, h) {
                check_trace(&c, sampler(&c).run(&mala, &inits))?;
                if let Ok(adapt) = langevin::adapt::StepSizeAdaptation::new(var) {
                    let r = sampler(&c).run_with(&mala, &inits, &adapt, &());
                    check_trace(&c, r)?;
                }
            }
            if let Ok(ula) = Ula::new(&target, h) {
                check_trace(&c, sampler(&c).run(&ula, &inits))?;
            }
        }
    }

    #[test]
    fn brownian_paths(m in 0..3usize, n in prop_oneof![0..9usize, Just(usize::MAX), Just(usize::MAX / 2)], dt in num(), r in any::<usize>(), k in any::<usize>(), seed in any::<u64>()) {
        let _ = BrownianPath::<f32>::new(m, n, dt as f32);
        if let Ok(mut p) = BrownianPath::<f64>::with_area(m, n, dt) {
            p.regenerate(seed, 0);
            prop_assert!(all_finite(p.total()));
            let (mut w, mut z) = (vec![0.0; m], vec![0.0; m]);
            for (r, k) in [(r, k), (r % 4, k % 4)] {
                if p.increment_with_area(r, k, &mut w, &mut z).is_ok() {
                    prop_assert!(all_finite(&w) && all_finite(&z));
                }
                if p.increment(r, k, &mut w).is_ok() {
                    prop_assert!(all_finite(&w));
                }
            }
        }
    }

    #[test]
    fn sde_solver(t0 in num(), t1 in num(), h in num(), theta in num(), sigma in num(), x0 in num(), paths in 0..3usize, threads in prop::option::of(0..3usize)) {
        if let Ok(ou) = OrnsteinUhlenbeck::new(vec![0.0], theta, sigma) {
            // Bound the work: at most 10⁴ steps per path.
            let steps = ((t1 - t0) / h).abs();
            if !(steps.is_finite() && steps <= 1e4) {
                return Ok(());
            }
            let mut s = Solver::new(t0, t1, h).paths(paths);
            if let Some(t) = threads {
                s = s.threads(t);
            }
            if let Ok(sol) = s.solve(&ou, &EulerMaruyama, &[x0]) {
                for p in 0..sol.n_paths() {
                    prop_assert!(all_finite(sol.path(p).unwrap()));
                }
            }
        }
    }

    #[test]
    fn annealed_particles(smax in num(), smin in num(), levels in 0..4usize, steps in 0..4usize, h_last in num(), x0 in num(), n in 0..80usize, threads in prop::option::of(0..3usize)) {
        let gmm = GaussianMixture::<f64>::ring(3, 2.0, 0.5).unwrap();
        if let Ok(sl) = SigmaLevels::geometric(smax, smin, levels)
            && let Ok(al) = AnnealedLangevin::new(&gmm, sl, steps, LevelStep::Langevin { h_last })
        {
            let mut run = ParticleRun::new(n).seed(3);
            if let Some(t) = threads {
                run = run.threads(t);
            }
            if let Ok(p) = al.run(&run, &vec![x0, -x0]) {
                prop_assert_eq!(p.len(), n);
                prop_assert!(all_finite(p.as_slice()));
            }
        }
    }
}
