use super::{Kernel, StepInfo, StepSchedule, StochasticScore};
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::{Error, Real, Result};
use rand::Rng;

/// Stochastic-gradient Hamiltonian Monte Carlo (Chen, Fox & Guestrin 2014), in their
/// "learning rate / momentum decay" parameterisation, at temperature `T ≥ 0`:
///
/// ```text
/// x_{k+1} = x_k + v_k
/// v_{k+1} = (1 − α) v_k + η_k ĝ(x_{k+1}) + sqrt(2 (α − β̂) η_k T) ξ_k,      ξ_k ~ N(0, I)
/// ```
/// with a [`StochasticScore`] `ĝ`, a [`StepSchedule`] that here yields the **learning rate**
/// `η_k` (in leapfrog time `η = h²` and `α = γh` for friction `γ`; the velocity is `v = h·p`),
/// momentum decay `α ∈ (0, 1]` and an estimate `β̂ ∈ [0, α)` of the gradient-noise
/// contribution (`β̂ = η σ_g²/2` for noise variance `σ_g²`; 0 by default). `v_0 = 0`.
///
/// # Bias
/// On a Gaussian of precision `P` with θ-independent gradient noise of variance `σ_g²` the
/// chain is linear in `(x − m, v)` with `a = ηP`, `c = 1 − α`, injected variance
/// `q = η²σ_g² + 2(α − β̂)ηT`; its stationary variance of `x` is exactly
/// ```text
/// Var x = (1 + c) q / (2a (1 − c)(1 + c − a/2))
///       = (T/P) / (1 − ηP/(2(2 − α)))          for σ_g = 0, β̂ = 0
/// ```
/// (derived and tested in `tests/sg_mcmc.rs`). The first factor is the discretisation bias
/// (→ 1 as `η → 0`); gradient noise adds `η σ_g²/(2α)` to the effective temperature unless
/// `β̂` cancels it (Chen et al.'s "friction" correction, `β̂ = ησ_g²/2`). Stable iff
/// `0 < ηP < 2(2 − α)` on that Gaussian. Unadjusted: a non-finite state stops the chain with
/// [`Error::NonFiniteState`].
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::mcmc::{Constant, ExactScore, Sghmc};
/// use langevin::targets::Gaussian;
/// // η = 0.01, α = 0.1 on N(0, 1): Var x = 1/(1 − 0.01/3.8) = 1.0026.
/// let sghmc = Sghmc::new(ExactScore(Gaussian::<f64>::standard(1)?), Constant::new(0.01)?, 0.1, 0.0)?;
/// let trace = Sampler::new(40_000).chains(2).warmup(1_000).seed(6).run(&sghmc, &[vec![0.0]])?;
/// assert!((trace.variance()[0] - 1.0026).abs() < 0.15);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * T. Chen, E. B. Fox, C. Guestrin (2014), Stochastic gradient Hamiltonian Monte Carlo,
///   *ICML*, Algorithm 2 and §3.3.
#[derive(Debug, Clone)]
pub struct Sghmc<G: StochasticScore, S> {
    estimator: G,
    schedule: S,
    alpha: G::Scalar,
    beta_hat: G::Scalar,
    temperature: G::Scalar,
}

/// Per-chain state of [`Sghmc`]: position, velocity, score buffer and counters.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "checkpoint", derive(serde::Serialize, serde::Deserialize))]
pub struct SghmcState<T> {
    x: Vec<T>,
    v: Vec<T>,
    g: Vec<T>,
    chain: usize,
    step: usize,
}

impl<T: Real> SghmcState<T> {
    /// The current position.
    pub fn position(&self) -> &[T] {
        &self.x
    }
    /// The velocity `v` (the position increment of the next step).
    pub fn velocity(&self) -> &[T] {
        &self.v
    }
    /// Mutable access to `v` (`init` sets `v = 0`).
    pub fn velocity_mut(&mut self) -> &mut [T] {
        &mut self.v
    }
    /// Transitions taken so far.
    pub fn steps(&self) -> usize {
        self.step
    }
}

