//! The warm-up [`Adaptation`] hook and [`NoAdaptation`].

use crate::mcmc::{Kernel, StepInfo};

/// A warm-up strategy: tunes a chain's kernel parameters (step size, preconditioner) during
/// warm-up, then freezes them, so the draws come from a fixed, valid Markov kernel.
pub trait Adaptation<K: Kernel>: Sync {
    /// The adaptation's per-chain state.
    type State: Send;
    /// Called once per chain before warm-up, with the number of warm-up iterations.
    fn start(&self, kernel: &K, chain: &mut K::State, warmup: usize) -> Self::State;
    /// Called after each warm-up transition.
    fn adapt(
        &self,
        kernel: &K,
        chain: &mut K::State,
        state: &mut Self::State,
        iteration: usize,
        info: &StepInfo,
    );
    /// Called at the end of warm-up: sets the final values and returns the adapted step size
    /// (reported in [`crate::Trace::adapted_step_size`]).
    fn finish(&self, kernel: &K, chain: &mut K::State, state: Self::State) -> Option<f64>;
    /// Called after [`Adaptation::finish`]: the adapted metric (mass matrix) of the chain, if
    /// the adaptation tunes one — its diagonal (length d) or the full matrix row-major
    /// (length d²) — reported in [`crate::Trace::adapted_mass`]. Defaults to `None`.
    fn adapted_metric(&self, kernel: &K, chain: &K::State) -> Option<Vec<f64>> {
        let _ = (kernel, chain);
        None
    }
}

/// No adaptation: the kernel's parameters are used as given.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAdaptation;

impl<K: Kernel> Adaptation<K> for NoAdaptation {
    type State = ();
    fn start(&self, _: &K, _: &mut K::State, _: usize) {}
    fn adapt(&self, _: &K, _: &mut K::State, _: &mut (), _: usize, _: &StepInfo) {}
    fn finish(&self, _: &K, _: &mut K::State, _: ()) -> Option<f64> {
        None
    }
}
