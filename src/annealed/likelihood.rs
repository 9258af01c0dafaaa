//! Log-likelihoods through the probability-flow ODE (instantaneous change of variables),
//! with exact or Skilling–Hutchinson divergences of the score's Jacobian.

use super::scores::{Marginal, SmoothedGaussian, SmoothedLaw, TimeConditionalScore};
use super::sde::ForwardSde;
use crate::density::{NoiseConditionalScore, Target};
use crate::error::{check_finite, check_len};
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::targets::GaussianMixture;
use crate::{Error, Real, Result};
use rand::RngExt;
use rayon::prelude::*;
use std::sync::{Arc, Mutex};

/// Jacobian-vector products of a time-conditional score: for m points and k tangents per
/// point, `s(x_i, t)` and `J(x_i, t) v_ij` with `J = ∂s/∂x` (d × d).
///
/// Layouts (row-major): `xs` and `scores` are `m × d`; `vs` and `jvps` are `m × k × d`
/// (point-major: the k tangents of point 0, then those of point 1, …), so
/// `k = vs.len() / xs.len()`. `work` is scratch the implementation may grow.
///
/// Implemented analytically by [`Marginal`] of a [`GaussianMixture`] or a
/// [`SmoothedGaussian`], by forward-mode tangent propagation for the learned models of
/// `langevin::neural` (feature `neural`), and for any score by the central finite differences
/// of [`FiniteDiffJvp`].
pub trait TimeScoreJvp: TimeConditionalScore {
    /// Writes `s(x_i, t)` into `scores` and `J(x_i, t) v_ij` into `jvps`.
    fn score_jvp_batch(
        &self,
        xs: &[Self::Scalar],
        t: Self::Scalar,
        vs: &[Self::Scalar],
        scores: &mut [Self::Scalar],
        jvps: &mut [Self::Scalar],
        work: &mut Vec<Self::Scalar>,
    );
}

/// Jacobian-vector products of a noise-conditional score `s(x, σ)`, with the layouts of
/// [`TimeScoreJvp`]. Implemented by [`GaussianMixture`] and [`SmoothedGaussian`] (exactly) and
/// by the learned NCSN model (forward mode), so that its time-conditional view gets JVPs too.
pub trait NoiseScoreJvp: NoiseConditionalScore {
    /// Writes `s(x_i, σ)` into `scores` and `J(x_i, σ) v_ij` into `jvps`.
    fn score_jvp_sigma_batch(
        &self,
        xs: &[Self::Scalar],
        sigma: Self::Scalar,
        vs: &[Self::Scalar],
        scores: &mut [Self::Scalar],
        jvps: &mut [Self::Scalar],
        work: &mut Vec<Self::Scalar>,
    );
}

/// A [`SmoothedLaw`] whose smoothed scores have exact Jacobian-vector products: the primitive
/// behind the analytic JVPs of [`Marginal`] and of the noise-conditional exact scores.
pub trait SmoothedLawJvp: SmoothedLaw {
    /// For one point `x`: writes `∇log p_{α,τ}(x)` into `score` and, for each of the
    /// `k = vs.len() / d` tangents `v_j` (rows of `vs`), `J v_j` into row j of `jvps`. Must not
    /// allocate.
    fn smoothed_score_jvp(
        &self,
        x: &[Self::Scalar],
        alpha: Self::Scalar,
        tau2: Self::Scalar,
        vs: &[Self::Scalar],
        score: &mut [Self::Scalar],
        jvps: &mut [Self::Scalar],
    );
}

/// Mixture of Gaussians `N(α μ_k, D_k)`, `D_k = diag(α² s_k² + τ²)`, responsibilities r_k,
/// component scores `g_k = D_k⁻¹(α μ_k − x)`, score `s = Σ r_k g_k`:
///
/// ```text
/// J v = −Σ_k r_k D_k⁻¹ v + Σ_k r_k g_k (g_k · v) − s (s · v)
/// ```
impl<T: Real> SmoothedLawJvp for GaussianMixture<T> {
    fn smoothed_score_jvp(
        &self,
        x: &[T],
        alpha: T,
        tau2: T,
        vs: &[T],
        score: &mut [T],
        jvps: &mut [T],
    ) {
        let d = self.dim();
        let k_comp = self.n_components();
        let comp = |k: usize| {
            let mu = self.component_mean(k).unwrap_or(&[]);
            let var = self.component_variances(k).unwrap_or(&[]);
            (mu, var)
        };
        // log term of component k: ln w_k − ½ Σ_i [(x_i − α μ_ki)²/v_ki + ln v_ki] (the 2π
        // constant cancels in the responsibilities).
        let log_term = |k: usize| {
            let (mu, var) = comp(k);
            let mut l = T::c(self.weights()[k].ln());
            for i in 0..d {
                let v = alpha * alpha * var[i] + tau2;
                let r = x[i] - alpha * mu[i];
                l -= T::c(0.5) * (r * r / v + v.ln());
            }
            l
        };
        let mut mx = T::neg_infinity();
        for k in 0..k_comp {
            let l = log_term(k);
            if l > mx {
                mx = l;
            }
        }
        score.iter_mut().for_each(|o| *o = T::zero());
        jvps.iter_mut().for_each(|o| *o = T::zero());
        if !mx.finite() {
            score.iter_mut().for_each(|o| *o = T::c(f64::NAN));
            jvps.iter_mut().for_each(|o| *o = T::c(f64::NAN));
            return;
        }
        let mut z = T::zero();
        for k in 0..k_comp {
            let e = (log_term(k) - mx).exp();
            z += e;
            let (mu, var) = comp(k);
            for i in 0..d {
                score[i] += e * (alpha * mu[i] - x[i]) / (alpha * alpha * var[i] + tau2);
            }
            for (v, jv) in vs.chunks_exact(d).zip(jvps.chunks_exact_mut(d)) {
                let mut gv = T::zero();
                for i in 0..d {
                    gv += (alpha * mu[i] - x[i]) / (alpha * alpha * var[i] + tau2) * v[i];
                }
                for i in 0..d {
                    let vk = alpha * alpha * var[i] + tau2;
                    let g = (alpha * mu[i] - x[i]) / vk;
                    jv[i] += e * (g * gv - v[i] / vk);
                }
            }
        }
        let iz = T::one() / z;
        score.iter_mut().for_each(|o| *o *= iz);
        for (v, jv) in vs.chunks_exact(d).zip(jvps.chunks_exact_mut(d)) {
            let sv = crate::real::dot8(score, v);
            for (j, &s) in jv.iter_mut().zip(score.iter()) {
                *j = *j * iz - s * sv;
            }
        }
    }
}

