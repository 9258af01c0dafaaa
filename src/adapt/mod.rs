//! Warm-up adaptation: step size by dual averaging, mass matrix by Welford's algorithm in
//! Stan-style expanding windows.
//!
//! An adaptation plugs into the driver through [`crate::run::Adaptation`]: it tunes each
//! chain's kernel during warm-up and freezes the values at its end, so the recorded draws come
//! from one fixed Markov kernel (adapting during sampling would break invariance).
//!
//! | type | adapts | for kernels |
//! |---|---|---|
//! | [`StepSizeAdaptation`] | `h` by [`DualAveraging`] | any [`crate::mcmc::MetropolisAdjusted`] kernel ([`crate::Mala`], [`crate::mcmc::PrecondMala`]) |
//! | [`WindowedAdaptation`] | `h` and the metric `M` (none / diagonal / dense) in [`WarmupSchedule`] windows | [`crate::mcmc::MetropolisAdjusted`] `+` [`crate::mcmc::TunableMetric`] ([`crate::mcmc::PrecondMala`]) |
//! | [`MaltAdaptation`] | `h` by [`DualAveraging`], MALT's integration time `τ` and friction `γ` from the widest scale of the warm-up draws | [`crate::mcmc::Malt`] ([`crate::mcmc::Malt::auto`]) |
//!
//! | [`Adaptive`] | a kernel bundled with its adaptation: `Sampler::run` adapts it with no `run_with` ([`crate::Mala::auto`], [`crate::mcmc::PrecondMala::auto`]) | any |
//!
//! The default target acceptance is 0.574, the optimum for MALA (Roberts & Rosenthal 1998);
//! a non-finite acceptance probability is fed to the adaptation as 0.
//!
//! # References
//! * Y. Nesterov (2009), Primal-dual subgradient methods for convex problems, *Math.
//!   Program.* 120(1):221–259.
//! * M. D. Hoffman, A. Gelman (2014), The No-U-Turn sampler, *JMLR* 15:1593–1623, §3.2.
//! * B. P. Welford (1962), *Technometrics* 4(3):419–420.
//! * Stan Development Team, *Stan Reference Manual*, "HMC algorithm parameters: automatic
//!   parameter tuning".
//! * G. O. Roberts, J. S. Rosenthal (1998), *J. R. Stat. Soc. B* 60(1):255–268.

mod auto;
mod dual_averaging;
mod malt;
mod welford;
mod windowed;

pub use auto::{Adaptive, AdaptiveState};
pub use dual_averaging::DualAveraging;
pub use malt::{MALT_OPTIMAL_TIME_FACTOR, MaltAdaptation, MaltAdaptationState};
pub use welford::Welford;
pub use windowed::{
    MetricAdaptation, StepSizeAdaptation, WarmupSchedule, WindowedAdaptation, WindowedState,
};
