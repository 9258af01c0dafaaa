//! Training by denoising and explicit score matching: minibatch AdamW with a learning-rate
//! schedule, a held-out validation loss, early stopping, and divergence detection.

use super::mlp::AdamW;
use super::model::{Core, DdpmMlp, NcsnMlp};
use crate::annealed::{ForwardSde, SigmaLevels};
use crate::density::NoiseConditionalScore;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::rng::{ChainRng, stream};
use crate::{Error, Real, Result};
use rand::RngExt;
use rayon::prelude::*;

/// Rows per chunk of a minibatch. The chunking depends on the batch size only, and the
/// chunks' gradients are summed in a fixed order (see [`LANES`]), so a training run is
/// bit-identical on any number of threads.
const CHUNK: usize = 128;

/// Chunks are dealt round-robin to this many lanes (a constant, not the thread count), each
/// with one set of working buffers.
const LANES: usize = 4;

/// The learning rate over the optimisation steps, after an optional linear warm-up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LrSchedule {
    /// The base rate throughout.
    Constant,
    /// Cosine decay from the base rate η to `final_fraction · η` at the last step
    /// (Loshchilov & Hutter 2017, without restarts).
    Cosine {
        /// The final rate as a fraction of the base rate, in [0, 1].
        final_fraction: f64,
    },
}

/// How [`NcsnMlp::train_dsm`] and [`NcsnMlp::train_esm`] draw the noise level of each
/// example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigmaDraw {
    /// Uniformly among the levels of the schedule (Song & Ermon 2019): the model is accurate
    /// at those levels, what [`crate::annealed::AnnealedLangevin`] uses.
    Levels,
    /// `ln σ` uniform on `[ln σ_min, ln σ_max]`: accurate at every σ in the range, what the
    /// continuous-time samplers on a VE SDE ([`super::TimeFromNoise`]) need.
    LogUniform,
}

/// The settings of a training run, validated by [`TrainConfig::validate`] (called by every
/// `train_*` method). Build it with [`TrainConfig::new`] and the chained setters.
///
/// ```
/// use langevin::neural::{LrSchedule, TrainConfig};
/// let cfg = TrainConfig::new()
///     .epochs(200)
///     .batch_size(256)
///     .learning_rate(1e-3)
///     .lr_schedule(LrSchedule::Cosine { final_fraction: 0.1 })
///     .validation_fraction(0.1)
///     .patience(Some(20))
///     .seed(7);
/// assert!(cfg.validate().is_ok());
/// assert!(TrainConfig::new().batch_size(0).validate().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    epochs: usize,
    batch_size: usize,
    learning_rate: f64,
    lr_schedule: LrSchedule,
    warmup_steps: usize,
    weight_decay: f64,
    betas: (f64, f64),
    adam_eps: f64,
    validation_fraction: f64,
    patience: Option<usize>,
    seed: u64,
    progress: bool,
    sigma_draw: SigmaDraw,
    t_min: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self::new()
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, $name: $ty) -> Self {
            self.$name = $name;
            self
        }
    };
}

