//! Monte Carlo standard errors (MCSE), as in ArviZ 0.23 `mcse`.
//!
//! Reference: Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021),
//! *Bayesian Analysis* 16(2), §4.4 and Appendix.

use statrs::distribution::{Beta, ContinuousCDF};

use super::ess::{ess_flat, ess_quantile_sorted, sorted_pooled};
use super::transform::{check_prob, split_flat};
use super::{DiagnosticsError, Result, finite, invalid, mean, to_matrix, var};

/// MCSE of the posterior mean (ArviZ `mcse(method="mean")`):
///
/// ```text
/// MCSE(x̄) = sd(x) / sqrt(ESS_mean)        (sd over all draws, ddof = 1)
/// ```
///
/// with `ESS_mean` from [`ess_mean`](super::ess_mean).
///
/// # Errors
/// Fewer than one chain of 4 draws, unequal lengths or non-finite draws.
///
/// ```
/// use langevin::diagnostics::mcse_mean;
/// let x: Vec<f64> = (0..200).map(|i| ((i * 37) % 101) as f64 / 101.0).collect();
/// let se = mcse_mean(&[x]).unwrap();
/// assert!(se > 0.005 && se < 0.05);
/// ```
pub fn mcse_mean<C: AsRef<[f64]>>(chains: &[C]) -> Result<f64> {
    finite("MCSE of the mean", mcse_mean_m(&to_matrix(chains, 1, 4)?))
}

pub(crate) fn mcse_mean_m(m: &[Vec<f64>]) -> f64 {
    let (split, h) = split_flat(m);
    let ess = ess_flat(&split, h);
    let flat: Vec<f64> = m.iter().flatten().copied().collect();
    var(&flat, 1).sqrt() / ess.sqrt()
}

/// MCSE of the posterior standard deviation (ArviZ 0.23
/// `mcse(method="sd")`), by the delta method on the variance:
///
/// ```text
/// y       = (x − x̄)²
/// ESS     = ESS_mean(y)
/// Var(σ̂²) ≈ (mean(y²) − mean(y)²) / ESS
/// MCSE(σ̂) = sqrt( Var(σ̂²) / (4·mean(y)) )
/// ```
///
/// This is ArviZ 0.23's definition (the ESS of the squared deviations, the
/// quantity whose mean is estimated). arviz-stats 0.8 (ArviZ 1.x) instead
/// divides by the ESS of the raw draws, [`ess_mean`](super::ess_mean)`(x)`;
/// every other diagnostic here agrees with both.
///
/// It is computed on `u = y / mean(y)` (same value, as the ESS is scale
/// invariant), so the fourth moment cannot overflow while the variance is
/// finite.
///
/// # Errors
/// Fewer than one chain of 4 draws, unequal lengths, non-finite draws,
/// constant draws, or a variance that overflows (`Overflow`, never `0`).
pub fn mcse_sd<C: AsRef<[f64]>>(chains: &[C]) -> Result<f64> {
    finite("MCSE of the sd", mcse_sd_m(&to_matrix(chains, 1, 4)?)?)
}

pub(crate) fn mcse_sd_m(m: &[Vec<f64>]) -> Result<f64> {
    const WHAT: &str = "MCSE of the sd";
    let flat: Vec<f64> = m.iter().flatten().copied().collect();
    let mu = mean(&flat);
    let sims_c2: Vec<Vec<f64>> = m
        .iter()
        .map(|c| c.iter().map(|v| (v - mu) * (v - mu)).collect())
        .collect();
    let n2 = flat.len() as f64;
    let evar = sims_c2.iter().flatten().sum::<f64>() / n2;
    // NaN-aware: a NaN or infinite mean square is an overflow, not "zero variance".
    if !evar.is_finite() {
        return Err(DiagnosticsError::Overflow { what: WHAT });
    }
    if evar <= 0.0 {
        return Err(DiagnosticsError::ZeroVariance { what: WHAT });
    }
    // Work with u = y / mean(y): the ESS is scale invariant and
    // (mean(y²) − mean(y)²) / mean(y) = mean(y) · (mean(u²) − 1), so the fourth
    // moment cannot overflow while the variance itself is finite (before, draws
    // of magnitude 1e100 gave ∞ − ∞ = NaN, which `.max(0.0)` turned into 0).
    let u: Vec<Vec<f64>> = sims_c2
        .iter()
        .map(|c| c.iter().map(|y| y / evar).collect())
        .collect();
    let (split, h) = split_flat(&u);
    let ess = ess_flat(&split, h);
    let eu2 = u.iter().flatten().map(|v| v * v).sum::<f64>() / n2;
    let varsd = evar * (eu2 - 1.0) / ess / 4.0;
    if varsd.is_nan() {
        return Err(DiagnosticsError::Overflow { what: WHAT });
    }
    // mean(u²) ≥ mean(u)² = 1 exactly; only rounding can make it smaller.
    Ok(varsd.max(0.0).sqrt())
}

