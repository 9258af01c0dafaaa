//! Annealed Langevin dynamics and score-based diffusion sampling, with exact and
//! data-driven scores — testable without any neural network.
//!
//! Diffusion models sample by running Langevin dynamics, or a reverse-time SDE, with a score
//! that depends on a noise level σ or a diffusion time t. This module provides:
//!
//! | what | items |
//! |---|---|
//! | noise-/time-conditional scores | [`crate::NoiseConditionalScore`] s(x, σ), [`TimeConditionalScore`] s(x, t), batched [`NoiseScoreBatch`] |
//! | exact scores | [`crate::targets::GaussianMixture`], [`SmoothedGaussian`] (full covariance, eigen-basis), [`EmpiricalScore`] (kernel-smoothed data, GEMM-batched), [`Marginal`] (any of them under a forward SDE) |
//! | schedules | [`SigmaLevels`] (geometric, Karras ρ = 7), [`BetaSchedule`] (linear, cosine) |
//! | annealed Langevin | [`AnnealedLangevin`] (Song & Ermon 2019, Alg. 1), [`AnnealedMala`] (MALA at every level) |
//! | forward SDEs | [`Ve`], [`Vp`], [`SubVp`] ([`ForwardSde`]: perturbation kernels, prior) |
//! | reverse-time samplers | [`ReverseSampler`] (EM / ancestral predictor + Langevin corrector), [`ProbabilityFlow`] (Heun), [`Ddim`], [`ReverseSde`] |
//! | EDM samplers (noise-conditional) | [`Edm`]: Heun on `dx/dσ = −σ s(x, σ)` over Karras levels, deterministic or with [`Churn`] (Karras et al. 2022) |
//! | fast ODE solver (time-conditional) | [`DpmSolverPp`]: DPM-Solver++(2M), data prediction in log-SNR steps ([`TimeGrid`]; Lu et al. 2022) |
//! | guidance (conditional sampling) | [`ClassifierFree`] `(1 + w) s(x \| y) − w s(x)` (Ho & Salimans 2022), [`ClassifierGuidance`] `s(x) + γ ∇log p(y \| x)` from a [`LogClassifierGradient`] / [`ClassifierFn`] |
//! | training signal | [`dsm_loss`] (denoising score matching) |
//! | log-likelihood (probability-flow ODE) | [`FlowLikelihood`]: `log p_ε(x)` in nats and bits/dim, Heun or adaptive Heun, exact or Hutchinson divergence ([`Divergence`]) from the score's JVPs ([`TimeScoreJvp`]; analytic, forward-mode for learned models, or [`FiniteDiffJvp`]) |
//!
//! ## Step conventions (read this)
//!
//! The crate's Langevin step is `x' = x + h s(x) + sqrt(2h) ξ`. Song & Ermon (2019) write
//! `x' = x + (α/2) s + sqrt(α) ξ`: **`h = α/2`**. [`LevelStep`] makes the choice explicit
//! (`LevelStep::Ncsn { epsilon }` takes the paper's ε, `LevelStep::Langevin { h_last }` the
//! crate's h at the last level, `LevelStep::PerLevel(h)` an explicit validated list). The SNR rule of the Langevin corrector, `ε = 2α(r‖z‖/‖s‖)²`
//! in score_sde, already *is* the crate's h.
//!
//! ## Score evaluations per sample
//!
//! | sampler | N steps cost | order (exact score) |
//! |---|---|---|
//! | [`ReverseSampler`] EM / ancestral | N (+ corrector steps) | weak 1 |
//! | [`Ddim`] (η = 0) | N | 1 |
//! | [`ProbabilityFlow`] (Heun in t) | 2N | 2 |
//! | [`Edm`] Heun in σ, to σ = 0 | 2N − 1 (the last step is Euler = Tweedie) | 2 |
//! | [`Edm`] with churn | 2N − 1 | stochastic: not an ODE solver; its law is checked against the exact recursion |
//! | [`DpmSolverPp`] (2M) | N | 2 |
//!
//! The orders are measured on a Gaussian data law, where every update is affine in x and the
//! discretised sampler has an exact recursion (`tests/diffusion.rs`,
//! `tests/diffusion_solvers.rs`).
//!
//! ## Particles and reproducibility
//!
//! Every sampler runs the particles of a [`ParticleRun`] in parallel blocks of fixed size;
//! particle i draws every random number from `rng::stream(seed, i)`, so results are
//! bit-identical on any number of threads (the Langevin corrector of [`ReverseSampler`], whose
//! step is a whole-batch statistic, reduces it over the blocks in block order). A non-finite
//! particle stops the run with [`crate::Error::NonFiniteState`] naming the particle (`chain`)
//! and the step.
//!
//! ## References
//! * Y. Song, S. Ermon (2019), Generative modeling by estimating gradients of the data
//!   distribution, *NeurIPS*.
//! * Y. Song, J. Sohl-Dickstein, D. P. Kingma, A. Kumar, S. Ermon, B. Poole (2021),
//!   Score-based generative modeling through stochastic differential equations, *ICLR*.
//! * J. Ho, A. Jain, P. Abbeel (2020), Denoising diffusion probabilistic models, *NeurIPS*.
//! * J. Song, C. Meng, S. Ermon (2021), Denoising diffusion implicit models, *ICLR*.
//! * T. Karras, M. Aittala, T. Aila, S. Laine (2022), Elucidating the design space of
//!   diffusion-based generative models, *NeurIPS*.
//! * C. Lu, Y. Zhou, F. Bao, J. Chen, C. Li, J. Zhu (2022), DPM-Solver++: fast solver for
//!   guided sampling of diffusion probabilistic models, arXiv:2211.01095.
//! * A. Nichol, P. Dhariwal (2021), Improved denoising diffusion probabilistic models, *ICML*.
//! * P. Vincent (2011), A connection between score matching and denoising autoencoders,
//!   *Neural Computation* 23(7).
//! * B. Efron (2011), Tweedie's formula and selection bias, *JASA* 106(496).
//! * B. D. O. Anderson (1982), Reverse-time diffusion equation models, *Stoch. Proc. Appl.* 12(3).

