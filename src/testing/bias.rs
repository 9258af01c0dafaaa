use crate::integrators::{Integrator, first_non_finite};
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::sde::{BrownianPath, Sde};
use crate::{Error, Real, Result};
use rayon::prelude::*;

/// A Monte Carlo estimate with its standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Estimate {
    /// The estimate.
    pub value: f64,
    /// Its standard error (sample standard deviation over the paths / √paths).
    pub se: f64,
}

/// The result of a [`BiasStudy`]: `E f(X)` at steps `h` and `h/2`, the estimated
/// discretisation bias of the step-`h` run, and the Richardson-extrapolated value.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct BiasEstimate {
    /// `E f(X_h)`: the mean of `f` at the end of the runs with step `h`.
    pub coarse: Estimate,
    /// `E f(X_{h/2})`: the same with step `h/2` on the same Brownian paths.
    pub fine: Estimate,
    /// The bias of the step-`h` estimate, `E f(X_h) − E f(X) ≈ 2^p (C − F)/(2^p − 1)`.
    pub bias: Estimate,
    /// The Richardson-extrapolated value `(2^p F − C)/(2^p − 1)`, whose bias is of higher order.
    pub extrapolated: Estimate,
    /// The weak order `p` assumed.
    pub order: f64,
}

/// Estimates the discretisation bias of an expectation for any [`Integrator`] on any
/// [`Sde`] — ULA included, as [`crate::EulerMaruyama`] on a [`crate::LangevinSde`] — by
/// running every path twice on the *same* Brownian increments: `n` steps of size `h` and
/// `2n` steps of size `h/2` (synchronous coupling through a replayable [`BrownianPath`]).
///
/// # Rule
/// With weak order `p` (the integrator's [`Integrator::weak_order`] unless set), the
/// expansion `E f(X_h) = E f(X) + c h^p + O(h^{p+1})` gives, from the per-path values
/// `C_i = f(X_h^{(i)})`, `F_i = f(X_{h/2}^{(i)})` over `M` paths,
/// ```text
/// bias(h)      = 2^p/(2^p − 1) · mean(C_i − F_i)                  (p = 1: 2 mean(C − F))
/// extrapolated = mean(2^p F_i − C_i)/(2^p − 1)                      (p = 1: 2F − C)
/// ```
/// with standard errors from the per-path differences. The coupling makes `C_i − F_i`
/// small, so the bias is measured to a precision that independent runs would need many
/// more paths for.
///
/// # Bias of the estimator
/// Both estimates are unbiased for the *exact* combinations of `E f(X_h)` and
/// `E f(X_{h/2})` above; as estimates of the true bias and of `E f(X)` they carry the
/// neglected `O(h^{p+1})` term (zero for a pure `h^p` expansion). The expectation is of `f`
/// at the final time `n h` from a fixed `x₀`: for a stationary (ULA) bias, make `n h` long
/// compared with the mixing time.
///
/// # Seeds and threads
/// Path `i` is [`BrownianPath::regenerate`]`(seed, i)`: one stream per path
/// ([`crate::rng::stream`]); results do not depend on the thread count.
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::testing::BiasStudy;
/// use langevin::targets::Gaussian;
/// // ULA on N(0, 1) at h = 0.2: stationary variance 1/(1 − h/2) = 1.111, bias ≈ +0.111;
/// // its O(h) part is h/2 = 0.1 and Richardson removes it.
/// let sde = LangevinSde::new(Gaussian::<f64>::standard(1)?);
/// let study = BiasStudy::new(0.2, 100, 4_000)?.seed(1);
/// let r = study.run(&sde, &EulerMaruyama, &[0.0], |x| x[0] * x[0])?;
/// assert!((r.bias.value - 0.111).abs() < 5.0 * r.bias.se + 0.02);
/// assert!((r.extrapolated.value - 1.0).abs() < 5.0 * r.extrapolated.se + 0.03);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * D. Talay, L. Tubaro (1990), Expansion of the global error for numerical schemes solving
///   stochastic differential equations, *Stoch. Anal. Appl.* 8(4):483–509 — the `h` expansion
///   and Richardson extrapolation for SDEs.
/// * L. F. Richardson (1911), *Phil. Trans. R. Soc. A* 210:307–357.
/// * A. Durmus, É. Moulines (2017), *Ann. Appl. Probab.* 27(3) — ULA's O(h) bias.
#[derive(Debug, Clone, PartialEq)]
pub struct BiasStudy<T> {
    h: T,
    steps: usize,
    paths: usize,
    seed: u64,
    threads: Option<usize>,
    order: Option<f64>,
    t0: T,
}

