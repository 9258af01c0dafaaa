//! Sharded runs: `Sampler::chain_range` / `ParticleRun::range` and the merges are bit-identical
//! to the one-process run of every chain or particle (exact oracle: the one-process run
//! itself), whatever the splitting, the shard order and the thread count; merges refuse
//! overlapping, missing and foreign shards with typed errors; shard files round-trip exactly
//! and refuse truncation.
//!
//! Bugs these tests catch (each makes a comparison below fail): a shard that numbers its
//! chains from 0 (streams `(seed, i)` instead of `(seed, k + i)`, or `Kernel::init` with the
//! local index), per-chain inits taken by the wrong index, adaptation state or counters
//! shared between the chains of one process, a merge that concatenates shards in the order
//! given instead of chain order, a merge that drops the adapted step sizes / metrics or
//! mixes up per-chain statistics, particles of a shard drawing from streams numbered from 0,
//! and a shard file that loses bits (f32 or f64). Measured by mutation: chains of a shard
//! numbered from 0 in the driver fails three of these tests; particle streams numbered from 0
//! fails `particle_shards_merge_to_the_one_process_run`. (A shard's particle blocks are cut at
//! the whole run's 64-particle boundaries as a precaution; blocks of 64 from the shard's first
//! particle instead still pass — the batched scores here are row-independent — so that
//! alignment is not what these tests check.)

use langevin::annealed::{
    AnnealedLangevin, AnnealedMala, Churn, Ddim, DpmSolverPp, Edm, EmpiricalScore,
    LangevinCorrector, LevelStep, Marginal, ParticleRun, Particles, Predictor, ProbabilityFlow,
    ReverseSampler, SigmaLevels, TimeGrid, Vp,
};
use langevin::export::{CmdStanCsv, DrawStats, read_cmdstan_csv};
use langevin::prelude::*;
use langevin::run::{NoAdaptation, shard_range};
use langevin::targets::{Gaussian, GaussianMixture};

/// Every field of two traces except the wall-clock times (which no two runs share).
fn assert_same_run<T: langevin::Real>(a: &Trace<T>, b: &Trace<T>) {
    assert_eq!(a.dim, b.dim);
    assert_eq!(a.n_draws, b.n_draws);
    let bits = |t: &Trace<T>| -> Vec<Vec<u64>> {
        t.chains
            .iter()
            .map(|c| c.iter().map(|x| x.to_f64().to_bits()).collect())
            .collect()
    };
    assert!(bits(a) == bits(b), "draws differ");
    let fb = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(fb(&a.acceptance_rate), fb(&b.acceptance_rate));
    assert_eq!(fb(&a.mean_accept_prob), fb(&b.mean_accept_prob));
    assert_eq!(a.divergences, b.divergences);
    assert_eq!(a.warmup_divergences, b.warmup_divergences);
    assert_eq!(
        a.adapted_step_size.as_deref().map(fb),
        b.adapted_step_size.as_deref().map(fb)
    );
    let mb = |m: &Option<Vec<Vec<f64>>>| {
        m.as_ref()
            .map(|m| m.iter().map(|v| fb(v)).collect::<Vec<_>>())
    };
    assert_eq!(mb(&a.adapted_mass), mb(&b.adapted_mass));
    let mut ca = a.config.clone();
    let mut cb = b.config.clone();
    assert_eq!(ca.chain_wall_time.len(), cb.chain_wall_time.len());
    ca.chain_wall_time.clear();
    cb.chain_wall_time.clear();
    assert_eq!(ca, cb);
}

/// A correlated 3-d Gaussian with a funnel-free but anisotropic scale, so that step size and
/// metric adaptation have something to do.
fn target() -> Gaussian<f64> {
    Gaussian::full(
        vec![1.0, -2.0, 0.5],
        &[4.0, 1.2, 0.0, 1.2, 1.0, 0.3, 0.0, 0.3, 0.25],
    )
    .unwrap()
}

const CHAINS: usize = 7;

/// Splittings of 7 chains: whole, two uneven halves, three by `shard_range`, 1-chain shards,
/// and a large-plus-two-singles split; each listed in a scrambled order for the merge.
fn splittings() -> Vec<Vec<std::ops::Range<usize>>> {
    vec![
        vec![0..7],
        vec![3..7, 0..3],
        (0..3)
            .rev()
            .map(|k| shard_range(CHAINS, k, 3).unwrap())
            .collect(),
        (0..7).map(|c| c..c + 1).rev().collect(),
        vec![6..7, 0..5, 5..6],
    ]
}

