use super::{Analytic, ExactSample, ln_2pi};
use crate::density::{LogDensity, Score, Target};
use crate::error::{check_finite, check_len};
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::real::{dot8, sum8};
use crate::{Error, Real, Result};
use nalgebra::DMatrix;
use rand::Rng;
use statrs::distribution::{ContinuousCDF, Normal};

#[derive(Debug, Clone)]
enum Cov<T> {
    /// σ² I, stored as (σ², 1/σ²).
    Iso { var: T, prec: T },
    /// diag(σ_i²), stored as the precisions 1/σ_i² and variances.
    Diag { var: Vec<T>, prec: Vec<T> },
    /// Full Σ = L Lᵀ; the precision P = Σ⁻¹ row-major and L row-major.
    Full {
        chol: Vec<T>,
        prec: Vec<T>,
        cov: Vec<T>,
    },
}

/// The Gaussian `N(m, Σ)` with isotropic, diagonal or full covariance.
///
/// ```text
/// log p(x) = −½ (x − m)ᵀ Σ⁻¹ (x − m) − ½ log det(2π Σ)        (normalised)
/// ∇log p(x) = −Σ⁻¹ (x − m)
/// ```
///
/// The full-covariance form stores the precision `P = Σ⁻¹` (from a Cholesky factor `Σ = L Lᵀ`)
/// so the score is one dense mat-vec, and the fused
/// [`Score::log_density_and_score`] reuses it: `log p = ½ (x − m)ᵀ ∇log p + c`.
/// Sums use eight independent accumulators so they vectorise.
///
/// The exact stationary law of ULA with step `h` on this target is
/// `N(m, (P − (h/2) P²)⁻¹)`, i.e. per eigen-direction `σ²/(1 − h/(2σ²))`, stable for
/// `h < 2 σ²_min` (Roberts & Tweedie 1996).
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::targets::Gaussian;
/// let g = Gaussian::<f64>::full(vec![0.0, 1.0], &[2.0, 0.6, 0.6, 1.0])?;
/// assert_eq!(g.dim(), 2);
/// let s = g.score(&[0.0, 1.0]);
/// assert_eq!(s, vec![0.0, 0.0]);
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Gaussian<T> {
    mean: Vec<T>,
    cov: Cov<T>,
    /// −½ log det(2πΣ)
    log_norm: T,
}

impl<T: Real> Gaussian<T> {
    /// `N(mean, variance · I)`.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] for an empty mean, [`Error::NonFiniteInput`] for a non-finite
    /// mean, [`Error::InvalidParameter`] unless `variance` is finite and positive.
    pub fn isotropic(mean: Vec<T>, variance: T) -> Result<Self> {
        validate_mean(&mean)?;
        check_var("variance", variance)?;
        let d = mean.len() as f64;
        let log_norm = T::c(-0.5 * d * (ln_2pi() + variance.to_f64().ln()));
        Ok(Self {
            mean,
            cov: Cov::Iso {
                var: variance,
                prec: T::one() / variance,
            },
            log_norm,
        })
    }

    /// The standard normal `N(0, I_d)`.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] if `dim == 0`.
    pub fn standard(dim: usize) -> Result<Self> {
        Self::isotropic(vec![T::zero(); dim], T::one())
    }

    /// `N(mean, diag(variances))`.
    ///
    /// # Errors
    /// As [`Gaussian::isotropic`], plus [`Error::DimensionMismatch`] if the lengths differ.
    pub fn diagonal(mean: Vec<T>, variances: Vec<T>) -> Result<Self> {
        validate_mean(&mean)?;
        check_len("variances", mean.len(), variances.len())?;
        let mut ln_det = 0.0;
        for &v in &variances {
            check_var("variances[i]", v)?;
            ln_det += v.to_f64().ln();
        }
        let d = mean.len() as f64;
        let log_norm = T::c(-0.5 * (d * ln_2pi() + ln_det));
        let prec = variances.iter().map(|&v| T::one() / v).collect();
        Ok(Self {
            mean,
            cov: Cov::Diag {
                var: variances,
                prec,
            },
            log_norm,
        })
    }

