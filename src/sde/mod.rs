//! Stochastic differential equations `dX = f(X, t) dt + g(X, t) dW`.
//!
//! An [`Sde`] writes its drift and diffusion into caller buffers; an
//! [`Integrator`](crate::integrators::Integrator) advances it one step given the Brownian
//! increments. The Langevin SDE of a target, [`LangevinSde`], is the bridge between the two
//! halves of the crate: unadjusted Langevin (ULA) *is* Euler–Maruyama on it.
//!
//! Also here: the Ornstein–Uhlenbeck process and geometric Brownian motion with their exact
//! transition laws ([`OrnsteinUhlenbeck`], [`GeometricBrownianMotion`]), a replayable
//! [`BrownianPath`] for strong-error studies, the multi-path [`Solver`], and underdamped
//! Langevin dynamics as an SDE on (x, v) ([`UnderdampedLangevinSde`]).

mod brownian;
mod gbm;
mod langevin;
mod ou;
mod solve;
mod underdamped;

pub use brownian::BrownianPath;
pub use gbm::GeometricBrownianMotion;
pub use langevin::LangevinSde;
pub use ou::OrnsteinUhlenbeck;
pub use solve::{Solution, Solver};
pub use underdamped::UnderdampedLangevinSde;

use crate::density::Target;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;

/// The structure of the diffusion term `g(x, t) dW` (Itô unless an integrator says
/// otherwise).
///
/// | kind | `g` | [`Sde::diffusion_into`] writes | Brownian dimension |
/// |---|---|---|---|
/// | `Scalar` | `g(x, t) · I`, one coefficient for every coordinate | 1 value | d |
/// | `Diagonal` | `diag(g₁(x, t), …, g_d(x, t))` | d values | d |
/// | `Additive` | a matrix `G(t)` (d × m) independent of x | d·m values, row-major | m |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoiseKind {
    /// `g(x, t) I`: d independent Brownian motions sharing one coefficient.
    Scalar,
    /// `diag(g_i(x, t))`: d independent Brownian motions, one coefficient each.
    Diagonal,
    /// `G(t)` (d × m), state-independent: additive noise driven by m Brownian motions.
    Additive {
        /// The number m of driving Brownian motions.
        noise_dim: usize,
    },
}

/// An SDE `dX_t = f(X_t, t) dt + g(X_t, t) dW_t` on ℝᵈ.
///
/// Implementations write into caller buffers and must not allocate. The dimension and
/// scalar live on the [`Target`] supertrait.
///
/// # Example: Ornstein–Uhlenbeck by hand
/// ```
/// use langevin::prelude::*;
/// use langevin::sde::NoiseKind;
/// struct Ou;
/// impl Target for Ou { type Scalar = f64; fn dim(&self) -> usize { 1 } }
/// impl Sde for Ou {
///     fn noise_kind(&self) -> NoiseKind { NoiseKind::Scalar }
///     fn drift_into(&self, _t: f64, x: &[f64], out: &mut [f64]) { out[0] = -x[0]; }
///     fn diffusion_into(&self, _t: f64, _x: &[f64], out: &mut [f64]) { out[0] = 2f64.sqrt(); }
/// }
/// let mut x = [1.0];
/// let mut scratch = vec![0.0; EulerMaruyama.scratch_len(&Ou)];
/// EulerMaruyama.step_with_noise(&Ou, 0.0, 0.1, &mut x, &[0.0], &mut scratch);
/// assert!((x[0] - 0.9).abs() < 1e-15);
/// ```
pub trait Sde: Target {
    /// The structure of the diffusion.
    fn noise_kind(&self) -> NoiseKind;

    /// Writes the drift `f(x, t)` (length d) into `out`.
    fn drift_into(&self, t: Self::Scalar, x: &[Self::Scalar], out: &mut [Self::Scalar]);

    /// Writes the diffusion `g(x, t)` into `out` in the layout of [`Sde::noise_kind`]
    /// (length [`Sde::diffusion_len`]).
    fn diffusion_into(&self, t: Self::Scalar, x: &[Self::Scalar], out: &mut [Self::Scalar]);

    /// For `Scalar` and `Diagonal` noise: writes the d values `∂g_i/∂x_i(x, t)` (one per
    /// coordinate, also for `Scalar` noise, where `g_i = g`) into `out` and returns `true`; the default returns `false` (unknown). Milstein's scheme uses it when
    /// available and falls back to a derivative-free difference otherwise.
    fn diffusion_derivative_into(
        &self,
        t: Self::Scalar,
        x: &[Self::Scalar],
        out: &mut [Self::Scalar],
    ) -> bool {
        let _ = (t, x, out);
        false
    }

    /// The number of values [`Sde::diffusion_into`] writes.
    fn diffusion_len(&self) -> usize {
        match self.noise_kind() {
            NoiseKind::Scalar => 1,
            NoiseKind::Diagonal => self.dim(),
            NoiseKind::Additive { noise_dim } => self.dim() * noise_dim,
        }
    }

    /// The dimension m of the driving Brownian motion.
    fn noise_dim(&self) -> usize {
        match self.noise_kind() {
            NoiseKind::Scalar | NoiseKind::Diagonal => self.dim(),
            NoiseKind::Additive { noise_dim } => noise_dim,
        }
    }
}

impl<S: Sde + ?Sized> Sde for &S {
    fn noise_kind(&self) -> NoiseKind {
        (**self).noise_kind()
    }
    fn drift_into(&self, t: Self::Scalar, x: &[Self::Scalar], out: &mut [Self::Scalar]) {
        (**self).drift_into(t, x, out)
    }
    fn diffusion_into(&self, t: Self::Scalar, x: &[Self::Scalar], out: &mut [Self::Scalar]) {
        (**self).diffusion_into(t, x, out)
    }
    fn diffusion_derivative_into(
        &self,
        t: Self::Scalar,
        x: &[Self::Scalar],
        out: &mut [Self::Scalar],
    ) -> bool {
        (**self).diffusion_derivative_into(t, x, out)
    }
}

/// Applies the diffusion `g` (in the layout of `kind`) to a Brownian increment `dw`,
/// accumulating `x += g · dw`.
#[inline]
pub fn apply_diffusion<T: crate::Real>(kind: NoiseKind, g: &[T], dw: &[T], x: &mut [T]) {
    match kind {
        NoiseKind::Scalar => {
            let g0 = g[0];
            for (xi, &w) in x.iter_mut().zip(dw) {
                *xi += g0 * w;
            }
        }
        NoiseKind::Diagonal => {
            for ((xi, &gi), &w) in x.iter_mut().zip(g).zip(dw) {
                *xi += gi * w;
            }
        }
        NoiseKind::Additive { noise_dim } => {
            for (i, xi) in x.iter_mut().enumerate() {
                let row = &g[i * noise_dim..(i + 1) * noise_dim];
                *xi += crate::real::dot8(row, dw);
            }
        }
    }
}
