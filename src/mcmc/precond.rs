//! Preconditioned ULA and MALA: a mass matrix (metric) `M` rescales the drift and the noise.

use super::{Kernel, StepInfo, TunableStepSize, check_score_at_x0, check_x0};
use crate::density::{LogDensity, Score, Target, log_density_and_score};
use crate::error::{check_len, check_positive};
use crate::real::dot8;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::{Error, Real, Result};
use rand::Rng;

/// A constant preconditioner (mass matrix) `M`, symmetric positive definite, diagonal or dense.
///
/// It stores `M` and a square root `L` with `L Lᵀ = M` (the element-wise square root for a
/// diagonal `M`, the lower Cholesky factor, row-major, for a dense one), so that the operations
/// a preconditioned step needs allocate nothing:
///
/// ```text
/// apply:       out = M v                      O(d) diagonal, O(d²) dense
/// apply_sqrt:  out = L ξ                      (ξ ~ N(0, I) ⇒ L ξ ~ N(0, M))
/// inv_quad:    rᵀ M⁻¹ r = ‖L⁻¹ r‖²             (forward substitution for dense M)
/// ```
///
/// # Example
/// ```
/// use langevin::mcmc::Metric;
/// let m = Metric::<f64>::dense(&[4.0, 2.0, 2.0, 3.0])?;
/// let mut out = [0.0; 2];
/// m.apply(&[1.0, 0.0], &mut out);
/// assert_eq!(out, [4.0, 2.0]);
/// let mut scratch = [0.0; 2];
/// // (1, 0) M⁻¹ (1, 0)ᵀ = 3 / (4·3 − 2·2) = 0.375
/// assert!((m.inv_quad(&[1.0, 0.0], &mut scratch) - 0.375).abs() < 1e-12);
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "checkpoint", derive(serde::Serialize, serde::Deserialize))]
pub struct Metric<T> {
    repr: Repr<T>,
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "checkpoint", derive(serde::Serialize, serde::Deserialize))]
enum Repr<T> {
    Diagonal {
        m: Vec<T>,
        sqrt_m: Vec<T>,
        inv_m: Vec<T>,
    },
    Dense {
        d: usize,
        m: Vec<T>,
        chol: Vec<T>,
    },
}

