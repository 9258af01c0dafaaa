//! Classifier-free and classifier guidance (`annealed::ClassifierFree`,
//! `annealed::ClassifierGuidance`) on exact scores.
//!
//! 1. Score level, exact: the wrapper is `(1 + w) s(·|y) − w s(·)` pointwise, batched and
//!    per point, noise- and time-conditional; classifier guidance with the exact Bayes
//!    classifier of a Gaussian mixture and γ = 1 *is* the class-conditional score.
//! 2. Sampling, closed form: on a two-class Gaussian mixture with equal covariances the guided
//!    score at level σ is the gradient of the tilted density
//!    `p̃(x) ∝ N(x; μ₁, v I) · (p_σ(1 | x)/π₁)^w`, whose mean and variance along the class axis
//!    are 1-D integrals (computed here by quadrature, error < 1e-9). Metropolis-adjusted
//!    annealed Langevin samples `p̃` exactly at its last level, so the sample mean and
//!    variance are tested against the closed form with CLT thresholds.
//! 3. Every sampler, exact: for two Gaussian scores of one covariance, the guided score is
//!    exactly the score of a shifted Gaussian, so every sampler (annealed Langevin, EDM,
//!    reverse SDE with PC corrector, probability flow, DDIM, DPM-Solver++) must produce the
//!    same particles from the guided score as from that Gaussian's exact score.
//! 4. Classifier guidance with *trained* classifiers: per-level multinomial logistic
//!    regressions fitted on noised samples of a three-class mixture steer annealed Langevin
//!    on the unconditional score into the requested class.

// Bitwise equality (batched = per point, w = 0 = conditional) is the point of some checks.
#![allow(clippy::float_cmp)]

use langevin::annealed::{
    AnnealedLangevin, AnnealedMala, ClassifierFn, ClassifierFree, ClassifierGuidance, Ddim,
    DpmSolverPp, Edm, LangevinCorrector, LevelStep, Marginal, NoiseScoreBatch, ParticleRun,
    Predictor, ProbabilityFlow, ReverseSampler, SigmaLevels, SmoothedGaussian,
    TimeConditionalScore, TimeGrid, Vp,
};
use langevin::prelude::*;
use langevin::rng::ChainRng;
use langevin::targets::{Gaussian, GaussianMixture};
use langevin::{Error, NoiseConditionalLogDensity};

fn normal_init(scale: f64) -> impl Fn(usize, &mut ChainRng, &mut [f64]) + Sync {
    move |_i, rng, x| {
        for v in x.iter_mut() {
            *v = scale * f64::standard_normal(rng);
        }
    }
}

/// Two classes in ℝ²: y = 0 at (−1, 0), y = 1 at (1, 0), covariance s² I, weights π.
struct TwoClass {
    pi1: f64,
    s2: f64,
    class1: GaussianMixture<f64>,
    marginal: GaussianMixture<f64>,
}

fn two_class(pi1: f64, s2: f64) -> TwoClass {
    TwoClass {
        pi1,
        s2,
        class1: GaussianMixture::new(vec![1.0], vec![vec![1.0, 0.0]], vec![s2]).unwrap(),
        marginal: GaussianMixture::new(
            vec![1.0 - pi1, pi1],
            vec![vec![-1.0, 0.0], vec![1.0, 0.0]],
            vec![s2, s2],
        )
        .unwrap(),
    }
}

/// `∇ₓ log p_σ(y = 1 | x)` of the two-class mixture: `p = sigmoid(a)`,
/// `a = ln(π₁/π₀) + 2 x₁ / v`, `v = s² + σ²`, gradient `(1 − p) (2/v, 0)`.
fn bayes_grad(tc: &TwoClass, x: &[f64], sigma: f64, out: &mut [f64]) {
    let v = tc.s2 + sigma * sigma;
    let a = (tc.pi1 / (1.0 - tc.pi1)).ln() + 2.0 * x[0] / v;
    let p = 1.0 / (1.0 + (-a).exp());
    out[0] = (1.0 - p) * 2.0 / v;
    out[1] = 0.0;
}

