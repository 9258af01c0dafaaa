//! Goodness-of-fit tests for samplers against known distributions.
//!
//! # Independence assumption
//!
//! Every test here assumes **independent, identically distributed** draws.
//! MCMC/Langevin output is autocorrelated, which makes these tests reject far
//! too often. Feed them either
//!
//! * the final states of many independent chains (one draw per chain), or
//! * one chain thinned by its estimated autocorrelation time with
//!   [`thin_by_ess`], which keeps every `⌈n / ESS_bulk⌉`-th draw.
//!
//! # Contents
//!
//! * [`ks_test`]: one-sample two-sided Kolmogorov–Smirnov test against any
//!   `statrs` continuous CDF; p-value [`ks_pvalue`]: exact (Marsaglia, Tsang &
//!   Wang 2003) for `n ≤ 4 545` except in the far tail, where it is twice the
//!   exact one-sided tail (Birnbaum & Tingey 1951), asymptotic with
//!   Stephens' correction only in the centre for larger `n`;
//! * [`anderson_darling`]: Anderson–Darling `A²` against a fully specified
//!   CDF, with log tails ([`LogCdf`]) so extreme draws give a finite `A²`,
//!   and the p-value of Marsaglia & Marsaglia (2004);
//! * [`chi_square_counts`] and [`chi_square_binned`]: Pearson χ² for
//!   discrete counts and for continuous draws in equiprobable bins;
//! * [`energy_distance`] and [`energy_test`]: multivariate two-sample energy
//!   distance with a permutation p-value (Székely & Rizzo 2013).
//!
//! # References
//!
//! * Marsaglia, Tsang & Wang (2003). Evaluating Kolmogorov's distribution.
//!   *Journal of Statistical Software* 8(18).
//! * Birnbaum & Tingey (1951). One-sided confidence contours for probability
//!   distribution functions. *Annals of Mathematical Statistics* 22(4).
//! * Simard & L'Ecuyer (2011). Computing the two-sided Kolmogorov–Smirnov
//!   distribution. *Journal of Statistical Software* 39(11).
//! * Stephens (1970). Use of the Kolmogorov–Smirnov, Cramér–von Mises and
//!   related statistics without extensive tables. *JRSS B* 32(1).
//! * Marsaglia & Marsaglia (2004). Evaluating the Anderson–Darling
//!   distribution. *Journal of Statistical Software* 9(2).
//! * Székely & Rizzo (2013). Energy statistics: a class of statistics based on
//!   distances. *Journal of Statistical Planning and Inference* 143(8).

use rand::{Rng, RngExt};
use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::ess::ess_bulk_m;
use super::{Result, check_finite, finite, invalid};

/// How a Kolmogorov–Smirnov p-value was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KsPValueMethod {
    /// Exact finite-`n` distribution, `1 − P(D_n < d)` by the matrix algorithm
    /// of Marsaglia, Tsang & Wang (2003).
    Exact,
    /// `2 · P(D⁺_n ≥ d)` with the exact one-sided (Smirnov) distribution of
    /// Birnbaum & Tingey (1951): exact for `d ≥ 1/2`, otherwise larger than the
    /// two-sided p-value by `P(D⁺_n ≥ d, D⁻_n ≥ d)` (relative excess below
    /// 1e-6 where it is used, `n·d² ≥ 2.2`).
    TwiceOneSided,
    /// Asymptotic Kolmogorov distribution with Stephens' (1970) correction.
    Asymptotic,
}

/// Result of [`ks_test`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct KsResult {
    /// `D_n = sup_x |F_n(x) − F(x)|`.
    pub statistic: f64,
    /// Two-sided p-value `P(D_n ≥ d)` under the null.
    pub p_value: f64,
    /// How the p-value was computed.
    pub method: KsPValueMethod,
}

/// Result of a test returning a statistic and a p-value ([`anderson_darling`]).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct GofResult {
    /// The test statistic.
    pub statistic: f64,
    /// The p-value under the null.
    pub p_value: f64,
}

/// Result of [`chi_square_counts`] / [`chi_square_binned`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct ChiSquareResult {
    /// Pearson's `X² = Σ (O_k − E_k)² / E_k`.
    pub statistic: f64,
    /// Degrees of freedom, `K − 1`.
    pub dof: usize,
    /// `P(χ²_dof ≥ X²)`.
    pub p_value: f64,
}

/// Result of [`energy_test`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct EnergyTestResult {
    /// Squared energy distance `E_{n,m}` (V-statistic), see [`energy_distance`].
    pub energy: f64,
    /// Test statistic `T = n·m/(n+m) · E_{n,m}`.
    pub statistic: f64,
    /// Permutation p-value `(1 + #{T_b ≥ T}) / (B + 1)`.
    pub p_value: f64,
}

/// Sorted copy of the samples with the CDF evaluated at each (validated).
fn sorted_cdf<D: ContinuousCDF<f64, f64>>(
    samples: &[f64],
    dist: &D,
    min_n: usize,
) -> Result<(Vec<f64>, Vec<f64>)> {
    cdf_values(samples, dist, min_n, true)
}

