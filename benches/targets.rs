//! Targets at the scalar limit: library against the fastest hand-written loop, timed in the
//! same process in alternating rounds (library, hand, library, hand, …), reporting the ratio
//! library / hand (median and range over rounds). Absolute times on a shared machine drift;
//! ratios of adjacent rounds do not.
//!
//! `cargo bench -p langevin-benches --bench targets` (add `-- --quick` for 5 short rounds).
//!
//! * `ula_ring8`: ULA on the 8-mode ring (`GaussianMixture::ring(8, 4, 0.5)`, d = 2) through
//!   `Kernel::step`, against a loop specialised to 8 isotropic components in ℝ² whose
//!   responsibilities use the same vectorised polynomial `exp` ([`exp_in_place_f64`]).
//! * `ring8_score`: the ring's score alone (`Score::score_into`) against the hand loop's.
//! * `annealed_ring8_1000`: annealed Langevin (10 levels × 100 steps) on 1 000 particles, one
//!   thread, against the same update written per particle with per-level constants hoisted.
//! * `logistic_grad`: the logistic-regression posterior's gradient (n = 569, d = 31, the
//!   breast-cancer shape) against a two-pass loop (η = Xβ with a vectorised `exp`, then Xᵀr).

use langevin::annealed::{AnnealedLangevin, LevelStep, ParticleRun, SigmaLevels};
use langevin::prelude::*;
use langevin::real::exp_in_place_f64;
use langevin::rng::{ChainRng, stream};
use langevin::targets::{GaussianMixture, LogisticPosterior};
use rand_distr::{Distribution, StandardNormal};
use std::hint::black_box;
use std::time::Instant;

/// Times `lib` and `hand` alternately for `rounds` rounds; prints and returns the median ratio.
fn alternate(name: &str, rounds: usize, mut lib: impl FnMut(), mut hand: impl FnMut()) -> f64 {
    // Warm-up (page in, branch predictors, frequency).
    lib();
    hand();
    let mut ratios = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        lib();
        let tl = t.elapsed().as_secs_f64();
        let t = Instant::now();
        hand();
        let th = t.elapsed().as_secs_f64();
        ratios.push(tl / th);
    }
    ratios.sort_by(|a, b| a.total_cmp(b));
    let med = ratios[rounds / 2];
    println!(
        "{name:<24} library / hand = {med:.3}  (range {:.3}–{:.3} over {rounds} rounds)",
        ratios[0],
        ratios[rounds - 1]
    );
    med
}

/// The ring's parameters for the hand loops.
struct Ring {
    mx: [f64; 8],
    my: [f64; 8],
    lw: [f64; 8],
    var: f64,
}

impl Ring {
    fn new(radius: f64, std: f64) -> Self {
        let mut mx = [0.0; 8];
        let mut my = [0.0; 8];
        for k in 0..8 {
            let a = 2.0 * std::f64::consts::PI * k as f64 / 8.0;
            mx[k] = radius * a.cos();
            my[k] = radius * a.sin();
        }
        Self {
            mx,
            my,
            lw: [(1.0f64 / 8.0).ln(); 8],
            var: std * std,
        }
    }

    /// Score of the ring smoothed by `τ²` at (x, y).
    #[inline(always)]
    fn score(&self, x: f64, y: f64, tau2: f64) -> (f64, f64) {
        let p = 1.0 / (self.var + tau2);
        let mut l = [0.0; 8];
        let mut m = f64::NEG_INFINITY;
        for k in 0..8 {
            let (a, b) = (x - self.mx[k], y - self.my[k]);
            l[k] = self.lw[k] - 0.5 * p * (a * a + b * b);
            m = m.max(l[k]);
        }
        for v in l.iter_mut() {
            *v -= m;
        }
        exp_in_place_f64(&mut l);
        let (mut s, mut gx, mut gy) = (0.0, 0.0, 0.0);
        for k in 0..8 {
            s += l[k];
            gx += l[k] * (self.mx[k] - x);
            gy += l[k] * (self.my[k] - y);
        }
        let f = p / s;
        (gx * f, gy * f)
    }
}

fn ula_ring(quick: bool) -> f64 {
    let (radius, std, h) = (4.0, 0.5, 0.05);
    let gmm = GaussianMixture::ring(8, radius, std).unwrap();
    let ula = Ula::new(&gmm, h).unwrap();
    let mut state = ula.init(&[0.1, 0.2], 0).unwrap();
    let mut rng = stream(1, 0);
    let ring = Ring::new(radius, std);
    let (mut x, mut y) = (0.1, 0.2);
    let mut rng2 = stream(1, 0);
    let s2h = (2.0 * h).sqrt();
    let n = if quick { 200_000 } else { 1_000_000 };
    alternate(
        "ula_ring8",
        if quick { 5 } else { 21 },
        || {
            for _ in 0..n {
                black_box(ula.step(&mut state, &mut rng).unwrap());
            }
        },
        || {
            for _ in 0..n {
                let (gx, gy) = ring.score(x, y, 0.0);
                let zx: f64 = StandardNormal.sample(&mut rng2);
                let zy: f64 = StandardNormal.sample(&mut rng2);
                x += h * gx + s2h * zx;
                y += h * gy + s2h * zy;
                black_box(x);
            }
        },
    )
}