#[test]
fn guided_scores_are_the_stated_combinations_exactly() {
    // Bug caught: a sign or weight error in the combination (e.g. `w s_c − (1 + w) s_u`, or
    // the batched path skipping the unconditional term) changes the score by O(1) at these
    // points, against a tolerance of 1e-12; classifier guidance adding γ∇log p with the wrong
    // scale or at the wrong level fails Bayes' identity by O(1).
    let tc = two_class(0.3, 0.5);
    let mut rng = langevin::rng::stream(11, 0);
    let pts: Vec<f64> = (0..40)
        .map(|_| 2.0 * f64::standard_normal(&mut rng))
        .collect();
    for &w in &[0.0, 0.5, 3.0] {
        let g = ClassifierFree::new(&tc.class1, &tc.marginal, w).unwrap();
        for &sigma in &[0.05, 0.7, 3.0] {
            let (mut sc, mut su, mut sg) = ([0.0; 2], [0.0; 2], [0.0; 2]);
            let mut batch = vec![0.0; pts.len()];
            g.score_sigma_batch_into(&pts, sigma, &mut batch, &mut Vec::new());
            for (x, b) in pts.chunks_exact(2).zip(batch.chunks_exact(2)) {
                tc.class1.score_sigma_into(x, sigma, &mut sc);
                tc.marginal.score_sigma_into(x, sigma, &mut su);
                g.score_sigma_into(x, sigma, &mut sg);
                for k in 0..2 {
                    let want = (1.0 + w) * sc[k] - w * su[k];
                    assert!((sg[k] - want).abs() <= 1e-12 * (1.0 + want.abs()));
                    assert_eq!(sg[k].to_bits(), b[k].to_bits(), "batched ≠ per point");
                }
                let lp = g.log_density_sigma(x, sigma);
                let want = (1.0 + w) * tc.class1.log_density_sigma(x, sigma)
                    - w * tc.marginal.log_density_sigma(x, sigma);
                assert!((lp - want).abs() <= 1e-12 * (1.0 + want.abs()));
            }
        }
        // Time-conditional: the marginals of a VP SDE.
        let sde = Vp::<f64>::linear(2, 0.1, 20.0).unwrap();
        let (mc, mu) = (
            Marginal::new(&tc.class1, sde).unwrap(),
            Marginal::new(&tc.marginal, sde).unwrap(),
        );
        let gt = ClassifierFree::new(&mc, &mu, w).unwrap();
        for &t in &[0.01, 0.3, 1.0] {
            let mut batch = vec![0.0; pts.len()];
            gt.score_t_batch_into(&pts, t, &mut batch, &mut Vec::new());
            let (mut sc, mut su) = ([0.0; 2], [0.0; 2]);
            for (x, b) in pts.chunks_exact(2).zip(batch.chunks_exact(2)) {
                mc.score_t_into(x, t, &mut sc);
                mu.score_t_into(x, t, &mut su);
                for k in 0..2 {
                    let want = (1.0 + w) * sc[k] - w * su[k];
                    assert!((b[k] - want).abs() <= 1e-12 * (1.0 + want.abs()));
                }
            }
        }
    }
    // w = 0 is the conditional score, bit for bit.
    let g0 = ClassifierFree::new(&tc.class1, &tc.marginal, 0.0).unwrap();
    let (mut a, mut b) = ([0.0; 2], [0.0; 2]);
    g0.score_sigma_into(&[0.3, -0.2], 0.4, &mut a);
    tc.class1.score_sigma_into(&[0.3, -0.2], 0.4, &mut b);
    assert_eq!(a, b);

    // Classifier guidance, γ = 1, exact Bayes classifier: the class-conditional score.
    let clf = ClassifierFn::new(2, |x: &[f64], s: f64, o: &mut [f64]| {
        bayes_grad(&tc, x, s, o)
    })
    .unwrap();
    let cg = ClassifierGuidance::new(&tc.marginal, &clf, 1.0).unwrap();
    for &sigma in &[0.05, 0.7, 3.0] {
        let mut batch = vec![0.0; pts.len()];
        cg.score_sigma_batch_into(&pts, sigma, &mut batch, &mut Vec::new());
        let mut want = [0.0; 2];
        for (x, b) in pts.chunks_exact(2).zip(batch.chunks_exact(2)) {
            tc.class1.score_sigma_into(x, sigma, &mut want);
            for k in 0..2 {
                assert!(
                    (b[k] - want[k]).abs() <= 1e-10 * (1.0 + want[k].abs()),
                    "{} vs {}",
                    b[k],
                    want[k]
                );
            }
        }
    }
}

