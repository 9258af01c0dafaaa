//! The EDM samplers of Karras et al. (2022): Heun on the σ-parameterised probability-flow
//! ODE, deterministic or with "churn" (noise injection), on any noise-conditional score.

use super::particles::{Block, ParticleInit, ParticleRun, Particles, run_blocks};
use super::reverse::affine_step;
use super::schedule::SigmaLevels;
use super::scores::NoiseScoreBatch;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::rng::ChainRng;
use crate::{Error, Real, Result};

/// The stochastic part of the EDM sampler (Karras et al. 2022, Alg. 2): before step i the
/// noise level is raised from σ_i to `σ̂_i = (1 + γ_i) σ_i` by adding fresh noise,
///
/// ```text
/// γ_i = min(S_churn / N, √2 − 1)   if S_tmin ≤ σ_i ≤ S_tmax,   else 0        (N = number of steps)
/// x̂ = x + sqrt(σ̂_i² − σ_i²) S_noise ξ,     ξ ~ N(0, I)
/// ```
///
/// `S_churn = 0` is the deterministic sampler. Karras et al. (Table 5) use
/// `(S_churn, S_tmin, S_tmax, S_noise) = (80, 0.05, 50, 1.003)` for ImageNet-64 with 256 steps;
/// `S_noise` slightly above 1 compensates the detail a learned denoiser removes — with an exact
/// score it biases the variance upwards (use 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Churn {
    /// Overall amount of stochasticity S_churn ≥ 0 (spread over the N steps).
    pub s_churn: f64,
    /// Smallest σ_i at which noise is added (S_tmin ≥ 0).
    pub s_tmin: f64,
    /// Largest σ_i at which noise is added (S_tmax ≥ S_tmin; may be `f64::INFINITY`).
    pub s_tmax: f64,
    /// Standard deviation multiplier of the added noise, S_noise > 0.
    pub s_noise: f64,
}

impl Churn {
    fn validate(&self) -> Result<()> {
        if !(self.s_churn.is_finite() && self.s_churn >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "s_churn",
                value: self.s_churn,
                expected: "finite and ≥ 0 (0 is the deterministic sampler; Karras et al. use 10–80)",
            });
        }
        if !(self.s_tmin.is_finite() && self.s_tmin >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "s_tmin",
                value: self.s_tmin,
                expected: "finite and ≥ 0 (Karras et al. use 0.05)",
            });
        }
        if !(self.s_tmax >= self.s_tmin) {
            return Err(Error::InvalidParameter {
                name: "s_tmax",
                value: self.s_tmax,
                expected: "≥ s_tmin (may be infinite; Karras et al. use 50)",
            });
        }
        if !(self.s_noise.is_finite() && self.s_noise > 0.0) {
            return Err(Error::InvalidParameter {
                name: "s_noise",
                value: self.s_noise,
                expected: "finite and > 0 (1 for an exact score; Karras et al. use 1.003)",
            });
        }
        Ok(())
    }
}

