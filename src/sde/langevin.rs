use super::{NoiseKind, Sde};
use crate::density::{Score, Target};
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::{Error, Real, Result};

/// The overdamped Langevin SDE of a target at temperature `T`:
///
/// ```text
/// dX_t = ∇log p(X_t) dt + sqrt(2T) dW_t          stationary law ∝ p^(1/T)
/// ```
///
/// Euler–Maruyama on it with step `h` is the unadjusted Langevin algorithm,
/// `x' = x + h ∇log p(x) + sqrt(2hT) ξ`: this is exactly how [`crate::mcmc::Ula`] steps.
/// Its drift is the score (time-independent) and its noise is scalar and additive, so
/// Euler–Maruyama is already Milstein here (strong order 1).
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::targets::Gaussian;
/// let sde = LangevinSde::with_temperature(Gaussian::<f64>::standard(3)?, 2.0)?;
/// let mut g = [0.0];
/// sde.diffusion_into(0.0, &[0.0; 3], &mut g);
/// assert_eq!(g[0], 2.0); // sqrt(2T)
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct LangevinSde<P: Target> {
    target: P,
    temperature: P::Scalar,
    sqrt_2t: P::Scalar,
}

impl<P: Score> LangevinSde<P> {
    /// The Langevin SDE at temperature 1 (stationary law p).
    pub fn new(target: P) -> Self {
        let one = P::Scalar::one();
        Self {
            target,
            temperature: one,
            sqrt_2t: P::Scalar::c(2.0).sqrt(),
        }
    }

    /// The Langevin SDE at temperature `T > 0` (stationary law `p^(1/T)`).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `temperature` is finite and positive.
    pub fn with_temperature(target: P, temperature: P::Scalar) -> Result<Self> {
        let t = temperature.to_f64();
        if !(t.is_finite() && t > 0.0) {
            return Err(Error::InvalidParameter {
                name: "temperature",
                value: t,
                expected: "a finite temperature T > 0",
            });
        }
        Ok(Self {
            target,
            temperature,
            sqrt_2t: (P::Scalar::c(2.0) * temperature).sqrt(),
        })
    }

    /// The target.
    pub fn target(&self) -> &P {
        &self.target
    }
    /// The temperature `T`.
    pub fn temperature(&self) -> P::Scalar {
        self.temperature
    }
    /// The diffusion coefficient `sqrt(2T)`.
    pub fn noise_scale(&self) -> P::Scalar {
        self.sqrt_2t
    }
}

impl<P: Target> Target for LangevinSde<P> {
    type Scalar = P::Scalar;
    fn dim(&self) -> usize {
        self.target.dim()
    }
}

impl<P: Score> Sde for LangevinSde<P> {
    fn noise_kind(&self) -> NoiseKind {
        NoiseKind::Scalar
    }
    #[inline]
    fn drift_into(&self, _t: P::Scalar, x: &[P::Scalar], out: &mut [P::Scalar]) {
        self.target.score_into(x, out)
    }
    #[inline]
    fn diffusion_into(&self, _t: P::Scalar, _x: &[P::Scalar], out: &mut [P::Scalar]) {
        out[0] = self.sqrt_2t;
    }
    fn diffusion_derivative_into(
        &self,
        _t: P::Scalar,
        _x: &[P::Scalar],
        out: &mut [P::Scalar],
    ) -> bool {
        for o in out.iter_mut() {
            *o = P::Scalar::zero();
        }
        true
    }
}
