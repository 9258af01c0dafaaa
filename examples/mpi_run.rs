//! A run over MPI ranks (feature `mpi`): every rank runs its contiguous share of 7 chains of
//! adaptive MALA and of 300 annealed-Langevin particles; rank 0 gathers both and prints a
//! fingerprint (FNV-1a of every bit) that is the same for any number of ranks — and equal to
//! the one-process run's, which rank 0 also computes and compares with (`--check`).
//!
//! ```text
//! cargo build --release --features mpi --example mpi_run
//! mpirun -np 3 target/release/examples/mpi_run --check
//! srun -n 64 target/release/examples/mpi_run            # under Slurm
//! ```
//!
//! (Open MPI refuses to run as root without `--allow-run-as-root`, and more ranks than cores
//! without `--oversubscribe`; `.ci/mpi-test` uses both.)
//!
//! `--fail-chain C` gives chain C a non-finite start: the rank that runs it fails, rank 0
//! reports `Error::RankFailed` naming that rank instead of waiting for it, and every rank that
//! got an error aborts the job (`MPI_Abort`), so `mpirun` exits non-zero rather than hanging.

use langevin::annealed::{AnnealedLangevin, LevelStep, ParticleRun, Particles, SigmaLevels};
use langevin::distributed;
use langevin::mpi::topology::SimpleCommunicator;
use langevin::mpi::traits::Communicator;
use langevin::prelude::*;
use langevin::targets::{Gaussian, GaussianMixture};

fn fnv(h: &mut u64, v: u64) {
    for b in v.to_le_bytes() {
        *h = (*h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
}

/// Every bit of a trace except the wall-clock times, then the particles.
fn fingerprint(t: &Trace<f64>, p: &Particles<f64>) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for c in &t.chains {
        c.iter().for_each(|x| fnv(&mut h, x.to_bits()));
    }
    for v in [&t.acceptance_rate, &t.mean_accept_prob] {
        v.iter().for_each(|x| fnv(&mut h, x.to_bits()));
    }
    for v in [&t.divergences, &t.warmup_divergences] {
        v.iter().for_each(|&x| fnv(&mut h, x as u64));
    }
    for x in t.adapted_step_size.iter().flatten() {
        fnv(&mut h, x.to_bits());
    }
    let c = &t.config;
    for v in [c.draws, c.warmup, c.thin, c.chains, c.first_chain] {
        fnv(&mut h, v as u64);
    }
    fnv(&mut h, c.seed);
    p.as_slice().iter().for_each(|x| fnv(&mut h, x.to_bits()));
    h
}

fn main() {
    let universe = langevin::mpi::initialize().expect("MPI was already initialised");
    let world = universe.world();
    if let Err(e) = run(&world) {
        eprintln!("rank {}: {e}", world.rank());
        // The other ranks may be waiting in a collective operation: end the whole job.
        world.abort(2);
    }
}

fn run(world: &SimpleCommunicator) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let check = args.iter().any(|a| a == "--check");
    let fail_chain = args
        .iter()
        .position(|a| a == "--fail-chain")
        .and_then(|i| args.get(i + 1))
        .map(|c| c.parse::<usize>())
        .transpose()?;

    let g = Gaussian::<f64>::isotropic(vec![1.0, -1.0, 0.5], 2.0)?;
    let mala = Mala::auto(&g)?;
    let sampler = Sampler::new(400)
        .chains(7)
        .warmup(300)
        .thin(2)
        .seed(17)
        .threads(1);
    let mut inits: Vec<Vec<f64>> = (0..7).map(|c| vec![c as f64 - 3.0; 3]).collect();
    if let Some(c) = fail_chain {
        inits[c] = vec![f64::NAN; 3];
    }
    let trace = distributed::run(world, &sampler, &mala, &inits)?;

    let gmm = GaussianMixture::<f64>::ring(6, 3.0, 0.4)?;
    let al = AnnealedLangevin::new(
        &gmm,
        SigmaLevels::geometric(4.0, 0.4, 8)?,
        20,
        LevelStep::Langevin { h_last: 0.01 },
    )?;
    let prun = ParticleRun::new(300).seed(5).threads(1);
    let particles = distributed::run_particles(world, &prun, |r| al.run(r, &vec![0.0, 0.0]))?;

    let (Some(trace), Some(particles)) = (trace, particles) else {
        return Ok(()); // ranks other than 0 hold nothing
    };
    let fp = fingerprint(&trace, &particles);
    println!(
        "ranks {} chains {} particles {} fingerprint {fp:016x}",
        world.size(),
        trace.n_chains(),
        particles.len()
    );
    if check {
        let whole = sampler.run(&mala, &inits)?;
        let alone = al.run(&prun, &vec![0.0, 0.0])?;
        let reference = fingerprint(&whole, &alone);
        let same = whole.chains == trace.chains
            && whole.adapted_step_size == trace.adapted_step_size
            && alone == particles
            && reference == fp;
        println!(
            "one-process fingerprint {reference:016x}: {}",
            if same { "bit-identical" } else { "DIFFERENT" }
        );
        if !same {
            return Err("the MPI run differs from the one-process run".into());
        }
    }
    Ok(())
}
