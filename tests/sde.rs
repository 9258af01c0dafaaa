//! SDE layer: exact moment recursions of Euler–Maruyama on OU (TESTING.md §2.3), the solve
//! driver's reproducibility and error reporting, and the exact stationary laws of the
//! BAOAB / OBABO splittings on a harmonic potential.
//!
//! z-tests are two-sided at z = 4.892 (α = 1e-6 each, ≤ 2 statistics per test ⇒ ≤ 2e-6).

use langevin::integrators::{Baoab, Obabo, Sra1};
use langevin::prelude::*;
use langevin::rng::stream;
use langevin::sde::{GeometricBrownianMotion, OrnsteinUhlenbeck, Solver};
use langevin::targets::Gaussian;
use nalgebra::{Matrix2, Matrix4, Vector2, Vector4};

const Z: f64 = 4.892;

fn mean_var(xs: &[f64]) -> (f64, f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    let m4 = xs.iter().map(|x| (x - m).powi(4)).sum::<f64>() / n;
    (m, v, m4)
}

/// EM on OU from a fixed x₀: the law after K steps is N(μ + a^K(x₀−μ), σ²h(1−a^{2K})/(1−a²)),
/// a = 1 − θh, exactly (Gaussian, so Var(s²) = 2v²/(C−1)). Checked at K = 5 and K = 40 through
/// the solve driver (which must cut no step: save times on the grid).
/// Bugs caught: step-count off-by-one (a^K wrong: mean off by ≥ 0.1·(x₀−μ)·a^K ≫ SE),
/// noise with sd h instead of √h (variance 10× too small), θ applied as θ/2, save times
/// mapped to the wrong step.
#[test]
fn em_on_ou_exact_mean_and_variance_recursion() {
    let (theta, sigma, mu, h, x0) = (1.5, 0.8, 0.5, 0.1, 3.0);
    let ou = OrnsteinUhlenbeck::new(vec![mu], theta, sigma).unwrap();
    let c = 40_000;
    let sol = Solver::new(0.0, 4.0, h)
        .paths(c)
        .seed(11)
        .save_at(vec![0.5, 4.0])
        .solve(&ou, &EulerMaruyama, &[x0])
        .unwrap();
    for (ti, k) in [(0usize, 5u32), (1, 40)] {
        let xs: Vec<f64> = (0..c).map(|p| sol.state(p, ti).unwrap()[0]).collect();
        let (m, v, _) = mean_var(&xs);
        let (em_m, em_v) = ou.em_moments(x0, 0, h, k);
        let zm = (m - em_m) / (em_v / c as f64).sqrt();
        let zv = (v - em_v) / (em_v * (2.0 / (c as f64 - 1.0)).sqrt());
        eprintln!(
            "K = {k}: mean {m:.5} vs {em_m:.5} (z {zm:.2}), var {v:.5} vs {em_v:.5} (z {zv:.2})"
        );
        // Two save times × two statistics: split α = 2e-6 four ways (z = 5.03).
        assert!(zm.abs() < 5.03 && zv.abs() < 5.03);
    }
    // The exact transition law differs from EM's by O(h): the test can tell them apart.
    let exact_v = ou.transition_variance(4.0);
    let (_, em_v) = ou.em_moments(x0, 0, h, 40);
    assert!((exact_v - em_v).abs() / em_v > 0.05);
}

/// The OU exact transition sampler reproduces N(μ + (x−μ)e^{−θΔ}, σ²(1−e^{−2θΔ})/(2θ)).
/// Bug caught: e^{−θΔ} vs e^{−2θΔ} mix-ups in mean or variance (≥ 20 % off here).
#[test]
fn ou_exact_transition_sampler_moments() {
    let ou = OrnsteinUhlenbeck::new(vec![-1.0], 0.7, 1.3).unwrap();
    let (x, dt, c) = (2.0, 0.9, 100_000);
    let mut rng = stream(5, 0);
    let mut out = [0.0];
    let xs: Vec<f64> = (0..c)
        .map(|_| {
            ou.sample_transition(&[x], dt, &mut rng, &mut out);
            out[0]
        })
        .collect();
    let (m, v, _) = mean_var(&xs);
    let em = -1.0 + 3.0 * (-0.7f64 * dt).exp();
    let ev = 1.3f64.powi(2) * (1.0 - (-1.4f64 * dt).exp()) / 1.4;
    assert!(((m - em) / (ev / c as f64).sqrt()).abs() < Z);
    assert!(((v - ev) / (ev * (2.0 / c as f64).sqrt())).abs() < Z);
}

