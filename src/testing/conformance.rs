//! How to test your own sampler: a conformance kit for custom [`Kernel`]s.
//!
//! Three tools, each with a stated false-failure rate:
//!
//! 1. [`InvarianceTest`] — *does the kernel leave the target invariant?* Start `C`
//!    independent chains at exact draws of an analytic target ([`ExactSample`]), run `K ≥ 10`
//!    steps, and test the `C` final states (IID by construction, so no ESS is needed):
//!    per-coordinate Kolmogorov–Smirnov distance against [`Analytic::marginal_cdf`] with the
//!    DKW bound, and z-statistics of the mean and variance against [`Analytic::exact_mean`] /
//!    [`Analytic::exact_covariance`]; plus a **movement check** (an identity kernel passes
//!    every invariance test) and a **power self-check** (the same test on a [`cooled`] target
//!    must fail).
//! 2. [`batch_means_mcse`], [`mcse_close`] and [`crate::assert_mcse_close!`] — assertions on
//!    one long correlated chain in the style of `approx`, with the tolerance derived from a
//!    batch-means Monte Carlo standard error.
//! 3. [`check_detailed_balance`] — *is a Metropolis kernel's acceptance consistent with its
//!    proposal?* On random state pairs it checks, in log space,
//!    `π(x) q(y|x) α(x,y) = π(y) q(x|y) α(y,x)`, deterministically (no Monte Carlo error).
//!
//! # Recipe
//! ```
//! use langevin::prelude::*;
//! use langevin::targets::Gaussian;
//! use langevin::testing::conformance::{InvarianceTest, cooled};
//!
//! let target = Gaussian::<f64>::standard(1)?;
//! let test = InvarianceTest::new(20_000, 20).seed(17).min_movement(0.3);
//! // 1. Your kernel on the target must pass …
//! let report = test.run(&Mala::new(target.clone(), 1.0)?, &target)?;
//! assert!(report.passed(), "{report}");
//! // 2. … and the same kernel on a cooled target (log p × 1.1) must fail: the test has power.
//! let cold = test.run(&Mala::new(cooled(target.clone(), 1.1)?, 1.0)?, &target)?;
//! assert!(!cold.passed(), "no power: {cold}");
//! # Ok::<(), langevin::Error>(())
//! ```
//!
//! # Choosing `C` and `K`
//! A K-step test detects a kernel bug only if it moves the law of `x_K` by more than the
//! noise: the DKW bound is `sqrt(ln(2/α)/(2C))` (0.019 at `C = 2·10⁴`, α = 2e-6 split over 3
//! statistics), the variance z-test resolves a relative variance shift of about
//! `z·sqrt(2/C)` (0.049). State bugs (a stale cached gradient after a rejection) are
//! invisible at `K = 1`; use `K ≥ 10` (demonstrated in `tests/conformance.rs`).
//!
//! # References
//! * A. Dvoretzky, J. Kiefer, J. Wolfowitz (1956); P. Massart (1990), The tight constant in
//!   the DKW inequality, *Ann. Probab.* 18(3):1269–1283.
//! * TensorFlow Probability, `internal/statistical_testing.py` and `mcmc/hmc_test.py`
//!   (target-conservation tests with movement and power checks).
//! * R. B. Grosse, D. K. Duvenaud (2014), Testing MCMC code, NIPS workshop.
//! * A. Gandy, J. Scott (2020), Unit testing for MCMC and other Monte Carlo methods,
//!   arXiv:2001.06465 — exact-rank tests for reversible kernels; the crate's
//!   `tests/conformance.rs` shows the construction with random tie-breaking, a
//!   complement to the K-step test above.
//! * S. Talts, M. Betancourt, D. Simpson, A. Vehtari, A. Gelman (2018), Validating Bayesian
//!   inference algorithms with simulation-based calibration, arXiv:1804.06788.

use crate::density::{Target, Tempered};
use crate::mcmc::Kernel;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::rng::stream;
use crate::targets::{Analytic, ExactSample};
use crate::{Error, Real, Result};
use rand::Rng;
use rayon::prelude::*;
use statrs::distribution::{ContinuousCDF, Normal};