impl TrainConfig {
    /// The defaults: 100 epochs, batch 256, learning rate 1e-3 constant with no warm-up,
    /// AdamW with β = (0.9, 0.999), ε = 1e-8 and no weight decay, 10 % of the data held out
    /// for validation, no early stopping, seed 0, no progress bar, noise levels drawn
    /// log-uniformly, DDPM times drawn on `[1e-3, 1]`.
    pub fn new() -> Self {
        Self {
            epochs: 100,
            batch_size: 256,
            learning_rate: 1e-3,
            lr_schedule: LrSchedule::Constant,
            warmup_steps: 0,
            weight_decay: 0.0,
            betas: (0.9, 0.999),
            adam_eps: 1e-8,
            validation_fraction: 0.1,
            patience: None,
            seed: 0,
            progress: false,
            sigma_draw: SigmaDraw::LogUniform,
            t_min: 1e-3,
        }
    }
    setter!(
        /// Passes over the training data.
        epochs: usize
    );
    setter!(
        /// Examples per optimisation step (the last batch of an epoch may be smaller).
        batch_size: usize
    );
    setter!(
        /// The base learning rate η.
        learning_rate: f64
    );
    setter!(
        /// The schedule of the learning rate after warm-up.
        lr_schedule: LrSchedule
    );
    setter!(
        /// Steps of linear warm-up from η/warmup to η.
        warmup_steps: usize
    );
    setter!(
        /// AdamW's decoupled weight decay λ (0: plain Adam).
        weight_decay: f64
    );
    setter!(
        /// Adam's moment decays (β₁, β₂).
        betas: (f64, f64)
    );
    setter!(
        /// Adam's ε.
        adam_eps: f64
    );
    setter!(
        /// The fraction of the data held out for the validation loss, in [0, 1).
        validation_fraction: f64
    );
    setter!(
        /// Early stopping: stop when the validation loss has not improved for this many
        /// epochs; the run then ends on the weights of the best validation epoch (also when
        /// it runs all epochs). Needs a validation set.
        patience: Option<usize>
    );
    setter!(
        /// The seed of the split, the shuffles and the noise (the initial weights come from
        /// the model's own seed).
        seed: u64
    );
    setter!(
        /// A progress bar over the epochs (feature `progress`; ignored without it).
        progress: bool
    );
    setter!(
        /// How NCSN training draws σ.
        sigma_draw: SigmaDraw
    );
    setter!(
        /// The smallest diffusion time DDPM training draws (t ~ U(t_min, 1)).
        t_min: f64
    );

    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::ZeroCount`] for zero epochs or batch size; [`Error::InvalidParameter`] for a
    /// learning rate that is not finite and positive, a cosine final fraction outside
    /// [0, 1], a validation fraction outside [0, 1), `t_min` outside (0, 1), invalid Adam
    /// constants; [`Error::InvalidConfig`] for early stopping without a validation set.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::ZeroCount { what: "epochs" });
        }
        if self.batch_size == 0 {
            return Err(Error::ZeroCount { what: "batch size" });
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(Error::InvalidParameter {
                name: "learning_rate",
                value: self.learning_rate,
                expected: "finite and > 0 (1e-3 is a good start for Adam)",
            });
        }
        if let LrSchedule::Cosine { final_fraction } = self.lr_schedule
            && !(0.0..=1.0).contains(&final_fraction)
        {
            return Err(Error::InvalidParameter {
                name: "final_fraction",
                value: final_fraction,
                expected: "in [0, 1]",
            });
        }
        if !(0.0..1.0).contains(&self.validation_fraction) {
            return Err(Error::InvalidParameter {
                name: "validation_fraction",
                value: self.validation_fraction,
                expected: "in [0, 1) (e.g. 0.1)",
            });
        }
        if !(self.t_min > 0.0 && self.t_min < 1.0) {
            return Err(Error::InvalidParameter {
                name: "t_min",
                value: self.t_min,
                expected: "in (0, 1) (e.g. 1e-3; σ_t → 0 at t = 0)",
            });
        }
        if self.patience.is_some() && self.validation_fraction == 0.0 {
            return Err(Error::InvalidConfig {
                reason: "early stopping (patience) needs a validation set: set \
                         validation_fraction > 0"
                    .into(),
            });
        }
        AdamW::<f64>::new(
            0,
            self.betas.0,
            self.betas.1,
            self.adam_eps,
            self.weight_decay,
        )?;
        Ok(())
    }

    pub(crate) fn sigma_draw_setting(&self) -> SigmaDraw {
        self.sigma_draw
    }

    pub(crate) fn t_min_setting(&self) -> f64 {
        self.t_min
    }

    fn lr_at(&self, step: usize, total: usize) -> f64 {
        let base = self.learning_rate;
        if step < self.warmup_steps {
            return base * (step + 1) as f64 / self.warmup_steps as f64;
        }
        match self.lr_schedule {
            LrSchedule::Constant => base,
            LrSchedule::Cosine { final_fraction } => {
                let span = total.saturating_sub(self.warmup_steps).max(1);
                let u = ((step - self.warmup_steps) as f64 / span as f64).min(1.0);
                let c = 0.5 * (1.0 + (core::f64::consts::PI * u).cos());
                base * (final_fraction + (1.0 - final_fraction) * c)
            }
        }
    }
}

/// What a training run did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TrainReport {
    /// Epochs run (fewer than configured after early stopping).
    pub epochs: usize,
    /// Optimisation steps taken.
    pub steps: usize,
    /// Training examples seen (with repetition over epochs).
    pub examples: usize,
    /// Mean training loss `½‖f − target‖²` per epoch (the DSM loss in
    /// [`crate::annealed::dsm_loss`]'s convention, λ(σ) = σ²).
    pub train_loss: Vec<f64>,
    /// Validation loss per epoch on the held-out data with noise drawn once (the same
    /// noise every epoch, so the values are comparable); empty without a validation set.
    pub validation_loss: Vec<f64>,
    /// The epoch (0-based) of the smallest validation loss.
    pub best_epoch: Option<usize>,
    /// `true` if early stopping ended the run (the best weights were restored).
    pub stopped_early: bool,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
}

impl TrainReport {
    /// Training throughput: examples per second.
    pub fn examples_per_second(&self) -> f64 {
        self.examples as f64 / self.seconds.max(1e-12)
    }
}

/// A training objective: how one example is noised and what `f_θ` should regress to. The
/// loss of an example is `½‖f_θ(input) − target‖²`.
pub(crate) trait Objective<T: Real>: Sync {
    /// Width of the auxiliary row `draw` hands to `target`, for data of dimension d.
    fn aux_len(&self, d: usize) -> usize;
    /// Width of one data row for a model of dimension d: d, or more when the rows carry
    /// extra columns (a condition's features, see `conditional.rs`).
    fn row_len(&self, d: usize) -> usize {
        d
    }
    /// Draws the noise for data row `x0` (sequentially, from the run's stream): writes the
    /// network input row and the auxiliary row.
    fn draw(&self, core: &Core<T>, rng: &mut ChainRng, x0: &[T], input: &mut [T], aux: &mut [T]);
    /// The regression target (run in parallel; deterministic).
    fn target(&self, input: &[T], aux: &[T], target: &mut [T]);
}

fn draw_sigma<T: Real>(rng: &mut ChainRng, sigmas: &[T], how: SigmaDraw) -> T {
    match how {
        SigmaDraw::Levels => sigmas[rng.random_range(0..sigmas.len())],
        SigmaDraw::LogUniform => {
            let (a, b) = (
                sigmas[0].to_f64().ln(),
                sigmas[sigmas.len() - 1].to_f64().ln(),
            );
            let u: f64 = rng.random();
            T::c((b + u * (a - b)).exp())
        }
    }
}

/// NCSN denoising score matching: `x̃ = x + σ z`, `s_θ = f/σ` regressed on `−z/σ` with
/// weight σ², i.e. `f` on `−z`. Aux row: z.
pub(crate) struct Dsm<'a, T> {
    pub(crate) sigmas: &'a [T],
    pub(crate) how: SigmaDraw,
}

impl<T: Real> Objective<T> for Dsm<'_, T> {
    fn aux_len(&self, d: usize) -> usize {
        d
    }
    fn draw(&self, core: &Core<T>, rng: &mut ChainRng, x0: &[T], input: &mut [T], aux: &mut [T]) {
        let d = core.dim;
        let sigma = draw_sigma(rng, self.sigmas, self.how);
        for ((xi, &x), z) in input[..d].iter_mut().zip(x0).zip(aux.iter_mut()) {
            *z = T::standard_normal(rng);
            *xi = x + sigma * *z;
        }
        core.embedding.write(sigma.ln(), &mut input[d..]);
    }
    fn target(&self, _: &[T], aux: &[T], target: &mut [T]) {
        for (t, &z) in target.iter_mut().zip(aux) {
            *t = -z;
        }
    }
}

/// NCSN explicit score matching against a known `s*(x, σ)`: `x̃ = x + σ z`, `f` regressed on
/// `σ s*(x̃, σ)` (loss `½ σ² ‖s_θ − s*‖²`). Aux row: σ.
struct Esm<'a, T, P> {
    sigmas: &'a [T],
    how: SigmaDraw,
    target: &'a P,
}

impl<T: Real, P: NoiseConditionalScore<Scalar = T> + Sync> Objective<T> for Esm<'_, T, P> {
    fn aux_len(&self, _: usize) -> usize {
        1
    }
    fn draw(&self, core: &Core<T>, rng: &mut ChainRng, x0: &[T], input: &mut [T], aux: &mut [T]) {
        let d = core.dim;
        let sigma = draw_sigma(rng, self.sigmas, self.how);
        for (xi, &x) in input[..d].iter_mut().zip(x0) {
            *xi = x + sigma * T::standard_normal(rng);
        }
        core.embedding.write(sigma.ln(), &mut input[d..]);
        aux[0] = sigma;
    }
    fn target(&self, input: &[T], aux: &[T], target: &mut [T]) {
        let sigma = aux[0];
        self.target
            .score_sigma_into(&input[..target.len()], sigma, target);
        for t in target.iter_mut() {
            *t *= sigma;
        }
    }
}

/// DDPM ε-prediction: `t ~ U(t_min, 1)`, `x_t = α_t x + σ_t z`, ε regressed on z. Aux row: z.
pub(crate) struct Ddpm<'a, S> {
    pub(crate) sde: &'a S,
    pub(crate) t_min: f64,
}

impl<T: Real, S: ForwardSde<Scalar = T> + Sync> Objective<T> for Ddpm<'_, S> {
    fn aux_len(&self, d: usize) -> usize {
        d
    }
    fn draw(&self, core: &Core<T>, rng: &mut ChainRng, x0: &[T], input: &mut [T], aux: &mut [T]) {
        let d = core.dim;
        let u: f64 = rng.random();
        let t = self.t_min + u * (1.0 - self.t_min);
        let (a, s) = (T::c(self.sde.mean_coef(t)), T::c(self.sde.marginal_std(t)));
        for ((xi, &x), z) in input[..d].iter_mut().zip(x0).zip(aux.iter_mut()) {
            *z = T::standard_normal(rng);
            *xi = a * x + s * *z;
        }
        core.embedding.write(T::c(t), &mut input[d..]);
    }
    fn target(&self, _: &[T], aux: &[T], target: &mut [T]) {
        target.copy_from_slice(aux);
    }
}

/// The drawn examples of one chunk of a minibatch: network inputs and auxiliary rows.
struct Drawn<T> {
    rows: usize,
    input: Vec<T>,
    aux: Vec<T>,
}

impl<T: Real> Drawn<T> {
    fn new(core: &Core<T>, aux: usize) -> Self {
        Self {
            rows: 0,
            input: vec![T::zero(); CHUNK * core.input_dim()],
            aux: vec![T::zero(); CHUNK * aux],
        }
    }
}

/// The working buffers of one lane: lane j processes chunks j, j + LANES, … in order and
/// accumulates their gradients, so the buffers stay few (cache-resident) whatever the batch
/// size, and the sum is the same on any number of threads.
struct Lane<T> {
    target: Vec<T>,
    acts: Vec<T>,
    d_out: Vec<T>,
    grad: Vec<T>,
    acc: Vec<T>,
    loss: f64,
}

impl<T: Real> Lane<T> {
    fn new(core: &Core<T>) -> Self {
        let d = core.dim;
        Self {
            target: vec![T::zero(); CHUNK * d],
            acts: vec![T::zero(); core.net.workspace_len(CHUNK)],
            d_out: vec![T::zero(); CHUNK * d],
            grad: vec![T::zero(); core.net.params().len()],
            acc: vec![T::zero(); core.net.params().len()],
            loss: 0.0,
        }
    }

    /// Targets, forward, loss and (if `grad_scale` is given) backward for every chunk of
    /// `chunks`, in order: the summed loss in `loss`, the summed gradient in `acc`.
    fn run<'a, O: Objective<T>>(
        &mut self,
        core: &Core<T>,
        obj: &O,
        chunks: impl Iterator<Item = &'a Drawn<T>>,
        grad_scale: Option<T>,
    ) where
        T: 'a,
    {
        let (d, di, na) = (core.dim, core.input_dim(), obj.aux_len(core.dim));
        self.loss = 0.0;
        for (k, ch) in chunks.enumerate() {
            let m = ch.rows;
            for r in 0..m {
                obj.target(
                    &ch.input[r * di..(r + 1) * di],
                    &ch.aux[r * na..(r + 1) * na],
                    &mut self.target[r * d..(r + 1) * d],
                );
            }
            let input = &ch.input[..m * di];
            let f = core.net.forward(input, &mut self.acts);
            let mut loss = 0.0;
            for ((g, &f), &t) in self.d_out[..m * d].iter_mut().zip(f).zip(&self.target) {
                let r = f - t;
                loss += 0.5 * (r * r).to_f64();
                *g = r;
            }
            self.loss += loss;
            if let Some(scale) = grad_scale {
                for g in &mut self.d_out[..m * d] {
                    *g *= scale;
                }
                let out = if k == 0 {
                    &mut self.acc
                } else {
                    &mut self.grad
                };
                core.net
                    .backward(input, &mut self.acts, &self.d_out[..m * d], out);
                if k > 0 {
                    for (a, &g) in self.acc.iter_mut().zip(&self.grad) {
                        *a += g;
                    }
                }
            }
        }
    }
}

/// Runs `lanes` over the first `used` chunks of `drawn`; returns the summed loss and, for a
/// training step, leaves the summed gradient in `lanes[0].acc` (lanes reduced in order).
fn run_lanes<T: Real, O: Objective<T>>(
    core: &Core<T>,
    obj: &O,
    lanes: &mut [Lane<T>],
    drawn: &[Drawn<T>],
    grad_scale: Option<T>,
) -> f64 {
    let active = lanes.len().min(drawn.len());
    lanes[..active]
        .par_iter_mut()
        .enumerate()
        .for_each(|(j, lane)| lane.run(core, obj, drawn.iter().skip(j).step_by(LANES), grad_scale));
    let (first, rest) = lanes.split_at_mut(1);
    let mut loss = first[0].loss;
    for lane in &rest[..active - 1] {
        loss += lane.loss;
        if grad_scale.is_some() {
            for (a, &g) in first[0].acc.iter_mut().zip(&lane.acc) {
                *a += g;
            }
        }
    }
    loss
}

/// Draws the examples `rows` of `data` into the chunks (sequentially, one stream).
fn draw_batch<T: Real, O: Objective<T>>(
    core: &Core<T>,
    obj: &O,
    rng: &mut ChainRng,
    data: &[T],
    rows: &[usize],
    chunks: &mut [Drawn<T>],
) -> usize {
    let (d, di, na) = (
        obj.row_len(core.dim),
        core.input_dim(),
        obj.aux_len(core.dim),
    );
    let mut used = 0;
    for (ids, ch) in rows.chunks(CHUNK).zip(chunks.iter_mut()) {
        ch.rows = ids.len();
        for (r, &j) in ids.iter().enumerate() {
            obj.draw(
                core,
                rng,
                &data[j * d..(j + 1) * d],
                &mut ch.input[r * di..(r + 1) * di],
                &mut ch.aux[r * na..(r + 1) * na],
            );
        }
        used += 1;
    }
    used
}

/// Checks a data set: non-empty, a whole number of rows of dimension d, finite.
pub(crate) fn check_data<T: Real>(data: &[T], d: usize) -> Result<usize> {
    if data.is_empty() {
        return Err(Error::ZeroCount {
            what: "training data points",
        });
    }
    if !data.len().is_multiple_of(d) {
        return Err(Error::DimensionMismatch {
            what: "training data (row-major n × d: length a multiple of the model dimension)",
            expected: data.len().div_ceil(d) * d,
            got: data.len(),
        });
    }
    crate::error::check_finite("training data", data)?;
    Ok(data.len() / d)
}

/// The training loop shared by every model and objective.
pub(crate) fn fit<T: Real, O: Objective<T>>(
    core: &mut Core<T>,
    data: &[T],
    obj: &O,
    cfg: &TrainConfig,
) -> Result<TrainReport> {
    cfg.validate()?;
    let d = core.dim;
    let n = check_data(data, obj.row_len(d))?;
    let start = std::time::Instant::now();

    // Seeded split into training and validation rows.
    let mut idx: Vec<usize> = (0..n).collect();
    shuffle(&mut idx, &mut stream(cfg.seed, 1));
    let n_val = if cfg.validation_fraction > 0.0 {
        ((cfg.validation_fraction * n as f64).round() as usize).max(1)
    } else {
        0
    };
    if n_val >= n {
        return Err(Error::InvalidConfig {
            reason: format!(
                "{n} data points leave none for training after holding out {n_val} for                  validation; lower validation_fraction or pass more data"
            ),
        });
    }
    let (val_rows, train_rows) = idx.split_at(n_val);
    let mut train_rows = train_rows.to_vec();

    let na = obj.aux_len(d);
    let n_chunks = cfg.batch_size.min(train_rows.len()).div_ceil(CHUNK);
    let mut chunks: Vec<Drawn<T>> = (0..n_chunks).map(|_| Drawn::new(core, na)).collect();

    // Validation examples: noise drawn once from their own stream, reused every epoch.
    let mut val_chunks: Vec<Drawn<T>> = Vec::new();
    {
        let mut vrng = stream(cfg.seed, 2);
        for ids in val_rows.chunks(CHUNK) {
            let mut ch = Drawn::new(core, na);
            draw_batch(
                core,
                obj,
                &mut vrng,
                data,
                ids,
                core::slice::from_mut(&mut ch),
            );
            val_chunks.push(ch);
        }
    }
    let n_lanes = LANES.min(n_chunks.max(val_chunks.len()));
    let mut lanes: Vec<Lane<T>> = (0..n_lanes).map(|_| Lane::new(core)).collect();
    let mut rng = stream(cfg.seed, 3);
    let mut opt = AdamW::<T>::new(
        core.net.params().len(),
        cfg.betas.0,
        cfg.betas.1,
        cfg.adam_eps,
        cfg.weight_decay,
    )?;
    let mut grad = vec![T::zero(); core.net.params().len()];
    let steps_per_epoch = train_rows.len().div_ceil(cfg.batch_size);
    let total_steps = steps_per_epoch * cfg.epochs;
    let mut last_good = core.net.params().to_vec();
    let mut best: Option<(f64, usize, Vec<T>)> = None;
    let mut report = TrainReport {
        epochs: 0,
        steps: 0,
        examples: 0,
        train_loss: Vec::with_capacity(cfg.epochs),
        validation_loss: Vec::new(),
        best_epoch: None,
        stopped_early: false,
        seconds: 0.0,
    };
    #[cfg(feature = "progress")]
    let bar = cfg.progress.then(|| {
        let b = indicatif::ProgressBar::new(cfg.epochs as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} epoch {pos}/{len} {msg} [{elapsed_precise} < {eta_precise}]",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });

    for epoch in 0..cfg.epochs {
        shuffle(&mut train_rows, &mut rng);
        let mut epoch_loss = 0.0;
        for batch in train_rows.chunks(cfg.batch_size) {
            let used = draw_batch(core, obj, &mut rng, data, batch, &mut chunks);
            let scale = T::c(1.0 / batch.len() as f64);
            let loss = run_lanes(core, obj, &mut lanes, &chunks[..used], Some(scale));
            grad.copy_from_slice(&lanes[0].acc);
            let batch_loss = loss / batch.len() as f64;
            if !(batch_loss.is_finite() && crate::real::all_finite(&grad)) {
                core.net.params_mut().copy_from_slice(&last_good);
                report.seconds = start.elapsed().as_secs_f64();
                return Err(Error::TrainingDiverged {
                    epoch,
                    step: report.steps,
                    loss: batch_loss,
                });
            }
            let lr = cfg.lr_at(report.steps, total_steps);
            opt.step(core.net.params_mut(), &grad, lr);
            report.steps += 1;
            report.examples += batch.len();
            epoch_loss += loss;
        }
        let train_loss = epoch_loss / train_rows.len() as f64;
        report.train_loss.push(train_loss);
        report.epochs = epoch + 1;
        if !crate::real::all_finite(core.net.params()) {
            core.net.params_mut().copy_from_slice(&last_good);
            return Err(Error::TrainingDiverged {
                epoch,
                step: report.steps,
                loss: f64::NAN,
            });
        }
        last_good.copy_from_slice(core.net.params());
        let mut msg = format!("loss {train_loss:.4}");
        if !val_chunks.is_empty() {
            let v = run_lanes(core, obj, &mut lanes, &val_chunks, None) / n_val as f64;
            report.validation_loss.push(v);
            msg = format!("{msg} val {v:.4}");
            if !v.is_finite() {
                core.net.params_mut().copy_from_slice(&last_good);
                return Err(Error::TrainingDiverged {
                    epoch,
                    step: report.steps,
                    loss: v,
                });
            }
            let improved = best.as_ref().is_none_or(|(b, _, _)| v < *b);
            if improved {
                match &mut best {
                    Some((b, e, w)) => {
                        *b = v;
                        *e = epoch;
                        w.copy_from_slice(core.net.params());
                    }
                    None => best = Some((v, epoch, core.net.params().to_vec())),
                }
            }
            if let (Some(p), Some((_, e, w))) = (cfg.patience, &best)
                && epoch - e >= p
            {
                core.net.params_mut().copy_from_slice(w);
                report.stopped_early = true;
            }
        }
        #[cfg(feature = "progress")]
        if let Some(b) = &bar {
            b.set_message(msg);
            b.inc(1);
        }
        #[cfg(not(feature = "progress"))]
        let _ = msg;
        if report.stopped_early {
            break;
        }
    }
    #[cfg(feature = "progress")]
    if let Some(b) = &bar {
        b.finish();
    }
    // With early stopping configured, the run ends on the best weights either way.
    if let (Some(_), Some((_, _, w))) = (cfg.patience, &best) {
        core.net.params_mut().copy_from_slice(w);
    }
    report.best_epoch = best.map(|(_, e, _)| e);
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// Fisher–Yates shuffle.
fn shuffle(v: &mut [usize], rng: &mut ChainRng) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

impl<T: Real> NcsnMlp<T> {
    /// Trains the model by **denoising score matching** (Vincent 2011) on `data` (row-major
    /// `n × d`, finite): each example draws σ from `sigmas` (see [`SigmaDraw`]) and
    /// `z ~ N(0, I)`, and the loss is
    ///
    /// ```text
    /// ½ σ² ‖s_θ(x + σ z, σ) + z/σ‖² = ½ ‖f_θ(x + σ z, σ) + z‖²
    /// ```
    ///
    /// — [`crate::annealed::dsm_loss`]'s convention (λ(σ) = σ²) — minimised by minibatch
    /// AdamW as configured by `cfg`. The minimiser over all functions is the score of the
    /// data law smoothed by `N(0, σ² I)`. Stores the levels in the model.
    ///
    /// Reproducible: the same model seed, `cfg` and data give bit-identical weights on any
    /// number of threads, on the same machine (the matrix kernels are chosen by the CPU's
    /// instruction set, so another CPU may round differently).
    ///
    /// # Errors
    /// [`Error::ZeroCount`] for empty data; [`Error::DimensionMismatch`] if `data.len()` is
    /// not a multiple of d; [`Error::NonFiniteInput`] for non-finite data; the errors of
    /// [`TrainConfig::validate`]; [`Error::InvalidConfig`] if the validation split leaves no
    /// training data; [`Error::TrainingDiverged`] for a non-finite loss (the model then keeps
    /// the weights of the last finished epoch).
    ///
    /// ```
    /// use langevin::annealed::SigmaLevels;
    /// use langevin::neural::{Embedding, NcsnMlp, TrainConfig};
    /// use langevin::prelude::*;
    /// // 1-D data from N(2, 0.5²): the smoothed score at x = 2 is 0 for every σ.
    /// let mut rng = langevin::rng::stream(1, 0);
    /// let data: Vec<f64> = (0..2000).map(|_| 2.0 + 0.5 * rng.sample::<f64, _>(rand_distr::StandardNormal)).collect();
    /// let mut model = NcsnMlp::<f64>::new(1, &[32, 32], Embedding::Raw, 1)?;
    /// let sigmas = SigmaLevels::geometric(2.0, 0.1, 8)?;
    /// let report = model.train_dsm(&data, &sigmas, &TrainConfig::new().epochs(40).seed(2))?;
    /// assert!(report.train_loss.last().unwrap() < &report.train_loss[0]);
    /// let mut s = [0.0];
    /// model.score_sigma_into(&[3.0], 0.5, &mut s);     // exact: −(3 − 2)/(0.25 + 0.25) = −2
    /// assert!((s[0] + 2.0).abs() < 0.4, "{}", s[0]);
    /// # Ok::<(), langevin::Error>(())
    /// ```
    ///
    /// # References
    /// * P. Vincent (2011), *Neural Computation* 23(7):1661–1674.
    /// * Y. Song, S. Ermon (2019), *NeurIPS*; (2020), *NeurIPS*.
    pub fn train_dsm(
        &mut self,
        data: &[T],
        sigmas: &SigmaLevels<T>,
        cfg: &TrainConfig,
    ) -> Result<TrainReport> {
        let obj = Dsm {
            sigmas: sigmas.as_slice(),
            how: cfg.sigma_draw,
        };
        let r = fit(&mut self.core, data, &obj, cfg)?;
        self.sigmas = Some(sigmas.as_slice().to_vec());
        Ok(r)
    }