fn ring_score(quick: bool) -> f64 {
    let (radius, std) = (4.0, 0.5);
    let gmm = GaussianMixture::ring(8, radius, std).unwrap();
    let ring = Ring::new(radius, std);
    let pts: Vec<[f64; 2]> = (0..1024)
        .map(|i| {
            let a = i as f64 * 0.37;
            [4.0 * a.cos() + 0.3 * (i % 7) as f64, 4.0 * a.sin()]
        })
        .collect();
    let mut out = [0.0; 2];
    let reps = if quick { 200 } else { 1000 };
    alternate(
        "ring8_score",
        if quick { 5 } else { 21 },
        || {
            for _ in 0..reps {
                for p in &pts {
                    gmm.score_into(black_box(p), &mut out);
                    black_box(out[0]);
                }
            }
        },
        || {
            for _ in 0..reps {
                for p in &pts {
                    let p = black_box(p);
                    black_box(ring.score(p[0], p[1], 0.0));
                }
            }
        },
    )
}

fn annealed_ring(quick: bool) -> f64 {
    let (radius, std) = (4.0, 0.5);
    let gmm = GaussianMixture::ring(8, radius, std).unwrap();
    let levels = SigmaLevels::geometric(8.0, 0.3, 10).unwrap();
    let sigmas: Vec<f64> = levels.as_slice().to_vec();
    let steps = if quick { 20 } else { 100 };
    let h_last = 0.01;
    let al = AnnealedLangevin::new(&gmm, levels, steps, LevelStep::Langevin { h_last })
        .unwrap()
        .denoise(false);
    let run = ParticleRun::new(1000).seed(1).threads(1);
    let init = |_i: usize, rng: &mut ChainRng, x: &mut [f64]| {
        for xi in x.iter_mut() {
            *xi = 8.0 * f64::standard_normal(rng);
        }
    };
    let ring = Ring::new(radius, std);
    let sl2 = sigmas[sigmas.len() - 1].powi(2);
    alternate(
        "annealed_ring8_1000",
        if quick { 5 } else { 15 },
        || {
            black_box(al.run(&run, &init).unwrap());
        },
        || {
            let mut acc = 0.0;
            for i in 0..1000 {
                let mut rng = stream(1, i as u64);
                let mut x = 8.0 * f64::standard_normal(&mut rng);
                let mut y = 8.0 * f64::standard_normal(&mut rng);
                for &sig in &sigmas {
                    let h = h_last * sig * sig / sl2;
                    let s2h = (2.0 * h).sqrt();
                    let tau2 = sig * sig;
                    for _ in 0..steps {
                        let (gx, gy) = ring.score(x, y, tau2);
                        let zx: f64 = StandardNormal.sample(&mut rng);
                        let zy: f64 = StandardNormal.sample(&mut rng);
                        x += h * gx + s2h * zx;
                        y += h * gy + s2h * zy;
                    }
                }
                acc += x + y;
            }
            black_box(acc);
        },
    )
}

fn logistic(quick: bool) -> f64 {
    let (n, d) = (569, 31);
    let mut rng = stream(7, 0);
    let x: Vec<f64> = (0..n * d)
        .map(|j| {
            if j % d == 0 {
                1.0
            } else {
                f64::standard_normal(&mut rng)
            }
        })
        .collect();
    let y: Vec<f64> = (0..n).map(|i| (i % 3 == 0) as u8 as f64).collect();
    let post = LogisticPosterior::new(x.clone(), y.clone(), 5.0).unwrap();
    let beta: Vec<f64> = (0..d).map(|j| 0.05 * (j as f64 - 15.0) / 15.0).collect();
    let mut g = vec![0.0; d];
    let mut g2 = vec![0.0; d];
    let mut eta = vec![0.0; n];
    let mut e = vec![0.0; n];
    let reps = if quick { 2_000 } else { 20_000 };
    alternate(
        "logistic_grad",
        if quick { 5 } else { 21 },
        || {
            for _ in 0..reps {
                post.score_into(black_box(&beta), &mut g);
            }
            black_box(g[0]);
        },
        || {
            for _ in 0..reps {
                let b = black_box(&beta);
                for (i, row) in x.chunks_exact(d).enumerate() {
                    let mut acc = [0.0; 4];
                    for (c, r) in row.chunks_exact(4).zip(b.chunks_exact(4)) {
                        for k in 0..4 {
                            acc[k] += c[k] * r[k];
                        }
                    }
                    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
                    for j in (d / 4) * 4..d {
                        s += row[j] * b[j];
                    }
                    eta[i] = s;
                    e[i] = -s.abs();
                }
                exp_in_place_f64(&mut e);
                for (gj, &bj) in g2.iter_mut().zip(b) {
                    *gj = -bj / 25.0;
                }
                for (i, row) in x.chunks_exact(d).enumerate() {
                    let sig = if eta[i] >= 0.0 {
                        1.0 / (1.0 + e[i])
                    } else {
                        e[i] / (1.0 + e[i])
                    };
                    let r = y[i] - sig;
                    for (gj, &xij) in g2.iter_mut().zip(row) {
                        *gj += r * xij;
                    }
                }
            }
            black_box(g2[0]);
        },
    )
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    // `cargo bench` passes `--bench`; a name filter selects one workload.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let want = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    if want("ula_ring8") {
        ula_ring(quick);
    }
    if want("ring8_score") {
        ring_score(quick);
    }
    if want("annealed_ring8_1000") {
        annealed_ring(quick);
    }
    if want("logistic_grad") {
        logistic(quick);
    }
}
