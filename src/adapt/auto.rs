//! [`Adaptive`]: a kernel that carries its own warm-up adaptation, and the one-line
//! constructors `Mala::auto` and `PrecondMala::auto`.

use super::{MetricAdaptation, StepSizeAdaptation, WindowedAdaptation};
use crate::density::{LogDensity, Score};
use crate::mcmc::{Kernel, Mala, PrecondMala, StepInfo, Tuned};
use crate::run::Adaptation;
use crate::{Real, Result};
use rand::Rng;

/// A kernel `K` bundled with its warm-up [`Adaptation`] `A`: the driver's plain
/// [`Sampler::run`](crate::Sampler::run) adapts it during warm-up through the kernel's
/// warm-up hooks ([`Kernel::warmup_start`], [`Kernel::warmup_adapt`],
/// [`Kernel::warmup_finish`]) and freezes it at the end, so the draws come from one fixed
/// kernel. Built by [`Mala::auto`], [`PrecondMala::auto`] and [`crate::mcmc::Malt::auto`],
/// or by [`Adaptive::new`] for any kernel and adaptation.
///
/// It does not implement [`crate::mcmc::TunableStepSize`], so it cannot be given a second
/// step-size adaptation by mistake (`run_with(&Mala::auto(t)?, …, &StepSizeAdaptation…)` does
/// not compile). For a fixed step, use the kernel itself (`Mala::new(target, h)`).
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::targets::Gaussian;
/// let mala = Mala::auto(Gaussian::<f64>::standard(10)?)?;
/// let trace = Sampler::new(2_000).seed(4).run(&mala, &[vec![0.0; 10]])?;
/// assert!((trace.mean_accept_prob() - 0.574).abs() < 0.08);
/// assert!(trace.adapted_step_size.is_some());
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Adaptive<K, A> {
    kernel: K,
    adaptation: A,
}

/// Per-chain state of [`Adaptive`]: the kernel's state and, during warm-up, the
/// adaptation's.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "checkpoint", derive(serde::Serialize, serde::Deserialize))]
pub struct AdaptiveState<S, T> {
    inner: S,
    adapt: Option<T>,
    frozen: bool,
}

impl<S, T> AdaptiveState<S, T> {
    /// The wrapped kernel's state.
    pub fn inner(&self) -> &S {
        &self.inner
    }
    /// `true` once warm-up has finished (the kernel no longer changes).
    pub fn is_frozen(&self) -> bool {
        self.frozen
    }
}

impl<K: Kernel, A: Adaptation<K>> Adaptive<K, A> {
    /// `kernel` adapted by `adaptation` during warm-up.
    pub fn new(kernel: K, adaptation: A) -> Self {
        Self { kernel, adaptation }
    }
    /// The wrapped kernel (with its initial, unadapted parameters).
    pub fn kernel(&self) -> &K {
        &self.kernel
    }
    /// The adaptation.
    pub fn adaptation(&self) -> &A {
        &self.adaptation
    }
}

impl<K: Kernel, A: Adaptation<K>> Kernel for Adaptive<K, A> {
    type Scalar = K::Scalar;
    type State = AdaptiveState<K::State, A::State>;

    fn dim(&self) -> usize {
        self.kernel.dim()
    }
    fn init(&self, x0: &[K::Scalar], chain: usize) -> Result<Self::State> {
        Ok(AdaptiveState {
            inner: self.kernel.init(x0, chain)?,
            adapt: None,
            frozen: false,
        })
    }
    #[inline]
    fn step<R: Rng + ?Sized>(&self, state: &mut Self::State, rng: &mut R) -> Result<StepInfo> {
        self.kernel.step(&mut state.inner, rng)
    }
    fn position<'a>(&self, state: &'a Self::State) -> &'a [K::Scalar] {
        self.kernel.position(&state.inner)
    }
    fn name(&self) -> String {
        format!("{} (adaptive)", self.kernel.name())
    }
    fn parameters(&self) -> Vec<(String, f64)> {
        self.kernel.parameters()
    }
    fn warmup_start(&self, state: &mut Self::State, warmup: usize) {
        if !state.frozen {
            state.adapt = Some(
                self.adaptation
                    .start(&self.kernel, &mut state.inner, warmup),
            );
        }
    }
    fn warmup_adapt(&self, state: &mut Self::State, iteration: usize, info: &StepInfo) {
        if let Some(a) = state.adapt.as_mut() {
            self.adaptation
                .adapt(&self.kernel, &mut state.inner, a, iteration, info);
        }
    }
    fn warmup_finish(&self, state: &mut Self::State) -> Tuned {
        let Some(a) = state.adapt.take() else {
            return Tuned::default();
        };
        state.frozen = true;
        let step = self.adaptation.finish(&self.kernel, &mut state.inner, a);
        let metric = self.adaptation.adapted_metric(&self.kernel, &state.inner);
        Tuned::new(step, metric)
    }
}

