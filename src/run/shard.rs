//! Sharded runs: [`Sampler::chain_range`] runs chains k … k+n−1 of a seeded run, and
//! [`Trace::merge`] puts the shards' traces back together, bit for bit the trace of the
//! one-process run of every chain.
//!
//! # Why it is exact
//! Chain c of a run draws its start from the initialisation stream `(seed ^ const, c)` and its
//! transitions from [`crate::rng::stream`]`(seed, c)`; the kernel is initialised with the
//! chain's index in the run, and warm-up adaptation ([`crate::run::Adaptation`], the kernels'
//! own `warmup_*` hooks) keeps a state per chain: nothing is pooled across chains (every
//! adaptation of the crate — dual averaging, the windowed metric, MALT's — takes `&self` and a
//! per-chain state, and none has interior mutability). So a chain computes the same bits
//! whichever process runs it, next to whichever other chains.
//!
//! # What a shard sees
//! * **Initial points** given to [`Sampler::run`] / [`Sampler::run_with`]: one point shared by
//!   every chain, one per chain *of the run* (the same list on every machine; chain c takes
//!   `inits[c]`), or one per chain *of the shard* (chain `k + i` takes `inits[i]`).
//!   [`Sampler::run_from`]'s callback receives the chain's index in the run.
//! * **Observers** see the shard's chains as `0 … n−1` — the indices of the returned trace,
//!   so a [`crate::export::DrawStats`] recorder lines up with it; errors
//!   ([`crate::Error::NonFiniteState`], [`crate::Error::ChainPanicked`]) name the chain's
//!   index in the run.
//! * **The trace** holds the shard's n chains; [`crate::trace::RunConfig::chains`] is the
//!   number of chains of the whole run and [`crate::trace::RunConfig::first_chain`] is k.
//!
//! The merged trace equals the one-process trace in every field except the wall-clock times
//! (the merge keeps each chain's own and takes the longest shard's as the run's).
//!
//! # Shard files
//! [`Trace::write_shard`] / [`Trace::read_shard`] store a trace exactly (every field, the
//! draws as IEEE-754 bit patterns) in a small versioned little-endian layout, for the jobs of
//! a Slurm array or an MPI gather (`langevin::distributed`, feature `mpi`):
//!
//! ```text
//! "LGVSHARD" (8 bytes) | version u32 = 1 | scalar size u32 (4: f32, 8: f64)
//! dim, n_draws, n_chains (in the file), first_chain, chains (in the run),
//! draws, warmup, thin, seed: u64 each
//! sampler: u64 length + UTF-8 | parameters: u64 count, then per parameter a string and f64
//! per chain: acceptance_rate f64, mean_accept_prob f64, divergences u64,
//!            warmup_divergences u64, wall time u64 ns
//! wall_time u64 ns | adapted step: u8 flag (+ n_chains f64)
//! adapted metric: u8 flag (+ per chain u64 length and f64 values)
//! stability bound: u8 flag (+ step_size f64, max_step_size f64)
//! draws: n_chains × n_draws × dim f64 (an f32 trace is widened exactly)
//! ```
//! A truncated or trailing-garbage file, a wrong magic or version, or a scalar type other than
//! the one asked for is [`crate::Error::InvalidShard`].
//!
//! # What cannot be sharded
//! SMC ([`crate::smc`]) resamples every particle from the normalised weights of *all*
//! particles at each stage, and the predictor–corrector sampler's Langevin corrector takes its
//! step from batch means over all particles: both are one computation over the whole
//! population, and have no shard mode (the corrector refuses a particle range with
//! [`crate::Error::InvalidConfig`]). Particle samplers whose particles are independent take
//! a particle range: [`crate::annealed::ParticleRun::range`].
//!
//! # Example
//! ```
//! use langevin::prelude::*;
//! use langevin::run::shard_range;
//! use langevin::targets::Gaussian;
//! let mala = Mala::new(Gaussian::<f64>::standard(2)?, 0.5)?;
//! let run = Sampler::new(200).chains(5).warmup(100).seed(3);
//! let whole = run.clone().run(&mala, &[vec![0.0; 2]])?;
//! // Three jobs, e.g. a Slurm array 0-2: job k runs shard_range(5, k, 3) = 0..2, 2..4, 4..5.
//! let mut shards = Vec::new();
//! for k in 0..3 {
//!     let shard = run.clone().chain_range(shard_range(5, k, 3)?).run(&mala, &[vec![0.0; 2]])?;
//!     let mut file = Vec::new(); // a file on disk in a real job
//!     shard.write_shard(&mut file).unwrap();
//!     shards.push(Trace::<f64>::read_shard(&file[..])?);
//! }
//! let merged = Trace::merge(shards)?;
//! assert_eq!(merged.chains, whole.chains);
//! assert_eq!(merged.acceptance_rate, whole.acceptance_rate);
//! # Ok::<(), langevin::Error>(())
//! ```