/// Adaptive MALA (dual averaging of the step) and preconditioned MALA with Stan's windowed
/// metric: per-chain shards, any order, 1 or 2 threads, merge to the one-process run.
#[test]
fn chain_shards_merge_to_the_one_process_run() -> Result<()> {
    let run = Sampler::new(150)
        .chains(CHAINS)
        .warmup(200)
        .thin(2)
        .seed(11);
    let inits: Vec<Vec<f64>> = (0..CHAINS).map(|c| vec![c as f64 * 0.3 - 1.0; 3]).collect();
    let mala = Mala::auto(target())?;
    let pmala = langevin::mcmc::PrecondMala::auto(target())?;
    let whole_mala = run.clone().threads(2).run(&mala, &inits)?;
    let whole_pm = run.clone().threads(1).run(&pmala, &inits)?;
    assert!(whole_mala.adapted_step_size.is_some());
    assert!(whole_pm.adapted_mass.is_some());
    for (s, split) in splittings().into_iter().enumerate() {
        let threads = 1 + s % 2;
        let mut shards_mala = Vec::new();
        let mut shards_pm = Vec::new();
        for r in &split {
            let sh = run.clone().chain_range(r.clone()).threads(threads);
            // Inits for every chain of the run (MALA) or only the shard's (preconditioned).
            let t = sh.run(&mala, &inits)?;
            assert_eq!(t.chain_range(), r.clone());
            assert_eq!(t.config.chains, CHAINS);
            shards_mala.push(t);
            shards_pm.push(sh.run(&pmala, &inits[r.clone()])?);
        }
        assert_same_run(&Trace::merge(shards_mala)?, &whole_mala);
        assert_same_run(&Trace::merge(shards_pm)?, &whole_pm);
    }
    Ok(())
}

/// `run_from`: the initialiser gets the chain's index in the run and its own stream (here a
/// random start), so shards start where the one-process run does; f32 traces merge exactly
/// too.
#[test]
fn run_from_shards_and_f32() -> Result<()> {
    let g = target();
    let mala = Mala::new(&g, 0.3)?;
    let run = Sampler::new(100).chains(5).warmup(20).seed(2);
    let init = |c: usize, rng: &mut langevin::rng::ChainRng| {
        let mut x: Vec<f64> = (0..3).map(|_| f64::standard_normal(rng)).collect();
        x[0] += c as f64;
        x
    };
    let whole = run.run_from(&mala, init, &NoAdaptation, &())?;
    let parts = [2..5, 0..2]
        .into_iter()
        .map(|r| {
            run.clone()
                .chain_range(r)
                .run_from(&mala, init, &NoAdaptation, &())
        })
        .collect::<Result<Vec<_>>>()?;
    assert_same_run(&Trace::merge(parts)?, &whole);

    let g32 = Gaussian::<f32>::standard(4)?;
    let ula = Ula::new(&g32, 0.1f32)?;
    let run = Sampler::new(80).chains(4).warmup(10).seed(9);
    let whole = run.run(&ula, &[vec![0.5f32; 4]])?;
    let mut parts = Vec::new();
    for r in [0..1, 1..4] {
        let t = run.clone().chain_range(r).run(&ula, &[vec![0.5f32; 4]])?;
        let mut file = Vec::new();
        t.write_shard(&mut file).unwrap();
        parts.push(Trace::<f32>::read_shard(&file[..])?);
    }
    assert_same_run(&Trace::merge(parts)?, &whole);
    Ok(())
}

/// Observers see a shard's chains as 0..n (so `DrawStats` lines up with the shard's trace),
/// the CmdStan CSV of a shard's chain carries the chain's id in the run, and errors name the
/// chain's index in the run. Bug caught: observer indices past the recorder's chains (stats
/// silently dropped), CSV ids restarting at 1 in every shard, an error naming the local index.
#[test]
fn observers_exports_and_errors_of_a_shard() -> Result<()> {
    let g = Gaussian::<f64>::standard(2)?;
    let mala = Mala::new(&g, 0.8)?;
    let run = Sampler::new(50).chains(6).warmup(10).seed(5);
    let all = DrawStats::new();
    let whole = run.run_with(&mala, &[vec![0.1; 2]], &NoAdaptation, &all)?;
    let part = DrawStats::new();
    let shard =
        run.clone()
            .chain_range(4..6)
            .run_with(&mala, &[vec![0.1; 2]], &NoAdaptation, &part)?;
    assert_eq!(part.chain(0), all.chain(4));
    assert_eq!(part.chain(1), all.chain(5));
    assert_eq!(shard.chains[1], whole.chains[5]);
    let mut buf = Vec::new();
    CmdStanCsv::new()
        .stats(&part)
        .write_chain(&shard, 1, &mut buf)
        .unwrap();
    let csv = read_cmdstan_csv(&buf[..]).unwrap();
    assert!(
        csv.comments.iter().any(|c| c == "# id = 6"),
        "{:?}",
        csv.comments
    );
    assert_eq!(
        csv.column("x.2").unwrap()[7].to_bits(),
        whole.draw(5, 7)[1].to_bits()
    );

    let boom = |c: usize, _: &mut langevin::rng::ChainRng| {
        assert!(c != 4, "no start for chain 4");
        vec![0.0; 2]
    };
    let err = run
        .clone()
        .chain_range(3..6)
        .run_from(&mala, boom, &NoAdaptation, &())
        .unwrap_err();
    assert!(
        matches!(err, Error::ChainPanicked { chain: 4, .. }),
        "{err}"
    );
    Ok(())
}

