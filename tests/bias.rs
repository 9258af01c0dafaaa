//! Discretisation-bias estimator (`testing::BiasStudy`): coupled runs at h and h/2 against the
//! exact moments of the discretised processes (ULA on N(m, s²), Euler–Maruyama on OU and
//! GBM, SRA1's mean on OU).
use langevin::integrators::Sra1;
use langevin::prelude::*;
use langevin::sde::{GeometricBrownianMotion, OrnsteinUhlenbeck};
use langevin::targets::Gaussian;
use langevin::testing::{BiasEstimate, BiasStudy};

/// Two-sided z at α = 1e-6 (two statistics per test, 2e-6 in total).
const Z_1E6: f64 = 4.892;
/// Two-sided z at α = 5e-7 (four statistics per test).
const Z_5E7: f64 = 5.026;

/// z of the bias and extrapolation estimates against the exact values implied by the exact
/// `E f` at h (`eh`) and h/2 (`eh2`) for weak order p.
fn zs(r: &BiasEstimate, eh: f64, eh2: f64) -> (f64, f64) {
    let q = 2f64.powf(r.order);
    let bias = q * (eh - eh2) / (q - 1.0);
    let extra = (q * eh2 - eh) / (q - 1.0);
    (
        (r.bias.value - bias) / r.bias.se,
        (r.extrapolated.value - extra) / r.extrapolated.se,
    )
}

/// ULA on N(m, s²) from x0: (mean, var) after k steps of size h, exactly
/// (a = 1 − h/s²: mean m + a^k (x0 − m), var 2h (1 − a^{2k})/(1 − a²)).
fn ula_moments(m: f64, s2: f64, x0: f64, h: f64, k: i32) -> (f64, f64) {
    let a = 1.0 - h / s2;
    (
        m + a.powi(k) * (x0 - m),
        2.0 * h * (1.0 - a.powi(2 * k)) / (1.0 - a * a),
    )
}

// ULA on N(1, 2) at h = 0.4, 40 steps from x₀ = 3 (a^40 = 1.3e-4: essentially stationary),
// f(x) = x², 20 000 coupled paths. Oracle: E_h x² = mean² + var of the exact ULA recursion
// at h and h/2; the estimator's expectations are exactly 2(E_h − E_{h/2}) and
// 2E_{h/2} − E_h. Two z-statistics at α = 1e-6 each. Measured (seed 1): bias 0.2315 ± 0.0052 (exact
// 0.2332), z = −0.34; extrapolated 3.002 ± 0.028 (exact 2.990; E_p x² = 3), z = 0.44.
// Bugs caught: dropping the factor 2^p/(2^p − 1) (bias = C − F) shifts the bias estimate by
// half its value, z = 0.117/0.0052 = 22 (derived from the measured SE); coarse increments taken as single fine increments (variance
// h/2 instead of h) halve the coarse stationary variance, E_h x² drops by ≈ 1.1,
// z > 100 (derived); a broken coupling (fine run on an
// independent path) is caught by the SE check: se(bias) is a fraction of the SE that
// independent runs would give, measured 0.061, the assertion allows 0.3 (independent
// paths give ≈ 1).
#[test]
fn ula_gaussian_bias_is_exact() {
    let (m, s2, x0, h, k) = (1.0, 2.0, 3.0, 0.4, 40);
    let sde = LangevinSde::new(Gaussian::isotropic(vec![m], s2).unwrap());
    let r = BiasStudy::new(h, k as usize, 20_000)
        .unwrap()
        .seed(1)
        .run(&sde, &EulerMaruyama, &[x0], |x| x[0] * x[0])
        .unwrap();
    let second = |(mu, v): (f64, f64)| mu * mu + v;
    let eh = second(ula_moments(m, s2, x0, h, k));
    let eh2 = second(ula_moments(m, s2, x0, h / 2.0, 2 * k));
    let (zb, ze) = zs(&r, eh, eh2);
    let indep = 2.0 * (r.coarse.se.powi(2) + r.fine.se.powi(2)).sqrt();
    eprintln!(
        "ULA: bias {:.5} ± {:.5} (exact {:.5}) z {zb:.2}; extrapolated {:.5} ± {:.5} (exact {:.5}, true E x² {}) z {ze:.2}; se ratio {:.3}",
        r.bias.value,
        r.bias.se,
        2.0 * (eh - eh2),
        r.extrapolated.value,
        r.extrapolated.se,
        2.0 * eh2 - eh,
        m * m + s2,
        r.bias.se / indep
    );
    assert!(zb.abs() < Z_1E6 && ze.abs() < Z_1E6, "z {zb} {ze}");
    assert!(
        r.bias.se < 0.3 * indep,
        "coupling lost: se ratio {}",
        r.bias.se / indep
    );
    // The oracle itself: the extrapolation removes the O(h) term of ULA's bias.
    assert!(((2.0 * eh2 - eh) - (m * m + s2)).abs() < 0.2 * (eh - (m * m + s2)).abs());
}

