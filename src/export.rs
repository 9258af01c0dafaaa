//! Export a [`Trace`] for other tools: CmdStan-layout CSV (read by ArviZ `from_cmdstan`,
//! CmdStanPy, `posterior`) and NumPy `.npy`.
//!
//! # CmdStan CSV
//! [`CmdStanCsv`] writes one CSV per chain in the layout of CmdStan's `output.csv`
//! (see the *Stan CSV File Format* appendix of the CmdStan guide):
//!
//! ```text
//! # model = langevin                         ← configuration comments "key = value"
//! # method = sample (Default)
//! #   sample
//! #     num_samples = 1000
//! #     num_warmup = 500
//! #     save_warmup = 0
//! #     thin = 1
//! #     algorithm = langevin
//! #       sampler = mala                       ← Trace::config: the kernel and its parameters
//! #       step_size = 0.5
//! #     num_chains = 4
//! # id = 1
//! # random
//! #   seed = 42
//! lp__,accept_stat__,stepsize__,divergent__,x.1,x.2   ← header: sampler columns end in "__"
//! # Adaptation terminated
//! # Step size = 0.25
//! # Diagonal elements of inverse mass matrix:  ← an adapted metric, when there is one
//! # 1.02, 0.98
//! -1.23,0.91,0.25,0,0.12,-0.7                ← one row per draw
//! #
//! #  Elapsed Time: 0.012 seconds (Total)
//! ```
//!
//! Sampler columns are written as far as they are available: `lp__` when a log density is
//! given ([`CmdStanCsv::log_density`]; it is evaluated at every draw), `accept_stat__` and
//! `divergent__` when a [`DrawStats`] recorder observed the run, `stepsize__` when a step
//! size is known. Parameter columns are named `x.1 … x.d` unless [`CmdStanCsv::names`]
//! is given (`theta.1, theta.2` is CmdStan's spelling of a vector `theta`, which ArviZ
//! groups into one variable). Numbers use Rust's shortest round-trip representation, so
//! values parse back bit-exactly; non-finite values are written `inf`, `-inf`, `NaN` as
//! CmdStan does. [`read_cmdstan_csv`] parses such a file back.
//!
//! ```python
//! import arviz as az
//! idata = az.from_cmdstan(posterior=["out_1.csv", "out_2.csv", "out_3.csv", "out_4.csv"])
//! ```
//!
//! # NumPy
//! [`write_npy`] writes the draws as a `.npy` version 1.0 array of shape
//! `(chains, draws, dim)`, little-endian `f64`, C order (`np.load("draws.npy")`; ArviZ:
//! `az.from_dict(posterior={"x": np.load("draws.npy")})`).
//!
//! # Example
//! ```
//! use langevin::prelude::*;
//! use langevin::export::{CmdStanCsv, DrawStats, read_cmdstan_csv, write_npy};
//! use langevin::targets::Gaussian;
//!
//! let target = Gaussian::<f64>::standard(2)?;
//! let mala = Mala::new(&target, 0.5)?;
//! let stats = DrawStats::new();
//! let trace = Sampler::new(100).chains(2).warmup(50).seed(1)
//!     .run_with(&mala, &[vec![0.0; 2]], &langevin::run::NoAdaptation, &stats)?;
//!
//! let csv = CmdStanCsv::new()
//!     .names(["mu.1", "mu.2"])
//!     .log_density(|x: &[f64]| target.log_density(x))
//!     .stats(&stats)
//!     .step_size(0.5);
//! let mut buf = Vec::new();
//! csv.write_chain(&trace, 0, &mut buf).unwrap();
//! let back = read_cmdstan_csv(&buf[..]).unwrap();
//! assert_eq!(back.columns[..4], ["lp__", "accept_stat__", "stepsize__", "divergent__"]);
//! assert_eq!(back.rows.len(), 100);
//! assert_eq!(back.column("mu.2").unwrap()[7], trace.draw(0, 7)[1]);
//!
//! let mut npy = Vec::new();
//! write_npy(&trace, &mut npy).unwrap();
//! assert_eq!(npy.len(), 128 + 2 * 100 * 2 * 8);
//! # Ok::<(), langevin::Error>(())
//! ```

