//! Progress bars for long runs (feature `progress`, crate
//! [indicatif](https://docs.rs/indicatif)): one bar per chain with draws per second,
//! acceptance rate and divergence count, through the [`Observer`] hook.
//!
//! [`ProgressBars::new`] draws on standard error only when it is a terminal
//! ([`std::io::IsTerminal`]); redirected to a file or a CI log it prints nothing and the
//! observer costs a few atomic increments per transition. Bars are redrawn at most every
//! 100 ms (10 Hz), and each chain's message is refreshed at most every 100 ms. Bars are shown
//! in chain order from the start; when the run ends they are replaced by one summary line per
//! chain, each ending in a newline, so output printed after the run starts on a fresh line.
//! Combine the bars with other observers as a tuple: `&(bars, my_observer)`.
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

    /// One line per chain, in chain order, summarising the finished run (printed by
    /// [`Observer::on_finish`] in place of the bars).
    fn final_lines(&self) -> Vec<String> {
        let g = self.chains.read().unwrap_or_else(|e| e.into_inner());
        g.iter()
            .enumerate()
            .map(|(i, c)| {
                format!(
                    "{:>9} {:>7} it {}",
                    format!("chain {i}"),
                    c.steps.load(Ordering::Relaxed),
                    self.message(c, false)
                )
            })
            .collect()
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
        let bars: Vec<ChainBar> = (0..chains)
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
        // Give every bar its line now, in chain order: indicatif shows a bar only once it has
        // drawn, so bars would otherwise appear in the order their chains first ticked.
        if self.enabled {
            for b in &bars {
                b.bar.tick();
            }
        }
        *self.chains.write().unwrap_or_else(|e| e.into_inner()) = bars;
        *self.multi.write().unwrap_or_else(|e| e.into_inner()) = Some(multi);
    }

    fn on_finish(&self) {
        if !self.enabled {
            return;
        }
        // Replace the live bars by plain lines, each ending in a newline, in chain order: the
        // terminal cursor then sits at the start of a fresh line, so whatever the program
        // prints next does not land on a bar's line.
        if let Some(m) = self
            .multi
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            let _ = m.clear();
        }
        for line in self.final_lines() {
            eprintln!("{line}");
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The end-of-run summary has one line per chain, in chain order, with each chain's count
    /// (before: nothing replaced the bars and no line order was guaranteed).
    #[test]
    fn final_lines_are_in_chain_order() {
        let bars = ProgressBars::hidden();
        Observer::<f64>::on_start(&bars, 3, 10);
        let info = StepInfo::new(true, 1.0, false);
        for (c, n) in [(2, 5), (0, 7), (1, 1)] {
            for it in 0..n {
                Observer::<f64>::on_step(&bars, c, it, false, &info, &[]);
            }
        }
        let lines = bars.final_lines();
        assert_eq!(lines.len(), 3);
        for (c, n) in [(0, 7), (1, 1), (2, 5)] {
            assert!(
                lines[c].trim_start().starts_with(&format!("chain {c}")),
                "{lines:?}"
            );
            assert!(lines[c].contains(&format!(" {n} it ")), "{lines:?}");
        }
    }
}
