//! Noise- and time-conditional scores with exact implementations: Gaussians, Gaussian
//! mixtures and the empirical (kernel-smoothed) score of a data set, plus their marginals
//! under a forward SDE.

use super::sde::ForwardSde;
use crate::density::{NoiseConditionalLogDensity, NoiseConditionalScore, Target};
use crate::error::{check_finite, check_len};
use crate::real::StreamingLogSumExp;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::targets::{Analytic, Gaussian, GaussianMixture};
use crate::{Error, Real, Result};
use nalgebra::{DMatrix, DMatrixView, DMatrixViewMut};

/// A law whose Gaussian smoothings `law(α X + τ Z)`, `X ~ p`, `Z ~ N(0, I)`, have an exact log
/// density and score — the one primitive behind every exact noise-conditional and
/// time-conditional score in this module:
///
/// ```text
/// (α, τ²) = (1, σ²)              NCSN noise level σ  (p_σ = p ∗ N(0, σ² I))
/// (α, τ²) = (α_t, σ_t²)          marginal at time t of a linear forward SDE (VE, VP, sub-VP)
/// ```
///
/// Implemented by [`GaussianMixture`], [`SmoothedGaussian`] and [`EmpiricalScore`].
pub trait SmoothedLaw: Target {
    /// Writes `∇ log p_{α,τ}(x)` into `out` and returns `log p_{α,τ}(x)` (normalised). Must not
    /// allocate. Returns NaN (and a NaN score) for a non-finite `x` or if the smoothed law is
    /// degenerate (`τ² = 0` for a data set).
    fn smoothed_log_density_and_score(
        &self,
        x: &[Self::Scalar],
        alpha: Self::Scalar,
        tau2: Self::Scalar,
        out: &mut [Self::Scalar],
    ) -> Self::Scalar;

    /// The score for many points at once: `xs` and `out` are row-major `m × d`. `work` is
    /// scratch the implementation may grow (reuse it across calls so that steady-state calls
    /// allocate nothing). The default loops over the rows.
    fn smoothed_score_batch(
        &self,
        xs: &[Self::Scalar],
        alpha: Self::Scalar,
        tau2: Self::Scalar,
        out: &mut [Self::Scalar],
        work: &mut Vec<Self::Scalar>,
    ) {
        let _ = work;
        let d = self.dim();
        for (x, o) in xs.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
            let _ = self.smoothed_log_density_and_score(x, alpha, tau2, o);
        }
    }
}

impl<T: Real> SmoothedLaw for GaussianMixture<T> {
    fn smoothed_log_density_and_score(&self, x: &[T], alpha: T, tau2: T, out: &mut [T]) -> T {
        self.log_density_and_score_smoothed(x, alpha, tau2, out)
    }
    fn smoothed_score_batch(&self, xs: &[T], alpha: T, tau2: T, out: &mut [T], work: &mut Vec<T>) {
        let _ = work;
        let d = self.dim();
        for (x, o) in xs.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
            self.score_smoothed(x, alpha, tau2, o);
        }
    }
}

/// A noise-conditional score `s(x, σ)` evaluated for many particles at once — what the
/// annealed samplers call. The default loops over
/// [`NoiseConditionalScore::score_sigma_into`]; [`EmpiricalScore`] overrides it with matrix
/// products. A user's own score opts in with an empty `impl NoiseScoreBatch for MyScore {}`.
pub trait NoiseScoreBatch: NoiseConditionalScore {
    /// Writes `s(x_i, σ)` for every row `x_i` of the row-major `m × d` array `xs` into `out`.
    /// `work` is scratch the implementation may grow.
    fn score_sigma_batch_into(
        &self,
        xs: &[Self::Scalar],
        sigma: Self::Scalar,
        out: &mut [Self::Scalar],
        work: &mut Vec<Self::Scalar>,
    ) {
        let _ = work;
        let d = self.dim();
        for (x, o) in xs.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
            self.score_sigma_into(x, sigma, o);
        }
    }
}

impl<T: Real> NoiseScoreBatch for GaussianMixture<T> {}

/// A time-conditional score `s(x, t) = ∇ₓ log p_t(x)` of the marginals `p_t` of a forward
/// diffusion — what the reverse-time samplers ([`super::ReverseSampler`],
/// [`super::ProbabilityFlow`], [`super::Ddim`]) need. A trained score network implements
/// this trait; [`Marginal`] implements it exactly for mixtures, Gaussians and data sets.
pub trait TimeConditionalScore: Target {
    /// Writes `∇ₓ log p_t(x)` into `out` (length d). Must not allocate.
    fn score_t_into(&self, x: &[Self::Scalar], t: Self::Scalar, out: &mut [Self::Scalar]);

