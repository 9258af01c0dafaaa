//! Learned score models (feature `neural`): multilayer-perceptron score networks trained by
//! denoising or explicit score matching, saved and loaded as safetensors files, and usable by
//! every sampler of [`crate::annealed`] unchanged.
//!
//! | what | items |
//! |---|---|
//! | NCSN `s_θ(x, σ) = f_θ([x, e(ln σ)]) / σ` | [`NcsnMlp`]: [`crate::NoiseConditionalScore`], [`crate::annealed::NoiseScoreBatch`]; trained by [`NcsnMlp::train_dsm`] / [`NcsnMlp::train_esm`] |
//! | DDPM ε-prediction, score `−ε_θ(x_t, t)/σ_t` for the VP SDE | [`DdpmMlp`]: [`crate::annealed::TimeConditionalScore`]; trained by [`DdpmMlp::train`] |
//! | an NCSN model under a VE (or any linear) SDE | [`TimeFromNoise`] |
//! | conditional models (class labels, a vector), label dropout | [`CondNcsnMlp`], [`CondDdpmMlp`] ([`ConditionSpec`], [`Condition`]); a fixed condition [`Conditioned`] is an ordinary score; classifier-free guidance by [`ConditionalModel::guided`] ([`crate::annealed::ClassifierFree`]) |
//! | settings and outcome of training | [`TrainConfig`], [`LrSchedule`], [`SigmaDraw`], [`TrainReport`] |
//! | building blocks | [`Mlp`] (batched forward, hand-derived backward, forward-mode JVP [`Mlp::forward_jvp`]), [`AdamW`], [`Embedding`] |
//! | Jacobian-vector products for likelihoods | every model implements [`crate::annealed::TimeScoreJvp`] or [`crate::annealed::NoiseScoreJvp`] (forward mode), so [`crate::annealed::FlowLikelihood`] runs on it |
//!
//! ## Why a dedicated MLP
//!
//! The networks are small dense MLPs, where a general framework's per-operation overhead
//! dominates: candle 0.11 trains an MLP 3 → 128 → 128 → 2 (SiLU, AdamW, f32) at 46–55k
//! examples/s on the project machine, JIT-compiled JAX at 260–470k. [`Mlp`] keeps every
//! activation and gradient in buffers allocated once per run and calls nalgebra's `gemm`
//! for the hidden layers, which hands `f32`/`f64` products to the `matrixmultiply` kernels
//! (AVX-512/AVX2/FMA chosen at run time); the thin first and last layers are row loops. The
//! crate forbids `unsafe`, so the kernels are reached only through nalgebra's safe API, and
//! the elementwise passes (bias + SiLU, its derivative, the thin layers) are compiled a second
//! time for AVX2 + FMA and chosen at run time through `pulp`'s safe dispatch.
//! Measured figures are in `benches/neural.rs` and its notes.
//!
//! ## Reproducibility
//!
//! A training run is fixed by the model seed (initial weights), the [`TrainConfig`] (whose
//! seed fixes the validation split, the shuffles and every noise draw, all drawn on one
//! thread) and the data. Minibatches are cut into chunks of 128 rows that run in parallel,
//! and the chunks' gradients are summed in chunk order: the weights are **bit-identical on
//! any number of threads** on the same machine. They may differ in the last bits on another
//! CPU, because `matrixmultiply` picks its kernel (and so its rounding) from the instruction
//! set. Evaluation is a pure function of the weights: each output row depends only on its
//! input row.
//!
//! ## File layout (loading a model trained elsewhere)
//!
//! A model file is a safetensors file with, for each affine layer l = 0, 1, …:
//!
//! | tensor | shape | meaning |
//! |---|---|---|
//! | `layers.{l}.weight` | `[out, in]` | `W_l`, as `torch.nn.Linear.weight` (a JAX/Flax `Dense` kernel is its transpose) |
//! | `layers.{l}.bias` | `[out]` | `b_l` |
//!
//! in F32 or F64, and the header metadata (all strings): `format = langevin.neural/1`,
//! `model = ncsn | ddpm`, `dim = d`, `widths = d+e,h_1,…,d` (comma-separated),
//! `activation = silu`, `embedding = raw | sinusoidal:m` ([`Embedding`]), and `sigmas`
//! (NCSN, optional: the trained levels) or `schedule = linear:β₀,β₁ | cosine:s,clip` (DDPM).
//! The network is `h ← silu(W_l h + b_l)` for every layer but the last, which is affine, on
//! the input row `[x, e(c)]` with `c = ln σ` (NCSN; the model's score is the output divided
//! by σ) or `c = t` (DDPM; the output is ε, the score `−ε/σ_t`). A PyTorch model
//! `nn.Sequential(Linear, SiLU, Linear, SiLU, Linear)` saved with
//! `safetensors.torch.save_file({"layers.0.weight": …, …}, path, metadata={…})` loads with
//! [`NcsnMlp::load`] or [`DdpmMlp::load`].
//!
//! A conditional model ([`CondNcsnMlp`], [`CondDdpmMlp`]) has `model = cond-ncsn | cond-ddpm`,
//! `condition = labels:k₁,k₂,…;vector:n` ([`ConditionSpec`]), `p_uncond`, and input rows
//! `[x, e(c), one-hot(y₁), …, v, null flag]` (so `widths[0] = d + e + Σk + n + 1`); the
//! unconditional loaders refuse such a file.
//!
//! ## References
//! * P. Vincent (2011), A connection between score matching and denoising autoencoders,
//!   *Neural Computation* 23(7):1661–1674.
//! * A. Hyvärinen (2005), Estimation of non-normalized statistical models by score matching,
//!   *JMLR* 6:695–709.
//! * Y. Song, S. Ermon (2019), Generative modeling by estimating gradients of the data
//!   distribution, *NeurIPS*; (2020), Improved techniques for training score-based
//!   generative models, *NeurIPS*.
//! * J. Ho, A. Jain, P. Abbeel (2020), Denoising diffusion probabilistic models, *NeurIPS*.
//! * S. Elfwing, E. Uchibe, K. Doya (2018), Sigmoid-weighted linear units for neural network
//!   function approximation in reinforcement learning, *Neural Networks* 107 (SiLU).

mod conditional;
mod io;
mod jvp;
mod mlp;
mod model;
mod train;

pub use conditional::{
    CondDdpmMlp, CondNcsnMlp, Condition, ConditionSpec, ConditionalModel, Conditioned,
};
pub use mlp::{AdamW, Mlp};
pub use model::{DdpmMlp, Embedding, NcsnMlp, TimeFromNoise};
pub use train::{LrSchedule, SigmaDraw, TrainConfig, TrainReport};
