//! Preconditioned ULA / MALA: T3 (exact Lyapunov covariance of preconditioned ULA),
//! deterministic checks of the preconditioned acceptance ratio, metric validation.
//!
//! Error budget: α = 2e-6 per statistical test (TESTING.md §4), split over sub-statistics.

use langevin::mcmc::{
    Metric, PrecondMala, PrecondUla, TunableMetric, mala_log_acceptance,
    precond_mala_log_acceptance,
};
use langevin::prelude::*;
use langevin::rng::stream;
use langevin::targets::Gaussian;
use langevin::testing::conformance::normal_quantile;
use nalgebra::{DMatrix, SymmetricEigen};

fn random_spd(d: usize, seed: u64, ridge: f64) -> DMatrix<f64> {
    let mut rng = stream(seed, 0);
    let g = DMatrix::from_fn(d, d, |_, _| f64::standard_normal(&mut rng));
    &g * g.transpose() / d as f64 + DMatrix::identity(d, d) * ridge
}

fn row_major(m: &DMatrix<f64>) -> Vec<f64> {
    let d = m.nrows();
    (0..d * d).map(|k| m[(k / d, k % d)]).collect()
}

/// Exact covariance after K steps of the linear recursion y' = A y + sqrt(2h) G ξ from y = 0:
/// S_K = Σ_{k<K} A^k (2h G Gᵀ) A^kᵀ.
fn transient_cov(a: &DMatrix<f64>, noise_cov: &DMatrix<f64>, k: usize) -> DMatrix<f64> {
    let d = a.nrows();
    let mut s = DMatrix::zeros(d, d);
    for _ in 0..k {
        s = a * &s * a.transpose() + noise_cov;
    }
    s
}

struct T3Case {
    mean: Vec<f64>,
    sigma: DMatrix<f64>,
    m: DMatrix<f64>,
    h: f64,
}

fn t3_case(d: usize, seed: u64) -> T3Case {
    let sigma = random_spd(d, seed, 0.3);
    let m = random_spd(d, seed + 1000, 0.3);
    let p = sigma.clone().try_inverse().unwrap();
    // λ_max(M P) = λ_max(Lᵀ P L) with L L ᵀ = M.
    let l = m.clone().cholesky().unwrap().l();
    let eig = SymmetricEigen::new(l.transpose() * &p * &l);
    let lmax = eig.eigenvalues.max();
    let mut rng = stream(seed + 2000, 0);
    T3Case {
        mean: (0..d).map(|_| f64::standard_normal(&mut rng)).collect(),
        sigma,
        m,
        h: 0.5 / lmax,
    }
}

