//! Many independent particles, run in parallel blocks with one RNG stream per particle.

#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::rng::{ChainRng, stream};
use crate::{Error, Real, Result};
use rayon::prelude::*;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Particles per block: the unit of parallel work and of batched score evaluation. Fixed
/// (not derived from the thread count) so results are identical on any number of threads.
pub(crate) const BLOCK: usize = 64;

/// How many particles to run, with which seed, on how many threads.
///
/// Particle `i` draws every random number (its initial point, its noise) from
/// [`crate::rng::stream`]`(seed, i)`, so a seed fixes every particle bit for bit whatever the
/// number of threads.
///
/// Every particle sampler's `run` returns [`Error::ZeroCount`] for `threads(0)`, and
/// [`Error::ChainPanicked`] (naming the first particle of the block of 64 in which it
/// happened, with the message) when a user closure — the start callback or the score —
/// panics: the panic is caught, the process goes on (Rust's default panic hook still prints
/// the message), and no partial state is returned.
///
/// ```
/// use langevin::annealed::ParticleRun;
/// let run = ParticleRun::new(1_000).seed(7).threads(2);
/// assert_eq!(run.particles(), 1_000);
/// assert_eq!(run.range(250..500).particle_range(), 250..500);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParticleRun {
    n: usize,
    seed: u64,
    threads: Option<usize>,
    /// The particles this process runs (`None`: all of them).
    range: Option<(usize, usize)>,
}

impl ParticleRun {
    /// `n` particles, seed 0, rayon's global pool.
    pub fn new(n: usize) -> Self {
        Self {
            n,
            seed: 0,
            threads: None,
            range: None,
        }
    }
    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Runs on a dedicated pool of `threads` threads (results do not depend on it).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }
    /// The number of particles of the run (of every shard together).
    pub fn particles(&self) -> usize {
        self.n
    }
    /// Runs only particles `range` (e.g. `i..j`) of the seeded run of
    /// [`ParticleRun::particles`] particles: particle `i` still draws from
    /// `rng::stream(seed, i)` and starts from `init(i, …)`, so the result holds exactly the
    /// rows `i..j` of the whole run's particles, and [`Particles::merge`] of the shards is the
    /// whole run (see [`crate::run::shard`]). Validated when the run starts: an empty range
    /// is [`Error::ZeroCount`], a range past the particles [`Error::InvalidConfig`]. Samplers
    /// that couple the particles refuse a range that is not the whole run (the
    /// predictor–corrector sampler's Langevin corrector).
    pub fn range(mut self, range: core::ops::Range<usize>) -> Self {
        self.range = Some((range.start, range.end));
        self
    }
    /// The particles this run computes (`0..particles()` unless [`ParticleRun::range`] was
    /// set; not validated).
    pub fn particle_range(&self) -> core::ops::Range<usize> {
        self.range.map_or(0..self.n, |(a, b)| a..b)
    }
    /// The validated range, and the fixed blocks `(start, len)` covering it: the whole run's
    /// blocks of [`BLOCK`] particles cut at the range's ends, so a shard's blocks are pieces
    /// of the whole run's.
    pub(crate) fn blocks(&self) -> Result<(core::ops::Range<usize>, Vec<BlockSpan>)> {
        let r = self.particle_range();
        if self.range.is_some() && r.start >= r.end {
            return Err(Error::ZeroCount {
                what: "particles in the particle range",
            });
        }
        if r.end > self.n {
            return Err(Error::InvalidConfig {
                reason: format!(
                    "particle range {}..{} goes past the run's {} particles; set `ParticleRun::new` \
                     to the number of particles of the whole run",
                    r.start, r.end, self.n
                ),
            });
        }
        let mut blocks = Vec::with_capacity(r.len().div_ceil(BLOCK) + 1);
        let mut s = r.start;
        while s < r.end {
            let e = r.end.min((s / BLOCK + 1) * BLOCK);
            blocks.push((s, e - s));
            s = e;
        }
        Ok((r, blocks))
    }
}