impl<T: Real> Metric<T> {
    /// The identity `M = I` of dimension `d` (plain ULA / MALA).
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] for `d = 0`.
    pub fn identity(d: usize) -> Result<Self> {
        Self::diagonal(vec![T::one(); d])
    }

    /// A diagonal `M = diag(m)`.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] for an empty vector; [`Error::NotPositiveDefinite`] unless
    /// every entry is finite and `> 0` with a finite inverse.
    pub fn diagonal(m: Vec<T>) -> Result<Self> {
        if m.is_empty() {
            return Err(Error::ZeroDimension { what: "metric" });
        }
        // A subnormal entry would have an infinite inverse, and the acceptance ratio would
        // then be NaN on every step.
        if m.iter()
            .any(|v| !(v.finite() && *v > T::zero() && (T::one() / *v).finite()))
        {
            return Err(Error::NotPositiveDefinite {
                what: "diagonal metric (every entry must be finite and > 0, with a finite inverse)",
            });
        }
        let sqrt_m = m.iter().map(|v| v.sqrt()).collect();
        let inv_m = m.iter().map(|v| T::one() / *v).collect();
        Ok(Self {
            repr: Repr::Diagonal { m, sqrt_m, inv_m },
        })
    }

    /// A dense `M` given row-major (`d × d`); it is factorised once by Cholesky (in `f64`).
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] for an empty slice; [`Error::InvalidConfig`] if the length is
    /// not a square; [`Error::NonFiniteInput`] for non-finite entries;
    /// [`Error::NotPositiveDefinite`] if `M` is not symmetric (to a relative 1e-10) or not
    /// positive definite.
    pub fn dense(m: &[T]) -> Result<Self> {
        if m.is_empty() {
            return Err(Error::ZeroDimension { what: "metric" });
        }
        let d = (m.len() as f64).sqrt().round() as usize;
        if d * d != m.len() {
            return Err(Error::InvalidConfig {
                reason: format!(
                    "a dense metric needs d × d entries (row-major); got {} entries",
                    m.len()
                ),
            });
        }
        crate::error::check_finite("dense metric", m)?;
        let a: Vec<f64> = m.iter().map(|v| v.to_f64()).collect();
        let chol = crate::linalg::lower_row_major(&crate::linalg::cholesky(&a, d, "dense metric")?);
        Ok(Self {
            repr: Repr::Dense {
                d,
                m: m.to_vec(),
                chol: chol.into_iter().map(T::c).collect(),
            },
        })
    }

    /// The dimension d.
    pub fn dim(&self) -> usize {
        match &self.repr {
            Repr::Diagonal { m, .. } => m.len(),
            Repr::Dense { d, .. } => *d,
        }
    }

    /// `true` for a dense metric.
    pub fn is_dense(&self) -> bool {
        matches!(self.repr, Repr::Dense { .. })
    }

    /// The metric as `f64`: the diagonal (length d) for a diagonal metric, the full matrix
    /// row-major (length d²) for a dense one.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        match &self.repr {
            Repr::Diagonal { m, .. } => m.iter().map(|v| v.to_f64()).collect(),
            Repr::Dense { m, .. } => m.iter().map(|v| v.to_f64()).collect(),
        }
    }

    /// The full matrix `M`, row-major `d × d`, as `f64`.
    pub fn matrix(&self) -> Vec<f64> {
        match &self.repr {
            Repr::Diagonal { m, .. } => {
                let d = m.len();
                let mut out = vec![0.0; d * d];
                for i in 0..d {
                    out[i * d + i] = m[i].to_f64();
                }
                out
            }
            Repr::Dense { m, .. } => m.iter().map(|v| v.to_f64()).collect(),
        }
    }

    /// `out = M v` (no allocation). `v` and `out` must have length d (a dense metric panics
    /// on a shorter slice; the diagonal one stops at the shortest).
    #[inline]
    pub fn apply(&self, v: &[T], out: &mut [T]) {
        match &self.repr {
            Repr::Diagonal { m, .. } => {
                for ((o, &a), &b) in out.iter_mut().zip(m).zip(v) {
                    *o = a * b;
                }
            }
            Repr::Dense { d, m, .. } => {
                for i in 0..*d {
                    out[i] = dot8(&m[i * d..(i + 1) * d], v);
                }
            }
        }
    }

    /// `out = L ξ` with `L Lᵀ = M` (no allocation); for `ξ ~ N(0, I)`, `L ξ ~ N(0, M)`.
    /// Lengths as for [`Metric::apply`].
    #[inline]
    pub fn apply_sqrt(&self, xi: &[T], out: &mut [T]) {
        match &self.repr {
            Repr::Diagonal { sqrt_m, .. } => {
                for ((o, &a), &b) in out.iter_mut().zip(sqrt_m).zip(xi) {
                    *o = a * b;
                }
            }
            Repr::Dense { d, chol, .. } => {
                for i in 0..*d {
                    out[i] = dot8(&chol[i * d..i * d + i + 1], &xi[..=i]);
                }
            }
        }
    }

    /// The quadratic form `rᵀ M⁻¹ r` (no allocation; `scratch` has length d and is
    /// overwritten). Dense metrics solve `L z = r` by forward substitution: `rᵀM⁻¹r = ‖z‖²`.
    /// Lengths as for [`Metric::apply`].
    #[inline]
    pub fn inv_quad(&self, r: &[T], scratch: &mut [T]) -> T {
        match &self.repr {
            Repr::Diagonal { inv_m, .. } => {
                for ((s, &a), &b) in scratch.iter_mut().zip(inv_m).zip(r) {
                    *s = a * b;
                }
                dot8(scratch, r)
            }
            Repr::Dense { d, chol, .. } => {
                for i in 0..*d {
                    let row = &chol[i * d..i * d + i];
                    let acc = dot8(row, &scratch[..i]);
                    scratch[i] = (r[i] - acc) / chol[i * d + i];
                }
                dot8(&scratch[..*d], &scratch[..*d])
            }
        }
    }
}

