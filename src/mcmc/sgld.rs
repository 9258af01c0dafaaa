use super::{Constant, Kernel, StepInfo, StepSchedule};
use crate::density::{Score, Target};
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::{Error, Real, Result};
use rand::Rng;

/// An unbiased (or user-controlled) stochastic estimate of the score `∇log p(x)`, e.g. a
/// minibatch estimate of a log posterior's gradient:
///
/// ```text
/// ĝ(x) = ∇log p₀(x) + (N/n) Σ_{i ∈ batch} ∇log p(y_i | x),     E ĝ(x) = ∇log p(x | y₁…y_N)
/// ```
///
/// The estimator draws its minibatch (or any other randomness) from the chain's RNG, so runs
/// stay reproducible.
pub trait StochasticScore: Target {
    /// Writes an estimate of `∇log p(x)` into `out` (length d).
    fn estimate_into<R: Rng + ?Sized>(
        &self,
        x: &[Self::Scalar],
        rng: &mut R,
        out: &mut [Self::Scalar],
    );
}

/// A [`Score`] used as a noise-free [`StochasticScore`] (full-batch gradients).
#[derive(Debug, Clone)]
pub struct ExactScore<P>(pub P);

impl<P: Target> Target for ExactScore<P> {
    type Scalar = P::Scalar;
    fn dim(&self) -> usize {
        self.0.dim()
    }
}
impl<P: Score> StochasticScore for ExactScore<P> {
    #[inline]
    fn estimate_into<R: Rng + ?Sized>(&self, x: &[P::Scalar], _rng: &mut R, out: &mut [P::Scalar]) {
        self.0.score_into(x, out)
    }
}

/// A [`Score`] plus isotropic Gaussian noise of standard deviation σ per coordinate: the
/// gradient of a loss observed with noise, `ĝ(x) = ∇log p(x) + σ ξ`. With [`Sgld`] at
/// temperature 0 and a [`Constant`] step η it is literally gradient descent with gradient
/// noise on `L = −log p`, which samples the Gibbs law at temperature ησ²/2 (see [`Sgld`]).
///
/// ```
/// use langevin::prelude::*;
/// use langevin::mcmc::{Constant, GradientNoise, Sgld};
/// use langevin::targets::Gaussian;
/// // θ' = θ − η(θ + σξ) on L = θ²/2 with η = 0.1, σ = 2: T = 0.2, Var = 0.2/(1 − 0.05).
/// let noisy = GradientNoise::new(Gaussian::<f64>::standard(1)?, 2.0)?;
/// let sgd = Sgld::with_temperature(noisy, Constant::new(0.1)?, 0.0)?;
/// let trace = Sampler::new(20_000).chains(2).warmup(100).seed(4).run(&sgd, &[vec![0.0]])?;
/// assert!((trace.variance()[0] - 0.2 / 0.95).abs() < 0.03);
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct GradientNoise<P: Target> {
    score: P,
    sigma: P::Scalar,
}

/// Checks a gradient-noise standard deviation σ (finite, ≥ 0).
fn check_gradient_noise<T: Real>(sigma: T) -> Result<()> {
    let s = sigma.to_f64();
    if s.is_finite() && s >= 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name: "sigma",
            value: s,
            expected: "a finite gradient-noise standard deviation σ ≥ 0",
        })
    }
}

impl<P: Score> GradientNoise<P> {
    /// The score of `p` observed with Gaussian noise of standard deviation `sigma ≥ 0`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `sigma` is finite and ≥ 0.
    pub fn new(score: P, sigma: P::Scalar) -> Result<Self> {
        check_gradient_noise(sigma)?;
        Ok(Self { score, sigma })
    }
    /// The noise standard deviation σ.
    pub fn sigma(&self) -> P::Scalar {
        self.sigma
    }
}