/// The samples (sorted when `sort`) with the CDF evaluated at each (validated).
fn cdf_values<D: ContinuousCDF<f64, f64>>(
    samples: &[f64],
    dist: &D,
    min_n: usize,
    sort: bool,
) -> Result<(Vec<f64>, Vec<f64>)> {
    if samples.len() < min_n {
        return Err(invalid(
            "samples",
            format!("need at least {min_n} draws, got {}", samples.len()),
        ));
    }
    check_finite("samples", samples)?;
    let mut x = samples.to_vec();
    if sort {
        x.sort_by(f64::total_cmp);
    }
    let f: Vec<f64> = x.iter().map(|&v| dist.cdf(v)).collect();
    if let Some((i, &v)) = f
        .iter()
        .enumerate()
        .find(|(_, v)| !(0.0..=1.0).contains(*v))
    {
        return Err(invalid(
            "dist",
            format!(
                "its CDF returned {v} at x = {}; it must lie in [0, 1]",
                x[i]
            ),
        ));
    }
    Ok((x, f))
}

/// Logarithms of a CDF and of its survival function, for the tails where
/// `F(x)` or `1 − F(x)` underflow to 0 (used by [`anderson_darling`]).
///
/// The provided methods are `ln(cdf(x))` and `ln(sf(x))`, which are `−∞`
/// where the value underflows. This crate overrides them with formulas that
/// stay finite over the whole real line for `statrs`' [`Normal`], [`LogNormal`],
/// [`Cauchy`] and [`Exp`]; every other `statrs` continuous law implements the
/// trait with the provided methods. For a distribution of your own,
/// `impl LogCdf for MyLaw {}` is enough (override the methods if you have
/// accurate log tails).
///
/// [`Normal`]: statrs::distribution::Normal
/// [`LogNormal`]: statrs::distribution::LogNormal
/// [`Cauchy`]: statrs::distribution::Cauchy
/// [`Exp`]: statrs::distribution::Exp
///
/// ```
/// use langevin::diagnostics::gof::LogCdf;
/// use statrs::distribution::Normal;
/// let n = Normal::new(0.0, 1.0).unwrap();
/// // Φ(−40) ≈ 3.7e−350 underflows; its logarithm does not.
/// assert!((n.ln_cdf(-40.0) - (-804.608_442_013_753_9)).abs() < 1e-9);
/// assert!((n.ln_sf(40.0) - n.ln_cdf(-40.0)).abs() < 1e-12);
/// ```
pub trait LogCdf: ContinuousCDF<f64, f64> {
    /// `ln F(x)`.
    fn ln_cdf(&self, x: f64) -> f64 {
        self.cdf(x).ln()
    }
    /// `ln(1 − F(x))`.
    fn ln_sf(&self, x: f64) -> f64 {
        self.sf(x).ln()
    }
}

/// `ln Φ(z)` of the standard normal, finite for every finite `z`.
///
/// `z > 0`: `ln(1 − Q(z))` with `Q(z) = erfc(z/√2)/2` (`ln_1p`); `−30 ≤ z ≤ 0`:
/// `ln(erfc(−z/√2)/2)` (statrs' `erfc` keeps a relative accuracy of ~1e-10
/// down to `Φ(−30) ≈ 5e−198`); `z < −30`: the asymptotic (Laplace) series
/// `ln Φ(z) = −z²/2 − ln(−z) − ln√(2π) + ln(1 − 1/z² + 3/z⁴ − 15/z⁶ + …)`,
/// twelve terms, whose truncation error at `z = −30` is below 1e-25
/// (Abramowitz & Stegun 26.2.12).
pub(crate) fn ln_std_normal_cdf(z: f64) -> f64 {
    use statrs::function::erf::erfc;
    const SQRT_2: f64 = std::f64::consts::SQRT_2;
    if z.is_nan() {
        return f64::NAN;
    }
    if z > 0.0 {
        return (-0.5 * erfc(z / SQRT_2)).ln_1p();
    }
    if z >= -30.0 {
        return (0.5 * erfc(-z / SQRT_2)).ln();
    }
    if z == f64::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    let x2 = z * z;
    let (mut term, mut series) = (1.0, 1.0);
    for k in 1..=12 {
        term *= -f64::from(2 * k - 1) / x2;
        series += term;
    }
    -0.5 * x2 - (-z).ln() - 0.5 * (2.0 * std::f64::consts::PI).ln() + series.ln()
}

impl LogCdf for statrs::distribution::Normal {
    fn ln_cdf(&self, x: f64) -> f64 {
        use statrs::statistics::Distribution;
        let (mu, sd) = (
            self.mean().unwrap_or(f64::NAN),
            self.std_dev().unwrap_or(f64::NAN),
        );
        ln_std_normal_cdf((x - mu) / sd)
    }
    fn ln_sf(&self, x: f64) -> f64 {
        use statrs::statistics::Distribution;
        let (mu, sd) = (
            self.mean().unwrap_or(f64::NAN),
            self.std_dev().unwrap_or(f64::NAN),
        );
        ln_std_normal_cdf((mu - x) / sd)
    }
}

impl LogCdf for statrs::distribution::LogNormal {
    fn ln_cdf(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return f64::NEG_INFINITY;
        }
        ln_std_normal_cdf((x.ln() - self.location()) / self.scale())
    }
    fn ln_sf(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        ln_std_normal_cdf((self.location() - x.ln()) / self.scale())
    }
}

/// `ln(1 − F(z))` of the standard Cauchy law: `1 − F(z) = atan2(1, z)/π`,
/// accurate in the right tail; `ln_1p` of the (small) CDF on the left.
fn ln_std_cauchy_sf(z: f64) -> f64 {
    use std::f64::consts::PI;
    if z >= 0.0 {
        (1.0f64.atan2(z) / PI).ln()
    } else {
        (-(1.0f64.atan2(-z)) / PI).ln_1p()
    }
}

