//! Langevin dynamics on the smoothed dice law — with and without its noise term.
//!
//! The target is `GaussianMixture::dice(0.1)`: six equal-weight faces N(k, 0.1²), k = 1..6.
//! Every chain starts at x₀ = 3.4 and follows the same annealing schedule of noise levels
//! σ = 3 → 0.1 (each level targets the dice law smoothed by N(0, σ²)):
//!
//! * **without the noise term** (`x ← x + h s(x, σ_i)`, gradient ascent on log p_σ) every
//!   chain runs deterministically uphill and collapses onto the face nearest to its start;
//! * **with the noise term** (`x ← x + h s(x, σ_i) + sqrt(2h) ξ`, annealed Langevin) the
//!   chains spread over the smoothed law while σ is large and settle on the six faces in
//!   equal proportions;
//! * plain Langevin at σ = 0.1 alone, from the same start and for the same number of steps,
//!   stays on the faces next to its start: the faces are 10 standard deviations apart.
//!
//! Run with `cargo run --release --example dice`. With the `plot` feature
//! (`--features plot`) it also writes histograms of the final positions against the exact
//! density each run targets, `langevin-dice-{no-noise,annealed,plain}.png` in the system's
//! temporary directory.

use langevin::annealed::{AnnealedLangevin, LevelStep, ParticleRun, SigmaLevels};
use langevin::prelude::*;
use langevin::rng::ChainRng;
use langevin::targets::GaussianMixture;

const CHAINS: usize = 6_000;
const X0: f64 = 3.4;

/// Histogram of `xs` against `density`, written to `langevin-dice-<what>.png` in the
/// temporary directory (only with the `plot` feature).
#[cfg(feature = "plot")]
fn plot(what: &str, title: &str, xs: &[f64], density: &dyn Fn(f64) -> f64) {
    let path = std::env::temp_dir().join(format!("langevin-dice-{what}.png"));
    match langevin::plot::Plot::new(800, 450)
        .title(title)
        .histogram(&path, xs, 120, Some(density))
    {
        Ok(()) => println!("wrote {}", path.display()),
        Err(e) => println!("could not write {}: {e}", path.display()),
    }
}

fn faces(name: &str, xs: impl Iterator<Item = f64>) {
    let mut c = [0usize; 6];
    let mut n = 0;
    for x in xs {
        let k = (x.round() as i64).clamp(1, 6) as usize;
        c[k - 1] += 1;
        n += 1;
    }
    print!("{name:>34}");
    for v in c {
        print!(" {:6.3}", v as f64 / n as f64);
    }
    println!();
}

fn main() -> Result<()> {
    let dice = GaussianMixture::<f64>::dice(0.1)?;
    let levels = SigmaLevels::geometric(3.0, 0.1, 10)?;
    let (steps, h_last) = (200, 0.002);
    let step = LevelStep::Langevin { h_last };
    print!("{:>34}", "face");
    (1..=6).for_each(|k| print!(" {k:>6}"));
    println!();

    // Without noise: gradient ascent through the same schedule, by hand.
    let al = AnnealedLangevin::new(&dice, levels.clone(), steps, step)?;
    let mut x = [X0];
    let mut s = [0.0];
    for (&sigma, &h) in levels.as_slice().iter().zip(al.steps()) {
        for _ in 0..steps {
            dice.score_sigma_into(&x, sigma, &mut s);
            x[0] += h * s[0];
        }
    }
    faces("annealed, no noise (every chain)", std::iter::once(x[0]));
    println!(
        "{:>34} x = {:.6} (the nearest face, with zero spread)",
        "", x[0]
    );

    // With noise: annealed Langevin, many chains in parallel.
    let start = |_i: usize, _rng: &mut ChainRng, x: &mut [f64]| x[0] = X0;
    let out = al.run(&ParticleRun::new(CHAINS).seed(6), &start)?;
    faces("annealed Langevin (with noise)", out.iter().map(|x| x[0]));

    // Plain Langevin on the unsmoothed dice law, same start, same number of steps.
    let ula = Ula::new(&dice, h_last)?;
    let budget = levels.len() * steps;
    let tr = Sampler::new(1)
        .warmup(budget - 1)
        .chains(CHAINS)
        .seed(6)
        .run(&ula, &[vec![X0]])?;
    faces(
        "plain Langevin at σ = 0.1",
        tr.last_draws().iter().map(|x| x[0]),
    );
    println!("\ntruth: 1/6 = 0.167 per face");

    #[cfg(feature = "plot")]
    {
        // Annealing ends at σ_L = 0.1: its target is the dice law smoothed by N(0, σ_L²),
        // faces N(k, 0.1² + σ_L²); plain Langevin targets the unsmoothed law N(k, 0.1²).
        let sigma_l = *levels.as_slice().last().expect("non-empty ladder");
        let smoothed = |x: f64| dice.log_density_sigma(&[x], sigma_l).exp();
        let exact = |x: f64| dice.log_density(&[x]).exp();
        println!();
        plot(
            "no-noise",
            &format!(
                "no noise: all {CHAINS} chains at x = {:.4}, a point mass (red: target)",
                x[0]
            ),
            &vec![x[0]; CHAINS],
            &smoothed,
        );
        let with_noise: Vec<f64> = out.iter().map(|x| x[0]).collect();
        plot(
            "annealed",
            "annealed Langevin (with noise) vs exact dice law smoothed at σ_L = 0.1",
            &with_noise,
            &smoothed,
        );
        let plain: Vec<f64> = tr.last_draws().iter().map(|x| x[0]).collect();
        plot(
            "plain",
            "plain Langevin at σ = 0.1 vs exact dice law",
            &plain,
            &exact,
        );
    }
    Ok(())
}
