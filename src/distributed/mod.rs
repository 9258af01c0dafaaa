//! Runs over MPI (feature `mpi`, through the `mpi` crate, rsmpi): every rank runs its
//! contiguous shard of the chains ([`crate::Sampler::chain_range`]) or particles
//! ([`crate::annealed::ParticleRun::range`]), and rank 0 gathers the result — bit-identical to
//! the one-process run for any number of ranks (see [`crate::run::shard`] for why).
//!
//! Rank r of R runs [`crate::run::shard_range`]`(total, r, R)`; ranks beyond the number of
//! chains run nothing. Each rank serialises its shard ([`crate::Trace::write_shard`]) and rank
//! 0 gathers the bytes with one `MPI_Gatherv` (a shard must stay under 2 GiB, MPI's `int`
//! count; for larger runs let each rank write its own shard file and merge the files), then
//! merges them with [`crate::Trace::merge`]. A rank whose run fails sends its error message
//! instead, so rank 0 returns [`Error::RankFailed`] rather than waiting forever; the failing
//! rank returns its own error. Every rank must call the same functions in the same order
//! (they are collective operations).
//!
//! Building needs a system MPI (Open MPI or MPICH: `mpicc` on the `PATH`) and libclang for
//! bindgen; on Debian/Ubuntu `apt-get install openmpi-bin libopenmpi-dev libclang-dev clang`.
//! Launch with `mpirun -np 4 target/release/examples/mpi_run` or `srun` under Slurm.
//!
//! # Example
//! ```no_run
//! use langevin::distributed;
//! use langevin::prelude::*;
//! use langevin::targets::Gaussian;
//! let universe = langevin::mpi::initialize().expect("MPI initialised twice");
//! let world = universe.world();
//! let mala = Mala::auto(Gaussian::<f64>::standard(10)?)?;
//! let run = Sampler::new(1_000).chains(64).seed(42);
//! // Every rank runs its share of the 64 chains; rank 0 gets the whole trace.
//! if let Some(trace) = distributed::run(&world, &run, &mala, &[vec![0.0; 10]])? {
//!     println!("max R-hat {:.3}", trace.max_rhat()?);
//! }
//! # Ok::<(), langevin::Error>(())
//! ```

use crate::annealed::{ParticleRun, Particles};
use crate::mcmc::Kernel;
use crate::run::{Adaptation, NoAdaptation, Observer, Sampler, shard_range};
use crate::trace::Trace;
use crate::{Error, Real, Result};
use core::ops::Range;
use mpi::datatype::PartitionMut;
use mpi::traits::{Communicator, Root};

/// The chains (or particles) rank `comm.rank()` runs out of `total`:
/// [`shard_range`]`(total, rank, size)`.
pub fn rank_range<C: Communicator>(comm: &C, total: usize) -> Range<usize> {
    let (rank, size) = (comm.rank() as usize, comm.size() as usize);
    // size ≥ 1 and rank < size for any communicator, so this cannot fail.
    shard_range(total, rank, size).unwrap_or(0..0)
}

/// [`Sampler::run`] over the ranks of `comm`: `Some(trace)` of every chain on rank 0, `None`
/// on the other ranks.
///
/// # Errors
/// As [`Sampler::run`] on the rank where the error happened; [`Error::RankFailed`] on rank 0
/// when another rank failed.
pub fn run<C, K>(
    comm: &C,
    sampler: &Sampler,
    kernel: &K,
    inits: &[Vec<K::Scalar>],
) -> Result<Option<Trace<K::Scalar>>>
where
    C: Communicator,
    K: Kernel,
{
    run_with(comm, sampler, kernel, inits, &NoAdaptation, &())
}

/// [`Sampler::run_with`] over the ranks of `comm` (the observer sees the rank's chains,
/// numbered from 0 as in [`Sampler::chain_range`]).
///
/// # Errors
/// As [`run`].
pub fn run_with<C, K, A, O>(
    comm: &C,
    sampler: &Sampler,
    kernel: &K,
    inits: &[Vec<K::Scalar>],
    adaptation: &A,
    observer: &O,
) -> Result<Option<Trace<K::Scalar>>>
where
    C: Communicator,
    K: Kernel,
    A: Adaptation<K>,
    O: Observer<K::Scalar>,
{
    let range = rank_range(comm, sampler.n_chains());
    let shard = if range.is_empty() {
        Ok(None)
    } else {
        sampler
            .clone()
            .chain_range(range)
            .run_with(kernel, inits, adaptation, observer)
            .map(Some)
    };
    gather_trace(comm, shard)
}