impl LogCdf for statrs::distribution::Cauchy {
    fn ln_cdf(&self, x: f64) -> f64 {
        ln_std_cauchy_sf((self.location() - x) / self.scale())
    }
    fn ln_sf(&self, x: f64) -> f64 {
        ln_std_cauchy_sf((x - self.location()) / self.scale())
    }
}

impl LogCdf for statrs::distribution::Exp {
    fn ln_cdf(&self, x: f64) -> f64 {
        if x <= 0.0 {
            f64::NEG_INFINITY
        } else {
            (-(-self.rate() * x).exp_m1()).ln()
        }
    }
    fn ln_sf(&self, x: f64) -> f64 {
        if x <= 0.0 { 0.0 } else { -self.rate() * x }
    }
}

macro_rules! log_cdf_default {
    ($($t:ident),*) => {
        $(impl LogCdf for statrs::distribution::$t {})*
    };
}
log_cdf_default!(
    Beta,
    Chi,
    ChiSquared,
    Erlang,
    FisherSnedecor,
    Gamma,
    Gumbel,
    InverseGamma,
    Laplace,
    Levy,
    Pareto,
    StudentsT,
    Triangular,
    Uniform,
    Weibull
);

/// One-sample two-sided Kolmogorov–Smirnov test of IID `samples` against the
/// continuous distribution `dist`:
///
/// ```text
/// D_n = max_i max( i/n − F(x₍ᵢ₎),  F(x₍ᵢ₎) − (i−1)/n )
/// ```
///
/// P-value `P(D_n ≥ d)`, see [`ks_pvalue`]: exact (matrix algorithm) for
/// `n ≤ 100`, and for larger `n` exact in the tail (`n·d² ≥ 2.2`, twice the
/// exact one-sided law) and in the centre as long as the matrix has at most
/// 199 rows; the Stephens-corrected asymptotic series only beyond that (`n >
/// 4 500` and `p ≳ 0.02`).
///
/// Assumes IID draws, see the [module docs](self).
///
/// # Errors
/// Empty or non-finite samples, or a CDF returning values outside `[0, 1]`.
///
/// ```
/// use langevin::diagnostics::ks_test;
/// use statrs::distribution::Uniform;
/// let x: Vec<f64> = (0..50).map(|i| (i as f64 + 0.5) / 50.0).collect();
/// let r = ks_test(&x, &Uniform::new(0.0, 1.0).unwrap()).unwrap();
/// assert!((r.statistic - 0.01).abs() < 1e-12 && r.p_value > 0.999);
/// ```
pub fn ks_test<D: ContinuousCDF<f64, f64>>(samples: &[f64], dist: &D) -> Result<KsResult> {
    let (_, f) = sorted_cdf(samples, dist, 1)?;
    let n = f.len();
    let nf = n as f64;
    let mut d = 0.0f64;
    for (i, &fi) in f.iter().enumerate() {
        d = d.max((i + 1) as f64 / nf - fi).max(fi - i as f64 / nf);
    }
    ks_pvalue(d, n)
}

/// Largest `k = ⌊n·d⌋ + 1` for which [`ks_pvalue`] runs the exact matrix
/// algorithm when `n > 100` (a `(2k − 1)²` matrix raised to the power `n`).
const KS_EXACT_MAX_K: usize = 100;

