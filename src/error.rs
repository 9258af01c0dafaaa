//! The crate's error type.
//!
//! One `#[non_exhaustive]` [`Error`] for the whole crate. The one other error type is
//! [`crate::diagnostics::DiagnosticsError`]: the diagnostics are a leaf library on plain
//! slices that imports nothing else from the crate, so they carry their own error, which
//! [`Error::Diagnostics`] wraps (`From` is implemented, so `?` converts it).

/// Everything that can go wrong in `langevin`, with a message that says what to change.
///
/// Constructors validate their arguments and return these errors; the step loops of the
/// samplers return them only for conditions that cannot be recovered from inside the loop
/// (a non-finite state of an unadjusted scheme). A non-finite density or score at a MALA
/// proposal is *not* an error: the proposal is rejected and counted as a divergence.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A step size (or another quantity that must be a finite positive number) was zero,
    /// negative, NaN or infinite.
    #[error(
        "{name} must be finite and > 0, got {value}; pass a positive step such as 1e-2 \
         (convention: x' = x + h ∇log p(x) + sqrt(2h) ξ)"
    )]
    InvalidStepSize {
        /// Which parameter.
        name: &'static str,
        /// The offending value.
        value: f64,
    },
    /// A scalar parameter is outside its admissible range.
    #[error("invalid parameter {name} = {value}: {expected}")]
    InvalidParameter {
        /// Which parameter.
        name: &'static str,
        /// The offending value.
        value: f64,
        /// What the parameter must satisfy.
        expected: &'static str,
    },
    /// Two lengths that must agree do not.
    #[error(
        "dimension mismatch for {what}: expected {expected}, got {got}; pass a slice of length {expected}"
    )]
    DimensionMismatch {
        /// What was being checked (e.g. "initial point").
        what: &'static str,
        /// The length the target or configuration requires.
        expected: usize,
        /// The length that was passed.
        got: usize,
    },
    /// A target, SDE or data set of dimension zero.
    #[error("{what} has dimension 0; the dimension must be at least 1")]
    ZeroDimension {
        /// What had dimension zero.
        what: &'static str,
    },
    /// A count (chains, levels, steps per level, data points…) that must be positive was zero.
    #[error("{what} must be at least 1, got 0")]
    ZeroCount {
        /// What was zero.
        what: &'static str,
    },
    /// The initial point or its log density / score is not finite.
    #[error(
        "invalid initial state for chain {chain}: {reason}; start inside the support of the target, \
         where the log density and its score are finite"
    )]
    InvalidInitialState {
        /// The chain the initial point was meant for.
        chain: usize,
        /// What was non-finite.
        reason: String,
    },
    /// An unadjusted scheme (ULA, an SDE integrator, annealed or reverse-time sampler)
    /// produced a non-finite state. The chain stops; the step size is usually too large
    /// (ULA on a Gaussian diverges for h ≥ 2 σ²_min).
    #[error(
        "non-finite state in chain {chain} at step {step} (coordinate {coordinate}); reduce \
         the step size (ULA diverges on N(m, s²) for h ≥ 2 s²) or check the score for overflow"
    )]
    NonFiniteState {
        /// The chain (or path / particle) that diverged.
        chain: usize,
        /// The step at which the first non-finite value appeared (0-based, counting warm-up).
        step: usize,
        /// The first non-finite coordinate.
        coordinate: usize,
    },
    /// A matrix that must be symmetric positive definite is not.
    #[error("{what} is not symmetric positive definite (Cholesky failed); pass an SPD matrix")]
    NotPositiveDefinite {
        /// Which matrix.
        what: &'static str,
    },
    /// A non-finite entry in an input array.
    #[error("{what} contains a non-finite value at index {index}; pass finite values only")]
    NonFiniteInput {
        /// Which input.
        what: &'static str,
        /// Index of the first offending entry.
        index: usize,
    },
    /// A schedule (noise levels, times, step sizes over time) is malformed.
    #[error("invalid schedule: {reason}")]
    InvalidSchedule {
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A configuration that is well-typed but inconsistent.
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// What is inconsistent and how to fix it.
        reason: String,
    },
    /// Training a learned score model produced a non-finite loss or gradient. The model
    /// keeps the weights of the last finished epoch.
    #[error(
        "training diverged at epoch {epoch} (after {step} steps) with loss {loss}; the model \
         keeps the weights of the last finished epoch: lower the learning rate (e.g. 10×) or \
         standardise the data"
    )]
    TrainingDiverged {
        /// The epoch (0-based) in which the loss became non-finite.
        epoch: usize,
        /// Optimisation steps completed before it.
        step: usize,
        /// The offending loss.
        loss: f64,
    },
    /// A condition (class labels, condition vector) that does not fit a conditional model:
    /// a label out of range, the wrong number of labels or a vector of the wrong length.
    #[error("invalid condition: {reason}")]
    InvalidCondition {
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A model file cannot be read, written or understood.
    #[error("model file: {reason}")]
    ModelFile {
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A streamed trace file (`crate::stream`) cannot be created, written, read or
    /// understood (an I/O error, a file that is not in the documented format, a missing
    /// chain file).
    #[error("trace file {}: {reason}", path.display())]
    TraceFile {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A streamed trace file is incomplete: shorter than its header says, cut inside a row,
    /// or never finalised (the run was killed or failed before the chain finished). Read it
    /// with `stream::Truncation::KeepCompleteRows` to recover the complete rows.
    #[error(
        "trace file {} is truncated: {detail} ({complete_rows} complete rows); rerun the \
         chain, or read with Truncation::KeepCompleteRows to keep the complete rows",
        path.display()
    )]
    TraceTruncated {
        /// The file.
        path: std::path::PathBuf,
        /// Rows the file should hold when complete, when its header says (`None` when the
        /// file is cut before that).
        expected_rows: Option<usize>,
        /// Complete rows it holds.
        complete_rows: usize,
        /// What is missing (a partial row, missing rows, the end-of-chain record).
        detail: String,
    },
    /// A user closure (log density, score, initialiser, observer…) panicked inside a chain,
    /// a particle block or an SDE path. The panic was caught: the process goes on, and the
    /// work of the other chains is kept in `partial` when the run has any (the multi-chain
    /// driver; particle samplers and the SDE solver return no partial state). Rust's default
    /// panic hook still prints the panic message on standard error when it happens (install
    /// a hook with [`std::panic::set_hook`] to silence it).
    #[error(
        "chain {chain} panicked {}: {message}; fix the panicking closure (log density, score, \
         initialiser or observer) — the other chains' draws are in the error's `partial` field",
        match iteration { Some(i) => format!("at iteration {i} (0-based, warm-up included)"),
                          None => "during initialisation".to_string() }
    )]
    ChainPanicked {
        /// The chain (for particle samplers: the first particle of the block of 64 that
        /// panicked; for the SDE solver: the path).
        chain: usize,
        /// The transition being computed when the panic happened (0-based, warm-up
        /// included); `None` when the panic happened while building the chain's start, or
        /// when the sampler does not count iterations (particle blocks).
        iteration: Option<usize>,
        /// The panic message (the `&str` or `String` payload; a placeholder otherwise).
        message: String,
        /// Whatever every chain had recorded when the run stopped (multi-chain driver only).
        partial: Option<Box<PartialRun>>,
    },
    /// A run whose output cannot be allocated (or whose size overflows `usize`). Checked
    /// before any chain starts.
    #[error(
        "the run needs {bytes} bytes for {what}, which cannot be allocated; reduce the number \
         of draws, chains or the dimension, or keep fewer draws with `thin`"
    )]
    AllocationTooLarge {
        /// What was being allocated.
        what: &'static str,
        /// The number of bytes asked for (saturated at `u128::MAX`).
        bytes: u128,
    },
    /// A checkpoint file could not be read or written (feature `checkpoint`,
    /// [`crate::run::checkpoint`]).
    #[error(
        "checkpoint {}: cannot {operation}: {reason}; check that the directory exists and is \
         writable (resuming needs the file a checkpointed run wrote)",
        path.display()
    )]
    CheckpointIo {
        /// The checkpoint's path.
        path: std::path::PathBuf,
        /// What was being done (e.g. "read", "write the temporary file").
        operation: &'static str,
        /// The operating system's error kind (e.g. [`std::io::ErrorKind::NotFound`]).
        kind: std::io::ErrorKind,
        /// The operating system's message.
        reason: String,
    },
    /// A checkpoint file is truncated, damaged or not a checkpoint at all: wrong magic
    /// bytes, a length that disagrees with its header, a CRC-32 mismatch, or a payload that
    /// does not decode. Nothing was resumed.
    #[error(
        "checkpoint {} is corrupt: {reason}; it cannot be resumed — start the run afresh (a \
         checkpoint is replaced atomically, so this file was damaged after it was written)",
        path.display()
    )]
    CheckpointCorrupt {
        /// The checkpoint's path.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A checkpoint was written by another version of the checkpoint format or of this
    /// crate; kernel states are only guaranteed to decode in the version that wrote them.
    #[error(
        "checkpoint {} was written with {what} version {found}, this build has {expected}; \
         resume it with the version that wrote it, or start the run afresh",
        path.display()
    )]
    CheckpointVersion {
        /// The checkpoint's path.
        path: std::path::PathBuf,
        /// `"format"` (the file layout) or `"crate"` (the `langevin` version).
        what: &'static str,
        /// The version in the file.
        found: String,
        /// The version of this build.
        expected: String,
    },
    /// A checkpoint belongs to a run with another configuration (kernel, its parameters,
    /// adaptation, scalar type, dimension, chains, seed, draws, warm-up or thinning); resuming
    /// it would not reproduce the run that was asked for.
    #[error(
        "checkpoint {} is from a run with {field} = {checkpoint}, but this run has {field} = \
         {run}; resume with the configuration that wrote it, or point the run at another file",
        path.display()
    )]
    CheckpointMismatch {
        /// The checkpoint's path.
        path: std::path::PathBuf,
        /// The configuration entry that differs (e.g. `"seed"`, `"kernel"`).
        field: &'static str,
        /// Its value in the checkpoint.
        checkpoint: String,
        /// Its value in this run.
        run: String,
    },
    /// A diagnostic (ESS, R-hat, goodness of fit…) could not be computed from the draws.
    #[error("diagnostics: {0}")]
    Diagnostics(#[from] crate::diagnostics::DiagnosticsError),
    /// Shards merged into one run ([`crate::Trace::merge`], `Particles::merge`) cover some
    /// chains (or particles) twice.
    #[error(
        "chains (or particles) {first}..{end} are in more than one shard; merge each shard of \
         the run exactly once"
    )]
    ShardOverlap {
        /// The first index covered twice.
        first: usize,
        /// One past the last index covered twice.
        end: usize,
    },
    /// Shards merged into one run leave chains (or particles) out.
    #[error(
        "chains (or particles) {first}..{end} are in no shard; run the missing shard \
         (e.g. `Sampler::chain_range({first}..{end})`) and merge it too"
    )]
    ShardMissing {
        /// The first missing index.
        first: usize,
        /// One past the last missing index.
        end: usize,
    },
    /// Shards that do not come from the same run (different seed, sampler, parameters,
    /// draws…), a shard file that cannot be read, or a run that cannot be sharded.
    #[error("invalid shard: {reason}")]
    InvalidShard {
        /// What differs or is wrong, and what to change.
        reason: String,
    },
    /// Another process of a distributed run (an MPI rank, feature `mpi`) failed; its error
    /// message is carried along.
    #[error("rank {rank} of the distributed run failed: {message}")]
    RankFailed {
        /// The failing rank.
        rank: usize,
        /// Its error message.
        message: String,
    },
    /// A run finished but its health report has warnings, and the sampler was told to treat
    /// them as an error (`Sampler::strict(true)`). The run's trace is carried along: get it
    /// back with `Trace::from_error`.
    #[error("the run finished with warnings (strict mode): {report}")]
    Unhealthy {
        /// The health report.
        report: crate::diagnostics::health::HealthReport,
        /// The run's trace, recovered by `Trace::<T>::from_error(&error)`.
        trace: UnhealthyTrace,
    },
}