use super::Sampler;
use crate::trace::{RunConfig, Trace};
use crate::{Error, Real, Result};
use core::ops::Range;
use core::time::Duration;
use std::io::{self, Read, Write};

/// The contiguous range of the `k`-th of `of` shards of `total` items (chains or particles):
/// as even as possible, the first `total % of` shards one item larger. Shards are empty when
/// `of > total` (and only then).
///
/// ```
/// use langevin::run::shard_range;
/// assert_eq!(shard_range(10, 0, 3)?, 0..4);
/// assert_eq!(shard_range(10, 1, 3)?, 4..7);
/// assert_eq!(shard_range(10, 2, 3)?, 7..10);
/// assert_eq!(shard_range(2, 2, 3)?, 2..2);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # Errors
/// [`Error::ZeroCount`] for `of == 0`; [`Error::InvalidConfig`] for `k >= of`.
pub fn shard_range(total: usize, k: usize, of: usize) -> Result<Range<usize>> {
    if of == 0 {
        return Err(Error::ZeroCount { what: "shards" });
    }
    if k >= of {
        return Err(Error::InvalidConfig {
            reason: format!("shard index {k} of {of} shards; shards are numbered 0..{of}"),
        });
    }
    let (base, rem) = (total / of, total % of);
    let start = k * base + k.min(rem);
    Ok(start..start + base + usize::from(k < rem))
}

impl Sampler {
    /// Runs only chains `range` (e.g. `k..k + n`) of the seeded run of
    /// [`Sampler::chains`] chains — same streams, same starts, same bits per chain — so that
    /// independent jobs each run a shard and [`Trace::merge`] of their traces is the trace of
    /// the whole run (see the [module docs](crate::run::shard) for what a shard sees).
    ///
    /// Validated when the run starts: an empty range is [`Error::ZeroCount`], a range past
    /// the number of chains [`Error::InvalidConfig`].
    pub fn chain_range(mut self, range: Range<usize>) -> Self {
        self.chain_range = Some(range);
        self
    }

    /// The first chain and the number of chains this run computes.
    pub(super) fn shard_bounds(&self) -> Result<(usize, usize)> {
        match &self.chain_range {
            None => Ok((0, self.n_chains())),
            Some(r) if r.start >= r.end => Err(Error::ZeroCount {
                what: "chains in the chain range",
            }),
            Some(r) if r.end > self.n_chains() => Err(Error::InvalidConfig {
                reason: format!(
                    "chain range {}..{} goes past the run's {} chains; set `chains` to the \
                     number of chains of the whole run",
                    r.start,
                    r.end,
                    self.n_chains()
                ),
            }),
            Some(r) => Ok((r.start, r.end - r.start)),
        }
    }
}

fn mismatch(reason: String) -> Error {
    Error::InvalidShard { reason }
}

/// The part of a configuration every shard of a run shares (wall times and the shard's
/// position excluded); parameters compared by bit pattern.
fn same_run(a: &RunConfig, b: &RunConfig) -> bool {
    a.sampler == b.sampler
        && a.parameters.len() == b.parameters.len()
        && a.parameters
            .iter()
            .zip(&b.parameters)
            .all(|((ka, va), (kb, vb))| ka == kb && va.to_bits() == vb.to_bits())
        && (a.draws, a.warmup, a.thin, a.seed, a.chains)
            == (b.draws, b.warmup, b.thin, b.seed, b.chains)
}

impl<T: Real> Trace<T> {
    /// The chains of the run this trace holds: `0..chains` for a whole run,
    /// `first_chain..first_chain + n_chains()` for a shard.
    pub fn chain_range(&self) -> Range<usize> {
        self.config.first_chain..self.config.first_chain + self.n_chains()
    }

