use super::Sde;
use crate::integrators::{Integrator, first_non_finite};
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::rng::{ChainRng, stream};
use crate::{Error, Real, Result};
use rayon::prelude::*;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Fixed-step integration of an [`Sde`] over `[t₀, t₁]` for many independent paths in
/// parallel, saving the states at chosen times.
///
/// Path `i` draws its noise from [`crate::rng::stream`]`(seed, i)`, so the solution is
/// bit-identical whatever the number of threads. Steps have size `h`, except that a step is
/// shortened to land exactly on each save time and on `t₁` (so save times need not lie on
/// the grid `t₀ + k h`). The step times are `t₀ + k h` computed by multiplication (no
/// accumulated rounding).
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::sde::{OrnsteinUhlenbeck, Solver};
/// let ou = OrnsteinUhlenbeck::new(vec![0.0], 1.0, 2f64.sqrt())?;
/// let sol = Solver::new(0.0, 2.0, 0.01)
///     .paths(2_000)
///     .seed(7)
///     .save_at(vec![1.0, 2.0])
///     .solve(&ou, &EulerMaruyama, &[3.0])?;
/// assert_eq!(sol.times(), &[1.0, 2.0]);
/// // E X(2) = 3 e^{−2} ≈ 0.406 (EM: 3 · 0.99²⁰⁰ ≈ 0.402)
/// assert!((sol.mean(1).unwrap()[0] - 0.402).abs() < 0.1);
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Solver<T> {
    t0: T,
    t1: T,
    h: T,
    paths: usize,
    seed: u64,
    threads: Option<usize>,
    save_at: Option<Vec<T>>,
}

/// Steps `(t_k, h_k)`, save times, and the number of steps taken before each save time.
type Schedule<T> = (Vec<(T, T)>, Vec<T>, Vec<usize>);

/// The output of [`Solver::solve`]: the saved states of every path.
#[derive(Debug, Clone)]
pub struct Solution<T> {
    times: Vec<T>,
    dim: usize,
    paths: usize,
    /// Layout `[path][time][coordinate]`.
    data: Vec<T>,
}

impl<T: Real> Solver<T> {
    /// Integrate from `t0` to `t1` with step `h`; by default 1 path, seed 0, all threads,
    /// saving at `t1` only. Arguments are validated by [`Solver::solve`].
    pub fn new(t0: T, t1: T, h: T) -> Self {
        Self {
            t0,
            t1,
            h,
            paths: 1,
            seed: 0,
            threads: None,
            save_at: None,
        }
    }
    /// The number of independent paths.
    pub fn paths(mut self, paths: usize) -> Self {
        self.paths = paths;
        self
    }
    /// The run seed (path `i` uses `stream(seed, i)`).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// The number of worker threads (default: rayon's global pool).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }
    /// Save the states at these times (strictly increasing, within `[t0, t1]`; `t0` saves
    /// the initial state). Integration stops at the last save time.
    pub fn save_at(mut self, times: Vec<T>) -> Self {
        self.save_at = Some(times);
        self
    }

    /// The step schedule `(t_k, h_k)` and, per save time, the number of steps taken before it.
    fn schedule(&self) -> Result<Schedule<T>> {
        let (t0, t1, h) = (self.t0.to_f64(), self.t1.to_f64(), self.h.to_f64());
        crate::error::check_positive("step size h", h)?;
        if !(t0.is_finite() && t1.is_finite() && t1 > t0) {
            return Err(Error::InvalidSchedule {
                reason: format!("need finite times t0 < t1, got t0 = {t0}, t1 = {t1}"),
            });
        }
        if self.paths == 0 {
            return Err(Error::ZeroCount { what: "paths" });
        }
        let saves = self.save_at.clone().unwrap_or_else(|| vec![self.t1]);
        if saves.is_empty() {
            return Err(Error::InvalidSchedule {
                reason: "no save times; pass at least one time in [t0, t1]".into(),
            });
        }
        let mut prev = f64::NEG_INFINITY;
        for s in &saves {
            let s = s.to_f64();
            if !(s >= t0 && s <= t1 && s > prev) {
                return Err(Error::InvalidSchedule {
                    reason: format!(
                        "save times must be strictly increasing and within [t0, t1] = [{t0}, {t1}]; got {s} after {prev}"
                    ),
                });
            }
            prev = s;
        }
        // Steps from t0: grid t0 + k h, cut at every save time.
        let tol = 1e-9 * h;
        let mut steps = Vec::new();
        let mut save_after = Vec::with_capacity(saves.len());
        let mut t = t0;
        let mut k: u64 = 0;
        for s in &saves {
            let s = s.to_f64();
            while s - t > tol {
                let next_grid = t0 + (k + 1) as f64 * h;
                let t_next = if next_grid >= s - tol { s } else { next_grid };
                if next_grid <= s + tol {
                    k += 1;
                }
                steps.push((T::c(t), T::c(t_next - t)));
                t = t_next;
            }
            save_after.push(steps.len());
        }
        Ok((steps, saves, save_after))
    }