/// Overlapping, missing and foreign shards are refused with typed errors naming the chains;
/// bad ranges and init lists are refused before running.
#[test]
fn merge_refuses_overlaps_gaps_and_foreign_shards() -> Result<()> {
    let g = Gaussian::<f64>::standard(2)?;
    let mala = Mala::new(&g, 0.5)?;
    let run = Sampler::new(20).chains(7).warmup(5).seed(1);
    let x0 = [vec![0.0; 2]];
    let shard = |r: std::ops::Range<usize>| run.clone().chain_range(r).run(&mala, &x0).unwrap();
    assert_eq!(
        Trace::merge([shard(0..3), shard(2..7)]).unwrap_err(),
        Error::ShardOverlap { first: 2, end: 3 }
    );
    assert_eq!(
        Trace::merge([shard(0..7), shard(3..4)]).unwrap_err(),
        Error::ShardOverlap { first: 3, end: 4 }
    );
    assert_eq!(
        Trace::merge([shard(4..7), shard(0..3)]).unwrap_err(),
        Error::ShardMissing { first: 3, end: 4 }
    );
    assert_eq!(
        Trace::merge([shard(0..5)]).unwrap_err(),
        Error::ShardMissing { first: 5, end: 7 }
    );
    assert_eq!(
        Trace::merge([shard(1..7)]).unwrap_err(),
        Error::ShardMissing { first: 0, end: 1 }
    );
    assert!(matches!(
        Trace::<f64>::merge([]).unwrap_err(),
        Error::ZeroCount { .. }
    ));
    // Another seed, another step size, another number of draws: not the same run.
    let other_seed = run.clone().seed(2).chain_range(3..7).run(&mala, &x0)?;
    let other_step = run
        .clone()
        .chain_range(3..7)
        .run(&Mala::new(&g, 0.4)?, &x0)?;
    let other_draws = Sampler::new(21)
        .chains(7)
        .warmup(5)
        .seed(1)
        .chain_range(3..7)
        .run(&mala, &x0)?;
    for other in [other_seed, other_step, other_draws] {
        let err = Trace::merge([shard(0..3), other]).unwrap_err();
        assert!(matches!(err, Error::InvalidShard { .. }), "{err}");
    }
    // Ranges and inits.
    let e = run.clone().chain_range(3..3).run(&mala, &x0).unwrap_err();
    assert!(matches!(e, Error::ZeroCount { .. }), "{e}");
    let e = run.clone().chain_range(5..8).run(&mala, &x0).unwrap_err();
    assert!(matches!(e, Error::InvalidConfig { .. }), "{e}");
    let three = vec![vec![0.0; 2]; 3];
    let e = run
        .clone()
        .chain_range(0..2)
        .run(&mala, &three)
        .unwrap_err();
    assert!(matches!(e, Error::InvalidConfig { .. }), "{e}");
    assert!(shard_range(3, 3, 3).is_err() && shard_range(3, 0, 0).is_err());
    // Every chain in exactly one shard, for every (total, shards) up to 9 × 9.
    for total in 0..10 {
        for of in 1..10 {
            let mut next = 0;
            for k in 0..of {
                let r = shard_range(total, k, of)?;
                assert_eq!(r.start, next);
                assert!(r.len() <= total / of + 1 && r.len() >= total / of);
                next = r.end;
            }
            assert_eq!(next, total);
        }
    }
    Ok(())
}

