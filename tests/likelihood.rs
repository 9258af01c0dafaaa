//! Log-likelihoods through the probability-flow ODE (`annealed::FlowLikelihood`) and the
//! Jacobian-vector products behind them.
//!
//! Oracles: for Gaussian data every marginal p_t is Gaussian, and for a Gaussian mixture every
//! p_t is a mixture with an exact log density (`Marginal`), so `log p_ε(x)` is known exactly.
//! With the exact prior p_T the only error left is the ODE's (measured by step halving) and,
//! for Hutchinson, the estimator's; both are stated per test.

use langevin::Error;
use langevin::annealed::{
    Divergence, FiniteDiffJvp, FlowLikelihood, ForwardSde, Marginal, OdeSolver, Probe,
    SmoothedGaussian, SmoothedLaw, TimeConditionalScore, TimeScoreJvp, Ve, Vp,
};
use langevin::targets::{Gaussian, GaussianMixture};

fn gaussian3() -> SmoothedGaussian<f64> {
    let g = Gaussian::<f64>::full(
        vec![1.0, -0.5, 2.0],
        &[0.5, 0.2, 0.0, 0.2, 0.3, -0.1, 0.0, -0.1, 0.8],
    )
    .unwrap();
    SmoothedGaussian::new(&g).unwrap()
}

/// A 4-D mixture of three components with unequal diagonal covariances.
fn mixture4() -> GaussianMixture<f64> {
    GaussianMixture::with_diagonal(
        vec![0.5, 0.3, 0.2],
        vec![
            vec![1.0, 0.0, -1.0, 0.5],
            vec![-1.5, 1.0, 0.5, 0.0],
            vec![0.0, -1.0, 1.5, -1.0],
        ],
        vec![
            vec![0.3, 0.2, 0.4, 0.25],
            vec![0.2, 0.5, 0.3, 0.2],
            vec![0.4, 0.3, 0.2, 0.3],
        ],
    )
    .unwrap()
}

/// Exact log p_t of a smoothed law under an SDE.
fn exact_log_pt<L: SmoothedLaw<Scalar = f64>, S: ForwardSde<Scalar = f64>>(
    law: &L,
    sde: &S,
    x: &[f64],
    t: f64,
) -> f64 {
    let s = sde.marginal_std(t);
    let mut out = vec![0.0; x.len()];
    law.smoothed_log_density_and_score(x, sde.mean_coef(t), s * s, &mut out)
}

/// The likelihood with the exact prior p_T (so that only the ODE and estimator errors remain).
fn flow<L, S>(
    law: &L,
    sde: S,
    eps: f64,
    solver: OdeSolver,
    div: Divergence,
) -> FlowLikelihood<S, Marginal<L, S>>
where
    L: SmoothedLaw<Scalar = f64>
        + langevin::annealed::SmoothedLawJvp
        + Clone
        + Send
        + Sync
        + 'static,
    S: ForwardSde<Scalar = f64> + Copy + Send + Sync + 'static,
{
    let (l2, s2) = (law.clone(), sde);
    FlowLikelihood::new(sde, Marginal::new(law.clone(), sde).unwrap(), eps)
        .unwrap()
        .solver(solver)
        .unwrap()
        .divergence(div)
        .unwrap()
        .prior_log_density(move |xt| exact_log_pt(&l2, &s2, xt, 1.0))
}

fn heun_errors<L, S>(law: &L, sde: S, x: &[f64], eps: f64, ns: &[usize]) -> Vec<f64>
where
    L: SmoothedLaw<Scalar = f64>
        + langevin::annealed::SmoothedLawJvp
        + Clone
        + Send
        + Sync
        + 'static,
    S: ForwardSde<Scalar = f64> + Copy + Send + Sync + 'static,
{
    let exact = exact_log_pt(law, &sde, x, eps);
    ns.iter()
        .map(|&n| {
            let f = flow(
                law,
                sde,
                eps,
                OdeSolver::Heun { steps: n },
                Divergence::Exact,
            );
            f.log_likelihood(x).unwrap()[0].log_density - exact
        })
        .collect()
}

