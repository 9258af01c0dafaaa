//! Conditional score models: NCSN and DDPM-ε networks that take a condition (class labels
//! and/or a small real vector), trained with label dropout so that one network learns both
//! `s(x, σ | y)` and `s(x, σ)`; [`Conditioned`] fixes the condition and exposes the ordinary
//! noise-/time-conditional score traits, so every sampler runs it unchanged.

use super::io;
use super::model::{Core, Embedding};
use super::train::{Dsm, Objective, TrainReport, fit};
use super::{Mlp, TrainConfig};
use crate::annealed::{
    BetaSchedule, ClassifierFree, ForwardSde, NoiseScoreBatch, SigmaLevels, TimeConditionalScore,
    Vp,
};
use crate::density::{NoiseConditionalScore, Target};
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::rng::ChainRng;
use crate::{Error, Real, Result};
use rand::RngExt;
use std::collections::HashMap;
use std::path::Path;

fn bad(reason: String) -> Error {
    Error::InvalidCondition { reason }
}

/// What a conditional model is conditioned on: `k` categorical labels (label j takes values
/// `0..classes[j]`) and/or a real vector of fixed length. Encoded in every network input row
/// after `[x, e(c)]` as
///
/// ```text
/// [one-hot(y_1) (classes[0]) | … | one-hot(y_k) (classes[k−1]) | v (vector_len) | null flag]
/// ```
///
/// The first linear layer's columns on a one-hot block are a learned embedding of that label
/// (one learned vector per class, added to the hidden pre-activation). The **null
/// condition** ([`Condition::Null`], used for label dropout and for the unconditional score)
/// is a dedicated token: every one-hot block and the vector zero, the flag 1 (the flag is 0
/// for every real condition, so a zero vector stays distinguishable from "no condition").
///
/// ```
/// use langevin::neural::{Condition, ConditionSpec};
/// let spec = ConditionSpec::labels(&[10, 3])?;        // digit, colour
/// assert_eq!(spec.features(), 10 + 3 + 1);
/// let mut f = vec![0.0f64; spec.features()];
/// spec.encode(&Condition::labels(&[7, 2]), &mut f)?;
/// assert_eq!((f[7], f[12], f[13]), (1.0, 1.0, 0.0));
/// assert!(spec.encode(&Condition::<f64>::labels(&[7, 3]), &mut f).is_err()); // colour 3 of 3
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionSpec {
    classes: Vec<usize>,
    vector_len: usize,
}