/// A shard file holds every bit; a truncated file (cut at every length), trailing bytes, a
/// wrong scalar type or magic are `InvalidShard`, never a plausible trace.
#[test]
fn shard_files_round_trip_and_refuse_truncation() -> Result<()> {
    let pm = langevin::mcmc::PrecondMala::auto(target())?;
    let t = Sampler::new(30)
        .chains(3)
        .warmup(60)
        .seed(4)
        .chain_range(1..3)
        .run(&pm, &[vec![0.0; 3]])?;
    let mut file = Vec::new();
    t.write_shard(&mut file).unwrap();
    let back = Trace::<f64>::read_shard(&file[..])?;
    assert_same_run(&back, &t);
    assert_eq!(back.config.chain_wall_time, t.config.chain_wall_time);
    for cut in 0..file.len() {
        let e = Trace::<f64>::read_shard(&file[..cut]).unwrap_err();
        assert!(matches!(e, Error::InvalidShard { .. }), "cut {cut}: {e}");
    }
    let mut long = file.clone();
    long.push(0);
    assert!(matches!(
        Trace::<f64>::read_shard(&long[..]).unwrap_err(),
        Error::InvalidShard { .. }
    ));
    assert!(matches!(
        Trace::<f32>::read_shard(&file[..]).unwrap_err(),
        Error::InvalidShard { .. }
    ));
    let mut bad = file.clone();
    bad[0] = b'X';
    assert!(matches!(
        Trace::<f64>::read_shard(&bad[..]).unwrap_err(),
        Error::InvalidShard { .. }
    ));
    Ok(())
}

/// Particle splittings of 200 particles (blocks of 64: the whole run's blocks are 0..64,
/// 64..128, 128..192, 192..200): cuts inside blocks, on block boundaries, 1-particle shards.
fn particle_splits() -> Vec<Vec<std::ops::Range<usize>>> {
    vec![
        vec![37..100, 0..37, 100..200],
        vec![128..200, 0..64, 64..128],
        vec![1..200, 0..1],
        vec![0..199, 199..200],
        (0..3).map(|k| shard_range(200, k, 3).unwrap()).collect(),
    ]
}

/// Runs `f` on every splitting (threads alternating 1 and 2) and compares the merge with the
/// one-process run.
fn check_particles<F>(name: &str, f: F) -> Result<()>
where
    F: Fn(&ParticleRun) -> Result<Particles<f64>>,
{
    let full = ParticleRun::new(200).seed(21);
    let whole = f(&full.threads(2))?;
    assert_eq!(whole.range(), 0..200);
    for (s, split) in particle_splits().into_iter().enumerate() {
        let shards = split
            .iter()
            .map(|r| f(&full.range(r.clone()).threads(1 + s % 2)))
            .collect::<Result<Vec<_>>>()?;
        for (sh, r) in shards.iter().zip(&split) {
            assert_eq!(sh.range(), r.clone());
            assert_eq!(
                sh.as_slice(),
                &whole.as_slice()[r.start * 3..r.end * 3],
                "{name}"
            );
        }
        assert_eq!(Particles::merge(shards)?, whole, "{name} split {s}");
    }
    Ok(())
}

