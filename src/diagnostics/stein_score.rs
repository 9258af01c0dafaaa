//! Kernel Stein discrepancy straight from a [`Score`]: the convenience layer over
//! [`ksd`](super::ksd) and [`ksd_test`](super::ksd_test).

use super::{ImqKernel, KsdEstimate, KsdTestResult, ksd, ksd_test};
use crate::density::Score;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::{Real, Result};
use rand::Rng;

fn flatten_with_scores<P: Score, X: AsRef<[P::Scalar]>>(
    target: &P,
    draws: &[X],
) -> Result<(Vec<f64>, Vec<f64>)> {
    let d = target.dim();
    let mut xs = Vec::with_capacity(draws.len() * d);
    let mut ss = Vec::with_capacity(draws.len() * d);
    let mut g = vec![P::Scalar::zero(); d];
    for x in draws {
        let x = x.as_ref();
        crate::error::check_len("draw", d, x.len())?;
        target.score_into(x, &mut g);
        xs.extend(x.iter().map(|v| v.to_f64()));
        ss.extend(g.iter().map(|v| v.to_f64()));
    }
    Ok((xs, ss))
}

/// KSD² (U- and V-statistics, IMQ kernel) of `draws` against the target whose score is
/// `target`: the scores `∇log p(x_i)` are computed here and passed to
/// [`ksd`](super::ksd). Only the score is needed — no normalising constant, no log density.
///
/// `draws` is any list of points (`&[Vec<T>]`, [`crate::Trace::last_draws`], …). For
/// correlated MCMC draws the statistic is still a valid discrepancy, but
/// [`ksd_test_score`]'s null calibration assumes independent draws.
///
/// # Errors
/// [`crate::Error::DimensionMismatch`] for a draw of the wrong length;
/// [`crate::Error::Diagnostics`] for fewer than 2 draws or non-finite draws/scores.
///
/// # Example
/// ```
/// use langevin::diagnostics::{ImqKernel, ksd_score};
/// use langevin::prelude::*;
/// use langevin::targets::Gaussian;
/// let p = Gaussian::<f64>::standard(2)?;
/// let mut rng = langevin::rng::stream(1, 0);
/// let exact: Vec<Vec<f64>> = (0..300)
///     .map(|_| { let mut x = vec![0.0; 2]; p.sample_into(&mut rng, &mut x); x })
///     .collect();
/// let shifted: Vec<Vec<f64>> = exact.iter().map(|x| vec![x[0] + 1.0, x[1]]).collect();
/// let k = ImqKernel::default();
/// assert!(ksd_score(&p, &exact, &k)?.u_statistic < ksd_score(&p, &shifted, &k)?.u_statistic);
/// # Ok::<(), langevin::Error>(())
/// ```
pub fn ksd_score<P: Score, X: AsRef<[P::Scalar]>>(
    target: &P,
    draws: &[X],
    kernel: &ImqKernel,
) -> Result<KsdEstimate> {
    let (xs, ss) = flatten_with_scores(target, draws)?;
    Ok(ksd(&xs, &ss, target.dim(), kernel)?)
}

/// The wild-bootstrap KSD goodness-of-fit test [`ksd_test`](super::ksd_test) of
/// *independent* `draws` (e.g. the final states of independent chains,
/// [`crate::Trace::last_draws`]) against the target's score.
///
/// # Errors
/// As [`ksd_score`], plus `bootstrap = 0` or `alpha ∉ (0, 1)`.
pub fn ksd_test_score<P: Score, X: AsRef<[P::Scalar]>, R: Rng + ?Sized>(
    target: &P,
    draws: &[X],
    kernel: &ImqKernel,
    bootstrap: usize,
    alpha: f64,
    rng: &mut R,
) -> Result<KsdTestResult> {
    let (xs, ss) = flatten_with_scores(target, draws)?;
    Ok(ksd_test(
        &xs,
        &ss,
        target.dim(),
        kernel,
        bootstrap,
        alpha,
        rng,
    )?)
}
