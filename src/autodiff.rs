//! Forward-mode automatic differentiation: write a log density once, generic over the number
//! type, and get its [`Score`] from dual numbers (feature `autodiff`, crate
//! [num-dual](https://docs.rs/num-dual)).
//!
//! A [`GenericLogDensity`] evaluates `log p(x)` for any [`DualScalar`] — `f64` itself (the
//! plain log density), a first-order dual [`Dual64`] `a + b ε` (one directional derivative
//! per pass) or a gradient dual [`DualSVec64<N>`] `a + b·ε` with `N` derivative slots.
//! [`AutoDiff`] turns it into a target with [`LogDensity`] and [`Score`] (including the fused
//! [`Score::log_density_and_score`] hook, so MALA gets both from the same passes).
//!
//! # Cost
//! ```text
//! AutoDiff::new(d, f)             d passes with Dual64:   cost ≈ d × (2–3) × cost(f)
//! AutoDiff::chunked::<N>(d, f)    ⌈d/N⌉ passes with DualSVec64<N>:
//!                                 cost ≈ ⌈d/N⌉ × (1 + N) × cost(f), fewer, wider passes
//! ```
//! Forward mode is O(d) evaluations of `f` per gradient, so it suits small and moderate
//! dimensions and models where writing the gradient by hand is error-prone; a hand-written
//! score is O(1) evaluations. Measured on Neal's funnel (`benches/autodiff.rs`, fused log
//! density + score, 2-core AVX-512 machine):
//!
//! | d | hand-written | `AutoDiff::new` | `AutoDiff::chunked::<8>` |
//! |---|---|---|---|
//! | 10 | 49 ns | 265 ns | 478 ns |
//! | 100 | 210 ns | 9.8 µs | 24.7 µs |
//!
//! The first-order passes are the faster mode here (num-dual's gradient duals keep their
//! derivative part as an optional vector, with more bookkeeping per operation); measure your
//! own model before choosing `chunked`. The log density alone ([`LogDensity`]) is one plain
//! `f64` evaluation. Evaluations reuse a per-thread buffer of duals, so a sampler's steps
//! allocate nothing after the first call on each thread.
//!
//! # Writing a generic log density
//! Arithmetic between two duals works with the usual operators; constants go on the
//! **right** (`x * 2.0`, `x - 1.0`) or through `D::from(2.0)`; functions are methods
//! (`x.exp()`, `x.ln()`, `x.powi(2)`, `x.sqrt()`, `x.tanh()`).
//!
//! ```
//! use langevin::autodiff::{AutoDiff, DualScalar, GenericLogDensity};
//! use langevin::prelude::*;
//!
//! /// The banana  log p = −(a − x)² − b (y − x²)²  written once.
//! struct Banana { a: f64, b: f64 }
//! impl GenericLogDensity for Banana {
//!     fn eval<D: DualScalar>(&self, x: &[D]) -> D {
//!         let (u, v) = (x[0], x[1]);
//!         -((u - self.a).powi(2) + (v - u * u).powi(2) * self.b)
//!     }
//! }
//!
//! let target = AutoDiff::new(2, Banana { a: 1.0, b: 5.0 })?;
//! let s = target.score(&[0.5, 0.0]);
//! // ∂/∂x = 2(a − x) + 4 b x (y − x²) = 1 − 2.5,  ∂/∂y = −2 b (y − x²) = 2.5
//! assert!((s[0] + 1.5).abs() < 1e-14 && (s[1] - 2.5).abs() < 1e-14);
//! let mala = Mala::new(target, 0.05)?;
//! let trace = Sampler::new(500).chains(2).warmup(100).seed(1).run(&mala, &[vec![1.0, 1.0]])?;
//! assert_eq!(trace.n_draws, 500);
//! # Ok::<(), langevin::Error>(())
//! ```
//!
//! # References
//! * G. Kofler et al., num-dual — generalized (hyper-)dual numbers in Rust.
//! * J. Revels, M. Lubin, T. Papamarkou (2016), Forward-mode automatic differentiation in
//!   Julia, arXiv:1607.07892 (chunked gradient duals).

use crate::density::{LogDensity, Score, Target};
use crate::{Error, Result};
use core::any::Any;
use std::cell::RefCell;

pub use num_dual::{Dual64, DualNum, DualSVec64, DualStruct};

/// The number types a [`GenericLogDensity`] is evaluated with: `f64`, [`Dual64`] and
/// [`DualSVec64<N>`] (any num-dual number over `f64` that is `Copy`).
pub trait DualScalar: DualNum<Primitive = f64> + Copy + Send + Sync {}
impl<D: DualNum<Primitive = f64> + Copy + Send + Sync> DualScalar for D {}

/// A log density written once, generic over the number type (see the [module docs](self)).
pub trait GenericLogDensity: Sync {
    /// `log p(x)` (up to a constant) evaluated in the number type `D`. Return `-∞` (e.g.
    /// `D::from(f64::NEG_INFINITY)`) outside the support.
    fn eval<D: DualScalar>(&self, x: &[D]) -> D;
}

impl<G: GenericLogDensity + ?Sized> GenericLogDensity for &G {
    fn eval<D: DualScalar>(&self, x: &[D]) -> D {
        (**self).eval(x)
    }
}

/// A dual type that carries a gradient chunk: how to seed it and read it back.
pub trait GradientDual: DualScalar + 'static {
    /// Number of derivative slots (coordinates differentiated per pass).
    const WIDTH: usize;
    /// A dual with real part `re` and unit derivative in slot `slot` (no derivative for
    /// `None`).
    fn seeded(re: f64, slot: Option<usize>) -> Self;
    /// The real part.
    fn real(&self) -> f64;
    /// Writes the first `out.len()` derivative slots into `out`.
    fn derivatives(&self, out: &mut [f64]);
}

