//! [statrs](https://docs.rs/statrs) distributions as targets.
//!
//! * [`Univariate`] wraps **any** univariate continuous statrs distribution (anything that
//!   implements `Continuous<f64, f64> + ContinuousCDF<f64, f64>`) as a 1-D [`LogDensity`]:
//!   `log p(x) = ln_pdf(x)` inside the support `[min, max]` and `−∞` outside it, so MALA
//!   rejects every proposal that leaves the support. It also exposes the statrs CDF
//!   ([`Univariate::cdf`]) and exact draws by inversion ([`ExactSample`]).
//! * Where `∂/∂x ln p(x)` has a closed form the wrapper is also a [`Score`]: the distribution
//!   implements [`AnalyticScore`]. Implemented for `Normal`, `StudentsT`, `Gamma`, `Beta`,
//!   `LogNormal`, `Laplace`, `Cauchy`, `Exp`, `Weibull`, `Gumbel`, `Chi`, `ChiSquared`,
//!   `Erlang`, `InverseGamma`, `Pareto` and `Uniform`.
//! * [`Independent`] is the product of independent (possibly different) marginals, a
//!   d-dimensional target with log density `Σᵢ log pᵢ(xᵢ)` and score `(∂ᵢ log pᵢ(xᵢ))ᵢ`.
//!
//! | distribution | support | score `∂ₓ ln p(x)` |
//! |---|---|---|
//! | Normal(μ, σ) | ℝ | `−(x − μ)/σ²` |
//! | StudentsT(μ, s, ν) | ℝ | `−(ν + 1)(x − μ) / (ν s² + (x − μ)²)` |
//! | Gamma(α, β) (rate β) | x > 0 | `(α − 1)/x − β` |
//! | Beta(a, b) | 0 < x < 1 | `(a − 1)/x − (b − 1)/(1 − x)` |
//! | LogNormal(μ, σ) | x > 0 | `−(1 + (ln x − μ)/σ²)/x` |
//! | Laplace(μ, b) | ℝ | `−sign(x − μ)/b` (`0` at the kink `x = μ`) |
//! | Cauchy(x₀, γ) | ℝ | `−2(x − x₀)/(γ² + (x − x₀)²)` |
//! | Exp(λ) | x ≥ 0 | `−λ` |
//! | Weibull(k, λ) | x > 0 | `(k − 1)/x − (k/λ)(x/λ)^(k−1)` |
//! | Gumbel(μ, β) | ℝ | `(e^(−z) − 1)/β`, `z = (x − μ)/β` |
//! | Chi(k) | x > 0 | `(k − 1)/x − x` |
//! | ChiSquared(k), Erlang(k, λ) | x > 0 | Gamma with (k/2, 1/2), (k, λ) |
//! | InverseGamma(α, β) | x > 0 | `−(α + 1)/x + β/x²` |
//! | Pareto(x_m, α) | x ≥ x_m | `−(α + 1)/x` |
//! | Uniform(a, b) | a ≤ x ≤ b | `0` |
//!
//! The Laplace log density is not differentiable at `x = μ`; the score returns the
//! subgradient `0` there (the midpoint of `[−1/b, 1/b]`). MALA stays exact (its correction
//! uses whatever drift was proposed), and the kink is hit with probability zero.
//! Scores are evaluated by formula everywhere; outside the support they are meaningless but
//! finite or not — it does not matter, since the log density there is `−∞` and the proposal
//! is rejected before the score is used.
//!
//! # Example
//! ```
//! use langevin::prelude::*;
//! use langevin::targets::Univariate;
//! use statrs::distribution::Gamma;
//!
//! let target = Univariate::new(Gamma::new(3.0, 2.0).unwrap());
//! assert_eq!(target.log_density(&[-1.0]), f64::NEG_INFINITY);
//! let mala = Mala::new(target, 0.2)?;
//! let trace = Sampler::new(2_000).chains(4).warmup(200).seed(1).run(&mala, &[vec![1.0]])?;
//! assert!(trace.chains.iter().flatten().all(|&x| x > 0.0)); // the support is respected
//! assert!((trace.mean()[0] - 1.5).abs() < 0.2);            // E = α/β = 1.5
//! # Ok::<(), langevin::Error>(())
//! ```

use super::{Analytic, ExactSample};
use crate::density::{LogDensity, Score, Target};
use crate::{Error, Result};
use rand::{Rng, RngExt};
use statrs::distribution::{
    Beta, Cauchy, Chi, ChiSquared, Continuous, ContinuousCDF, Erlang, Exp, Gamma, Gumbel,
    InverseGamma, Laplace, LogNormal, Normal, Pareto, StudentsT, Uniform, Weibull,
};
use statrs::statistics::Distribution as _;