impl ConditionSpec {
    /// Labels with `classes[j]` classes each and a real vector of length `vector_len`.
    ///
    /// # Errors
    /// [`Error::InvalidCondition`] if there is neither a label nor a vector, or a label has
    /// fewer than 2 classes.
    pub fn new(classes: &[usize], vector_len: usize) -> Result<Self> {
        if classes.is_empty() && vector_len == 0 {
            return Err(bad(
                "a condition needs at least one label or a vector of length ≥ 1".into(),
            ));
        }
        if let Some(j) = classes.iter().position(|&k| k < 2) {
            return Err(bad(format!(
                "label {j} has {} classes; a label needs at least 2",
                classes[j]
            )));
        }
        Ok(Self {
            classes: classes.to_vec(),
            vector_len,
        })
    }
    /// Labels only.
    ///
    /// # Errors
    /// As [`ConditionSpec::new`].
    pub fn labels(classes: &[usize]) -> Result<Self> {
        Self::new(classes, 0)
    }
    /// A real vector of length `len` only.
    ///
    /// # Errors
    /// As [`ConditionSpec::new`].
    pub fn vector(len: usize) -> Result<Self> {
        Self::new(&[], len)
    }
    /// The number of classes of each label.
    pub fn classes(&self) -> &[usize] {
        &self.classes
    }
    /// The length of the condition vector (0: none).
    pub fn vector_len(&self) -> usize {
        self.vector_len
    }
    /// The number of input features a condition occupies: `Σ classes + vector_len + 1`.
    pub fn features(&self) -> usize {
        self.classes.iter().sum::<usize>() + self.vector_len + 1
    }
    /// Checks a condition against the spec.
    ///
    /// # Errors
    /// [`Error::InvalidCondition`] for the wrong number of labels, a label out of range, a
    /// vector of the wrong length or with a non-finite entry.
    pub fn check<T: Real>(&self, c: &Condition<T>) -> Result<()> {
        let Condition::Given { labels, vector } = c else {
            return Ok(());
        };
        if labels.len() != self.classes.len() {
            return Err(bad(format!(
                "{} labels given, the model takes {} (classes {:?})",
                labels.len(),
                self.classes.len(),
                self.classes
            )));
        }
        for (j, (&y, &k)) in labels.iter().zip(&self.classes).enumerate() {
            if y >= k {
                return Err(bad(format!(
                    "label {j} is {y}, out of range 0..{k}; pass a class index below {k}"
                )));
            }
        }
        if vector.len() != self.vector_len {
            return Err(bad(format!(
                "condition vector of length {}, the model takes {}",
                vector.len(),
                self.vector_len
            )));
        }
        if let Some(i) = vector.iter().position(|v| !v.is_finite()) {
            return Err(bad(format!("condition vector entry {i} is not finite")));
        }
        Ok(())
    }
    /// Writes the features of `c` into `out` (length [`ConditionSpec::features`]).
    ///
    /// # Errors
    /// As [`ConditionSpec::check`], and [`Error::DimensionMismatch`] for an `out` of the
    /// wrong length.
    pub fn encode<T: Real>(&self, c: &Condition<T>, out: &mut [T]) -> Result<()> {
        crate::error::check_len("condition features", self.features(), out.len())?;
        self.check(c)?;
        out.fill(T::zero());
        match c {
            Condition::Null => out[out.len() - 1] = T::one(),
            Condition::Given { labels, vector } => {
                let mut off = 0;
                for (&y, &k) in labels.iter().zip(&self.classes) {
                    out[off + y] = T::one();
                    off += k;
                }
                out[off..off + vector.len()].copy_from_slice(vector);
            }
        }
        Ok(())
    }
    /// The metadata tag `labels:k1,k2;vector:n`.
    pub(crate) fn tag(&self) -> String {
        format!(
            "labels:{};vector:{}",
            io::list(&self.classes),
            self.vector_len
        )
    }
    pub(crate) fn from_tag(s: &str) -> Result<Self> {
        let bad_tag = || {
            io::err(format!(
                "cannot parse condition {s:?} (labels:k1,k2;vector:n)"
            ))
        };
        let (l, v) = s.split_once(';').ok_or_else(bad_tag)?;
        let l = l.strip_prefix("labels:").ok_or_else(bad_tag)?;
        let v = v.strip_prefix("vector:").ok_or_else(bad_tag)?;
        let classes = if l.is_empty() {
            Vec::new()
        } else {
            io::parse_list::<usize>(l, "condition classes")?
        };
        let vector_len = v.parse().map_err(|_| bad_tag())?;
        Self::new(&classes, vector_len).map_err(|e| io::err(e.to_string()))
    }
}

/// One condition: the null condition, or labels and a vector (as the model's
/// [`ConditionSpec`] expects; checked when used).
#[derive(Debug, Clone, PartialEq)]
pub enum Condition<T> {
    /// No condition: the unconditional score (the dropout token).
    Null,
    /// Labels (one per label of the spec) and a vector (of the spec's length; empty if none).
    Given {
        /// Class indices.
        labels: Vec<usize>,
        /// The condition vector.
        vector: Vec<T>,
    },
}

impl<T> Condition<T> {
    /// Labels only.
    pub fn labels(labels: &[usize]) -> Self {
        Self::Given {
            labels: labels.to_vec(),
            vector: Vec::new(),
        }
    }
    /// A vector only.
    pub fn vector(vector: Vec<T>) -> Self {
        Self::Given {
            labels: Vec::new(),
            vector,
        }
    }
}

/// Label dropout around an objective: the data rows are `[x (d) | condition features]`; the
/// inner objective noises x, then the features are copied into the input row, or replaced
/// by the null token with probability `p_uncond` (one uniform draw per example).
struct Dropout<O> {
    inner: O,
    features: usize,
    p_uncond: f64,
}

impl<T: Real, O: Objective<T>> Objective<T> for Dropout<O> {
    fn aux_len(&self, d: usize) -> usize {
        self.inner.aux_len(d)
    }
    fn row_len(&self, d: usize) -> usize {
        d + self.features
    }
    fn draw(&self, core: &Core<T>, rng: &mut ChainRng, x0: &[T], input: &mut [T], aux: &mut [T]) {
        let d = core.dim;
        self.inner.draw(core, rng, &x0[..d], input, aux);
        let off = d + core.embedding.len();
        let u: f64 = rng.random();
        if u < self.p_uncond {
            input[off..].fill(T::zero());
            input[off + self.features - 1] = T::one();
        } else {
            input[off..].copy_from_slice(&x0[d..]);
        }
    }
    fn target(&self, input: &[T], aux: &[T], target: &mut [T]) {
        self.inner.target(input, aux, target)
    }
}