/// `J = −Σ_k q_k q_kᵀ / (α² λ_k + τ²)` (constant in x).
impl<T: Real> SmoothedLawJvp for SmoothedGaussian<T> {
    fn smoothed_score_jvp(
        &self,
        x: &[T],
        alpha: T,
        tau2: T,
        vs: &[T],
        score: &mut [T],
        jvps: &mut [T],
    ) {
        let d = self.dim();
        let _ = self.smoothed_log_density_and_score(x, alpha, tau2, score);
        jvps.iter_mut().for_each(|o| *o = T::zero());
        for k in 0..d {
            let qk = &self.q[k * d..(k + 1) * d];
            let ivk = T::one() / (alpha * alpha * self.lambda[k] + tau2);
            for (v, jv) in vs.chunks_exact(d).zip(jvps.chunks_exact_mut(d)) {
                let c = crate::real::dot8(qk, v) * ivk;
                for (j, &q) in jv.iter_mut().zip(qk) {
                    *j -= q * c;
                }
            }
        }
    }
}

fn smoothed_jvp_batch<P: SmoothedLawJvp + ?Sized>(
    law: &P,
    xs: &[P::Scalar],
    alpha: P::Scalar,
    tau2: P::Scalar,
    vs: &[P::Scalar],
    scores: &mut [P::Scalar],
    jvps: &mut [P::Scalar],
) {
    let d = law.dim();
    let m = xs.len() / d;
    if m == 0 {
        return;
    }
    let kd = vs.len() / m;
    for (((x, s), v), j) in xs
        .chunks_exact(d)
        .zip(scores.chunks_exact_mut(d))
        .zip(vs.chunks_exact(kd))
        .zip(jvps.chunks_exact_mut(kd))
    {
        law.smoothed_score_jvp(x, alpha, tau2, v, s, j);
    }
}

impl<P: SmoothedLawJvp, S: ForwardSde<Scalar = P::Scalar>> TimeScoreJvp for Marginal<P, S> {
    fn score_jvp_batch(
        &self,
        xs: &[P::Scalar],
        t: P::Scalar,
        vs: &[P::Scalar],
        scores: &mut [P::Scalar],
        jvps: &mut [P::Scalar],
        _work: &mut Vec<P::Scalar>,
    ) {
        let tf = t.to_f64();
        let sd = self.sde().marginal_std(tf);
        let (a, tau2) = (
            P::Scalar::c(self.sde().mean_coef(tf)),
            P::Scalar::c(sd * sd),
        );
        smoothed_jvp_batch(self.law(), xs, a, tau2, vs, scores, jvps);
    }
}

macro_rules! noise_jvp_via_smoothing {
    ($ty:ident) => {
        impl<T: Real> NoiseScoreJvp for $ty<T> {
            fn score_jvp_sigma_batch(
                &self,
                xs: &[T],
                sigma: T,
                vs: &[T],
                scores: &mut [T],
                jvps: &mut [T],
                _work: &mut Vec<T>,
            ) {
                smoothed_jvp_batch(self, xs, T::one(), sigma * sigma, vs, scores, jvps);
            }
        }
    };
}
noise_jvp_via_smoothing!(GaussianMixture);
noise_jvp_via_smoothing!(SmoothedGaussian);

macro_rules! forward_jvp {
    ($($ptr:ty),*) => {$(
        impl<P: TimeScoreJvp + ?Sized> TimeScoreJvp for $ptr {
            fn score_jvp_batch(
                &self,
                xs: &[Self::Scalar],
                t: Self::Scalar,
                vs: &[Self::Scalar],
                scores: &mut [Self::Scalar],
                jvps: &mut [Self::Scalar],
                work: &mut Vec<Self::Scalar>,
            ) {
                (**self).score_jvp_batch(xs, t, vs, scores, jvps, work)
            }
        }
        impl<P: NoiseScoreJvp + ?Sized> NoiseScoreJvp for $ptr {
            fn score_jvp_sigma_batch(
                &self,
                xs: &[Self::Scalar],
                sigma: Self::Scalar,
                vs: &[Self::Scalar],
                scores: &mut [Self::Scalar],
                jvps: &mut [Self::Scalar],
                work: &mut Vec<Self::Scalar>,
            ) {
                (**self).score_jvp_sigma_batch(xs, sigma, vs, scores, jvps, work)
            }
        }
        impl<P: SmoothedLawJvp + ?Sized> SmoothedLawJvp for $ptr {
            fn smoothed_score_jvp(
                &self,
                x: &[Self::Scalar],
                alpha: Self::Scalar,
                tau2: Self::Scalar,
                vs: &[Self::Scalar],
                score: &mut [Self::Scalar],
                jvps: &mut [Self::Scalar],
            ) {
                (**self).smoothed_score_jvp(x, alpha, tau2, vs, score, jvps)
            }
        }
    )*};
}
forward_jvp!(&P, Box<P>, Arc<P>);