use crate::Real;
use crate::mcmc::StepInfo;
use crate::run::Observer;
use crate::trace::Trace;
use std::io::{self, BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Per-draw sampler statistics, recorded through the [`Observer`] hook: pass it to
/// [`crate::Sampler::run_with`] and then to [`CmdStanCsv::stats`] to get `accept_stat__`
/// and `divergent__` columns.
///
/// Records every post-warm-up transition of every chain (`accept_prob`, `divergent`); the
/// writer keeps every `thin`-th one to match the trace's draws. A chain's records live
/// behind their own mutex, so parallel chains do not contend.
#[derive(Debug, Default)]
pub struct DrawStats {
    chains: RwLock<Vec<ChainRecords>>,
}

/// One chain's `(accept_prob, divergent)` records.
type ChainRecords = Mutex<Vec<(f64, bool)>>;
/// A per-draw log density evaluated by the CSV writer.
type LogDensityFn<'a> = Box<dyn Fn(&[f64]) -> f64 + 'a>;

impl DrawStats {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }
    /// The recorded `(accept_prob, divergent)` of every post-warm-up transition of `chain`.
    pub fn chain(&self, chain: usize) -> Vec<(f64, bool)> {
        let g = self.chains.read().unwrap_or_else(|e| e.into_inner());
        g.get(chain)
            .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .unwrap_or_default()
    }
}

impl<T> Observer<T> for DrawStats {
    fn on_start(&self, chains: usize, iterations_per_chain: usize) {
        let mut g = self.chains.write().unwrap_or_else(|e| e.into_inner());
        *g = (0..chains)
            .map(|_| Mutex::new(Vec::with_capacity(iterations_per_chain)))
            .collect();
    }
    fn on_step(&self, chain: usize, _iteration: usize, warmup: bool, info: &StepInfo, _x: &[T]) {
        if warmup {
            return;
        }
        let g = self.chains.read().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = g.get(chain) {
            m.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((info.accept_prob, info.divergent));
        }
    }
}

/// Writer of CmdStan-layout CSV files (see the [module docs](self)).
#[allow(missing_debug_implementations)]
pub struct CmdStanCsv<'a> {
    names: Option<Vec<String>>,
    log_density: Option<LogDensityFn<'a>>,
    stats: Option<&'a DrawStats>,
    step_size: Option<f64>,
    model: String,
    warmup: Option<usize>,
    thin: usize,
    seed: Option<u64>,
}

