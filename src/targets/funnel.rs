use super::{Analytic, ExactSample};
use crate::density::{LogDensity, Score, Target};
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::{Error, Real, Result};
use rand::Rng;
use statrs::distribution::{ContinuousCDF, Normal};

/// Neal's funnel in d dimensions (Neal 2003, "Slice sampling", Ann. Statist. 31(3)):
/// `v ~ N(0, s²)` and `x_i | v ~ N(0, e^v)` for `i = 1, …, d − 1`; the state is `(v, x₁, …)`.
///
/// ```text
/// log p(v, x) = −v²/(2s²) − (d−1) v/2 − ½ e^{−v} Σ x_i²
/// ∂_v log p   = −v/s² − (d−1)/2 + ½ e^{−v} Σ x_i²,     ∂_{x_i} log p = −e^{−v} x_i
/// ```
///
/// Exactly: all means 0, `Var v = s²`, `Var x_i = E[e^v] = e^{s²/2}`, all covariances 0. The
/// neck (`v ≪ 0`) needs steps of order `e^v`: a fixed-step Langevin sampler under-explores it,
/// which makes the funnel a test of samplers' honesty (divergence counts).
#[derive(Debug, Clone, Copy)]
pub struct Funnel<T> {
    dim: usize,
    scale: T,
}

impl<T: Real> Funnel<T> {
    /// Neal's funnel of dimension `dim ≥ 2` with `v`'s standard deviation `scale`
    /// (Neal used 3).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `dim < 2` or `scale` is not finite and positive.
    pub fn new(dim: usize, scale: T) -> Result<Self> {
        if dim < 2 {
            return Err(Error::InvalidParameter {
                name: "dim",
                value: dim as f64,
                expected: "at least 2 (v and one x)",
            });
        }
        if !(scale.finite() && scale > T::zero()) {
            return Err(Error::InvalidParameter {
                name: "scale",
                value: scale.to_f64(),
                expected: "finite and > 0",
            });
        }
        Ok(Self { dim, scale })
    }
}

impl<T: Real> Target for Funnel<T> {
    type Scalar = T;
    fn dim(&self) -> usize {
        self.dim
    }
}
impl<T: Real> LogDensity for Funnel<T> {
    fn log_density(&self, x: &[T]) -> T {
        let v = x[0];
        let ss: T = x[1..].iter().map(|&xi| xi * xi).sum();
        let half = T::c(0.5);
        -v * v / (T::c(2.0) * self.scale * self.scale)
            - T::c((self.dim - 1) as f64) * v * half
            - half * (-v).exp() * ss
    }
}
impl<T: Real> Score for Funnel<T> {
    fn score_into(&self, x: &[T], out: &mut [T]) {
        let v = x[0];
        let ev = (-v).exp();
        let mut ss = T::zero();
        for i in 1..self.dim {
            ss += x[i] * x[i];
            out[i] = -ev * x[i];
        }
        let half = T::c(0.5);
        out[0] =
            -v / (self.scale * self.scale) - T::c((self.dim - 1) as f64) * half + half * ev * ss;
    }
}
impl<T: Real> Analytic for Funnel<T> {
    fn exact_mean(&self) -> Vec<f64> {
        vec![0.0; self.dim]
    }
    fn exact_covariance(&self) -> Vec<f64> {
        let d = self.dim;
        let s2 = self.scale.to_f64().powi(2);
        let mut c = vec![0.0; d * d];
        c[0] = s2;
        for i in 1..d {
            c[i * d + i] = (s2 / 2.0).exp();
        }
        c
    }
    fn marginal_cdf(&self, i: usize, x: f64) -> Option<f64> {
        (i == 0)
            .then(|| Normal::new(0.0, self.scale.to_f64()).map(|n| n.cdf(x)).ok())
            .flatten()
    }
}
impl<T: Real> ExactSample for Funnel<T> {
    fn sample_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [T]) {
        let v = self.scale * T::standard_normal(rng);
        out[0] = v;
        let sd = (v * T::c(0.5)).exp();
        for o in out[1..].iter_mut() {
            *o = sd * T::standard_normal(rng);
        }
    }
}
