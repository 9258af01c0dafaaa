//! Reverse-time samplers for score-based diffusion: predictor–corrector (Euler–Maruyama or
//! ancestral predictor, Langevin corrector), the probability-flow ODE (Heun) and DDIM.

use super::particles::{
    Block, ParticleInit, ParticleRun, Particles, first_non_finite, run_blocks, run_lockstep,
};
use super::scores::TimeConditionalScore;
use super::sde::ForwardSde;
use crate::density::Target;
use crate::error::check_len;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::rng::ChainRng;
use crate::sde::{NoiseKind, Sde};
use crate::{Error, Real, Result};

/// The time grid `t_k = 1 − k (1 − ε)/N`, k = 0..N, from 1 down to ε.
pub(super) fn grid(n: usize, eps: f64) -> Vec<f64> {
    let mut t: Vec<f64> = (0..=n)
        .map(|k| 1.0 - k as f64 * (1.0 - eps) / n as f64)
        .collect();
    t[n] = eps;
    t
}

pub(super) fn validate(n_steps: usize, eps: f64, dim_sde: usize, dim_score: usize) -> Result<()> {
    if n_steps == 0 {
        return Err(Error::ZeroCount {
            what: "reverse-time steps",
        });
    }
    if !(eps.is_finite() && eps > 0.0 && eps < 1.0) {
        return Err(Error::InvalidSchedule {
            reason: format!(
                "the final time ε must satisfy 0 < ε < 1, got {eps}; score_sde uses 1e-3 (VP) or 1e-5 (VE)"
            ),
        });
    }
    check_len("score dimension (must match the SDE)", dim_sde, dim_score)
}

/// The start of every reverse-time run: a draw of the SDE's prior `N(0, prior_std² I)` from
/// the particle's own stream.
pub(super) fn prior<S: ForwardSde + Sync>(sde: &S) -> impl ParticleInit<S::Scalar> + '_ {
    |_i: usize, rng: &mut ChainRng, x: &mut [S::Scalar]| sde.sample_prior(rng, x)
}

/// `x ← c_x x + c_s s + c_z z` for every particle of a block, `s` the scores in `blk.s` and
/// `z ~ N(0, I)` from the particle's stream (nothing is drawn when `c_z` is `None`): the
/// Euler–Maruyama, ancestral and DDIM steps are all of this form.
pub(super) fn affine_step<T: Real>(blk: &mut Block<T>, d: usize, cx: T, cs: T, cz: Option<T>) {
    let Block { x, s, rngs, .. } = blk;
    match cz {
        Some(cz) => {
            for ((x, s), rng) in x
                .chunks_exact_mut(d)
                .zip(s.chunks_exact(d))
                .zip(rngs.iter_mut())
            {
                for (xi, &si) in x.iter_mut().zip(s) {
                    *xi = cx * *xi + cs * si + cz * T::standard_normal(rng);
                }
            }
        }
        None => {
            for (xi, &si) in x.iter_mut().zip(s.iter()) {
                *xi = cx * *xi + cs * si;
            }
        }
    }
}

/// The predictor of a [`ReverseSampler`]: one step from `t_k` down to `t_{k+1}`, Δ = t_k − t_{k+1}.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Predictor {
    /// Euler–Maruyama on the reverse SDE (Anderson 1982; Song et al. 2021):
    /// `x ← x − [a(t) x − g(t)² s(x, t)] Δ + g(t) sqrt(Δ) z`.
    EulerMaruyama,
    /// Ancestral sampling (Ho et al. 2020's DDPM step, generalised to any linear SDE through
    /// its exact transition `X_t = a X_{t'} + b ε`): `x ← (x + b² s(x, t))/a + b̃ z` with the
    /// posterior variance `b̃² = b² σ_{t'}²/σ_t²` (DDPM's β̃; Song et al.'s VE ancestral step).
    Ancestral,
    /// No predictor (corrector-only sampling).
    None,
}