#[test]
fn bad_guidance_settings_are_typed_errors() {
    let tc = two_class(0.5, 1.0);
    let one_d = GaussianMixture::<f64>::new(vec![1.0], vec![vec![0.0]], vec![1.0]).unwrap();
    for w in [f64::NAN, f64::INFINITY, -1.5] {
        assert!(matches!(
            ClassifierFree::new(&tc.class1, &tc.marginal, w),
            Err(Error::InvalidParameter { .. })
        ));
    }
    assert!(ClassifierFree::new(&tc.class1, &tc.marginal, -1.0).is_ok());
    assert!(matches!(
        ClassifierFree::new(&tc.class1, &one_d, 1.0),
        Err(Error::DimensionMismatch { .. })
    ));
    let clf = ClassifierFn::new(1, |_: &[f64], _: f64, o: &mut [f64]| o[0] = 0.0).unwrap();
    assert!(matches!(
        ClassifierGuidance::new(&tc.marginal, &clf, 1.0),
        Err(Error::DimensionMismatch { .. })
    ));
    let clf2 = ClassifierFn::new(2, |_: &[f64], _: f64, o: &mut [f64]| o.fill(0.0)).unwrap();
    assert!(matches!(
        ClassifierGuidance::new(&tc.marginal, &clf2, -0.1),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        ClassifierFn::new(0, |_: &[f64], _: f64, _: &mut [f64]| {}),
        Err(Error::ZeroDimension { .. })
    ));
}

/// Mean and variance along x₁ of `p̃(x₁) ∝ N(x₁; 1, v) · sigmoid(a(x₁))^w`,
/// `a = ln(π₁/π₀) + 2x₁/v`, by the trapezoid rule on [−14, 16] (the integrand is smooth and
/// negligible at the ends; halving the grid changes the moments by < 1e-12).
fn tilted_moments(pi1: f64, v: f64, w: f64) -> (f64, f64) {
    let n = 60_000;
    let (lo, hi) = (-14.0, 16.0);
    let hstep = (hi - lo) / n as f64;
    let c = (pi1 / (1.0 - pi1)).ln();
    let logf = |x: f64| {
        let a = c + 2.0 * x / v;
        // log sigmoid(a) = −log(1 + e^{−a})
        let ls = if a > 0.0 {
            -(-a).exp().ln_1p()
        } else {
            a - a.exp().ln_1p()
        };
        -(x - 1.0) * (x - 1.0) / (2.0 * v) + w * ls
    };
    let (mut z, mut m1, mut m2) = (0.0, 0.0, 0.0);
    for i in 0..=n {
        let x = lo + i as f64 * hstep;
        let wt = if i == 0 || i == n { 0.5 } else { 1.0 };
        let f = wt * logf(x).exp();
        z += f;
        m1 += f * x;
        m2 += f * x * x;
    }
    let m = m1 / z;
    (m, m2 / z - m * m)
}

/// Runs annealed MALA on `score` (levels 3, 0.6, σ_L; 200 MALA steps of h = 0.08 per level) and
/// returns the particles' x₁ and x₂.
fn mala_x<P>(score: P, sigma_l: f64, n: usize, seed: u64) -> (Vec<f64>, Vec<f64>)
where
    P: NoiseConditionalScore<Scalar = f64> + NoiseConditionalLogDensity + Sync,
{
    let levels = SigmaLevels::new(vec![3.0, 0.6, sigma_l]).unwrap();
    let am = AnnealedMala::new(score, levels, 200, LevelStep::PerLevel(vec![0.08; 3])).unwrap();
    let out = am
        .run(&ParticleRun::new(n).seed(seed), &normal_init(3.0))
        .unwrap();
    assert!(
        out.acceptance.iter().all(|&a| a > 0.8),
        "{:?}",
        out.acceptance
    );
    (
        out.particles.iter().map(|x| x[0]).collect(),
        out.particles.iter().map(|x| x[1]).collect(),
    )
}

