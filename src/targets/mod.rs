//! Analytic targets with exact moments, exact samplers and, where one exists, marginal CDFs.
//!
//! These are the oracles of the crate's statistical tests and a test bed for users' own
//! samplers: [`Gaussian`] (isotropic, diagonal, full covariance), [`GaussianMixture`] (with
//! the 8-mode ring and the smoothed dice law as constructors, and exact scores of the mixture
//! convolved with Gaussian noise), [`Rosenbrock`] (the banana), [`Funnel`] (Neal's funnel) and
//! [`DoubleWell`]; and one real-data posterior, [`LogisticPosterior`] (Bayesian logistic
//! regression with a Laplace fit). Wrap any of them in [`crate::density::Tempered`] for the Gibbs law at
//! temperature T.

mod banana;
mod double_well;
mod funnel;
mod gaussian;
mod logistic;
mod mixture;
pub mod statrs_targets;

pub use banana::Rosenbrock;
pub use double_well::DoubleWell;
pub use funnel::Funnel;
pub use gaussian::Gaussian;
pub use logistic::LogisticPosterior;
pub use mixture::GaussianMixture;
pub use statrs_targets::{AnalyticScore, Independent, Marginal, Univariate};

use crate::density::Target;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use rand::Rng;

/// A target whose first two moments and (optionally) marginal CDFs are known exactly.
pub trait Analytic: Target {
    /// The exact mean `E[X]`.
    fn exact_mean(&self) -> Vec<f64>;
    /// The exact covariance `Cov[X]`, row-major d × d.
    fn exact_covariance(&self) -> Vec<f64>;
    /// The exact marginal CDF `P(X_i ≤ x)` of coordinate `i`, where a closed form (or a
    /// stated quadrature) exists; `None` otherwise or if `i >= dim`.
    fn marginal_cdf(&self, i: usize, x: f64) -> Option<f64> {
        let _ = (i, x);
        None
    }
}

/// A target that can be sampled exactly (IID), e.g. to start chains at stationarity.
pub trait ExactSample: Target {
    /// Writes one exact draw into `out` (length `dim`).
    fn sample_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [Self::Scalar]);
}

#[inline]
pub(crate) fn ln_2pi() -> f64 {
    (2.0 * core::f64::consts::PI).ln()
}
