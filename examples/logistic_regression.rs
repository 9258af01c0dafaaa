//! Bayesian logistic regression on the Wisconsin Diagnostic Breast Cancer data: plain MALA
//! vs adapted preconditioned MALA vs ULA.
//!
//! Model: 569 tumours, 30 standardised features plus an intercept (d = 31), label 1 =
//! benign; prior β ~ N(0, 1² I) (a weakly informative scale for standardised features).
//! Several features are nearly collinear (radius, perimeter, area, …), so the posterior is
//! strongly correlated: plain MALA's step is limited by the narrowest direction, which is
//! where a dense metric pays off.
//!
//! Samplers (4 chains each, 2000 warm-up, 5000 draws, all started at β = 0):
//! * plain MALA with a dual-averaged step (`StepSizeAdaptation`, target 0.574);
//! * preconditioned MALA whose dense metric starts at the Laplace approximation's
//!   covariance `H(β̂)⁻¹` (Newton's method, `LogisticPosterior::laplace`) and is then
//!   re-estimated with the step size in Stan's windows
//!   (`WindowedAdaptation::new(MetricAdaptation::Dense)`; dense windows shorter than 10·d
//!   draws keep the current metric);
//! * ULA at plain MALA's adapted step (biased: no accept/reject).
//!
//! For each it prints the wall time, the minimum bulk ESS over coefficients, ESS per second,
//! the maximum rank-normalised R-hat, and the largest deviation of the posterior means from
//! the committed long reference run, in reference posterior standard deviations.
//!
//! Run: `cargo run --release --example logistic_regression`. With the `plot` feature
//! (`--features plot`) it also writes, for each sampler, the trace of β₁ (4 chains) and the
//! autocorrelation of β₁ in chain 0, `langevin-logistic_regression-{trace,acf}-<sampler>.png`
//! in the system's temporary directory.
//!
//! ESS/s is the minimum bulk ESS over the 31 coefficients divided by the wall time of the
//! whole run (warm-up and, for preconditioned MALA, the Laplace fit included).
//!
//! The reference (`examples/data/logreg_reference.txt`: posterior mean and sd of each
//! coefficient) was produced independently of the Laplace fit: preconditioned MALA started
//! from `M = I` with windowed dense adaptation, 8 chains × 100 000 draws after 5000 warm-up
//! iterations, seed 2024 (about two minutes on two cores):
//! `cargo run --release --example logistic_regression -- --reference`
//!
//! Data: UCI Machine Learning Repository, W. Wolberg, W. Street, O. Mangasarian (1995),
//! CC BY 4.0, as distributed with scikit-learn (BSD-3-Clause); see `examples/data/README.md`.

use langevin::adapt::{MetricAdaptation, StepSizeAdaptation, WindowedAdaptation};
use langevin::mcmc::{Metric, PrecondMala};
use langevin::prelude::*;
use langevin::targets::LogisticPosterior;
use std::time::Instant;

#[path = "common/data.rs"]
mod data;

const REFERENCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/data/logreg_reference.txt"
);
const PRIOR_SD: f64 = 1.0;

struct Row {
    name: &'static str,
    secs: f64,
    ess: f64,
    rhat: f64,
    accept: f64,
    h: f64,
    mean_dev: f64,
}

