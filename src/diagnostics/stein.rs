//! Kernel Stein discrepancy (KSD) with the inverse multiquadric (IMQ) kernel,
//! and a wild-bootstrap goodness-of-fit test.
//!
//! Given draws `x_1 … x_n ∈ ℝ^d` and the target's score `s(x) = ∇ log p(x)`
//! at each draw (computed by the caller; an unnormalised density suffices),
//! the KSD measures how far the draws are from `p` without knowing `p`'s
//! normalising constant. With the IMQ base kernel
//!
//! ```text
//! k(x, y) = (c² + ‖x − y‖²)^β,      c > 0,  −1 < β < 0   (default c = 1, β = −1/2)
//! ```
//!
//! the Langevin Stein kernel is, with `r = x − y` and `u = c² + ‖r‖²`,
//!
//! ```text
//! k₀(x, y) = ∇ₓ·∇_y k + ∇ₓk·s(y) + ∇_y k·s(x) + k·s(x)ᵀs(y)
//!          = −4β(β−1)·u^{β−2}‖r‖² − 2βd·u^{β−1} + 2β·u^{β−1}·rᵀ(s(y) − s(x)) + u^β·s(x)ᵀs(y)
//! ```
//!
//! and
//!
//! ```text
//! KSD²_U = 1/(n(n−1)) Σ_{i≠j} k₀(x_i, x_j)       (unbiased U-statistic; can be < 0)
//! KSD²_V = 1/n²       Σ_{i,j} k₀(x_i, x_j)       (V-statistic; ≥ 0)
//! ```
//!
//! The IMQ kernel with `β ∈ (−1, 0)` makes the KSD detect non-convergence for
//! distantly dissipative targets (Gorham & Mackey 2017). Cost: `O(n² d)` time
//! and, for the bootstrap test, `O(n²)` memory.
//!
//! # References
//!
//! * Gorham & Mackey (2017). Measuring sample quality with kernels. *ICML*.
//! * Liu, Lee & Jordan (2016). A kernelized Stein discrepancy for
//!   goodness-of-fit tests. *ICML*.
//! * Chwialkowski, Strathmann & Gretton (2016). A kernel test of goodness of
//!   fit. *ICML*.

use rand::Rng;

use super::gof::check_points;
use super::transform::quantile_sorted_numpy;
use super::{Result, finite, invalid};

/// Inverse multiquadric kernel `k(x, y) = (c² + ‖x − y‖²)^β`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImqKernel {
    c: f64,
    beta: f64,
}

impl Default for ImqKernel {
    /// `c = 1`, `β = −1/2` (Gorham & Mackey 2017).
    fn default() -> Self {
        Self { c: 1.0, beta: -0.5 }
    }
}

impl ImqKernel {
    /// Creates an IMQ kernel.
    ///
    /// # Errors
    /// `c` not finite and positive, or `β` outside `(−1, 0)`.
    ///
    /// ```
    /// use langevin::diagnostics::ImqKernel;
    /// assert!(ImqKernel::new(1.0, -0.5).is_ok());
    /// assert!(ImqKernel::new(1.0, 0.5).is_err());
    /// ```
    pub fn new(c: f64, beta: f64) -> Result<Self> {
        if !(c.is_finite() && c > 0.0) {
            return Err(invalid("c", format!("must be finite and > 0, got {c}")));
        }
        if !(beta > -1.0 && beta < 0.0) {
            return Err(invalid("beta", format!("must lie in (-1, 0), got {beta}")));
        }
        Ok(Self { c, beta })
    }

    /// The scale `c`.
    pub fn c(&self) -> f64 {
        self.c
    }

    /// The exponent `β`.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// Evaluates `k(x, y) = (c² + ‖x − y‖²)^β`.
    ///
    /// # Errors
    /// `x` and `y` of different lengths.
    pub fn eval(&self, x: &[f64], y: &[f64]) -> Result<f64> {
        if x.len() != y.len() {
            return Err(invalid(
                "y",
                format!("length {} differs from x's length {}", y.len(), x.len()),
            ));
        }
        let r2: f64 = x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum();
        Ok((self.c * self.c + r2).powf(self.beta))
    }

