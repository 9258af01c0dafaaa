//! Throughput of streamed traces (issue 13, item 2): ULA on a d = 100 standard Gaussian, one
//! chain of 20 000 draws per iteration, kept in memory (`Sampler::run`) against written as
//! produced to `.npy` and to CmdStan CSV (`Sampler::stream_to`, including the final fsync).
//!
//! `cargo bench -p langevin-benches --bench stream`. Measured (2 cores at load average 17):
//! in memory 500 000 draws/s, `.npy` 190 000 draws/s (16 MB written and fsynced per
//! iteration: the disk's pace), CSV 24 000 draws/s (shortest round-trip decimal formatting of
//! 100 numbers a draw). `examples/stream_throughput.rs` alternates the modes within rounds
//! and runs longer chains, where the fixed costs (file creation, fsync) weigh less.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use langevin::prelude::*;
use langevin::stream::StreamSink;
use langevin::targets::Gaussian;
use std::hint::black_box;
use std::time::Duration;

const D: usize = 100;
const DRAWS: usize = 20_000;

fn bench(c: &mut Criterion) {
    let k = Ula::new(Gaussian::<f64>::standard(D).unwrap(), 0.05).unwrap();
    let s = Sampler::new(DRAWS).chains(1).warmup(0).seed(1).threads(1);
    let x0 = [vec![0.0; D]];
    let dir = std::env::temp_dir().join(format!("langevin_bench_stream_{}", std::process::id()));
    let mut g = c.benchmark_group("stream_ula_d100");
    g.throughput(Throughput::Elements(DRAWS as u64))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    g.bench_function("in_memory", |b| {
        b.iter(|| black_box(s.run(&k, &x0).unwrap()))
    });
    g.bench_function("npy", |b| {
        b.iter(|| black_box(s.stream_to(&k, &x0, &StreamSink::npy(&dir)).unwrap()))
    });
    g.bench_function("csv", |b| {
        b.iter(|| black_box(s.stream_to(&k, &x0, &StreamSink::csv(&dir)).unwrap()))
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
