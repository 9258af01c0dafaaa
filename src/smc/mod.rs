//! Sequential Monte Carlo / annealed importance sampling with Langevin moves, and the
//! normalising constant, along the geometric tempering path or the noise-level path of
//! annealed Langevin ([`Smc::run_noise`]).
//!
//! [`Smc`] carries `N` weighted particles from an exactly sampled reference `p₀` to an
//! unnormalised target `p₁` along the [`Geometric`] path `p_β ∝ p₀^(1−β) p₁^β`,
//! `0 = β₀ < β₁ < … < β_T = 1`, and estimates `Z₁/Z₀ = ∫p₁ / ∫p₀` (the model evidence when
//! `p₁` is prior × likelihood and `p₀` is normalised).
//!
//! # Update rule (one level `β → β'`)
//! With normalised weights `W_i` (`Σ W_i = 1`) and `ℓ_i = log p₁(x_i) − log p₀(x_i)`:
//! ```text
//! 1. reweight   log w_i ← log W_i + (β' − β) ℓ_i                 (incremental weight, log space)
//!               log Ẑ   ← log Ẑ + log Σ_i exp(log w_i)            (log-sum-exp)
//!               W_i     ← w_i / Σ_j w_j
//! 2. resample   if ESS = 1 / Σ W_i² < κ N: systematic resampling, W_i ← 1/N
//! 3. move       K MALA (or ULA) steps of step h on p_β' from each particle
//! ```
//! The moves are the crate's own [`crate::Mala`] / [`crate::Ula`] kernels on a
//! [`Geometric`] target — there is no second copy of MALA here. With a fixed schedule the
//! estimate `Ẑ = ∏_levels Σ_i w_i` (`w_i` as in step 1) is unbiased, `E Ẑ = Z₁/Z₀`, for
//! any `N ≥ 1` and any `p_β`-invariant move, with or without resampling (Neal 2001; Del
//! Moral, Doucet & Jasra 2006); hence `E log Ẑ ≤ log Z` (Jensen), with a gap of about `Var(log Ẑ)/2`
//! (checked in `tests/smc.rs`).
//!
//! # Adaptive schedule
//! [`Smc::adaptive`] picks `β'` by bisection so that the *conditional* ESS of the
//! incremental weights (Zhou, Johansen & Aston 2016)
//! ```text
//! CESS(β') = (Σ_i W_i u_i)² / Σ_i W_i u_i²,       u_i = exp((β' − β) ℓ_i)
//! ```
//! equals a fraction `ρ` (e.g. 0.9); if `CESS(1) ≥ ρ` the next level is the last. The
//! number of levels then grows with the information gained from `p₀` to `p₁`. Because the
//! schedule depends on the particles, `Ẑ` is no longer exactly unbiased (the bias vanishes
//! as `N → ∞`, Beskos et al. 2016); for an exactly unbiased estimate, run once adaptively
//! and rerun with the returned [`SmcRun::betas`] as a fixed [`Smc::schedule`].
//!
//! # Bias and stability
//! * MALA moves keep every `p_β` invariant, so the only error of `Ẑ` is Monte Carlo error
//!   (variance ~ `1/N` times a factor that grows when the moves mix poorly).
//! * ULA moves are *not* `p_β`-invariant: `Ẑ` then carries an `O(h)` bias of the
//!   discretisation (cheaper per step, no log density needed for the move itself).
//! * The moves are per-particle independent and start from the particle; they need not
//!   mix globally for unbiasedness, only for a small variance. Multimodal `p₁` is handled by
//!   the weights as long as `p₀` covers the modes.
//!
//! # Noise-level path
//! [`Smc::run_noise`] runs the same driver along the path of annealed Langevin dynamics
//! (Song & Ermon 2019): levels `σ₁ > … > σ_L` ([`SigmaLevels`]) and intermediate targets
//! `p_{σ_i} = p ∗ N(0, σ_i² I)` given by any
//! [`NoiseConditionalLogDensity`] + [`NoiseConditionalScore`] that can also sample `p`
//! exactly (e.g. [`crate::targets::GaussianMixture`], whose smoothed laws are exact):
//! ```text
//! 0. start      x_i = y_i + σ₁ ξ_i,  y_i ~ p exactly, ξ_i ~ N(0, I)  (exact draws of p_{σ₁})
//! 1. reweight   log w_i ← log W_i + log p_{σ_{k+1}}(x_i) − log p_{σ_k}(x_i)
//! 2. resample   as above
//! 3. move       K MALA (or ULA) steps on p_{σ_{k+1}} with step h_k+1 = h σ_{k+1}² / σ_L²
//! ```
//! The step follows NCSN's `α_i ∝ σ_i²` (in the crate's convention `α = 2h`), so `h` is the
//! step at the last level. `Ẑ` estimates `∫ e^{log p_{σ_L}} / ∫ e^{log p_{σ₁}}` for the
//! `log_density_sigma` the target implements: exactly 1 when those are normalised (as for
//! the Gaussian mixture; checked in `tests/smc_noise.rs`), so on this path `Ẑ` is a
//! diagnostic of the run and the output is the weighted particles at `σ_L`, which correct the
//! lag of annealed Langevin's finite number of steps per level (an uncorrected run's mode
//! frequencies reflect where the particles were at large σ, not the mode weights). With
//! MALA moves every `p_{σ_k}` is invariant and the only error is Monte Carlo error; ULA moves
//! add an `O(h)` bias. The same bias/stability remarks as for the geometric path apply.
//!
//! # Standard error of log Z
//! One run gives one `log Ẑ`; its spread is not estimated from inside the run.
//! [`Smc::run_replicates`] runs `R` independent replicates and returns
//! `log Z̄ = log((1/R) Σ_r Ẑ_r)` with the delta-method standard error
//! `se = sd_r(Ẑ_r) / (√R · Z̄)` — the standard deviation that `log Z̄` would have over
//! repetitions of the whole `R`-replicate procedure, valid when `Ẑ_r` has finite variance and
//! `R` is large enough for the CLT (compare it with [`SmcEstimate::sd_log_z`]/√R: if the two
//! disagree wildly, the `Ẑ_r` are heavy-tailed and the SE is not to be trusted).
//!
//! # Seeds and threads
//! In replicate `r`, particle slot `i ∈ 0..N` draws its initial point and all its move noise
//! from [`crate::rng::stream`]`(seed, r (N + 1) + i)`, and systematic resampling draws its one
//! uniform per resampling event from `stream(seed, r (N + 1) + N)`. Reductions over particles
//! run sequentially in index order, so results are bit-identical on any number of threads.
//!
//! # Example
//! ```
//! use langevin::smc::{Move, Smc};
//! use langevin::targets::Gaussian;
//! // Z₁/Z₀ = 1 for two normalised Gaussians.
//! let p0 = Gaussian::<f64>::standard(2)?;
//! let p1 = Gaussian::<f64>::isotropic(vec![1.0, -1.0], 0.5)?;
//! let smc = Smc::new(500, Move::mala(0.2, 3)?).adaptive(0.9).seed(7);
//! let est = smc.run_replicates(&p0, &p1, 4)?;
//! assert!(est.log_z().abs() < 5.0 * est.se() + 0.02);
//! // The weighted particles of a run estimate expectations under p₁.
//! let m = est.runs()[0].weighted_mean();
//! assert!((m[0] - 1.0).abs() < 0.15 && (m[1] + 1.0).abs() < 0.15);
//! # Ok::<(), langevin::Error>(())
//! ```
//!
//! # References
//! * Y. Song, S. Ermon (2019), Generative modeling by estimating gradients of the data
//!   distribution, *NeurIPS* — the noise-level path and the step `α_i ∝ σ_i²`.
//! * R. M. Neal (2001), Annealed importance sampling, *Statistics and Computing* 11:125–139.
//! * P. Del Moral, A. Doucet, A. Jasra (2006), Sequential Monte Carlo samplers, *J. R. Stat.
//!   Soc. B* 68(3):411–436.
//! * Y. Zhou, A. M. Johansen, J. A. D. Aston (2016), Toward automatic model comparison: an
//!   adaptive sequential Monte Carlo approach, *J. Comput. Graph. Stat.* 25(3):701–726 —
//!   conditional ESS.
//! * A. Beskos, A. Jasra, N. Kantas, A. Thiery (2016), On the convergence of adaptive
//!   sequential Monte Carlo methods, *Ann. Appl. Probab.* 26(2):1111–1146.
//! * G. Kitagawa (1996), *J. Comput. Graph. Stat.* 5(1):1–25 — systematic resampling.