/// Access to the per-chain preconditioner of a kernel (used by mass-matrix adaptation).
pub trait TunableMetric: Kernel {
    /// The metric the chain currently uses.
    fn metric<'a>(&self, state: &'a Self::State) -> &'a Metric<Self::Scalar>;
    /// Replaces the chain's metric (and refreshes every cached quantity that depends on it).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if the metric's dimension is not the kernel's.
    fn set_metric(&self, state: &mut Self::State, metric: Metric<Self::Scalar>) -> Result<()>;
}

fn check_metric<T: Real>(metric: &Metric<T>, d: usize) -> Result<()> {
    check_len("metric", d, metric.dim())
}

/// The validation shared by the [`PrecondUla`] and [`PrecondMala`] constructors: a finite
/// positive step, a target of positive dimension and a metric of that dimension. Returns `h`
/// as `f64`.
fn check_kernel_parts<P: Target>(
    target: &P,
    h: P::Scalar,
    metric: &Metric<P::Scalar>,
) -> Result<f64> {
    check_positive("step size h", h.to_f64())?;
    if target.dim() == 0 {
        return Err(Error::ZeroDimension { what: "target" });
    }
    check_metric(metric, target.dim())?;
    Ok(h.to_f64())
}

/// Preconditioned unadjusted Langevin: Euler–Maruyama on the Langevin SDE with a constant
/// mass matrix `M` (Roberts & Tweedie 1996; Girolami & Calderhead 2011 with constant metric).
///
/// # Update rule
/// ```text
/// x' = x + h M ∇log p(x) + sqrt(2h) L ξ,      L Lᵀ = M,   ξ ~ N(0, I)
/// ```
/// `M = I` is plain [`crate::Ula`]. The metric is copied into each chain's state at
/// [`Kernel::init`], so an adaptation can change it per chain ([`TunableMetric`]).
///
/// # Requirements
/// Only a [`Score`].
///
/// # Bias and stability
/// On `N(m, Σ)` (precision `P = Σ⁻¹`) the chain is the linear recursion
/// `y' = (I − h M P) y + sqrt(2h) L ξ`; it is stable iff `h λ_max(M P) < 2` and its stationary
/// law is `N(m, V)` with `V = (P − (h/2) P M P)⁻¹`. With the perfect preconditioner `M = Σ`,
/// `V = Σ / (1 − h/2)` — a uniform inflation whatever the conditioning of `Σ`. A non-finite
/// state stops the chain with [`Error::NonFiniteState`].
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::mcmc::{Metric, PrecondUla};
/// use langevin::targets::Gaussian;
/// // An ill-conditioned diagonal Gaussian, preconditioned by its own covariance.
/// let target = Gaussian::<f64>::diagonal(vec![0.0, 0.0], vec![100.0, 0.01])?;
/// let ula = PrecondUla::new(target, 0.2, Metric::diagonal(vec![100.0, 0.01])?)?;
/// let trace = Sampler::new(4_000).chains(4).warmup(200).seed(5).run(&ula, &[vec![0.0, 0.0]])?;
/// // V = Σ / (1 − h/2) = Σ / 0.9
/// let v = trace.variance();
/// assert!((v[0] / (100.0 / 0.9) - 1.0).abs() < 0.15);
/// assert!((v[1] / (0.01 / 0.9) - 1.0).abs() < 0.15);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * G. O. Roberts, R. L. Tweedie (1996), *Bernoulli* 2(4):341–363.
/// * M. Girolami, B. Calderhead (2011), Riemann manifold Langevin and Hamiltonian Monte Carlo
///   methods, *J. R. Stat. Soc. B* 73(2):123–214.
#[derive(Debug, Clone)]
pub struct PrecondUla<P: Score> {
    target: P,
    h: f64,
    metric: Metric<P::Scalar>,
}

