//! ULA vs MALA vs annealed Langevin vs the predictor–corrector sampler on an 8-mode ring with
//! UNEQUAL weights (∝ 1, 2, …, 8): printed mode frequencies against the truth, with a χ²
//! goodness-of-fit statistic (7 degrees of freedom; the 1e-6 critical value is ≈ 40.5).
//!
//! * ULA and MALA started from a broad cloud N(0, 8² I) fall into the nearest mode and stay:
//!   the modes are ≈ 10 standard deviations apart, so in 1000 steps no particle crosses a
//!   barrier and the frequencies reflect the starting cloud (≈ 1/8 each), not the weights.
//!   MALA is exact *in the limit*, but its mixing time between modes is astronomically long.
//! * Annealed Langevin (Song & Ermon 2019) moves the particles while the noise level is
//!   large enough to merge the modes, so the mass settles in proportion to the weights before
//!   the modes separate; Metropolis-adjusted annealing does the same with exact levels.
//! * The reverse-time VP-SDE (Song et al. 2021) with the exact marginal score transports the
//!   prior onto the mixture, with an O(1/N) discretisation error; a Langevin corrector (SNR
//!   0.16) refines each time step.
//!
//! * The EDM samplers (Karras et al. 2022) integrate the probability-flow ODE in σ with Heun's
//!   method on the ρ = 7 levels from σ = 80 (deterministic, or with churn), and DPM-Solver++(2M)
//!   (Lu et al. 2022) integrates the VP probability-flow ODE in 20 log-SNR steps: with the
//!   exact score, a few dozen score evaluations reach the χ² of the 1000-evaluation samplers.
//!
//! The last column counts score (gradient) evaluations per particle.
//!
//! Run with `cargo run --release --example gmm8` (about a second). With the `plot` feature
//! (`--features plot`) it also writes a scatter plot of the final particles of each sampler,
//! `langevin-gmm8-<sampler>.png` in the system's temporary directory.

use langevin::annealed::{
    AnnealedLangevin, AnnealedMala, Churn, DpmSolverPp, Edm, LangevinCorrector, LevelStep,
    Marginal, ParticleRun, Predictor, ReverseSampler, SigmaLevels, TimeGrid, Vp,
};
use langevin::prelude::*;
use langevin::rng::ChainRng;
use langevin::targets::GaussianMixture;

const N: usize = 4_000;
const SIGMA1: f64 = 8.0;

fn row(gmm: &GaussianMixture<f64>, name: &str, xs: &[Vec<f64>], evals: usize) {
    let mut c = vec![0.0; gmm.n_components()];
    for x in xs {
        c[gmm.nearest_component(x)] += 1.0;
    }
    let n = xs.len() as f64;
    let chi2: f64 = c
        .iter()
        .zip(gmm.weights())
        .map(|(o, p)| (o - n * p).powi(2) / (n * p))
        .sum();
    print!("{name:>22}");
    for v in &c {
        print!(" {:6.3}", v / n);
    }
    println!("   χ² = {chi2:8.1}  {evals:>6}");
}