    /// The score for every row of the row-major `m × d` array `xs`; `work` is scratch the
    /// implementation may grow. The default loops over [`TimeConditionalScore::score_t_into`].
    fn score_t_batch_into(
        &self,
        xs: &[Self::Scalar],
        t: Self::Scalar,
        out: &mut [Self::Scalar],
        work: &mut Vec<Self::Scalar>,
    ) {
        let _ = work;
        let d = self.dim();
        for (x, o) in xs.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
            self.score_t_into(x, t, o);
        }
    }
}

// Pointer forwarding: a score shared by reference, in a `Box` or in an `Arc` (a trained model
// shared across threads) keeps its batched and smoothed evaluations, not only the per-point
// defaults — the same rule as `density`'s forwarding of `Target`, `Score` and the
// noise-conditional traits.
macro_rules! forward_batched {
    ($($ptr:ty),*) => {$(
        impl<P: SmoothedLaw + ?Sized> SmoothedLaw for $ptr {
            fn smoothed_log_density_and_score(
                &self,
                x: &[Self::Scalar],
                alpha: Self::Scalar,
                tau2: Self::Scalar,
                out: &mut [Self::Scalar],
            ) -> Self::Scalar {
                (**self).smoothed_log_density_and_score(x, alpha, tau2, out)
            }
            fn smoothed_score_batch(
                &self,
                xs: &[Self::Scalar],
                alpha: Self::Scalar,
                tau2: Self::Scalar,
                out: &mut [Self::Scalar],
                work: &mut Vec<Self::Scalar>,
            ) {
                (**self).smoothed_score_batch(xs, alpha, tau2, out, work)
            }
        }
        impl<P: NoiseScoreBatch + ?Sized> NoiseScoreBatch for $ptr {
            fn score_sigma_batch_into(
                &self,
                xs: &[Self::Scalar],
                sigma: Self::Scalar,
                out: &mut [Self::Scalar],
                work: &mut Vec<Self::Scalar>,
            ) {
                (**self).score_sigma_batch_into(xs, sigma, out, work)
            }
        }
        impl<P: TimeConditionalScore + ?Sized> TimeConditionalScore for $ptr {
            fn score_t_into(&self, x: &[Self::Scalar], t: Self::Scalar, out: &mut [Self::Scalar]) {
                (**self).score_t_into(x, t, out)
            }
            fn score_t_batch_into(
                &self,
                xs: &[Self::Scalar],
                t: Self::Scalar,
                out: &mut [Self::Scalar],
                work: &mut Vec<Self::Scalar>,
            ) {
                (**self).score_t_batch_into(xs, t, out, work)
            }
        }
    )*};
}
forward_batched!(&P, Box<P>, std::sync::Arc<P>);

/// The exact marginals `p_t = law(α_t X₀ + σ_t Z)` of a linear forward SDE started from a law
/// with exact smoothings ([`SmoothedLaw`]): its score is a [`TimeConditionalScore`].
///
/// ```text
/// s(x, t) = ∇ log p_{α_t, σ_t}(x),     (α_t, σ_t) = (sde.mean_coef(t), sde.marginal_std(t))
/// ```
///
/// For a Gaussian mixture under the VP-SDE, components become `N(α_t μ_k, α_t² S_k + (1 − α_t²) I)`;
/// under the VE-SDE `N(μ_k, S_k + σ_t² I)`; under sub-VP `N(α_t μ_k, α_t² S_k + (1 − α_t²)² I)`.
///
/// ```
/// use langevin::annealed::{Marginal, TimeConditionalScore, Vp};
/// use langevin::targets::GaussianMixture;
/// let gmm = GaussianMixture::<f64>::new(vec![1.0], vec![vec![2.0]], vec![0.25])?;
/// let sde = Vp::<f64>::linear(1, 0.1, 20.0)?;
/// let m = Marginal::new(&gmm, sde)?;
/// let mut s = [0.0];
/// m.score_t_into(&[0.0], 1.0, &mut s);          // p_1 ≈ N(0.0131, 1.0): s ≈ 0.0131
/// assert!((s[0] - 0.01314).abs() < 1e-4);
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Marginal<P, S> {
    law: P,
    sde: S,
}