fn check_p_uncond(p: f64) -> Result<()> {
    if (0.0..1.0).contains(&p) {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name: "p_uncond",
            value: p,
            expected: "in [0, 1) (0.1–0.2 is usual; 0 learns no unconditional score)",
        })
    }
}

/// The training rows `[x | features(condition)]`.
fn rows_with_conditions<T: Real>(
    spec: &ConditionSpec,
    d: usize,
    data: &[T],
    conditions: &[Condition<T>],
) -> Result<Vec<T>> {
    let n = super::train::check_data(data, d)?;
    crate::error::check_len("conditions (one per data row)", n, conditions.len())?;
    let f = spec.features();
    let mut rows = vec![T::zero(); n * (d + f)];
    for (i, (row, c)) in rows.chunks_exact_mut(d + f).zip(conditions).enumerate() {
        row[..d].copy_from_slice(&data[i * d..(i + 1) * d]);
        spec.encode(c, &mut row[d..])
            .map_err(|e| bad(format!("data row {i}: {e}")))?;
    }
    Ok(rows)
}

fn core_new<T: Real>(
    dim: usize,
    hidden: &[usize],
    embedding: Embedding,
    spec: &ConditionSpec,
    seed: u64,
) -> Result<Core<T>> {
    Core::with_condition(dim, hidden, embedding, spec.features(), seed)
}

fn cond_meta(spec: &ConditionSpec, p_uncond: Option<f64>) -> HashMap<String, String> {
    let mut meta = HashMap::new();
    meta.insert("condition".into(), spec.tag());
    meta.insert(
        "condition_layout".into(),
        "[x, e(c), one-hot per label, vector, null flag]".into(),
    );
    if let Some(p) = p_uncond {
        meta.insert("p_uncond".into(), p.to_string());
    }
    meta
}

fn parse_cond_meta(meta: &HashMap<String, String>) -> Result<(ConditionSpec, Option<f64>)> {
    let spec = ConditionSpec::from_tag(
        meta.get("condition")
            .ok_or_else(|| io::err("metadata key \"condition\" missing"))?,
    )?;
    let p = match meta.get("p_uncond") {
        Some(p) => Some(
            p.parse::<f64>()
                .map_err(|_| io::err(format!("cannot parse p_uncond {p:?}")))?,
        ),
        None => None,
    };
    Ok((spec, p))
}

/// A **conditional** NCSN: `s_θ(x, σ | y) = f_θ([x, e(ln σ), φ(y)]) / σ` with φ the
/// [`ConditionSpec`] encoding; `φ(∅)` (the null token) gives the unconditional score
/// `s_θ(x, σ)`. Trained by denoising score matching with **label dropout**
/// ([`CondNcsnMlp::train_dsm`]: each example's condition is replaced by the null token with
/// probability `p_uncond`), so one network learns both (Ho & Salimans 2022).
///
/// Sample with a fixed condition through [`CondNcsnMlp::given`] (a [`Conditioned`] score:
/// [`NoiseConditionalScore`] + [`NoiseScoreBatch`], so [`crate::annealed::AnnealedLangevin`],
/// [`crate::annealed::Edm`] and, through [`super::TimeFromNoise`], the reverse-time samplers
/// run it unchanged), or with classifier-free guidance through [`CondNcsnMlp::guided`].
///
/// ```
/// use langevin::annealed::{AnnealedLangevin, LevelStep, ParticleRun, SigmaLevels};
/// use langevin::neural::{Condition, ConditionSpec, CondNcsnMlp, Embedding, TrainConfig};
/// use langevin::prelude::*;
/// // Two classes on the line: y = 0 near −2, y = 1 near +2.
/// let mut rng = langevin::rng::stream(1, 0);
/// let (mut data, mut conds) = (Vec::new(), Vec::new());
/// for i in 0..2000 {
///     let y = i % 2;
///     data.push(if y == 0 { -2.0 } else { 2.0 } + 0.3 * f64::standard_normal(&mut rng));
///     conds.push(Condition::labels(&[y]));
/// }
/// let spec = ConditionSpec::labels(&[2])?;
/// let mut model = CondNcsnMlp::<f64>::new(1, &[32, 32], Embedding::Raw, spec, 1)?;
/// let sigmas = SigmaLevels::geometric(4.0, 0.1, 8)?;
/// model.train_dsm(&data, &conds, &sigmas, 0.2, &TrainConfig::new().epochs(30).seed(2))?;
/// let al = AnnealedLangevin::new(model.given(&Condition::labels(&[1]))?, sigmas, 30,
///                                LevelStep::Langevin { h_last: 1e-3 })?;
/// let init = |_i: usize, r: &mut langevin::rng::ChainRng, x: &mut [f64]| x[0] = 4.0 * f64::standard_normal(r);
/// let out = al.run(&ParticleRun::new(200).seed(3), &init)?;
/// let frac = out.iter().filter(|x| x[0] > 0.0).count() as f64 / 200.0;
/// assert!(frac > 0.9, "{frac}");          // class 1 requested: samples near +2
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * J. Ho, T. Salimans (2022), Classifier-free diffusion guidance, arXiv:2207.12598.
/// * Y. Song, S. Ermon (2020), Improved techniques for training score-based generative
///   models, *NeurIPS*.
#[derive(Debug, Clone)]
pub struct CondNcsnMlp<T> {
    core: Core<T>,
    spec: ConditionSpec,
    sigmas: Option<Vec<T>>,
    p_uncond: Option<f64>,
}

