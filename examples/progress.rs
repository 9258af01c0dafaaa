//! A long MALA run with one progress bar per chain (visible on a terminal only).
//!
//! `cargo run --release --features progress --example progress`

use langevin::prelude::*;
use langevin::progress::ProgressBars;
use langevin::run::NoAdaptation;
use langevin::targets::Gaussian;

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let mala = Mala::new(Gaussian::<f64>::standard(100)?, 0.25)?;
    let bars = ProgressBars::new();
    let trace = Sampler::new(40_000)
        .chains(4)
        .warmup(2_000)
        .seed(1)
        .run_with(&mala, &[vec![0.0; 100]], &NoAdaptation, &bars)?;
    println!(
        "acceptance {:.3} in {:?}",
        trace.acceptance(),
        trace.wall_time
    );
    Ok(())
}
