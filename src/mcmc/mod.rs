//! Markov kernels: unadjusted Langevin ([`Ula`]), Metropolis-adjusted Langevin ([`Mala`]),
//! Metropolis-adjusted Langevin trajectories ([`Malt`]), Barker's proposal ([`Barker`]) and
//! the stochastic-gradient family — [`Sgld`], RMSprop-preconditioned [`PSgld`] and [`Sghmc`] —
//! with its step schedules.
//!
//! A [`Kernel`] is an immutable configuration; its per-chain [`Kernel::State`] owns the
//! position, cached evaluations and scratch buffers, so a step allocates nothing and one
//! kernel can drive many chains on many threads.

mod barker;
mod mala;
mod malt;
pub(crate) mod precond;
mod psgld;
mod sghmc;
mod sgld;
mod step_schedule;
mod ula;

pub use barker::{Barker, BarkerState, barker_log_acceptance};
pub use mala::{DIVERGENCE_LOG_RATIO, Mala, MalaState, mala_log_acceptance};
pub use malt::{Malt, MaltState};
pub use precond::{
    Metric, PrecondMala, PrecondMalaState, PrecondUla, PrecondUlaState, TunableMetric,
    precond_mala_log_acceptance,
};
pub use psgld::{PSgld, PSgldState};
pub use sghmc::{Sghmc, SghmcState};
pub use sgld::{ExactScore, GradientNoise, Sgld, SgldState, StochasticScore};
pub use step_schedule::{Constant, PolynomialDecay, StepSchedule};
pub use ula::{Ula, UlaState};

#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::{Real, Result};
use rand::Rng;

/// What one transition did.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct StepInfo {
    /// Whether the proposal was accepted (always `true` for unadjusted kernels).
    pub accepted: bool,
    /// The Metropolis–Hastings acceptance probability `min(1, r)` of the proposal (1 for
    /// unadjusted kernels; 0 for a non-finite proposal). Averaging it (Rao–Blackwellisation)
    /// estimates the acceptance rate with less noise than averaging `accepted`.
    pub accept_prob: f64,
    /// The proposal was rejected as divergent: a non-finite (NaN or +∞) log density, a
    /// non-finite score or log acceptance ratio, or (Metropolis-adjusted Langevin kernels) a
    /// log acceptance ratio below `−`[`DIVERGENCE_LOG_RATIO`] (Stan's energy-error criterion).
    /// `-∞` (outside the support) is a plain rejection.
    pub divergent: bool,
}

impl StepInfo {
    /// An accepted unadjusted step.
    pub const UNADJUSTED: StepInfo = StepInfo {
        accepted: true,
        accept_prob: 1.0,
        divergent: false,
    };

    /// A step with the given outcome.
    pub fn new(accepted: bool, accept_prob: f64, divergent: bool) -> Self {
        Self {
            accepted,
            accept_prob,
            divergent,
        }
    }
}

/// A Markov transition kernel on ℝᵈ.
///
/// Implement it to run your own sampler with the crate's multi-chain driver
/// ([`crate::run::Sampler`]), diagnostics and conformance kit ([`crate::testing`]).
pub trait Kernel: Sync {
    /// The scalar type.
    type Scalar: Real;
    /// Per-chain state: position, caches, scratch buffers, step counter.
    type State: Send;

    /// The dimension of the state space.
    fn dim(&self) -> usize;

    /// Builds the state of chain `chain` at `x0`.
    ///
    /// # Errors
    /// [`crate::Error::DimensionMismatch`] or [`crate::Error::InvalidInitialState`] if `x0`
    /// has the wrong length, or it or the target's evaluations there are not finite.
    fn init(&self, x0: &[Self::Scalar], chain: usize) -> Result<Self::State>;

    /// One transition.
    ///
    /// # Errors
    /// Unrecoverable numerical failure, e.g. [`crate::Error::NonFiniteState`] for an
    /// unadjusted kernel whose state overflowed; the chain stops.
    fn step<R: Rng + ?Sized>(&self, state: &mut Self::State, rng: &mut R) -> Result<StepInfo>;

