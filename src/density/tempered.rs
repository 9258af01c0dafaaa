use super::{LogDensity, Score, Target};
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::{Error, Real, Result};

/// The Gibbs law at temperature `T`: `p_T(x) ∝ p(x)^(1/T)`.
///
/// `log p_T = log p / T` and `∇ log p_T = ∇ log p / T`. ULA on `Tempered` with step `h`,
/// `x' = x + (h/T) ∇log p(x) + sqrt(2h) ξ`, is exactly Euler–Maruyama with step `h/T` on the
/// Langevin SDE at temperature `T`, `dX = ∇log p dt + sqrt(2T) dW`
/// (see [`crate::sde::LangevinSde::with_temperature`]). Use this wrapper when you need the
/// tempered *density* (MALA, tempering ladders).
///
/// For a Gaussian `N(m, s²)` the tempered law is `N(m, T s²)`.
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::targets::Gaussian;
/// let p = Gaussian::<f64>::isotropic(vec![0.0], 1.0)?;
/// let hot = Tempered::new(p, 2.0)?;
/// // log p_T(2) − log p_T(0) = −(2²/2)/T = −1
/// assert!((hot.log_density(&[2.0]) - hot.log_density(&[0.0]) + 1.0).abs() < 1e-12);
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Tempered<P: Target> {
    inner: P,
    inv_t: P::Scalar,
    t: P::Scalar,
}

impl<P: Target> Tempered<P> {
    /// Wraps `inner` at temperature `temperature > 0`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the temperature is not finite and positive.
    pub fn new(inner: P, temperature: P::Scalar) -> Result<Self> {
        let t = temperature.to_f64();
        if !(t.is_finite() && t > 0.0) {
            return Err(Error::InvalidParameter {
                name: "temperature",
                value: t,
                expected: "a finite temperature T > 0 (T = 1 is the target itself)",
            });
        }
        Ok(Self {
            inner,
            inv_t: P::Scalar::one() / temperature,
            t: temperature,
        })
    }
    /// The temperature `T`.
    pub fn temperature(&self) -> P::Scalar {
        self.t
    }
    /// The wrapped target.
    pub fn inner(&self) -> &P {
        &self.inner
    }
}

impl<P: Target> Target for Tempered<P> {
    type Scalar = P::Scalar;
    fn dim(&self) -> usize {
        self.inner.dim()
    }
}

impl<P: LogDensity> LogDensity for Tempered<P> {
    fn log_density(&self, x: &[P::Scalar]) -> P::Scalar {
        self.inner.log_density(x) * self.inv_t
    }
}

impl<P: Score> Score for Tempered<P> {
    fn score_into(&self, x: &[P::Scalar], out: &mut [P::Scalar]) {
        self.inner.score_into(x, out);
        for o in out.iter_mut() {
            *o *= self.inv_t;
        }
    }
    fn log_density_and_score(&self, x: &[P::Scalar], out: &mut [P::Scalar]) -> Option<P::Scalar> {
        let lp = self.inner.log_density_and_score(x, out)?;
        for o in out.iter_mut() {
            *o *= self.inv_t;
        }
        Some(lp * self.inv_t)
    }
    /// The inner target's constant divided by the temperature.
    fn score_lipschitz(&self) -> Option<f64> {
        Some(self.inner.score_lipschitz()? * self.inv_t.to_f64())
    }
}