mod path;

pub use path::{Geometric, Smoothed};

use crate::annealed::SigmaLevels;
use crate::density::{
    LogDensity, NoiseConditionalLogDensity, NoiseConditionalScore, Score, Target,
};
use crate::mcmc::Kernel;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::rng::{ChainRng, stream};
use crate::targets::ExactSample;
use crate::{Error, Mala, Real, Result, Ula};
use rand::RngExt;
use rayon::prelude::*;

/// Which kernel moves the particles at each level, with its step `h` (convention
/// `x' = x + h ∇log p_β(x) + sqrt(2h) ξ`) and the number of steps per level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Move {
    kind: MoveKind,
    h: f64,
    steps: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MoveKind {
    Mala,
    Ula,
}

impl Move {
    /// `steps` [`crate::Mala`] steps of step `h` per level (exact: `p_β`-invariant).
    ///
    /// # Errors
    /// [`Error::InvalidStepSize`] unless `h` is finite and positive.
    pub fn mala(h: f64, steps: usize) -> Result<Self> {
        crate::error::check_positive("SMC move step size h", h)?;
        Ok(Self {
            kind: MoveKind::Mala,
            h,
            steps,
        })
    }
    /// `steps` [`crate::Ula`] steps of step `h` per level (biased by O(h), see the module docs).
    ///
    /// # Errors
    /// [`Error::InvalidStepSize`] unless `h` is finite and positive.
    pub fn ula(h: f64, steps: usize) -> Result<Self> {
        crate::error::check_positive("SMC move step size h", h)?;
        Ok(Self {
            kind: MoveKind::Ula,
            h,
            steps,
        })
    }
    /// The step size `h`.
    pub fn step_size(&self) -> f64 {
        self.h
    }
    /// Kernel steps per level.
    pub fn steps(&self) -> usize {
        self.steps
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Schedule {
    Adaptive(f64),
    Fixed(Vec<f64>),
}

/// Sequential Monte Carlo sampler on the geometric tempering path ([`Smc::run`]) or the
/// noise-level path of annealed Langevin ([`Smc::run_noise`]) (see the
/// [module docs](self) for the rule, the bias, the standard error and the seeding).
#[derive(Debug, Clone, PartialEq)]
pub struct Smc {
    n: usize,
    mv: Move,
    schedule: Schedule,
    resample_below: f64,
    seed: u64,
    threads: Option<usize>,
    max_levels: usize,
}

/// What happened at one level of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct SmcLevel {
    /// The inverse temperature reached at this level; on the noise-level path
    /// ([`Smc::run_noise`]) the fraction `(i − 1)/(L − 1)` of the way from `σ₁` to `σ_L`.
    pub beta: f64,
    /// The noise level `σ_i` reached at this level on the noise-level path; `None` on the
    /// geometric path.
    pub sigma: Option<f64>,
    /// `log Σ_i W_i exp((β' − β) ℓ_i)`: this level's factor of `log Ẑ`.
    pub log_z_increment: f64,
    /// ESS `1 / Σ W_i²` of the reweighted particles, before any resampling (in particles).
    pub ess: f64,
    /// Whether the particles were resampled at this level.
    pub resampled: bool,
    /// Mean MALA acceptance probability of this level's moves (1 for ULA).
    pub acceptance: f64,
}

/// One SMC run: the weighted particles at `β = 1`, `log Ẑ` and the per-level record.
#[derive(Debug, Clone, PartialEq)]
pub struct SmcRun<T> {
    dim: usize,
    particles: Vec<T>,
    log_weights: Vec<f64>,
    log_z: f64,
    levels: Vec<SmcLevel>,
}

impl<T: Real> SmcRun<T> {
    /// `log Ẑ`, the estimate of `log(Z₁/Z₀)`.
    pub fn log_z(&self) -> f64 {
        self.log_z
    }
    /// The dimension d.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// The particles, row-major `N × d`.
    pub fn particles(&self) -> &[T] {
        &self.particles
    }
    /// Particle `i`, if `i < N`.
    pub fn particle(&self, i: usize) -> Option<&[T]> {
        self.particles.get(i * self.dim..(i + 1) * self.dim)
    }
    /// Normalised log weights (`log Σ_i exp = 0`); `−ln N` each right after a resampling.
    pub fn log_weights(&self) -> &[f64] {
        &self.log_weights
    }
    /// Normalised weights `W_i` (sum 1).
    pub fn weights(&self) -> Vec<f64> {
        self.log_weights.iter().map(|l| l.exp()).collect()
    }
    /// The ESS `1 / Σ W_i²` of the final weights.
    pub fn ess(&self) -> f64 {
        1.0 / self
            .log_weights
            .iter()
            .map(|l| (2.0 * l).exp())
            .sum::<f64>()
    }
    /// The weighted mean `Σ_i W_i x_i` (an estimate of `E_{p₁}[X]`).
    pub fn weighted_mean(&self) -> Vec<f64> {
        let mut m = vec![0.0; self.dim];
        for (x, l) in self.particles.chunks(self.dim).zip(&self.log_weights) {
            let w = l.exp();
            for (mi, xi) in m.iter_mut().zip(x) {
                *mi += w * xi.to_f64();
            }
        }
        m
    }
    /// The per-level record.
    pub fn levels(&self) -> &[SmcLevel] {
        &self.levels
    }
    /// The schedule `β₁ < … < β_T = 1` this run used (pass it to [`Smc::schedule`] to rerun
    /// with a fixed schedule). On the noise-level path: the fractions `(i − 1)/(L − 1)`, see
    /// [`SmcLevel::sigma`] for the levels.
    pub fn betas(&self) -> Vec<f64> {
        self.levels.iter().map(|l| l.beta).collect()
    }
    /// How many times the particles were resampled.
    pub fn resamplings(&self) -> usize {
        self.levels.iter().filter(|l| l.resampled).count()
    }
}

/// `R` independent replicates and the combined estimate of `log Z` with its standard error.
#[derive(Debug, Clone, PartialEq)]
pub struct SmcEstimate<T> {
    runs: Vec<SmcRun<T>>,
    log_z: f64,
    se: f64,
}

impl<T: Real> SmcEstimate<T> {
    /// `log Z̄ = log((1/R) Σ_r Ẑ_r)`: the log of an unbiased estimate of `Z₁/Z₀` (fixed
    /// schedule, MALA moves).
    pub fn log_z(&self) -> f64 {
        self.log_z
    }
    /// The delta-method standard error `sd_r(Ẑ_r) / (√R Z̄)` of [`SmcEstimate::log_z`].
    pub fn se(&self) -> f64 {
        self.se
    }
    /// The replicates' `log Ẑ_r`.
    pub fn log_z_runs(&self) -> Vec<f64> {
        self.runs.iter().map(|r| r.log_z).collect()
    }
    /// The sample standard deviation of the `log Ẑ_r` (one run's spread).
    pub fn sd_log_z(&self) -> f64 {
        let l = self.log_z_runs();
        let r = l.len() as f64;
        let m = l.iter().sum::<f64>() / r;
        (l.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (r - 1.0)).sqrt()
    }
    /// The replicates.
    pub fn runs(&self) -> &[SmcRun<T>] {
        &self.runs
    }
}

/// `R ≥ 2` runs → `log Z̄ = log((1/R) Σ Ẑ_r)` and its delta-method standard error.
fn combine<T: Real>(runs: Vec<SmcRun<T>>) -> Result<SmcEstimate<T>> {
    let l: Vec<f64> = runs.iter().map(|r| r.log_z).collect();
    let rf = l.len() as f64;
    let log_z = log_sum_exp(&l) - rf.ln();
    // Ratios Ẑ_r / Z̄ (mean 1): se = sd(ratios)/√R.
    let ratios: Vec<f64> = l.iter().map(|v| (v - log_z).exp()).collect();
    let var = ratios.iter().map(|q| (q - 1.0) * (q - 1.0)).sum::<f64>() / (rf - 1.0);
    Ok(SmcEstimate {
        runs,
        log_z,
        se: (var / rf).sqrt(),
    })
}

/// A path of intermediate targets for the SMC driver, parametrised by a position
/// `t ∈ [0, end]`: an exact sampler of the start, the statistic `ℓ_t(x)` whose multiple
/// `(t' − t) ℓ_t(x)` is the log incremental weight from `t` to `t'`, and the target at `t`.
trait SmcPath<T: Real>: Sync {
    type Level<'a>: LogDensity<Scalar = T> + Score<Scalar = T> + Sync
    where
        Self: 'a;
    fn dim(&self) -> usize;
    fn end(&self) -> f64;
    fn sample_start(&self, rng: &mut ChainRng, x: &mut [T]);
    fn ell(&self, t: f64, x: &[T]) -> f64;
    fn level(&self, t: f64) -> Result<Self::Level<'_>>;
    fn sigma(&self, t: f64) -> Option<f64>;
    /// The factor applied to the move step `h` at position `t`.
    fn step_scale(&self, t: f64) -> f64;
}

/// `p_β ∝ p₀^(1−β) p₁^β`, `t = β ∈ [0, 1]`, `ℓ = log p₁ − log p₀` for every β.
struct GeometricPath<'a, P0, P1> {
    p0: &'a P0,
    p1: &'a P1,
}

