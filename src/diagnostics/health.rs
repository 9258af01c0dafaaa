//! The health report of a run: typed warnings, their thresholds, and the report that
//! collects them (computed by `Trace::check`, printed under `Trace::summary`'s table, and
//! turned into an error by `Sampler::strict`).
//!
//! The types are plain data so that the crate's [`crate::Error`] can carry a report; the
//! checks themselves are made on a trace by `langevin::Trace::check_with`.
//!
//! # Thresholds (defaults of [`HealthThresholds`])
//!
//! | check | warns when | default | source |
//! |---|---|---|---|
//! | acceptance | a chain's post-warm-up acceptance rate is `< min_acceptance` | 0.1 | MALA's optimum is 0.574 (Roberts & Rosenthal 1998); below 0.1 the chain mostly stands still |
//! | no acceptance | a chain accepted nothing after warm-up | — | a chain that never moves is not a sample |
//! | constant chain | a coordinate of a chain takes one value over all its draws | — | its ESS is not "n" (see below) |
//! | R-hat | rank-normalised split R-hat `> max_rhat` for a coordinate | 1.01 | Vehtari et al. (2021), §4 |
//! | bulk / tail ESS | `< min_ess_per_chain × chains` for a coordinate | 100 per chain | Vehtari et al. (2021), §4 ("ESS > 400" for 4 chains) |
//! | divergences | any divergent transition after warm-up | 0 | Stan's rule: any divergence after warm-up biases the draws |
//! | unstable step | the kernel's step `h` is at or beyond its known stability bound (ULA on a target with an exact score Lipschitz constant `L`: `h ≥ 2/L`, on `N(m, Σ)` `h ≥ 2 λ_min(Σ)`) | — | the mean recursion `(I − hΣ⁻¹)` of ULA on a Gaussian expands (Roberts & Tweedie 1996, §3) |
//!
//! # Constant chains and ESS: where this crate differs from ArviZ
//!
//! ArviZ's `ess` returns the number of draws `n` for a constant array (and `rhat` is
//! undefined there). A chain that never moved carries no information about the target, so
//! the trace-level figures of this crate (`Trace::min_ess_bulk`) return NaN when a chain is
//! constant in some coordinate, and the health report flags it
//! ([`HealthWarning::ConstantChain`]). The slice-level functions of [`crate::diagnostics`]
//! keep ArviZ's convention, so that they agree with ArviZ to 1e-14.
//!
//! # References
//! * Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), Rank-normalization, folding, and
//!   localization: an improved R-hat for assessing convergence of MCMC, *Bayesian Analysis*
//!   16(2):667–718.
//! * Stan Development Team, *Stan Reference Manual*, "Divergent transitions".
//! * G. O. Roberts, R. L. Tweedie (1996), Exponential convergence of Langevin distributions and
//!   their discrete approximations, *Bernoulli* 2(4):341–363.

use core::fmt;

/// The thresholds of the health report (see the [module docs](self) for their sources).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct HealthThresholds {
    /// A chain whose post-warm-up acceptance rate is below this is flagged (default 0.1).
    pub min_acceptance: f64,
    /// A coordinate whose rank-normalised split R-hat exceeds this is flagged (default 1.01).
    pub max_rhat: f64,
    /// A coordinate whose bulk or tail ESS is below this many draws *per chain* is flagged
    /// (default 100).
    pub min_ess_per_chain: f64,
}

impl Default for HealthThresholds {
    fn default() -> Self {
        Self {
            min_acceptance: 0.1,
            max_rhat: 1.01,
            min_ess_per_chain: 100.0,
        }
    }
}

impl HealthThresholds {
    /// Sets the minimum acceptance rate.
    pub fn min_acceptance(mut self, v: f64) -> Self {
        self.min_acceptance = v;
        self
    }
    /// Sets the maximum R-hat.
    pub fn max_rhat(mut self, v: f64) -> Self {
        self.max_rhat = v;
        self
    }
    /// Sets the minimum bulk / tail ESS per chain.
    pub fn min_ess_per_chain(mut self, v: f64) -> Self {
        self.min_ess_per_chain = v;
        self
    }
}

