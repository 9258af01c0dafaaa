//! Empirical strong and weak orders of convergence of an [`Integrator`], measured on shared
//! Brownian paths.

use crate::integrators::Integrator;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::rng::stream;
use crate::sde::{BrownianPath, Sde};
use crate::{Error, Real, Result};
use rand::RngExt;
use rayon::prelude::*;

/// The reference solution `X(T)` of an SDE on a given Brownian path, against which an
/// integrator's error is measured.
pub trait Reference<S: Sde + ?Sized>: Sync {
    /// Writes the reference value of `X(T)` (length d), `T` = `path.duration()`, starting
    /// from `x0` at time 0, into `out`.
    fn solve(
        &self,
        sde: &S,
        x0: &[S::Scalar],
        path: &BrownianPath<S::Scalar>,
        out: &mut [S::Scalar],
    );
}

/// An exact (or externally computed) solution given the path, e.g. geometric Brownian
/// motion's `x₀ exp((λ − μ²/2)T + μ W(T))` or
/// [`crate::sde::OrnsteinUhlenbeck::solve_on_path`].
#[derive(Debug, Clone, Copy)]
pub struct ExactReference<F>(pub F);

impl<S, F> Reference<S> for ExactReference<F>
where
    S: Sde + ?Sized,
    F: Fn(&[S::Scalar], &BrownianPath<S::Scalar>, &mut [S::Scalar]) + Sync,
{
    fn solve(
        &self,
        _sde: &S,
        x0: &[S::Scalar],
        path: &BrownianPath<S::Scalar>,
        out: &mut [S::Scalar],
    ) {
        (self.0)(x0, path, out)
    }
}

/// A reference computed by an integrator at the path's finest step (use a higher-order
/// integrator, or make the fine step much smaller than the studied steps: its own error
/// biases the fitted slopes towards 0 at the smallest steps).
///
/// If the reference integrator consumes `(ΔW, ΔZ)` (e.g. [`crate::integrators::Sra1`]) but
/// the studied one does not, set [`OrderConfig::with_area`]: without stored `ΔZ` the
/// reference receives its conditional mean and loses its higher strong order.
#[derive(Debug, Clone, Copy)]
pub struct FineReference<I>(pub I);

impl<S, I> Reference<S> for FineReference<I>
where
    S: Sde + ?Sized,
    I: Integrator<S> + Sync,
{
    fn solve(
        &self,
        sde: &S,
        x0: &[S::Scalar],
        path: &BrownianPath<S::Scalar>,
        out: &mut [S::Scalar],
    ) {
        out.copy_from_slice(x0);
        let mut dw = vec![S::Scalar::zero(); self.0.noise_len(sde)];
        let mut scratch = vec![S::Scalar::zero(); self.0.scratch_len(sde)];
        integrate_on_path(&self.0, sde, out, path, 1, &mut dw, &mut scratch);
    }
}

/// Integrates `x` over the whole path with steps of `r` fine steps.
fn integrate_on_path<S: Sde + ?Sized, I: Integrator<S>>(
    integrator: &I,
    sde: &S,
    x: &mut [S::Scalar],
    path: &BrownianPath<S::Scalar>,
    r: usize,
    dw: &mut [S::Scalar],
    scratch: &mut [S::Scalar],
) {
    let m = path.noise_dim();
    let h = path.fine_step() * S::Scalar::c(r as f64);
    let area = dw.len() >= 2 * m;
    for k in 0..path.coarse_steps(r) {
        // k < n / r and slices of length m: the increments cannot fail (r ≥ 1 divides n,
        // validated by the study's configuration).
        let inside = if area {
            let (w, z) = dw.split_at_mut(m);
            path.increment_with_area(r, k, &mut w[..m], &mut z[..m])
        } else {
            path.increment(r, k, &mut dw[..m])
        };
        debug_assert!(inside.is_ok(), "{inside:?}");
        let t = h * S::Scalar::c(k as f64);
        integrator.step_with_noise(sde, t, h, x, dw, scratch);
    }
}

/// The design of a convergence-order study: initial state, horizon, the fine step of the
/// shared Brownian paths, the step sizes (as multiples of the fine step), the number of
/// paths and the seed.
#[derive(Debug, Clone)]
pub struct OrderConfig<T> {
    x0: Vec<T>,
    horizon: f64,
    fine_steps: usize,
    ratios: Vec<usize>,
    paths: usize,
    seed: u64,
    area: bool,
    bootstrap: usize,
    confidence: f64,
    functional: fn(&[f64]) -> f64,
}

fn first_coordinate(x: &[f64]) -> f64 {
    x[0]
}