/// Heun is second order in the log-likelihood: on Gaussian data (VP and VE, ε = 1e-5, exact
/// divergence, exact prior) the error falls 4× per step halving. Measured errors:
/// VP N = 32, 64, 128: −3.676e-3, −9.148e-4, −2.286e-4 (fitted orders 2.006, 2.001);
/// VE (σ 0.01 → 10) N = 64, 128, 256: 1.762e-3, 4.542e-4, 1.152e-4 (orders 1.956, 1.979).
/// Stated bound: |error| ≤ 8/N² nats for N ≥ 64 in both (measured N²·|error| = 3.7 VP,
/// 7.2–7.6 VE). Deterministic (no randomness).
///
/// Bug it catches: a first-order update of the integral (measured mutant: the integral
/// advanced by Euler, `L += h ∇·f̃(x_k, t_k)`: VP errors 9.4e-4, 1.4e-3, 9.3e-4, fitted
/// "order" −0.56, outside [1.9, 2.1]); a wrong sign or a missing `a(t) d` term in ∇·f̃ gives
/// an O(1) error (the VP drift term alone integrates to −(d/2)∫β ≈ −15 nats here).
#[test]
fn heun_is_second_order_on_gaussian_data_vp_and_ve() {
    let g = gaussian3();
    let x = [1.3, -0.2, 1.5];
    let vp = Vp::<f64>::linear(3, 0.1, 20.0).unwrap();
    let e = heun_errors(&g, vp, &x, 1e-5, &[32, 64, 128]);
    let ve = Ve::<f64>::new(3, 0.01, 10.0).unwrap();
    let e2 = heun_errors(&g, ve, &x, 1e-5, &[64, 128, 256]);
    for (name, e, n0) in [("VP", &e, 32.0), ("VE", &e2, 64.0)] {
        for w in e.windows(2) {
            let order = (w[0] / w[1]).abs().log2();
            assert!(
                (1.9..=2.1).contains(&order),
                "{name}: fitted order {order} from errors {e:?}"
            );
        }
        for (k, err) in e.iter().enumerate() {
            let n = n0 * 2f64.powi(k as i32);
            if n >= 64.0 {
                assert!(err.abs() <= 8.0 / (n * n), "{name} N = {n}: error {err}");
            }
        }
    }
}

/// The adaptive solver meets its tolerance: on the same VP Gaussian problem, rtol = atol =
/// 1e-5 gives error −3.8e-6 (962 evaluations) and 1e-6 gives −4.0e-7 (3028 evaluations);
/// the test bounds |error| ≤ 10 · rtol and checks the error falls with the tolerance.
///
/// Bug it catches: a solver whose local error is larger than its estimate says (measured
/// mutant: the integral advanced by Euler while the estimate assumes Heun fails the bound).
#[test]
fn adaptive_heun_meets_its_tolerance() {
    let g = gaussian3();
    let x = [1.3, -0.2, 1.5];
    let vp = Vp::<f64>::linear(3, 0.1, 20.0).unwrap();
    let exact = exact_log_pt(&g, &vp, &x, 1e-5);
    let mut prev = f64::INFINITY;
    for rtol in [1e-4, 1e-5, 1e-6] {
        let solver = OdeSolver::AdaptiveHeun {
            rtol,
            atol: rtol,
            max_steps: 100_000,
        };
        let ll = flow(&g, vp, 1e-5, solver, Divergence::Exact)
            .log_likelihood(&x)
            .unwrap()[0]
            .clone();
        let err = (ll.log_density - exact).abs();
        assert!(err <= 10.0 * rtol, "rtol {rtol}: error {err}");
        assert!(err < prev, "error did not fall with the tolerance");
        assert_eq!(ll.score_evals, 2 * (ll.steps + ll.rejected));
        prev = err;
    }
}

const MIX_POINTS: [[f64; 4]; 6] = [
    [1.0, 0.1, -0.8, 0.4],
    [-1.2, 0.9, 0.4, 0.1],
    [0.1, -0.9, 1.4, -1.1],
    [-0.2, 0.0, 0.3, -0.2],
    [2.0, -1.5, 0.0, 1.0],
    [0.5, 0.5, 0.5, 0.5],
];

