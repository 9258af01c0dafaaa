//! Guidance: classifier-free guidance (Ho & Salimans 2022) and classifier guidance (Song et
//! al. 2021; Dhariwal & Nichol 2021) as score wrappers that every sampler of this module runs
//! unchanged.

use super::scores::{NoiseScoreBatch, TimeConditionalScore};
use crate::density::{NoiseConditionalLogDensity, NoiseConditionalScore, Target};
use crate::error::check_len;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::{Error, Real, Result};
use std::sync::Mutex;

/// Pooled scratch rows: one buffer per concurrent caller, reused, so steady-state
/// evaluations allocate nothing.
#[derive(Debug, Default)]
struct Pool<T>(Mutex<Vec<Vec<T>>>);

impl<T: Real> Pool<T> {
    fn with<R>(&self, n: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
        let mut buf = self
            .0
            .lock()
            .map(|mut p| p.pop())
            .unwrap_or(None)
            .unwrap_or_default();
        if buf.len() < n {
            buf.resize(n, T::zero());
        }
        let r = f(&mut buf[..n]);
        if let Ok(mut p) = self.0.lock() {
            p.push(buf);
        }
        r
    }
}

impl<T> Clone for Pool<T> {
    fn clone(&self) -> Self {
        Self(Mutex::new(Vec::new()))
    }
}

/// `out ← out + w (out − u)` = `(1 + w) out − w u`: exactly `out` for `w = 0` (and finite u).
#[inline]
fn combine<T: Real>(out: &mut [T], u: &[T], w: T) {
    for (o, &v) in out.iter_mut().zip(u) {
        *o += w * (*o - v);
    }
}