/// The target with its log density multiplied by `factor` (`p^factor`, i.e. [`Tempered`] at
/// temperature `1/factor`): a "cooled" target for the power self-check of
/// [`InvarianceTest`]. A kernel built on it, started from the *original* target, must fail
/// the invariance test (`factor = 1.1` shrinks a Gaussian's variance by 9 %).
///
/// # Errors
/// [`Error::InvalidParameter`] unless `factor` is finite and positive.
pub fn cooled<P: Target>(target: P, factor: P::Scalar) -> Result<Tempered<P>> {
    if !(factor.finite() && factor > P::Scalar::zero()) {
        return Err(Error::InvalidParameter {
            name: "cooling factor",
            value: factor.to_f64(),
            expected: "a finite factor > 0 (1.1 multiplies log p by 1.1)",
        });
    }
    Tempered::new(target, P::Scalar::one() / factor)
}

/// A K-step invariance test of a [`Kernel`] against an analytic target (demonstrated in `tests/conformance.rs`).
///
/// # Procedure
/// ```text
/// for c in 0..C (in parallel, stream(seed, c)):  x_0 ~ target exactly;  x_K = K kernel steps
/// α_each = α / (number of sub-tests: ≤ 3 per coordinate)
/// KS_i   = sup_x |F̂_i(x) − F_i(x)|  over the C values x_K,i;   pass iff KS_i < sqrt(ln(2/α_each)/(2C))  (DKW–Massart)
/// zmean_i = (mean x_K,i − μ_i) / sqrt(Σ_ii / C)
/// zvar_i  = (m2_i − Σ_ii) / sqrt((m4_i − m2_i²)/C),   m_k,i = mean (x_K,i − μ_i)^k
///           pass iff |z| < Φ⁻¹(1 − α_each/2)
/// movement = mean_c ‖x_K − x_0‖;  pass iff movement > min_movement
/// ```
/// The KS sub-test is skipped for coordinates without a marginal CDF. The C final states are
/// IID, so the false-failure rate of the whole report is at most α (DKW is exact; the
/// z-tests are asymptotic, accurate for `C ≥ 10⁴`).
#[derive(Debug, Clone, PartialEq)]
pub struct InvarianceTest {
    chains: usize,
    steps: usize,
    alpha: f64,
    min_movement: Option<f64>,
    seed: u64,
}

/// The outcome of an [`InvarianceTest`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct InvarianceReport {
    /// Number of independent chains C.
    pub chains: usize,
    /// Steps per chain K.
    pub steps: usize,
    /// Total false-failure rate α of the report.
    pub alpha: f64,
    /// Per-coordinate KS distance of the final states (`None` without a marginal CDF).
    pub ks: Vec<Option<f64>>,
    /// The DKW critical distance at `α_each`.
    pub ks_critical: f64,
    /// Per-coordinate z of the mean.
    pub mean_z: Vec<f64>,
    /// Per-coordinate z of the variance.
    pub var_z: Vec<f64>,
    /// The two-sided normal critical value at `α_each`.
    pub z_critical: f64,
    /// Mean Euclidean distance `‖x_K − x_0‖` over chains.
    pub movement: f64,
    /// The movement threshold.
    pub min_movement: f64,
    /// Mean acceptance probability over all steps of all chains.
    pub mean_accept_prob: f64,
}

impl InvarianceReport {
    /// Human-readable descriptions of every failed sub-test (empty if it passed).
    pub fn failures(&self) -> Vec<String> {
        let mut f = Vec::new();
        for (i, ks) in self.ks.iter().enumerate() {
            if let Some(k) = ks
                && !(*k < self.ks_critical)
            {
                f.push(format!(
                    "coordinate {i}: KS distance {k:.4} ≥ DKW bound {:.4}",
                    self.ks_critical
                ));
            }
        }
        for (i, z) in self.mean_z.iter().enumerate() {
            if !(z.abs() < self.z_critical) {
                f.push(format!(
                    "coordinate {i}: mean z = {z:.2} beyond ±{:.2}",
                    self.z_critical
                ));
            }
        }
        for (i, z) in self.var_z.iter().enumerate() {
            if !(z.abs() < self.z_critical) {
                f.push(format!(
                    "coordinate {i}: variance z = {z:.2} beyond ±{:.2}",
                    self.z_critical
                ));
            }
        }
        if !(self.movement > self.min_movement) {
            f.push(format!(
                "movement mean ‖x_K − x_0‖ = {:.4} ≤ {:.4}: the kernel (almost) does not move",
                self.movement, self.min_movement
            ));
        }
        f
    }

