//! Effective sample size per gradient evaluation of the crate's Langevin samplers on three
//! benchmark targets — the table of the guide's "choosing a sampler" chapter.
//!
//! Targets:
//! * Neal's funnel in d = 10 (`Funnel::new(10, 3.0)`): `v ~ N(0, 9)`, `xᵢ | v ~ N(0, eᵛ)`;
//! * Bayesian logistic regression on the breast-cancer data (d = 31, prior N(0, I),
//!   `examples/data/breast_cancer.csv`, as in the `logistic_regression` example);
//! * the 8-mode ring `GaussianMixture::ring(8, 2.0, 0.5)` in ℝ² (adjacent modes 3 sd apart,
//!   so local samplers can cross between them).
//!
//! Samplers (4 chains, 1000 warm-up + 4000 draws each, dispersed starts, seed 2026):
//! * ULA at MALA's adapted step (biased: no correction);
//! * MALA, step by dual averaging to acceptance 0.574;
//! * preconditioned MALA, diagonal metric and step in Stan's windows (0.574);
//! * MALT, step by dual averaging to 0.65 with the integration time τ = L·h and friction γ
//!   fixed per target (funnel τ = 3, γ = 0.5; logistic τ = 1, γ = 1; ring τ = 2, γ = 1);
//! * MALT (diag): the same with a diagonal mass `M⁻¹ ≈ diag Cov` and the step adapted in
//!   Stan's windows (the same τ, γ);
//! * MALT (auto): `Malt::auto`, the step by dual averaging to 0.65 and the integration time
//!   and friction adapted from the warm-up draws (`τ = 2.8196 σ̂_max`, `γ = 2/σ̂_max`);
//! * Barker's proposal with a diagonal preconditioner, step by dual averaging to 0.4.
//!
//! ESS is the minimum bulk ESS over coordinates (rank-normalised, all chains); "gradients"
//! counts every score evaluation of the run, warm-up included (a counting wrapper around the
//! target). For ULA the ESS is of a biased chain. Run:
//! `cargo run --release --example ess_per_gradient` (≈ 1 minute).

use langevin::adapt::{MetricAdaptation, StepSizeAdaptation, WindowedAdaptation};
use langevin::mcmc::{Barker, Malt, Metric, PrecondMala};
use langevin::prelude::*;
use langevin::run::Adaptation;
use langevin::targets::{Funnel, GaussianMixture, LogisticPosterior};
use std::sync::atomic::{AtomicU64, Ordering};

const DATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/data/breast_cancer.csv"
);
const CHAINS: usize = 4;
const WARMUP: usize = 1_000;
const DRAWS: usize = 4_000;
const SEED: u64 = 2026;

/// A target that counts its score evaluations (fused or not).
struct Counted<P> {
    inner: P,
    grads: AtomicU64,
}

impl<P> Counted<P> {
    fn new(inner: P) -> Self {
        Self {
            inner,
            grads: AtomicU64::new(0),
        }
    }
    fn take(&self) -> u64 {
        self.grads.swap(0, Ordering::Relaxed)
    }
}
impl<P: Target> Target for Counted<P> {
    type Scalar = P::Scalar;
    fn dim(&self) -> usize {
        self.inner.dim()
    }
}
impl<P: LogDensity> LogDensity for Counted<P> {
    fn log_density(&self, x: &[P::Scalar]) -> P::Scalar {
        self.inner.log_density(x)
    }
}
impl<P: Score> Score for Counted<P> {
    fn score_into(&self, x: &[P::Scalar], out: &mut [P::Scalar]) {
        self.grads.fetch_add(1, Ordering::Relaxed);
        self.inner.score_into(x, out)
    }
    fn log_density_and_score(&self, x: &[P::Scalar], out: &mut [P::Scalar]) -> Option<P::Scalar> {
        let r = self.inner.log_density_and_score(x, out);
        if r.is_some() {
            self.grads.fetch_add(1, Ordering::Relaxed);
        }
        r
    }
}

fn load_logistic() -> Result<LogisticPosterior<f64>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(DATA)?;
    let mut lines = text.lines();
    let header: Vec<usize> = lines
        .next()
        .ok_or("empty data file")?
        .split(',')
        .take(2)
        .map(|v| v.trim().parse())
        .collect::<Result<_, _>>()?;
    let (n, k) = (header[0], header[1]);
    let (mut feats, mut labels) = (Vec::with_capacity(n * k), Vec::with_capacity(n));
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let vals: Vec<f64> = line
            .split(',')
            .map(|v| v.trim().parse())
            .collect::<Result<_, _>>()?;
        feats.extend_from_slice(&vals[..k]);
        labels.push(vals[k]);
    }
    let x = LogisticPosterior::standardized_design(&feats, n);
    Ok(LogisticPosterior::new(x, labels, 1.0)?)
}

