//! A hierarchical-style log density written once, generic over the number type, sampled
//! by MALA with its autodiff score.
//!
//! `cargo run --release --features autodiff --example autodiff`

use langevin::autodiff::{AutoDiff, DualScalar, GenericLogDensity};
use langevin::prelude::*;

/// Neal's funnel with a softened neck: log p(v, x) = −v²/18 − (d−1)v/2 − e^(−v) Σ x²/2.
struct Funnel;
impl GenericLogDensity for Funnel {
    fn eval<D: DualScalar>(&self, x: &[D]) -> D {
        let v = x[0];
        let n = (x.len() - 1) as f64;
        let ss: D = x[1..].iter().map(|&xi| xi * xi).sum();
        -(v * v) / 18.0 - v * (n / 2.0) - (-v).exp() * ss * 0.5
    }
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let target = AutoDiff::new(10, Funnel)?;
    let report = check_score(&target, &[0.5; 10])?;
    println!(
        "autodiff vs finite differences: max rel error {:.2e}",
        report.max_rel_error
    );
    let mala = Mala::new(target, 0.05)?;
    let trace = Sampler::new(5_000)
        .chains(4)
        .warmup(1_000)
        .seed(3)
        .run(&mala, &[vec![0.0; 10]])?;
    println!(
        "acceptance {:.3}, mean v {:.3}, divergences {}",
        trace.acceptance(),
        trace.mean()[0],
        trace.total_divergences()
    );
    Ok(())
}