/// Gathers every rank's shard trace (or failure) on rank 0 and merges them; `None` on the
/// other ranks. `shard` is `Ok(None)` on a rank without chains. Collective: every rank calls
/// it.
///
/// # Errors
/// The rank's own error; on rank 0 [`Error::RankFailed`] for another rank's failure, and the
/// errors of [`Trace::merge`].
pub fn gather_trace<C: Communicator, T: Real>(
    comm: &C,
    shard: Result<Option<Trace<T>>>,
) -> Result<Option<Trace<T>>> {
    let (bytes, own) = encode(shard, |t, buf| t.write_shard(buf));
    let parts = gather_bytes(comm, &bytes)?;
    own?;
    let Some(parts) = parts else { return Ok(None) };
    let mut shards = Vec::new();
    for (rank, part) in parts.iter().enumerate() {
        if let Some(body) = decode(rank, part)? {
            shards.push(Trace::read_shard(body)?);
        }
    }
    Trace::merge(shards).map(Some)
}

/// Runs a particle sampler over the ranks of `comm`: `f` is called on every rank with the
/// rank's shard of `run` ([`rank_range`]; not called on a rank without particles), and rank 0
/// gets `Some` of the merged particles, bit-identical to `f(run)` in one process.
///
/// ```no_run
/// use langevin::annealed::{AnnealedLangevin, LevelStep, ParticleRun, SigmaLevels};
/// use langevin::targets::GaussianMixture;
/// let universe = langevin::mpi::initialize().expect("MPI initialised twice");
/// let gmm = GaussianMixture::<f64>::ring(8, 4.0, 0.3)?;
/// let al = AnnealedLangevin::new(&gmm, SigmaLevels::geometric(5.0, 0.3, 10)?, 50,
///     LevelStep::Langevin { h_last: 0.01 })?;
/// let run = ParticleRun::new(1_000_000).seed(7);
/// let all = langevin::distributed::run_particles(&universe.world(), &run, |r| {
///     al.run(r, &vec![0.0, 0.0])
/// })?;
/// if let Some(particles) = all {
///     println!("mean of {} particles: {:?}", particles.len(), particles.mean());
/// }
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # Errors
/// The rank's own error; on rank 0 [`Error::RankFailed`] for another rank's failure, and the
/// errors of [`Particles::merge`].
pub fn run_particles<C, T, F>(comm: &C, run: &ParticleRun, f: F) -> Result<Option<Particles<T>>>
where
    C: Communicator,
    T: Real,
    F: FnOnce(&ParticleRun) -> Result<Particles<T>>,
{
    let range = rank_range(comm, run.particles());
    let shard = if range.is_empty() {
        Ok(None)
    } else {
        f(&run.range(range)).map(Some)
    };
    let (bytes, own) = encode(shard, |p, buf| {
        write_particles(p, buf);
        Ok(())
    });
    let parts = gather_bytes(comm, &bytes)?;
    own?;
    let Some(parts) = parts else { return Ok(None) };
    let mut shards = Vec::new();
    for (rank, part) in parts.iter().enumerate() {
        if let Some(body) = decode(rank, part)? {
            shards.push(read_particles(body)?);
        }
    }
    Particles::merge(shards).map(Some)
}

/// The message a rank sends: tag 0 and nothing (no shard), tag 1 and the shard, or tag 2 and
/// the error message. Returns the bytes and the rank's own outcome.
fn encode<S>(
    shard: Result<Option<S>>,
    write: impl FnOnce(&S, &mut Vec<u8>) -> std::io::Result<()>,
) -> (Vec<u8>, Result<()>) {
    match shard {
        Ok(None) => (vec![0], Ok(())),
        Ok(Some(s)) => {
            let mut buf = vec![1];
            match write(&s, &mut buf) {
                Ok(()) => (buf, Ok(())),
                Err(e) => {
                    let msg = format!("serialising the shard: {e}");
                    (
                        error_message(&msg),
                        Err(Error::InvalidShard { reason: msg }),
                    )
                }
            }
        }
        Err(e) => (error_message(&e.to_string()), Err(e)),
    }
}

fn error_message(msg: &str) -> Vec<u8> {
    let mut buf = vec![2];
    buf.extend_from_slice(msg.as_bytes());
    buf
}