/// T3: preconditioned ULA on N(m, Σ) with a random dense metric M (d = 3, 4, 5;
/// h = 0.5/λ_max(MP)). From x₀ = m, after K = 40 steps x_K − m ~ N(0, S_K) exactly, with
/// S_K = V − A^K V A^Kᵀ, A = I − hMP and the Lyapunov solution V = (P − (h/2) P M P)⁻¹.
/// C = 2e4 IID chains; every entry: z = (Ŝ_ij − S_ij)/sqrt((S_ii S_jj + S_ij²)/C) (known mean),
/// plus the d means; α = 2e-6 split over d(d+1)/2 + d statistics.
/// Bugs caught (effect checked deterministically below to exceed the critical value by
/// ≥ 7.84 SE): noise covariance M instead of L (i.e. M² ), Lᵀ instead of L (LᵀL ≠ LLᵀ), drift
/// without M; index mix-ups in the dense products.
#[test]
fn t3_precond_ula_lyapunov_covariance() {
    const C: usize = 20_000;
    const K: usize = 40;
    for (d, seed) in [(3usize, 301u64), (4, 302), (5, 303)] {
        let case = t3_case(d, seed);
        let target = Gaussian::full(case.mean.clone(), &row_major(&case.sigma)).unwrap();
        let metric = Metric::dense(&row_major(&case.m)).unwrap();
        let ula = PrecondUla::new(target, case.h, metric).unwrap();
        let trace = Sampler::new(1)
            .chains(C)
            .warmup(0)
            .thin(K)
            .seed(seed)
            .run(&ula, std::slice::from_ref(&case.mean))
            .unwrap();

        let h = case.h;
        let p = case.sigma.clone().try_inverse().unwrap();
        let v = (&p - &p * &case.m * &p * (h / 2.0)).try_inverse().unwrap();
        let a = DMatrix::identity(d, d) - &case.m * &p * h;
        let ak = a.pow(K as u32);
        let s = &v - &ak * &v * ak.transpose();
        // The recursion itself agrees with the Lyapunov form (deterministic, 1e-10).
        let s_rec = transient_cov(&a, &(&case.m * (2.0 * h)), K);
        assert!((&s_rec - &s).amax() < 1e-10 * s.amax(), "Lyapunov form");

        let n_stats = d * (d + 1) / 2 + d;
        let z_crit = normal_quantile(1.0 - 2e-6 / (2.0 * n_stats as f64));
        let mut shat = DMatrix::<f64>::zeros(d, d);
        let mut mhat = vec![0.0; d];
        for x in trace.last_draws() {
            for i in 0..d {
                let yi = x[i] - case.mean[i];
                mhat[i] += yi / C as f64;
                for j in 0..d {
                    shat[(i, j)] += yi * (x[j] - case.mean[j]) / C as f64;
                }
            }
        }
        let se = |s: &DMatrix<f64>, i: usize, j: usize| {
            ((s[(i, i)] * s[(j, j)] + s[(i, j)].powi(2)) / C as f64).sqrt()
        };
        for i in 0..d {
            let zm = mhat[i] / (s[(i, i)] / C as f64).sqrt();
            assert!(zm.abs() < z_crit, "d={d} mean[{i}] z = {zm}");
            for j in 0..=i {
                let z = (shat[(i, j)] - s[(i, j)]) / se(&s, i, j);
                assert!(
                    z.abs() < z_crit,
                    "d={d} S[{i}{j}] = {} vs exact {} (z = {z})",
                    shat[(i, j)],
                    s[(i, j)]
                );
            }
        }

        // Power: each mutant's exact S_K differs from the truth by more than
        // (z_crit + 3.09) SE in at least one entry.
        let l = case.m.clone().cholesky().unwrap().l();
        let a_nom = DMatrix::identity(d, d) - &p * h;
        let mutants = [
            (
                "noise M",
                transient_cov(&a, &(&case.m * &case.m * (2.0 * h)), K),
            ),
            (
                "noise Lᵀ",
                transient_cov(&a, &(l.transpose() * &l * (2.0 * h)), K),
            ),
            (
                "drift without M",
                transient_cov(&a_nom, &(&case.m * (2.0 * h)), K),
            ),
        ];
        for (name, sm) in mutants {
            let worst = (0..d)
                .flat_map(|i| (0..=i).map(move |j| (i, j)))
                .map(|(i, j)| ((sm[(i, j)] - s[(i, j)]) / se(&s, i, j)).abs())
                .fold(0.0f64, f64::max);
            assert!(
                worst > z_crit + 3.09,
                "d={d}: mutant {name} only {worst} SE away"
            );
        }
    }
}

/// Diagonal metric: preconditioned ULA with M = Σ on an ill-conditioned diagonal Gaussian
/// (variances 1e-2 … 1e2) has stationary variance Σ_ii/(1 − h/2) for every coordinate.
/// C = 2e4 chains started exactly at N(m, V), K = 10 steps; variance z per coordinate with
/// α = 2e-6 / 4. Bug caught: sqrt(M) vs M in the diagonal noise (variance ratio 1/Σ_ii).
#[test]
fn precond_ula_diagonal_uniform_inflation() {
    const C: usize = 20_000;
    let var = vec![0.01, 0.5, 3.0, 100.0];
    let h = 0.6;
    let target = Gaussian::diagonal(vec![0.0; 4], var.clone()).unwrap();
    let ula = PrecondUla::new(target, h, Metric::diagonal(var.clone()).unwrap()).unwrap();
    let v: Vec<f64> = var.iter().map(|s| s / (1.0 - h / 2.0)).collect();
    let v0 = v.clone();
    let trace = Sampler::new(1)
        .chains(C)
        .warmup(0)
        .thin(10)
        .seed(311)
        .run_from(
            &ula,
            move |_, r| {
                v0.iter()
                    .map(|s| s.sqrt() * f64::standard_normal(r))
                    .collect()
            },
            &langevin::run::NoAdaptation,
            &(),
        )
        .unwrap();
    let z_crit = normal_quantile(1.0 - 2e-6 / 8.0);
    for i in 0..4 {
        let m2 = trace.last_draws().iter().map(|x| x[i] * x[i]).sum::<f64>() / C as f64;
        let z = (m2 / v[i] - 1.0) / (2.0 / C as f64).sqrt();
        assert!(z.abs() < z_crit, "coordinate {i}: z = {z}");
    }
}

