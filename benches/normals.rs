//! Vectorised normals (`langevin::rng::SimdNormal`) and the ULA / MALA steps that use them,
//! against hand-written loops on N(0, I), timed **in the same process, alternating**: each
//! round times every variant once (in a rotated order) and forms the ratios within the round,
//! so the machine's drift cancels; the table gives the median ratio and its range over the
//! rounds. On Linux the clock is the thread's CPU time (a loaded shared machine otherwise adds
//! the time spent waiting for a core).
//!
//! `cargo bench -p langevin-benches --bench normals` (ratio table, then criterion's
//! throughput of the generators). `NORMALS_ROUNDS=25` sets the number of rounds (default 11).
//!
//! Variants: `lib scalar` = `Ula`/`Mala` with the default `Normals::Scalar`; `lib simd` = the
//! same with `Normals::Simd`; `hand` = Xoshiro256++ + rand_distr's `StandardNormal`, the
//! fastest scalar loop (the loops of `benches/step.rs`). Goals (issue 11): scalar ULA ≤ 1.10×,
//! MALA ≤ 1.15× at d ≥ 100 and ≤ 1.5× at d = 2; SIMD ULA ≤ 0.5×, MALA ≤ 0.7× the scalar hand
//! loop at d ≥ 100.

use criterion::{Criterion, Throughput, criterion_group};
use langevin::prelude::*;
use langevin::rng::{ChainRng, Normals, SimdNormal, SimdPath, stream};
use langevin::targets::Gaussian;
use rand_distr::{Distribution, StandardNormal};
use std::hint::black_box;
use std::time::Instant;

fn target(d: usize) -> Gaussian<f64> {
    Gaussian::isotropic(vec![0.0; d], 1.0).unwrap()
}

/// Hand-written ULA on N(0, I): g = −x, x += h g + sqrt(2h) ξ.
struct HandUla {
    h: f64,
    g: Vec<f64>,
    x: Vec<f64>,
}
impl HandUla {
    #[inline(never)]
    fn step(&mut self, rng: &mut ChainRng) {
        let x = &mut self.x;
        for i in 0..x.len() {
            self.g[i] = -x[i];
        }
        let s = (2.0 * self.h).sqrt();
        for i in 0..x.len() {
            let z: f64 = StandardNormal.sample(rng);
            x[i] += self.h * self.g[i] + s * z;
        }
    }
}

/// Hand-written MALA on N(0, I) with eight-accumulator reductions.
struct HandMala {
    h: f64,
    x: Vec<f64>,
    g: Vec<f64>,
    lp: f64,
    y: Vec<f64>,
    gy: Vec<f64>,
}
impl HandMala {
    fn logp_grad(x: &[f64], g: &mut [f64]) -> f64 {
        let mut acc = [0.0; 8];
        let n = x.len();
        for i in 0..n {
            g[i] = -x[i];
        }
        let chunks = n / 8;
        for c in 0..chunks {
            for k in 0..8 {
                let i = c * 8 + k;
                acc[k] += x[i] * x[i];
            }
        }
        let mut s: f64 = acc.iter().sum();
        for i in chunks * 8..n {
            s += x[i] * x[i];
        }
        -0.5 * s
    }
    #[inline(never)]
    fn step(&mut self, rng: &mut ChainRng) -> bool {
        let h = self.h;
        let s = (2.0 * h).sqrt();
        for i in 0..self.x.len() {
            let z: f64 = StandardNormal.sample(rng);
            self.y[i] = self.x[i] + h * self.g[i] + s * z;
        }
        let lpy = Self::logp_grad(&self.y, &mut self.gy);
        let (mut f, mut b) = ([0.0; 8], [0.0; 8]);
        let n = self.x.len();
        let chunks = n / 8;
        for c in 0..chunks {
            for k in 0..8 {
                let i = c * 8 + k;
                let d = self.y[i] - self.x[i];
                let a = d - h * self.g[i];
                let bb = d + h * self.gy[i];
                f[k] += a * a;
                b[k] += bb * bb;
            }
        }
        let (mut sf, mut sb): (f64, f64) = (f.iter().sum(), b.iter().sum());
        for i in chunks * 8..n {
            let d = self.y[i] - self.x[i];
            sf += (d - h * self.g[i]).powi(2);
            sb += (d + h * self.gy[i]).powi(2);
        }
        let log_r = lpy - self.lp + (sf - sb) / (4.0 * h);
        let u: f64 = rng.random();
        let acc = u < log_r.exp().min(1.0);
        if acc {
            std::mem::swap(&mut self.x, &mut self.y);
            std::mem::swap(&mut self.g, &mut self.gy);
            self.lp = lpy;
        }
        acc
    }
}