/// The EDM sampler (Karras et al. 2022, Alg. 1 and 2): Heun's method on the probability-flow
/// ODE in the noise level σ, with optional churn.
///
/// With EDM's choice `σ(t) = t`, `s(t) = 1` the probability-flow ODE of `p_σ = p ∗ N(0, σ² I)`
/// is, in terms of the noise-conditional score `s(x, σ) = ∇log p_σ(x)` (the denoiser is
/// `D(x, σ) = x + σ² s(x, σ)`, Tweedie),
///
/// ```text
/// dx/dσ = −σ s(x, σ) = (x − D(x, σ)) / σ
/// ```
///
/// # Update rule
/// On the grid `σ_0 > σ_1 > … > σ_N` (the [`SigmaLevels`], by default followed by `σ_N = 0`),
/// from `x ~ N(0, σ_0² I)`, for i = 0..N−1:
///
/// ```text
/// σ̂ = (1 + γ_i) σ_i,   x̂ = x + sqrt(σ̂² − σ_i²) S_noise ξ          (churn; γ_i = 0 without it)
/// d  = −σ̂ s(x̂, σ̂);            x̃ = x̂ + (σ_{i+1} − σ̂) d                (Euler)
/// if σ_{i+1} > 0:  d' = −σ_{i+1} s(x̃, σ_{i+1});  x ← x̂ + (σ_{i+1} − σ̂)(d + d')/2   (Heun)
/// else (the last step to σ = 0):  x ← x̃ = x̂ + σ̂² s(x̂, σ̂) = D(x̂, σ̂)
/// ```
///
/// The last interval to σ = 0 is an **Euler step** (the score at σ = 0 is undefined; Karras
/// et al. do the same): it is exactly Tweedie denoising of `x̂` at σ̂. Score evaluations per
/// particle: `2N − 1` when the grid ends at 0, `2N` when it stops at σ_min
/// ([`Edm::stop_at_sigma_min`]); see [`Edm::score_evaluations`].
///
/// # Bias and stability
/// Without churn the map is deterministic and Heun is second order: with the exact score the
/// error of the law at σ_min is O(1/N²) (measured in `tests/diffusion_solvers.rs`: the error
/// of the affine flow map of a Gaussian quarters as N doubles; for data N(2, 0.25) on the
/// grid 80 → 0.002 it is 6.3e-2 with 16 steps, 1.5e-2 with 32 and 3.6e-3 with 64, and the
/// variance error is twice that — the 18-step grid Karras et al. use on images leaves this
/// Gaussian's variance ≈ 11 % too large). The final Euler step to 0
/// adds an O(σ_min²) error that does not shrink with N (σ_min = 0.002 makes it negligible).
/// Churn re-injects noise so that errors made at earlier levels (chiefly those of a learned
/// score) are partly forgotten (Karras et al. §4), but the churned step is itself not an
/// ODE step and adds discretisation error: with the exact score it does not help. On the
/// Gaussian of the tests (data N(2, 0.25), 18 levels, exact recursion) the final variance is
/// 0.278 for Heun and 0.310 with churn (5, 0.5, 10, 1). Heun is explicit: steps much larger
/// than the data scale where σ is small would overshoot; the ρ = 7 levels keep them small there.
///
/// # Particles
/// Runs the particles of a [`ParticleRun`] in parallel blocks with batched score calls
/// ([`NoiseScoreBatch`]); particle i draws its start and its churn noise from
/// `stream(seed, i)`, so results are identical on any number of threads. A non-finite particle
/// stops the run with [`Error::NonFiniteState`] (step = i).
///
/// # Example
/// ```
/// use langevin::annealed::{Churn, Edm, ParticleRun, SigmaLevels};
/// use langevin::targets::GaussianMixture;
/// let data = GaussianMixture::<f64>::new(vec![1.0], vec![vec![2.0]], vec![0.25])?;
/// let levels = SigmaLevels::karras(80.0, 0.002, 32, 7.0)?;
/// let heun = Edm::new(&data, levels.clone())?;           // 63 score evaluations per particle
/// assert_eq!(heun.score_evaluations(), 63);
/// let out = heun.run_from_prior(&ParticleRun::new(2_000).seed(5))?;
/// assert!((out.mean()[0] - 2.0).abs() < 0.1 && (out.variance()[0] - 0.25).abs() < 0.05);
/// let churn = Churn { s_churn: 10.0, s_tmin: 0.05, s_tmax: 50.0, s_noise: 1.0 };
/// let sde = Edm::new(&data, levels)?.churn(churn)?;
/// let out = sde.run_from_prior(&ParticleRun::new(2_000).seed(5))?;
/// assert!((out.mean()[0] - 2.0).abs() < 0.1 && (out.variance()[0] - 0.25).abs() < 0.05);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * T. Karras, M. Aittala, T. Aila, S. Laine (2022), Elucidating the design space of
///   diffusion-based generative models, *NeurIPS* (Alg. 1 and 2, eq. 5, Table 5).
/// * Y. Song, J. Sohl-Dickstein, D. P. Kingma, A. Kumar, S. Ermon, B. Poole (2021),
///   Score-based generative modeling through stochastic differential equations, *ICLR*.
#[derive(Debug, Clone)]
pub struct Edm<P: NoiseScoreBatch> {
    score: P,
    /// σ_0 > … > σ_N (σ_N = 0 unless stopped at σ_min).
    sigmas: Vec<f64>,
    /// γ_i for every step (all 0 without churn).
    gammas: Vec<f64>,
    churn: Option<Churn>,
}