/// A block of particles: the index of its first particle and its length.
pub(crate) type BlockSpan = (usize, usize);

/// The final states of `n` particles in ℝᵈ, row-major (for a shard of a run,
/// [`ParticleRun::range`], the rows [`Particles::range`] of the run's particles).
#[derive(Debug, Clone, PartialEq)]
pub struct Particles<T> {
    dim: usize,
    data: Vec<T>,
    /// Index in the run of the first row.
    first: usize,
    /// Particles of the whole run.
    total: usize,
}

impl<T: Real> Particles<T> {
    /// Wraps a row-major `n × dim` array.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if the length is not a multiple of `dim`, or
    /// [`Error::ZeroDimension`].
    pub fn from_vec(data: Vec<T>, dim: usize) -> Result<Self> {
        if dim == 0 {
            return Err(Error::ZeroDimension { what: "particles" });
        }
        crate::error::check_len(
            "particles (row-major n × dim)",
            data.len().div_ceil(dim) * dim,
            data.len(),
        )?;
        let total = data.len() / dim;
        Ok(Self {
            dim,
            data,
            first: 0,
            total,
        })
    }
    /// Rows `first..first + data.len() / dim` of a run of `total` particles (a shard received
    /// from another process).
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    pub(crate) fn from_shard(data: Vec<T>, dim: usize, first: usize, total: usize) -> Result<Self> {
        let mut p = Self::from_vec(data, dim)?;
        if first.checked_add(p.len()).is_none_or(|end| end > total) {
            return Err(Error::InvalidShard {
                reason: format!(
                    "a shard of {} particles from {first} in a run of {total}",
                    p.len()
                ),
            });
        }
        (p.first, p.total) = (first, total);
        Ok(p)
    }
    /// The particles of the run these rows are: `0..len()` for a whole run, `i..j` for the
    /// shard of [`ParticleRun::range`]`(i..j)`.
    pub fn range(&self) -> core::ops::Range<usize> {
        self.first..self.first + self.len()
    }
    /// The number of particles of the whole run (equal to [`Particles::len`] unless this is a
    /// shard).
    pub fn run_len(&self) -> usize {
        self.total
    }
    /// Concatenates the shards of one run ([`ParticleRun::range`]), in any order, into the
    /// run's particles — bit-identical to the one-process run.
    /// Particles carry no record of the run beyond their range and the run's size: shards of
    /// runs with another seed or sampler but the same sizes are not detected (a [`crate::Trace`]
    /// merge checks the whole configuration).
    ///
    /// # Errors
    /// [`Error::ZeroCount`] without shards; [`Error::InvalidShard`] for shards of different
    /// dimensions or run sizes; [`Error::ShardOverlap`] / [`Error::ShardMissing`] when a
    /// particle is in two shards / in none.
    pub fn merge(shards: impl IntoIterator<Item = Particles<T>>) -> Result<Self> {
        let mut shards: Vec<Self> = shards.into_iter().collect();
        shards.sort_by_key(|s| s.first);
        let Some(head) = shards.first() else {
            return Err(Error::ZeroCount { what: "shards" });
        };
        let (dim, total) = (head.dim, head.total);
        let mut data = Vec::with_capacity(total.saturating_mul(dim).min(1 << 28));
        let mut next = 0;
        for s in &shards {
            if s.dim != dim || s.total != total {
                return Err(Error::InvalidShard {
                    reason: format!(
                        "a shard of {} particles in dimension {} next to one of {total} in \
                         dimension {dim}; merge the shards of one run only",
                        s.total, s.dim
                    ),
                });
            }
            let r = s.range();
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
            data.extend_from_slice(&s.data);
        }
        if next < total {
            return Err(Error::ShardMissing {
                first: next,
                end: total,
            });
        }
        Ok(Self {
            dim,
            data,
            first: 0,
            total,
        })
    }
    /// The dimension d.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// The number of particles.
    pub fn len(&self) -> usize {
        self.data.len() / self.dim
    }
    /// `true` with no particles.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    /// Particle `i`.
    ///
    /// # Panics
    /// If `i >= self.len()` (like slice indexing).
    pub fn get(&self, i: usize) -> &[T] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
    /// Iterates over the particles.
    pub fn iter(&self) -> impl Iterator<Item = &[T]> {
        self.data.chunks_exact(self.dim)
    }
    /// The row-major `n × d` array.
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }
    /// Consumes into the row-major array.
    pub fn into_vec(self) -> Vec<T> {
        self.data
    }
    /// The sample mean of each coordinate (NaN without particles).
    pub fn mean(&self) -> Vec<f64> {
        let n = self.len() as f64;
        let mut m = vec![0.0; self.dim];
        for x in self.iter() {
            for (a, b) in m.iter_mut().zip(x) {
                *a += b.to_f64();
            }
        }
        m.iter_mut().for_each(|a| *a /= n);
        m
    }
    /// The unbiased sample variance of each coordinate (NaN for fewer than two particles).
    pub fn variance(&self) -> Vec<f64> {
        let n = self.len();
        let mean = self.mean();
        let mut v = vec![0.0; self.dim];
        if n < 2 {
            v.fill(f64::NAN);
            return v;
        }
        for x in self.iter() {
            for ((a, b), m) in v.iter_mut().zip(x).zip(&mean) {
                let r = b.to_f64() - m;
                *a += r * r;
            }
        }
        v.iter_mut().for_each(|a| *a /= (n - 1) as f64);
        v
    }
}