impl<P: Target> Target for GradientNoise<P> {
    type Scalar = P::Scalar;
    fn dim(&self) -> usize {
        self.score.dim()
    }
}
impl<P: Score> StochasticScore for GradientNoise<P> {
    #[inline]
    fn estimate_into<R: Rng + ?Sized>(&self, x: &[P::Scalar], rng: &mut R, out: &mut [P::Scalar]) {
        self.score.score_into(x, out);
        for o in out.iter_mut() {
            *o += self.sigma * P::Scalar::standard_normal(rng);
        }
    }
}

/// Stochastic-gradient Langevin dynamics (Welling & Teh 2011), at temperature `T ≥ 0`:
///
/// ```text
/// x_{k+1} = x_k + h_k ĝ(x_k) + sqrt(2 h_k T) ξ_k,       ξ_k ~ N(0, I)
/// ```
///
/// with a [`StochasticScore`] `ĝ` and a [`StepSchedule`] `h_k` ([`Constant`],
/// [`super::PolynomialDecay`]). With `ĝ = ∇log p` exact and constant `h` this is ULA; with
/// `T = 0` it is stochastic gradient *ascent* on `log p` (descent on `L = −log p`).
///
/// # Bias
/// Two biases add up. The discretisation bias of ULA (on `N(m, s²)`: variance inflated by
/// `1/(1 − h/(2s²))`) and the minibatch-noise bias: gradient noise of covariance `C` adds
/// `h² C` per step to the injected `2hT`, i.e. an effective temperature `T + hC/2`. On a
/// Gaussian posterior of precision `P` with a θ-independent gradient noise variance `σ_g²`
/// (the conjugate Gaussian model), the recursion is linear and its stationary variance is
/// exactly `(2hT + h²σ_g²)/(1 − (1 − hP)²)`. Both vanish as `h_k → 0`
/// ([`super::PolynomialDecay`]); the mixing slows down accordingly.
///
/// # Gradient noise is temperature
/// Gradient descent on `L` with learning rate `η` and Gaussian gradient noise of variance σ²,
/// `θ' = θ − η(∇L(θ) + σ ξ)`, *is* this kernel with `ĝ = −∇L`, `h = η` and `T = ησ²/2`
/// ([`Sgld::from_noisy_sgd`]): both inject `ησ ξ`. Its continuous limit has the Gibbs density
/// `∝ exp(−2L/(ησ²))`, and for `L = ½kθ²` the exact discrete stationary variance is
/// `(ησ²/(2k))/(1 − ηk/2)` (Mandt, Hoffman & Blei 2017). Anisotropic noise covariance `C`
/// instead gives a stationary covariance solving a Lyapunov equation.
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::mcmc::{ExactScore, PolynomialDecay, Sgld};
/// use langevin::targets::Gaussian;
/// let sgld = Sgld::new(ExactScore(Gaussian::<f64>::standard(1)?), PolynomialDecay::new(0.5, 10.0, 0.55)?)?;
/// let trace = Sampler::new(3_000).chains(2).warmup(300).seed(9).run(&sgld, &[vec![0.0]])?;
/// assert!((trace.variance()[0] - 1.0).abs() < 0.25);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * M. Welling, Y. W. Teh (2011), Bayesian learning via stochastic gradient Langevin
///   dynamics, *ICML*.
/// * S. Mandt, M. D. Hoffman, D. M. Blei (2017), Stochastic gradient descent as approximate
///   Bayesian inference, *JMLR* 18(134):1–35.
#[derive(Debug, Clone)]
pub struct Sgld<G: StochasticScore, S> {
    estimator: G,
    schedule: S,
    temperature: G::Scalar,
}

/// Per-chain state of [`Sgld`].
#[derive(Debug, Clone)]
#[cfg_attr(feature = "checkpoint", derive(serde::Serialize, serde::Deserialize))]
pub struct SgldState<T> {
    x: Vec<T>,
    g: Vec<T>,
    chain: usize,
    step: usize,
}