/// The exact-divergence likelihood of a 4-D Gaussian mixture (VP and VE) matches the exact
/// log p_ε within the stated ODE error. Measured at N = 400 Heun steps: max |error| over the
/// six points 2.7e-4 nats (VP) and 1.8e-3 (VE, at the point far from every mode); stated
/// bounds 5e-4 (VP) and 4e-3 (VE). Deterministic.
///
/// Bug it catches: a wrong mixture Jacobian (measured mutant: the `− s sᵀ` term of the
/// responsibilities dropped: errors −1.39 nats (VP) and −0.61 (VE) at point 0).
#[test]
fn mixture_exact_divergence_matches_exact_log_density() {
    let gmm = mixture4();
    let xs: Vec<f64> = MIX_POINTS.iter().flatten().copied().collect();
    let vp = Vp::<f64>::linear(4, 0.1, 20.0).unwrap();
    let ve = Ve::<f64>::new(4, 0.01, 10.0).unwrap();
    let solver = OdeSolver::Heun { steps: 400 };
    let lv = flow(&gmm, vp, 1e-5, solver, Divergence::Exact)
        .log_likelihood(&xs)
        .unwrap();
    let le = flow(&gmm, ve, 1e-5, solver, Divergence::Exact)
        .log_likelihood(&xs)
        .unwrap();
    for (i, x) in MIX_POINTS.iter().enumerate() {
        let ev = lv[i].log_density - exact_log_pt(&gmm, &vp, x, 1e-5);
        let ee = le[i].log_density - exact_log_pt(&gmm, &ve, x, 1e-5);
        eprintln!("point {i}: VP error {ev:.3e}, VE error {ee:.3e}");
        assert!(ev.abs() < 5e-4 && ee.abs() < 4e-3, "point {i}: {ev}, {ee}");
        assert_eq!(lv[i].score_evals, 800);
        assert_eq!(lv[i].jvps, 800 * 4);
    }
}

/// Hutchinson's estimate and the exact divergence along the *same* discretised path differ
/// only by the estimator's error `(1/k) Σ_j v_jᵀ B v_j − tr B` (B the path's integrated
/// Jacobian), whose standard error the result reports. For 40 points of the 4-D mixture
/// (VP, N = 64, k = 256 probes, Rademacher and Gaussian), z_i = (L_hutch − L_exact)/SE_i:
/// every |z_i| ≤ 5.69 and Σ z_i² within the χ²₄₀ quantiles [9.79, 102.05], per probe law.
/// Budget 2e-6 for the test: 1e-6 per probe law, half for the 40 z's (1.25e-8 each,
/// two-sided, Bonferroni; k = 256 bounded-variance probe values make the t-statistic close
/// to normal) and half for Σ z² (2.5e-7 per tail).
///
/// Bugs it catches: a standard error off by √k (measured mutant: sd instead of sd/√k gives
/// Σ z² = 0.10, far below 9.79); probes not
/// normalised (`E[v vᵀ] = c I`, c ≠ 1) bias every z by (c − 1) tr B / SE, with |tr B| of
/// tens of nats against SEs of 0.15 (Rademacher) and 0.9 (Gaussian) — measured mean SEs.
#[test]
fn hutchinson_agrees_with_exact_divergence_within_its_standard_error() {
    let gmm = mixture4();
    let vp = Vp::<f64>::linear(4, 0.1, 20.0).unwrap();
    let mut rng = langevin::rng::stream(91, 0);
    let xs: Vec<f64> = (0..40 * 4)
        .map(|_| 1.2 * <f64 as langevin::Real>::standard_normal(&mut rng))
        .collect();
    let solver = OdeSolver::Heun { steps: 64 };
    let exact = flow(&gmm, vp, 1e-5, solver, Divergence::Exact)
        .log_likelihood(&xs)
        .unwrap();
    for probe in [Probe::Rademacher, Probe::Gaussian] {
        let div = Divergence::Hutchinson {
            probes: 256,
            probe,
            seed: 17,
        };
        let h = flow(&gmm, vp, 1e-5, solver, div)
            .log_likelihood(&xs)
            .unwrap();
        let mut chi2 = 0.0;
        for (a, b) in h.iter().zip(&exact) {
            let z = (a.log_density - b.log_density) / a.std_error;
            assert!(z.abs() <= 5.69, "{probe:?}: z = {z}");
            assert_eq!(a.prior_log_density.to_bits(), b.prior_log_density.to_bits()); // same path
            chi2 += z * z;
        }
        let se_mean = h.iter().map(|a| a.std_error).sum::<f64>() / 40.0;
        eprintln!("{probe:?}: Σz² = {chi2:.2} over 40 points, mean SE {se_mean:.4}");
        assert!((9.79..=102.05).contains(&chi2), "{probe:?}: Σz² = {chi2}");
    }
}

