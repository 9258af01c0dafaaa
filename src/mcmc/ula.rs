use super::{Kernel, StepInfo, TunableStepSize};
use crate::density::{Score, Target};
use crate::error::check_positive;
use crate::integrators::{EulerMaruyama, Integrator};
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::rng::{Normals, SimdNormal};
use crate::sde::LangevinSde;
use crate::{Error, Real, Result};
use rand::Rng;

/// The unadjusted Langevin algorithm: Euler–Maruyama on the Langevin SDE of a target
/// (Roberts & Tweedie 1996; Durmus & Moulines 2017).
///
/// # Update rule
/// ```text
/// x' = x + h ∇log p(x) + sqrt(2hT) ξ,       ξ ~ N(0, I)
/// ```
/// with temperature `T = 1` unless set by [`Ula::with_temperature`]. The step goes through
/// [`EulerMaruyama`] on [`LangevinSde`] — one code path for ULA and the SDE layer: the `d`
/// normals are drawn into the state's noise buffer first, then one pass updates `x` and
/// checks it is finite. The normals come from rand_distr's scalar ziggurat on the chain's RNG
/// by default, or from the vectorised [`SimdNormal`] with
/// [`Ula::with_normals`]`(`[`Normals::Simd`]`)` (same law, another stream, somewhat faster
/// draws on AVX2: `benches/normals.rs`).
///
/// # Requirements
/// Only a [`Score`]: no log density is evaluated.
///
/// # Bias and stability
/// ULA has no accept/reject step, so its stationary law is not `p` but an O(h) perturbation
/// of it. On `N(m, s²)` it is exactly `N(m, s²/(1 − h/(2s²)))`; on `N(m, Σ)` the covariance is
/// `(P − (h/2) P²)⁻¹`, `P = Σ⁻¹`. The chain diverges geometrically for `h ≥ 2 λ_min(Σ)` on a
/// Gaussian and is transient for light tails (`exp(−x⁴)`) at any fixed `h`; a non-finite
/// state stops the chain with [`Error::NonFiniteState`].
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::targets::Gaussian;
/// let ula = Ula::new(Gaussian::<f64>::standard(2)?, 0.1)?;
/// let trace = Sampler::new(2_000).chains(2).warmup(200).seed(1).run(&ula, &[vec![0.0, 0.0]])?;
/// // Stationary variance 1/(1 − 0.05) ≈ 1.053, not 1.
/// assert!((trace.variance()[0] - 1.0 / 0.95).abs() < 0.2);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * G. O. Roberts, R. L. Tweedie (1996), Exponential convergence of Langevin distributions
///   and their discrete approximations, *Bernoulli* 2(4):341–363.
/// * A. Durmus, É. Moulines (2017), Nonasymptotic convergence analysis for the unadjusted
///   Langevin algorithm, *Ann. Appl. Probab.* 27(3):1551–1587.
#[derive(Debug, Clone)]
pub struct Ula<P: Score> {
    sde: LangevinSde<P>,
    h: P::Scalar,
    normals: Normals,
}

/// Per-chain state of [`Ula`].
#[derive(Debug, Clone)]
#[cfg_attr(feature = "checkpoint", derive(serde::Serialize, serde::Deserialize))]
pub struct UlaState<T> {
    x: Vec<T>,
    dw: Vec<T>,
    scratch: Vec<T>,
    h: T,
    chain: usize,
    step: usize,
    /// The vectorised generator, seeded from the chain's RNG on the first step
    /// ([`Normals::Simd`] only).
    simd: Option<SimdNormal>,
}

impl<T: Real> UlaState<T> {
    /// The current position.
    pub fn position(&self) -> &[T] {
        &self.x
    }
    /// The chain index this state was initialised for.
    pub fn chain(&self) -> usize {
        self.chain
    }
    /// Transitions taken so far.
    pub fn steps(&self) -> usize {
        self.step
    }
}

impl<P: Score> Ula<P> {
    /// ULA with step `h` at temperature 1.
    ///
    /// # Errors
    /// [`Error::InvalidStepSize`] unless `h` is finite and positive; [`Error::ZeroDimension`]
    /// for a 0-dimensional target.
    pub fn new(target: P, h: P::Scalar) -> Result<Self> {
        check_positive("step size h", h.to_f64())?;
        if target.dim() == 0 {
            return Err(Error::ZeroDimension { what: "target" });
        }
        Ok(Self {
            sde: LangevinSde::new(target),
            h,
            normals: Normals::Scalar,
        })
    }

    /// As [`Ula::new`], with a step that carries its convention in its type: pass a
    /// [`LangevinStep`](crate::step::LangevinStep) `h`, or a
    /// [`ProposalVariance`](crate::step::ProposalVariance) `ε = 2h` copied from TFP, NCSN or
    /// SGLD — it is halved on the way in, so the factor of two cannot slip.
    ///
    /// # Errors
    /// As [`Ula::new`].
    pub fn with_step(target: P, step: impl Into<crate::step::LangevinStep>) -> Result<Self> {
        Self::new(target, P::Scalar::c(step.into().get()))
    }