/// Jacobian-vector products of **any** time-conditional score by central finite differences:
///
/// ```text
/// J v ≈ [s(x + δ v, t) − s(x − δ v, t)] / (2δ),     δ = h · max(1, ‖x‖_∞) / ‖v‖_∞
/// ```
///
/// The truncation error is `δ² ‖∂³s[v, v, v]‖ / 6 = O(δ²)`, the rounding error
/// `O(u ‖s‖ / δ)` with u the unit roundoff: h ≈ u^{1/3} balances them (the default: 6e-6 in
/// `f64`, 5e-3 in `f32`), for a relative error near u^{2/3} (≈ 4e-11 in `f64` on a smooth
/// score; `tests/likelihood.rs` compares it with the analytic JVP of a Gaussian mixture).
/// Each JVP costs two score evaluations (batched: all `2 m k` shifted points go through one
/// [`TimeConditionalScore::score_t_batch_into`] call), against one forward-mode pass for the
/// learned models. Use it for a score without analytic or forward-mode JVPs.
///
/// ```
/// use langevin::annealed::{FiniteDiffJvp, Marginal, TimeScoreJvp, Vp};
/// use langevin::targets::GaussianMixture;
/// let gmm = GaussianMixture::<f64>::new(vec![1.0], vec![vec![0.0]], vec![4.0])?;
/// let sde = Vp::<f64>::linear(1, 0.1, 20.0)?;
/// let exact = Marginal::new(&gmm, sde)?;
/// let fd = FiniteDiffJvp::new(&exact);
/// let (mut s, mut j, mut w) = ([0.0], [0.0], Vec::new());
/// fd.score_jvp_batch(&[0.7], 0.5, &[1.0], &mut s, &mut j, &mut w);
/// let (mut s2, mut j2) = ([0.0], [0.0]);
/// exact.score_jvp_batch(&[0.7], 0.5, &[1.0], &mut s2, &mut j2, &mut w);
/// assert!((j[0] - j2[0]).abs() < 1e-9 * j2[0].abs());
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug)]
pub struct FiniteDiffJvp<P: Target> {
    score: P,
    h: f64,
    pool: Mutex<Vec<Vec<P::Scalar>>>,
}

impl<P: TimeConditionalScore> FiniteDiffJvp<P> {
    /// The finite-difference JVPs of `score` with the default relative step `h = u^{1/3}`.
    pub fn new(score: P) -> Self {
        Self {
            score,
            h: P::Scalar::epsilon().to_f64().cbrt(),
            pool: Mutex::new(Vec::new()),
        }
    }
    /// Sets the relative step h.
    ///
    /// # Errors
    /// [`Error::InvalidStepSize`] unless `0 < h < 1`.
    pub fn step(mut self, h: f64) -> Result<Self> {
        if !(h.is_finite() && h > 0.0 && h < 1.0) {
            return Err(Error::InvalidStepSize {
                name: "finite-difference step h",
                value: h,
            });
        }
        self.h = h;
        Ok(self)
    }
    /// The relative step h.
    pub fn relative_step(&self) -> f64 {
        self.h
    }
}

impl<P: TimeConditionalScore> Target for FiniteDiffJvp<P> {
    type Scalar = P::Scalar;
    fn dim(&self) -> usize {
        self.score.dim()
    }
}

impl<P: TimeConditionalScore> TimeConditionalScore for FiniteDiffJvp<P> {
    fn score_t_into(&self, x: &[P::Scalar], t: P::Scalar, out: &mut [P::Scalar]) {
        self.score.score_t_into(x, t, out)
    }
    fn score_t_batch_into(
        &self,
        xs: &[P::Scalar],
        t: P::Scalar,
        out: &mut [P::Scalar],
        work: &mut Vec<P::Scalar>,
    ) {
        self.score.score_t_batch_into(xs, t, out, work)
    }
}

impl<P: TimeConditionalScore> TimeScoreJvp for FiniteDiffJvp<P> {
    fn score_jvp_batch(
        &self,
        xs: &[P::Scalar],
        t: P::Scalar,
        vs: &[P::Scalar],
        scores: &mut [P::Scalar],
        jvps: &mut [P::Scalar],
        work: &mut Vec<P::Scalar>,
    ) {
        let d = self.dim();
        let m = xs.len() / d;
        if m == 0 {
            return;
        }
        let k = vs.len() / (m * d);
        let mut inner = self
            .pool
            .lock()
            .map(|mut p| p.pop())
            .unwrap_or(None)
            .unwrap_or_default();
        self.score.score_t_batch_into(xs, t, scores, &mut inner);
        // Rows: x + δv for every (point, tangent), then x − δv; outputs after them.
        let n = m * k * d;
        if work.len() < 4 * n {
            work.resize(4 * n, P::Scalar::zero());
        }
        let (rows, outs) = work[..4 * n].split_at_mut(2 * n);
        for i in 0..m {
            let x = &xs[i * d..(i + 1) * d];
            let xmax = x.iter().fold(1.0f64, |a, v| a.max(v.to_f64().abs()));
            for j in 0..k {
                let r = (i * k + j) * d;
                let v = &vs[r..r + d];
                let vmax = v.iter().fold(0.0f64, |a, v| a.max(v.to_f64().abs()));
                let delta = if vmax > 0.0 {
                    self.h * xmax / vmax
                } else {
                    0.0
                };
                let dl = P::Scalar::c(delta);
                for c in 0..d {
                    rows[r + c] = x[c] + dl * v[c];
                    rows[n + r + c] = x[c] - dl * v[c];
                }
            }
        }
        self.score.score_t_batch_into(rows, t, outs, &mut inner);
        for i in 0..m {
            let x = &xs[i * d..(i + 1) * d];
            let xmax = x.iter().fold(1.0f64, |a, v| a.max(v.to_f64().abs()));
            for j in 0..k {
                let r = (i * k + j) * d;
                let v = &vs[r..r + d];
                let vmax = v.iter().fold(0.0f64, |a, v| a.max(v.to_f64().abs()));
                if vmax > 0.0 {
                    // The step actually taken, (x + δv) − (x − δv), as rounded.
                    let inv = P::Scalar::c(vmax / (2.0 * self.h * xmax));
                    for c in 0..d {
                        jvps[r + c] = (outs[r + c] - outs[n + r + c]) * inv;
                    }
                } else {
                    jvps[r..r + d]
                        .iter_mut()
                        .for_each(|o| *o = P::Scalar::zero());
                }
            }
        }
        if let Ok(mut p) = self.pool.lock() {
            p.push(inner);
        }
    }
}

