use super::{Kernel, StepInfo, TunableStepSize};
use crate::density::{LogDensity, Score, log_density_and_score};
use crate::error::check_positive;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::rng::{Normals, SimdNormal};
use crate::{Error, Real, Result};
use rand::{Rng, RngExt};

/// The Metropolis-adjusted Langevin algorithm (Roberts & Tweedie 1996; Besag 1994).
///
/// # Update rule
/// The proposal is one unadjusted Langevin (Euler–Maruyama) step, corrected by
/// Metropolis–Hastings with the exact Gaussian proposal densities:
/// ```text
/// y = x + h ∇log p(x) + sqrt(2h) ξ,                     ξ ~ N(0, I)
/// log q(y | x) = −‖y − x − h ∇log p(x)‖² / (4h)        (+ const)
/// log r = log p(y) − log p(x) + log q(x | y) − log q(y | x)
/// accept with probability min(1, r)
/// ```
/// The log density and score of the current state are cached, so a step costs one fused
/// [`log_density_and_score`] evaluation at the proposal; after a rejection the cache
/// still holds the current state's values (no stale gradient). The forward term needs no
/// pass of its own: `y − x − h ∇log p(x) = sqrt(2h) ξ`, so `log q(y | x) = −‖ξ‖²/2`,
/// accumulated while the proposal is formed (the normals are drawn into a buffer first, then
/// one pass builds `y` and `‖ξ‖²`). The normals come from rand_distr's scalar ziggurat on the
/// chain's RNG by default, or from the vectorised [`SimdNormal`] with
/// [`Mala::with_normals`]`(`[`Normals::Simd`]`)`.
///
/// # Requirements
/// [`LogDensity`] `+` [`Score`].
///
/// # Bias and stability
/// MALA leaves `p` exactly invariant for every `h > 0`; `h` only trades acceptance against
/// step length. On `N(0, I_d)` the acceptance at stationarity tends to `2Φ(−ℓ³/8)` with
/// `2h = ℓ² d^(−1/3)` (Roberts & Rosenthal 1998): the optimal 0.574 is reached at
/// `h ≈ 1.361 d^(−1/3)`. A proposal is rejected and counted as a divergence
/// ([`StepInfo::divergent`]) when its log density is NaN or `+∞`, its score or log ratio is
/// not finite, or its log ratio is below `−`[`DIVERGENCE_LOG_RATIO`] `= −1000` (Stan's
/// energy-error criterion, see there); `log p = −∞` (outside the support) is an ordinary
/// rejection.
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::targets::Gaussian;
/// let mala = Mala::new(Gaussian::<f64>::standard(1)?, 1.0)?;
/// let trace = Sampler::new(5_000).chains(2).warmup(100).seed(3).run(&mala, &[vec![0.0]])?;
/// // At h = 1 on N(0, 1) the stationary acceptance is 0.7837 (the exact stationary integral, checked in `tests/statistical.rs`).
/// assert!((trace.mean_accept_prob() - 0.7837).abs() < 0.03);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * G. O. Roberts, R. L. Tweedie (1996), *Bernoulli* 2(4):341–363.
/// * G. O. Roberts, J. S. Rosenthal (1998), Optimal scaling of discrete approximations to
///   Langevin diffusions, *J. R. Stat. Soc. B* 60(1):255–268.
#[derive(Debug, Clone)]
pub struct Mala<P> {
    target: P,
    h: f64,
    normals: Normals,
}

/// Per-chain state of [`Mala`]: the position with its cached log density and score, the
/// proposal buffers and counters.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "checkpoint", derive(serde::Serialize, serde::Deserialize))]
pub struct MalaState<T> {
    x: Vec<T>,
    lp: T,
    g: Vec<T>,
    y: Vec<T>,
    gy: Vec<T>,
    /// The standard normals of the current proposal.
    xi: Vec<T>,
    h: T,
    chain: usize,
    step: usize,
    /// The vectorised generator, seeded from the chain's RNG on the first step
    /// ([`Normals::Simd`] only).
    simd: Option<SimdNormal>,
}