    /// `N(mean, Σ)` with `Σ` given row-major (d × d), symmetric positive definite.
    ///
    /// # Errors
    /// As [`Gaussian::isotropic`], plus [`Error::DimensionMismatch`] if `cov.len() != d²`,
    /// [`Error::NotPositiveDefinite`] if `Σ` is not symmetric or its Cholesky factorisation fails.
    pub fn full(mean: Vec<T>, cov: &[T]) -> Result<Self> {
        validate_mean(&mean)?;
        let d = mean.len();
        check_len("covariance (row-major d×d)", d * d, cov.len())?;
        check_finite("covariance", cov)?;
        let a: Vec<f64> = cov.iter().map(|v| v.to_f64()).collect();
        let ch = crate::linalg::cholesky(&a, d, "covariance")?;
        let l = ch.l();
        let ln_det: f64 = 2.0 * (0..d).map(|i| l[(i, i)].ln()).sum::<f64>();
        let p = ch.inverse();
        let row = |mat: &DMatrix<f64>| -> Vec<T> {
            (0..d * d).map(|k| T::c(mat[(k / d, k % d)])).collect()
        };
        let log_norm = T::c(-0.5 * (d as f64 * ln_2pi() + ln_det));
        Ok(Self {
            mean,
            cov: Cov::Full {
                chol: row(&l),
                prec: row(&p),
                cov: cov.to_vec(),
            },
            log_norm,
        })
    }

    /// The mean vector.
    pub fn mean(&self) -> &[T] {
        &self.mean
    }

    /// The marginal variance of coordinate `i` (`None` if out of range).
    pub fn variance(&self, i: usize) -> Option<T> {
        let d = self.mean.len();
        if i >= d {
            return None;
        }
        Some(match &self.cov {
            Cov::Iso { var, .. } => *var,
            Cov::Diag { var, .. } => var[i],
            Cov::Full { cov, .. } => cov[i * d + i],
        })
    }

    /// The precision matrix `Σ⁻¹`, row-major.
    pub fn precision(&self) -> Vec<f64> {
        let d = self.mean.len();
        let mut p = vec![0.0; d * d];
        match &self.cov {
            Cov::Iso { prec, .. } => (0..d).for_each(|i| p[i * d + i] = prec.to_f64()),
            Cov::Diag { prec, .. } => (0..d).for_each(|i| p[i * d + i] = prec[i].to_f64()),
            Cov::Full { prec, .. } => p.iter_mut().zip(prec).for_each(|(a, b)| *a = b.to_f64()),
        }
        p
    }

    /// The stationary covariance of ULA with step `h` on this target (the exact stationary law of the discretised chain, checked in `tests/statistical.rs`):
    /// `V = (P − (h/2) P²)⁻¹`, row-major. Returns `None` if the chain is unstable
    /// (`h ≥ 2 λ_min(Σ)`), where no stationary law exists.
    pub fn ula_stationary_covariance(&self, h: f64) -> Option<Vec<f64>> {
        let d = self.mean.len();
        let p = DMatrix::<f64>::from_row_slice(d, d, &self.precision());
        let a = &p - (&p * &p) * (0.5 * h);
        let eig = nalgebra::SymmetricEigen::new(p.clone());
        if eig.eigenvalues.iter().any(|&lam| h * lam >= 2.0) {
            return None;
        }
        let v = a.try_inverse()?;
        Some((0..d * d).map(|k| v[(k / d, k % d)]).collect())
    }