impl<T: Real> SgldState<T> {
    /// The current position.
    pub fn position(&self) -> &[T] {
        &self.x
    }
    /// Transitions taken so far (the schedule index of the next step).
    pub fn steps(&self) -> usize {
        self.step
    }
}

impl<G: StochasticScore, S: StepSchedule<G::Scalar>> Sgld<G, S> {
    /// SGLD at temperature 1.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] for a 0-dimensional estimator.
    pub fn new(estimator: G, schedule: S) -> Result<Self> {
        Self::with_temperature(estimator, schedule, G::Scalar::one())
    }

    /// SGLD at temperature `T ≥ 0` (`T = 0`: stochastic gradient ascent on log p).
    ///
    /// # Errors
    /// [`Error::ZeroDimension`]; [`Error::InvalidParameter`] unless `T` is finite and ≥ 0.
    pub fn with_temperature(estimator: G, schedule: S, temperature: G::Scalar) -> Result<Self> {
        if estimator.dim() == 0 {
            return Err(Error::ZeroDimension {
                what: "stochastic score",
            });
        }
        let t = temperature.to_f64();
        if !(t.is_finite() && t >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "temperature",
                value: t,
                expected: "a finite temperature T ≥ 0",
            });
        }
        Ok(Self {
            estimator,
            schedule,
            temperature,
        })
    }

    /// The temperature T.
    pub fn temperature(&self) -> G::Scalar {
        self.temperature
    }
    /// The gradient estimator.
    pub fn estimator(&self) -> &G {
        &self.estimator
    }
    /// The step schedule.
    pub fn schedule(&self) -> &S {
        &self.schedule
    }
}

impl<G: StochasticScore> Sgld<G, Constant<G::Scalar>> {
    /// Gradient descent on `L = −log p` with learning rate `η` and Gaussian gradient noise of
    /// standard deviation `σ` per coordinate, written as SGLD: `h = η`, `T = ησ²/2` (see the
    /// type docs). `estimator` should estimate `−∇L` (the score of `exp(−L)`).
    ///
    /// # Errors
    /// [`Error::InvalidStepSize`] for a bad `η`; [`Error::InvalidParameter`] for a bad `σ`.
    pub fn from_noisy_sgd(estimator: G, eta: G::Scalar, sigma: G::Scalar) -> Result<Self> {
        check_gradient_noise(sigma)?;
        let schedule = Constant::new(eta)?;
        Self::with_temperature(estimator, schedule, eta * sigma * sigma * G::Scalar::c(0.5))
    }
}

impl<G, S> Kernel for Sgld<G, S>
where
    G: StochasticScore + Sync,
    S: StepSchedule<G::Scalar>,
{
    type Scalar = G::Scalar;
    type State = SgldState<G::Scalar>;

    fn dim(&self) -> usize {
        self.estimator.dim()
    }

    fn init(&self, x0: &[G::Scalar], chain: usize) -> Result<Self::State> {
        crate::mcmc::check_x0(x0, self.dim(), chain)?;
        Ok(SgldState {
            x: x0.to_vec(),
            g: vec![G::Scalar::zero(); x0.len()],
            chain,
            step: 0,
        })
    }

    #[inline]
    fn step<R: Rng + ?Sized>(&self, s: &mut Self::State, rng: &mut R) -> Result<StepInfo> {
        let step = s.step;
        let h = super::step_schedule::next_step(&self.schedule, &mut s.step, "step size h")?;
        self.estimator.estimate_into(&s.x, rng, &mut s.g);
        let noise = (G::Scalar::c(2.0) * h * self.temperature).sqrt();
        for (x, &g) in s.x.iter_mut().zip(&s.g) {
            *x += h * g + noise * G::Scalar::standard_normal(rng);
        }
        crate::mcmc::unadjusted_step_result(&s.x, s.chain, step)
    }

    fn position<'a>(&self, state: &'a Self::State) -> &'a [G::Scalar] {
        &state.x
    }
}
