//! The [`Observer`] hook: called at every transition of every chain.

use crate::mcmc::StepInfo;

/// Called by the driver at every transition of every chain — the hook for progress bars and
/// custom recording. Chains run in parallel, so methods take `&self` (use atomics or a mutex
/// inside). Every method has a no-op default; `()` observes nothing.
///
/// Observers compose: a tuple of up to four observers, a slice or `Vec` of observers (e.g.
/// `Vec<Box<dyn Observer<f64>>>`), a reference or a `Box` is an observer, so a progress bar
/// and a statistics recorder run together:
///
/// ```
/// use langevin::prelude::*;
/// use langevin::run::NoAdaptation;
/// use langevin::targets::Gaussian;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// /// Counts the transitions of every chain.
/// #[derive(Default)]
/// struct Steps(AtomicUsize);
/// impl Observer<f64> for Steps {
///     fn on_step(&self, _: usize, _: usize, _: bool, _: &StepInfo, _: &[f64]) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///     }
/// }
///
/// let mala = Mala::new(Gaussian::<f64>::standard(2)?, 0.5)?;
/// let (a, b) = (Steps::default(), Steps::default());
/// let others: Vec<Box<dyn Observer<f64>>> = vec![Box::new(Steps::default())];
/// Sampler::new(100).chains(2).warmup(50).seed(1)
///     .run_with(&mala, &[vec![0.0; 2]], &NoAdaptation, &(&a, &b, others))?;
/// assert_eq!(a.0.load(Ordering::Relaxed), 2 * 150);
/// assert_eq!(b.0.load(Ordering::Relaxed), 2 * 150);
/// # Ok::<(), langevin::Error>(())
/// ```
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

/// A reference to an observer observes like the observer.
impl<T, O: Observer<T> + ?Sized> Observer<T> for &O {
    fn on_start(&self, chains: usize, iterations_per_chain: usize) {
        (**self).on_start(chains, iterations_per_chain)
    }
    fn on_step(&self, chain: usize, iteration: usize, warmup: bool, info: &StepInfo, x: &[T]) {
        (**self).on_step(chain, iteration, warmup, info, x)
    }
    fn on_chain_end(&self, chain: usize) {
        (**self).on_chain_end(chain)
    }
    fn on_finish(&self) {
        (**self).on_finish()
    }
}

/// A boxed observer (e.g. `Box<dyn Observer<f64>>`) observes like the observer.
impl<T, O: Observer<T> + ?Sized> Observer<T> for Box<O> {
    fn on_start(&self, chains: usize, iterations_per_chain: usize) {
        (**self).on_start(chains, iterations_per_chain)
    }
    fn on_step(&self, chain: usize, iteration: usize, warmup: bool, info: &StepInfo, x: &[T]) {
        (**self).on_step(chain, iteration, warmup, info, x)
    }
    fn on_chain_end(&self, chain: usize) {
        (**self).on_chain_end(chain)
    }
    fn on_finish(&self) {
        (**self).on_finish()
    }
}

/// A slice of observers is an observer: each callback goes to every element, in order (so
/// `Vec<Box<dyn Observer<f64>>>` composes observers chosen at run time).
impl<T, O: Observer<T>> Observer<T> for [O] {
    fn on_start(&self, chains: usize, iterations_per_chain: usize) {
        self.iter()
            .for_each(|o| o.on_start(chains, iterations_per_chain))
    }
    fn on_step(&self, chain: usize, iteration: usize, warmup: bool, info: &StepInfo, x: &[T]) {
        self.iter()
            .for_each(|o| o.on_step(chain, iteration, warmup, info, x))
    }
    fn on_chain_end(&self, chain: usize) {
        self.iter().for_each(|o| o.on_chain_end(chain))
    }
    fn on_finish(&self) {
        self.iter().for_each(|o| o.on_finish())
    }
}

/// A vector of observers observes like its slice.
impl<T, O: Observer<T>> Observer<T> for Vec<O> {
    fn on_start(&self, chains: usize, iterations_per_chain: usize) {
        self.as_slice().on_start(chains, iterations_per_chain)
    }
    fn on_step(&self, chain: usize, iteration: usize, warmup: bool, info: &StepInfo, x: &[T]) {
        self.as_slice().on_step(chain, iteration, warmup, info, x)
    }
    fn on_chain_end(&self, chain: usize) {
        self.as_slice().on_chain_end(chain)
    }
    fn on_finish(&self) {
        self.as_slice().on_finish()
    }
}

/// Tuples of observers are observers: `(progress_bars, my_stats)` runs both, each callback
/// going to the elements in order.
macro_rules! tuple_observer {
    ($($name:ident $idx:tt),+) => {
        impl<T, $($name: Observer<T>),+> Observer<T> for ($($name,)+) {
            fn on_start(&self, chains: usize, iterations_per_chain: usize) {
                $(self.$idx.on_start(chains, iterations_per_chain);)+
            }
            fn on_step(&self, chain: usize, iteration: usize, warmup: bool, info: &StepInfo, x: &[T]) {
                $(self.$idx.on_step(chain, iteration, warmup, info, x);)+
            }
            fn on_chain_end(&self, chain: usize) {
                $(self.$idx.on_chain_end(chain);)+
            }
            fn on_finish(&self) {
                $(self.$idx.on_finish();)+
            }
        }
    };
}
tuple_observer!(A 0);
tuple_observer!(A 0, B 1);
tuple_observer!(A 0, B 1, C 2);
tuple_observer!(A 0, B 1, C 2, D 3);
