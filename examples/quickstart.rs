//! Quick start: ULA and MALA on an 8-mode Gaussian mixture and a correlated 2-D Gaussian,
//! several chains in parallel, compared with the exact moments.
//!
//! ```text
//! cargo run --release --example quickstart
//! ```
//!
//! ULA's variance is biased by O(h) (on a Gaussian exactly `σ²/(1 − h/(2σ²))` per
//! eigen-direction — printed as "ULA theory"); MALA's is not.
//!
//! With the `plot` feature (`cargo run --release --features plot --example quickstart`) it
//! also writes a scatter plot of MALA's draws on the ring, `langevin-quickstart-ring-mala.png`
//! in the system's temporary directory.

use langevin::prelude::*;
use langevin::targets::{Gaussian, GaussianMixture};

fn row<K: Kernel<Scalar = f64>>(
    name: &str,
    kernel: &K,
    exact_mean: &[f64],
    exact_var: &[f64],
    seed: u64,
) -> Result<Trace<f64>> {
    let inits: Vec<Vec<f64>> = (0..8)
        .map(|c| {
            let a = c as f64 * std::f64::consts::PI / 4.0;
            vec![2.0 * a.cos(), 2.0 * a.sin()]
        })
        .collect();
    let trace = Sampler::new(20_000)
        .chains(8)
        .warmup(2_000)
        .seed(seed)
        .run(kernel, &inits)?;
    let (m, v) = (trace.mean(), trace.variance());
    println!(
        "{name:<28} {:>7.3} {:>7.3} | {:>7.3} {:>7.3} | {:>7.3} {:>7.3} | {:>7.3} {:>7.3} | {:>6.3} {:>5} {:>7.1}",
        m[0],
        exact_mean[0],
        m[1],
        exact_mean[1],
        v[0],
        exact_var[0],
        v[1],
        exact_var[1],
        trace.acceptance(),
        trace.total_divergences(),
        trace.wall_time.as_secs_f64() * 1e3
    );
    Ok(trace)
}

/// Scatter of every 10th draw of all chains (only with the `plot` feature).
#[cfg(feature = "plot")]
fn plot_ring(trace: &Trace<f64>) {
    let thin = |c: Vec<Vec<f64>>| -> Vec<f64> { c.concat().into_iter().step_by(10).collect() };
    let (x, y) = (
        thin(trace.coordinate_chains(0)),
        thin(trace.coordinate_chains(1)),
    );
    let path = std::env::temp_dir().join("langevin-quickstart-ring-mala.png");
    match langevin::plot::Plot::new(640, 640)
        .title("MALA h=0.15, ring of 8: every 10th draw")
        .scatter(&path, &x, &y)
    {
        Ok(()) => println!("wrote {}", path.display()),
        Err(e) => println!("could not write {}: {e}", path.display()),
    }
}

/// Without the `plot` feature: numbers only.
#[cfg(not(feature = "plot"))]
fn plot_ring(_trace: &Trace<f64>) {}

fn main() -> Result<()> {
    println!(
        "8 chains x (2000 warm-up + 20000 draws); seed fixed, identical on any number of threads\n"
    );
    println!(
        "{:<28} {:>7} {:>7} | {:>7} {:>7} | {:>7} {:>7} | {:>7} {:>7} | {:>6} {:>5} {:>7}",
        "sampler / target",
        "mean x",
        "exact",
        "mean y",
        "exact",
        "var x",
        "exact",
        "var y",
        "exact",
        "accept",
        "div",
        "ms"
    );
    // The classic 8-Gaussian ring: radius 2, component sd 0.5.
    let ring = GaussianMixture::ring(8, 2.0, 0.5)?;
    // (exact means are 0 up to rounding in cos/sin; print them as 0)
    let rm: Vec<f64> = ring
        .exact_mean()
        .iter()
        .map(|v| if v.abs() < 1e-12 { 0.0 } else { *v })
        .collect();
    let rc = ring.exact_covariance();
    let rv = [rc[0], rc[3]];
    row(
        "ULA  h=0.05   ring of 8",
        &Ula::new(ring.clone(), 0.05)?,
        &rm,
        &rv,
        1,
    )?;
    let ring_mala = row(
        "MALA h=0.15   ring of 8",
        &Mala::new(ring, 0.15)?,
        &rm,
        &rv,
        2,
    )?;

    // A correlated Gaussian: unit variances, correlation 0.9.
    let g = Gaussian::full(vec![1.0, -1.0], &[1.0, 0.9, 0.9, 1.0])?;
    let (gm, gc) = (g.exact_mean(), g.exact_covariance());
    let h = 0.05;
    let vh = g.ula_stationary_covariance(h).expect("stable step");
    row(
        "ULA  h=0.05   correlated",
        &Ula::new(g.clone(), h)?,
        &gm,
        &[gc[0], gc[3]],
        3,
    )?;
    println!(
        "{:<28} {:>7} {:>7} | {:>7} {:>7} | {:>7} {:>7.3} | {:>7} {:>7.3} |",
        "  (ULA theory, biased)", "", "", "", "", "", vh[0], "", vh[3]
    );
    row(
        "MALA h=0.05   correlated",
        &Mala::new(g, h)?,
        &gm,
        &[gc[0], gc[3]],
        4,
    )?;
    println!("\nStep convention: x' = x + h ∇log p(x) + sqrt(2h) ξ (TFP's ε and NCSN's α are 2h).");
    plot_ring(&ring_mala);
    Ok(())
}
