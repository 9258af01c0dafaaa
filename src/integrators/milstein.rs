use super::Integrator;
use crate::Real;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::sde::{NoiseKind, Sde, apply_diffusion};

/// Milstein's scheme for diagonal (or scalar) noise (Milstein 1974; Kloeden & Platen 1992,
/// §10.3), coordinate-wise:
///
/// ```text
/// x_i' = x_i + f_i h + g_i ΔW_i + ½ g_i ∂g_i/∂x_i (ΔW_i² − h)
/// ```
///
/// It assumes *diagonal noise* in Kloeden & Platen's sense: `g_i` depends on `x` only
/// through `x_i`. Such noise is commutative, so no Lévy areas are needed. For
/// [`NoiseKind::Scalar`] noise (`g(x) I`) the noise is commutative only when `d = 1` or `g`
/// does not depend on `x` (the Langevin and OU SDEs); the scheme is Milstein's in those
/// cases. For additive noise the correction vanishes and the scheme is Euler–Maruyama.
///
/// The derivative `∂g_i/∂x_i` comes from [`Sde::diffusion_derivative_into`]; when the SDE does
/// not provide it, the step falls back to the derivative-free difference of
/// [`MilsteinDerivativeFree`] (same order).
///
/// Strong order 1, weak order 1. Scratch: `2d + 2·diffusion_len` values.
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::integrators::Milstein;
/// use langevin::sde::GeometricBrownianMotion;
/// let gbm = GeometricBrownianMotion::new(1, 2.0, 1.0)?;
/// let mut scratch = vec![0.0; Milstein.scratch_len(&gbm)];
/// let mut x = [1.0];
/// Milstein.step_with_noise(&gbm, 0.0, 0.01, &mut x, &[0.1], &mut scratch);
/// // 1 + 0.02 + 0.1 + ½ (0.01 − 0.01) = 1.12
/// assert!((x[0] - 1.12).abs() < 1e-14);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * G. N. Milstein (1974), Approximate integration of stochastic differential equations,
///   *Theory Probab. Appl.* 19(3):557–562.
/// * P. E. Kloeden, E. Platen (1992), *Numerical Solution of Stochastic Differential
///   Equations*, Springer, §10.3 and §11.1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Milstein;

/// The derivative-free (Runge–Kutta-type) Milstein scheme of Kloeden & Platen (1992, §11.1,
/// eq. 11.1.3), for diagonal or scalar noise:
///
/// ```text
/// Υ   = x + f h + g √h                                  (supporting value, per coordinate)
/// x_i' = x_i + f_i h + g_i ΔW_i + (g_i(Υ) − g_i(x)) (ΔW_i² − h) / (2√h)
/// ```
///
/// `(g_i(Υ) − g_i(x))/√h = g_i ∂g_i/∂x_i + O(√h)`, so the scheme has Milstein's strong order 1
/// (weak order 1) without derivatives, at the cost of a second diffusion evaluation. The same
/// noise assumption as [`Milstein`] applies. Scratch: `2d + 2·diffusion_len` values.
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::integrators::MilsteinDerivativeFree;
/// use langevin::sde::GeometricBrownianMotion;
/// let gbm = GeometricBrownianMotion::new(1, 0.0, 1.0)?;
/// let mut scratch = vec![0.0; MilsteinDerivativeFree.scratch_len(&gbm)];
/// let mut x = [1.0];
/// MilsteinDerivativeFree.step_with_noise(&gbm, 0.0, 0.01, &mut x, &[0.2], &mut scratch);
/// // g(Υ) − g(x) = 0.1, correction 0.1 · (0.04 − 0.01) / 0.2 = 0.015
/// assert!((x[0] - 1.215).abs() < 1e-14);
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MilsteinDerivativeFree;

fn milstein_scratch<S: Sde + ?Sized>(sde: &S) -> usize {
    2 * sde.dim() + 2 * sde.diffusion_len()
}

/// `(f, g, rest)`: three disjoint parts of a scratch buffer.
type ScratchSplit<'a, T> = (&'a mut [T], &'a mut [T], &'a mut [T]);