/// Two-sided Kolmogorov–Smirnov p-value `P(D_n ≥ d)` for `n` IID draws from
/// a continuous law (SciPy's `kstwo.sf(d, n)`), with the method used:
///
/// * `n ≤ 100`: **exact**, `1 − P(D_n < d)` with `P(D_n < d)` from the matrix
///   power algorithm of Marsaglia, Tsang & Wang (2003) (without their
///   right-tail shortcut); accurate to about 1e-13 absolute, so p-values
///   below ~1e-12 are only bounds;
/// * `n > 100` and (`n·d² ≥ 2.2` or `d ≥ 1/2`): **twice the exact one-sided
///   p-value** ([`KsPValueMethod::TwiceOneSided`]),
///   `P(D⁺_n ≥ d) = d Σ_{j=0}^{⌊n(1−d)⌋} C(n,j) (1 − d − j/n)^{n−j} (d + j/n)^{j−1}`
///   (Birnbaum & Tingey 1951), summed in log space (all terms are positive,
///   so there is no cancellation; relative accuracy ~1e-12, O(n) time: 6 ms at
///   `n = 10⁵`, 80 ms at `n = 10⁶`). It
///   exceeds the two-sided p-value by `P(D⁺_n ≥ d, D⁻_n ≥ d)`: exactly 0 for
///   `d ≥ 1/2`, below 1e-6 relative where it is used (measured against the
///   exact matrix for `n ≤ 3 000`, `p` from 1e-2 to 1e-6, in
///   `tests/diagnostics_gof_tails.rs`); p-values down to 1e-300 keep that
///   relative accuracy;
/// * `n > 100`, `n·d² < 2.2` and `⌊n·d⌋ < 100`: **exact** matrix algorithm
///   (the matrix has `m = 2⌊n·d⌋ + 1 ≤ 199` rows; cost `O(m³ log n)`: 0.2 ms
///   at `n = 400`, 6 ms at `n = 1 000`, up to 0.1 s at `n = 4 500`, `m = 199`,
///   measured in a release build); since `n·d² < 2.2` here, this covers every `d`
///   for `n ≤ 4 545`;
/// * otherwise (`n > 4 545`, `p ≳ 0.02`): the **asymptotic** Kolmogorov
///   distribution at Stephens' (1970) corrected argument
///   `λ = (√n + 0.12 + 0.11/√n)·d`, `p = 2 Σ_{j≥1} (−1)^{j−1} exp(−2j²λ²)`;
///   relative error below 2e-3 (measured against SciPy at `n = 10⁴, 10⁵`).
///
/// The regions and the `2.2` threshold are those of Simard & L'Ecuyer (2011)
/// and SciPy's `kstwo`, which uses the Pelz–Good expansion where this
/// function uses the exact matrix or Stephens' formula.
///
/// # Errors
/// `n = 0`, or `d` not finite.
///
/// ```
/// use langevin::diagnostics::gof::{KsPValueMethod, ks_pvalue};
/// // scipy.stats.kstwo.sf(0.1107245062090419, 400) = 1.0000625737e-4
/// let r = ks_pvalue(0.1107245062090419, 400).unwrap();
/// assert_eq!(r.method, KsPValueMethod::TwiceOneSided);
/// assert!((r.p_value / 1.0000625737349288e-4 - 1.0).abs() < 1e-9);
/// ```
pub fn ks_pvalue(d: f64, n: usize) -> Result<KsResult> {
    if n == 0 {
        return Err(invalid("n", "must be at least 1"));
    }
    if !d.is_finite() {
        return Err(invalid("d", format!("must be finite, got {d}")));
    }
    let nf = n as f64;
    let (p_value, method) = if n <= 100 {
        (1.0 - kolmogorov_cdf_exact(n, d), KsPValueMethod::Exact)
    } else if d >= 0.5 || nf * d * d >= 2.2 {
        (2.0 * smirnov_sf(n, d), KsPValueMethod::TwiceOneSided)
    } else if ((nf * d).floor() as usize) < KS_EXACT_MAX_K {
        (1.0 - kolmogorov_cdf_exact(n, d), KsPValueMethod::Exact)
    } else {
        let sn = nf.sqrt();
        (
            kolmogorov_sf((sn + 0.12 + 0.11 / sn) * d),
            KsPValueMethod::Asymptotic,
        )
    };
    Ok(KsResult {
        statistic: d,
        p_value: finite("KS p-value", p_value)?.clamp(0.0, 1.0),
        method,
    })
}

/// One-sided Smirnov upper tail `P(D⁺_n ≥ d)` (Birnbaum & Tingey 1951),
/// terms summed in log space relative to the largest.
pub(crate) fn smirnov_sf(n: usize, d: f64) -> f64 {
    if d <= 0.0 {
        return 1.0;
    }
    if d >= 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    let jmax = ((nf * (1.0 - d)).floor() as usize).min(n);
    let mut ln_terms = Vec::with_capacity(jmax + 1);
    let mut ln_binom = 0.0; // ln C(n, j)
    for j in 0..=jmax {
        if j > 0 {
            ln_binom += ((n - j + 1) as f64 / j as f64).ln();
        }
        let a = (n - j) as f64 / nf - d;
        if a <= 0.0 {
            // (1 − d − j/n)^{n−j} = 0 (n − j ≥ 1 since d > 0)
            continue;
        }
        let b = d + j as f64 / nf;
        ln_terms.push(ln_binom + (n - j) as f64 * a.ln() + (j as f64 - 1.0) * b.ln());
    }
    let top = ln_terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if top == f64::NEG_INFINITY {
        return 0.0;
    }
    let sum: f64 = ln_terms.iter().map(|t| (t - top).exp()).sum();
    (d.ln() + top + sum.ln()).exp().min(1.0)
}

/// Asymptotic Kolmogorov survival function `Q(λ) = P(K > λ)`.
pub(crate) fn kolmogorov_sf(lambda: f64) -> f64 {
    if lambda <= 0.0 {
        return 1.0;
    }
    if lambda < 1.0 {
        // P(K ≤ λ) = √(2π)/λ Σ_{j≥1} exp(−(2j−1)²π²/(8λ²))
        let c = -std::f64::consts::PI * std::f64::consts::PI / (8.0 * lambda * lambda);
        let mut s = 0.0;
        for j in 1..=20 {
            let k = (2 * j - 1) as f64;
            s += (c * k * k).exp();
        }
        (1.0 - (2.0 * std::f64::consts::PI).sqrt() / lambda * s).clamp(0.0, 1.0)
    } else {
        let mut s = 0.0;
        let mut sign = 1.0;
        for j in 1..=100 {
            let jf = j as f64;
            let term = (-2.0 * jf * jf * lambda * lambda).exp();
            s += sign * term;
            if term < 1e-300 {
                break;
            }
            sign = -sign;
        }
        (2.0 * s).clamp(0.0, 1.0)
    }
}