/// One block of particles: positions (row-major), one RNG per particle, scratch.
pub(crate) struct Block<T> {
    /// Index of the first particle.
    pub start: usize,
    /// Positions, row-major `len × d`.
    pub x: Vec<T>,
    /// One stream per particle.
    pub rngs: Vec<ChainRng>,
    /// Scores / drifts, row-major.
    pub s: Vec<T>,
    /// A second buffer (proposals, Heun predictor…).
    pub y: Vec<T>,
    /// A third buffer.
    pub z: Vec<T>,
    /// Scratch for batched score evaluation.
    pub work: Vec<T>,
}

impl<T: Real> Block<T> {
    /// Number of particles in the block.
    pub fn len(&self) -> usize {
        self.rngs.len()
    }

    /// Checks every particle for non-finite coordinates.
    pub fn check(&self, d: usize, step: usize) -> Result<()> {
        match first_non_finite(&self.x, d) {
            None => Ok(()),
            Some((p, c)) => Err(Error::NonFiniteState {
                chain: self.start + p,
                step,
                coordinate: c,
            }),
        }
    }
}

/// The first (particle, coordinate) of the row-major `x` that is not finite (one vectorised
/// pass when everything is finite).
pub(crate) fn first_non_finite<T: Real>(x: &[T], d: usize) -> Option<(usize, usize)> {
    if crate::real::all_finite(x) {
        return None;
    }
    x.chunks_exact(d)
        .enumerate()
        .find_map(|(p, x)| x.iter().position(|v| !v.finite()).map(|c| (p, c)))
}

/// Initial-point callback: `init(i, rng, x0)` writes particle `i`'s start into `x0` using its
/// own stream `rng` (which then continues to drive the particle).
///
/// A closure `Fn(usize, &mut ChainRng, &mut [T])` is one; so is a fixed start point (a slice
/// `[T]` or a `Vec<T>`, every particle starting there), whose length is checked against the
/// target's dimension before any particle runs ([`Error::DimensionMismatch`], not a panic).
///
/// ```
/// use langevin::annealed::{AnnealedLangevin, LevelStep, ParticleRun, SigmaLevels};
/// use langevin::targets::GaussianMixture;
/// let gmm = GaussianMixture::<f64>::ring(4, 2.0, 0.5)?;
/// let levels = SigmaLevels::geometric(2.0, 0.5, 4)?;
/// let sampler = AnnealedLangevin::new(&gmm, levels, 10, LevelStep::Langevin { h_last: 0.01 })?;
/// let run = ParticleRun::new(100).seed(1);
/// assert!(sampler.run(&run, &vec![0.0, 0.0]).is_ok());
/// let wrong = sampler.run(&run, &vec![0.0; 3]).unwrap_err();
/// assert!(matches!(wrong, langevin::Error::DimensionMismatch { expected: 2, got: 3, .. }));
/// # Ok::<(), langevin::Error>(())
/// ```
pub trait ParticleInit<T>: Sync {
    /// Writes the initial point of particle `i`.
    fn init(&self, i: usize, rng: &mut ChainRng, x0: &mut [T]);
    /// The length of the start points this initialiser writes, when it is known before the
    /// run (a fixed start point); checked against the dimension. Defaults to `None`.
    fn start_len(&self) -> Option<usize> {
        None
    }
}