/// The Langevin corrector of Song et al. (2021, Alg. 5) with the signal-to-noise step rule.
///
/// At time t, `steps` times, with `z ~ N(0, I)` and α = a² the squared mean ratio of the next
/// predictor transition (`1 − β_i` for VP, 1 for VE):
/// ```text
/// h = 2 α (r ‖z‖ / ‖s(x, t)‖)²        (score_sde's "step_size" ε — which *is* the crate's h)
/// x ← x + h s(x, t) + sqrt(2h) z
/// ```
/// so the noise is `r` times the drift in norm. As in score_sde, `‖z‖` and `‖s‖` are the
/// means of the per-particle norms over the whole batch — every particle of the
/// [`ParticleRun`] — so one step size h is shared by all particles at each corrector step. The
/// sums are reduced over the fixed blocks of 64 particles in block order, so the results are
/// bit-identical on any number of threads (`tests/pc_corrector.rs`). To make this possible the
/// blocks advance in lock-step (two parallel passes per corrector step), and the run keeps
/// scratch of 2 n d scalars besides the particles.
///
/// # Why the whole batch
/// A per-particle ratio would be wrong: near a mode ‖s‖ → 0 and the step would explode,
/// distorting the mode weights. Averaging over small fixed blocks (this crate's 0.1 used
/// blocks of 64) is biased as well: each block's step is correlated with its own spread,
/// inflating the within-mode variance by about 2v/B (measured +0.0095 at B = 64 on data
/// N(2, 0.25), against a statistical error of 0.0011 at 10⁵ particles). With the whole batch
/// the bias is O(v/n): `tests/pc_corrector.rs` matches the variance of the exact many-particle
/// recursion. Block averaging was removed rather than kept as an option: its only effects are
/// that bias and a smaller scratch (per block in flight instead of per particle). The particles are therefore weakly coupled through h:
/// a particle's path depends on the others in its run, and on the run's size.
///
/// Without a corrector, [`ReverseSampler`] runs every block independently, as before.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LangevinCorrector {
    /// The target signal-to-noise ratio r (score_sde: 0.16 for VE on CIFAR-10, 0.01–0.17 elsewhere).
    pub snr: f64,
    /// Corrector steps per time step.
    pub steps: usize,
}

/// Reverse-time diffusion sampling with the predictor–corrector scheme of Song et al. (2021).
///
/// Given a linear forward SDE `dX = a(t) X dt + g(t) dW` ([`ForwardSde`]: [`super::Ve`],
/// [`super::Vp`], [`super::SubVp`]) and a time-conditional score `s(x, t) ≈ ∇log p_t(x)`,
/// the reverse SDE (Anderson 1982)
///
/// ```text
/// dX = [a(t) X − g(t)² ∇log p_t(X)] dt + g(t) dW̄,     run from t = 1 down to t = ε,
/// ```
///
/// has the marginals p_t of the forward process. On the grid `t_k = 1 − k(1 − ε)/N`:
///
/// ```text
/// x ~ prior (or any init)
/// for k = 0..N−1:  corrector at t_k (optional);  predictor t_k → t_{k+1}
/// optional Tweedie denoising:  x ← (x + σ_ε² s(x, ε)) / α_ε
/// ```
///
/// # Bias
/// Euler–Maruyama is weak order 1: with the exact score and an exact start the law at ε is
/// off by O(1/N) (`tests/diffusion.rs`: for data N(2, 0.25), VP, ε = 1e-3, the variance error
/// halves as N doubles; N = 100 gives (2.01172, 0.25390) against p_ε = (1.99989, 0.250082)).
///
/// # Example
/// ```
/// use langevin::annealed::{Marginal, ParticleRun, Predictor, ReverseSampler, Vp};
/// use langevin::targets::GaussianMixture;
/// let data = GaussianMixture::<f64>::new(vec![1.0], vec![vec![2.0]], vec![0.25])?;
/// let sde = Vp::<f64>::linear(1, 0.1, 20.0)?;
/// let score = Marginal::new(&data, sde)?;
/// let sampler = ReverseSampler::new(sde, &score, 200, 1e-3, Predictor::EulerMaruyama)?;
/// let out = sampler.run_from_prior(&ParticleRun::new(2_000).seed(5))?;
/// assert!((out.mean()[0] - 2.0).abs() < 0.1 && (out.variance()[0] - 0.25).abs() < 0.05);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * B. D. O. Anderson (1982), Reverse-time diffusion equation models, *Stoch. Proc. Appl.*
///   12(3):313–326.
/// * Y. Song, J. Sohl-Dickstein, D. P. Kingma, A. Kumar, S. Ermon, B. Poole (2021),
///   Score-based generative modeling through stochastic differential equations, *ICLR*.
/// * J. Ho, A. Jain, P. Abbeel (2020), Denoising diffusion probabilistic models, *NeurIPS*.
#[derive(Debug, Clone)]
pub struct ReverseSampler<S, P> {
    sde: S,
    score: P,
    times: Vec<f64>,
    predictor: Predictor,
    corrector: Option<LangevinCorrector>,
    denoise: bool,
}