impl<P: SmoothedLaw, S: ForwardSde<Scalar = P::Scalar>> Marginal<P, S> {
    /// The marginals of `sde` started from `law`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if the dimensions differ.
    pub fn new(law: P, sde: S) -> Result<Self> {
        check_len("forward SDE dimension", law.dim(), sde.dim())?;
        Ok(Self { law, sde })
    }
    /// The data law.
    pub fn law(&self) -> &P {
        &self.law
    }
    /// The forward SDE.
    pub fn sde(&self) -> &S {
        &self.sde
    }
    /// Log density and score of `p_t` at `x` (score into `out`).
    pub fn log_density_and_score_t(
        &self,
        x: &[P::Scalar],
        t: P::Scalar,
        out: &mut [P::Scalar],
    ) -> P::Scalar {
        let (a, tau2) = self.smoothing(t);
        self.law.smoothed_log_density_and_score(x, a, tau2, out)
    }
    /// `(α_t, σ_t²)`: the smoothing of the data law that gives `p_t`.
    fn smoothing(&self, t: P::Scalar) -> (P::Scalar, P::Scalar) {
        let tf = t.to_f64();
        let s = self.sde.marginal_std(tf);
        (P::Scalar::c(self.sde.mean_coef(tf)), P::Scalar::c(s * s))
    }
}

impl<P: SmoothedLaw, S: ForwardSde<Scalar = P::Scalar>> Target for Marginal<P, S> {
    type Scalar = P::Scalar;
    fn dim(&self) -> usize {
        self.law.dim()
    }
}

impl<P: SmoothedLaw, S: ForwardSde<Scalar = P::Scalar>> TimeConditionalScore for Marginal<P, S> {
    fn score_t_into(&self, x: &[P::Scalar], t: P::Scalar, out: &mut [P::Scalar]) {
        let _ = self.log_density_and_score_t(x, t, out);
    }
    fn score_t_batch_into(
        &self,
        xs: &[P::Scalar],
        t: P::Scalar,
        out: &mut [P::Scalar],
        work: &mut Vec<P::Scalar>,
    ) {
        let (a, tau2) = self.smoothing(t);
        self.law.smoothed_score_batch(xs, a, tau2, out, work)
    }
}

/// A Gaussian `N(m, Σ)` with exact scores of all its smoothings `law(α X + τ Z) = N(α m,
/// α² Σ + τ² I)`, through an eigendecomposition `Σ = Q Λ Qᵀ` computed once:
///
/// ```text
/// c_k = q_kᵀ (x − α m),     v_k = α² λ_k + τ²
/// ∇log p(x)  = −Σ_k q_k c_k / v_k
/// log p(x)   = −½ Σ_k (c_k² / v_k + ln v_k) − (d/2) ln 2π
/// ```
///
/// One evaluation costs O(d²) and allocates nothing, whatever (α, τ²): `(α² Σ + τ² I)⁻¹` is
/// never formed. Implements [`NoiseConditionalScore`], [`NoiseConditionalLogDensity`],
/// [`NoiseScoreBatch`] and [`SmoothedLaw`] (hence [`Marginal`]).
///
/// ```
/// use langevin::annealed::SmoothedGaussian;
/// use langevin::prelude::*;
/// use langevin::targets::Gaussian;
/// let g = SmoothedGaussian::new(&Gaussian::<f64>::full(vec![0.0, 0.0], &[2.0, 0.5, 0.5, 1.0])?)?;
/// let mut s = [0.0; 2];
/// g.score_sigma_into(&[1.0, 0.0], 1.0, &mut s);       // −(Σ + I)⁻¹ (1, 0)ᵀ
/// assert!((s[0] + 2.0 / 5.75).abs() < 1e-12 && (s[1] - 0.5 / 5.75).abs() < 1e-12);
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SmoothedGaussian<T> {
    mean: Vec<T>,
    /// Eigenvectors as rows (row k = q_k), row-major d × d.
    pub(super) q: Vec<T>,
    pub(super) lambda: Vec<T>,
    /// q_kᵀ m.
    qm: Vec<T>,
}