/// **Classifier-free guidance** (Ho & Salimans 2022): from a conditional score `s(x | y)` and
/// an unconditional one `s(x)` at the same noise level σ (or time t),
///
/// ```text
/// s̃(x | y) = (1 + w) s(x | y) − w s(x) = s(x | y) + w (s(x | y) − s(x))
/// ```
///
/// In ε-prediction form this is `ε̃ = (1 + w) ε(x | y) − w ε(x)` — the same linear
/// combination, since every score here is `−ε/σ` with the same σ. Both scores usually come
/// from one network trained with label dropout (`neural::CondNcsnMlp::guided`, feature
/// `neural`), but any pair works: exact class-conditional and marginal scores of a
/// [`crate::targets::GaussianMixture`] make guidance testable without a network.
///
/// # What w does
///
/// At each level, `s̃` is the gradient of the log of the **tilted density**
///
/// ```text
/// p̃_σ(x | y) ∝ p_σ(x | y)^(1+w) p_σ(x)^(−w) = p_σ(x | y) · (p_σ(y | x) / p(y))^w
/// ```
///
/// (Bayes: `p_σ(x | y)/p_σ(x) = p_σ(y | x)/p(y)`), always normalisable for `w ≥ 0` since
/// `p_σ(x) ≥ p(y) p_σ(x | y)`. `w = 0` is the conditional model, `w = −1` the unconditional
/// one; `w > 0` reweights the conditional law by the implicit classifier's confidence
/// `p_σ(y | x)^w`, pushing samples away from the other classes: the class is more
/// recognisable (higher agreement of a classifier with the requested label) and the samples
/// are **less diverse** (the law concentrates where `p(y | x) ≈ 1`: for two Gaussian classes
/// of equal covariance the guided law's mean moves away from the other class and its
/// spread along the class axis shrinks, see `tests/guidance.rs`). Large w (≳ 4 on image
/// data) gives saturated, stereotyped samples.
///
/// A Langevin chain at a fixed level σ (the last level of [`super::AnnealedLangevin`], with
/// enough steps) samples `p̃_σ`, because `s̃` is the gradient of `log p̃_σ`. The guided
/// scores at different σ are *not* the smoothings of one law, so a reverse-time sampler
/// ([`super::ReverseSampler`], [`super::ProbabilityFlow`], [`super::Ddim`],
/// [`super::DpmSolverPp`], [`super::Edm`]) with guidance does not sample `p̃_0` exactly; it
/// does when both scores are Gaussian with one covariance (then `s̃` is the exact score of a
/// shifted Gaussian, tested through every sampler).
///
/// # Traits
///
/// `ClassifierFree` implements [`NoiseConditionalScore`] and [`NoiseScoreBatch`] when both
/// scores do (annealed Langevin, EDM), [`NoiseConditionalLogDensity`] when both do
/// ([`super::AnnealedMala`]: `log p̃ = (1 + w) log p(· | y) − w log p`, up to a constant), and
/// [`TimeConditionalScore`] when both do (reverse SDE, PC, probability flow, DDIM,
/// DPM-Solver++). A batched evaluation costs one batched call of each score; the
/// unconditional output goes to a pooled buffer (no allocation after warm-up).
///
/// ```
/// use langevin::annealed::{AnnealedLangevin, ClassifierFree, LevelStep, ParticleRun, SigmaLevels};
/// use langevin::prelude::*;
/// use langevin::targets::GaussianMixture;
/// // Two classes on the line: y = 0 at −1, y = 1 at +1, each N(μ, 1), equal weights.
/// let class1 = GaussianMixture::<f64>::new(vec![1.0], vec![vec![1.0]], vec![1.0])?;
/// let marginal = GaussianMixture::<f64>::new(vec![0.5, 0.5], vec![vec![-1.0], vec![1.0]], vec![1.0, 1.0])?;
/// let levels = SigmaLevels::geometric(3.0, 0.1, 5)?;
/// let init = |_i: usize, rng: &mut langevin::rng::ChainRng, x: &mut [f64]| {
///     x[0] = 3.0 * f64::standard_normal(rng);
/// };
/// let run = ParticleRun::new(2000).seed(3);
/// let mean = |w: f64| -> langevin::Result<f64> {
///     let guided = ClassifierFree::new(&class1, &marginal, w)?;
///     let al = AnnealedLangevin::new(guided, levels.clone(), 300, LevelStep::PerLevel(vec![0.05; 5]))?;
///     let out = al.run(&run, &init)?;
///     Ok(out.iter().map(|x| x[0]).sum::<f64>() / 2000.0)
/// };
/// // The tilted law ∝ N(x; 1, v) sigmoid(2x/v)^w (v = 1 + σ_L² = 1.01) has mean 1 at w = 0 and
/// // 1.54 at w = 3 (quadrature); the standard error here is about 0.02.
/// let (m0, m3) = (mean(0.0)?, mean(3.0)?);
/// assert!((m0 - 1.0).abs() < 0.1, "{m0}");
/// assert!((m3 - 1.54).abs() < 0.1, "{m3}");
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * J. Ho, T. Salimans (2022), Classifier-free diffusion guidance, arXiv:2207.12598
///   (NeurIPS 2021 workshop).
/// * P. Dhariwal, A. Nichol (2021), Diffusion models beat GANs on image synthesis, *NeurIPS*.
#[derive(Debug, Clone)]
pub struct ClassifierFree<C: Target, U> {
    cond: C,
    uncond: U,
    w: C::Scalar,
    pool: Pool<C::Scalar>,
}

impl<C: Target, U: Target<Scalar = C::Scalar>> ClassifierFree<C, U> {
    /// The guided score `(1 + w) cond − w uncond`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if the two scores have different dimensions;
    /// [`Error::InvalidParameter`] for a guidance weight that is not finite or is below −1.
    pub fn new(cond: C, uncond: U, w: f64) -> Result<Self> {
        check_len(
            "unconditional score (classifier-free guidance)",
            cond.dim(),
            uncond.dim(),
        )?;
        if !(w.is_finite() && w >= -1.0) {
            return Err(Error::InvalidParameter {
                name: "guidance weight w",
                value: w,
                expected: "finite and ≥ −1 (0: conditional model, 1–4: typical guidance, \
                           −1: unconditional)",
            });
        }
        Ok(Self {
            cond,
            uncond,
            w: C::Scalar::c(w),
            pool: Pool::default(),
        })
    }
    /// The guidance weight w.
    pub fn weight(&self) -> f64 {
        self.w.to_f64()
    }
    /// The conditional score.
    pub fn conditional(&self) -> &C {
        &self.cond
    }
    /// The unconditional score.
    pub fn unconditional(&self) -> &U {
        &self.uncond
    }
}