/// A variant: runs `steps` transitions.
type Run<'a> = Box<dyn FnMut(usize) + 'a>;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// This thread's CPU time in ns (Linux: `/proc/thread-self/schedstat`, updated at scheduler
/// ticks): on a loaded shared machine it excludes the time the thread waits for a core, which
/// wall time does not. `None` elsewhere (then wall time is used).
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A clock: thread CPU time where available, else wall time.
fn now_ns(start: Instant) -> f64 {
    match thread_cpu_ns() {
        Some(ns) => ns as f64,
        None => start.elapsed().as_nanos() as f64,
    }
}

/// Times the variants over `rounds` alternating rounds; returns the per-round ns/step.
fn alternate(runs: &mut [Run<'_>], steps: usize, rounds: usize) -> Vec<Vec<f64>> {
    let k = runs.len();
    for r in runs.iter_mut() {
        r(steps / 4 + 1); // warm caches and branch predictors
    }
    let mut t = vec![Vec::with_capacity(rounds); k];
    let origin = Instant::now();
    for round in 0..rounds {
        for j in 0..k {
            let v = (j + round) % k;
            let t0 = now_ns(origin);
            runs[v](steps);
            t[v].push((now_ns(origin) - t0) / steps as f64);
        }
    }
    t
}

fn report(name: &str, d: usize, labels: &[&str], t: &[Vec<f64>], hand: usize) {
    let rounds = t[hand].len();
    let mut hand_ns = t[hand].clone();
    let hand_med = median(&mut hand_ns);
    print!("{name:5} d = {d:6}  hand {hand_med:9.1} ns/step");
    for (j, label) in labels.iter().enumerate() {
        if j == hand {
            continue;
        }
        let mut ratios: Vec<f64> = (0..rounds).map(|r| t[j][r] / t[hand][r]).collect();
        let med = median(&mut ratios);
        let (lo, hi) = (ratios[0], ratios[rounds - 1]);
        print!("  | {label} {med:5.2}× [{lo:4.2}, {hi:4.2}]");
    }
    println!();
}

fn ratio_table() {
    let rounds: usize = std::env::var("NORMALS_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(11);
    println!(
        "ratios to the scalar hand loop, median [min, max] of {rounds} alternating rounds; \
         SIMD path {:?}; clock: {}",
        SimdPath::best(),
        if thread_cpu_ns().is_some() {
            "thread CPU time"
        } else {
            "wall time"
        }
    );
    let labels = ["lib scalar", "lib simd", "hand"];
    for d in [2usize, 100, 10_000] {
        // ≈ 4e6 coordinates per timed batch (≥ 10 ms: many scheduler ticks).
        let steps = (4_000_000 / d).max(1);
        let h = 0.5 * (d as f64).powf(-1.0 / 3.0);
        let ula = Ula::new(target(d), h).unwrap();
        let ula_simd = Ula::new(target(d), h).unwrap().with_normals(Normals::Simd);
        let (mut s1, mut r1) = (ula.init(&vec![0.1; d], 0).unwrap(), stream(1, 0));
        let (mut s2, mut r2) = (ula_simd.init(&vec![0.1; d], 0).unwrap(), stream(1, 0));
        let mut hand = HandUla {
            h,
            g: vec![0.0; d],
            x: vec![0.1; d],
        };
        let mut r3 = stream(1, 0);
        let mut runs: Vec<Run<'_>> = vec![
            Box::new(|n| {
                for _ in 0..n {
                    black_box(ula.step(&mut s1, &mut r1).unwrap());
                }
            }),
            Box::new(|n| {
                for _ in 0..n {
                    black_box(ula_simd.step(&mut s2, &mut r2).unwrap());
                }
            }),
            Box::new(|n| {
                for _ in 0..n {
                    hand.step(&mut r3);
                    black_box(hand.x[0]);
                }
            }),
        ];
        let t = alternate(&mut runs, steps, rounds);
        drop(runs);
        report("ULA", d, &labels, &t, 2);

        let h = 1.361 * (d as f64).powf(-1.0 / 3.0);
        let mala = Mala::new(target(d), h).unwrap();
        let mala_simd = Mala::new(target(d), h).unwrap().with_normals(Normals::Simd);
        let (mut s1, mut r1) = (mala.init(&vec![0.1; d], 0).unwrap(), stream(2, 0));
        let (mut s2, mut r2) = (mala_simd.init(&vec![0.1; d], 0).unwrap(), stream(2, 0));
        let mut hand = HandMala {
            h,
            x: vec![0.1; d],
            g: vec![0.0; d],
            lp: 0.0,
            y: vec![0.0; d],
            gy: vec![0.0; d],
        };
        hand.lp = HandMala::logp_grad(&hand.x.clone(), &mut hand.g);
        let mut r3 = stream(2, 0);
        let mut runs: Vec<Run<'_>> = vec![
            Box::new(|n| {
                for _ in 0..n {
                    black_box(mala.step(&mut s1, &mut r1).unwrap());
                }
            }),
            Box::new(|n| {
                for _ in 0..n {
                    black_box(mala_simd.step(&mut s2, &mut r2).unwrap());
                }
            }),
            Box::new(|n| {
                for _ in 0..n {
                    black_box(hand.step(&mut r3));
                }
            }),
        ];
        let t = alternate(&mut runs, steps, rounds);
        drop(runs);
        report("MALA", d, &labels, &t, 2);
    }

    // The generators alone: 10⁴ normals per fill.
    let n = 10_000;
    let mut buf = vec![0.0f64; n];
    let mut rng = stream(3, 0);
    let mut gens: Vec<SimdNormal> = SimdPath::available()
        .into_iter()
        .filter_map(|p| SimdNormal::new(3).on_path(p))
        .collect();
    let mut labels: Vec<String> = gens.iter().map(|g| format!("{:?}", g.path())).collect();
    labels.push("rand_distr".into());
    let mut runs: Vec<Run<'_>> = Vec::new();
    let bufp = std::cell::RefCell::new(&mut buf);
    for g in gens.iter_mut() {
        let bufp = &bufp;
        runs.push(Box::new(move |k| {
            for _ in 0..k {
                g.fill(&mut bufp.borrow_mut()[..]);
                black_box(bufp.borrow()[0]);
            }
        }));
    }
    {
        let bufp = &bufp;
        runs.push(Box::new(move |k| {
            for _ in 0..k {
                for v in bufp.borrow_mut().iter_mut() {
                    *v = StandardNormal.sample(&mut rng);
                }
                black_box(bufp.borrow()[0]);
            }
        }));
    }
    let hand = runs.len() - 1;
    let t = alternate(&mut runs, 1000, rounds);
    drop(runs);
    let label_refs: Vec<&str> = labels.iter().map(String::as_str).collect();
    report("fill", n, &label_refs, &t, hand);
}

fn bench_fill(c: &mut Criterion) {
    let mut group = c.benchmark_group("normals_fill");
    let n = 10_000;
    group.throughput(Throughput::Elements(n as u64));
    let mut buf = vec![0.0f64; n];
    for p in SimdPath::available() {
        let mut g = SimdNormal::new(5).on_path(p).unwrap();
        group.bench_function(format!("simd_{p:?}"), |b| {
            b.iter(|| {
                g.fill(&mut buf);
                black_box(buf[0])
            })
        });
    }
    let mut rng = stream(5, 0);
    group.bench_function("rand_distr", |b| {
        b.iter(|| {
            for v in buf.iter_mut() {
                *v = StandardNormal.sample(&mut rng);
            }
            black_box(buf[0])
        })
    });
    group.finish();
}

criterion_group!(benches, bench_fill);

fn main() {
    ratio_table();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