impl<P: NoiseScoreBatch + Sync> Edm<P> {
    /// The deterministic Heun sampler on the levels `σ_0 > … > σ_{L−1}` followed by σ = 0
    /// (Karras et al.'s grid: N = L steps, the last one an Euler step to 0).
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] for a zero-dimensional score. (The levels are validated —
    /// finite, positive, strictly decreasing — by [`SigmaLevels`].)
    pub fn new(score: P, levels: SigmaLevels<P::Scalar>) -> Result<Self> {
        let mut sigmas: Vec<f64> = levels.as_slice().iter().map(|s| s.to_f64()).collect();
        sigmas.push(0.0);
        Self::build(score, sigmas)
    }

    /// The deterministic Heun sampler on the levels alone, stopping at σ_min (N = L − 1
    /// Heun steps, no Euler step; the output is a sample of `p_{σ_min}`, not denoised).
    ///
    /// # Errors
    /// As [`Edm::new`], plus [`Error::ZeroCount`] for a single level (no step).
    pub fn stop_at_sigma_min(score: P, levels: SigmaLevels<P::Scalar>) -> Result<Self> {
        if levels.len() < 2 {
            return Err(Error::ZeroCount {
                what: "EDM steps (stopping at σ_min needs at least two levels)",
            });
        }
        let sigmas = levels.as_slice().iter().map(|s| s.to_f64()).collect();
        Self::build(score, sigmas)
    }

    fn build(score: P, sigmas: Vec<f64>) -> Result<Self> {
        if score.dim() == 0 {
            return Err(Error::ZeroDimension { what: "score" });
        }
        let gammas = vec![0.0; sigmas.len() - 1];
        Ok(Self {
            score,
            sigmas,
            gammas,
            churn: None,
        })
    }

    /// Makes the sampler stochastic with churn (Karras et al. 2022, Alg. 2).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `S_churn ≥ 0`, `S_tmin ≥ 0` are finite,
    /// `S_tmax ≥ S_tmin` and `S_noise > 0` is finite.
    pub fn churn(mut self, churn: Churn) -> Result<Self> {
        churn.validate()?;
        let n = self.gammas.len() as f64;
        let g = (churn.s_churn / n).min(core::f64::consts::SQRT_2 - 1.0);
        for (gamma, &s) in self.gammas.iter_mut().zip(&self.sigmas) {
            *gamma = if churn.s_tmin <= s && s <= churn.s_tmax {
                g
            } else {
                0.0
            };
        }
        self.churn = Some(churn);
        Ok(self)
    }

    /// The grid σ_0 > … > σ_N the sampler steps through (ending at 0 unless built with
    /// [`Edm::stop_at_sigma_min`]).
    pub fn sigmas(&self) -> &[f64] {
        &self.sigmas
    }

    /// The churn factors γ_i, one per step (all 0 for the deterministic sampler).
    pub fn gammas(&self) -> &[f64] {
        &self.gammas
    }

    /// Score evaluations per particle: 2 per Heun step, 1 for an Euler step to σ = 0.
    pub fn score_evaluations(&self) -> usize {
        let n = self.sigmas.len() - 1;
        if self.sigmas[n] > 0.0 {
            2 * n
        } else {
            2 * n - 1
        }
    }

    /// Runs from `N(0, σ_0² I)` (Karras et al.'s start; exact when σ_0 dwarfs the data).
    ///
    /// # Errors
    /// As [`Edm::run`].
    pub fn run_from_prior(&self, run: &ParticleRun) -> Result<Particles<P::Scalar>> {
        let s0 = P::Scalar::c(self.sigmas[0]);
        let init = move |_i: usize, rng: &mut ChainRng, x: &mut [P::Scalar]| {
            for xi in x.iter_mut() {
                *xi = s0 * P::Scalar::standard_normal(rng);
            }
        };
        self.run(run, &init)
    }

    /// Runs the particles of `run` from `init` (a draw of `p_{σ_0}`).
    ///
    /// # Errors
    /// [`Error::InvalidInitialState`] for a non-finite start, [`Error::NonFiniteState`]
    /// (particle, step i) if a particle overflows.
    pub fn run<I: ParticleInit<P::Scalar> + ?Sized>(
        &self,
        run: &ParticleRun,
        init: &I,
    ) -> Result<Particles<P::Scalar>> {
        let d = self.score.dim();
        let c = |v: f64| P::Scalar::c(v);
        let s_noise = self.churn.map_or(1.0, |ch| ch.s_noise);
        let (particles, _) = run_blocks(run, d, init, |blk| {
            for (i, (w, &gamma)) in self.sigmas.windows(2).zip(&self.gammas).enumerate() {
                let (sigma, next) = (w[0], w[1]);
                let hat = sigma * (1.0 + gamma);
                if gamma > 0.0 {
                    let nz = c((hat * hat - sigma * sigma).sqrt() * s_noise);
                    add_noise(blk, d, nz);
                }
                self.score
                    .score_sigma_batch_into(&blk.x, c(hat), &mut blk.s, &mut blk.work);
                if next > 0.0 {
                    heun_stage(&self.score, blk, hat, next);
                } else {
                    // Euler to σ = 0: x ← x̂ − (0 − σ̂) σ̂ s = x̂ + σ̂² s (Tweedie).
                    affine_step(blk, d, P::Scalar::one(), c(hat * hat), None);
                }
                blk.check(d, i)?;
            }
            Ok(())
        })?;
        Ok(particles)
    }
}

