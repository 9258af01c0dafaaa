//! The [`Observer`] hook: called at every transition of every chain.

use crate::mcmc::StepInfo;

/// Called by the driver at every transition of every chain — the hook for progress bars and
/// custom recording. Chains run in parallel, so methods take `&self` (use atomics or a mutex
/// inside). Every method has a no-op default; `()` observes nothing.
pub trait Observer<T>: Sync {
    /// Before any chain starts: the number of chains and of transitions per chain.
    fn on_start(&self, chains: usize, iterations_per_chain: usize) {
        let _ = (chains, iterations_per_chain);
    }
    /// After transition `iteration` (0-based, warm-up included) of chain `chain`, with the
    /// new position `x`.
    fn on_step(&self, chain: usize, iteration: usize, warmup: bool, info: &StepInfo, x: &[T]) {
        let _ = (chain, iteration, warmup, info, x);
    }
    /// When chain `chain` has finished (successfully or not).
    fn on_chain_end(&self, chain: usize) {
        let _ = chain;
    }
    /// After every chain has ended, before the run returns (also when it failed): the place
    /// to finish drawing (e.g. clear progress bars so later output starts on a fresh line).
    fn on_finish(&self) {}
}

impl<T> Observer<T> for () {}