/// Every particle sampler whose particles are independent, on the empirical score of 40
/// points in 3-d (batched, GEMM-based evaluation: the part most sensitive to how particles
/// are grouped) or a mixture's exact score.
#[test]
fn particle_shards_merge_to_the_one_process_run() -> Result<()> {
    let mut rng = langevin::rng::stream(99, 0);
    let data: Vec<f64> = (0..40 * 3)
        .map(|i| f64::standard_normal(&mut rng) + (i % 3) as f64)
        .collect();
    let emp = EmpiricalScore::new(data, 3)?;
    let levels = SigmaLevels::geometric(3.0, 0.1, 6)?;
    let start = |_i: usize, rng: &mut langevin::rng::ChainRng, x: &mut [f64]| {
        x.iter_mut()
            .for_each(|v| *v = 3.0 * f64::standard_normal(rng));
    };
    let al = AnnealedLangevin::new(
        &emp,
        levels.clone(),
        8,
        LevelStep::Langevin { h_last: 0.005 },
    )?;
    check_particles("annealed Langevin", |r| al.run(r, &start))?;
    let edm = Edm::new(&emp, SigmaLevels::karras(3.0, 0.05, 10, 7.0)?)?.churn(Churn {
        s_churn: 20.0,
        s_tmin: 0.0,
        s_tmax: f64::INFINITY,
        s_noise: 1.0,
    })?;
    check_particles("EDM churn", |r| edm.run(r, &start))?;
    let vp = Vp::<f64>::linear(3, 0.1, 20.0)?;
    let marg = Marginal::new(&emp, vp)?;
    for p in [Predictor::EulerMaruyama, Predictor::Ancestral] {
        let rs = ReverseSampler::new(vp, &marg, 30, 1e-3, p)?;
        check_particles("reverse SDE", |r| rs.run_from_prior(r))?;
    }
    let pf = ProbabilityFlow::new(vp, &marg, 20, 1e-3)?;
    check_particles("probability flow", |r| pf.run_from_prior(r))?;
    let ddim = Ddim::new(vp, &marg, 20, 1e-3, 0.5)?;
    check_particles("DDIM", |r| ddim.run_from_prior(r))?;
    let dpm = DpmSolverPp::new(vp, &marg, 15, 1e-3, TimeGrid::LogSnr)?;
    check_particles("DPM-Solver++", |r| dpm.run_from_prior(r))?;
    let gmm = GaussianMixture::<f64>::ring(4, 2.0, 0.5)?;
    let am = AnnealedMala::new(
        &gmm,
        SigmaLevels::geometric(2.0, 0.5, 4)?,
        10,
        LevelStep::Langevin { h_last: 0.05 },
    )?;
    let start2 = |_i: usize, rng: &mut langevin::rng::ChainRng, x: &mut [f64]| {
        x.iter_mut()
            .for_each(|v| *v = 2.0 * f64::standard_normal(rng));
    };
    let full = ParticleRun::new(200).seed(3);
    let whole = am.run(&full, &start2)?;
    let parts = [0..77, 77..200]
        .into_iter()
        .map(|r| am.run(&full.range(r), &start2).map(|o| o.particles))
        .collect::<Result<Vec<_>>>()?;
    assert_eq!(Particles::merge(parts)?, whole.particles);

    // The predictor–corrector sampler couples the particles: a proper range is refused, the
    // whole range is fine.
    let pc = ReverseSampler::new(vp, &marg, 10, 1e-3, Predictor::EulerMaruyama)?.corrector(
        LangevinCorrector {
            snr: 0.16,
            steps: 1,
        },
    )?;
    let e = pc
        .run_from_prior(&ParticleRun::new(100).range(0..50))
        .unwrap_err();
    assert!(matches!(e, Error::InvalidConfig { .. }), "{e}");
    let a = pc.run_from_prior(&ParticleRun::new(100).seed(1).range(0..100))?;
    assert_eq!(a, pc.run_from_prior(&ParticleRun::new(100).seed(1))?);
    Ok(())
}

/// Particle merges refuse overlaps, gaps and shards of other runs; bad ranges are refused.
#[test]
fn particle_merge_refusals() -> Result<()> {
    let gmm = GaussianMixture::<f64>::ring(4, 2.0, 0.5)?;
    let al = AnnealedLangevin::new(
        &gmm,
        SigmaLevels::geometric(2.0, 0.5, 3)?,
        5,
        LevelStep::Langevin { h_last: 0.05 },
    )?;
    let run = ParticleRun::new(100).seed(8);
    let x0 = vec![0.0, 0.0];
    let part = |r: std::ops::Range<usize>| al.run(&run.range(r), &x0).unwrap();
    assert_eq!(
        Particles::merge([part(0..60), part(50..100)]).unwrap_err(),
        Error::ShardOverlap { first: 50, end: 60 }
    );
    assert_eq!(
        Particles::merge([part(0..60), part(70..100)]).unwrap_err(),
        Error::ShardMissing { first: 60, end: 70 }
    );
    assert_eq!(
        Particles::merge([part(0..60)]).unwrap_err(),
        Error::ShardMissing {
            first: 60,
            end: 100
        }
    );
    let other = al.run(&ParticleRun::new(120).seed(8).range(60..120), &x0)?;
    assert!(matches!(
        Particles::merge([part(0..60), other]).unwrap_err(),
        Error::InvalidShard { .. }
    ));
    let e = al.run(&run.range(10..10), &x0).unwrap_err();
    assert!(matches!(e, Error::ZeroCount { .. }), "{e}");
    let e = al.run(&run.range(90..101), &x0).unwrap_err();
    assert!(matches!(e, Error::InvalidConfig { .. }), "{e}");
    Ok(())
}

/// A checkpointed run of a shard is refused (the checkpoint records whole runs): without the
/// refusal the checkpointed driver would silently run every chain. Bug caught: that.
#[cfg(feature = "checkpoint")]
#[test]
fn checkpointing_a_shard_is_refused() -> Result<()> {
    let g = Gaussian::<f64>::standard(2)?;
    let mala = Mala::new(&g, 0.5)?;
    let path = std::env::temp_dir().join(format!("langevin-shard-ckpt-{}", std::process::id()));
    let err = Sampler::new(20)
        .chains(4)
        .warmup(5)
        .chain_range(1..3)
        .checkpoint_every(10, &path)
        .run(&mala, &[vec![0.0; 2]])
        .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err}");
    assert!(!path.exists());
    Ok(())
}
