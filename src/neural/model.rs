//! The two learned score models: NCSN `s_θ(x, σ)` and DDPM ε-prediction on `(x_t, t)`.

use super::mlp::Mlp;
use crate::annealed::{BetaSchedule, ForwardSde, NoiseScoreBatch, TimeConditionalScore, Vp};
use crate::density::{NoiseConditionalScore, Target};
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::{Error, Real, Result};
use std::sync::Mutex;

/// Rows per block of a batched evaluation: the batch is cut into blocks of this many rows,
/// each one forward pass, so the scratch stays bounded whatever the number of particles.
pub(crate) const EVAL_BLOCK: usize = 256;

/// How the conditioning scalar `c` (`ln σ` for [`NcsnMlp`], `t` for [`DdpmMlp`]) enters the
/// network: the features appended to `x` in every input row `[x, e(c)]`.
///
/// | variant | features e(c) | count |
/// |---|---|---|
/// | `Raw` | `c` | 1 |
/// | `Sinusoidal { frequencies: m }` | `c, sin(ω_0 c), cos(ω_0 c), …, sin(ω_{m−1} c), cos(ω_{m−1} c)`, `ω_k = 2^k` | `1 + 2m` |
///
/// The raw `c` is kept in the sinusoidal embedding so that the embedding is one-to-one (the
/// sines alone are periodic in `c`). Input rows are laid out `[x (d values), e(c)]`; a later
/// conditioning input (a class label or a vector y) would be appended after `e(c)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedding {
    /// The scalar itself.
    Raw,
    /// The scalar and `frequencies` sine/cosine pairs at frequencies 1, 2, 4, ….
    Sinusoidal {
        /// The number m of frequencies.
        frequencies: usize,
    },
}

impl Embedding {
    /// The number of features.
    pub fn len(&self) -> usize {
        match *self {
            Self::Raw => 1,
            Self::Sinusoidal { frequencies } => 1 + 2 * frequencies,
        }
    }
    /// Always `false` (every embedding has at least the raw scalar).
    pub fn is_empty(&self) -> bool {
        false
    }
    /// Writes the features of `c` into `out` (length [`Embedding::len`]).
    pub fn write<T: Real>(&self, c: T, out: &mut [T]) {
        out[0] = c;
        if let Self::Sinusoidal { frequencies } = *self {
            let mut w = T::one();
            for k in 0..frequencies {
                out[1 + 2 * k] = (w * c).sin();
                out[2 + 2 * k] = (w * c).cos();
                w += w;
            }
        }
    }
    /// The name stored in model files: `raw` or `sinusoidal:m`.
    pub(crate) fn tag(&self) -> String {
        match *self {
            Self::Raw => "raw".into(),
            Self::Sinusoidal { frequencies } => format!("sinusoidal:{frequencies}"),
        }
    }
    pub(crate) fn from_tag(s: &str) -> Option<Self> {
        if s == "raw" {
            return Some(Self::Raw);
        }
        let m = s.strip_prefix("sinusoidal:")?.parse().ok()?;
        Some(Self::Sinusoidal { frequencies: m })
    }
}

/// The network and its input layout, shared by both models; the scratch pool serves
/// single-point evaluations (one buffer per concurrent caller, reused: no allocation after
/// warm-up).
#[derive(Debug)]
pub(crate) struct Core<T> {
    pub(crate) net: Mlp<T>,
    pub(crate) dim: usize,
    pub(crate) embedding: Embedding,
    /// Features of a condition appended after `e(c)` (0 for an unconditional model; see
    /// `conditional.rs`).
    pub(crate) cond_len: usize,
    pool: Mutex<Vec<Vec<T>>>,
}

impl<T: Clone> Clone for Core<T> {
    fn clone(&self) -> Self {
        Self {
            net: self.net.clone(),
            dim: self.dim,
            embedding: self.embedding,
            cond_len: self.cond_len,
            pool: Mutex::new(Vec::new()),
        }
    }
}

impl<T: Real> Core<T> {
    pub(crate) fn new(
        dim: usize,
        hidden: &[usize],
        embedding: Embedding,
        seed: u64,
    ) -> Result<Self> {
        Self::with_condition(dim, hidden, embedding, 0, seed)
    }