    /// `true` iff every sub-test passed.
    pub fn passed(&self) -> bool {
        self.failures().is_empty()
    }

    /// `Ok(())` if the test passed, otherwise `Err` with the full report.
    ///
    /// # Errors
    /// A message listing every failed sub-test.
    pub fn check(&self) -> core::result::Result<(), String> {
        if self.passed() {
            Ok(())
        } else {
            Err(format!("{self}"))
        }
    }
}

impl core::fmt::Display for InvarianceReport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        writeln!(
            f,
            "invariance test: C = {} chains, K = {} steps, α = {:.1e}, mean acceptance {:.3}, movement {:.4} (min {:.4})",
            self.chains,
            self.steps,
            self.alpha,
            self.mean_accept_prob,
            self.movement,
            self.min_movement
        )?;
        for i in 0..self.mean_z.len() {
            let ks = self.ks[i].map_or("   n/a".to_string(), |k| format!("{k:.4}"));
            writeln!(
                f,
                "  x[{i}]: KS {ks} (< {:.4}), z_mean {:+.2}, z_var {:+.2} (|z| < {:.2})",
                self.ks_critical, self.mean_z[i], self.var_z[i], self.z_critical
            )?;
        }
        let fails = self.failures();
        if fails.is_empty() {
            write!(f, "  PASSED")
        } else {
            write!(f, "  FAILED: {}", fails.join("; "))
        }
    }
}