impl<S, P> ReverseSampler<S, P>
where
    S: ForwardSde + Sync,
    P: TimeConditionalScore<Scalar = S::Scalar> + Sync,
{
    /// `n_steps` predictor steps from t = 1 to `eps`.
    ///
    /// # Errors
    /// [`Error::ZeroCount`] for `n_steps = 0`, [`Error::InvalidSchedule`] unless `0 < ε < 1`,
    /// [`Error::DimensionMismatch`] if the score and SDE dimensions differ.
    pub fn new(sde: S, score: P, n_steps: usize, eps: f64, predictor: Predictor) -> Result<Self> {
        validate(n_steps, eps, sde.dim(), score.dim())?;
        Ok(Self {
            sde,
            score,
            times: grid(n_steps, eps),
            predictor,
            corrector: None,
            denoise: false,
        })
    }

    /// Adds a Langevin corrector.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `snr` is finite and positive; [`Error::ZeroCount`]
    /// for zero steps.
    pub fn corrector(mut self, c: LangevinCorrector) -> Result<Self> {
        if !(c.snr.is_finite() && c.snr > 0.0) {
            return Err(Error::InvalidParameter {
                name: "snr",
                value: c.snr,
                expected: "finite and > 0 (score_sde uses 0.01–0.17)",
            });
        }
        if c.steps == 0 {
            return Err(Error::ZeroCount {
                what: "corrector steps",
            });
        }
        self.corrector = Some(c);
        Ok(self)
    }

    /// Adds (or removes) the final Tweedie denoising step.
    pub fn denoise(mut self, on: bool) -> Self {
        self.denoise = on;
        self
    }

    /// The time grid t_0 = 1 > … > t_N = ε.
    pub fn times(&self) -> &[f64] {
        &self.times
    }

    /// Runs from the prior `N(0, prior_std² I)` of the SDE.
    ///
    /// # Errors
    /// As [`ReverseSampler::run`].
    pub fn run_from_prior(&self, run: &ParticleRun) -> Result<Particles<S::Scalar>> {
        self.run(run, &prior(&self.sde))
    }

    /// Runs the particles of `run` from `init`.
    ///
    /// # Errors
    /// [`Error::InvalidInitialState`] for a non-finite start, [`Error::NonFiniteState`] (particle,
    /// time step k) if a particle overflows.
    pub fn run<I: ParticleInit<S::Scalar> + ?Sized>(
        &self,
        run: &ParticleRun,
        init: &I,
    ) -> Result<Particles<S::Scalar>> {
        let d = self.sde.dim();
        let n = self.times.len() - 1;
        let t_end = *self.times.last().unwrap_or(&1.0);
        let Some(corr) = self.corrector else {
            // Without a corrector the particles are independent: each block runs alone.
            let (particles, _) = run_blocks(run, d, init, |blk| {
                for k in 0..n {
                    self.predict(blk, k);
                    blk.check(d, k)?;
                }
                if self.denoise {
                    tweedie(&self.sde, &self.score, blk, t_end, d, n)?;
                }
                Ok(())
            })?;
            return Ok(particles);
        };
        // With the corrector, every step needs the batch means of ‖z‖ and ‖s‖: the blocks run
        // in lock-step, two parallel passes per corrector step with a reduction in between.
        run_lockstep(run, d, init, |ls| {
            for k in 0..n {
                let (t, tn) = (self.times[k], self.times[k + 1]);
                let tt = S::Scalar::c(t);
                let (a_tr, _) = self.sde.transition(tn, t);
                let alpha = a_tr * a_tr;
                for j in 0..corr.steps {
                    // Pass 1: scores, the noise z (kept in `y`) and per-block sums of the
                    // per-particle norms ‖z‖, ‖s‖ (score_sde: the batch means of the norms).
                    let sums = ls.par(|blk| {
                        self.score
                            .score_t_batch_into(&blk.x, tt, &mut blk.s, &mut blk.work);
                        let (mut zn, mut sn) = (0.0, 0.0);
                        for p in 0..blk.len() {
                            let z = &mut blk.y[p * d..(p + 1) * d];
                            crate::real::fill_standard_normal(&mut blk.rngs[p], z);
                            zn += crate::real::norm2_8(z).to_f64().sqrt();
                            sn += crate::real::norm2_8(&blk.s[p * d..(p + 1) * d])
                                .to_f64()
                                .sqrt();
                        }
                        // A non-finite score must stop the run, naming its particle (it
                        // would otherwise poison the step of every particle).
                        if !sn.is_finite()
                            && let Some((p, c)) = first_non_finite(&blk.s, d)
                        {
                            return Err(Error::NonFiniteState {
                                chain: blk.start + p,
                                step: k,
                                coordinate: c,
                            });
                        }
                        Ok((zn, sn))
                    })?;
                    // Fixed-order reduction over the blocks: the same sum on any thread count.
                    let (zn, sn) = sums
                        .iter()
                        .fold((0.0, 0.0), |(a, b), &(z, s)| (a + z, b + s));
                    // Every score exactly zero: no drift to match, no corrector move. (A
                    // per-particle ratio would be wrong: near a mode ‖s‖ → 0 and the step
                    // would explode, distorting the mode weights.)
                    let h = if sn > 0.0 {
                        2.0 * alpha * (corr.snr * zn / sn).powi(2)
                    } else {
                        0.0
                    };
                    let last = j + 1 == corr.steps;
                    // Pass 2: the corrector move, and after the last one the predictor.
                    ls.par(|blk| {
                        if h > 0.0 {
                            let (hh, nz) = (S::Scalar::c(h), S::Scalar::c((2.0 * h).sqrt()));
                            for ((xi, &si), &zi) in blk.x.iter_mut().zip(&blk.s).zip(&blk.y) {
                                *xi += hh * si + nz * zi;
                            }
                        }
                        if last {
                            self.predict(blk, k);
                            blk.check(d, k)?;
                        }
                        Ok(())
                    })?;
                }
            }
            if self.denoise {
                ls.par(|blk| tweedie(&self.sde, &self.score, blk, t_end, d, n))?;
            }
            Ok(())
        })
    }

    /// The predictor step from `t_k` to `t_{k+1}` on one block.
    fn predict(&self, blk: &mut Block<S::Scalar>, k: usize) {
        let d = self.sde.dim();
        let c = |v: f64| S::Scalar::c(v);
        let (t, tn) = (self.times[k], self.times[k + 1]);
        let tt = c(t);
        match self.predictor {
            Predictor::EulerMaruyama => {
                let dt = t - tn;
                let a = self.sde.drift_coef(t);
                let g = self.sde.diffusion_coef(t);
                let (ca, cg2, nz) = (c(1.0 - a * dt), c(g * g * dt), c(g * dt.sqrt()));
                self.score
                    .score_t_batch_into(&blk.x, tt, &mut blk.s, &mut blk.work);
                affine_step(blk, d, ca, cg2, Some(nz));
            }
            Predictor::Ancestral => {
                let (a, b2) = self.sde.transition(tn, t);
                let (sn, st) = (self.sde.marginal_std(tn), self.sde.marginal_std(t));
                let post = b2 * (sn * sn) / (st * st);
                let (ia, cb, nz) = (c(1.0 / a), c(b2 / a), c(post.sqrt()));
                self.score
                    .score_t_batch_into(&blk.x, tt, &mut blk.s, &mut blk.work);
                affine_step(blk, d, ia, cb, Some(nz));
            }
            Predictor::None => {}
        }
    }
}

