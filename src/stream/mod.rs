//! Streaming traces to disk: draws written as they are produced, with memory bounded
//! whatever the number of draws, and readers that detect truncated files.
//!
//! [`StreamSink`] is a [`DrawSink`] for [`crate::Sampler::stream_to`]: each chain's thread
//! opens its own files and writes every recorded draw through a 64 KiB buffer, so a chain
//! holds O(d) memory besides the buffer, and what it writes depends only on its own random
//! stream (the files are identical for any thread count). The values are bit for bit those
//! [`crate::Sampler::run`] keeps in memory.
//!
//! # Formats
//!
//! Files are per chain `c = 1 … C` (CmdStan numbers chains from 1), `{dir}/{prefix}_{c}.…`.
//!
//! **CmdStan CSV** ([`StreamSink::csv`]): `{prefix}_{c}.csv`, the layout of
//! [`crate::export::CmdStanCsv`] — configuration comments, header line, `# Adaptation
//! terminated` block after warm-up, one row per draw (`lp__` when a log density is given,
//! `accept_stat__`, `stepsize__` when a step size is known, `divergent__`, then the
//! coordinates in shortest round-trip decimal), and the `#  Elapsed Time` footer written when
//! the chain ends. A streamed file is byte for byte the whole-trace export of the same run
//! with [`crate::export::DrawStats`] (tested in `tests/stream.rs`). With
//! [`StreamSink::save_warmup`], warm-up iterations `0, thin, 2·thin, …` are rows before the
//! adaptation block, and the header says `save_warmup = 1`, as CmdStan does. ArviZ:
//! `az.from_cmdstan(posterior=sorted(glob("dir/chain_*.csv")))`.
//!
//! **NumPy `.npy`** ([`StreamSink::npy`]), the append-friendly binary format:
//!
//! | file | array |
//! |---|---|
//! | `{prefix}_{c}.npy` | draws, shape `(draws, d)`, `<f8`, C order |
//! | `{prefix}_{c}.stats.npy` | shape `(draws, 2)`, `<f8`: `accept_stat__` (the transition's acceptance probability), `divergent__` (0 or 1) |
//! | `{prefix}_{c}.warmup.npy`, `{prefix}_{c}.warmup.stats.npy` | the same for the kept warm-up iterations (with [`StreamSink::save_warmup`]) |
//!
//! Each is a `.npy` version 1.0 file (magic `\x93NUMPY`, version `1 0`, a little-endian
//! `u16` header length, the header dictionary padded with spaces to a 64-byte boundary),
//! then the rows. The header states the **final** shape from the start (a sampling run knows
//! its number of draws), so nothing is rewritten at the end, and a file cut short is
//! recognised by any reader, NumPy included (`np.load` refuses a file shorter than its
//! shape), and rows are fixed-size, so the complete rows of a cut file are simply the first
//! `⌊(length − header) / 8d⌋`. `np.load("chain_1.npy", mmap_mode="r")` maps a file larger
//! than memory.
//!
//! Why `.npy` rather than Arrow IPC or Zarr: it needs no dependency (the `arrow` and `zarrs`
//! crates would add minutes to a cold build of all features), NumPy reads it natively (and
//! ArviZ through `az.from_dict`), it can be appended row by row with no footer or chunk
//! index to maintain, and its truncation is detectable by arithmetic on the file length.
//! What it lacks — per-chain metadata — is in the summary file below.
//!
//! **End-of-chain summary** (both formats): when a chain completes, after its data files are
//! flushed and synced to disk, `{prefix}_{c}.summary` is written atomically (to a temporary
//! file, synced, renamed). It is UTF-8 text, one `key = value` per line: `format = 1`,
//! `chain`, `chains`, `dim`, `draws`, `warmup`, `thin`, `seed`, `save_warmup`, `sampler`,
//! `parameter.NAME` for each kernel parameter, `acceptance_rate`, `mean_accept_prob`,
//! `divergences`, `warmup_divergences`, `wall_time_ns`, and `adapted_step_size`,
//! `adapted_metric` (comma-separated) when adapted; numbers in shortest round-trip form.
//! Its presence marks the chain as finalised: opening a chain deletes a stale one first.
//!
//! # Reading back
//!
//! [`read_trace`] reads a run's files into a [`Trace`](crate::Trace) (then
//! [`Trace::summary`](crate::Trace::summary), R-hat and ESS work as on an in-memory run);
//! [`read_npy`] and [`read_csv`] read one file. Without loading every coordinate,
//! [`read_coordinates`] reads a range of coordinates of a `.npy` run row by row, and
//! [`diagnostics_from_files`] computes R-hat and bulk ESS a batch of coordinates at a time
//! (memory `batch × chains × draws × 8` bytes). Every reader checks completeness and
//! returns [`Error::TraceTruncated`] for a file cut inside a row, shorter than its header
//! states, or whose chain has no summary (killed or failed before the end) — or, with
//! [`Truncation::KeepCompleteRows`], keeps the complete rows (a recovered chain without a
//! summary gets NaN acceptance statistics, and every chain is cut to the shortest one).
//! Malformed files are [`Error::TraceFile`].
//!
//! # Example
//! ```
//! use langevin::prelude::*;
//! use langevin::stream::{StreamSink, Truncation, read_trace};
//! use langevin::targets::Gaussian;
//!
//! let target = Gaussian::<f64>::standard(2)?;
//! let mala = Mala::new(target.clone(), 0.5)?;
//! let dir = std::env::temp_dir().join("langevin_doc_stream");
//! let sink = StreamSink::csv(&dir)
//!     .names(["mu.1", "mu.2"])
//!     .log_density(move |x: &[f64]| target.log_density(x));
//! let run = Sampler::new(1_000).chains(2).warmup(200).seed(3)
//!     .stream_to(&mala, &[vec![0.0; 2]], &sink)?;
//! let trace = read_trace::<f64>(&dir, "chain", Truncation::Error)?;
//! assert_eq!(trace.n_draws, 1_000);
//! assert_eq!(trace.acceptance_rate, run.acceptance_rate);
//! assert!(trace.max_rhat()? < 1.1);
//! # Ok::<(), langevin::Error>(())
//! ```

