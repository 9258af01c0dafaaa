//! Readers of streamed traces, with truncation detection.

use super::io_error;
use super::write::SUMMARY_FORMAT;
use crate::export::{CmdStanChain, parse_num, stated_rows};
use crate::trace::{RunConfig, Trace};
use crate::{Error, Real, Result};
use core::time::Duration;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// What a reader does with an incomplete file (see [`Error::TraceTruncated`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Truncation {
    /// Return [`Error::TraceTruncated`] (the default).
    #[default]
    Error,
    /// Keep the complete rows (a file cut inside its header is still an error: it has no
    /// rows to keep).
    KeepCompleteRows,
}

fn format_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::TraceFile {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn truncated(path: &Path, expected: Option<usize>, complete: usize, detail: String) -> Error {
    Error::TraceTruncated {
        path: path.to_path_buf(),
        expected_rows: expected,
        complete_rows: complete,
        detail,
    }
}

/// A two-dimensional `.npy` array of `f64` read by [`read_npy`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NpyMatrix {
    /// Rows read (the complete rows, when recovering a truncated file).
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Row-major values, `rows × cols`.
    pub data: Vec<f64>,
}

/// Reads a two-dimensional little-endian `f64` C-order `.npy` file (versions 1.0–3.0), such
/// as a streamed chain `{prefix}_{c}.npy` or its `.stats.npy`.
///
/// # Errors
/// [`Error::TraceTruncated`] when the file is cut inside its header, or (with
/// [`Truncation::Error`]) holds fewer bytes than its shape states — the complete rows are
/// kept instead with [`Truncation::KeepCompleteRows`]; [`Error::TraceFile`] for a file
/// that cannot be read, is not `.npy`, is not a 2-D `<f8` C-order array, or is longer than
/// its shape states.
pub fn read_npy(path: impl AsRef<Path>, truncation: Truncation) -> Result<NpyMatrix> {
    let path = path.as_ref();
    let (mut r, complete, cols) = open_npy(path, truncation)?;
    let mut data = Vec::new();
    data.try_reserve_exact(complete * cols)
        .map_err(|_| format_error(path, "the file is too large to read into memory"))?;
    let mut b = [0u8; 8];
    for _ in 0..complete * cols {
        r.read_exact(&mut b).map_err(|e| io_error(path, e))?;
        data.push(f64::from_le_bytes(b));
    }
    Ok(NpyMatrix {
        rows: complete,
        cols,
        data,
    })
}

/// Opens a `.npy` file as [`read_npy`] checks it: a reader at the first row, the number of
/// complete rows to read, the number of columns.
fn open_npy(path: &Path, truncation: Truncation) -> Result<(BufReader<File>, usize, usize)> {
    let mut f = File::open(path).map_err(|e| io_error(path, e))?;
    let len = f.metadata().map_err(|e| io_error(path, e))?.len();
    let cut_header = |what: &str| {
        truncated(
            path,
            None,
            0,
            format!("the file ends inside its .npy header ({what})"),
        )
    };
    let mut pre = [0u8; 12];
    let got = read_up_to(&mut f, &mut pre).map_err(|e| io_error(path, e))?;
    if got < 6 || &pre[..6] != b"\x93NUMPY" {
        return Err(if got < 6 && b"\x93NUMPY".starts_with(&pre[..got]) {
            cut_header("magic")
        } else {
            format_error(path, "not a .npy file (no \\x93NUMPY magic)")
        });
    }
    let (hlen, start) = match (pre.get(6).copied(), got) {
        (Some(1), 10..) => (u16::from_le_bytes([pre[8], pre[9]]) as u64, 10u64),
        (Some(2 | 3), 12..) => (
            u32::from_le_bytes([pre[8], pre[9], pre[10], pre[11]]) as u64,
            12,
        ),
        (Some(1..=3), _) | (None, _) => return Err(cut_header("header length")),
        (Some(v), _) => {
            return Err(format_error(
                path,
                format!(".npy version {v} is not supported"),
            ));
        }
    };
    let data_start = start + hlen;
    if len < data_start {
        return Err(cut_header("dictionary"));
    }
    let mut dict = vec![0u8; hlen as usize];
    // Re-read the dictionary from its offset (the 12 bytes read may overlap it).
    let mut f = File::open(path).map_err(|e| io_error(path, e))?;
    let mut skip = vec![0u8; start as usize];
    f.read_exact(&mut skip).map_err(|e| io_error(path, e))?;
    f.read_exact(&mut dict).map_err(|e| io_error(path, e))?;
    let dict = String::from_utf8_lossy(&dict).into_owned();
    let (rows, cols) = parse_npy_dict(&dict).map_err(|r| format_error(path, r))?;
    if cols == 0 {
        return Err(format_error(path, "the array has zero columns"));
    }
    let row_bytes = 8 * cols as u64;
    let have = len - data_start;
    let want = (rows as u64).saturating_mul(row_bytes);
    if have > want {
        return Err(format_error(
            path,
            format!(
                "the file holds {have} data bytes but its shape ({rows}, {cols}) states {want}: \
                 it was appended to or edited"
            ),
        ));
    }
    let complete = (have / row_bytes) as usize;
    if have < want && truncation == Truncation::Error {
        let partial = have % row_bytes;
        return Err(truncated(
            path,
            Some(rows),
            complete,
            format!(
                "its shape states {rows} rows of {cols} values, the file holds {complete} \
                 complete rows{}",
                if partial > 0 {
                    format!(" and {partial} bytes of a partial row")
                } else {
                    String::new()
                }
            ),
        ));
    }
    Ok((BufReader::with_capacity(1 << 16, f), complete, cols))
}

