//! Checkpoint and resume (feature `checkpoint`): a multi-chain run saves its full state every
//! `n` iterations, and a run interrupted at any point — killed, preempted, out of wall time —
//! resumes from its last checkpoint to **the same bits** as the run that was never
//! interrupted.
//!
//! ```
//! use langevin::prelude::*;
//! use langevin::targets::Gaussian;
//! # fn main() -> Result<(), langevin::Error> {
//! let dir = std::env::temp_dir().join(format!("langevin-ckpt-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("run.ckpt");
//! let mala = Mala::auto(Gaussian::<f64>::standard(3)?)?;
//! let sampler = Sampler::new(300).chains(2).warmup(200).seed(11);
//!
//! // Checkpoints at iterations 100, 200, 300, … and at the end (iteration 500).
//! let trace = sampler.clone().checkpoint_every(100, &path).run(&mala, &[vec![0.0; 3]])?;
//! // A resumed run (here from the final checkpoint) gives the same bits as a plain run.
//! let resumed = sampler.clone().checkpoint_every(100, &path).resume(&mala)?;
//! let plain = sampler.run(&mala, &[vec![0.0; 3]])?;
//! assert_eq!(trace.chains, plain.chains);
//! assert_eq!(resumed.chains, plain.chains);
//! assert_eq!(resumed.adapted_step_size, plain.adapted_step_size);
//! std::fs::remove_dir_all(&dir).unwrap();
//! # Ok(())
//! # }
//! ```
//!
//! # What is saved
//!
//! Everything a chain's future depends on: its kernel state ([`Kernel::State`]: position,
//! cached log density and score, step size, metric, step counter — and, for a self-tuning
//! kernel such as [`crate::Mala::auto`], the adaptation state inside it), the state words of
//! its random stream ([`crate::rng::stream`]), the explicit [`Adaptation`]'s state while
//! warm-up is still running, the iteration counter, the per-chain statistics (acceptance,
//! divergences, adapted step and metric) and the draws recorded so far. Floating-point
//! numbers are stored bit for bit, so resuming continues the exact computation.
//!
//! # Which kernels
//!
//! A kernel can be checkpointed when its state can be serialised with serde: the bound is
//! [`ResumableKernel`], implemented for every [`Kernel`] whose `State` and `Scalar` are
//! `Serialize + DeserializeOwned`, and likewise [`ResumableAdaptation`] for the adaptation.
//! With this feature every kernel of the crate qualifies — [`crate::Ula`], [`crate::Mala`],
//! [`crate::mcmc::PrecondUla`], [`crate::mcmc::PrecondMala`], [`crate::mcmc::Malt`],
//! [`crate::mcmc::Barker`], the stochastic-gradient kernels, the underdamped
//! [`crate::integrators::Baoab`] / [`crate::integrators::Obabo`] and the self-tuning
//! [`crate::adapt::Adaptive`] wrappers (`Mala::auto`, `PrecondMala::auto`, `Malt::auto`) —
//! and so do the crate's adaptations. A custom kernel opts in by deriving
//! `serde::Serialize` and `serde::Deserialize` on its state; one that does not cannot be
//! checkpointed, which is a compile-time error, not a run-time surprise:
//!
//! ```compile_fail
//! use langevin::prelude::*;
//! struct Still;
//! struct NoSerde(Vec<f64>); // no serde derives
//! impl Kernel for Still {
//!     type Scalar = f64;
//!     type State = NoSerde;
//!     fn dim(&self) -> usize { 1 }
//!     fn init(&self, x0: &[f64], _: usize) -> langevin::Result<NoSerde> { Ok(NoSerde(x0.to_vec())) }
//!     fn step<R: Rng + ?Sized>(&self, _: &mut NoSerde, _: &mut R) -> langevin::Result<StepInfo> {
//!         Ok(StepInfo::UNADJUSTED)
//!     }
//!     fn position<'a>(&self, s: &'a NoSerde) -> &'a [f64] { &s.0 }
//! }
//! // error[E0277]: the trait bound `NoSerde: Serialize` is not satisfied
//! let _ = Sampler::new(10).checkpoint_every(5, "x.ckpt").run(&Still, &[vec![0.0]]);
//! ```
//!
//! # When checkpoints are written
//!
//! All chains advance in lock-step segments of `n` iterations (in parallel within a segment,
//! as in [`Sampler::run`]); at each boundary — iterations `n, 2n, 3n, …` counted from the
//! start of warm-up — the state of every chain is written, and once more at the end, so that
//! resuming a finished run returns its trace at once. The draws are those of
//! [`Sampler::run_from`] with the same configuration: checkpointing changes no bit of the
//! result, and neither does the number of threads nor the `n` of the resumed run.
//!
//! Each checkpoint is a complete file that replaces the previous one *atomically*: it is
//! written to `<file>.tmp` in the same directory, flushed to disk (`fsync`), renamed over
//! `<file>`, and (on Unix) the directory is flushed too. A crash at any moment leaves either
//! the previous checkpoint or the new one, never a mix; a leftover `<file>.tmp` is ignored
//! and overwritten.
//!
//! The recorded draws are part of every checkpoint, so a checkpoint grows with the run and
//! writing one costs time proportional to the draws so far: for a 4-chain run in d = 1000
//! with 1000 draws per chain the file is 32.1 MB (8 bytes per coordinate per draw), of which
//! 96 kB are the state without the draws, and one write took about 0.2 s on a shared 2-core
//! machine (the ignored test `measure_checkpoint_size_and_write_time` in
//! `tests/checkpoint.rs`). Choose `n` so that a write is rare compared with the work between
//! two writes.
//!
//! # Refusals
//!
//! [`Checkpointed::resume`] refuses — with a typed error and without running anything — a
//! file that
//! * is truncated, damaged or not a checkpoint ([`Error::CheckpointCorrupt`]: magic bytes,
//!   length, CRC-32, decoding);
//! * was written by another format version or another version of this crate
//!   ([`Error::CheckpointVersion`]; kernel states are only guaranteed to decode in the version
//!   that wrote them — a checkpoint is for resuming, not for archiving);
//! * belongs to another configuration ([`Error::CheckpointMismatch`], naming the first entry
//!   that differs: kernel name, kernel parameters, adaptation, scalar type, dimension, chains,
//!   seed, draws, warm-up, thinning). The thread count, strict mode and the checkpoint
//!   interval may differ: they change no bit of the result.
//!
//! A missing or unreadable file is [`Error::CheckpointIo`].
//!
//! # File format (version 1)
//!
//! All integers little-endian.
//!
//! | offset | bytes | content |
//! |---|---|---|
//! | 0 | 8 | magic `LGVNCKPT` (ASCII) |
//! | 8 | 4 | format version, `u32` ([`FORMAT_VERSION`] = 1) |
//! | 12 | 8 | payload length `n`, `u64` |
//! | 20 | 4 | CRC-32 of the payload, `u32` (IEEE 802.3 polynomial, as in zlib, PNG and gzip) |
//! | 24 | `n` | payload |
//!
//! The file is exactly `24 + n` bytes long. The payload is two values in the
//! [postcard](https://postcard.jamesmunns.com/wire-format) wire format (serde; integers as
//! varints, `f32`/`f64` as their 4/8 little-endian IEEE bytes, so bit-exact), one after the
//! other:
//!
//! 1. the run record: the crate version that wrote the file (a string), the configuration
//!    fingerprint (kernel name, kernel parameters as `(name, f64)` pairs, adaptation type,
//!    scalar type, dimension, chains, seed, draws, warm-up, thinning), the iteration the
//!    checkpoint was taken at (transitions done per chain, warm-up included), the total
//!    iterations `warmup + draws × thin`, and the wall time so far in nanoseconds;
//! 2. the chains, one record each in chain order: iteration, the four `u64` state words of
//!    its Xoshiro256++ stream, the kernel state (the serde layout of the kernel's `State`),
//!    the explicit adaptation's state (present while warm-up runs), whether warm-up has been
//!    closed, the recorded draws (row-major, `draws × dim` scalars), accepted and sampled
//!    counts, the sum of acceptance probabilities, divergences (all and warm-up), the adapted
//!    step size and metric, and the chain's wall time in nanoseconds.
//!
//! [`inspect`] reads and checks the header and the run record without decoding the chains.