impl Default for CmdStanCsv<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> CmdStanCsv<'a> {
    /// A writer with default column names `x.1 … x.d` and no sampler columns.
    pub fn new() -> Self {
        Self {
            names: None,
            log_density: None,
            stats: None,
            step_size: None,
            model: "langevin".into(),
            warmup: None,
            thin: 1,
            seed: None,
        }
    }
    /// Parameter column names, one per coordinate (checked against the trace's dimension
    /// when writing). Names must not contain commas or line breaks.
    pub fn names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.names = Some(names.into_iter().map(Into::into).collect());
        self
    }
    /// Adds the `lp__` column, evaluating `log_density` (as `f64`) at every draw.
    pub fn log_density(mut self, log_density: impl Fn(&[f64]) -> f64 + 'a) -> Self {
        self.log_density = Some(Box::new(log_density));
        self
    }
    /// Adds `accept_stat__` and `divergent__` from a recorder that observed the run.
    pub fn stats(mut self, stats: &'a DrawStats) -> Self {
        self.stats = Some(stats);
        self
    }
    /// Adds the `stepsize__` column (and the `# Step size = h` comment) with the step `h` in
    /// this crate's convention `x' = x + h ∇log p + sqrt(2h) ξ`. When not given, the trace's
    /// adapted step size is used if it has one.
    pub fn step_size(mut self, h: f64) -> Self {
        self.step_size = Some(h);
        self
    }
    /// The model name written in the `# model = …` comment (default `langevin`).
    pub fn model(mut self, name: impl Into<String>) -> Self {
        self.model = name.into();
        self
    }
    /// Overrides the run's warm-up length, thinning and seed written in the comments
    /// (CmdStan's `num_warmup`, `thin`, `seed`); thinning is also used to align
    /// [`DrawStats`] records with draws. Not needed for a trace made by
    /// [`crate::Sampler`]: the writer takes them from [`Trace::config`], with the sampler's
    /// name and parameters, the adapted step size and metric (CmdStan's inverse mass matrix)
    /// and each chain's wall time.
    pub fn run_config(mut self, warmup: usize, thin: usize, seed: u64) -> Self {
        self.warmup = Some(warmup);
        self.thin = thin.max(1);
        self.seed = Some(seed);
        self
    }

    fn param_names(&self, dim: usize) -> io::Result<Vec<String>> {
        csv_param_names(self.names.as_deref(), dim)
    }

    /// Writes chain `chain` of `trace` as one CmdStan CSV document.
    ///
    /// # Errors
    /// `InvalidInput` for a chain index out of range, a wrong number of names, or a
    /// [`DrawStats`] whose record count does not match the draws; any I/O error of `w`.
    pub fn write_chain<T: Real, W: Write>(
        &self,
        trace: &Trace<T>,
        chain: usize,
        w: W,
    ) -> io::Result<()> {
        if chain >= trace.n_chains() {
            return Err(invalid(format!(
                "chain {chain} requested from a trace of {} chains",
                trace.n_chains()
            )));
        }
        let d = trace.dim;
        let names = self.param_names(d)?;
        let n = trace.chains[chain].len() / d.max(1);
        // The run's own record, unless overridden by `run_config`.
        let cfg = &trace.config;
        let recorded = cfg.thin > 0;
        let warmup = self.warmup.unwrap_or(cfg.warmup);
        let thin = if self.warmup.is_some() || !recorded {
            self.thin
        } else {
            cfg.thin
        };
        let seed = self.seed.or(recorded.then_some(cfg.seed));
        let stats: Option<Vec<(f64, bool)>> = match self.stats {
            None => None,
            Some(s) => {
                let all = s.chain(chain);
                let kept: Vec<(f64, bool)> =
                    all.iter().skip(thin - 1).step_by(thin).copied().collect();
                if kept.len() != n {
                    return Err(invalid(format!(
                        "DrawStats holds {} transitions for chain {chain} ({} after thinning by \
                         {}), but the trace has {n} draws; record the same run and pass its thin \
                         through run_config",
                        all.len(),
                        kept.len(),
                        thin
                    )));
                }
                Some(kept)
            }
        };
        let step = self.step_size.or_else(|| {
            trace
                .adapted_step_size
                .as_ref()
                .and_then(|v| v.get(chain).copied())
        });
        let mut w = BufWriter::new(w);
        write_csv_preamble(
            &mut w,
            &CsvPreamble {
                model: &self.model,
                num_samples: n * thin,
                warmup,
                save_warmup: false,
                thin,
                sampler: &cfg.sampler,
                parameters: &cfg.parameters,
                chains: recorded.then_some(cfg.chains),
                // A shard's chain i is chain first_chain + i of the run (ids count from 1).
                id: trace.config.first_chain + chain + 1,
                seed,
            },
        )?;
        writeln!(
            w,
            "{}",
            csv_header_line(
                self.log_density.is_some(),
                stats.is_some(),
                step.is_some(),
                &names
            )
        )?;
        let metric = trace.adapted_mass.as_ref().and_then(|m| m.get(chain));
        write_csv_adaptation(&mut w, step, metric.map(Vec::as_slice), d)?;
        let mut xf = vec![0.0f64; d];
        for (i, x) in trace.chains[chain].chunks_exact(d.max(1)).enumerate() {
            for (a, b) in xf.iter_mut().zip(x) {
                *a = b.to_f64();
            }
            let lp = self.log_density.as_ref().map(|lp| lp(&xf));
            write_csv_row(&mut w, lp, stats.as_ref().map(|s| s[i]), step, &xf)?;
        }
        let elapsed = trace
            .config
            .chain_wall_time
            .get(chain)
            .copied()
            .unwrap_or(trace.wall_time);
        write_csv_footer(&mut w, elapsed)?;
        w.flush()
    }

    /// Writes one file per chain, `{dir}/{prefix}_{c+1}.csv` (CmdStan numbers chains from
    /// 1), creating `dir` if needed, and returns the paths.
    ///
    /// # Errors
    /// As [`CmdStanCsv::write_chain`], plus file-system errors.
    pub fn write_files<T: Real>(
        &self,
        trace: &Trace<T>,
        dir: impl AsRef<Path>,
        prefix: &str,
    ) -> io::Result<Vec<PathBuf>> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)?;
        (0..trace.n_chains())
            .map(|c| {
                let path = dir.join(format!("{prefix}_{}.csv", c + 1));
                self.write_chain(trace, c, std::fs::File::create(&path)?)?;
                Ok(path)
            })
            .collect()
    }
}

