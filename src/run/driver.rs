//! [`Sampler`]: the multi-chain driver (warm-up, draws, thinning, seeding, parallelism).

use super::stream::{ChainSummary, DrawSink};
use super::{Adaptation, NoAdaptation, Observer};
use crate::error::PartialRun;
use crate::mcmc::Kernel;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::rng::{ChainRng, stream};
use crate::trace::Trace;
use crate::{Error, Real, Result};
use rayon::prelude::*;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Runs C chains of a [`Kernel`] for `warmup + draws × thin` transitions each, in parallel.
///
/// Chain `c` draws from its own stream [`crate::rng::stream`]`(seed, c)`, so a seed fixes
/// every trace bit for bit, whatever the number of threads (rayon's global pool, or a pool of
/// [`Sampler::threads`] threads).
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::targets::Gaussian;
/// let mala = Mala::new(Gaussian::<f64>::standard(3)?, 0.5)?;
/// let trace = Sampler::new(1_000).chains(4).warmup(200).thin(2).seed(7)
///     .run(&mala, &[vec![0.0; 3]])?;
/// assert_eq!(trace.n_chains(), 4);
/// assert_eq!(trace.n_draws, 1_000);
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Sampler {
    pub(super) draws: usize,
    pub(super) chains: usize,
    pub(super) warmup: usize,
    pub(super) thin: usize,
    pub(super) seed: u64,
    pub(super) threads: Option<usize>,
    pub(super) strict: bool,
    /// The chains this process runs (`None`: all of them); see `shard.rs`.
    pub(super) chain_range: Option<core::ops::Range<usize>>,
}