impl<T: Real> SmoothedGaussian<T> {
    /// Builds the eigendecomposition of the covariance of `g`.
    ///
    /// # Errors
    /// [`Error::NotPositiveDefinite`] if an eigenvalue is not positive (cannot happen for a
    /// validated [`Gaussian`] up to rounding).
    pub fn new(g: &Gaussian<T>) -> Result<Self> {
        let d = g.dim();
        let cov = DMatrix::<f64>::from_row_slice(d, d, &g.exact_covariance());
        let eig = nalgebra::SymmetricEigen::new(cov);
        if eig.eigenvalues.iter().any(|&l| !(l.is_finite() && l > 0.0)) {
            return Err(Error::NotPositiveDefinite { what: "covariance" });
        }
        let mut q = vec![T::zero(); d * d];
        for k in 0..d {
            for i in 0..d {
                q[k * d + i] = T::c(eig.eigenvectors[(i, k)]);
            }
        }
        let mean = g.mean().to_vec();
        let qm = (0..d)
            .map(|k| crate::real::dot8(&q[k * d..(k + 1) * d], &mean))
            .collect();
        Ok(Self {
            mean,
            q,
            lambda: eig.eigenvalues.iter().map(|&l| T::c(l)).collect(),
            qm,
        })
    }
    /// The mean m.
    pub fn mean(&self) -> &[T] {
        &self.mean
    }
    /// The eigenvalues λ_k of Σ.
    pub fn eigenvalues(&self) -> &[T] {
        &self.lambda
    }
}

impl<T: Real> Target for SmoothedGaussian<T> {
    type Scalar = T;
    fn dim(&self) -> usize {
        self.mean.len()
    }
}

impl<T: Real> SmoothedGaussian<T> {
    /// `log p_{α,τ}(x)` in the eigen-basis; also writes the score into `out` if given.
    fn smoothed(&self, x: &[T], alpha: T, tau2: T, mut out: Option<&mut [T]>) -> T {
        let d = self.mean.len();
        if let Some(o) = out.as_deref_mut() {
            o.iter_mut().for_each(|o| *o = T::zero());
        }
        let mut quad = T::zero();
        let mut ln_det = T::zero();
        for k in 0..d {
            let qk = &self.q[k * d..(k + 1) * d];
            let c = crate::real::dot8(qk, x) - alpha * self.qm[k];
            let v = alpha * alpha * self.lambda[k] + tau2;
            let w = c / v;
            quad += c * w;
            ln_det += v.ln();
            if let Some(o) = out.as_deref_mut() {
                for (o, &qi) in o.iter_mut().zip(qk) {
                    *o -= qi * w;
                }
            }
        }
        -T::c(0.5) * (quad + ln_det) - T::c(0.5 * d as f64 * super::ln_2pi())
    }
}

/// The NCSN noise level σ of a [`SmoothedLaw`] is the smoothing `(α, τ²) = (1, σ²)`: this
/// writes the [`NoiseConditionalScore`] (with its fused hook) and
/// [`NoiseConditionalLogDensity`] impls of a type with an inherent
/// `smoothed(x, α, τ², None) -> log p` in those terms.
macro_rules! noise_conditional_via_smoothing {
    ($ty:ident) => {
        impl<T: Real> NoiseConditionalScore for $ty<T> {
            fn score_sigma_into(&self, x: &[T], sigma: T, out: &mut [T]) {
                let _ = self.smoothed_log_density_and_score(x, T::one(), sigma * sigma, out);
            }
            fn log_density_and_score_sigma(&self, x: &[T], sigma: T, out: &mut [T]) -> Option<T> {
                Some(self.smoothed_log_density_and_score(x, T::one(), sigma * sigma, out))
            }
        }

        impl<T: Real> NoiseConditionalLogDensity for $ty<T> {
            fn log_density_sigma(&self, x: &[T], sigma: T) -> T {
                self.smoothed(x, T::one(), sigma * sigma, None)
            }
        }
    };
}

impl<T: Real> SmoothedLaw for SmoothedGaussian<T> {
    fn smoothed_log_density_and_score(&self, x: &[T], alpha: T, tau2: T, out: &mut [T]) -> T {
        let lp = self.smoothed(x, alpha, tau2, Some(&mut *out));
        if lp.finite() {
            lp
        } else {
            for o in out.iter_mut() {
                *o = T::c(f64::NAN);
            }
            T::c(f64::NAN)
        }
    }
}

noise_conditional_via_smoothing!(SmoothedGaussian);

impl<T: Real> NoiseScoreBatch for SmoothedGaussian<T> {}

