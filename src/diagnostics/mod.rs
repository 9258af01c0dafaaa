//! MCMC and sampler diagnostics on plain `f64` slices.
//!
//! Everything here is self-contained and works on draws stored as slices:
//!
//! * chains are passed as `&[C]` with `C: AsRef<[f64]>` (so `&[Vec<f64>]`,
//!   `&[&[f64]]`, `&[[f64; N]]` all work), one chain per element, all chains of
//!   equal length;
//! * multivariate samples (energy distance, kernel Stein discrepancy) are
//!   passed as flat row-major `n × d` slices plus the dimension `d`.
//!
//! Modules:
//!
//! * [`autocorr`]: FFT autocovariance / autocorrelation;
//! * [`transform`]: split chains, rank normalisation, the inverse normal CDF,
//!   quantiles;
//! * [`ess`] and [`rhat`]: bulk / tail / mean effective sample size and
//!   rank-normalised split R-hat exactly as in ArviZ (Vehtari et al. 2021);
//! * [`mcse`]: Monte Carlo standard errors of the mean, sd and quantiles;
//! * [`summary`]: a per-parameter summary table;
//! * [`gof`]: goodness-of-fit tests (Kolmogorov–Smirnov, Anderson–Darling,
//!   Pearson χ², energy distance) for *independent* draws;
//! * [`stein`]: kernel Stein discrepancy with the IMQ kernel and a wild
//!   bootstrap test;
//! * from a [`crate::Score`]: [`ksd_score`], zero-variance control variates
//!   ([`zv_control_variates`]) and KSD-greedy Stein thinning ([`stein_thinning`]);
//!   these return the crate's [`crate::Error`].
//!
//! No function panics on user input: invalid input (too few draws, ragged
//! chains, NaN or infinite values, bad parameters) yields a
//! [`DiagnosticsError`] whose message says what to change.
//!
//! # Layering and errors
//!
//! This module is a leaf library: apart from [`ksd_score`] / [`ksd_test_score`] (which
//! take a [`crate::Score`] and return the crate's [`crate::Error`]), nothing here imports
//! any other part of the crate, so every layer — traces, the health report, the conformance
//! kit, a user's own code on draws from elsewhere — can call it on plain slices. It keeps its
//! own error type, [`DiagnosticsError`]; the crate-wide [`crate::Error`] wraps it as
//! [`crate::Error::Diagnostics`] (via `From`), so `?` in code returning `langevin::Result`
//! converts it and a caller that matches on the crate error sees the diagnostic's own variant.
//!
//! # References
//!
//! * Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021). Rank-normalization,
//!   folding, and localization: an improved R-hat for assessing convergence of
//!   MCMC. *Bayesian Analysis* 16(2), 667–718.
//! * Geyer (1992). Practical Markov chain Monte Carlo. *Statistical Science*
//!   7(4), 473–483.
//! * Marsaglia, Tsang & Wang (2003). Evaluating Kolmogorov's distribution.
//!   *Journal of Statistical Software* 8(18).
//! * Marsaglia & Marsaglia (2004). Evaluating the Anderson–Darling
//!   distribution. *Journal of Statistical Software* 9(2).
//! * Székely & Rizzo (2013). Energy statistics: a class of statistics based on
//!   distances. *Journal of Statistical Planning and Inference* 143(8).
//! * Gorham & Mackey (2017). Measuring sample quality with kernels. *ICML*.
//! * Liu, Lee & Jordan (2016). A kernelized Stein discrepancy for
//!   goodness-of-fit tests. *ICML*.
//! * Chwialkowski, Strathmann & Gretton (2016). A kernel test of goodness of
//!   fit. *ICML*.
//!
//! # Example
//!
//! ```
//! use langevin::diagnostics::{ess_bulk, rhat_rank, summarize};
//! let a: Vec<f64> = (0..200).map(|i| ((i * 37) % 101) as f64).collect();
//! let b: Vec<f64> = (0..200).map(|i| ((i * 53) % 103) as f64).collect();
//! let chains = vec![a, b];
//! assert!(rhat_rank(&chains)? < 1.05);
//! assert!(ess_bulk(&chains)? > 100.0);
//! println!("{}", summarize(&[&chains], &["theta"])?);
//! # Ok::<(), langevin::diagnostics::DiagnosticsError>(())
//! ```

pub mod autocorr;
pub mod ess;
pub mod gof;
pub mod health;
pub mod mcse;
pub mod rhat;
pub mod stein;
mod stein_cv;
mod stein_score;
pub mod summary;
pub mod transform;

pub use autocorr::{autocorrelation, autocovariance};
pub use ess::{ess_bulk, ess_mean, ess_quantile, ess_sd, ess_tail};
pub use gof::{
    ChiSquareResult, EnergyTestResult, GofResult, KsPValueMethod, KsResult, LogCdf,
    anderson_darling, chi_square_binned, chi_square_counts, energy_distance, energy_test,
    ks_pvalue, ks_test, thin_by_ess,
};
pub use mcse::{mcse_mean, mcse_quantile, mcse_sd};
pub use rhat::{rhat_rank, rhat_split};
pub use stein::{ImqKernel, KsdEstimate, KsdTestResult, ksd, ksd_test};
pub use stein_cv::{CvEstimate, CvOrder, SteinThinning, stein_thinning, zv_control_variates};
pub use stein_score::{ksd_score, ksd_test_score};
pub use summary::{Summary, SummaryTable, summarize};
pub use transform::{inverse_normal_cdf, quantile, rank_normalize, split_chains};