impl Sampler {
    /// `draws` recorded draws per chain; 4 chains, 1000 warm-up iterations, no thinning,
    /// seed 0, rayon's global pool. The configuration is validated when the run starts:
    /// zero draws is [`Error::ZeroCount`] there (an empty trace has no statistics), and a run
    /// whose draws cannot be allocated is [`Error::AllocationTooLarge`].
    pub fn new(draws: usize) -> Self {
        Self {
            draws,
            chains: 4,
            warmup: 1000,
            thin: 1,
            seed: 0,
            threads: None,
            strict: false,
            chain_range: None,
        }
    }
    /// Number of chains (≥ 1).
    pub fn chains(mut self, chains: usize) -> Self {
        self.chains = chains;
        self
    }
    /// Warm-up (burn-in) transitions per chain, not recorded.
    pub fn warmup(mut self, warmup: usize) -> Self {
        self.warmup = warmup;
        self
    }
    /// Keep every `thin`-th transition after warm-up (≥ 1).
    pub fn thin(mut self, thin: usize) -> Self {
        self.thin = thin;
        self
    }
    /// The run seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Run on a dedicated pool of `threads` threads (results are identical for any value);
    /// `0` is [`Error::ZeroCount`] when the run starts.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }
    /// Strict mode: a run whose health report ([`Trace::check`]) has warnings returns
    /// [`Error::Unhealthy`], which carries the report and the trace (recover it with
    /// [`Trace::from_error`]). Off by default.
    ///
    /// # Example
    /// ```
    /// use langevin::prelude::*;
    /// use langevin::targets::Gaussian;
    /// let frozen = Mala::new(Gaussian::<f64>::standard(2)?, 1e6)?; // rejects everything
    /// let err = Sampler::new(200).chains(2).warmup(0).strict(true)
    ///     .run(&frozen, &[vec![0.5; 2]]).unwrap_err();
    /// assert!(matches!(err, Error::Unhealthy { .. }));
    /// let trace = Trace::<f64>::from_error(&err).unwrap();
    /// assert_eq!(trace.acceptance(), 0.0);
    /// # Ok::<(), langevin::Error>(())
    /// ```
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }
    /// The number of chains.
    pub fn n_chains(&self) -> usize {
        self.chains
    }
    pub(crate) fn is_strict(&self) -> bool {
        self.strict
    }

    /// Runs every chain from `inits` (one point for all chains, or one per chain; for a
    /// shard ([`Sampler::chain_range`]) also one per chain of the shard).
    ///
    /// # Errors
    /// [`Error::ZeroCount`] for zero draws, zero chains, `thin == 0` or `threads(0)`;
    /// [`Error::AllocationTooLarge`] when the draws cannot be allocated (checked before any
    /// chain runs); [`Error::InvalidConfig`] if `inits` has neither 1 nor `chains` points (nor,
    /// for a shard, one per chain of the shard) or the chain range is out of bounds; the
    /// kernel's initialisation errors; the error of the lowest-index chain that failed, e.g.
    /// [`Error::NonFiniteState`], or [`Error::ChainPanicked`] when a user closure panicked
    /// (see [`Sampler::run_from`] for how failures stop the other chains).
    pub fn run<K: Kernel>(&self, kernel: &K, inits: &[Vec<K::Scalar>]) -> Result<Trace<K::Scalar>> {
        self.run_with(kernel, inits, &NoAdaptation, &())
    }

    /// [`Sampler::run`] with a warm-up adaptation and an observer.
    ///
    /// # Errors
    /// As [`Sampler::run`].
    pub fn run_with<K, A, O>(
        &self,
        kernel: &K,
        inits: &[Vec<K::Scalar>],
        adaptation: &A,
        observer: &O,
    ) -> Result<Trace<K::Scalar>>
    where
        K: Kernel,
        A: Adaptation<K>,
        O: Observer<K::Scalar>,
    {
        let (first, n) = self.shard_bounds()?;
        if inits.len() != 1 && inits.len() != self.chains && inits.len() != n {
            return Err(Error::InvalidConfig {
                reason: format!(
                    "got {} initial points for {} chains ({n} in this shard); pass one point \
                     (shared), one per chain of the run, or one per chain of the shard",
                    inits.len(),
                    self.chains
                ),
            });
        }
        let pick = |c: usize| match inits.len() {
            1 => 0,
            len if len == self.chains => c,
            _ => c - first,
        };
        self.run_from(
            kernel,
            |c, _rng| inits[pick(c)].clone(),
            adaptation,
            observer,
        )
    }

    /// The most general entry point: chain `c` starts at `init(c, rng)`, where `rng` is a
    /// stream reserved for initialisation (independent of the chain's transition stream) —
    /// e.g. an exact draw from an analytic target to start at stationarity.
    /// For a shard ([`Sampler::chain_range`]) `c` is the chain's index in the whole run, while
    /// the observer numbers the shard's chains from 0 like the returned trace.
    ///
    /// # Failures
    /// A failing chain stops the run promptly: every other chain checks a shared flag every
    /// [`CANCEL_CHECK_EVERY`] transitions and stops when one has failed (a run where nothing
    /// fails never reads anything but its own streams, so it stays deterministic). A panic in
    /// a user closure (log density, score, `init`, the observer or the adaptation) is caught
    /// per chain and returned as [`Error::ChainPanicked`] with the chain, the iteration, the
    /// message and every chain's draws so far ([`crate::error::PartialRun`]); Rust's default
    /// panic hook still prints the message on standard error.
    ///
    /// # Errors
    /// [`Error::ZeroCount`] for zero draws, zero chains or `thin == 0`;
    /// [`Error::AllocationTooLarge`] when `draws × chains × dim` scalars cannot be allocated
    /// (checked up front); [`Error::InvalidConfig`] when `warmup + draws × thin` overflows;
    /// the kernel's initialisation errors; otherwise the error of the lowest-index chain that
    /// failed (a chain stopped because another failed is not a failure), e.g.
    /// [`Error::NonFiniteState`] or [`Error::ChainPanicked`].
    pub fn run_from<K, F, A, O>(
        &self,
        kernel: &K,
        init: F,
        adaptation: &A,
        observer: &O,
    ) -> Result<Trace<K::Scalar>>
    where
        K: Kernel,
        F: Fn(usize, &mut ChainRng) -> Vec<K::Scalar> + Sync,
        A: Adaptation<K>,
        O: Observer<K::Scalar>,
    {
        self.drive(kernel, init, adaptation, observer, None)
    }

    /// [`Sampler::run_from`], with the draws going to `sink` instead of memory when it is
    /// given (see [`Sampler::stream_to`]): then no draw buffer is allocated, and the returned
    /// trace holds no draws (only the per-chain statistics and the configuration).
    pub(crate) fn drive<K, F, A, O>(
        &self,
        kernel: &K,
        init: F,
        adaptation: &A,
        observer: &O,
        sink: Option<&dyn DrawSink<K::Scalar>>,
    ) -> Result<Trace<K::Scalar>>
    where
        K: Kernel,
        F: Fn(usize, &mut ChainRng) -> Vec<K::Scalar> + Sync,
        A: Adaptation<K>,
        O: Observer<K::Scalar>,
    {
        if self.draws == 0 {
            return Err(Error::ZeroCount { what: "draws" });
        }
        if self.chains == 0 {
            return Err(Error::ZeroCount { what: "chains" });
        }
        if self.thin == 0 {
            return Err(Error::ZeroCount { what: "thin" });
        }
        if self.threads == Some(0) {
            return Err(Error::ZeroCount { what: "threads" });
        }
        let iterations = self
            .draws
            .checked_mul(self.thin)
            .and_then(|n| n.checked_add(self.warmup))
            .ok_or_else(|| Error::InvalidConfig {
                reason: format!(
                    "warmup + draws × thin = {} + {} × {} overflows usize; ask for fewer draws",
                    self.warmup, self.draws, self.thin
                ),
            })?;
        // A shard runs chains first..first + n of the run (all of them by default); the
        // observer and the trace index them 0..n.
        let (first, n) = self.shard_bounds()?;
        let buffers = match sink {
            None => self.draw_buffers::<K::Scalar>(kernel.dim(), n)?,
            Some(_) => (0..n).map(|_| Vec::new()).collect(),
        };
        let config = self.run_config(kernel);
        let streamed = sink.is_some();
        let sink = sink.map(|s| (s, &config));
        let start = Instant::now();
        let stop = AtomicBool::new(false);
        observer.on_start(n, iterations);
        let job = || -> Vec<ChainOut<K::Scalar>> {
            buffers
                .into_par_iter()
                .enumerate()
                .map(|(i, draws)| {
                    let c = (first + i, i);
                    let out = self
                        .guarded_chain(kernel, &init, adaptation, observer, c, draws, sink, &stop);
                    observer.on_chain_end(i);
                    out
                })
                .collect()
        };
        let results = crate::pool::in_pool(self.threads, job);
        observer.on_finish();
        let mut results = results?;
        if let Some(mut err) = results.iter_mut().find_map(|r| r.failure.take()) {
            if let Error::ChainPanicked { partial, .. } = &mut err {
                *partial = Some(Box::new(PartialRun {
                    dim: kernel.dim(),
                    draws: results
                        .iter()
                        .map(|r| r.draws.iter().map(|v| v.to_f64()).collect())
                        .collect(),
                    transitions: results.iter().map(|r| r.transitions).collect(),
                    completed: results.iter().map(|r| r.completed).collect(),
                }));
            }
            return Err(err);
        }
        let mut trace = Trace {
            dim: kernel.dim(),
            n_draws: self.draws,
            chains: Vec::with_capacity(n),
            acceptance_rate: Vec::with_capacity(n),
            mean_accept_prob: Vec::with_capacity(n),
            divergences: Vec::with_capacity(n),
            warmup_divergences: Vec::with_capacity(n),
            wall_time: Default::default(),
            adapted_step_size: None,
            adapted_mass: None,
            config: config.clone(),
        };
        let mut adapted = Vec::new();
        let mut masses = Vec::new();
        for out in results {
            trace.chains.push(out.draws);
            trace
                .acceptance_rate
                .push(out.accepted as f64 / out.sampled.max(1) as f64);
            trace
                .mean_accept_prob
                .push(out.accept_prob_sum / out.sampled.max(1) as f64);
            trace.divergences.push(out.divergences);
            trace.warmup_divergences.push(out.warmup_divergences);
            trace.config.chain_wall_time.push(out.wall_time);
            if let Some(h) = out.adapted_step {
                adapted.push(h);
            }
            if let Some(m) = out.adapted_mass {
                masses.push(m);
            }
        }
        if masses.len() == n {
            trace.adapted_mass = Some(masses);
        }
        if adapted.len() == n {
            trace.adapted_step_size = Some(adapted);
        }
        trace.wall_time = start.elapsed();
        if self.strict && !streamed {
            trace.into_checked()
        } else {
            Ok(trace)
        }
    }

    /// The record of the run's configuration (the wall times are filled in at the end).
    fn run_config<K: Kernel>(&self, kernel: &K) -> crate::trace::RunConfig {
        crate::trace::RunConfig {
            sampler: kernel.name(),
            parameters: kernel.parameters(),
            draws: self.draws,
            warmup: self.warmup,
            thin: self.thin,
            seed: self.seed,
            chains: self.chains,
            first_chain: self.chain_range.as_ref().map_or(0, |r| r.start),
            chain_wall_time: Vec::new(),
            stability: kernel.stability_bound(),
        }
    }

    /// The draw buffers of every chain, reserved up front so that a run too large for memory
    /// is a typed error before any work rather than an abort after hours.
    pub(super) fn draw_buffers<T>(&self, d: usize, chains: usize) -> Result<Vec<Vec<T>>> {
        let bytes = (self.draws as u128)
            .saturating_mul(d as u128)
            .saturating_mul(chains as u128)
            .saturating_mul(core::mem::size_of::<T>() as u128);
        let too_large = || Error::AllocationTooLarge {
            what: "the draws of every chain (draws × chains × dim scalars)",
            bytes,
        };
        if bytes > isize::MAX as u128 {
            return Err(too_large());
        }
        let per_chain = self.draws * d; // cannot overflow: bounded by `bytes` above
        let mut buffers = Vec::new();
        buffers.try_reserve_exact(chains).map_err(|_| too_large())?;
        for _ in 0..chains {
            let mut b = Vec::new();
            b.try_reserve_exact(per_chain).map_err(|_| too_large())?;
            buffers.push(b);
        }
        Ok(buffers)
    }

    /// Runs chain `c = (index in the run, index in this shard)` with panics caught and the cancellation flag honoured; a failure (error
    /// or panic) raises the flag so that the other chains stop.
    fn guarded_chain<K, F, A, O>(
        &self,
        kernel: &K,
        init: &F,
        adaptation: &A,
        observer: &O,
        c: (usize, usize),
        draws: Vec<K::Scalar>,
        sink: Option<(&dyn DrawSink<K::Scalar>, &crate::trace::RunConfig)>,
        stop: &AtomicBool,
    ) -> ChainOut<K::Scalar>
    where
        K: Kernel,
        F: Fn(usize, &mut ChainRng) -> Vec<K::Scalar> + Sync,
        A: Adaptation<K>,
        O: Observer<K::Scalar>,
    {
        let mut out = ChainOut::new(draws);
        let caught = catch_unwind(AssertUnwindSafe(|| {
            self.run_chain(kernel, init, adaptation, observer, c, &mut out, sink, stop)
        }));
        let failure = match caught {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(payload) => Some(Error::ChainPanicked {
                chain: c.0,
                iteration: out.started.then_some(out.transitions),
                message: crate::pool::panic_message(payload.as_ref()),
                partial: None,
            }),
        };
        if failure.is_some() {
            stop.store(true, Ordering::Relaxed);
        }
        out.failure = failure;
        out
    }

    fn run_chain<K, F, A, O>(
        &self,
        kernel: &K,
        init: &F,
        adaptation: &A,
        observer: &O,
        (c, local): (usize, usize),
        out: &mut ChainOut<K::Scalar>,
        sink: Option<(&dyn DrawSink<K::Scalar>, &crate::trace::RunConfig)>,
        stop: &AtomicBool,
    ) -> Result<()>
    where
        K: Kernel,
        F: Fn(usize, &mut ChainRng) -> Vec<K::Scalar> + Sync,
        A: Adaptation<K>,
        O: Observer<K::Scalar>,
    {
        // Another chain failed (and raised the flag): stop here; the run returns its error.
        let cancelled =
            |it: usize| it.is_multiple_of(CANCEL_CHECK_EVERY) && stop.load(Ordering::Relaxed);
        if cancelled(0) {
            return Ok(());
        }
        // Initialisation draws from a stream of its own so that changing how the start is
        // chosen never shifts the transition stream.
        let chain_start = Instant::now();
        // A streamed run: this chain's writer lives on this thread.
        let mut writer = match sink {
            Some((s, config)) => Some(s.open(c, kernel.dim(), config)?),
            None => None,
        };
        let mut init_rng = stream(self.seed ^ INIT_STREAM_KEY, c as u64);
        let x0 = init(c, &mut init_rng);
        let mut state = kernel.init(&x0, c)?;
        out.started = true;
        let mut rng = stream(self.seed, c as u64);
        // A self-tuning kernel (`Kernel::warmup_*`, e.g. `Mala::auto`) adapts first, then the
        // explicit adaptation; the explicit one's results take precedence in the record.
        kernel.warmup_start(&mut state, self.warmup);
        let mut adapt_state = adaptation.start(kernel, &mut state, self.warmup);
        for it in 0..self.warmup {
            if cancelled(it) {
                return Ok(());
            }
            let info = kernel.step(&mut state, &mut rng)?;
            if info.divergent {
                out.divergences += 1;
                out.warmup_divergences += 1;
            }
            kernel.warmup_adapt(&mut state, it, &info);
            adaptation.adapt(kernel, &mut state, &mut adapt_state, it, &info);
            observer.on_step(local, it, true, &info, kernel.position(&state));
            if let Some(w) = &mut writer {
                w.warmup_step(it, &info, kernel.position(&state))?;
            }
            out.transitions += 1;
        }
        let tuned = kernel.warmup_finish(&mut state);
        out.adapted_step = adaptation
            .finish(kernel, &mut state, adapt_state)
            .or(tuned.step_size);
        out.adapted_mass = adaptation.adapted_metric(kernel, &state).or(tuned.metric);
        if let Some(w) = &mut writer {
            w.warmup_done(out.adapted_step, out.adapted_mass.as_deref())?;
        }
        for k in 0..self.draws * self.thin {
            if cancelled(self.warmup + k) {
                return Ok(());
            }
            let info = kernel.step(&mut state, &mut rng)?;
            out.sampled += 1;
            out.accepted += usize::from(info.accepted);
            out.accept_prob_sum += if info.accept_prob.is_finite() {
                info.accept_prob
            } else {
                0.0
            };
            out.divergences += usize::from(info.divergent);
            let x = kernel.position(&state);
            observer.on_step(local, self.warmup + k, false, &info, x);
            if (k + 1) % self.thin == 0 {
                match &mut writer {
                    Some(w) => w.draw(&info, x)?,
                    None => out.draws.extend_from_slice(x),
                }
            }
            out.transitions += 1;
        }
        out.wall_time = chain_start.elapsed();
        if let Some(w) = writer {
            w.finish(&ChainSummary {
                acceptance_rate: out.accepted as f64 / out.sampled.max(1) as f64,
                mean_accept_prob: out.accept_prob_sum / out.sampled.max(1) as f64,
                divergences: out.divergences,
                warmup_divergences: out.warmup_divergences,
                wall_time: out.wall_time,
            })?;
        }
        out.completed = true;
        Ok(())
    }
}

