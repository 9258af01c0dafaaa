//! Stein methods that improve a set of draws using only the target's [`Score`]:
//! zero-variance control variates ([`zv_control_variates`]) and KSD-greedy Stein thinning
//! ([`stein_thinning`]).

use super::ImqKernel;
use crate::density::Score;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::{Error, Real, Result};
use nalgebra::{DMatrix, DVector};

/// The polynomial degree of the zero-variance control variates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CvOrder {
    /// `P(x) = aᵀx`: the `d` control variates `s_i(x)`.
    First,
    /// `P(x) = aᵀx + xᵀBx`: additionally the `d(d+1)/2` control variates
    /// `x_j s_i(x) + x_i s_j(x) + 2δ_ij`.
    Second,
}

/// A control-variate estimate of `E_p[f]` beside the plain Monte Carlo mean.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CvEstimate {
    /// The control-variate estimate (the intercept of the least-squares fit).
    pub value: f64,
    /// Its standard error for independent draws: the residual standard deviation (with
    /// `n − k − 1` degrees of freedom) over `√n`.
    pub se: f64,
    /// The plain mean of `f` over the draws.
    pub plain: f64,
    /// The plain mean's standard error for independent draws, `sd(f)/√n`.
    pub plain_se: f64,
    /// The fitted coefficients θ of the `k` control variates.
    pub coefficients: Vec<f64>,
}

