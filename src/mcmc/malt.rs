use super::mala::{metropolis_decide, reject_non_finite_proposal};
use super::{Kernel, Metric, StepInfo, TunableMetric, TunableStepSize};
use crate::density::{LogDensity, Score, Target, log_density_and_score};
use crate::error::{check_len, check_positive};
use crate::integrators::underdamped::{drift, kick};
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::{Error, Real, Result};
use rand::Rng;

/// Metropolis-adjusted Langevin trajectories, MALT (Riou-Durand & Vogrinc 2022): `L` steps
/// of kinetic (underdamped) Langevin dynamics with partial momentum refreshment, accepted or
/// rejected *as a whole trajectory* by the accumulated leapfrog energy error.
///
/// # Update rule
/// Target `p(x)`, diagonal mass `M` (default `I`), kinetic energy `K(v) = ½ vᵀM⁻¹v`,
/// Hamiltonian `H(x, v) = −log p(x) + K(v)`, leapfrog step `h`, friction `γ ≥ 0`,
/// `η = e^{−γh}`. From the current `x₀`:
/// ```text
/// v ~ N(0, M)                                          (full refreshment)
/// for i = 1 … L:
///     if i > 1:  v ← η v + sqrt(1 − η²) M^{1/2} ξᵢ      (O: partial refreshment, exact OU flow)
///     v⁻ = v
///     v ← v + (h/2) ∇log p(x);  x ← x + h M⁻¹ v;  v ← v + (h/2) ∇log p(x)   (BAB = leapfrog)
///     Δ ← Δ + [H(x, v) − H(x_prev, v⁻)]                (the leapfrog's energy error only)
/// accept x_L with probability min(1, e^{−Δ}); otherwise stay at x₀ (v is discarded)
/// ```
/// This is the paper's OBAB… sequence with `η = e^{−γh}`: the O step before the first
/// leapfrog acts on a fresh `N(0, M)` draw and is skipped (same law); a trailing O step
/// would only touch the discarded momentum.
///
/// **Which energy increments enter, and why the O steps cancel.** The potential parts
/// telescope, so `Δ = log p(x₀) − log p(x_L) + Σᵢ [K(vᵢ after BAB) − K(vᵢ before BAB)]`: one
/// log density evaluation per trajectory (fused with the last score), `L` scores. The
/// kinetic changes made by the O steps are *not* in `Δ`: the O kernel
/// `q(v → v') = N(v'; ηv, (1 − η²)M)` is reversible with respect to `N(0, M)` and invariant
/// under `v ↦ −v`, so in the Metropolis–Hastings ratio of the extended path (forward noise
/// against the time-reversed, momentum-flipped path) each O step contributes
/// `q(−v' → −v)/q(v → v') = e^{K(v') − K(v)}`, which is exactly minus its own kinetic change
/// in `H(end) − H(start)`. What is left is the sum of the leapfrog increments (volume
/// preserving and reversible maps, whose Jacobian is 1). Counting `H(x_L, v_L) − H(x₀, v₀)`
/// instead (the O increments included) is a bug: `tests/malt.rs` shows the wrong law.
///
/// # Trajectory length, friction and step adaptation
/// The integration time `τ = L₀ h₀` of the constructor is kept fixed when the step is
/// tuned ([`TunableStepSize`], e.g. by [`crate::adapt::StepSizeAdaptation`]'s dual
/// averaging): a chain with step `h` runs `L = clamp(round(τ/h), 1, max_steps)` leapfrog
/// steps ([`Malt::with_max_steps`], default 1000, bounds the cost of a tiny step). `γ` is the
/// user's; on `N(0, σ²)` kinetic Langevin is critically damped at `γ = 2/σ`, so `γ ≈ 2/σ_max`
/// (the widest scale) with `τ` of the order of `σ_max` is a sound start. Riou-Durand & Vogrinc
/// (2022) extend HMC's optimal-scaling results to MALT, so HMC's target acceptance ≈ 0.65
/// (Beskos et al. 2013) is the natural dual-averaging target.
///
/// [`Malt::auto`] adapts `h`, `τ` and `γ` together during warm-up ([`crate::adapt::MaltAdaptation`]:
/// dual averaging of `h`; `τ = 2.8196 σ̂_max`, `γ = 2/σ̂_max` from the widest scale of the
/// chain's warm-up draws, the optimum of critically damped kinetic Langevin on a Gaussian),
/// then freezes them. With [`Malt::new`] and a step-only adaptation, choose `τ` once, in the
/// scale of the adapted metric if one is used.
///
/// A diagonal mass can be adapted too ([`TunableMetric`]: the metric is `M⁻¹`, so
/// [`crate::adapt::WindowedAdaptation`] with a diagonal metric sets `M⁻¹ ≈ diag Cov`); `τ`
/// is then measured in the preconditioned scale, where `σ_max ≈ 1`.
///
/// # Bias and stability
/// Exact: `p` is invariant for every `h > 0`, `L ≥ 1`, `γ ≥ 0` and mass. Special cases: `L = 1`
/// is MALA with step `h²/2` (the same proposal and the same acceptance ratio, tested in
/// `tests/malt.rs`); `γ = 0` is HMC with `L` leapfrog steps; `γ → ∞` refreshes fully before
/// every leapfrog. Leapfrog is stable on a Gaussian for `h < 2σ_min` (the narrowest scale);
/// beyond it energy errors grow exponentially in `L` and every trajectory is rejected. A
/// non-finite score along the path, or a NaN/`+∞` log density at its end, is a rejection
/// counted as a divergence; `log p = −∞` at the end is a plain rejection. A step costs `L`
/// score evaluations (the last fused with the log density).
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::adapt::StepSizeAdaptation;
/// use langevin::mcmc::Malt;
/// use langevin::targets::Gaussian;
/// let target = Gaussian::<f64>::standard(10)?;
/// // L = 5 leapfrog steps of h = 0.3 (τ = 1.5), friction γ = 1.
/// let malt = Malt::new(target, 0.3, 5, 1.0)?;
/// let adapt = StepSizeAdaptation::new(0.65)?;
/// let trace = Sampler::new(2_000).chains(2).warmup(500).seed(7)
///     .run_with(&malt, &[vec![0.0; 10]], &adapt, &())?;
/// assert!((trace.mean_accept_prob() - 0.65).abs() < 0.1);
/// assert!((trace.variance()[0] - 1.0).abs() < 0.2);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * L. Riou-Durand, J. Vogrinc (2022), Metropolis adjusted Langevin trajectories: a robust
///   alternative to Hamiltonian Monte Carlo, arXiv:2202.13230.
/// * L. Riou-Durand, P. Sountsov, J. Vogrinc, C. Margossian, S. Power (2023), Adaptive tuning
///   for Metropolis adjusted Langevin trajectories, *AISTATS*.
/// * A. Beskos, N. Pillai, G. Roberts, J.-M. Sanz-Serna, A. Stuart (2013), Optimal tuning of
///   the hybrid Monte Carlo algorithm, *Bernoulli* 19(5A):1501–1534.
/// * A. M. Horowitz (1991), A generalized guided Monte Carlo algorithm, *Phys. Lett. B*
///   268(2):247–252 (partial momentum refreshment).
#[derive(Debug, Clone)]
pub struct Malt<P: Target> {
    target: P,
    h: P::Scalar,
    steps: usize,
    tau: P::Scalar,
    gamma: P::Scalar,
    max_steps: usize,
    sqrt_mass: Vec<P::Scalar>,
    inv_mass: Vec<P::Scalar>,
}