/// A **conditional** DDPM ε-network: `ε_θ([x_t, e(t), φ(y)])`, score `−ε_θ/σ_t` under the VP
/// SDE of its β schedule, with the null token `φ(∅)` for the unconditional ε. Trained with
/// label dropout by [`CondDdpmMlp::train`]; [`CondDdpmMlp::given`] is a
/// [`TimeConditionalScore`] (reverse SDE, PC, probability flow, DDIM, DPM-Solver++), and
/// [`CondDdpmMlp::guided`] its classifier-free guided version `ε̃ = (1 + w) ε(· | y) − w ε`.
///
/// ```
/// use langevin::annealed::{BetaSchedule, TimeConditionalScore};
/// use langevin::neural::{Condition, ConditionSpec, CondDdpmMlp, Embedding};
/// let spec = ConditionSpec::new(&[10], 2)?;               // a digit and a 2-vector
/// let model = CondDdpmMlp::<f32>::new(4, &[32], Embedding::Sinusoidal { frequencies: 4 },
///                                     BetaSchedule::linear(0.1, 20.0)?, spec, 1)?;
/// let y = Condition::Given { labels: vec![3], vector: vec![0.5, -1.0] };
/// let mut s = [0.0f32; 4];
/// model.given(&y)?.score_t_into(&[0.1, 0.2, 0.3, 0.4], 0.5, &mut s);
/// assert!(s.iter().all(|v| v.is_finite()));
/// assert!(model.given(&Condition::labels(&[3])).is_err());  // the vector is missing
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CondDdpmMlp<T> {
    core: Core<T>,
    spec: ConditionSpec,
    sde: Vp<T>,
    p_uncond: Option<f64>,
}

/// A conditional model with its condition fixed (or the null condition): an ordinary score
/// model. For a [`CondNcsnMlp`] it is a [`NoiseConditionalScore`] and [`NoiseScoreBatch`];
/// for a [`CondDdpmMlp`] a [`TimeConditionalScore`]. Built by `given` / `unconditional` on
/// the model (which validate the condition once).
#[derive(Debug, Clone)]
pub struct Conditioned<'a, M: ConditionalModel> {
    model: &'a M,
    features: Vec<M::Scalar>,
}

impl<M: ConditionalModel> Conditioned<'_, M> {
    /// The encoded condition (the features appended to every input row).
    pub fn features(&self) -> &[M::Scalar] {
        &self.features
    }
}

impl<M: ConditionalModel> Target for Conditioned<'_, M> {
    type Scalar = M::Scalar;
    fn dim(&self) -> usize {
        self.model.dim()
    }
}

