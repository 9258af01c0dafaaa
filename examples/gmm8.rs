//! ULA vs MALA vs annealed Langevin vs the predictor–corrector sampler on an 8-mode ring with
//! unequal weights: printed mode weights against the truth.
//!
//! ULA and MALA started from a broad cloud fall into the nearest mode and stay (the modes
//! are ~10 standard deviations apart), so their mode frequencies reflect the starting cloud —
//! roughly 1/8 each — not the weights. Annealed Langevin (Song & Ermon 2019) moves the
//! particles while the noise level is large enough to merge the modes, so the mass settles
//! in proportion to the weights before the modes separate; the reverse-time VP-SDE
//! (Song et al. 2021) transports the prior onto the mixture and recovers the weights up to
//! its O(1/N) discretisation error.
//!
//! Run with `cargo run --release --example gmm8`.

use langevin::annealed::{
    AnnealedLangevin, LangevinCorrector, LevelStep, Marginal, ParticleRun, Predictor,
    ReverseSampler, SigmaLevels, Vp,
};
use langevin::prelude::*;
use langevin::rng::ChainRng;
use langevin::targets::GaussianMixture;

const N: usize = 4_000;
const SIGMA1: f64 = 8.0;

fn counts(gmm: &GaussianMixture<f64>, xs: impl Iterator<Item = Vec<f64>>) -> Vec<f64> {
    let mut c = vec![0.0; gmm.n_components()];
    let mut n = 0.0;
    for x in xs {
        c[gmm.nearest_component(&x)] += 1.0;
        n += 1.0;
    }
    c.iter().map(|v| v / n).collect()
}

fn row(name: &str, w: &[f64]) {
    print!("{name:>18}");
    for v in w {
        print!(" {v:6.3}");
    }
    println!();
}

fn main() -> Result<()> {
    if std::env::var("DBG").is_ok() { return debug(); }
    let weights: Vec<f64> = (1..=8).map(|k| k as f64).collect();
    let gmm = GaussianMixture::ring_weighted(weights, 4.0, 0.3)?;
    let init = |_i: usize, rng: &mut ChainRng, x: &mut [f64]| {
        for xi in x.iter_mut() {
            *xi = SIGMA1 * f64::standard_normal(rng);
        }
    };
    let levels = SigmaLevels::geometric(SIGMA1, 0.3, 10)?;
    let t_per = 100;
    let h_last = 0.01;
    let budget = levels.len() * t_per;
    row("mode", &(0..8).map(|k| k as f64).collect::<Vec<_>>());
    row("truth", gmm.weights());

    // ULA and MALA: same start, same number of steps, h = h_L.
    let starts: Vec<Vec<f64>> = (0..N)
        .map(|i| {
            let mut rng = langevin::rng::stream(11, i as u64);
            let mut x = vec![0.0; 2];
            init(i, &mut rng, &mut x);
            x
        })
        .collect();
    let ula = Ula::new(&gmm, h_last)?;
    let tr = Sampler::new(1).warmup(budget - 1).chains(N).seed(11).run(&ula, &starts)?;
    row("ULA", &counts(&gmm, (0..N).map(|c| tr.draw(c, 0).to_vec())));
    let mala = Mala::new(&gmm, 0.05)?;
    let tr = Sampler::new(1).warmup(budget - 1).chains(N).seed(11).run(&mala, &starts)?;
    row("MALA", &counts(&gmm, (0..N).map(|c| tr.draw(c, 0).to_vec())));

    let al = AnnealedLangevin::new(&gmm, levels, t_per, LevelStep::Langevin { h_last })?;
    let out = al.run(&ParticleRun::new(N).seed(11), &init)?;
    row("annealed Langevin", &counts(&gmm, out.iter().map(|x| x.to_vec())));

    let sde = Vp::<f64>::linear(2, 0.1, 20.0)?;
    let pc = ReverseSampler::new(sde, Marginal::new(&gmm, sde)?, 500, 1e-3, Predictor::EulerMaruyama)?
        .corrector(LangevinCorrector { snr: 0.16, steps: 1 })?;
    let out = pc.run_from_prior(&ParticleRun::new(N).seed(11))?;
    row("PC (VP, EM+LC)", &counts(&gmm, out.iter().map(|x| x.to_vec())));
    Ok(())
}
#[allow(dead_code)]
fn debug() -> Result<()> {
    let weights: Vec<f64> = (1..=8).map(|k| k as f64).collect();
    let gmm = GaussianMixture::ring_weighted(weights, 4.0, 0.3)?;
    let sde = Vp::<f64>::linear(2, 0.1, 20.0)?;
    for (name, p, c) in [("EM", Predictor::EulerMaruyama, false), ("anc", Predictor::Ancestral, false), ("EM+C", Predictor::EulerMaruyama, true)] {
        let mut s = ReverseSampler::new(sde, Marginal::new(&gmm, sde)?, 500, 1e-3, p)?;
        if c { s = s.corrector(LangevinCorrector { snr: 0.05, steps: 1 })?; }
        let out = s.run_from_prior(&ParticleRun::new(N).seed(11))?;
        row(name, &counts(&gmm, out.iter().map(|x| x.to_vec())));
    }
    Ok(())
}