/// How the divergence `∇·s = tr J` of the score is computed along the ODE path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Divergence {
    /// Exactly: `Σ_i e_iᵀ J e_i`, d Jacobian-vector products per evaluation. For small d.
    Exact,
    /// The Skilling–Hutchinson estimator `tr J ≈ (1/k) Σ_j v_jᵀ J v_j` with `k = probes`
    /// random probes, unbiased when `E[v vᵀ] = I`. Each point draws its probes once, from
    /// `rng::stream(seed, i)` (i the point's index in the batch), and keeps them along the
    /// whole ODE path (as FFJORD and score_sde do): the estimate of the integral is then
    /// `(1/k) Σ_j v_jᵀ B v_j` for the path's integrated Jacobian B, unbiased, and the k
    /// per-probe integrals give its standard error.
    Hutchinson {
        /// The number k of probes per point (≥ 2 for a standard error).
        probes: usize,
        /// The probe law.
        probe: Probe,
        /// The seed of the probes.
        seed: u64,
    },
}

/// The law of the Hutchinson probes; both have `E[v vᵀ] = I`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Probe {
    /// Independent ±1 entries: variance `2 Σ_{i≠j} B_ij²` for a symmetric B (the lowest
    /// of any probe law with independent entries; no diagonal contribution).
    Rademacher,
    /// Standard normal entries: variance `2 ‖B‖_F²`.
    Gaussian,
}

/// The ODE solver of a [`FlowLikelihood`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum OdeSolver {
    /// Heun's method on the uniform grid `t_k = ε + k (T − ε)/N`, N = `steps`: 2N
    /// evaluations, global error O(1/N²).
    Heun {
        /// The number N of steps.
        steps: usize,
    },
    /// Heun with an embedded Euler error estimate and step-size control, per point: a step
    /// of size h from y (the point and its log-density integrals) gives Heun's y_H and
    /// Euler's y_E = y + h f(y); it is accepted when
    /// `sqrt(mean_i [(y_H − y_E)_i / (atol + rtol max(|y_i|, |y_H,i|))]²) ≤ 1`, and the next
    /// step is `h · min(5, max(0.2, 0.9 err^{−1/2}))`. The estimate is the error of the
    /// first-order Euler step, so the control is conservative for Heun's.
    AdaptiveHeun {
        /// Relative tolerance.
        rtol: f64,
        /// Absolute tolerance.
        atol: f64,
        /// The largest number of attempted steps before the run fails with
        /// [`Error::InvalidConfig`].
        max_steps: usize,
    },
}

/// A user-given log density of the prior.
type PriorFn = Arc<dyn Fn(&[f64]) -> f64 + Send + Sync>;

/// The log density of the prior at the final time T.
#[derive(Clone)]
enum Prior {
    Sde,
    Custom(PriorFn),
}

impl core::fmt::Debug for Prior {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Sde => f.write_str("Prior::Sde"),
            Self::Custom(_) => f.write_str("Prior::Custom(..)"),
        }
    }
}

/// One point's log-likelihood from [`FlowLikelihood::log_likelihood`].
#[derive(Debug, Clone, PartialEq)]
pub struct LogLikelihood {
    /// The estimate of `log p_ε(x)` in nats (the mean over the probes for Hutchinson).
    pub log_density: f64,
    /// Its standard error from the spread of the k per-probe estimates
    /// (`sd / sqrt(k)`; 0 for the exact divergence, NaN for a single probe). It covers the
    /// estimator's variance only, not the ODE error.
    pub std_error: f64,
    /// `log p_T(x_T)` under the prior.
    pub prior_log_density: f64,
    /// The dimension d.
    pub dim: usize,
    /// Evaluations of the score with its JVPs (the solver's cost).
    pub score_evals: usize,
    /// Jacobian-vector products (`score_evals ×` d for exact divergence, × k for Hutchinson).
    pub jvps: usize,
    /// Accepted ODE steps.
    pub steps: usize,
    /// Rejected ODE steps (adaptive solver only).
    pub rejected: usize,
}

impl LogLikelihood {
    /// `−log p / (d ln 2)`: bits per dimension.
    pub fn bits_per_dim(&self) -> f64 {
        -self.log_density / (self.dim as f64 * core::f64::consts::LN_2)
    }
}

