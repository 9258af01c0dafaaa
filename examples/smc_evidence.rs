//! Model evidence of Bayesian logistic regression on the breast-cancer data by SMC with
//! MALA moves, against an independent importance-sampling reference.
//!
//! `cargo run --release --example smc_evidence`
//!
//! Model: standardised features + intercept (d = 31), prior β ~ N(0, I) (as in the
//! `logistic_regression` example). [`LogisticPosterior`]'s log density is
//! `log-likelihood − ‖β‖²/2` without the prior's normaliser, so
//!
//! ```text
//! log p(y) = log ∫ exp(log p̃(β)) dβ − (d/2) log(2π)
//! ```
//!
//! 1. SMC: reference p₀ = the Laplace approximation N(β̂, H(β̂)⁻¹) (normalised, sampled
//!    exactly), geometric path to the posterior, adaptive schedule (CESS ρ = 0.95), 10 MALA
//!    steps per level, `R` independent replicates → log Z̄ ± se (delta method).
//! 2. Reference, by a different method: importance sampling from a multivariate Student-t
//!    (ν = 10) centred at the Laplace fit with its covariance, `M` draws → the log of the mean
//!    weight ± its delta-method se, and the importance-sampling ESS. The t proposal has
//!    heavier tails than the posterior (whose tails are at most Gaussian), so the weights
//!    have finite variance.
//!
//! The Laplace value `log p̃(β̂) + (d/2) log 2π − ½ log det H` is printed for context; it is
//! an approximation, not a reference.
//!
//! Measured (loaded 2-core machine): SMC −55.239 ± 0.010 (9 levels, 78 s); reference
//! −55.206 ± 0.013 (IS ESS 6 194 of 400 000, 19 s); difference −2.1 combined se; Laplace
//! −55.632. With cheaper moves (CESS 0.9, 5 MALA steps) SMC gave −55.281 ± 0.022: the
//! replicate SE then understates the error of poorly mixing moves — use enough moves per
//! level, and compare two settings.
//!
//! Data: UCI Machine Learning Repository, W. Wolberg, W. Street, O. Mangasarian (1995),
//! CC BY 4.0, as distributed with scikit-learn (BSD-3-Clause); see `examples/data/README.md`.

use langevin::prelude::*;
use langevin::smc::{Move, Smc};
use langevin::targets::Gaussian;
use nalgebra::{DMatrix, Dyn, linalg::Cholesky};
use rand_distr::{ChiSquared, Distribution};
use std::time::Instant;

#[path = "common/data.rs"]
mod data;

const PRIOR_SD: f64 = 1.0;

/// `log mean exp(l)` and its delta-method standard error `sd(w)/(√M mean w)`.
fn log_mean_exp_se(l: &[f64]) -> (f64, f64) {
    let m = l.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = l.iter().map(|v| (v - m).exp()).collect();
    let n = w.len() as f64;
    let mean = w.iter().sum::<f64>() / n;
    let var = w.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (m + mean.ln(), (var / n).sqrt() / mean)
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let post = data::breast_cancer(PRIOR_SD)?;
    let d = post.dim();
    let norm = -0.5 * d as f64 * (2.0 * std::f64::consts::PI * PRIOR_SD * PRIOR_SD).ln();
    let (mode, cov) = post.laplace()?;
    let laplace = Gaussian::full(mode.clone(), &cov)?;
    let chol = Cholesky::<f64, Dyn>::new(DMatrix::from_row_slice(d, d, &cov))
        .ok_or("Laplace covariance not positive definite")?;
    let log_det = 2.0 * chol.l().diagonal().iter().map(|v| v.ln()).sum::<f64>();
    let lap = post.log_density(&mode)
        + 0.5 * d as f64 * (2.0 * std::f64::consts::PI).ln()
        + 0.5 * log_det;
    println!(
        "logistic regression evidence, breast cancer: n = {}, d = {d}",
        post.n_observations()
    );
    println!("Laplace approximation: log p(y) ≈ {:.4}", lap + norm);

    // 1. SMC with MALA moves from the Laplace reference.
    let replicates = 8;
    let t = Instant::now();
    let smc = Smc::new(1_000, Move::mala(0.02, 10)?)
        .adaptive(0.95)
        .seed(2024);
    let est = smc.run_replicates(&laplace, &post, replicates)?;
    let secs = t.elapsed().as_secs_f64();
    let run = &est.runs()[0];
    let acc: f64 =
        run.levels().iter().map(|l| l.acceptance).sum::<f64>() / run.levels().len() as f64;
    println!(
        "SMC (N = 1000, {replicates} replicates, CESS 0.95, 10 MALA steps h = 0.02): \
         log p(y) = {:.4} ± {:.4}  (sd of one run's log Ẑ {:.4}; {} levels, {} resamplings, \
         mean acceptance {acc:.3}; {secs:.1} s)",
        est.log_z() + norm,
        est.se(),
        est.sd_log_z(),
        run.levels().len(),
        run.resamplings(),
    );

    // 2. Independent reference: importance sampling from a multivariate t (ν = 10).
    let nu = 10.0;
    let m_draws = 400_000;
    let t = Instant::now();
    let chi = ChiSquared::new(nu)?;
    let l = chol.l();
    let c_t = statrs::function::gamma::ln_gamma((nu + d as f64) / 2.0)
        - statrs::function::gamma::ln_gamma(nu / 2.0)
        - 0.5 * d as f64 * (nu * std::f64::consts::PI).ln()
        - 0.5 * log_det;
    let mut rng = langevin::rng::stream(7, 0);
    let (mut z, mut x) = (vec![0.0; d], vec![0.0; d]);
    let mut logw = Vec::with_capacity(m_draws);
    for _ in 0..m_draws {
        for v in z.iter_mut() {
            *v = f64::standard_normal(&mut rng);
        }
        let u: f64 = chi.sample(&mut rng);
        let s = (nu / u).sqrt();
        // x = β̂ + s L z; the quadratic form (x − β̂)ᵀ Σ⁻¹ (x − β̂) = s² ‖z‖².
        for i in 0..d {
            let lz: f64 = (0..=i).map(|j| l[(i, j)] * z[j]).sum();
            x[i] = mode[i] + s * lz;
        }
        let q = s * s * z.iter().map(|v| v * v).sum::<f64>();
        let log_q = c_t - 0.5 * (nu + d as f64) * (1.0 + q / nu).ln();
        logw.push(post.log_density(&x) - log_q);
    }
    let (lz_is, se_is) = log_mean_exp_se(&logw);
    let mx = logw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (s1, s2) = logw.iter().fold((0.0, 0.0), |(a, b), v| {
        let w = (v - mx).exp();
        (a + w, b + w * w)
    });
    println!(
        "importance sampling reference (multivariate t, ν = 10, M = {m_draws}): \
         log p(y) = {:.4} ± {:.4}  (IS ESS {:.0}; {:.1} s)",
        lz_is + norm,
        se_is,
        s1 * s1 / s2,
        t.elapsed().as_secs_f64()
    );
    let diff = est.log_z() - lz_is;
    let se = (est.se().powi(2) + se_is.powi(2)).sqrt();
    println!("SMC − reference = {diff:.4} ({:.2} combined se)", diff / se);
    Ok(())
}