/// `P(D_n < d)` by Marsaglia, Tsang & Wang (2003), exact matrix algorithm.
pub(crate) fn kolmogorov_cdf_exact(n: usize, d: f64) -> f64 {
    let nf = n as f64;
    if d <= 0.0 {
        return 0.0;
    }
    if d >= 1.0 {
        return 1.0;
    }
    let nd = nf * d;
    let k = nd.floor() as usize + 1;
    let m = 2 * k - 1;
    let h = k as f64 - nd;
    let mut hm = vec![0.0; m * m];
    for i in 0..m {
        for j in 0..m {
            if i + 1 >= j {
                hm[i * m + j] = 1.0;
            }
        }
    }
    for i in 0..m {
        hm[i * m] -= h.powi(i as i32 + 1);
        hm[(m - 1) * m + i] -= h.powi((m - i) as i32);
    }
    if 2.0 * h - 1.0 > 0.0 {
        hm[(m - 1) * m] += (2.0 * h - 1.0).powi(m as i32);
    }
    for i in 0..m {
        for j in 0..m {
            if i + 1 > j {
                for g in 1..=(i + 1 - j) {
                    hm[i * m + j] /= g as f64;
                }
            }
        }
    }
    let (q, mut eq) = mat_power(&hm, m, n);
    let mut s = q[(k - 1) * m + k - 1];
    for i in 1..=n {
        s = s * i as f64 / nf;
        if s < 1e-140 {
            s *= 1e140;
            eq -= 140;
        }
    }
    s * 10f64.powi(eq)
}

fn mat_mul(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * m];
    for i in 0..m {
        for l in 0..m {
            let a_il = a[i * m + l];
            let (row_c, row_b) = (&mut c[i * m..(i + 1) * m], &b[l * m..(l + 1) * m]);
            for (cj, bj) in row_c.iter_mut().zip(row_b) {
                *cj += a_il * bj;
            }
        }
    }
    c
}

/// `A^n` with a decimal exponent kept separately (scaled by 1e-140 when the
/// centre element exceeds 1e140), as in Marsaglia, Tsang & Wang (2003).
fn mat_power(a: &[f64], m: usize, n: usize) -> (Vec<f64>, i32) {
    if n == 1 {
        return (a.to_vec(), 0);
    }
    let (v, ev) = mat_power(a, m, n / 2);
    let b = mat_mul(&v, &v, m);
    let eb = 2 * ev;
    let (mut v, mut ev) = if n.is_multiple_of(2) {
        (b, eb)
    } else {
        (mat_mul(a, &b, m), eb)
    };
    if v[(m / 2) * m + m / 2] > 1e140 {
        for x in v.iter_mut() {
            *x *= 1e-140;
        }
        ev += 140;
    }
    (v, ev)
}

/// Anderson–Darling test of IID `samples` against the fully specified
/// continuous distribution `dist` (no estimated parameters):
///
/// ```text
/// A² = −n − (1/n) Σ_{i=1}^{n} (2i−1) [ ln F(x₍ᵢ₎) + ln(1 − F(x₍ₙ₊₁₋ᵢ₎)) ]
/// ```
///
/// with `ln F` and `ln(1 − F)` from [`LogCdf`], so draws far in a tail, where
/// `F` or `1 − F` underflow to 0, still give a finite `A²` (a standard Cauchy
/// sample of 200 against `N(0, 1)`: `A² = 169.82`, as SciPy with `logcdf` /
/// `logsf`; with `ln(cdf)` it was `∞`). The p-value is `1 − AD_n(A²)` from Marsaglia & Marsaglia (2004): the
/// asymptotic distribution `ADinf` plus their finite-`n` error correction
/// `errfix(n, ·)`, see [`anderson_darling_pvalue`]. A draw where `ln F` or
/// `ln(1 − F)` is `−∞` (outside the support, or a law without accurate log
/// tails whose CDF underflowed) gives `A² = ∞` and `p = 0`.
///
/// Assumes IID draws, see the [module docs](self).
///
/// # Errors
/// Empty or non-finite samples, or a CDF returning values outside `[0, 1]`.
///
/// ```
/// use langevin::diagnostics::anderson_darling;
/// use statrs::distribution::Uniform;
/// let x: Vec<f64> = (0..40).map(|i| (i as f64 + 0.5) / 40.0).collect();
/// let r = anderson_darling(&x, &Uniform::new(0.0, 1.0).unwrap()).unwrap();
/// assert!(r.p_value > 0.99);
/// ```
pub fn anderson_darling<D: LogCdf>(samples: &[f64], dist: &D) -> Result<GofResult> {
    let (x, f) = sorted_cdf(samples, dist, 1)?;
    let n = f.len();
    let nf = n as f64;
    let mut s = 0.0;
    for (i, &xi) in x.iter().enumerate() {
        let (ln_f, ln_sf) = (dist.ln_cdf(xi), dist.ln_sf(xi));
        if ln_f > 0.0 || ln_sf > 0.0 {
            return Err(invalid(
                "dist",
                format!("its log-CDF / log-survival at x = {xi} is positive ({ln_f}, {ln_sf})"),
            ));
        }
        s += (2 * i + 1) as f64 * ln_f + (2 * (n - i) - 1) as f64 * ln_sf;
    }
    let a2 = -nf - s / nf;
    if a2.is_nan() {
        return Err(invalid("dist", "its CDF/survival function produced NaN"));
    }
    if a2.is_infinite() {
        return Ok(GofResult {
            statistic: f64::INFINITY,
            p_value: 0.0,
        });
    }
    Ok(GofResult {
        statistic: a2,
        p_value: anderson_darling_pvalue(a2, n)?,
    })
}

