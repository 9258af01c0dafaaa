//! Reverse diffusion and annealed Langevin driven by the **empirical score** of a real data
//! set: the 1797 handwritten 8×8 digits of UCI/scikit-learn (`examples/data/digits.csv.gz`,
//! CC BY 4.0; see `examples/data/README.md`).
//!
//! The empirical score ([`EmpiricalScore`]) is the *exact* score of the training images
//! smoothed by Gaussian noise, `p_σ = (1/n) Σ_j N(y_j, σ² I)` — what a perfectly trained
//! score network would converge to on this training set (it minimises the denoising score
//! matching loss, Vincent 2011). It is evaluated for a block of particles at once by two
//! matrix products.
//!
//! # What the nearest-neighbour distances show: memorisation at small σ
//!
//! For each generated image the example prints the Euclidean distance to its nearest training
//! image, next to the typical distance between a training image and its nearest *other*
//! training image (median ≈ 1.0 on the [0, 1] pixel scale). The samplers are exact for the smoothed
//! empirical law, and as σ → 0 that law collapses onto the training points: a sampler that
//! ends at a small noise level (σ_ε ≈ 0.01 for the VP-SDE at ε = 1e-3; σ_L = 0.02 for the
//! annealed ladder) returns training images plus tiny noise — nearest distances ≈ 0.15
//! (of order σ √d plus discretisation error), far below the spacing of the data — and after
//! the Tweedie denoising step the distances are 0.000: exact copies. The exact empirical score
//! generalises nothing.
//! Stopping at a large σ (last rows: σ = 0.5) gives blurred averages of many training images
//! instead (distances comparable to the data spacing) — still not new digits. A learned score
//! generalises only because its function class cannot represent this sharp empirical score.
//!
//! Outputs: ASCII art of a few samples, and a PGM image grid `digits_samples.pgm` in the
//! system's temporary directory (the first argument overrides the path). With the `plot`
//! feature (`--features plot`) the same grid is also written as a PNG,
//! `langevin-digits-samples.png` in the temporary directory (ink dark on white).
//!
//! Run with `cargo run --release --example digits` (a few seconds).

use langevin::annealed::{
    AnnealedLangevin, EmpiricalScore, LevelStep, Marginal, ParticleRun, Particles, Predictor,
    ReverseSampler, SigmaLevels, Vp,
};
use langevin::prelude::*;
use langevin::rng::ChainRng;
use std::io::Write;

#[path = "common/data.rs"]
mod data;

const D: usize = 64;

fn write_pgm(path: &str, rows: &[&Particles<f64>], per_row: usize) -> std::io::Result<()> {
    let (scale, pad) = (4, 2);
    let cell = 8 * scale + pad;
    let (w, h) = (per_row * cell + pad, rows.len() * cell + pad);
    let mut img = vec![40u8; w * h];
    for (ri, ps) in rows.iter().enumerate() {
        for ci in 0..per_row.min(ps.len()) {
            let x = ps.get(ci);
            for py in 0..8 * scale {
                for px in 0..8 * scale {
                    let v = x[(py / scale) * 8 + px / scale].clamp(0.0, 1.0);
                    let (yy, xx) = (pad + ri * cell + py, pad + ci * cell + px);
                    img[yy * w + xx] = (255.0 * v).round() as u8;
                }
            }
        }
    }
    let mut f = std::fs::File::create(path)?;
    write!(f, "P5\n{w} {h}\n255\n")?;
    f.write_all(&img)
}

fn report(name: &str, emp: &EmpiricalScore<f64>, ps: &Particles<f64>) {
    let d: Vec<f64> = ps.iter().map(|x| emp.nearest(x).1).collect();
    let mean = d.iter().sum::<f64>() / d.len() as f64;
    let max = d.iter().cloned().fold(0.0, f64::max);
    print!("{name:>40}: mean {mean:.3}, max {max:.3} |");
    d.iter().take(8).for_each(|v| print!(" {v:.3}"));
    println!();
}