use super::driver::INIT_STREAM_KEY;
use super::{Adaptation, CANCEL_CHECK_EVERY, NoAdaptation, Observer, Sampler};
use crate::error::PartialRun;
use crate::mcmc::Kernel;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::rng::{ChainRng, stream};
use crate::trace::{RunConfig, Trace};
use crate::{Error, Real, Result};
use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The first eight bytes of every checkpoint file.
pub const MAGIC: [u8; 8] = *b"LGVNCKPT";
/// The version of the file layout this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The length of the fixed header (magic, version, payload length, CRC-32).
pub const HEADER_LEN: usize = 24;

/// A [`Kernel`] whose runs can be checkpointed: its per-chain state and its scalar serialise
/// with serde. Implemented for every such kernel (derive `serde::Serialize` and
/// `serde::Deserialize` on a custom kernel's state to opt in).
pub trait ResumableKernel:
    Kernel<State: Serialize + DeserializeOwned, Scalar: Serialize + DeserializeOwned>
{
}
impl<K> ResumableKernel for K where
    K: Kernel<State: Serialize + DeserializeOwned, Scalar: Serialize + DeserializeOwned>
{
}

/// An [`Adaptation`] whose per-chain state serialises with serde, so that a run can be
/// checkpointed in the middle of warm-up. Implemented for every such adaptation.
pub trait ResumableAdaptation<K: Kernel>:
    Adaptation<K, State: Serialize + DeserializeOwned>
{
}
impl<K: Kernel, A> ResumableAdaptation<K> for A where
    A: Adaptation<K, State: Serialize + DeserializeOwned>
{
}