/// What [`CondNcsnMlp`] and [`CondDdpmMlp`] share: a spec and the ability to fix a condition.
pub trait ConditionalModel: Target + Sized {
    /// The condition spec.
    fn spec(&self) -> &ConditionSpec;
    /// The model with condition `c` fixed.
    ///
    /// # Errors
    /// [`Error::InvalidCondition`] if `c` does not fit the spec.
    fn given(&self, c: &Condition<Self::Scalar>) -> Result<Conditioned<'_, Self>> {
        let mut features = vec![Self::Scalar::zero(); self.spec().features()];
        self.spec().encode(c, &mut features)?;
        Ok(Conditioned {
            model: self,
            features,
        })
    }
    /// The unconditional score (the null condition).
    fn unconditional(&self) -> Conditioned<'_, Self> {
        let mut features = vec![Self::Scalar::zero(); self.spec().features()];
        let n = features.len();
        features[n - 1] = Self::Scalar::one();
        Conditioned {
            model: self,
            features,
        }
    }
    /// Classifier-free guidance at weight `w`: `(1 + w) s(· | c) − w s(·)`.
    ///
    /// # Errors
    /// [`Error::InvalidCondition`] for a bad condition; [`Error::InvalidParameter`] for a
    /// weight that is not finite or below −1.
    #[allow(clippy::type_complexity)]
    fn guided(
        &self,
        c: &Condition<Self::Scalar>,
        w: f64,
    ) -> Result<ClassifierFree<Conditioned<'_, Self>, Conditioned<'_, Self>>> {
        ClassifierFree::new(self.given(c)?, self.unconditional(), w)
    }
}

macro_rules! common {
    ($ty:ident) => {
        impl<T: Real> $ty<T> {
            /// The model with condition `c` fixed: an ordinary score model (see
            /// [`Conditioned`]).
            ///
            /// # Errors
            /// [`Error::InvalidCondition`] for a label out of range, the wrong number of
            /// labels or a vector of the wrong length.
            pub fn given(&self, c: &Condition<T>) -> Result<Conditioned<'_, Self>> {
                ConditionalModel::given(self, c)
            }
            /// The unconditional score (the null token).
            pub fn unconditional(&self) -> Conditioned<'_, Self> {
                ConditionalModel::unconditional(self)
            }
            /// Classifier-free guidance at weight `w`: `(1 + w) s(· | c) − w s(·)`
            /// ([`ClassifierFree`]; what w does is documented there).
            ///
            /// # Errors
            /// As `given`, and [`Error::InvalidParameter`] for a weight that is not finite or
            /// below −1.
            #[allow(clippy::type_complexity)]
            pub fn guided(
                &self,
                c: &Condition<T>,
                w: f64,
            ) -> Result<ClassifierFree<Conditioned<'_, Self>, Conditioned<'_, Self>>> {
                ConditionalModel::guided(self, c, w)
            }
            /// The condition spec.
            pub fn spec(&self) -> &ConditionSpec {
                &self.spec
            }
            /// The network (input `[x, e(c), condition features]`, output d values).
            pub fn net(&self) -> &Mlp<T> {
                &self.core.net
            }
            /// The network, mutable.
            pub fn net_mut(&mut self) -> &mut Mlp<T> {
                &mut self.core.net
            }
            /// The embedding of the noise level / time.
            pub fn embedding(&self) -> Embedding {
                self.core.embedding
            }
            /// The label-dropout probability of the last training run (or of the loaded
            /// file).
            pub fn p_uncond(&self) -> Option<f64> {
                self.p_uncond
            }
            /// Writes the model to a safetensors file: the layout of the unconditional model
            /// (see the module docs) with `model` = `cond-ncsn` / `cond-ddpm`, `condition =
            /// labels:k₁,k₂,…;vector:n` (the [`ConditionSpec`]), `p_uncond` and
            /// `condition_layout` (the input row layout).
            ///
            /// # Errors
            /// [`Error::ModelFile`] if the file cannot be written.
            pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
                io::write_file(path.as_ref(), &self.to_safetensors()?)
            }
            /// Reads a model written by `save`.
            ///
            /// # Errors
            /// [`Error::ModelFile`] if the file cannot be read or understood, holds another
            /// model kind or a condition that does not fit the stored widths.
            pub fn load(path: impl AsRef<Path>) -> Result<Self> {
                Self::from_safetensors(&io::read_file(path.as_ref())?)
            }
        }
        impl<T: Real> Target for $ty<T> {
            type Scalar = T;
            fn dim(&self) -> usize {
                self.core.dim
            }
        }
        impl<T: Real> ConditionalModel for $ty<T> {
            fn spec(&self) -> &ConditionSpec {
                &self.spec
            }
        }
    };
}
common!(CondNcsnMlp);
common!(CondDdpmMlp);