/// Log-likelihoods of data points under a diffusion model, through the probability-flow ODE
/// and the instantaneous change of variables (Chen et al. 2018; Song et al. 2021, App. D).
///
/// For the linear forward SDE `dX = a(t) X dt + g(t) dW` ([`ForwardSde`]) with score
/// `s(x, t) ≈ ∇log p_t(x)`, the probability-flow ODE
///
/// ```text
/// dx/dt = f̃(x, t) = a(t) x − ½ g(t)² s(x, t),      ∇·f̃ = a(t) d − ½ g(t)² tr ∂s/∂x
/// ```
///
/// transports p_ε to p_T, and along a path `d/dt log p_t(x_t) = −∇·f̃(x_t, t)`, so
///
/// ```text
/// log p_ε(x) = log p_T(x_T) + ∫_ε^T ∇·f̃(x_t, t) dt,       x_ε = x
/// ```
///
/// with x_T the end of the ODE solved **forward** from x. The pair (x, ∫∇·f̃) is integrated
/// together by Heun's method ([`OdeSolver::Heun`], fixed steps) or with step-size control
/// ([`OdeSolver::AdaptiveHeun`]): with `d₁ = (f̃, ∇·f̃)(x, t)`, `x̃ = x + h f̃(x, t)`,
/// `d₂ = (f̃, ∇·f̃)(x̃, t + h)`, `(x, L) ← (x, L) + (h/2)(d₁ + d₂)`. The divergence is exact
/// ([`Divergence::Exact`]) or estimated ([`Divergence::Hutchinson`]); both need the score's
/// Jacobian-vector products ([`TimeScoreJvp`]). The prior is `N(0, prior_std² I)` of the SDE
/// (the VP prior N(0, I), the VE prior N(0, σ_max² I)) or any log density given by
/// [`FlowLikelihood::prior_log_density`] (e.g. the exact marginal p_T). Points run in
/// parallel blocks of fixed size (16 points; one point per block for the adaptive solver),
/// each point's result independent of the others and of the number of threads.
///
/// # Bias and error
/// * **ε truncation.** The result is `log p_ε`, the density of the data law at time ε
///   (smoothed by N(0, σ_ε²) and scaled by α_ε), not `log p_0`: `log p_ε − log p_0 =
///   O(σ_ε²)` for a smooth data density, and for data on a lattice or a manifold p_0 has no
///   density at all, so ε (or the dequantisation, see the guide) defines what is measured.
///   score_sde uses ε = 1e-5 (VP: σ_ε² ≈ β₀ ε = 1e-6). ε must also lie where the score was
///   trained: the score of a learned model below its smallest training noise is an
///   extrapolation, and as t → 0 the factor g² s stiffens the ODE.
/// * **ODE error.** Heun's global error is O(h²) in both x_T and the integral:
///   `tests/likelihood.rs` measures the order on Gaussian data, VP and VE, by step halving
///   (fitted order 2.00), and bounds the error on a Gaussian mixture.
/// * **Estimator variance.** With [`Divergence::Hutchinson`] the estimate is unbiased given
///   the discretised path; its standard error ([`LogLikelihood::std_error`]) falls as
///   1/sqrt(k). A log of a mean of such estimates (e.g. a likelihood, not a log-likelihood)
///   would be biased; averaging log-likelihoods over points is not.
/// * **Model error.** With a learned score, `s ≠ ∇log p_t` and the ODE's density is that of
///   the model's own flow — a valid density whatever the score, which is what the bits/dim
///   of a diffusion model report.
///
/// # Example
/// ```
/// use langevin::annealed::{Divergence, FlowLikelihood, Marginal, OdeSolver, Probe, Vp};
/// use langevin::targets::GaussianMixture;
/// // Data N(2, 0.25) in 1-D: p_ε is Gaussian, its log density known exactly.
/// let data = GaussianMixture::<f64>::new(vec![1.0], vec![vec![2.0]], vec![0.25])?;
/// let sde = Vp::<f64>::linear(1, 0.1, 20.0)?;
/// let score = Marginal::new(&data, sde)?;
/// let flow = FlowLikelihood::new(sde, &score, 1e-5)?
///     .solver(OdeSolver::Heun { steps: 200 })?
///     .divergence(Divergence::Hutchinson { probes: 4, probe: Probe::Rademacher, seed: 3 })?;
/// let ll = flow.log_likelihood(&[2.5])?;
/// let exact = score.log_density_and_score_t(&[2.5], 1e-5, &mut [0.0]);
/// // In 1-D v² = 1: every Rademacher probe is exact. The error left is the ODE's (≈ 1e-4)
/// // and the prior's: N(0, 1) against the exact p_1 = N(0.0131, ≈ 1) costs 0.0133 nats here.
/// assert!((ll[0].log_density - exact).abs() < 0.02);
/// assert!(ll[0].std_error < 1e-12);
/// assert_eq!(ll[0].score_evals, 400);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * Y. Song, J. Sohl-Dickstein, D. P. Kingma, A. Kumar, S. Ermon, B. Poole (2021),
///   Score-based generative modeling through stochastic differential equations, *ICLR*,
///   App. D.2 (likelihood computation).
/// * R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud (2018), Neural ordinary
///   differential equations, *NeurIPS* (instantaneous change of variables).
/// * W. Grathwohl, R. T. Q. Chen, J. Bettencourt, I. Sutskever, D. Duvenaud (2019), FFJORD:
///   free-form continuous dynamics for scalable reversible generative models, *ICLR*
///   (Hutchinson's estimator with a fixed probe).
/// * M. F. Hutchinson (1990), A stochastic estimator of the trace of the influence matrix for
///   Laplacian smoothing splines, *Comm. Statist. Simul. Comput.* 19(2); J. Skilling (1989),
///   The eigenvalues of mega-dimensional matrices, in *Maximum Entropy and Bayesian Methods*.
#[derive(Debug, Clone)]
pub struct FlowLikelihood<S, P> {
    sde: S,
    score: P,
    eps: f64,
    t_end: f64,
    solver: OdeSolver,
    divergence: Divergence,
    prior: Prior,
}

/// Points per block of the fixed-step solver.
const POINT_BLOCK: usize = 16;