    /// A network whose input rows are `[x, e(c), condition features (cond_len)]`.
    pub(crate) fn with_condition(
        dim: usize,
        hidden: &[usize],
        embedding: Embedding,
        cond_len: usize,
        seed: u64,
    ) -> Result<Self> {
        if dim == 0 {
            return Err(Error::ZeroDimension {
                what: "score model",
            });
        }
        if hidden.is_empty() {
            return Err(Error::InvalidConfig {
                reason: "a score network needs at least one hidden layer, e.g. &[128, 128]".into(),
            });
        }
        if let Embedding::Sinusoidal { frequencies } = embedding
            && frequencies > 30
        {
            return Err(Error::InvalidConfig {
                reason: format!(
                    "sinusoidal embedding with {frequencies} frequencies (2^k overflows \
                     resolution past 30); use at most 30, typically 4–8"
                ),
            });
        }
        let mut widths = vec![dim + embedding.len() + cond_len];
        widths.extend_from_slice(hidden);
        widths.push(dim);
        Ok(Self::from_net(
            Mlp::new(&widths, seed)?,
            dim,
            embedding,
            cond_len,
        ))
    }

    pub(crate) fn from_net(net: Mlp<T>, dim: usize, embedding: Embedding, cond_len: usize) -> Self {
        Self {
            net,
            dim,
            embedding,
            cond_len,
            pool: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn input_dim(&self) -> usize {
        self.dim + self.embedding.len() + self.cond_len
    }

    /// Writes one input row `[x, e(c), cond]` (`cond` of length `cond_len`).
    #[inline]
    pub(crate) fn write_input(&self, x: &[T], c: T, cond: &[T], row: &mut [T]) {
        let e = self.dim + self.embedding.len();
        row[..self.dim].copy_from_slice(x);
        self.embedding.write(c, &mut row[self.dim..e]);
        row[e..].copy_from_slice(cond);
    }

    /// `out_i = scale · f([x_i, e(c)])` for every row of `xs`, in blocks of [`EVAL_BLOCK`]
    /// rows, with `work` as scratch (grown once).
    pub(crate) fn eval_batch(&self, xs: &[T], c: T, scale: T, out: &mut [T], work: &mut Vec<T>) {
        self.eval_batch_cond(xs, c, &[], scale, out, work)
    }

    /// As [`Core::eval_batch`] with the condition features `cond` (length `cond_len`)
    /// appended to every input row.
    pub(crate) fn eval_batch_cond(
        &self,
        xs: &[T],
        c: T,
        cond: &[T],
        scale: T,
        out: &mut [T],
        work: &mut Vec<T>,
    ) {
        let (d, di) = (self.dim, self.input_dim());
        let rows = (xs.len() / d).min(EVAL_BLOCK);
        let need = rows * di + self.net.workspace_len(rows);
        if work.len() < need {
            work.resize(need, T::zero());
        }
        for (xb, ob) in xs
            .chunks(EVAL_BLOCK * d)
            .zip(out.chunks_mut(EVAL_BLOCK * d))
        {
            let m = xb.len() / d;
            let (inp, ws) = work.split_at_mut(m * di);
            for (x, row) in xb.chunks_exact(d).zip(inp.chunks_exact_mut(di)) {
                self.write_input(x, c, cond, row);
            }
            let f = self.net.forward(inp, ws);
            for (o, &v) in ob.iter_mut().zip(f) {
                *o = scale * v;
            }
        }
    }

    /// The single-point version of [`Core::eval_batch`], with a pooled scratch buffer.
    pub(crate) fn eval_one(&self, x: &[T], c: T, scale: T, out: &mut [T]) {
        self.eval_one_cond(x, c, &[], scale, out)
    }

    /// The single-point version of [`Core::eval_batch_cond`].
    pub(crate) fn eval_one_cond(&self, x: &[T], c: T, cond: &[T], scale: T, out: &mut [T]) {
        let mut buf = self
            .pool
            .lock()
            .map(|mut p| p.pop())
            .unwrap_or(None)
            .unwrap_or_default();
        self.eval_batch_cond(x, c, cond, scale, out, &mut buf);
        if let Ok(mut p) = self.pool.lock() {
            p.push(buf);
        }
    }
}

/// A noise-conditional score network in the NCSN form of Song & Ermon (2020):
///
/// ```text
/// s_θ(x, σ) = f_θ([x, e(ln σ)]) / σ
/// ```
///
/// with `f_θ` an [`Mlp`] (SiLU hidden layers) and `e` an [`Embedding`] of `ln σ`. The output
/// scaling by 1/σ matches the size of the true score at noise σ (`‖∇log p_σ‖ ≈ sqrt(d)/σ`
/// where the data are sparse), so `f_θ` only has to learn an O(1) function; with it, the DSM
/// loss of [`crate::annealed::dsm_loss`] becomes `½ E‖f_θ(x̃, σ) + z‖²`.
///
/// Implements [`NoiseConditionalScore`] and [`NoiseScoreBatch`] (one forward pass per block
/// of 256 particles; the `work` buffer grows once and is reused), so
/// [`crate::annealed::AnnealedLangevin`] runs on it unchanged; [`super::TimeFromNoise`] makes
/// it a [`TimeConditionalScore`] for the reverse-time samplers. Train it with
/// [`NcsnMlp::train_dsm`] or [`NcsnMlp::train_esm`]; save and load it with
/// [`NcsnMlp::save`] / [`NcsnMlp::load`].
///
/// ```
/// use langevin::neural::{Embedding, NcsnMlp};
/// use langevin::prelude::*;
/// let model = NcsnMlp::<f32>::new(2, &[32, 32], Embedding::Raw, 1)?;
/// let mut s = [0.0f32; 2];
/// model.score_sigma_into(&[0.5, -0.5], 0.1, &mut s);
/// assert!(s.iter().all(|v| v.is_finite()));
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * Y. Song, S. Ermon (2020), Improved techniques for training score-based generative
///   models, *NeurIPS* (the 1/σ output scaling).
/// * P. Vincent (2011), *Neural Computation* 23(7) (denoising score matching).
#[derive(Debug, Clone)]
pub struct NcsnMlp<T> {
    pub(crate) core: Core<T>,
    /// The noise levels it was trained on (stored in its file), if any.
    pub(crate) sigmas: Option<Vec<T>>,
}

impl<T: Real> NcsnMlp<T> {
    /// An untrained model on ℝᵈ with the given hidden widths (e.g. `&[128, 128]`), embedding
    /// of `ln σ`, and weights initialised from `seed` as in [`Mlp::new`].
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] for `dim = 0` or a zero width; [`Error::InvalidConfig`] for
    /// no hidden layer or more than 30 embedding frequencies.
    pub fn new(dim: usize, hidden: &[usize], embedding: Embedding, seed: u64) -> Result<Self> {
        Ok(Self {
            core: Core::new(dim, hidden, embedding, seed)?,
            sigmas: None,
        })
    }
    /// The network `f_θ` (input `[x, e(ln σ)]`, output d values).
    pub fn net(&self) -> &Mlp<T> {
        &self.core.net
    }
    /// The network, mutable (e.g. to load weights trained elsewhere).
    pub fn net_mut(&mut self) -> &mut Mlp<T> {
        &mut self.core.net
    }
    /// The embedding of `ln σ`.
    pub fn embedding(&self) -> Embedding {
        self.core.embedding
    }
    /// The noise levels of the last training run (or of the loaded file), largest first.
    pub fn sigmas(&self) -> Option<&[T]> {
        self.sigmas.as_deref()
    }
}

impl<T: Real> Target for NcsnMlp<T> {
    type Scalar = T;
    fn dim(&self) -> usize {
        self.core.dim
    }
}

impl<T: Real> NoiseConditionalScore for NcsnMlp<T> {
    fn score_sigma_into(&self, x: &[T], sigma: T, out: &mut [T]) {
        self.core.eval_one(x, sigma.ln(), T::one() / sigma, out);
    }
}

impl<T: Real> NoiseScoreBatch for NcsnMlp<T> {
    fn score_sigma_batch_into(&self, xs: &[T], sigma: T, out: &mut [T], work: &mut Vec<T>) {
        self.core
            .eval_batch(xs, sigma.ln(), T::one() / sigma, out, work);
    }
}

/// A DDPM-style noise-prediction network `ε_θ(x_t, t)` for the VP SDE (Ho et al. 2020; Song
/// et al. 2021), exposed as the score of the time-t marginal:
///
/// ```text
/// x_t = α_t x_0 + σ_t z,     ε_θ([x_t, e(t)]) ≈ E[z | x_t],     s_θ(x_t, t) = −ε_θ(x_t, t) / σ_t
/// ```
///
/// with `(α_t, σ_t)` of [`Vp`] with the model's β schedule (stored with the weights). Its
/// training loss `½ E‖ε_θ − z‖²` is the DSM loss with weighting λ(t) = σ_t², the crate's
/// [`crate::annealed::dsm_loss`] convention. Implements [`TimeConditionalScore`] (batched:
/// one forward pass per block of 256 particles), so [`crate::annealed::ReverseSampler`],
/// [`crate::annealed::ProbabilityFlow`] and [`crate::annealed::Ddim`] run on it unchanged.
///
/// ```
/// use langevin::annealed::{BetaSchedule, TimeConditionalScore};
/// use langevin::neural::{DdpmMlp, Embedding};
/// let model = DdpmMlp::<f32>::new(2, &[32, 32], Embedding::Sinusoidal { frequencies: 4 },
///                                 BetaSchedule::linear(0.1, 20.0)?, 1)?;
/// let mut s = [0.0f32; 2];
/// model.score_t_into(&[0.5, -0.5], 0.5, &mut s);
/// assert!(s.iter().all(|v| v.is_finite()));
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * J. Ho, A. Jain, P. Abbeel (2020), Denoising diffusion probabilistic models, *NeurIPS*.
/// * Y. Song, J. Sohl-Dickstein, D. P. Kingma, A. Kumar, S. Ermon, B. Poole (2021),
///   Score-based generative modeling through stochastic differential equations, *ICLR*.
#[derive(Debug, Clone)]
pub struct DdpmMlp<T> {
    pub(crate) core: Core<T>,
    pub(crate) sde: Vp<T>,
}

impl<T: Real> DdpmMlp<T> {
    /// An untrained ε-network on ℝᵈ for the VP SDE with β schedule `schedule`.
    ///
    /// # Errors
    /// As [`NcsnMlp::new`].
    pub fn new(
        dim: usize,
        hidden: &[usize],
        embedding: Embedding,
        schedule: BetaSchedule,
        seed: u64,
    ) -> Result<Self> {
        Ok(Self {
            core: Core::new(dim, hidden, embedding, seed)?,
            sde: Vp::new(dim, schedule)?,
        })
    }
    /// The network `ε_θ` (input `[x_t, e(t)]`, output d values).
    pub fn net(&self) -> &Mlp<T> {
        &self.core.net
    }
    /// The network, mutable.
    pub fn net_mut(&mut self) -> &mut Mlp<T> {
        &mut self.core.net
    }
    /// The embedding of `t`.
    pub fn embedding(&self) -> Embedding {
        self.core.embedding
    }
    /// The forward VP SDE (pass it to the reverse-time samplers).
    pub fn sde(&self) -> &Vp<T> {
        &self.sde
    }
    /// `ε_θ(x, t)` for every row of the row-major `m × d` array `xs`.
    pub fn epsilon_batch_into(&self, xs: &[T], t: T, out: &mut [T], work: &mut Vec<T>) {
        self.core.eval_batch(xs, t, T::one(), out, work);
    }
    fn score_scale(&self, t: T) -> T {
        -T::one() / T::c(self.sde.marginal_std(t.to_f64()))
    }
}

impl<T: Real> Target for DdpmMlp<T> {
    type Scalar = T;
    fn dim(&self) -> usize {
        self.core.dim
    }
}

impl<T: Real> TimeConditionalScore for DdpmMlp<T> {
    fn score_t_into(&self, x: &[T], t: T, out: &mut [T]) {
        self.core.eval_one(x, t, self.score_scale(t), out);
    }
    fn score_t_batch_into(&self, xs: &[T], t: T, out: &mut [T], work: &mut Vec<T>) {
        self.core.eval_batch(xs, t, self.score_scale(t), out, work);
    }
}

/// A noise-conditional score seen as the time-conditional score of a linear forward SDE:
/// since `X_t = α_t (X_0 + (σ_t/α_t) Z)`,
///
/// ```text
/// ∇ log p_t(x) = (1/α_t) s(x/α_t, σ_t/α_t)
/// ```
///
/// exactly (for [`crate::annealed::Ve`], α_t = 1 and this is `s(x, σ_t)`). This lets the
/// reverse-time samplers (predictor–corrector, probability flow, DDIM) run on an
/// [`NcsnMlp`] — or on any [`NoiseScoreBatch`].
///
/// ```
/// use langevin::annealed::{ForwardSde, TimeConditionalScore, Ve};
/// use langevin::neural::{Embedding, NcsnMlp, TimeFromNoise};
/// use langevin::prelude::*;
/// let model = NcsnMlp::<f64>::new(1, &[8], Embedding::Raw, 3)?;
/// let sde = Ve::<f64>::new(1, 0.01, 5.0)?;
/// let st = TimeFromNoise::new(&model, sde)?;
/// let (mut a, mut b) = ([0.0], [0.0]);
/// st.score_t_into(&[0.3], 0.5, &mut a);
/// model.score_sigma_into(&[0.3], sde.marginal_std(0.5), &mut b);
/// assert_eq!(a, b);
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug)]
pub struct TimeFromNoise<P: Target, S> {
    pub(super) score: P,
    sde: S,
    pub(super) scratch: Mutex<Vec<Vec<P::Scalar>>>,
}