/// GBM under EM: E[X_K] = X₀(1+λh)^K exactly. Log-normal-ish tails, so the SE uses the exact
/// second moment E[X_K²] = X₀²((1+λh)²+μ²h)^K. Bug caught: the drift multiplied by h twice or
/// diffusion evaluated at the updated state (biases the mean by O(1)·μ²).
#[test]
fn em_on_gbm_exact_mean() {
    let gbm = GeometricBrownianMotion::new(1, 0.5, 0.4).unwrap();
    let (h, k, c) = (0.05, 20u32, 40_000);
    let sol = Solver::new(0.0, h * k as f64, h)
        .paths(c)
        .seed(3)
        .solve(&gbm, &EulerMaruyama, &[1.0])
        .unwrap();
    let (m1, m2) = gbm.em_moments(1.0, h, k);
    let m = sol.mean(0).unwrap()[0];
    let se = ((m2 - m1 * m1) / c as f64).sqrt();
    assert!(((m - m1) / se).abs() < Z, "mean {m} vs {m1}");
}

/// T16 for the solve driver: bit-identical solutions on 1 and 2 threads, different seeds
/// differ. Bug caught: a shared RNG or per-thread streams.
#[test]
fn solver_is_thread_count_independent() {
    let ou = OrnsteinUhlenbeck::new(vec![0.0, 1.0], 1.0, 1.0).unwrap();
    let solve = |threads, seed| {
        Solver::new(0.0, 1.0, 0.01)
            .paths(64)
            .seed(seed)
            .threads(threads)
            .save_at(vec![0.0, 0.333, 1.0])
            .solve(&ou, &Sra1, &[0.5, 0.5])
            .unwrap()
    };
    let (a, b, c) = (solve(1, 9), solve(2, 9), solve(2, 10));
    for p in 0..64 {
        assert_eq!(a.path(p).unwrap(), b.path(p).unwrap());
    }
    assert_ne!(a.path(0).unwrap(), c.path(0).unwrap());
    assert_eq!(a.state(3, 0).unwrap(), &[0.5, 0.5]);
}

/// A diverging path stops with NonFiniteState naming the path and the step: EM on OU with
/// θh = 3 multiplies the deviation by −2 per step and overflows after ≈ 1024 steps.
#[test]
fn solver_reports_non_finite_state() {
    let ou = OrnsteinUhlenbeck::new(vec![0.0], 1.0, 1.0).unwrap();
    let err = Solver::new(0.0, 3.0 * 2000.0, 3.0)
        .paths(3)
        .seed(1)
        .solve(&ou, &EulerMaruyama, &[1.0])
        .unwrap_err();
    match err {
        Error::NonFiniteState { chain, step, .. } => {
            assert_eq!(chain, 0);
            assert!(step > 900 && step < 1100, "step {step}");
        }
        e => panic!("unexpected error {e}"),
    }
    assert!(matches!(
        Solver::new(1.0, 0.0, 0.1).solve(&ou, &EulerMaruyama, &[0.0]),
        Err(Error::InvalidSchedule { .. })
    ));
}

/// The linear recursion z' = A z + B ξ of a splitting on U = kx²/2 with mass `m`, built by
/// hand from the B, A, O maps — independent of the implementation.
fn splitting_matrices_mass(
    scheme: &str,
    h: f64,
    gamma: f64,
    k: f64,
    m: f64,
) -> (Matrix2<f64>, Vec<Vector2<f64>>) {
    let b = Matrix2::new(1.0, 0.0, -0.5 * h * k, 1.0);
    let a = |tau: f64| Matrix2::new(1.0, tau / m, 0.0, 1.0);
    let o = |c: f64| Matrix2::new(1.0, 0.0, 0.0, c);
    let e = Vector2::new(0.0, m.sqrt());
    match scheme {
        "BAOAB" => {
            let c = (-gamma * h).exp();
            let s = (1.0 - c * c).sqrt();
            let post = b * a(0.5 * h);
            (post * o(c) * a(0.5 * h) * b, vec![post * e * s])
        }
        _ => {
            let c = (-gamma * h * 0.5).exp();
            let s = (1.0 - c * c).sqrt();
            let bab = b * a(h) * b;
            (o(c) * bab * o(c), vec![o(c) * bab * e * s, e * s])
        }
    }
}