impl<T: Copy + Sync> ParticleInit<T> for [T] {
    fn init(&self, _: usize, _: &mut ChainRng, x0: &mut [T]) {
        // `run_blocks` has checked `start_len` first; zip never panics in any case.
        for (o, &v) in x0.iter_mut().zip(self) {
            *o = v;
        }
    }
    fn start_len(&self) -> Option<usize> {
        Some(self.len())
    }
}

impl<T: Copy + Sync> ParticleInit<T> for Vec<T> {
    fn init(&self, i: usize, rng: &mut ChainRng, x0: &mut [T]) {
        self.as_slice().init(i, rng, x0)
    }
    fn start_len(&self) -> Option<usize> {
        Some(self.len())
    }
}

impl<T, F: Fn(usize, &mut ChainRng, &mut [T]) + Sync> ParticleInit<T> for F {
    fn init(&self, i: usize, rng: &mut ChainRng, x0: &mut [T]) {
        self(i, rng, x0)
    }
}

/// The blocks of a run advanced in lock-step: [`Lockstep::par`] runs one pass over every block
/// in parallel and returns the per-block outputs in block order, so a sampler can reduce a
/// statistic over the whole batch (in that fixed order, independent of the thread count)
/// between two passes.
pub(crate) struct Lockstep<T> {
    blocks: Vec<Block<T>>,
}

impl<T: Real> Lockstep<T> {
    /// One parallel pass of `f` over the blocks; the first error (or caught panic) in block
    /// order wins.
    pub fn par<R, F>(&mut self, f: F) -> Result<Vec<R>>
    where
        R: Send,
        F: Fn(&mut Block<T>) -> Result<R> + Sync,
    {
        self.blocks
            .par_iter_mut()
            .map(|blk| {
                let start = blk.start;
                match catch_unwind(AssertUnwindSafe(|| f(blk))) {
                    Ok(r) => r,
                    Err(payload) => Err(Error::ChainPanicked {
                        chain: start,
                        iteration: None,
                        message: crate::pool::panic_message(payload.as_ref()),
                        partial: None,
                    }),
                }
            })
            .collect()
    }
}