impl<T: Real> MalaState<T> {
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
    /// The chain index this state was initialised for.
    pub fn chain(&self) -> usize {
        self.chain
    }
    /// Transitions taken so far.
    pub fn steps(&self) -> usize {
        self.step
    }
}

impl<P: LogDensity + Score> Mala<P> {
    /// MALA with step `h` (the Langevin-time convention `y = x + h ∇log p + sqrt(2h) ξ`;
    /// TFP's `step_size` ε is `2h`: pass `h = ε / 2`).
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
            target,
            h: h.to_f64(),
            normals: Normals::Scalar,
        })
    }

    /// The same kernel drawing its normals from `normals`: [`Normals::Scalar`] (the default,
    /// rand_distr's ziggurat on the chain's RNG) or [`Normals::Simd`] (the vectorised
    /// [`SimdNormal`], seeded on a chain's first step by one `u64` from the chain's RNG; the
    /// acceptance uniforms still come from the chain's RNG). Both are exact N(0, I), so the
    /// chain is exactly `p`-invariant either way; they give different streams.
    ///
    /// ```
    /// use langevin::prelude::*;
    /// use langevin::rng::Normals;
    /// use langevin::targets::Gaussian;
    /// let mala = Mala::new(Gaussian::<f64>::standard(1)?, 1.0)?.with_normals(Normals::Simd);
    /// let trace = Sampler::new(5_000).chains(2).warmup(100).seed(3).run(&mala, &[vec![0.0]])?;
    /// assert!((trace.mean_accept_prob() - 0.7837).abs() < 0.03);
    /// # Ok::<(), langevin::Error>(())
    /// ```
    pub fn with_normals(mut self, normals: Normals) -> Self {
        self.normals = normals;
        self
    }

    /// The source of normals (see [`Mala::with_normals`]).
    pub fn normals(&self) -> Normals {
        self.normals
    }

    /// As [`Mala::new`], with a step that carries its convention in its type: pass a
    /// [`LangevinStep`](crate::step::LangevinStep) `h`, or a
    /// [`ProposalVariance`](crate::step::ProposalVariance) `ε = 2h` copied from TFP, NCSN or
    /// SGLD — it is halved on the way in, so the factor of two cannot slip.
    ///
    /// # Errors
    /// As [`Mala::new`].
    pub fn with_step(target: P, step: impl Into<crate::step::LangevinStep>) -> Result<Self> {
        Self::new(target, P::Scalar::c(step.into().get()))
    }
    /// The step size `h`.
    pub fn step_size(&self) -> P::Scalar {
        P::Scalar::c(self.h)
    }
    /// The target.
    pub fn target(&self) -> &P {
        &self.target
    }
}

/// The MALA log acceptance ratio `log r(x, y)` for step `h`, from the log densities and
/// scores at both points (deterministic; `log r(y, x) = −log r(x, y)` exactly in exact
/// arithmetic):
///
/// ```text
/// log r = lp_y − lp_x + [‖y − x − h g_x‖² − ‖x − y − h g_y‖²] / (4h)
/// ```
///
/// The two squared norms are accumulated with eight independent accumulators each so the
/// pass vectorises. Returns a non-finite value if any input is non-finite.
#[inline]
pub fn mala_log_acceptance<T: Real>(
    x: &[T],
    lp_x: T,
    g_x: &[T],
    y: &[T],
    lp_y: T,
    g_y: &[T],
    h: T,
) -> T {
    let n = x.len();
    let mut fwd = [T::zero(); 8];
    let mut bwd = [T::zero(); 8];
    let chunks = n / 8;
    for c in 0..chunks {
        for k in 0..8 {
            let i = c * 8 + k;
            let diff = y[i] - x[i];
            let a = diff - h * g_x[i];
            let b = diff + h * g_y[i];
            fwd[k] += a * a;
            bwd[k] += b * b;
        }
    }
    let mut sf = crate::real::sum8(&fwd);
    let mut sb = crate::real::sum8(&bwd);
    for i in chunks * 8..n {
        let diff = y[i] - x[i];
        let a = diff - h * g_x[i];
        let b = diff + h * g_y[i];
        sf += a * a;
        sb += b * b;
    }
    (lp_y - lp_x) + (sf - sb) / (T::c(4.0) * h)
}

