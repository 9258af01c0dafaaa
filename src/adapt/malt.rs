//! MALT's warm-up adaptation: step size, integration time and friction ([`MaltAdaptation`],
//! [`crate::mcmc::Malt::auto`]). It lives in the driving layer with the other adaptations; the
//! kernel itself only exposes the setters it tunes.

use super::{Adaptive, DualAveraging, Welford};
use crate::density::{LogDensity, Score};
use crate::mcmc::{Kernel, Malt, MaltState, StepInfo, TunableStepSize};
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::run::Adaptation;
use crate::{Error, Real, Result};

/// `u* = argmax (1 − c(u)) / ((1 + c(u)) u)` with `c(u) = e^{−u}(1 + u)`: the integration time,
/// in units of the widest scale, that maximises the effective sample size per unit
/// integration time of critically damped kinetic Langevin on that scale (see
/// [`MaltAdaptation`]). Found numerically (grid of step 10⁻⁴ on (0, 10]): `u* = 2.8196`, where
/// `c(u*) = 0.2278`.
pub const MALT_OPTIMAL_TIME_FACTOR: f64 = 2.8196;

/// Warm-up adaptation of [`Malt`]'s step size `h`, integration time `τ` and friction `γ`
/// (each chain on its own draws), frozen at the end of warm-up. Built by [`Malt::auto`].
///
/// # Rule
/// ```text
/// every warm-up step t:  h ← dual-averaging update with α_t (target 0.65 by default)
/// from t = W/4 on:       Welford ← x_t                       (W = number of warm-up steps)
/// at t = W/2 and at W:   σ̂² = maxᵢ Var̂(xᵢ) · mᵢ             (the widest scale, in the
///                                                             metric of mass diag(m))
///                        γ ← c_γ / σ̂,  τ ← c_τ σ̂,  L = clamp(round(τ/h), 1, max_steps)
/// end of warm-up:        h ← h̄ (averaged iterate); h, τ, γ, L frozen for the draws
/// ```
/// with `c_γ = 2` and `c_τ = u* =` [`MALT_OPTIMAL_TIME_FACTOR`] `= 2.8196` by default
/// ([`MaltAdaptation::with_factors`]). The Welford estimate needs at least 10 draws; with
/// fewer (a warm-up shorter than ~40) `τ` and `γ` stay at the constructor's values.
///
/// **What it targets.** On a Gaussian coordinate of standard deviation `σ` (in the metric's
/// scale), kinetic Langevin is critically damped at `γ = 2/σ`, the friction that makes the
/// continuous dynamics mix fastest (Riou-Durand & Vogrinc 2022). A MALT transition starts from
/// a fresh momentum, so in continuous time the position after integration time `τ` is
/// `c(τ/σ) x₀ + noise` with `c(u) = e^{−u}(1 + u)` (the critically damped response to
/// `x(0) = 1, ẋ(0) = 0`): the chain on that coordinate is an AR(1) with coefficient `c`, whose
/// effective sample size per unit time (the cost is `L = τ/h` scores) is
/// `(1 − c)/((1 + c) τ)`, maximal at `τ = u* σ` with `u* = 2.8196`. The rule sets both for the
/// widest scale, the slowest direction, which bounds the ESS of a Gaussian target
/// (narrower directions are over-damped at this γ and mix faster per unit time than the
/// widest one). The targets are therefore `τ* = 2.8196 σ_max` and `γ* = 2/σ_max`, where
/// `σ_max²` is the largest diagonal entry of the target covariance in the metric's scale
/// (exact for diagonal Gaussians; for correlated ones the largest marginal variance
/// underestimates the largest eigenvalue). It is in the spirit of Adaptive-MALT (Riou-Durand,
/// Sountsov, Vogrinc, Margossian & Power 2023), which also ties the damping to the
/// trajectory length through the largest scale estimated from warm-up draws, but it is this
/// crate's simpler per-chain rule, not their cross-chain ESJD criterion: it ignores the
/// discretisation and the Metropolis rejections, and non-Gaussian targets get the rule of the
/// Gaussian with the same marginal variances.
///
/// Tested in `tests/malt_adapt.rs`: the adapted `τ` and `γ` on an anisotropic diagonal
/// Gaussian against `τ*` and `γ*`, the K-step invariance of the adapted (frozen) kernel, and
/// bit-identical `h`, `τ`, `γ`, `L` over the post-warm-up steps.
#[derive(Debug, Clone, PartialEq)]
pub struct MaltAdaptation {
    template: DualAveraging,
    target_accept: f64,
    tau_factor: f64,
    gamma_factor: f64,
}