/// A [`Sampler`] that writes a checkpoint every `n` iterations and can resume from it; made
/// by [`Sampler::checkpoint_every`]. See the [module documentation](self).
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpointed {
    sampler: Sampler,
    every: usize,
    path: PathBuf,
}

impl Sampler {
    /// Checkpoints the run (feature `checkpoint`): every `every` iterations (warm-up
    /// included) and at the end, the full state of every chain is written atomically to
    /// `path`; [`Checkpointed::resume`] continues from it to the same bits as an
    /// uninterrupted run. `every == 0` is [`Error::ZeroCount`] when the run starts. See
    /// [`crate::run::checkpoint`].
    pub fn checkpoint_every(self, every: usize, path: impl Into<PathBuf>) -> Checkpointed {
        Checkpointed {
            sampler: self,
            every,
            path: path.into(),
        }
    }
}

/// The configuration a checkpoint belongs to: a resumed run must have the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Fingerprint {
    /// The kernel's name ([`Kernel::name`]).
    pub kernel: String,
    /// The kernel's parameters ([`Kernel::parameters`]).
    pub parameters: Vec<(String, f64)>,
    /// The explicit adaptation's type (`NoAdaptation` for [`Sampler::run`]).
    pub adaptation: String,
    /// The scalar type (`f64` or `f32`).
    pub scalar: String,
    /// Dimension.
    pub dim: u64,
    /// Number of chains.
    pub chains: u64,
    /// Run seed.
    pub seed: u64,
    /// Recorded draws per chain.
    pub draws: u64,
    /// Warm-up iterations.
    pub warmup: u64,
    /// Thinning.
    pub thin: u64,
}

impl Fingerprint {
    fn of<K: Kernel, A>(sampler: &Sampler, kernel: &K) -> Self {
        Self {
            kernel: kernel.name(),
            parameters: kernel.parameters(),
            adaptation: short_type_name::<A>(),
            scalar: short_type_name::<K::Scalar>(),
            dim: kernel.dim() as u64,
            chains: sampler.chains as u64,
            seed: sampler.seed,
            draws: sampler.draws as u64,
            warmup: sampler.warmup as u64,
            thin: sampler.thin as u64,
        }
    }

    /// The first entry that differs from `run`'s: `(name, value here, value in run)`.
    fn first_difference(&self, run: &Self) -> Option<(&'static str, String, String)> {
        let same_parameters = self.parameters.len() == run.parameters.len()
            && self
                .parameters
                .iter()
                .zip(&run.parameters)
                .all(|((a, x), (b, y))| a == b && x.to_bits() == y.to_bits());
        let entries: [(&'static str, bool, String, String); 10] = [
            (
                "kernel",
                self.kernel == run.kernel,
                self.kernel.clone(),
                run.kernel.clone(),
            ),
            (
                "parameters",
                same_parameters,
                format!("{:?}", self.parameters),
                format!("{:?}", run.parameters),
            ),
            (
                "adaptation",
                self.adaptation == run.adaptation,
                self.adaptation.clone(),
                run.adaptation.clone(),
            ),
            (
                "scalar",
                self.scalar == run.scalar,
                self.scalar.clone(),
                run.scalar.clone(),
            ),
            num("dim", self.dim, run.dim),
            num("chains", self.chains, run.chains),
            num("seed", self.seed, run.seed),
            num("draws", self.draws, run.draws),
            num("warmup", self.warmup, run.warmup),
            num("thin", self.thin, run.thin),
        ];
        entries
            .into_iter()
            .find(|(_, same, _, _)| !same)
            .map(|(name, _, here, there)| (name, here, there))
    }
}

fn num(name: &'static str, a: u64, b: u64) -> (&'static str, bool, String, String) {
    (name, a == b, a.to_string(), b.to_string())
}

fn short_type_name<T: ?Sized>() -> String {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base).to_string()
}

/// The run record at the start of the payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Meta {
    crate_version: String,
    fingerprint: Fingerprint,
    iteration: u64,
    total: u64,
    wall_time_ns: u64,
}

/// What [`inspect`] reads from a checkpoint's header and run record.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CheckpointInfo {
    /// The file-format version ([`FORMAT_VERSION`] for files this build can resume).
    pub format_version: u32,
    /// The `langevin` version that wrote it.
    pub crate_version: String,
    /// The configuration of the run that wrote it.
    pub fingerprint: Fingerprint,
    /// Transitions done per chain (warm-up included) when it was taken.
    pub iteration: u64,
    /// The run's total transitions per chain, `warmup + draws × thin`.
    pub total_iterations: u64,
    /// Wall time spent on the run up to the checkpoint, over all sessions.
    pub wall_time: Duration,
    /// The size of the file in bytes.
    pub bytes: u64,
}

impl CheckpointInfo {
    /// The run had finished when the checkpoint was taken (resuming returns its trace).
    pub fn is_complete(&self) -> bool {
        self.iteration == self.total_iterations
    }
}