/// Reads into `buf` until it is full or the reader ends; the number of bytes read.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// `(rows, cols)` of a 2-D `<f8` C-order array's header dictionary.
fn parse_npy_dict(dict: &str) -> core::result::Result<(usize, usize), String> {
    let compact: String = dict.chars().filter(|c| !c.is_whitespace()).collect();
    if !compact.contains("'descr':'<f8'") {
        return Err(format!("dtype is not little-endian f64 ('<f8'): {dict:?}"));
    }
    if !compact.contains("'fortran_order':False") {
        return Err("the array is in Fortran order; only C order is read".into());
    }
    let shape = compact
        .split("'shape':(")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| format!("no shape in the header {dict:?}"))?;
    let dims: Vec<usize> = shape
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>())
        .collect::<core::result::Result<_, _>>()
        .map_err(|_| format!("shape ({shape}) is not a tuple of integers"))?;
    match dims[..] {
        [r, c] => Ok((r, c)),
        _ => Err(format!("shape ({shape}) is not two-dimensional")),
    }
}

/// Reads one CmdStan CSV file (a streamed chain `{prefix}_{c}.csv`, or CmdStan's own output)
/// with truncation detection: the file is complete when every line ends with a newline, the
/// row count is the one its configuration comments state (see
/// [`crate::export::read_cmdstan_csv`]) and the footer follows the rows (a `#  Elapsed Time`
/// comment, then a `#` line).
///
/// # Errors
/// [`Error::TraceTruncated`] (with [`Truncation::Error`]) for a last line cut without its
/// newline, fewer rows than stated, or no footer — with [`Truncation::KeepCompleteRows`]
/// the complete rows are returned instead — and always for a file cut before its header
/// line; [`Error::TraceFile`] for an unreadable file, a complete row that does not parse or
/// has the wrong number of fields, or more rows than stated.
pub fn read_csv(path: impl AsRef<Path>, truncation: Truncation) -> Result<CmdStanChain> {
    let path = path.as_ref();
    let f = File::open(path).map_err(|e| io_error(path, e))?;
    let mut r = BufReader::with_capacity(1 << 16, f);
    let mut out = CmdStanChain {
        columns: Vec::new(),
        rows: Vec::new(),
        comments: Vec::new(),
    };
    let mut header = false;
    let mut elapsed = false;
    let mut footer = false;
    let mut partial: Option<String> = None;
    let mut buf = Vec::new();
    let mut ln = 0usize;
    loop {
        buf.clear();
        if r.read_until(b'\n', &mut buf)
            .map_err(|e| io_error(path, e))?
            == 0
        {
            break;
        }
        ln += 1;
        let line = String::from_utf8_lossy(&buf);
        let t = line.trim();
        if buf.last() != Some(&b'\n') {
            if !t.is_empty() {
                partial = Some(t.to_string());
            }
            break;
        }
        if t.is_empty() {
            continue;
        }
        if t.starts_with('#') {
            if header && t.contains("Elapsed Time") {
                elapsed = true;
            } else if elapsed && t == "#" {
                footer = true;
            }
            out.comments.push(t.to_string());
            continue;
        }
        if !header {
            out.columns = t.split(',').map(|s| s.trim().to_string()).collect();
            header = true;
            continue;
        }
        let row = t
            .split(',')
            .map(|v| parse_num(v.trim()))
            .collect::<Option<Vec<f64>>>()
            .ok_or_else(|| format_error(path, format!("line {ln}: a field is not a number")))?;
        if row.len() != out.columns.len() {
            return Err(format_error(
                path,
                format!(
                    "line {ln}: {} fields for {} columns",
                    row.len(),
                    out.columns.len()
                ),
            ));
        }
        out.rows.push(row);
    }
    if !header {
        return Err(truncated(
            path,
            None,
            0,
            "the file ends before its header line".into(),
        ));
    }
    let expected = stated_rows(&out).map_err(|r| format_error(path, r))?;
    let n = out.rows.len();
    if let Some(e) = expected
        && n > e
    {
        return Err(format_error(
            path,
            format!("the file holds {n} rows but its configuration states {e}"),
        ));
    }
    let mut missing = Vec::new();
    if let Some(p) = &partial {
        missing.push(format!("its last line {p:?} is cut (no newline)"));
    }
    if let Some(e) = expected
        && n < e
    {
        missing.push(format!("its configuration states {e} rows"));
    }
    if !footer {
        missing
            .push("the `#  Elapsed Time` footer written at the end of a chain is missing".into());
    }
    if !missing.is_empty() && truncation == Truncation::Error {
        return Err(truncated(path, expected, n, missing.join("; ")));
    }
    Ok(out)
}

