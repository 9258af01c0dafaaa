//! # langevin
//!
//! Sampling with Langevin dynamics and the stochastic-differential-equation numerics around
//! it: unadjusted and Metropolis-adjusted Langevin, tempered (Gibbs) sampling, the Langevin
//! SDE as one instance of a general [`Sde`] advanced by an [`Integrator`], and multi-chain
//! runs that are bit-reproducible whatever the thread count.
//!
//! ## The one idea
//!
//! Sampling from `p(x) ∝ exp(−U(x))` with Langevin dynamics means integrating
//!
//! ```text
//! dX_t = ∇log p(X_t) dt + sqrt(2T) dW_t          stationary law ∝ p^(1/T)  (T = 1: p)
//! ```
//!
//! *What* to sample is a [`Target`] with a [`LogDensity`] and/or a [`Score`]; *how* a step
//! moves is an [`Integrator`] on an [`Sde`] (ULA is literally [`EulerMaruyama`] on
//! [`LangevinSde`]) or a Metropolis-corrected kernel ([`Mala`]); *driving* many chains is
//! [`Sampler`]; the result is a [`Trace`].
//!
//! ## One step-size convention
//!
//! Every step size `h` in this crate is Langevin time:
//!
//! ```text
//! x' = x + h ∇log p(x) + sqrt(2h) ξ,        ξ ~ N(0, I)
//! ```
//!
//! (BlackJAX, score_sde). TensorFlow Probability's `step_size` ε and NCSN's α are `2h`:
//! divide them by two.
//!
//! ## Quick start
//!
//! ```
//! use langevin::prelude::*;
//! use langevin::targets::Gaussian;
//!
//! fn main() -> Result<(), langevin::Error> {
//!     // A correlated 2-D Gaussian, sampled by MALA on 4 chains in parallel; the step is
//!     // adapted during warm-up by dual averaging, then frozen.
//!     let target = Gaussian::<f64>::full(vec![1.0, -1.0], &[1.0, 0.8, 0.8, 1.0])?;
//!     let trace = Sampler::new(4_000).seed(42).run(&Mala::auto(target)?, &[vec![0.0, 0.0]])?;
//!     let mean = trace.mean();
//!     assert!((mean[0] - 1.0).abs() < 0.15 && (mean[1] + 1.0).abs() < 0.15);
//!     assert!(trace.check().is_ok()); // the health report: no warnings
//!     println!("acceptance {:.3}", trace.acceptance());
//!     Ok(())
//! }
//! ```
//!
//! A fixed step is [`Mala::new`]; every run has a health report ([`Trace::check`]).
//!
//! ## Modules, by layer
//!
//! The crate is built in layers — *what* to sample → *how* a step moves → *driving* many
//! chains → *judging* the result — and a module may use only its own layer and the layers
//! below it (checked over the source by the `layers` test). The rules:
//! **a target knows no sampler; a kernel knows no driver, files or threads (parallel loops
//! go through one pool helper below everything); the driver decides nothing about health
//! inline; diagnostics work on plain slices.**
//!
//! | layer | module | contents |
//! |---|---|---|
//! | foundation | [`real`] | the [`Real`] scalar (f32 / f64 over nalgebra's `RealField`) and vectorisable sums |
//! | foundation | [`error`] | [`Error`], one typed error for the crate (wraps the diagnostics' own) |
//! | foundation | [`rng`] | per-chain portable streams; vectorised normals ([`rng::SimdNormal`]) |
//! | foundation | [`step`] | step sizes that carry their convention in their type ([`step::LangevinStep`] `h`, [`step::ProposalVariance`] `ε = 2h`) |
//! | foundation | `linalg`, `pool` (crate-private) | the one Cholesky (nalgebra's); cached rayon pools for every parallel loop |
//! | foundation (leaf) | [`diagnostics`] | ESS, R-hat, MCSE, autocorrelation, summary tables, goodness of fit, energy distance, kernel Stein discrepancy — on plain slices, importing nothing else from the crate (except the Stein tools that take a [`Score`]: KSD of a target, zero-variance control variates, Stein thinning) |
//! | what | [`density`] | [`Target`], [`LogDensity`], [`Score`], closures, tempering, finite-difference checks |
//! | what | [`targets`] | analytic targets with exact moments: Gaussians, mixtures, banana, funnel, double well, dice, logistic posterior, statrs laws |
//! | what | [`sde`] | [`Sde`], noise structure, [`LangevinSde`], Ornstein–Uhlenbeck and geometric Brownian motion with exact laws, replayable Brownian paths (and the multi-path [`sde::Solver`], a driver kept beside the SDEs it solves) |
//! | what | [`transform`] | constrained parameters: bijections (exp, logit to an interval, softplus, stick-breaking) with log-Jacobians |
//! | what | `autodiff` (feature `autodiff`) | scores of generic log densities by forward-mode dual numbers (num-dual) |
//! | how | [`integrators`] | [`Integrator`], [`EulerMaruyama`], Milstein (and derivative-free), SRA1, stochastic Heun; BAOAB / OBABO for underdamped Langevin |
//! | how | [`mcmc`] | [`Kernel`], [`Ula`], [`Mala`], SGLD with step schedules, preconditioned [`mcmc::PrecondUla`] / [`mcmc::PrecondMala`] with a [`mcmc::Metric`] |
//! | how | [`smc`] | sequential Monte Carlo / annealed importance sampling on a tempering path, moving particles with the [`mcmc`] kernels; log Z with a standard error |
//! | how | [`annealed`] | noise schedules, annealed Langevin (plain and Metropolis-adjusted), VE/VP/sub-VP SDEs, reverse-time samplers (predictor–corrector, probability flow, DDIM), exact and empirical scores, denoising score matching |
//! | driving | [`run`] | [`Sampler`] (the multi-chain driver), [`Observer`], the [`run::Adaptation`] hook; checkpoint and bit-identical resume (`run::checkpoint`, feature `checkpoint`); sharded runs ([`run::shard`]: `chain_range`, `Trace::merge`, shard files) |
//! | driving | [`trace`] | [`Trace`]: draws and per-chain statistics; mapping a trace through a bijection |
//! | driving | [`adapt`] | warm-up adaptation: dual averaging, Welford mass matrix, Stan-style windows |
//! | driving | [`export`] | CmdStan-layout CSV (ArviZ `from_cmdstan`) and NumPy `.npy` |
//! | driving | [`stream`] | draws streamed to disk as they are produced (CmdStan CSV, `.npy`) with bounded memory; readers that detect truncated files |
//! | driving | `neural` (feature `neural`) | learned score models: NCSN and DDPM-ε MLPs trained by denoising / explicit score matching, safetensors files |
//! | driving | `distributed` (feature `mpi`) | MPI runs (rsmpi): each rank runs a contiguous shard of chains or particles, rank 0 gathers the bit-identical result |
//! | driving | `progress` (feature `progress`) | one progress bar per chain through the [`Observer`] hook (indicatif) |
//! | judging | [`testing`] | [`testing::estimate_order`]: fitted strong/weak orders with confidence intervals; [`testing::BiasStudy`]: the discretisation bias of any expectation from coupled runs at h and h/2, with Richardson extrapolation; [`testing::conformance`]: how to test your own sampler |
//! | judging | `plot` (feature `plot`) | PNG trace plots, histograms against exact densities, autocorrelation, scatter, image grids (plotters) |
//!
//! The user guide — from Langevin dynamics to annealed diffusion, choosing a sampler,
//! conventions of other libraries, testing your own sampler, performance — is `docs/guide.md`
//! in the repository.
//!
//! ## References
//! * G. O. Roberts, R. L. Tweedie (1996), *Bernoulli* 2(4):341–363 — ULA and MALA.
//! * G. O. Roberts, J. S. Rosenthal (1998), *J. R. Stat. Soc. B* 60(1):255–268 — MALA scaling.
//! * P. E. Kloeden, E. Platen (1992), *Numerical Solution of Stochastic Differential Equations*.
//! * D. J. Higham (2001), *SIAM Review* 43(3):525–546 — SDE simulation and orders.
//! * A. Rößler (2010), *SIAM J. Numer. Anal.* 48(3):922–952 — SRA1.
//! * B. Leimkuhler, C. Matthews (2013), *Appl. Math. Res. Express*; (2015) *Molecular Dynamics* — BAOAB.
//! * M. Welling, Y. W. Teh (2011), *ICML* — SGLD.
//! * S. Mandt, M. D. Hoffman, D. M. Blei (2017), *JMLR* 18 — SGD as approximate inference.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![doc(test(attr(deny(warnings))))]