/// Reads and checks a checkpoint's header and run record (magic, format version, length,
/// CRC-32, crate version) without decoding the chains.
///
/// # Errors
/// [`Error::CheckpointIo`] if the file cannot be read; [`Error::CheckpointCorrupt`] or
/// [`Error::CheckpointVersion`] as for [`Checkpointed::resume`].
pub fn inspect(path: impl AsRef<Path>) -> Result<CheckpointInfo> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    let payload = check_frame(path, &bytes)?;
    let (meta, _) = decode_meta(path, payload)?;
    Ok(CheckpointInfo {
        format_version: FORMAT_VERSION,
        crate_version: meta.crate_version,
        fingerprint: meta.fingerprint,
        iteration: meta.iteration,
        total_iterations: meta.total,
        wall_time: Duration::from_nanos(meta.wall_time_ns),
        bytes: bytes.len() as u64,
    })
}

/// One chain of a checkpointed run: everything its future depends on, and what it recorded.
#[derive(Serialize, Deserialize)]
struct Chain<S, A, T> {
    /// Transitions done (warm-up included).
    it: usize,
    rng: ChainRng,
    state: S,
    /// The explicit adaptation's state; `None` once warm-up is closed.
    adapt: Option<A>,
    /// Warm-up has been closed (`warmup_finish` and `Adaptation::finish` called).
    frozen: bool,
    draws: Vec<T>,
    accepted: usize,
    sampled: usize,
    accept_prob_sum: f64,
    divergences: usize,
    warmup_divergences: usize,
    adapted_step: Option<f64>,
    adapted_mass: Option<Vec<f64>>,
    wall_ns: u64,
}

/// The chain record of kernel `K` under adaptation `A`.
type ChainOf<K, A> =
    Chain<<K as Kernel>::State, <A as Adaptation<K>>::State, <K as Kernel>::Scalar>;

/// The run-wide settings a chain's advance needs.
struct Plan {
    warmup: usize,
    thin: usize,
}

impl<S: Send, A: Send, T: Copy + Send> Chain<S, A, T> {
    /// Closes warm-up, in the order of the driver: the kernel's own adaptation first, then the
    /// explicit one (whose results take precedence in the record).
    fn close_warmup<K, Ad>(&mut self, kernel: &K, adaptation: &Ad)
    where
        K: Kernel<State = S, Scalar = T>,
        Ad: Adaptation<K, State = A>,
    {
        let tuned = kernel.warmup_finish(&mut self.state);
        let explicit = self
            .adapt
            .take()
            .and_then(|a| adaptation.finish(kernel, &mut self.state, a));
        self.adapted_step = explicit.or(tuned.step_size);
        self.adapted_mass = adaptation
            .adapted_metric(kernel, &self.state)
            .or(tuned.metric);
        self.frozen = true;
    }

    /// Runs transitions until `until` (the same transitions, in the same order, as the
    /// driver's chain loop), or until another chain has failed.
    #[allow(clippy::too_many_arguments)]
    fn advance<K, Ad, O>(
        &mut self,
        kernel: &K,
        adaptation: &Ad,
        observer: &O,
        c: usize,
        until: usize,
        plan: &Plan,
        stop: &AtomicBool,
    ) -> Result<()>
    where
        K: Kernel<State = S, Scalar = T>,
        Ad: Adaptation<K, State = A>,
        O: Observer<T>,
    {
        let started = Instant::now();
        while self.it < until {
            let it = self.it;
            if it.is_multiple_of(CANCEL_CHECK_EVERY) && stop.load(Ordering::Relaxed) {
                break;
            }
            let info = kernel.step(&mut self.state, &mut self.rng)?;
            if it < plan.warmup {
                if info.divergent {
                    self.divergences += 1;
                    self.warmup_divergences += 1;
                }
                kernel.warmup_adapt(&mut self.state, it, &info);
                if let Some(a) = self.adapt.as_mut() {
                    adaptation.adapt(kernel, &mut self.state, a, it, &info);
                }
                observer.on_step(c, it, true, &info, kernel.position(&self.state));
                self.it += 1;
                if self.it == plan.warmup {
                    self.close_warmup(kernel, adaptation);
                }
            } else {
                self.sampled += 1;
                self.accepted += usize::from(info.accepted);
                self.accept_prob_sum += if info.accept_prob.is_finite() {
                    info.accept_prob
                } else {
                    0.0
                };
                self.divergences += usize::from(info.divergent);
                let x = kernel.position(&self.state);
                observer.on_step(c, it, false, &info, x);
                if (it - plan.warmup + 1).is_multiple_of(plan.thin) {
                    self.draws.extend_from_slice(x);
                }
                self.it += 1;
            }
        }
        self.wall_ns = self
            .wall_ns
            .saturating_add(started.elapsed().as_nanos().min(u64::MAX as u128) as u64);
        Ok(())
    }
}