impl InvarianceTest {
    /// `chains` independent chains of `steps` steps each; α = 2·10⁻⁶, seed 0, movement
    /// threshold `0.05 sqrt(mean_i Σ_ii)` unless set.
    pub fn new(chains: usize, steps: usize) -> Self {
        Self {
            chains,
            steps,
            alpha: 2e-6,
            min_movement: None,
            seed: 0,
        }
    }
    /// The total false-failure rate α of the report (split over its sub-tests).
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }
    /// The movement threshold: mean `‖x_K − x_0‖` must exceed it.
    pub fn min_movement(mut self, m: f64) -> Self {
        self.min_movement = Some(m);
        self
    }
    /// The seed (chain c uses [`crate::rng::stream`]`(seed, c)`).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Runs the test.
    ///
    /// # Errors
    /// [`Error::ZeroCount`] for fewer than 2 chains or zero steps; [`Error::InvalidParameter`] unless
    /// `0 < α < 1`; [`Error::DimensionMismatch`] if kernel and target dimensions differ; the
    /// kernel's own errors (initialisation, non-finite states).
    pub fn run<K, P>(&self, kernel: &K, target: &P) -> Result<InvarianceReport>
    where
        K: Kernel,
        P: Analytic + ExactSample<Scalar = K::Scalar> + Sync,
    {
        if self.chains < 2 {
            return Err(Error::ZeroCount {
                what: "chains (need at least 2)",
            });
        }
        if self.steps == 0 {
            return Err(Error::ZeroCount { what: "steps" });
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(Error::InvalidParameter {
                name: "alpha",
                value: self.alpha,
                expected: "a false-failure rate in (0, 1), e.g. 2e-6",
            });
        }
        let d = target.dim();
        crate::error::check_len("kernel dimension", d, kernel.dim())?;
        let mean = target.exact_mean();
        let cov = target.exact_covariance();
        let results: Vec<Result<(Vec<f64>, f64, f64)>> = (0..self.chains)
            .into_par_iter()
            .map(|c| {
                let mut rng = stream(self.seed, c as u64);
                let mut x0 = vec![K::Scalar::zero(); d];
                target.sample_into(&mut rng, &mut x0);
                let mut state = kernel.init(&x0, c)?;
                let mut acc = 0.0;
                for _ in 0..self.steps {
                    let info = kernel.step(&mut state, &mut rng)?;
                    acc += if info.accept_prob.is_finite() {
                        info.accept_prob
                    } else {
                        0.0
                    };
                }
                let x = kernel.position(&state);
                let moved = x
                    .iter()
                    .zip(&x0)
                    .map(|(a, b)| (a.to_f64() - b.to_f64()).powi(2))
                    .sum::<f64>()
                    .sqrt();
                Ok((x.iter().map(|v| v.to_f64()).collect(), moved, acc))
            })
            .collect();
        let mut finals = Vec::with_capacity(self.chains);
        let mut movement = 0.0;
        let mut acc = 0.0;
        for r in results {
            let (x, m, a) = r?;
            finals.push(x);
            movement += m;
            acc += a;
        }
        let n = self.chains as f64;
        movement /= n;
        let mean_accept_prob = acc / (n * self.steps as f64);

        let has_cdf: Vec<bool> = (0..d)
            .map(|i| target.marginal_cdf(i, mean[i]).is_some())
            .collect();
        let n_tests = 2 * d + has_cdf.iter().filter(|b| **b).count();
        let a_each = self.alpha / n_tests as f64;
        let ks_critical = ((2.0 / a_each).ln() / (2.0 * n)).sqrt();
        let z_critical = normal_quantile(1.0 - a_each / 2.0);

        let mut ks = Vec::with_capacity(d);
        let mut mean_z = Vec::with_capacity(d);
        let mut var_z = Vec::with_capacity(d);
        let mut col = vec![0.0; self.chains];
        for i in 0..d {
            for (c, x) in finals.iter().enumerate() {
                col[c] = x[i];
            }
            let s2 = cov[i * d + i];
            let mu = mean[i];
            let (mut m1, mut m2, mut m4) = (0.0, 0.0, 0.0);
            for &x in &col {
                let c2 = (x - mu) * (x - mu);
                m1 += x;
                m2 += c2;
                m4 += c2 * c2;
            }
            let (m1, m2, m4) = (m1 / n, m2 / n, m4 / n);
            mean_z.push((m1 - mu) / (s2 / n).sqrt());
            let var_se = ((m4 - m2 * m2).max(0.0) / n).sqrt();
            var_z.push(if var_se > 0.0 {
                (m2 - s2) / var_se
            } else {
                f64::INFINITY
            });
            ks.push(if has_cdf[i] {
                Some(ks_distance(&mut col, |x| {
                    target.marginal_cdf(i, x).unwrap_or(f64::NAN)
                }))
            } else {
                None
            });
        }
        let min_movement = self.min_movement.unwrap_or_else(|| {
            let avg_var = (0..d).map(|i| cov[i * d + i]).sum::<f64>() / d as f64;
            0.05 * avg_var.sqrt()
        });
        Ok(InvarianceReport {
            chains: self.chains,
            steps: self.steps,
            alpha: self.alpha,
            ks,
            ks_critical,
            mean_z,
            var_z,
            z_critical,
            movement,
            min_movement,
            mean_accept_prob,
        })
    }
}

/// The one-sample Kolmogorov–Smirnov distance `sup |F̂ − F|` (sorts `xs` in place). NaN
/// values of `xs` or of the CDF give NaN (which fails every comparison).
pub fn ks_distance(xs: &mut [f64], cdf: impl Fn(f64) -> f64) -> f64 {
    if xs.iter().any(|x| x.is_nan()) {
        return f64::NAN;
    }
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len() as f64;
    let mut d = 0.0f64;
    for (k, &x) in xs.iter().enumerate() {
        let f = cdf(x);
        if f.is_nan() {
            return f64::NAN;
        }
        let lo = f - k as f64 / n;
        let hi = (k + 1) as f64 / n - f;
        d = d.max(lo).max(hi);
    }
    d
}

