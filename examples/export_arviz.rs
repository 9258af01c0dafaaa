//! Sample a constrained 2-parameter model with MALA and export the draws for ArviZ.
//!
//! ```text
//! cargo run --release --example export_arviz -- /tmp/langevin_out
//! python -c "import arviz as az; print(az.summary(az.from_cmdstan(posterior='/tmp/langevin_out/chain_*.csv')))"
//! ```

use langevin::export::{CmdStanCsv, DrawStats, write_npy};
use langevin::prelude::*;
use langevin::run::NoAdaptation;
use langevin::targets::{Independent, Univariate};
use langevin::transform::{Constrained, Constraint, Elementwise};
use statrs::distribution::{Beta, Gamma};

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| {
        std::env::temp_dir()
            .join("langevin_out")
            .display()
            .to_string()
    });
    // rate ~ Gamma(3, 2) on (0, ∞), p ~ Beta(2, 5) on (0, 1), sampled in unconstrained space.
    let model = Independent::new(vec![
        Box::new(Univariate::new(Gamma::new(3.0, 2.0)?)),
        Box::new(Univariate::new(Beta::new(2.0, 5.0)?)),
    ])?;
    let bij = Elementwise::new(vec![Constraint::Positive, Constraint::Interval(0.0, 1.0)])?;
    let z_model = Constrained::new(model, bij)?;
    let mala = Mala::new(&z_model, 0.3)?;
    let stats = DrawStats::new();
    let z0 = z_model.to_unconstrained(&[1.0, 0.3])?;
    let z_trace = Sampler::new(1_000)
        .chains(4)
        .warmup(500)
        .seed(2024)
        .run_with(&mala, &[z0], &NoAdaptation, &stats)?;
    let trace = z_trace.constrain(z_model.bijection());
    let paths = CmdStanCsv::new()
        .names(["rate", "p"])
        // CmdStan's lp__ is the log density of the unconstrained parameters, Jacobian
        // included: log p(T(z)) + log |det J_T(z)| at z = T⁻¹(x).
        .log_density(|x: &[f64]| {
            z_model
                .to_unconstrained(x)
                .map_or(f64::NAN, |z| z_model.log_density(&z))
        })
        .stats(&stats)
        .step_size(0.3)
        .run_config(500, 1, 2024)
        .write_files(&trace, &dir, "chain")?;
    write_npy(&trace, std::fs::File::create(format!("{dir}/draws.npy"))?)?;
    println!(
        "acceptance {:.3}; mean {:?}",
        trace.acceptance(),
        trace.mean()
    );
    for p in paths {
        println!("wrote {}", p.display());
    }
    Ok(())
}