    /// Merges the traces of shards of one seeded run ([`Sampler::chain_range`]), in any
    /// order, into the trace of the whole run: draws, acceptance statistics, divergences,
    /// adapted step sizes and metrics and the configuration record are bit-identical to the
    /// one-process run; each chain keeps its wall time and the run's is the longest shard's.
    ///
    /// # Errors
    /// [`Error::ZeroCount`] without shards; [`Error::InvalidShard`] when the shards come from
    /// different runs (seed, sampler, parameters, draws, warm-up, thinning, number of chains,
    /// dimension) or a shard is internally inconsistent; [`Error::ShardOverlap`] when a chain
    /// is in two shards; [`Error::ShardMissing`] when a chain is in none.
    pub fn merge(shards: impl IntoIterator<Item = Trace<T>>) -> Result<Trace<T>> {
        let mut shards: Vec<Trace<T>> = shards.into_iter().collect();
        if shards.is_empty() {
            return Err(Error::ZeroCount { what: "shards" });
        }
        for s in &shards {
            let n = s.n_chains();
            let consistent = s.acceptance_rate.len() == n
                && s.mean_accept_prob.len() == n
                && s.divergences.len() == n
                && s.warmup_divergences.len() == n
                && s.config.chain_wall_time.len() == n
                && s.adapted_step_size.as_ref().is_none_or(|v| v.len() == n)
                && s.adapted_mass.as_ref().is_none_or(|v| v.len() == n)
                && s.chains.iter().all(|c| c.len() == s.n_draws * s.dim);
            if !consistent {
                return Err(mismatch(format!(
                    "the shard of chains {:?} has per-chain records of different lengths; \
                     merge traces as the sampler returned them",
                    s.chain_range()
                )));
            }
        }
        shards.sort_by_key(|s| s.config.first_chain);
        let head = &shards[0];
        for s in &shards[1..] {
            if !same_run(&head.config, &s.config) || s.dim != head.dim || s.n_draws != head.n_draws
            {
                return Err(mismatch(format!(
                    "the shard of chains {:?} is not from the same run as the shard of chains \
                     {:?} (seed, sampler, parameters, draws, warm-up, thinning, chains or \
                     dimension differ: {:?} vs {:?}); merge shards of one run only",
                    s.chain_range(),
                    head.chain_range(),
                    s.config,
                    head.config
                )));
            }
        }
        let total = head.config.chains;
        let mut next = 0;
        for s in &shards {
            let r = s.chain_range();
            if r.start < next {
                return Err(Error::ShardOverlap {
                    first: r.start,
                    end: next.min(r.end),
                });
            }
            if r.start > next {
                return Err(Error::ShardMissing {
                    first: next,
                    end: r.start,
                });
            }
            next = r.end;
        }
        if next != total {
            return Err(if next < total {
                Error::ShardMissing {
                    first: next,
                    end: total,
                }
            } else {
                mismatch(format!(
                    "the shards hold chains 0..{next} of a run of {total} chains"
                ))
            });
        }
        let all_steps = shards.iter().all(|s| s.adapted_step_size.is_some());
        let all_mass = shards.iter().all(|s| s.adapted_mass.is_some());
        let mut out = Trace {
            dim: head.dim,
            n_draws: head.n_draws,
            chains: Vec::with_capacity(total),
            acceptance_rate: Vec::with_capacity(total),
            mean_accept_prob: Vec::with_capacity(total),
            divergences: Vec::with_capacity(total),
            warmup_divergences: Vec::with_capacity(total),
            wall_time: Duration::ZERO,
            adapted_step_size: all_steps.then(Vec::new),
            adapted_mass: all_mass.then(Vec::new),
            config: RunConfig {
                first_chain: 0,
                chain_wall_time: Vec::with_capacity(total),
                ..head.config.clone()
            },
        };
        for s in shards {
            out.chains.extend(s.chains);
            out.acceptance_rate.extend(s.acceptance_rate);
            out.mean_accept_prob.extend(s.mean_accept_prob);
            out.divergences.extend(s.divergences);
            out.warmup_divergences.extend(s.warmup_divergences);
            out.config.chain_wall_time.extend(s.config.chain_wall_time);
            out.wall_time = out.wall_time.max(s.wall_time);
            if let (Some(o), Some(v)) = (out.adapted_step_size.as_mut(), s.adapted_step_size) {
                o.extend(v);
            }
            if let (Some(o), Some(v)) = (out.adapted_mass.as_mut(), s.adapted_mass) {
                o.extend(v);
            }
        }
        Ok(out)
    }