// Euler–Maruyama on OU (μ = 0.5, θ = 1.5, σ = 0.8) from x₀ = 2 to T = 1 with h = 0.1:
// f = x and f = x², exact EM moments (`OrnsteinUhlenbeck::em_moments`) at h and h/2; four
// statistics at α = 5e-7 each. Measured (seed 2): mean bias −0.0398 ± 0.0003,
// x² bias −0.0447 ± 0.0006; z = 1.61, 1.25, 0.91, 1.12.
#[test]
fn ou_moments_bias() {
    let ou = OrnsteinUhlenbeck::new(vec![0.5], 1.5, 0.8).unwrap();
    let (x0, h, k) = (2.0, 0.1, 10u32);
    let study = BiasStudy::new(h, k as usize, 20_000).unwrap().seed(2);
    let (m1, v1) = ou.em_moments(x0, 0, h, k);
    let (m2, v2) = ou.em_moments(x0, 0, h / 2.0, 2 * k);
    let r1 = study.run(&ou, &EulerMaruyama, &[x0], |x| x[0]).unwrap();
    let r2 = study
        .run(&ou, &EulerMaruyama, &[x0], |x| x[0] * x[0])
        .unwrap();
    let (a, b) = zs(&r1, m1, m2);
    let (c, d) = zs(&r2, m1 * m1 + v1, m2 * m2 + v2);
    eprintln!(
        "OU: mean bias {:.5} ± {:.5} z {a:.2} {b:.2}; x² bias {:.5} ± {:.5} z {c:.2} {d:.2}",
        r1.bias.value, r1.bias.se, r2.bias.value, r2.bias.se
    );
    for z in [a, b, c, d] {
        assert!(z.abs() < Z_5E7, "z {z}");
    }
}

// Euler–Maruyama on GBM (λ = 0.5, μ = 0.4) from x₀ = 1 to T = 1 with h = 0.1: f = x and
// f = x², exact EM moments (`GeometricBrownianMotion::em_moments`); four statistics at
// α = 5e-7 each. Multiplicative noise: the coupling still makes C − F small. Measured
// (seed 3): mean bias −0.0201 ± 0.0007, x² bias −0.126 ± 0.004; z = −0.97, −0.36, −1.31, 0.18.
#[test]
fn gbm_moments_bias() {
    let gbm = GeometricBrownianMotion::new(1, 0.5, 0.4).unwrap();
    let (x0, h, k) = (1.0, 0.1, 10u32);
    let study = BiasStudy::new(h, k as usize, 20_000).unwrap().seed(3);
    let (m1, s1) = gbm.em_moments(x0, h, k);
    let (m2, s2) = gbm.em_moments(x0, h / 2.0, 2 * k);
    let r1 = study.run(&gbm, &EulerMaruyama, &[x0], |x| x[0]).unwrap();
    let r2 = study
        .run(&gbm, &EulerMaruyama, &[x0], |x| x[0] * x[0])
        .unwrap();
    let (a, b) = zs(&r1, m1, m2);
    let (c, d) = zs(&r2, s1, s2);
    eprintln!(
        "GBM: mean bias {:.5} ± {:.5} z {a:.2} {b:.2}; x² bias {:.5} ± {:.5} z {c:.2} {d:.2}",
        r1.bias.value, r1.bias.se, r2.bias.value, r2.bias.se
    );
    for z in [a, b, c, d] {
        assert!(z.abs() < Z_5E7, "z {z}");
    }
}

