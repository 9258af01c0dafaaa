use super::mala::{metropolis_decide, reject_non_finite_proposal};
use super::{Kernel, Metric, StepInfo, TunableMetric, TunableStepSize};
use crate::adapt::{Adaptive, DualAveraging, Welford};
use crate::density::{LogDensity, Score, Target, log_density_and_score};
use crate::error::{check_len, check_positive};
use crate::integrators::underdamped::{drift, kick};
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::run::Adaptation;
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
/// [`Malt::auto`] adapts `h`, `τ` and `γ` together during warm-up ([`MaltAdaptation`]:
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
    /// [`MaltAdaptation`]. Values that are not finite, `τ ≤ 0` or `γ < 0`, are ignored (the
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

/// `u* = argmax (1 − c(u)) / ((1 + c(u)) u)` with `c(u) = e^{−u}(1 + u)`: the integration time,
/// in units of the widest scale, that maximises the effective sample size per unit
/// integration time of critically damped kinetic Langevin on that scale (see
/// [`MaltAdaptation`]). Found numerically (grid of step 10⁻⁴ on (0, 10]): `u* = 2.8196`, where
/// `c(u*) = 0.2278`.
pub const MALT_OPTIMAL_TIME_FACTOR: f64 = 2.8196;

/// Warm-up adaptation of [`Malt`]'s step size `h`, integration time `τ` and friction `γ`
/// (each chain on its own draws), frozen at the end of warm-up. Built by [`Malt::auto`].
///
/// # Rule
/// ```text
/// every warm-up step t:  h ← dual-averaging update with α_t (target 0.65 by default)
/// from t = W/4 on:       Welford ← x_t                       (W = number of warm-up steps)
/// at t = W/2 and at W:   σ̂² = maxᵢ Var̂(xᵢ) · mᵢ             (the widest scale, in the
///                                                             metric of mass diag(m))
///                        γ ← c_γ / σ̂,  τ ← c_τ σ̂,  L = clamp(round(τ/h), 1, max_steps)
/// end of warm-up:        h ← h̄ (averaged iterate); h, τ, γ, L frozen for the draws
/// ```
/// with `c_γ = 2` and `c_τ = u* =` [`MALT_OPTIMAL_TIME_FACTOR`] `= 2.8196` by default
/// ([`MaltAdaptation::with_factors`]). The Welford estimate needs at least 10 draws; with
/// fewer (a warm-up shorter than ~40) `τ` and `γ` stay at the constructor's values.
///
/// **What it targets.** On a Gaussian coordinate of standard deviation `σ` (in the metric's
/// scale), kinetic Langevin is critically damped at `γ = 2/σ`, the friction that makes the
/// continuous dynamics mix fastest (Riou-Durand & Vogrinc 2022). A MALT transition starts from
/// a fresh momentum, so in continuous time the position after integration time `τ` is
/// `c(τ/σ) x₀ + noise` with `c(u) = e^{−u}(1 + u)` (the critically damped response to
/// `x(0) = 1, ẋ(0) = 0`): the chain on that coordinate is an AR(1) with coefficient `c`, whose
/// effective sample size per unit time (the cost is `L = τ/h` scores) is
/// `(1 − c)/((1 + c) τ)`, maximal at `τ = u* σ` with `u* = 2.8196`. The rule sets both for the
/// widest scale, the slowest direction, which bounds the ESS of a Gaussian target
/// (narrower directions are over-damped at this γ and mix faster per unit time than the
/// widest one). The targets are therefore `τ* = 2.8196 σ_max` and `γ* = 2/σ_max`, where
/// `σ_max²` is the largest diagonal entry of the target covariance in the metric's scale
/// (exact for diagonal Gaussians; for correlated ones the largest marginal variance
/// underestimates the largest eigenvalue). It is in the spirit of Adaptive-MALT (Riou-Durand,
/// Sountsov, Vogrinc, Margossian & Power 2023), which also ties the damping to the
/// trajectory length through the largest scale estimated from warm-up draws, but it is this
/// crate's simpler per-chain rule, not their cross-chain ESJD criterion: it ignores the
/// discretisation and the Metropolis rejections, and non-Gaussian targets get the rule of the
/// Gaussian with the same marginal variances.
///
/// Tested in `tests/malt_adapt.rs`: the adapted `τ` and `γ` on an anisotropic diagonal
/// Gaussian against `τ*` and `γ*`, the K-step invariance of the adapted (frozen) kernel, and
/// bit-identical `h`, `τ`, `γ`, `L` over the post-warm-up steps.
#[derive(Debug, Clone, PartialEq)]
pub struct MaltAdaptation {
    template: DualAveraging,
    target_accept: f64,
    tau_factor: f64,
    gamma_factor: f64,
}