/// One chain's end-of-chain summary file, parsed.
struct Summary {
    values: BTreeMap<String, String>,
}

impl Summary {
    fn read(path: &Path) -> Result<Option<Self>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(path, e)),
        };
        let values: BTreeMap<String, String> = text
            .lines()
            .filter_map(|l| l.split_once(" = "))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let s = Self { values };
        let v: u32 = s.get(path, "format")?;
        if v != SUMMARY_FORMAT {
            return Err(format_error(
                path,
                format!("summary format {v}; this version reads format {SUMMARY_FORMAT}"),
            ));
        }
        Ok(Some(s))
    }
    fn get<V: core::str::FromStr>(&self, path: &Path, key: &str) -> Result<V> {
        self.values
            .get(key)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format_error(path, format!("summary has no valid `{key}`")))
    }
    fn floats(&self, path: &Path, key: &str) -> Result<Option<Vec<f64>>> {
        self.values
            .get(key)
            .map(|v| {
                v.split(',')
                    .map(|x| x.trim().parse::<f64>())
                    .collect::<core::result::Result<Vec<_>, _>>()
                    .map_err(|_| format_error(path, format!("summary `{key}` is not numeric")))
            })
            .transpose()
    }
    fn config(&self, path: &Path) -> Result<RunConfig> {
        Ok(RunConfig {
            sampler: self.values.get("sampler").cloned().unwrap_or_default(),
            parameters: self
                .values
                .iter()
                .filter_map(|(k, v)| {
                    Some((k.strip_prefix("parameter.")?.to_string(), v.parse().ok()?))
                })
                .collect(),
            draws: self.get(path, "draws")?,
            warmup: self.get(path, "warmup")?,
            thin: self.get(path, "thin")?,
            seed: self.get(path, "seed")?,
            chains: self.get(path, "chains")?,
            // The stream files record no shard position: a streamed run reads back whole.
            first_chain: 0,
            chain_wall_time: Vec::new(),
            // Not written to the file (e.g. the kernel's stability bound).
            ..Default::default()
        })
    }
}

/// One chain read back: draws (row-major), per-draw divergence flags, dimension.
struct ChainData {
    dim: usize,
    rows: usize,
    draws: Vec<f64>,
    divergent_rows: usize,
}