/// The shard bytes of rank `rank`'s message, `None` for a rank without a shard.
fn decode(rank: usize, part: &[u8]) -> Result<Option<&[u8]>> {
    match part.split_first() {
        Some((0, _)) => Ok(None),
        Some((1, body)) => Ok(Some(body)),
        Some((2, msg)) => Err(Error::RankFailed {
            rank,
            message: String::from_utf8_lossy(msg).into_owned(),
        }),
        _ => Err(Error::RankFailed {
            rank,
            message: "sent a message this version of langevin does not understand".into(),
        }),
    }
}

/// Gathers every rank's bytes on rank 0 (`Some`, in rank order), `None` elsewhere.
fn gather_bytes<C: Communicator>(comm: &C, bytes: &[u8]) -> Result<Option<Vec<Vec<u8>>>> {
    let root = comm.process_at_rank(0);
    // A rank whose shard is too large for MPI's int count sends an error message instead, so
    // that no rank waits for a message that never comes.
    let too_large;
    let bytes = if i32::try_from(bytes.len()).is_ok() {
        bytes
    } else {
        too_large = error_message(&format!(
            "its shard is {} bytes, over MPI's 2 GiB message limit; write shard files \
             (`Trace::write_shard`) and merge them instead",
            bytes.len()
        ));
        &too_large[..]
    };
    let len = bytes.len() as i32;
    if comm.rank() != 0 {
        root.gather_into(&len);
        root.gather_varcount_into(bytes);
        return Ok(None);
    }
    let mut counts = vec![0i32; comm.size() as usize];
    root.gather_into_root(&len, &mut counts[..]);
    let mut displs = Vec::with_capacity(counts.len());
    let mut total: i64 = 0;
    for &c in &counts {
        displs.push(i32::try_from(total).unwrap_or(i32::MAX));
        total += i64::from(c);
    }
    if total > i64::from(i32::MAX) {
        // Every rank has sent its count; the data gather must still happen for the others
        // to return, so receive nothing into a partition of zero counts.
        let zero = vec![0i32; counts.len()];
        let mut empty: [u8; 0] = [];
        let mut partition = PartitionMut::new(&mut empty[..], zero.clone(), &zero[..]);
        root.gather_varcount_into_root(bytes, &mut partition);
        return Err(Error::RankFailed {
            rank: 0,
            message: format!(
                "the shards add up to {total} bytes, over MPI's 2 GiB message limit; write \
                 shard files (`Trace::write_shard`) and merge them instead"
            ),
        });
    }
    let mut buf = vec![0u8; total as usize];
    {
        let mut partition = PartitionMut::new(&mut buf[..], &counts[..], &displs[..]);
        root.gather_varcount_into_root(bytes, &mut partition);
    }
    Ok(Some(
        counts
            .iter()
            .zip(&displs)
            .map(|(&c, &d)| buf[d as usize..(d + c) as usize].to_vec())
            .collect(),
    ))
}

/// Particles as bytes: dim, first, run length, rows u64 each, then the values as f64 bits.
fn write_particles<T: Real>(p: &Particles<T>, buf: &mut Vec<u8>) {
    for v in [p.dim(), p.range().start, p.run_len(), p.len()] {
        buf.extend_from_slice(&(v as u64).to_le_bytes());
    }
    for x in p.as_slice() {
        buf.extend_from_slice(&x.to_f64().to_bits().to_le_bytes());
    }
}

fn read_particles<T: Real>(b: &[u8]) -> Result<Particles<T>> {
    let bad = || Error::InvalidShard {
        reason: "a particle shard message is truncated or corrupt".into(),
    };
    let word = |i: usize| -> Result<u64> {
        b.get(8 * i..8 * i + 8)
            .and_then(|w| w.try_into().ok())
            .map(u64::from_le_bytes)
            .ok_or_else(bad)
    };
    let (dim, first, total, rows) = (
        word(0)? as usize,
        word(1)? as usize,
        word(2)? as usize,
        word(3)? as usize,
    );
    let values = rows.checked_mul(dim).ok_or_else(bad)?;
    if b.len() != 32 + 8 * values {
        return Err(bad());
    }
    let data = b[32..]
        .chunks_exact(8)
        .map(|w| {
            T::c(f64::from_bits(u64::from_le_bytes(
                w.try_into().unwrap_or([0; 8]),
            )))
        })
        .collect();
    Particles::from_shard(data, dim, first, total)
}