/// Per-chain state of [`PrecondUla`].
#[derive(Debug, Clone)]
#[cfg_attr(feature = "checkpoint", derive(serde::Serialize, serde::Deserialize))]
pub struct PrecondUlaState<T> {
    x: Vec<T>,
    g: Vec<T>,
    mg: Vec<T>,
    xi: Vec<T>,
    h: T,
    metric: Metric<T>,
    chain: usize,
    step: usize,
}

impl<T: Real> PrecondUlaState<T> {
    /// The current position.
    pub fn position(&self) -> &[T] {
        &self.x
    }
    /// The chain's current metric.
    pub fn metric(&self) -> &Metric<T> {
        &self.metric
    }
    /// Transitions taken so far.
    pub fn steps(&self) -> usize {
        self.step
    }
}

impl<P: Score> PrecondUla<P> {
    /// Preconditioned ULA with step `h` and metric `metric`.
    ///
    /// # Errors
    /// [`Error::InvalidStepSize`] unless `h` is finite and positive; [`Error::ZeroDimension`]
    /// for a 0-dimensional target; [`Error::DimensionMismatch`] if the metric's dimension is
    /// not the target's.
    pub fn new(target: P, h: P::Scalar, metric: Metric<P::Scalar>) -> Result<Self> {
        let h = check_kernel_parts(&target, h, &metric)?;
        Ok(Self { target, h, metric })
    }

    /// As [`PrecondUla::new`], with a step that carries its convention in its type: pass a
    /// [`LangevinStep`](crate::step::LangevinStep) `h`, or a
    /// [`ProposalVariance`](crate::step::ProposalVariance) `ε = 2h` copied from TFP, NCSN or
    /// SGLD — it is halved on the way in, so the factor of two cannot slip.
    ///
    /// # Errors
    /// As [`PrecondUla::new`].
    pub fn with_step(
        target: P,
        step: impl Into<crate::step::LangevinStep>,
        metric: Metric<P::Scalar>,
    ) -> Result<Self> {
        Self::new(target, P::Scalar::c(step.into().get()), metric)
    }
    /// The initial step size.
    pub fn step_size(&self) -> P::Scalar {
        P::Scalar::c(self.h)
    }
    /// The initial metric.
    pub fn metric(&self) -> &Metric<P::Scalar> {
        &self.metric
    }
    /// The target.
    pub fn target(&self) -> &P {
        &self.target
    }
}

impl<P: Score + Sync> Kernel for PrecondUla<P> {
    type Scalar = P::Scalar;
    type State = PrecondUlaState<P::Scalar>;

    fn dim(&self) -> usize {
        self.target.dim()
    }

    fn init(&self, x0: &[P::Scalar], chain: usize) -> Result<Self::State> {
        let d = self.dim();
        check_x0(x0, d, chain)?;
        let mut g = vec![P::Scalar::zero(); d];
        self.target.score_into(x0, &mut g);
        check_score_at_x0(&g, chain)?;
        Ok(PrecondUlaState {
            x: x0.to_vec(),
            g,
            mg: vec![P::Scalar::zero(); d],
            xi: vec![P::Scalar::zero(); d],
            h: P::Scalar::c(self.h),
            metric: self.metric.clone(),
            chain,
            step: 0,
        })
    }

    #[inline]
    fn step<R: Rng + ?Sized>(&self, s: &mut Self::State, rng: &mut R) -> Result<StepInfo> {
        let step = s.step;
        s.step += 1;
        let h = s.h;
        let noise = (P::Scalar::c(2.0) * h).sqrt();
        self.target.score_into(&s.x, &mut s.g);
        s.metric.apply(&s.g, &mut s.mg);
        for v in s.xi.iter_mut() {
            *v = P::Scalar::standard_normal(rng);
        }
        // g is free now: reuse it for L ξ.
        s.metric.apply_sqrt(&s.xi, &mut s.g);
        for ((x, &mg), &lxi) in s.x.iter_mut().zip(&s.mg).zip(&s.g) {
            *x += h * mg + noise * lxi;
        }
        crate::mcmc::unadjusted_step_result(&s.x, s.chain, step)
    }

