//! MALA on a 2-D banana, rendered as PNGs: trace plot, histogram of x₁ against its exact
//! N(a, 1/2) density, autocorrelation, 2-D scatter, and an image grid.
//!
//! `cargo run --release --features plot --example plots -- /tmp/langevin_plots`

use langevin::plot::{Plot, image_grid};
use langevin::prelude::*;
use langevin::targets::Rosenbrock;

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| {
        std::env::temp_dir()
            .join("langevin_plots")
            .display()
            .to_string()
    }));
    std::fs::create_dir_all(&dir)?;
    let banana = Rosenbrock::<f64>::new(1.0, 5.0)?;
    let mala = Mala::new(banana, 0.02)?;
    let trace = Sampler::new(4_000)
        .chains(4)
        .warmup(1_000)
        .seed(7)
        .run(&mala, &[vec![1.0, 1.5]])?;
    println!("acceptance {:.3}", trace.acceptance());
    let x1 = trace.coordinate_chains(0);
    let p = Plot::new(800, 450);
    p.clone()
        .title("trace of x1 (4 chains)")
        .trace(dir.join("trace.png"), &x1)?;
    let exact = |x: f64| (-(x - 1.0) * (x - 1.0)).exp() / std::f64::consts::PI.sqrt();
    p.clone()
        .title("x1: histogram vs exact N(1, 1/2)")
        .histogram(dir.join("hist.png"), &x1.concat(), 60, Some(&exact))?;
    p.clone()
        .title("autocorrelation of x1, chain 0")
        .autocorrelation(dir.join("acf.png"), &x1[0], 100)?;
    p.clone().title("banana draws").scatter(
        dir.join("scatter.png"),
        &x1.concat(),
        &trace.coordinate_chains(1).concat(),
    )?;
    // Eight 8×8 "images": each a chunk of draws, just to exercise the grid.
    let imgs: Vec<Vec<f64>> = x1[0].chunks_exact(64).take(8).map(|c| c.to_vec()).collect();
    image_grid(dir.join("grid.png"), &imgs, 8, 8, 4, 6)?;
    println!("wrote {}", dir.display());
    Ok(())
}
