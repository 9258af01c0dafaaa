//! Streamed draws per second against in-memory recording (issue 13, item 2): ULA on a
//! d = 100 standard Gaussian, one chain on one thread, `DRAWS` draws per round; the modes
//! alternate within each round (in memory, `.npy`, CmdStan CSV) so that a change in machine
//! load hits them alike, and each round reports its own ratios.
//!
//! `cargo run --release --example stream_throughput [draws] [rounds]` (default 100 000, 3).
//! The streamed times include creating the files and the final fsync.

use langevin::prelude::*;
use langevin::stream::StreamSink;
use langevin::targets::Gaussian;
use std::time::Instant;

fn main() -> Result<(), langevin::Error> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>().ok());
    let draws = args.next().flatten().unwrap_or(100_000);
    let rounds = args.next().flatten().unwrap_or(3);
    let d = 100;
    let k = Ula::new(Gaussian::<f64>::standard(d)?, 0.05)?;
    let s = Sampler::new(draws).chains(1).warmup(0).seed(1).threads(1);
    let x0 = [vec![0.0; d]];
    let dir =
        std::env::temp_dir().join(format!("langevin_stream_throughput_{}", std::process::id()));
    let rate = |t: Instant| draws as f64 / t.elapsed().as_secs_f64();
    println!("ULA d = {d}, {draws} draws a round; draws/s");
    println!("round   in memory        npy        csv   npy/mem   csv/mem");
    for r in 0..rounds {
        let t = Instant::now();
        std::hint::black_box(s.run(&k, &x0)?);
        let mem = rate(t);
        let t = Instant::now();
        s.stream_to(&k, &x0, &StreamSink::npy(&dir))?;
        let npy = rate(t);
        let t = Instant::now();
        s.stream_to(&k, &x0, &StreamSink::csv(&dir))?;
        let csv = rate(t);
        println!(
            "{r:>5} {mem:>11.0} {npy:>10.0} {csv:>10.0} {:>9.3} {:>9.3}",
            npy / mem,
            csv / mem
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
