use super::Integrator;
use super::milstein::drift_diffusion_at;
use crate::Real;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::sde::{Sde, apply_diffusion};

/// The stochastic Heun scheme for **Stratonovich** SDEs `dX = f dt + g ∘ dW` (Rümelin 1982;
/// Kloeden & Platen 1992, §11.1, §15.1):
///
/// ```text
/// x̃  = x + f(x, t) h + g(x, t) ΔW                                   (predictor)
/// x' = x + ½ [f(x, t) + f(x̃, t+h)] h + ½ [g(x, t) + g(x̃, t+h)] ΔW    (trapezoidal corrector)
/// ```
///
/// It converges to the Stratonovich solution, not the Itô one: to integrate the Itô SDE
/// `dX = a dt + g dW` with it, pass the Stratonovich drift `a − ½ Σ_j (∂g_{·j}/∂x) g_{·j}`
/// (for [`crate::sde::GeometricBrownianMotion`] with rates λ, μ: drift `λ − μ²/2`).
/// Strong order 1 for commutative (e.g. diagonal, scalar one-dimensional or additive) noise,
/// ½ otherwise; weak order 1 (2 for additive noise). Scratch: `3d + 2·diffusion_len`.
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::integrators::StochasticHeun;
/// use langevin::sde::GeometricBrownianMotion;
/// // Stratonovich dX = μX∘dW has solution exp(μW): Heun tracks it closely.
/// let gbm = GeometricBrownianMotion::new(1, 0.0, 1.0)?;
/// let mut scratch = vec![0.0; StochasticHeun.scratch_len(&gbm)];
/// let mut x = [1.0];
/// StochasticHeun.step_with_noise(&gbm, 0.0, 1e-4, &mut x, &[0.01], &mut scratch);
/// assert!((x[0] - 0.01f64.exp()).abs() < 1e-6);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * W. Rümelin (1982), Numerical treatment of stochastic differential equations,
///   *SIAM J. Numer. Anal.* 19(3):604–613.
/// * P. E. Kloeden, E. Platen (1992), *Numerical Solution of Stochastic Differential
///   Equations*, Springer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StochasticHeun;

impl<S: Sde + ?Sized> Integrator<S> for StochasticHeun {
    fn strong_order(&self) -> f64 {
        1.0
    }
    fn weak_order(&self) -> f64 {
        1.0
    }
    fn scratch_len(&self, sde: &S) -> usize {
        3 * sde.dim() + 2 * sde.diffusion_len()
    }
    fn step_with_noise(
        &self,
        sde: &S,
        t: S::Scalar,
        h: S::Scalar,
        x: &mut [S::Scalar],
        dw: &[S::Scalar],
        scratch: &mut [S::Scalar],
    ) {
        let d = sde.dim();
        let kind = sde.noise_kind();
        let (f0, g0, rest) = drift_diffusion_at(sde, t, x, scratch);
        let (f1, rest) = rest.split_at_mut(d);
        let (xt, rest) = rest.split_at_mut(d);
        let g1 = &mut rest[..g0.len()];
        for ((o, &xi), &fi) in xt.iter_mut().zip(x.iter()).zip(f0.iter()) {
            *o = xi + h * fi;
        }
        apply_diffusion(kind, g0, dw, xt);
        sde.drift_into(t + h, xt, f1);
        sde.diffusion_into(t + h, xt, g1);
        let half = S::Scalar::c(0.5);
        let hh = half * h;
        for ((xi, &a), &b) in x.iter_mut().zip(f0.iter()).zip(f1.iter()) {
            *xi += hh * (a + b);
        }
        for (a, &b) in g0.iter_mut().zip(g1.iter()) {
            *a = half * (*a + b);
        }
        apply_diffusion(kind, g0, dw, x);
    }
}