    /// Writes the trace exactly in the shard-file layout of the [module docs](crate::run::shard)
    /// (every field; the draws as bit patterns), to be read back by [`Trace::read_shard`].
    ///
    /// # Errors
    /// The writer's I/O errors.
    pub fn write_shard<W: Write>(&self, mut w: W) -> io::Result<()> {
        let u = |w: &mut W, v: u64| w.write_all(&v.to_le_bytes());
        let f = |w: &mut W, v: f64| w.write_all(&v.to_bits().to_le_bytes());
        let s = |w: &mut W, v: &str| {
            w.write_all(&(v.len() as u64).to_le_bytes())?;
            w.write_all(v.as_bytes())
        };
        let ns = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        w.write_all(MAGIC)?;
        w.write_all(&VERSION.to_le_bytes())?;
        w.write_all(&(core::mem::size_of::<T>() as u32).to_le_bytes())?;
        let c = &self.config;
        for v in [
            self.dim,
            self.n_draws,
            self.n_chains(),
            c.first_chain,
            c.chains,
            c.draws,
            c.warmup,
            c.thin,
        ] {
            u(&mut w, v as u64)?;
        }
        u(&mut w, c.seed)?;
        s(&mut w, &c.sampler)?;
        u(&mut w, c.parameters.len() as u64)?;
        for (k, v) in &c.parameters {
            s(&mut w, k)?;
            f(&mut w, *v)?;
        }
        for i in 0..self.n_chains() {
            let get = |v: &[f64]| v.get(i).copied().unwrap_or(f64::NAN);
            f(&mut w, get(&self.acceptance_rate))?;
            f(&mut w, get(&self.mean_accept_prob))?;
            u(&mut w, self.divergences.get(i).copied().unwrap_or(0) as u64)?;
            u(
                &mut w,
                self.warmup_divergences.get(i).copied().unwrap_or(0) as u64,
            )?;
            u(&mut w, c.chain_wall_time.get(i).copied().map_or(0, ns))?;
        }
        u(&mut w, ns(self.wall_time))?;
        match &self.adapted_step_size {
            Some(v) if v.len() == self.n_chains() => {
                w.write_all(&[1])?;
                for &h in v {
                    f(&mut w, h)?;
                }
            }
            _ => w.write_all(&[0])?,
        }
        match &self.adapted_mass {
            Some(v) if v.len() == self.n_chains() => {
                w.write_all(&[1])?;
                for m in v {
                    u(&mut w, m.len() as u64)?;
                    for &x in m {
                        f(&mut w, x)?;
                    }
                }
            }
            _ => w.write_all(&[0])?,
        }
        match &c.stability {
            Some(b) => {
                w.write_all(&[1])?;
                f(&mut w, b.step_size)?;
                f(&mut w, b.max_step_size)?;
            }
            None => w.write_all(&[0])?,
        }
        let mut buf = Vec::with_capacity(8 * 1024);
        for chain in &self.chains {
            for block in chain.chunks(1024) {
                buf.clear();
                for x in block {
                    buf.extend_from_slice(&x.to_f64().to_bits().to_le_bytes());
                }
                w.write_all(&buf)?;
            }
        }
        w.flush()
    }

