use super::Integrator;
use crate::Real;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::sde::{NoiseKind, Sde, apply_diffusion};
use rand::Rng;

/// The Euler–Maruyama scheme (Maruyama 1955; Kloeden & Platen 1992, §10.2):
///
/// ```text
/// x_{k+1} = x_k + f(x_k, t_k) h + g(x_k, t_k) ΔW_k,        ΔW_k ~ N(0, h I)
/// ```
///
/// Strong order ½ in general, 1 for additive noise (where it coincides with Milstein);
/// weak order 1. On the Langevin SDE of a target ([`crate::sde::LangevinSde`]) it is the
/// unadjusted Langevin algorithm `x' = x + h ∇log p(x) + sqrt(2h) ξ` — whose stationary law is
/// O(h)-biased (on `N(m, s²)` it is `N(m, s²/(1 − h/(2s²)))`, stable for `h < 2s²`).
///
/// Scratch: `d + diffusion_len` values.
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::targets::Gaussian;
/// use rand_xoshiro::Xoshiro256PlusPlus;
/// use rand::SeedableRng;
/// let sde = LangevinSde::new(Gaussian::<f64>::standard(2)?);
/// let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
/// let (mut dw, mut scratch) = (vec![0.0; 2], vec![0.0; EulerMaruyama.scratch_len(&sde)]);
/// let mut x = vec![3.0, -3.0];
/// for k in 0..1000 {
///     EulerMaruyama.step(&sde, 0.01 * k as f64, 0.01, &mut x, &mut rng, &mut dw, &mut scratch);
/// }
/// assert!(x.iter().all(|v| v.abs() < 6.0));
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EulerMaruyama;

impl<S: Sde + ?Sized> Integrator<S> for EulerMaruyama {
    fn strong_order(&self) -> f64 {
        0.5
    }
    fn weak_order(&self) -> f64 {
        1.0
    }
    fn scratch_len(&self, sde: &S) -> usize {
        sde.dim() + sde.diffusion_len()
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
        let (f, rest) = scratch.split_at_mut(d);
        let g = &mut rest[..sde.diffusion_len()];
        sde.drift_into(t, x, f);
        sde.diffusion_into(t, x, g);
        for (xi, &fi) in x.iter_mut().zip(f.iter()) {
            *xi += h * fi;
        }
        apply_diffusion(sde.noise_kind(), g, dw, x);
    }

    /// For scalar noise (the Langevin case) the standard normals are drawn into `dw` first,
    /// in one tight loop, and the state is then updated in one pass, `x += h f + (g sqrt(h))
    /// ξ` (see [`EulerMaruyama::step_scalar_noise`]); the draws consume the RNG exactly as
    /// [`Integrator::draw_noise`] does, and the result agrees with `step_with_noise` on the
    /// same increments up to rounding (the product `g sqrt(h)` is formed once). Other noise
    /// kinds draw into `dw` and call `step_with_noise`. For scalar noise `dw` holds the
    /// standard normals `ξ` afterwards, not the increments.
    #[inline]
    fn step<R: Rng + ?Sized>(
        &self,
        sde: &S,
        t: S::Scalar,
        h: S::Scalar,
        x: &mut [S::Scalar],
        rng: &mut R,
        dw: &mut [S::Scalar],
        scratch: &mut [S::Scalar],
    ) {
        if sde.noise_kind() == NoiseKind::Scalar {
            let xi = &mut dw[..sde.dim()];
            crate::real::fill_standard_normal(rng, xi);
            self.step_scalar_noise(sde, t, h, x, xi, scratch);
        } else {
            self.draw_noise(sde, h, rng, dw);
            self.step_with_noise(sde, t, h, x, dw, scratch);
        }
    }
}

impl EulerMaruyama {
    /// One step for an SDE with [`NoiseKind::Scalar`] noise from given *standard* normals
    /// `xi` (length `sde.dim()`; `ΔW = sqrt(h) ξ`): the drift and the scalar diffusion `g` are
    /// evaluated, then one pass computes `x += h f + (g sqrt(h)) ξ` and checks finiteness on
    /// the way. Returns `true` iff every new coordinate is finite. This is the step
    /// [`crate::mcmc::Ula`] takes, with normals from either source of
    /// [`crate::rng::Normals`].
    ///
    /// `scratch` needs [`Integrator::scratch_len`] entries. The caller guarantees
    /// `sde.noise_kind() == NoiseKind::Scalar` (otherwise the result is meaningless, not
    /// unsafe).
    #[inline]
    pub fn step_scalar_noise<S: Sde + ?Sized>(
        &self,
        sde: &S,
        t: S::Scalar,
        h: S::Scalar,
        x: &mut [S::Scalar],
        xi: &[S::Scalar],
        scratch: &mut [S::Scalar],
    ) -> bool {
        let d = sde.dim();
        let (f, rest) = scratch.split_at_mut(d);
        sde.drift_into(t, x, f);
        sde.diffusion_into(t, x, &mut rest[..1]);
        let c = rest[0] * h.sqrt();
        update_all_finite(x, f, xi, h, c)
    }
}

/// `x += h f + c ξ` in one pass; `true` iff every updated coordinate is finite. The check
/// rides along: `v · 0` is 0 for finite `v` and NaN otherwise, summed in eight independent
/// accumulators so the pass vectorises.
#[inline]
pub(crate) fn update_all_finite<T: Real>(x: &mut [T], f: &[T], xi: &[T], h: T, c: T) -> bool {
    let n = x.len();
    let (f, xi) = (&f[..n], &xi[..n]);
    let mut acc = [T::zero(); 8];
    let mut xs = x.chunks_exact_mut(8);
    let mut fs = f.chunks_exact(8);
    let mut zs = xi.chunks_exact(8);
    for ((xc, fc), zc) in (&mut xs).zip(&mut fs).zip(&mut zs) {
        for k in 0..8 {
            let v = xc[k] + (h * fc[k] + c * zc[k]);
            xc[k] = v;
            acc[k] += v * T::zero();
        }
    }
    for ((xv, &fv), &zv) in xs
        .into_remainder()
        .iter_mut()
        .zip(fs.remainder())
        .zip(zs.remainder())
    {
        let v = *xv + (h * fv + c * zv);
        *xv = v;
        acc[0] += v * T::zero();
    }
    crate::real::sum8(&acc).finite()
}
