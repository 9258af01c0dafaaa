//! Gradient descent with Gaussian gradient noise samples a Gibbs law.
//!
//! θ' = θ − η(∇U(θ) + σξ) on the double well U(θ) = (θ² − 1)² has, for small η, the
//! stationary density exp(−U/T)/Z with temperature T = ησ²/2 (TESTING.md §2.2; Mandt,
//! Hoffman & Blei 2017). This example runs exactly that recursion — `Sgld` at temperature 0
//! (no injected noise) on the noisy gradient `GradientNoise` — at several temperatures, and
//! prints the histogram against the exact Gibbs density, with Z computed by Simpson
//! quadrature. (`Sgld::from_noisy_sgd` is the same chain written as tempered Langevin.)
//!
//! Run: `cargo run --release --example gibbs_temperature`. With the `plot` feature
//! (`--features plot`) it also writes, per temperature, a histogram of all draws against the
//! exact Gibbs density, `langevin-gibbs_temperature-T<T>.png` in the temporary directory.

use langevin::mcmc::{Constant, GradientNoise, Sgld};
use langevin::prelude::*;
use langevin::targets::DoubleWell;

fn u(x: f64) -> f64 {
    (x * x - 1.0).powi(2)
}

/// ∫ exp(−U/T) over [−4, 4] by composite Simpson (the tails beyond are < e^{−200/T}).
fn partition(t: f64) -> f64 {
    let n = 20_000;
    let (a, b) = (-4.0, 4.0);
    let h = (b - a) / n as f64;
    let f = |x: f64| (-u(x) / t).exp();
    let mut s = f(a) + f(b);
    for i in 1..n {
        s += f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    s * h / 3.0
}

fn main() -> Result<()> {
    let eta = 0.005;
    let target = DoubleWell::new(1.0)?; // log p = −(x² − 1)²: the score is −∇U.
    let (lo, hi, bins) = (-2.0, 2.0, 16);
    let width = (hi - lo) / bins as f64;
    // Half the chains start in each well, so the slow barrier crossings at low T do not
    // leave the wells' masses unbalanced.
    let inits: Vec<Vec<f64>> = (0..8)
        .map(|c| vec![if c % 2 == 0 { 1.0 } else { -1.0 }])
        .collect();
    for &temp in &[0.25, 0.5, 1.0, 2.0] {
        // T = ησ²/2  ⇒  σ = sqrt(2T/η)
        let sigma = (2.0 * temp / eta).sqrt();
        let noisy = GradientNoise::new(target.clone(), sigma)?;
        let kernel = Sgld::with_temperature(noisy, Constant::new(eta)?, 0.0)?;
        let trace = Sampler::new(200_000)
            .chains(8)
            .warmup(20_000)
            .thin(5)
            .seed(7)
            .run(&kernel, &inits)?;
        let mut counts = vec![0usize; bins];
        let mut total = 0usize;
        for c in 0..trace.n_chains() {
            for x in trace.coordinate(c, 0) {
                total += 1;
                if x >= lo && x < hi {
                    counts[((x - lo) / width) as usize] += 1;
                }
            }
        }
        let z = partition(temp);
        let mut l1 = 0.0;
        println!("\nT = ησ²/2 = {temp} (η = {eta}, σ = {sigma:.3}), {total} draws");
        println!("{:>14} {:>10} {:>10}", "bin", "histogram", "Gibbs");
        for (b, &n) in counts.iter().enumerate() {
            let (a, bb) = (lo + b as f64 * width, lo + (b + 1) as f64 * width);
            let emp = n as f64 / (total as f64 * width);
            // Bin average of the Gibbs density (Simpson's rule on the bin).
            let m = 0.5 * (a + bb);
            let exact = ((-u(a) / temp).exp() + 4.0 * (-u(m) / temp).exp() + (-u(bb) / temp).exp())
                / 6.0
                / z;
            l1 += (emp - exact).abs() * width;
            let bar = "#".repeat((emp * 40.0).round() as usize);
            println!("[{a:>5.2},{bb:>5.2}) {emp:>10.4} {exact:>10.4}  {bar}");
        }
        println!("L1 distance between the histogram and the Gibbs bin masses: {l1:.4}");
        #[cfg(feature = "plot")]
        {
            let draws: Vec<f64> = trace.coordinate_chains(0).concat();
            let gibbs = |x: f64| (-u(x) / temp).exp() / z;
            let path = std::env::temp_dir().join(format!("langevin-gibbs_temperature-T{temp}.png"));
            let title =
                format!("noisy gradient descent, T = ησ²/2 = {temp}: histogram vs exp(−U/T)/Z");
            match langevin::plot::Plot::new(800, 450).title(title).histogram(
                &path,
                &draws,
                80,
                Some(&gibbs),
            ) {
                Ok(()) => println!("wrote {}", path.display()),
                Err(e) => println!("could not write {}: {e}", path.display()),
            }
        }
    }
    println!("\nThe histogram tracks exp(−U/T)/Z at every T; the residual O(η) bias is ULA's.");
    Ok(())
}
