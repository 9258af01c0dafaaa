//! The per-chain writers of [`StreamSink`](super::StreamSink).

use super::{StreamSink, io_error};
use crate::export::{
    CsvPreamble, csv_header_line, csv_param_names, npy_header, write_csv_adaptation,
    write_csv_footer, write_csv_preamble, write_csv_row,
};
use crate::mcmc::StepInfo;
use crate::run::{ChainSummary, ChainWriter};
use crate::trace::RunConfig;
use crate::{Error, Real, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Buffer of each open file: large enough that writes reach the kernel in big blocks,
/// small enough that memory stays a few hundred KiB per chain.
const BUFFER: usize = 1 << 16;

/// The summary file's format version.
pub(crate) const SUMMARY_FORMAT: u32 = 1;

/// What a chain's writer knows about its run.
pub(super) struct ChainMeta {
    pub chain: usize,
    pub dim: usize,
    pub config: RunConfig,
    pub save_warmup: bool,
    pub summary: PathBuf,
}

impl ChainMeta {
    /// Warm-up rows kept: iterations `0, thin, 2·thin, …` (CmdStan's count).
    fn warmup_rows(&self) -> usize {
        if self.save_warmup {
            self.config.warmup.div_ceil(self.config.thin.max(1))
        } else {
            0
        }
    }
    fn keeps_warmup(&self, iteration: usize) -> bool {
        self.save_warmup && iteration.is_multiple_of(self.config.thin.max(1))
    }
}

/// A buffered output file that remembers its path for error messages.
struct Out {
    path: PathBuf,
    w: BufWriter<File>,
}

impl Out {
    fn create(path: PathBuf) -> Result<Self> {
        let f = File::create(&path).map_err(|e| io_error(&path, e))?;
        Ok(Self {
            w: BufWriter::with_capacity(BUFFER, f),
            path,
        })
    }
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.w.write_all(bytes).map_err(|e| io_error(&self.path, e))
    }
    /// Flushes the buffer and syncs the file to disk.
    fn sync(mut self) -> Result<()> {
        self.w.flush().map_err(|e| io_error(&self.path, e))?;
        self.w
            .get_ref()
            .sync_all()
            .map_err(|e| io_error(&self.path, e))
    }
}

/// Writes the end-of-chain summary atomically: temporary file, sync, rename.
fn write_summary(
    meta: &ChainMeta,
    s: &ChainSummary,
    step: Option<f64>,
    metric: Option<&[f64]>,
) -> Result<()> {
    let c = &meta.config;
    let mut t = String::new();
    let mut kv = |k: &str, v: String| {
        t.push_str(k);
        t.push_str(" = ");
        t.push_str(&v);
        t.push('\n');
    };
    kv("format", SUMMARY_FORMAT.to_string());
    kv("chain", (meta.chain + 1).to_string());
    kv("chains", c.chains.to_string());
    kv("dim", meta.dim.to_string());
    kv("draws", c.draws.to_string());
    kv("warmup", c.warmup.to_string());
    kv("thin", c.thin.to_string());
    kv("seed", c.seed.to_string());
    kv("save_warmup", u8::from(meta.save_warmup).to_string());
    kv("sampler", c.sampler.clone());
    for (k, v) in &c.parameters {
        kv(&format!("parameter.{k}"), v.to_string());
    }
    kv("acceptance_rate", s.acceptance_rate.to_string());
    kv("mean_accept_prob", s.mean_accept_prob.to_string());
    kv("divergences", s.divergences.to_string());
    kv("warmup_divergences", s.warmup_divergences.to_string());
    kv("wall_time_ns", s.wall_time.as_nanos().to_string());
    if let Some(h) = step {
        kv("adapted_step_size", h.to_string());
    }
    if let Some(m) = metric {
        let m: Vec<String> = m.iter().map(f64::to_string).collect();
        kv("adapted_metric", m.join(", "));
    }
    let tmp = meta.summary.with_extension("summary.tmp");
    let mut out = Out::create(tmp.clone())?;
    out.write(t.as_bytes())?;
    out.sync()?;
    std::fs::rename(&tmp, &meta.summary).map_err(|e| io_error(&meta.summary, e))
}