mod read;
mod write;

pub use read::{
    CoordinateDiagnostics, NpyMatrix, Truncation, diagnostics_from_files, read_coordinates,
    read_csv, read_npy, read_trace,
};

use crate::Real;
use crate::run::{ChainWriter, DrawSink};
use crate::trace::RunConfig;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// A log density evaluated at every streamed CSV row (`lp__`).
type SharedLogDensity<'a> = Box<dyn Fn(&[f64]) -> f64 + Send + Sync + 'a>;

/// The on-disk format of a [`StreamSink`] (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamFormat {
    /// CmdStan-layout CSV, one file per chain.
    CmdStanCsv,
    /// NumPy `.npy`: draws and per-draw statistics, one pair of files per chain.
    Npy,
}

/// Writes a streamed run's draws to files, one set per chain (see the
/// [module docs](self) for the formats); pass it to [`crate::Sampler::stream_to`].
#[allow(missing_debug_implementations)]
pub struct StreamSink<'a> {
    format: StreamFormat,
    dir: PathBuf,
    prefix: String,
    save_warmup: bool,
    names: Option<Vec<String>>,
    log_density: Option<SharedLogDensity<'a>>,
    step_size: Option<f64>,
}

impl<'a> StreamSink<'a> {
    /// CmdStan CSV files `{dir}/chain_{c}.csv` (the directory is created when needed).
    pub fn csv(dir: impl AsRef<Path>) -> Self {
        Self::new(StreamFormat::CmdStanCsv, dir)
    }
    /// `.npy` files `{dir}/chain_{c}.npy` and `{dir}/chain_{c}.stats.npy`.
    pub fn npy(dir: impl AsRef<Path>) -> Self {
        Self::new(StreamFormat::Npy, dir)
    }
    /// A sink of the given format.
    pub fn new(format: StreamFormat, dir: impl AsRef<Path>) -> Self {
        Self {
            format,
            dir: dir.as_ref().to_path_buf(),
            prefix: "chain".into(),
            save_warmup: false,
            names: None,
            log_density: None,
            step_size: None,
        }
    }
    /// The file-name prefix (default `chain`): files are `{prefix}_{c}.…`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }
    /// Also write the warm-up iterations `0, thin, 2·thin, …` (CmdStan's `save_warmup`):
    /// CSV rows before the adaptation block, or `.warmup.npy` files. Off by default.
    pub fn save_warmup(mut self, save: bool) -> Self {
        self.save_warmup = save;
        self
    }
    /// CSV parameter column names, one per coordinate (default `x.1 … x.d`; checked when a
    /// chain opens). Names must not contain commas or line breaks.
    pub fn names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.names = Some(names.into_iter().map(Into::into).collect());
        self
    }
    /// CSV `lp__` column: `log_density` (as `f64`) evaluated at every written row.
    pub fn log_density(mut self, log_density: impl Fn(&[f64]) -> f64 + Send + Sync + 'a) -> Self {
        self.log_density = Some(Box::new(log_density));
        self
    }
    /// CSV `stepsize__` column with this step `h` (this crate's convention); otherwise the
    /// adapted step, when the run adapts one.
    pub fn step_size(mut self, h: f64) -> Self {
        self.step_size = Some(h);
        self
    }
    /// The format.
    pub fn format(&self) -> StreamFormat {
        self.format
    }
    /// The data file of chain `chain` (0-based): `{dir}/{prefix}_{chain + 1}.csv` or `.npy`.
    pub fn path(&self, chain: usize) -> PathBuf {
        let ext = match self.format {
            StreamFormat::CmdStanCsv => "csv",
            StreamFormat::Npy => "npy",
        };
        self.file(chain, ext)
    }
    fn file(&self, chain: usize, suffix: &str) -> PathBuf {
        self.dir
            .join(format!("{}_{}.{suffix}", self.prefix, chain + 1))
    }
}

impl<T: Real> DrawSink<T> for StreamSink<'_> {
    fn open(
        &self,
        chain: usize,
        dim: usize,
        config: &RunConfig,
    ) -> Result<Box<dyn ChainWriter<T> + '_>> {
        std::fs::create_dir_all(&self.dir).map_err(|e| io_error(&self.dir, e))?;
        let summary = self.file(chain, "summary");
        match std::fs::remove_file(&summary) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&summary, e)),
        }
        let meta = write::ChainMeta {
            chain,
            dim,
            config: config.clone(),
            save_warmup: self.save_warmup,
            summary,
        };
        Ok(match self.format {
            StreamFormat::Npy => Box::new(write::NpyWriter::open(self, meta)?),
            StreamFormat::CmdStanCsv => Box::new(write::CsvWriter::open(self, meta)?),
        })
    }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::TraceFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}
