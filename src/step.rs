//! Step sizes that carry their convention in their type, so a factor of two cannot slip
//! through when a step size is copied from another library or paper.
//!
//! This crate's convention (BlackJAX, score_sde's corrector) is **Langevin time** `h`:
//!
//! ```text
//! x' = x + h ∇log p(x) + sqrt(2h) ξ,        ξ ~ N(0, I)          [`LangevinStep`]
//! ```
//!
//! Many libraries instead quote the **variance of the injected noise** `ε = 2h`, with the
//! update written `x' = x + (ε/2) ∇log p(x) + sqrt(ε) ξ`:
//!
//! | source | name | convention | this crate |
//! |---|---|---|---|
//! | TensorFlow Probability `MetropolisAdjustedLangevinAlgorithm`, `UncalibratedLangevin` | `step_size` | `ε = 2h` | [`ProposalVariance`] |
//! | NCSN annealed Langevin (Song & Ermon 2019, Alg. 1) | `α_i` | `ε = 2h` | [`ProposalVariance`] |
//! | SGLD (Welling & Teh 2011) | `ε_t` | `ε = 2h` | [`ProposalVariance`] |
//! | Roberts & Tweedie (1996), Durmus & Moulines | `h`, `γ` | `h` | [`LangevinStep`] |
//! | BlackJAX `mala`, score_sde `LangevinCorrector` | `step_size`, `step_size` | `h` | [`LangevinStep`] |
//!
//! Convert explicitly with `From` — the compiler then refuses to pass an `ε` where an `h` is
//! meant:
//!
//! ```
//! use langevin::step::{LangevinStep, ProposalVariance};
//! let tfp_step_size = ProposalVariance::new(0.1)?;     // TFP's step_size
//! let h: LangevinStep = tfp_step_size.into();           // h = ε / 2
//! assert_eq!(h.get(), 0.05);
//! assert_eq!(ProposalVariance::from(h).get(), 0.1);
//! assert!((h.noise_std() - 0.1f64.sqrt()).abs() < 1e-15); // sqrt(2h) = sqrt(ε)
//! // Samplers take either type through `with_step` (or the raw h through `new`):
//! # use langevin::prelude::*;
//! let target = langevin::targets::Gaussian::<f64>::standard(2)?;
//! let mala = Mala::with_step(target, tfp_step_size)?;
//! assert_eq!(mala.step_size(), 0.05);
//! # Ok::<(), langevin::Error>(())
//! ```
//!
//! score_sde's predictor–corrector sampler chooses its corrector step from a signal-to-noise
//! ratio: [`LangevinStep::from_snr`].

use crate::Result;
use crate::error::check_positive;

/// A step size in Langevin time: `x' = x + h ∇log p(x) + sqrt(2h) ξ` (this crate's
/// convention; see the [module table](self)).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct LangevinStep(f64);

/// The variance `ε = 2h` of the injected noise, the convention of TFP's `step_size`, NCSN's
/// `α` and SGLD's `ε`: `x' = x + (ε/2) ∇log p(x) + sqrt(ε) ξ`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct ProposalVariance(f64);

impl LangevinStep {
    /// A Langevin-time step `h`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidStepSize`] unless `h` is finite and positive.
    pub fn new(h: f64) -> Result<Self> {
        check_positive("Langevin step h", h)?;
        Ok(Self(h))
    }
    /// The value `h`.
    pub fn get(self) -> f64 {
        self.0
    }
    /// The drift coefficient `h` multiplying `∇log p`.
    pub fn drift(self) -> f64 {
        self.0
    }
    /// The standard deviation `sqrt(2h)` of the injected noise per coordinate.
    pub fn noise_std(self) -> f64 {
        (2.0 * self.0).sqrt()
    }
    /// score_sde's corrector step (Song et al. 2021, Alg. 5 / `LangevinCorrector`):
    /// `h = 2 α (snr · ‖z‖ / ‖s‖)²` for the signal-to-noise ratio `snr`, the VP `α_t`
    /// (1 for VE), the noise norm `‖z‖` and the score norm `‖s‖` (score_sde's `step_size`
    /// is already this `h`: its update is `x + h s + sqrt(2h) z`).
    ///
    /// # Errors
    /// [`crate::Error::InvalidStepSize`] if the resulting `h` is not finite and positive
    /// (e.g. a zero score norm).
    pub fn from_snr(snr: f64, alpha: f64, noise_norm: f64, score_norm: f64) -> Result<Self> {
        let r = snr * noise_norm / score_norm;
        Self::new(2.0 * alpha * r * r)
    }
}

impl ProposalVariance {
    /// A noise variance `ε = 2h`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidStepSize`] unless `ε` is finite and positive.
    pub fn new(eps: f64) -> Result<Self> {
        check_positive("proposal variance ε = 2h", eps)?;
        Ok(Self(eps))
    }
    /// The value `ε`.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl From<ProposalVariance> for LangevinStep {
    /// `h = ε / 2`.
    fn from(e: ProposalVariance) -> Self {
        Self(e.0 / 2.0)
    }
}

impl From<LangevinStep> for ProposalVariance {
    /// `ε = 2h`.
    fn from(h: LangevinStep) -> Self {
        Self(2.0 * h.0)
    }
}

impl core::fmt::Display for LangevinStep {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "h = {} (Langevin time)", self.0)
    }
}

impl core::fmt::Display for ProposalVariance {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ε = {} (noise variance, = 2h)", self.0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::float_cmp)] // conversions by 2 are exact in binary floating point
    use super::*;

    /// Catches: a conversion in the wrong direction (ε = h/2) or a lossy round trip, and
    /// the snr formula missing its factor 2 or the square.
    #[test]
    fn conversions_and_snr() {
        let h = LangevinStep::new(0.3).unwrap();
        assert_eq!(ProposalVariance::from(h).get(), 0.6);
        assert_eq!(LangevinStep::from(ProposalVariance::from(h)), h);
        assert!(LangevinStep::new(0.0).is_err());
        assert!(ProposalVariance::new(f64::NAN).is_err());
        // snr 0.16, α = 1, ‖z‖ = 10, ‖s‖ = 4: h = 2 (0.16 · 2.5)² = 0.32
        let c = LangevinStep::from_snr(0.16, 1.0, 10.0, 4.0).unwrap();
        assert!((c.get() - 0.32).abs() < 1e-15);
        assert!(LangevinStep::from_snr(0.16, 1.0, 10.0, 0.0).is_err());
    }
}
