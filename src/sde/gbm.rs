use super::{NoiseKind, Sde};
use crate::density::Target;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::{Error, Real, Result};
use rand::Rng;

/// Geometric Brownian motion in d independent coordinates (diagonal noise):
///
/// ```text
/// dX_i = λ X_i dt + μ X_i dW_i                        (Itô)
/// X_i(t) = X_i(0) exp((λ − μ²/2) t + μ W_i(t))        exact solution
/// ```
///
/// The exact solution depends on the Brownian path only through `W(t)`, so coarse
/// integrators and the exact solution can share one path (Higham 2001). Euler–Maruyama's
/// moments are exact too: `E[X_K] = X₀ (1 + λh)^K`, `E[X_K²] = X₀² ((1 + λh)² + μ²h)^K`.
///
/// Read as a Stratonovich SDE (`dX = λX dt + μX ∘ dW`) the solution is
/// `X₀ exp(λt + μW(t))` ([`GeometricBrownianMotion::exact_solution_stratonovich`]); the
/// Itô process with drift λ is the Stratonovich process with drift `λ − μ²/2`.
///
/// # Example
/// ```
/// use langevin::sde::GeometricBrownianMotion;
/// let gbm = GeometricBrownianMotion::new(1, 2.0, 1.0)?;
/// let mut x = [0.0];
/// gbm.exact_solution(&[1.0], 1.0, &[0.0], &mut x);
/// assert!((x[0] - 1.5f64.exp()).abs() < 1e-12);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * D. J. Higham (2001), An algorithmic introduction to numerical simulation of stochastic
///   differential equations, *SIAM Review* 43(3):525–546.
#[derive(Debug, Clone)]
pub struct GeometricBrownianMotion<T> {
    dim: usize,
    lambda: T,
    mu: T,
}

impl<T: Real> GeometricBrownianMotion<T> {
    /// GBM in `dim` coordinates with drift rate `lambda` and volatility `mu`.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] for `dim = 0`; [`Error::InvalidParameter`] for a non-finite
    /// `lambda` or `mu`.
    pub fn new(dim: usize, lambda: T, mu: T) -> Result<Self> {
        if dim == 0 {
            return Err(Error::ZeroDimension {
                what: "geometric Brownian motion",
            });
        }
        for (name, v) in [("lambda", lambda), ("mu", mu)] {
            if !v.finite() {
                return Err(Error::InvalidParameter {
                    name,
                    value: v.to_f64(),
                    expected: "a finite value",
                });
            }
        }
        Ok(Self { dim, lambda, mu })
    }

    /// The drift rate λ.
    pub fn lambda(&self) -> T {
        self.lambda
    }
    /// The volatility μ.
    pub fn mu(&self) -> T {
        self.mu
    }

    /// The Itô solution `x₀ exp((λ − μ²/2) t + μ w)` after time `t` given the Brownian
    /// increments `w = W(t) − W(0)` (length d), written into `out`.
    pub fn exact_solution(&self, x0: &[T], t: T, w: &[T], out: &mut [T]) {
        let drift = (self.lambda - T::c(0.5) * self.mu * self.mu) * t;
        for ((o, &x), &wi) in out.iter_mut().zip(x0).zip(w) {
            *o = x * (drift + self.mu * wi).exp();
        }
    }

    /// The Stratonovich solution `x₀ exp(λ t + μ w)` (see the type docs).
    pub fn exact_solution_stratonovich(&self, x0: &[T], t: T, w: &[T], out: &mut [T]) {
        for ((o, &x), &wi) in out.iter_mut().zip(x0).zip(w) {
            *o = x * (self.lambda * t + self.mu * wi).exp();
        }
    }

    /// The exact mean `x₀ e^{λt}` and variance `x₀² e^{2λt}(e^{μ²t} − 1)` of one coordinate.
    pub fn exact_moments(&self, x0: f64, t: f64) -> (f64, f64) {
        let (l, m) = (self.lambda.to_f64(), self.mu.to_f64());
        let mean = x0 * (l * t).exp();
        (mean, mean * mean * (m * m * t).exp_m1())
    }

    /// Exact first and second moments `(X₀(1+λh)^K, X₀²((1+λh)² + μ²h)^K)` of one coordinate
    /// after `K` Euler–Maruyama steps of size `h`.
    pub fn em_moments(&self, x0: f64, h: f64, k: u32) -> (f64, f64) {
        let (l, m) = (self.lambda.to_f64(), self.mu.to_f64());
        let a = 1.0 + l * h;
        (
            x0 * a.powi(k as i32),
            x0 * x0 * (a * a + m * m * h).powi(k as i32),
        )
    }

    /// Draws `X_{t+Δ}` given `X_t = x` exactly into `out`.
    pub fn sample_transition<R: Rng + ?Sized>(&self, x: &[T], dt: T, rng: &mut R, out: &mut [T]) {
        let sd = dt.sqrt();
        let drift = (self.lambda - T::c(0.5) * self.mu * self.mu) * dt;
        for (o, &xi) in out.iter_mut().zip(x) {
            *o = xi * (drift + self.mu * sd * T::standard_normal(rng)).exp();
        }
    }
}

impl<T: Real> Target for GeometricBrownianMotion<T> {
    type Scalar = T;
    fn dim(&self) -> usize {
        self.dim
    }
}

impl<T: Real> Sde for GeometricBrownianMotion<T> {
    fn noise_kind(&self) -> NoiseKind {
        NoiseKind::Diagonal
    }
    #[inline]
    fn drift_into(&self, _t: T, x: &[T], out: &mut [T]) {
        for (o, &xi) in out.iter_mut().zip(x) {
            *o = self.lambda * xi;
        }
    }
    #[inline]
    fn diffusion_into(&self, _t: T, x: &[T], out: &mut [T]) {
        for (o, &xi) in out.iter_mut().zip(x) {
            *o = self.mu * xi;
        }
    }
    fn diffusion_derivative_into(&self, _t: T, _x: &[T], out: &mut [T]) -> bool {
        for o in out.iter_mut() {
            *o = self.mu;
        }
        true
    }
}