impl<C: Target, U: Target<Scalar = C::Scalar>> Target for ClassifierFree<C, U> {
    type Scalar = C::Scalar;
    fn dim(&self) -> usize {
        self.cond.dim()
    }
}

impl<C, U> NoiseConditionalScore for ClassifierFree<C, U>
where
    C: NoiseConditionalScore,
    U: NoiseConditionalScore<Scalar = C::Scalar>,
{
    fn score_sigma_into(&self, x: &[C::Scalar], sigma: C::Scalar, out: &mut [C::Scalar]) {
        self.cond.score_sigma_into(x, sigma, out);
        self.pool.with(out.len(), |u| {
            self.uncond.score_sigma_into(x, sigma, u);
            combine(out, u, self.w);
        });
    }
}

impl<C, U> NoiseScoreBatch for ClassifierFree<C, U>
where
    C: NoiseScoreBatch,
    U: NoiseScoreBatch<Scalar = C::Scalar>,
{
    fn score_sigma_batch_into(
        &self,
        xs: &[C::Scalar],
        sigma: C::Scalar,
        out: &mut [C::Scalar],
        work: &mut Vec<C::Scalar>,
    ) {
        self.cond.score_sigma_batch_into(xs, sigma, out, work);
        self.pool.with(out.len(), |u| {
            self.uncond.score_sigma_batch_into(xs, sigma, u, work);
            combine(out, u, self.w);
        });
    }
}

impl<C, U> NoiseConditionalLogDensity for ClassifierFree<C, U>
where
    C: NoiseConditionalLogDensity,
    U: NoiseConditionalLogDensity<Scalar = C::Scalar>,
{
    fn log_density_sigma(&self, x: &[C::Scalar], sigma: C::Scalar) -> C::Scalar {
        let (c, u) = (
            self.cond.log_density_sigma(x, sigma),
            self.uncond.log_density_sigma(x, sigma),
        );
        c + self.w * (c - u)
    }
}

impl<C, U> TimeConditionalScore for ClassifierFree<C, U>
where
    C: TimeConditionalScore,
    U: TimeConditionalScore<Scalar = C::Scalar>,
{
    fn score_t_into(&self, x: &[C::Scalar], t: C::Scalar, out: &mut [C::Scalar]) {
        self.cond.score_t_into(x, t, out);
        self.pool.with(out.len(), |u| {
            self.uncond.score_t_into(x, t, u);
            combine(out, u, self.w);
        });
    }
    fn score_t_batch_into(
        &self,
        xs: &[C::Scalar],
        t: C::Scalar,
        out: &mut [C::Scalar],
        work: &mut Vec<C::Scalar>,
    ) {
        self.cond.score_t_batch_into(xs, t, out, work);
        self.pool.with(out.len(), |u| {
            self.uncond.score_t_batch_into(xs, t, u, work);
            combine(out, u, self.w);
        });
    }
}

/// The gradient `∇ₓ log p_c(y | x)` of a differentiable classifier of noisy inputs, for a
/// label `y` the implementation has fixed, at noise level or time `c` — what
/// [`ClassifierGuidance`] adds to a score. `c` is the noise level σ when the guided score is
/// used as a [`NoiseConditionalScore`] and the diffusion time t when it is used as a
/// [`TimeConditionalScore`]. [`ClassifierFn`] turns a closure into one.
pub trait LogClassifierGradient: Target {
    /// Writes `∇ₓ log p_c(y | x)` into `out` (length d). Must not allocate.
    fn grad_log_prob_into(&self, x: &[Self::Scalar], c: Self::Scalar, out: &mut [Self::Scalar]);
}

impl<G: LogClassifierGradient + ?Sized> LogClassifierGradient for &G {
    fn grad_log_prob_into(&self, x: &[Self::Scalar], c: Self::Scalar, out: &mut [Self::Scalar]) {
        (**self).grad_log_prob_into(x, c, out)
    }
}