/// The acceptance test: Hutchinson (64 Rademacher probes) on the 4-D mixture, VP,
/// ε = 1e-5, N = 400 Heun steps, matches the exact log p_ε within the ODE error (bound 5e-4
/// nats, from `mixture_exact_divergence_matches_exact_log_density`) plus 5.10 SE (two-sided,
/// α = 2e-6/6 per point, six points; k = 64 bounded probe values make the mean close to
/// normal). Measured SE 0.07–0.42 nats, errors −0.17 … 0.22 (|z| ≤ 1.3). Gaussian probes
/// have about 6× the SE on this mixture (mean 0.92 against 0.15 at k = 256 in the test
/// above): their variance `2‖B‖_F²` includes the large diagonal of the
/// integrated Jacobian B, which Rademacher probes do not see.
///
/// Bug it catches: a wrong Jacobian (measured mutant: the mixture's `− s sᵀ` term dropped:
/// error −1.44 nats at point 0 against an SE of 0.17, z = 8.7); a prior of the wrong
/// normalisation misses by 3.68 nats or more at every point.
#[test]
fn hutchinson_matches_exact_mixture_log_density() {
    let gmm = mixture4();
    let xs: Vec<f64> = MIX_POINTS.iter().flatten().copied().collect();
    let vp = Vp::<f64>::linear(4, 0.1, 20.0).unwrap();
    let div = Divergence::Hutchinson {
        probes: 64,
        probe: Probe::Rademacher,
        seed: 5,
    };
    let ll = flow(&gmm, vp, 1e-5, OdeSolver::Heun { steps: 400 }, div)
        .log_likelihood(&xs)
        .unwrap();
    for (i, x) in MIX_POINTS.iter().enumerate() {
        let err = ll[i].log_density - exact_log_pt(&gmm, &vp, x, 1e-5);
        eprintln!("point {i}: error {err:.4}, SE {:.4}", ll[i].std_error);
        assert!(
            err.abs() <= 5e-4 + 5.10 * ll[i].std_error,
            "point {i}: error {err}, SE {}",
            ll[i].std_error
        );
        assert!(ll[i].std_error > 0.0);
    }
}

/// The default prior N(0, prior_std² I) of the SDE instead of the exact p_T: the difference
/// is log p_1(x_1) − log prior(x_1), small (VP: α_1 ≈ 0.0066, measured max |Δ| = 1.0e-3 at
/// the six points, bound 5e-3; VE σ_max = 20: measured max 9.6e-3, bound 3e-2).
/// Deterministic. Bug it catches: the Gaussian prior with a wrong normalisation (measured
/// mutant: `(d/2) ln 2π` dropped shifts every point by 3.68 nats; `d ln σ_max` would be 12
/// nats for VE).
#[test]
fn sde_prior_is_the_normalised_gaussian() {
    let gmm = mixture4();
    let xs: Vec<f64> = MIX_POINTS.iter().flatten().copied().collect();
    let vp = Vp::<f64>::linear(4, 0.1, 20.0).unwrap();
    let solver = OdeSolver::Heun { steps: 100 };
    let with_exact = flow(&gmm, vp, 1e-5, solver, Divergence::Exact)
        .log_likelihood(&xs)
        .unwrap();
    let with_sde = FlowLikelihood::new(vp, Marginal::new(&gmm, vp).unwrap(), 1e-5)
        .unwrap()
        .solver(solver)
        .unwrap()
        .log_likelihood(&xs)
        .unwrap();
    for (a, b) in with_exact.iter().zip(&with_sde) {
        eprintln!("VP prior difference {:.3e}", a.log_density - b.log_density);
        assert!((a.log_density - b.log_density).abs() < 5e-3, "{a:?} {b:?}");
    }
    // VE: prior N(0, σ_max² I) against the exact marginal with variance σ_max² − σ_min² + S.
    let ve = Ve::<f64>::new(4, 0.01, 20.0).unwrap();
    let a = flow(&gmm, ve, 1e-5, solver, Divergence::Exact)
        .log_likelihood(&xs)
        .unwrap();
    let b = FlowLikelihood::new(ve, Marginal::new(&gmm, ve).unwrap(), 1e-5)
        .unwrap()
        .solver(solver)
        .unwrap()
        .log_likelihood(&xs)
        .unwrap();
    for (a, b) in a.iter().zip(&b) {
        eprintln!("VE prior difference {:.3e}", a.log_density - b.log_density);
        assert!((a.log_density - b.log_density).abs() < 3e-2, "{a:?} {b:?}");
    }
}

