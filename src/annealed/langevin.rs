//! Annealed Langevin dynamics (Song & Ermon 2019) and its Metropolis-adjusted version.

use super::particles::{ParticleInit, ParticleRun, Particles, run_blocks};
use super::schedule::SigmaLevels;
use super::scores::NoiseScoreBatch;
use crate::density::{NoiseConditionalLogDensity, NoiseConditionalScore};
use crate::error::{check_len, check_positive};
use crate::mcmc::mala_log_acceptance;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::{Error, Real, Result};
use rand::RngExt;

/// The step size of every level of an annealed Langevin run, as a *typed* choice so the
/// factor 2 between the NCSN paper and this crate cannot slip.
///
/// Song & Ermon (2019, Alg. 1) write `x ← x + (α_i/2) s(x, σ_i) + sqrt(α_i) z` with
/// `α_i = ε σ_i² / σ_L²`. This crate's convention is `x ← x + h s + sqrt(2h) z`, so
///
/// ```text
/// h_i = α_i / 2 = (ε / 2) σ_i² / σ_L²        (NCSN ε  →  crate h_L = ε/2)
/// ```
///
/// or, with [`LevelStep::PerLevel`], any explicit list of steps, one per level (e.g. tuned
/// per level, or constant `h` when the σ²-rule makes the large-σ steps too long).
///
/// ```
/// use langevin::annealed::LevelStep;
/// // NCSN's default ε = 2e-5 is h_L = 1e-5 at the last level:
/// assert!((LevelStep::Ncsn { epsilon: 2e-5 }.h(0.01, 0.01).unwrap() - 1e-5).abs() < 1e-18);
/// assert!((LevelStep::Langevin { h_last: 1e-5 }.h(1.0, 0.01).unwrap() - 0.1).abs() < 1e-15);
/// // An explicit list is not a function of σ:
/// assert_eq!(LevelStep::PerLevel(vec![0.1, 0.01]).h(1.0, 0.01), None);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum LevelStep {
    /// NCSN's ε (the paper's `α_i = ε σ_i²/σ_L²`, i.e. `h_i = ε σ_i² / (2 σ_L²)`).
    Ncsn {
        /// ε of Song & Ermon (2019), Alg. 1 (their default 2e-5).
        epsilon: f64,
    },
    /// The crate-convention step at the last level, `h_L`; `h_i = h_L σ_i² / σ_L²`.
    Langevin {
        /// h at the smallest noise level.
        h_last: f64,
    },
    /// Explicit crate-convention steps `h_1, …, h_L`, one per level in the order of the
    /// [`SigmaLevels`] (largest σ first); each must be finite and positive, and there must
    /// be exactly one per level (checked by the samplers' constructors).
    PerLevel(Vec<f64>),
}

impl LevelStep {
    /// The crate-convention step `h_i` at level σ_i when the last level is σ_L, for the
    /// σ²-proportional variants; `None` for [`LevelStep::PerLevel`], whose steps are
    /// indexed by level, not by σ (see [`LevelStep::resolve`]).
    pub fn h(&self, sigma_i: f64, sigma_last: f64) -> Option<f64> {
        let r = sigma_i * sigma_i / (sigma_last * sigma_last);
        match *self {
            Self::Ncsn { epsilon } => Some(0.5 * epsilon * r),
            Self::Langevin { h_last } => Some(h_last * r),
            Self::PerLevel(_) => None,
        }
    }

