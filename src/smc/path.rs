use crate::density::{
    LogDensity, NoiseConditionalLogDensity, NoiseConditionalScore, Score, Target,
};
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::{Error, Real, Result};

/// The geometric tempering path between a reference `p₀` and a target `p₁`:
///
/// ```text
/// log p_β(x) = (1 − β) log p₀(x) + β log p₁(x),          β ∈ [0, 1]
/// ∇log p_β(x) = (1 − β) ∇log p₀(x) + β ∇log p₁(x)
/// ```
///
/// `p_β` is a [`Target`] with [`LogDensity`] and [`Score`], so every kernel of
/// [`crate::mcmc`] moves particles on it unchanged — [`crate::smc::Smc`] builds one
/// [`crate::Mala`] or [`crate::Ula`] on `Geometric` per level rather than its own copy of MALA.
/// Both ends may be unnormalised; the normalising constant of `p_β` is
/// `Z_β = ∫ p₀^(1−β) p₁^β dx`.
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::smc::Geometric;
/// use langevin::targets::Gaussian;
/// let p0 = Gaussian::<f64>::standard(1)?;
/// let p1 = Gaussian::<f64>::isotropic(vec![2.0], 1.0)?;
/// let mid = Geometric::new(&p0, &p1, 0.5)?;
/// // N(0,1)^½ N(2,1)^½ ∝ N(1, 1): the score vanishes at 1.
/// assert!(mid.score(&[1.0])[0].abs() < 1e-12);
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Geometric<P0, P1: Target> {
    p0: P0,
    p1: P1,
    beta: P1::Scalar,
}

impl<P0, P1> Geometric<P0, P1>
where
    P0: Target<Scalar = P1::Scalar>,
    P1: Target,
{
    /// The point `β ∈ [0, 1]` of the path from `p0` to `p1`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if the two ends differ in dimension;
    /// [`Error::InvalidParameter`] unless `0 ≤ β ≤ 1`.
    pub fn new(p0: P0, p1: P1, beta: P1::Scalar) -> Result<Self> {
        crate::error::check_len("reference p0 (dimension of p1)", p1.dim(), p0.dim())?;
        let b = beta.to_f64();
        if !(0.0..=1.0).contains(&b) {
            return Err(Error::InvalidParameter {
                name: "beta",
                value: b,
                expected: "an inverse temperature 0 ≤ β ≤ 1 (0: reference, 1: target)",
            });
        }
        Ok(Self { p0, p1, beta })
    }

    /// The inverse temperature β.
    pub fn beta(&self) -> P1::Scalar {
        self.beta
    }
}

impl<P0, P1> Target for Geometric<P0, P1>
where
    P0: Target<Scalar = P1::Scalar>,
    P1: Target,
{
    type Scalar = P1::Scalar;
    fn dim(&self) -> usize {
        self.p1.dim()
    }
}

impl<P0, P1> LogDensity for Geometric<P0, P1>
where
    P0: LogDensity<Scalar = P1::Scalar>,
    P1: LogDensity,
{
    fn log_density(&self, x: &[P1::Scalar]) -> P1::Scalar {
        mix(self.beta, self.p0.log_density(x), self.p1.log_density(x))
    }
}

/// `(1 − β) a + β b`, with the end points exact (β = 0 ignores `b`, β = 1 ignores `a`, so an
/// infinite log density at an unused end does not produce `0 · ∞ = NaN`).
#[inline]
fn mix<T: Real>(beta: T, a: T, b: T) -> T {
    if beta == T::zero() {
        a
    } else if beta == T::one() {
        b
    } else {
        (T::one() - beta) * a + beta * b
    }
}

/// Runs `f` on a per-thread scratch slice of `n` zeros-or-stale values of type `T`, grown once
/// and reused, so the path's score allocates nothing in the steady state. The buffer is taken
/// out of its slot while in use, so a nested call (a path whose end is itself a path) gets a
/// fresh buffer instead of a conflicting borrow.
fn with_scratch<T: Real + 'static, R>(n: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
    use core::any::Any;
    use core::cell::RefCell;
    thread_local! {
        static SLOTS: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
    }
    // The box is moved out and back, never reallocated: the steady state allocates nothing.
    let mut buf: Box<Vec<T>> = SLOTS
        .with(|slots| {
            let mut slots = slots.borrow_mut();
            let i = slots.iter().position(|b| b.is::<Vec<T>>())?;
            slots.swap_remove(i).downcast::<Vec<T>>().ok()
        })
        .unwrap_or_default();
    if buf.len() < n {
        buf.resize(n, T::zero());
    }
    let r = f(&mut buf[..n]);
    SLOTS.with(|slots| slots.borrow_mut().push(buf));
    r
}

