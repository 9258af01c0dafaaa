//! One step of an SDE discretisation: the [`Integrator`] trait and its implementations.
//!
//! Integrators are immutable configurations (`&self`); the state, the Brownian increments and
//! the scratch space are explicit arguments. The deterministic core
//! [`Integrator::step_with_noise`] takes the Brownian increments `ΔW ~ N(0, h I)` as input, so
//! tests can replay a path and form coarse increments by summing fine ones; the provided
//! [`Integrator::step`] draws them from an RNG.
//!
//! | integrator | noise | strong | weak | reference |
//! |---|---|---|---|---|
//! | [`EulerMaruyama`] | any (Itô) | ½ (1 additive) | 1 | Kloeden & Platen 1992 §10.2 |
//! | [`Milstein`] | diagonal / scalar (Itô) | 1 | 1 | Kloeden & Platen §10.3 |
//! | [`MilsteinDerivativeFree`] | diagonal / scalar (Itô) | 1 | 1 | Kloeden & Platen §11.1 |
//! | [`Sra1`] | additive, noise `(ΔW, ΔZ)` | 1.5 | 2 | Rößler 2010 |
//! | [`StochasticHeun`] | Stratonovich | 1 (commutative) | 1 | Rümelin 1982 |
//!
//! Underdamped (kinetic) Langevin dynamics with friction γ and mass M,
//! `dX = M⁻¹V dt, dV = ∇log p(X) dt − γV dt + sqrt(2γ) M^{1/2} dW`, is split rather than
//! integrated generically: [`Baoab`] and [`Obabo`] (Leimkuhler & Matthews 2013) are
//! [`crate::mcmc::Kernel`]s with a deterministic `step_with_noise`. Measured orders of every
//! integrator: `cargo run --release --example convergence_order`; to measure your own, use
//! [`crate::testing::estimate_order`].

// One way to take a step: drawing the noise and applying it are separated once, in the
// trait — `step_with_noise` is the deterministic core every integrator implements, and the
// provided `step` draws the increments (`draw_noise`, overridden only where the noise has more
// structure, SRA1's (ΔW, ΔZ) pairs) and then calls it. What the duplicate finder still lists
// across the files of this module is the `step_with_noise` signature itself and the
// scratch-splitting at its top: the shape of a trait implementation, left as the clearest form
// (a macro generating the signatures would hide the one thing each file is about).
// Euler–Maruyama alone overrides `step`: for scalar noise it draws the standard normals into
// `dw` in one tight loop, then updates the state in one pass (`EulerMaruyama::step_scalar_noise`).

mod euler_maruyama;
mod heun;
mod milstein;
mod sra;
pub(crate) mod underdamped;

pub use euler_maruyama::EulerMaruyama;
pub use heun::StochasticHeun;
pub use milstein::{Milstein, MilsteinDerivativeFree};
pub use sra::Sra1;
pub use underdamped::{Baoab, InitialVelocity, Obabo, UnderdampedState};

use crate::Real;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::sde::Sde;
use rand::Rng;

/// One step of a discretisation of an [`Sde`].
///
/// # Conventions
/// * `x` is advanced in place from time `t` to `t + h`.
/// * `dw` holds [`Integrator::noise_len`] values. Its first `sde.noise_dim()` entries are the
///   Brownian increments `ΔW = W(t + h) − W(t) ~ N(0, h I)` (not standard normals);
///   integrators that need more (iterated integrals) document the rest of the layout.
/// * `scratch` has at least [`Integrator::scratch_len`] entries; its contents on entry are
///   ignored. Steps allocate nothing.
pub trait Integrator<S: Sde + ?Sized> {
    /// The strong order of convergence γ: `E|X_N − X(T)| = O(h^γ)` (for the noise classes the
    /// integrator supports).
    fn strong_order(&self) -> f64;

    /// The weak order β: `|E φ(X_N) − E φ(X(T))| = O(h^β)` for smooth φ.
    fn weak_order(&self) -> f64;

    /// The number of noise values one step consumes (see the conventions above).
    fn noise_len(&self, sde: &S) -> usize {
        sde.noise_dim()
    }

    /// The scratch length one step needs.
    fn scratch_len(&self, sde: &S) -> usize;

    /// Advances `x` from `t` to `t + h` given the noise `dw` (deterministic).
    fn step_with_noise(
        &self,
        sde: &S,
        t: S::Scalar,
        h: S::Scalar,
        x: &mut [S::Scalar],
        dw: &[S::Scalar],
        scratch: &mut [S::Scalar],
    );

    /// Draws the noise of one step of size `h` into `dw` (length [`Integrator::noise_len`]).
    /// The default fills `ΔW = sqrt(h) ξ`, `ξ ~ N(0, I)`.
    fn draw_noise<R: Rng + ?Sized>(
        &self,
        sde: &S,
        h: S::Scalar,
        rng: &mut R,
        dw: &mut [S::Scalar],
    ) {
        let sh = h.sqrt();
        let m = self.noise_len(sde);
        for w in dw[..m].iter_mut() {
            *w = sh * S::Scalar::standard_normal(rng);
        }
    }

    /// Draws the noise and advances `x` one step. `dw` is a noise buffer of length
    /// [`Integrator::noise_len`]; the default leaves it holding the increments used
    /// (implementations that fuse drawing and updating may leave it unspecified).
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
        self.draw_noise(sde, h, rng, dw);
        self.step_with_noise(sde, t, h, x, dw, scratch);
    }
}

/// `None` if every coordinate is finite; otherwise the index of the first non-finite one.
#[inline]
pub(crate) fn first_non_finite<T: Real>(x: &[T]) -> Option<usize> {
    if crate::real::all_finite(x) {
        None
    } else {
        x.iter().position(|v| !v.finite())
    }
}
