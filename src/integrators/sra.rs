use super::Integrator;
use super::milstein::drift_diffusion_at;
use crate::Real;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::sde::{BrownianPath, Sde, apply_diffusion};
use rand::Rng;

/// Rößler's SRA1: a stochastic Runge–Kutta scheme of strong order 1.5 for SDEs with
/// additive noise `dX = f(X, t) dt + G(t) dW` (Rößler 2010, Table 5.1; the same tableau as
/// DifferentialEquations.jl's `SRA1`):
///
/// ```text
/// H₂   = x + ¾ h f(x, t) + (3/2) G(t + h) ΔZ/h
/// x'   = x + h [ ⅓ f(x, t) + ⅔ f(H₂, t + ¾h) ] + G(t + h) (ΔW − ΔZ/h) + G(t) ΔZ/h
/// ```
///
/// # Noise layout
/// [`Integrator::noise_len`] is `2m` (`m` = [`Sde::noise_dim`]): `dw[..m]` holds
/// `ΔW = W(t+h) − W(t)` and `dw[m..2m]` holds `ΔZ = ∫_t^{t+h} (W_s − W_t) ds` (Kloeden and
/// Platen's `I_(1,0)`), jointly Gaussian with `Var ΔZ = h³/3`, `Cov(ΔW, ΔZ) = h²/2`;
/// [`Integrator::draw_noise`] draws the pair as `ΔW = √h ξ₁`, `ΔZ = ½h^{3/2}(ξ₁ + ξ₂/√3)`.
/// [`crate::sde::BrownianPath`] forms coarse pairs exactly from fine ones.
///
/// # Requirements and orders
/// The diffusion must not depend on the state (additive noise); the scheme evaluates it at
/// `x` for [`crate::sde::NoiseKind::Scalar`] and [`crate::sde::NoiseKind::Diagonal`] SDEs, which is exact when they
/// are state-independent (OU, Langevin). Strong order 1.5 and weak order 2 for additive noise.
/// Scratch: `3d + 2·diffusion_len + m` values.
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::integrators::Sra1;
/// use langevin::sde::OrnsteinUhlenbeck;
/// let ou = OrnsteinUhlenbeck::new(vec![0.0], 1.0, 1.0)?;
/// assert_eq!(Sra1.noise_len(&ou), 2);
/// let mut scratch = vec![0.0; Sra1.scratch_len(&ou)];
/// let mut x = [1.0];
/// // No noise: one step of the deterministic RK2 on x' = −x gives 1 − h + h²/2.
/// Sra1.step_with_noise(&ou, 0.0, 0.1, &mut x, &[0.0, 0.0], &mut scratch);
/// assert!((x[0] - 0.905).abs() < 1e-14);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * A. Rößler (2010), Runge–Kutta methods for the strong approximation of solutions of
///   stochastic differential equations, *SIAM J. Numer. Anal.* 48(3):922–952.
/// * P. E. Kloeden, E. Platen (1992), *Numerical Solution of Stochastic Differential
///   Equations*, §10.4 (the pair ΔW, ΔZ).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sra1;

impl<S: Sde + ?Sized> Integrator<S> for Sra1 {
    fn strong_order(&self) -> f64 {
        1.5
    }
    fn weak_order(&self) -> f64 {
        2.0
    }
    fn noise_len(&self, sde: &S) -> usize {
        2 * sde.noise_dim()
    }
    fn scratch_len(&self, sde: &S) -> usize {
        3 * sde.dim() + 2 * sde.diffusion_len() + sde.noise_dim()
    }

    fn draw_noise<R: Rng + ?Sized>(
        &self,
        sde: &S,
        h: S::Scalar,
        rng: &mut R,
        dw: &mut [S::Scalar],
    ) {
        let m = sde.noise_dim();
        let scales = BrownianPath::pair_scales(h);
        let (w, z) = dw.split_at_mut(m);
        for (wi, zi) in w.iter_mut().zip(z[..m].iter_mut()) {
            (*wi, *zi) = BrownianPath::draw_pair(rng, scales);
        }
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
        let m = sde.noise_dim();
        let gl = sde.diffusion_len();
        let kind = sde.noise_kind();
        let (w, z) = dw.split_at(m);
        let z = &z[..m];
        let (f1, g0, rest) = drift_diffusion_at(sde, t, x, scratch);
        let (f2, rest) = rest.split_at_mut(d);
        let (h2, rest) = rest.split_at_mut(d);
        let (g1, rest) = rest.split_at_mut(gl);
        let zh = &mut rest[..m];
        let inv_h = h.recip();
        sde.diffusion_into(t + h, x, g1);
        // H₂ = x + ¾ h f₁ + (3/2) G(t+h) ΔZ/h (apply_diffusion accumulates G·v).
        let c34 = S::Scalar::c(0.75) * h;
        for ((o, &xi), &fi) in h2.iter_mut().zip(x.iter()).zip(f1.iter()) {
            *o = xi + c34 * fi;
        }
        let c32 = S::Scalar::c(1.5);
        for (o, &zi) in zh.iter_mut().zip(z) {
            *o = c32 * (zi * inv_h);
        }
        apply_diffusion(kind, g1, zh, h2);
        for (o, &zi) in zh.iter_mut().zip(z) {
            *o = zi * inv_h;
        }
        sde.drift_into(t + c34, h2, f2);
        let (a1, a2) = (h * S::Scalar::c(1.0 / 3.0), h * S::Scalar::c(2.0 / 3.0));
        for ((xi, &u), &v) in x.iter_mut().zip(f1.iter()).zip(f2.iter()) {
            *xi += a1 * u + a2 * v;
        }
        // G(t) ΔZ/h
        apply_diffusion(kind, g0, zh, x);
        // G(t+h) (ΔW − ΔZ/h): reuse zh.
        for (v, &wi) in zh.iter_mut().zip(w) {
            *v = wi - *v;
        }
        apply_diffusion(kind, g1, zh, x);
    }
}