    /// Evaluates the Langevin Stein kernel `k₀(x, y)` given the scores
    /// `sx = s(x)`, `sy = s(y)` (formula in the [module docs](self)).
    ///
    /// # Errors
    /// The four slices not all of the same length.
    ///
    /// ```
    /// use langevin::diagnostics::ImqKernel;
    /// let k = ImqKernel::default();
    /// // k₀(x, x) = −2βd·c^{2(β−1)} + c^{2β}‖s(x)‖² = 1 + 4 for d = 1, s = 2.
    /// let v = k.stein_kernel(&[0.3], &[0.3], &[2.0], &[2.0]).unwrap();
    /// assert!((v - 5.0).abs() < 1e-12);
    /// ```
    pub fn stein_kernel(&self, x: &[f64], y: &[f64], sx: &[f64], sy: &[f64]) -> Result<f64> {
        let d = x.len();
        if y.len() != d || sx.len() != d || sy.len() != d {
            return Err(invalid(
                "y, sx, sy",
                format!(
                    "x, y, s(x), s(y) must have equal lengths, got {}, {}, {}, {}",
                    d,
                    y.len(),
                    sx.len(),
                    sy.len()
                ),
            ));
        }
        Ok(self.k0(x, y, sx, sy))
    }

    #[inline]
    pub(crate) fn k0(&self, x: &[f64], y: &[f64], sx: &[f64], sy: &[f64]) -> f64 {
        let b = self.beta;
        let d = x.len() as f64;
        let (mut r2, mut r_ds, mut ss) = (0.0, 0.0, 0.0);
        for i in 0..x.len() {
            let r = x[i] - y[i];
            r2 += r * r;
            r_ds += r * (sy[i] - sx[i]);
            ss += sx[i] * sy[i];
        }
        let u = self.c * self.c + r2;
        let ub = u.powf(b);
        let ub1 = ub / u;
        let ub2 = ub1 / u;
        -4.0 * b * (b - 1.0) * ub2 * r2 - 2.0 * b * d * ub1 + 2.0 * b * ub1 * r_ds + ub * ss
    }
}

/// U- and V-statistic estimates of KSD², see [`ksd`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct KsdEstimate {
    /// Unbiased U-statistic `KSD²_U` (may be slightly negative).
    pub u_statistic: f64,
    /// V-statistic `KSD²_V ≥ 0`.
    pub v_statistic: f64,
}

/// Result of [`ksd_test`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct KsdTestResult {
    /// The U-statistic `KSD²_U`.
    pub statistic: f64,
    /// The `(1 − α)` quantile of the bootstrap replicates; reject at level
    /// `α` when `statistic > threshold`.
    pub threshold: f64,
    /// Bootstrap p-value `(1 + #{b : B_b ≥ KSD²_U}) / (B + 1)`.
    pub p_value: f64,
}

fn check_inputs(samples: &[f64], scores: &[f64], d: usize) -> Result<usize> {
    let n = check_points("samples", samples, d)?;
    let m = check_points("scores", scores, d)?;
    if n != m {
        return Err(invalid(
            "scores",
            format!("need one score per sample: {n} samples but {m} scores (d = {d})"),
        ));
    }
    if n < 2 {
        return Err(invalid("samples", "need at least 2 samples"));
    }
    Ok(n)
}

/// Kernel Stein discrepancy KSD² of `n` draws in `ℝ^d` (flat row-major
/// `samples`, `n × d`) given the target score at each draw (flat row-major
/// `scores`, `n × d`), as U- and V-statistics (formulas in the
/// [module docs](self)).
///
/// # Errors
/// `d = 0`, lengths not equal multiples of `d`, fewer than 2 draws or
/// non-finite values.
///
/// ```
/// use langevin::diagnostics::{ImqKernel, ksd};
/// // N(0, 1) target: s(x) = −x. Draws from N(2, 1) are far off.
/// let good: Vec<f64> = (1..200).map(|i| statrs_like_quantile(i as f64 / 200.0)).collect();
/// let bad: Vec<f64> = good.iter().map(|v| v + 2.0).collect();
/// let score = |x: &[f64]| x.iter().map(|v| -v).collect::<Vec<_>>();
/// let k = ImqKernel::default();
/// let g = ksd(&good, &score(&good), 1, &k).unwrap();
/// let b = ksd(&bad, &score(&bad), 1, &k).unwrap();
/// assert!(g.u_statistic < 0.01 && b.u_statistic > 0.1);
/// # fn statrs_like_quantile(p: f64) -> f64 {
/// #     langevin::diagnostics::inverse_normal_cdf(p).unwrap()
/// # }
/// ```
pub fn ksd(samples: &[f64], scores: &[f64], d: usize, kernel: &ImqKernel) -> Result<KsdEstimate> {
    let n = check_inputs(samples, scores, d)?;
    let (mut off, mut diag) = (0.0, 0.0);
    for i in 0..n {
        let (xi, si) = (&samples[i * d..(i + 1) * d], &scores[i * d..(i + 1) * d]);
        diag += kernel.k0(xi, xi, si, si);
        for j in (i + 1)..n {
            let (xj, sj) = (&samples[j * d..(j + 1) * d], &scores[j * d..(j + 1) * d]);
            off += 2.0 * kernel.k0(xi, xj, si, sj);
        }
    }
    let nf = n as f64;
    Ok(KsdEstimate {
        u_statistic: finite("KSD", off / (nf * (nf - 1.0)))?,
        v_statistic: finite("KSD", (off + diag) / (nf * nf))?,
    })
}