fn moments(x: &[f64]) -> (f64, f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / (n - 1.0);
    let m4 = x.iter().map(|a| (a - m).powi(4)).sum::<f64>() / n;
    (m, v, m4)
}

#[test]
fn cfg_samples_the_tilted_two_class_law() {
    // Two classes at (±1, 0), covariance I, π₁ = 0.4; guidance toward class 1 at level
    // σ_L = 0.1 (v = 1.01). Closed form (quadrature) along x₁:
    //   w = 0: mean 1, var 1.01;  w = 1: mean 1.348, var 0.725;  w = 3: mean 1.633, var 0.561
    // (printed below); x₂ ~ N(0, v) for every w.
    // Statistics: for each w, the sample mean and the sample variance of x₁ against the
    // closed form, z = (stat − exact)/SE with SE from the sample (mean: sqrt(V/n); variance:
    // sqrt((m₄ − V²)/n)). Annealed MALA is exact at its last level (Metropolis-adjusted,
    // 200 steps × h = 0.08 = 16 time units ≈ 16 relaxation times of p̃), so the only error is
    // Monte Carlo. 6 statistics, false-failure budget 2e-6: |z| < 5.1 each (two-sided 3.3e-7).
    // Bugs caught (measured below, in the same test): dropping the unconditional term,
    // i.e. guiding with (cond, cond) — the law stays N(μ₁, v) — gives |z| ≈ 30 on the mean at
    // w = 3 (measured −34.4, printed); a flipped sign (w → −w) gives the mean of the unconditional-leaning
    // law, well below 1.
    let tc = two_class(0.4, 1.0);
    let (n, sigma_l) = (3000, 0.1);
    let v = tc.s2 + sigma_l * sigma_l;
    let zmax = 5.1;
    for (k, &w) in [0.0, 1.0, 3.0].iter().enumerate() {
        let (m_exact, v_exact) = tilted_moments(tc.pi1, v, w);
        let g = ClassifierFree::new(&tc.class1, &tc.marginal, w).unwrap();
        let (x1, x2) = mala_x(g, sigma_l, n, 40 + k as u64);
        let (m, var, m4) = moments(&x1);
        let zm = (m - m_exact) / (var / n as f64).sqrt();
        let zv = (var - v_exact) / ((m4 - var * var) / n as f64).sqrt();
        let (m2, v2, _) = moments(&x2);
        println!(
            "w = {w}: x₁ mean {m:.4} (exact {m_exact:.4}, z {zm:+.2}), var {var:.4} (exact \
             {v_exact:.4}, z {zv:+.2}); x₂ mean {m2:+.4}, var {v2:.4} (v = {v})"
        );
        assert!(zm.abs() < zmax, "mean z = {zm}");
        assert!(zv.abs() < zmax, "variance z = {zv}");
        if w > 2.0 {
            // Power: the same statistic on a buggy guidance (unconditional term replaced by
            // the conditional one: plain N(μ₁, v)).
            let bug = ClassifierFree::new(&tc.class1, &tc.class1, w).unwrap();
            let (b1, _) = mala_x(bug, sigma_l, n, 40 + k as u64);
            let (bm, bv, _) = moments(&b1);
            let zb = (bm - m_exact) / (bv / n as f64).sqrt();
            println!("  bug (cond, cond): mean {bm:.4}, z {zb:+.1}");
            assert!(zb.abs() > zmax, "the test has no power: z = {zb}");
        }
    }
}