impl<T: Real> OrderConfig<T> {
    /// A study from `x0` over `[0, horizon]`; defaults: 512 fine steps, ratios
    /// `[1, 2, 4, 8, 16]` (Higham 2001), 10 000 paths, seed 0, no stored `ΔZ` (unless the
    /// integrator consumes it), 200 bootstrap resamples, 95 % intervals, weak functional
    /// `φ(x) = x₀` (the first coordinate).
    pub fn new(x0: Vec<T>, horizon: f64) -> Self {
        Self {
            x0,
            horizon,
            fine_steps: 512,
            ratios: vec![1, 2, 4, 8, 16],
            paths: 10_000,
            seed: 0,
            area: false,
            bootstrap: 200,
            confidence: 0.95,
            functional: first_coordinate,
        }
    }
    /// The number n of fine Brownian steps (fine step `horizon / n`).
    pub fn fine_steps(mut self, n: usize) -> Self {
        self.fine_steps = n;
        self
    }
    /// The studied steps, as multiples of the fine step (each must divide `fine_steps`).
    pub fn ratios(mut self, ratios: Vec<usize>) -> Self {
        self.ratios = ratios;
        self
    }
    /// The number of Brownian paths.
    pub fn paths(mut self, paths: usize) -> Self {
        self.paths = paths;
        self
    }
    /// The seed (path `i` uses `stream(seed, i)`).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Store the time integrals ΔZ on the paths even if the integrator does not use them
    /// (e.g. for [`crate::sde::OrnsteinUhlenbeck::solve_on_path`] as reference).
    pub fn with_area(mut self, area: bool) -> Self {
        self.area = area;
        self
    }
    /// The number of bootstrap resamples of the paths for the confidence intervals.
    pub fn bootstrap(mut self, resamples: usize) -> Self {
        self.bootstrap = resamples;
        self
    }
    /// The coverage of the confidence intervals (in (0, 1)).
    pub fn confidence(mut self, level: f64) -> Self {
        self.confidence = level;
        self
    }
    /// The weak-error functional φ (on the state converted to f64).
    pub fn functional(mut self, phi: fn(&[f64]) -> f64) -> Self {
        self.functional = phi;
        self
    }
}

/// A least-squares fit `log e = c + p log h` with a bootstrap interval for the slope `p`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrderFit {
    /// The fitted order p (slope).
    pub order: f64,
    /// The intercept c (log of the error constant).
    pub log_constant: f64,
    /// The ordinary-least-squares standard error of the slope (from the residuals; 0 when it
    /// is undefined, i.e. with only two step sizes).
    pub slope_se: f64,
    /// Lower end of the bootstrap percentile interval for the slope.
    pub lower: f64,
    /// Upper end of the bootstrap percentile interval for the slope.
    pub upper: f64,
}

/// The result of [`estimate_order`].
#[derive(Debug, Clone, PartialEq)]
pub struct OrderEstimate {
    /// The studied step sizes.
    pub step_sizes: Vec<f64>,
    /// Strong errors `E‖X_N^h − X_ref(T)‖` (mean over paths), one per step size.
    pub strong_errors: Vec<f64>,
    /// Weak errors `|E[φ(X_N^h) − φ(X_ref(T))]|`, one per step size.
    pub weak_errors: Vec<f64>,
    /// The fitted strong order.
    pub strong: OrderFit,
    /// The fitted weak order.
    pub weak: OrderFit,
}

/// Least-squares slope, intercept and slope standard error of `y` on `x`.
fn ols(x: &[f64], y: &[f64]) -> (f64, f64, f64) {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let sxx: f64 = x.iter().map(|v| (v - mx) * (v - mx)).sum();
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let slope = sxy / sxx;
    let c = my - slope * mx;
    let se = if x.len() > 2 {
        let rss: f64 = x
            .iter()
            .zip(y)
            .map(|(a, b)| (b - c - slope * a).powi(2))
            .sum();
        (rss / (n - 2.0) / sxx).sqrt()
    } else {
        0.0
    };
    (slope, c, se)
}