    fn position<'a>(&self, state: &'a Self::State) -> &'a [P::Scalar] {
        &state.x
    }
}

impl<P: Score + Sync> TunableStepSize for PrecondUla<P> {
    fn step_size(&self, state: &Self::State) -> P::Scalar {
        state.h
    }
    fn set_step_size(&self, state: &mut Self::State, h: P::Scalar) {
        state.h = h;
    }
}

impl<P: Score + Sync> TunableMetric for PrecondUla<P> {
    fn metric<'a>(&self, state: &'a Self::State) -> &'a Metric<P::Scalar> {
        &state.metric
    }
    fn set_metric(&self, state: &mut Self::State, metric: Metric<P::Scalar>) -> Result<()> {
        check_metric(&metric, self.dim())?;
        state.metric = metric;
        Ok(())
    }
}

/// Preconditioned MALA: the [`PrecondUla`] proposal corrected by Metropolis–Hastings with the
/// proposal densities of the same metric (Roberts & Tweedie 1996; Girolami & Calderhead 2011,
/// constant metric).
///
/// # Update rule
/// ```text
/// y = x + h M g(x) + sqrt(2h) L ξ,          g = ∇log p,  L Lᵀ = M,  ξ ~ N(0, I)
/// log q(y | x) = −(y − x − h M g(x))ᵀ M⁻¹ (y − x − h M g(x)) / (4h)     (+ const)
/// log r = log p(y) − log p(x) + log q(x | y) − log q(y | x)
/// accept with probability min(1, r)
/// ```
/// The log density, score and preconditioned score `M g` of the current state are cached;
/// [`TunableMetric::set_metric`] refreshes `M g`, so changing the metric never leaves a stale
/// cache. A step costs one fused [`log_density_and_score`] evaluation, two products with `M`
/// or `L` and two quadratic forms in `M⁻¹` (O(d) diagonal, O(d²) dense), and allocates nothing.
///
/// # Requirements
/// [`LogDensity`] `+` [`Score`].
///
/// # Bias and stability
/// Exact for every `h > 0` and every SPD `M`. With `M ≈ Cov_p` the efficient step no longer
/// depends on the conditioning of the target: on `N(m, Σ)` with `M = Σ`, MALA behaves like
/// MALA on `N(0, I)` (acceptance `2Φ(−ℓ³/8)` at `2h = ℓ² d^(−1/3)`). Non-finite proposals are
/// rejected and counted as divergences, as in [`crate::Mala`].
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::mcmc::{Metric, PrecondMala};
/// use langevin::targets::Gaussian;
/// let cov = [1.0, 0.95, 0.95, 1.0];
/// let target = Gaussian::<f64>::full(vec![0.0, 0.0], &cov)?;
/// let mala = PrecondMala::new(target, 0.8, Metric::dense(&cov)?)?;
/// let trace = Sampler::new(4_000).chains(4).warmup(200).seed(9).run(&mala, &[vec![0.0, 0.0]])?;
/// // With M = Σ this behaves like MALA at h = 0.8 on N(0, I₂).
/// assert!(trace.mean_accept_prob() > 0.7);
/// assert!((trace.covariance()[1] - 0.95).abs() < 0.1);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * G. O. Roberts, R. L. Tweedie (1996), *Bernoulli* 2(4):341–363.
/// * M. Girolami, B. Calderhead (2011), *J. R. Stat. Soc. B* 73(2):123–214.
#[derive(Debug, Clone)]
pub struct PrecondMala<P: Target> {
    target: P,
    h: f64,
    metric: Metric<P::Scalar>,
}

/// Per-chain state of [`PrecondMala`].
#[derive(Debug, Clone)]
#[cfg_attr(feature = "checkpoint", derive(serde::Serialize, serde::Deserialize))]
pub struct PrecondMalaState<T> {
    x: Vec<T>,
    lp: T,
    g: Vec<T>,
    mg: Vec<T>,
    y: Vec<T>,
    gy: Vec<T>,
    mgy: Vec<T>,
    xi: Vec<T>,
    tmp: Vec<T>,
    h: T,
    metric: Metric<T>,
    chain: usize,
    step: usize,
}