/// Zero-variance control variates (Mira, Solgi & Imparato 2013; Assaraf & Caffarel 1999):
/// a variance-reduced estimate of `E_p[f]` from draws `x_1 … x_n` and the score
/// `s = ∇log p` only (no normalising constant).
///
/// # Rule
/// For a polynomial `P`, the Langevin–Stein operator gives a function with mean zero under
/// `p` (for `p` with tails such that the boundary terms vanish):
/// ```text
/// ψ_P(x) = ΔP(x) + ∇P(x) · s(x),          E_p ψ_P = 0
/// ```
/// First order (`P = x_i`): `ψ = s_i`. Second order adds (`P = x_i x_j`, `i ≤ j`)
/// `ψ = x_j s_i + x_i s_j + 2δ_ij`. The estimate is the intercept `c` of the least-squares fit
/// `f(x_n) ≈ c + θᵀψ(x_n)` (equivalently `mean(f) − θ̂ᵀ mean(ψ)` with the OLS `θ̂`), solved by
/// SVD of the centred design.
///
/// # Bias and exactness
/// With `θ` estimated from the same draws the estimator has an `O(1/n)` bias; it is exact when
/// `f` lies in the span of `1` and the `ψ`: on a Gaussian `N(m, Σ)`, `x = m − Σ s(x)`, so the
/// first-order estimate of `E[x_i]` returns `m_i` to rounding from *any* draws (even biased
/// ones, e.g. ULA's), and the second-order one returns `E[x_i x_j]` exactly. The standard error
/// assumes independent draws; for MCMC draws inflate it by `√(n / ESS)` of the residuals.
///
/// # Example
/// ```
/// use langevin::diagnostics::{CvOrder, zv_control_variates};
/// use langevin::targets::Gaussian;
/// let p = Gaussian::<f64>::diagonal(vec![1.0, -2.0], vec![0.5, 2.0])?;
/// // Any points at all — here a crude grid, nowhere near distributed as p.
/// let draws: Vec<Vec<f64>> = (0..50).map(|i| vec![(i % 7) as f64, (i % 5) as f64 * 0.3]).collect();
/// let cv = zv_control_variates(&p, &draws, |x| x[1], CvOrder::First)?;
/// assert!((cv.value + 2.0).abs() < 1e-10);
/// assert!((cv.plain + 2.0).abs() > 1.0);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # Errors
/// [`Error::DimensionMismatch`] for a draw of the wrong length; [`Error::NonFiniteInput`]
/// for a non-finite draw, score or value of `f`; [`Error::InvalidConfig`] with fewer than
/// `k + 2` draws (`k = d` or `d + d(d+1)/2` control variates).
///
/// # References
/// * A. Mira, R. Solgi, D. Imparato (2013), Zero variance Markov chain Monte Carlo for
///   Bayesian estimators, *Statistics and Computing* 23:653–662.
/// * R. Assaraf, M. Caffarel (1999), Zero-variance principle for Monte Carlo algorithms,
///   *Phys. Rev. Lett.* 83:4682.
/// * C. J. Oates, M. Girolami, N. Chopin (2017), Control functionals for Monte Carlo
///   integration, *J. R. Stat. Soc. B* 79(3):695–718.
pub fn zv_control_variates<P, X, F>(
    target: &P,
    draws: &[X],
    f: F,
    order: CvOrder,
) -> Result<CvEstimate>
where
    P: Score,
    X: AsRef<[P::Scalar]>,
    F: Fn(&[P::Scalar]) -> f64,
{
    let d = target.dim();
    let n = draws.len();
    let k = match order {
        CvOrder::First => d,
        CvOrder::Second => d + d * (d + 1) / 2,
    };
    if n < k + 2 {
        return Err(Error::InvalidConfig {
            reason: format!(
                "{n} draws for {k} control variates: pass at least k + 2 = {} draws (better \
                 many more), or use CvOrder::First",
                k + 2
            ),
        });
    }
    let mut z = DMatrix::<f64>::zeros(n, k);
    let mut y = DVector::<f64>::zeros(n);
    let mut g = vec![P::Scalar::zero(); d];
    for (r, x) in draws.iter().enumerate() {
        let x = x.as_ref();
        crate::error::check_len("draw", d, x.len())?;
        crate::error::check_finite("draw", x)?;
        target.score_into(x, &mut g);
        crate::error::check_finite("score at a draw", &g)?;
        let fx = f(x);
        if !fx.is_finite() {
            return Err(Error::NonFiniteInput {
                what: "f at a draw",
                index: r,
            });
        }
        y[r] = fx;
        for i in 0..d {
            z[(r, i)] = g[i].to_f64();
        }
        if order == CvOrder::Second {
            let mut c = d;
            for i in 0..d {
                for j in i..d {
                    let (xi, xj) = (x[i].to_f64(), x[j].to_f64());
                    let (si, sj) = (g[i].to_f64(), g[j].to_f64());
                    z[(r, c)] = xj * si + xi * sj + if i == j { 2.0 } else { 0.0 };
                    c += 1;
                }
            }
        }
    }
    let nf = n as f64;
    let y_mean = y.mean();
    let z_mean: Vec<f64> = (0..k).map(|j| z.column(j).mean()).collect();
    let mut zc = z.clone();
    for j in 0..k {
        for r in 0..n {
            zc[(r, j)] -= z_mean[j];
        }
    }
    let yc = y.add_scalar(-y_mean);
    let svd = zc.clone().svd(true, true);
    let tol = 1e-12 * svd.singular_values.max().max(f64::MIN_POSITIVE);
    let theta = svd.solve(&yc, tol).map_err(|e| Error::InvalidConfig {
        reason: format!("control-variate least squares failed: {e}"),
    })?;
    let value = y_mean - theta.iter().zip(&z_mean).map(|(t, m)| t * m).sum::<f64>();
    let resid = &yc - &zc * &theta;
    let rss = resid.norm_squared();
    let plain_var = yc.norm_squared() / (nf - 1.0);
    Ok(CvEstimate {
        value,
        se: (rss / (nf - k as f64 - 1.0) / nf).sqrt(),
        plain: y_mean,
        plain_se: (plain_var / nf).sqrt(),
        coefficients: theta.iter().copied().collect(),
    })
}

/// The result of [`stein_thinning`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SteinThinning {
    /// The selected indices into the draws, in the order chosen (an index may repeat).
    pub indices: Vec<usize>,
    /// `ksd[j]`: the V-statistic KSD `sqrt((1/(j+1)²) Σ_{a,b ≤ j} k₀(x_a, x_b))` of the first
    /// `j + 1` selected points.
    pub ksd: Vec<f64>,
}