/// Central differences ([`FiniteDiffJvp`]) agree with the analytic mixture JVP to 1e-7
/// relative (error O(δ²) + O(u/δ); measured ≤ 3e-9), at points between and on the modes,
/// several times, VP and VE; and the likelihood through it agrees with the analytic one to
/// 1e-6 nats. Bug it catches: an error in the analytic Jacobian (measured mutant: `− s sᵀ`
/// dropped: worst relative error 1.5) or in the FD step scaling (a δ off by 2 is a
/// factor-2 JVP error).
#[test]
fn finite_difference_jvp_matches_analytic_jvp() {
    let gmm = mixture4();
    let vp = Vp::<f64>::linear(4, 0.1, 20.0).unwrap();
    let ve = Ve::<f64>::new(4, 0.01, 10.0).unwrap();
    let mut rng = langevin::rng::stream(3, 0);
    let mut normal = || <f64 as langevin::Real>::standard_normal(&mut rng);
    let xs: Vec<f64> = (0..5 * 4).map(|_| normal()).collect();
    let vs: Vec<f64> = (0..5 * 3 * 4).map(|_| normal()).collect();
    let mut worst: f64 = 0.0;
    for t in [1e-3, 0.1, 0.5, 1.0] {
        let mv = Marginal::new(&gmm, vp).unwrap();
        let me = Marginal::new(&gmm, ve).unwrap();
        let check = |a: &dyn TimeScoreJvpDyn| {
            let (mut s1, mut j1, mut s2, mut j2) =
                (vec![0.0; 20], vec![0.0; 60], vec![0.0; 20], vec![0.0; 60]);
            a.exact(&xs, t, &vs, &mut s1, &mut j1);
            a.fd(&xs, t, &vs, &mut s2, &mut j2);
            for (p, q) in s1.iter().zip(&s2) {
                assert!((p - q).abs() <= 1e-12 * (1.0 + q.abs()), "score {p} vs {q}");
            }
            let mut w: f64 = 0.0;
            for (p, q) in j1.chunks(4).zip(j2.chunks(4)) {
                let n = p.iter().map(|v| v * v).sum::<f64>().sqrt();
                let e = p
                    .iter()
                    .zip(q)
                    .map(|(a, b)| (a - b).powi(2))
                    .sum::<f64>()
                    .sqrt();
                w = w.max(e / n);
            }
            w
        };
        worst = worst.max(check(&Pair(&mv))).max(check(&Pair(&me)));
    }
    eprintln!("worst relative FD JVP error {worst:.2e}");
    assert!(worst < 1e-7, "worst relative error {worst}");

    let xs: Vec<f64> = MIX_POINTS.iter().flatten().copied().collect();
    let solver = OdeSolver::Heun { steps: 50 };
    let a = FlowLikelihood::new(vp, Marginal::new(&gmm, vp).unwrap(), 1e-5)
        .unwrap()
        .solver(solver)
        .unwrap()
        .log_likelihood(&xs)
        .unwrap();
    let b = FlowLikelihood::new(
        vp,
        FiniteDiffJvp::new(Marginal::new(&gmm, vp).unwrap()),
        1e-5,
    )
    .unwrap()
    .solver(solver)
    .unwrap()
    .log_likelihood(&xs)
    .unwrap();
    for (a, b) in a.iter().zip(&b) {
        assert!((a.log_density - b.log_density).abs() < 1e-6, "{a:?} {b:?}");
    }
}