fn count_error(path: &Path, what: &str, written: usize, expected: usize) -> Error {
    Error::TraceFile {
        path: path.to_path_buf(),
        reason: format!(
            "the chain wrote {written} {what} rows but the header states {expected}; this is a \
             bug of the driver or of a custom sink — please report it"
        ),
    }
}

/// One `.npy` data file and its statistics file.
struct NpyPair {
    data: Out,
    stats: Out,
    rows: usize,
    expected: usize,
}

impl NpyPair {
    fn create(base: &Path, stem: &str, rows: usize, dim: usize) -> Result<Self> {
        let mut data = Out::create(base.join(format!("{stem}.npy")))?;
        data.write(&npy_header(&[rows, dim]))?;
        let mut stats = Out::create(base.join(format!("{stem}.stats.npy")))?;
        stats.write(&npy_header(&[rows, 2]))?;
        Ok(Self {
            data,
            stats,
            rows: 0,
            expected: rows,
        })
    }
    fn row<T: Real>(&mut self, buf: &mut Vec<u8>, info: &StepInfo, x: &[T]) -> Result<()> {
        buf.clear();
        for v in x {
            buf.extend_from_slice(&v.to_f64().to_le_bytes());
        }
        self.data.write(buf)?;
        let mut s = [0u8; 16];
        s[..8].copy_from_slice(&info.accept_prob.to_le_bytes());
        s[8..].copy_from_slice(&f64::from(u8::from(info.divergent)).to_le_bytes());
        self.stats.write(&s)?;
        self.rows += 1;
        Ok(())
    }
    fn finish(self) -> Result<()> {
        if self.rows != self.expected {
            return Err(count_error(
                &self.data.path,
                "npy",
                self.rows,
                self.expected,
            ));
        }
        self.data.sync()?;
        self.stats.sync()
    }
}

/// The sink's `lp__` function.
type LogDensityRef<'a> = dyn Fn(&[f64]) -> f64 + Send + Sync + 'a;

/// The `.npy` writer of one chain.
pub(super) struct NpyWriter {
    meta: ChainMeta,
    draws: NpyPair,
    warmup: Option<NpyPair>,
    buf: Vec<u8>,
    step: Option<f64>,
    metric: Option<Vec<f64>>,
}

impl NpyWriter {
    pub(super) fn open(sink: &StreamSink<'_>, meta: ChainMeta) -> Result<Self> {
        let stem = format!("{}_{}", sink.prefix, meta.chain + 1);
        let draws = NpyPair::create(&sink.dir, &stem, meta.config.draws, meta.dim)?;
        let warmup = if meta.save_warmup {
            Some(NpyPair::create(
                &sink.dir,
                &format!("{stem}.warmup"),
                meta.warmup_rows(),
                meta.dim,
            )?)
        } else {
            None
        };
        Ok(Self {
            buf: Vec::with_capacity(8 * meta.dim),
            meta,
            draws,
            warmup,
            step: None,
            metric: None,
        })
    }
}

impl<T: Real> ChainWriter<T> for NpyWriter {
    fn warmup_step(&mut self, iteration: usize, info: &StepInfo, x: &[T]) -> Result<()> {
        if self.meta.keeps_warmup(iteration)
            && let Some(w) = &mut self.warmup
        {
            w.row(&mut self.buf, info, x)?;
        }
        Ok(())
    }
    fn warmup_done(&mut self, step_size: Option<f64>, metric: Option<&[f64]>) -> Result<()> {
        self.step = step_size;
        self.metric = metric.map(<[f64]>::to_vec);
        Ok(())
    }
    fn draw(&mut self, info: &StepInfo, x: &[T]) -> Result<()> {
        self.draws.row(&mut self.buf, info, x)
    }
    fn finish(self: Box<Self>, summary: &ChainSummary) -> Result<()> {
        let this = *self;
        if let Some(w) = this.warmup {
            w.finish()?;
        }
        this.draws.finish()?;
        write_summary(&this.meta, summary, this.step, this.metric.as_deref())
    }
}

/// The CmdStan CSV writer of one chain.
pub(super) struct CsvWriter<'s> {
    meta: ChainMeta,
    out: Out,
    names: Vec<String>,
    log_density: Option<&'s LogDensityRef<'s>>,
    explicit_step: Option<f64>,
    /// The `stepsize__` value, once the header line is written with that column.
    step_column: Option<f64>,
    header_written: bool,
    xf: Vec<f64>,
    warmup_rows: usize,
    rows: usize,
    step: Option<f64>,
    metric: Option<Vec<f64>>,
}