    /// Integrates `paths` paths from the common initial state `x0`.
    ///
    /// # Errors
    /// [`Error::InvalidStepSize`], [`Error::InvalidSchedule`], [`Error::ZeroCount`] for a
    /// bad configuration; [`Error::DimensionMismatch`] or [`Error::NonFiniteInput`] for a bad
    /// `x0`; [`Error::NonFiniteState`] (with `chain` = the path index and the 0-based step)
    /// if a path diverges; [`Error::ChainPanicked`] (path index, step, message) if the drift
    /// or diffusion panics — caught per path, the process goes on (the default panic hook
    /// still prints the message); [`Error::ZeroCount`] for `threads(0)`.
    pub fn solve<S, I>(&self, sde: &S, integrator: &I, x0: &[T]) -> Result<Solution<T>>
    where
        S: Sde<Scalar = T> + Sync,
        I: Integrator<S> + Sync,
    {
        crate::error::check_len("initial state", sde.dim(), x0.len())?;
        crate::error::check_finite("initial state", x0)?;
        self.solve_from(sde, integrator, |_, _| x0.to_vec())
    }

    /// Integrates `paths` paths, path `i` starting from `init(i, rng)` where `rng` is the
    /// path's own stream (so random initial states are reproducible too).
    ///
    /// # Errors
    /// As [`Solver::solve`]; an initial state of the wrong length or with non-finite entries
    /// gives [`Error::InvalidInitialState`].
    pub fn solve_from<S, I, F>(&self, sde: &S, integrator: &I, init: F) -> Result<Solution<T>>
    where
        S: Sde<Scalar = T> + Sync,
        I: Integrator<S> + Sync,
        F: Fn(usize, &mut ChainRng) -> Vec<T> + Sync,
    {
        let d = sde.dim();
        if d == 0 {
            return Err(Error::ZeroDimension { what: "SDE" });
        }
        let (steps, saves, save_after) = self.schedule()?;
        let n_saves = saves.len();
        let run_path = |p: usize, at: &mut Option<usize>| -> Result<Vec<T>> {
            let mut rng = stream(self.seed, p as u64);
            let mut x = init(p, &mut rng);
            if x.len() != d || first_non_finite(&x).is_some() {
                return Err(Error::InvalidInitialState {
                    chain: p,
                    reason: format!("need {d} finite coordinates, got {:?}", x),
                });
            }
            let mut dw = vec![T::zero(); integrator.noise_len(sde)];
            let mut scratch = vec![T::zero(); integrator.scratch_len(sde)];
            let mut out = Vec::with_capacity(n_saves * d);
            let mut next = 0;
            for (k, &(t, h)) in steps.iter().enumerate() {
                while next < n_saves && save_after[next] == k {
                    out.extend_from_slice(&x);
                    next += 1;
                }
                *at = Some(k);
                integrator.step(sde, t, h, &mut x, &mut rng, &mut dw, &mut scratch);
                if let Some(coordinate) = first_non_finite(&x) {
                    return Err(Error::NonFiniteState {
                        chain: p,
                        step: k,
                        coordinate,
                    });
                }
            }
            while next < n_saves {
                out.extend_from_slice(&x);
                next += 1;
            }
            Ok(out)
        };
        // A panic in a user closure (drift, diffusion, `init`) is caught per path and
        // reported as a typed error naming the path.
        let guarded = |p: usize| -> Result<Vec<T>> {
            let mut at = None;
            catch_unwind(AssertUnwindSafe(|| run_path(p, &mut at))).unwrap_or_else(|payload| {
                Err(Error::ChainPanicked {
                    chain: p,
                    iteration: at,
                    message: crate::pool::panic_message(payload.as_ref()),
                    partial: None,
                })
            })
        };
        let job =
            || -> Vec<Result<Vec<T>>> { (0..self.paths).into_par_iter().map(guarded).collect() };
        let results = crate::pool::in_pool(self.threads, job)?;
        let mut data = Vec::with_capacity(self.paths * n_saves * d);
        for r in results {
            data.extend_from_slice(&r?);
        }
        Ok(Solution {
            times: saves,
            dim: d,
            paths: self.paths,
            data,
        })
    }
}

impl<T: Real> Solution<T> {
    /// The save times.
    pub fn times(&self) -> &[T] {
        &self.times
    }
    /// The dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// The number of paths.
    pub fn n_paths(&self) -> usize {
        self.paths
    }
    /// The state of path `path` at save time number `time` (`None` if out of range).
    pub fn state(&self, path: usize, time: usize) -> Option<&[T]> {
        if path >= self.paths || time >= self.times.len() {
            return None;
        }
        let start = (path * self.times.len() + time) * self.dim;
        Some(&self.data[start..start + self.dim])
    }
    /// The states of one path at all save times, `[time][coordinate]` (`None` if out of range).
    pub fn path(&self, path: usize) -> Option<&[T]> {
        if path >= self.paths {
            return None;
        }
        let len = self.times.len() * self.dim;
        Some(&self.data[path * len..(path + 1) * len])
    }
    /// The mean over paths at save time number `time` (`None` if out of range).
    pub fn mean(&self, time: usize) -> Option<Vec<f64>> {
        let mut m = vec![0.0; self.dim];
        for p in 0..self.paths {
            for (mi, &x) in m.iter_mut().zip(self.state(p, time)?) {
                *mi += x.to_f64();
            }
        }
        m.iter_mut().for_each(|v| *v /= self.paths as f64);
        Some(m)
    }
    /// The unbiased variance over paths of every coordinate at save time number `time`
    /// (`None` if out of range; 0 for a single path).
    pub fn variance(&self, time: usize) -> Option<Vec<f64>> {
        let m = self.mean(time)?;
        let mut v = vec![0.0; self.dim];
        for p in 0..self.paths {
            for ((vi, &x), &mi) in v.iter_mut().zip(self.state(p, time)?).zip(&m) {
                let e = x.to_f64() - mi;
                *vi += e * e;
            }
        }
        let n = (self.paths.max(2) - 1) as f64;
        v.iter_mut().for_each(|x| *x /= n);
        Some(v)
    }
}