impl<T: Real> PrecondMalaState<T> {
    /// The current position.
    pub fn position(&self) -> &[T] {
        &self.x
    }
    /// The cached log density at the current position.
    pub fn log_density(&self) -> T {
        self.lp
    }
    /// The cached score at the current position.
    pub fn score(&self) -> &[T] {
        &self.g
    }
    /// The chain's current metric.
    pub fn metric(&self) -> &Metric<T> {
        &self.metric
    }
    /// The chain index this state was initialised for.
    pub fn chain(&self) -> usize {
        self.chain
    }
    /// Transitions taken so far.
    pub fn steps(&self) -> usize {
        self.step
    }
}

impl<P: LogDensity + Score> PrecondMala<P> {
    /// Preconditioned MALA with step `h` and metric `metric`.
    ///
    /// # Errors
    /// [`Error::InvalidStepSize`] unless `h` is finite and positive; [`Error::ZeroDimension`]
    /// for a 0-dimensional target; [`Error::DimensionMismatch`] if the metric's dimension is
    /// not the target's.
    pub fn new(target: P, h: P::Scalar, metric: Metric<P::Scalar>) -> Result<Self> {
        let h = check_kernel_parts(&target, h, &metric)?;
        Ok(Self { target, h, metric })
    }

    /// As [`PrecondMala::new`], with a step that carries its convention in its type: pass a
    /// [`LangevinStep`](crate::step::LangevinStep) `h`, or a
    /// [`ProposalVariance`](crate::step::ProposalVariance) `ε = 2h` copied from TFP, NCSN or
    /// SGLD — it is halved on the way in, so the factor of two cannot slip.
    ///
    /// # Errors
    /// As [`PrecondMala::new`].
    pub fn with_step(
        target: P,
        step: impl Into<crate::step::LangevinStep>,
        metric: Metric<P::Scalar>,
    ) -> Result<Self> {
        Self::new(target, P::Scalar::c(step.into().get()), metric)
    }
    /// Plain MALA (`M = I`) with step `h`, ready for metric adaptation.
    ///
    /// # Errors
    /// As [`PrecondMala::new`].
    pub fn identity(target: P, h: P::Scalar) -> Result<Self> {
        let d = target.dim();
        let metric = Metric::identity(d)?;
        Self::new(target, h, metric)
    }
    /// The initial step size.
    pub fn step_size(&self) -> P::Scalar {
        P::Scalar::c(self.h)
    }
    /// The initial metric.
    pub fn metric(&self) -> &Metric<P::Scalar> {
        &self.metric
    }
    /// The target.
    pub fn target(&self) -> &P {
        &self.target
    }
}

/// The preconditioned MALA log acceptance ratio (deterministic; antisymmetric in `(x, y)`
/// up to rounding), from the log densities and *preconditioned* scores `M g` at both points:
///
/// ```text
/// log r = lp_y − lp_x + [Q(y − x − h M g_x) − Q(x − y − h M g_y)] / (4h),   Q(r) = rᵀ M⁻¹ r
/// ```
///
/// With `M = I` this is [`crate::mcmc::mala_log_acceptance`]. Every slice must have the
/// metric's dimension d; `r_buf` and `scratch` are work buffers (overwritten). Returns a
/// non-finite value if any input is non-finite.
///
/// # Panics
/// If a slice is shorter than d (a dense metric indexes it).
pub fn precond_mala_log_acceptance<T: Real>(
    metric: &Metric<T>,
    x: &[T],
    lp_x: T,
    mg_x: &[T],
    y: &[T],
    lp_y: T,
    mg_y: &[T],
    h: T,
    r_buf: &mut [T],
    scratch: &mut [T],
) -> T {
    for (((r, &xi), &yi), &m) in r_buf.iter_mut().zip(x).zip(y).zip(mg_x) {
        *r = yi - xi - h * m;
    }
    let fwd = metric.inv_quad(r_buf, scratch);
    for (((r, &xi), &yi), &m) in r_buf.iter_mut().zip(x).zip(y).zip(mg_y) {
        *r = xi - yi - h * m;
    }
    let bwd = metric.inv_quad(r_buf, scratch);
    (lp_y - lp_x) + (fwd - bwd) / (T::c(4.0) * h)
}

