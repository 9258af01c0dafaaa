//! What to sample: the [`Target`], [`LogDensity`] and [`Score`] traits and their adapters.
//!
//! A target is an unnormalised density `p(x) ∝ exp(-U(x))` on ℝᵈ. Algorithms state what they
//! need as trait bounds: unadjusted Langevin and annealed Langevin need only a [`Score`]
//! (`∇ log p`, which may exist without a density — a learned or empirical score), MALA needs
//! [`LogDensity`] `+` [`Score`] and evaluates both through [`log_density_and_score`], which
//! uses the overridable fused hook [`Score::log_density_and_score`].
//!
//! States and gradients cross the API as slices, so `Vec`, nalgebra and ndarray users all
//! pass their buffers without copies.

mod check;
mod from_fn;
mod tempered;

pub use check::{ScoreCheck, check_score, check_score_with_step};

pub use from_fn::{FnLogDensity, FnScore, FnTarget, FusedFnTarget};
pub use tempered::Tempered;

use crate::Real;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use std::sync::Arc;

/// The part shared by every target: its scalar type and its dimension.
///
/// Declaring the dimension once, here, means `target.dim()` is never ambiguous between
/// [`LogDensity`] and [`Score`].
pub trait Target {
    /// The scalar type (`f64` or `f32`).
    type Scalar: Real;
    /// The dimension d of the state space ℝᵈ.
    fn dim(&self) -> usize;
}

/// An unnormalised log density `log p(x)` (up to an additive constant).
///
/// Return `-∞` outside the support. Any other non-finite value (NaN, `+∞`) is treated by the
/// samplers as a numerical failure: MALA rejects such a proposal and counts a divergence.
///
/// `x.len() == self.dim()` is guaranteed by the samplers of this crate; implementations may
/// `debug_assert!` it.
pub trait LogDensity: Target {
    /// `log p(x)` up to an additive constant.
    fn log_density(&self, x: &[Self::Scalar]) -> Self::Scalar;
}

/// The score `∇ log p(x)` of a target.
pub trait Score: Target {
    /// Writes `∇ log p(x)` into `out` (both of length `self.dim()`). Must not allocate if it is
    /// to be used in a sampler's hot loop.
    fn score_into(&self, x: &[Self::Scalar], out: &mut [Self::Scalar]);

    /// Convenience: returns `∇ log p(x)` in a new vector (allocates; not for hot loops).
    fn score(&self, x: &[Self::Scalar]) -> Vec<Self::Scalar> {
        let mut out = vec![Self::Scalar::zero(); self.dim()];
        self.score_into(x, &mut out);
        out
    }

    /// Fused evaluation hook: override it to write the score into `out` and return
    /// `Some(log p(x))` when the two share work (a Gaussian's `P(x − m)`, a mixture's
    /// responsibilities, an autodiff pass). The default returns `None` and leaves `out`
    /// untouched.
    ///
    /// Samplers evaluate targets through the free function [`log_density_and_score`], which
    /// uses this hook when it returns `Some` and otherwise calls [`Score::score_into`] and
    /// [`LogDensity::log_density`]. The forwarding implementations for `&P`, `Box<P>` and
    /// `Arc<P>` forward the hook, so passing a target by reference loses nothing.
    fn log_density_and_score(
        &self,
        x: &[Self::Scalar],
        out: &mut [Self::Scalar],
    ) -> Option<Self::Scalar> {
        let _ = (x, out);
        None
    }

    /// The Lipschitz constant `L` of the score, `‖∇log p(x) − ∇log p(y)‖ ≤ L ‖x − y‖`, when the
    /// target knows it exactly (for `N(m, Σ)`: `λ_max(Σ⁻¹) = 1/λ_min(Σ)`). Kernels derive
    /// their stability bounds from it (ULA is unstable on a Gaussian for `h ≥ 2/L`, see
    /// [`crate::mcmc::StabilityBound`]), and the health report warns about a step beyond.
    /// Default: `None` (unknown). Return only the exact constant, never a loose upper bound:
    /// a loose bound would flag stable steps.
    fn score_lipschitz(&self) -> Option<f64> {
        None
    }
}