    /// Writes the score `−P (x − m)` into `out` and returns `(x − m)ᵀ P (x − m)`.
    #[inline]
    fn score_quad(&self, x: &[T], out: &mut [T]) -> T {
        if let Cov::Iso { prec, .. } = &self.cov {
            // One pass: out_i = p (m_i − x_i), q = p Σ (m_i − x_i)², eight accumulators.
            let (m, n, p) = (&self.mean, x.len(), *prec);
            let mut acc = [T::zero(); 8];
            let chunks = n / 8;
            for c in 0..chunks {
                for k in 0..8 {
                    let i = c * 8 + k;
                    let y = m[i] - x[i];
                    out[i] = y * p;
                    acc[k] += y * y;
                }
            }
            let mut s = sum8(&acc);
            for i in chunks * 8..n {
                let y = m[i] - x[i];
                out[i] = y * p;
                s += y * y;
            }
            return s * p;
        }
        self.score_into(x, out);
        // (x − m)ᵀ P (x − m) = (m − x) · score
        let (m, n) = (&self.mean, x.len());
        let mut acc = [T::zero(); 8];
        let chunks = n / 8;
        for c in 0..chunks {
            for k in 0..8 {
                let i = c * 8 + k;
                acc[k] += (m[i] - x[i]) * out[i];
            }
        }
        let mut s = sum8(&acc);
        for i in chunks * 8..n {
            s += (m[i] - x[i]) * out[i];
        }
        s
    }
}

fn validate_mean<T: Real>(mean: &[T]) -> Result<()> {
    if mean.is_empty() {
        return Err(Error::ZeroDimension {
            what: "Gaussian mean",
        });
    }
    check_finite("Gaussian mean", mean)
}

fn check_var<T: Real>(name: &'static str, v: T) -> Result<()> {
    let v = v.to_f64();
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name,
            value: v,
            expected: "a finite variance > 0",
        })
    }
}

impl<T: Real> Target for Gaussian<T> {
    type Scalar = T;
    fn dim(&self) -> usize {
        self.mean.len()
    }
}

impl<T: Real> LogDensity for Gaussian<T> {
    fn log_density(&self, x: &[T]) -> T {
        let d = self.mean.len();
        let m = &self.mean;
        let q = match &self.cov {
            Cov::Iso { prec, .. } => {
                let mut acc = [T::zero(); 8];
                let chunks = d / 8;
                for c in 0..chunks {
                    for k in 0..8 {
                        let i = c * 8 + k;
                        let y = x[i] - m[i];
                        acc[k] += y * y;
                    }
                }
                let mut s = sum8(&acc);
                for i in chunks * 8..d {
                    let y = x[i] - m[i];
                    s += y * y;
                }
                s * *prec
            }
            Cov::Diag { prec, .. } => {
                let mut s = T::zero();
                for i in 0..d {
                    let y = x[i] - m[i];
                    s += y * y * prec[i];
                }
                s
            }
            Cov::Full { prec, .. } => {
                // (x − m)ᵀ P (x − m) through the stored precision, without a buffer.
                let mut s = T::zero();
                for i in 0..d {
                    let row = &prec[i * d..(i + 1) * d];
                    let mut r = T::zero();
                    for j in 0..d {
                        r += row[j] * (x[j] - m[j]);
                    }
                    s += (x[i] - m[i]) * r;
                }
                s
            }
        };
        self.log_norm - T::c(0.5) * q
    }
}

impl<T: Real> Score for Gaussian<T> {
    /// `λ_max(Σ⁻¹)`: the precision for an isotropic covariance, the largest precision for a
    /// diagonal one, and for a full covariance the largest eigenvalue of the precision matrix
    /// (a symmetric eigendecomposition, O(d³), computed on each call — the driver calls it once
    /// per run — and only for `d ≤ 512`; `None` above, as an O(d³) cost per run would be
    /// out of proportion).
    fn score_lipschitz(&self) -> Option<f64> {
        let d = self.mean.len();
        match &self.cov {
            Cov::Iso { prec, .. } => Some(prec.to_f64()),
            Cov::Diag { prec, .. } => prec.iter().map(|p| p.to_f64()).reduce(f64::max),
            Cov::Full { prec, .. } if d <= 512 => {
                let m = DMatrix::from_iterator(d, d, prec.iter().map(|p| p.to_f64()));
                m.symmetric_eigenvalues().iter().copied().reduce(f64::max)
            }
            Cov::Full { .. } => None,
        }
    }