pub mod adapt;
pub mod annealed;
#[cfg(feature = "autodiff")]
pub mod autodiff;
pub mod density;
pub mod diagnostics;
#[cfg(feature = "mpi")]
pub mod distributed;
pub mod error;
pub mod export;
pub mod integrators;
mod linalg;
pub mod mcmc;
#[cfg(feature = "neural")]
pub mod neural;
#[cfg(feature = "plot")]
pub mod plot;
mod pool;
#[cfg(feature = "progress")]
pub mod progress;
pub mod real;
pub mod rng;
pub mod run;
pub mod sde;
pub mod smc;
pub mod step;
pub mod stream;
pub mod targets;
pub mod testing;
pub mod trace;
pub mod transform;

pub use density::{LogDensity, NoiseConditionalLogDensity, NoiseConditionalScore, Score, Target};
pub use error::{Error, Result};
pub use integrators::{EulerMaruyama, Integrator};
pub use mcmc::{Kernel, Mala, StepInfo, Ula};
pub use real::Real;
pub use run::{Observer, Sampler};
pub use sde::{LangevinSde, Sde};
pub use trace::{RunConfig, Trace};

// The user guide, as a documentation module (reachable on docs.rs as `langevin::guide`); its
// snippets are doctests, compiled and run as pasted. It includes the `autodiff`, `neural` and
// `checkpoint` snippets, so it is built (and tested) with these features; docs.rs builds with all
// features.
#[cfg_attr(
    all(feature = "autodiff", feature = "neural", feature = "checkpoint"),
    doc = include_str!("../docs/guide.md")
)]
#[cfg_attr(
    not(all(feature = "autodiff", feature = "neural", feature = "checkpoint")),
    doc = "The user guide (`docs/guide.md`), included here when the `autodiff`, `neural` and \
           `checkpoint` features are on."
)]
pub mod guide {}