/// The initial step of an adaptive MALA: `1.361 d^(−1/3)`, optimal on `N(0, I_d)` (Roberts &
/// Rosenthal 1998); dual averaging moves it from there.
fn initial_step(d: usize) -> f64 {
    1.361 * (d.max(1) as f64).powf(-1.0 / 3.0)
}

impl<P: LogDensity + Score + Sync> Mala<P> {
    /// MALA whose step size is adapted by dual averaging during warm-up towards acceptance
    /// 0.574 (Roberts & Rosenthal 1998; Stan's constants), starting from `h = 1.361 d^(−1/3)`,
    /// then frozen: the one-line common case,
    /// `Sampler::new(n).run(&Mala::auto(target)?, &inits)`. The adapted steps are reported in
    /// [`crate::Trace::adapted_step_size`]. For a fixed step use [`Mala::new`]; for another
    /// target acceptance, `Adaptive::new(Mala::new(target, h)?, StepSizeAdaptation::new(a)?)`.
    ///
    /// # Errors
    /// As [`Mala::new`].
    ///
    /// # Example
    /// ```
    /// use langevin::prelude::*;
    /// use langevin::targets::Gaussian;
    /// let target = Gaussian::<f64>::full(vec![1.0, -1.0], &[1.0, 0.8, 0.8, 1.0])?;
    /// let trace = Sampler::new(2_000).seed(1).run(&Mala::auto(target)?, &[vec![0.0, 0.0]])?;
    /// assert!((trace.mean()[0] - 1.0).abs() < 0.2);
    /// # Ok::<(), langevin::Error>(())
    /// ```
    pub fn auto(target: P) -> Result<Adaptive<Mala<P>, StepSizeAdaptation>> {
        let h = initial_step(target.dim());
        let mala = Mala::new(target, P::Scalar::c(h))?;
        Ok(Adaptive::new(mala, StepSizeAdaptation::new(0.574)?))
    }
}

impl<P: LogDensity + Score + Sync> PrecondMala<P> {
    /// Preconditioned MALA whose diagonal metric is adapted through Stan's windows (75 / 25 /
    /// 50) and whose step size is adapted by dual averaging towards 0.574, starting from the
    /// identity metric and `h = 1.361 d^(−1/3)`, then frozen. The adapted steps and metrics
    /// are reported in [`crate::Trace::adapted_step_size`] and [`crate::Trace::adapted_mass`].
    /// For a dense metric or other windows use
    /// `Adaptive::new(PrecondMala::identity(target, h)?, WindowedAdaptation::new(…))`.
    ///
    /// # Errors
    /// As [`PrecondMala::identity`].
    ///
    /// # Example
    /// ```
    /// use langevin::prelude::*;
    /// use langevin::mcmc::PrecondMala;
    /// use langevin::targets::Gaussian;
    /// let target = Gaussian::<f64>::diagonal(vec![0.0; 3], vec![0.01, 1.0, 100.0])?;
    /// let trace = Sampler::new(1_000).chains(2).seed(8)
    ///     .run(&PrecondMala::auto(target)?, &[vec![0.0; 3]])?;
    /// let m = &trace.adapted_mass.as_ref().unwrap()[0]; // the diagonal of M
    /// assert!(m[2] / m[0] > 1e3);
    /// # Ok::<(), langevin::Error>(())
    /// ```
    pub fn auto(target: P) -> Result<Adaptive<PrecondMala<P>, WindowedAdaptation>> {
        let h = initial_step(target.dim());
        let mala = PrecondMala::identity(target, P::Scalar::c(h))?;
        Ok(Adaptive::new(
            mala,
            WindowedAdaptation::new(MetricAdaptation::Diagonal),
        ))
    }
}