/// `Φ⁻¹(p)` of the standard normal.
pub fn normal_quantile(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

/// Monte Carlo standard error of the mean of one (correlated) chain by non-overlapping batch
/// means with `⌊√n⌋` batches of `⌊n/⌊√n⌋⌋` draws (the remainder at the start is dropped):
///
/// ```text
/// MCSE = sqrt( Var(batch means) / number of batches )
/// ```
///
/// Consistent when the batch length outgrows the autocorrelation time (Flegal & Jones 2010);
/// biased low for chains shorter than ~100 autocorrelation times. `None` for fewer than 16
/// values or non-finite input.
///
/// # Example
/// ```
/// use langevin::testing::conformance::batch_means_mcse;
/// let xs: Vec<f64> = (0..10_000).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
/// assert!(batch_means_mcse(&xs).unwrap() < 1e-12); // perfectly anticorrelated: no error
/// ```
///
/// # References
/// * J. M. Flegal, G. L. Jones (2010), Batch means and spectral variance estimators in Markov
///   chain Monte Carlo, *Ann. Statist.* 38(2):1034–1070.
pub fn batch_means_mcse(series: &[f64]) -> Option<f64> {
    let n = series.len();
    if n < 16 || series.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let nb = (n as f64).sqrt().floor() as usize;
    let b = n / nb;
    let start = n - nb * b;
    let means: Vec<f64> = series[start..]
        .chunks_exact(b)
        .map(|c| c.iter().sum::<f64>() / b as f64)
        .collect();
    let m = means.iter().sum::<f64>() / nb as f64;
    let var = means.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (nb - 1) as f64;
    Some((var / nb as f64).sqrt())
}

/// Checks that the mean of a chain is within `z` batch-means MCSEs of `expected`.
///
/// # Errors
/// A message with the estimate, its MCSE and the z-score if `|mean − expected| ≥ z·MCSE`, or
/// if the MCSE cannot be computed (fewer than 16 values, non-finite values).
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::targets::Gaussian;
/// use langevin::testing::conformance::mcse_close;
/// let mala = Mala::new(Gaussian::<f64>::isotropic(vec![2.0], 1.0)?, 1.0)?;
/// let trace = Sampler::new(20_000).chains(1).warmup(100).seed(1).run(&mala, &[vec![2.0]])?;
/// mcse_close(&trace.coordinate(0, 0), 2.0, 4.753).unwrap();
/// # Ok::<(), langevin::Error>(())
/// ```
pub fn mcse_close(series: &[f64], expected: f64, z: f64) -> core::result::Result<f64, String> {
    let mcse = batch_means_mcse(series).ok_or_else(|| {
        format!(
            "cannot estimate the MCSE of a series of {} values (need ≥ 16, all finite)",
            series.len()
        )
    })?;
    let mean = series.iter().sum::<f64>() / series.len() as f64;
    let diff = mean - expected;
    // A zero MCSE (constant series) makes any nonzero difference infinitely many MCSEs.
    let zs = if mcse > 0.0 || diff != 0.0 {
        diff / mcse
    } else {
        0.0
    };
    if diff.abs() <= z * mcse {
        Ok(zs)
    } else {
        Err(format!(
            "mean {mean:.6} differs from the expected {expected:.6} by {:.3e} = {zs:.2} MCSE \
             (MCSE {mcse:.3e} by batch means; tolerance {z:.3} MCSE)",
            mean - expected
        ))
    }
}

/// Asserts that the mean of a chain (`&[f64]`) is within `z` batch-means MCSEs of an expected
/// value (default `z = 4.753`, a two-sided false-failure rate of 2·10⁻⁶), in the style of
/// `approx::assert_relative_eq!`. Panics with the estimate, the MCSE and the z-score.
///
/// ```
/// use langevin::assert_mcse_close;
/// let xs: Vec<f64> = (0..4_000).map(|i| ((i * 7919) % 1000) as f64 / 1000.0).collect();
/// assert_mcse_close!(&xs, 0.4995);
/// assert_mcse_close!(&xs, 0.4995, z = 6.0);
/// ```
#[macro_export]
macro_rules! assert_mcse_close {
    ($series:expr, $expected:expr) => {
        $crate::assert_mcse_close!($series, $expected, z = 4.753)
    };
    ($series:expr, $expected:expr, z = $z:expr) => {
        if let Err(msg) = $crate::testing::conformance::mcse_close($series, $expected, $z) {
            panic!(
                "assert_mcse_close!({}, {}) failed: {}",
                stringify!($series),
                stringify!($expected),
                msg
            );
        }
    };
}

/// The outcome of [`check_detailed_balance`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DetailedBalanceReport {
    /// Number of pairs checked.
    pub pairs: usize,
    /// Pairs skipped because both fluxes were `−∞` (both directions impossible).
    pub skipped: usize,
    /// The largest `|log F(x→y) − log F(y→x)| / (1 + |log F(x→y)|)` seen.
    pub max_error: f64,
    /// The pair `(x, y)` where the largest error occurred.
    pub worst_pair: Option<(Vec<f64>, Vec<f64>)>,
    /// The tolerance.
    pub tolerance: f64,
}

