//! Potential scale reduction factor R-hat: classic split R-hat and the
//! rank-normalised, folded split R-hat of Vehtari et al. (2021), both as in
//! ArviZ 0.23 (`rhat(method="split")`, `rhat(method="rank")`).
//!
//! For `M` chains of `N` draws,
//!
//! ```text
//! B    = N · var_c(x̄_c)               (ddof = 1)
//! W    = mean_c s²_c                   (s²_c with ddof = 1)
//! R̂    = sqrt( (B/W + N − 1) / N )   = sqrt( ((N−1)/N · W + B/N) / W )
//! ```
//!
//! Reference: Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021),
//! *Bayesian Analysis* 16(2), 667–718, eqs. 3–4 and §4.2.

use super::transform::{split_flat, z_bulk_and_folded};
use super::{DiagnosticsError, Result, finite, max_nan, mean, to_matrix, var};

/// ArviZ `_rhat` (no splitting) on a validated matrix: `ZeroVariance` if
/// `W = 0`, `Overflow` if `B` or `W` is not finite (an infinite `W` would
/// otherwise give `B/W = 0` and the plausible `R̂ = sqrt((N−1)/N)`).
pub(crate) fn rhat_raw<C: AsRef<[f64]>>(m: &[C]) -> Result<f64> {
    let n = m[0].as_ref().len() as f64;
    let chain_mean: Vec<f64> = m.iter().map(|c| mean(c.as_ref())).collect();
    let chain_var: Vec<f64> = m.iter().map(|c| var(c.as_ref(), 1)).collect();
    let b = n * var(&chain_mean, 1);
    let w = mean(&chain_var);
    if !(b.is_finite() && w.is_finite()) {
        return Err(DiagnosticsError::Overflow { what: "R-hat" });
    }
    if w > 0.0 {
        finite("R-hat", ((b / w + n - 1.0) / n).sqrt())
    } else {
        Err(DiagnosticsError::ZeroVariance { what: "R-hat" })
    }
}

/// R-hat of a flat chain-major buffer of chains of `n` draws.
fn rhat_flat(flat: &[f64], n: usize) -> Result<f64> {
    rhat_raw(&flat.chunks_exact(n).collect::<Vec<_>>())
}

/// Rank R-hat on a validated matrix with at least 2 chains of 4 draws, from the bulk and
/// folded rank scores of its split chains (one sort, see `z_bulk_and_folded`).
pub(crate) fn rhat_rank_scores(bulk_z: &[f64], folded_z: &[f64], h: usize) -> Result<f64> {
    let bulk = rhat_flat(bulk_z, h)?;
    let tail = rhat_flat(folded_z, h)?;
    finite("R-hat", max_nan(bulk, tail))
}

/// Rank R-hat on a validated matrix with at least 2 chains of 4 draws.
pub(crate) fn rhat_rank_m(m: &[Vec<f64>]) -> Result<f64> {
    let (split, h) = split_flat(m);
    let (bulk, folded, _) = z_bulk_and_folded(&split);
    rhat_rank_scores(&bulk, &folded, h)
}

/// Rank-normalised split R-hat (Vehtari et al. 2021, §4.2; ArviZ
/// `rhat(method="rank")`): the maximum of the *bulk* R-hat of the
/// rank-normalised split chains and the *tail* R-hat of the rank-normalised
/// split chains folded about their pooled median:
///
/// ```text
/// R̂_bulk = R̂( z(split(x)) )
/// R̂_tail = R̂( z(|split(x) − median(split(x))|) )
/// R̂      = max(R̂_bulk, R̂_tail)
/// ```
///
/// where `z` is [`rank_normalize`](super::rank_normalize). Values below 1.01
/// are recommended before trusting estimates.
///
/// # Errors
/// Fewer than 2 chains of 4 draws, unequal lengths, non-finite draws, or
/// constant chains (zero within-chain variance).
///
/// ```
/// use langevin::diagnostics::rhat_rank;
/// let a: Vec<f64> = (0..100).map(|i| ((i * 37) % 101) as f64).collect();
/// let b: Vec<f64> = (0..100).map(|i| ((i * 53) % 103) as f64).collect();
/// let mixed = rhat_rank(&[a.clone(), b]).unwrap();
/// let shifted: Vec<f64> = a.iter().map(|v| v + 200.0).collect();
/// let stuck = rhat_rank(&[a, shifted]).unwrap();
/// assert!(mixed < 1.05 && stuck > 1.5);
/// ```
pub fn rhat_rank<C: AsRef<[f64]>>(chains: &[C]) -> Result<f64> {
    rhat_rank_m(&to_matrix(chains, 2, 4)?)
}

/// Classic split R-hat (Gelman et al., BDA3; ArviZ `rhat(method="split")`):
/// `R̂(split(x))` on the raw draws, without rank normalisation or folding.
///
/// # Errors
/// Fewer than 2 chains of 4 draws, unequal lengths, non-finite draws, or
/// constant chains.
pub fn rhat_split<C: AsRef<[f64]>>(chains: &[C]) -> Result<f64> {
    let (split, h) = split_flat(&to_matrix(chains, 2, 4)?);
    rhat_flat(&split, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Catches: a wrong B/W combination. Two split halves with identical
    /// means give B = 0, so R̂ = sqrt((N−1)/N) exactly.
    #[test]
    fn equal_means_gives_known_value() {
        let c = vec![vec![1.0, 3.0, 3.0, 1.0], vec![3.0, 1.0, 1.0, 3.0]];
        let r = rhat_split(&c).unwrap();
        assert!((r - (0.5f64).sqrt()).abs() < 1e-15, "{r}");
    }

    /// Catches: an overflowing within-chain variance (`W = ∞`, `B` finite)
    /// returned as the plausible `R̂ = sqrt((N−1)/N)` (issue 10 item 19), and a
    /// NaN `W` reported as zero variance.
    #[test]
    fn overflow_is_an_error() {
        let c: Vec<f64> = (0..8)
            .map(|i| if i % 2 == 0 { 1e200 } else { -1e200 })
            .collect();
        assert!(matches!(
            rhat_split(&[c.clone(), c]),
            Err(DiagnosticsError::Overflow { .. })
        ));
        let nan = vec![vec![1.0, f64::NAN, 2.0, 3.0], vec![1.0, 2.0, 3.0, 4.0]];
        assert!(matches!(
            rhat_raw(&nan),
            Err(DiagnosticsError::Overflow { .. })
        ));
        assert!(max_nan(1.0, f64::NAN).is_nan() && max_nan(f64::NAN, 1.0).is_nan());
    }

    /// Catches: NaN leaking out for constant chains; missing shape checks.
    #[test]
    fn errors() {
        assert!(rhat_rank(&[vec![1.0; 8], vec![1.0; 8]]).is_err());
        assert!(rhat_split(&[vec![1.0, 2.0, 3.0, 4.0]]).is_err());
        assert!(rhat_rank(&[vec![1.0, 2.0, 3.0, 4.0], vec![1.0, 2.0, 3.0]]).is_err());
    }
}