fn splitting_matrices(
    scheme: &str,
    h: f64,
    gamma: f64,
    k: f64,
) -> (Matrix2<f64>, Vec<Vector2<f64>>) {
    splitting_matrices_mass(scheme, h, gamma, k, 1.0)
}

/// Stationary covariance of z' = A z + Σ B_j ξ_j: solve (I − A⊗A) vec V = vec(Σ B_j B_jᵀ).
fn lyapunov(a: &Matrix2<f64>, bs: &[Vector2<f64>]) -> Matrix2<f64> {
    let q: Matrix2<f64> = bs.iter().map(|b| b * b.transpose()).sum();
    let mut kron = Matrix4::<f64>::zeros();
    for i in 0..2 {
        for j in 0..2 {
            for k in 0..2 {
                for l in 0..2 {
                    kron[(2 * i + k, 2 * j + l)] = a[(i, j)] * a[(k, l)];
                }
            }
        }
    }
    let lhs = Matrix4::identity() - kron;
    let rhs = Vector4::new(q[(0, 0)], q[(0, 1)], q[(1, 0)], q[(1, 1)]);
    let v = lhs.lu().solve(&rhs).expect("stable recursion");
    Matrix2::new(v[0], v[1], v[2], v[3])
}

/// The exact stationary covariances: BAOAB is exact in x for a quadratic potential
/// (Var x = 1/k) with Var v = 1 − h²k/4; OBABO has Var x = 1/(k(1 − h²k/4)) and Var v = 1
/// (Leimkuhler & Matthews 2013). Deterministic check of the closed forms against the
/// Lyapunov solution of the hand-built recursion (relative 1e-10).
#[test]
fn splitting_stationary_covariances_closed_forms() {
    for &(h, gamma, k) in &[(0.5, 1.0, 4.0), (0.3, 5.0, 2.0), (1.2, 0.2, 1.0)] {
        let (a, b) = splitting_matrices("BAOAB", h, gamma, k);
        let v = lyapunov(&a, &b);
        assert!(
            (v[(0, 0)] * k - 1.0).abs() < 1e-10,
            "BAOAB Var x {}",
            v[(0, 0)]
        );
        assert!(
            (v[(1, 1)] - (1.0 - h * h * k / 4.0)).abs() < 1e-10,
            "BAOAB Var v {}",
            v[(1, 1)]
        );
        let (a, b) = splitting_matrices("OBABO", h, gamma, k);
        let v = lyapunov(&a, &b);
        assert!(
            (v[(0, 0)] * k * (1.0 - h * h * k / 4.0) - 1.0).abs() < 1e-10,
            "OBABO Var x {}",
            v[(0, 0)]
        );
        assert!((v[(1, 1)] - 1.0).abs() < 1e-10, "OBABO Var v {}", v[(1, 1)]);
        // With mass m, BAOAB stays exact in x; Var v = m (1 − h²k/(4m)).
        let m = 3.0;
        let (a, b) = splitting_matrices_mass("BAOAB", h, gamma, k, m);
        let v = lyapunov(&a, &b);
        assert!(
            (v[(0, 0)] * k - 1.0).abs() < 1e-10,
            "BAOAB(m) Var x {}",
            v[(0, 0)]
        );
        assert!((v[(1, 1)] - m * (1.0 - h * h * k / (4.0 * m))).abs() < 1e-10);
    }
}