fn bad_times(eps: f64, t_end: f64) -> Error {
    Error::InvalidSchedule {
        reason: format!(
            "the likelihood ODE runs from ε to T with 0 < ε < T ≤ 1, got ε = {eps}, T = {t_end}; \
             score_sde uses ε = 1e-5 and T = 1"
        ),
    }
}

impl<S, P> FlowLikelihood<S, P>
where
    S: ForwardSde + Sync,
    P: TimeScoreJvp<Scalar = S::Scalar> + Sync,
{
    /// The likelihood of `sde` with score `score` from t = `eps` to T = 1, by Heun with 200
    /// steps and the exact divergence (change them with [`FlowLikelihood::solver`] and
    /// [`FlowLikelihood::divergence`]).
    ///
    /// # Errors
    /// [`Error::InvalidSchedule`] unless `0 < ε < 1`; [`Error::DimensionMismatch`] if the
    /// score and SDE dimensions differ.
    pub fn new(sde: S, score: P, eps: f64) -> Result<Self> {
        check_len(
            "score dimension (must match the SDE)",
            sde.dim(),
            score.dim(),
        )?;
        if !(eps.is_finite() && eps > 0.0 && eps < 1.0) {
            return Err(bad_times(eps, 1.0));
        }
        Ok(Self {
            sde,
            score,
            eps,
            t_end: 1.0,
            solver: OdeSolver::Heun { steps: 200 },
            divergence: Divergence::Exact,
            prior: Prior::Sde,
        })
    }

    /// Sets the final time T (default 1). With T < 1 pass the prior at T too
    /// ([`FlowLikelihood::prior_log_density`]): the SDE's prior is the law at T = 1.
    ///
    /// # Errors
    /// [`Error::InvalidSchedule`] unless `ε < T ≤ 1`.
    pub fn t_end(mut self, t_end: f64) -> Result<Self> {
        if !(t_end.is_finite() && t_end > self.eps && t_end <= 1.0) {
            return Err(bad_times(self.eps, t_end));
        }
        self.t_end = t_end;
        Ok(self)
    }

    /// Sets the ODE solver.
    ///
    /// # Errors
    /// [`Error::ZeroCount`] for zero steps; [`Error::InvalidParameter`] for a tolerance that
    /// is not finite and ≥ 0, or both zero.
    pub fn solver(mut self, solver: OdeSolver) -> Result<Self> {
        match solver {
            OdeSolver::Heun { steps }
            | OdeSolver::AdaptiveHeun {
                max_steps: steps, ..
            } if steps == 0 => {
                return Err(Error::ZeroCount {
                    what: "likelihood ODE steps",
                });
            }
            OdeSolver::AdaptiveHeun { rtol, atol, .. } => {
                for (name, v) in [("rtol", rtol), ("atol", atol)] {
                    if !(v.is_finite() && v >= 0.0) {
                        return Err(Error::InvalidParameter {
                            name,
                            value: v,
                            expected: "finite and ≥ 0 (e.g. rtol = 1e-5, atol = 1e-5 as in score_sde)",
                        });
                    }
                }
                if rtol == 0.0 && atol == 0.0 {
                    return Err(Error::InvalidParameter {
                        name: "rtol",
                        value: 0.0,
                        expected: "rtol or atol > 0 (e.g. 1e-5)",
                    });
                }
            }
            _ => {}
        }
        self.solver = solver;
        Ok(self)
    }

    /// Sets the divergence computation.
    ///
    /// # Errors
    /// [`Error::ZeroCount`] for zero Hutchinson probes.
    pub fn divergence(mut self, divergence: Divergence) -> Result<Self> {
        if let Divergence::Hutchinson { probes: 0, .. } = divergence {
            return Err(Error::ZeroCount {
                what: "Hutchinson probes",
            });
        }
        self.divergence = divergence;
        Ok(self)
    }

    /// Replaces the prior `N(0, prior_std² I)` by the log density `f(x_T)` (normalised, in
    /// nats; `x_T` given in `f64`).
    pub fn prior_log_density<F>(mut self, f: F) -> Self
    where
        F: Fn(&[f64]) -> f64 + Send + Sync + 'static,
    {
        self.prior = Prior::Custom(Arc::new(f));
        self
    }

    /// The initial time ε.
    pub fn eps(&self) -> f64 {
        self.eps
    }

    /// `log p_ε(x_i)` for every row `x_i` of the row-major `m × d` array `xs`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if `xs.len()` is not a multiple of d;
    /// [`Error::NonFiniteInput`] for a non-finite value; [`Error::NonFiniteState`] (point,
    /// step, coordinate) if the score, a JVP or the path becomes non-finite;
    /// [`Error::InvalidConfig`] if the adaptive solver exceeds its step budget.
    pub fn log_likelihood(&self, xs: &[S::Scalar]) -> Result<Vec<LogLikelihood>> {
        let d = self.sde.dim();
        check_len(
            "data points (row-major m × d)",
            xs.len().div_ceil(d) * d,
            xs.len(),
        )?;
        check_finite("data point", xs)?;
        let per = match self.solver {
            OdeSolver::Heun { .. } => POINT_BLOCK,
            OdeSolver::AdaptiveHeun { .. } => 1,
        };
        let blocks: Vec<Result<Vec<LogLikelihood>>> = xs
            .par_chunks(per * d)
            .enumerate()
            .map(|(b, xb)| self.block(xb, b * per))
            .collect();
        let mut out = Vec::with_capacity(xs.len() / d);
        for b in blocks {
            out.extend(b?);
        }
        Ok(out)
    }

    fn prior_log(&self, x: &[f64]) -> f64 {
        match &self.prior {
            Prior::Custom(f) => f(x),
            Prior::Sde => {
                let s = self.sde.prior_std();
                let q: f64 = x.iter().map(|v| v * v).sum();
                let d = x.len() as f64;
                -0.5 * q / (s * s) - d * s.ln() - 0.5 * d * super::ln_2pi()
            }
        }
    }

    /// One block of points (first index `first`), integrated together on one time grid.
    fn block(&self, xs: &[S::Scalar], first: usize) -> Result<Vec<LogLikelihood>> {
        let d = self.sde.dim();
        let m = xs.len() / d;
        let mut st = State::new(self, xs, first);
        let (steps, rejected) = match self.solver {
            OdeSolver::Heun { steps } => {
                let h = (self.t_end - self.eps) / steps as f64;
                for k in 0..steps {
                    let t = self.eps + k as f64 * h;
                    let tn = if k + 1 == steps { self.t_end } else { t + h };
                    st.heun(self, t, tn - t, k)?;
                    st.accept();
                }
                (steps, 0)
            }
            OdeSolver::AdaptiveHeun {
                rtol,
                atol,
                max_steps,
            } => {
                let (mut t, mut h) = (self.eps, 1e-2 * (self.t_end - self.eps));
                let (mut acc, mut rej) = (0, 0);
                while t < self.t_end {
                    if acc + rej >= max_steps {
                        return Err(Error::InvalidConfig {
                            reason: format!(
                                "adaptive Heun reached max_steps = {max_steps} at t = {t:.6} \
                                 (point {first}); raise max_steps or loosen rtol/atol"
                            ),
                        });
                    }
                    let last = t + h >= self.t_end * (1.0 - 1e-12);
                    let step = if last { self.t_end - t } else { h };
                    st.heun(self, t, step, acc + rej)?;
                    let e = st.error_norm(rtol, atol);
                    if e <= 1.0 {
                        st.accept();
                        t = if last { self.t_end } else { t + step };
                        acc += 1;
                    } else {
                        rej += 1;
                    }
                    let fac = if e > 0.0 {
                        (0.9 / e.sqrt()).clamp(0.2, 5.0)
                    } else {
                        5.0
                    };
                    h = step * fac;
                }
                (acc, rej)
            }
        };
        let kp = st.kp;
        let kv = st.kv;
        let mut out = Vec::with_capacity(m);
        let mut xt = vec![0.0; d];
        for i in 0..m {
            for (o, v) in xt.iter_mut().zip(&st.x[i * d..(i + 1) * d]) {
                *o = v.to_f64();
            }
            let prior = self.prior_log(&xt);
            let ints = &st.acc[i * kp..(i + 1) * kp];
            let mean = ints.iter().sum::<f64>() / kp as f64;
            let se = match self.divergence {
                Divergence::Exact => 0.0,
                _ if kp < 2 => f64::NAN,
                _ => {
                    let v = ints.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (kp - 1) as f64;
                    (v / kp as f64).sqrt()
                }
            };
            out.push(LogLikelihood {
                log_density: prior + mean,
                std_error: se,
                prior_log_density: prior,
                dim: d,
                score_evals: st.evals,
                jvps: st.evals * kv,
                steps,
                rejected,
            });
        }
        Ok(out)
    }
}