    /// ULA with step `h` at temperature `T`: `x' = x + h ∇log p(x) + sqrt(2hT) ξ`, whose
    /// stationary law approximates `p^(1/T)` (on `N(m, s²)`: variance `T s²/(1 − h/(2s²))`).
    ///
    /// # Errors
    /// As [`Ula::new`], plus [`Error::InvalidParameter`] for a non-positive temperature.
    pub fn with_temperature(target: P, h: P::Scalar, temperature: P::Scalar) -> Result<Self> {
        check_positive("step size h", h.to_f64())?;
        if target.dim() == 0 {
            return Err(Error::ZeroDimension { what: "target" });
        }
        Ok(Self {
            sde: LangevinSde::with_temperature(target, temperature)?,
            h,
            normals: Normals::Scalar,
        })
    }

    /// The same kernel drawing its normals from `normals`: [`Normals::Scalar`] (the default,
    /// rand_distr's ziggurat on the chain's RNG) or [`Normals::Simd`] (the vectorised
    /// [`SimdNormal`], seeded on a chain's first step by one `u64` from the chain's RNG). Both
    /// are exact N(0, I); they give different streams.
    ///
    /// ```
    /// use langevin::prelude::*;
    /// use langevin::rng::Normals;
    /// use langevin::targets::Gaussian;
    /// let ula = Ula::new(Gaussian::<f64>::standard(100)?, 0.1)?.with_normals(Normals::Simd);
    /// let trace = Sampler::new(2_000).warmup(200).seed(1).run(&ula, &[vec![0.0; 100]])?;
    /// // Stationary variance 1/(1 − 0.05) ≈ 1.053 in every coordinate.
    /// let v = trace.variance();
    /// assert!((v.iter().sum::<f64>() / 100.0 - 1.0 / 0.95).abs() < 0.05);
    /// # Ok::<(), langevin::Error>(())
    /// ```
    pub fn with_normals(mut self, normals: Normals) -> Self {
        self.normals = normals;
        self
    }

    /// The source of normals (see [`Ula::with_normals`]).
    pub fn normals(&self) -> Normals {
        self.normals
    }

    /// The step size `h`.
    pub fn step_size(&self) -> P::Scalar {
        self.h
    }
    /// The Langevin SDE this kernel discretises.
    pub fn sde(&self) -> &LangevinSde<P> {
        &self.sde
    }
    /// The target.
    pub fn target(&self) -> &P {
        self.sde.target()
    }
}

impl<P: Score + Sync> Kernel for Ula<P>
where
    P::Scalar: Real,
{
    type Scalar = P::Scalar;
    type State = UlaState<P::Scalar>;

    fn dim(&self) -> usize {
        self.sde.dim()
    }

    fn init(&self, x0: &[P::Scalar], chain: usize) -> Result<Self::State> {
        let d = self.dim();
        crate::mcmc::check_x0(x0, d, chain)?;
        let mut g = vec![P::Scalar::zero(); d];
        self.sde.target().score_into(x0, &mut g);
        crate::mcmc::check_score_at_x0(&g, chain)?;
        Ok(UlaState {
            x: x0.to_vec(),
            dw: vec![P::Scalar::zero(); d],
            scratch: vec![P::Scalar::zero(); EulerMaruyama.scratch_len(&self.sde)],
            h: self.h,
            chain,
            step: 0,
            simd: None,
        })
    }

    #[inline]
    fn step<R: Rng + ?Sized>(&self, s: &mut Self::State, rng: &mut R) -> Result<StepInfo> {
        match self.normals {
            Normals::Simd => s
                .simd
                .get_or_insert_with(|| SimdNormal::from_rng(rng))
                .fill(&mut s.dw),
            _ => crate::real::fill_standard_normal(rng, &mut s.dw),
        }
        let finite = EulerMaruyama.step_scalar_noise(
            &self.sde,
            P::Scalar::zero(),
            s.h,
            &mut s.x,
            &s.dw,
            &mut s.scratch,
        );
        let step = s.step;
        s.step += 1;
        if finite {
            Ok(StepInfo::UNADJUSTED)
        } else {
            crate::mcmc::unadjusted_step_result(&s.x, s.chain, step)
        }
    }

    fn position<'a>(&self, state: &'a Self::State) -> &'a [P::Scalar] {
        &state.x
    }

    /// `h < 2/L` with `L` the target's [`Score::score_lipschitz`] (on `N(m, Σ)`:
    /// `h < 2 λ_min(Σ)`, see [`crate::mcmc::StabilityBound`]).
    fn stability_bound(&self) -> Option<crate::mcmc::StabilityBound> {
        let l = self.sde.target().score_lipschitz()?;
        (l > 0.0 && l.is_finite())
            .then(|| crate::mcmc::StabilityBound::new(self.h.to_f64(), 2.0 / l))
    }
}

impl<P: Score + Sync> TunableStepSize for Ula<P> {
    fn step_size(&self, state: &Self::State) -> P::Scalar {
        state.h
    }
    fn set_step_size(&self, state: &mut Self::State, h: P::Scalar) {
        state.h = h;
    }
}
