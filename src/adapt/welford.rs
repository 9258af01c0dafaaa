use crate::{Real, Result};

/// Streaming mean and (co)variance by Welford's algorithm (Welford 1962), diagonal or dense.
///
/// # Update rule
/// ```text
/// n ← n + 1;   δ = x − mean;   mean ← mean + δ/n;   M2 ← M2 + δ (x − mean)ᵀ = M2 + (1 − 1/n) δ δᵀ
/// Σ̂ = M2 / (n − 1)
/// ```
/// One pass, numerically stable (no catastrophic cancellation of `Σx² − n x̄²`), no
/// allocation per sample. The diagonal estimator keeps only `diag(M2)` (O(d) per sample), the
/// dense one the lower triangle of the symmetric `M2` (d(d+1)/2 products per sample; the
/// upper triangle is mirrored when the estimate is read).
///
/// [`Welford::regularized`] shrinks the estimate towards a small multiple of the identity as
/// Stan does for its mass matrix: `(n/(n+5)) Σ̂ + 10⁻³ (5/(n+5)) I`.
///
/// # Example
/// ```
/// use langevin::adapt::Welford;
/// let mut w = Welford::diagonal(1);
/// for x in [1.0, 2.0, 4.0] {
///     w.add(&[x])?;
/// }
/// assert!((w.mean()[0] - 7.0 / 3.0).abs() < 1e-14);
/// assert!((w.covariance()[0] - 7.0 / 3.0).abs() < 1e-14); // sample variance
/// assert!(w.add(&[1.0, 2.0]).is_err()); // wrong dimension
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * B. P. Welford (1962), Note on a method for calculating corrected sums of squares and
///   products, *Technometrics* 4(3):419–420.
/// * Stan Development Team, *Stan Reference Manual*, "HMC algorithm parameters: automatic
///   parameter tuning" (mass-matrix regularisation).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "checkpoint", derive(serde::Serialize, serde::Deserialize))]
pub struct Welford {
    dense: bool,
    n: usize,
    mean: Vec<f64>,
    m2: Vec<f64>,
    delta: Vec<f64>,
}

impl Welford {
    /// A diagonal (per-coordinate variance) estimator in dimension `d`.
    pub fn diagonal(d: usize) -> Self {
        Self {
            dense: false,
            n: 0,
            mean: vec![0.0; d],
            m2: vec![0.0; d],
            delta: vec![0.0; d],
        }
    }

    /// A dense (full covariance) estimator in dimension `d`.
    pub fn dense(d: usize) -> Self {
        Self {
            dense: true,
            n: 0,
            mean: vec![0.0; d],
            m2: vec![0.0; d * d],
            delta: vec![0.0; d],
        }
    }

    /// `true` for the dense estimator.
    pub fn is_dense(&self) -> bool {
        self.dense
    }

    /// The dimension.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// Adds one sample.
    ///
    /// # Errors
    /// [`crate::Error::DimensionMismatch`] unless `x.len()` is the dimension (the estimator
    /// is then unchanged).
    pub fn add<T: Real>(&mut self, x: &[T]) -> Result<()> {
        let d = self.mean.len();
        crate::error::check_len("Welford sample", d, x.len())?;
        self.n += 1;
        let inv_n = 1.0 / self.n as f64;
        for i in 0..d {
            let xi = x[i].to_f64();
            self.delta[i] = xi - self.mean[i];
            self.mean[i] += self.delta[i] * inv_n;
        }
        // M2 += δ (x − mean_new)ᵀ, and x − mean_new = δ (1 − 1/n).
        let f = 1.0 - inv_n;
        if self.dense {
            // Lower triangle only (j ≤ i); `covariance` mirrors it.
            for i in 0..d {
                let di = self.delta[i] * f;
                let row = &mut self.m2[i * d..=i * d + i];
                for (m, &dj) in row.iter_mut().zip(&self.delta[..=i]) {
                    *m += di * dj;
                }
            }
        } else {
            for (m, &di) in self.m2.iter_mut().zip(&self.delta) {
                *m += di * di * f;
            }
        }
        Ok(())
    }

    /// Number of samples since the last reset.
    pub fn count(&self) -> usize {
        self.n
    }

    /// The running mean.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// The sample covariance (divisor `n − 1`; zeros for fewer than 2 samples): the
    /// variances (length d) for the diagonal estimator, the row-major `d × d` matrix for the
    /// dense one.
    pub fn covariance(&self) -> Vec<f64> {
        let div = if self.n >= 2 {
            (self.n - 1) as f64
        } else {
            f64::INFINITY
        };
        let mut c: Vec<f64> = self.m2.iter().map(|v| v / div).collect();
        if self.dense {
            // Only the lower triangle is accumulated: mirror it (exactly symmetric).
            let d = self.mean.len();
            for i in 0..d {
                for j in 0..i {
                    c[j * d + i] = c[i * d + j];
                }
            }
        }
        c
    }

    /// Stan's regularised estimate `(n/(n+5)) Σ̂ + 10⁻³ (5/(n+5)) I` (same layout as
    /// [`Welford::covariance`]). Positive definite whenever `Σ̂` is positive semi-definite.
    pub fn regularized(&self) -> Vec<f64> {
        let n = self.n as f64;
        let w = n / (n + 5.0);
        let eps = 1e-3 * 5.0 / (n + 5.0);
        let mut c = self.covariance();
        c.iter_mut().for_each(|v| *v *= w);
        let d = self.mean.len();
        if self.dense {
            for i in 0..d {
                c[i * d + i] += eps;
            }
        } else {
            c.iter_mut().for_each(|v| *v += eps);
        }
        c
    }

    /// Forgets every sample.
    pub fn reset(&mut self) {
        self.n = 0;
        self.mean.iter_mut().for_each(|v| *v = 0.0);
        self.m2.iter_mut().for_each(|v| *v = 0.0);
    }
}