/// Runs `c` IID chains of a splitting kernel on N(0, 1/k) from its exact stationary law
/// (x, v) ~ N(0, V) for `steps` steps and returns the final x of every chain.
fn run_iid<K>(
    kernel: &K,
    v: &Matrix2<f64>,
    c: usize,
    steps: usize,
    seed: u64,
    set_v: impl Fn(&mut K::State, f64),
) -> Vec<f64>
where
    K: Kernel<Scalar = f64>,
{
    let l = v.cholesky().expect("SPD stationary covariance").l();
    (0..c)
        .map(|i| {
            let mut rng = stream(seed, i as u64);
            let (z1, z2): (f64, f64) = (
                f64::standard_normal(&mut rng),
                f64::standard_normal(&mut rng),
            );
            let x0 = l[(0, 0)] * z1;
            let v0 = l[(1, 0)] * z1 + l[(1, 1)] * z2;
            let mut s = kernel.init(&[x0], i).unwrap();
            set_v(&mut s, v0);
            for _ in 0..steps {
                kernel.step(&mut s, &mut rng).unwrap();
            }
            kernel.position(&s)[0]
        })
        .collect()
}

/// BAOAB and OBABO on N(0, 1/k), k = 4, h = 0.5, γ = 1, started from their exact stationary
/// laws: after 10 steps Var x must still be 1/k = 0.25 (BAOAB) and 1/(k·0.75) = 1/3 (OBABO).
/// IID over 100 000 chains: SE of the sample variance v·sqrt(2/(C−1)) (Gaussian law).
/// Bugs caught: BAOAB with full A steps (becomes OBABO-like: 0.333, z ≈ 70), the O step
/// with c = e^{−γh/2} in BAOAB or noise sqrt(1 − c) instead of sqrt(1 − c²), missing B
/// half step, a stale cached score.
#[test]
fn baoab_and_obabo_exact_configurational_variance_harmonic() {
    let (h, gamma, k) = (0.5, 1.0, 4.0);
    let target = Gaussian::isotropic(vec![0.0], 1.0 / k).unwrap();
    let c = 100_000;
    let baoab = Baoab::new(target.clone(), h, gamma).unwrap();
    let (a, b) = splitting_matrices("BAOAB", h, gamma, k);
    let v = lyapunov(&a, &b);
    let xs: Vec<f64> = run_iid(&baoab, &v, c, 10, 21, |s, v0| s.velocity_mut()[0] = v0);
    let (_, var, _) = mean_var(&xs);
    let z = (var - 0.25) / (0.25 * (2.0 / (c as f64 - 1.0)).sqrt());
    eprintln!("BAOAB Var x = {var:.5} (exact 0.25, z {z:.2})");
    assert!(z.abs() < Z);

    let obabo = Obabo::new(target, h, gamma).unwrap();
    let (a, b) = splitting_matrices("OBABO", h, gamma, k);
    let v = lyapunov(&a, &b);
    let xs: Vec<f64> = run_iid(&obabo, &v, c, 10, 22, |s, v0| s.velocity_mut()[0] = v0);
    let (_, var, _) = mean_var(&xs);
    let exact = 1.0 / (k * (1.0 - h * h * k / 4.0));
    let z = (var - exact) / (exact * (2.0 / (c as f64 - 1.0)).sqrt());
    eprintln!("OBABO Var x = {var:.5} (exact {exact:.5}, z {z:.2})");
    assert!(z.abs() < Z);
}