trait TimeScoreJvpDyn {
    fn exact(&self, xs: &[f64], t: f64, vs: &[f64], s: &mut [f64], j: &mut [f64]);
    fn fd(&self, xs: &[f64], t: f64, vs: &[f64], s: &mut [f64], j: &mut [f64]);
}
struct Pair<'a, P>(&'a P);
impl<P: TimeScoreJvp<Scalar = f64>> TimeScoreJvpDyn for Pair<'_, P> {
    fn exact(&self, xs: &[f64], t: f64, vs: &[f64], s: &mut [f64], j: &mut [f64]) {
        self.0.score_jvp_batch(xs, t, vs, s, j, &mut Vec::new());
    }
    fn fd(&self, xs: &[f64], t: f64, vs: &[f64], s: &mut [f64], j: &mut [f64]) {
        let fd = FiniteDiffJvp::new(self.0);
        // FD's score is the wrapped score's batch evaluation: compare it with the JVP path's.
        let mut s0 = vec![0.0; s.len()];
        self.0.score_t_batch_into(xs, t, &mut s0, &mut Vec::new());
        fd.score_jvp_batch(xs, t, vs, s, j, &mut Vec::new());
        assert_eq!(s0, s);
    }
}

/// Same seed → bit-identical results on one thread and on several; probes depend on the
/// point's index only. Bug it catches: probes drawn from a shared RNG in block order.
#[test]
fn results_do_not_depend_on_the_thread_count() {
    let gmm = mixture4();
    let vp = Vp::<f64>::linear(4, 0.1, 20.0).unwrap();
    let mut rng = langevin::rng::stream(4, 0);
    let xs: Vec<f64> = (0..37 * 4)
        .map(|_| <f64 as langevin::Real>::standard_normal(&mut rng))
        .collect();
    let f = flow(
        &gmm,
        vp,
        1e-3,
        OdeSolver::Heun { steps: 20 },
        Divergence::Hutchinson {
            probes: 3,
            probe: Probe::Rademacher,
            seed: 8,
        },
    );
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| f.log_likelihood(&xs).unwrap());
    let many = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap()
        .install(|| f.log_likelihood(&xs).unwrap());
    assert_eq!(one, many);
    // Point 20 alone gets the probes of index 0, not 20: a different (valid) estimate.
    let alone = f.log_likelihood(&xs[20 * 4..21 * 4]).unwrap();
    assert_eq!(
        alone[0].prior_log_density.to_bits(),
        one[20].prior_log_density.to_bits()
    );
}

/// Typed errors: dimension mismatches, non-finite inputs and scores, bad ε / T, zero steps or
/// probes, bad tolerances, an exhausted step budget.
#[test]
fn bad_inputs_are_typed_errors() {
    let gmm = mixture4();
    let vp = Vp::<f64>::linear(4, 0.1, 20.0).unwrap();
    let sc = Marginal::new(&gmm, vp).unwrap();
    let vp3 = Vp::<f64>::linear(3, 0.1, 20.0).unwrap();
    assert!(matches!(
        FlowLikelihood::new(vp3, &sc, 1e-5),
        Err(Error::DimensionMismatch { .. })
    ));
    for eps in [0.0, -1e-3, 1.0, f64::NAN] {
        assert!(matches!(
            FlowLikelihood::new(vp, &sc, eps),
            Err(Error::InvalidSchedule { .. })
        ));
    }
    let f = FlowLikelihood::new(vp, &sc, 1e-2).unwrap();
    for t in [1e-3, 1e-2, 1.5, f64::INFINITY] {
        assert!(matches!(
            f.clone().t_end(t),
            Err(Error::InvalidSchedule { .. })
        ));
    }
    assert!(f.clone().t_end(0.5).is_ok());
    assert!(matches!(
        f.clone().solver(OdeSolver::Heun { steps: 0 }),
        Err(Error::ZeroCount { .. })
    ));
    for (rtol, atol) in [(0.0, 0.0), (-1e-3, 1e-3), (f64::NAN, 1e-3)] {
        assert!(matches!(
            f.clone().solver(OdeSolver::AdaptiveHeun {
                rtol,
                atol,
                max_steps: 10
            }),
            Err(Error::InvalidParameter { .. })
        ));
    }
    assert!(matches!(
        f.clone().divergence(Divergence::Hutchinson {
            probes: 0,
            probe: Probe::Gaussian,
            seed: 0
        }),
        Err(Error::ZeroCount { .. })
    ));
    assert!(matches!(
        f.log_likelihood(&[0.0; 7]),
        Err(Error::DimensionMismatch { .. })
    ));
    assert!(matches!(
        f.log_likelihood(&[0.0, 1.0, f64::NAN, 0.0]),
        Err(Error::NonFiniteInput { index: 2, .. })
    ));
    // Step budget.
    let tight = f
        .clone()
        .solver(OdeSolver::AdaptiveHeun {
            rtol: 1e-12,
            atol: 1e-12,
            max_steps: 5,
        })
        .unwrap();
    assert!(matches!(
        tight.log_likelihood(&[0.0; 4]),
        Err(Error::InvalidConfig { .. })
    ));
    // A score that turns NaN: the point is named.
    let nan = NanScore;
    let g = FlowLikelihood::new(Vp::<f64>::linear(1, 0.1, 20.0).unwrap(), &nan, 1e-3).unwrap();
    match g.log_likelihood(&[0.0, 0.5, 2.0]) {
        Err(Error::NonFiniteState { chain: 2, .. }) => {}
        other => panic!("expected NonFiniteState for point 2, got {other:?}"),
    }
}