/// The state of one block: points, integrals, probes and scratch.
struct State<T> {
    d: usize,
    m: usize,
    first: usize,
    /// Tangents per point (d for the exact divergence, k for Hutchinson).
    kv: usize,
    /// Integrals per point (1 for exact, k for Hutchinson).
    kp: usize,
    exact: bool,
    x: Vec<T>,
    acc: Vec<f64>,
    // Proposed state after a step.
    x_new: Vec<T>,
    acc_new: Vec<f64>,
    xt: Vec<T>,
    f1: Vec<T>,
    div1: Vec<f64>,
    div2: Vec<f64>,
    s: Vec<T>,
    v: Vec<T>,
    j: Vec<T>,
    work: Vec<T>,
    evals: usize,
}

impl<T: Real> State<T> {
    fn new<S, P>(lik: &FlowLikelihood<S, P>, xs: &[T], first: usize) -> Self
    where
        S: ForwardSde<Scalar = T>,
        P: TimeScoreJvp<Scalar = T>,
    {
        let d = lik.sde.dim();
        let m = xs.len() / d;
        let (kv, kp, exact) = match lik.divergence {
            Divergence::Exact => (d, 1, true),
            Divergence::Hutchinson { probes, .. } => (probes, probes, false),
        };
        let mut v = vec![T::zero(); m * kv * d];
        match lik.divergence {
            Divergence::Exact => {
                for i in 0..m {
                    for r in 0..d {
                        v[(i * d + r) * d + r] = T::one();
                    }
                }
            }
            Divergence::Hutchinson { probe, seed, .. } => {
                for i in 0..m {
                    let mut rng = crate::rng::stream(seed, (first + i) as u64);
                    let vi = &mut v[i * kv * d..(i + 1) * kv * d];
                    match probe {
                        Probe::Rademacher => {
                            for o in vi.iter_mut() {
                                *o = if rng.random::<bool>() {
                                    T::one()
                                } else {
                                    -T::one()
                                };
                            }
                        }
                        Probe::Gaussian => crate::real::fill_standard_normal(&mut rng, vi),
                    }
                }
            }
        }
        Self {
            d,
            m,
            first,
            kv,
            kp,
            exact,
            x: xs.to_vec(),
            acc: vec![0.0; m * kp],
            x_new: vec![T::zero(); m * d],
            acc_new: vec![0.0; m * kp],
            xt: vec![T::zero(); m * d],
            f1: vec![T::zero(); m * d],
            div1: vec![0.0; m * kp],
            div2: vec![0.0; m * kp],
            s: vec![T::zero(); m * d],
            v,
            j: vec![T::zero(); m * kv * d],
            work: Vec::new(),
            evals: 0,
        }
    }

