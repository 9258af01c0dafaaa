//! `Trace::config` records how a run was made, and `CmdStanCsv` writes it by itself (issue 10,
//! item 9): round trip through `read_cmdstan_csv`.

use langevin::export::{CmdStanCsv, read_cmdstan_csv};
use langevin::mcmc::PrecondMala;
use langevin::prelude::*;
use langevin::targets::Gaussian;

/// Bug it catches: a CSV that says `num_warmup = 0` after 300 warm-up iterations, `thin = 1`
/// for a thinned run, no seed, and omits the adapted metric (the state before this change,
/// when the writer knew only what `run_config` was told) — and any loss of precision in the
/// adapted step or metric (both must come back bit for bit).
#[test]
fn csv_writes_the_run_configuration_and_adapted_metric() {
    let target = Gaussian::<f64>::diagonal(vec![0.0; 3], vec![0.25, 1.0, 4.0]).unwrap();
    let trace = Sampler::new(200)
        .chains(2)
        .warmup(300)
        .thin(2)
        .seed(77)
        .run(&PrecondMala::auto(target).unwrap(), &[vec![0.0; 3]])
        .unwrap();
    let cfg = &trace.config;
    assert_eq!(
        (cfg.draws, cfg.warmup, cfg.thin, cfg.seed, cfg.chains),
        (200, 300, 2, 77, 2)
    );
    assert_eq!(cfg.sampler, "precond_mala (diagonal metric) (adaptive)");
    assert_eq!(cfg.parameters[0].0, "step_size");
    assert_eq!(cfg.chain_wall_time.len(), 2);
    for chain in 0..2 {
        let mut buf = Vec::new();
        CmdStanCsv::new()
            .write_chain(&trace, chain, &mut buf)
            .unwrap();
        let back = read_cmdstan_csv(&buf[..]).unwrap();
        assert_eq!(back.config("num_warmup").as_deref(), Some("300"));
        assert_eq!(back.config("thin").as_deref(), Some("2"));
        assert_eq!(back.config("seed").as_deref(), Some("77"));
        assert_eq!(back.config("num_chains").as_deref(), Some("2"));
        // CmdStan's num_samples counts iterations: 200 kept draws at thin 2.
        assert_eq!(back.config("num_samples").as_deref(), Some("400"));
        assert_eq!(
            back.config("sampler").as_deref(),
            Some("precond_mala (diagonal metric) (adaptive)")
        );
        let h: f64 = back.config("Step size").unwrap().parse().unwrap();
        assert_eq!(
            h.to_bits(),
            trace.adapted_step_size.as_ref().unwrap()[chain].to_bits()
        );
        let m = back.inverse_metric().unwrap();
        let want = &trace.adapted_mass.as_ref().unwrap()[chain];
        assert_eq!(m.len(), 3);
        assert!(m.iter().zip(want).all(|(a, b)| a.to_bits() == b.to_bits()));
        assert_eq!(back.rows.len(), 200);
    }
}

/// A dense metric is written as d rows and read back row-major; `run_config` still overrides
/// the recorded values (for traces assembled by hand).
#[test]
fn dense_metric_and_override() {
    use langevin::adapt::{Adaptive, MetricAdaptation, WindowedAdaptation};
    let target = Gaussian::<f64>::full(vec![0.0, 0.0], &[1.0, 0.5, 0.5, 2.0]).unwrap();
    let k = Adaptive::new(
        PrecondMala::identity(target, 0.5).unwrap(),
        WindowedAdaptation::new(MetricAdaptation::Dense).dense_min_draws_per_dim(0),
    );
    let trace = Sampler::new(100)
        .chains(1)
        .warmup(400)
        .seed(3)
        .run(&k, &[vec![0.0; 2]])
        .unwrap();
    let mut buf = Vec::new();
    CmdStanCsv::new().write_chain(&trace, 0, &mut buf).unwrap();
    let back = read_cmdstan_csv(&buf[..]).unwrap();
    let m = back.inverse_metric().unwrap();
    assert_eq!(m, trace.adapted_mass.as_ref().unwrap()[0]);
    assert_eq!(m.len(), 4);
    let mut buf = Vec::new();
    CmdStanCsv::new()
        .run_config(10, 1, 5)
        .write_chain(&trace, 0, &mut buf)
        .unwrap();
    let back = read_cmdstan_csv(&buf[..]).unwrap();
    assert_eq!(back.config("num_warmup").as_deref(), Some("10"));
    assert_eq!(back.config("seed").as_deref(), Some("5"));
}
