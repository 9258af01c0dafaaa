//! MALT (Metropolis-adjusted Langevin trajectories): deterministic energy identities and
//! K-step invariance from exact draws (the T4 design of `tests/statistical.rs`, run through
//! the conformance kit `langevin::testing::conformance`).
//!
//! Error budget: every statistical test has a false-failure rate α = 2e-6, split by the kit
//! over its sub-statistics (KS with the DKW bound, mean z, variance z per coordinate). Tests
//! that assert a *failure* (a planted bug, the cooled target) state the measured effect.

use langevin::mcmc::{Malt, MaltState, mala_log_acceptance};
use langevin::prelude::*;
use langevin::targets::{ExactSample, Gaussian, Univariate};
use langevin::testing::conformance::{InvarianceTest, cooled};
use rand::{Rng, RngExt};
use statrs::distribution::StudentsT;

fn aniso2() -> Gaussian<f64> {
    Gaussian::full(vec![1.0, -2.0], &[2.0, 0.9, 0.9, 0.5]).unwrap()
}

fn student7() -> Univariate<StudentsT> {
    Univariate::new(StudentsT::new(0.5, 1.0, 7.0).unwrap())
}

fn normals(rng: &mut impl Rng, n: usize) -> Vec<f64> {
    (0..n).map(|_| f64::standard_normal(rng)).collect()
}

/// A hand-computed trajectory. N(0, 1), x₀ = 0, h = 1, L = 2, γ = ln 2 (η = ½), ξ = (1, 0):
/// leapfrog 1: v 1 → 1 → 0.5, x 0 → 1, ΔK = 0.125 − 0.5 = −0.375;
/// O: v = 0.25; leapfrog 2: v 0.25 → −0.25 → −0.625, x → 0.75, ΔK = 0.1953125 − 0.03125.
/// Δ = log p(x₀) − log p(x₂) + ΣΔK = 0.28125 − 0.2109375 = 0.0703125.
/// The naive H(x₂, v₂) − H(x₀, v₀), which also counts the O step's kinetic change, is
/// −0.0234375. Bugs caught: O increments counted (−0.0234), a full-h first kick, η = e^{−γh/2}
/// (O gives v = 0.3536: Δ changes), a missing final kick — each changes Δ by ≥ 0.02 against a
/// tolerance of 1e-14.
#[test]
fn malt_hand_computed_trajectory() {
    let malt = Malt::new(Gaussian::<f64>::standard(1).unwrap(), 1.0, 2, 2f64.ln()).unwrap();
    let mut s = malt.init(&[0.0], 0).unwrap();
    let delta = malt.trajectory_with_noise(&mut s, &[1.0, 0.0]).unwrap();
    assert!((delta - 0.0703125).abs() < 1e-14, "Δ = {delta}");
    assert!((s.proposal()[0] - 0.75).abs() < 1e-15);
    assert!((s.momentum()[0] + 0.625).abs() < 1e-15);
    assert_eq!(s.position(), &[0.0]); // the trajectory does not move the chain
    assert_eq!(s.gradient_evaluations(), 2);
    // Wrong noise length is a typed error.
    assert!(malt.trajectory_with_noise(&mut s, &[1.0]).is_err());
}

/// L = 1 is MALA with step h²/2: the end point is x + (h²/2)∇log p(x) + h ξ and −Δ equals
/// MALA's log acceptance ratio at that point (relative 1e-12), on 200 random points of a
/// correlated 3-D Gaussian and random h ∈ (0.05, 1.5), at several frictions (γ is irrelevant
/// at L = 1). Bugs caught: a wrong kick or drift constant, the energy error with the wrong
/// sign, the kinetic energy without ½ — each breaks the identity by O(1).
#[test]
fn malt_with_one_step_is_mala() {
    let target = Gaussian::full(
        vec![0.3, -1.0, 2.0],
        &[1.0, 0.4, 0.1, 0.4, 0.8, -0.2, 0.1, -0.2, 0.5],
    )
    .unwrap();
    let mut rng = langevin::rng::stream(31, 0);
    for trial in 0..200 {
        let h = 0.05 + 1.45 * rng.random::<f64>();
        let gamma = [0.0, 0.5, 10.0][trial % 3];
        let malt = Malt::new(target.clone(), h, 1, gamma).unwrap();
        let mut x = vec![0.0; 3];
        target.sample_into(&mut rng, &mut x);
        let mut s = malt.init(&x, 0).unwrap();
        let xi = normals(&mut rng, 3);
        let delta = malt.trajectory_with_noise(&mut s, &xi).unwrap();
        let g = target.score(&x);
        let y = s.proposal().to_vec();
        for i in 0..3 {
            let expect = x[i] + 0.5 * h * h * g[i] + h * xi[i];
            assert!((y[i] - expect).abs() < 1e-12 * (1.0 + expect.abs()));
        }
        let log_r = mala_log_acceptance(
            &x,
            target.log_density(&x),
            &g,
            &y,
            target.log_density(&y),
            &target.score(&y),
            0.5 * h * h,
        );
        assert!(
            (-delta - log_r).abs() < 1e-12 * (1.0 + log_r.abs()),
            "trial {trial}: −Δ = {}, MALA log r = {log_r}",
            -delta
        );
    }
}

