//! Constrained parameters: bijections to unconstrained space with log-Jacobian corrections.
//!
//! Langevin samplers move in ℝᵈ. A parameter that lives on `(0, ∞)`, on an interval `(a, b)`
//! or on the simplex is sampled through a smooth bijection `x = T(z)` from an unconstrained
//! `z`: the target of `z` is the change-of-variables density
//!
//! ```text
//! log p_z(z) = log p_x(T(z)) + log |det J_T(z)|
//! ∇_z log p_z(z) = J_T(z)ᵀ ∇_x log p_x(T(z)) + ∇_z log |det J_T(z)|
//! ```
//!
//! so if `z ~ p_z` then `T(z) ~ p_x` exactly. [`Constrained`] wraps any constrained target
//! (a [`LogDensity`] `+` [`Score`] on the constrained space, `f64`) and a [`Bijection`] into
//! this unconstrained target; the samplers run on it unchanged, and
//! [`crate::Trace::constrain`] maps a trace of `z` draws back to `x` (the mapping of a whole
//! trace belongs to the driving side: this module knows no traces).
//!
//! Bijections provided:
//!
//! | [`Constraint`] | `x = T(z)` | `log |dx/dz|` |
//! |---|---|---|
//! | `Real` | `z` | `0` |
//! | `Positive` (exp / log) | `eᶻ` | `z` |
//! | `LowerBound(a)` | `a + eᶻ` | `z` |
//! | `UpperBound(b)` | `b − eᶻ` | `z` |
//! | `Interval(a, b)` (logit / sigmoid) | `a + (b − a) σ(z)` | `ln(b − a) + ln σ(z) + ln σ(−z)` |
//! | `Softplus` | `ln(1 + eᶻ)` | `ln σ(z)` |
//!
//! applied coordinate-wise by [`Elementwise`], and [`StickBreaking`] onto the probability
//! simplex (`K − 1` unconstrained coordinates → `K` simplex coordinates, as in Stan).
//!
//! # Example: a Gamma sampled through `log`
//! ```
//! use langevin::prelude::*;
//! use langevin::targets::Univariate;
//! use langevin::transform::{Constrained, Constraint, Elementwise};
//! use statrs::distribution::Gamma;
//!
//! let gamma = Univariate::new(Gamma::new(2.0, 1.0).unwrap());
//! let z_target = Constrained::new(gamma, Elementwise::new(vec![Constraint::Positive])?)?;
//! let z0 = z_target.to_unconstrained(&[1.0])?;          // start at x = 1
//! let mala = Mala::new(&z_target, 0.3)?;
//! let z_trace = Sampler::new(4_000).chains(4).warmup(300).seed(5).run(&mala, &[z0])?;
//! let x_trace = z_trace.constrain(z_target.bijection()); // back to x > 0
//! assert!((x_trace.mean()[0] - 2.0).abs() < 0.25);       // E = α/β = 2
//! # Ok::<(), langevin::Error>(())
//! ```
//!
//! # References
//! * Stan Development Team, *Stan Reference Manual*, “Constraint transforms”.
//! * C. Rackauckas et al.; TensorFlow Probability `tfp.bijectors` (the same formulas).

mod simplex;

pub use simplex::StickBreaking;

use crate::density::{LogDensity, Score, Target};
use crate::error::check_len;
use crate::{Error, Result};
use std::cell::RefCell;

/// A smooth bijection `x = T(z)` from ℝⁿ (unconstrained) onto a constrained set of
/// dimension `m` (`m = n`, or `n + 1` for the simplex), with its log-Jacobian.
pub trait Bijection: Send + Sync + core::fmt::Debug {
    /// `n`, the dimension of `z`.
    fn unconstrained_dim(&self) -> usize;
    /// `m`, the dimension of `x`.
    fn constrained_dim(&self) -> usize;
    /// Writes `x = T(z)` and returns `log |det J_T(z)|`.
    fn forward(&self, z: &[f64], x: &mut [f64]) -> f64;
    /// Given `x = T(z)` and `gx = ∇_x log p(x)`, writes
    /// `gz = J_T(z)ᵀ gx + ∇_z log |det J_T(z)|`.
    fn pullback(&self, z: &[f64], x: &[f64], gx: &[f64], gz: &mut [f64]);
    /// Writes `z = T⁻¹(x)`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `x` is not in the (open) constrained set.
    fn inverse(&self, x: &[f64], z: &mut [f64]) -> Result<()>;
}

/// Logistic sigmoid `1/(1 + e^(−z))`, evaluated without overflow.
#[inline]
pub(crate) fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `softplus(z) = ln(1 + eᶻ)`, evaluated without overflow.
#[inline]
pub(crate) fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

/// A one-dimensional constraint and its bijection from ℝ (see the [module table](self)).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Constraint {
    /// No constraint: `x = z`.
    Real,
    /// `x > 0` through `x = exp(z)` (`z = ln x`).
    Positive,
    /// `x > a` through `x = a + exp(z)`.
    LowerBound(f64),
    /// `x < b` through `x = b − exp(z)`.
    UpperBound(f64),
    /// `a < x < b` through `x = a + (b − a) σ(z)` (`z = logit((x − a)/(b − a))`).
    Interval(f64, f64),
    /// `x > 0` through `x = softplus(z) = ln(1 + eᶻ)`, which grows linearly rather than
    /// exponentially in `z` (milder curvature for large values).
    Softplus,
}