/// Wild-bootstrap KSD goodness-of-fit test (Liu, Lee & Jordan 2016;
/// Chwialkowski, Strathmann & Gretton 2016) of `H₀: draws ~ p`, for IID
/// draws. The statistic is `KSD²_U` (see [`ksd`]); under `H₀` it is a
/// degenerate U-statistic whose null law is approximated with i.i.d.
/// Rademacher weights `ε_i = ±1`:
///
/// ```text
/// B_b = 1/(n(n−1)) Σ_{i≠j} ε_i ε_j k₀(x_i, x_j),     b = 1 … B
/// threshold = (1 − α)-quantile of {B_b}   (type-7)
/// p = (1 + #{b : B_b ≥ KSD²_U}) / (B + 1)
/// ```
///
/// For correlated draws (a single MCMC chain) thin first, e.g. with
/// [`thin_by_ess`](super::thin_by_ess), or the test over-rejects.
/// Cost `O(n² d + B n²)` time, `O(n²)` memory.
///
/// # Errors
/// As [`ksd`], plus `bootstrap = 0` or `alpha` outside `(0, 1)`.
///
/// ```
/// use langevin::diagnostics::{ImqKernel, ksd_test};
/// use rand::SeedableRng;
/// let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(3);
/// let x: Vec<f64> = (1..200)
///     .map(|i| langevin::diagnostics::inverse_normal_cdf(i as f64 / 200.0).unwrap() + 1.0)
///     .collect();
/// let s: Vec<f64> = x.iter().map(|v| -v).collect(); // N(0,1) score
/// let r = ksd_test(&x, &s, 1, &ImqKernel::default(), 200, 0.05, &mut rng).unwrap();
/// assert!(r.statistic > r.threshold && r.p_value < 0.01);
/// ```
pub fn ksd_test<R: Rng + ?Sized>(
    samples: &[f64],
    scores: &[f64],
    d: usize,
    kernel: &ImqKernel,
    bootstrap: usize,
    alpha: f64,
    rng: &mut R,
) -> Result<KsdTestResult> {
    let n = check_inputs(samples, scores, d)?;
    if bootstrap == 0 {
        return Err(invalid("bootstrap", "need at least 1 bootstrap replicate"));
    }
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(invalid("alpha", format!("must lie in (0, 1), got {alpha}")));
    }
    // Strict upper triangle packed row after row in one buffer: row i holds k₀(x_i, x_j)
    // for j > i (n − 1 − i entries).
    let mut tri: Vec<f64> = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        let (xi, si) = (&samples[i * d..(i + 1) * d], &scores[i * d..(i + 1) * d]);
        tri.extend(((i + 1)..n).map(|j| {
            let (xj, sj) = (&samples[j * d..(j + 1) * d], &scores[j * d..(j + 1) * d]);
            kernel.k0(xi, xj, si, sj)
        }));
    }
    let off = 2.0 * tri.iter().sum::<f64>();
    let nf = n as f64;
    let norm = nf * (nf - 1.0);
    let stat = finite("KSD", off / norm)?;
    let mut eps = vec![0.0; n];
    let mut reps = Vec::with_capacity(bootstrap);
    let mut exceed = 0usize;
    for _ in 0..bootstrap {
        let mut bits = 0u64;
        for (i, e) in eps.iter_mut().enumerate() {
            if i.is_multiple_of(64) {
                bits = rng.next_u64();
            }
            *e = if bits & 1 == 1 { 1.0 } else { -1.0 };
            bits >>= 1;
        }
        let mut acc = 0.0;
        let mut rest = tri.as_slice();
        for i in 0..n {
            let (row, tail) = rest.split_at(n - 1 - i);
            rest = tail;
            let inner: f64 = row.iter().zip(&eps[i + 1..]).map(|(h, e)| h * e).sum();
            acc += eps[i] * inner;
        }
        let b = 2.0 * acc / norm;
        if b >= stat {
            exceed += 1;
        }
        reps.push(b);
    }
    reps.sort_by(f64::total_cmp);
    Ok(KsdTestResult {
        statistic: stat,
        threshold: quantile_sorted_numpy(&reps, 1.0 - alpha),
        p_value: (1 + exceed) as f64 / (bootstrap + 1) as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Catches: sign or factor errors in any of the four terms of k₀
    /// (e.g. a wrong −4β(β−1) or 2βd coefficient) by rebuilding k₀ from the
    /// base kernel with central finite differences. Deterministic.
    #[test]
    fn stein_kernel_matches_finite_differences() {
        let kernels = [
            ImqKernel::default(),
            ImqKernel::new(0.7, -0.3).unwrap(),
            ImqKernel::new(2.0, -0.9).unwrap(),
        ];
        let x = [0.3, -1.2, 0.8];
        let y = [-0.5, 0.4, 1.1];
        let sx = [1.5, -0.2, 0.7];
        let sy = [-0.9, 0.6, -1.3];
        let h = 1e-4;
        for k in kernels {
            let f = |a: &[f64], b: &[f64]| k.eval(a, b).unwrap();
            let d = x.len();
            let bump = |v: &[f64], i: usize, e: f64| {
                let mut w = v.to_vec();
                w[i] += e;
                w
            };
            let mut gx = vec![0.0; d];
            let mut gy = vec![0.0; d];
            let mut tr = 0.0;
            for i in 0..d {
                gx[i] = (f(&bump(&x, i, h), &y) - f(&bump(&x, i, -h), &y)) / (2.0 * h);
                gy[i] = (f(&x, &bump(&y, i, h)) - f(&x, &bump(&y, i, -h))) / (2.0 * h);
                let (xp, xm, yp, ym) = (
                    bump(&x, i, h),
                    bump(&x, i, -h),
                    bump(&y, i, h),
                    bump(&y, i, -h),
                );
                tr += (f(&xp, &yp) - f(&xp, &ym) - f(&xm, &yp) + f(&xm, &ym)) / (4.0 * h * h);
            }
            let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
            let fd = tr + dot(&gx, &sy) + dot(&gy, &sx) + f(&x, &y) * dot(&sx, &sy);
            let an = k.stein_kernel(&x, &y, &sx, &sy).unwrap();
            assert!(
                (fd - an).abs() < 1e-6 * an.abs().max(1.0),
                "{k:?}: fd {fd} vs {an}"
            );
        }
    }

    /// Catches: inconsistent U/V normalisation (V = (n−1)/n·U + mean diag / n).
    #[test]
    fn u_and_v_consistent() {
        let x = [0.1, -0.4, 1.3, 0.7, -2.0, 0.05];
        let s: Vec<f64> = x.iter().map(|v| -v * 1.1).collect();
        let k = ImqKernel::default();
        let e = ksd(&x, &s, 2, &k).unwrap();
        let n = 3.0;
        let mut diag = 0.0;
        for i in 0..3 {
            let (xi, si) = (&x[2 * i..2 * i + 2], &s[2 * i..2 * i + 2]);
            diag += k.stein_kernel(xi, xi, si, si).unwrap();
        }
        let v = (n - 1.0) / n * e.u_statistic + diag / (n * n);
        assert!((v - e.v_statistic).abs() < 1e-14);
        assert!(ksd(&x, &s[..4], 2, &k).is_err());
        assert!(ksd(&x[..2], &s[..2], 2, &k).is_err());
        assert!(ImqKernel::new(f64::NAN, -0.5).is_err());
    }
}