/// The parameter column names: `names` checked against the dimension, or `x.1 … x.d`.
pub(crate) fn csv_param_names(names: Option<&[String]>, dim: usize) -> io::Result<Vec<String>> {
    match names {
        Some(n) if n.len() != dim => Err(invalid(format!(
            "{} parameter names for a trace of dimension {dim}; pass one name per coordinate",
            n.len()
        ))),
        Some(n) => {
            if let Some(bad) = n.iter().find(|s| s.contains([',', '\n', '\r'])) {
                return Err(invalid(format!(
                    "parameter name {bad:?} contains a comma or line break"
                )));
            }
            Ok(n.to_vec())
        }
        None => Ok((1..=dim).map(|i| format!("x.{i}")).collect()),
    }
}

/// The configuration comments of a CmdStan CSV document (everything before the header
/// line); shared by [`CmdStanCsv`] and the streaming writer of [`crate::stream`], so that a
/// streamed file equals the whole-trace export byte for byte.
pub(crate) struct CsvPreamble<'a> {
    pub model: &'a str,
    /// Iterations after warm-up (CmdStan's `num_samples`: draws × thin).
    pub num_samples: usize,
    pub warmup: usize,
    pub save_warmup: bool,
    pub thin: usize,
    pub sampler: &'a str,
    pub parameters: &'a [(String, f64)],
    pub chains: Option<usize>,
    /// 1-based chain id.
    pub id: usize,
    pub seed: Option<u64>,
}

pub(crate) fn write_csv_preamble<W: Write>(w: &mut W, p: &CsvPreamble<'_>) -> io::Result<()> {
    writeln!(w, "# model = {}", p.model)?;
    writeln!(w, "# method = sample (Default)")?;
    writeln!(w, "#   sample")?;
    // CmdStan's num_samples counts iterations; it keeps ⌈num_samples / thin⌉ draws.
    writeln!(w, "#     num_samples = {}", p.num_samples)?;
    writeln!(w, "#     num_warmup = {}", p.warmup)?;
    writeln!(w, "#     save_warmup = {}", u8::from(p.save_warmup))?;
    writeln!(w, "#     thin = {}", p.thin)?;
    writeln!(w, "#     algorithm = langevin")?;
    if !p.sampler.is_empty() {
        writeln!(w, "#       sampler = {}", p.sampler)?;
    }
    for (k, v) in p.parameters {
        writeln!(w, "#       {k} = {v}")?;
    }
    if let Some(c) = p.chains {
        writeln!(w, "#     num_chains = {c}")?;
    }
    writeln!(w, "# id = {}", p.id)?;
    if let Some(s) = p.seed {
        writeln!(w, "# random")?;
        writeln!(w, "#   seed = {s}")?;
    }
    Ok(())
}