/// The deterministic steps given noise match the hand-built linear maps exactly (1e-14).
/// Bug caught: any ordering or half-step error in the splittings, wrong noise slot.
#[test]
fn splitting_steps_match_linear_maps() {
    let (h, gamma, k) = (0.5, 1.0, 4.0);
    let target = Gaussian::isotropic(vec![0.0], 1.0 / k).unwrap();
    let baoab = Baoab::new(target.clone(), h, gamma).unwrap();
    let (a, b) = splitting_matrices("BAOAB", h, gamma, k);
    let mut s = baoab.init(&[0.7], 0).unwrap();
    s.velocity_mut()[0] = -0.3;
    baoab.step_with_noise(&mut s, &[0.9]).unwrap();
    let want = a * Vector2::new(0.7, -0.3) + b[0] * 0.9;
    assert!((s.position()[0] - want[0]).abs() < 1e-14 && (s.velocity()[0] - want[1]).abs() < 1e-14);
    let obabo = Obabo::new(target, h, gamma).unwrap();
    let (a, b) = splitting_matrices("OBABO", h, gamma, k);
    let mut s = obabo.init(&[0.7], 0).unwrap();
    s.velocity_mut()[0] = -0.3;
    obabo.step_with_noise(&mut s, &[0.9, -1.1]).unwrap();
    let want = a * Vector2::new(0.7, -0.3) + b[0] * 0.9 + b[1] * (-1.1);
    assert!((s.position()[0] - want[0]).abs() < 1e-14 && (s.velocity()[0] - want[1]).abs() < 1e-14);
    // With a mass matrix (diagonal 2.5).
    let target = Gaussian::isotropic(vec![0.0], 1.0 / k).unwrap();
    for scheme in ["BAOAB", "OBABO"] {
        let (a, b) = splitting_matrices_mass(scheme, h, gamma, k, 2.5);
        let (x, v) = if scheme == "BAOAB" {
            let kern = Baoab::new(target.clone(), h, gamma)
                .unwrap()
                .with_mass(vec![2.5])
                .unwrap();
            let mut s = kern.init(&[0.7], 0).unwrap();
            s.velocity_mut()[0] = -0.3;
            kern.step_with_noise(&mut s, &[0.9]).unwrap();
            (s.position()[0], s.velocity()[0])
        } else {
            let kern = Obabo::new(target.clone(), h, gamma)
                .unwrap()
                .with_mass(vec![2.5])
                .unwrap();
            let mut s = kern.init(&[0.7], 0).unwrap();
            s.velocity_mut()[0] = -0.3;
            kern.step_with_noise(&mut s, &[0.9, -1.1]).unwrap();
            (s.position()[0], s.velocity()[0])
        };
        let mut want = a * Vector2::new(0.7, -0.3) + b[0] * 0.9;
        if b.len() > 1 {
            want += b[1] * (-1.1);
        }
        assert!(
            (x - want[0]).abs() < 1e-14 && (v - want[1]).abs() < 1e-14,
            "{scheme} with mass"
        );
    }
}

/// Coarse increments from a stored path have the exact joint law of (ΔW, ΔZ) over the
/// coarse step H = rδ: Var ΔW = H, Var ΔZ = H³/3, Cov = H²/2 (Kloeden & Platen §10.4).
/// 200 000 IID paths, r = 8, the first coarse step; Gaussian SEs: Var(s²) = 2σ⁴/(n−1),
/// Var(ĉov) = (σ_W²σ_Z² + c²)/n. Three statistics at α = 6.7e-7 (z = 4.97).
/// Bug caught: coarse ΔZ summed without the δ(W(t_j) − W(t_k)) terms (Var ΔZ → rδ³/3 + …,
/// 8× too small at the leading order), ΔZ drawn independently of ΔW (Cov → 0), ΔZ with
/// δ^{3/2} instead of ½δ^{3/2}.
#[test]
fn brownian_path_coarse_increments_have_exact_joint_law() {
    use langevin::sde::BrownianPath;
    let (r, dt, n) = (8usize, 0.125, 200_000usize);
    let hh = r as f64 * dt;
    let mut path = BrownianPath::<f64>::with_area(1, 16, dt).unwrap();
    let (mut ws, mut zs) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut w, mut z) = ([0.0], [0.0]);
    for i in 0..n {
        path.regenerate(77, i as u64);
        path.increment_with_area(r, 1, &mut w, &mut z).unwrap();
        ws.push(w[0]);
        zs.push(z[0]);
    }
    let (mw, vw, _) = mean_var(&ws);
    let (mz, vz, _) = mean_var(&zs);
    let cov = ws
        .iter()
        .zip(&zs)
        .map(|(a, b)| (a - mw) * (b - mz))
        .sum::<f64>()
        / (n as f64 - 1.0);
    let (ew, ez, ec) = (hh, hh.powi(3) / 3.0, hh * hh / 2.0);
    let zw = (vw - ew) / (ew * (2.0 / (n as f64 - 1.0)).sqrt());
    let zz = (vz - ez) / (ez * (2.0 / (n as f64 - 1.0)).sqrt());
    let zc = (cov - ec) / ((ew * ez + ec * ec) / n as f64).sqrt();
    eprintln!("coarse (ΔW, ΔZ): z = {zw:.2}, {zz:.2}, {zc:.2}");
    assert!(zw.abs() < 4.97 && zz.abs() < 4.97 && zc.abs() < 4.97);
    // Deterministic consistency: summing all coarse ΔW gives W(T).
    let mut tot = 0.0;
    for k in 0..path.coarse_steps(r) {
        path.increment(r, k, &mut w).unwrap();
        tot += w[0];
    }
    assert!((tot - path.total()[0]).abs() < 1e-12);
}