    /// The validated step of every level of `levels`, largest σ first.
    ///
    /// # Errors
    /// [`Error::InvalidStepSize`] for a step (ε, `h_L` or a listed `h_i`) that is not finite
    /// and positive; [`Error::DimensionMismatch`] for a [`LevelStep::PerLevel`] list whose
    /// length is not the number of levels.
    ///
    /// ```
    /// use langevin::annealed::{LevelStep, SigmaLevels};
    /// let levels = SigmaLevels::<f64>::geometric(1.0, 0.1, 3)?;
    /// let h = LevelStep::PerLevel(vec![0.05, 0.02, 0.01]).resolve(&levels)?;
    /// assert_eq!(h, [0.05, 0.02, 0.01]);
    /// assert!(LevelStep::PerLevel(vec![0.05, 0.02]).resolve(&levels).is_err());
    /// assert!(LevelStep::PerLevel(vec![0.05, -1.0, 0.01]).resolve(&levels).is_err());
    /// # Ok::<(), langevin::Error>(())
    /// ```
    pub fn resolve<T: Real>(&self, levels: &SigmaLevels<T>) -> Result<Vec<f64>> {
        // h_i = scale · σ_i²/σ_L², evaluated exactly as `h` does.
        let scale = match self {
            Self::Ncsn { epsilon } => {
                check_positive("NCSN step ε", *epsilon)?;
                0.5 * epsilon
            }
            Self::Langevin { h_last } => {
                check_positive("last-level step h_L", *h_last)?;
                *h_last
            }
            Self::PerLevel(h) => {
                check_len("per-level steps (one per σ level)", levels.len(), h.len())?;
                for &hi in h {
                    check_positive("per-level step h_i", hi)?;
                }
                return Ok(h.clone());
            }
        };
        let last = levels.sigma_min().to_f64();
        Ok(levels
            .as_slice()
            .iter()
            .map(|s| {
                let s = s.to_f64();
                scale * (s * s / (last * last))
            })
            .collect())
    }
}

/// Validates a run configuration and returns the crate-convention step `h_i` of every level.
fn level_steps<T: Real>(
    levels: &SigmaLevels<T>,
    steps: usize,
    dim: usize,
    step: &LevelStep,
) -> Result<Vec<f64>> {
    let h = step.resolve(levels)?;
    if steps == 0 {
        return Err(Error::ZeroCount {
            what: "steps per level",
        });
    }
    if dim == 0 {
        return Err(Error::ZeroDimension { what: "score" });
    }
    Ok(h)
}

/// Annealed Langevin dynamics (Song & Ermon 2019, Algorithm 1): unadjusted Langevin at a
/// decreasing ladder of noise levels σ_1 > … > σ_L, driven by a noise-conditional score
/// `s(x, σ) ≈ ∇ log p_σ(x)`, `p_σ = p ∗ N(0, σ² I)`.
///
/// # Update rule
/// ```text
/// for i = 1..L:                       h_i = (ε/2) σ_i²/σ_L²   (α_i = 2 h_i in the paper)
///     repeat T times:  x ← x + h_i s(x, σ_i) + sqrt(2 h_i) z,      z ~ N(0, I)
/// optional Tweedie denoising:  x ← x + σ_L² s(x, σ_L)   (= E[x₀ | x] under p_{σ_L}; Efron 2011)
/// ```
/// **Step convention:** the crate's `h` is half the paper's `α`; see [`LevelStep`]. Level i
/// is literally ULA ([`crate::EulerMaruyama`] on [`crate::LangevinSde`]) on `p_{σ_i}` with
/// step h_i.
///
/// # Bias
/// Each level is unadjusted: for `N(μ, s²)` and the exact score the output is Gaussian with
/// a mean and variance given by an exact linear recursion (`tests/annealed.rs`: with
/// `v_i = s² + σ_i²` and `c = 1 − h_i/v_i`, each step maps `m ← c m + (1 − c) μ`,
/// `V ← c² V + 2h_i`). The NCSN defaults leave the final variance about 6 % too large on
/// N(0, 1); [`AnnealedMala`] removes the per-level bias.
///
/// # Particles
/// [`AnnealedLangevin::run`] moves many independent particles in parallel blocks whose
/// scores are evaluated in one batched call ([`NoiseScoreBatch`]: matrix products for an
/// [`super::EmpiricalScore`]); particle `i` uses `stream(seed, i)`. A non-finite coordinate
/// stops the run with [`Error::NonFiniteState`] naming the particle and the step
/// (`level · T + t`, the denoising step being `L · T`).
///
/// # Example
/// ```
/// use langevin::annealed::{AnnealedLangevin, LevelStep, ParticleRun, SigmaLevels};
/// use langevin::prelude::*;
/// use langevin::targets::GaussianMixture;
/// let gmm = GaussianMixture::<f64>::ring(8, 4.0, 0.3)?;
/// let levels = SigmaLevels::geometric(5.0, 0.3, 8)?;
/// let al = AnnealedLangevin::new(&gmm, levels, 50, LevelStep::Langevin { h_last: 0.02 })?;
/// let init = |_i: usize, rng: &mut langevin::rng::ChainRng, x: &mut [f64]| {
///     for xi in x.iter_mut() { *xi = 5.0 * f64::standard_normal(rng); }
/// };
/// let out = al.run(&ParticleRun::new(400).seed(1), &init)?;
/// let r: f64 = out.iter().map(|x| x[0].hypot(x[1])).sum::<f64>() / 400.0;
/// assert!((r - 4.0).abs() < 0.3);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * Y. Song, S. Ermon (2019), Generative modeling by estimating gradients of the data
///   distribution, *NeurIPS*.
/// * B. Efron (2011), Tweedie's formula and selection bias, *JASA* 106(496):1602–1614.
#[derive(Debug, Clone)]
pub struct AnnealedLangevin<P: NoiseScoreBatch> {
    score: P,
    levels: SigmaLevels<P::Scalar>,
    steps: usize,
    h: Vec<f64>,
    denoise: bool,
}