/// Per-chain state of [`MaltAdaptation`]: the dual averaging of `h` and the Welford variance
/// estimate of the draws.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "checkpoint", derive(serde::Serialize, serde::Deserialize))]
pub struct MaltAdaptationState {
    da: DualAveraging,
    welford: Welford,
    warmup: usize,
}

impl MaltAdaptation {
    /// Dual averaging of `h` towards acceptance `target_accept` (0.65 is HMC's optimum,
    /// Beskos et al. 2013, carried over to MALT by Riou-Durand & Vogrinc 2022) and the
    /// default factors `c_τ = 2.8196`, `c_γ = 2`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `0 < target_accept < 1`.
    pub fn new(target_accept: f64) -> Result<Self> {
        let template = DualAveraging::new(1.0, target_accept)?;
        Ok(Self {
            template,
            target_accept,
            tau_factor: MALT_OPTIMAL_TIME_FACTOR,
            gamma_factor: 2.0,
        })
    }

    /// Sets `τ = c_τ σ̂` and `γ = c_γ / σ̂` (`c_γ = 0` adapts `τ` only and runs HMC-like
    /// trajectories with no friction).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `c_τ` is finite and > 0 and `c_γ` finite and ≥ 0.
    pub fn with_factors(mut self, tau_factor: f64, gamma_factor: f64) -> Result<Self> {
        if !(tau_factor.is_finite() && tau_factor > 0.0) {
            return Err(Error::InvalidParameter {
                name: "integration-time factor c_tau",
                value: tau_factor,
                expected: "a finite c_τ > 0 (τ = c_τ σ_max; 2.8196 is the default)",
            });
        }
        if !(gamma_factor.is_finite() && gamma_factor >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "friction factor c_gamma",
                value: gamma_factor,
                expected: "a finite c_γ ≥ 0 (γ = c_γ / σ_max; 2 is critical damping)",
            });
        }
        self.tau_factor = tau_factor;
        self.gamma_factor = gamma_factor;
        Ok(self)
    }

    /// The target acceptance of the step-size dual averaging.
    pub fn target_accept(&self) -> f64 {
        self.target_accept
    }
    /// The factors `(c_τ, c_γ)`.
    pub fn factors(&self) -> (f64, f64) {
        (self.tau_factor, self.gamma_factor)
    }

    /// `τ ← c_τ σ̂`, `γ ← c_γ/σ̂` from the draws so far (nothing with fewer than 10).
    fn retune<P: LogDensity + Score + Sync>(
        &self,
        kernel: &Malt<P>,
        chain: &mut MaltState<P::Scalar>,
        welford: &Welford,
    ) {
        if welford.count() < 10 {
            return;
        }
        let var = welford.covariance();
        let mut s2 = 0.0_f64;
        for (v, &im) in var.iter().zip(chain.inv_mass()) {
            s2 = s2.max(v / im.to_f64());
        }
        let sigma = s2.sqrt();
        if sigma.is_finite() && sigma > 0.0 {
            kernel.set_trajectory(
                chain,
                P::Scalar::c(self.tau_factor * sigma),
                P::Scalar::c(self.gamma_factor / sigma),
            );
        }
    }
}

fn set_h<P: LogDensity + Score + Sync>(kernel: &Malt<P>, chain: &mut MaltState<P::Scalar>, h: f64) {
    if h.is_finite() && h > 0.0 {
        kernel.set_step_size(chain, P::Scalar::c(h));
    }
}