fn main() -> Result<()> {
    let weights: Vec<f64> = (1..=8).map(|k| k as f64).collect();
    let gmm = GaussianMixture::ring_weighted(weights, 4.0, 0.3)?;
    let init = |_i: usize, rng: &mut ChainRng, x: &mut [f64]| {
        for xi in x.iter_mut() {
            *xi = SIGMA1 * f64::standard_normal(rng);
        }
    };
    let levels = SigmaLevels::geometric(SIGMA1, 0.3, 10)?;
    let (t_per, h_last) = (100, 0.01);
    let budget = levels.len() * t_per;
    println!(
        "8-mode ring, radius 4, std 0.3, weights ∝ 1..8; {N} particles from N(0, {SIGMA1}² I); {budget} steps each\n"
    );
    print!("{:>22}", "mode");
    (0..8).for_each(|k| print!(" {k:>6}"));
    println!("{:>16}{:>8}", "", "scores");
    print!("{:>22}", "truth");
    gmm.weights().iter().for_each(|w| print!(" {w:6.3}"));
    println!();

    // ULA and MALA: the same starting points, the same number of steps.
    let starts: Vec<Vec<f64>> = (0..N)
        .map(|i| {
            let mut x = vec![0.0; 2];
            init(i, &mut langevin::rng::stream(11, i as u64), &mut x);
            x
        })
        .collect();
    let last = |tr: &Trace<f64>| {
        tr.last_draws()
            .iter()
            .map(|x| x.to_vec())
            .collect::<Vec<_>>()
    };
    let ula = Ula::new(&gmm, h_last)?;
    let tr = Sampler::new(1)
        .warmup(budget - 1)
        .chains(N)
        .seed(11)
        .run(&ula, &starts)?;
    let ula_x = last(&tr);
    row(&gmm, "ULA (h = 0.01)", &ula_x, budget);
    let mala = Mala::new(&gmm, 0.05)?;
    let tr = Sampler::new(1)
        .warmup(budget - 1)
        .chains(N)
        .seed(11)
        .run(&mala, &starts)?;
    let mala_x = last(&tr);
    row(&gmm, "MALA (h = 0.05)", &mala_x, budget);

    let al = AnnealedLangevin::new(&gmm, levels.clone(), t_per, LevelStep::Langevin { h_last })?;
    let out = al.run(&ParticleRun::new(N).seed(11), &init)?;
    let al_x: Vec<Vec<f64>> = out.iter().map(|x| x.to_vec()).collect();
    row(&gmm, "annealed Langevin", &al_x, budget);

    let am = AnnealedMala::new(&gmm, levels, t_per, LevelStep::Langevin { h_last: 0.02 })?;
    let outm = am.run(&ParticleRun::new(N).seed(11), &init)?;
    let am_x: Vec<Vec<f64>> = outm.particles.iter().map(|x| x.to_vec()).collect();
    row(&gmm, "annealed MALA", &am_x, budget);

    let sde = Vp::<f64>::linear(2, 0.1, 20.0)?;
    let pc = ReverseSampler::new(
        sde,
        Marginal::new(&gmm, sde)?,
        500,
        1e-3,
        Predictor::EulerMaruyama,
    )?
    .corrector(LangevinCorrector {
        snr: 0.16,
        steps: 1,
    })?;
    let out = pc.run(&ParticleRun::new(N).seed(11), &init)?;
    let pc_x: Vec<Vec<f64>> = out.iter().map(|x| x.to_vec()).collect();
    row(&gmm, "PC (VP: EM + Langevin)", &pc_x, 500 * 2);

    // EDM (Karras et al. 2022): 32 levels 80 → 0.002 (ρ = 7) and a last Euler step to 0.
    let karras = SigmaLevels::karras(80.0, 0.002, 32, 7.0)?;
    let heun = Edm::new(&gmm, karras.clone())?;
    let out = heun.run_from_prior(&ParticleRun::new(N).seed(11))?;
    let heun_x: Vec<Vec<f64>> = out.iter().map(|x| x.to_vec()).collect();
    row(
        &gmm,
        "EDM Heun (32 levels)",
        &heun_x,
        heun.score_evaluations(),
    );
    let churn = Edm::new(&gmm, karras)?.churn(Churn {
        s_churn: 40.0,
        s_tmin: 0.05,
        s_tmax: 50.0,
        s_noise: 1.0,
    })?;
    let out = churn.run_from_prior(&ParticleRun::new(N).seed(11))?;
    let churn_x: Vec<Vec<f64>> = out.iter().map(|x| x.to_vec()).collect();
    row(
        &gmm,
        "EDM churn (S_churn 40)",
        &churn_x,
        churn.score_evaluations(),
    );

    // DPM-Solver++(2M) (Lu et al. 2022): 20 log-SNR steps on the VP-SDE from its prior.
    let dpm = DpmSolverPp::new(sde, Marginal::new(&gmm, sde)?, 20, 1e-3, TimeGrid::LogSnr)?;
    let out = dpm.run_from_prior(&ParticleRun::new(N).seed(11))?;
    let dpm_x: Vec<Vec<f64>> = out.iter().map(|x| x.to_vec()).collect();
    row(
        &gmm,
        "DPM-Solver++(2M), 20",
        &dpm_x,
        dpm.score_evaluations(),
    );

    print!("\nannealed MALA acceptance per level:");
    outm.acceptance.iter().for_each(|a| print!(" {a:.2}"));
    println!();

    // Scatter plots of the final particles (only with the `plot` feature).
    #[cfg(feature = "plot")]
    {
        println!();
        for (file, title, xs) in [
            ("ula", "ULA (h = 0.01)", &ula_x),
            ("mala", "MALA (h = 0.05)", &mala_x),
            ("annealed-langevin", "annealed Langevin", &al_x),
            ("annealed-mala", "annealed MALA", &am_x),
            ("pc", "predictor-corrector (VP: EM + Langevin)", &pc_x),
            ("edm-heun", "EDM Heun (32 levels)", &heun_x),
            ("edm-churn", "EDM churn (S_churn 40)", &churn_x),
            ("dpm-solver", "DPM-Solver++(2M), 20 steps", &dpm_x),
        ] {
            let path = std::env::temp_dir().join(format!("langevin-gmm8-{file}.png"));
            let (x, y): (Vec<f64>, Vec<f64>) = xs.iter().map(|p| (p[0], p[1])).unzip();
            let title = format!("{title}: final {N} particles, ring weights ∝ 1..8");
            match langevin::plot::Plot::new(640, 640)
                .title(title)
                .scatter(&path, &x, &y)
            {
                Ok(()) => println!("wrote {}", path.display()),
                Err(e) => println!("could not write {}: {e}", path.display()),
            }
        }
    }
    Ok(())
}