/// The **empirical score** of a data set `y_1, …, y_n ∈ ℝᵈ`: the exact score of the empirical
/// law smoothed by Gaussian noise — a kernel density estimate with bandwidth τ, the target of
/// explicit score matching (and the optimum of denoising score matching on that data set,
/// Vincent 2011):
///
/// ```text
/// p_{α,τ}(x) = (1/n) Σ_j N(x; α y_j, τ² I)
/// ∇log p(x)  = (α Σ_j w_j(x) y_j − x) / τ²,     w_j = softmax_j(−‖x − α y_j‖² / (2τ²))
/// ```
///
/// The weights are formed by log-sum-exp (no underflow far from the data). Two paths:
///
/// * one point ([`SmoothedLaw::smoothed_log_density_and_score`], [`NoiseConditionalScore`]):
///   a streaming log-sum-exp over the data, O(n d), allocation-free;
/// * many points ([`SmoothedLaw::smoothed_score_batch`], [`NoiseScoreBatch`]): two matrix
///   products (nalgebra GEMM) for m particles at once, using
///   `‖x − α y‖² = ‖x‖² − 2α x·y + α²‖y‖²` (the `‖x‖²` term cancels in the softmax):
///   `G = Yᵀ X` (n × m), column-wise softmax, then `S = Y W` (d × m).
///
/// **Memorisation.** As τ → 0 the smoothed law collapses onto the training points, and an
/// exact sampler of it reproduces them: the empirical score generalises nothing.
///
/// ```
/// use langevin::annealed::EmpiricalScore;
/// use langevin::prelude::*;
/// let data = EmpiricalScore::<f64>::new(vec![0.0, 0.0, 2.0, 0.0], 2)?;   // two points in ℝ²
/// let mut s = [0.0; 2];
/// data.score_sigma_into(&[1.0, 0.0], 0.5, &mut s);   // midway: the pulls cancel
/// assert!(s[0].abs() < 1e-12 && s[1].abs() < 1e-12);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * P. Vincent (2011), A connection between score matching and denoising autoencoders,
///   *Neural Computation* 23(7):1661–1674.
#[derive(Debug, Clone)]
pub struct EmpiricalScore<T: Real> {
    dim: usize,
    n: usize,
    /// d × n (column j = y_j).
    y: DMatrix<T>,
    /// n × d (row j = y_j), for the Gram product.
    yt: DMatrix<T>,
    sq: Vec<T>,
}

impl<T: Real> EmpiricalScore<T> {
    /// A data set given row-major (`data.len() = n · dim`).
    ///
    /// # Errors
    /// [`Error::ZeroDimension`], [`Error::ZeroCount`] for no data,
    /// [`Error::DimensionMismatch`] if `data.len()` is not a multiple of `dim`,
    /// [`Error::NonFiniteInput`] for a non-finite value.
    pub fn new(data: Vec<T>, dim: usize) -> Result<Self> {
        if dim == 0 {
            return Err(Error::ZeroDimension { what: "data set" });
        }
        if data.is_empty() {
            return Err(Error::ZeroCount {
                what: "data points",
            });
        }
        check_len(
            "data (row-major n × dim)",
            data.len().div_ceil(dim) * dim,
            data.len(),
        )?;
        check_finite("data", &data)?;
        let n = data.len() / dim;
        let y = DMatrix::from_column_slice(dim, n, &data);
        let yt = y.transpose();
        let sq = (0..n)
            .map(|j| crate::real::norm2_8(&data[j * dim..(j + 1) * dim]))
            .collect();
        Ok(Self { dim, n, y, yt, sq })
    }

    /// The number of data points n.
    pub fn len(&self) -> usize {
        self.n
    }
    /// Always `false` (a validated data set is non-empty).
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    /// Data point `j` (`None` if out of range).
    pub fn point(&self, j: usize) -> Option<&[T]> {
        if j < self.n {
            Some(&self.y.as_slice()[j * self.dim..(j + 1) * self.dim])
        } else {
            None
        }
    }
    /// The index of the data point nearest to `x` and its Euclidean distance.
    pub fn nearest(&self, x: &[T]) -> (usize, T) {
        let mut best = (0, T::infinity());
        for j in 0..self.n {
            let y = &self.y.as_slice()[j * self.dim..(j + 1) * self.dim];
            let mut s = T::zero();
            for (a, b) in x.iter().zip(y) {
                s += (*a - *b) * (*a - *b);
            }
            if s < best.1 {
                best = (j, s);
            }
        }
        (best.0, best.1.sqrt())
    }
}

impl<T: Real> Target for EmpiricalScore<T> {
    type Scalar = T;
    fn dim(&self) -> usize {
        self.dim
    }
}