/// Reads the streamed files `{dir}/{prefix}_{c}.npy` (or `.csv`) and their summaries, for
/// every chain `c = 1, 2, …`, into a [`Trace`] equal — draws bit for bit, statistics and
/// configuration — to the one [`crate::Sampler::run`] returns for the same run (the wall
/// times are the streamed run's). The format is the one whose chain-1 file exists (`.npy`
/// first). The number of chains is the one the summaries state, else the number of
/// consecutive chain files.
///
/// Warm-up rows (CSV with `save_warmup`) are not part of the trace; `.warmup.npy` files are
/// read with [`read_npy`].
///
/// With [`Truncation::KeepCompleteRows`], incomplete chains keep their complete rows, every
/// chain is cut to the shortest, and a chain without a summary has NaN acceptance rates and
/// its divergences counted over the rows read.
///
/// # Errors
/// [`Error::TraceFile`] when no chain file exists, a chain file the summaries announce is
/// missing, or files are malformed or disagree on the dimension; [`Error::TraceTruncated`]
/// (with [`Truncation::Error`]) for an incomplete file or a chain without its summary.
pub fn read_trace<T: Real>(
    dir: impl AsRef<Path>,
    prefix: &str,
    truncation: Truncation,
) -> Result<Trace<T>> {
    let dir = dir.as_ref();
    let file = |c: usize, ext: &str| dir.join(format!("{prefix}_{c}.{ext}"));
    let ext = if file(1, "npy").exists() {
        "npy"
    } else if file(1, "csv").exists() {
        "csv"
    } else {
        return Err(format_error(
            &file(1, "npy"),
            format!("no streamed chain here (neither {prefix}_1.npy nor {prefix}_1.csv)"),
        ));
    };
    let (n_chains, summaries, mut config) = discover(dir, prefix, ext, truncation)?;
    let mut chains = Vec::with_capacity(n_chains);
    for c in 1..=n_chains {
        let path = file(c, ext);
        let data = if ext == "npy" {
            read_npy_chain(&path, &file(c, "stats.npy"), truncation)?
        } else {
            read_csv_chain(&path, truncation)?
        };
        if summaries[c - 1].is_none() && truncation == Truncation::Error {
            return Err(truncated(
                &path,
                Some(data.rows),
                data.rows,
                format!(
                    "the chain has no end-of-chain summary {prefix}_{c}.summary: it was killed \
                     or failed before finishing"
                ),
            ));
        }
        chains.push(data);
    }
    let dim = chains.first().map_or(0, |c| c.dim);
    if let Some((c, _)) = chains.iter().enumerate().find(|(_, d)| d.dim != dim) {
        return Err(format_error(
            &file(c + 1, ext),
            format!("dimension {} differs from chain 1's {dim}", chains[c].dim),
        ));
    }
    let n_draws = chains.iter().map(|c| c.rows).min().unwrap_or(0);
    let mut trace = Trace {
        dim,
        n_draws,
        chains: Vec::with_capacity(n_chains),
        acceptance_rate: Vec::new(),
        mean_accept_prob: Vec::new(),
        divergences: Vec::new(),
        warmup_divergences: Vec::new(),
        wall_time: Duration::ZERO,
        adapted_step_size: None,
        adapted_mass: None,
        config: RunConfig::default(),
    };
    let mut steps = Vec::new();
    let mut masses = Vec::new();
    for (c, mut data) in chains.into_iter().enumerate() {
        data.draws.truncate(n_draws * dim);
        trace
            .chains
            .push(data.draws.into_iter().map(T::c).collect());
        let spath = file(c + 1, "summary");
        match &summaries[c] {
            Some(s) => {
                trace
                    .acceptance_rate
                    .push(s.get(&spath, "acceptance_rate")?);
                trace
                    .mean_accept_prob
                    .push(s.get(&spath, "mean_accept_prob")?);
                trace.divergences.push(s.get(&spath, "divergences")?);
                trace
                    .warmup_divergences
                    .push(s.get(&spath, "warmup_divergences")?);
                let ns: u64 = s.get(&spath, "wall_time_ns")?;
                config.chain_wall_time.push(Duration::from_nanos(ns));
                if let Some(h) = s.floats(&spath, "adapted_step_size")? {
                    steps.extend(h.first().copied());
                }
                if let Some(m) = s.floats(&spath, "adapted_metric")? {
                    masses.push(m);
                }
            }
            None => {
                trace.acceptance_rate.push(f64::NAN);
                trace.mean_accept_prob.push(f64::NAN);
                trace.divergences.push(data.divergent_rows);
                trace.warmup_divergences.push(0);
                config.chain_wall_time.push(Duration::ZERO);
            }
        }
    }
    if steps.len() == n_chains {
        trace.adapted_step_size = Some(steps);
    }
    if masses.len() == n_chains {
        trace.adapted_mass = Some(masses);
    }
    trace.wall_time = config
        .chain_wall_time
        .iter()
        .copied()
        .max()
        .unwrap_or_default();
    trace.config = config;
    Ok(trace)
}