/// The `mpi` crate (rsmpi) this crate's [`distributed`] module is built on: initialise MPI
/// with `langevin::mpi::initialize()` and pass `universe.world()` (feature `mpi`).
#[cfg(feature = "mpi")]
pub use mpi;
/// The `rand` crate (0.10) this crate is built against. A custom [`Kernel`] writes its
/// `step` against `langevin::rand::Rng` (and `langevin::rand::RngExt` for uniforms), so its
/// random-number types always match the crate's without pinning `rand` by hand; see
/// `examples/custom_kernel.rs`.
pub use rand;
/// The `rand_distr` crate matching [`rand`] (e.g. `langevin::rand_distr::StandardNormal`).
/// For one standard normal of the crate's scalar type, [`Real::standard_normal`] is simpler.
pub use rand_distr;

/// The names most programs need: `use langevin::prelude::*;`.
pub mod prelude {
    pub use crate::density::{
        FnLogDensity, FnScore, FnTarget, FusedFnTarget, LogDensity, NoiseConditionalLogDensity,
        NoiseConditionalScore, Score, Target, Tempered, check_score, log_density_and_score,
    };
    pub use crate::integrators::{EulerMaruyama, Integrator};
    pub use crate::mcmc::{Kernel, Mala, StepInfo, TunableStepSize, Ula};
    pub use crate::real::Real;
    pub use crate::run::{Observer, Sampler};
    pub use crate::sde::{LangevinSde, Sde};
    pub use crate::step::{LangevinStep, ProposalVariance};
    pub use crate::targets::{Analytic, ExactSample};
    pub use crate::trace::Trace;
    pub use crate::{Error, Result};
    pub use nalgebra::ComplexField;
    pub use rand::{Rng, RngExt, SeedableRng};
}

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