impl<'s> CsvWriter<'s> {
    pub(super) fn open(sink: &'s StreamSink<'_>, meta: ChainMeta) -> Result<Self> {
        let path = sink.file(meta.chain, "csv");
        let names =
            csv_param_names(sink.names.as_deref(), meta.dim).map_err(|e| Error::InvalidConfig {
                reason: e.to_string(),
            })?;
        let mut out = Out::create(path)?;
        let c = &meta.config;
        let mut pre = Vec::new();
        write_csv_preamble(
            &mut pre,
            &CsvPreamble {
                model: "langevin",
                num_samples: c.draws * c.thin,
                warmup: c.warmup,
                save_warmup: meta.save_warmup,
                thin: c.thin,
                sampler: &c.sampler,
                parameters: &c.parameters,
                chains: Some(c.chains),
                id: meta.chain + 1,
                seed: Some(c.seed),
            },
        )
        .map_err(|e| io_error(&out.path, e))?;
        out.write(&pre)?;
        Ok(Self {
            xf: vec![0.0; meta.dim],
            meta,
            out,
            names,
            log_density: sink.log_density.as_deref(),
            explicit_step: sink.step_size,
            step_column: None,
            header_written: false,
            warmup_rows: 0,
            rows: 0,
            step: None,
            metric: None,
        })
    }
    fn header(&mut self, step: Option<f64>) -> Result<()> {
        if !self.header_written {
            let line = csv_header_line(
                self.log_density.is_some(),
                true,
                step.is_some(),
                &self.names,
            );
            self.out.write(line.as_bytes())?;
            self.out.write(b"\n")?;
            self.step_column = step;
            self.header_written = true;
        }
        Ok(())
    }
    fn row<T: Real>(&mut self, info: &StepInfo, x: &[T]) -> Result<()> {
        for (a, b) in self.xf.iter_mut().zip(x) {
            *a = b.to_f64();
        }
        let lp = self.log_density.map(|f| f(&self.xf));
        let path = &self.out.path;
        write_csv_row(
            &mut self.out.w,
            lp,
            Some((info.accept_prob, info.divergent)),
            self.step_column,
            &self.xf,
        )
        .map_err(|e| io_error(path, e))
    }
}

impl<T: Real> ChainWriter<T> for CsvWriter<'_> {
    fn warmup_step(&mut self, iteration: usize, info: &StepInfo, x: &[T]) -> Result<()> {
        if self.meta.keeps_warmup(iteration) {
            self.header(self.explicit_step)?;
            self.row(info, x)?;
            self.warmup_rows += 1;
        }
        Ok(())
    }
    fn warmup_done(&mut self, step_size: Option<f64>, metric: Option<&[f64]>) -> Result<()> {
        let step = self.explicit_step.or(step_size);
        self.header(step)?;
        let mut block = Vec::new();
        write_csv_adaptation(&mut block, step, metric, self.meta.dim)
            .map_err(|e| io_error(&self.out.path, e))?;
        self.out.write(&block)?;
        self.step = step_size;
        self.metric = metric.map(<[f64]>::to_vec);
        Ok(())
    }
    fn draw(&mut self, info: &StepInfo, x: &[T]) -> Result<()> {
        self.row(info, x)?;
        self.rows += 1;
        Ok(())
    }
    fn finish(self: Box<Self>, summary: &ChainSummary) -> Result<()> {
        let mut this = *self;
        if this.rows != this.meta.config.draws {
            return Err(count_error(
                &this.out.path,
                "CSV",
                this.rows,
                this.meta.config.draws,
            ));
        }
        if this.warmup_rows != this.meta.warmup_rows() {
            return Err(count_error(
                &this.out.path,
                "CSV warm-up",
                this.warmup_rows,
                this.meta.warmup_rows(),
            ));
        }
        let mut foot = Vec::new();
        write_csv_footer(&mut foot, summary.wall_time).map_err(|e| io_error(&this.out.path, e))?;
        this.out.write(&foot)?;
        this.out.sync()?;
        write_summary(&this.meta, summary, this.step, this.metric.as_deref())
    }
}
