#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::{Error, Real, Result};

/// A step-size sequence `h_k`, `k = 0, 1, …` (Langevin-time convention
/// `x' = x + h ∇log p(x) + sqrt(2h) ξ`), used by [`crate::mcmc::Sgld`].
pub trait StepSchedule<T>: Sync {
    /// The step size of transition `k` (0-based, counting warm-up).
    fn step_size(&self, k: usize) -> T;
}

/// The step of transition `*k` of a schedule, advancing the counter — the first lines of every
/// stochastic-gradient kernel's step (SGLD, pSGLD, SGHMC). `what` names the quantity in the
/// error (e.g. `"step size h"`).
///
/// # Errors
/// [`Error::InvalidSchedule`] if the schedule's value is not finite and positive.
#[inline]
pub(crate) fn next_step<T: Real, S: StepSchedule<T> + ?Sized>(
    schedule: &S,
    k: &mut usize,
    what: &str,
) -> Result<T> {
    let h = schedule.step_size(*k);
    let step = *k;
    *k += 1;
    if h.finite() && h > T::zero() {
        Ok(h)
    } else {
        Err(Error::InvalidSchedule {
            reason: format!("{what}_{step} = {h} is not finite and positive"),
        })
    }
}

/// A constant step `h_k = h`.
///
/// ```
/// use langevin::mcmc::{Constant, StepSchedule};
/// let s = Constant::new(0.1)?;
/// assert_eq!(s.step_size(1000), 0.1);
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Constant<T> {
    h: T,
}

impl<T: Real> Constant<T> {
    /// The constant step `h`.
    ///
    /// # Errors
    /// [`Error::InvalidStepSize`] unless `h` is finite and positive.
    pub fn new(h: T) -> Result<Self> {
        crate::error::check_positive("step size h", h.to_f64())?;
        Ok(Self { h })
    }
}

impl<T: Real> StepSchedule<T> for Constant<T> {
    #[inline]
    fn step_size(&self, _k: usize) -> T {
        self.h
    }
}

/// Polynomially decaying steps (Welling & Teh 2011):
///
/// ```text
/// h_k = a (b + k)^(−γ),       a > 0, b > 0, 0 ≤ γ ≤ 1
/// ```
///
/// For `½ < γ ≤ 1` the Robbins–Monro conditions `Σ h_k = ∞`, `Σ h_k² < ∞` hold, under
/// which SGLD's iterates converge to the posterior as the minibatch-noise and
/// discretisation biases vanish. (Welling & Teh write `ε_t = a(b + t)^(−γ)` for the step of
/// `θ' = θ + (ε/2)∇log p + N(0, ε)`; their `ε` is `2h`, so pass `a = a_WT / 2`.)
///
/// ```
/// use langevin::mcmc::{PolynomialDecay, StepSchedule};
/// let s = PolynomialDecay::new(1.0, 10.0, 0.55)?;
/// assert!((s.step_size(0) - 10f64.powf(-0.55)).abs() < 1e-15);
/// assert!(s.step_size(100) < s.step_size(10));
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * M. Welling, Y. W. Teh (2011), Bayesian learning via stochastic gradient Langevin
///   dynamics, *ICML*.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolynomialDecay<T> {
    a: T,
    b: T,
    gamma: T,
}

impl<T: Real> PolynomialDecay<T> {
    /// `h_k = a (b + k)^(−γ)`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `a > 0`, `b > 0` and `0 ≤ γ ≤ 1` (all finite).
    pub fn new(a: T, b: T, gamma: T) -> Result<Self> {
        let check = |name: &'static str, v: f64, ok: bool, expected: &'static str| {
            if v.is_finite() && ok {
                Ok(())
            } else {
                Err(Error::InvalidParameter {
                    name,
                    value: v,
                    expected,
                })
            }
        };
        let (af, bf, gf) = (a.to_f64(), b.to_f64(), gamma.to_f64());
        check("a", af, af > 0.0, "a finite scale a > 0")?;
        check("b", bf, bf > 0.0, "a finite offset b > 0")?;
        check(
            "gamma",
            gf,
            (0.0..=1.0).contains(&gf),
            "a decay exponent 0 ≤ γ ≤ 1 (½ < γ ≤ 1 for convergence)",
        )?;
        Ok(Self { a, b, gamma })
    }
}

impl<T: Real> StepSchedule<T> for PolynomialDecay<T> {
    #[inline]
    fn step_size(&self, k: usize) -> T {
        self.a * (self.b + T::c(k as f64)).powf(-self.gamma)
    }
}