impl<T, P0, P1> SmcPath<T> for GeometricPath<'_, P0, P1>
where
    T: Real,
    P0: LogDensity<Scalar = T> + Score<Scalar = T> + ExactSample<Scalar = T> + Sync,
    P1: LogDensity<Scalar = T> + Score<Scalar = T> + Sync,
{
    type Level<'b>
        = Geometric<&'b P0, &'b P1>
    where
        Self: 'b;
    fn dim(&self) -> usize {
        self.p1.dim()
    }
    fn end(&self) -> f64 {
        1.0
    }
    fn sample_start(&self, rng: &mut ChainRng, x: &mut [T]) {
        self.p0.sample_into(rng, x);
    }
    fn ell(&self, _t: f64, x: &[T]) -> f64 {
        (self.p1.log_density(x) - self.p0.log_density(x)).to_f64()
    }
    fn level(&self, t: f64) -> Result<Self::Level<'_>> {
        Geometric::new(self.p0, self.p1, T::c(t))
    }
    fn sigma(&self, _t: f64) -> Option<f64> {
        None
    }
    fn step_scale(&self, _t: f64) -> f64 {
        1.0
    }
}

/// `p_{σ_i} = p ∗ N(0, σ_i² I)`, `t = i − 1 ∈ {0, …, L − 1}`, `ℓ_t = log p_{σ_{t+2}} −
/// log p_{σ_{t+1}}` (1-based σ), with unit steps in `t`.
struct NoisePath<'a, P: Target> {
    p: &'a P,
    sigmas: &'a [P::Scalar],
}