/// An independent transcription of the energy error: leapfrog by leapfrog with full H
/// evaluations (no telescoping), diagonal mass `m`; returns (Δ, H(end) − H(start)).
fn reference_energy(
    target: &Gaussian<f64>,
    x0: &[f64],
    xi: &[f64],
    h: f64,
    l: usize,
    gamma: f64,
    m: &[f64],
) -> (f64, f64) {
    let d = x0.len();
    let kin = |v: &[f64]| v.iter().zip(m).map(|(v, m)| 0.5 * v * v / m).sum::<f64>();
    let ham = |x: &[f64], v: &[f64]| -target.log_density(x) + kin(v);
    let eta = (-gamma * h).exp();
    let mut x = x0.to_vec();
    let mut v: Vec<f64> = (0..d).map(|i| m[i].sqrt() * xi[i]).collect();
    let h_start = ham(&x, &v);
    let mut delta = 0.0;
    for step in 0..l {
        if step > 0 {
            for i in 0..d {
                v[i] = eta * v[i] + (1.0 - eta * eta).sqrt() * m[i].sqrt() * xi[step * d + i];
            }
        }
        let before = ham(&x, &v);
        let g = target.score(&x);
        for i in 0..d {
            v[i] += 0.5 * h * g[i];
            x[i] += h * v[i] / m[i];
        }
        let g = target.score(&x);
        for i in 0..d {
            v[i] += 0.5 * h * g[i];
        }
        delta += ham(&x, &v) - before;
    }
    (delta, ham(&x, &v) - h_start)
}

/// Δ of `Malt` equals the leapfrog-by-leapfrog transcription above (relative 1e-10) on 100
/// random starts of a correlated 2-D Gaussian with a diagonal mass, L = 6, γ ∈ {0, 0.8}.
/// With γ = 0 (HMC) Δ is H(end) − H(start); with γ = 0.8 the two differ (the O steps'
/// kinetic changes, mean |difference| > 0.1 here), and Δ is the sum without them.
/// Bugs caught: O increments included, mass applied as M instead of M⁻¹ in the drift or the
/// kinetic energy, the momentum drawn from N(0, I) instead of N(0, M), stale score at the
/// start of a leapfrog.
#[test]
fn malt_energy_error_matches_leapfrog_transcription() {
    let target = aniso2();
    let m = vec![0.7, 2.5];
    let mut rng = langevin::rng::stream(32, 0);
    for gamma in [0.0, 0.8] {
        let malt = Malt::new(target.clone(), 0.35, 6, gamma)
            .unwrap()
            .with_mass(m.clone())
            .unwrap();
        let mut gap = 0.0;
        for _ in 0..100 {
            let mut x = vec![0.0; 2];
            target.sample_into(&mut rng, &mut x);
            let mut s: MaltState<f64> = malt.init(&x, 0).unwrap();
            let xi = normals(&mut rng, 12);
            let delta = malt.trajectory_with_noise(&mut s, &xi).unwrap();
            let (want, naive) = reference_energy(&target, &x, &xi, 0.35, 6, gamma, &m);
            assert!(
                (delta - want).abs() < 1e-10 * (1.0 + want.abs()),
                "γ = {gamma}: Δ {delta} vs {want}"
            );
            gap += (want - naive).abs() / 100.0;
        }
        if gamma == 0.0 {
            assert!(gap < 1e-10, "HMC: Δ must be H(end) − H(start), gap {gap}");
        } else {
            assert!(
                gap > 0.1,
                "the O steps should change the naive energy, gap {gap}"
            );
        }
    }
}

/// C = 2e4 chains, K = 10 MALT transitions (each L leapfrog steps) from exact draws.
fn t4(seed: u64) -> InvarianceTest {
    InvarianceTest::new(20_000, 10).seed(seed)
}