/// With M = I the preconditioned MALA ratio equals the plain MALA ratio, a diagonal and a
/// dense metric holding the same matrix agree, and log r(x,y) = −log r(y,x) (to rounding).
/// Deterministic. Bugs caught: M vs M⁻¹ in the quadratic form, 2h vs 4h, gradient at the
/// wrong point.
#[test]
fn precond_log_acceptance_deterministic() {
    let d = 6;
    let target = Gaussian::full(vec![0.1; d], &row_major(&random_spd(d, 7, 0.5))).unwrap();
    let mut rng = stream(5, 0);
    let diag: Vec<f64> = (0..d).map(|i| 0.5 + i as f64 * 0.3).collect();
    let mut dense = vec![0.0; d * d];
    for i in 0..d {
        dense[i * d + i] = diag[i];
    }
    let md = Metric::diagonal(diag).unwrap();
    let mf = Metric::dense(&dense).unwrap();
    let id = Metric::identity(d).unwrap();
    let (mut b1, mut b2) = (vec![0.0; d], vec![0.0; d]);
    for _ in 0..50 {
        let x: Vec<f64> = (0..d).map(|_| f64::standard_normal(&mut rng)).collect();
        let y: Vec<f64> = (0..d).map(|_| f64::standard_normal(&mut rng)).collect();
        let h = 0.05 + rng.random::<f64>();
        let (gx, gy) = (target.score(&x), target.score(&y));
        let (lx, ly) = (target.log_density(&x), target.log_density(&y));
        let plain = mala_log_acceptance(&x, lx, &gx, &y, ly, &gy, h);
        let pre = precond_mala_log_acceptance(&id, &x, lx, &gx, &y, ly, &gy, h, &mut b1, &mut b2);
        assert!((plain - pre).abs() <= 1e-12 * (1.0 + plain.abs()));
        let (mut mgx, mut mgy) = (vec![0.0; d], vec![0.0; d]);
        md.apply(&gx, &mut mgx);
        md.apply(&gy, &mut mgy);
        let rd = precond_mala_log_acceptance(&md, &x, lx, &mgx, &y, ly, &mgy, h, &mut b1, &mut b2);
        let rf = precond_mala_log_acceptance(&mf, &x, lx, &mgx, &y, ly, &mgy, h, &mut b1, &mut b2);
        assert!((rd - rf).abs() <= 1e-12 * (1.0 + rd.abs()));
        let back =
            precond_mala_log_acceptance(&mf, &y, ly, &mgy, &x, lx, &mgx, h, &mut b1, &mut b2);
        assert!((rf + back).abs() <= 1e-12 * (1.0 + rf.abs()));
    }
}

/// Metric validation and kernel construction errors (no panics on bad input).
#[test]
fn metric_and_kernel_errors() {
    assert!(matches!(
        Metric::<f64>::dense(&[1.0, 2.0, 2.0, 1.0]),
        Err(Error::NotPositiveDefinite { .. })
    ));
    assert!(matches!(
        Metric::<f64>::dense(&[1.0, 0.5, 0.0, 1.0]),
        Err(Error::NotPositiveDefinite { .. })
    ));
    assert!(matches!(
        Metric::<f64>::dense(&[1.0, 0.0, 1.0]),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(matches!(
        Metric::<f64>::dense(&[1.0, f64::NAN, f64::NAN, 1.0]),
        Err(Error::NonFiniteInput { .. })
    ));
    assert!(Metric::<f64>::diagonal(vec![1.0, 0.0]).is_err());
    assert!(Metric::<f64>::diagonal(vec![]).is_err());
    let t = Gaussian::<f64>::standard(2).unwrap();
    let m3 = Metric::identity(3).unwrap();
    assert!(matches!(
        PrecondMala::new(t.clone(), 0.1, m3.clone()),
        Err(Error::DimensionMismatch { .. })
    ));
    assert!(PrecondUla::new(t.clone(), -0.1, Metric::identity(2).unwrap()).is_err());
    let k = PrecondMala::identity(t, 0.1).unwrap();
    let mut s = k.init(&[0.0, 0.0], 0).unwrap();
    assert!(k.set_metric(&mut s, m3).is_err());
    assert!(k.init(&[f64::NAN, 0.0], 0).is_err());
}

/// f32 works end to end for the preconditioned kernels (smoke: finite draws, acceptance in
/// (0, 1]).
#[test]
fn precond_f32_smoke() {
    let t = Gaussian::<f32>::diagonal(vec![0.0; 3], vec![0.1, 1.0, 10.0]).unwrap();
    let m = Metric::dense(&[0.1f32, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 10.0]).unwrap();
    let k = PrecondMala::new(t, 0.5, m).unwrap();
    let tr = Sampler::new(500)
        .chains(2)
        .warmup(50)
        .seed(3)
        .run(&k, &[vec![0.0; 3]])
        .unwrap();
    assert!(tr.chains.iter().flatten().all(|v| v.is_finite()));
    assert!(tr.mean_accept_prob() > 0.3);
}