/// Per-chain state of [`Malt`]: the position with its cached log density and score, the
/// chain's step size and trajectory length, the trajectory buffers and counters.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "checkpoint", derive(serde::Serialize, serde::Deserialize))]
pub struct MaltState<T> {
    x: Vec<T>,
    lp: T,
    g: Vec<T>,
    y: Vec<T>,
    gy: Vec<T>,
    lp_y: T,
    v: Vec<T>,
    h: T,
    l: usize,
    tau: T,
    gamma: T,
    sqrt_mass: Vec<T>,
    inv_mass: Vec<T>,
    metric: Metric<T>,
    chain: usize,
    step: usize,
    gradients: u64,
}

impl<T: Real> MaltState<T> {
    /// The current position.
    pub fn position(&self) -> &[T] {
        &self.x
    }
    /// The cached log density at the current position.
    pub fn log_density(&self) -> T {
        self.lp
    }
    /// The cached score at the current position.
    pub fn score(&self) -> &[T] {
        &self.g
    }
    /// The end point of the last trajectory (the proposal).
    pub fn proposal(&self) -> &[T] {
        &self.y
    }
    /// The momentum at the end of the last trajectory.
    pub fn momentum(&self) -> &[T] {
        &self.v
    }
    /// The chain's leapfrog step size `h`.
    pub fn step_size(&self) -> T {
        self.h
    }
    /// The chain's trajectory length `L` (leapfrog steps per transition).
    pub fn trajectory_len(&self) -> usize {
        self.l
    }
    /// The chain's integration time `τ` (`L = clamp(round(τ/h), 1, max_steps)`).
    pub fn integration_time(&self) -> T {
        self.tau
    }
    /// The chain's friction `γ`.
    pub fn friction(&self) -> T {
        self.gamma
    }
    /// The inverse mass `M⁻¹` (diagonal) the chain currently uses.
    pub(crate) fn inv_mass(&self) -> &[T] {
        &self.inv_mass
    }
    /// The chain's metric `M⁻¹` (diagonal): the inverse mass, i.e. the covariance scale the
    /// momentum refreshment is matched to.
    pub fn metric(&self) -> &Metric<T> {
        &self.metric
    }
    /// Score evaluations so far (`L` per transition, fewer after an early divergence).
    pub fn gradient_evaluations(&self) -> u64 {
        self.gradients
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

/// `K(v) = ½ Σ vᵢ²/mᵢ`.
#[inline]
fn kinetic<T: Real>(v: &[T], inv_mass: &[T]) -> T {
    let mut k = T::zero();
    for (&v, &im) in v.iter().zip(inv_mass) {
        k += v * v * im;
    }
    T::c(0.5) * k
}

impl<P: LogDensity + Score> Malt<P> {
    /// MALT with leapfrog step `h`, `steps = L ≥ 1` leapfrog steps per trajectory (integration
    /// time `τ = L h`, kept when the step is adapted), friction `gamma = γ ≥ 0`, unit mass.
    ///
    /// # Errors
    /// [`Error::InvalidStepSize`] unless `h` is finite and positive; [`Error::ZeroCount`] for
    /// `steps = 0`; [`Error::InvalidParameter`] unless `γ` is finite and ≥ 0;
    /// [`Error::ZeroDimension`] for a 0-dimensional target.
    pub fn new(target: P, h: P::Scalar, steps: usize, gamma: P::Scalar) -> Result<Self> {
        check_positive("step size h", h.to_f64())?;
        if steps == 0 {
            return Err(Error::ZeroCount {
                what: "leapfrog steps per trajectory L (need at least 1)",
            });
        }
        let g = gamma.to_f64();
        if !(g.is_finite() && g >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "friction gamma",
                value: g,
                expected: "a finite friction γ ≥ 0 (0 gives HMC)",
            });
        }
        let d = target.dim();
        if d == 0 {
            return Err(Error::ZeroDimension { what: "target" });
        }
        Ok(Self {
            target,
            h,
            steps,
            tau: h * P::Scalar::c(steps as f64),
            gamma,
            max_steps: 1000.max(steps),
            sqrt_mass: vec![P::Scalar::one(); d],
            inv_mass: vec![P::Scalar::one(); d],
        })
    }

