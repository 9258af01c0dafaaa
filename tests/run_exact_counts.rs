//! Exact-count and golden-value tests of the multi-chain driver through its public API
//! (issue 10 item 21): warm-up divergence counts, the thinning phase, the observer's
//! iteration indices, the seeds of the start and transition streams, and the kernels'
//! `steps()` counters. Each test names the mutant it kills (found surviving by
//! cargo-mutants). Deterministic: no statistics, only counts and bit patterns.
#![allow(clippy::float_cmp)] // positions are exact small integers and bit patterns

use langevin::Result;
use langevin::integrators::{Baoab, Obabo};
use langevin::mcmc::{
    Constant, ExactScore, GradientNoise, Kernel, Mala, Metric, PrecondMala, PrecondUla, Sgld,
    StepInfo, Ula,
};
use langevin::rng::{ChainRng, stream};
use langevin::run::{NoAdaptation, Observer, Sampler};
use langevin::targets::Gaussian;
use rand::Rng;
use std::sync::Mutex;

/// A kernel whose position is the number of transitions taken, plus the first `u64` its
/// transition stream produced; transition t (1-based) is divergent iff `t % 4 == 0`.
struct Counter;

struct CounterState {
    x: Vec<f64>, // [t, first draw of the transition stream as f64 bits]
}

impl Kernel for Counter {
    type Scalar = f64;
    type State = CounterState;
    fn dim(&self) -> usize {
        2
    }
    fn init(&self, x0: &[f64], _chain: usize) -> Result<CounterState> {
        Ok(CounterState { x: x0.to_vec() })
    }
    fn step<R: Rng + ?Sized>(&self, s: &mut CounterState, rng: &mut R) -> Result<StepInfo> {
        let draw = rng.next_u64();
        if s.x[0] == 0.0 {
            s.x[1] = f64::from_bits(draw);
        }
        s.x[0] += 1.0;
        let divergent = (s.x[0] as u64).is_multiple_of(4);
        Ok(StepInfo::new(
            !divergent,
            if divergent { 0.0 } else { 1.0 },
            divergent,
        ))
    }
    fn position<'a>(&self, s: &'a CounterState) -> &'a [f64] {
        &s.x
    }
}

fn counter_run(
    warmup: usize,
    draws: usize,
    thin: usize,
    obs: &Recorder,
) -> langevin::trace::Trace<f64> {
    Sampler::new(draws)
        .chains(3)
        .warmup(warmup)
        .thin(thin)
        .seed(42)
        .run_with(&Counter, &[vec![0.0, 0.0]], &NoAdaptation, obs)
        .unwrap()
}

#[derive(Default)]
struct Recorder {
    start: Mutex<Vec<(usize, usize)>>,
    steps: Mutex<Vec<(usize, usize, bool, f64)>>,
    ends: Mutex<Vec<usize>>,
}

impl Observer<f64> for Recorder {
    fn on_start(&self, chains: usize, iterations_per_chain: usize) {
        self.start
            .lock()
            .unwrap()
            .push((chains, iterations_per_chain));
    }
    fn on_step(&self, chain: usize, iteration: usize, warmup: bool, _i: &StepInfo, x: &[f64]) {
        self.steps
            .lock()
            .unwrap()
            .push((chain, iteration, warmup, x[0]));
    }
    fn on_chain_end(&self, chain: usize) {
        self.ends.lock().unwrap().push(chain);
    }
}

/// Kills: `(k + 1) % thin` → `k % thin` (keeps transitions 1, 4, 7, … of the sampling
/// phase instead of 3, 6, 9, …), a thinning that counts warm-up transitions, and draws
/// recorded before the step. With warm-up 5 and thin 3, the kept draws are the positions
/// after transitions 5 + 3, 5 + 6, 5 + 9, 5 + 12 = 8, 11, 14, 17 (the mutant: 6, 9, 12, 15).
#[test]
fn thinning_keeps_every_thin_th_transition_ending_with_the_last() {
    let t = counter_run(5, 4, 3, &Recorder::default());
    for c in 0..3 {
        let kept: Vec<f64> = (0..4).map(|i| t.draw(c, i)[0]).collect();
        assert_eq!(kept, [8.0, 11.0, 14.0, 17.0], "chain {c}");
    }
    let t1 = counter_run(2, 3, 1, &Recorder::default());
    assert_eq!(
        (0..3).map(|i| t1.draw(0, i)[0]).collect::<Vec<_>>(),
        [3.0, 4.0, 5.0]
    );
}

/// Kills: dropping either divergence counter in warm-up (`warmup_divergences += 1` or the
/// warm-up `divergences += 1`), counting warm-up divergences in the sampling phase, and
/// `+=` → `-=`/`*=`. Warm-up 10: divergent transitions 4, 8 → 2. Sampling 12 transitions
/// (4 draws × thin 3), 11…22: 12, 16, 20 → 3; all 5 in `divergences`. Acceptance counts
/// the sampling phase only: 9 of 12.
#[test]
fn divergence_counts_are_exact() {
    let t = counter_run(10, 4, 3, &Recorder::default());
    assert_eq!(t.warmup_divergences, [2, 2, 2]);
    assert_eq!(t.divergences, [5, 5, 5]);
    for c in 0..3 {
        assert!((t.acceptance_rate[c] - 0.75).abs() < 1e-15);
        assert!((t.mean_accept_prob[c] - 0.75).abs() < 1e-15);
    }
}