    /// Reads a trace written by [`Trace::write_shard`] (the whole reader: trailing bytes are
    /// an error).
    ///
    /// # Errors
    /// [`Error::InvalidShard`] for an I/O error, a wrong magic or version, a scalar type other
    /// than `T`, a truncated file, sizes that cannot be allocated, or trailing bytes.
    pub fn read_shard<R: Read>(r: R) -> Result<Trace<T>> {
        let mut rd = Reader { r, at: 0 };
        let mut magic = [0u8; 8];
        rd.bytes(&mut magic)?;
        if &magic != MAGIC {
            return Err(mismatch(
                "not a langevin shard file (the magic bytes differ); pass a file written by \
                 `Trace::write_shard`"
                    .into(),
            ));
        }
        let version = rd.u32()?;
        if version != VERSION {
            return Err(mismatch(format!(
                "shard file version {version}; this langevin reads version {VERSION}: merge \
                 with the langevin version that wrote it"
            )));
        }
        let size = rd.u32()? as usize;
        if size != core::mem::size_of::<T>() {
            return Err(mismatch(format!(
                "the shard holds {}-byte scalars, read as {}-byte ones; read it as f{}",
                size,
                core::mem::size_of::<T>(),
                size * 8
            )));
        }
        let dim = rd.usize()?;
        let n_draws = rd.usize()?;
        let n = rd.usize()?;
        let first_chain = rd.usize()?;
        let chains = rd.usize()?;
        let draws = rd.usize()?;
        let warmup = rd.usize()?;
        let thin = rd.usize()?;
        let seed = rd.u64()?;
        let sampler = rd.string()?;
        let np = rd.usize()?;
        let mut parameters = Vec::new();
        for _ in 0..np {
            let k = rd.string()?;
            parameters.push((k, rd.f64()?));
        }
        let mut tr = Trace {
            dim,
            n_draws,
            chains: Vec::new(),
            acceptance_rate: Vec::new(),
            mean_accept_prob: Vec::new(),
            divergences: Vec::new(),
            warmup_divergences: Vec::new(),
            wall_time: Duration::ZERO,
            adapted_step_size: None,
            adapted_mass: None,
            config: RunConfig {
                sampler,
                parameters,
                draws,
                warmup,
                thin,
                seed,
                chains,
                first_chain,
                chain_wall_time: Vec::new(),
                ..Default::default()
            },
        };
        for _ in 0..n {
            tr.acceptance_rate.push(rd.f64()?);
            tr.mean_accept_prob.push(rd.f64()?);
            tr.divergences.push(rd.usize()?);
            tr.warmup_divergences.push(rd.usize()?);
            tr.config
                .chain_wall_time
                .push(Duration::from_nanos(rd.u64()?));
        }
        tr.wall_time = Duration::from_nanos(rd.u64()?);
        if rd.flag()? {
            tr.adapted_step_size = Some((0..n).map(|_| rd.f64()).collect::<Result<_>>()?);
        }
        if rd.flag()? {
            let mut masses = Vec::new();
            for _ in 0..n {
                let len = rd.usize()?;
                masses.push((0..len).map(|_| rd.f64()).collect::<Result<_>>()?);
            }
            tr.adapted_mass = Some(masses);
        }
        if rd.flag()? {
            let step_size = rd.f64()?;
            let max_step_size = rd.f64()?;
            tr.config.stability = Some(crate::mcmc::StabilityBound::new(step_size, max_step_size));
        }
        let per_chain = n_draws.checked_mul(dim).ok_or_else(|| {
            mismatch(format!(
                "the shard claims {n_draws} draws × {dim} coordinates; the file is corrupt"
            ))
        })?;
        for _ in 0..n {
            // Read in bounded pieces: a corrupt length runs into end-of-file, not into an
            // allocation of its claimed size.
            let mut chain = Vec::new();
            let mut left = per_chain;
            let mut buf = vec![0u8; 8 * 1024];
            while left > 0 {
                let k = left.min(1024);
                rd.bytes(&mut buf[..8 * k])?;
                chain.extend(buf[..8 * k].chunks_exact(8).map(|b| {
                    T::c(f64::from_bits(u64::from_le_bytes(
                        b.try_into().unwrap_or([0; 8]),
                    )))
                }));
                left -= k;
            }
            tr.chains.push(chain);
        }
        let mut extra = [0u8; 1];
        match rd.r.read(&mut extra) {
            Ok(0) => Ok(tr),
            Ok(_) => Err(mismatch(format!(
                "trailing bytes after the shard's {} bytes; pass the file as written",
                rd.at
            ))),
            Err(e) => Err(mismatch(format!("reading the shard: {e}"))),
        }
    }
}

const MAGIC: &[u8; 8] = b"LGVSHARD";
const VERSION: u32 = 1;

/// A reader that counts bytes and turns I/O errors and truncation into typed errors.
struct Reader<R> {
    r: R,
    at: usize,
}

impl<R: Read> Reader<R> {
    fn bytes(&mut self, buf: &mut [u8]) -> Result<()> {
        self.r.read_exact(buf).map_err(|e| {
            mismatch(if e.kind() == io::ErrorKind::UnexpectedEof {
                format!(
                    "the shard file ends after {} bytes, inside a record: it is truncated \
                     (a job killed while writing?); rerun that shard",
                    self.at
                )
            } else {
                format!("reading the shard: {e}")
            })
        })?;
        self.at += buf.len();
        Ok(())
    }
    fn u32(&mut self) -> Result<u32> {
        let mut b = [0u8; 4];
        self.bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn u64(&mut self) -> Result<u64> {
        let mut b = [0u8; 8];
        self.bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn usize(&mut self) -> Result<usize> {
        let v = self.u64()?;
        usize::try_from(v).map_err(|_| mismatch(format!("a count of {v} does not fit in usize")))
    }
    fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_bits(self.u64()?))
    }
    fn flag(&mut self) -> Result<bool> {
        let mut b = [0u8; 1];
        self.bytes(&mut b)?;
        match b[0] {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(mismatch(format!(
                "byte {} is {v}, not a 0/1 flag: the file is corrupt",
                self.at - 1
            ))),
        }
    }
    fn string(&mut self) -> Result<String> {
        let len = self.usize()?;
        if len > 1 << 20 {
            return Err(mismatch(format!(
                "a {len}-byte name at byte {}: the file is corrupt",
                self.at
            )));
        }
        let mut b = vec![0u8; len];
        self.bytes(&mut b)?;
        String::from_utf8(b).map_err(|_| mismatch("a name is not UTF-8".into()))
    }
}