/// A 1-D score that is NaN for x > 1.
struct NanScore;
impl langevin::Target for NanScore {
    type Scalar = f64;
    fn dim(&self) -> usize {
        1
    }
}
impl TimeConditionalScore for NanScore {
    fn score_t_into(&self, x: &[f64], _t: f64, out: &mut [f64]) {
        out[0] = if x[0] > 1.0 { f64::NAN } else { -x[0] };
    }
}
impl TimeScoreJvp for NanScore {
    fn score_jvp_batch(
        &self,
        xs: &[f64],
        t: f64,
        vs: &[f64],
        s: &mut [f64],
        j: &mut [f64],
        _w: &mut Vec<f64>,
    ) {
        let k = vs.len() / xs.len();
        for (i, x) in xs.iter().enumerate() {
            self.score_t_into(&[*x], t, &mut s[i..i + 1]);
            for p in 0..k {
                j[i * k + p] = -vs[i * k + p];
            }
        }
    }
}

#[cfg(feature = "neural")]
mod neural {
    use super::*;
    use langevin::annealed::{BetaSchedule, NoiseScoreJvp};
    use langevin::neural::{DdpmMlp, Embedding, Mlp, NcsnMlp, TimeFromNoise};

    fn rel(a: &[f64], b: &[f64]) -> f64 {
        let n = b.iter().map(|v| v * v).sum::<f64>().sqrt();
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f64>()
            .sqrt()
            / n
    }

    /// Forward-mode JVPs of the MLP agree with central differences of `Mlp::forward` (f64,
    /// δ = 1e-5: truncation ≈ 1e-10 relative) to 1e-6 relative, and its primal output with
    /// `forward` to 1e-12. Measured worst relative JVP error ≈ 1e-10. Bug it catches: the
    /// tangent multiplied by silu(z) instead of silu'(z), or the bias added to tangent rows
    /// (errors O(1)), or tangents of one point paired with another point's activations.
    #[test]
    fn mlp_forward_jvp_matches_finite_differences() {
        let net = Mlp::<f64>::new(&[5, 16, 16, 3], 11).unwrap();
        let mut rng = langevin::rng::stream(12, 0);
        let mut normal = || <f64 as langevin::Real>::standard_normal(&mut rng);
        let (m, k) = (3, 4);
        let u: Vec<f64> = (0..m * 5).map(|_| normal()).collect();
        let v: Vec<f64> = (0..m * k * 5).map(|_| normal()).collect();
        let mut rows = u.clone();
        rows.extend_from_slice(&v);
        let mut ws = vec![0.0; net.jvp_workspace_len(m + m * k, m)];
        let out = net.forward_jvp(&rows, m, &mut ws).to_vec();
        let mut w2 = vec![0.0; net.workspace_len(1)];
        let mut worst: f64 = 0.0;
        for i in 0..m {
            let ui = &u[i * 5..(i + 1) * 5];
            let f = net.forward(ui, &mut w2).to_vec();
            assert!(rel(&out[i * 3..(i + 1) * 3], &f) < 1e-12);
            for j in 0..k {
                let vj = &v[(i * k + j) * 5..(i * k + j + 1) * 5];
                let h = 1e-5;
                let up: Vec<f64> = ui.iter().zip(vj).map(|(a, b)| a + h * b).collect();
                let um: Vec<f64> = ui.iter().zip(vj).map(|(a, b)| a - h * b).collect();
                let fp = net.forward(&up, &mut w2).to_vec();
                let fm = net.forward(&um, &mut w2).to_vec();
                let fd: Vec<f64> = fp
                    .iter()
                    .zip(&fm)
                    .map(|(a, b)| (a - b) / (2.0 * h))
                    .collect();
                let r = m * 3 + (i * k + j) * 3;
                worst = worst.max(rel(&out[r..r + 3], &fd));
            }
        }
        eprintln!("MLP forward-mode vs FD: worst relative error {worst:.2e}");
        assert!(worst < 1e-6, "{worst}");
    }