/// Constructors reject bad input with typed errors (no panics).
#[test]
fn constructors_validate() {
    use langevin::mcmc::{Constant, PolynomialDecay};
    use langevin::sde::BrownianPath;
    assert!(OrnsteinUhlenbeck::new(vec![0.0], -1.0, 1.0).is_err());
    assert!(OrnsteinUhlenbeck::<f64>::new(vec![], 1.0, 1.0).is_err());
    assert!(OrnsteinUhlenbeck::new(vec![f64::NAN], 1.0, 1.0).is_err());
    assert!(GeometricBrownianMotion::new(0, 1.0, 1.0).is_err());
    assert!(GeometricBrownianMotion::new(1, f64::INFINITY, 1.0).is_err());
    assert!(BrownianPath::<f64>::new(1, 0, 0.1).is_err());
    assert!(BrownianPath::<f64>::new(1, 4, -0.1).is_err());
    assert!(Constant::new(0.0).is_err());
    assert!(PolynomialDecay::new(1.0, 0.0, 0.5).is_err());
    assert!(PolynomialDecay::new(1.0, 1.0, 1.5).is_err());
    let g = Gaussian::<f64>::standard(2).unwrap();
    assert!(Baoab::new(g.clone(), 0.0, 1.0).is_err());
    assert!(Obabo::new(g.clone(), 0.1, -1.0).is_err());
    assert!(
        Baoab::new(g, 0.1, 1.0)
            .unwrap()
            .with_mass(vec![1.0, 0.0])
            .is_err()
    );
}

/// The splittings' deterministic steps reject noise of the wrong length with a typed error
/// instead of silently refreshing only part of v (BAOAB) or panicking on a slice (OBABO).
/// Bug caught: unvalidated user-supplied noise lengths in library code.
#[test]
fn splitting_steps_reject_wrong_noise_length() {
    let g = Gaussian::<f64>::standard(2).unwrap();
    let baoab = Baoab::new(g.clone(), 0.1, 1.0).unwrap();
    let mut s = baoab.init(&[0.1, 0.2], 0).unwrap();
    assert!(matches!(
        baoab.step_with_noise(&mut s, &[0.5]),
        Err(langevin::Error::DimensionMismatch { .. })
    ));
    assert_eq!(s.steps(), 0);
    let obabo = Obabo::new(g, 0.1, 1.0).unwrap();
    let mut s = obabo.init(&[0.1, 0.2], 0).unwrap();
    assert!(matches!(
        obabo.step_with_noise(&mut s, &[0.5, 0.5, 0.5]),
        Err(langevin::Error::DimensionMismatch { .. })
    ));
    assert!(obabo.step_with_noise(&mut s, &[0.5; 4]).is_ok());
}

/// dX = (1 + t) dW as an additive-noise SDE (d = m = 1, G(t) = 1 + t), no drift; GBM-like
/// diffusion without a derivative for the Milstein fallback.
struct TimeNoise;
impl Target for TimeNoise {
    type Scalar = f64;
    fn dim(&self) -> usize {
        1
    }
}
impl Sde for TimeNoise {
    fn noise_kind(&self) -> langevin::sde::NoiseKind {
        langevin::sde::NoiseKind::Additive { noise_dim: 1 }
    }
    fn drift_into(&self, _t: f64, _x: &[f64], out: &mut [f64]) {
        out[0] = 0.0;
    }
    fn diffusion_into(&self, t: f64, _x: &[f64], out: &mut [f64]) {
        out[0] = 1.0 + t;
    }
}

/// SRA1 integrates ∫(1+s) dW exactly for a linearly time-dependent G:
/// ∫_t^{t+h} (1+s) dW_s = (1+t) ΔW + (h ΔW − ΔZ). Bug caught: G(t) and G(t+h) swapped in
/// the ΔZ/h terms, or ΔZ with the wrong sign (deterministic, 1e-14).
#[test]
fn sra1_exact_for_linear_time_dependent_additive_noise() {
    let (t, h, dw, dz) = (0.3, 0.2, 0.17, 0.011);
    let mut x = [1.0];
    let mut scratch = vec![0.0; Sra1.scratch_len(&TimeNoise)];
    Sra1.step_with_noise(&TimeNoise, t, h, &mut x, &[dw, dz], &mut scratch);
    let want = 1.0 + (1.0 + t) * dw + (h * dw - dz);
    assert!((x[0] - want).abs() < 1e-14, "{} vs {want}", x[0]);
}