/// The chains of a streamed run in `dir`: their number (the summaries' `chains`, else the
/// consecutive chain files present), each chain's summary, the run's configuration.
fn discover(
    dir: &Path,
    prefix: &str,
    ext: &str,
    truncation: Truncation,
) -> Result<(usize, Vec<Option<Summary>>, RunConfig)> {
    let file = |c: usize, ext: &str| dir.join(format!("{prefix}_{c}.{ext}"));
    let mut present = 0;
    while file(present + 1, ext).exists() {
        present += 1;
    }
    let mut summaries: Vec<Option<Summary>> = Vec::with_capacity(present);
    for c in 1..=present {
        summaries.push(Summary::read(&file(c, "summary"))?);
    }
    let first = summaries
        .iter()
        .enumerate()
        .find_map(|(c, s)| Some((c, s.as_ref()?)));
    let config = match first {
        Some((c, s)) => s.config(&file(c + 1, "summary"))?,
        None => RunConfig::default(),
    };
    let n_chains = match first {
        Some(_) if config.chains > present => {
            if truncation == Truncation::Error {
                return Err(format_error(
                    &file(present + 1, ext),
                    format!(
                        "missing: the summaries state {} chains, the directory holds {present}",
                        config.chains
                    ),
                ));
            }
            present
        }
        Some(_) => config.chains,
        None => present,
    };
    summaries.truncate(n_chains);
    Ok((n_chains, summaries, config))
}

fn read_npy_chain(path: &Path, stats: &Path, truncation: Truncation) -> Result<ChainData> {
    let x = read_npy(path, truncation)?;
    let s = read_npy(stats, truncation)?;
    if s.cols != 2 {
        return Err(format_error(stats, "a statistics file has 2 columns"));
    }
    let divergent_rows = s.data.chunks_exact(2).filter(|r| r[1] != 0.0).count();
    Ok(ChainData {
        dim: x.cols,
        rows: x.rows,
        draws: x.data,
        divergent_rows,
    })
}

fn read_csv_chain(path: &Path, truncation: Truncation) -> Result<ChainData> {
    let chain = read_csv(path, truncation)?;
    let params: Vec<usize> = (0..chain.columns.len())
        .filter(|&j| !chain.columns[j].ends_with("__"))
        .collect();
    let div = chain.columns.iter().position(|c| c == "divergent__");
    let int = |key: &str, default: usize| {
        chain
            .config(key)
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(default)
    };
    let thin = int("thin", 1).max(1);
    let warm_rows = if int("save_warmup", 0) != 0 {
        int("num_warmup", 0).div_ceil(thin)
    } else {
        0
    };
    let kept = &chain.rows[warm_rows.min(chain.rows.len())..];
    let mut draws = Vec::with_capacity(kept.len() * params.len());
    for r in kept {
        draws.extend(params.iter().map(|&j| r[j]));
    }
    Ok(ChainData {
        dim: params.len(),
        rows: kept.len(),
        divergent_rows: div.map_or(0, |j| kept.iter().filter(|r| r[j] != 0.0).count()),
        draws,
    })
}