/// Upper-tail probability `P(A²_n ≥ z)` of the Anderson–Darling statistic for
/// `n` IID draws from a fully specified continuous distribution (Marsaglia &
/// Marsaglia 2004):
///
/// ```text
/// p = 1 − [ ADinf(z) + errfix(n, ADinf(z)) ]
/// ```
///
/// `ADinf` is their two-piece approximation of the limiting distribution
/// (|error| < 2e-6) and `errfix` their correction for finite `n`; together
/// accurate to a few 1e-6 for all `n ≥ 1`.
///
/// # Errors
/// `n = 0`, or `z` negative or not finite.
///
/// ```
/// use langevin::diagnostics::gof::anderson_darling_pvalue;
/// // 5% critical value of the limiting distribution is 2.492.
/// assert!((anderson_darling_pvalue(2.492, 1_000_000).unwrap() - 0.05).abs() < 1e-3);
/// ```
pub fn anderson_darling_pvalue(z: f64, n: usize) -> Result<f64> {
    if n == 0 {
        return Err(invalid("n", "must be at least 1"));
    }
    if !z.is_finite() || z < 0.0 {
        return Err(invalid("z", format!("must be finite and ≥ 0, got {z}")));
    }
    if z <= 0.0 {
        return Ok(1.0);
    }
    let x = ad_inf(z);
    let cdf = x + ad_errfix(n as f64, x);
    Ok((1.0 - cdf).clamp(0.0, 1.0))
}

fn ad_inf(z: f64) -> f64 {
    if z < 2.0 {
        (-1.2337141 / z).exp() / z.sqrt()
            * (2.00012
                + (0.247105 - (0.0649821 - (0.0347962 - (0.011672 - 0.00168691 * z) * z) * z) * z)
                    * z)
    } else {
        (-(1.0776
            - (2.30695 - (0.43424 - (0.082433 - (0.008056 - 0.0003146 * z) * z) * z) * z) * z)
            .exp())
        .exp()
    }
}

fn ad_errfix(n: f64, x: f64) -> f64 {
    if x > 0.8 {
        return (-130.2137
            + (745.2337 - (1705.091 - (1950.646 - (1116.360 - 255.7844 * x) * x) * x) * x) * x)
            / n;
    }
    let c = 0.01265 + 0.1757 / n;
    if x < c {
        let t = x / c;
        let t = t.sqrt() * (1.0 - t) * (49.0 * t - 102.0);
        return t * (0.0037 / (n * n) + 0.00078 / n + 0.00006) / n;
    }
    let x = (x - c) / (0.8 - c);
    let x = -0.00022633 + (6.54034 - (14.6538 - (14.458 - (8.259 - 1.91864 * x) * x) * x) * x) * x;
    x * (0.04213 + 0.01365 / n) / n
}

fn chi_square_from(observed: &[f64], expected: &[f64]) -> Result<ChiSquareResult> {
    let stat: f64 = observed
        .iter()
        .zip(expected)
        .map(|(o, e)| (o - e) * (o - e) / e)
        .sum();
    let dof = observed.len() - 1;
    let chi = ChiSquared::new(dof as f64).map_err(|e| invalid("probs", e.to_string()))?;
    Ok(ChiSquareResult {
        statistic: stat,
        dof,
        p_value: finite("chi-square p-value", chi.sf(stat))?.clamp(0.0, 1.0),
    })
}

/// Pearson χ² goodness-of-fit test of observed category `counts` against
/// expected probabilities `probs` (same length `K ≥ 2`, all positive,
/// summing to 1 within 1e-8; they are renormalised):
///
/// ```text
/// E_k = N·p_k,   X² = Σ_k (O_k − E_k)² / E_k,   p = P(χ²_{K−1} ≥ X²)
/// ```
///
/// The χ² approximation needs expected counts of about 5 or more per
/// category; merge rare categories otherwise. Assumes IID draws, see the
/// [module docs](self).
///
/// # Errors
/// Mismatched lengths, fewer than 2 categories, a zero total count,
/// non-positive / non-finite probabilities or probabilities not summing to 1.
///
/// ```
/// use langevin::diagnostics::chi_square_counts;
/// let r = chi_square_counts(&[25, 25, 50], &[0.25, 0.25, 0.5]).unwrap();
/// assert!(r.statistic.abs() < 1e-12 && (r.p_value - 1.0).abs() < 1e-12 && r.dof == 2);
/// ```
pub fn chi_square_counts(counts: &[u64], probs: &[f64]) -> Result<ChiSquareResult> {
    if counts.len() != probs.len() {
        return Err(invalid(
            "probs",
            format!(
                "need one probability per category: {} counts, {} probabilities",
                counts.len(),
                probs.len()
            ),
        ));
    }
    if counts.len() < 2 {
        return Err(invalid("counts", "need at least 2 categories"));
    }
    check_finite("probs", probs)?;
    if let Some(p) = probs.iter().find(|&&p| p <= 0.0) {
        return Err(invalid(
            "probs",
            format!("every probability must be > 0 (merge empty categories), got {p}"),
        ));
    }
    let total_p: f64 = probs.iter().sum();
    if (total_p - 1.0).abs() > 1e-8 {
        return Err(invalid("probs", format!("must sum to 1, got {total_p}")));
    }
    let n: u64 = counts.iter().sum();
    if n == 0 {
        return Err(invalid("counts", "total count is zero"));
    }
    let nf = n as f64;
    let observed: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
    let expected: Vec<f64> = probs.iter().map(|p| nf * p / total_p).collect();
    chi_square_from(&observed, &expected)
}