/// MALT leaves a correlated anisotropic 2-D Gaussian (unit and diagonal mass) and a
/// Student-t(ν = 7) invariant
/// (α = 2e-6 per report, split by the kit: 6 sub-tests for the Gaussian, 3 for the t), with
/// movement checks (mean ‖x_K − x₀‖ > 0.5), and the cooled twin (MALT on log p × 1.1, started
/// from the original law) fails the same test.
///
/// Settings: Gaussian h = 0.5, L = 4, γ = 0.5 (measured acceptance 0.59, movement 1.82);
/// Student-t h = 0.7, L = 5, γ = 1 (acceptance 0.95, movement 1.30). The cooled Gaussian has
/// variance 1/1.1 of the target's: measured variance z −9.5 and −9.7 against the critical 5.10.
/// Bugs caught: any error in the energy bookkeeping (see the unit tests above and
/// `malt_naive_energy_mutant_fails` below), a stale cache after a rejection (state bugs need
/// K ≥ 10), the proposal accepted without the correction.
#[test]
fn malt_k_step_invariance_gaussian_and_student_t() {
    let g = aniso2();
    let malt = Malt::new(g.clone(), 0.5, 4, 0.5).unwrap();
    let r = t4(41).min_movement(0.5).run(&malt, &g).unwrap();
    eprintln!("Gaussian: {r}");
    assert!(r.passed(), "{r}");
    // The same with a diagonal mass (the per-chain mass path of `TunableMetric`).
    let massive = malt.clone().with_mass(vec![0.5, 2.0]).unwrap();
    let r = t4(45).min_movement(0.5).run(&massive, &g).unwrap();
    eprintln!("Gaussian, mass diag(0.5, 2): {r}");
    assert!(r.passed(), "{r}");

    let t = student7();
    let malt_t = Malt::new(t.clone(), 0.7, 5, 1.0).unwrap();
    let r = t4(42).min_movement(0.5).run(&malt_t, &t).unwrap();
    eprintln!("Student-t: {r}");
    assert!(r.passed(), "{r}");

    // Power twin: the same kernel on the cooled Gaussian must fail against the original.
    let cold = Malt::new(cooled(g.clone(), 1.1).unwrap(), 0.5, 4, 0.5).unwrap();
    let r = t4(43).run(&cold, &g).unwrap();
    eprintln!("cooled Gaussian: {r}");
    assert!(!r.passed(), "no power: {r}");
}

/// A planted bug: MALT whose acceptance uses the naive energy change H(x_L, v_L) − H(x₀, v₀),
/// i.e. the O steps' kinetic changes counted as if they were integration error.
struct NaiveEnergyMalt {
    inner: Malt<Gaussian<f64>>,
}

impl Kernel for NaiveEnergyMalt {
    type Scalar = f64;
    type State = Vec<f64>;
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn init(&self, x0: &[f64], _: usize) -> langevin::Result<Vec<f64>> {
        Ok(x0.to_vec())
    }
    fn step<R: Rng + ?Sized>(&self, x: &mut Vec<f64>, rng: &mut R) -> langevin::Result<StepInfo> {
        let d = x.len();
        let mut s = self.inner.init(x, 0)?;
        let xi: Vec<f64> = (0..s.trajectory_len() * d)
            .map(|_| f64::standard_normal(rng))
            .collect();
        self.inner.trajectory_with_noise(&mut s, &xi)?;
        let t = self.inner.target();
        let k = |v: &[f64]| 0.5 * v.iter().map(|v| v * v).sum::<f64>();
        let naive = t.log_density(x) - t.log_density(s.proposal()) + k(s.momentum()) - k(&xi[..d]);
        let p = (-naive).exp().min(1.0);
        let accepted = rng.random::<f64>() < p;
        if accepted {
            x.copy_from_slice(s.proposal());
        }
        Ok(StepInfo::new(accepted, p, false))
    }
    fn position<'a>(&self, x: &'a Vec<f64>) -> &'a [f64] {
        x
    }
}

/// The naive-energy mutant (O increments counted) fails the same invariance test on the same
/// Gaussian and settings (h = 0.5, L = 4, γ = 0.5). Measured: variance z −26.3 and −20.9
/// (critical ±5.10), KS 0.030 and 0.027 (DKW bound 0.0198); the naive ratio over-rejects
/// moves that heat the momentum, so the law of x contracts.
#[test]
fn malt_naive_energy_mutant_fails() {
    let g = aniso2();
    let k = NaiveEnergyMalt {
        inner: Malt::new(g.clone(), 0.5, 4, 0.5).unwrap(),
    };
    let r = t4(44).run(&k, &g).unwrap();
    eprintln!("naive-energy mutant: {r}");
    assert!(!r.passed(), "the naive-energy bug was not caught: {r}");
}

/// `TunableMetric::set_metric(M⁻¹)` gives the same trajectory as a kernel built with mass `M`
/// (bitwise-close, 1e-14), and a dense metric is a typed error. Bug caught: the metric taken
/// as the mass instead of its inverse, `sqrt_mass` not refreshed with `inv_mass`.
#[test]
fn malt_set_metric_is_inverse_mass() {
    use langevin::mcmc::{Metric, TunableMetric};
    let g = aniso2();
    let plain = Malt::new(g.clone(), 0.3, 3, 0.7).unwrap();
    let massive = plain.clone().with_mass(vec![4.0, 0.25]).unwrap();
    let xi = [0.3, -1.2, 0.8, 0.1, -0.5, 2.0];
    let mut a = plain.init(&[0.5, -1.5], 0).unwrap();
    plain
        .set_metric(&mut a, Metric::diagonal(vec![0.25, 4.0]).unwrap())
        .unwrap();
    let mut b = massive.init(&[0.5, -1.5], 0).unwrap();
    let da = plain.trajectory_with_noise(&mut a, &xi).unwrap();
    let db = massive.trajectory_with_noise(&mut b, &xi).unwrap();
    assert!((da - db).abs() < 1e-14, "{da} vs {db}");
    for i in 0..2 {
        assert!((a.proposal()[i] - b.proposal()[i]).abs() < 1e-14);
    }
    let dense = Metric::dense(&[1.0, 0.2, 0.2, 1.0]).unwrap();
    assert!(plain.set_metric(&mut a, dense).is_err());
}
