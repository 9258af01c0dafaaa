//! One seeded run split over independent jobs: each job runs a shard of the chains
//! (`Sampler::chain_range`) and writes a shard file; a merge reads the files and gets, bit for
//! bit, the trace of the one-process run.
//!
//! ```text
//! cargo run --release --example shards                         # demo: 4 shards in turn, merge, compare
//! cargo run --release --example shards -- run 2 4 out/         # shard 2 of 4 → out/shard-2.lgv + CSVs
//! cargo run --release --example shards -- merge out/           # merge out/*.lgv, print diagnostics
//! ```
//!
//! As a Slurm array (one task per shard, then the merge once they are all done):
//!
//! ```text
//! cargo build --release --example shards
//! jid=$(sbatch --parsable --array=0-7 --wrap \
//!     'target/release/examples/shards run $SLURM_ARRAY_TASK_ID 8 out/')
//! sbatch --dependency=afterok:$jid --wrap 'target/release/examples/shards merge out/'
//! ```
//!
//! or as a plain shell loop, in parallel on one machine:
//!
//! ```text
//! for k in 0 1 2 3; do target/release/examples/shards run $k 4 out/ & done; wait
//! target/release/examples/shards merge out/
//! ```
//!
//! Every shard also writes its chains as CmdStan CSV (`out/chain-<id>.csv`, ids of the whole
//! run), for ArviZ: `az.from_cmdstan(posterior="out/chain-*.csv")`.

use langevin::export::{CmdStanCsv, DrawStats};
use langevin::mcmc::PrecondMala;
use langevin::prelude::*;
use langevin::run::{NoAdaptation, shard_range};
use langevin::targets::Gaussian;
use std::path::{Path, PathBuf};

/// The run every shard belongs to: 16 chains of adaptive preconditioned MALA (Stan-style
/// windowed metric) on a correlated 4-d Gaussian.
const CHAINS: usize = 16;

fn target() -> Result<Gaussian<f64>> {
    Gaussian::full(
        vec![1.0, -1.0, 0.0, 2.0],
        &[
            4.0, 1.5, 0.0, 0.0, //
            1.5, 1.0, 0.2, 0.0, //
            0.0, 0.2, 0.5, 0.1, //
            0.0, 0.0, 0.1, 0.1,
        ],
    )
}

fn sampler() -> Sampler {
    Sampler::new(2_000).chains(CHAINS).warmup(1_000).seed(2026)
}

/// Runs shard `k` of `of` and writes `dir/shard-k.lgv` and one CmdStan CSV per chain.
fn run_shard(
    k: usize,
    of: usize,
    dir: &Path,
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let target = target()?;
    let kernel = PrecondMala::auto(&target)?;
    let range = shard_range(CHAINS, k, of)?;
    std::fs::create_dir_all(dir)?;
    if range.is_empty() {
        println!("shard {k} of {of}: no chains (more shards than the {CHAINS} chains)");
        return Ok(());
    }
    let stats = DrawStats::new();
    let trace = sampler().chain_range(range.clone()).run_with(
        &kernel,
        &[vec![0.0; 4]],
        &NoAdaptation,
        &stats,
    )?;
    // Write to a temporary name and rename, so a merge never reads a half-written shard.
    let path = dir.join(format!("shard-{k}.lgv"));
    let tmp = dir.join(format!(".shard-{k}.lgv.tmp"));
    trace.write_shard(std::io::BufWriter::new(std::fs::File::create(&tmp)?))?;
    std::fs::rename(&tmp, &path)?;
    let csv = CmdStanCsv::new()
        .names(["mu.1", "mu.2", "mu.3", "mu.4"])
        .log_density(|x: &[f64]| target.log_density(x))
        .stats(&stats);
    for i in 0..trace.n_chains() {
        let id = range.start + i + 1;
        let f = std::fs::File::create(dir.join(format!("chain-{id}.csv")))?;
        csv.write_chain(&trace, i, std::io::BufWriter::new(f))?;
    }
    println!(
        "shard {k} of {of}: chains {range:?} → {} ({:.2} s)",
        path.display(),
        trace.wall_time.as_secs_f64()
    );
    Ok(())
}

/// Reads every `*.lgv` of `dir` and merges them.
fn merge(dir: &Path) -> std::result::Result<Trace<f64>, Box<dyn std::error::Error>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "lgv"))
        .collect();
    files.sort();
    let mut shards = Vec::new();
    for f in &files {
        let t = Trace::<f64>::read_shard(std::io::BufReader::new(std::fs::File::open(f)?))?;
        println!("read {}: chains {:?}", f.display(), t.chain_range());
        shards.push(t);
    }
    Ok(Trace::merge(shards)?)
}

/// FNV-1a over the bits of every draw and per-chain statistic (not the wall times): equal
/// fingerprints, equal runs.
fn fingerprint(t: &Trace<f64>) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut eat = |v: u64| {
        for b in v.to_le_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    for c in &t.chains {
        c.iter().for_each(|x| eat(x.to_bits()));
    }
    t.acceptance_rate.iter().for_each(|x| eat(x.to_bits()));
    t.mean_accept_prob.iter().for_each(|x| eat(x.to_bits()));
    t.divergences.iter().for_each(|&x| eat(x as u64));
    for m in t.adapted_mass.iter().flatten() {
        m.iter().for_each(|x| eat(x.to_bits()));
    }
    h
}

fn report(t: &Trace<f64>) -> std::result::Result<(), Box<dyn std::error::Error>> {
    println!("\n{}", t.summary(Some(&["mu.1", "mu.2", "mu.3", "mu.4"]))?);
    println!(
        "{} chains × {} draws, acceptance {:.3}, max R-hat {:.4}, min bulk ESS {:.0}",
        t.n_chains(),
        t.n_draws,
        t.acceptance(),
        t.max_rhat()?,
        t.min_ess_bulk()?
    );
    println!("fingerprint {:016x}", fingerprint(t));
    Ok(())
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    match arg(0) {
        Some("run") => {
            let k: usize = arg(1).unwrap_or("0").parse()?;
            let of: usize = arg(2).unwrap_or("4").parse()?;
            run_shard(k, of, Path::new(arg(3).unwrap_or("shards-out")))
        }
        Some("merge") => report(&merge(Path::new(arg(1).unwrap_or("shards-out")))?),
        Some(other) => {
            Err(format!("unknown mode {other:?}: use `run K OF DIR` or `merge DIR`").into())
        }
        None => {
            // The demo: 4 shards (4 chains each) in turn, the merge, and the one-process run.
            let dir = std::env::temp_dir().join(format!("langevin-shards-{}", std::process::id()));
            for k in 0..4 {
                run_shard(k, 4, &dir)?;
            }
            let merged = merge(&dir)?;
            report(&merged)?;
            let target = target()?;
            let whole = sampler().run(&PrecondMala::auto(&target)?, &[vec![0.0; 4]])?;
            let same = merged.chains == whole.chains
                && merged.acceptance_rate == whole.acceptance_rate
                && merged.adapted_mass == whole.adapted_mass;
            println!(
                "one-process run: fingerprint {:016x}; merged shards {}",
                fingerprint(&whole),
                if same { "bit-identical" } else { "DIFFER" }
            );
            std::fs::remove_dir_all(&dir)?;
            if !same {
                return Err("the merged shards differ from the one-process run".into());
            }
            Ok(())
        }
    }
}