impl<T, P> SmcPath<T> for NoisePath<'_, P>
where
    T: Real,
    P: NoiseConditionalLogDensity<Scalar = T>
        + NoiseConditionalScore<Scalar = T>
        + ExactSample<Scalar = T>
        + Sync,
{
    type Level<'b>
        = Smoothed<'b, P>
    where
        Self: 'b;
    fn dim(&self) -> usize {
        self.p.dim()
    }
    fn end(&self) -> f64 {
        (self.sigmas.len() - 1) as f64
    }
    fn sample_start(&self, rng: &mut ChainRng, x: &mut [T]) {
        // Exact draw of p ∗ N(0, σ₁² I): y ~ p, then x = y + σ₁ ξ.
        self.p.sample_into(rng, x);
        let s = self.sigmas[0];
        for xi in x.iter_mut() {
            let z: f64 = rng.sample(rand_distr::StandardNormal);
            *xi += s * T::c(z);
        }
    }
    fn ell(&self, t: f64, x: &[T]) -> f64 {
        let i = t as usize;
        if i + 1 >= self.sigmas.len() {
            return 0.0;
        }
        (self.p.log_density_sigma(x, self.sigmas[i + 1])
            - self.p.log_density_sigma(x, self.sigmas[i]))
        .to_f64()
    }
    fn level(&self, t: f64) -> Result<Self::Level<'_>> {
        Smoothed::new(self.p, self.sigmas[t as usize])
    }
    fn sigma(&self, t: f64) -> Option<f64> {
        Some(self.sigmas[t as usize].to_f64())
    }
    fn step_scale(&self, t: f64) -> f64 {
        // NCSN's α_i ∝ σ_i²: `h` is the step at the last level σ_L.
        let last = self.sigmas[self.sigmas.len() - 1].to_f64();
        (self.sigmas[t as usize].to_f64() / last).powi(2)
    }
}