// SRA1 (weak order 2, noise (ΔW, ΔZ): the area branch of the replayed path) on OU: for
// additive noise the mean follows the deterministic RK2 recursion exactly,
// E X_k = μ + (1 − θh + θ²h²/2)^k (x₀ − μ); p = 2 is taken from `weak_order`. Two
// statistics at α = 1e-6. Measured (seed 4): bias 0.00996 ± 0.00007, z = 0.55, −0.05.
// Bug caught: extrapolating an order-2 scheme with p = 1 (factor 2 instead of 4/3) moves the
// bias estimate by 50 %, z ≈ 69 (derived).
#[test]
fn sra1_mean_bias_order_two() {
    let (mu, th) = (0.5, 1.5);
    let ou = OrnsteinUhlenbeck::new(vec![mu], th, 0.8).unwrap();
    let (x0, h, k) = (2.0, 0.2, 5i32);
    let r = BiasStudy::new(h, k as usize, 20_000)
        .unwrap()
        .seed(4)
        .run(&ou, &Sra1, &[x0], |x| x[0])
        .unwrap();
    assert!((r.order - 2.0).abs() < 1e-12);
    let mean = |h: f64, k: i32| mu + (1.0 - th * h + 0.5 * th * th * h * h).powi(k) * (x0 - mu);
    let (zb, ze) = zs(&r, mean(h, k), mean(h / 2.0, 2 * k));
    eprintln!(
        "SRA1: bias {:.6} ± {:.6} z {zb:.2} {ze:.2}",
        r.bias.value, r.bias.se
    );
    assert!(zb.abs() < Z_1E6 && ze.abs() < Z_1E6, "z {zb} {ze}");
}

#[test]
fn same_result_on_one_and_two_threads() {
    let ou = OrnsteinUhlenbeck::new(vec![0.5], 1.5, 0.8).unwrap();
    let s = BiasStudy::new(0.1, 10, 500).unwrap().seed(9);
    let a = s
        .clone()
        .threads(1)
        .run(&ou, &EulerMaruyama, &[2.0], |x| x[0])
        .unwrap();
    let b = s
        .threads(2)
        .run(&ou, &EulerMaruyama, &[2.0], |x| x[0])
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn bad_input_is_an_error() {
    assert!(matches!(
        BiasStudy::new(0.0, 10, 100),
        Err(Error::InvalidStepSize { .. })
    ));
    assert!(matches!(
        BiasStudy::new(f64::NAN, 10, 100),
        Err(Error::InvalidStepSize { .. })
    ));
    assert!(matches!(
        BiasStudy::new(0.1, 0, 100),
        Err(Error::ZeroCount { .. })
    ));
    assert!(matches!(
        BiasStudy::new(0.1, 10, 1),
        Err(Error::InvalidParameter { .. })
    ));
    let s = BiasStudy::new(0.1, 10, 100).unwrap();
    assert!(matches!(
        s.clone().order(0.0),
        Err(Error::InvalidParameter { .. })
    ));
    let ou = OrnsteinUhlenbeck::new(vec![0.5], 1.5, 0.8).unwrap();
    let r = s.run(&ou, &EulerMaruyama, &[1.0, 2.0], |x| x[0]);
    assert!(matches!(r, Err(Error::DimensionMismatch { .. })));
    let r = s.run(&ou, &EulerMaruyama, &[f64::NAN], |x| x[0]);
    assert!(matches!(r, Err(Error::NonFiniteInput { .. })));
    let r = s.run(&ou, &EulerMaruyama, &[1.0], |_| f64::NAN);
    assert!(matches!(r, Err(Error::InvalidConfig { .. })));
    // ULA beyond its stability limit (h ≥ 2 s²) diverges: a typed error naming the path.
    let sde = LangevinSde::new(Gaussian::isotropic(vec![0.0], 0.1).unwrap());
    let r = BiasStudy::new(1.0, 2_000, 10)
        .unwrap()
        .run(&sde, &EulerMaruyama, &[1.0], |x| x[0]);
    assert!(matches!(r, Err(Error::NonFiniteState { .. })), "{r:?}");
}