/// The exact score of `N(m, S)` smoothed — the reference every guided run is compared with.
fn sg(m: [f64; 2], cov: &[f64]) -> SmoothedGaussian<f64> {
    SmoothedGaussian::new(&Gaussian::full(m.to_vec(), cov).unwrap()).unwrap()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn guidance_runs_through_every_sampler_exactly_on_gaussians() {
    // cond N(a, S), uncond N(m, S): (1 + w) s_c − w s_u is exactly the score of
    // N(a + w (a − m), S) at every σ and t, so each sampler must return the same particles
    // (same seeds) up to rounding: tolerance 1e-9 on coordinates of size ~3. Classifier
    // guidance with the exponential-tilt "classifier" ∇ log p = C(c) (a' − m) (C the inverse
    // smoothed covariance) likewise gives the score of N(a', S).
    // Bug caught: a wrapper that does not forward a trait method (e.g. the batched call
    // falling back to a default that ignores the unconditional term, or a time-conditional
    // guided score evaluated at the wrong t) makes the particles differ by O(1).
    let cov = [1.0, 0.3, 0.3, 0.5];
    let (a, m, w) = ([1.0, -0.5], [-0.5, 0.2], 1.5);
    let shifted = [a[0] + w * (a[0] - m[0]), a[1] + w * (a[1] - m[1])];
    let (ca, cm, cs) = (sg(a, &cov), sg(m, &cov), sg(shifted, &cov));
    let cfg = ClassifierFree::new(&ca, &cm, w).unwrap();
    // Inverse of S + τ² I (2 × 2), times (shifted − m), scaled by α.
    let tilt = move |alpha: f64, tau2: f64, out: &mut [f64]| {
        let (p, q, r) = (
            alpha * alpha * cov[0] + tau2,
            alpha * alpha * cov[1],
            alpha * alpha * cov[3] + tau2,
        );
        let det = p * r - q * q;
        let dv = [shifted[0] - m[0], shifted[1] - m[1]];
        out[0] = alpha * (r * dv[0] - q * dv[1]) / det;
        out[1] = alpha * (-q * dv[0] + p * dv[1]) / det;
    };
    let clf_sigma = ClassifierFn::new(2, move |_: &[f64], s: f64, o: &mut [f64]| {
        tilt(1.0, s * s, o)
    })
    .unwrap();
    let cgs = ClassifierGuidance::new(&cm, clf_sigma, 1.0).unwrap();
    let run = ParticleRun::new(96).seed(5);

    // Noise-conditional samplers.
    let levels = SigmaLevels::geometric(4.0, 0.05, 6).unwrap();
    let step = LevelStep::Langevin { h_last: 1e-3 };
    let al = |p: &dyn Fn() -> Vec<f64>| p();
    let al_ref = al(&|| {
        AnnealedLangevin::new(&cs, levels.clone(), 20, step.clone())
            .unwrap()
            .run(&run, &normal_init(4.0))
            .unwrap()
            .into_vec()
    });
    for (name, got) in [
        (
            "annealed Langevin, CFG",
            AnnealedLangevin::new(&cfg, levels.clone(), 20, step.clone())
                .unwrap()
                .run(&run, &normal_init(4.0))
                .unwrap()
                .into_vec(),
        ),
        (
            "annealed Langevin, classifier guidance",
            AnnealedLangevin::new(&cgs, levels.clone(), 20, step.clone())
                .unwrap()
                .run(&run, &normal_init(4.0))
                .unwrap()
                .into_vec(),
        ),
    ] {
        let d = max_diff(&got, &al_ref);
        assert!(d < 1e-9, "{name}: {d}");
    }
    let karras = SigmaLevels::karras(20.0, 0.01, 12, 7.0).unwrap();
    let edm_ref = Edm::new(&cs, karras.clone())
        .unwrap()
        .run_from_prior(&run)
        .unwrap()
        .into_vec();
    for (name, got) in [
        (
            "EDM, CFG",
            Edm::new(&cfg, karras.clone())
                .unwrap()
                .run_from_prior(&run)
                .unwrap()
                .into_vec(),
        ),
        (
            "EDM, classifier guidance",
            Edm::new(&cgs, karras.clone())
                .unwrap()
                .run_from_prior(&run)
                .unwrap()
                .into_vec(),
        ),
    ] {
        let d = max_diff(&got, &edm_ref);
        assert!(d < 1e-9, "{name}: {d}");
    }

    // Time-conditional samplers on the VP SDE.
    let sde = Vp::<f64>::linear(2, 0.1, 20.0).unwrap();
    let (ma, mm, ms) = (
        Marginal::new(&ca, sde).unwrap(),
        Marginal::new(&cm, sde).unwrap(),
        Marginal::new(&cs, sde).unwrap(),
    );
    let cfg_t = ClassifierFree::new(&ma, &mm, w).unwrap();
    let clf_t = ClassifierFn::new(2, move |_: &[f64], t: f64, o: &mut [f64]| {
        use langevin::annealed::ForwardSde;
        let s = sde.marginal_std(t);
        tilt(sde.mean_coef(t), s * s, o)
    })
    .unwrap();
    let cg_t = ClassifierGuidance::new(&mm, clf_t, 1.0).unwrap();
    fn all_time<P: TimeConditionalScore<Scalar = f64> + Sync>(
        sde: Vp<f64>,
        p: P,
        run: &ParticleRun,
    ) -> Vec<Vec<f64>> {
        vec![
            ReverseSampler::new(sde, &p, 60, 1e-3, Predictor::EulerMaruyama)
                .unwrap()
                .corrector(LangevinCorrector {
                    snr: 0.16,
                    steps: 1,
                })
                .unwrap()
                .run_from_prior(run)
                .unwrap()
                .into_vec(),
            ReverseSampler::new(sde, &p, 60, 1e-3, Predictor::Ancestral)
                .unwrap()
                .run_from_prior(run)
                .unwrap()
                .into_vec(),
            ProbabilityFlow::new(sde, &p, 40, 1e-3)
                .unwrap()
                .run_from_prior(run)
                .unwrap()
                .into_vec(),
            Ddim::new(sde, &p, 40, 1e-3, 0.5)
                .unwrap()
                .run_from_prior(run)
                .unwrap()
                .into_vec(),
            DpmSolverPp::new(sde, &p, 20, 1e-3, TimeGrid::LogSnr)
                .unwrap()
                .run_from_prior(run)
                .unwrap()
                .into_vec(),
        ]
    }
    let names = [
        "reverse SDE (EM) + Langevin corrector",
        "ancestral",
        "probability flow",
        "DDIM η = 0.5",
        "DPM-Solver++(2M)",
    ];
    let reference = all_time(sde, &ms, &run);
    for (what, got) in [
        ("CFG", all_time(sde, &cfg_t, &run)),
        ("classifier guidance", all_time(sde, &cg_t, &run)),
    ] {
        for ((name, r), g) in names.iter().zip(&reference).zip(&got) {
            let d = max_diff(g, r);
            assert!(d < 1e-9, "{name}, {what}: {d}");
        }
    }
    // And the guided runs did move: the reference mean is near the shifted mean.
    let pf = &reference[2];
    let mean0 = pf.chunks_exact(2).map(|x| x[0]).sum::<f64>() / 96.0;
    assert!((mean0 - shifted[0]).abs() < 0.5, "{mean0}");
}

/// A multinomial logistic regression `softmax(W x + b)` on ℝ² with K classes, fitted by
/// Newton-free gradient ascent (full batch, 400 steps); returns W (K × 2) and b.
fn fit_softmax(xs: &[f64], ys: &[usize], k: usize) -> (Vec<f64>, Vec<f64>) {
    let n = ys.len() as f64;
    let (mut w, mut b) = (vec![0.0; 2 * k], vec![0.0; k]);
    let mut p = vec![0.0; k];
    for _ in 0..400 {
        let (mut gw, mut gb) = (vec![0.0; 2 * k], vec![0.0; k]);
        for (x, &y) in xs.chunks_exact(2).zip(ys) {
            softmax(&w, &b, x, &mut p);
            for j in 0..k {
                let r = if j == y { 1.0 } else { 0.0 } - p[j];
                gw[2 * j] += r * x[0];
                gw[2 * j + 1] += r * x[1];
                gb[j] += r;
            }
        }
        for j in 0..2 * k {
            w[j] += 0.5 * gw[j] / n;
        }
        for j in 0..k {
            b[j] += 0.5 * gb[j] / n;
        }
    }
    (w, b)
}

fn softmax(w: &[f64], b: &[f64], x: &[f64], p: &mut [f64]) {
    let k = b.len();
    for j in 0..k {
        p[j] = w[2 * j] * x[0] + w[2 * j + 1] * x[1] + b[j];
    }
    let mx = p.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let z: f64 = p.iter().map(|v| (v - mx).exp()).sum();
    for v in p.iter_mut() {
        *v = (*v - mx).exp() / z;
    }
}

#[test]
fn classifier_guidance_with_trained_noisy_logistic_regressions() {
    // Three classes at angles 90°, 210°, 330° on the circle of radius 2, covariance 0.3 I,
    // equal weights. At every level σ_l a multinomial logistic regression is fitted on 3000
    // noised samples x₀ + σ_l z (for equal covariances the exact p_σ(y | x) is of this form),
    // and annealed Langevin runs on the unconditional mixture score plus γ = 1 times the
    // fitted ∇ log p_σ(y = 2 | x). Statistic: the fraction of the 1000 samples nearest to
    // component 2's mean. Exact conditional sampling would put 1 − ε there, ε = the mass
    // of N(μ₂, 0.3 I + σ_L²) beyond the Voronoi edges at distance 1 from μ₂:
    // ε ≤ 2 P(N(0, 0.31) > 1) = 2 · 3.6e-4. The fitted classifier is only close to exact, so
    // the test asks for ≥ 97 % (unguided: one third, measured 0.33 below — the power check;
    // the same threshold catches a guidance that ignores the classifier or applies it at the
    // wrong level, which lands each class near 1/3). False failure: with the exact classifier
    // the count of misses is Binomial(1000, ≤ 7.2e-4 + fit error); P(≥ 30 misses) < 1e-20.
    let k = 3;
    let means: Vec<Vec<f64>> = [90.0f64, 210.0, 330.0]
        .iter()
        .map(|deg| {
            let r = deg.to_radians();
            vec![2.0 * r.cos(), 2.0 * r.sin()]
        })
        .collect();
    let gmm = GaussianMixture::new(vec![1.0 / 3.0; 3], means.clone(), vec![0.3; 3]).unwrap();
    let levels = SigmaLevels::geometric(3.0, 0.1, 6).unwrap();
    let mut rng = langevin::rng::stream(77, 0);
    let fits: Vec<(f64, Vec<f64>, Vec<f64>)> = levels
        .as_slice()
        .iter()
        .map(|&sigma| {
            let (mut xs, mut ys) = (Vec::new(), Vec::new());
            for i in 0..3000 {
                let y = i % k;
                for c in 0..2 {
                    let v = 0.3f64 + sigma * sigma;
                    xs.push(means[y][c] + v.sqrt() * f64::standard_normal(&mut rng));
                }
                ys.push(y);
            }
            let (w, b) = fit_softmax(&xs, &ys, k);
            (sigma, w, b)
        })
        .collect();
    let target = 2;
    let clf = ClassifierFn::new(2, |x: &[f64], sigma: f64, out: &mut [f64]| {
        // The fit of the level nearest σ (the sampler only asks at its levels).
        let (_, w, b) = fits
            .iter()
            .min_by(|a, c| (a.0 - sigma).abs().total_cmp(&(c.0 - sigma).abs()))
            .unwrap();
        let mut p = [0.0; 3];
        softmax(w, b, x, &mut p);
        // ∇ log softmax_y = W_y − Σ_j p_j W_j
        for c in 0..2 {
            out[c] = w[2 * target + c] - (0..3).map(|j| p[j] * w[2 * j + c]).sum::<f64>();
        }
    })
    .unwrap();
    let run = ParticleRun::new(1000).seed(9);
    let nearest = |x: &[f64]| {
        (0..3)
            .min_by(|&i, &j| {
                let d = |m: &Vec<f64>| (x[0] - m[0]).powi(2) + (x[1] - m[1]).powi(2);
                d(&means[i]).total_cmp(&d(&means[j]))
            })
            .unwrap()
    };
    let frac = |gamma: f64| {
        let g = ClassifierGuidance::new(&gmm, &clf, gamma).unwrap();
        let out =
            AnnealedLangevin::new(g, levels.clone(), 100, LevelStep::Langevin { h_last: 3e-3 })
                .unwrap()
                .run(&run, &normal_init(3.0))
                .unwrap();
        out.iter().filter(|x| nearest(x) == target).count() as f64 / 1000.0
    };
    let (guided, unguided) = (frac(1.0), frac(0.0));
    println!("fraction in class {target}: guided {guided}, unguided {unguided}");
    assert!(guided >= 0.97, "{guided}");
    assert!(unguided < 0.5, "power check: {unguided}");
}