impl<T: Real> CondNcsnMlp<T> {
    /// An untrained conditional NCSN on ℝᵈ (hidden widths, embedding of `ln σ` and seed as in
    /// [`super::NcsnMlp::new`]) whose input rows also carry the condition features of
    /// `spec`.
    ///
    /// # Errors
    /// As [`super::NcsnMlp::new`].
    pub fn new(
        dim: usize,
        hidden: &[usize],
        embedding: Embedding,
        spec: ConditionSpec,
        seed: u64,
    ) -> Result<Self> {
        Ok(Self {
            core: core_new(dim, hidden, embedding, &spec, seed)?,
            spec,
            sigmas: None,
            p_uncond: None,
        })
    }
    /// The noise levels of the last training run (or of the loaded file).
    pub fn sigmas(&self) -> Option<&[T]> {
        self.sigmas.as_deref()
    }

    /// Denoising score matching (as [`super::NcsnMlp::train_dsm`]) on `data` (row-major
    /// `n × d`) with one condition per row (`Condition::Null` rows are unlabelled data),
    /// replacing each example's condition by the null token with probability `p_uncond`
    /// (drawn afresh for every example in every epoch, from the run's stream). The minimiser
    /// is `s(x, σ | y)` for real conditions and the score of the whole data set for the null
    /// token.
    ///
    /// # Errors
    /// [`Error::InvalidCondition`] naming the first data row whose condition does not fit;
    /// [`Error::DimensionMismatch`] if there is not one condition per row;
    /// [`Error::InvalidParameter`] for `p_uncond` outside [0, 1); otherwise as
    /// [`super::NcsnMlp::train_dsm`].
    pub fn train_dsm(
        &mut self,
        data: &[T],
        conditions: &[Condition<T>],
        sigmas: &SigmaLevels<T>,
        p_uncond: f64,
        cfg: &TrainConfig,
    ) -> Result<TrainReport> {
        check_p_uncond(p_uncond)?;
        let rows = rows_with_conditions(&self.spec, self.core.dim, data, conditions)?;
        let obj = Dropout {
            inner: Dsm {
                sigmas: sigmas.as_slice(),
                how: cfg_sigma_draw(cfg),
            },
            features: self.spec.features(),
            p_uncond,
        };
        let r = fit(&mut self.core, &rows, &obj, cfg)?;
        self.sigmas = Some(sigmas.as_slice().to_vec());
        self.p_uncond = Some(p_uncond);
        Ok(r)
    }

    /// The model as safetensors bytes (see `save`).
    ///
    /// # Errors
    /// [`Error::ModelFile`] if serialisation fails.
    pub fn to_safetensors(&self) -> Result<Vec<u8>> {
        let mut meta = cond_meta(&self.spec, self.p_uncond);
        meta.insert("model".into(), "cond-ncsn".into());
        if let Some(s) = &self.sigmas {
            meta.insert("sigmas".into(), io::list(s));
        }
        io::serialize(&self.core, meta)
    }
    /// Reads a model from safetensors bytes.
    ///
    /// # Errors
    /// As `load`.
    pub fn from_safetensors(bytes: &[u8]) -> Result<Self> {
        let (meta, core) = io::deserialize::<T>(bytes)?;
        io::check_model(&meta, "cond-ncsn")?;
        let (spec, p_uncond) = parse_cond_meta(&meta)?;
        let sigmas = match meta.get("sigmas") {
            Some(s) => Some(
                io::parse_list::<f64>(s, "sigmas")?
                    .into_iter()
                    .map(T::c)
                    .collect(),
            ),
            None => None,
        };
        Ok(Self {
            core,
            spec,
            sigmas,
            p_uncond,
        })
    }
}

fn cfg_sigma_draw(cfg: &TrainConfig) -> super::SigmaDraw {
    cfg.sigma_draw_setting()
}

impl<T: Real> CondDdpmMlp<T> {
    /// An untrained conditional ε-network for the VP SDE with β schedule `schedule`.
    ///
    /// # Errors
    /// As [`super::DdpmMlp::new`].
    pub fn new(
        dim: usize,
        hidden: &[usize],
        embedding: Embedding,
        schedule: BetaSchedule,
        spec: ConditionSpec,
        seed: u64,
    ) -> Result<Self> {
        Ok(Self {
            core: core_new(dim, hidden, embedding, &spec, seed)?,
            spec,
            sde: Vp::new(dim, schedule)?,
            p_uncond: None,
        })
    }
    /// The forward VP SDE (pass it to the reverse-time samplers).
    pub fn sde(&self) -> &Vp<T> {
        &self.sde
    }

