//! Per-parameter posterior summary (ArviZ-style `summary`).

use std::fmt;

use super::ess::{ess_flat, ess_tail_sorted, sorted_pooled};
use super::mcse::{mcse_mean_m, mcse_sd_m};
use super::rhat::rhat_rank_scores;
use super::transform::{quantile_sorted_numpy, split_flat, z_bulk_and_folded};
use super::{DiagnosticsError, Result, finite, invalid, mean, to_matrix, var};
use rayon::prelude::*;

/// Summary statistics of one scalar parameter over all chains.
///
/// ```text
/// mean, sd (ddof = 1), q5 / q50 / q95 (type-7 linear quantiles, NumPy default),
/// mcse_mean, mcse_sd, ess_bulk, ess_tail, r_hat (rank-normalised split R-hat)
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Summary {
    /// Parameter name.
    pub name: String,
    /// Pooled mean.
    pub mean: f64,
    /// Pooled standard deviation (ddof = 1).
    pub sd: f64,
    /// 5% quantile.
    pub q5: f64,
    /// Median.
    pub q50: f64,
    /// 95% quantile.
    pub q95: f64,
    /// MCSE of the mean, see [`mcse_mean`](super::mcse_mean).
    pub mcse_mean: f64,
    /// MCSE of the sd, see [`mcse_sd`](super::mcse_sd) (0 for constant draws).
    pub mcse_sd: f64,
    /// Bulk ESS, see [`ess_bulk`](super::ess_bulk).
    pub ess_bulk: f64,
    /// Tail ESS, see [`ess_tail`](super::ess_tail).
    pub ess_tail: f64,
    /// Rank-normalised split R-hat, see [`rhat_rank`](super::rhat_rank);
    /// `None` for a single chain or constant draws.
    pub r_hat: Option<f64>,
}