impl GradientDual for Dual64 {
    const WIDTH: usize = 1;
    #[inline]
    fn seeded(re: f64, slot: Option<usize>) -> Self {
        Dual64::new(re, if slot.is_some() { 1.0 } else { 0.0 })
    }
    #[inline]
    fn real(&self) -> f64 {
        self.re
    }
    #[inline]
    fn derivatives(&self, out: &mut [f64]) {
        if let Some(o) = out.first_mut() {
            *o = self.eps;
        }
    }
}

impl<const N: usize> GradientDual for DualSVec64<N> {
    const WIDTH: usize = N;
    #[inline]
    fn seeded(re: f64, slot: Option<usize>) -> Self {
        let d = DualSVec64::<N>::from_re(re);
        match slot {
            Some(k) => d.derivative(k),
            None => d,
        }
    }
    #[inline]
    fn real(&self) -> f64 {
        self.re
    }
    #[inline]
    fn derivatives(&self, out: &mut [f64]) {
        match &self.eps.0 {
            Some(m) => {
                for (o, v) in out.iter_mut().zip(m.iter()) {
                    *o = *v;
                }
            }
            None => out.iter_mut().for_each(|o| *o = 0.0),
        }
    }
}

thread_local! {
    // Per-thread pool of dual buffers (one per dual type), reused across evaluations so a
    // sampler step allocates nothing. A buffer is removed from the pool while in use, so
    // nested AutoDiff evaluations are safe.
    static POOL: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

fn with_buffer<D: 'static, R>(f: impl FnOnce(&mut Vec<D>) -> R) -> R {
    let taken = POOL.with(|p| {
        let mut p = p.borrow_mut();
        let i = p.iter().position(|b| b.is::<Vec<D>>())?;
        Some(p.swap_remove(i))
    });
    let mut boxed: Box<dyn Any> = taken.unwrap_or_else(|| Box::new(Vec::<D>::new()));
    let r = match boxed.downcast_mut::<Vec<D>>() {
        Some(buf) => f(buf),
        None => f(&mut Vec::new()),
    };
    POOL.with(|p| p.borrow_mut().push(boxed));
    r
}

/// A [`GenericLogDensity`] made into a target with an automatic [`Score`] (see the
/// [module docs](self) for the cost of each mode). `D` is the dual type of the passes:
/// [`Dual64`] (d passes, [`AutoDiff::new`]) or [`DualSVec64<N>`] (⌈d/N⌉ passes,
/// [`AutoDiff::chunked`]).
#[derive(Debug, Clone)]
pub struct AutoDiff<F, D = Dual64> {
    dim: usize,
    f: F,
    _dual: core::marker::PhantomData<fn() -> D>,
}

impl<F: GenericLogDensity> AutoDiff<F, Dual64> {
    /// Score by `d` forward passes with first-order duals [`Dual64`].
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] for `dim = 0`.
    pub fn new(dim: usize, f: F) -> Result<Self> {
        Self::with_dual(dim, f)
    }
    /// Score by `⌈d/N⌉` forward passes with gradient duals [`DualSVec64<N>`]
    /// (`N` = 4–16 is typical; `N ≥ d` is a single pass).
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] for `dim = 0`; [`Error::InvalidParameter`] for `N = 0`.
    pub fn chunked<const N: usize>(dim: usize, f: F) -> Result<AutoDiff<F, DualSVec64<N>>> {
        AutoDiff::with_dual(dim, f)
    }
}

impl<F: GenericLogDensity, D: GradientDual> AutoDiff<F, D> {
    /// An [`AutoDiff`] with an explicitly chosen dual type.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] for `dim = 0`; [`Error::InvalidParameter`] for a dual type
    /// of width 0.
    pub fn with_dual(dim: usize, f: F) -> Result<Self> {
        if dim == 0 {
            return Err(Error::ZeroDimension {
                what: "autodiff target",
            });
        }
        if D::WIDTH == 0 {
            return Err(Error::InvalidParameter {
                name: "dual width N",
                value: 0.0,
                expected: "N ≥ 1",
            });
        }
        Ok(Self {
            dim,
            f,
            _dual: core::marker::PhantomData,
        })
    }
    /// The wrapped generic log density.
    pub fn inner(&self) -> &F {
        &self.f
    }
}

impl<F, D> Target for AutoDiff<F, D> {
    type Scalar = f64;
    fn dim(&self) -> usize {
        self.dim
    }
}

impl<F: GenericLogDensity, D> LogDensity for AutoDiff<F, D> {
    #[inline]
    fn log_density(&self, x: &[f64]) -> f64 {
        self.f.eval::<f64>(x)
    }
}

impl<F: GenericLogDensity, D: GradientDual> Score for AutoDiff<F, D> {
    fn score_into(&self, x: &[f64], out: &mut [f64]) {
        self.log_density_and_score(x, out);
    }

    fn log_density_and_score(&self, x: &[f64], out: &mut [f64]) -> Option<f64> {
        let d = self.dim;
        let w = D::WIDTH;
        Some(with_buffer::<D, f64>(|buf| {
            buf.clear();
            buf.extend(x.iter().map(|&v| D::seeded(v, None)));
            let mut lp = f64::NAN;
            let mut start = 0;
            while start < d {
                let end = (start + w).min(d);
                for i in start..end {
                    buf[i] = D::seeded(x[i], Some(i - start));
                }
                let r = self.f.eval(buf);
                lp = r.real();
                r.derivatives(&mut out[start..end]);
                for i in start..end {
                    buf[i] = D::seeded(x[i], None);
                }
                start = end;
            }
            lp
        }))
    }
}