impl<T: Real> BiasStudy<T> {
    /// `paths` coupled pairs of runs: `steps` steps of size `h` against `2 steps` of `h/2`.
    ///
    /// # Errors
    /// [`Error::InvalidStepSize`] unless `h` is finite and positive; [`Error::ZeroCount`]
    /// for no steps; [`Error::InvalidParameter`] for fewer than 2 paths (no standard error).
    pub fn new(h: T, steps: usize, paths: usize) -> Result<Self> {
        crate::error::check_positive("step size h", h.to_f64())?;
        if steps == 0 {
            return Err(Error::ZeroCount {
                what: "steps of a bias study",
            });
        }
        if paths < 2 {
            return Err(Error::InvalidParameter {
                name: "paths",
                value: paths as f64,
                expected: "at least 2 paths to estimate a standard error",
            });
        }
        Ok(Self {
            h,
            steps,
            paths,
            seed: 0,
            threads: None,
            order: None,
            t0: T::zero(),
        })
    }
    /// Sets the seed (path `i` uses [`crate::rng::stream`]`(seed, i)`).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Runs on a dedicated pool of `threads` threads (results do not depend on it).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }
    /// The initial time `t₀` (for time-dependent SDEs; default 0).
    pub fn start_time(mut self, t0: T) -> Self {
        self.t0 = t0;
        self
    }
    /// Overrides the weak order `p` used in the extrapolation.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `p` is finite and positive.
    pub fn order(mut self, p: f64) -> Result<Self> {
        if !(p.is_finite() && p > 0.0) {
            return Err(Error::InvalidParameter {
                name: "weak order p",
                value: p,
                expected: "a finite order p > 0 (1 for Euler–Maruyama / ULA)",
            });
        }
        self.order = Some(p);
        Ok(self)
    }

    /// Runs the study from `x0` and estimates the bias of `E f(X_{t₀ + n h})`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] / [`Error::NonFiniteInput`] for a bad `x0`;
    /// [`Error::InvalidConfig`] for an integrator whose noise is neither `ΔW` (length m) nor
    /// `(ΔW, ΔZ)` (length 2m); [`Error::NonFiniteState`] (chain = path index) if a run
    /// diverges; [`Error::InvalidConfig`] if `f` returns a non-finite value.
    pub fn run<S, I, F>(&self, sde: &S, integrator: &I, x0: &[T], f: F) -> Result<BiasEstimate>
    where
        S: Sde<Scalar = T> + Sync,
        I: Integrator<S> + Sync,
        F: Fn(&[T]) -> f64 + Sync,
    {
        let d = sde.dim();
        crate::error::check_len("initial state", d, x0.len())?;
        crate::error::check_finite("initial state", x0)?;
        let m = sde.noise_dim();
        let nl = integrator.noise_len(sde);
        let area = if nl == m {
            false
        } else if nl == 2 * m {
            true
        } else {
            return Err(Error::InvalidConfig {
                reason: format!(
                    "the integrator consumes {nl} noise values per step; a bias study replays \
                     ΔW ({m} values) or (ΔW, ΔZ) ({} values)",
                    2 * m
                ),
            });
        };
        let p = self.order.unwrap_or_else(|| integrator.weak_order());
        let n = self.steps;
        let (h, hf) = (self.h, self.h * T::c(0.5));
        let t0 = self.t0;
        // Validates the path shape once; each worker then clones its own buffers.
        let proto = if area {
            BrownianPath::with_area(m, 2 * n, hf)?
        } else {
            BrownianPath::new(m, 2 * n, hf)?
        };
        let buffers = || {
            (
                proto.clone(),
                vec![T::zero(); nl],
                vec![T::zero(); integrator.scratch_len(sde)],
                x0.to_vec(),
            )
        };
        let run_path = |bufs: &mut (BrownianPath<T>, Vec<T>, Vec<T>, Vec<T>),
                        i: usize|
         -> Result<(f64, f64)> {
            let (path, dw, scratch, x) = bufs;
            path.regenerate(self.seed, i as u64);
            let mut out = [0.0; 2];
            for (slot, (r, k_steps, step)) in [(2usize, n, h), (1usize, 2 * n, hf)]
                .into_iter()
                .enumerate()
            {
                x.copy_from_slice(x0);
                for k in 0..k_steps {
                    if area {
                        let (w, z) = dw.split_at_mut(m);
                        path.increment_with_area(r, k, w, &mut z[..m])?;
                    } else {
                        path.increment(r, k, &mut dw[..m])?;
                    }
                    let t = t0 + step * T::c(k as f64);
                    integrator.step_with_noise(sde, t, step, x, dw, scratch);
                    if let Some(coordinate) = first_non_finite(x) {
                        return Err(Error::NonFiniteState {
                            chain: i,
                            step: k,
                            coordinate,
                        });
                    }
                }
                let v = f(x);
                if !v.is_finite() {
                    return Err(Error::InvalidConfig {
                        reason: format!(
                            "the expectation's function returned {v} at the end of path {i}; \
                             it must be finite at every state"
                        ),
                    });
                }
                out[slot] = v;
            }
            Ok((out[0], out[1]))
        };
        let results: Vec<Result<(f64, f64)>> = crate::pool::in_pool(self.threads, || {
            (0..self.paths)
                .into_par_iter()
                .map_init(buffers, run_path)
                .collect()
        })?;
        let mut cf = Vec::with_capacity(self.paths);
        for r in results {
            cf.push(r?);
        }
        let q = 2f64.powf(p);
        let est = |g: &dyn Fn(f64, f64) -> f64| -> Estimate {
            let mf = self.paths as f64;
            let mean = cf.iter().map(|&(c, f)| g(c, f)).sum::<f64>() / mf;
            let var = cf
                .iter()
                .map(|&(c, f)| (g(c, f) - mean).powi(2))
                .sum::<f64>()
                / (mf - 1.0);
            Estimate {
                value: mean,
                se: (var / mf).sqrt(),
            }
        };
        Ok(BiasEstimate {
            coarse: est(&|c, _| c),
            fine: est(&|_, f| f),
            bias: est(&|c, f| q * (c - f) / (q - 1.0)),
            extrapolated: est(&|c, f| (q * f - c) / (q - 1.0)),
            order: p,
        })
    }
}