impl Constraint {
    fn validate(&self) -> Result<()> {
        let bad = |name, value, expected| {
            Err(Error::InvalidParameter {
                name,
                value,
                expected,
            })
        };
        match *self {
            Constraint::LowerBound(a) if !a.is_finite() => bad("lower bound", a, "a finite bound"),
            Constraint::UpperBound(b) if !b.is_finite() => bad("upper bound", b, "a finite bound"),
            Constraint::Interval(a, b) if !(a.is_finite() && b.is_finite() && a < b) => {
                bad("interval width b − a", b - a, "finite bounds a < b")
            }
            _ => Ok(()),
        }
    }

    /// `(x, dx/dz, log |dx/dz|, d log |dx/dz| / dz)` at `z`.
    #[inline]
    pub fn eval(&self, z: f64) -> (f64, f64, f64, f64) {
        match *self {
            Constraint::Real => (z, 1.0, 0.0, 0.0),
            Constraint::Positive => {
                let e = z.exp();
                (e, e, z, 1.0)
            }
            Constraint::LowerBound(a) => {
                let e = z.exp();
                (a + e, e, z, 1.0)
            }
            Constraint::UpperBound(b) => {
                let e = z.exp();
                (b - e, -e, z, 1.0)
            }
            Constraint::Interval(a, b) => {
                let w = b - a;
                let s = sigmoid(z);
                let sm = sigmoid(-z);
                // Near the upper end compute from b for accuracy.
                let x = if z > 0.0 { b - w * sm } else { a + w * s };
                (x, w * s * sm, w.ln() - softplus(-z) - softplus(z), sm - s)
            }
            Constraint::Softplus => {
                let s = sigmoid(z);
                (softplus(z), s, -softplus(-z), sigmoid(-z))
            }
        }
    }

    /// `z = T⁻¹(x)`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `x` violates the constraint (or is NaN).
    pub fn inverse(&self, x: f64) -> Result<f64> {
        let bad = |expected| {
            Err(Error::InvalidParameter {
                name: "constrained value",
                value: x,
                expected,
            })
        };
        match *self {
            Constraint::Real if x.is_finite() => Ok(x),
            Constraint::Real => bad("a finite value"),
            Constraint::Positive if x > 0.0 && x.is_finite() => Ok(x.ln()),
            Constraint::Positive => bad("a finite value > 0"),
            Constraint::LowerBound(a) if x > a && x.is_finite() => Ok((x - a).ln()),
            Constraint::LowerBound(_) => bad("a finite value above the lower bound"),
            Constraint::UpperBound(b) if x < b && x.is_finite() => Ok((b - x).ln()),
            Constraint::UpperBound(_) => bad("a finite value below the upper bound"),
            Constraint::Interval(a, b) if x > a && x < b => {
                // logit((x − a)/(b − a)) = ln(x − a) − ln(b − x): both differences are exact
                // and positive, so z stays finite even where (x − a)/(b − a) rounds to 1.
                Ok((x - a).ln() - (b - x).ln())
            }
            Constraint::Interval(..) => bad("a value strictly inside the interval (a, b)"),
            Constraint::Softplus if x > 0.0 && x.is_finite() => Ok(x + (-(-x).exp_m1()).ln()),
            Constraint::Softplus => bad("a finite value > 0"),
        }
    }
}

/// One [`Constraint`] per coordinate: `xᵢ = Tᵢ(zᵢ)`, `log |det J| = Σᵢ log |Tᵢ'(zᵢ)|`.
#[derive(Debug, Clone, PartialEq)]
pub struct Elementwise {
    constraints: Vec<Constraint>,
}

impl Elementwise {
    /// One constraint per coordinate.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] for an empty list; [`Error::InvalidParameter`] for
    /// non-finite bounds or an empty interval.
    pub fn new(constraints: Vec<Constraint>) -> Result<Self> {
        if constraints.is_empty() {
            return Err(Error::ZeroDimension {
                what: "elementwise bijection",
            });
        }
        for c in &constraints {
            c.validate()?;
        }
        Ok(Self { constraints })
    }
    /// The same constraint on each of `d` coordinates.
    ///
    /// # Errors
    /// As [`Elementwise::new`].
    pub fn uniform(constraint: Constraint, d: usize) -> Result<Self> {
        Self::new(vec![constraint; d])
    }
    /// The constraints.
    pub fn constraints(&self) -> &[Constraint] {
        &self.constraints
    }
}