/// Kills: wrong iteration indices (`warmup + k` → `k`, off by one), the warm-up flag
/// inverted or wrong at the boundary, `on_start` told draws instead of transitions
/// (`warmup + draws · thin` = 5 + 12 = 17), a missing `on_chain_end`, and the position
/// passed before the step.
#[test]
fn observer_sees_every_transition_with_its_index() {
    let rec = Recorder::default();
    counter_run(5, 4, 3, &rec);
    assert_eq!(*rec.start.lock().unwrap(), [(3, 17)]);
    let mut ends = rec.ends.lock().unwrap().clone();
    ends.sort_unstable();
    assert_eq!(ends, [0, 1, 2]);
    let steps = rec.steps.lock().unwrap();
    assert_eq!(steps.len(), 3 * 17);
    for c in 0..3 {
        let mine: Vec<_> = steps.iter().filter(|s| s.0 == c).collect();
        assert_eq!(mine.len(), 17);
        for (it, s) in mine.iter().enumerate() {
            assert_eq!(s.1, it, "chain {c}: iteration index");
            assert_eq!(s.2, it < 5, "chain {c} iteration {it}: warm-up flag");
            assert_eq!(s.3, (it + 1) as f64, "chain {c} iteration {it}: position");
        }
    }
}

/// Kills: a changed or dropped start-stream seed in `run_from` (`seed ^ 0xA5A5_5A5A_F00D_D00D`,
/// chain index as stream index) — the golden value pins the documented reproducibility
/// contract — a start stream equal to the transition stream (it must be independent), and
/// a transition stream other than `stream(seed, chain)`.
#[test]
fn start_and_transition_streams_are_the_documented_ones() {
    let seed = 42u64;
    let firsts = Mutex::new(vec![0u64; 3]);
    let t = Sampler::new(1)
        .chains(3)
        .seed(seed)
        .run_from(
            &Counter,
            |c: usize, rng: &mut ChainRng| {
                firsts.lock().unwrap()[c] = rng.next_u64();
                vec![0.0, 0.0]
            },
            &NoAdaptation,
            &(),
        )
        .unwrap();
    let firsts = firsts.into_inner().unwrap();
    for c in 0..3u64 {
        let want_init = stream(seed ^ 0xA5A5_5A5A_F00D_D00D, c).next_u64();
        let want_step = stream(seed, c).next_u64();
        assert_eq!(firsts[c as usize], want_init, "chain {c}: start stream");
        assert_ne!(want_init, want_step);
        assert_eq!(
            t.draw(c as usize, 0)[1].to_bits(),
            want_step,
            "chain {c}: transitions"
        );
    }
    assert_ne!(firsts[0], firsts[1]);
    // Golden: the first start-stream word of chain 0 for seed 42 (changes every run_from
    // start drawn from the stream if the derivation changes).
    assert_eq!(firsts[0], stream(42 ^ 0xA5A5_5A5A_F00D_D00D, 0).next_u64());
    assert_eq!(firsts[0], 0x91c5_9d29_61ae_19ce);
}

fn step_n<K: Kernel<Scalar = f64>>(k: &K, n: usize) -> K::State {
    let mut s = k.init(&[0.3, -0.2], 0).unwrap();
    let mut rng = stream(9, 0);
    for _ in 0..n {
        k.step(&mut s, &mut rng).unwrap();
    }
    s
}

/// Kills: `step += 1` deleted or replaced (`-= 1` underflows, `*= 1` stays 0) in every
/// kernel's state, and counting only accepted MALA steps (h = 50 on N(0, I): almost every
/// proposal is rejected, and `steps()` must still count every transition).
#[test]
fn steps_counters_count_transitions() {
    let g = Gaussian::<f64>::standard(2).unwrap();
    let n = 7;
    assert_eq!(step_n(&Ula::new(g.clone(), 0.1).unwrap(), 0).steps(), 0);
    assert_eq!(step_n(&Ula::new(g.clone(), 0.1).unwrap(), n).steps(), n);
    let stuck = Mala::new(g.clone(), 50.0).unwrap();
    let s = step_n(&stuck, n);
    assert_eq!(s.steps(), n);
    assert_eq!(step_n(&Mala::new(g.clone(), 0.1).unwrap(), n).steps(), n);
    assert_eq!(
        step_n(
            &PrecondUla::new(g.clone(), 0.1, Metric::identity(2).unwrap()).unwrap(),
            n
        )
        .steps(),
        n
    );
    assert_eq!(
        step_n(&PrecondMala::identity(g.clone(), 0.1).unwrap(), n).steps(),
        n
    );
    let sgld = Sgld::new(ExactScore(g.clone()), Constant::new(0.1).unwrap()).unwrap();
    assert_eq!(step_n(&sgld, n).steps(), n);
    let noisy = Sgld::new(
        GradientNoise::new(g.clone(), 0.5).unwrap(),
        Constant::new(0.1).unwrap(),
    )
    .unwrap();
    assert_eq!(step_n(&noisy, n).steps(), n);
    assert_eq!(
        step_n(&Baoab::new(g.clone(), 0.1, 1.0).unwrap(), n).steps(),
        n
    );
    assert_eq!(step_n(&Obabo::new(g, 0.1, 1.0).unwrap(), n).steps(), n);
}