    /// The current position of a chain.
    fn position<'a>(&self, state: &'a Self::State) -> &'a [Self::Scalar];

    /// A short name of the kernel for the run record ([`crate::Trace`]'s configuration and
    /// the CmdStan CSV header). Defaults to the type's name.
    fn name(&self) -> String {
        let full = std::any::type_name::<Self>();
        let base = full.split('<').next().unwrap_or(full);
        base.rsplit("::").next().unwrap_or(base).to_string()
    }

    /// The kernel's parameters for the run record, as `(name, value)` pairs (e.g.
    /// `("step_size", h)`). Defaults to none.
    fn parameters(&self) -> Vec<(String, f64)> {
        Vec::new()
    }

    /// The kernel's step against a known stability bound of the kernel on its target, when one
    /// is known (read by the driver into [`crate::trace::RunConfig::stability`] and checked
    /// by the health report). Default: none known.
    ///
    /// [`Ula`] knows one when its target reports [`crate::Score::score_lipschitz`]: see
    /// [`StabilityBound`].
    fn stability_bound(&self) -> Option<StabilityBound> {
        None
    }

    /// Warm-up hook, called by the driver once per chain before warm-up with the number of
    /// warm-up iterations. A kernel that tunes itself during warm-up (the adaptive kernels of
    /// [`crate::adapt::Adaptive`], e.g. `Mala::auto`) starts its adaptation here; the default
    /// does nothing.
    fn warmup_start(&self, state: &mut Self::State, warmup: usize) {
        let _ = (state, warmup);
    }

    /// Warm-up hook, called after each warm-up transition with its outcome. Default: nothing.
    fn warmup_adapt(&self, state: &mut Self::State, iteration: usize, info: &StepInfo) {
        let _ = (state, iteration, info);
    }

    /// Warm-up hook, called once at the end of warm-up: freezes what was tuned and reports it
    /// (recorded in the trace). After this call the kernel must not change any more, so the
    /// draws come from one fixed Markov kernel. Default: nothing tuned.
    fn warmup_finish(&self, state: &mut Self::State) -> Tuned {
        let _ = state;
        Tuned::default()
    }
}

/// A kernel's step beside the largest step for which it is stable on its target
/// ([`Kernel::stability_bound`]).
///
/// For ULA, `x' = x + h ∇log p(x) + sqrt(2h) ξ`, on `N(m, Σ)` the mean recursion is
/// `E x' − m = (I − h Σ⁻¹)(E x − m)`, a contraction iff every eigenvalue `1 − h/λ` of
/// `I − hΣ⁻¹` (λ an eigenvalue of Σ) lies in (−1, 1), i.e. iff `h < 2 λ_min(Σ)`; the
/// covariance recursion `V' = (I − hP)V(I − hP) + 2h I` has the same condition. At
/// `h ≥ 2 λ_min(Σ)` the chain diverges geometrically, by the factor `|1 − h/λ_min|` per step.
/// For a target whose score is `L`-Lipschitz (a Gaussian: `L = λ_max(Σ⁻¹) = 1/λ_min(Σ)`) the
/// bound is `2/L`; on a non-Gaussian target it is the condition under which the drift step
/// `x + h∇log p(x)` cannot expand distances, and the health report words its warning so.
///
/// Reference: G. O. Roberts, R. L. Tweedie (1996), Exponential convergence of Langevin
/// distributions and their discrete approximations, *Bernoulli* 2(4):341–363, §3.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct StabilityBound {
    /// The kernel's step size `h`.
    pub step_size: f64,
    /// The largest stable step: the kernel is unstable for `h ≥ max_step_size`.
    pub max_step_size: f64,
}

impl StabilityBound {
    /// A step size and its stability bound.
    pub fn new(step_size: f64, max_step_size: f64) -> Self {
        Self {
            step_size,
            max_step_size,
        }
    }
    /// Whether the step lies beyond the bound (`h ≥ max_step_size`).
    pub fn is_unstable(&self) -> bool {
        self.step_size >= self.max_step_size
    }
}

/// What a kernel tuned during warm-up ([`Kernel::warmup_finish`]).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Tuned {
    /// The frozen step size.
    pub step_size: Option<f64>,
    /// The frozen metric: its diagonal (length d) or the full matrix row-major (length d²).
    pub metric: Option<Vec<f64>>,
}

impl Tuned {
    /// A tuned step size and metric.
    pub fn new(step_size: Option<f64>, metric: Option<Vec<f64>>) -> Self {
        Self { step_size, metric }
    }
}

impl<K: Kernel + ?Sized> Kernel for &K {
    type Scalar = K::Scalar;
    type State = K::State;
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn init(&self, x0: &[Self::Scalar], chain: usize) -> Result<Self::State> {
        (**self).init(x0, chain)
    }
    fn step<R: Rng + ?Sized>(&self, state: &mut Self::State, rng: &mut R) -> Result<StepInfo> {
        (**self).step(state, rng)
    }
    fn position<'a>(&self, state: &'a Self::State) -> &'a [Self::Scalar] {
        (**self).position(state)
    }
    fn name(&self) -> String {
        (**self).name()
    }
    fn parameters(&self) -> Vec<(String, f64)> {
        (**self).parameters()
    }
    fn stability_bound(&self) -> Option<StabilityBound> {
        (**self).stability_bound()
    }
    fn warmup_start(&self, state: &mut Self::State, warmup: usize) {
        (**self).warmup_start(state, warmup)
    }
    fn warmup_adapt(&self, state: &mut Self::State, iteration: usize, info: &StepInfo) {
        (**self).warmup_adapt(state, iteration, info)
    }
    fn warmup_finish(&self, state: &mut Self::State) -> Tuned {
        (**self).warmup_finish(state)
    }
}

/// Step-size access for kernels whose step can be tuned per chain (used by adaptation).
pub trait TunableStepSize: Kernel {
    /// The step size `h` (Langevin-time convention) the chain currently uses.
    fn step_size(&self, state: &Self::State) -> Self::Scalar;
    /// Sets the chain's step size; must be finite and positive (callers validate).
    fn set_step_size(&self, state: &mut Self::State, h: Self::Scalar);
}