/// Tweedie's formula at time t for a whole block: `x ← (x + σ_t² s(x, t)) / α_t`.
fn tweedie<S, P>(
    sde: &S,
    score: &P,
    blk: &mut super::particles::Block<S::Scalar>,
    t: f64,
    d: usize,
    step: usize,
) -> Result<()>
where
    S: ForwardSde,
    P: TimeConditionalScore<Scalar = S::Scalar>,
{
    let (a, sd) = (sde.mean_coef(t), sde.marginal_std(t));
    score.score_t_batch_into(&blk.x, S::Scalar::c(t), &mut blk.s, &mut blk.work);
    let (ia, c2) = (S::Scalar::c(1.0 / a), S::Scalar::c(sd * sd / a));
    for (xi, &si) in blk.x.iter_mut().zip(&blk.s) {
        *xi = ia * *xi + c2 * si;
    }
    blk.check(d, step)
}

/// The probability-flow ODE (Song et al. 2021), integrated backwards with Heun's method
/// (Karras et al. 2022, Alg. 1): deterministic given the start.
///
/// ```text
/// dx/dt = F(x, t) = a(t) x − ½ g(t)² s(x, t)                  (same marginals p_t as the SDE)
/// Δ = t_k − t_{k+1}:   d₁ = F(x, t_k);  x̃ = x − Δ d₁;  d₂ = F(x̃, t_{k+1});  x ← x − (Δ/2)(d₁ + d₂)
/// ```
///
/// Heun is second order for the ODE: with the exact score the law at ε is off by O(1/N²)
/// (for Gaussian data the map is affine, and the test suite checks the exact recursion).
///
/// ```
/// use langevin::annealed::{Marginal, ParticleRun, ProbabilityFlow, Vp};
/// use langevin::targets::GaussianMixture;
/// let data = GaussianMixture::<f64>::new(vec![1.0], vec![vec![2.0]], vec![0.25])?;
/// let sde = Vp::<f64>::linear(1, 0.1, 20.0)?;
/// let ode = ProbabilityFlow::new(sde, Marginal::new(&data, sde)?, 50, 1e-3)?;
/// let out = ode.run_from_prior(&ParticleRun::new(2_000).seed(5))?;
/// assert!((out.mean()[0] - 2.0).abs() < 0.1 && (out.variance()[0] - 0.25).abs() < 0.05);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * Y. Song et al. (2021), *ICLR*; T. Karras, M. Aittala, T. Aila, S. Laine (2022),
///   Elucidating the design space of diffusion-based generative models, *NeurIPS*.
#[derive(Debug, Clone)]
pub struct ProbabilityFlow<S, P> {
    sde: S,
    score: P,
    times: Vec<f64>,
    denoise: bool,
}