    /// Sets a diagonal mass matrix `M` (entries finite and > 0); the default is `I`. The
    /// momentum is drawn from `N(0, M)` and the drift is `M⁻¹ v`, so `M ≈ diag(Σ)⁻¹`
    /// preconditions a target with covariance `Σ`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] or [`Error::NonFiniteInput`] for a bad diagonal.
    pub fn with_mass(mut self, mass: Vec<P::Scalar>) -> Result<Self> {
        check_len("mass diagonal", self.target.dim(), mass.len())?;
        for (i, &m) in mass.iter().enumerate() {
            let f = m.to_f64();
            if !(f.is_finite() && f > 0.0) {
                return Err(Error::NonFiniteInput {
                    what: "mass diagonal (entries must be finite and > 0)",
                    index: i,
                });
            }
        }
        self.sqrt_mass = mass.iter().map(|m| m.sqrt()).collect();
        self.inv_mass = mass.iter().map(|m| m.recip()).collect();
        Ok(self)
    }

    /// Caps the trajectory length `L` that a tuned step can imply (`L = round(τ/h)`); at
    /// least the constructor's `L`.
    ///
    /// # Errors
    /// [`Error::ZeroCount`] for `max_steps = 0`.
    pub fn with_max_steps(mut self, max_steps: usize) -> Result<Self> {
        if max_steps == 0 {
            return Err(Error::ZeroCount {
                what: "maximal trajectory length (need at least 1)",
            });
        }
        self.max_steps = max_steps.max(self.steps);
        Ok(self)
    }

