//! Targets built from closures.

use super::{LogDensity, Score, Target};
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::{Error, Real, Result};
use core::fmt;
use core::marker::PhantomData;

fn check_dim(dim: usize) -> Result<()> {
    if dim == 0 {
        Err(Error::ZeroDimension {
            what: "closure target",
        })
    } else {
        Ok(())
    }
}

/// A [`LogDensity`] from a closure `|x: &[T]| -> T`.
///
/// ```
/// use langevin::prelude::*;
/// let p = FnLogDensity::new(2, |x: &[f64]| -0.5 * (x[0] * x[0] + x[1] * x[1]))?;
/// assert_eq!(p.dim(), 2);
/// assert_eq!(p.log_density(&[0.0, 0.0]), 0.0);
/// # Ok::<(), langevin::Error>(())
/// ```
pub struct FnLogDensity<T, F> {
    dim: usize,
    f: F,
    _t: PhantomData<fn() -> T>,
}

impl<T: Real, F: Fn(&[T]) -> T> FnLogDensity<T, F> {
    /// Wraps `f` as a log density on ℝ^`dim`.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] if `dim == 0`.
    pub fn new(dim: usize, f: F) -> Result<Self> {
        check_dim(dim)?;
        Ok(Self {
            dim,
            f,
            _t: PhantomData,
        })
    }
}

impl<T: Real, F> Target for FnLogDensity<T, F> {
    type Scalar = T;
    fn dim(&self) -> usize {
        self.dim
    }
}
impl<T: Real, F: Fn(&[T]) -> T> LogDensity for FnLogDensity<T, F> {
    #[inline]
    fn log_density(&self, x: &[T]) -> T {
        (self.f)(x)
    }
}

/// A [`Score`] from a closure `|x: &[T], out: &mut [T]|` writing `∇ log p(x)` into `out`
/// (for score-only models: learned or empirical scores).
///
/// ```
/// use langevin::prelude::*;
/// let s = FnScore::new(1, |x: &[f64], out: &mut [f64]| out[0] = -x[0])?;
/// assert_eq!(s.score(&[2.0]), vec![-2.0]);
/// # Ok::<(), langevin::Error>(())
/// ```
pub struct FnScore<T, G> {
    dim: usize,
    g: G,
    _t: PhantomData<fn() -> T>,
}

impl<T: Real, G: Fn(&[T], &mut [T])> FnScore<T, G> {
    /// Wraps `g` as a score on ℝ^`dim`.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] if `dim == 0`.
    pub fn new(dim: usize, g: G) -> Result<Self> {
        check_dim(dim)?;
        Ok(Self {
            dim,
            g,
            _t: PhantomData,
        })
    }
}
impl<T: Real, G> Target for FnScore<T, G> {
    type Scalar = T;
    fn dim(&self) -> usize {
        self.dim
    }
}
impl<T: Real, G: Fn(&[T], &mut [T])> Score for FnScore<T, G> {
    #[inline]
    fn score_into(&self, x: &[T], out: &mut [T]) {
        (self.g)(x, out)
    }
}

/// A target with both a log density and a score, from two closures.
///
/// ```
/// use langevin::prelude::*;
/// let p = FnTarget::new(
///     1,
///     |x: &[f64]| -0.5 * x[0] * x[0],
///     |x: &[f64], g: &mut [f64]| g[0] = -x[0],
/// )?;
/// let report = check_score(&p, &[0.7])?;
/// assert!(report.max_rel_error < 1e-6);
/// # Ok::<(), langevin::Error>(())
/// ```
pub struct FnTarget<T, F, G> {
    dim: usize,
    f: F,
    g: G,
    _t: PhantomData<fn() -> T>,
}

impl<T: Real, F: Fn(&[T]) -> T, G: Fn(&[T], &mut [T])> FnTarget<T, F, G> {
    /// Wraps a log density `f` and its score `g` on ℝ^`dim`. Check that they agree with
    /// [`crate::density::check_score`].
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] if `dim == 0`.
    pub fn new(dim: usize, f: F, g: G) -> Result<Self> {
        check_dim(dim)?;
        Ok(Self {
            dim,
            f,
            g,
            _t: PhantomData,
        })
    }
}
impl<T: Real, F, G> Target for FnTarget<T, F, G> {
    type Scalar = T;
    fn dim(&self) -> usize {
        self.dim
    }
}
impl<T: Real, F: Fn(&[T]) -> T, G> LogDensity for FnTarget<T, F, G> {
    #[inline]
    fn log_density(&self, x: &[T]) -> T {
        (self.f)(x)
    }
}
impl<T: Real, F, G: Fn(&[T], &mut [T])> Score for FnTarget<T, F, G> {
    #[inline]
    fn score_into(&self, x: &[T], out: &mut [T]) {
        (self.g)(x, out)
    }
}

/// A target from one fused closure `|x, grad_out| -> log p(x)` that computes the log
/// density and writes the score in one pass (the nuts-rs `logp(x, &mut grad)` shape).
///
/// [`LogDensity::log_density`] alone calls the closure with a temporary gradient buffer, which
/// allocates; the samplers (MALA) call only the fused [`Score::log_density_and_score`] hook, which
/// does not.
pub struct FusedFnTarget<T, H> {
    dim: usize,
    h: H,
    _t: PhantomData<fn() -> T>,
}

impl<T: Real, H: Fn(&[T], &mut [T]) -> T> FusedFnTarget<T, H> {
    /// Wraps the fused closure `h` on ℝ^`dim`.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] if `dim == 0`.
    pub fn new(dim: usize, h: H) -> Result<Self> {
        check_dim(dim)?;
        Ok(Self {
            dim,
            h,
            _t: PhantomData,
        })
    }
}
impl<T: Real, H> Target for FusedFnTarget<T, H> {
    type Scalar = T;
    fn dim(&self) -> usize {
        self.dim
    }
}
impl<T: Real, H: Fn(&[T], &mut [T]) -> T> LogDensity for FusedFnTarget<T, H> {
    fn log_density(&self, x: &[T]) -> T {
        let mut g = vec![T::zero(); self.dim];
        (self.h)(x, &mut g)
    }
}
impl<T: Real, H: Fn(&[T], &mut [T]) -> T> Score for FusedFnTarget<T, H> {
    #[inline]
    fn score_into(&self, x: &[T], out: &mut [T]) {
        let _ = (self.h)(x, out);
    }
    #[inline]
    fn log_density_and_score(&self, x: &[T], out: &mut [T]) -> Option<T> {
        Some((self.h)(x, out))
    }
}

macro_rules! debug_fn {
    ($name:ident < $($p:ident),* >) => {
        impl<$($p),*> fmt::Debug for $name<$($p),*> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).field("dim", &self.dim).finish_non_exhaustive()
            }
        }
    };
}
debug_fn!(FnLogDensity<T, F>);
debug_fn!(FnScore<T, G>);
debug_fn!(FnTarget<T, F, G>);
debug_fn!(FusedFnTarget<T, H>);
