//! Dense linear algebra shared by targets, kernels and adaptation: one Cholesky for the crate
//! (nalgebra's), with the crate's symmetry rule and errors.
//!
//! Matrices cross this module row-major as `&[f64]` of length `d²`, the layout every public
//! API of the crate uses; the factorisation itself is [`nalgebra::Cholesky`].

use crate::{Error, Result};
use nalgebra::{Cholesky, DMatrix, DVector, Dyn};

/// The Cholesky factorisation `A = L Lᵀ` of a symmetric positive-definite row-major `d × d`
/// matrix.
///
/// `A` counts as symmetric when every `|a_ij − a_ji| ≤ 1e-10 · max |a_kl|` (symmetric up to
/// rounding relative to the matrix's scale); the factorisation then reads the lower triangle.
///
/// # Errors
/// [`Error::NotPositiveDefinite`] naming `what` if `A` is not symmetric, has a non-finite
/// entry, or is not positive definite.
pub(crate) fn cholesky(a: &[f64], d: usize, what: &'static str) -> Result<Cholesky<f64, Dyn>> {
    debug_assert_eq!(a.len(), d * d);
    let scale = a.iter().fold(0.0f64, |s, v| s.max(v.abs()));
    let tol = 1e-10 * scale.max(f64::MIN_POSITIVE);
    let symmetric = (0..d).all(|i| (0..i).all(|j| (a[i * d + j] - a[j * d + i]).abs() <= tol));
    if !symmetric || !scale.is_finite() {
        return Err(Error::NotPositiveDefinite { what });
    }
    let m = DMatrix::from_fn(d, d, |i, j| a[i * d + j]);
    Cholesky::new(m).ok_or(Error::NotPositiveDefinite { what })
}

/// The lower factor `L` of a Cholesky factorisation, row-major `d × d`.
pub(crate) fn lower_row_major(ch: &Cholesky<f64, Dyn>) -> Vec<f64> {
    row_major(&ch.l())
}

/// A square matrix, row-major.
pub(crate) fn row_major(m: &DMatrix<f64>) -> Vec<f64> {
    let d = m.nrows();
    (0..d * d).map(|k| m[(k / d, k % d)]).collect()
}

/// Solves `A z = b` given the Cholesky factorisation of `A`.
pub(crate) fn solve(ch: &Cholesky<f64, Dyn>, b: &[f64]) -> Vec<f64> {
    ch.solve(&DVector::from_column_slice(b)).as_slice().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factor_solve_and_rejections() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let ch = cholesky(&a, 2, "test").unwrap();
        let l = lower_row_major(&ch);
        assert!(l[1].abs() < f64::MIN_POSITIVE);
        // L Lᵀ = A
        for i in 0..2 {
            for j in 0..2 {
                let s: f64 = (0..2).map(|k| l[i * 2 + k] * l[j * 2 + k]).sum();
                assert!((s - a[i * 2 + j]).abs() < 1e-14);
            }
        }
        let z = solve(&ch, &[2.0, 1.0]);
        assert!((4.0 * z[0] + 2.0 * z[1] - 2.0).abs() < 1e-14);
        assert!((2.0 * z[0] + 3.0 * z[1] - 1.0).abs() < 1e-14);
        let err = Error::NotPositiveDefinite { what: "test" };
        assert_eq!(cholesky(&[1.0, 0.5, 0.4, 1.0], 2, "test").unwrap_err(), err);
        assert_eq!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2, "test").unwrap_err(), err);
        assert_eq!(
            cholesky(&[f64::NAN, 0.0, 0.0, 1.0], 2, "test").unwrap_err(),
            err
        );
    }
}