    /// The initial leapfrog step `h`.
    pub fn step_size(&self) -> P::Scalar {
        self.h
    }
    /// The initial trajectory length `L`.
    pub fn trajectory_len(&self) -> usize {
        self.steps
    }
    /// The integration time `τ = L h` kept under step adaptation.
    pub fn integration_time(&self) -> P::Scalar {
        self.tau
    }
    /// The friction `γ`.
    pub fn friction(&self) -> P::Scalar {
        self.gamma
    }
    /// The diagonal of the mass matrix `M`.
    pub fn mass(&self) -> Vec<P::Scalar> {
        self.sqrt_mass.iter().map(|&s| s * s).collect()
    }
    /// The target.
    pub fn target(&self) -> &P {
        &self.target
    }

    /// Sets a chain's integration time `τ` and friction `γ` (and with them its trajectory
    /// length `L = clamp(round(τ/h), 1, max_steps)` at the chain's current step): the hook of
    /// [`crate::adapt::MaltAdaptation`]. Values that are not finite, `τ ≤ 0` or `γ < 0`, are ignored (the
    /// chain keeps its previous ones), so an adaptation fed a degenerate estimate cannot
    /// break the kernel.
    pub fn set_trajectory(
        &self,
        state: &mut MaltState<P::Scalar>,
        tau: P::Scalar,
        gamma: P::Scalar,
    ) {
        let (t, g) = (tau.to_f64(), gamma.to_f64());
        if t.is_finite() && t > 0.0 {
            state.tau = tau;
        }
        if g.is_finite() && g >= 0.0 {
            state.gamma = gamma;
        }
        state.l = self.len_for(state.tau, state.h);
    }

    /// The trajectory length for step `h` and time `τ`: `clamp(round(τ/h), 1, max_steps)`.
    fn len_for(&self, tau: P::Scalar, h: P::Scalar) -> usize {
        let l = (tau / h).to_f64().round();
        if l.is_finite() && l >= 1.0 {
            (l as usize).min(self.max_steps)
        } else if l.is_finite() {
            1
        } else {
            self.max_steps
        }
    }

    /// Runs one trajectory from the state's position, drawing standard normals from
    /// `normal`; leaves the end point, its score and log density in the state and returns
    /// the energy error Δ (NaN after a divergence along the path, with `lp_y` NaN).
    #[inline]
    fn trajectory(
        &self,
        s: &mut MaltState<P::Scalar>,
        mut normal: impl FnMut() -> P::Scalar,
    ) -> P::Scalar {
        let h = s.h;
        let hh = P::Scalar::c(0.5) * h;
        let eta = (-s.gamma * h).exp();
        let refresh = (P::Scalar::one() - eta * eta).sqrt();
        s.y.copy_from_slice(&s.x);
        s.gy.copy_from_slice(&s.g);
        for (v, &sm) in s.v.iter_mut().zip(&s.sqrt_mass) {
            *v = sm * normal();
        }
        let mut dk = P::Scalar::zero();
        for i in 0..s.l {
            if i > 0 {
                for (v, &sm) in s.v.iter_mut().zip(&s.sqrt_mass) {
                    *v = eta * *v + refresh * sm * normal();
                }
            }
            let k0 = kinetic(&s.v, &s.inv_mass);
            kick(&mut s.v, &s.gy, hh);
            drift(&mut s.y, &s.v, &s.inv_mass, h);
            s.gradients += 1;
            if i + 1 == s.l {
                s.lp_y = log_density_and_score(&self.target, &s.y, &mut s.gy);
            } else {
                self.target.score_into(&s.y, &mut s.gy);
            }
            kick(&mut s.v, &s.gy, hh);
            dk += kinetic(&s.v, &s.inv_mass) - k0;
            if !dk.finite() {
                s.lp_y = P::Scalar::c(f64::NAN);
                return P::Scalar::c(f64::NAN);
            }
        }
        s.lp - s.lp_y + dk
    }