impl<P: NoiseScoreBatch + Sync> AnnealedLangevin<P> {
    /// `steps_per_level` (T) unadjusted steps at each level, with steps from `step`.
    ///
    /// # Errors
    /// [`Error::InvalidStepSize`] for a non-positive step, [`Error::ZeroCount`] for `T = 0`,
    /// [`Error::ZeroDimension`].
    pub fn new(
        score: P,
        levels: SigmaLevels<P::Scalar>,
        steps_per_level: usize,
        step: LevelStep,
    ) -> Result<Self> {
        let h = level_steps(&levels, steps_per_level, score.dim(), &step)?;
        Ok(Self {
            score,
            levels,
            steps: steps_per_level,
            h,
            denoise: false,
        })
    }

    /// Adds (or removes) the final Tweedie denoising step `x ← x + σ_L² s(x, σ_L)`.
    pub fn denoise(mut self, on: bool) -> Self {
        self.denoise = on;
        self
    }

    /// The crate-convention steps `h_i`, one per level.
    pub fn steps(&self) -> &[f64] {
        &self.h
    }

    /// The noise levels.
    pub fn levels(&self) -> &SigmaLevels<P::Scalar> {
        &self.levels
    }

    /// Runs the particles of `run` from `init` (which may draw from the particle's stream)
    /// and returns their final positions.
    ///
    /// # Errors
    /// [`Error::InvalidInitialState`] for a non-finite start, [`Error::NonFiniteState`] if a
    /// particle overflows.
    pub fn run<I: ParticleInit<P::Scalar> + ?Sized>(
        &self,
        run: &ParticleRun,
        init: &I,
    ) -> Result<Particles<P::Scalar>> {
        let d = self.score.dim();
        let (particles, _) = run_blocks(run, d, init, |blk| {
            let len = blk.len();
            for (li, (&sigma, &h)) in self.levels.as_slice().iter().zip(&self.h).enumerate() {
                let hh = P::Scalar::c(h);
                let noise = P::Scalar::c((2.0 * h).sqrt());
                for t in 0..self.steps {
                    self.score
                        .score_sigma_batch_into(&blk.x, sigma, &mut blk.s, &mut blk.work);
                    for p in 0..len {
                        let rng = &mut blk.rngs[p];
                        let (x, s) = (&mut blk.x[p * d..(p + 1) * d], &blk.s[p * d..(p + 1) * d]);
                        for (xi, &si) in x.iter_mut().zip(s) {
                            *xi += hh * si + noise * P::Scalar::standard_normal(rng);
                        }
                    }
                    blk.check(d, li * self.steps + t)?;
                }
            }
            if self.denoise {
                let sl = self.levels.sigma_min();
                let sl2 = sl * sl;
                self.score
                    .score_sigma_batch_into(&blk.x, sl, &mut blk.s, &mut blk.work);
                for (xi, &si) in blk.x.iter_mut().zip(&blk.s) {
                    *xi += sl2 * si;
                }
                blk.check(d, self.levels.len() * self.steps)?;
            }
            Ok(())
        })?;
        Ok(particles)
    }
}