/// The proposal `y = x + h g + noise · ξ` in one pass, returning `‖ξ‖²` (eight accumulators so
/// the pass vectorises).
#[inline]
fn propose<T: Real>(y: &mut [T], x: &[T], g: &[T], xi: &[T], h: T, noise: T) -> T {
    let n = y.len();
    let (x, g, xi) = (&x[..n], &g[..n], &xi[..n]);
    let mut acc = [T::zero(); 8];
    let chunks = n / 8;
    for c in 0..chunks {
        for k in 0..8 {
            let i = c * 8 + k;
            y[i] = x[i] + h * g[i] + noise * xi[i];
            acc[k] += xi[i] * xi[i];
        }
    }
    let mut s = crate::real::sum8(&acc);
    for i in chunks * 8..n {
        y[i] = x[i] + h * g[i] + noise * xi[i];
        s += xi[i] * xi[i];
    }
    s
}

/// `‖y − x + h g_y‖² = ‖x − y − h g_y‖²`, the squared distance in the backward proposal
/// density (eight accumulators).
#[inline]
fn backward_sq<T: Real>(x: &[T], y: &[T], gy: &[T], h: T) -> T {
    let n = x.len();
    let (y, gy) = (&y[..n], &gy[..n]);
    let mut acc = [T::zero(); 8];
    let chunks = n / 8;
    for c in 0..chunks {
        for k in 0..8 {
            let i = c * 8 + k;
            let b = (y[i] - x[i]) + h * gy[i];
            acc[k] += b * b;
        }
    }
    let mut s = crate::real::sum8(&acc);
    for i in chunks * 8..n {
        let b = (y[i] - x[i]) + h * gy[i];
        s += b * b;
    }
    s
}

/// The outcome for a proposal whose log density is not finite, if it is not: `−∞` (outside
/// the support) is a plain rejection, NaN or `+∞` a rejection counted as a divergence.
#[inline]
pub(crate) fn reject_non_finite_proposal<T: Real>(lp_y: T) -> Option<StepInfo> {
    if lp_y == T::neg_infinity() {
        Some(StepInfo::new(false, 0.0, false))
    } else if !lp_y.finite() {
        Some(StepInfo::new(false, 0.0, true))
    } else {
        None
    }
}

/// The divergence threshold of the Metropolis-adjusted Langevin kernels: a proposal whose log
/// acceptance ratio is below `−DIVERGENCE_LOG_RATIO` is rejected *and* counted as a
/// divergence ([`StepInfo::divergent`]).
///
/// This is Stan's criterion carried over to MALA. Stan flags a transition as divergent when
/// the Hamiltonian error `H(proposal) − H(start)` exceeds `max_deltaH = 1000`; for HMC the log
/// acceptance ratio is exactly `−(H(proposal) − H(start))`. MALA is one leapfrog step of HMC
/// with step `sqrt(2h)` (the proposal and its log ratio are identical), so `log r < −1000` is
/// the same test on the same quantity. It is one-sided, as in Stan: a large positive `log r`
/// is just an acceptance. At 1000 a flagged proposal had acceptance probability `e^{−1000}`
/// (zero in `f64`): no ordinary rejection is flagged, only a step that the local Gaussian
/// proposal model cannot describe at all — a step far too large for the local curvature (the
/// neck of a funnel, a stiff direction), which is exactly where the draws stop being
/// trustworthy.
pub const DIVERGENCE_LOG_RATIO: f64 = 1000.0;