/// The CSV header line: sampler columns (as far as available), then the parameter names.
pub(crate) fn csv_header_line(lp: bool, stats: bool, step: bool, names: &[String]) -> String {
    let mut header: Vec<&str> = Vec::new();
    if lp {
        header.push("lp__");
    }
    if stats {
        header.push("accept_stat__");
    }
    if step {
        header.push("stepsize__");
    }
    if stats {
        header.push("divergent__");
    }
    header.extend(names.iter().map(String::as_str));
    header.join(",")
}

/// The `# Adaptation terminated` block (step size, metric), when there is one.
pub(crate) fn write_csv_adaptation<W: Write>(
    w: &mut W,
    step: Option<f64>,
    metric: Option<&[f64]>,
    d: usize,
) -> io::Result<()> {
    if step.is_some() || metric.is_some() {
        writeln!(w, "# Adaptation terminated")?;
    }
    if let Some(h) = step {
        writeln!(w, "# Step size = {h}")?;
    }
    if let Some(m) = metric {
        // This crate's metric M (drift h M ∇log p, noise covariance 2h M) is what CmdStan
        // calls the inverse mass matrix (the estimated posterior covariance).
        let row = |r: &[f64]| {
            r.iter()
                .map(|v| format!("{v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if m.len() == d {
            writeln!(w, "# Diagonal elements of inverse mass matrix:")?;
            writeln!(w, "# {}", row(m))?;
        } else if m.len() == d * d {
            writeln!(w, "# Elements of inverse mass matrix:")?;
            for r in m.chunks_exact(d.max(1)) {
                writeln!(w, "# {}", row(r))?;
            }
        }
    }
    Ok(())
}

/// One data row: `lp__`, `accept_stat__`, `stepsize__`, `divergent__` as far as given, then
/// the coordinates.
pub(crate) fn write_csv_row<W: Write>(
    w: &mut W,
    lp: Option<f64>,
    stats: Option<(f64, bool)>,
    step: Option<f64>,
    xf: &[f64],
) -> io::Result<()> {
    let mut first = true;
    let mut sep = |w: &mut W| -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        first = false;
        Ok(())
    };
    if let Some(lp) = lp {
        sep(w)?;
        write_num(w, lp)?;
    }
    if let Some(s) = stats {
        sep(w)?;
        write_num(w, s.0)?;
    }
    if let Some(h) = step {
        sep(w)?;
        write_num(w, h)?;
    }
    if let Some(s) = stats {
        sep(w)?;
        w.write_all(if s.1 { b"1" } else { b"0" })?;
    }
    for &v in xf {
        sep(w)?;
        write_num(w, v)?;
    }
    w.write_all(b"\n")
}

/// The closing comments: the chain's elapsed time.
pub(crate) fn write_csv_footer<W: Write>(
    w: &mut W,
    elapsed: std::time::Duration,
) -> io::Result<()> {
    writeln!(w, "#")?;
    writeln!(
        w,
        "#  Elapsed Time: {} seconds (Total)",
        elapsed.as_secs_f64()
    )?;
    writeln!(w, "#")
}

fn write_num<W: Write>(w: &mut W, v: f64) -> io::Result<()> {
    if v.is_nan() {
        w.write_all(b"NaN")
    } else {
        // `{}` prints the shortest representation that parses back to the same f64, and
        // `inf` / `-inf` for infinities (CmdStan's spelling).
        write!(w, "{v}")
    }
}

/// One chain's CmdStan CSV, parsed by [`read_cmdstan_csv`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CmdStanChain {
    /// Column names in file order.
    pub columns: Vec<String>,
    /// Data rows (one per draw), in column order.
    pub rows: Vec<Vec<f64>>,
    /// Every comment line (with its leading `#`), in file order.
    pub comments: Vec<String>,
}

