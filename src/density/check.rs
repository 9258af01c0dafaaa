//! Finite-difference check that a score agrees with its log density.

use super::{LogDensity, Score};
use crate::error::{check_finite, check_len};
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::{Error, Real, Result};

/// Result of [`check_score`]: the analytic score against central finite differences of the
/// log density, coordinate by coordinate.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ScoreCheck {
    /// The score returned by the target at the point.
    pub analytic: Vec<f64>,
    /// Central finite differences `(log p(x + δe_i) − log p(x − δe_i)) / 2δ`.
    pub finite_difference: Vec<f64>,
    /// `max_i |analytic_i − fd_i|`.
    pub max_abs_error: f64,
    /// `max_i |analytic_i − fd_i| / max(1, |fd_i|)`.
    pub max_rel_error: f64,
    /// The coordinate where the relative error is largest.
    pub worst_coordinate: usize,
}

impl ScoreCheck {
    /// `true` if the largest relative error is at most `tol`.
    pub fn passed(&self, tol: f64) -> bool {
        self.max_rel_error <= tol
    }
}

/// Checks a target's [`Score`] against central finite differences of its [`LogDensity`] at
/// `x`, with the step `δ_i = ε^(1/3) · max(1, |x_i|)` (ε the machine epsilon of the
/// scalar), which balances truncation error O(δ²) against rounding O(ε/δ).
///
/// Typical agreement for a correct score is 1e-8 (f64) and 1e-2 (f32); a sign error, a
/// missing factor or a score of the wrong density shows up as an O(1) relative error. Use it
/// once on your own target before sampling — it catches the commonest silent user error
/// (a density not in log space, a score with the wrong sign).
///
/// # Errors
/// [`Error::DimensionMismatch`] if `x.len() != target.dim()`, [`Error::NonFiniteInput`] if `x`,
/// the score or the log density at the probed points is not finite.
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::targets::Rosenbrock;
/// let banana = Rosenbrock::<f64>::new(1.0, 100.0)?;
/// let report = check_score(&banana, &[0.3, -0.2])?;
/// assert!(report.passed(1e-6), "{report:?}");
/// # Ok::<(), langevin::Error>(())
/// ```
pub fn check_score<P>(target: &P, x: &[P::Scalar]) -> Result<ScoreCheck>
where
    P: LogDensity + Score + ?Sized,
{
    let eps = P::Scalar::epsilon().to_f64();
    check_score_with_step(target, x, eps.cbrt())
}

/// [`check_score`] with a chosen relative step `δ_i = rel_step · max(1, |x_i|)`.
///
/// # Errors
/// As [`check_score`], plus [`Error::InvalidStepSize`] if `rel_step` is not finite and positive.
pub fn check_score_with_step<P>(target: &P, x: &[P::Scalar], rel_step: f64) -> Result<ScoreCheck>
where
    P: LogDensity + Score + ?Sized,
{
    crate::error::check_positive("rel_step", rel_step)?;
    let d = target.dim();
    check_len("point for check_score", d, x.len())?;
    check_finite("point for check_score", x)?;
    let mut g = vec![P::Scalar::zero(); d];
    target.score_into(x, &mut g);
    check_finite("score at the checked point", &g)?;
    let mut xp = x.to_vec();
    let mut fd = vec![0.0; d];
    let (mut max_abs, mut max_rel, mut worst) = (0.0f64, 0.0f64, 0usize);
    for i in 0..d {
        let xi = x[i];
        let delta = P::Scalar::c(rel_step * xi.to_f64().abs().max(1.0));
        xp[i] = xi + delta;
        let hi = xp[i];
        let fp = target.log_density(&xp);
        xp[i] = xi - delta;
        let lo = xp[i];
        let fm = target.log_density(&xp);
        xp[i] = xi;
        if !(fp.finite() && fm.finite()) {
            return Err(Error::NonFiniteInput {
                what: "log density near the checked point",
                index: i,
            });
        }
        // Use the actually represented step (hi − lo), not 2δ, to cancel representation error.
        let df = (fp.to_f64() - fm.to_f64()) / (hi.to_f64() - lo.to_f64());
        fd[i] = df;
        let abs = (g[i].to_f64() - df).abs();
        let rel = abs / df.abs().max(1.0);
        max_abs = max_abs.max(abs);
        if rel > max_rel {
            max_rel = rel;
            worst = i;
        }
    }
    Ok(ScoreCheck {
        analytic: g.iter().map(|v| v.to_f64()).collect(),
        finite_difference: fd,
        max_abs_error: max_abs,
        max_rel_error: max_rel,
        worst_coordinate: worst,
    })
}