/// The closed-form derivative of a univariate distribution's log density,
/// `∂/∂x ln p(x)`, valid inside the support (see the [module table](self)).
pub trait AnalyticScore {
    /// `∂/∂x ln p(x)` at a point `x` of the support.
    fn ln_pdf_derivative(&self, x: f64) -> f64;
}

impl AnalyticScore for Normal {
    fn ln_pdf_derivative(&self, x: f64) -> f64 {
        let (m, s) = (
            self.mean().unwrap_or(f64::NAN),
            self.std_dev().unwrap_or(f64::NAN),
        );
        -(x - m) / (s * s)
    }
}

impl AnalyticScore for StudentsT {
    fn ln_pdf_derivative(&self, x: f64) -> f64 {
        let (m, s, nu) = (self.location(), self.scale(), self.freedom());
        let z = x - m;
        if nu.is_infinite() {
            return -z / (s * s);
        }
        -(nu + 1.0) * z / (nu * s * s + z * z)
    }
}

fn gamma_score(shape: f64, rate: f64, x: f64) -> f64 {
    (shape - 1.0) / x - rate
}

impl AnalyticScore for Gamma {
    fn ln_pdf_derivative(&self, x: f64) -> f64 {
        gamma_score(self.shape(), self.rate(), x)
    }
}

impl AnalyticScore for ChiSquared {
    fn ln_pdf_derivative(&self, x: f64) -> f64 {
        gamma_score(self.shape(), self.rate(), x)
    }
}

impl AnalyticScore for Erlang {
    fn ln_pdf_derivative(&self, x: f64) -> f64 {
        gamma_score(self.shape() as f64, self.rate(), x)
    }
}

impl AnalyticScore for Beta {
    fn ln_pdf_derivative(&self, x: f64) -> f64 {
        (self.shape_a() - 1.0) / x - (self.shape_b() - 1.0) / (1.0 - x)
    }
}

impl AnalyticScore for LogNormal {
    fn ln_pdf_derivative(&self, x: f64) -> f64 {
        let (m, s) = (self.location(), self.scale());
        -(1.0 + (x.ln() - m) / (s * s)) / x
    }
}

impl AnalyticScore for Laplace {
    /// `−sign(x − μ)/b`, with the subgradient `0` at the kink `x = μ`.
    fn ln_pdf_derivative(&self, x: f64) -> f64 {
        let z = x - self.location();
        if z > 0.0 {
            -1.0 / self.scale()
        } else if z < 0.0 {
            1.0 / self.scale()
        } else {
            0.0 * z // 0, or NaN for NaN input
        }
    }
}

impl AnalyticScore for Cauchy {
    fn ln_pdf_derivative(&self, x: f64) -> f64 {
        let (m, g) = (self.location(), self.scale());
        let z = x - m;
        -2.0 * z / (g * g + z * z)
    }
}

impl AnalyticScore for Exp {
    fn ln_pdf_derivative(&self, x: f64) -> f64 {
        -self.rate() + 0.0 * x
    }
}

impl AnalyticScore for Weibull {
    fn ln_pdf_derivative(&self, x: f64) -> f64 {
        let (k, l) = (self.shape(), self.scale());
        (k - 1.0) / x - (k / l) * (x / l).powf(k - 1.0)
    }
}

impl AnalyticScore for Gumbel {
    fn ln_pdf_derivative(&self, x: f64) -> f64 {
        let b = self.scale();
        let z = (x - self.location()) / b;
        ((-z).exp() - 1.0) / b
    }
}

impl AnalyticScore for Chi {
    fn ln_pdf_derivative(&self, x: f64) -> f64 {
        (self.freedom() as f64 - 1.0) / x - x
    }
}

impl AnalyticScore for InverseGamma {
    fn ln_pdf_derivative(&self, x: f64) -> f64 {
        -(self.shape() + 1.0) / x + self.rate() / (x * x)
    }
}

impl AnalyticScore for Pareto {
    fn ln_pdf_derivative(&self, x: f64) -> f64 {
        -(self.shape() + 1.0) / x
    }
}

impl AnalyticScore for Uniform {
    fn ln_pdf_derivative(&self, x: f64) -> f64 {
        0.0 * x
    }
}

/// Any univariate continuous statrs distribution as a 1-D target (see the
/// [module docs](self)): `log p(x) = ln_pdf(x)` on the support, `−∞` outside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Univariate<D> {
    dist: D,
    lo: f64,
    hi: f64,
}