    /// The learned models' JVPs (NCSN through `TimeFromNoise` under VP — α_t ≠ 1 — and VE,
    /// and DDPM-ε) agree with `FiniteDiffJvp` of their own scores to 1e-6 relative, and
    /// their scores with the ordinary evaluation to 1e-12. Measured worst relative error
    /// 1.9e-9. Bug it catches: the chain-rule factor 1/α_t² of `TimeFromNoise` (measured
    /// mutant: 1/α_t instead: worst relative error 0.98), the 1/σ or −1/σ_t output scaling
    /// left off the tangents.
    #[test]
    fn learned_score_jvps_match_finite_differences() {
        let ncsn =
            NcsnMlp::<f64>::new(3, &[16, 16], Embedding::Sinusoidal { frequencies: 2 }, 4).unwrap();
        let ddpm = DdpmMlp::<f64>::new(
            3,
            &[16, 16],
            Embedding::Sinusoidal { frequencies: 2 },
            BetaSchedule::linear(0.1, 20.0).unwrap(),
            5,
        )
        .unwrap();
        let vp = Vp::<f64>::linear(3, 0.1, 20.0).unwrap();
        let ve = Ve::<f64>::new(3, 0.01, 5.0).unwrap();
        let tv = TimeFromNoise::new(&ncsn, vp).unwrap();
        let te = TimeFromNoise::new(&ncsn, ve).unwrap();
        let mut rng = langevin::rng::stream(13, 0);
        let mut normal = || <f64 as langevin::Real>::standard_normal(&mut rng);
        let xs: Vec<f64> = (0..4 * 3).map(|_| normal()).collect();
        let vs: Vec<f64> = (0..4 * 2 * 3).map(|_| normal()).collect();
        let mut worst: f64 = 0.0;
        let cases: [&dyn TimeScoreJvpDyn; 3] = [&Pair(&tv), &Pair(&te), &Pair(&ddpm)];
        for t in [0.05, 0.3, 0.9] {
            for c in cases {
                let (mut s1, mut j1, mut s2, mut j2) =
                    (vec![0.0; 12], vec![0.0; 24], vec![0.0; 12], vec![0.0; 24]);
                c.exact(&xs, t, &vs, &mut s1, &mut j1);
                c.fd(&xs, t, &vs, &mut s2, &mut j2);
                assert!(rel(&s1, &s2) < 1e-12, "score {:e}", rel(&s1, &s2));
                for (p, q) in j1.chunks(3).zip(j2.chunks(3)) {
                    worst = worst.max(rel(p, q));
                }
            }
        }
        eprintln!("learned-score JVP vs FD: worst relative error {worst:.2e}");
        assert!(worst < 1e-6, "{worst}");
        // And the noise-conditional JVP directly.
        let (mut s, mut j) = (vec![0.0; 3], vec![0.0; 3]);
        ncsn.score_jvp_sigma_batch(&xs[..3], 0.5, &vs[..3], &mut s, &mut j, &mut Vec::new());
        assert!(j.iter().all(|v| v.is_finite()));
    }
}