/// Metropolis-adjusted annealed Langevin: MALA at every noise level, so each level leaves
/// `p_{σ_i}` exactly invariant (the unadjusted [`AnnealedLangevin`] only approximately).
///
/// # Update rule
/// At level i with `h_i` from [`LevelStep`] (crate convention, `α_i = 2h_i`), T times:
/// ```text
/// y = x + h_i s(x, σ_i) + sqrt(2 h_i) z
/// log r = log p_σi(y) − log p_σi(x) + [‖y − x − h_i s(x)‖² − ‖x − y − h_i s(y)‖²] / (4 h_i)
/// accept y with probability min(1, r)
/// ```
/// Needs [`NoiseConditionalLogDensity`] as well as the score (Gaussian mixtures, Gaussians and
/// data sets of this crate provide both). The mean acceptance probability per level is
/// reported; a proposal with a non-finite log density or ratio is rejected and counted as a
/// divergence.
///
/// # Example
/// ```
/// use langevin::annealed::{AnnealedMala, LevelStep, ParticleRun, SigmaLevels};
/// use langevin::prelude::*;
/// use langevin::targets::GaussianMixture;
/// let gmm = GaussianMixture::<f64>::dice(0.1)?;
/// let levels = SigmaLevels::geometric(3.0, 0.1, 6)?;
/// let am = AnnealedMala::new(&gmm, levels, 30, LevelStep::Langevin { h_last: 0.005 })?;
/// let init = |_i: usize, rng: &mut langevin::rng::ChainRng, x: &mut [f64]| {
///     x[0] = 3.5 + 3.0 * f64::standard_normal(rng);
/// };
/// let out = am.run(&ParticleRun::new(256).seed(2), &init)?;
/// assert_eq!(out.acceptance.len(), 6);
/// assert!(out.acceptance.iter().all(|&a| a > 0.5));
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * Y. Song, S. Ermon (2019), *NeurIPS*; G. O. Roberts, R. L. Tweedie (1996), *Bernoulli* 2(4).
#[derive(Debug, Clone)]
pub struct AnnealedMala<P: NoiseConditionalScore> {
    target: P,
    levels: SigmaLevels<P::Scalar>,
    steps: usize,
    h: Vec<f64>,
}

/// The result of [`AnnealedMala::run`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AnnealedMalaOutput<T> {
    /// Final positions.
    pub particles: Particles<T>,
    /// Mean Metropolis acceptance probability at each level (Rao–Blackwellised).
    pub acceptance: Vec<f64>,
    /// Rejected non-finite proposals, per level.
    pub divergences: Vec<usize>,
}

impl<P: NoiseConditionalScore + NoiseConditionalLogDensity + Sync> AnnealedMala<P> {
    /// MALA with `steps_per_level` steps at each level, steps from `step`.
    ///
    /// # Errors
    /// As [`AnnealedLangevin::new`].
    pub fn new(
        target: P,
        levels: SigmaLevels<P::Scalar>,
        steps_per_level: usize,
        step: LevelStep,
    ) -> Result<Self> {
        let h = level_steps(&levels, steps_per_level, target.dim(), &step)?;
        Ok(Self {
            target,
            levels,
            steps: steps_per_level,
            h,
        })
    }

