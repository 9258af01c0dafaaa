//! The forward SDEs of score-based diffusion models: VE, VP and sub-VP (Song et al. 2021).

use super::schedule::BetaSchedule;
use crate::density::Target;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::sde::{NoiseKind, Sde};
use crate::{Error, Real, Result};
use core::marker::PhantomData;
use rand::Rng;

/// A linear forward (noising) SDE on t ∈ [0, 1],
///
/// ```text
/// dX_t = a(t) X_t dt + g(t) dW_t,
/// ```
///
/// whose perturbation kernel is Gaussian: `X_t | X_0 ~ N(α_t X_0, σ_t² I)`. Implementors are
/// also [`Sde`]s (so any crate [`crate::Integrator`] can simulate the forward process); the
/// reverse-time samplers of this module need the coefficients below. Coefficients are
/// computed in `f64`.
pub trait ForwardSde: Sde {
    /// The drift coefficient a(t) (`f(x, t) = a(t) x`).
    fn drift_coef(&self, t: f64) -> f64;
    /// The diffusion coefficient g(t).
    fn diffusion_coef(&self, t: f64) -> f64;
    /// The mean coefficient α_t of the perturbation kernel.
    fn mean_coef(&self, t: f64) -> f64;
    /// The standard deviation σ_t of the perturbation kernel (`σ_0 = 0`).
    fn marginal_std(&self, t: f64) -> f64;
    /// The standard deviation of the prior `N(0, prior_std² I)` the reverse process starts
    /// from at t = 1.
    fn prior_std(&self) -> f64;

    /// Writes one draw of the prior `N(0, prior_std² I)` into `out`.
    fn sample_prior<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [Self::Scalar]) {
        let s = Self::Scalar::c(self.prior_std());
        for o in out.iter_mut() {
            *o = s * Self::Scalar::standard_normal(rng);
        }
    }

    /// The exact transition `X_t | X_s ~ N(a X_s, b² I)` for `s < t`: returns `(a, b²)` with
    /// `a = α_t/α_s`, `b² = σ_t² − a² σ_s²`.
    fn transition(&self, s: f64, t: f64) -> (f64, f64) {
        let a = self.mean_coef(t) / self.mean_coef(s);
        let (st, ss) = (self.marginal_std(t), self.marginal_std(s));
        (a, (st * st - a * a * ss * ss).max(0.0))
    }
}

macro_rules! sde_common {
    ($ty:ident) => {
        impl<T: Real> Target for $ty<T> {
            type Scalar = T;
            fn dim(&self) -> usize {
                self.dim
            }
        }
        impl<T: Real> Sde for $ty<T> {
            fn noise_kind(&self) -> NoiseKind {
                NoiseKind::Scalar
            }
            fn drift_into(&self, t: T, x: &[T], out: &mut [T]) {
                let a = T::c(self.drift_coef(t.to_f64()));
                for (o, &xi) in out.iter_mut().zip(x) {
                    *o = a * xi;
                }
            }
            fn diffusion_into(&self, t: T, _x: &[T], out: &mut [T]) {
                out[0] = T::c(self.diffusion_coef(t.to_f64()));
            }
            fn diffusion_derivative_into(&self, _t: T, _x: &[T], out: &mut [T]) -> bool {
                out.iter_mut().for_each(|o| *o = T::zero());
                true
            }
        }
    };
}

/// The constructors and accessor shared by the β-scheduled SDEs ([`Vp`], [`SubVp`]).
macro_rules! beta_sde_ctors {
    ($ty:ident, $name:literal) => {
        impl<T: Real> $ty<T> {
            #[doc = concat!("The ", $name, " SDE with a given β schedule.")]
            ///
            /// # Errors
            /// [`Error::ZeroDimension`].
            pub fn new(dim: usize, beta: BetaSchedule) -> Result<Self> {
                check_dim(dim)?;
                Ok(Self {
                    dim,
                    beta,
                    _t: PhantomData,
                })
            }
            #[doc = concat!("The ", $name, " SDE with the linear schedule β(t) = β₀ + t(β₁ − β₀).")]
            ///
            /// # Errors
            #[doc = concat!("As [`", stringify!($ty), "::new`] and [`BetaSchedule::linear`].")]
            pub fn linear(dim: usize, beta_min: f64, beta_max: f64) -> Result<Self> {
                Self::new(dim, BetaSchedule::linear(beta_min, beta_max)?)
            }
            /// The β schedule.
            pub fn schedule(&self) -> BetaSchedule {
                self.beta
            }
        }
    };
}

fn check_dim(dim: usize) -> Result<()> {
    if dim == 0 {
        Err(Error::ZeroDimension {
            what: "forward SDE",
        })
    } else {
        Ok(())
    }
}

/// The variance-exploding SDE (Song et al. 2021; the continuous limit of NCSN):
///
/// ```text
/// dX = sqrt(d[σ²(t)]/dt) dW,    σ(t) = σ_min (σ_max/σ_min)^t,    g(t) = σ(t) sqrt(2 ln(σ_max/σ_min))
/// X_t | X_0 ~ N(X_0, (σ(t)² − σ_min²) I)          prior N(0, σ_max² I)
/// ```
///
/// The kernel variance is the exact `σ(t)² − σ_min²` (score_sde uses `σ(t)²`, which differs
/// by σ_min² ≈ 1e-4 at σ_min = 0.01).
///
/// ```
/// use langevin::annealed::{ForwardSde, Ve};
/// let ve = Ve::<f64>::new(2, 0.01, 50.0)?;
/// assert!((ve.marginal_std(1.0) - (2500.0f64 - 1e-4).sqrt()).abs() < 1e-9);
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Ve<T> {
    dim: usize,
    sigma_min: f64,
    sigma_max: f64,
    _t: PhantomData<T>,
}