impl Bijection for Elementwise {
    fn unconstrained_dim(&self) -> usize {
        self.constraints.len()
    }
    fn constrained_dim(&self) -> usize {
        self.constraints.len()
    }
    fn forward(&self, z: &[f64], x: &mut [f64]) -> f64 {
        let mut lj = 0.0;
        for ((c, &zi), xi) in self.constraints.iter().zip(z).zip(x.iter_mut()) {
            let (v, _, l, _) = c.eval(zi);
            *xi = v;
            lj += l;
        }
        lj
    }
    fn pullback(&self, z: &[f64], _x: &[f64], gx: &[f64], gz: &mut [f64]) {
        for (((c, &zi), &g), o) in self.constraints.iter().zip(z).zip(gx).zip(gz.iter_mut()) {
            let (_, dx, _, dl) = c.eval(zi);
            *o = dx * g + dl;
        }
    }
    fn inverse(&self, x: &[f64], z: &mut [f64]) -> Result<()> {
        check_len("constrained point", self.constraints.len(), x.len())?;
        check_len("unconstrained output", self.constraints.len(), z.len())?;
        for ((c, &xi), zi) in self.constraints.iter().zip(x).zip(z.iter_mut()) {
            *zi = c.inverse(xi)?;
        }
        Ok(())
    }
}

thread_local! {
    // Per-thread scratch for the constrained point and its score, so evaluating a
    // `Constrained` target allocates nothing after the first call on each thread. Taken out
    // of the cell while in use, so nested `Constrained` targets stay correct.
    static SCRATCH: RefCell<(Vec<f64>, Vec<f64>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

fn with_scratch<R>(m: usize, f: impl FnOnce(&mut [f64], &mut [f64]) -> R) -> R {
    let (mut x, mut g) = SCRATCH.with(|s| core::mem::take(&mut *s.borrow_mut()));
    x.resize(m, 0.0);
    g.resize(m, 0.0);
    let r = f(&mut x, &mut g);
    SCRATCH.with(|s| *s.borrow_mut() = (x, g));
    r
}

/// A constrained target seen through a [`Bijection`]: the unconstrained target
/// `log p(T(z)) + log |det J_T(z)|` with its chain-rule score (see the [module docs](self)).
///
/// Evaluations use a per-thread scratch buffer (no allocation after the first call on a
/// thread). Outside the constrained target's support (`log p = −∞`, which `T` reaches only
/// by floating-point rounding at extreme `z`) the log density is `−∞` and the score is 0.
#[derive(Debug, Clone)]
pub struct Constrained<P, B> {
    target: P,
    bijection: B,
}

impl<P, B> Constrained<P, B>
where
    P: LogDensity<Scalar = f64> + Score,
    B: Bijection,
{
    /// Wraps a constrained `target` (on the space of `x`) with the bijection `x = T(z)`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] if the bijection's constrained dimension differs from
    /// the target's.
    pub fn new(target: P, bijection: B) -> Result<Self> {
        check_len(
            "bijection's constrained dimension",
            target.dim(),
            bijection.constrained_dim(),
        )?;
        Ok(Self { target, bijection })
    }
    /// The constrained target.
    pub fn target(&self) -> &P {
        &self.target
    }
    /// The bijection.
    pub fn bijection(&self) -> &B {
        &self.bijection
    }
    /// `x = T(z)` in a new vector.
    pub fn to_constrained(&self, z: &[f64]) -> Vec<f64> {
        let mut x = vec![0.0; self.bijection.constrained_dim()];
        self.bijection.forward(z, &mut x);
        x
    }
    /// `z = T⁻¹(x)` in a new vector (e.g. to start chains at a constrained point).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for a wrong length; [`Error::InvalidParameter`] if `x`
    /// violates the constraint.
    pub fn to_unconstrained(&self, x: &[f64]) -> Result<Vec<f64>> {
        check_len(
            "constrained point",
            self.bijection.constrained_dim(),
            x.len(),
        )?;
        let mut z = vec![0.0; self.bijection.unconstrained_dim()];
        self.bijection.inverse(x, &mut z)?;
        Ok(z)
    }
}

impl<P: Target, B: Bijection> Target for Constrained<P, B> {
    type Scalar = f64;
    fn dim(&self) -> usize {
        self.bijection.unconstrained_dim()
    }
}

impl<P, B> LogDensity for Constrained<P, B>
where
    P: LogDensity<Scalar = f64>,
    B: Bijection,
{
    fn log_density(&self, z: &[f64]) -> f64 {
        with_scratch(self.bijection.constrained_dim(), |x, _| {
            let lj = self.bijection.forward(z, x);
            let lp = self.target.log_density(x);
            if lp == f64::NEG_INFINITY { lp } else { lp + lj }
        })
    }
}

impl<P, B> Score for Constrained<P, B>
where
    P: LogDensity<Scalar = f64> + Score,
    B: Bijection,
{
    fn score_into(&self, z: &[f64], out: &mut [f64]) {
        self.log_density_and_score(z, out);
    }
    fn log_density_and_score(&self, z: &[f64], out: &mut [f64]) -> Option<f64> {
        Some(with_scratch(self.bijection.constrained_dim(), |x, g| {
            let lj = self.bijection.forward(z, x);
            let lp = crate::density::log_density_and_score(&self.target, x, g);
            if lp == f64::NEG_INFINITY {
                out.iter_mut().for_each(|o| *o = 0.0);
                return lp;
            }
            self.bijection.pullback(z, x, g, out);
            lp + lj
        }))
    }
}