    /// Trains the model by **explicit score matching** against a known noise-conditional
    /// score `target` (an exact [`crate::targets::GaussianMixture`], the kernel-smoothed
    /// [`crate::annealed::EmpiricalScore`] of a data set, …): each example draws σ and z as
    /// in [`NcsnMlp::train_dsm`] and the loss is
    ///
    /// ```text
    /// ½ σ² ‖s_θ(x + σ z, σ) − s*(x + σ z, σ)‖² = ½ ‖f_θ − σ s*‖²
    /// ```
    ///
    /// whose minimiser is `s*` itself at every point the noised data reach. With `s*` the
    /// exact smoothed score of the data law, DSM and ESM have the same minimiser (Vincent
    /// 2011); ESM's gradient has no noise from z, so it converges faster per step but costs
    /// one evaluation of `s*` per example.
    ///
    /// # Errors
    /// As [`NcsnMlp::train_dsm`], plus [`Error::DimensionMismatch`] if `target` has another
    /// dimension.
    pub fn train_esm<P>(
        &mut self,
        data: &[T],
        target: &P,
        sigmas: &SigmaLevels<T>,
        cfg: &TrainConfig,
    ) -> Result<TrainReport>
    where
        P: NoiseConditionalScore<Scalar = T> + Sync + ?Sized,
    {
        crate::error::check_len("ESM target dimension", self.core.dim, target.dim())?;
        let obj = Esm {
            sigmas: sigmas.as_slice(),
            how: cfg.sigma_draw,
            target: &target,
        };
        let r = fit(&mut self.core, data, &obj, cfg)?;
        self.sigmas = Some(sigmas.as_slice().to_vec());
        Ok(r)
    }
}

impl<T: Real> DdpmMlp<T> {
    /// Trains the ε-network (Ho et al. 2020): each example draws `t ~ U(t_min, 1)` and
    /// `z ~ N(0, I)`, sets `x_t = α_t x + σ_t z`, and the loss is
    ///
    /// ```text
    /// ½ ‖ε_θ(x_t, t) − z‖² = ½ σ_t² ‖s_θ(x_t, t) + z/σ_t‖²
    /// ```
    ///
    /// — denoising score matching with λ(t) = σ_t², [`crate::annealed::dsm_loss`]'s
    /// convention. Reproducibility and errors as in [`NcsnMlp::train_dsm`].
    ///
    /// # Errors
    /// As [`NcsnMlp::train_dsm`].
    pub fn train(&mut self, data: &[T], cfg: &TrainConfig) -> Result<TrainReport> {
        let sde = self.sde;
        let obj = Ddpm {
            sde: &sde,
            t_min: cfg.t_min,
        };
        fit(&mut self.core, data, &obj, cfg)
    }
}