impl Summary {
    /// Summarises one parameter given as chains (at least one chain of four
    /// draws, equal lengths, finite values).
    ///
    /// # Errors
    /// Too few draws, unequal lengths, non-finite draws, or a statistic that
    /// overflows (draws too large in magnitude; rescale them).
    ///
    /// ```
    /// use langevin::diagnostics::Summary;
    /// let a: Vec<f64> = (0..100).map(|i| ((i * 37) % 101) as f64).collect();
    /// let b: Vec<f64> = (0..100).map(|i| ((i * 53) % 103) as f64).collect();
    /// let s = Summary::new("theta", &[a, b]).unwrap();
    /// assert!((s.mean - 50.5).abs() < 2.0 && s.r_hat.unwrap() < 1.05);
    /// ```
    pub fn new<C: AsRef<[f64]>>(name: &str, chains: &[C]) -> Result<Self> {
        let m = to_matrix(chains, 1, 4)?;
        let flat: Vec<f64> = m.iter().flatten().copied().collect();
        let mu = finite("mean", mean(&flat))?;
        let sd = finite("sd", var(&flat, 1).sqrt())?;
        let sorted = sorted_pooled(&m);
        // The bulk ESS and the rank R-hat share the rank scores of the split chains.
        let (split, h) = split_flat(&m);
        let (bulk_z, folded_z, _) = z_bulk_and_folded(&split);
        // Constant draws have no R-hat / MCSE of the sd (None / 0); any other
        // failure (overflow) is an error, never a silent None or 0.
        let r_hat = if m.len() >= 2 {
            match rhat_rank_scores(&bulk_z, &folded_z, h) {
                Ok(r) => Some(r),
                Err(DiagnosticsError::ZeroVariance { .. }) => None,
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        let mcse_sd = match mcse_sd_m(&m) {
            Ok(v) => finite("MCSE of the sd", v)?,
            Err(DiagnosticsError::ZeroVariance { .. }) => 0.0,
            Err(e) => return Err(e),
        };
        Ok(Self {
            name: name.to_owned(),
            mean: mu,
            sd,
            q5: finite("quantile", quantile_sorted_numpy(&sorted, 0.05))?,
            q50: finite("quantile", quantile_sorted_numpy(&sorted, 0.5))?,
            q95: finite("quantile", quantile_sorted_numpy(&sorted, 0.95))?,
            mcse_mean: finite("MCSE of the mean", mcse_mean_m(&m))?,
            mcse_sd,
            ess_bulk: ess_flat(&bulk_z, h),
            ess_tail: ess_tail_sorted(&m, &sorted),
            r_hat,
        })
    }
}

/// A table of [`Summary`] rows; its `Display` prints an aligned table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SummaryTable {
    /// One row per parameter, in input order.
    pub rows: Vec<Summary>,
}

impl SummaryTable {
    /// Consumes the table and returns its rows.
    pub fn into_vec(self) -> Vec<Summary> {
        self.rows
    }
}

/// Summarises several parameters: `params[k]` holds the chains of parameter
/// `k` and `names[k]` its name. The parameters are summarised in parallel (rayon); each row is
/// computed on one thread, so the table does not depend on the number of threads.
///
/// # Errors
/// `params` and `names` of different lengths, or any error of
/// [`Summary::new`] (reported for the first failing parameter).
///
/// ```
/// use langevin::diagnostics::summarize;
/// let a: Vec<f64> = (0..100).map(|i| ((i * 37) % 101) as f64).collect();
/// let b: Vec<f64> = (0..100).map(|i| ((i * 53) % 103) as f64).collect();
/// let x = vec![a.clone(), b.clone()];
/// let y = vec![b, a];
/// let table = summarize(&[&x, &y], &["x", "y"]).unwrap();
/// assert_eq!(table.rows.len(), 2);
/// println!("{table}");
/// ```
pub fn summarize<C: AsRef<[f64]> + Sync>(params: &[&[C]], names: &[&str]) -> Result<SummaryTable> {
    if params.len() != names.len() {
        return Err(invalid(
            "names",
            format!(
                "need one name per parameter: got {} parameters and {} names",
                params.len(),
                names.len()
            ),
        ));
    }
    let rows = params
        .par_iter()
        .zip(names)
        .map(|(p, n)| Summary::new(n, p))
        .collect::<Result<Vec<_>>>()?;
    Ok(SummaryTable { rows })
}

impl fmt::Display for SummaryTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self
            .rows
            .iter()
            .map(|r| r.name.chars().count())
            .max()
            .unwrap_or(0)
            .max(4);
        let cols = [
            "mean",
            "sd",
            "q5",
            "q50",
            "q95",
            "mcse_mean",
            "mcse_sd",
            "ess_bulk",
            "ess_tail",
            "r_hat",
        ];
        write!(f, "{:<w$}", "name")?;
        for c in cols {
            write!(f, " {c:>10}")?;
        }
        writeln!(f)?;
        for r in &self.rows {
            write!(f, "{:<w$}", r.name)?;
            for v in [r.mean, r.sd, r.q5, r.q50, r.q95, r.mcse_mean, r.mcse_sd] {
                write!(f, " {:>10}", fmt_num(v))?;
            }
            write!(f, " {:>10.0} {:>10.0}", r.ess_bulk, r.ess_tail)?;
            match r.r_hat {
                Some(v) => writeln!(f, " {v:>10.3}")?,
                None => writeln!(f, " {:>10}", "-")?,
            }
        }
        Ok(())
    }
}

/// Fixed 4 significant-ish digits, switching to exponent form for very large
/// or small magnitudes so that columns stay 10 characters wide.
fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e6).contains(&a) {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Catches: misaligned columns or a wrong number of lines.
    #[test]
    fn table_is_aligned() {
        let a: Vec<f64> = (0..50).map(|i| ((i * 37) % 101) as f64 * 1e-6).collect();
        let b: Vec<f64> = (0..50).map(|i| ((i * 53) % 103) as f64 * 1e7).collect();
        let pa = [a.clone(), a];
        let pb = [b];
        let t = summarize(&[&pa[..], &pb[..]], &["alpha", "a_longer_name"]).unwrap();
        let s = t.to_string();
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 3);
        let len0 = lines[0].chars().count();
        assert!(lines.iter().all(|l| l.chars().count() == len0), "{s}");
        assert!(summarize(&[&pa[..]], &["x", "y"]).is_err());
    }
}