/// Stein thinning (Riabiz et al. 2022): selects `m` of the draws, greedily minimising the
/// kernel Stein discrepancy of the selected set against the target, with the crate's IMQ
/// Langevin–Stein kernel `k₀` ([`ImqKernel::stein_kernel`]).
///
/// # Rule
/// ```text
/// π_j = argmin_i  [ k₀(x_i, x_i)/2 + Σ_{l<j} k₀(x_{π_l}, x_i) ]
/// ```
/// i.e. the point whose addition minimises the V-statistic KSD² of `{x_{π_1}, …, x_{π_j}}`.
/// Points may be selected more than once. Cost `O(n m d)` kernel evaluations, memory `O(n)`.
///
/// # Bias and guarantees
/// Thinning corrects bias, not only autocorrelation: the selected points concentrate where
/// the target's score says mass is, even from a biased or unconverged chain (Riabiz et al.
/// 2022 prove KSD convergence of the thinned set under conditions on the chain). The KSD of
/// the greedy set typically decreases with `m` but is not guaranteed to at every step;
/// [`SteinThinning::ksd`] reports it. Scale the draws (or choose the kernel's `c`) so the IMQ
/// length scale matches the target; the default `c = 1` suits unit-scale coordinates.
///
/// # Example
/// ```
/// use langevin::diagnostics::{ImqKernel, stein_thinning};
/// use langevin::targets::Gaussian;
/// let p = Gaussian::<f64>::standard(1)?;
/// // Points on a grid over [−4, 4]: thinning keeps the ones that look like N(0, 1).
/// let grid: Vec<Vec<f64>> = (0..81).map(|i| vec![-4.0 + 0.1 * i as f64]).collect();
/// let t = stein_thinning(&p, &grid, 10, &ImqKernel::default())?;
/// assert_eq!(t.indices.len(), 10);
/// let first = grid[t.indices[0]][0];
/// assert!(first.abs() < 0.8);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # Errors
/// [`Error::ZeroCount`] for `m = 0` or no draws; [`Error::DimensionMismatch`] for a draw of
/// the wrong length; [`Error::NonFiniteInput`] for a non-finite draw or score.
///
/// # References
/// * M. Riabiz, W. Y. Chen, J. Cockayne, P. Swietach, S. A. Niederer, L. Mackey, C. J. Oates
///   (2022), Optimal thinning of MCMC output, *J. R. Stat. Soc. B* 84(4):1059–1081.
/// * J. Gorham, L. Mackey (2017), Measuring sample quality with kernels, *ICML*.
pub fn stein_thinning<P, X>(
    target: &P,
    draws: &[X],
    m: usize,
    kernel: &ImqKernel,
) -> Result<SteinThinning>
where
    P: Score,
    X: AsRef<[P::Scalar]>,
{
    if m == 0 {
        return Err(Error::ZeroCount {
            what: "points to keep in Stein thinning",
        });
    }
    let n = draws.len();
    if n == 0 {
        return Err(Error::ZeroCount {
            what: "draws to thin",
        });
    }
    let d = target.dim();
    let mut xs = Vec::with_capacity(n * d);
    let mut ss = Vec::with_capacity(n * d);
    let mut g = vec![P::Scalar::zero(); d];
    for x in draws {
        let x = x.as_ref();
        crate::error::check_len("draw", d, x.len())?;
        crate::error::check_finite("draw", x)?;
        target.score_into(x, &mut g);
        crate::error::check_finite("score at a draw", &g)?;
        xs.extend(x.iter().map(|v| v.to_f64()));
        ss.extend(g.iter().map(|v| v.to_f64()));
    }
    let pt = |i: usize| (&xs[i * d..(i + 1) * d], &ss[i * d..(i + 1) * d]);
    let diag: Vec<f64> = (0..n)
        .map(|i| {
            let (x, s) = pt(i);
            kernel.k0(x, x, s, s)
        })
        .collect();
    // acc[i] = Σ_{l<j} k₀(x_{π_l}, x_i)
    let mut acc = vec![0.0f64; n];
    let mut total = 0.0f64; // Σ_{a,b} k₀ over the selected set
    let mut indices = Vec::with_capacity(m);
    let mut ksd = Vec::with_capacity(m);
    for j in 0..m {
        let mut best = 0;
        let mut best_v = f64::INFINITY;
        for i in 0..n {
            let v = 0.5 * diag[i] + acc[i];
            if v < best_v {
                best_v = v;
                best = i;
            }
        }
        total += diag[best] + 2.0 * acc[best];
        indices.push(best);
        let jf = (j + 1) as f64;
        ksd.push((total.max(0.0)).sqrt() / jf);
        let (xb, sb) = pt(best);
        for (i, a) in acc.iter_mut().enumerate() {
            let (x, s) = pt(i);
            *a += kernel.k0(xb, x, sb, s);
        }
    }
    Ok(SteinThinning { indices, ksd })
}
