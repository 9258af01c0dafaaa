//! Monte Carlo standard errors (MCSE), as in ArviZ 0.23 `mcse`.
//!
//! Reference: Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021),
//! *Bayesian Analysis* 16(2), §4.4 and Appendix.

use statrs::distribution::{Beta, ContinuousCDF};

use super::ess::{ess_quantile_m, ess_raw};
use super::transform::{check_prob, split_matrix};
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
    let ess = ess_raw(&split_matrix(m));
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
/// # Errors
/// Fewer than one chain of 4 draws, unequal lengths, non-finite draws, or
/// constant draws.
pub fn mcse_sd<C: AsRef<[f64]>>(chains: &[C]) -> Result<f64> {
    finite("MCSE of the sd", mcse_sd_m(&to_matrix(chains, 1, 4)?)?)
}

pub(crate) fn mcse_sd_m(m: &[Vec<f64>]) -> Result<f64> {
    let flat: Vec<f64> = m.iter().flatten().copied().collect();
    let mu = mean(&flat);
    let sims_c2: Vec<Vec<f64>> = m
        .iter()
        .map(|c| c.iter().map(|v| (v - mu) * (v - mu)).collect())
        .collect();
    let ess = ess_raw(&split_matrix(&sims_c2));
    let flat2: Vec<f64> = sims_c2.iter().flatten().copied().collect();
    let evar = mean(&flat2);
    if evar <= 0.0 {
        return Err(DiagnosticsError::ZeroVariance {
            what: "MCSE of the sd",
        });
    }
    let e4 = flat2.iter().map(|v| v * v).sum::<f64>() / flat2.len() as f64;
    let varvar = (e4 - evar * evar) / ess;
    let varsd = varvar / evar / 4.0;
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
    let ess = ess_quantile_m(m, prob);
    let beta = Beta::new(ess * prob + 1.0, ess * (1.0 - prob) + 1.0)
        .map_err(|e| invalid("prob", format!("beta interval undefined: {e}")))?;
    let p1 = beta.inverse_cdf(0.1586553);
    let p2 = beta.inverse_cdf(0.8413447);
    let mut sorted: Vec<f64> = m.iter().flatten().copied().collect();
    sorted.sort_by(f64::total_cmp);
    let size = sorted.len() as f64;
    let i1 = (p1 * size - 1.0).max(0.0).floor();
    let i2 = (p2 * size - 1.0).min(size - 1.0).ceil();
    if !(i1.is_finite() && i2.is_finite()) || i1 < 0.0 || i2 < 0.0 {
        return Err(invalid("prob", "beta interval is not finite"));
    }
    let th1 = sorted[(i1 as usize).min(sorted.len() - 1)];
    let th2 = sorted[(i2 as usize).min(sorted.len() - 1)];
    Ok((th2 - th1) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Catches: NaN or panics on degenerate input.
    #[test]
    fn degenerate() {
        assert!(mcse_sd(&[vec![2.0; 8]]).is_err());
        assert!(mcse_quantile(&[vec![1.0, 2.0, 3.0, 4.0]], 0.0).is_err());
        let q = mcse_quantile(&[vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]], 0.5).unwrap();
        assert!(q.is_finite() && q >= 0.0);
    }
}