impl<S, P> ProbabilityFlow<S, P>
where
    S: ForwardSde + Sync,
    P: TimeConditionalScore<Scalar = S::Scalar> + Sync,
{
    /// `n_steps` Heun steps from t = 1 to `eps`.
    ///
    /// # Errors
    /// As [`ReverseSampler::new`].
    pub fn new(sde: S, score: P, n_steps: usize, eps: f64) -> Result<Self> {
        validate(n_steps, eps, sde.dim(), score.dim())?;
        Ok(Self {
            sde,
            score,
            times: grid(n_steps, eps),
            denoise: false,
        })
    }
    /// Adds (or removes) the final Tweedie denoising step.
    pub fn denoise(mut self, on: bool) -> Self {
        self.denoise = on;
        self
    }
    /// Runs from the prior.
    ///
    /// # Errors
    /// As [`ProbabilityFlow::run`].
    pub fn run_from_prior(&self, run: &ParticleRun) -> Result<Particles<S::Scalar>> {
        self.run(run, &prior(&self.sde))
    }
    /// Runs the particles of `run` from `init` (the only randomness).
    ///
    /// # Errors
    /// [`Error::InvalidInitialState`], [`Error::NonFiniteState`].
    pub fn run<I: ParticleInit<S::Scalar> + ?Sized>(
        &self,
        run: &ParticleRun,
        init: &I,
    ) -> Result<Particles<S::Scalar>> {
        let d = self.sde.dim();
        let n = self.times.len() - 1;
        let c = |v: f64| S::Scalar::c(v);
        let (particles, _) = run_blocks(run, d, init, |blk| {
            for k in 0..n {
                let (t, tn) = (self.times[k], self.times[k + 1]);
                let dt = t - tn;
                let (a1, g1) = (self.sde.drift_coef(t), self.sde.diffusion_coef(t));
                let (a2, g2) = (self.sde.drift_coef(tn), self.sde.diffusion_coef(tn));
                // d₁ into z, x̃ into y.
                self.score
                    .score_t_batch_into(&blk.x, c(t), &mut blk.s, &mut blk.work);
                let (ca1, cs1) = (c(a1), c(0.5 * g1 * g1));
                let cdt = c(dt);
                for i in 0..blk.x.len() {
                    let d1 = ca1 * blk.x[i] - cs1 * blk.s[i];
                    blk.z[i] = d1;
                    blk.y[i] = blk.x[i] - cdt * d1;
                }
                self.score
                    .score_t_batch_into(&blk.y, c(tn), &mut blk.s, &mut blk.work);
                let (ca2, cs2, half) = (c(a2), c(0.5 * g2 * g2), c(0.5 * dt));
                for i in 0..blk.x.len() {
                    let d2 = ca2 * blk.y[i] - cs2 * blk.s[i];
                    blk.x[i] -= half * (blk.z[i] + d2);
                }
                blk.check(d, k)?;
            }
            if self.denoise {
                tweedie(
                    &self.sde,
                    &self.score,
                    blk,
                    *self.times.last().unwrap_or(&1.0),
                    d,
                    n,
                )?;
            }
            Ok(())
        })?;
        Ok(particles)
    }
}

