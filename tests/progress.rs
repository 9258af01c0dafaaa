//! The progress observer's counters agree with the driver's statistics. Deterministic.
#![cfg(feature = "progress")]

use langevin::prelude::*;
use langevin::progress::ProgressBars;
use langevin::run::NoAdaptation;
use langevin::targets::Gaussian;

/// Catches: transitions lost or double-counted across parallel chains (the counters are
/// per-chain atomics), divergences not reported, warm-up omitted.
#[test]
fn counts_match_trace() {
    let mala = Mala::new(Gaussian::<f64>::standard(3).unwrap(), 2.5).unwrap();
    let bars = ProgressBars::hidden();
    let t = Sampler::new(300)
        .chains(6)
        .warmup(100)
        .seed(4)
        .run_with(&mala, &[vec![0.0; 3]], &NoAdaptation, &bars)
        .unwrap();
    assert!(!bars.is_enabled());
    for c in 0..6 {
        let (steps, acc, div) = bars.counts(c);
        assert_eq!(steps, 400);
        assert_eq!(div as usize, t.divergences[c]);
        // accepted ≥ accepted after warm-up, and the post-warm-up part is ≤ 300
        let post = (t.acceptance_rate[c] * 300.0).round() as u64;
        assert!(
            acc >= post && acc - post <= 100,
            "chain {c}: {acc} vs {post}"
        );
    }
    assert_eq!(bars.counts(99), (0, 0, 0));
}