/// At least two replicates (one run has no standard error).
fn check_replicates(replicates: usize) -> Result<()> {
    if replicates < 2 {
        return Err(Error::InvalidParameter {
            name: "replicates",
            value: replicates as f64,
            expected: "at least 2 independent runs to estimate a standard error",
        });
    }
    Ok(())
}

/// `log Σ exp(l_i)`; `−∞` for an empty or all-`−∞` input.
fn log_sum_exp(l: &[f64]) -> f64 {
    let m = l.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + l.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

/// The conditional ESS fraction of the increment `delta` (see the module docs).
fn cess(log_w: &[f64], ell: &[f64], delta: f64) -> f64 {
    let m = ell
        .iter()
        .zip(log_w)
        .filter(|(_, w)| w.is_finite())
        .map(|(e, _)| delta * e)
        .fold(f64::NEG_INFINITY, f64::max);
    let (mut s1, mut s2) = (0.0, 0.0);
    for (e, w) in ell.iter().zip(log_w) {
        if !w.is_finite() {
            continue;
        }
        let u = (delta * e - m).exp();
        let wu = w.exp() * u;
        s1 += wu;
        s2 += wu * u;
    }
    if s2 > 0.0 { s1 * s1 / s2 } else { 0.0 }
}

/// Systematic resampling (Kitagawa 1996): one uniform `u ~ U[0, 1)`, ancestor of slot `j` is
/// the index `i` with `Σ_{k<i} W_k ≤ (j + u)/N < Σ_{k≤i} W_k`.
fn systematic(log_w: &[f64], u: f64, ancestors: &mut [usize]) {
    let n = log_w.len();
    let mut cum = 0.0;
    let mut i = 0;
    for (j, a) in ancestors.iter_mut().enumerate() {
        let target = (j as f64 + u) / n as f64;
        while i + 1 < n && cum + log_w[i].exp() <= target {
            cum += log_w[i].exp();
            i += 1;
        }
        *a = i;
    }
}

impl Smc {
    /// `particles` particles moved by `mv` at each level; adaptive schedule with CESS
    /// fraction 0.9, resampling when the ESS drops below N/2, seed 0, rayon's global pool.
    pub fn new(particles: usize, mv: Move) -> Self {
        Self {
            n: particles,
            mv,
            schedule: Schedule::Adaptive(0.9),
            resample_below: 0.5,
            seed: 0,
            threads: None,
            max_levels: 10_000,
        }
    }
    /// Adaptive next-β by bisection on the conditional ESS, aiming at `CESS = rho`
    /// (`0 < rho < 1`; larger = more, closer levels).
    pub fn adaptive(mut self, rho: f64) -> Self {
        self.schedule = Schedule::Adaptive(rho);
        self
    }
    /// A fixed schedule `β₁ < β₂ < … < β_T = 1` (each in `(0, 1]`; `β₀ = 0` is implicit).
    pub fn schedule(mut self, betas: Vec<f64>) -> Self {
        self.schedule = Schedule::Fixed(betas);
        self
    }
    /// Resample when the ESS falls below `fraction · N` (`0 ≤ fraction ≤ 1`; 0 never
    /// resamples — plain annealed importance sampling; 1 resamples at every level).
    pub fn resample_threshold(mut self, fraction: f64) -> Self {
        self.resample_below = fraction;
        self
    }
    /// The seed (see the module docs for the stream layout).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Runs on a dedicated pool of `threads` threads (results do not depend on it).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }
    /// The most levels an adaptive run may take before it stops with an error (default 10 000).
    pub fn max_levels(mut self, levels: usize) -> Self {
        self.max_levels = levels;
        self
    }

    fn validate(&self) -> Result<()> {
        self.validate_common()?;
        self.validate_schedule()
    }

    fn validate_common(&self) -> Result<()> {
        if self.n == 0 {
            return Err(Error::ZeroCount {
                what: "SMC particles",
            });
        }
        if self.mv.steps == 0 {
            return Err(Error::ZeroCount {
                what: "move steps per SMC level",
            });
        }
        if !(0.0..=1.0).contains(&self.resample_below) {
            return Err(Error::InvalidParameter {
                name: "resample threshold",
                value: self.resample_below,
                expected: "a fraction of N in [0, 1] (0.5 resamples when ESS < N/2)",
            });
        }
        Ok(())
    }

    fn validate_schedule(&self) -> Result<()> {
        match &self.schedule {
            Schedule::Adaptive(rho) => {
                if !(*rho > 0.0 && *rho < 1.0) {
                    return Err(Error::InvalidParameter {
                        name: "conditional ESS target rho",
                        value: *rho,
                        expected: "a fraction 0 < rho < 1, e.g. 0.9",
                    });
                }
                if self.max_levels == 0 {
                    return Err(Error::ZeroCount {
                        what: "maximum SMC levels",
                    });
                }
            }
            Schedule::Fixed(b) => {
                let ok = !b.is_empty()
                    && b.iter().all(|v| v.is_finite() && *v > 0.0 && *v <= 1.0)
                    && b.windows(2).all(|w| w[0] < w[1])
                    && b.last() == Some(&1.0);
                if !ok {
                    return Err(Error::InvalidSchedule {
                        reason: format!(
                            "an SMC schedule must be strictly increasing in (0, 1] and end at \
                             exactly 1 (β₀ = 0 is implicit); got {} values starting {:?}",
                            b.len(),
                            &b[..b.len().min(4)]
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// One run from `p0` (sampled exactly) to `p1`.
    ///
    /// # Errors
    /// Bad configuration (see the builder methods): [`Error::ZeroCount`],
    /// [`Error::InvalidParameter`], [`Error::InvalidSchedule`];
    /// [`Error::DimensionMismatch`] if `p0` and `p1` differ in dimension;
    /// [`Error::InvalidConfig`] if `log p₁ − log p₀` is NaN or `+∞` at a particle, if every
    /// weight vanishes, or if an adaptive run needs more than [`Smc::max_levels`] levels;
    /// any error of the move kernel (e.g. [`Error::NonFiniteState`] from ULA moves).
    pub fn run<T, P0, P1>(&self, p0: &P0, p1: &P1) -> Result<SmcRun<T>>
    where
        T: Real,
        P0: LogDensity<Scalar = T> + Score<Scalar = T> + ExactSample<Scalar = T> + Sync,
        P1: LogDensity<Scalar = T> + Score<Scalar = T> + Sync,
    {
        self.validate()?;
        crate::error::check_len("reference p0 (dimension of p1)", p1.dim(), p0.dim())?;
        self.run_one(p0, p1, 0)
    }

    /// `replicates` independent runs (replicate `r` uses the streams of the module docs) and
    /// the combined `log Z̄` with its standard error.
    ///
    /// # Errors
    /// As [`Smc::run`]; [`Error::InvalidParameter`] for fewer than 2 replicates (no
    /// standard error from one run).
    pub fn run_replicates<T, P0, P1>(
        &self,
        p0: &P0,
        p1: &P1,
        replicates: usize,
    ) -> Result<SmcEstimate<T>>
    where
        T: Real,
        P0: LogDensity<Scalar = T> + Score<Scalar = T> + ExactSample<Scalar = T> + Sync,
        P1: LogDensity<Scalar = T> + Score<Scalar = T> + Sync,
    {
        self.validate()?;
        crate::error::check_len("reference p0 (dimension of p1)", p1.dim(), p0.dim())?;
        check_replicates(replicates)?;
        combine(
            (0..replicates)
                .map(|r| self.run_one(p0, p1, r as u64))
                .collect::<Result<Vec<_>>>()?,
        )
    }

    /// One run along the noise-level path `p_{σ₁}, …, p_{σ_L}` of annealed Langevin,
    /// `p_σ = p ∗ N(0, σ² I)` (see the [module docs](self#noise-level-path)). The configured
    /// schedule ([`Smc::adaptive`], [`Smc::schedule`]) is not used: the levels are `sigmas`.
    ///
    /// # Errors
    /// As [`Smc::run`] (configuration, non-finite log-density differences, vanished weights,
    /// kernel errors).
    ///
    /// # Example
    /// ```
    /// use langevin::annealed::SigmaLevels;
    /// use langevin::smc::{Move, Smc};
    /// use langevin::targets::GaussianMixture;
    /// // Two modes with weights 0.2 / 0.8; the smoothed laws are normalised, so Ẑ estimates 1.
    /// let p = GaussianMixture::<f64>::new(
    ///     vec![0.2, 0.8],
    ///     vec![vec![-3.0], vec![3.0]],
    ///     vec![0.25, 0.25],
    /// )?;
    /// let sig = SigmaLevels::geometric(5.0, 0.3, 8)?;
    /// let run = Smc::new(2000, Move::mala(0.02, 2)?).seed(1).run_noise(&p, &sig)?;
    /// assert!(run.log_z().abs() < 0.1);
    /// let right: f64 = run
    ///     .weights()
    ///     .iter()
    ///     .zip(run.particles())
    ///     .filter(|(_, x)| **x > 0.0)
    ///     .map(|(w, _)| w)
    ///     .sum();
    /// assert!((right - 0.8).abs() < 0.05);
    /// # Ok::<(), langevin::Error>(())
    /// ```
    pub fn run_noise<T, P>(&self, p: &P, sigmas: &SigmaLevels<T>) -> Result<SmcRun<T>>
    where
        T: Real,
        P: NoiseConditionalLogDensity<Scalar = T>
            + NoiseConditionalScore<Scalar = T>
            + ExactSample<Scalar = T>
            + Sync,
    {
        self.validate_common()?;
        self.run_noise_one(p, sigmas, 0)
    }

    /// `replicates` independent runs of [`Smc::run_noise`] (streams as in the module docs)
    /// and the combined `log Z̄` with its standard error.
    ///
    /// # Errors
    /// As [`Smc::run_noise`]; [`Error::InvalidParameter`] for fewer than 2 replicates.
    pub fn run_noise_replicates<T, P>(
        &self,
        p: &P,
        sigmas: &SigmaLevels<T>,
        replicates: usize,
    ) -> Result<SmcEstimate<T>>
    where
        T: Real,
        P: NoiseConditionalLogDensity<Scalar = T>
            + NoiseConditionalScore<Scalar = T>
            + ExactSample<Scalar = T>
            + Sync,
    {
        self.validate_common()?;
        check_replicates(replicates)?;
        combine(
            (0..replicates)
                .map(|r| self.run_noise_one(p, sigmas, r as u64))
                .collect::<Result<Vec<_>>>()?,
        )
    }

    fn run_noise_one<T, P>(
        &self,
        p: &P,
        sigmas: &SigmaLevels<T>,
        replicate: u64,
    ) -> Result<SmcRun<T>>
    where
        T: Real,
        P: NoiseConditionalLogDensity<Scalar = T>
            + NoiseConditionalScore<Scalar = T>
            + ExactSample<Scalar = T>
            + Sync,
    {
        let path = NoisePath {
            p,
            sigmas: sigmas.as_slice(),
        };
        let steps = (1..sigmas.len()).map(|i| i as f64).collect();
        self.drive(&path, &Schedule::Fixed(steps), replicate)
    }

    fn run_one<T, P0, P1>(&self, p0: &P0, p1: &P1, replicate: u64) -> Result<SmcRun<T>>
    where
        T: Real,
        P0: LogDensity<Scalar = T> + Score<Scalar = T> + ExactSample<Scalar = T> + Sync,
        P1: LogDensity<Scalar = T> + Score<Scalar = T> + Sync,
    {
        let path = GeometricPath { p0, p1 };
        self.drive(&path, &self.schedule, replicate)
    }

    /// The driver shared by both paths: positions `0 = t₀ < t₁ < … < t_T = path.end()`
    /// (β on the geometric path, the level index on the noise-level path); incremental
    /// weight `(t' − t) ℓ_t(x)` with `ℓ_t` from [`SmcPath::ell`].
    fn drive<T, Q>(&self, path: &Q, schedule: &Schedule, replicate: u64) -> Result<SmcRun<T>>
    where
        T: Real,
        Q: SmcPath<T>,
    {
        let (n, d) = (self.n, path.dim());
        let end = path.end();
        let base = replicate.wrapping_mul(n as u64 + 1);
        let mut rngs: Vec<ChainRng> = (0..n).map(|i| stream(self.seed, base + i as u64)).collect();
        let mut rs_rng = stream(self.seed, base + n as u64);
        let mut xs = vec![T::zero(); n * d];
        let mut ell = vec![0.0f64; n];
        let mut log_w = vec![-(n as f64).ln(); n];
        let mut new_w = vec![0.0f64; n];
        let mut ancestors = vec![0usize; n];
        let threads = self.threads;

        // Initial draws and ℓ_i, in parallel, one stream per slot.
        crate::pool::in_pool(threads, || {
            xs.par_chunks_mut(d)
                .zip(rngs.par_iter_mut())
                .zip(ell.par_iter_mut())
                .for_each(|((x, rng), e)| {
                    path.sample_start(rng, x);
                    *e = path.ell(0.0, x);
                })
        })?;

        let mut beta = 0.0f64;
        let mut log_z = 0.0f64;
        let mut levels = Vec::new();
        let mut fixed_idx = 0usize;
        while beta < end {
            if let Some(i) = ell
                .iter()
                .zip(&log_w)
                .position(|(e, w)| w.is_finite() && (e.is_nan() || *e == f64::INFINITY))
            {
                return Err(Error::InvalidConfig {
                    reason: format!(
                        "log-density difference {} between consecutive SMC levels at particle \
                         {i} (position {beta}); both log densities must be finite or −∞ on the \
                         particles' support",
                        ell[i]
                    ),
                });
            }
            let next = match schedule {
                Schedule::Fixed(b) => {
                    let v = b[fixed_idx];
                    fixed_idx += 1;
                    v
                }
                Schedule::Adaptive(rho) => {
                    if levels.len() >= self.max_levels {
                        return Err(Error::InvalidConfig {
                            reason: format!(
                                "adaptive SMC reached β = {beta} after {} levels without \
                                 reaching 1; lower the CESS target rho, improve the reference p0, \
                                 or raise max_levels",
                                levels.len()
                            ),
                        });
                    }
                    let span = end - beta;
                    if cess(&log_w, &ell, span) >= *rho {
                        end
                    } else {
                        let (mut lo, mut hi) = (0.0f64, span);
                        for _ in 0..100 {
                            let mid = 0.5 * (lo + hi);
                            if cess(&log_w, &ell, mid) >= *rho {
                                lo = mid;
                            } else {
                                hi = mid;
                            }
                            if hi - lo <= 1e-14 * span {
                                break;
                            }
                        }
                        if lo <= 0.0 {
                            return Err(Error::InvalidConfig {
                                reason: format!(
                                    "adaptive SMC cannot advance from β = {beta}: the weights \
                                     degenerate for any increment; lower rho or use more particles"
                                ),
                            });
                        }
                        (beta + lo).min(end)
                    }
                }
            };
            let delta = next - beta;
            // 1. Reweight in log space.
            for ((nw, w), e) in new_w.iter_mut().zip(&log_w).zip(&ell) {
                *nw = if w.is_finite() { w + delta * e } else { *w };
            }
            let inc = log_sum_exp(&new_w);
            if !inc.is_finite() {
                return Err(Error::InvalidConfig {
                    reason: format!(
                        "every SMC weight vanished at position {next}: the next level is zero \
                         where the particles are; choose a start that covers the target"
                    ),
                });
            }
            log_z += inc;
            for (w, nw) in log_w.iter_mut().zip(&new_w) {
                *w = nw - inc;
            }
            let ess = 1.0 / log_w.iter().map(|l| (2.0 * l).exp()).sum::<f64>();
            // 2. Resample.
            let resampled = ess < self.resample_below * n as f64;
            if resampled {
                let u: f64 = rs_rng.random();
                systematic(&log_w, u, &mut ancestors);
                let old = xs.clone();
                for (j, &a) in ancestors.iter().enumerate() {
                    xs[j * d..(j + 1) * d].copy_from_slice(&old[a * d..(a + 1) * d]);
                    new_w[j] = ell[a];
                }
                ell.copy_from_slice(&new_w);
                log_w.fill(-(n as f64).ln());
            }
            beta = next;
            // 3. Move on the level at `beta` with the crate's kernels, then refresh ℓ.
            let level = path.level(beta)?;
            let ell_at = |x: &[T]| path.ell(beta, x);
            let h = T::c(self.mv.h * path.step_scale(beta));
            let acc = match self.mv.kind {
                MoveKind::Mala => {
                    let k = Mala::new(level, h)?;
                    self.move_all(&k, &mut xs, &mut rngs, &log_w, &mut ell, &ell_at)?
                }
                MoveKind::Ula => {
                    let k = Ula::new(level, h)?;
                    self.move_all(&k, &mut xs, &mut rngs, &log_w, &mut ell, &ell_at)?
                }
            };
            levels.push(SmcLevel {
                beta: beta / end,
                sigma: path.sigma(beta),
                log_z_increment: inc,
                ess,
                resampled,
                acceptance: acc,
            });
        }
        Ok(SmcRun {
            dim: d,
            particles: xs,
            log_weights: log_w,
            log_z,
            levels,
        })
    }

    /// `steps` kernel steps from every live particle (in parallel, slot `i` with its own
    /// stream), then `ℓ_i` at the new positions. Returns the mean acceptance probability.
    fn move_all<K, T>(
        &self,
        kernel: &K,
        xs: &mut [T],
        rngs: &mut [ChainRng],
        log_w: &[f64],
        ell: &mut [f64],
        ell_of: &(impl Fn(&[T]) -> f64 + Sync),
    ) -> Result<f64>
    where
        K: Kernel<Scalar = T>,
        T: Real,
    {
        let d = kernel.dim();
        let steps = self.mv.steps;
        let per: Vec<Result<(f64, usize)>> = crate::pool::in_pool(self.threads, || {
            xs.par_chunks_mut(d)
                .zip(rngs.par_iter_mut())
                .zip(ell.par_iter_mut())
                .zip(log_w.par_iter())
                .enumerate()
                .map(|(i, (((x, rng), e), w))| {
                    if !w.is_finite() {
                        // Weight zero: the particle no longer matters until resampled away.
                        return Ok((0.0, 0));
                    }
                    let mut s = kernel.init(x, i)?;
                    let mut acc = 0.0;
                    for _ in 0..steps {
                        acc += kernel.step(&mut s, rng)?.accept_prob;
                    }
                    x.copy_from_slice(kernel.position(&s));
                    *e = ell_of(x);
                    Ok((acc, steps))
                })
                .collect()
        })?;
        let (mut acc, mut cnt) = (0.0, 0usize);
        for r in per {
            let (a, c) = r?;
            acc += a;
            cnt += c;
        }
        Ok(if cnt > 0 { acc / cnt as f64 } else { 0.0 })
    }
}