    /// One deterministic trajectory from the state's position given its standard normals
    /// `xi` (`L·d` of them: the initial momentum, then one block per O step), without the
    /// accept/reject decision. Returns the energy error `Δ` (the log acceptance ratio is
    /// `−Δ`; NaN after a divergence); the end point is [`MaltState::proposal`], the final
    /// momentum [`MaltState::momentum`]. The state's position is unchanged.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] unless `xi` has length `L·d` with the state's `L`.
    pub fn trajectory_with_noise(
        &self,
        s: &mut MaltState<P::Scalar>,
        xi: &[P::Scalar],
    ) -> Result<P::Scalar> {
        check_len(
            "standard normals of one MALT trajectory (L·d)",
            s.l * self.target.dim(),
            xi.len(),
        )?;
        let mut it = xi.iter().copied();
        Ok(self.trajectory(s, || it.next().unwrap_or(P::Scalar::c(f64::NAN))))
    }
}

impl<P: LogDensity + Score + Sync> Kernel for Malt<P> {
    type Scalar = P::Scalar;
    type State = MaltState<P::Scalar>;

    fn dim(&self) -> usize {
        self.target.dim()
    }

    fn init(&self, x0: &[P::Scalar], chain: usize) -> Result<Self::State> {
        let d = self.dim();
        let (g, lp) = crate::mcmc::checked_start(&self.target, x0, chain)?;
        Ok(MaltState {
            x: x0.to_vec(),
            lp,
            g,
            y: vec![P::Scalar::zero(); d],
            gy: vec![P::Scalar::zero(); d],
            lp_y: P::Scalar::zero(),
            v: vec![P::Scalar::zero(); d],
            h: self.h,
            l: self.steps,
            tau: self.tau,
            gamma: self.gamma,
            sqrt_mass: self.sqrt_mass.clone(),
            inv_mass: self.inv_mass.clone(),
            metric: Metric::diagonal(self.inv_mass.clone())?,
            chain,
            step: 0,
            gradients: 0,
        })
    }

    #[inline]
    fn step<R: Rng + ?Sized>(&self, s: &mut Self::State, rng: &mut R) -> Result<StepInfo> {
        s.step += 1;
        let delta = self.trajectory(s, || P::Scalar::standard_normal(rng));
        if let Some(rejected) = reject_non_finite_proposal(s.lp_y) {
            return Ok(rejected);
        }
        let info = metropolis_decide(-delta, rng);
        if info.accepted {
            core::mem::swap(&mut s.x, &mut s.y);
            core::mem::swap(&mut s.g, &mut s.gy);
            s.lp = s.lp_y;
        }
        Ok(info)
    }

    fn position<'a>(&self, state: &'a Self::State) -> &'a [P::Scalar] {
        &state.x
    }
}

impl<P: LogDensity + Score + Sync> TunableStepSize for Malt<P> {
    fn step_size(&self, state: &Self::State) -> P::Scalar {
        state.h
    }
    /// Sets the chain's step and its trajectory length `L = clamp(round(τ/h), 1, max_steps)`.
    fn set_step_size(&self, state: &mut Self::State, h: P::Scalar) {
        state.h = h;
        state.l = self.len_for(state.tau, h);
    }
}

impl<P: LogDensity + Score + Sync> TunableMetric for Malt<P> {
    fn metric<'a>(&self, state: &'a Self::State) -> &'a Metric<P::Scalar> {
        &state.metric
    }
    /// Sets the chain's inverse mass `M⁻¹` to the (diagonal) metric — the covariance estimate
    /// of [`crate::adapt::WindowedAdaptation`] with [`crate::adapt::MetricAdaptation::Diagonal`].
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for a metric of another dimension,
    /// [`Error::InvalidParameter`] for a dense one (MALT's mass is diagonal).
    fn set_metric(&self, state: &mut Self::State, metric: Metric<P::Scalar>) -> Result<()> {
        check_len("metric", self.target.dim(), metric.dim())?;
        if metric.is_dense() {
            return Err(Error::InvalidParameter {
                name: "metric",
                value: metric.dim() as f64,
                expected: "a diagonal metric (MALT's mass is diagonal; use \
                           MetricAdaptation::Diagonal)",
            });
        }
        let ones = vec![P::Scalar::one(); metric.dim()];
        metric.apply(&ones, &mut state.inv_mass);
        for (sm, &im) in state.sqrt_mass.iter_mut().zip(&state.inv_mass) {
            *sm = im.recip().sqrt();
        }
        state.metric = metric;
        Ok(())
    }
}