fn main() -> Result<()> {
    let data = data::digits().expect("read examples/data/digits.csv.gz");
    let n = data.len() / D;
    let emp = EmpiricalScore::new(data.clone(), D)?;
    // The typical spacing of the data: distance of a training image to its nearest other one.
    let mut nn: Vec<f64> = (0..200)
        .map(|j| {
            let y = emp.point(j * (n / 200)).unwrap();
            (0..n)
                .filter(|&k| k != j * (n / 200))
                .map(|k| {
                    let z = emp.point(k).unwrap();
                    y.iter()
                        .zip(z)
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f64>()
                        .sqrt()
                })
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    nn.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{n} training images of 8×8 pixels in [0, 1]; median distance of a training image to its \
         nearest other one: {:.3}\n",
        nn[nn.len() / 2]
    );
    println!("distance of each sample to its nearest training image (first 8 listed):");

    let m = 64;
    let run = ParticleRun::new(m).seed(2024);

    // Reverse VP-SDE, Euler–Maruyama, 500 steps down to ε = 1e-3 (σ_ε ≈ 0.01), from N(0, I).
    let sde = Vp::<f64>::linear(D, 0.1, 20.0)?;
    let score = Marginal::new(&emp, sde)?;
    let rev = ReverseSampler::new(sde, &score, 500, 1e-3, Predictor::EulerMaruyama)?;
    let rev_out = rev.run_from_prior(&run)?;
    report("reverse VP-SDE (EM, ε = 1e-3)", &emp, &rev_out);
    let rev_den = rev.clone().denoise(true).run_from_prior(&run)?;
    report("reverse VP-SDE + Tweedie denoising", &emp, &rev_den);

    // Annealed Langevin: 12 levels 3 → 0.02, 60 steps each.
    let start = |_i: usize, rng: &mut ChainRng, x: &mut [f64]| {
        for xi in x.iter_mut() {
            *xi = 0.5 + 3.0 * f64::standard_normal(rng);
        }
    };
    let levels = SigmaLevels::geometric(3.0, 0.02, 12)?;
    let al = AnnealedLangevin::new(
        &emp,
        levels,
        60,
        LevelStep::Langevin {
            h_last: 0.2 * 0.02 * 0.02,
        },
    )?;
    let al_out = al.run(&run, &start)?;
    report("annealed Langevin (σ_L = 0.02)", &emp, &al_out);

    // Stopping at a large noise level: blurred averages, not copies.
    let levels = SigmaLevels::geometric(3.0, 0.5, 6)?;
    let al = AnnealedLangevin::new(&emp, levels, 60, LevelStep::Langevin { h_last: 0.2 * 0.25 })?
        .denoise(true);
    let blur = al.run(&run, &start)?;
    report("annealed Langevin (σ_L = 0.5) + Tweedie", &emp, &blur);

    println!(
        "\nfirst samples (reverse VP-SDE + Tweedie | annealed Langevin σ_L = 0.02 | σ_L = 0.5 + Tweedie):"
    );
    for i in 0..3 {
        let (a, b, c) = (
            data::ascii(rev_den.get(i)),
            data::ascii(al_out.get(i)),
            data::ascii(blur.get(i)),
        );
        for r in 0..8 {
            println!("  {}  |  {}  |  {}", a[r], b[r], c[r]);
        }
        println!();
    }
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        std::env::temp_dir()
            .join("digits_samples.pgm")
            .to_string_lossy()
            .into_owned()
    });
    match write_pgm(&path, &[&rev_den, &al_out, &blur], 16) {
        Ok(()) => {
            println!("wrote {path} (rows: reverse SDE + Tweedie, annealed Langevin, σ_L = 0.5)")
        }
        Err(e) => println!("could not write {path}: {e}"),
    }

    #[cfg(feature = "plot")]
    {
        // The same three rows of 16 as a PNG; pixels clamped to [0, 1] as in the PGM.
        let images: Vec<Vec<f64>> = [&rev_den, &al_out, &blur]
            .iter()
            .flat_map(|ps| ps.iter().take(16))
            .map(|x| x.iter().map(|v| v.clamp(0.0, 1.0)).collect())
            .collect();
        let png = std::env::temp_dir().join("langevin-digits-samples.png");
        match langevin::plot::image_grid(&png, &images, 8, 8, 16, 6) {
            Ok(()) => println!(
                "wrote {} (rows: reverse SDE + Tweedie, annealed Langevin, σ_L = 0.5)",
                png.display()
            ),
            Err(e) => println!("could not write {}: {e}", png.display()),
        }
    }
    Ok(())
}