/// The trace of an [`Error::Unhealthy`] run, type-erased (the error type is not generic over
/// the scalar); recover it with `Trace::<T>::from_error`. Two of them compare equal when they
/// hold the same trace object.
#[derive(Clone)]
pub struct UnhealthyTrace(pub(crate) std::sync::Arc<dyn std::any::Any + Send + Sync>);

impl core::fmt::Debug for UnhealthyTrace {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("UnhealthyTrace(..)")
    }
}

impl PartialEq for UnhealthyTrace {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

/// What a multi-chain run had done when it stopped on a panic ([`Error::ChainPanicked`]):
/// every chain's recorded draws up to that point, so that the work of the chains that did not
/// fail is not lost. Draws are converted to `f64` so that the error type stays non-generic.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PartialRun {
    /// Dimension d.
    pub dim: usize,
    /// `draws[c]`: the draws chain c recorded (after warm-up and thinning), row-major
    /// `k × dim` with `k ≤` the requested number of draws.
    pub draws: Vec<Vec<f64>>,
    /// `transitions[c]`: the transitions chain c completed, warm-up included.
    pub transitions: Vec<usize>,
    /// `completed[c]`: whether chain c ran to its end (the others failed or were stopped
    /// when another chain failed).
    pub completed: Vec<bool>,
}

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Checks that a step size (or another strictly positive quantity) is finite and `> 0`.
pub(crate) fn check_positive(name: &'static str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidStepSize { name, value })
    }
}

/// Checks that a length equals the expected one.
pub(crate) fn check_len(what: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(Error::DimensionMismatch {
            what,
            expected,
            got,
        })
    }
}

/// Checks that every entry of a slice is finite.
pub(crate) fn check_finite<T: crate::Real>(what: &'static str, xs: &[T]) -> Result<()> {
    match xs.iter().position(|v| !v.finite()) {
        None => Ok(()),
        Some(index) => Err(Error::NonFiniteInput { what, index }),
    }
}