/// Marker for Metropolis-adjusted kernels: their acceptance probability `min(1, r)` reflects
/// the discretisation error of the step, so tuning the step towards a target acceptance
/// (dual averaging: [`crate::adapt::StepSizeAdaptation`], [`crate::adapt::WindowedAdaptation`])
/// is meaningful: [`Mala`], [`PrecondMala`], [`Malt`], [`Barker`]. Unadjusted kernels ([`Ula`], [`PrecondUla`]) always accept; an
/// acceptance-targeting adaptation would grow their step until the chain overflows, so the
/// adaptations require this trait and such a run does not compile:
///
/// ```compile_fail
/// use langevin::prelude::*;
/// use langevin::adapt::StepSizeAdaptation;
/// use langevin::targets::Gaussian;
/// let ula = Ula::new(Gaussian::<f64>::standard(2)?, 0.1)?;
/// let adapt = StepSizeAdaptation::new(0.574)?;
/// // error[E0277]: the trait bound `Ula<…>: MetropolisAdjusted` is not satisfied
/// let _ = Sampler::new(100).run_with(&ula, &[vec![0.0; 2]], &adapt, &());
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// The same run with [`Mala`] compiles:
///
/// ```
/// use langevin::prelude::*;
/// use langevin::adapt::StepSizeAdaptation;
/// use langevin::targets::Gaussian;
/// let mala = Mala::new(Gaussian::<f64>::standard(2)?, 0.1)?;
/// let adapt = StepSizeAdaptation::new(0.574)?;
/// let _ = Sampler::new(100).run_with(&mala, &[vec![0.0; 2]], &adapt, &())?;
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// Implement it for a custom kernel only if it has a Metropolis–Hastings correction whose
/// [`StepInfo::accept_prob`] is the true acceptance probability.
pub trait MetropolisAdjusted: TunableStepSize {}

impl<P: crate::LogDensity + crate::Score + Sync> MetropolisAdjusted for Mala<P> {}
impl<P: crate::LogDensity + crate::Score + Sync> MetropolisAdjusted for PrecondMala<P> {}
impl<P: crate::LogDensity + crate::Score + Sync> MetropolisAdjusted for Malt<P> {}
impl<P: crate::LogDensity + crate::Score + Sync> MetropolisAdjusted for Barker<P> {}

/// Checks an initial point: length `d` and finite entries.
pub(crate) fn check_x0<T: Real>(x0: &[T], d: usize, chain: usize) -> Result<()> {
    crate::error::check_len("initial point", d, x0.len())?;
    match crate::integrators::first_non_finite(x0) {
        None => Ok(()),
        Some(i) => Err(crate::Error::InvalidInitialState {
            chain,
            reason: format!("x0[{i}] = {} is not finite", x0[i]),
        }),
    }
}

/// The validated start of a Metropolis-adjusted chain (MALA, preconditioned MALA, Barker,
/// MALT): checks `x0`, evaluates the log density and score there in one fused call, and checks
/// that both are finite. Returns `(score, log density)`.
pub(crate) fn checked_start<P: crate::LogDensity + crate::Score + ?Sized>(
    target: &P,
    x0: &[P::Scalar],
    chain: usize,
) -> Result<(Vec<P::Scalar>, P::Scalar)> {
    check_x0(x0, target.dim(), chain)?;
    let mut g = vec![P::Scalar::zero(); x0.len()];
    let lp = crate::density::log_density_and_score(target, x0, &mut g);
    check_log_density_at_x0(lp, chain)?;
    check_score_at_x0(&g, chain)?;
    Ok((g, lp))
}

/// Checks the score at the initial point.
pub(crate) fn check_score_at_x0<T: Real>(g: &[T], chain: usize) -> Result<()> {
    match crate::integrators::first_non_finite(g) {
        None => Ok(()),
        Some(i) => Err(crate::Error::InvalidInitialState {
            chain,
            reason: format!("score[{i}] = {} at x0 is not finite", g[i]),
        }),
    }
}

/// Checks the log density at the initial point.
pub(crate) fn check_log_density_at_x0<T: Real>(lp: T, chain: usize) -> Result<()> {
    if lp.finite() {
        Ok(())
    } else {
        Err(crate::Error::InvalidInitialState {
            chain,
            reason: format!("log density {lp} at x0 is not finite"),
        })
    }
}

/// The end of an unadjusted step: `Ok(StepInfo::UNADJUSTED)` if the new state is finite,
/// otherwise the error naming the chain, the step and the first non-finite coordinate.
#[inline]
pub(crate) fn unadjusted_step_result<T: Real>(
    x: &[T],
    chain: usize,
    step: usize,
) -> Result<StepInfo> {
    match crate::integrators::first_non_finite(x) {
        None => Ok(StepInfo::UNADJUSTED),
        Some(coordinate) => Err(crate::Error::NonFiniteState {
            chain,
            step,
            coordinate,
        }),
    }
}