/// MCSE of the `prob`-quantile (ArviZ `mcse(method="quantile", prob=prob)`,
/// Vehtari et al. 2021, Appendix), from a Beta interval on the order
/// statistics:
///
/// ```text
/// E        = ESS_quantile(prob)                     (split indicator ESS)
/// (a, b)   = (E·prob + 1, E·(1 − prob) + 1)
/// (p₁, p₂) = Beta⁻¹(0.1586553; a, b), Beta⁻¹(0.8413447; a, b)   (±1σ)
/// θ₁ = x₍⌊max(p₁S − 1, 0)⌋₎,  θ₂ = x₍⌈min(p₂S − 1, S − 1)⌉₎      (sorted pooled draws, 0-based)
/// MCSE     = (θ₂ − θ₁) / 2
/// ```
///
/// The Beta quantiles come from `statrs`' regularised incomplete beta
/// inverse; ArviZ uses SciPy's, and the two only matter through the
/// floor/ceil of an index.
///
/// # Errors
/// `prob` not in `(0, 1)`, fewer than one chain of 4 draws, unequal lengths
/// or non-finite draws.
pub fn mcse_quantile<C: AsRef<[f64]>>(chains: &[C], prob: f64) -> Result<f64> {
    check_prob("prob", prob)?;
    finite(
        "MCSE of the quantile",
        mcse_quantile_m(&to_matrix(chains, 1, 4)?, prob)?,
    )
}

pub(crate) fn mcse_quantile_m(m: &[Vec<f64>], prob: f64) -> Result<f64> {
    let sorted = sorted_pooled(m);
    let ess = ess_quantile_sorted(m, &sorted, prob);
    if !(ess.is_finite() && ess > 0.0) {
        return Err(DiagnosticsError::Overflow {
            what: "ESS of the quantile",
        });
    }
    let beta = Beta::new(ess * prob + 1.0, ess * (1.0 - prob) + 1.0)
        .map_err(|e| invalid("prob", format!("beta interval undefined: {e}")))?;
    let p1 = beta.inverse_cdf(0.1586553);
    let p2 = beta.inverse_cdf(0.8413447);
    let (i1, i2) = beta_interval_indices(p1, p2, sorted.len())?;
    Ok((sorted[i2] - sorted[i1]) / 2.0)
}

/// Order-statistic indices `⌊max(p₁S − 1, 0)⌋`, `⌈min(p₂S − 1, S − 1)⌉` of
/// the Beta interval `(p₁, p₂)`; checks `p₁, p₂` before `max`/`min` (which
/// would silently turn a NaN into 0 or `S − 1`).
fn beta_interval_indices(p1: f64, p2: f64, len: usize) -> Result<(usize, usize)> {
    if !(p1.is_finite() && p2.is_finite()) {
        return Err(invalid(
            "prob",
            format!("beta interval ({p1}, {p2}) is not finite"),
        ));
    }
    let size = len as f64;
    let i1 = (p1 * size - 1.0).max(0.0).floor();
    let i2 = (p2 * size - 1.0).min(size - 1.0).ceil();
    Ok((
        (i1 as usize).min(len - 1),
        (i2.max(0.0) as usize).min(len - 1),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Catches: `.max(0.0)` swallowing the NaN of `∞ − ∞` (issue 10 item 19):
    /// draws of magnitude 1e100 gave `Ok(0.0)` (fourth moment overflowed),
    /// draws of magnitude 1e160 too (the variance itself overflows). Now the
    /// first is computed scale-free (MCSE ∝ scale, checked to 1e-12) and the
    /// second is an `Overflow` error.
    #[test]
    fn sd_overflow_is_an_error_not_zero() {
        let base: Vec<Vec<f64>> = (0..2)
            .map(|c| {
                (0..50)
                    .map(|i| (((i * 37 + c * 11) % 23) as f64 - 11.0) / 7.0)
                    .collect()
            })
            .collect();
        let se = mcse_sd(&base).unwrap();
        assert!(se > 0.0);
        let big: Vec<Vec<f64>> = base
            .iter()
            .map(|c| c.iter().map(|v| v * 1e100).collect())
            .collect();
        let se_big = mcse_sd(&big).unwrap();
        assert!((se_big / 1e100 - se).abs() < 1e-12 * se, "{se_big} vs {se}");
        let huge: Vec<Vec<f64>> = base
            .iter()
            .map(|c| c.iter().map(|v| v * 1e160).collect())
            .collect();
        assert!(matches!(
            mcse_sd(&huge),
            Err(DiagnosticsError::Overflow { .. })
        ));
    }

    /// Catches: NaN Beta quantiles turned into the indices 0 and `S − 1` by
    /// `max`/`min` (a plausible MCSE from a failed interval).
    #[test]
    fn beta_indices_reject_nan() {
        assert!(beta_interval_indices(f64::NAN, 0.6, 10).is_err());
        assert!(beta_interval_indices(0.4, f64::NAN, 10).is_err());
        assert_eq!(beta_interval_indices(0.4, 0.6, 10).unwrap(), (3, 5));
        assert_eq!(beta_interval_indices(0.0, 1.0, 10).unwrap(), (0, 9));
    }

    /// Catches: NaN or panics on degenerate input.
    #[test]
    fn degenerate() {
        assert!(mcse_sd(&[vec![2.0; 8]]).is_err());
        assert!(mcse_quantile(&[vec![1.0, 2.0, 3.0, 4.0]], 0.0).is_err());
        let q = mcse_quantile(&[vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]], 0.5).unwrap();
        assert!(q.is_finite() && q >= 0.0);
    }
}