/// GBM without `diffusion_derivative_into`: Milstein must fall back to the derivative-free
/// scheme (bit-identical), and with the derivative it matches ½μ²X(ΔW² − h) (1e-14).
struct GbmNoDerivative(GeometricBrownianMotion<f64>);
impl Target for GbmNoDerivative {
    type Scalar = f64;
    fn dim(&self) -> usize {
        1
    }
}
impl Sde for GbmNoDerivative {
    fn noise_kind(&self) -> langevin::sde::NoiseKind {
        self.0.noise_kind()
    }
    fn drift_into(&self, t: f64, x: &[f64], out: &mut [f64]) {
        self.0.drift_into(t, x, out)
    }
    fn diffusion_into(&self, t: f64, x: &[f64], out: &mut [f64]) {
        self.0.diffusion_into(t, x, out)
    }
}

#[test]
fn milstein_uses_derivative_or_falls_back() {
    use langevin::integrators::{Milstein, MilsteinDerivativeFree};
    let gbm = GeometricBrownianMotion::new(1, 0.7, 0.9).unwrap();
    let nod = GbmNoDerivative(gbm.clone());
    let (h, dw) = (0.04, -0.13);
    let mut s = vec![0.0; 8];
    let (mut a, mut b, mut c) = ([1.3], [1.3], [1.3]);
    Milstein.step_with_noise(&nod, 0.0, h, &mut a, &[dw], &mut s);
    MilsteinDerivativeFree.step_with_noise(&gbm, 0.0, h, &mut b, &[dw], &mut s);
    assert_eq!(a[0].to_bits(), b[0].to_bits());
    Milstein.step_with_noise(&gbm, 0.0, h, &mut c, &[dw], &mut s);
    let want = 1.3 + 0.7 * 1.3 * h + 0.9 * 1.3 * dw + 0.5 * 0.81 * 1.3 * (dw * dw - h);
    assert!((c[0] - want).abs() < 1e-14);
}

/// Euler–Maruyama on the underdamped Langevin SDE of N(0, 1/k) is the linear recursion
/// z' = (I + hB) z + G ΔW with B = [[0, 1], [−k, −γ]], G = diag(0, sqrt(2γ)): its stationary
/// covariance solves the discrete Lyapunov equation. 100 000 IID paths started from that law
/// and run 5 steps through the solver; Var x and Var v at α = 1e-6 each.
/// Bug caught: friction on the wrong block, noise on x, missing √2 (Var v halved), M⁻¹ missing.
#[test]
fn em_on_underdamped_langevin_sde_matches_lyapunov() {
    use langevin::sde::UnderdampedLangevinSde;
    let (k, gamma, h, c) = (2.0, 1.5, 0.1, 100_000);
    let sde = UnderdampedLangevinSde::new(Gaussian::isotropic(vec![0.0], 1.0 / k).unwrap(), gamma)
        .unwrap();
    let a = Matrix2::new(1.0, h, -h * k, 1.0 - h * gamma);
    let g = Vector2::new(0.0, (2.0 * gamma * h).sqrt());
    let v = lyapunov(&a, &[g]);
    let l = v.cholesky().unwrap().l();
    let sol = Solver::new(0.0, 5.0 * h, h)
        .paths(c)
        .seed(6)
        .solve_from(&sde, &EulerMaruyama, |_, rng| {
            let (z1, z2) = (f64::standard_normal(rng), f64::standard_normal(rng));
            vec![l[(0, 0)] * z1, l[(1, 0)] * z1 + l[(1, 1)] * z2]
        })
        .unwrap();
    let var = sol.variance(0).unwrap();
    for (i, &vi) in var.iter().enumerate() {
        let e = v[(i, i)];
        let z = (vi - e) / (e * (2.0 / (c as f64 - 1.0)).sqrt());
        eprintln!("coordinate {i}: var {vi:.5} vs {e:.5} (z {z:.2})");
        assert!(z.abs() < Z);
    }
}