/// The common first stage of the one-step schemes: evaluates the drift `f(x, t)` and the
/// diffusion `g(x, t)` into the head of `scratch` (`d` then `diffusion_len` values) and
/// returns `(f, g, rest of scratch)`.
#[inline]
pub(super) fn drift_diffusion_at<'a, S: Sde + ?Sized>(
    sde: &S,
    t: S::Scalar,
    x: &[S::Scalar],
    scratch: &'a mut [S::Scalar],
) -> ScratchSplit<'a, S::Scalar> {
    let (f, rest) = scratch.split_at_mut(sde.dim());
    let (g, rest) = rest.split_at_mut(sde.diffusion_len());
    sde.drift_into(t, x, f);
    sde.diffusion_into(t, x, g);
    (f, g, rest)
}

#[inline]
fn derivative_free_step<S: Sde + ?Sized>(
    sde: &S,
    t: S::Scalar,
    h: S::Scalar,
    x: &mut [S::Scalar],
    dw: &[S::Scalar],
    scratch: &mut [S::Scalar],
) {
    let d = sde.dim();
    let gl = sde.diffusion_len();
    let (f, g, rest) = drift_diffusion_at(sde, t, x, scratch);
    let (ups, rest) = rest.split_at_mut(d);
    let g2 = &mut rest[..gl];
    let sh = h.sqrt();
    let kind = sde.noise_kind();
    match kind {
        NoiseKind::Additive { .. } => {
            for (xi, &fi) in x.iter_mut().zip(f.iter()) {
                *xi += h * fi;
            }
            apply_diffusion(kind, g, dw, x);
            return;
        }
        NoiseKind::Scalar => {
            for ((u, &xi), &fi) in ups.iter_mut().zip(x.iter()).zip(f.iter()) {
                *u = xi + h * fi + g[0] * sh;
            }
        }
        NoiseKind::Diagonal => {
            for (((u, &xi), &fi), &gi) in ups.iter_mut().zip(x.iter()).zip(f.iter()).zip(g.iter()) {
                *u = xi + h * fi + gi * sh;
            }
        }
    }
    sde.diffusion_into(t, ups, g2);
    let inv = S::Scalar::c(0.5) / sh;
    for i in 0..d {
        let gi = if kind == NoiseKind::Scalar { 0 } else { i };
        let w = dw[i];
        x[i] += h * f[i] + g[gi] * w + (g2[gi] - g[gi]) * (w * w - h) * inv;
    }
}

impl<S: Sde + ?Sized> Integrator<S> for Milstein {
    fn strong_order(&self) -> f64 {
        1.0
    }
    fn weak_order(&self) -> f64 {
        1.0
    }
    fn scratch_len(&self, sde: &S) -> usize {
        milstein_scratch(sde)
    }
    #[inline]
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
        let gl = sde.diffusion_len();
        let kind = sde.noise_kind();
        if let NoiseKind::Additive { .. } = kind {
            return derivative_free_step(sde, t, h, x, dw, scratch);
        }
        let (f, rest) = scratch.split_at_mut(d);
        let (dg, rest) = rest.split_at_mut(d);
        let g = &mut rest[..gl];
        if !sde.diffusion_derivative_into(t, x, dg) {
            return derivative_free_step(sde, t, h, x, dw, scratch);
        }
        sde.drift_into(t, x, f);
        sde.diffusion_into(t, x, g);
        let half = S::Scalar::c(0.5);
        for i in 0..d {
            let gi = if kind == NoiseKind::Scalar {
                g[0]
            } else {
                g[i]
            };
            let w = dw[i];
            x[i] += h * f[i] + gi * w + half * gi * dg[i] * (w * w - h);
        }
    }
}

impl<S: Sde + ?Sized> Integrator<S> for MilsteinDerivativeFree {
    fn strong_order(&self) -> f64 {
        1.0
    }
    fn weak_order(&self) -> f64 {
        1.0
    }
    fn scratch_len(&self, sde: &S) -> usize {
        milstein_scratch(sde)
    }
    #[inline]
    fn step_with_noise(
        &self,
        sde: &S,
        t: S::Scalar,
        h: S::Scalar,
        x: &mut [S::Scalar],
        dw: &[S::Scalar],
        scratch: &mut [S::Scalar],
    ) {
        derivative_free_step(sde, t, h, x, dw, scratch)
    }
}