/// Binned Pearson χ² test of continuous IID `samples` against `dist`, using
/// `bins` equiprobable bins defined through the CDF (draw `x` falls in bin
/// `⌊bins·F(x)⌋`), so every bin has expected count `n / bins`:
///
/// ```text
/// X² = Σ_k (O_k − n/K)² / (n/K),   p = P(χ²_{K−1} ≥ X²)
/// ```
///
/// Choose `bins` so that `n / bins ≥ 5`. Assumes IID draws, see the
/// [module docs](self).
///
/// # Errors
/// `bins < 2`, empty or non-finite samples, or a CDF outside `[0, 1]`.
///
/// ```
/// use langevin::diagnostics::chi_square_binned;
/// use statrs::distribution::Uniform;
/// let x: Vec<f64> = (0..100).map(|i| (i as f64 + 0.5) / 100.0).collect();
/// let r = chi_square_binned(&x, &Uniform::new(0.0, 1.0).unwrap(), 10).unwrap();
/// assert!(r.statistic.abs() < 1e-12 && r.dof == 9);
/// ```
pub fn chi_square_binned<D: ContinuousCDF<f64, f64>>(
    samples: &[f64],
    dist: &D,
    bins: usize,
) -> Result<ChiSquareResult> {
    if bins < 2 {
        return Err(invalid("bins", format!("need at least 2 bins, got {bins}")));
    }
    // Bin counts do not depend on the order: no sort needed.
    let (_, f) = cdf_values(samples, dist, 1, false)?;
    let mut counts = vec![0.0; bins];
    for fi in f {
        let k = ((fi * bins as f64).floor() as usize).min(bins - 1);
        counts[k] += 1.0;
    }
    let e = samples.len() as f64 / bins as f64;
    chi_square_from(&counts, &vec![e; bins])
}

/// Keeps every `⌈n / ESS_bulk⌉`-th draw of a single chain (starting with the
/// first), giving approximately independent draws for the IID tests of this
/// module. `ESS_bulk` is [`ess_bulk`](super::ess_bulk) of the chain alone; if
/// it exceeds `n` every draw is kept.
///
/// ```text
/// k = max(1, ⌈n / ESS_bulk⌉),   output = (x_0, x_k, x_{2k}, …)
/// ```
///
/// # Errors
/// Fewer than 4 draws or non-finite draws.
///
/// ```
/// use langevin::diagnostics::thin_by_ess;
/// let x: Vec<f64> = (0..400).map(|i| ((i / 20) as f64).sin()).collect();
/// let t = thin_by_ess(&x).unwrap();
/// assert!(t.len() < 100 && t[0] == x[0]);
/// ```
pub fn thin_by_ess(chain: &[f64]) -> Result<Vec<f64>> {
    let m = super::to_matrix(&[chain], 1, 4)?;
    let ess = ess_bulk_m(&m);
    let n = chain.len() as f64;
    // NaN-aware: a NaN ESS must not fall through to "keep every draw".
    let ess = finite("ESS", ess)?;
    let k = if ess > 0.0 {
        ((n / ess).ceil() as usize).max(1)
    } else {
        1
    };
    Ok(chain.iter().step_by(k).copied().collect())
}

/// Validates a flat row-major `n × d` point set and returns `n`.
pub(crate) fn check_points(what: &'static str, x: &[f64], d: usize) -> Result<usize> {
    if d == 0 {
        return Err(invalid("d", "dimension must be at least 1"));
    }
    if x.is_empty() || !x.len().is_multiple_of(d) {
        return Err(invalid(
            what,
            format!(
                "must be a non-empty flat row-major n × d array with d = {d}, got length {}",
                x.len()
            ),
        ));
    }
    check_finite(what, x)?;
    Ok(x.len() / d)
}

fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

/// Squared energy distance between two samples in `ℝ^d` (Székely & Rizzo
/// 2013), as the V-statistic over all pairs:
///
/// ```text
/// E_{n,m} = 2/(nm) Σ_{i,j} ‖x_i − y_j‖ − 1/n² Σ_{i,j} ‖x_i − x_j‖ − 1/m² Σ_{i,j} ‖y_i − y_j‖
/// ```
///
/// `x` is a flat row-major `n × d` array and `y` an `m × d` array. `E ≥ 0`,
/// with equality iff the two empirical distributions coincide; in 1-D it
/// equals the square of `scipy.stats.energy_distance`.
///
/// # Errors
/// `d = 0`, lengths not multiples of `d`, empty inputs or non-finite values.
///
/// ```
/// use langevin::diagnostics::energy_distance;
/// // 1-D: {0} vs {1}: 2·1 − 0 − 0.
/// assert!((energy_distance(&[0.0], &[1.0], 1).unwrap() - 2.0).abs() < 1e-15);
/// ```
pub fn energy_distance(x: &[f64], y: &[f64], d: usize) -> Result<f64> {
    let n = check_points("x", x, d)?;
    let m = check_points("y", y, d)?;
    let mut sxy = 0.0;
    for i in 0..n {
        for j in 0..m {
            sxy += dist(&x[i * d..(i + 1) * d], &y[j * d..(j + 1) * d]);
        }
    }
    let within = |z: &[f64], k: usize| {
        let mut s = 0.0;
        for i in 0..k {
            for j in (i + 1)..k {
                s += dist(&z[i * d..(i + 1) * d], &z[j * d..(j + 1) * d]);
            }
        }
        2.0 * s
    };
    let (nf, mf) = (n as f64, m as f64);
    finite(
        "energy distance",
        2.0 * sxy / (nf * mf) - within(x, n) / (nf * nf) - within(y, m) / (mf * mf),
    )
}