struct Row {
    sampler: &'static str,
    ess: f64,
    grads: u64,
    accept: f64,
    rhat: f64,
    h: f64,
}

fn run<K, A>(
    sampler: &'static str,
    kernel: &K,
    adapt: &A,
    count: &dyn Fn() -> u64,
    init_sd: f64,
) -> Result<Row, Box<dyn std::error::Error>>
where
    K: Kernel<Scalar = f64>,
    A: Adaptation<K>,
{
    let d = kernel.dim();
    count();
    let trace = Sampler::new(DRAWS)
        .chains(CHAINS)
        .warmup(WARMUP)
        .seed(SEED)
        .run_from(
            kernel,
            |_, rng| {
                (0..d)
                    .map(|_| init_sd * f64::standard_normal(rng))
                    .collect()
            },
            adapt,
            &(),
        )?;
    let hs = trace.adapted_step_size.clone().unwrap_or_default();
    let h = if hs.is_empty() {
        f64::NAN
    } else {
        hs.iter().sum::<f64>() / hs.len() as f64
    };
    Ok(Row {
        sampler,
        ess: trace.min_ess_bulk()?,
        grads: count(),
        accept: trace.mean_accept_prob(),
        rhat: trace.max_rhat()?,
        h,
    })
}

fn table<P>(
    name: &str,
    target: P,
    malt: (f64, f64),
    init_sd: f64,
) -> Result<(), Box<dyn std::error::Error>>
where
    P: LogDensity<Scalar = f64> + Score + Sync,
{
    let t = Counted::new(target);
    let count = || t.take();
    let d = t.dim();
    let mut rows = Vec::new();

    let mala = Mala::new(&t, 0.01)?;
    let row = run(
        "MALA",
        &mala,
        &StepSizeAdaptation::new(0.574)?,
        &count,
        init_sd,
    )?;
    let h_mala = row.h;
    rows.push(row);

    let ula = Ula::new(&t, h_mala)?;
    let mut row = run(
        "ULA (h of MALA)",
        &ula,
        &langevin::run::NoAdaptation,
        &count,
        init_sd,
    )?;
    row.h = h_mala;
    rows.push(row);

    let pmala = PrecondMala::new(&t, 0.01, Metric::identity(d)?)?;
    let wa = WindowedAdaptation::new(MetricAdaptation::Diagonal).target_accept(0.574)?;
    rows.push(run("precond. MALA (diag)", &pmala, &wa, &count, init_sd)?);

    let (tau, gamma) = malt;
    let l0 = 10;
    let m = Malt::new(&t, tau / l0 as f64, l0, gamma)?;
    rows.push(run(
        "MALT",
        &m,
        &StepSizeAdaptation::new(0.65)?,
        &count,
        init_sd,
    )?);
    let wa = WindowedAdaptation::new(MetricAdaptation::Diagonal).target_accept(0.65)?;
    rows.push(run("MALT (diag)", &m, &wa, &count, init_sd)?);
    rows.push(run(
        "MALT (auto: h, τ, γ)",
        &Malt::auto(&t)?,
        &langevin::run::NoAdaptation,
        &count,
        init_sd,
    )?);

    let barker = Barker::new(&t, 0.1, Metric::identity(d)?)?;
    let wa = WindowedAdaptation::new(MetricAdaptation::Diagonal).target_accept(0.4)?;
    rows.push(run("Barker (diag)", &barker, &wa, &count, init_sd)?);

    println!("\n{name} (d = {d})");
    println!(
        "{:<22} {:>9} {:>10} {:>12} {:>7} {:>7} {:>9}",
        "sampler", "min ESS", "gradients", "ESS/1000 g", "accept", "R-hat", "h"
    );
    for r in rows {
        println!(
            "{:<22} {:>9.1} {:>10} {:>12.3} {:>7.3} {:>7.3} {:>9.4}",
            r.sampler,
            r.ess,
            r.grads,
            1000.0 * r.ess / r.grads as f64,
            r.accept,
            r.rhat,
            r.h
        );
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "ESS per gradient: {CHAINS} chains × ({WARMUP} warm-up + {DRAWS} draws), seed {SEED}; \
         gradients include warm-up"
    );
    table(
        "10-d funnel, scale 3",
        Funnel::new(10, 3.0)?,
        (3.0, 0.5),
        1.0,
    )?;
    table(
        "logistic regression, breast cancer",
        load_logistic()?,
        (1.0, 1.0),
        0.1,
    )?;
    table(
        "8-mode ring, radius 2, std 0.5",
        GaussianMixture::ring(8, 2.0, 0.5)?,
        (2.0, 1.0),
        2.0,
    )?;
    Ok(())
}