    #[inline]
    fn score_into(&self, x: &[T], out: &mut [T]) {
        let m = &self.mean;
        match &self.cov {
            Cov::Iso { prec, .. } => {
                let p = *prec;
                for ((o, &xi), &mi) in out.iter_mut().zip(x).zip(m) {
                    *o = (mi - xi) * p;
                }
            }
            Cov::Diag { prec, .. } => {
                for (((o, &xi), &mi), &pi) in out.iter_mut().zip(x).zip(m).zip(prec) {
                    *o = (mi - xi) * pi;
                }
            }
            Cov::Full { prec, .. } => {
                let d = x.len();
                // out_i = −Σ_j P_ij (x_j − m_j); computing y on the fly keeps it allocation-free.
                for i in 0..d {
                    let row = &prec[i * d..(i + 1) * d];
                    let mut acc = [T::zero(); 4];
                    let chunks = d / 4;
                    for c in 0..chunks {
                        for k in 0..4 {
                            let j = c * 4 + k;
                            acc[k] += row[j] * (m[j] - x[j]);
                        }
                    }
                    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
                    for j in chunks * 4..d {
                        s += row[j] * (m[j] - x[j]);
                    }
                    out[i] = s;
                }
            }
        }
    }
    #[inline]
    fn log_density_and_score(&self, x: &[T], out: &mut [T]) -> Option<T> {
        let q = self.score_quad(x, out);
        Some(self.log_norm - T::c(0.5) * q)
    }
}

impl<T: Real> Analytic for Gaussian<T> {
    fn exact_mean(&self) -> Vec<f64> {
        self.mean.iter().map(|v| v.to_f64()).collect()
    }
    fn exact_covariance(&self) -> Vec<f64> {
        let d = self.mean.len();
        let mut c = vec![0.0; d * d];
        match &self.cov {
            Cov::Iso { var, .. } => (0..d).for_each(|i| c[i * d + i] = var.to_f64()),
            Cov::Diag { var, .. } => (0..d).for_each(|i| c[i * d + i] = var[i].to_f64()),
            Cov::Full { cov, .. } => c.iter_mut().zip(cov).for_each(|(a, b)| *a = b.to_f64()),
        }
        c
    }
    fn marginal_cdf(&self, i: usize, x: f64) -> Option<f64> {
        let v = self.variance(i)?.to_f64();
        Normal::new(self.mean[i].to_f64(), v.sqrt())
            .ok()
            .map(|n| n.cdf(x))
    }
}

impl<T: Real> ExactSample for Gaussian<T> {
    fn sample_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [T]) {
        let d = self.mean.len();
        match &self.cov {
            Cov::Iso { var, .. } => {
                let s = var.sqrt();
                for i in 0..d {
                    out[i] = self.mean[i] + s * T::standard_normal(rng);
                }
            }
            Cov::Diag { var, .. } => {
                for i in 0..d {
                    out[i] = self.mean[i] + var[i].sqrt() * T::standard_normal(rng);
                }
            }
            Cov::Full { chol, .. } => {
                // out = m + L z, filling z into out from the last coordinate backwards so that
                // z_j (j ≤ i) is still available when row i is formed.
                for o in out.iter_mut() {
                    *o = T::standard_normal(rng);
                }
                for i in (0..d).rev() {
                    let row = &chol[i * d..i * d + i + 1];
                    let v = dot8(row, &out[..=i]);
                    out[i] = self.mean[i] + v;
                }
            }
        }
    }
}
