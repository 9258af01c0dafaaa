//! Progress bars for long runs (feature `progress`, crate
//! [indicatif](https://docs.rs/indicatif)): one bar per chain with draws per second,
//! acceptance rate and divergence count, through the [`Observer`] hook.
//!
//! [`ProgressBars::new`] draws on standard error only when it is a terminal
//! ([`std::io::IsTerminal`]); redirected to a file or a CI log it prints nothing and the
//! observer costs a few atomic increments per transition. Bars are redrawn at most every
//! 100 ms (10 Hz), and each chain's message is refreshed at most every 100 ms.
//!
//! ```
//! use langevin::prelude::*;
//! use langevin::progress::ProgressBars;
//! use langevin::run::NoAdaptation;
//! use langevin::targets::Gaussian;
//!
//! let mala = Mala::new(Gaussian::<f64>::standard(5)?, 0.4)?;
//! let bars = ProgressBars::new(); // silent here: doctest output is not a terminal
//! let trace = Sampler::new(2_000).chains(4).seed(1)
//!     .run_with(&mala, &[vec![0.0; 5]], &NoAdaptation, &bars)?;
//! let (steps, accepted, divergent) = bars.counts(0);
//! assert_eq!(steps, 1_000 + 2_000);   // warm-up + draws
//! assert!(accepted > 0 && divergent == 0);
//! # let _ = trace;
//! # Ok::<(), langevin::Error>(())
//! ```

use crate::mcmc::StepInfo;
use crate::run::Observer;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

const REFRESH_NS: u64 = 100_000_000;

#[derive(Debug)]
struct ChainBar {
    bar: ProgressBar,
    steps: AtomicU64,
    accepted: AtomicU64,
    divergent: AtomicU64,
    last_ns: AtomicU64,
    first_ns: AtomicU64,
}

/// An [`Observer`] showing one progress bar per chain (see the [module docs](self)).
#[derive(Debug)]
pub struct ProgressBars {
    enabled: bool,
    start: Instant,
    multi: RwLock<Option<MultiProgress>>,
    chains: RwLock<Vec<ChainBar>>,
}

impl Default for ProgressBars {
    fn default() -> Self {
        Self::new()
    }
}

impl ProgressBars {
    /// Bars on standard error when it is a terminal; silent otherwise.
    pub fn new() -> Self {
        Self::with_enabled(std::io::stderr().is_terminal())
    }
    /// Never draws, but still counts (see [`ProgressBars::counts`]).
    pub fn hidden() -> Self {
        Self::with_enabled(false)
    }
    fn with_enabled(enabled: bool) -> Self {
        Self {
            enabled,
            start: Instant::now(),
            multi: RwLock::new(None),
            chains: RwLock::new(Vec::new()),
        }
    }
    /// `true` when bars are drawn.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }
    /// `(transitions, accepted, divergent)` observed so far for `chain` (warm-up included).
    pub fn counts(&self, chain: usize) -> (u64, u64, u64) {
        let g = self.chains.read().unwrap_or_else(|e| e.into_inner());
        g.get(chain).map_or((0, 0, 0), |c| {
            (
                c.steps.load(Ordering::Relaxed),
                c.accepted.load(Ordering::Relaxed),
                c.divergent.load(Ordering::Relaxed),
            )
        })
    }

    fn message(&self, c: &ChainBar, warmup: bool) -> String {
        let s = c.steps.load(Ordering::Relaxed).max(1);
        let now = self.start.elapsed().as_nanos() as u64;
        let secs = (now.saturating_sub(c.first_ns.load(Ordering::Relaxed)) as f64 * 1e-9).max(1e-9);
        format!(
            "{:>9.0} it/s {} acc {:.3} div {}",
            s as f64 / secs,
            if warmup { "warmup  " } else { "sampling" },
            c.accepted.load(Ordering::Relaxed) as f64 / s as f64,
            c.divergent.load(Ordering::Relaxed)
        )
    }
}

impl<T> Observer<T> for ProgressBars {
    fn on_start(&self, chains: usize, iterations_per_chain: usize) {
        let multi = if self.enabled {
            MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10))
        } else {
            MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
        };
        let style = ProgressStyle::with_template(
            "{prefix:>9} [{elapsed_precise}] {bar:30.cyan/blue} {pos:>7}/{len:7} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        let bars = (0..chains)
            .map(|c| {
                let bar = if self.enabled {
                    multi.add(
                        ProgressBar::new(iterations_per_chain as u64)
                            .with_style(style.clone())
                            .with_prefix(format!("chain {c}")),
                    )
                } else {
                    ProgressBar::hidden()
                };
                ChainBar {
                    bar,
                    steps: AtomicU64::new(0),
                    accepted: AtomicU64::new(0),
                    divergent: AtomicU64::new(0),
                    last_ns: AtomicU64::new(0),
                    first_ns: AtomicU64::new(0),
                }
            })
            .collect();
        *self.chains.write().unwrap_or_else(|e| e.into_inner()) = bars;
        *self.multi.write().unwrap_or_else(|e| e.into_inner()) = Some(multi);
    }

    fn on_step(&self, chain: usize, iteration: usize, warmup: bool, info: &StepInfo, _x: &[T]) {
        let g = self.chains.read().unwrap_or_else(|e| e.into_inner());
        let Some(c) = g.get(chain) else { return };
        if c.steps.fetch_add(1, Ordering::Relaxed) == 0 && self.enabled {
            // The chain's first transition: its clock for the it/s figure starts here.
            c.first_ns
                .store(self.start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        }
        if info.accepted {
            c.accepted.fetch_add(1, Ordering::Relaxed);
        }
        if info.divergent {
            c.divergent.fetch_add(1, Ordering::Relaxed);
        }
        if !self.enabled {
            return;
        }
        let now = self.start.elapsed().as_nanos() as u64;
        let last = c.last_ns.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= REFRESH_NS
            && c.last_ns
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            c.bar.set_position(iteration as u64 + 1);
            c.bar.set_message(self.message(c, warmup));
        }
    }

    fn on_chain_end(&self, chain: usize) {
        let g = self.chains.read().unwrap_or_else(|e| e.into_inner());
        if let (Some(c), true) = (g.get(chain), self.enabled) {
            c.bar.set_position(c.steps.load(Ordering::Relaxed));
            c.bar.finish_with_message(self.message(c, false));
        }
    }
}
