//! Checkpoint and resume (issue 13, item 1; feature `checkpoint`): a run interrupted at any
//! iteration and resumed from its last checkpoint gives the same bits as the run that was
//! never interrupted; a killed process resumes too; incompatible, corrupt and truncated files
//! are refused with typed errors; writes are atomic.
//!
//! The oracle is exact: the uninterrupted run of `Sampler::run` / `run_with` / `run_from`
//! (not a checkpointed run), compared bit for bit (draws, per-chain statistics, adapted step
//! and metric).
#![cfg(feature = "checkpoint")]

use langevin::adapt::{MetricAdaptation, WindowedAdaptation};
use langevin::integrators::Baoab;
use langevin::mcmc::{Barker, Malt, Metric, PrecondMala, StepInfo};
use langevin::prelude::*;
use langevin::run::NoAdaptation;
use langevin::run::checkpoint::{self, HEADER_LEN};
use langevin::targets::Gaussian;
use std::path::{Path, PathBuf};
use std::sync::Once;

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("langevin-checkpoint-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Everything a run produces that must be reproduced exactly (wall times excluded).
fn assert_same_bits(a: &Trace<f64>, b: &Trace<f64>, what: &str) {
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(a.chains.len(), b.chains.len(), "{what}: chains");
    for (c, (x, y)) in a.chains.iter().zip(&b.chains).enumerate() {
        assert_eq!(x.len(), y.len(), "{what}: chain {c} length");
        assert!(bits(x) == bits(y), "{what}: chain {c} draws differ");
    }
    assert_eq!(bits(&a.acceptance_rate), bits(&b.acceptance_rate), "{what}");
    assert_eq!(
        bits(&a.mean_accept_prob),
        bits(&b.mean_accept_prob),
        "{what}"
    );
    assert_eq!(a.divergences, b.divergences, "{what}");
    assert_eq!(a.warmup_divergences, b.warmup_divergences, "{what}");
    assert_eq!(
        a.adapted_step_size.as_deref().map(bits),
        b.adapted_step_size.as_deref().map(bits),
        "{what}: adapted step"
    );
    let masses = |t: &Trace<f64>| {
        t.adapted_mass
            .as_ref()
            .map(|m| m.iter().map(|v| bits(v)).collect::<Vec<_>>())
    };
    assert_eq!(masses(a), masses(b), "{what}: adapted metric");
    let cfg = |t: &Trace<f64>| {
        let c = &t.config;
        (
            c.sampler.clone(),
            c.draws,
            c.warmup,
            c.thin,
            c.seed,
            c.chains,
        )
    };
    assert_eq!(cfg(a), cfg(b), "{what}: run record");
}

const CRASH: &str = "simulated crash after checkpoint";

/// Silences the panic messages of the simulated crashes (other panics print as usual).
fn quiet_simulated_crashes() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .copied()
                .unwrap_or_default();
            if msg != CRASH {
                default(info);
            }
        }));
    });
}

/// An observer that "crashes" (panics) when any chain starts transition `at`: the run stops
/// there, and the last checkpoint on disk is the one taken at iteration `at`.
struct CrashAt(usize);
impl Observer<f64> for CrashAt {
    fn on_step(&self, _: usize, iteration: usize, _: bool, _: &StepInfo, _: &[f64]) {
        if iteration == self.0 {
            std::panic::panic_any(CRASH);
        }
    }
}