impl Checkpointed {
    /// The sampler's configuration.
    pub fn sampler(&self) -> &Sampler {
        &self.sampler
    }
    /// The checkpoint file.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// The checkpoint interval in iterations.
    pub fn every(&self) -> usize {
        self.every
    }

    /// [`Sampler::run`] with checkpoints: starts afresh (replacing any checkpoint at the
    /// path).
    ///
    /// # Errors
    /// As [`Sampler::run`]; [`Error::ZeroCount`] for `every == 0`; [`Error::CheckpointIo`]
    /// when a checkpoint cannot be written (the run stops there).
    pub fn run<K: ResumableKernel>(
        &self,
        kernel: &K,
        inits: &[Vec<K::Scalar>],
    ) -> Result<Trace<K::Scalar>> {
        self.run_with(kernel, inits, &NoAdaptation, &())
    }

    /// [`Sampler::run_with`] with checkpoints.
    ///
    /// # Errors
    /// As [`Checkpointed::run`].
    pub fn run_with<K, A, O>(
        &self,
        kernel: &K,
        inits: &[Vec<K::Scalar>],
        adaptation: &A,
        observer: &O,
    ) -> Result<Trace<K::Scalar>>
    where
        K: ResumableKernel,
        A: ResumableAdaptation<K>,
        O: Observer<K::Scalar>,
    {
        let chains = self.sampler.chains;
        if inits.len() != 1 && inits.len() != chains {
            return Err(Error::InvalidConfig {
                reason: format!(
                    "got {} initial points for {chains} chains; pass one point (shared) or one \
                     per chain",
                    inits.len(),
                ),
            });
        }
        self.run_from(
            kernel,
            |c, _rng| inits[if inits.len() == 1 { 0 } else { c }].clone(),
            adaptation,
            observer,
        )
    }

    /// [`Sampler::run_from`] with checkpoints.
    ///
    /// # Errors
    /// As [`Checkpointed::run`].
    pub fn run_from<K, F, A, O>(
        &self,
        kernel: &K,
        init: F,
        adaptation: &A,
        observer: &O,
    ) -> Result<Trace<K::Scalar>>
    where
        K: ResumableKernel,
        F: Fn(usize, &mut ChainRng) -> Vec<K::Scalar> + Sync,
        A: ResumableAdaptation<K>,
        O: Observer<K::Scalar>,
    {
        let total = self.validate()?;
        let s = &self.sampler;
        if let Some(r) = &s.chain_range {
            // The checkpoint format records whole runs; a shard is not one.
            return Err(Error::InvalidConfig {
                reason: format!(
                    "checkpointing a shard (chain range {}..{}) is not supported; checkpoint \
                     the whole run, or run the shard without checkpoints",
                    r.start, r.end
                ),
            });
        }
        let buffers = s.draw_buffers::<K::Scalar>(kernel.dim(), s.chains)?;
        let start = Instant::now();
        let warmup = s.warmup;
        let build = |c: usize, draws: Vec<K::Scalar>| -> Result<Chain<_, _, _>> {
            let mut init_rng = stream(s.seed ^ INIT_STREAM_KEY, c as u64);
            let x0 = init(c, &mut init_rng);
            let mut state = kernel.init(&x0, c)?;
            kernel.warmup_start(&mut state, warmup);
            let adapt = adaptation.start(kernel, &mut state, warmup);
            let mut chain = Chain {
                it: 0,
                rng: stream(s.seed, c as u64),
                state,
                adapt: Some(adapt),
                frozen: false,
                draws,
                accepted: 0,
                sampled: 0,
                accept_prob_sum: 0.0,
                divergences: 0,
                warmup_divergences: 0,
                adapted_step: None,
                adapted_mass: None,
                wall_ns: 0,
            };
            if warmup == 0 {
                chain.close_warmup(kernel, adaptation);
            }
            Ok(chain)
        };
        observer.on_start(s.chains, total);
        let built = crate::pool::in_pool(s.threads, || {
            buffers
                .into_par_iter()
                .enumerate()
                .map(|(c, draws)| {
                    catch_unwind(AssertUnwindSafe(|| build(c, draws))).unwrap_or_else(|p| {
                        Err(Error::ChainPanicked {
                            chain: c,
                            iteration: None,
                            message: crate::pool::panic_message(p.as_ref()),
                            partial: None,
                        })
                    })
                })
                .collect::<Vec<_>>()
        })?;
        let mut chains = Vec::with_capacity(built.len());
        for chain in built {
            match chain {
                Ok(chain) => chains.push(chain),
                Err(e) => {
                    observer.on_finish();
                    return Err(e);
                }
            }
        }
        self.drive(kernel, adaptation, observer, chains, 0, 0, start)
    }