/// The reference means and sds, or `None` if the file is missing or does not hold `d` rows.
fn read_reference(d: usize) -> Option<(Vec<f64>, Vec<f64>)> {
    let text = std::fs::read_to_string(REFERENCE).ok()?;
    let (mut m, mut s) = (Vec::new(), Vec::new());
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let v: Vec<f64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|t| t.parse().ok())
            .collect();
        if v.len() == 2 {
            m.push(v[0]);
            s.push(v[1]);
        }
    }
    (m.len() == d).then_some((m, s))
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let post = data::breast_cancer(PRIOR_SD)?;
    let d = post.dim();
    let init = vec![vec![0.0; d]];
    if std::env::args().any(|a| a == "--reference") {
        return write_reference(&post, &init);
    }
    let sampler = Sampler::new(5_000).chains(4).warmup(2_000).seed(7);
    let reference = read_reference(d);
    let mut rows = Vec::new();
    let mut summarize = |name, trace: &Trace<f64>, secs: f64| -> langevin::Result<()> {
        let ess = trace.min_ess_bulk()?;
        let mean = trace.mean();
        let mean_dev = reference.as_ref().map_or(f64::NAN, |(m, s)| {
            (0..d)
                .map(|j| ((mean[j] - m[j]) / s[j]).abs())
                .fold(0.0, f64::max)
        });
        rows.push(Row {
            name,
            secs,
            ess,
            rhat: trace.max_rhat()?,
            accept: trace.mean_accept_prob(),
            h: trace.adapted_step_size.as_ref().map_or(f64::NAN, |h| h[0]),
            mean_dev,
        });
        Ok(())
    };

    // 1. Plain MALA, step size by dual averaging.
    let mala = Mala::new(post.clone(), 1e-3)?;
    let t = Instant::now();
    let tr_mala = sampler.run_with(&mala, &init, &StepSizeAdaptation::new(0.574)?, &())?;
    summarize("MALA (adapted h)", &tr_mala, t.elapsed().as_secs_f64())?;
    let h_plain = tr_mala
        .adapted_step_size
        .as_ref()
        .map_or(1e-3, |h| h.iter().sum::<f64>() / h.len() as f64);

    // 2. Preconditioned MALA: dense metric initialised at the Laplace covariance H(β̂)⁻¹,
    //    then step size and metric adapted in Stan-style windows.
    let t = Instant::now();
    let (_, laplace_cov) = post.laplace()?;
    let pmala = PrecondMala::new(post.clone(), 0.1, Metric::dense(&laplace_cov)?)?;
    let tr_pmala = sampler.run_with(
        &pmala,
        &init,
        &WindowedAdaptation::new(MetricAdaptation::Dense),
        &(),
    )?;
    summarize(
        "precond. MALA (dense M)",
        &tr_pmala,
        t.elapsed().as_secs_f64(),
    )?;

    // 3. ULA at plain MALA's adapted step.
    let ula = Ula::new(post.clone(), h_plain)?;
    let t = Instant::now();
    let tr_ula = sampler.run(&ula, &init)?;
    summarize("ULA (h of MALA)", &tr_ula, t.elapsed().as_secs_f64())?;
    // ULA's step is not adapted: report the one it ran with.
    if let Some(r) = rows.last_mut() {
        r.h = h_plain;
    }

    println!(
        "Bayesian logistic regression, breast cancer data: n = {}, d = {d}, prior N(0, {PRIOR_SD}²)",
        post.n_observations()
    );
    println!("4 chains × (2000 warm-up + 5000 draws) each\n");
    println!(
        "{:<24} {:>8} {:>10} {:>10} {:>8} {:>8} {:>10} {:>14}",
        "sampler", "time s", "min ESS", "ESS/s", "R-hat", "accept", "h", "max|Δmean|/sd"
    );
    for r in &rows {
        println!(
            "{:<24} {:>8.2} {:>10.0} {:>10.0} {:>8.3} {:>8.3} {:>10.2e} {:>14.3}",
            r.name,
            r.secs,
            r.ess,
            r.ess / r.secs,
            r.rhat,
            r.accept,
            r.h,
            r.mean_dev
        );
    }
    if reference.is_none() {
        println!(
            "\n(no reference with {d} coefficients at {REFERENCE}; run with --reference to create it)"
        );
    } else {
        println!(
            "\nΔmean: largest deviation over coefficients of the posterior mean from the long \
             reference run, in reference posterior sds; the Monte Carlo error of one mean is \
             ≈ 1/sqrt(ESS) sd (0.1 sd at ESS 100), ULA adds its O(h) bias."
        );
    }
    let names: Vec<String> = (0..d)
        .map(|j| {
            if j == 0 {
                "intercept".to_string()
            } else {
                format!("beta[{j}]")
            }
        })
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    println!("\nPreconditioned MALA, first 6 coefficients:");
    let table = tr_pmala.summary(Some(&names))?;
    let text = format!("{table}");
    for line in text.lines().take(7) {
        println!("{line}");
    }

    #[cfg(feature = "plot")]
    {
        use langevin::plot::Plot;
        // β₁ (the first standardised feature, nearly collinear with others).
        let j = 1;
        println!();
        for (file, name, tr) in [
            ("mala", "MALA (adapted h)", &tr_mala),
            ("pmala", "precond. MALA (dense M)", &tr_pmala),
            ("ula", "ULA (h of MALA)", &tr_ula),
        ] {
            let chains = tr.coordinate_chains(j);
            let trace_png =
                std::env::temp_dir().join(format!("langevin-logistic_regression-trace-{file}.png"));
            let acf_png =
                std::env::temp_dir().join(format!("langevin-logistic_regression-acf-{file}.png"));
            let done = Plot::new(900, 400)
                .title(format!("{name}: trace of beta[{j}], 4 chains"))
                .trace(&trace_png, &chains)
                .and_then(|()| {
                    Plot::new(800, 400)
                        .title(format!("{name}: autocorrelation of beta[{j}], chain 0"))
                        .autocorrelation(&acf_png, &chains[0], 300)
                });
            match done {
                Ok(()) => println!("wrote {} and {}", trace_png.display(), acf_png.display()),
                Err(e) => println!("could not write the {file} plots: {e}"),
            }
        }
    }
    Ok(())
}

fn write_reference(
    post: &LogisticPosterior<f64>,
    init: &[Vec<f64>],
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let d = post.dim();
    let pmala = PrecondMala::identity(post.clone(), 1e-3)?;
    let t = Instant::now();
    let trace = Sampler::new(100_000)
        .chains(8)
        .warmup(5_000)
        .seed(2024)
        .run_with(
            &pmala,
            init,
            &WindowedAdaptation::new(MetricAdaptation::Dense),
            &(),
        )?;
    let mean = trace.mean();
    let var = trace.variance();
    let mut out = String::new();
    out.push_str(&format!(
        "# Posterior of Bayesian logistic regression on examples/data/breast_cancer.csv\n\
         # (standardised features + intercept, prior N(0, {PRIOR_SD}^2 I)).\n\
         # Preconditioned MALA from M = I with windowed dense adaptation, 8 chains x 100000 draws after 5000 warm-up, seed 2024:\n\
         # cargo run --release --example logistic_regression -- --reference\n\
         # min bulk ESS {:.0}, max R-hat {:.4}, acceptance {:.3}, {:.1} s\n\
         # coefficient  mean  sd\n",
        trace.min_ess_bulk()?,
        trace.max_rhat()?,
        trace.mean_accept_prob(),
        t.elapsed().as_secs_f64()
    ));
    for j in 0..d {
        out.push_str(&format!("{j} {:.8e} {:.8e}\n", mean[j], var[j].sqrt()));
    }
    std::fs::write(REFERENCE, out)?;
    println!("wrote {REFERENCE}");
    Ok(())
}