    /// ε-prediction training (as [`super::DdpmMlp::train`]) with one condition per data row
    /// and label dropout with probability `p_uncond`, as [`CondNcsnMlp::train_dsm`].
    ///
    /// # Errors
    /// As [`CondNcsnMlp::train_dsm`].
    pub fn train(
        &mut self,
        data: &[T],
        conditions: &[Condition<T>],
        p_uncond: f64,
        cfg: &TrainConfig,
    ) -> Result<TrainReport> {
        check_p_uncond(p_uncond)?;
        let rows = rows_with_conditions(&self.spec, self.core.dim, data, conditions)?;
        let sde = self.sde;
        let obj = Dropout {
            inner: super::train::Ddpm {
                sde: &sde,
                t_min: cfg.t_min_setting(),
            },
            features: self.spec.features(),
            p_uncond,
        };
        let r = fit(&mut self.core, &rows, &obj, cfg)?;
        self.p_uncond = Some(p_uncond);
        Ok(r)
    }

    /// The model as safetensors bytes (see `save`).
    ///
    /// # Errors
    /// [`Error::ModelFile`] if serialisation fails.
    pub fn to_safetensors(&self) -> Result<Vec<u8>> {
        let mut meta = cond_meta(&self.spec, self.p_uncond);
        meta.insert("model".into(), "cond-ddpm".into());
        meta.insert("schedule".into(), io::schedule_tag(&self.sde.schedule()));
        io::serialize(&self.core, meta)
    }
    /// Reads a model from safetensors bytes.
    ///
    /// # Errors
    /// As `load`, plus an unknown or invalid `schedule`.
    pub fn from_safetensors(bytes: &[u8]) -> Result<Self> {
        let (meta, core) = io::deserialize::<T>(bytes)?;
        io::check_model(&meta, "cond-ddpm")?;
        let (spec, p_uncond) = parse_cond_meta(&meta)?;
        let sched = io::parse_schedule(
            meta.get("schedule")
                .ok_or_else(|| io::err("metadata key \"schedule\" missing"))?,
        )?;
        let sde = Vp::new(core.dim, sched)?;
        Ok(Self {
            core,
            spec,
            sde,
            p_uncond,
        })
    }
}

impl<T: Real> NoiseConditionalScore for Conditioned<'_, CondNcsnMlp<T>> {
    fn score_sigma_into(&self, x: &[T], sigma: T, out: &mut [T]) {
        self.model
            .core
            .eval_one_cond(x, sigma.ln(), &self.features, T::one() / sigma, out);
    }
}

impl<T: Real> NoiseScoreBatch for Conditioned<'_, CondNcsnMlp<T>> {
    fn score_sigma_batch_into(&self, xs: &[T], sigma: T, out: &mut [T], work: &mut Vec<T>) {
        self.model.core.eval_batch_cond(
            xs,
            sigma.ln(),
            &self.features,
            T::one() / sigma,
            out,
            work,
        );
    }
}

impl<T: Real> Conditioned<'_, CondDdpmMlp<T>> {
    fn score_scale(&self, t: T) -> T {
        -T::one() / T::c(self.model.sde.marginal_std(t.to_f64()))
    }
    /// `ε_θ(x, t | y)` for every row of the row-major `m × d` array `xs`.
    pub fn epsilon_batch_into(&self, xs: &[T], t: T, out: &mut [T], work: &mut Vec<T>) {
        self.model
            .core
            .eval_batch_cond(xs, t, &self.features, T::one(), out, work);
    }
}

impl<T: Real> TimeConditionalScore for Conditioned<'_, CondDdpmMlp<T>> {
    fn score_t_into(&self, x: &[T], t: T, out: &mut [T]) {
        self.model
            .core
            .eval_one_cond(x, t, &self.features, self.score_scale(t), out);
    }
    fn score_t_batch_into(&self, xs: &[T], t: T, out: &mut [T], work: &mut Vec<T>) {
        self.model
            .core
            .eval_batch_cond(xs, t, &self.features, self.score_scale(t), out, work);
    }
}