/// Estimates the strong and weak orders of `integrator` on `sde` against `reference`.
///
/// For each path `i` (a [`BrownianPath`] drawn from `stream(seed, i)` at the fine step
/// `δ = horizon / fine_steps`) and each ratio `r`, the integrator runs with step `h = rδ`
/// on the increments summed from that path, and is compared with the reference on the
/// same path:
///
/// ```text
/// strong error e_s(h) = mean_i ‖X_N^{h,i} − X_ref^i‖₂,    weak error e_w(h) = |mean_i φ(X_N^{h,i}) − φ(X_ref^i)|
/// order = slope of the least-squares line through (log h, log e(h))
/// ```
///
/// Sharing the path makes the errors of different `h` strongly correlated, so slopes are
/// estimated far more precisely than the errors themselves; for the weak error the
/// same-path difference is an unbiased estimate of `E φ(X_N^h) − E φ(X(T))` (for an exact
/// reference) with much smaller variance than comparing two independent means. Confidence
/// intervals come from a bootstrap over paths (percentile method, seeded). Integrators with
/// `noise_len = 2m` receive `(ΔW, ΔZ)` as documented for [`crate::integrators::Sra1`].
///
/// # Errors
/// [`Error::InvalidConfig`] for a bad design (fewer than two distinct ratios, a ratio that
/// does not divide `fine_steps`, fewer than 2 paths, a non-positive horizon, an integrator
/// whose noise is neither `m` nor `2m` values, a confidence outside (0, 1));
/// [`Error::DimensionMismatch`] or [`Error::NonFiniteInput`] for a bad `x0`; [`Error::NonFiniteState`] (chain = path) if
/// an integrator or the reference produces a non-finite value.
///
/// # Example
/// ```
/// use langevin::integrators::Milstein;
/// use langevin::sde::{BrownianPath, GeometricBrownianMotion};
/// use langevin::testing::{ExactReference, OrderConfig, estimate_order};
/// let gbm = GeometricBrownianMotion::new(1, 2.0, 1.0)?;
/// let exact = ExactReference(|x0: &[f64], p: &BrownianPath<f64>, out: &mut [f64]| {
///     gbm.exact_solution(x0, p.duration(), p.total(), out)
/// });
/// let cfg = OrderConfig::new(vec![1.0], 1.0).paths(2_000).seed(1);
/// let est = estimate_order(&Milstein, &gbm, &exact, &cfg)?;
/// assert!((est.strong.order - 1.0).abs() < 0.2);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * D. J. Higham (2001), An algorithmic introduction to numerical simulation of stochastic
///   differential equations, *SIAM Review* 43(3):525–546.
/// * P. E. Kloeden, E. Platen (1992), *Numerical Solution of Stochastic Differential
///   Equations*, Springer, §9.
pub fn estimate_order<S, I, R>(
    integrator: &I,
    sde: &S,
    reference: &R,
    config: &OrderConfig<S::Scalar>,
) -> Result<OrderEstimate>
where
    S: Sde + Sync + ?Sized,
    I: Integrator<S> + Sync,
    R: Reference<S> + ?Sized,
{
    let d = sde.dim();
    let m = sde.noise_dim();
    crate::error::check_len("initial state", d, config.x0.len())?;
    crate::error::check_finite("initial state", &config.x0)?;
    let bad = |reason: String| Err(Error::InvalidConfig { reason });
    if !(config.horizon.is_finite() && config.horizon > 0.0) {
        return bad(format!(
            "horizon must be finite and > 0, got {}",
            config.horizon
        ));
    }
    if config.paths < 2 {
        return bad(format!("need at least 2 paths, got {}", config.paths));
    }
    if !(config.confidence > 0.0 && config.confidence < 1.0) {
        return bad(format!(
            "confidence must lie in (0, 1), got {}",
            config.confidence
        ));
    }
    let mut distinct = config.ratios.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 2 {
        return bad("need at least two distinct step ratios".into());
    }
    if let Some(r) = config
        .ratios
        .iter()
        .find(|&&r| r == 0 || config.fine_steps % r != 0)
    {
        return bad(format!(
            "step ratio {r} does not divide the {} fine steps; choose fine_steps as a multiple of every ratio",
            config.fine_steps
        ));
    }
    let nl = integrator.noise_len(sde);
    if nl != m && nl != 2 * m {
        return bad(format!(
            "the integrator consumes {nl} noise values per step; estimate_order supports m = {m} (ΔW) or 2m (ΔW, ΔZ)"
        ));
    }
    let dt = S::Scalar::c(config.horizon / config.fine_steps as f64);
    let area = config.area || nl == 2 * m;
    let template = if area {
        BrownianPath::with_area(m, config.fine_steps, dt)?
    } else {
        BrownianPath::new(m, config.fine_steps, dt)?
    };
    let levels = config.ratios.len();
    let phi = config.functional;
    // Per path: strong error and weak difference per level.
    let per_path: Vec<Result<Vec<(f64, f64)>>> = (0..config.paths)
        .into_par_iter()
        .map_init(
            || {
                (
                    template.clone(),
                    vec![S::Scalar::zero(); d],
                    vec![S::Scalar::zero(); d],
                    vec![S::Scalar::zero(); nl],
                    vec![S::Scalar::zero(); integrator.scratch_len(sde)],
                    vec![0.0f64; d],
                )
            },
            |(path, xref, x, dw, scratch, buf), p| {
                path.regenerate(config.seed, p as u64);
                reference.solve(sde, &config.x0, path, xref);
                if let Some(coordinate) = crate::integrators::first_non_finite(xref) {
                    return Err(Error::NonFiniteState {
                        chain: p,
                        step: config.fine_steps,
                        coordinate,
                    });
                }
                for (o, v) in buf.iter_mut().zip(xref.iter()) {
                    *o = v.to_f64();
                }
                let phi_ref = phi(buf);
                let mut out = Vec::with_capacity(levels);
                for &r in &config.ratios {
                    x.copy_from_slice(&config.x0);
                    integrate_on_path(integrator, sde, x, path, r, dw, scratch);
                    if let Some(coordinate) = crate::integrators::first_non_finite(x) {
                        return Err(Error::NonFiniteState {
                            chain: p,
                            step: path.coarse_steps(r),
                            coordinate,
                        });
                    }
                    let mut e2 = 0.0;
                    for ((o, a), b) in buf.iter_mut().zip(x.iter()).zip(xref.iter()) {
                        let (a, b) = (a.to_f64(), b.to_f64());
                        e2 += (a - b) * (a - b);
                        *o = a;
                    }
                    out.push((e2.sqrt(), phi(buf) - phi_ref));
                }
                Ok(out)
            },
        )
        .collect();
    let mut rows = Vec::with_capacity(config.paths);
    for r in per_path {
        rows.push(r?);
    }
    let step_sizes: Vec<f64> = config
        .ratios
        .iter()
        .map(|&r| r as f64 * config.horizon / config.fine_steps as f64)
        .collect();
    let log_h: Vec<f64> = step_sizes.iter().map(|h| h.ln()).collect();
    let errors = |idx: &mut dyn Iterator<Item = usize>| -> (Vec<f64>, Vec<f64>) {
        let mut s = vec![0.0; levels];
        let mut w = vec![0.0; levels];
        let mut n = 0usize;
        for i in idx {
            for (l, &(es, ew)) in rows[i].iter().enumerate() {
                s[l] += es;
                w[l] += ew;
            }
            n += 1;
        }
        let n = n as f64;
        (
            s.iter().map(|v| v / n).collect(),
            w.iter().map(|v| (v / n).abs()).collect(),
        )
    };
    let (strong_errors, weak_errors) = errors(&mut (0..config.paths));
    let logs =
        |e: &[f64]| -> Vec<f64> { e.iter().map(|v| v.max(f64::MIN_POSITIVE).ln()).collect() };
    let (sp, sc, sse) = ols(&log_h, &logs(&strong_errors));
    let (wp, wc, wse) = ols(&log_h, &logs(&weak_errors));
    // Bootstrap over paths.
    let mut rng = stream(config.seed ^ 0xB007_5712_AB00_0001, u64::MAX);
    let mut bs = Vec::with_capacity(config.bootstrap);
    let mut bw = Vec::with_capacity(config.bootstrap);
    let n = config.paths;
    for _ in 0..config.bootstrap {
        let (s, w) = errors(&mut (0..n).map(|_| rng.random_range(0..n)));
        bs.push(ols(&log_h, &logs(&s)).0);
        bw.push(ols(&log_h, &logs(&w)).0);
    }
    let interval = |v: &mut Vec<f64>, fallback: f64, se: f64| -> (f64, f64) {
        v.retain(|x| x.is_finite());
        if v.len() < 10 {
            return (fallback - 2.0 * se, fallback + 2.0 * se);
        }
        v.sort_by(|a, b| a.total_cmp(b));
        let a = (1.0 - config.confidence) / 2.0;
        let q = |p: f64| v[((p * (v.len() - 1) as f64).round() as usize).min(v.len() - 1)];
        (q(a), q(1.0 - a))
    };
    let (sl, su) = interval(&mut bs, sp, sse);
    let (wl, wu) = interval(&mut bw, wp, wse);
    Ok(OrderEstimate {
        step_sizes,
        strong_errors,
        weak_errors,
        strong: OrderFit {
            order: sp,
            log_constant: sc,
            slope_se: sse,
            lower: sl,
            upper: su,
        },
        weak: OrderFit {
            order: wp,
            log_constant: wc,
            slope_se: wse,
            lower: wl,
            upper: wu,
        },
    })
}
