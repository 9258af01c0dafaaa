//! Initial velocities of the underdamped kernels (issue 10 item 16, second half): the
//! default draw v ~ N(0, M) from the first d normals of the chain's transition stream,
//! user-given per-chain velocities through `Sampler`, and validation. Deterministic: every
//! comparison is bit-exact against the same arithmetic done by hand.
#![allow(clippy::float_cmp)] // bit-exact replays

use langevin::Error;
use langevin::integrators::{Baoab, InitialVelocity, Obabo};
use langevin::mcmc::Kernel;
use langevin::real::fill_standard_normal;
use langevin::rng::stream;
use langevin::run::{NoAdaptation, Sampler};
use langevin::targets::Gaussian;

fn target() -> Gaussian<f64> {
    Gaussian::isotropic(vec![0.5, -1.0], 0.7).unwrap()
}
const MASS: [f64; 2] = [2.5, 0.4];

/// Catches: the default start v = 0 (langevin 0.1: every chain began at rest, far from the
/// stationary N(0, M) of v), a draw not scaled by sqrt(M) (or by M), and a draw from a
/// stream other than the documented one (the first d normals of the transition stream,
/// followed by the step's own noise). Replays `Kernel::step` by hand, bit for bit.
#[test]
fn default_velocity_is_a_draw_from_n0m_on_the_transition_stream() {
    let b = Baoab::new(target(), 0.3, 1.2)
        .unwrap()
        .with_mass(MASS.to_vec())
        .unwrap();
    let o = Obabo::new(target(), 0.3, 1.2)
        .unwrap()
        .with_mass(MASS.to_vec())
        .unwrap();
    let x0 = [0.2, 0.1];
    for seed in [1u64, 7] {
        // BAOAB: d normals for v, then d for the O step.
        let mut s = b.init(&x0, 0).unwrap();
        assert_eq!(s.velocity(), [0.0, 0.0]);
        b.step(&mut s, &mut stream(seed, 0)).unwrap();
        let mut rng = stream(seed, 0);
        let mut xi = [0.0; 2];
        fill_standard_normal(&mut rng, &mut xi);
        let mut r = b.init(&x0, 0).unwrap();
        for j in 0..2 {
            r.velocity_mut()[j] = MASS[j].sqrt() * xi[j];
        }
        let mut noise = [0.0; 2];
        fill_standard_normal(&mut rng, &mut noise);
        b.step_with_noise(&mut r, &noise).unwrap();
        assert_eq!(s.position(), r.position());
        assert_eq!(s.velocity(), r.velocity());
        // OBABO: 2d normals per step.
        let mut s = o.init(&x0, 0).unwrap();
        o.step(&mut s, &mut stream(seed, 0)).unwrap();
        let mut rng = stream(seed, 0);
        fill_standard_normal(&mut rng, &mut xi);
        let mut r = o.init(&x0, 0).unwrap();
        for j in 0..2 {
            r.velocity_mut()[j] = MASS[j].sqrt() * xi[j];
        }
        let mut noise = [0.0; 4];
        fill_standard_normal(&mut rng, &mut noise);
        o.step_with_noise(&mut r, &noise).unwrap();
        assert_eq!(s.position(), r.position());
        assert_eq!(s.velocity(), r.velocity());
    }
}

/// Catches: `InitialVelocity::Zero` not restoring the 0.1 behaviour, `velocity_mut` before
/// the first step being overwritten by the default draw, and the draw happening again at
/// later steps.
#[test]
fn zero_and_velocity_mut_start_where_told() {
    let b = Baoab::new(target(), 0.3, 1.2).unwrap();
    let z = b
        .clone()
        .with_initial_velocity(InitialVelocity::Zero)
        .unwrap();
    let x0 = [0.2, 0.1];
    let replay = |v0: [f64; 2], steps: usize| {
        let mut r = b.init(&x0, 0).unwrap();
        r.velocity_mut().copy_from_slice(&v0);
        let mut rng = stream(3, 0);
        let mut noise = [0.0; 2];
        for _ in 0..steps {
            fill_standard_normal(&mut rng, &mut noise);
            b.step_with_noise(&mut r, &noise).unwrap();
        }
        r
    };
    let mut s = z.init(&x0, 0).unwrap();
    let mut rng = stream(3, 0);
    for _ in 0..3 {
        z.step(&mut s, &mut rng).unwrap();
    }
    assert_eq!(s.position(), replay([0.0, 0.0], 3).position());
    let mut s = b.init(&x0, 0).unwrap();
    s.velocity_mut().copy_from_slice(&[0.4, -0.9]);
    let mut rng = stream(3, 0);
    for _ in 0..3 {
        b.step(&mut s, &mut rng).unwrap();
    }
    let r = replay([0.4, -0.9], 3);
    assert_eq!((s.position(), s.velocity()), (r.position(), r.velocity()));
}

/// Catches: given velocities ignored by `Sampler`, assigned to the wrong chains, or
/// accepted with the wrong length / non-finite entries / too few chains (a panic on
/// `velocities[c]` instead of a typed error).
#[test]
fn given_velocities_through_sampler() {
    let vs = vec![vec![0.3, -0.2], vec![-1.5, 0.8]];
    let k = Obabo::new(target(), 0.25, 0.9)
        .unwrap()
        .with_initial_velocity(InitialVelocity::Given(vs.clone()))
        .unwrap();
    let t = Sampler::new(2)
        .chains(2)
        .warmup(0)
        .seed(11)
        .run_with(&k, &[vec![0.2, 0.1]], &NoAdaptation, &())
        .unwrap();
    for c in 0..2 {
        let mut r = k.init(&[0.2, 0.1], c).unwrap();
        assert_eq!(r.velocity(), &vs[c][..]);
        let mut rng = stream(11, c as u64);
        let mut noise = [0.0; 4];
        for i in 0..2 {
            fill_standard_normal(&mut rng, &mut noise);
            k.step_with_noise(&mut r, &noise).unwrap();
            assert_eq!(t.draw(c, i), r.position(), "chain {c} draw {i}");
        }
    }
    let too_few = Sampler::new(2)
        .chains(3)
        .run_with(&k, &[vec![0.2, 0.1]], &NoAdaptation, &());
    assert!(matches!(
        too_few,
        Err(Error::InvalidInitialState { chain: 2, .. })
    ));
    let b = Baoab::new(target(), 0.25, 0.9).unwrap();
    assert!(matches!(
        b.clone()
            .with_initial_velocity(InitialVelocity::Given(vec![vec![0.1]])),
        Err(Error::DimensionMismatch { .. })
    ));
    assert!(matches!(
        b.with_initial_velocity(InitialVelocity::Given(vec![vec![0.1, f64::NAN]])),
        Err(Error::NonFiniteInput { index: 1, .. })
    ));
}
