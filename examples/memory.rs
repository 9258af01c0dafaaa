//! Peak memory of a 10⁶-dimensional single-chain ULA run: O(d), never O(d²).
//!
//! Runs ULA on `N(0, I)` in d = 10⁶ (one chain, 10 warm-up transitions, 20 recorded draws),
//! then the health report over all 10⁶ coordinates, and prints the process's peak resident set
//! (`VmHWM` from `/proc/self/status`, Linux) beside what the draws themselves take. A d × d
//! matrix anywhere would need 8 TB and abort; a d-vector takes 8 MB.
//!
//! `cargo run --release --example memory [d]`

use langevin::prelude::*;
use langevin::targets::Gaussian;

/// The process's peak resident set in bytes (Linux), or `None`.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn mb(b: u64) -> f64 {
    b as f64 / 1e6
}

fn main() -> langevin::Result<()> {
    let d: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let draws = 20;
    let before = peak_rss().unwrap_or(0);
    let ula = Ula::new(Gaussian::<f64>::standard(d)?, 0.1)?;
    let trace = Sampler::new(draws)
        .chains(1)
        .warmup(10)
        .seed(1)
        .run(&ula, &[vec![0.0; d]])?;
    let after_run = peak_rss().unwrap_or(0);
    let report = trace.check();
    let after_check = peak_rss().unwrap_or(0);
    let per_draw = d * std::mem::size_of::<f64>();
    println!("d = {d}, 1 chain, {draws} recorded draws");
    println!(
        "bytes per recorded draw: {per_draw} (d × 8 for f64, d × 4 for f32); draws in all: {:.1} MB",
        mb((per_draw * draws) as u64)
    );
    println!(
        "peak RSS: {:.1} MB at start, {:.1} MB after the run, {:.1} MB after the health report",
        mb(before),
        mb(after_run),
        mb(after_check)
    );
    println!(
        "peak RSS after the run / (d × 8 bytes) = {:.1} d-vectors",
        (after_run as f64) / (d as f64 * 8.0)
    );
    println!("health: {} warning(s)", report.warnings.len());
    Ok(())
}