impl<T: Real> Ve<T> {
    /// The VE-SDE in dimension `dim` with `0 < sigma_min < sigma_max` (score_sde uses 0.01
    /// and 50 for CIFAR-10; pick σ_max ≈ the largest distance between data points).
    ///
    /// # Errors
    /// [`Error::ZeroDimension`]; [`Error::InvalidSchedule`] unless `0 < σ_min < σ_max` finite.
    pub fn new(dim: usize, sigma_min: f64, sigma_max: f64) -> Result<Self> {
        check_dim(dim)?;
        if !(sigma_min.is_finite()
            && sigma_max.is_finite()
            && sigma_min > 0.0
            && sigma_max > sigma_min)
        {
            return Err(Error::InvalidSchedule {
                reason: format!("VE-SDE needs 0 < σ_min < σ_max, got ({sigma_min}, {sigma_max})"),
            });
        }
        Ok(Self {
            dim,
            sigma_min,
            sigma_max,
            _t: PhantomData,
        })
    }
    /// σ(t) = σ_min (σ_max/σ_min)^t.
    pub fn sigma(&self, t: f64) -> f64 {
        self.sigma_min * (self.sigma_max / self.sigma_min).powf(t)
    }
}

impl<T: Real> ForwardSde for Ve<T> {
    fn drift_coef(&self, _t: f64) -> f64 {
        0.0
    }
    fn diffusion_coef(&self, t: f64) -> f64 {
        self.sigma(t) * (2.0 * (self.sigma_max / self.sigma_min).ln()).sqrt()
    }
    fn mean_coef(&self, _t: f64) -> f64 {
        1.0
    }
    fn marginal_std(&self, t: f64) -> f64 {
        let s = self.sigma(t);
        (s * s - self.sigma_min * self.sigma_min).max(0.0).sqrt()
    }
    fn prior_std(&self) -> f64 {
        self.sigma_max
    }
}
sde_common!(Ve);

/// The variance-preserving SDE (Song et al. 2021; the continuous limit of DDPM, Ho et al. 2020):
///
/// ```text
/// dX = −½ β(t) X dt + sqrt(β(t)) dW
/// X_t | X_0 ~ N(α_t X_0, (1 − α_t²) I),   α_t = exp(−½ ∫₀ᵗ β)         prior N(0, I)
/// ```
///
/// with a [`BetaSchedule`] (linear 0.1 → 20 by default in score_sde, or cosine).
///
/// ```
/// use langevin::annealed::{ForwardSde, Vp};
/// let vp = Vp::<f64>::linear(1, 0.1, 20.0)?;
/// // log α_t = −¼ t² (β₁ − β₀) − ½ t β₀
/// assert!((vp.mean_coef(1.0).ln() + 0.25 * 19.9 + 0.05).abs() < 1e-12);
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Vp<T> {
    dim: usize,
    beta: BetaSchedule,
    _t: PhantomData<T>,
}

beta_sde_ctors!(Vp, "VP");

impl<T: Real> ForwardSde for Vp<T> {
    fn drift_coef(&self, t: f64) -> f64 {
        -0.5 * self.beta.beta(t)
    }
    fn diffusion_coef(&self, t: f64) -> f64 {
        self.beta.beta(t).sqrt()
    }
    fn mean_coef(&self, t: f64) -> f64 {
        (-0.5 * self.beta.integral(t)).exp()
    }
    fn marginal_std(&self, t: f64) -> f64 {
        // 1 − α² = −expm1(−B(t)), accurate for small t.
        (-(-self.beta.integral(t)).exp_m1()).max(0.0).sqrt()
    }
    fn prior_std(&self) -> f64 {
        1.0
    }
}
sde_common!(Vp);

/// The sub-VP SDE (Song et al. 2021), whose marginal variance is bounded by the VP one:
///
/// ```text
/// dX = −½ β(t) X dt + sqrt(β(t) (1 − exp(−2 ∫₀ᵗ β))) dW
/// X_t | X_0 ~ N(α_t X_0, (1 − α_t²)² I),   α_t = exp(−½ ∫₀ᵗ β)       prior N(0, I)
/// ```
///
/// ```
/// use langevin::annealed::{ForwardSde, SubVp};
/// let s = SubVp::<f64>::linear(1, 0.1, 20.0)?;
/// let a = s.mean_coef(0.3);
/// assert!((s.marginal_std(0.3) - (1.0 - a * a)).abs() < 1e-12);
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SubVp<T> {
    dim: usize,
    beta: BetaSchedule,
    _t: PhantomData<T>,
}

beta_sde_ctors!(SubVp, "sub-VP");

impl<T: Real> ForwardSde for SubVp<T> {
    fn drift_coef(&self, t: f64) -> f64 {
        -0.5 * self.beta.beta(t)
    }
    fn diffusion_coef(&self, t: f64) -> f64 {
        (self.beta.beta(t) * (-(-2.0 * self.beta.integral(t)).exp_m1())).sqrt()
    }
    fn mean_coef(&self, t: f64) -> f64 {
        (-0.5 * self.beta.integral(t)).exp()
    }
    fn marginal_std(&self, t: f64) -> f64 {
        (-(-self.beta.integral(t)).exp_m1()).max(0.0)
    }
    fn prior_std(&self) -> f64 {
        1.0
    }
}
sde_common!(SubVp);