impl CmdStanChain {
    /// The values of column `name`, or `None` if there is no such column.
    pub fn column(&self, name: &str) -> Option<Vec<f64>> {
        let j = self.columns.iter().position(|c| c == name)?;
        Some(self.rows.iter().map(|r| r[j]).collect())
    }
    /// The adapted inverse mass matrix written after `# Adaptation terminated` (this crate's
    /// metric `M`): its diagonal for `# Diagonal elements of inverse mass matrix:`, the full
    /// matrix row-major for `# Elements of inverse mass matrix:`; `None` when absent or not
    /// numeric.
    pub fn inverse_metric(&self) -> Option<Vec<f64>> {
        let start = self
            .comments
            .iter()
            .position(|c| c.contains("inverse mass matrix:"))?;
        let d = self.columns.iter().filter(|c| !c.ends_with("__")).count();
        let rows = if self.comments[start].contains("Diagonal") {
            1
        } else {
            d
        };
        let mut out = Vec::new();
        for c in self.comments.get(start + 1..start + 1 + rows)? {
            for v in c.trim_start_matches('#').split(',') {
                out.push(parse_num(v.trim())?);
            }
        }
        Some(out)
    }
    /// The value of a `key = value` configuration comment (e.g. `num_samples`, `Step size`).
    pub fn config(&self, key: &str) -> Option<String> {
        self.comments.iter().find_map(|c| {
            let c = c.trim_start_matches('#').trim();
            let (k, v) = c.split_once('=')?;
            (k.trim() == key).then(|| v.trim().trim_end_matches("(Default)").trim().to_string())
        })
    }
}

/// Parses a CmdStan-layout CSV document (comment lines anywhere, one header line, numeric
/// rows; `inf`, `-inf`, `+inf`, `NaN` accepted) — the inverse of [`CmdStanCsv::write_chain`],
/// also able to read CmdStan's own output.
///
/// Truncated files are rejected rather than read as shorter chains:
///
/// * every line, the last included, must end with a newline (a file cut mid-row or
///   mid-number ends without one, and its last field may still parse);
/// * for a sampling run (`method = sample`) whose configuration comments state
///   `num_samples` (iterations), `thin` (default 1), `save_warmup` (default 0) and
///   `num_warmup` (default 0), the number of rows must be CmdStan's
///   `⌈num_samples / thin⌉ + save_warmup · ⌈num_warmup / thin⌉` (a file cut at a row
///   boundary).
///
/// # Errors
/// `InvalidData` for a missing header, a row with the wrong number of fields or a field
/// that is not a number, a last line without its newline, or a row count that differs
/// from the one the configuration comments state; any I/O error of `r`.
pub fn read_cmdstan_csv<R: BufRead>(mut r: R) -> io::Result<CmdStanChain> {
    let bad = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
    let mut out = CmdStanChain {
        columns: Vec::new(),
        rows: Vec::new(),
        comments: Vec::new(),
    };
    let mut header = false;
    let mut buf = Vec::new();
    let mut ln = 0usize;
    loop {
        buf.clear();
        if r.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        ln += 1;
        let complete = buf.last() == Some(&b'\n');
        let line =
            std::str::from_utf8(&buf).map_err(|e| bad(format!("line {ln}: not UTF-8 ({e})")))?;
        let t = line.trim();
        if !complete && !t.is_empty() {
            return Err(bad(format!(
                "line {ln} ({t:?}) ends without a newline: the file is truncated (CmdStan \
                 ends every line, the last one included, with a newline)"
            )));
        }
        if t.starts_with('#') {
            out.comments.push(t.to_string());
            continue;
        }
        if t.is_empty() {
            continue;
        }
        if !header {
            out.columns = t.split(',').map(|s| s.trim().to_string()).collect();
            header = true;
            continue;
        }
        let row = t
            .split(',')
            .map(|f| {
                parse_num(f.trim()).ok_or_else(|| bad(format!("line {ln}: {f:?} is not a number")))
            })
            .collect::<io::Result<Vec<f64>>>()?;
        if row.len() != out.columns.len() {
            return Err(bad(format!(
                "line {ln}: {} fields for {} columns",
                row.len(),
                out.columns.len()
            )));
        }
        out.rows.push(row);
    }
    if !header {
        return Err(bad("no header line".into()));
    }
    if let Some(expected) = stated_rows(&out).map_err(bad)?
        && expected != out.rows.len()
    {
        return Err(bad(format!(
            "the configuration comments state {expected} draws (num_samples, thin, \
             save_warmup, num_warmup) but the file holds {} rows: it is truncated or edited",
            out.rows.len()
        )));
    }
    Ok(out)
}