impl<D: Continuous<f64, f64> + ContinuousCDF<f64, f64>> Univariate<D> {
    /// Wraps a statrs distribution (construct it with statrs' own validating `new`).
    pub fn new(dist: D) -> Self {
        let (lo, hi) = (dist.min(), dist.max());
        Self { dist, lo, hi }
    }
    /// The wrapped distribution.
    pub fn distribution(&self) -> &D {
        &self.dist
    }
    /// The support `[min, max]` as reported by statrs (bounds may be infinite).
    pub fn support(&self) -> (f64, f64) {
        (self.lo, self.hi)
    }
    /// `true` when `x` lies in the support.
    #[inline]
    pub fn in_support(&self, x: f64) -> bool {
        x >= self.lo && x <= self.hi
    }
    /// `log p(x)` for a scalar, `−∞` outside the support.
    #[inline]
    pub fn ln_pdf(&self, x: f64) -> f64 {
        if self.in_support(x) {
            self.dist.ln_pdf(x)
        } else if x.is_nan() {
            f64::NAN
        } else {
            f64::NEG_INFINITY
        }
    }
    /// The statrs CDF `P(X ≤ x)`.
    pub fn cdf(&self, x: f64) -> f64 {
        if x < self.lo {
            0.0
        } else if x >= self.hi {
            1.0
        } else {
            self.dist.cdf(x)
        }
    }
}

impl<D> Target for Univariate<D> {
    type Scalar = f64;
    fn dim(&self) -> usize {
        1
    }
}

impl<D: Continuous<f64, f64> + ContinuousCDF<f64, f64>> LogDensity for Univariate<D> {
    #[inline]
    fn log_density(&self, x: &[f64]) -> f64 {
        self.ln_pdf(x[0])
    }
}

impl<D: Continuous<f64, f64> + ContinuousCDF<f64, f64> + AnalyticScore> Score for Univariate<D> {
    #[inline]
    fn score_into(&self, x: &[f64], out: &mut [f64]) {
        out[0] = self.dist.ln_pdf_derivative(x[0]);
    }
    #[inline]
    fn log_density_and_score(&self, x: &[f64], out: &mut [f64]) -> Option<f64> {
        let lp = self.ln_pdf(x[0]);
        // Outside the support the score is not needed (the proposal is rejected).
        out[0] = if lp == f64::NEG_INFINITY {
            0.0
        } else {
            self.dist.ln_pdf_derivative(x[0])
        };
        Some(lp)
    }
}

impl<D: Continuous<f64, f64> + ContinuousCDF<f64, f64>> ExactSample for Univariate<D> {
    /// An exact draw by inversion, `F⁻¹(U)` with `U ~ U(0, 1)` (statrs' `inverse_cdf`;
    /// bisection for distributions without a closed-form quantile).
    fn sample_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [f64]) {
        // U in (0, 1): avoid the endpoints, whose quantiles may be infinite.
        let u: f64 = rng
            .random::<f64>()
            .clamp(f64::MIN_POSITIVE, 1.0 - f64::EPSILON / 2.0);
        out[0] = self.dist.inverse_cdf(u);
    }
}

impl<D> Analytic for Univariate<D>
where
    D: Continuous<f64, f64> + ContinuousCDF<f64, f64> + statrs::statistics::Distribution<f64>,
{
    /// statrs' mean (NaN where it does not exist, e.g. Cauchy).
    fn exact_mean(&self) -> Vec<f64> {
        vec![self.dist.mean().unwrap_or(f64::NAN)]
    }
    /// statrs' variance (NaN where it does not exist, `+∞` where it is infinite).
    fn exact_covariance(&self) -> Vec<f64> {
        vec![self.dist.variance().unwrap_or(f64::NAN)]
    }
    fn marginal_cdf(&self, i: usize, x: f64) -> Option<f64> {
        (i == 0).then(|| self.cdf(x))
    }
}

/// One marginal of an [`Independent`] product: an object-safe view of a [`Univariate`]
/// with an analytic score. Implemented for every `Univariate<D>` with `D: AnalyticScore`.
pub trait Marginal: Send + Sync + core::fmt::Debug {
    /// `log p(x)`, `−∞` outside the support.
    fn ln_pdf(&self, x: f64) -> f64;
    /// `∂/∂x log p(x)` (inside the support).
    fn score(&self, x: f64) -> f64;
    /// The CDF `P(X ≤ x)`.
    fn cdf(&self, x: f64) -> f64;
    /// An exact draw by inversion from a uniform `u ∈ (0, 1)`.
    fn quantile(&self, u: f64) -> f64;
}