    /// Resumes the run from its checkpoint ([`Checkpointed::path`]) with no adaptation and
    /// no observer: the counterpart of [`Checkpointed::run`] (and of [`Sampler::run`], whose
    /// result it reproduces bit for bit). The sampler must have the configuration that wrote
    /// the checkpoint (the thread count, strict mode and interval may differ). Resuming a
    /// finished run's checkpoint returns its trace without running anything.
    ///
    /// # Errors
    /// [`Error::CheckpointIo`] if the file cannot be read (e.g. it does not exist);
    /// [`Error::CheckpointCorrupt`] if it is truncated or damaged; [`Error::CheckpointVersion`]
    /// if another format or crate version wrote it; [`Error::CheckpointMismatch`] if it
    /// belongs to another configuration; then as [`Checkpointed::run`].
    pub fn resume<K: ResumableKernel>(&self, kernel: &K) -> Result<Trace<K::Scalar>> {
        self.resume_with(kernel, &NoAdaptation, &())
    }

    /// Resumes a run started by [`Checkpointed::run_with`] or [`Checkpointed::run_from`],
    /// with the same adaptation (its type is part of the configuration) and any observer
    /// (which sees the iterations from the checkpoint on).
    ///
    /// # Errors
    /// As [`Checkpointed::resume`].
    pub fn resume_with<K, A, O>(
        &self,
        kernel: &K,
        adaptation: &A,
        observer: &O,
    ) -> Result<Trace<K::Scalar>>
    where
        K: ResumableKernel,
        A: ResumableAdaptation<K>,
        O: Observer<K::Scalar>,
    {
        let total = self.validate()?;
        let start = Instant::now();
        let path = &self.path;
        let bytes = read_file(path)?;
        let payload = check_frame(path, &bytes)?;
        let (meta, rest) = decode_meta(path, payload)?;
        let here = Fingerprint::of::<K, A>(&self.sampler, kernel);
        if let Some((field, checkpoint, run)) = meta.fingerprint.first_difference(&here) {
            return Err(Error::CheckpointMismatch {
                path: path.clone(),
                field,
                checkpoint,
                run,
            });
        }
        let corrupt = |reason: String| Error::CheckpointCorrupt {
            path: path.clone(),
            reason,
        };
        let (chains, tail): (Vec<ChainOf<K, A>>, _) =
            postcard::take_from_bytes(rest).map_err(|e| {
                corrupt(format!(
                    "the chains do not decode as this kernel's state ({e}); was it written by \
                     another program?"
                ))
            })?;
        if !tail.is_empty() {
            return Err(corrupt(format!(
                "{} bytes follow the last chain",
                tail.len()
            )));
        }
        let iteration = usize::try_from(meta.iteration)
            .ok()
            .filter(|&it| it <= total && meta.total == total as u64)
            .ok_or_else(|| {
                corrupt(format!(
                    "iteration {} of {} does not fit this run's {total}",
                    meta.iteration, meta.total
                ))
            })?;
        let s = &self.sampler;
        let d = kernel.dim();
        if chains.len() != s.chains {
            return Err(corrupt(format!(
                "it holds {} chains, its header says {}",
                chains.len(),
                s.chains
            )));
        }
        for (c, ch) in chains.iter().enumerate() {
            let recorded = iteration.saturating_sub(s.warmup) / s.thin;
            let consistent = ch.it == iteration
                && ch.draws.len() == recorded * d
                && ch.frozen == (iteration >= s.warmup)
                && ch.adapt.is_some() != ch.frozen
                && kernel.position(&ch.state).len() == d;
            if !consistent {
                return Err(corrupt(format!(
                    "chain {c} is inconsistent with iteration {iteration} (its own iteration \
                     {}, {} recorded scalars for {} draws of dimension {d})",
                    ch.it,
                    ch.draws.len(),
                    recorded
                )));
            }
        }
        let mut chains = chains;
        // The draws to come need room: reserve it now, so that a resumed run that cannot be
        // allocated fails before any work, as a fresh one does.
        let remaining = (s.draws * d).saturating_sub(chains[0].draws.len());
        for ch in &mut chains {
            ch.draws
                .try_reserve_exact(remaining)
                .map_err(|_| Error::AllocationTooLarge {
                    what: "the draws of every chain (draws × chains × dim scalars)",
                    bytes: (s.draws as u128)
                        * (d as u128)
                        * (s.chains as u128)
                        * core::mem::size_of::<K::Scalar>() as u128,
                })?;
        }
        observer.on_start(s.chains, total);
        self.drive(
            kernel,
            adaptation,
            observer,
            chains,
            iteration,
            meta.wall_time_ns,
            start,
        )
    }

    /// The checks of [`Sampler::run_from`], plus the interval; returns the total number of
    /// transitions per chain.
    fn validate(&self) -> Result<usize> {
        let s = &self.sampler;
        if s.draws == 0 {
            return Err(Error::ZeroCount { what: "draws" });
        }
        if s.chains == 0 {
            return Err(Error::ZeroCount { what: "chains" });
        }
        if s.thin == 0 {
            return Err(Error::ZeroCount { what: "thin" });
        }
        if s.threads == Some(0) {
            return Err(Error::ZeroCount { what: "threads" });
        }
        if self.every == 0 {
            return Err(Error::ZeroCount {
                what: "checkpoint interval",
            });
        }
        s.draws
            .checked_mul(s.thin)
            .and_then(|n| n.checked_add(s.warmup))
            .ok_or_else(|| Error::InvalidConfig {
                reason: format!(
                    "warmup + draws × thin = {} + {} × {} overflows usize; ask for fewer draws",
                    s.warmup, s.draws, s.thin
                ),
            })
    }