impl<P: LogDensity + Score + Sync> Kernel for PrecondMala<P> {
    type Scalar = P::Scalar;
    type State = PrecondMalaState<P::Scalar>;

    fn dim(&self) -> usize {
        self.target.dim()
    }

    fn init(&self, x0: &[P::Scalar], chain: usize) -> Result<Self::State> {
        let d = self.dim();
        let (g, lp) = crate::mcmc::checked_start(&self.target, x0, chain)?;
        let mut mg = vec![P::Scalar::zero(); d];
        self.metric.apply(&g, &mut mg);
        Ok(PrecondMalaState {
            x: x0.to_vec(),
            lp,
            g,
            mg,
            y: vec![P::Scalar::zero(); d],
            gy: vec![P::Scalar::zero(); d],
            mgy: vec![P::Scalar::zero(); d],
            xi: vec![P::Scalar::zero(); d],
            tmp: vec![P::Scalar::zero(); d],
            h: P::Scalar::c(self.h),
            metric: self.metric.clone(),
            chain,
            step: 0,
        })
    }

    #[inline]
    fn step<R: Rng + ?Sized>(&self, s: &mut Self::State, rng: &mut R) -> Result<StepInfo> {
        s.step += 1;
        let h = s.h;
        let noise = (P::Scalar::c(2.0) * h).sqrt();
        for v in s.xi.iter_mut() {
            *v = P::Scalar::standard_normal(rng);
        }
        s.metric.apply_sqrt(&s.xi, &mut s.tmp);
        for (((y, &x), &mg), &lxi) in s.y.iter_mut().zip(&s.x).zip(&s.mg).zip(&s.tmp) {
            *y = x + h * mg + noise * lxi;
        }
        let lp_y = log_density_and_score(&self.target, &s.y, &mut s.gy);
        if let Some(rejected) = super::mala::reject_non_finite_proposal(lp_y) {
            return Ok(rejected);
        }
        s.metric.apply(&s.gy, &mut s.mgy);
        let log_r = precond_mala_log_acceptance(
            &s.metric, &s.x, s.lp, &s.mg, &s.y, lp_y, &s.mgy, h, &mut s.tmp, &mut s.xi,
        );
        let info = super::mala::metropolis_decide(log_r, rng);
        if info.accepted {
            core::mem::swap(&mut s.x, &mut s.y);
            core::mem::swap(&mut s.g, &mut s.gy);
            core::mem::swap(&mut s.mg, &mut s.mgy);
            s.lp = lp_y;
        }
        Ok(info)
    }

    fn position<'a>(&self, state: &'a Self::State) -> &'a [P::Scalar] {
        &state.x
    }

    fn name(&self) -> String {
        if self.metric.is_dense() {
            "precond_mala (dense metric)".into()
        } else {
            "precond_mala (diagonal metric)".into()
        }
    }

    fn parameters(&self) -> Vec<(String, f64)> {
        vec![("step_size".into(), self.h)]
    }
}

impl<P: LogDensity + Score + Sync> TunableStepSize for PrecondMala<P> {
    fn step_size(&self, state: &Self::State) -> P::Scalar {
        state.h
    }
    fn set_step_size(&self, state: &mut Self::State, h: P::Scalar) {
        state.h = h;
    }
}

impl<P: LogDensity + Score + Sync> TunableMetric for PrecondMala<P> {
    fn metric<'a>(&self, state: &'a Self::State) -> &'a Metric<P::Scalar> {
        &state.metric
    }
    fn set_metric(&self, state: &mut Self::State, metric: Metric<P::Scalar>) -> Result<()> {
        check_metric(&metric, self.dim())?;
        state.metric = metric;
        // The cached preconditioned score depends on M: refresh it.
        state.metric.apply(&state.g, &mut state.mg);
        Ok(())
    }
}