impl<G: StochasticScore, S: StepSchedule<G::Scalar>> Sghmc<G, S> {
    /// SGHMC at temperature 1 with learning-rate schedule `η_k`, momentum decay
    /// `alpha ∈ (0, 1]` and noise estimate `beta_hat ∈ [0, α)`.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`]; [`Error::InvalidParameter`] unless `0 < α ≤ 1` and
    /// `0 ≤ β̂ < α`.
    pub fn new(estimator: G, schedule: S, alpha: G::Scalar, beta_hat: G::Scalar) -> Result<Self> {
        if estimator.dim() == 0 {
            return Err(Error::ZeroDimension {
                what: "stochastic score",
            });
        }
        let a = alpha.to_f64();
        if !(a > 0.0 && a <= 1.0) {
            return Err(Error::InvalidParameter {
                name: "momentum decay alpha",
                value: a,
                expected: "a decay in (0, 1] (Chen et al. 2014 use 0.01–0.1)",
            });
        }
        let b = beta_hat.to_f64();
        if !(b >= 0.0 && b < a) {
            return Err(Error::InvalidParameter {
                name: "noise estimate beta_hat",
                value: b,
                expected: "0 ≤ β̂ < α (β̂ = η σ_g²/2 cancels gradient noise of variance σ_g²)",
            });
        }
        Ok(Self {
            estimator,
            schedule,
            alpha,
            beta_hat,
            temperature: G::Scalar::one(),
        })
    }

    /// The same sampler at temperature `T ≥ 0` (`T = 0`: SGD with momentum on `−log p`).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `T` is finite and ≥ 0.
    pub fn with_temperature(mut self, temperature: G::Scalar) -> Result<Self> {
        let t = temperature.to_f64();
        if !(t.is_finite() && t >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "temperature",
                value: t,
                expected: "a finite temperature T ≥ 0",
            });
        }
        self.temperature = temperature;
        Ok(self)
    }
    /// The momentum decay α.
    pub fn alpha(&self) -> G::Scalar {
        self.alpha
    }
    /// The noise estimate β̂.
    pub fn beta_hat(&self) -> G::Scalar {
        self.beta_hat
    }
    /// The temperature T.
    pub fn temperature(&self) -> G::Scalar {
        self.temperature
    }
    /// The gradient estimator.
    pub fn estimator(&self) -> &G {
        &self.estimator
    }
    /// The learning-rate schedule.
    pub fn schedule(&self) -> &S {
        &self.schedule
    }
}

impl<G, S> Kernel for Sghmc<G, S>
where
    G: StochasticScore + Sync,
    S: StepSchedule<G::Scalar>,
{
    type Scalar = G::Scalar;
    type State = SghmcState<G::Scalar>;

    fn dim(&self) -> usize {
        self.estimator.dim()
    }

    fn init(&self, x0: &[G::Scalar], chain: usize) -> Result<Self::State> {
        crate::mcmc::check_x0(x0, self.dim(), chain)?;
        Ok(SghmcState {
            x: x0.to_vec(),
            v: vec![G::Scalar::zero(); x0.len()],
            g: vec![G::Scalar::zero(); x0.len()],
            chain,
            step: 0,
        })
    }

    #[inline]
    fn step<R: Rng + ?Sized>(&self, s: &mut Self::State, rng: &mut R) -> Result<StepInfo> {
        let step = s.step;
        let eta = super::step_schedule::next_step(&self.schedule, &mut s.step, "learning rate η")?;
        for (x, &v) in s.x.iter_mut().zip(&s.v) {
            *x += v;
        }
        self.estimator.estimate_into(&s.x, rng, &mut s.g);
        let decay = G::Scalar::one() - self.alpha;
        let noise =
            (G::Scalar::c(2.0) * (self.alpha - self.beta_hat) * eta * self.temperature).sqrt();
        for (v, &g) in s.v.iter_mut().zip(&s.g) {
            *v = decay * *v + eta * g + noise * G::Scalar::standard_normal(rng);
        }
        crate::mcmc::unadjusted_step_result(&s.x, s.chain, step)?;
        crate::mcmc::unadjusted_step_result(&s.v, s.chain, step)
    }

    fn position<'a>(&self, state: &'a Self::State) -> &'a [G::Scalar] {
        &state.x
    }
}