/// One thing wrong with a run.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum HealthWarning {
    /// A chain accepted no proposal after warm-up: it never moved.
    NoAcceptance {
        /// The chain.
        chain: usize,
    },
    /// A chain's post-warm-up acceptance rate is below the threshold.
    LowAcceptance {
        /// The chain.
        chain: usize,
        /// Its acceptance rate.
        rate: f64,
        /// The threshold.
        threshold: f64,
    },
    /// A chain is constant in some coordinates over all its draws.
    ConstantChain {
        /// The chain.
        chain: usize,
        /// How many coordinates are constant.
        coordinates: usize,
        /// The first constant coordinate.
        first: usize,
    },
    /// R-hat above the threshold: the chains disagree (not mixed, or not converged).
    HighRhat {
        /// The worst coordinate.
        coordinate: usize,
        /// Its R-hat.
        rhat: f64,
        /// How many coordinates exceed the threshold.
        coordinates: usize,
        /// The threshold.
        threshold: f64,
    },
    /// Bulk ESS below the threshold (total over chains).
    LowEssBulk {
        /// The worst coordinate.
        coordinate: usize,
        /// Its bulk ESS.
        ess: f64,
        /// How many coordinates fall below the threshold.
        coordinates: usize,
        /// The threshold (per-chain minimum × chains).
        threshold: f64,
    },
    /// Tail ESS (5 % and 95 % quantiles) below the threshold (total over chains).
    LowEssTail {
        /// The worst coordinate.
        coordinate: usize,
        /// Its tail ESS.
        ess: f64,
        /// How many coordinates fall below the threshold.
        coordinates: usize,
        /// The threshold (per-chain minimum × chains).
        threshold: f64,
    },
    /// Divergent transitions after warm-up.
    Divergences {
        /// Divergent transitions after warm-up, over all chains.
        count: usize,
        /// Post-warm-up transitions, over all chains.
        transitions: usize,
    },
    /// The kernel's step is at or beyond the largest step for which it is stable on its target
    /// (`Kernel::stability_bound`; for ULA `h ≥ 2/L`, with `L` the exact Lipschitz constant
    /// of the score — on `N(m, Σ)`, `h ≥ 2 λ_min(Σ)`, where the chain diverges geometrically).
    UnstableStep {
        /// The kernel's step size `h`.
        step_size: f64,
        /// The stability bound: stable only for `h` below it.
        max_step_size: f64,
    },
    /// R-hat or ESS could not be computed (e.g. fewer than 4 draws per chain, one chain for
    /// R-hat, non-finite draws): the run cannot be judged.
    Undiagnosable {
        /// Why.
        reason: String,
    },
}

impl fmt::Display for HealthWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoAcceptance { chain } => write!(
                f,
                "chain {chain} accepted no proposal after warm-up: it never moved (step far too large? adapt it)"
            ),
            Self::LowAcceptance {
                chain,
                rate,
                threshold,
            } => write!(
                f,
                "chain {chain}: acceptance {rate:.3} < {threshold} (step too large? adapt it)"
            ),
            Self::ConstantChain {
                chain,
                coordinates,
                first,
            } => write!(
                f,
                "chain {chain} is constant in {coordinates} coordinate(s) (first: x[{first}]); its draws carry no information"
            ),
            Self::HighRhat {
                coordinate,
                rhat,
                coordinates,
                threshold,
            } => write!(
                f,
                "R-hat {rhat:.3} > {threshold} at x[{coordinate}] ({coordinates} coordinate(s) above): chains have not mixed"
            ),
            Self::LowEssBulk {
                coordinate,
                ess,
                coordinates,
                threshold,
            } => write!(
                f,
                "bulk ESS {ess:.1} < {threshold} at x[{coordinate}] ({coordinates} coordinate(s) below): run longer or reparametrise"
            ),
            Self::LowEssTail {
                coordinate,
                ess,
                coordinates,
                threshold,
            } => write!(
                f,
                "tail ESS {ess:.1} < {threshold} at x[{coordinate}] ({coordinates} coordinate(s) below): tail quantiles unreliable"
            ),
            Self::Divergences { count, transitions } => write!(
                f,
                "{count} divergent transition(s) after warm-up (of {transitions}): the draws may be biased"
            ),
            Self::UnstableStep {
                step_size,
                max_step_size,
            } => write!(
                f,
                "step size {step_size} is at or beyond the kernel's stability bound {max_step_size} on this target (2/L, L the score's Lipschitz constant): the draws diverge or are meaningless; use a step below the bound"
            ),
            Self::Undiagnosable { reason } => write!(f, "cannot judge the run: {reason}"),
        }
    }
}

/// The warnings of a run (empty: nothing found).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HealthReport {
    /// The warnings, in a fixed order: an unstable step, per-chain acceptance and constancy,
    /// divergences, then R-hat and ESS.
    pub warnings: Vec<HealthWarning>,
}

impl HealthReport {
    /// No warning.
    pub fn is_ok(&self) -> bool {
        self.warnings.is_empty()
    }
}

impl fmt::Display for HealthReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.warnings.is_empty() {
            return write!(f, "no warnings");
        }
        writeln!(f, "{} warning(s):", self.warnings.len())?;
        for (i, w) in self.warnings.iter().enumerate() {
            if i + 1 < self.warnings.len() {
                writeln!(f, "  - {w}")?;
            } else {
                write!(f, "  - {w}")?;
            }
        }
        Ok(())
    }
}
