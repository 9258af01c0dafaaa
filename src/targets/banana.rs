use super::{Analytic, ExactSample};
use crate::density::{LogDensity, Score, Target};
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::{Error, Real, Result};
use rand::Rng;
use statrs::distribution::{ContinuousCDF, Normal};

/// The Rosenbrock "banana" on ℝ²:
///
/// ```text
/// log p(x₁, x₂) = −(x₁ − a)² − b (x₂ − x₁²)²          (unnormalised)
/// ∂₁ log p = −2(x₁ − a) + 4 b x₁ (x₂ − x₁²),   ∂₂ log p = −2 b (x₂ − x₁²)
/// ```
///
/// Exactly: `x₁ ~ N(a, 1/2)` and `x₂ | x₁ ~ N(x₁², 1/(2b))`, so
/// `E = (a, a² + ½)`, `Var x₁ = ½`, `Cov(x₁, x₂) = a`, `Var x₂ = 2a² + ½ + 1/(2b)`.
/// Large `b` makes a narrow curved ridge, the classic hard geometry for Langevin samplers
/// (stability needs `h ≲ 1/(2b (1 + 4 x₁²))` along the ridge).
///
/// # Example
/// ```
/// use langevin::targets::{Analytic, Rosenbrock};
/// let b = Rosenbrock::<f64>::new(1.0, 10.0)?;
/// assert_eq!(b.exact_mean(), vec![1.0, 1.5]);
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Rosenbrock<T> {
    a: T,
    b: T,
}

impl<T: Real> Rosenbrock<T> {
    /// The banana with location `a` and curvature `b > 0`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `a` is not finite or `b` is not finite and positive.
    pub fn new(a: T, b: T) -> Result<Self> {
        if !a.finite() {
            return Err(Error::InvalidParameter {
                name: "a",
                value: a.to_f64(),
                expected: "finite",
            });
        }
        if !(b.finite() && b > T::zero()) {
            return Err(Error::InvalidParameter {
                name: "b",
                value: b.to_f64(),
                expected: "finite and > 0",
            });
        }
        Ok(Self { a, b })
    }
}

impl<T: Real> Target for Rosenbrock<T> {
    type Scalar = T;
    fn dim(&self) -> usize {
        2
    }
}
impl<T: Real> LogDensity for Rosenbrock<T> {
    fn log_density(&self, x: &[T]) -> T {
        let (u, r) = (x[0] - self.a, x[1] - x[0] * x[0]);
        -(u * u) - self.b * r * r
    }
}
impl<T: Real> Score for Rosenbrock<T> {
    fn score_into(&self, x: &[T], out: &mut [T]) {
        let two = T::c(2.0);
        let r = x[1] - x[0] * x[0];
        out[0] = -two * (x[0] - self.a) + T::c(4.0) * self.b * x[0] * r;
        out[1] = -two * self.b * r;
    }
}
impl<T: Real> Analytic for Rosenbrock<T> {
    fn exact_mean(&self) -> Vec<f64> {
        let a = self.a.to_f64();
        vec![a, a * a + 0.5]
    }
    fn exact_covariance(&self) -> Vec<f64> {
        let (a, b) = (self.a.to_f64(), self.b.to_f64());
        vec![0.5, a, a, 2.0 * a * a + 0.5 + 0.5 / b]
    }
    fn marginal_cdf(&self, i: usize, x: f64) -> Option<f64> {
        (i == 0)
            .then(|| {
                Normal::new(self.a.to_f64(), 0.5f64.sqrt())
                    .map(|n| n.cdf(x))
                    .ok()
            })
            .flatten()
    }
}
impl<T: Real> ExactSample for Rosenbrock<T> {
    fn sample_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [T]) {
        let x1 = self.a + T::c(0.5f64.sqrt()) * T::standard_normal(rng);
        out[0] = x1;
        out[1] = x1 * x1 + (T::c(0.5) / self.b).sqrt() * T::standard_normal(rng);
    }
}