/// The key (xored with the seed) of the streams reserved for initialisation.
pub(super) const INIT_STREAM_KEY: u64 = 0xA5A5_5A5A_F00D_D00D;

/// How often (in transitions) a chain checks whether another chain has failed.
pub const CANCEL_CHECK_EVERY: usize = 256;

struct ChainOut<T> {
    draws: Vec<T>,
    /// Transitions completed (warm-up included).
    transitions: usize,
    /// The chain's start was built (`kernel.init` succeeded).
    started: bool,
    /// The chain ran to its end.
    completed: bool,
    failure: Option<Error>,
    accepted: usize,
    sampled: usize,
    accept_prob_sum: f64,
    divergences: usize,
    warmup_divergences: usize,
    adapted_step: Option<f64>,
    adapted_mass: Option<Vec<f64>>,
    wall_time: core::time::Duration,
}

impl<T> ChainOut<T> {
    fn new(draws: Vec<T>) -> Self {
        Self {
            draws,
            transitions: 0,
            started: false,
            completed: false,
            failure: None,
            accepted: 0,
            sampled: 0,
            accept_prob_sum: 0.0,
            divergences: 0,
            warmup_divergences: 0,
            adapted_step: None,
            adapted_mass: None,
            wall_time: Default::default(),
        }
    }
}

impl<T: Real> core::fmt::Debug for ChainOut<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ChainOut")
            .field("draws", &self.draws.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A trace without draws (the driver never returns one — zero draws is an error — but
    /// `Trace`'s fields are public inside the crate): every statistic is NaN, never 0.
    #[test]
    fn statistics_of_an_empty_trace_are_nan() {
        let mala =
            crate::Mala::new(crate::targets::Gaussian::<f64>::standard(2).unwrap(), 0.5).unwrap();
        let mut t = Sampler::new(1)
            .chains(1)
            .warmup(0)
            .run(&mala, &[vec![0.0; 2]])
            .unwrap();
        t.chains = vec![Vec::new()];
        t.n_draws = 0;
        t.acceptance_rate.clear();
        assert!(t.chain_mean(0).iter().all(|v| v.is_nan()));
        assert!(t.mean().iter().all(|v| v.is_nan()));
        assert!(t.variance().iter().all(|v| v.is_nan()));
        assert!(t.covariance().iter().all(|v| v.is_nan()));
        assert!(t.acceptance().is_nan());
        t.chains.clear();
        assert!(t.mean().iter().all(|v| v.is_nan()));
    }
}