/// Like [`run_blocks`], but `driver` advances all blocks together through [`Lockstep::par`]
/// passes (inside the run's thread pool). Every block is allocated for the whole run (scratch
/// `s`, `y` of n × d each besides the positions).
pub(crate) fn run_lockstep<T, I, F>(
    run: &ParticleRun,
    d: usize,
    init: &I,
    driver: F,
) -> Result<Particles<T>>
where
    T: Real,
    I: ParticleInit<T> + ?Sized,
    F: FnOnce(&mut Lockstep<T>) -> Result<()> + Send,
{
    if d == 0 {
        return Err(Error::ZeroDimension { what: "target" });
    }
    if let Some(len) = init.start_len() {
        crate::error::check_len("particle start point", d, len)?;
    }
    let (range, blocks) = run.blocks()?;
    if range != (0..run.n) {
        return Err(Error::InvalidConfig {
            reason: format!(
                "particle range {range:?} of {}: this sampler couples the particles (its step \
                 uses statistics of the whole batch), so it cannot run a shard; run all \
                 particles in one process",
                run.n
            ),
        });
    }
    let job = || -> Result<Vec<T>> {
        let mut ls = Lockstep {
            blocks: blocks
                .iter()
                .map(|&(start, len)| Block {
                    start,
                    x: vec![T::zero(); len * d],
                    rngs: (start..start + len)
                        .map(|i| stream(run.seed, i as u64))
                        .collect(),
                    s: vec![T::zero(); len * d],
                    y: vec![T::zero(); len * d],
                    z: Vec::new(),
                    work: Vec::new(),
                })
                .collect(),
        };
        ls.par(|blk| {
            for p in 0..blk.len() {
                let start = blk.start;
                init.init(start + p, &mut blk.rngs[p], &mut blk.x[p * d..(p + 1) * d]);
            }
            match first_non_finite(&blk.x, d) {
                Some((p, c)) => Err(Error::InvalidInitialState {
                    chain: blk.start + p,
                    reason: format!("x0[{c}] is not finite"),
                }),
                None => Ok(()),
            }
        })?;
        driver(&mut ls)?;
        let mut data = Vec::with_capacity(range.len() * d);
        for b in &ls.blocks {
            data.extend_from_slice(&b.x);
        }
        Ok(data)
    };
    let data = crate::pool::in_pool(run.threads, job)??;
    Ok(Particles {
        dim: d,
        data,
        first: range.start,
        total: run.n,
    })
}

/// Runs `body` on every block in parallel; returns the particles and the per-block outputs
/// (in block order). The first error in particle order wins.
pub(crate) fn run_blocks<T, R, I, F>(
    run: &ParticleRun,
    d: usize,
    init: &I,
    body: F,
) -> Result<(Particles<T>, Vec<R>)>
where
    T: Real,
    R: Send,
    I: ParticleInit<T> + ?Sized,
    F: Fn(&mut Block<T>) -> Result<R> + Sync,
{
    if d == 0 {
        return Err(Error::ZeroDimension { what: "target" });
    }
    if let Some(len) = init.start_len() {
        crate::error::check_len("particle start point", d, len)?;
    }
    let (range, blocks) = run.blocks()?;
    let job = || -> Vec<Result<(Vec<T>, R)>> {
        blocks
            .par_iter()
            .map(|&(start, len)| {
                let mut blk = Block {
                    start,
                    x: vec![T::zero(); len * d],
                    rngs: (start..start + len)
                        .map(|i| stream(run.seed, i as u64))
                        .collect(),
                    s: vec![T::zero(); len * d],
                    y: vec![T::zero(); len * d],
                    z: vec![T::zero(); len * d],
                    work: Vec::new(),
                };
                // A panic in a user closure (the start callback, the score) is caught per
                // block and reported as a typed error naming the block's first particle.
                let caught = catch_unwind(AssertUnwindSafe(|| {
                    for p in 0..len {
                        init.init(start + p, &mut blk.rngs[p], &mut blk.x[p * d..(p + 1) * d]);
                    }
                    if let Some((p, c)) = first_non_finite(&blk.x, d) {
                        return Err(Error::InvalidInitialState {
                            chain: start + p,
                            reason: format!("x0[{c}] is not finite"),
                        });
                    }
                    body(&mut blk)
                }));
                match caught {
                    Ok(r) => Ok((blk.x, r?)),
                    Err(payload) => Err(Error::ChainPanicked {
                        chain: start,
                        iteration: None,
                        message: crate::pool::panic_message(payload.as_ref()),
                        partial: None,
                    }),
                }
            })
            .collect()
    };
    let results = crate::pool::in_pool(run.threads, job)?;
    let mut data = Vec::with_capacity(range.len() * d);
    let mut outs = Vec::with_capacity(results.len());
    for r in results {
        let (x, o) = r?;
        data.extend_from_slice(&x);
        outs.push(o);
    }
    let particles = Particles {
        dim: d,
        data,
        first: range.start,
        total: run.n,
    };
    Ok((particles, outs))
}