/// `x ← x + c ξ`, ξ ~ N(0, I) from each particle's own stream.
fn add_noise<T: Real>(blk: &mut Block<T>, d: usize, c: T) {
    let Block { x, rngs, .. } = blk;
    for (x, rng) in x.chunks_exact_mut(d).zip(rngs.iter_mut()) {
        for xi in x.iter_mut() {
            *xi += c * T::standard_normal(rng);
        }
    }
}

/// One Heun step from σ̂ to σ' > 0 given `blk.s = s(x̂, σ̂)`:
/// `d = −σ̂ s`, `x̃ = x̂ + (σ' − σ̂) d`, `d' = −σ' s(x̃, σ')`, `x ← x̂ + (σ' − σ̂)(d + d')/2`.
fn heun_stage<P: NoiseScoreBatch>(score: &P, blk: &mut Block<P::Scalar>, hat: f64, next: f64) {
    let c = |v: f64| P::Scalar::c(v);
    let dt = next - hat;
    let (ch, cdt) = (c(-hat), c(dt));
    for i in 0..blk.x.len() {
        let d1 = ch * blk.s[i];
        blk.z[i] = d1;
        blk.y[i] = blk.x[i] + cdt * d1;
    }
    score.score_sigma_batch_into(&blk.y, c(next), &mut blk.s, &mut blk.work);
    let (cn, half) = (c(-next), c(0.5 * dt));
    for i in 0..blk.x.len() {
        let d2 = cn * blk.s[i];
        blk.x[i] += half * (blk.z[i] + d2);
    }
}
