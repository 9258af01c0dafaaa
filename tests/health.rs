//! The health report of a run (`Trace::check`), strict mode (`Sampler::strict`), and MALA's
//! energy-error divergence criterion (`langevin::mcmc::DIVERGENCE_LOG_RATIO`).
//!
//! These runs are deterministic (fixed seeds); the assertions are on failures that are
//! orders of magnitude away from their thresholds (acceptance exactly 0, R-hat > 1.5 against
//! 1.01, ESS of a handful against 400), so none is a borderline statistical test: the
//! measured values are in each test's comment.

use langevin::adapt::StepSizeAdaptation;
use langevin::diagnostics::health::HealthWarning;
use langevin::prelude::*;
use langevin::targets::{Funnel, Gaussian};

/// Bug it catches (issue 10, item 1): `Mala::new(target, 1e6)` returned `Ok` with acceptance
/// 0.000, 0 divergences and `min_ess_bulk()` equal to the number of draws — a chain that never
/// moved reported as a perfect sample. Before the health report, nothing flagged it and
/// `min_ess_bulk` returned 2000 (measured); now every chain is flagged (no acceptance,
/// constant) and the ESS is NaN.
#[test]
fn frozen_mala_is_flagged() {
    let mala = Mala::new(Gaussian::<f64>::standard(2).unwrap(), 1e6).unwrap();
    let trace = Sampler::new(500)
        .chains(4)
        .warmup(100)
        .seed(1)
        .run(&mala, &[vec![0.5, -0.5]])
        .unwrap();
    assert!(trace.acceptance() <= 0.0);
    let w = trace.warnings();
    for c in 0..4 {
        assert!(
            w.contains(&HealthWarning::NoAcceptance { chain: c }),
            "{w:?}"
        );
        assert!(
            w.contains(&HealthWarning::ConstantChain {
                chain: c,
                coordinates: 2,
                first: 0
            }),
            "{w:?}"
        );
    }
    assert!(trace.min_ess_bulk().unwrap().is_nan());
    // The energy-error criterion: log r ≈ −h‖∇log p‖²/4 ≈ −10⁵ on every proposal.
    assert_eq!(trace.total_divergences(), 4 * 600);
    assert!(
        w.iter()
            .any(|x| matches!(x, HealthWarning::Divergences { count: 2000, .. }))
    );
    // summary() prints the warnings under the table.
    let printed = format!("{}", trace.summary(None).unwrap());
    assert!(printed.contains("accepted no proposal"), "{printed}");
}

/// A healthy run has no warnings (guards against a report that always complains, which would
/// make every other test here pass vacuously).
#[test]
fn healthy_run_has_no_warnings() {
    let mala = Mala::new(Gaussian::<f64>::standard(3).unwrap(), 0.6).unwrap();
    let trace = Sampler::new(2_000)
        .chains(4)
        .warmup(200)
        .seed(3)
        .run(&mala, &[vec![0.0; 3]])
        .unwrap();
    assert!(trace.check().is_ok(), "{}", trace.check());
    let printed = format!("{}", trace.summary(None).unwrap());
    assert!(!printed.contains("warning"), "{printed}");
}

/// Bug it catches (issue 10, item 7): on the 10-d funnel, MALA + dual averaging reported 0
/// divergences while R-hat(v) was far above 1 and ESS(v) a handful. The report must flag it:
/// R-hat and ESS warnings on v, and the energy-error criterion now counts the proposals flung
/// out of the neck as divergences.
#[test]
fn funnel_is_flagged() {
    let funnel = Funnel::<f64>::new(10, 3.0).unwrap();
    let mala = Mala::new(funnel, 0.1).unwrap();
    let adapt = StepSizeAdaptation::new(0.574).unwrap();
    let trace = Sampler::new(2_000)
        .chains(4)
        .warmup(1_000)
        .seed(10)
        .run_with(&mala, &[vec![0.0; 10]], &adapt, &())
        .unwrap();
    let v = trace.coordinate_chains(0);
    let rhat_v = langevin::diagnostics::rhat_rank(&v).unwrap();
    let ess_v = langevin::diagnostics::ess_bulk(&v).unwrap();
    eprintln!(
        "funnel: R-hat(v) {rhat_v:.3}, ESS(v) {ess_v:.1}, divergences {} (warm-up {:?})\n{}",
        trace.total_divergences(),
        trace.warmup_divergences,
        trace.check()
    );
    // Measured at this seed: R-hat(v) 1.764, bulk ESS(v) 6.0, and 3 post-warm-up proposals
    // with log r < −1000 (26 with warm-up) — all three counted 0 before the energy-error
    // criterion, and the report did not exist.
    let w = trace.warnings();
    assert!(
        w.iter()
            .any(|x| matches!(x, HealthWarning::Divergences { count, .. } if *count > 0)),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|x| matches!(x, HealthWarning::HighRhat { .. })),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|x| matches!(x, HealthWarning::LowEssBulk { .. })),
        "{w:?}"
    );
}

/// Strict mode turns the warnings into `Error::Unhealthy`, carrying the report and the trace.
/// Bug it catches: a strict run that still returns `Ok` for a frozen chain, or loses the trace.
#[test]
fn strict_mode_returns_the_trace_in_the_error() {
    let mala = Mala::new(Gaussian::<f64>::standard(2).unwrap(), 1e6).unwrap();
    let s = Sampler::new(200).chains(2).warmup(0).seed(2);
    let err = s
        .clone()
        .strict(true)
        .run(&mala, &[vec![0.5; 2]])
        .unwrap_err();
    let Error::Unhealthy { report, .. } = &err else {
        panic!("{err}")
    };
    assert!(
        report
            .warnings
            .contains(&HealthWarning::NoAcceptance { chain: 1 })
    );
    let trace = Trace::<f64>::from_error(&err).unwrap();
    assert_eq!(trace.n_draws, 200);
    assert!(Trace::<f32>::from_error(&err).is_none());
    // Not strict: the same run is Ok, bit-identical draws.
    let ok = s.run(&mala, &[vec![0.5; 2]]).unwrap();
    assert_eq!(ok.chains, trace.chains);
    // A healthy strict run is Ok.
    let good = Mala::new(Gaussian::<f64>::standard(2).unwrap(), 0.8).unwrap();
    assert!(
        Sampler::new(2_000)
            .chains(4)
            .warmup(200)
            .seed(2)
            .strict(true)
            .run(&good, &[vec![0.0; 2]])
            .is_ok()
    );
}

/// The guide's section "When a run goes wrong" shows real output: the same two runs, printed
/// the same way, must appear verbatim in `docs/guide.md`. Bug it catches: the guide's printed
/// report drifting from what the code prints (a changed message, threshold or sampler).
#[test]
fn guide_output_is_real() {
    let guide = include_str!("../docs/guide.md");
    let mala = Mala::new(Gaussian::<f64>::standard(2).unwrap(), 1e6).unwrap();
    let trace = Sampler::new(1_000)
        .seed(1)
        .run(&mala, &[vec![0.5, -0.5]])
        .unwrap();
    let printed = format!("{}", trace.summary(None).unwrap());
    assert!(guide.contains(&printed), "guide lacks:\n{printed}");
    let funnel = Funnel::<f64>::new(10, 3.0).unwrap();
    let trace = Sampler::new(2_000)
        .seed(10)
        .run(&Mala::auto(funnel).unwrap(), &[vec![0.0; 10]])
        .unwrap();
    let printed = format!("{}", trace.check());
    assert!(guide.contains(&printed), "guide lacks:\n{printed}");
}