macro_rules! forward_target {
    ($($ptr:ty),*) => {$(
        impl<P: Target + ?Sized> Target for $ptr {
            type Scalar = P::Scalar;
            #[inline]
            fn dim(&self) -> usize {
                (**self).dim()
            }
        }
        impl<P: LogDensity + ?Sized> LogDensity for $ptr {
            #[inline]
            fn log_density(&self, x: &[Self::Scalar]) -> Self::Scalar {
                (**self).log_density(x)
            }
        }
        impl<P: Score + ?Sized> Score for $ptr {
            #[inline]
            fn score_into(&self, x: &[Self::Scalar], out: &mut [Self::Scalar]) {
                (**self).score_into(x, out)
            }
            #[inline]
            fn log_density_and_score(&self, x: &[Self::Scalar], out: &mut [Self::Scalar]) -> Option<Self::Scalar> {
                (**self).log_density_and_score(x, out)
            }
            fn score_lipschitz(&self) -> Option<f64> {
                (**self).score_lipschitz()
            }
        }
        impl<P: NoiseConditionalScore + ?Sized> NoiseConditionalScore for $ptr {
            #[inline]
            fn score_sigma_into(&self, x: &[Self::Scalar], sigma: Self::Scalar, out: &mut [Self::Scalar]) {
                (**self).score_sigma_into(x, sigma, out)
            }
            #[inline]
            fn log_density_and_score_sigma(
                &self,
                x: &[Self::Scalar],
                sigma: Self::Scalar,
                out: &mut [Self::Scalar],
            ) -> Option<Self::Scalar> {
                (**self).log_density_and_score_sigma(x, sigma, out)
            }
        }
        impl<P: NoiseConditionalLogDensity + ?Sized> NoiseConditionalLogDensity for $ptr {
            #[inline]
            fn log_density_sigma(&self, x: &[Self::Scalar], sigma: Self::Scalar) -> Self::Scalar {
                (**self).log_density_sigma(x, sigma)
            }
        }
    )*};
}
forward_target!(&P, Box<P>, Arc<P>);

/// Log density and score in one call: writes `∇log p(x)` into `out` and returns `log p(x)`,
/// through the fused [`Score::log_density_and_score`] hook when the target provides one.
/// This is how MALA and the other Metropolis-corrected kernels evaluate targets.
///
/// ```
/// use langevin::density::log_density_and_score;
/// use langevin::targets::Gaussian;
/// let g = Gaussian::<f64>::standard(2)?;
/// let mut s = [0.0; 2];
/// let lp = log_density_and_score(&g, &[1.0, 0.0], &mut s);
/// assert_eq!(s, [-1.0, 0.0]);
/// assert!((lp - (-0.5 - (2.0 * std::f64::consts::PI).ln())).abs() < 1e-14);
/// # Ok::<(), langevin::Error>(())
/// ```
#[inline]
pub fn log_density_and_score<P>(target: &P, x: &[P::Scalar], out: &mut [P::Scalar]) -> P::Scalar
where
    P: LogDensity + Score + ?Sized,
{
    match target.log_density_and_score(x, out) {
        Some(lp) => lp,
        None => {
            target.score_into(x, out);
            target.log_density(x)
        }
    }
}

/// Noise-conditional score `s(x, σ) = ∇ₓ log p_σ(x)` of the target smoothed by `N(0, σ² I)`:
/// `p_σ = p ∗ N(0, σ² I)` (the NCSN convention of Song & Ermon 2019).
pub trait NoiseConditionalScore: Target {
    /// Writes `∇ₓ log p_σ(x)` into `out`.
    fn score_sigma_into(&self, x: &[Self::Scalar], sigma: Self::Scalar, out: &mut [Self::Scalar]);

    /// Fused evaluation hook, the noise-conditional twin of [`Score::log_density_and_score`]:
    /// override it to write `∇ₓ log p_σ(x)` into `out` and return `Some(log p_σ(x))` when the
    /// two share work (a mixture's responsibilities). The default returns `None` and leaves
    /// `out` untouched; Metropolis-adjusted annealed Langevin then calls
    /// [`NoiseConditionalScore::score_sigma_into`] and
    /// [`NoiseConditionalLogDensity::log_density_sigma`] separately.
    fn log_density_and_score_sigma(
        &self,
        x: &[Self::Scalar],
        sigma: Self::Scalar,
        out: &mut [Self::Scalar],
    ) -> Option<Self::Scalar> {
        let _ = (x, sigma, out);
        None
    }
}

/// Noise-conditional log density `log p_σ(x)` (up to a constant that may depend on σ) of the
/// target smoothed by `N(0, σ² I)`. Together with [`NoiseConditionalScore`] it lets annealed
/// Langevin add a Metropolis correction at every noise level.
pub trait NoiseConditionalLogDensity: Target {
    /// `log p_σ(x)` up to a constant.
    fn log_density_sigma(&self, x: &[Self::Scalar], sigma: Self::Scalar) -> Self::Scalar;
}