    /// The crate-convention steps `h_i`.
    pub fn steps(&self) -> &[f64] {
        &self.h
    }

    /// `log p_σ(x)` with the score written into `g`, through the fused hook when the target
    /// has one.
    #[inline]
    fn eval(&self, x: &[P::Scalar], sigma: P::Scalar, g: &mut [P::Scalar]) -> P::Scalar {
        match self.target.log_density_and_score_sigma(x, sigma, g) {
            Some(lp) => lp,
            None => {
                self.target.score_sigma_into(x, sigma, g);
                self.target.log_density_sigma(x, sigma)
            }
        }
    }

    /// Runs the particles; see [`AnnealedLangevin::run`].
    ///
    /// # Errors
    /// [`Error::InvalidInitialState`] if a start is non-finite or has a non-finite log
    /// density or score at σ_1.
    pub fn run<I: ParticleInit<P::Scalar> + ?Sized>(
        &self,
        run: &ParticleRun,
        init: &I,
    ) -> Result<AnnealedMalaOutput<P::Scalar>> {
        let d = self.target.dim();
        let nl = self.levels.len();
        let (particles, per_block) = run_blocks(run, d, init, |blk| {
            let len = blk.len();
            let mut acc = vec![0.0f64; nl];
            let mut div = vec![0usize; nl];
            let mut gy = vec![P::Scalar::zero(); d];
            for (li, (&sigma, &h)) in self.levels.as_slice().iter().zip(&self.h).enumerate() {
                let hh = P::Scalar::c(h);
                let noise = P::Scalar::c((2.0 * h).sqrt());
                for p in 0..len {
                    let rng = &mut blk.rngs[p];
                    let x = &mut blk.x[p * d..(p + 1) * d];
                    let g = &mut blk.s[p * d..(p + 1) * d];
                    let y = &mut blk.y[p * d..(p + 1) * d];
                    let mut lp = self.eval(x, sigma, g);
                    if li == 0 && (!lp.finite() || !crate::real::all_finite(g)) {
                        return Err(Error::InvalidInitialState {
                            chain: blk.start + p,
                            reason: format!("log density {lp} or score at x0 is not finite"),
                        });
                    }
                    for _ in 0..self.steps {
                        for ((yi, &xi), &gi) in y.iter_mut().zip(x.iter()).zip(g.iter()) {
                            *yi = xi + hh * gi + noise * P::Scalar::standard_normal(rng);
                        }
                        let lp_y = self.eval(y, sigma, &mut gy);
                        let log_r = mala_log_acceptance(x, lp, g, y, lp_y, &gy, hh);
                        let u: f64 = rng.random();
                        if lp_y == P::Scalar::neg_infinity() {
                            continue;
                        }
                        if !log_r.finite() {
                            div[li] += 1;
                            continue;
                        }
                        let lr = log_r.to_f64();
                        let a = if lr >= 0.0 { 1.0 } else { lr.exp() };
                        acc[li] += a;
                        if u < a {
                            x.copy_from_slice(y);
                            g.copy_from_slice(&gy);
                            lp = lp_y;
                        }
                    }
                }
            }
            Ok((acc, div))
        })?;
        let denom = (run.particle_range().len() * self.steps).max(1) as f64;
        let mut acceptance = vec![0.0; nl];
        let mut divergences = vec![0; nl];
        for (a, dv) in per_block {
            for l in 0..nl {
                acceptance[l] += a[l];
                divergences[l] += dv[l];
            }
        }
        acceptance.iter_mut().for_each(|a| *a /= denom);
        Ok(AnnealedMalaOutput {
            particles,
            acceptance,
            divergences,
        })
    }
}