/// Per-chain state of [`MaltAdaptation`]: the dual averaging of `h` and the Welford variance
/// estimate of the draws.
#[derive(Debug, Clone)]
pub struct MaltAdaptationState {
    da: DualAveraging,
    welford: Welford,
    warmup: usize,
}

impl MaltAdaptation {
    /// Dual averaging of `h` towards acceptance `target_accept` (0.65 is HMC's optimum,
    /// Beskos et al. 2013, carried over to MALT by Riou-Durand & Vogrinc 2022) and the
    /// default factors `c_τ = 2.8196`, `c_γ = 2`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `0 < target_accept < 1`.
    pub fn new(target_accept: f64) -> Result<Self> {
        let template = DualAveraging::new(1.0, target_accept)?;
        Ok(Self {
            template,
            target_accept,
            tau_factor: MALT_OPTIMAL_TIME_FACTOR,
            gamma_factor: 2.0,
        })
    }

    /// Sets `τ = c_τ σ̂` and `γ = c_γ / σ̂` (`c_γ = 0` adapts `τ` only and runs HMC-like
    /// trajectories with no friction).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `c_τ` is finite and > 0 and `c_γ` finite and ≥ 0.
    pub fn with_factors(mut self, tau_factor: f64, gamma_factor: f64) -> Result<Self> {
        if !(tau_factor.is_finite() && tau_factor > 0.0) {
            return Err(Error::InvalidParameter {
                name: "integration-time factor c_tau",
                value: tau_factor,
                expected: "a finite c_τ > 0 (τ = c_τ σ_max; 2.8196 is the default)",
            });
        }
        if !(gamma_factor.is_finite() && gamma_factor >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "friction factor c_gamma",
                value: gamma_factor,
                expected: "a finite c_γ ≥ 0 (γ = c_γ / σ_max; 2 is critical damping)",
            });
        }
        self.tau_factor = tau_factor;
        self.gamma_factor = gamma_factor;
        Ok(self)
    }

    /// The target acceptance of the step-size dual averaging.
    pub fn target_accept(&self) -> f64 {
        self.target_accept
    }
    /// The factors `(c_τ, c_γ)`.
    pub fn factors(&self) -> (f64, f64) {
        (self.tau_factor, self.gamma_factor)
    }

    /// `τ ← c_τ σ̂`, `γ ← c_γ/σ̂` from the draws so far (nothing with fewer than 10).
    fn retune<P: LogDensity + Score + Sync>(
        &self,
        kernel: &Malt<P>,
        chain: &mut MaltState<P::Scalar>,
        welford: &Welford,
    ) {
        if welford.count() < 10 {
            return;
        }
        let var = welford.covariance();
        let mut s2 = 0.0_f64;
        for (v, &im) in var.iter().zip(&chain.inv_mass) {
            s2 = s2.max(v / im.to_f64());
        }
        let sigma = s2.sqrt();
        if sigma.is_finite() && sigma > 0.0 {
            kernel.set_trajectory(
                chain,
                P::Scalar::c(self.tau_factor * sigma),
                P::Scalar::c(self.gamma_factor / sigma),
            );
        }
    }
}