/// Two-sample energy test (Székely & Rizzo 2013) of equal distributions with
/// a permutation p-value. Statistic `T = n·m/(n+m) · E_{n,m}` with `E_{n,m}`
/// from [`energy_distance`]; the pooled sample is randomly relabelled
/// `permutations` times with `rng`:
///
/// ```text
/// p = (1 + #{b : T_b ≥ T}) / (B + 1)
/// ```
///
/// Cost: one `(n+m)²` distance matrix plus `O((n+m)²)` per permutation.
/// Assumes IID draws within each sample, see the [module docs](self).
///
/// # Errors
/// As [`energy_distance`], or `permutations = 0`.
///
/// ```
/// use langevin::diagnostics::energy_test;
/// use rand::SeedableRng;
/// let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
/// let x: Vec<f64> = (0..30).map(|i| i as f64 / 30.0).collect();
/// let y: Vec<f64> = (0..30).map(|i| 5.0 + i as f64 / 30.0).collect();
/// let r = energy_test(&x, &y, 1, 199, &mut rng).unwrap();
/// assert!(r.p_value <= 0.01);
/// ```
pub fn energy_test<R: Rng + ?Sized>(
    x: &[f64],
    y: &[f64],
    d: usize,
    permutations: usize,
    rng: &mut R,
) -> Result<EnergyTestResult> {
    let n = check_points("x", x, d)?;
    let m = check_points("y", y, d)?;
    if permutations == 0 {
        return Err(invalid("permutations", "need at least 1 permutation"));
    }
    let big_n = n + m;
    let pooled: Vec<&[f64]> = x.chunks_exact(d).chain(y.chunks_exact(d)).collect();
    let mut dm = vec![0.0; big_n * big_n];
    let mut total = 0.0;
    for i in 0..big_n {
        for j in (i + 1)..big_n {
            let v = dist(pooled[i], pooled[j]);
            dm[i * big_n + j] = v;
            dm[j * big_n + i] = v;
            total += 2.0 * v;
        }
    }
    let (nf, mf) = (n as f64, m as f64);
    let scale = nf * mf / (nf + mf);
    // Energy for the labelling where idx[..n] is sample X.
    let energy_of = |idx: &[usize]| {
        let (a, b) = idx.split_at(n);
        let mut sxx = 0.0;
        for &i in a {
            let row = &dm[i * big_n..(i + 1) * big_n];
            sxx += a.iter().map(|&j| row[j]).sum::<f64>();
        }
        let mut syy = 0.0;
        for &i in b {
            let row = &dm[i * big_n..(i + 1) * big_n];
            syy += b.iter().map(|&j| row[j]).sum::<f64>();
        }
        let sxy = 0.5 * (total - sxx - syy);
        2.0 * sxy / (nf * mf) - sxx / (nf * nf) - syy / (mf * mf)
    };
    let mut idx: Vec<usize> = (0..big_n).collect();
    let e0 = finite("energy distance", energy_of(&idx))?;
    let t0 = scale * e0;
    let mut exceed = 0usize;
    for _ in 0..permutations {
        for i in (1..big_n).rev() {
            let j = rng.random_range(0..=i);
            idx.swap(i, j);
        }
        // Tolerance for rounding when a permutation reproduces the labelling.
        if scale * energy_of(&idx) >= t0 - 1e-12 * t0.abs() {
            exceed += 1;
        }
    }
    Ok(EnergyTestResult {
        energy: e0,
        statistic: t0,
        p_value: (1 + exceed) as f64 / (permutations + 1) as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Catches: MTW matrix set-up errors on the smallest cases, where the
    /// law is known in closed form, P(D₁ < d) = 2d − 1 for d ∈ [1/2, 1], and
    /// at the support bounds. Deterministic.
    #[test]
    fn kolmogorov_exact_small_n() {
        for d in [0.55, 0.7, 0.9] {
            assert!((kolmogorov_cdf_exact(1, d) - (2.0 * d - 1.0)).abs() < 1e-14);
        }
        assert!(kolmogorov_cdf_exact(10, 0.0).abs() < 1e-300);
        assert!((kolmogorov_cdf_exact(10, 1.0) - 1.0).abs() < 1e-15);
        // D_n ≥ 1/(2n) always.
        assert!(kolmogorov_cdf_exact(20, 0.5 / 20.0).abs() < 1e-12);
    }

    /// Catches: a discontinuity between the two series branches at λ = 1 and
    /// between the two ADinf pieces at z = 2.
    #[test]
    fn branch_continuity() {
        let (a, b) = (kolmogorov_sf(1.0 - 1e-12), kolmogorov_sf(1.0 + 1e-12));
        assert!((a - b).abs() < 1e-10, "{a} {b}");
        assert!((kolmogorov_sf(1.0) - 0.26999967167735456).abs() < 1e-12);
        let (a, b) = (ad_inf(2.0 - 1e-12), ad_inf(2.0 + 1e-12));
        assert!((a - b).abs() < 5e-6, "{a} {b}");
    }
}
