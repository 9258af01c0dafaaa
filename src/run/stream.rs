//! Streamed runs: the driver's side of writing draws to a [`DrawSink`] as they are produced
//! (the file formats and their readers are in [`crate::stream`]).

use super::{Adaptation, NoAdaptation, Observer, Sampler};
use crate::mcmc::{Kernel, StepInfo};
use crate::rng::ChainRng;
use crate::trace::RunConfig;
use crate::{Error, Result};
use core::time::Duration;

/// Where a streamed run's draws go: one [`ChainWriter`] per chain, opened and used on the
/// chain's own thread, so chains never contend and what a chain writes depends only on its
/// own stream (never on the thread count).
///
/// [`crate::stream::StreamSink`] writes CmdStan CSV or `.npy` files; implement this trait to
/// send draws elsewhere (a socket, a database). Memory stays bounded when the writer keeps
/// O(d) state.
pub trait DrawSink<T>: Sync {
    /// Opens the writer of chain `chain` (0-based), before its first transition. `dim` is
    /// the dimension; `config` the run's configuration (its `chain_wall_time` is empty).
    ///
    /// # Errors
    /// Whatever prevents writing (e.g. [`Error::TraceFile`] for a file that cannot be
    /// created); the run fails as when a chain fails.
    fn open(
        &self,
        chain: usize,
        dim: usize,
        config: &RunConfig,
    ) -> Result<Box<dyn ChainWriter<T> + '_>>;
}

/// One chain's writer (see [`DrawSink`]). The driver calls, in order: [`warmup_step`] after
/// every warm-up transition, [`warmup_done`] once, [`draw`] for every recorded (thinned)
/// draw, and [`finish`] when the chain completed. A chain that fails or is stopped never
/// calls [`finish`]: its output stays visibly incomplete.
///
/// An error from any method stops the run like a failing chain (the lowest-index chain's
/// error is returned).
///
/// [`warmup_step`]: ChainWriter::warmup_step
/// [`warmup_done`]: ChainWriter::warmup_done
/// [`draw`]: ChainWriter::draw
/// [`finish`]: ChainWriter::finish
pub trait ChainWriter<T> {
    /// After warm-up transition `iteration` (0-based), with the new position `x`.
    ///
    /// # Errors
    /// As the writer's output fails.
    fn warmup_step(&mut self, iteration: usize, info: &StepInfo, x: &[T]) -> Result<()>;
    /// Warm-up is over; the adapted step size and metric, when the run adapted them.
    ///
    /// # Errors
    /// As the writer's output fails.
    fn warmup_done(&mut self, step_size: Option<f64>, metric: Option<&[f64]>) -> Result<()>;
    /// One recorded draw `x` (after thinning) and the statistics of its transition.
    ///
    /// # Errors
    /// As the writer's output fails.
    fn draw(&mut self, info: &StepInfo, x: &[T]) -> Result<()>;
    /// The chain completed: its statistics. The place to flush and finalise.
    ///
    /// # Errors
    /// As the writer's output fails.
    fn finish(self: Box<Self>, summary: &ChainSummary) -> Result<()>;
}

/// A completed chain's statistics, given to [`ChainWriter::finish`] (the same numbers a
/// [`crate::Trace`] holds per chain).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChainSummary {
    /// Fraction of accepted proposals after warm-up (every transition, not only the kept).
    pub acceptance_rate: f64,
    /// Mean acceptance probability after warm-up.
    pub mean_accept_prob: f64,
    /// Divergent transitions, warm-up included.
    pub divergences: usize,
    /// Divergent transitions during warm-up.
    pub warmup_divergences: usize,
    /// The chain's wall time (warm-up and sampling).
    pub wall_time: Duration,
}

/// The result of a streamed run ([`Sampler::stream_to`]): everything a [`crate::Trace`]
/// holds except the draws, which are in the sink's files (read them back with
/// [`crate::stream::read_trace`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StreamedRun {
    /// Dimension d.
    pub dim: usize,
    /// Draws per chain written to the sink.
    pub n_draws: usize,
    /// Fraction of accepted proposals after warm-up, per chain.
    pub acceptance_rate: Vec<f64>,
    /// Mean acceptance probability after warm-up, per chain.
    pub mean_accept_prob: Vec<f64>,
    /// Divergences per chain, warm-up included.
    pub divergences: Vec<usize>,
    /// Divergences per chain during warm-up.
    pub warmup_divergences: Vec<usize>,
    /// Wall time of the whole run.
    pub wall_time: Duration,
    /// Adapted step size per chain, when adapted.
    pub adapted_step_size: Option<Vec<f64>>,
    /// Adapted metric per chain, when adapted.
    pub adapted_mass: Option<Vec<Vec<f64>>>,
    /// The run's configuration (with every chain's wall time).
    pub config: RunConfig,
}

