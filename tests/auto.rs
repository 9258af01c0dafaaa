//! Adapt by default: `Mala::auto` / `PrecondMala::auto` (`langevin::adapt::Adaptive`) adapt
//! during warm-up through the kernel's warm-up hooks, with a plain `Sampler::run`, and stay
//! frozen afterwards.

use langevin::adapt::{Adaptive, MetricAdaptation, StepSizeAdaptation, WindowedAdaptation};
use langevin::mcmc::{PrecondMala, TunableStepSize};
use langevin::prelude::*;
use langevin::rng::stream;
use langevin::targets::Gaussian;

/// The one-liner is exactly the explicit `run_with(…, &StepSizeAdaptation::new(0.574)?, &())`
/// from `h = 1.361 d^(−1/3)`: same draws bit for bit, same adapted steps. Bug it catches: a
/// driver that never calls the kernel's warm-up hooks (the one-liner would then run at the
/// initial step, and `adapted_step_size` would be `None`), or hooks called in another order
/// than the explicit adaptation's.
#[test]
fn one_liner_equals_explicit_adaptation() {
    let d = 10;
    let target = Gaussian::<f64>::standard(d).unwrap();
    let s = Sampler::new(1_000).chains(3).warmup(500).seed(9);
    let auto = s
        .run(&Mala::auto(target.clone()).unwrap(), &[vec![0.3; d]])
        .unwrap();
    let h0 = 1.361 * (d as f64).powf(-1.0 / 3.0);
    let mala = Mala::new(target, h0).unwrap();
    let adapt = StepSizeAdaptation::new(0.574).unwrap();
    let explicit = s.run_with(&mala, &[vec![0.3; d]], &adapt, &()).unwrap();
    assert_eq!(auto.chains, explicit.chains);
    assert_eq!(auto.adapted_step_size, explicit.adapted_step_size);
    let h = auto.adapted_step_size.as_ref().unwrap();
    assert!(h.iter().all(|&h| (h - h0).abs() > 1e-3), "{h:?}");
    assert!((auto.mean_accept_prob() - 0.574).abs() < 0.1);
}

/// Frozen after warm-up: once `warmup_finish` has run, further transitions and even stray
/// `warmup_adapt` calls change neither the step size nor anything else about the kernel.
/// Bug it catches: an adaptive kernel that keeps adapting while the draws are recorded
/// (breaking invariance), e.g. an `Adaptive` that forgets to drop its adaptation state.
#[test]
fn adaptation_is_frozen_after_warmup() {
    let k = Mala::auto(Gaussian::<f64>::standard(4).unwrap()).unwrap();
    let mut s = k.init(&[0.0; 4], 0).unwrap();
    let mut rng = stream(1, 0);
    let h_start = TunableStepSize::step_size(k.kernel(), s.inner());
    k.warmup_start(&mut s, 300);
    for it in 0..300 {
        let info = k.step(&mut s, &mut rng).unwrap();
        k.warmup_adapt(&mut s, it, &info);
    }
    let tuned = k.warmup_finish(&mut s);
    assert!(s.is_frozen());
    let h = TunableStepSize::step_size(k.kernel(), s.inner());
    assert_eq!(tuned.step_size, Some(h));
    assert!((h - h_start).abs() > 1e-6, "warm-up did not adapt: {h}");
    for it in 0..500 {
        let info = k.step(&mut s, &mut rng).unwrap();
        k.warmup_adapt(&mut s, 300 + it, &info); // must be a no-op now
        assert_eq!(
            TunableStepSize::step_size(k.kernel(), s.inner()).to_bits(),
            h.to_bits()
        );
    }
    // A second warm-up cannot restart it either, and finishing again reports nothing.
    k.warmup_start(&mut s, 10);
    assert_eq!(k.warmup_finish(&mut s), Default::default());
    assert_eq!(
        TunableStepSize::step_size(k.kernel(), s.inner()).to_bits(),
        h.to_bits()
    );
}

/// `PrecondMala::auto` adapts the diagonal metric through the Stan windows: identical to the
/// explicit `WindowedAdaptation::new(MetricAdaptation::Diagonal)` run, and the metric learns
/// scales 0.1 … 10 (variance ratio 10⁴; measured ratio of the adapted diagonal > 10³).
#[test]
fn precond_auto_learns_the_metric() {
    let target = Gaussian::<f64>::diagonal(vec![0.0; 3], vec![0.01, 1.0, 100.0]).unwrap();
    let s = Sampler::new(500).chains(2).warmup(1_000).seed(8);
    let auto = s
        .run(&PrecondMala::auto(target.clone()).unwrap(), &[vec![0.0; 3]])
        .unwrap();
    let h0 = 1.361 * 3f64.powf(-1.0 / 3.0);
    let explicit = s
        .run_with(
            &PrecondMala::identity(target.clone(), h0).unwrap(),
            &[vec![0.0; 3]],
            &WindowedAdaptation::new(MetricAdaptation::Diagonal),
            &(),
        )
        .unwrap();
    assert_eq!(auto.chains, explicit.chains);
    assert_eq!(auto.adapted_mass, explicit.adapted_mass);
    let m = &auto.adapted_mass.as_ref().unwrap()[0];
    assert!(m[2] / m[0] > 1e3, "{m:?}");
    // Any kernel and adaptation bundle the same way.
    let custom = Adaptive::new(
        Mala::new(target, 0.01).unwrap(),
        StepSizeAdaptation::new(0.7).unwrap(),
    );
    let t = s.run(&custom, &[vec![0.0; 3]]).unwrap();
    assert!(t.adapted_step_size.is_some());
}

/// Fixed-step runs stay available and are not adapted.
#[test]
fn fixed_step_is_not_adapted() {
    let mala = Mala::new(Gaussian::<f64>::standard(2).unwrap(), 0.5).unwrap();
    let t = Sampler::new(100)
        .chains(2)
        .warmup(100)
        .seed(1)
        .run(&mala, &[vec![0.0; 2]])
        .unwrap();
    assert!(t.adapted_step_size.is_none());
}