/// A closure `f(x, c, out)` writing `∇ₓ log p_c(y | x)` as a [`LogClassifierGradient`] on ℝᵈ.
///
/// ```
/// use langevin::annealed::{ClassifierFn, LogClassifierGradient};
/// // Logistic p_σ(y = 1 | x) = sigmoid(a x / (1 + σ²)): ∇ log p = (1 − p) a / (1 + σ²).
/// let a = 2.0;
/// let clf = ClassifierFn::new(1, move |x: &[f64], s: f64, out: &mut [f64]| {
///     let k = a / (1.0 + s * s);
///     let p = 1.0 / (1.0 + (-k * x[0]).exp());
///     out[0] = (1.0 - p) * k;
/// })?;
/// let mut g = [0.0];
/// clf.grad_log_prob_into(&[0.0], 1.0, &mut g);
/// assert!((g[0] - 0.5).abs() < 1e-12);
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct ClassifierFn<T, F> {
    dim: usize,
    f: F,
    _t: core::marker::PhantomData<fn() -> T>,
}

impl<T, F> core::fmt::Debug for ClassifierFn<T, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClassifierFn")
            .field("dim", &self.dim)
            .finish_non_exhaustive()
    }
}

impl<T: Real, F: Fn(&[T], T, &mut [T])> ClassifierFn<T, F> {
    /// The classifier gradient `f` on ℝ^`dim`.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] for `dim = 0`.
    pub fn new(dim: usize, f: F) -> Result<Self> {
        if dim == 0 {
            return Err(Error::ZeroDimension {
                what: "classifier input",
            });
        }
        Ok(Self {
            dim,
            f,
            _t: core::marker::PhantomData,
        })
    }
}

impl<T: Real, F: Fn(&[T], T, &mut [T])> Target for ClassifierFn<T, F> {
    type Scalar = T;
    fn dim(&self) -> usize {
        self.dim
    }
}

impl<T: Real, F: Fn(&[T], T, &mut [T])> LogClassifierGradient for ClassifierFn<T, F> {
    fn grad_log_prob_into(&self, x: &[T], c: T, out: &mut [T]) {
        (self.f)(x, c, out)
    }
}

/// **Classifier guidance** (Song et al. 2021, §I; Dhariwal & Nichol 2021): an unconditional
/// score plus the scaled gradient of a classifier of noisy inputs,
///
/// ```text
/// s̃(x | y) = s(x) + γ ∇ₓ log p_c(y | x)        (c = σ or t)
/// ```
///
/// With γ = 1 and the exact noisy classifier `p_σ(y | x)` this is exactly the conditional
/// score `∇ log p_σ(x | y)` (Bayes' rule; checked against the class-conditional mixture
/// scores in `tests/guidance.rs`); γ > 1 samples, at each level, the tilted law
/// `p_σ(x) p_σ(y | x)^γ` — the same sharpening as [`ClassifierFree`] with `γ = 1 + w`, with
/// an explicit classifier instead of the implicit one. The classifier must be trained on
/// noised inputs (it is evaluated at every noise level); a multinomial logistic model per
/// level is enough on small problems (see `tests/guidance.rs`).
///
/// Implements [`NoiseConditionalScore`] / [`NoiseScoreBatch`] when the score does (the
/// classifier then receives σ) and [`TimeConditionalScore`] when it does (the classifier
/// receives t); the batched versions call the score batched and the classifier row by row
/// into a pooled buffer.
///
/// ```
/// use langevin::annealed::{ClassifierFn, ClassifierGuidance};
/// use langevin::prelude::*;
/// use langevin::targets::GaussianMixture;
/// // Classes at ±1 with variance v = 0.25 + σ² at level σ: log p_σ(1 | x)/p_σ(0 | x) = 2x / v.
/// let marginal = GaussianMixture::<f64>::new(vec![0.5, 0.5], vec![vec![-1.0], vec![1.0]], vec![0.25, 0.25])?;
/// let clf = ClassifierFn::new(1, |x: &[f64], s: f64, out: &mut [f64]| {
///     let v = 0.25 + s * s;
///     let p1 = 1.0 / (1.0 + (-2.0 * x[0] / v).exp());
///     out[0] = (1.0 - p1) * 2.0 / v;           // ∇ log p_σ(y = 1 | x)
/// })?;
/// let guided = ClassifierGuidance::new(&marginal, clf, 1.0)?;
/// let (mut a, mut b) = ([0.0], [0.0]);
/// guided.score_sigma_into(&[0.3], 0.5, &mut a);
/// b[0] = -(0.3 - 1.0) / (0.25 + 0.25);          // the score of class 1, N(1, 0.25 + σ²)
/// assert!((a[0] - b[0]).abs() < 1e-12);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * Y. Song, J. Sohl-Dickstein, D. P. Kingma, A. Kumar, S. Ermon, B. Poole (2021),
///   Score-based generative modeling through stochastic differential equations, *ICLR*,
///   Appendix I (controllable generation).
/// * P. Dhariwal, A. Nichol (2021), Diffusion models beat GANs on image synthesis, *NeurIPS*.
#[derive(Debug, Clone)]
pub struct ClassifierGuidance<P: Target, G> {
    score: P,
    classifier: G,
    gamma: P::Scalar,
    pool: Pool<P::Scalar>,
}

