//! The stick-breaking bijection onto the probability simplex.

use super::{Bijection, sigmoid, softplus};
use crate::error::check_len;
use crate::{Error, Result};

/// Stick-breaking map from ℝ^(K−1) onto the open simplex
/// `{x ∈ ℝᴷ : xₖ > 0, Σ xₖ = 1}` (Stan's parameterisation; `z = 0` maps to the centre
/// `xₖ = 1/K`):
///
/// ```text
/// r₁ = 1
/// sₖ = σ(zₖ − ln(K − k)),   xₖ = rₖ sₖ,   rₖ₊₁ = rₖ (1 − sₖ)        k = 1 … K−1
/// x_K = r_K
/// log |det J| = Σₖ [ln sₖ + ln(1 − sₖ) + ln rₖ]
/// ```
///
/// The Jacobian is that of `(x₁ … x_{K−1})`, so the constrained target's density must be
/// with respect to Lebesgue measure on the first `K − 1` coordinates (the usual density of a
/// Dirichlet). Its score may be written as a function of all `K` coordinates: the pullback
/// differentiates through `x_K = r_K` (reverse-mode over the recursion above, O(K)).
///
/// ```
/// use langevin::transform::{Bijection, StickBreaking};
/// let sb = StickBreaking::new(3)?;
/// let mut x = [0.0; 3];
/// sb.forward(&[0.0, 0.0], &mut x);
/// assert!(x.iter().all(|&v| (v - 1.0 / 3.0).abs() < 1e-15));
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct StickBreaking {
    k: usize,
}

impl StickBreaking {
    /// The bijection onto the simplex of `k` components (`k − 1` unconstrained coordinates).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `k < 2`.
    pub fn new(k: usize) -> Result<Self> {
        if k < 2 {
            return Err(Error::InvalidParameter {
                name: "number of simplex components K",
                value: k as f64,
                expected: "K ≥ 2",
            });
        }
        Ok(Self { k })
    }
}

impl Bijection for StickBreaking {
    fn unconstrained_dim(&self) -> usize {
        self.k - 1
    }
    fn constrained_dim(&self) -> usize {
        self.k
    }
    fn forward(&self, z: &[f64], x: &mut [f64]) -> f64 {
        // ln sₖ = −softplus(−tₖ), ln(1 − sₖ) = −softplus(tₖ) and ln rₖ accumulated in log
        // space, so the log-Jacobian stays finite where sₖ or rₖ underflow (|z| ≳ 745).
        let k = self.k;
        let mut r = 1.0;
        let mut ln_r = 0.0;
        let mut lj = 0.0;
        for i in 0..k - 1 {
            let t = z[i] - ((k - 1 - i) as f64).ln();
            let (ln_s, ln_sm) = (-softplus(-t), -softplus(t));
            x[i] = r * sigmoid(t);
            lj += ln_s + ln_sm + ln_r;
            r *= sigmoid(-t);
            ln_r += ln_sm;
        }
        x[k - 1] = r;
        lj
    }
    fn pullback(&self, z: &[f64], _x: &[f64], gx: &[f64], gz: &mut [f64]) {
        // f(z) = Σₖ gxₖ xₖ(z) + log |det J|. The Jacobian's Σₖ ln rₖ = Σⱼ (K − 2 − j) ln(1 − sⱼ)
        // (0-based j) contributes −(K − 2 − j) sⱼ directly; the reverse sweep handles only the
        // linear part, so no 1/rₖ appears (finite even when rₖ underflows).
        let k = self.k;
        // rbar holds ∂(Σ gx·x)/∂r_{i+1}, starting from r_K = x_K.
        let mut rbar = gx[k - 1];
        // Forward sweep: park r_i in gz[i] (read back before it is overwritten below).
        let mut r = 1.0;
        for i in 0..k - 1 {
            gz[i] = r;
            r *= sigmoid(-(z[i] - ((k - 1 - i) as f64).ln()));
        }
        for i in (0..k - 1).rev() {
            let t = z[i] - ((k - 1 - i) as f64).ln();
            let s = sigmoid(t);
            let sm = sigmoid(-t);
            let r_i = gz[i];
            gz[i] = s * sm * r_i * (gx[i] - rbar) + (sm - s) - (k - 2 - i) as f64 * s;
            rbar = gx[i] * s + rbar * sm;
        }
    }
    fn inverse(&self, x: &[f64], z: &mut [f64]) -> Result<()> {
        let k = self.k;
        check_len("simplex point", k, x.len())?;
        check_len("unconstrained output", k - 1, z.len())?;
        let sum: f64 = x.iter().sum();
        if x.iter().any(|&v| !(v > 0.0)) || (sum - 1.0).abs() > 1e-9 * k as f64 {
            return Err(Error::InvalidParameter {
                name: "simplex point (sum of components)",
                value: sum,
                expected: "positive components summing to 1",
            });
        }
        let mut r = 1.0;
        for i in 0..k - 1 {
            let s = (x[i] / r).clamp(f64::MIN_POSITIVE, 1.0 - f64::EPSILON);
            z[i] = s.ln() - (-s).ln_1p() + ((k - 1 - i) as f64).ln();
            r -= x[i];
        }
        Ok(())
    }
}