impl<P: LogDensity + Score + Sync> Adaptation<Malt<P>> for MaltAdaptation {
    type State = MaltAdaptationState;
    fn start(
        &self,
        kernel: &Malt<P>,
        chain: &mut MaltState<P::Scalar>,
        warmup: usize,
    ) -> MaltAdaptationState {
        let h0 = chain.step_size().to_f64();
        let h0 = if h0.is_finite() && h0 > 0.0 { h0 } else { 1.0 };
        let mut da = self.template.clone();
        da.restart(h0);
        MaltAdaptationState {
            da,
            welford: Welford::diagonal(kernel.dim()),
            warmup,
        }
    }
    fn adapt(
        &self,
        kernel: &Malt<P>,
        chain: &mut MaltState<P::Scalar>,
        state: &mut MaltAdaptationState,
        iteration: usize,
        info: &StepInfo,
    ) {
        let h = state.da.update(info.accept_prob);
        set_h(kernel, chain, h);
        if iteration >= state.warmup / 4 {
            // Same dimension by construction: cannot fail.
            let _ = state.welford.add(chain.position());
        }
        if iteration + 1 == state.warmup / 2 {
            self.retune(kernel, chain, &state.welford);
        }
    }
    fn finish(
        &self,
        kernel: &Malt<P>,
        chain: &mut MaltState<P::Scalar>,
        state: MaltAdaptationState,
    ) -> Option<f64> {
        set_h(kernel, chain, state.da.final_step_size());
        self.retune(kernel, chain, &state.welford);
        Some(chain.step_size().to_f64())
    }
}

impl<P: LogDensity + Score + Sync> Malt<P> {
    /// MALT whose step size, integration time and friction are adapted during warm-up by
    /// [`MaltAdaptation`] (acceptance target 0.65, `τ → 2.8196 σ̂_max`, `γ → 2/σ̂_max`), then
    /// frozen: `Sampler::new(n).run(&Malt::auto(target)?, &inits)`. Starts from
    /// `h = 0.5 d^(−1/4)`, `τ = 2.8196`, `γ = 2` (the rule's values for `σ_max = 1`). The
    /// adapted steps are reported in [`crate::Trace::adapted_step_size`]; the chain's `τ`,
    /// `γ` and `L` are in its [`MaltState`]. For other factors or acceptance,
    /// `Adaptive::new(Malt::new(target, h, L, γ)?, MaltAdaptation::new(a)?.with_factors(…)?)`.
    ///
    /// # Errors
    /// As [`Malt::new`].
    ///
    /// # Example
    /// ```
    /// use langevin::prelude::*;
    /// use langevin::mcmc::Malt;
    /// use langevin::targets::Gaussian;
    /// // Scales 0.5 … 3: the rule targets τ = 2.82 · 3 and γ = 2/3.
    /// let target = Gaussian::<f64>::diagonal(vec![0.0; 3], vec![0.25, 1.0, 9.0])?;
    /// let trace = Sampler::new(2_000).chains(2).warmup(1_000).seed(3)
    ///     .run(&Malt::auto(target)?, &[vec![0.0; 3]])?;
    /// assert!((trace.variance()[2] - 9.0).abs() < 2.0);
    /// assert!((trace.mean_accept_prob() - 0.65).abs() < 0.1);
    /// # Ok::<(), langevin::Error>(())
    /// ```
    pub fn auto(target: P) -> Result<Adaptive<Malt<P>, MaltAdaptation>> {
        let d = target.dim().max(1) as f64;
        let h = 0.5 * d.powf(-0.25);
        let steps = (MALT_OPTIMAL_TIME_FACTOR / h).round().max(1.0) as usize;
        let malt = Malt::new(target, P::Scalar::c(h), steps, P::Scalar::c(2.0))?;
        Ok(Adaptive::new(malt, MaltAdaptation::new(0.65)?))
    }
}