/// The Metropolis–Hastings decision from a log acceptance ratio: accept iff `u < min(1, r)`,
/// `u ~ U[0, 1)` (one uniform draw). A non-finite `log r` (a non-finite score at the proposal,
/// or an overflow) is a rejection counted as a divergence, drawing nothing; `log r <
/// −`[`DIVERGENCE_LOG_RATIO`] is a rejection counted as a divergence (the uniform is still
/// drawn, so the random stream does not depend on the criterion).
#[inline]
pub(crate) fn metropolis_decide<T: Real, R: Rng + ?Sized>(log_r: T, rng: &mut R) -> StepInfo {
    if !log_r.finite() {
        return StepInfo::new(false, 0.0, true);
    }
    let log_r = log_r.to_f64();
    let accept_prob = if log_r >= 0.0 { 1.0 } else { log_r.exp() };
    let u: f64 = rng.random();
    if log_r < -DIVERGENCE_LOG_RATIO {
        return StepInfo::new(false, accept_prob, true);
    }
    StepInfo::new(u < accept_prob, accept_prob, false)
}

impl<P: LogDensity + Score + Sync> Kernel for Mala<P> {
    type Scalar = P::Scalar;
    type State = MalaState<P::Scalar>;

    fn dim(&self) -> usize {
        self.target.dim()
    }

    fn init(&self, x0: &[P::Scalar], chain: usize) -> Result<Self::State> {
        let d = self.dim();
        let (g, lp) = crate::mcmc::checked_start(&self.target, x0, chain)?;
        Ok(MalaState {
            x: x0.to_vec(),
            lp,
            g,
            y: vec![P::Scalar::zero(); d],
            gy: vec![P::Scalar::zero(); d],
            xi: vec![P::Scalar::zero(); d],
            h: P::Scalar::c(self.h),
            chain,
            step: 0,
            simd: None,
        })
    }

    #[inline]
    fn step<R: Rng + ?Sized>(&self, s: &mut Self::State, rng: &mut R) -> Result<StepInfo> {
        s.step += 1;
        let h = s.h;
        let noise = (P::Scalar::c(2.0) * h).sqrt();
        match self.normals {
            Normals::Simd => s
                .simd
                .get_or_insert_with(|| SimdNormal::from_rng(rng))
                .fill(&mut s.xi),
            _ => crate::real::fill_standard_normal(rng, &mut s.xi),
        }
        let xi_sq = propose(&mut s.y, &s.x, &s.g, &s.xi, h, noise);
        let lp_y = log_density_and_score(&self.target, &s.y, &mut s.gy);
        if let Some(rejected) = reject_non_finite_proposal(lp_y) {
            return Ok(rejected);
        }
        // log q(y | x) = −‖ξ‖²/2; log q(x | y) = −‖x − y − h g_y‖²/(4h).
        let bwd = backward_sq(&s.x, &s.y, &s.gy, h);
        let log_r = (lp_y - s.lp) + (P::Scalar::c(0.5) * xi_sq - bwd / (P::Scalar::c(4.0) * h));
        let info = metropolis_decide(log_r, rng);
        if info.accepted {
            core::mem::swap(&mut s.x, &mut s.y);
            core::mem::swap(&mut s.g, &mut s.gy);
            s.lp = lp_y;
        }
        Ok(info)
    }

    fn position<'a>(&self, state: &'a Self::State) -> &'a [P::Scalar] {
        &state.x
    }

    fn name(&self) -> String {
        "mala".into()
    }

    fn parameters(&self) -> Vec<(String, f64)> {
        vec![("step_size".into(), self.h)]
    }
}

impl<P: LogDensity + Score + Sync> TunableStepSize for Mala<P> {
    fn step_size(&self, state: &Self::State) -> P::Scalar {
        state.h
    }
    fn set_step_size(&self, state: &mut Self::State, h: P::Scalar) {
        state.h = h;
    }
}