// Repetition kept on purpose: every reverse-time sampler exposes the same two entry points,
// `run_from_prior(run)` and `run(run, init)`, and validates its grid the same way through the
// shared `validate` / `grid` / `prior` helpers; the per-schedule loops differ exactly in the
// coefficients of their affine update, which is what each sampler's docs document, so they
// stay written out (the update itself goes through one `affine_step`). Pointer forwarding of
// the batched traits is generated once by a macro in `scores.rs`.

mod dpm_solver;
mod dsm;
mod edm;
mod guidance;
mod langevin;
mod likelihood;
mod particles;
mod reverse;
mod schedule;
mod scores;
mod sde;

pub use dpm_solver::{DpmSolverPp, TimeGrid};
pub use dsm::{DsmLoss, dsm_loss};
pub use edm::{Churn, Edm};
pub use guidance::{ClassifierFn, ClassifierFree, ClassifierGuidance, LogClassifierGradient};
pub use langevin::{AnnealedLangevin, AnnealedMala, AnnealedMalaOutput, LevelStep};
pub use likelihood::{
    Divergence, FiniteDiffJvp, FlowLikelihood, LogLikelihood, NoiseScoreJvp, OdeSolver, Probe,
    SmoothedLawJvp, TimeScoreJvp, mean_bits_per_dim,
};
pub use particles::{ParticleInit, ParticleRun, Particles};
pub use reverse::{
    Ddim, LangevinCorrector, Predictor, ProbabilityFlow, ReverseSampler, ReverseSde,
};
pub use schedule::{BetaSchedule, SigmaLevels};
pub use scores::{
    EmpiricalScore, Marginal, NoiseScoreBatch, SmoothedGaussian, SmoothedLaw, TimeConditionalScore,
};
pub use sde::{ForwardSde, SubVp, Ve, Vp};

#[inline]
pub(crate) fn ln_2pi() -> f64 {
    (2.0 * core::f64::consts::PI).ln()
}