    /// Advances every chain from `from` to the end in lock-step segments, writing a
    /// checkpoint at each boundary and at the end, then assembles the trace.
    #[allow(clippy::too_many_arguments)]
    fn drive<K, A, O>(
        &self,
        kernel: &K,
        adaptation: &A,
        observer: &O,
        mut chains: Vec<ChainOf<K, A>>,
        from: usize,
        wall_before_ns: u64,
        start: Instant,
    ) -> Result<Trace<K::Scalar>>
    where
        K: ResumableKernel,
        A: ResumableAdaptation<K>,
        O: Observer<K::Scalar>,
    {
        let s = &self.sampler;
        let total = s.warmup + s.draws * s.thin;
        let plan = Plan {
            warmup: s.warmup,
            thin: s.thin,
        };
        let fingerprint = Fingerprint::of::<K, A>(s, kernel);
        let stop = AtomicBool::new(false);
        let wall_ns =
            |start: Instant| wall_before_ns.saturating_add(start.elapsed().as_nanos() as u64);
        let mut at = from;
        let outcome = crate::pool::in_pool(s.threads, || -> Result<()> {
            while at < total {
                let until = ((at / self.every + 1).saturating_mul(self.every)).min(total);
                let failures: Vec<Option<Error>> = chains
                    .par_iter_mut()
                    .enumerate()
                    .map(|(c, ch)| {
                        let r = catch_unwind(AssertUnwindSafe(|| {
                            ch.advance(kernel, adaptation, observer, c, until, &plan, &stop)
                        }));
                        let failure = match r {
                            Ok(Ok(())) => None,
                            Ok(Err(e)) => Some(e),
                            Err(p) => Some(Error::ChainPanicked {
                                chain: c,
                                iteration: Some(ch.it),
                                message: crate::pool::panic_message(p.as_ref()),
                                partial: None,
                            }),
                        };
                        if failure.is_some() {
                            stop.store(true, Ordering::Relaxed);
                        } else if until == total {
                            observer.on_chain_end(c);
                        }
                        failure
                    })
                    .collect();
                if let Some(mut err) = failures.into_iter().flatten().next() {
                    if let Error::ChainPanicked { partial, .. } = &mut err {
                        *partial = Some(Box::new(PartialRun {
                            dim: kernel.dim(),
                            draws: chains
                                .iter()
                                .map(|ch| ch.draws.iter().map(|v| v.to_f64()).collect())
                                .collect(),
                            transitions: chains.iter().map(|ch| ch.it).collect(),
                            completed: chains.iter().map(|ch| ch.it == total).collect(),
                        }));
                    }
                    return Err(err);
                }
                at = until;
                let meta = Meta {
                    crate_version: env!("CARGO_PKG_VERSION").to_string(),
                    fingerprint: fingerprint.clone(),
                    iteration: at as u64,
                    total: total as u64,
                    wall_time_ns: wall_ns(start),
                };
                write_checkpoint(&self.path, &meta, &chains)?;
            }
            Ok(())
        });
        observer.on_finish();
        outcome??;
        let mut trace = Trace {
            dim: kernel.dim(),
            n_draws: s.draws,
            chains: Vec::with_capacity(s.chains),
            acceptance_rate: Vec::with_capacity(s.chains),
            mean_accept_prob: Vec::with_capacity(s.chains),
            divergences: Vec::with_capacity(s.chains),
            warmup_divergences: Vec::with_capacity(s.chains),
            wall_time: Duration::from_nanos(wall_ns(start)),
            adapted_step_size: None,
            adapted_mass: None,
            config: RunConfig {
                sampler: kernel.name(),
                parameters: kernel.parameters(),
                draws: s.draws,
                warmup: s.warmup,
                thin: s.thin,
                seed: s.seed,
                chains: s.chains,
                first_chain: 0,
                chain_wall_time: Vec::with_capacity(s.chains),
                stability: kernel.stability_bound(),
            },
        };
        let mut adapted = Vec::new();
        let mut masses = Vec::new();
        for ch in chains {
            trace.chains.push(ch.draws);
            let sampled = ch.sampled.max(1) as f64;
            trace.acceptance_rate.push(ch.accepted as f64 / sampled);
            trace.mean_accept_prob.push(ch.accept_prob_sum / sampled);
            trace.divergences.push(ch.divergences);
            trace.warmup_divergences.push(ch.warmup_divergences);
            trace
                .config
                .chain_wall_time
                .push(Duration::from_nanos(ch.wall_ns));
            adapted.extend(ch.adapted_step);
            masses.extend(ch.adapted_mass);
        }
        if masses.len() == s.chains {
            trace.adapted_mass = Some(masses);
        }
        if adapted.len() == s.chains {
            trace.adapted_step_size = Some(adapted);
        }
        if s.strict {
            trace.into_checked()
        } else {
            Ok(trace)
        }
    }
}