/// Coordinates `columns` of every chain of a streamed `.npy` run, read row by row without
/// keeping the other coordinates: `out[j][c]` is chain `c`'s series of coordinate
/// `columns.start + j`, the input of [`crate::diagnostics::rhat_rank`] or
/// [`crate::diagnostics::ess_bulk`]. Memory: `columns.len() × chains × draws` values.
/// Chains and truncation are handled as by [`read_trace`] (with
/// [`Truncation::KeepCompleteRows`], every chain is cut to the shortest).
///
/// # Errors
/// [`Error::InvalidConfig`] for an empty range or one past the dimension; otherwise as
/// [`read_trace`] (a CSV run is [`Error::TraceFile`]: read it with [`read_trace`]).
pub fn read_coordinates(
    dir: impl AsRef<Path>,
    prefix: &str,
    columns: core::ops::Range<usize>,
    truncation: Truncation,
) -> Result<Vec<Vec<Vec<f64>>>> {
    let dir = dir.as_ref();
    let file = |c: usize, ext: &str| dir.join(format!("{prefix}_{c}.{ext}"));
    if !file(1, "npy").exists() {
        return Err(format_error(
            &file(1, "npy"),
            "no streamed .npy chain here (a CSV run is read with read_trace)",
        ));
    }
    let (n_chains, summaries, _) = discover(dir, prefix, "npy", truncation)?;
    let mut readers = Vec::with_capacity(n_chains);
    for c in 1..=n_chains {
        let path = file(c, "npy");
        let (r, rows, cols) = open_npy(&path, truncation)?;
        if summaries[c - 1].is_none() && truncation == Truncation::Error {
            return Err(truncated(
                &path,
                Some(rows),
                rows,
                format!("the chain has no end-of-chain summary {prefix}_{c}.summary"),
            ));
        }
        if columns.is_empty() || columns.end > cols {
            return Err(Error::InvalidConfig {
                reason: format!(
                    "coordinates {columns:?} requested from a run of dimension {cols}; ask for \
                     a non-empty range within 0..{cols}"
                ),
            });
        }
        readers.push((path, r, rows, cols));
    }
    let rows = readers.iter().map(|r| r.2).min().unwrap_or(0);
    let mut out = vec![Vec::with_capacity(n_chains); columns.len()];
    for (path, mut r, _, cols) in readers {
        let mut series = vec![Vec::with_capacity(rows); columns.len()];
        let mut row = vec![0u8; 8 * cols];
        for _ in 0..rows {
            r.read_exact(&mut row).map_err(|e| io_error(&path, e))?;
            for (s, j) in series.iter_mut().zip(columns.clone()) {
                let b: [u8; 8] = row[8 * j..8 * j + 8].try_into().expect("8 bytes");
                s.push(f64::from_le_bytes(b));
            }
        }
        for (o, s) in out.iter_mut().zip(series) {
            o.push(s);
        }
    }
    Ok(out)
}

/// Convergence diagnostics of one coordinate, from [`diagnostics_from_files`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct CoordinateDiagnostics {
    /// Rank-normalised split R-hat ([`crate::diagnostics::rhat_rank`]).
    pub rhat: f64,
    /// Bulk effective sample size ([`crate::diagnostics::ess_bulk`]).
    pub ess_bulk: f64,
}

/// R-hat and bulk ESS of every coordinate of a streamed `.npy` run, `batch` coordinates at a
/// time: memory is about `batch × chains × draws × 8` bytes whatever the dimension, and
/// each batch reads the files once. The values are those of the same functions on the
/// in-memory trace.
///
/// # Errors
/// [`Error::ZeroCount`] for `batch == 0`; as [`read_coordinates`]; [`Error::Diagnostics`]
/// when the draws are too few or not finite.
pub fn diagnostics_from_files(
    dir: impl AsRef<Path>,
    prefix: &str,
    batch: usize,
    truncation: Truncation,
) -> Result<Vec<CoordinateDiagnostics>> {
    if batch == 0 {
        return Err(Error::ZeroCount { what: "batch" });
    }
    let dir = dir.as_ref();
    let path = dir.join(format!("{prefix}_1.npy"));
    let (_, _, dim) = open_npy(&path, Truncation::KeepCompleteRows)?;
    let mut out = Vec::with_capacity(dim);
    for start in (0..dim).step_by(batch) {
        let cols = read_coordinates(dir, prefix, start..(start + batch).min(dim), truncation)?;
        for chains in cols {
            out.push(CoordinateDiagnostics {
                rhat: crate::diagnostics::rhat_rank(&chains)?,
                ess_bulk: crate::diagnostics::ess_bulk(&chains)?,
            });
        }
    }
    Ok(out)
}