impl<P0, P1> Score for Geometric<P0, P1>
where
    P0: Score<Scalar = P1::Scalar>,
    P1: Score,
{
    fn score_into(&self, x: &[P1::Scalar], out: &mut [P1::Scalar]) {
        let b = self.beta;
        if b == P1::Scalar::one() {
            return self.p1.score_into(x, out);
        }
        if b == P1::Scalar::zero() {
            return self.p0.score_into(x, out);
        }
        let a = P1::Scalar::one() - b;
        self.p1.score_into(x, out);
        with_scratch(x.len(), |g0: &mut [P1::Scalar]| {
            self.p0.score_into(x, g0);
            for (o, &g) in out.iter_mut().zip(g0.iter()) {
                *o = a * g + b * *o;
            }
        });
    }

    fn log_density_and_score(
        &self,
        x: &[P1::Scalar],
        out: &mut [P1::Scalar],
    ) -> Option<P1::Scalar> {
        let b = self.beta;
        if b == P1::Scalar::one() {
            return self.p1.log_density_and_score(x, out);
        }
        if b == P1::Scalar::zero() {
            return self.p0.log_density_and_score(x, out);
        }
        let a = P1::Scalar::one() - b;
        let l1 = self.p1.log_density_and_score(x, out)?;
        with_scratch(x.len(), |g0: &mut [P1::Scalar]| {
            let l0 = self.p0.log_density_and_score(x, g0)?;
            for (o, &g) in out.iter_mut().zip(g0.iter()) {
                *o = a * g + b * *o;
            }
            Some(a * l0 + b * l1)
        })
    }
}

/// One point of the noise-level path of annealed Langevin: the target smoothed by
/// `N(0, σ² I)`, `p_σ = p ∗ N(0, σ² I)`, seen as an ordinary [`Target`] with
/// [`LogDensity`] `log p_σ` ([`NoiseConditionalLogDensity::log_density_sigma`]) and
/// [`Score`] `∇log p_σ` ([`NoiseConditionalScore::score_sigma_into`]).
///
/// [`crate::smc::Smc::run_noise`] builds one [`crate::Mala`] on `Smoothed` per noise level,
/// exactly as it builds one on [`Geometric`] per inverse temperature.
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::smc::Smoothed;
/// use langevin::targets::GaussianMixture;
/// // N(2, 1) smoothed by N(0, 3): N(2, 4), whose score vanishes at 2.
/// let p = GaussianMixture::<f64>::new(vec![1.0], vec![vec![2.0]], vec![1.0])?;
/// let s = Smoothed::new(&p, 3f64.sqrt())?;
/// assert!(s.score(&[2.0])[0].abs() < 1e-12);
/// assert!((s.score(&[0.0])[0] - 0.5).abs() < 1e-12);
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Smoothed<'a, P: Target> {
    p: &'a P,
    sigma: P::Scalar,
}

impl<'a, P: Target> Smoothed<'a, P> {
    /// `p` smoothed by `N(0, sigma² I)`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `sigma` is finite and `≥ 0`.
    pub fn new(p: &'a P, sigma: P::Scalar) -> Result<Self> {
        let s = sigma.to_f64();
        if !(s.is_finite() && s >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "sigma",
                value: s,
                expected: "a finite noise level σ ≥ 0",
            });
        }
        Ok(Self { p, sigma })
    }

    /// The noise level σ.
    pub fn sigma(&self) -> P::Scalar {
        self.sigma
    }
}

impl<P: Target> Target for Smoothed<'_, P> {
    type Scalar = P::Scalar;
    fn dim(&self) -> usize {
        self.p.dim()
    }
}

impl<P: NoiseConditionalLogDensity> LogDensity for Smoothed<'_, P> {
    fn log_density(&self, x: &[P::Scalar]) -> P::Scalar {
        self.p.log_density_sigma(x, self.sigma)
    }
}

impl<P: NoiseConditionalScore> Score for Smoothed<'_, P> {
    fn score_into(&self, x: &[P::Scalar], out: &mut [P::Scalar]) {
        self.p.score_sigma_into(x, self.sigma, out);
    }
    fn log_density_and_score(&self, x: &[P::Scalar], out: &mut [P::Scalar]) -> Option<P::Scalar> {
        self.p.log_density_and_score_sigma(x, self.sigma, out)
    }
}