/// Row count a CmdStan sampling file states in its configuration comments, if it states
/// one (`method = sample` and `num_samples`): `⌈num_samples/thin⌉ + save_warmup ·
/// ⌈num_warmup/thin⌉`, as CmdStan keeps iteration `m` when `m % thin == 0`.
pub(crate) fn stated_rows(c: &CmdStanChain) -> Result<Option<usize>, String> {
    if c.config("method").as_deref() != Some("sample") {
        return Ok(None);
    }
    let Some(samples) = c.config("num_samples") else {
        return Ok(None);
    };
    let int = |key: &str, v: String| -> Result<usize, String> {
        v.parse::<usize>()
            .map_err(|_| format!("configuration `{key} = {v}` is not a non-negative integer"))
    };
    let samples = int("num_samples", samples)?;
    let thin = c.config("thin").map_or(Ok(1), |v| int("thin", v))?;
    if thin == 0 {
        return Err("configuration `thin = 0`; thin must be at least 1".into());
    }
    let save_warmup = c
        .config("save_warmup")
        .map_or(Ok(0), |v| int("save_warmup", v))?;
    let warmup = c
        .config("num_warmup")
        .map_or(Ok(0), |v| int("num_warmup", v))?;
    let warm_rows = if save_warmup != 0 {
        warmup.div_ceil(thin)
    } else {
        0
    };
    Ok(Some(samples.div_ceil(thin) + warm_rows))
}

pub(crate) fn parse_num(s: &str) -> Option<f64> {
    match s {
        "inf" | "+inf" | "Inf" => Some(f64::INFINITY),
        "-inf" | "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// Writes the draws of `trace` as a NumPy `.npy` (format version 1.0) array of shape
/// `(chains, draws, dim)`, dtype `<f8` (little-endian `f64`), C order.
///
/// The header is the magic `\x93NUMPY`, version `1 0`, a little-endian `u16` header length
/// and the dictionary `{'descr': '<f8', 'fortran_order': False, 'shape': (C, N, D), }`
/// padded with spaces and a final newline so the data starts at a multiple of 64 bytes.
///
/// # Errors
/// `InvalidInput` if the chains hold different numbers of draws; any I/O error of `w`.
pub fn write_npy<T: Real, W: Write>(trace: &Trace<T>, w: W) -> io::Result<()> {
    let c = trace.n_chains();
    let d = trace.dim;
    let n = trace.chains.first().map_or(0, |v| v.len() / d.max(1));
    if trace.chains.iter().any(|v| v.len() != n * d) {
        return Err(invalid(
            "chains hold different numbers of draws; .npy needs a rectangular array".into(),
        ));
    }
    let mut w = BufWriter::new(w);
    w.write_all(&npy_header(&[c, n, d]))?;
    for chain in &trace.chains {
        for v in chain {
            w.write_all(&v.to_f64().to_le_bytes())?;
        }
    }
    w.flush()
}

/// The `.npy` v1.0 header for a little-endian `f64` C-order array of the given shape.
pub(crate) fn npy_header(shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|s| s.to_string()).collect();
    let shape = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut dict = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
    // magic (6) + version (2) + header length (2) + dict + '\n' ≡ 0 (mod 64)
    let unpadded = 10 + dict.len() + 1;
    let pad = (64 - unpadded % 64) % 64;
    dict.extend(core::iter::repeat_n(' ', pad));
    dict.push('\n');
    let mut out = Vec::with_capacity(10 + dict.len());
    out.extend_from_slice(b"\x93NUMPY");
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}