impl DetailedBalanceReport {
    /// `true` iff every pair balanced to within the tolerance.
    pub fn passed(&self) -> bool {
        self.max_error <= self.tolerance
    }
}

/// Checks detailed balance of a Metropolis–Hastings kernel on random state pairs,
/// deterministically, in log space:
///
/// ```text
/// log F(x→y) = log π(x) + log q(y|x) + log α(x, y)
/// pass iff |log F(x→y) − log F(y→x)| ≤ tol · (1 + |log F(x→y)|)  for every pair
/// ```
///
/// `log_q(y, x)` is the log density of proposing `y` from `x` **as the kernel actually draws
/// it** (the normalising constant may be dropped only if it does not depend on `x`), and
/// `log_alpha(x, y)` the log acceptance probability `min(0, log r)` the kernel computes. A
/// kernel whose acceptance ratio does not match its proposal — wrong correction sign, a
/// proposal noise (e.g. a missing √2) not matching the density used in the ratio — fails.
/// Bugs in the kernel's *state handling* (stale caches) are invisible here: use
/// [`InvarianceTest`] for those.
///
/// `draw_pair` supplies the pairs; drawing `x` from the target and `y` from the proposal
/// puts them where the kernel actually moves. Pairs where both fluxes are `−∞` are skipped;
/// a pair where exactly one is `−∞`, or any NaN, counts as an infinite error.
///
/// # Example
/// ```
/// use langevin::mcmc::mala_log_acceptance;
/// use langevin::prelude::*;
/// use langevin::testing::conformance::check_detailed_balance;
/// // MALA on N(0, 1), h = 0.7: q(y|x) = N(x + h(−x), 2h).
/// let h = 0.7;
/// let log_p = |x: &[f64]| -0.5 * x[0] * x[0];
/// let log_q = |y: &[f64], x: &[f64]| -(y[0] - x[0] + h * x[0]).powi(2) / (4.0 * h);
/// let log_a = |x: &[f64], y: &[f64]| {
///     mala_log_acceptance(x, log_p(x), &[-x[0]], y, log_p(y), &[-y[0]], h).min(0.0)
/// };
/// let mut rng = langevin::rng::stream(1, 0);
/// let report = check_detailed_balance(&mut rng, 1_000, |r| {
///     let x = 2.0 * f64::standard_normal(r);
///     (vec![x], vec![x + 1.5 * f64::standard_normal(r)])
/// }, log_p, log_q, log_a, 1e-10);
/// assert!(report.passed());
/// ```
pub fn check_detailed_balance<R, D, LP, LQ, LA>(
    rng: &mut R,
    pairs: usize,
    mut draw_pair: D,
    log_p: LP,
    log_q: LQ,
    log_alpha: LA,
    tolerance: f64,
) -> DetailedBalanceReport
where
    R: Rng + ?Sized,
    D: FnMut(&mut R) -> (Vec<f64>, Vec<f64>),
    LP: Fn(&[f64]) -> f64,
    LQ: Fn(&[f64], &[f64]) -> f64,
    LA: Fn(&[f64], &[f64]) -> f64,
{
    let mut report = DetailedBalanceReport {
        pairs,
        skipped: 0,
        max_error: 0.0,
        worst_pair: None,
        tolerance,
    };
    for _ in 0..pairs {
        let (x, y) = draw_pair(rng);
        let fxy = log_p(&x) + log_q(&y, &x) + log_alpha(&x, &y);
        let fyx = log_p(&y) + log_q(&x, &y) + log_alpha(&y, &x);
        let err = if fxy == f64::NEG_INFINITY && fyx == f64::NEG_INFINITY {
            report.skipped += 1;
            continue;
        } else if fxy.is_finite() && fyx.is_finite() {
            (fxy - fyx).abs() / (1.0 + fxy.abs())
        } else {
            f64::INFINITY
        };
        let err = if err.is_nan() { f64::INFINITY } else { err };
        if err > report.max_error || report.worst_pair.is_none() {
            report.max_error = err;
            report.worst_pair = Some((x, y));
        }
    }
    report
}