impl Sampler {
    /// Runs every chain from `inits` (one point for all chains, or one per chain), writing
    /// the draws to `sink` as they are produced instead of keeping them in memory: memory
    /// stays bounded whatever the number of draws (no draw buffer is allocated). The values
    /// written are bit for bit those [`Sampler::run`] keeps, for any thread count.
    ///
    /// ```
    /// use langevin::prelude::*;
    /// use langevin::stream::{StreamSink, read_trace};
    /// use langevin::targets::Gaussian;
    ///
    /// let mala = Mala::new(Gaussian::<f64>::standard(3)?, 0.5)?;
    /// let dir = std::env::temp_dir().join("langevin_doc_stream_to");
    /// let sampler = Sampler::new(500).chains(2).warmup(100).seed(7);
    /// let run = sampler.stream_to(&mala, &[vec![0.0; 3]], &StreamSink::npy(&dir))?;
    /// assert_eq!(run.n_draws, 500);
    /// let trace = read_trace::<f64>(&dir, "chain", Default::default())?;
    /// let in_memory = sampler.run(&mala, &[vec![0.0; 3]])?;
    /// assert_eq!(trace.chains, in_memory.chains); // the same bits
    /// # Ok::<(), langevin::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Sampler::run`] (except [`Error::AllocationTooLarge`], as nothing is allocated
    /// per draw); [`Error::InvalidConfig`] in strict mode (the health report needs the draws:
    /// read them back and call [`crate::Trace::check`]); the sink's errors, e.g.
    /// [`Error::TraceFile`] when a file cannot be written.
    pub fn stream_to<K: Kernel>(
        &self,
        kernel: &K,
        inits: &[Vec<K::Scalar>],
        sink: &dyn DrawSink<K::Scalar>,
    ) -> Result<StreamedRun> {
        self.stream_with(kernel, inits, &NoAdaptation, &(), sink)
    }

    /// [`Sampler::stream_to`] with a warm-up adaptation and an observer.
    ///
    /// # Errors
    /// As [`Sampler::stream_to`].
    pub fn stream_with<K, A, O>(
        &self,
        kernel: &K,
        inits: &[Vec<K::Scalar>],
        adaptation: &A,
        observer: &O,
        sink: &dyn DrawSink<K::Scalar>,
    ) -> Result<StreamedRun>
    where
        K: Kernel,
        A: Adaptation<K>,
        O: Observer<K::Scalar>,
    {
        if inits.len() != 1 && inits.len() != self.n_chains() {
            return Err(Error::InvalidConfig {
                reason: format!(
                    "got {} initial points for {} chains; pass one point (shared) or one per chain",
                    inits.len(),
                    self.n_chains()
                ),
            });
        }
        self.stream_from(
            kernel,
            |c, _rng| inits[if inits.len() == 1 { 0 } else { c }].clone(),
            adaptation,
            observer,
            sink,
        )
    }

    /// [`Sampler::run_from`] streamed to `sink` (see [`Sampler::stream_to`]).
    ///
    /// # Errors
    /// As [`Sampler::stream_to`].
    pub fn stream_from<K, F, A, O>(
        &self,
        kernel: &K,
        init: F,
        adaptation: &A,
        observer: &O,
        sink: &dyn DrawSink<K::Scalar>,
    ) -> Result<StreamedRun>
    where
        K: Kernel,
        F: Fn(usize, &mut ChainRng) -> Vec<K::Scalar> + Sync,
        A: Adaptation<K>,
        O: Observer<K::Scalar>,
    {
        if self.is_strict() {
            return Err(Error::InvalidConfig {
                reason: "strict mode needs the draws in memory; stream without `strict`, read \
                         the trace back (stream::read_trace) and call Trace::check"
                    .into(),
            });
        }
        let t = self.drive(kernel, init, adaptation, observer, Some(sink))?;
        Ok(StreamedRun {
            dim: t.dim,
            n_draws: t.n_draws,
            acceptance_rate: t.acceptance_rate,
            mean_accept_prob: t.mean_accept_prob,
            divergences: t.divergences,
            warmup_divergences: t.warmup_divergences,
            wall_time: t.wall_time,
            adapted_step_size: t.adapted_step_size,
            adapted_mass: t.adapted_mass,
            config: t.config,
        })
    }
}