impl<P: Target, G: LogClassifierGradient<Scalar = P::Scalar>> ClassifierGuidance<P, G> {
    /// The guided score `score + γ ∇ log p(y | x)`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if the dimensions differ; [`Error::InvalidParameter`]
    /// for a scale γ that is not finite or is negative.
    pub fn new(score: P, classifier: G, gamma: f64) -> Result<Self> {
        check_len(
            "classifier input (classifier guidance)",
            score.dim(),
            classifier.dim(),
        )?;
        if !(gamma.is_finite() && gamma >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "guidance scale γ",
                value: gamma,
                expected: "finite and ≥ 0 (1: the conditional score for an exact classifier)",
            });
        }
        Ok(Self {
            score,
            classifier,
            gamma: P::Scalar::c(gamma),
            pool: Pool::default(),
        })
    }
    /// The scale γ.
    pub fn scale(&self) -> f64 {
        self.gamma.to_f64()
    }
    fn add_grad(&self, xs: &[P::Scalar], c: P::Scalar, out: &mut [P::Scalar]) {
        let d = self.score.dim();
        self.pool.with(d, |g| {
            for (x, o) in xs.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
                self.classifier.grad_log_prob_into(x, c, g);
                for (oi, &gi) in o.iter_mut().zip(g.iter()) {
                    *oi += self.gamma * gi;
                }
            }
        });
    }
}

impl<P: Target, G: LogClassifierGradient<Scalar = P::Scalar>> Target for ClassifierGuidance<P, G> {
    type Scalar = P::Scalar;
    fn dim(&self) -> usize {
        self.score.dim()
    }
}

impl<P, G> NoiseConditionalScore for ClassifierGuidance<P, G>
where
    P: NoiseConditionalScore,
    G: LogClassifierGradient<Scalar = P::Scalar>,
{
    fn score_sigma_into(&self, x: &[P::Scalar], sigma: P::Scalar, out: &mut [P::Scalar]) {
        self.score.score_sigma_into(x, sigma, out);
        self.add_grad(x, sigma, out);
    }
}

impl<P, G> NoiseScoreBatch for ClassifierGuidance<P, G>
where
    P: NoiseScoreBatch,
    G: LogClassifierGradient<Scalar = P::Scalar>,
{
    fn score_sigma_batch_into(
        &self,
        xs: &[P::Scalar],
        sigma: P::Scalar,
        out: &mut [P::Scalar],
        work: &mut Vec<P::Scalar>,
    ) {
        self.score.score_sigma_batch_into(xs, sigma, out, work);
        self.add_grad(xs, sigma, out);
    }
}

impl<P, G> TimeConditionalScore for ClassifierGuidance<P, G>
where
    P: TimeConditionalScore,
    G: LogClassifierGradient<Scalar = P::Scalar>,
{
    fn score_t_into(&self, x: &[P::Scalar], t: P::Scalar, out: &mut [P::Scalar]) {
        self.score.score_t_into(x, t, out);
        self.add_grad(x, t, out);
    }
    fn score_t_batch_into(
        &self,
        xs: &[P::Scalar],
        t: P::Scalar,
        out: &mut [P::Scalar],
        work: &mut Vec<P::Scalar>,
    ) {
        self.score.score_t_batch_into(xs, t, out, work);
        self.add_grad(xs, t, out);
    }
}