    /// Evaluates the score and JVPs at (`x` or `xt`, t) and the divergences of f̃ into
    /// `div1` / `div2`; f̃ itself is left to the caller (from `s`).
    fn eval<S, P>(
        &mut self,
        lik: &FlowLikelihood<S, P>,
        t: f64,
        at_xt: bool,
        step: usize,
    ) -> Result<()>
    where
        S: ForwardSde<Scalar = T>,
        P: TimeScoreJvp<Scalar = T>,
    {
        let (d, kv) = (self.d, self.kv);
        let xs = if at_xt { &self.xt } else { &self.x };
        lik.score.score_jvp_batch(
            xs,
            T::c(t),
            &self.v,
            &mut self.s,
            &mut self.j,
            &mut self.work,
        );
        self.evals += 1;
        for (i, (s, xi)) in self.s.chunks_exact(d).zip(xs.chunks_exact(d)).enumerate() {
            let bad = s
                .iter()
                .chain(&self.j[i * kv * d..(i + 1) * kv * d])
                .chain(xi)
                .position(|v| !v.finite());
            if let Some(c) = bad {
                return Err(Error::NonFiniteState {
                    chain: self.first + i,
                    step,
                    coordinate: c % d,
                });
            }
        }
        let a = lik.sde.drift_coef(t);
        let g = lik.sde.diffusion_coef(t);
        let half_g2 = 0.5 * g * g;
        let out = if at_xt {
            &mut self.div2
        } else {
            &mut self.div1
        };
        for i in 0..self.m {
            let jb = &self.j[i * kv * d..(i + 1) * kv * d];
            if self.exact {
                let tr: f64 = (0..d).map(|r| jb[r * d + r].to_f64()).sum();
                out[i] = a * d as f64 - half_g2 * tr;
            } else {
                let vb = &self.v[i * kv * d..(i + 1) * kv * d];
                for p in 0..kv {
                    let q = crate::real::dot8(&vb[p * d..(p + 1) * d], &jb[p * d..(p + 1) * d]);
                    out[i * kv + p] = a * d as f64 - half_g2 * q.to_f64();
                }
            }
        }
        Ok(())
    }

    /// One Heun step of size h from t into `x_new`, `acc_new`; the Euler–Heun difference is
    /// left in `xt` (x part) and `div2` (integral part) for [`State::error_norm`].
    fn heun<S, P>(&mut self, lik: &FlowLikelihood<S, P>, t: f64, h: f64, step: usize) -> Result<()>
    where
        S: ForwardSde<Scalar = T>,
        P: TimeScoreJvp<Scalar = T>,
    {
        let (a1, g1) = (lik.sde.drift_coef(t), lik.sde.diffusion_coef(t));
        let tn = t + h;
        let (a2, g2) = (lik.sde.drift_coef(tn), lik.sde.diffusion_coef(tn));
        self.eval(lik, t, false, step)?;
        let (ca1, cs1, ch) = (T::c(a1), T::c(0.5 * g1 * g1), T::c(h));
        for i in 0..self.x.len() {
            let f = ca1 * self.x[i] - cs1 * self.s[i];
            self.f1[i] = f;
            self.xt[i] = self.x[i] + ch * f;
        }
        self.eval(lik, tn, true, step)?;
        let (ca2, cs2, hh) = (T::c(a2), T::c(0.5 * g2 * g2), T::c(0.5 * h));
        // The Euler–Heun difference (h/2)(d₂ − d₁), measured relative to the tolerances by
        // error_norm; stored in xt (x part) and div2 (integral part).
        for i in 0..self.x.len() {
            let f2 = ca2 * self.xt[i] - cs2 * self.s[i];
            self.x_new[i] = self.x[i] + hh * (self.f1[i] + f2);
            self.xt[i] = hh * (f2 - self.f1[i]);
        }
        for i in 0..self.acc.len() {
            self.acc_new[i] = self.acc[i] + 0.5 * h * (self.div1[i] + self.div2[i]);
            self.div2[i] = 0.5 * h * (self.div2[i] - self.div1[i]);
        }
        Ok(())
    }

    /// The RMS of the scaled Euler–Heun differences of the last [`State::heun`].
    fn error_norm(&self, rtol: f64, atol: f64) -> f64 {
        let mut s = 0.0;
        for ((e, x), xn) in self.xt.iter().zip(&self.x).zip(&self.x_new) {
            let sc = atol + rtol * x.to_f64().abs().max(xn.to_f64().abs());
            s += (e.to_f64() / sc).powi(2);
        }
        for ((e, a), an) in self.div2.iter().zip(&self.acc).zip(&self.acc_new) {
            let sc = atol + rtol * a.abs().max(an.abs());
            s += (e / sc).powi(2);
        }
        (s / (self.xt.len() + self.div2.len()) as f64).sqrt()
    }

    fn accept(&mut self) {
        core::mem::swap(&mut self.x, &mut self.x_new);
        core::mem::swap(&mut self.acc, &mut self.acc_new);
    }
}

/// Mean and standard error (over points) of the bits per dimension of many
/// [`LogLikelihood`]s: `(mean, se)`, the SE from the spread over points (which includes the
/// Hutchinson probe variance). NaN for fewer than two points.
pub fn mean_bits_per_dim(lls: &[LogLikelihood]) -> (f64, f64) {
    let n = lls.len() as f64;
    let b: Vec<f64> = lls.iter().map(LogLikelihood::bits_per_dim).collect();
    let mean = b.iter().sum::<f64>() / n;
    if lls.len() < 2 {
        return (mean, f64::NAN);
    }
    let var = b.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}