/// DDIM (Song, Meng & Ermon 2021), written for any linear forward SDE through its marginal
/// coefficients (α_t, σ_t): from t to t' < t,
///
/// ```text
/// x̂₀ = (x + σ_t² s(x, t)) / α_t            (Tweedie)        ε̂ = −σ_t s(x, t)
/// σ_η² = η² (σ_{t'}² / σ_t²) b²,            b² = σ_t² − (α_t/α_{t'})² σ_{t'}²
/// x ← α_{t'} x̂₀ + sqrt(σ_{t'}² − σ_η²) ε̂ + σ_η z
/// ```
///
/// η = 0 is the deterministic DDIM sampler (a first-order discretisation of the
/// probability-flow ODE); η = 1 has the DDPM (ancestral, β̃) marginals. For the VP-SDE,
/// `α_t = sqrt(ᾱ_t)` and `σ_t² = 1 − ᾱ_t`, which is the paper's eq. (12).
///
/// ```
/// use langevin::annealed::{Ddim, Marginal, ParticleRun, Vp};
/// use langevin::targets::GaussianMixture;
/// let data = GaussianMixture::<f64>::new(vec![1.0], vec![vec![2.0]], vec![0.25])?;
/// let sde = Vp::<f64>::linear(1, 0.1, 20.0)?;
/// let ddim = Ddim::new(sde, Marginal::new(&data, sde)?, 50, 1e-3, 0.0)?;
/// let out = ddim.run_from_prior(&ParticleRun::new(2_000).seed(5))?;
/// assert!((out.mean()[0] - 2.0).abs() < 0.1 && (out.variance()[0] - 0.25).abs() < 0.05);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * J. Song, C. Meng, S. Ermon (2021), Denoising diffusion implicit models, *ICLR*.
#[derive(Debug, Clone)]
pub struct Ddim<S, P> {
    sde: S,
    score: P,
    times: Vec<f64>,
    eta: f64,
}

impl<S, P> Ddim<S, P>
where
    S: ForwardSde + Sync,
    P: TimeConditionalScore<Scalar = S::Scalar> + Sync,
{
    /// `n_steps` DDIM steps from t = 1 to `eps` with stochasticity `eta ∈ [0, 1]`.
    ///
    /// # Errors
    /// As [`ReverseSampler::new`], plus [`Error::InvalidParameter`] unless `0 ≤ η ≤ 1`.
    pub fn new(sde: S, score: P, n_steps: usize, eps: f64, eta: f64) -> Result<Self> {
        validate(n_steps, eps, sde.dim(), score.dim())?;
        if !(0.0..=1.0).contains(&eta) {
            return Err(Error::InvalidParameter {
                name: "eta",
                value: eta,
                expected: "0 ≤ η ≤ 1 (0: deterministic DDIM, 1: DDPM-like)",
            });
        }
        Ok(Self {
            sde,
            score,
            times: grid(n_steps, eps),
            eta,
        })
    }
    /// Runs from the prior.
    ///
    /// # Errors
    /// As [`Ddim::run`].
    pub fn run_from_prior(&self, run: &ParticleRun) -> Result<Particles<S::Scalar>> {
        self.run(run, &prior(&self.sde))
    }
    /// Runs the particles of `run` from `init`.
    ///
    /// # Errors
    /// [`Error::InvalidInitialState`], [`Error::NonFiniteState`].
    pub fn run<I: ParticleInit<S::Scalar> + ?Sized>(
        &self,
        run: &ParticleRun,
        init: &I,
    ) -> Result<Particles<S::Scalar>> {
        let d = self.sde.dim();
        let n = self.times.len() - 1;
        let c = |v: f64| S::Scalar::c(v);
        let (particles, _) = run_blocks(run, d, init, |blk| {
            for k in 0..n {
                let (t, tn) = (self.times[k], self.times[k + 1]);
                let (al, sd) = (self.sde.mean_coef(t), self.sde.marginal_std(t));
                let (aln, sdn) = (self.sde.mean_coef(tn), self.sde.marginal_std(tn));
                let (_, b2) = self.sde.transition(tn, t);
                let var_eta = self.eta * self.eta * b2 * (sdn * sdn) / (sd * sd);
                let keep = (sdn * sdn - var_eta).max(0.0).sqrt();
                // x ← (aln/al) x + [aln σ²/al − keep σ] s + σ_η z
                let cx = c(aln / al);
                let cs = c(aln * sd * sd / al - keep * sd);
                let nz = (var_eta > 0.0).then(|| c(var_eta.sqrt()));
                self.score
                    .score_t_batch_into(&blk.x, c(t), &mut blk.s, &mut blk.work);
                affine_step(blk, d, cx, cs, nz);
                blk.check(d, k)?;
            }
            Ok(())
        })?;
        Ok(particles)
    }
}