fn set_h<P: LogDensity + Score + Sync>(kernel: &Malt<P>, chain: &mut MaltState<P::Scalar>, h: f64) {
    if h.is_finite() && h > 0.0 {
        kernel.set_step_size(chain, P::Scalar::c(h));
    }
}

impl<P: LogDensity + Score + Sync> Adaptation<Malt<P>> for MaltAdaptation {
    type State = MaltAdaptationState;
    fn start(
        &self,
        kernel: &Malt<P>,
        chain: &mut MaltState<P::Scalar>,
        warmup: usize,
    ) -> MaltAdaptationState {
        let h0 = chain.h.to_f64();
        let h0 = if h0.is_finite() && h0 > 0.0 { h0 } else { 1.0 };
        let mut da = self.template.clone();
        da.restart(h0);
        MaltAdaptationState {
            da,
            welford: Welford::diagonal(kernel.dim()),
            warmup,
        }
    }
    fn adapt(
        &self,
        kernel: &Malt<P>,
        chain: &mut MaltState<P::Scalar>,
        state: &mut MaltAdaptationState,
        iteration: usize,
        info: &StepInfo,
    ) {
        let h = state.da.update(info.accept_prob);
        set_h(kernel, chain, h);
        if iteration >= state.warmup / 4 {
            // Same dimension by construction: cannot fail.
            let _ = state.welford.add(&chain.x);
        }
        if iteration + 1 == state.warmup / 2 {
            self.retune(kernel, chain, &state.welford);
        }
    }
    fn finish(
        &self,
        kernel: &Malt<P>,
        chain: &mut MaltState<P::Scalar>,
        state: MaltAdaptationState,
    ) -> Option<f64> {
        set_h(kernel, chain, state.da.final_step_size());
        self.retune(kernel, chain, &state.welford);
        Some(chain.h.to_f64())
    }
}

impl<P: LogDensity + Score + Sync> Malt<P> {
    /// MALT whose step size, integration time and friction are adapted during warm-up by
    /// [`MaltAdaptation`] (acceptance target 0.65, `τ → 2.8196 σ̂_max`, `γ → 2/σ̂_max`), then
    /// frozen: `Sampler::new(n).run(&Malt::auto(target)?, &inits)`. Starts from
    /// `h = 0.5 d^(−1/4)`, `τ = 2.8196`, `γ = 2` (the rule's values for `σ_max = 1`). The
    /// adapted steps are reported in [`crate::Trace::adapted_step_size`]; the chain's `τ`,
    /// `γ` and `L` are in its [`MaltState`]. For other factors or acceptance,
    /// `Adaptive::new(Malt::new(target, h, L, γ)?, MaltAdaptation::new(a)?.with_factors(…)?)`.
    ///
    /// # Errors
    /// As [`Malt::new`].
    ///
    /// # Example
    /// ```
    /// use langevin::prelude::*;
    /// use langevin::mcmc::Malt;
    /// use langevin::targets::Gaussian;
    /// // Scales 0.5 … 3: the rule targets τ = 2.82 · 3 and γ = 2/3.
    /// let target = Gaussian::<f64>::diagonal(vec![0.0; 3], vec![0.25, 1.0, 9.0])?;
    /// let trace = Sampler::new(2_000).chains(2).warmup(1_000).seed(3)
    ///     .run(&Malt::auto(target)?, &[vec![0.0; 3]])?;
    /// assert!((trace.variance()[2] - 9.0).abs() < 2.0);
    /// assert!((trace.mean_accept_prob() - 0.65).abs() < 0.1);
    /// # Ok::<(), langevin::Error>(())
    /// ```
    pub fn auto(target: P) -> Result<Adaptive<Malt<P>, MaltAdaptation>> {
        let d = target.dim().max(1) as f64;
        let h = 0.5 * d.powf(-0.25);
        let steps = (MALT_OPTIMAL_TIME_FACTOR / h).round().max(1.0) as usize;
        let malt = Malt::new(target, P::Scalar::c(h), steps, P::Scalar::c(2.0))?;
        Ok(Adaptive::new(malt, MaltAdaptation::new(0.65)?))
    }
}