/// Errors returned by the diagnostics functions.
///
/// Every message says what to change in the input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DiagnosticsError {
    /// Not enough chains or draws for the requested diagnostic.
    #[error(
        "need at least {min_chains} chain(s) of at least {min_draws} draws, got {chains} chain(s) of {draws} draws"
    )]
    TooFewDraws {
        /// Minimum number of chains required.
        min_chains: usize,
        /// Minimum number of draws per chain required.
        min_draws: usize,
        /// Number of chains supplied.
        chains: usize,
        /// Number of draws in the (first) chain supplied.
        draws: usize,
    },
    /// Chains of different lengths.
    #[error(
        "all chains must have the same number of draws: chain 0 has {expected}, chain {chain} has {found}; truncate the chains to a common length"
    )]
    UnequalChainLengths {
        /// Length of chain 0.
        expected: usize,
        /// Index of the first chain whose length differs.
        chain: usize,
        /// Its length.
        found: usize,
    },
    /// A NaN or infinite value in a chain.
    #[error(
        "non-finite value {value} at chain {chain}, draw {draw}; remove or fix NaN/infinite draws before computing diagnostics"
    )]
    NonFiniteDraw {
        /// Chain index.
        chain: usize,
        /// Draw index within the chain.
        draw: usize,
        /// The offending value.
        value: f64,
    },
    /// A NaN or infinite value in some other input slice.
    #[error(
        "non-finite value {value} in `{what}` at index {index}; remove or fix NaN/infinite entries"
    )]
    NonFinite {
        /// Name of the argument.
        what: &'static str,
        /// Flat index of the offending entry.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// An argument outside its valid range or of the wrong shape.
    #[error("invalid argument `{name}`: {reason}")]
    InvalidArgument {
        /// Name of the argument.
        name: &'static str,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// Finite input whose result overflowed (values too large in magnitude).
    #[error(
        "{what} overflowed to a non-finite value; rescale the input (e.g. standardise it) and retry"
    )]
    Overflow {
        /// Name of the quantity.
        what: &'static str,
    },
    /// All draws are identical, so the diagnostic is undefined.
    #[error(
        "{what} is undefined because all draws are identical (zero variance); check that the sampler moves"
    )]
    ZeroVariance {
        /// Name of the diagnostic.
        what: &'static str,
    },
}

/// Shorthand result type of this module.
pub type Result<T> = std::result::Result<T, DiagnosticsError>;

/// Checks chains (count, equal lengths, finiteness) and copies them into an
/// owned matrix `chains × draws`.
pub(crate) fn to_matrix<C: AsRef<[f64]>>(
    chains: &[C],
    min_chains: usize,
    min_draws: usize,
) -> Result<Vec<Vec<f64>>> {
    let draws = chains.first().map_or(0, |c| c.as_ref().len());
    if chains.len() < min_chains || draws < min_draws {
        return Err(DiagnosticsError::TooFewDraws {
            min_chains,
            min_draws,
            chains: chains.len(),
            draws,
        });
    }
    let mut out = Vec::with_capacity(chains.len());
    for (ci, c) in chains.iter().enumerate() {
        let c = c.as_ref();
        if c.len() != draws {
            return Err(DiagnosticsError::UnequalChainLengths {
                expected: draws,
                chain: ci,
                found: c.len(),
            });
        }
        if let Some((di, &v)) = c.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(DiagnosticsError::NonFiniteDraw {
                chain: ci,
                draw: di,
                value: v,
            });
        }
        out.push(c.to_vec());
    }
    Ok(out)
}

/// Rejects non-finite entries of a flat slice.
pub(crate) fn check_finite(what: &'static str, xs: &[f64]) -> Result<()> {
    match xs.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        Some((index, &value)) => Err(DiagnosticsError::NonFinite { what, index, value }),
        None => Ok(()),
    }
}

/// Passes a finite result through, or reports an overflow.
pub(crate) fn finite(what: &'static str, v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(DiagnosticsError::Overflow { what })
    }
}

/// Builds an [`DiagnosticsError::InvalidArgument`].
pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> DiagnosticsError {
    DiagnosticsError::InvalidArgument {
        name,
        reason: reason.into(),
    }
}

/// `a.min(b)`, but NaN if either is NaN (`f64::min` returns the other one).
pub(crate) fn min_nan(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// `a.max(b)`, but NaN if either is NaN (`f64::max` returns the other one).
pub(crate) fn max_nan(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Arithmetic mean (plain left-to-right sum).
pub(crate) fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Two-pass variance with `ddof` degrees of freedom removed.
pub(crate) fn var(xs: &[f64], ddof: usize) -> f64 {
    let m = mean(xs);
    xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len() - ddof) as f64
}