fn io_error<'a>(path: &'a Path, operation: &'static str) -> impl Fn(std::io::Error) -> Error + 'a {
    move |e| Error::CheckpointIo {
        path: path.to_path_buf(),
        operation,
        kind: e.kind(),
        reason: e.to_string(),
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(io_error(path, "read the checkpoint"))
}

/// The temporary file a checkpoint is written to before it is renamed over `path`:
/// `<file>.tmp` in the same directory (a rename is atomic only within one file system).
pub fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Encodes the checkpoint (header + payload) and replaces `path` with it atomically.
fn write_checkpoint<S: Serialize, A: Serialize, T: Serialize>(
    path: &Path,
    meta: &Meta,
    chains: &[Chain<S, A, T>],
) -> Result<()> {
    let encode = |e: postcard::Error| Error::CheckpointIo {
        path: path.to_path_buf(),
        operation: "encode the checkpoint",
        kind: std::io::ErrorKind::InvalidData,
        reason: e.to_string(),
    };
    let mut bytes = postcard::to_extend(meta, vec![0u8; HEADER_LEN]).map_err(encode)?;
    bytes = postcard::to_extend(&chains, bytes).map_err(encode)?;
    let payload_len = (bytes.len() - HEADER_LEN) as u64;
    let crc = crc32fast::hash(&bytes[HEADER_LEN..]);
    bytes[0..8].copy_from_slice(&MAGIC);
    bytes[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes[12..20].copy_from_slice(&payload_len.to_le_bytes());
    bytes[20..24].copy_from_slice(&crc.to_le_bytes());
    write_atomic(path, &bytes)
}

/// Writes `bytes` to `path` so that a crash at any point leaves the old file or the new one:
/// temporary file in the same directory, `fsync`, rename, `fsync` of the directory (Unix).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temporary_path(path);
    {
        let mut file =
            std::fs::File::create(&tmp).map_err(io_error(path, "create the temporary file"))?;
        file.write_all(bytes)
            .map_err(io_error(path, "write the temporary file"))?;
        file.sync_all()
            .map_err(io_error(path, "flush the temporary file to disk"))?;
    }
    std::fs::rename(&tmp, path).map_err(io_error(path, "rename the temporary file"))?;
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error(path, "flush the directory to disk"))?;
    }
    Ok(())
}

/// Checks magic, format version, length and CRC-32; returns the payload.
fn check_frame<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a [u8]> {
    let corrupt = |reason: String| Error::CheckpointCorrupt {
        path: path.to_path_buf(),
        reason,
    };
    let magic_len = bytes.len().min(MAGIC.len());
    if bytes[..magic_len] != MAGIC[..magic_len] {
        return Err(corrupt(
            "it does not start with the magic bytes LGVNCKPT: not a langevin checkpoint".into(),
        ));
    }
    if bytes.len() < HEADER_LEN {
        return Err(corrupt(format!(
            "truncated: {} bytes, shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        )));
    }
    let word = |r: core::ops::Range<usize>| {
        let mut b = [0u8; 8];
        b[..r.len()].copy_from_slice(&bytes[r]);
        u64::from_le_bytes(b)
    };
    let version = word(8..12) as u32;
    if version != FORMAT_VERSION {
        return Err(Error::CheckpointVersion {
            path: path.to_path_buf(),
            what: "format",
            found: version.to_string(),
            expected: FORMAT_VERSION.to_string(),
        });
    }
    let declared = word(12..20);
    let payload = &bytes[HEADER_LEN..];
    if payload.len() as u64 != declared {
        return Err(corrupt(format!(
            "{} payload bytes where the header declares {declared}{}",
            payload.len(),
            if (payload.len() as u64) < declared {
                " (truncated)"
            } else {
                ""
            }
        )));
    }
    let stored = word(20..24) as u32;
    let actual = crc32fast::hash(payload);
    if stored != actual {
        return Err(corrupt(format!(
            "CRC-32 mismatch: the header says {stored:08x}, the payload hashes to {actual:08x}"
        )));
    }
    Ok(payload)
}

/// Decodes the run record and checks the crate version; returns it and the rest.
fn decode_meta<'a>(path: &Path, payload: &'a [u8]) -> Result<(Meta, &'a [u8])> {
    let (meta, rest): (Meta, _) =
        postcard::take_from_bytes(payload).map_err(|e| Error::CheckpointCorrupt {
            path: path.to_path_buf(),
            reason: format!("the run record does not decode ({e})"),
        })?;
    let this = env!("CARGO_PKG_VERSION");
    if meta.crate_version != this {
        return Err(Error::CheckpointVersion {
            path: path.to_path_buf(),
            what: "crate",
            found: meta.crate_version,
            expected: this.to_string(),
        });
    }
    Ok((meta, rest))
}
