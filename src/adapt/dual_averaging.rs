use crate::{Error, Result};

/// Step-size adaptation by dual averaging (Nesterov 2009, as adapted to MCMC by Hoffman &
/// Gelman 2014, §3.2), driving the mean acceptance probability to a target `δ`.
///
/// # Update rule
/// After transition `t = 1, 2, …` with acceptance probability `α_t` (a non-finite `α_t`
/// counts as 0; values above 1 are clipped to 1):
/// ```text
/// H̄_t      = (1 − 1/(t + t0)) H̄_{t−1} + (δ − α_t)/(t + t0)
/// log h_t  = μ − (√t / γ) H̄_t                        (the step used next)
/// log h̄_t  = t^(−κ) log h_t + (1 − t^(−κ)) log h̄_{t−1}  (the averaged step, used after warm-up)
/// ```
/// with `μ = log(10 h0)`, `γ = 0.05`, `t0 = 10`, `κ = 0.75` by default (Stan's values).
/// `log h_t` is clamped to `[−40, 20]` so a target whose acceptance never reaches `δ` cannot
/// drive the step to 0 or ∞ in floating point.
///
/// # Example
/// ```
/// use langevin::adapt::DualAveraging;
/// // A toy "sampler" whose acceptance is exp(−h): the fixed point of δ = 0.6 is h = −ln 0.6.
/// let mut da = DualAveraging::new(1.0, 0.6)?;
/// let mut h = da.step_size();
/// for _ in 0..5_000 {
///     h = da.update((-h).exp());
/// }
/// assert!((da.final_step_size() - (-(0.6f64).ln())).abs() < 1e-2);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * Y. Nesterov (2009), Primal-dual subgradient methods for convex problems, *Math.
///   Program.* 120(1):221–259.
/// * M. D. Hoffman, A. Gelman (2014), The No-U-Turn sampler, *JMLR* 15:1593–1623, §3.2.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "checkpoint", derive(serde::Serialize, serde::Deserialize))]
pub struct DualAveraging {
    target: f64,
    gamma: f64,
    t0: f64,
    kappa: f64,
    mu: f64,
    t: f64,
    h_bar: f64,
    log_h: f64,
    log_h_bar: f64,
}

const LOG_H_MIN: f64 = -40.0;
const LOG_H_MAX: f64 = 20.0;

/// Stan's dual-averaging constants γ, t0, κ (Hoffman & Gelman 2014, §3.2.1).
pub(crate) const STAN_GAMMA: f64 = 0.05;
pub(crate) const STAN_T0: f64 = 10.0;
pub(crate) const STAN_KAPPA: f64 = 0.75;

impl DualAveraging {
    /// Dual averaging from initial step `h0` towards acceptance `target` with Stan's
    /// constants (γ = 0.05, t0 = 10, κ = 0.75).
    ///
    /// # Errors
    /// [`Error::InvalidStepSize`] unless `h0` is finite and positive;
    /// [`Error::InvalidParameter`] unless `0 < target < 1`.
    pub fn new(h0: f64, target: f64) -> Result<Self> {
        Self::with_constants(h0, target, STAN_GAMMA, STAN_T0, STAN_KAPPA)
    }

    /// Dual averaging with explicit constants.
    ///
    /// # Errors
    /// As [`DualAveraging::new`], plus [`Error::InvalidParameter`] unless `γ > 0`, `t0 ≥ 0`
    /// and `0.5 < κ ≤ 1` (the range in which the averaged iterate converges).
    pub fn with_constants(h0: f64, target: f64, gamma: f64, t0: f64, kappa: f64) -> Result<Self> {
        crate::error::check_positive("initial step size h0", h0)?;
        if !(target > 0.0 && target < 1.0) {
            return Err(Error::InvalidParameter {
                name: "target acceptance",
                value: target,
                expected: "a probability strictly between 0 and 1 (0.574 is optimal for MALA)",
            });
        }
        if !(gamma.is_finite() && gamma > 0.0) {
            return Err(Error::InvalidParameter {
                name: "gamma",
                value: gamma,
                expected: "a finite value > 0 (Stan uses 0.05)",
            });
        }
        if !(t0.is_finite() && t0 >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "t0",
                value: t0,
                expected: "a finite value ≥ 0 (Stan uses 10)",
            });
        }
        if !(kappa > 0.5 && kappa <= 1.0) {
            return Err(Error::InvalidParameter {
                name: "kappa",
                value: kappa,
                expected: "a value in (0.5, 1] (Stan uses 0.75)",
            });
        }
        Ok(Self::unchecked(h0, target, gamma, t0, kappa))
    }

    /// The recursion's initial state (`H̄_0 = 0`, `log h̄_0 = 0`, `μ = log(10 h0)`), without
    /// validation.
    fn unchecked(h0: f64, target: f64, gamma: f64, t0: f64, kappa: f64) -> Self {
        let mut da = Self {
            target,
            gamma,
            t0,
            kappa,
            mu: 0.0,
            t: 0.0,
            h_bar: 0.0,
            log_h: 0.0,
            log_h_bar: 0.0,
        };
        da.restart(h0);
        da
    }

    /// Restarts the averaging around a new initial step `h0` (`μ = log(10 h0)`, counters
    /// reset), as Stan does after each mass-matrix update. A non-finite or non-positive `h0`
    /// keeps the previous `μ`.
    pub fn restart(&mut self, h0: f64) {
        if h0.is_finite() && h0 > 0.0 {
            self.mu = (10.0 * h0).ln();
            self.log_h = h0.ln().clamp(LOG_H_MIN, LOG_H_MAX);
        }
        self.t = 0.0;
        self.h_bar = 0.0;
        self.log_h_bar = 0.0;
    }

    /// Feeds one acceptance probability and returns the step size to use next.
    pub fn update(&mut self, accept_prob: f64) -> f64 {
        let a = if accept_prob.is_finite() {
            accept_prob.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.t += 1.0;
        let eta = 1.0 / (self.t + self.t0);
        self.h_bar = (1.0 - eta) * self.h_bar + eta * (self.target - a);
        self.log_h =
            (self.mu - self.t.sqrt() / self.gamma * self.h_bar).clamp(LOG_H_MIN, LOG_H_MAX);
        let w = self.t.powf(-self.kappa);
        self.log_h_bar = w * self.log_h + (1.0 - w) * self.log_h_bar;
        self.log_h.exp()
    }

    /// The current (noisy) step size `h_t`.
    pub fn step_size(&self) -> f64 {
        self.log_h.exp()
    }

    /// The averaged step size `h̄_t` to freeze after warm-up (`h_t` if no update yet).
    pub fn final_step_size(&self) -> f64 {
        if self.t == 0.0 {
            self.step_size()
        } else {
            self.log_h_bar.exp()
        }
    }

    /// The constants `(γ, t0, κ)`.
    pub fn constants(&self) -> (f64, f64, f64) {
        (self.gamma, self.t0, self.kappa)
    }

    /// Stan's constants, target 0.574, `h0 = 1` (infallible).
    pub(crate) fn default_mala() -> Self {
        Self::unchecked(1.0, 0.574, STAN_GAMMA, STAN_T0, STAN_KAPPA)
    }

    /// The target acceptance probability δ.
    pub fn target(&self) -> f64 {
        self.target
    }

    /// Updates since the last restart.
    pub fn iterations(&self) -> usize {
        self.t as usize
    }
}