/// The reverse-time SDE as an ordinary [`Sde`] in the reversed clock τ = 1 − t, so any crate
/// [`crate::Integrator`] can integrate it:
///
/// ```text
/// dX_τ = −[a(t) X − g(t)² s(X, t)] dτ + g(t) dW_τ,     t = 1 − τ
/// ```
///
/// [`crate::EulerMaruyama`] on it is exactly the [`Predictor::EulerMaruyama`] step.
///
/// ```
/// use langevin::annealed::{Marginal, ReverseSde, Vp};
/// use langevin::prelude::*;
/// use langevin::targets::GaussianMixture;
/// let data = GaussianMixture::<f64>::new(vec![1.0], vec![vec![2.0]], vec![0.25])?;
/// let sde = Vp::<f64>::linear(1, 0.1, 20.0)?;
/// let rev = ReverseSde::new(sde, Marginal::new(&data, sde)?)?;
/// let mut x = [0.0];
/// let mut scratch = vec![0.0; EulerMaruyama.scratch_len(&rev)];
/// EulerMaruyama.step_with_noise(&rev, 0.0, 0.01, &mut x, &[0.0], &mut scratch);
/// assert!(x[0] > 0.0);   // pulled towards the data
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ReverseSde<S, P> {
    sde: S,
    score: P,
}

impl<S: ForwardSde, P: TimeConditionalScore<Scalar = S::Scalar>> ReverseSde<S, P> {
    /// The reverse SDE of `sde` with score `score`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if the dimensions differ.
    pub fn new(sde: S, score: P) -> Result<Self> {
        check_len(
            "score dimension (must match the SDE)",
            sde.dim(),
            score.dim(),
        )?;
        Ok(Self { sde, score })
    }
}

impl<S: ForwardSde, P: TimeConditionalScore<Scalar = S::Scalar>> Target for ReverseSde<S, P> {
    type Scalar = S::Scalar;
    fn dim(&self) -> usize {
        self.sde.dim()
    }
}

impl<S: ForwardSde, P: TimeConditionalScore<Scalar = S::Scalar>> Sde for ReverseSde<S, P> {
    fn noise_kind(&self) -> NoiseKind {
        NoiseKind::Scalar
    }
    fn drift_into(&self, tau: S::Scalar, x: &[S::Scalar], out: &mut [S::Scalar]) {
        let t = 1.0 - tau.to_f64();
        self.score.score_t_into(x, S::Scalar::c(t), out);
        let a = S::Scalar::c(self.sde.drift_coef(t));
        let g = self.sde.diffusion_coef(t);
        let g2 = S::Scalar::c(g * g);
        for (o, &xi) in out.iter_mut().zip(x) {
            *o = g2 * *o - a * xi;
        }
    }
    fn diffusion_into(&self, tau: S::Scalar, _x: &[S::Scalar], out: &mut [S::Scalar]) {
        out[0] = S::Scalar::c(self.sde.diffusion_coef(1.0 - tau.to_f64()));
    }
}