/// Interrupts a checkpointed run right after its checkpoint at iteration `k` (or lets it
/// finish when `k` is the last iteration), then resumes with a different thread count and
/// checkpoint interval, and compares with the uninterrupted plain run.
#[allow(clippy::too_many_arguments)]
fn interrupt_and_resume<K, A>(
    name: &str,
    kernel: &K,
    adaptation: &A,
    sampler: &Sampler,
    total: usize,
    ks: &[usize],
    inits: &[Vec<f64>],
    random_init: bool,
) where
    K: checkpoint::ResumableKernel<Scalar = f64>,
    A: checkpoint::ResumableAdaptation<K>,
{
    quiet_simulated_crashes();
    let dir = scratch(name);
    let path = dir.join("run.ckpt");
    let init = |c: usize, rng: &mut langevin::rng::ChainRng| -> Vec<f64> {
        if random_init {
            (0..kernel.dim())
                .map(|_| f64::standard_normal(rng) + c as f64)
                .collect()
        } else {
            inits[if inits.len() == 1 { 0 } else { c }].clone()
        }
    };
    let plain = sampler.run_from(kernel, init, adaptation, &()).unwrap();
    for threads in [1, 2] {
        for &k in ks {
            let what = format!("{name}: checkpoint at {k}, first session on {threads} thread(s)");
            let first = sampler.clone().threads(threads).checkpoint_every(k, &path);
            let out = first.run_from(kernel, init, adaptation, &CrashAt(k));
            let info = checkpoint::inspect(&path).unwrap();
            assert_eq!(info.iteration, k as u64, "{what}");
            assert_eq!(info.total_iterations, total as u64, "{what}");
            if k < total {
                assert!(
                    matches!(out, Err(Error::ChainPanicked { iteration: Some(i), .. }) if i == k),
                    "{what}: {out:?}"
                );
            } else {
                assert_same_bits(&out.unwrap(), &plain, &what);
            }
            // Resume on the other thread count, with another interval.
            let second = sampler
                .clone()
                .threads(3 - threads)
                .checkpoint_every(k / 3 + 5, &path);
            let resumed = second.resume_with(kernel, adaptation, &()).unwrap();
            assert_same_bits(&resumed, &plain, &what);
            assert!(checkpoint::inspect(&path).unwrap().is_complete(), "{what}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Bug it catches: any state a resumed chain does not get back — the RNG words (resumed
/// chains would draw fresh noise), the step counter or cached score of the kernel, the
/// recorded draws, the thinning phase (`(it − warmup + 1) % thin` counted from the wrong
/// origin), the per-chain statistics — and a result that depends on the thread count.
/// Checkpoints at 1, at the last warm-up iteration, at draw 0 (= end of warm-up), at the
/// last draw and at the end; a random initialisation (`run_from`) checks the init stream.
#[test]
fn ula_resumes_bit_identically_from_any_iteration() {
    let target = Gaussian::<f64>::diagonal(vec![1.0, -2.0, 0.5], vec![0.5, 2.0, 1.0]).unwrap();
    let ula = Ula::new(target, 0.1).unwrap();
    let sampler = Sampler::new(40).chains(3).warmup(30).thin(2).seed(5);
    let total = 30 + 40 * 2;
    let ks = [1, 13, 29, 30, 31, 64, total - 1, total];
    interrupt_and_resume("ula", &ula, &NoAdaptation, &sampler, total, &ks, &[], true);
}

/// Bug it catches: the vectorised normal generator's state (eight lane states, the unread
/// values of its last block, the read position) not saved — a resumed chain would re-seed it
/// or lose up to seven buffered normals; d = 3 leaves a partial block at every step.
#[test]
fn simd_normals_resume_bit_identically() {
    use langevin::rng::Normals;
    let target = Gaussian::<f64>::diagonal(vec![1.0, -2.0, 0.5], vec![0.5, 2.0, 1.0]).unwrap();
    let ula = Ula::new(target.clone(), 0.1)
        .unwrap()
        .with_normals(Normals::Simd);
    let sampler = Sampler::new(40).chains(3).warmup(30).thin(2).seed(5);
    let total = 30 + 40 * 2;
    let ks = [1, 13, 30, 31, total - 1];
    interrupt_and_resume(
        "ula_simd",
        &ula,
        &NoAdaptation,
        &sampler,
        total,
        &ks,
        &[],
        true,
    );
    let mala = Mala::new(target, 0.3).unwrap().with_normals(Normals::Simd);
    let ks = [1, 29, 30, 77];
    interrupt_and_resume(
        "mala_simd",
        &mala,
        &NoAdaptation,
        &sampler,
        total,
        &ks,
        &[],
        true,
    );
}

/// Bug it catches: a dual-averaging state (iteration t, h̄, log h̄, …) that is not saved or
/// is restarted on resume — the resumed warm-up would adapt from scratch and the frozen step
/// (and every draw after it) would differ; closing warm-up twice or never at a checkpoint
/// taken exactly at the end of warm-up.
#[test]
fn mala_auto_resumes_bit_identically_mid_warmup() {
    let target = Gaussian::<f64>::full(vec![1.0, -1.0], &[1.0, 0.8, 0.8, 1.0]).unwrap();
    let mala = Mala::auto(target).unwrap();
    let sampler = Sampler::new(50).chains(4).warmup(80).seed(9);
    let total = 130;
    let ks = [1, 7, 40, 79, 80, 81, total - 1, total];
    interrupt_and_resume(
        "mala_auto",
        &mala,
        &NoAdaptation,
        &sampler,
        total,
        &ks,
        &[vec![0.0, 0.0]],
        false,
    );
}

/// Bug it catches: a windowed adaptation resumed without its Welford accumulator, window
/// index or the metric it already set — PrecondMala's warm-up has metric updates at the ends
/// of its windows, and a checkpoint inside a window must carry the partial sums.
#[test]
fn precond_mala_auto_resumes_bit_identically_mid_window() {
    let target = Gaussian::<f64>::diagonal(vec![0.0; 3], vec![0.25, 1.0, 4.0]).unwrap();
    let pm = PrecondMala::auto(target).unwrap();
    let sampler = Sampler::new(30).chains(2).warmup(150).seed(3);
    let total = 180;
    // The default windows for 150 warm-up iterations: checkpoints inside the first buffer,
    // inside windows, at a window end and in the final buffer.
    let ks = [2, 50, 77, 100, 149, 150, 151, total - 1, total];
    interrupt_and_resume(
        "precond_auto",
        &pm,
        &NoAdaptation,
        &sampler,
        total,
        &ks,
        &[vec![1.0, 1.0, 1.0]],
        false,
    );
}

/// Bug it catches: the explicit adaptation's state (`run_with`, not carried inside the
/// kernel) lost on resume, or resumed after the explicit adaptation was already finished.
#[test]
fn explicit_windowed_adaptation_resumes_bit_identically() {
    let target = Gaussian::<f64>::diagonal(vec![0.0; 2], vec![0.5, 3.0]).unwrap();
    let pm = PrecondMala::identity(target, 0.3).unwrap();
    let adapt = WindowedAdaptation::new(MetricAdaptation::Dense);
    let sampler = Sampler::new(20).chains(2).warmup(120).seed(21);
    let ks = [60, 119, 120];
    interrupt_and_resume(
        "explicit_windowed",
        &pm,
        &adapt,
        &sampler,
        140,
        &ks,
        &[vec![0.0, 0.0]],
        false,
    );
}

/// Bug it catches: a kernel of the crate whose state is not fully serialised — MALT's
/// adapted trajectory length, friction and mass (set at the end of its warm-up), Barker's
/// metric, BAOAB's velocity and the flag that draws its first velocity.
#[test]
fn malt_barker_and_baoab_resume_bit_identically() {
    let target = Gaussian::<f64>::diagonal(vec![0.0; 2], vec![0.5, 2.0]).unwrap();
    let sampler = Sampler::new(20).chains(2).warmup(60).seed(17);
    let malt = Malt::auto(target.clone()).unwrap();
    interrupt_and_resume(
        "malt",
        &malt,
        &NoAdaptation,
        &sampler,
        80,
        &[30, 60, 70],
        &[vec![0.0; 2]],
        false,
    );
    let barker = Barker::new(target.clone(), 0.4, Metric::identity(2).unwrap()).unwrap();
    interrupt_and_resume(
        "barker",
        &barker,
        &NoAdaptation,
        &sampler,
        80,
        &[30, 70],
        &[vec![0.0; 2]],
        false,
    );
    let baoab = Baoab::new(target, 0.2, 1.0).unwrap();
    interrupt_and_resume(
        "baoab",
        &baoab,
        &NoAdaptation,
        &sampler,
        80,
        &[1, 30, 70],
        &[vec![0.0; 2]],
        false,
    );
}

// ---------------------------------------------------------------------------------------
// The kill test: a child process killed by SIGKILL at a pseudo-random iteration.

const CHILD_ENV: &str = "LANGEVIN_CHECKPOINT_CHILD";
const STALL_ENV: &str = "LANGEVIN_CHECKPOINT_STALL";

fn kill_test_sampler() -> Sampler {
    Sampler::new(1200).chains(2).warmup(400).seed(2026)
}

fn kill_test_kernel() -> impl checkpoint::ResumableKernel<Scalar = f64> {
    let target = Gaussian::<f64>::diagonal(
        vec![0.5, -0.5, 1.0, 0.0, 2.0],
        vec![1.0, 2.0, 0.5, 1.0, 3.0],
    )
    .unwrap();
    Mala::auto(target).unwrap()
}

/// Prints the progress of chain 0 and slows it down, so that the parent can kill the child
/// while it runs (at ~0.25 ms per iteration the run takes about 0.4 s). So that a parent
/// starved of CPU cannot miss the child, chain 0 stalls at iteration `stall` (100 past the
/// kill point) until it is killed.
struct Progress {
    stall: usize,
}
impl Observer<f64> for Progress {
    fn on_step(&self, chain: usize, iteration: usize, _: bool, _: &StepInfo, _: &[f64]) {
        if chain == 0 {
            std::thread::sleep(std::time::Duration::from_micros(250));
            if iteration == self.stall {
                std::thread::sleep(std::time::Duration::from_secs(60));
            }
            if iteration.is_multiple_of(5) {
                println!("progress {iteration}");
            }
        }
    }
}

/// The child: a checkpointed run (every 50 iterations) that prints its progress.
fn child(path: &Path, stall: usize) {
    kill_test_sampler()
        .checkpoint_every(50, path)
        .run_with(
            &kill_test_kernel(),
            &[vec![0.0; 5]],
            &NoAdaptation,
            &Progress { stall },
        )
        .unwrap();
    println!("child finished");
}

/// Bug it catches: a checkpoint that a killed process leaves unreadable (written in place:
/// a kill during the write leaves half a file), or that resumes to different bits than the
/// one-shot run (the resumed-chains-differ bug). The child re-runs this test binary with an
/// environment variable; the parent reads its progress lines and sends SIGKILL when the
/// child passes a pseudo-random iteration (seeded: three kills, one in warm-up and two in
/// sampling), then resumes from the file in-process and compares bits with the one-shot run.
#[test]
fn killed_child_resumes_to_the_one_shot_bits() {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        let stall = std::env::var(STALL_ENV).unwrap().parse().unwrap();
        child(Path::new(&path), stall);
        return;
    }
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let one_shot = kill_test_sampler()
        .run(&kill_test_kernel(), &[vec![0.0; 5]])
        .unwrap();
    let total = 400 + 1200;
    let mut rng = langevin::rng::stream(2026, 13);
    let kill_points = [
        rng.random_range(60..390),
        rng.random_range(410..1000),
        rng.random_range(1000..1400),
    ];
    let dir = scratch("kill");
    for (round, &kill_at) in kill_points.iter().enumerate() {
        let path = dir.join(format!("killed-{round}.ckpt"));
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "killed_child_resumes_to_the_one_shot_bits",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .env(STALL_ENV, (kill_at + 100).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut seen = 0;
        for line in stdout.lines() {
            let line = line.unwrap();
            if let Some(it) = line.strip_prefix("progress ") {
                seen = it.trim().parse().unwrap();
                if seen >= kill_at {
                    child.kill().unwrap(); // SIGKILL on Unix
                    break;
                }
            }
        }
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "round {round}: the child finished before the kill at {kill_at} (saw {seen})"
        );
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(status.signal(), Some(9), "round {round}: {status:?}");
        }
        let info = checkpoint::inspect(&path).unwrap();
        assert!(
            info.iteration >= (seen / 50 * 50) as u64
                && info.iteration > 0
                && info.iteration.is_multiple_of(50)
                && info.iteration < total as u64,
            "round {round}: checkpoint at {} after a kill at {seen}",
            info.iteration
        );
        let resumed = kill_test_sampler()
            .checkpoint_every(50, &path)
            .resume(&kill_test_kernel())
            .unwrap();
        assert_same_bits(
            &resumed,
            &one_shot,
            &format!("killed at {seen}, resumed from {}", info.iteration),
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------------------
// Refusals.

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), written from the format's
/// definition: an independent check that the file carries the documented checksum.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Re-seals a patched file: payload length and CRC-32 from the header definition.
fn reseal(bytes: &mut [u8]) {
    let n = (bytes.len() - HEADER_LEN) as u64;
    bytes[12..20].copy_from_slice(&n.to_le_bytes());
    let crc = crc32(&bytes[HEADER_LEN..]);
    bytes[20..24].copy_from_slice(&crc.to_le_bytes());
}

fn small_mala() -> Mala<Gaussian<f64>> {
    Mala::new(Gaussian::<f64>::standard(2).unwrap(), 0.5).unwrap()
}

fn small_sampler() -> Sampler {
    Sampler::new(20).chains(2).warmup(10).seed(4)
}

/// Writes a finished checkpoint of the small run and returns its bytes.
fn small_checkpoint(path: &Path) -> Vec<u8> {
    small_sampler()
        .checkpoint_every(10, path)
        .run(&small_mala(), &[vec![0.0; 2]])
        .unwrap();
    std::fs::read(path).unwrap()
}

/// Bug it catches: a header that does not follow the documented layout (magic, version,
/// length, CRC-32 of the payload), and a file from another format or crate version that is
/// decoded anyway (its kernel states may have another layout).
#[test]
fn other_versions_are_refused() {
    let dir = scratch("versions");
    let path = dir.join("v.ckpt");
    let good = small_checkpoint(&path);
    assert_eq!(&good[..8], b"LGVNCKPT");
    assert_eq!(u32::from_le_bytes(good[8..12].try_into().unwrap()), 1);
    assert_eq!(
        u64::from_le_bytes(good[12..20].try_into().unwrap()),
        (good.len() - HEADER_LEN) as u64
    );
    assert_eq!(
        u32::from_le_bytes(good[20..24].try_into().unwrap()),
        crc32(&good[HEADER_LEN..])
    );
    let resume = || {
        small_sampler()
            .checkpoint_every(10, &path)
            .resume(&small_mala())
    };
    // Format version 2.
    let mut v2 = good.clone();
    v2[8..12].copy_from_slice(&2u32.to_le_bytes());
    std::fs::write(&path, &v2).unwrap();
    match resume() {
        Err(Error::CheckpointVersion {
            what: "format",
            found,
            expected,
            ..
        }) => assert_eq!((found.as_str(), expected.as_str()), ("2", "1")),
        other => panic!("format version 2 was not refused: {other:?}"),
    }
    // Another crate version (the payload starts with the version string, length-prefixed),
    // re-sealed so that only the version differs.
    let version = env!("CARGO_PKG_VERSION").as_bytes();
    assert_eq!(
        &good[HEADER_LEN + 1..HEADER_LEN + 1 + version.len()],
        version
    );
    let mut other = good.clone();
    other[HEADER_LEN + 1] = b'9';
    reseal(&mut other);
    std::fs::write(&path, &other).unwrap();
    match resume() {
        Err(Error::CheckpointVersion {
            what: "crate",
            found,
            ..
        }) => assert!(found.starts_with('9'), "{found}"),
        other => panic!("another crate version was not refused: {other:?}"),
    }
    std::fs::write(&path, &good).unwrap();
    assert!(resume().is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Bug it catches: a checkpoint resumed under another configuration — which would silently
/// produce a run that is neither the saved one nor the one asked for. Each entry of the
/// fingerprint is changed in turn and must be named in the error.
#[test]
fn other_configurations_are_refused_naming_the_difference() {
    let dir = scratch("configs");
    let path = dir.join("c.ckpt");
    small_checkpoint(&path);
    let mala = small_mala();
    let field_of = |r: Result<Trace<f64>>| match r {
        Err(Error::CheckpointMismatch { field, .. }) => field,
        other => panic!("not refused: {other:?}"),
    };
    let on = |s: Sampler| s.checkpoint_every(10, &path);
    assert_eq!(field_of(on(small_sampler().seed(5)).resume(&mala)), "seed");
    assert_eq!(
        field_of(on(small_sampler().chains(3)).resume(&mala)),
        "chains"
    );
    assert_eq!(
        field_of(on(small_sampler().warmup(11)).resume(&mala)),
        "warmup"
    );
    assert_eq!(field_of(on(small_sampler().thin(2)).resume(&mala)), "thin");
    let s = Sampler::new(21).chains(2).warmup(10).seed(4);
    assert_eq!(field_of(on(s).resume(&mala)), "draws");
    let other_step = Mala::new(Gaussian::<f64>::standard(2).unwrap(), 0.25).unwrap();
    assert_eq!(
        field_of(on(small_sampler()).resume(&other_step)),
        "parameters"
    );
    let ula = Ula::new(Gaussian::<f64>::standard(2).unwrap(), 0.5).unwrap();
    assert_eq!(field_of(on(small_sampler()).resume(&ula)), "kernel");
    let wider = Mala::new(Gaussian::<f64>::standard(3).unwrap(), 0.5).unwrap();
    assert_eq!(field_of(on(small_sampler()).resume(&wider)), "dim");
    let adapt = langevin::adapt::StepSizeAdaptation::new(0.574).unwrap();
    assert_eq!(
        field_of(on(small_sampler()).resume_with(&mala, &adapt, &())),
        "adaptation"
    );
    let single = Mala::new(Gaussian::<f32>::standard(2).unwrap(), 0.5).unwrap();
    match on(small_sampler()).resume(&single) {
        Err(Error::CheckpointMismatch {
            field,
            checkpoint,
            run,
            ..
        }) => assert_eq!(
            (field, checkpoint.as_str(), run.as_str()),
            ("scalar", "f64", "f32")
        ),
        other => panic!("f32 resume of an f64 run not refused: {other:?}"),
    }
    // What may differ: threads, strict mode, the interval.
    let fine = small_sampler()
        .threads(2)
        .strict(false)
        .checkpoint_every(3, &path)
        .resume(&mala);
    assert!(fine.is_ok(), "{fine:?}");
    // The error message says what to do.
    let msg = on(small_sampler().seed(5))
        .resume(&mala)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("seed = 4") && msg.contains("seed = 5"),
        "{msg}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Bug it catches: a damaged or truncated file that is decoded anyway (a flipped bit in a
/// draw would resume to wrong numbers without any sign), a reader that trusts the header's
/// length, and a payload with a valid checksum whose chains do not decode (e.g. written by
/// a patched program) that panics instead of returning an error.
#[test]
fn corrupt_and_truncated_files_are_refused() {
    let dir = scratch("corrupt");
    let path = dir.join("x.ckpt");
    let good = small_checkpoint(&path);
    let resume = || {
        small_sampler()
            .checkpoint_every(10, &path)
            .resume(&small_mala())
    };
    let is_corrupt = |r: Result<Trace<f64>>, what: &str| match r {
        Err(Error::CheckpointCorrupt { reason, .. }) => reason,
        other => panic!("{what}: not refused as corrupt: {other:?}"),
    };
    // Truncations at every structural point and in the middle of the payload.
    for len in [
        0,
        3,
        8,
        12,
        HEADER_LEN - 1,
        HEADER_LEN,
        HEADER_LEN + 1,
        good.len() / 2,
        good.len() - 8,
        good.len() - 1,
    ] {
        std::fs::write(&path, &good[..len]).unwrap();
        let reason = is_corrupt(resume(), &format!("truncated to {len}"));
        assert!(
            reason.contains("truncated") || reason.contains("header"),
            "{len}: {reason}"
        );
        assert!(checkpoint::inspect(&path).is_err());
    }
    // One flipped bit anywhere in the payload (a few positions, including the last draw).
    for pos in [HEADER_LEN, HEADER_LEN + 3, good.len() / 2, good.len() - 1] {
        let mut bad = good.clone();
        bad[pos] ^= 0x10;
        std::fs::write(&path, &bad).unwrap();
        let reason = is_corrupt(resume(), &format!("bit flip at {pos}"));
        assert!(reason.contains("CRC-32"), "{reason}");
    }
    // A byte appended; wrong magic.
    let mut longer = good.clone();
    longer.push(0);
    std::fs::write(&path, &longer).unwrap();
    is_corrupt(resume(), "appended byte");
    let mut magic = good.clone();
    magic[0] = b'X';
    std::fs::write(&path, &magic).unwrap();
    let reason = is_corrupt(resume(), "bad magic");
    assert!(reason.contains("not a langevin checkpoint"), "{reason}");
    // A well-sealed payload whose chains are cut short.
    let mut cut = good[..good.len() - 40].to_vec();
    reseal(&mut cut);
    std::fs::write(&path, &cut).unwrap();
    let reason = is_corrupt(resume(), "sealed but cut");
    assert!(reason.contains("do not decode"), "{reason}");
    // A missing file is an I/O error naming the kind.
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(
        resume(),
        Err(Error::CheckpointIo {
            kind: std::io::ErrorKind::NotFound,
            ..
        })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Bug it catches: a writer that writes the checkpoint in place (a crash mid-write would
/// leave a torn file) or trips over the temporary file a crash left behind; and a reader
/// that looks at the temporary file. A leftover, half-written `<file>.tmp` must neither
/// break resuming from the last complete checkpoint nor the next write, and no temporary
/// file remains after a successful write.
#[test]
fn leftover_temporary_file_does_not_break_resume() {
    quiet_simulated_crashes();
    let dir = scratch("atomic");
    let path = dir.join("a.ckpt");
    let tmp = checkpoint::temporary_path(&path);
    assert_eq!(tmp, dir.join("a.ckpt.tmp"));
    let mala = Mala::auto(Gaussian::<f64>::standard(2).unwrap()).unwrap();
    let sampler = Sampler::new(30).chains(2).warmup(30).seed(8);
    let plain = sampler.run(&mala, &[vec![0.0; 2]]).unwrap();
    let crashed = sampler.clone().checkpoint_every(20, &path).run_with(
        &mala,
        &[vec![0.0; 2]],
        &NoAdaptation,
        &CrashAt(20),
    );
    assert!(crashed.is_err());
    assert!(!tmp.exists(), "a temporary file remains after a write");
    // The checkpoint is replaced (a new file renamed over it), never rewritten in place:
    // a writer that truncates and rewrites the file keeps its inode. (The old file is held
    // open so that its inode cannot be freed and reused by a later temporary file.)
    let _hold = std::fs::File::open(&path).unwrap();
    #[cfg(unix)]
    let inode = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&path).unwrap().ino()
    };
    // A crash in the middle of the next write: half a checkpoint in the temporary file.
    let complete = std::fs::read(&path).unwrap();
    std::fs::write(&tmp, &complete[..complete.len() / 2]).unwrap();
    let resumed = sampler
        .clone()
        .checkpoint_every(20, &path)
        .resume(&mala)
        .unwrap();
    assert_same_bits(&resumed, &plain, "resumed beside a torn temporary file");
    assert!(
        !tmp.exists(),
        "the temporary file was not replaced and renamed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let now = std::fs::metadata(&path).unwrap().ino();
        assert_ne!(now, inode, "the checkpoint was rewritten in place");
    }
    // A read-only leftover that cannot be overwritten is a typed error, not a panic.
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&tmp).unwrap(); // a directory where the temporary file goes
    match sampler
        .clone()
        .checkpoint_every(20, &path)
        .run(&mala, &[vec![0.0; 2]])
    {
        Err(Error::CheckpointIo { operation, .. }) => {
            assert_eq!(operation, "create the temporary file")
        }
        other => panic!("unwritable temporary file: {other:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Bug it catches: an interval of 0 (every 0 iterations) looping forever or dividing by 0.
#[test]
fn zero_interval_is_refused() {
    let err = small_sampler()
        .checkpoint_every(0, "never-written.ckpt")
        .run(&small_mala(), &[vec![0.0; 2]])
        .unwrap_err();
    assert!(matches!(err, Error::ZeroCount { .. }), "{err:?}");
    assert!(!Path::new("never-written.ckpt").exists());
}

/// The figures of the note: size and write time of a checkpoint of a 4-chain run in
/// d = 1000 after 1000 draws, and without the draws (at draw 0). Not a check: run with
/// `cargo test --release --all-features --test checkpoint -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_checkpoint_size_and_write_time() {
    let d = 1000;
    let dir = scratch("measure");
    let path = dir.join("m.ckpt");
    let ula = Ula::new(Gaussian::<f64>::standard(d).unwrap(), 0.01).unwrap();
    let sampler = Sampler::new(1000).chains(4).warmup(0).seed(1).threads(2);
    let inits = [vec![0.0; d]];
    let t = std::time::Instant::now();
    sampler.run(&ula, &inits).unwrap();
    let plain = t.elapsed();
    // One checkpoint, at the end (iteration 1000 = 1000 draws).
    let t = std::time::Instant::now();
    sampler
        .clone()
        .checkpoint_every(1000, &path)
        .run(&ula, &inits)
        .unwrap();
    let with_one = t.elapsed();
    let full = std::fs::metadata(&path).unwrap().len();
    // Reading it back: a resume of the finished run (read, CRC-32, decode, no transitions).
    let t = std::time::Instant::now();
    sampler
        .clone()
        .checkpoint_every(1000, &path)
        .resume(&ula)
        .unwrap();
    let resume_full = t.elapsed();
    // The disk alone: the same number of bytes written and flushed.
    let raw = dir.join("raw.bin");
    let t = std::time::Instant::now();
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&raw).unwrap();
        f.write_all(&vec![0x5a; full as usize]).unwrap();
        f.sync_all().unwrap();
    }
    let disk = t.elapsed();
    // Eleven checkpoints (every 100 iterations, and the end: the last at 1000 draws).
    let t = std::time::Instant::now();
    sampler
        .clone()
        .checkpoint_every(100, &path)
        .run(&ula, &inits)
        .unwrap();
    let with_ten = t.elapsed();
    // Without draws: the state alone, at the end of a warm-up-only prefix.
    quiet_simulated_crashes();
    let s2 = Sampler::new(1000).chains(4).warmup(10).seed(1).threads(2);
    let _ = s2
        .checkpoint_every(10, &path)
        .run_with(&ula, &inits, &NoAdaptation, &CrashAt(10));
    let state_only = std::fs::metadata(&path).unwrap().len();
    let t = std::time::Instant::now();
    let bytes = std::fs::read(&path).unwrap();
    let read = t.elapsed();
    println!(
        "d = {d}, 4 chains, 1000 draws: checkpoint {full} bytes ({:.1} MB), state without \
         draws {state_only} bytes; run {plain:?}, with one checkpoint {with_one:?}, with ten \
         {with_ten:?}; writing and flushing {full} raw bytes {disk:?}; resuming the finished \
         run (read, check, decode) {resume_full:?}; reading the state-only file {read:?} ({} \
         bytes)",
        full as f64 / 1e6,
        bytes.len()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