impl<T: Real> EmpiricalScore<T> {
    /// `log p_{α,τ}(x)` by a streaming log-sum-exp over the data; with `out`, also the score
    /// `(α Σ_j w_j y_j − x)/τ²`. NaN (and a NaN score) for `τ² ≤ 0` or a NaN log-sum-exp.
    fn smoothed(&self, x: &[T], alpha: T, tau2: T, mut out: Option<&mut [T]>) -> T {
        let d = self.dim;
        let nan = T::c(f64::NAN);
        let fail = |out: Option<&mut [T]>| {
            if let Some(o) = out {
                o.iter_mut().for_each(|o| *o = nan);
            }
            nan
        };
        if !(tau2 > T::zero()) {
            return fail(out);
        }
        if let Some(o) = out.as_deref_mut() {
            o.iter_mut().for_each(|o| *o = T::zero());
        }
        let inv2 = T::c(0.5) / tau2;
        let data = self.y.as_slice();
        let mut lse = StreamingLogSumExp::new();
        for yj in data.chunks_exact(d) {
            let mut q = T::zero();
            for (a, b) in x.iter().zip(yj) {
                let r = *a - alpha * *b;
                q += r * r;
            }
            let (rescale, wj) = lse.push(-q * inv2);
            if let Some(o) = out.as_deref_mut() {
                for (o, &yi) in o.iter_mut().zip(yj) {
                    *o = *o * rescale + wj * yi;
                }
            }
        }
        let Some((m, s)) = lse.finish() else {
            return fail(out);
        };
        if let Some(o) = out {
            let inv_s = T::one() / s;
            for (o, &xi) in o.iter_mut().zip(x) {
                *o = (alpha * *o * inv_s - xi) / tau2;
            }
        }
        m + s.ln()
            - T::c((self.n as f64).ln())
            - T::c(0.5 * d as f64) * (T::c(2.0 * core::f64::consts::PI) * tau2).ln()
    }
}

impl<T: Real> SmoothedLaw for EmpiricalScore<T> {
    fn smoothed_log_density_and_score(&self, x: &[T], alpha: T, tau2: T, out: &mut [T]) -> T {
        self.smoothed(x, alpha, tau2, Some(out))
    }

    fn smoothed_score_batch(&self, xs: &[T], alpha: T, tau2: T, out: &mut [T], work: &mut Vec<T>) {
        let d = self.dim;
        let m = xs.len() / d;
        let n = self.n;
        if m == 0 {
            return;
        }
        let nan = T::c(f64::NAN);
        if !(tau2 > T::zero()) {
            out.iter_mut().for_each(|o| *o = nan);
            return;
        }
        if work.len() < n * m {
            work.resize(n * m, T::zero());
        }
        let xv = DMatrixView::from_slice(xs, d, m);
        {
            // G = Yᵀ X (n × m), then l_jk = (α G_jk − ½ α² ‖y_j‖²)/τ², softmax down columns.
            {
                let mut g = DMatrixViewMut::from_slice(&mut work[..n * m], n, m);
                g.gemm(T::one() / tau2, &self.yt, &xv, T::zero());
            }
            let c = T::c(0.5) * alpha * alpha / tau2;
            for k in 0..m {
                let col = &mut work[k * n..(k + 1) * n];
                let mut mx = T::neg_infinity();
                for (v, &sq) in col.iter_mut().zip(&self.sq) {
                    *v = alpha * *v - c * sq;
                    if *v > mx {
                        mx = *v;
                    }
                }
                let mut s = T::zero();
                for v in col.iter_mut() {
                    *v = (*v - mx).exp();
                    s += *v;
                }
                let inv = if mx.finite() && s > T::zero() {
                    T::one() / s
                } else {
                    nan
                };
                for v in col.iter_mut() {
                    *v *= inv;
                }
            }
        }
        let w = DMatrixView::from_slice(&work[..n * m], n, m);
        let mut ov = DMatrixViewMut::from_slice(&mut out[..m * d], d, m);
        // S = Y W (d × m); score = (α S − X)/τ².
        ov.gemm(alpha / tau2, &self.y, &w, T::zero());
        let inv = T::one() / tau2;
        for (o, &x) in out[..m * d].iter_mut().zip(xs) {
            *o -= x * inv;
        }
    }
}

noise_conditional_via_smoothing!(EmpiricalScore);

impl<T: Real> NoiseScoreBatch for EmpiricalScore<T> {
    fn score_sigma_batch_into(&self, xs: &[T], sigma: T, out: &mut [T], work: &mut Vec<T>) {
        self.smoothed_score_batch(xs, T::one(), sigma * sigma, out, work)
    }
}