impl<D> Marginal for Univariate<D>
where
    D: Continuous<f64, f64>
        + ContinuousCDF<f64, f64>
        + AnalyticScore
        + Send
        + Sync
        + core::fmt::Debug,
{
    fn ln_pdf(&self, x: f64) -> f64 {
        Univariate::ln_pdf(self, x)
    }
    fn score(&self, x: f64) -> f64 {
        self.dist.ln_pdf_derivative(x)
    }
    fn cdf(&self, x: f64) -> f64 {
        Univariate::cdf(self, x)
    }
    fn quantile(&self, u: f64) -> f64 {
        self.dist.inverse_cdf(u)
    }
}

/// The product of independent univariate marginals: a d-dimensional target with
/// `log p(x) = Σᵢ log pᵢ(xᵢ)` and score `(∂ log pᵢ(xᵢ)/∂xᵢ)ᵢ`. The marginals may be of
/// different families.
///
/// ```
/// use langevin::prelude::*;
/// use langevin::targets::{Independent, Univariate};
/// use statrs::distribution::{Beta, Normal};
///
/// let p = Independent::new(vec![
///     Box::new(Univariate::new(Normal::new(0.0, 2.0).unwrap())),
///     Box::new(Univariate::new(Beta::new(2.0, 3.0).unwrap())),
/// ])?;
/// assert_eq!(p.dim(), 2);
/// assert_eq!(p.log_density(&[0.0, 1.5]), f64::NEG_INFINITY); // outside (0, 1)
/// assert_eq!(p.score(&[2.0, 0.5])[0], -0.5);
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug)]
pub struct Independent {
    marginals: Vec<Box<dyn Marginal>>,
}

impl Independent {
    /// The product of `marginals` (one per coordinate).
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] for an empty list.
    pub fn new(marginals: Vec<Box<dyn Marginal>>) -> Result<Self> {
        if marginals.is_empty() {
            return Err(Error::ZeroDimension {
                what: "product of marginals",
            });
        }
        Ok(Self { marginals })
    }
    /// `d` independent copies of one distribution.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] for `d = 0`.
    pub fn iid<D>(dist: D, d: usize) -> Result<Self>
    where
        D: Continuous<f64, f64>
            + ContinuousCDF<f64, f64>
            + AnalyticScore
            + Clone
            + Send
            + Sync
            + core::fmt::Debug
            + 'static,
    {
        Self::new(
            (0..d)
                .map(|_| Box::new(Univariate::new(dist.clone())) as Box<dyn Marginal>)
                .collect(),
        )
    }
    /// The marginals.
    pub fn marginals(&self) -> &[Box<dyn Marginal>] {
        &self.marginals
    }
    /// The CDF of coordinate `i` at `x`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `i >= dim`.
    pub fn marginal_cdf(&self, i: usize, x: f64) -> Result<f64> {
        match self.marginals.get(i) {
            Some(m) => Ok(m.cdf(x)),
            None => Err(Error::InvalidParameter {
                name: "coordinate index",
                value: i as f64,
                expected: "an index below the dimension",
            }),
        }
    }
}

impl Target for Independent {
    type Scalar = f64;
    fn dim(&self) -> usize {
        self.marginals.len()
    }
}

impl LogDensity for Independent {
    fn log_density(&self, x: &[f64]) -> f64 {
        let mut lp = 0.0;
        for (m, &xi) in self.marginals.iter().zip(x) {
            lp += m.ln_pdf(xi);
        }
        lp
    }
}

impl Score for Independent {
    fn score_into(&self, x: &[f64], out: &mut [f64]) {
        for ((m, &xi), o) in self.marginals.iter().zip(x).zip(out.iter_mut()) {
            *o = m.score(xi);
        }
    }
    fn log_density_and_score(&self, x: &[f64], out: &mut [f64]) -> Option<f64> {
        let mut lp = 0.0;
        for ((m, &xi), o) in self.marginals.iter().zip(x).zip(out.iter_mut()) {
            let l = m.ln_pdf(xi);
            lp += l;
            *o = if l == f64::NEG_INFINITY {
                0.0
            } else {
                m.score(xi)
            };
        }
        Some(lp)
    }
}

impl ExactSample for Independent {
    fn sample_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [f64]) {
        for (m, o) in self.marginals.iter().zip(out.iter_mut()) {
            let u: f64 = rng
                .random::<f64>()
                .clamp(f64::MIN_POSITIVE, 1.0 - f64::EPSILON / 2.0);
            *o = m.quantile(u);
        }
    }
}