impl<P: NoiseScoreBatch, S: ForwardSde<Scalar = P::Scalar>> TimeFromNoise<P, S> {
    /// The time-conditional score of `sde` started from the law whose smoothings `score`
    /// describes.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if the dimensions differ.
    pub fn new(score: P, sde: S) -> Result<Self> {
        crate::error::check_len("forward SDE dimension", score.dim(), sde.dim())?;
        Ok(Self {
            score,
            sde,
            scratch: Mutex::new(Vec::new()),
        })
    }
    /// The forward SDE.
    pub fn sde(&self) -> &S {
        &self.sde
    }
    pub(super) fn coefs(&self, t: P::Scalar) -> (f64, P::Scalar) {
        let tf = t.to_f64();
        let a = self.sde.mean_coef(tf);
        (a, P::Scalar::c(self.sde.marginal_std(tf) / a))
    }
}

impl<P: NoiseScoreBatch, S: ForwardSde<Scalar = P::Scalar>> Target for TimeFromNoise<P, S> {
    type Scalar = P::Scalar;
    fn dim(&self) -> usize {
        self.score.dim()
    }
}

impl<P: NoiseScoreBatch, S: ForwardSde<Scalar = P::Scalar>> TimeConditionalScore
    for TimeFromNoise<P, S>
{
    fn score_t_into(&self, x: &[P::Scalar], t: P::Scalar, out: &mut [P::Scalar]) {
        let mut w = self
            .scratch
            .lock()
            .map(|mut p| p.pop())
            .unwrap_or(None)
            .unwrap_or_default();
        self.score_t_batch_into(x, t, out, &mut w);
        if let Ok(mut p) = self.scratch.lock() {
            p.push(w);
        }
    }
    fn score_t_batch_into(
        &self,
        xs: &[P::Scalar],
        t: P::Scalar,
        out: &mut [P::Scalar],
        work: &mut Vec<P::Scalar>,
    ) {
        let (a, s) = self.coefs(t);
        // Exactly 1 for the VE SDE: no rescaling, no copy.
        #[allow(clippy::float_cmp)]
        if a == 1.0 {
            return self.score.score_sigma_batch_into(xs, s, out, work);
        }
        // The scaled copy of xs lives in `work`; the inner score gets a pooled buffer.
        let n = xs.len();
        if work.len() < n {
            work.resize(n, P::Scalar::zero());
        }
        let ia = P::Scalar::c(1.0 / a);
        for (y, &x) in work.iter_mut().zip(xs) {
            *y = x * ia;
        }
        let mut w2 = self
            .scratch
            .lock()
            .map(|mut p| p.pop())
            .unwrap_or(None)
            .unwrap_or_default();
        self.score
            .score_sigma_batch_into(&work[..n], s, out, &mut w2);
        if let Ok(mut p) = self.scratch.lock() {
            p.push(w2);
        }
        for o in out.iter_mut() {
            *o *= ia;
        }
    }
}
