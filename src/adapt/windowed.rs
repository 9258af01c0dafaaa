use super::{DualAveraging, Welford};
use crate::mcmc::{Metric, MetropolisAdjusted, StepInfo, TunableMetric, TunableStepSize};
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::run::Adaptation;
use crate::{Error, Real, Result};

/// Stan's expanding warm-up windows: an initial fast buffer (step size only), slow windows
/// of doubling length in which the metric is estimated, and a terminal fast buffer.
///
/// ```text
/// | init_buffer | w | 2w | 4w | … (last window stretched to the end) | term_buffer |
/// ```
/// With the defaults (75 / 25 / 50) and 1000 warm-up iterations the slow windows are
/// `[75, 100)`, `[100, 150)`, `[150, 250)`, `[250, 450)`, `[450, 950)`. If the three parts do
/// not fit, Stan's fallback is used: 15 % initial buffer, 10 % terminal buffer, one slow
/// window in between; below 20 iterations there is no slow window at all.
///
/// # Example
/// ```
/// use langevin::adapt::WarmupSchedule;
/// let s = WarmupSchedule::stan(1000);
/// assert_eq!(s.windows(), &[(75, 100), (100, 150), (150, 250), (250, 450), (450, 950)]);
/// ```
///
/// # References
/// * Stan Development Team, *Stan Reference Manual*, "HMC algorithm parameters: automatic
///   parameter tuning" (windowed adaptation).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "checkpoint", derive(serde::Serialize, serde::Deserialize))]
pub struct WarmupSchedule {
    warmup: usize,
    windows: Vec<(usize, usize)>,
}

impl WarmupSchedule {
    /// Stan's default schedule (initial buffer 75, first slow window 25, terminal buffer 50).
    pub fn stan(warmup: usize) -> Self {
        Self::new(warmup, 75, 25, 50)
    }

    /// A schedule with the given initial buffer, first slow window and terminal buffer.
    pub fn new(warmup: usize, init_buffer: usize, base_window: usize, term_buffer: usize) -> Self {
        if warmup < 20 {
            return Self {
                warmup,
                windows: Vec::new(),
            };
        }
        let fits = init_buffer
            .checked_add(base_window)
            .and_then(|s| s.checked_add(term_buffer))
            .is_some_and(|s| s <= warmup);
        let (init, base, term) = if !fits {
            let init = (0.15 * warmup as f64) as usize;
            let term = (0.1 * warmup as f64) as usize;
            (init, warmup - init - term, term)
        } else {
            (init_buffer, base_window.max(1), term_buffer)
        };
        let end = warmup - term; // slow phase is [init, end)
        let mut windows = Vec::new();
        let mut start = init;
        let mut size = base;
        while start < end {
            let mut stop = start.saturating_add(size).min(end);
            // Stretch a later window to the end if the next (doubled) one would not fit
            // (Stan never stretches the first one).
            if !windows.is_empty() && stop.saturating_add(size.saturating_mul(2)) > end {
                stop = end;
            }
            windows.push((start, stop));
            start = stop;
            size = size.saturating_mul(2);
        }
        Self { warmup, windows }
    }

    /// The slow windows as half-open iteration ranges `[start, end)`.
    pub fn windows(&self) -> &[(usize, usize)] {
        &self.windows
    }

    /// The number of warm-up iterations.
    pub fn warmup(&self) -> usize {
        self.warmup
    }
}

/// Which mass matrix a [`WindowedAdaptation`] estimates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetricAdaptation {
    /// Keep the kernel's metric; adapt the step size only.
    None,
    /// A diagonal metric from the per-coordinate variances.
    Diagonal,
    /// A dense metric from the full covariance (O(d²) per warm-up step).
    Dense,
}

/// Step-size adaptation alone, by [`DualAveraging`], for any Metropolis-adjusted kernel
/// ([`MetropolisAdjusted`]: [`crate::Mala`], [`crate::mcmc::PrecondMala`]); after warm-up the
/// averaged step `h̄` is frozen.
///
/// Only for Metropolis-adjusted kernels, enforced by the type system: an unadjusted kernel
/// reports acceptance 1, so the step would grow until the chain diverges (see
/// [`MetropolisAdjusted`] for the compile-fail example).
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::adapt::StepSizeAdaptation;
/// use langevin::targets::Gaussian;
/// let mala = Mala::new(Gaussian::<f64>::standard(10)?, 0.01)?;
/// let adapt = StepSizeAdaptation::new(0.574)?;
/// let trace = Sampler::new(2_000).chains(2).warmup(1_000).seed(4)
///     .run_with(&mala, &[vec![0.0; 10]], &adapt, &())?;
/// assert!((trace.mean_accept_prob() - 0.574).abs() < 0.08);
/// assert!(trace.adapted_step_size.is_some());
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct StepSizeAdaptation {
    template: DualAveraging,
}

impl StepSizeAdaptation {
    /// Dual averaging towards acceptance `target` (Stan's constants γ = 0.05, t0 = 10,
    /// κ = 0.75).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `0 < target < 1`.
    pub fn new(target: f64) -> Result<Self> {
        Self::with_constants(
            target,
            super::dual_averaging::STAN_GAMMA,
            super::dual_averaging::STAN_T0,
            super::dual_averaging::STAN_KAPPA,
        )
    }

    /// Dual averaging with explicit constants.
    ///
    /// # Errors
    /// As [`DualAveraging::with_constants`].
    pub fn with_constants(target: f64, gamma: f64, t0: f64, kappa: f64) -> Result<Self> {
        Ok(Self {
            template: DualAveraging::with_constants(1.0, target, gamma, t0, kappa)?,
        })
    }

    /// The target acceptance probability.
    pub fn target(&self) -> f64 {
        self.template.target()
    }

    fn dual_averaging(&self, h0: f64) -> DualAveraging {
        let mut da = self.template.clone();
        da.restart(h0);
        da
    }
}

fn set_h<K: TunableStepSize>(kernel: &K, chain: &mut K::State, h: f64) {
    if h.is_finite() && h > 0.0 {
        kernel.set_step_size(chain, K::Scalar::c(h));
    }
}

impl<K: MetropolisAdjusted> Adaptation<K> for StepSizeAdaptation {
    type State = DualAveraging;
    fn start(&self, kernel: &K, chain: &mut K::State, _warmup: usize) -> DualAveraging {
        self.dual_averaging(kernel.step_size(chain).to_f64())
    }
    fn adapt(
        &self,
        kernel: &K,
        chain: &mut K::State,
        state: &mut DualAveraging,
        _iteration: usize,
        info: &StepInfo,
    ) {
        let h = state.update(info.accept_prob);
        set_h(kernel, chain, h);
    }
    fn finish(&self, kernel: &K, chain: &mut K::State, state: DualAveraging) -> Option<f64> {
        let h = state.final_step_size();
        set_h(kernel, chain, h);
        Some(kernel.step_size(chain).to_f64())
    }
}

/// Stan-style windowed warm-up: step size by [`DualAveraging`] throughout, and the mass
/// matrix (diagonal or dense) estimated by [`Welford`] in the slow windows of a
/// [`WarmupSchedule`], for kernels that are both [`MetropolisAdjusted`] and [`TunableMetric`]
/// ([`crate::mcmc::PrecondMala`]).
///
/// # Algorithm
/// ```text
/// every warm-up step t:   h ← dual-averaging update with α_t (non-finite α_t counts as 0)
/// inside slow window w:   Welford ← x_t
/// at the end of window w: M ← (n/(n+5)) Σ̂_w + 10⁻³ (5/(n+5)) I   (diagonal or dense;
///                         dense only if n ≥ 10 d, see dense_min_draws_per_dim)
///                         Welford reset;  dual averaging restarted at μ = log(10 h̄)
/// end of warm-up:         h ← h̄ (averaged iterate); h and M frozen for the draws
/// ```
/// Because dual averaging restarts after every metric update, the last segment is short
/// and the frozen averaged step `h̄ = exp(mean log h_t)` is on the cautious side: the realised
/// acceptance after warm-up typically overshoots the target by a few hundredths (0.60–0.70
/// for the 0.574 target in this crate's tests; Stan behaves the same way).
///
/// Each chain adapts on its own draws. The adapted step sizes are reported in
/// [`crate::Trace::adapted_step_size`], the metrics in [`crate::Trace::adapted_mass`]. After
/// warm-up nothing changes, so the draws come from a fixed, valid Markov kernel.
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::adapt::{MetricAdaptation, WindowedAdaptation};
/// use langevin::mcmc::PrecondMala;
/// use langevin::targets::Gaussian;
/// // Scales from 0.1 to 10: plain MALA would need h ≈ 0.01.
/// let target = Gaussian::<f64>::diagonal(vec![0.0; 3], vec![0.01, 1.0, 100.0])?;
/// let mala = PrecondMala::identity(target, 0.01)?;
/// let adapt = WindowedAdaptation::new(MetricAdaptation::Diagonal);
/// let trace = Sampler::new(2_000).chains(2).warmup(1_000).seed(8)
///     .run_with(&mala, &[vec![0.0; 3]], &adapt, &())?;
/// let m = &trace.adapted_mass.as_ref().unwrap()[0]; // the diagonal of M
/// assert!(m[2] / m[0] > 1e3); // the metric learnt the scales
/// assert!((trace.mean_accept_prob() - 0.574).abs() < 0.1);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * M. D. Hoffman, A. Gelman (2014), *JMLR* 15:1593–1623, §3.2.
/// * Y. Nesterov (2009), *Math. Program.* 120(1):221–259.
/// * B. P. Welford (1962), *Technometrics* 4(3):419–420.
/// * Stan Development Team, *Stan Reference Manual*, "HMC algorithm parameters".
#[derive(Debug, Clone, PartialEq)]
pub struct WindowedAdaptation {
    metric: MetricAdaptation,
    step: StepSizeAdaptation,
    init_buffer: usize,
    base_window: usize,
    term_buffer: usize,
    dense_min_per_dim: usize,
}

/// Per-chain state of [`WindowedAdaptation`].
#[derive(Debug, Clone)]
#[cfg_attr(feature = "checkpoint", derive(serde::Serialize, serde::Deserialize))]
pub struct WindowedState {
    da: DualAveraging,
    welford: Option<Welford>,
    schedule: WarmupSchedule,
    window: usize,
    metric_updates: usize,
}

impl WindowedState {
    /// The number of metric updates made so far.
    pub fn metric_updates(&self) -> usize {
        self.metric_updates
    }
}

impl WindowedAdaptation {
    /// Windowed adaptation of the given metric kind, target acceptance 0.574 (optimal for
    /// MALA, Roberts & Rosenthal 1998) and Stan's windows 75 / 25 / 50.
    pub fn new(metric: MetricAdaptation) -> Self {
        Self {
            metric,
            step: StepSizeAdaptation {
                template: DualAveraging::default_mala(),
            },
            init_buffer: 75,
            base_window: 25,
            term_buffer: 50,
            dense_min_per_dim: 10,
        }
    }

    /// Dense metrics are only re-estimated from windows with at least `k · d` draws
    /// (default `k = 10`); shorter windows keep the current metric (and still restart the
    /// step-size averaging). A dense covariance from fewer draws than dimensions is singular,
    /// and from a few times `d` autocorrelated draws its small eigenvalues are far too small,
    /// which freezes the chain along those directions in the next window. `k = 0` updates
    /// after every window, exactly as Stan.
    pub fn dense_min_draws_per_dim(mut self, k: usize) -> Self {
        self.dense_min_per_dim = k;
        self
    }

    /// Sets the target acceptance probability.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `0 < target < 1`.
    pub fn target_accept(mut self, target: f64) -> Result<Self> {
        let (g, t0, k) = self.step.template.constants();
        self.step = StepSizeAdaptation::with_constants(target, g, t0, k)?;
        Ok(self)
    }

    /// Sets the dual-averaging constants γ, t0, κ.
    ///
    /// # Errors
    /// As [`DualAveraging::with_constants`].
    pub fn dual_averaging_constants(mut self, gamma: f64, t0: f64, kappa: f64) -> Result<Self> {
        self.step = StepSizeAdaptation::with_constants(self.step.target(), gamma, t0, kappa)?;
        Ok(self)
    }

    /// Sets the initial buffer, first slow window and terminal buffer (Stan: 75, 25, 50).
    ///
    /// # Errors
    /// [`Error::ZeroCount`] for a zero first window.
    pub fn windows(
        mut self,
        init_buffer: usize,
        base_window: usize,
        term_buffer: usize,
    ) -> Result<Self> {
        if base_window == 0 {
            return Err(Error::ZeroCount {
                what: "first slow window",
            });
        }
        self.init_buffer = init_buffer;
        self.base_window = base_window;
        self.term_buffer = term_buffer;
        Ok(self)
    }

    /// The schedule used for `warmup` iterations.
    pub fn schedule(&self, warmup: usize) -> WarmupSchedule {
        WarmupSchedule::new(warmup, self.init_buffer, self.base_window, self.term_buffer)
    }
}

impl<K: MetropolisAdjusted + TunableMetric> Adaptation<K> for WindowedAdaptation {
    type State = WindowedState;

    fn start(&self, kernel: &K, chain: &mut K::State, warmup: usize) -> WindowedState {
        let d = kernel.dim();
        let welford = match self.metric {
            MetricAdaptation::None => None,
            MetricAdaptation::Diagonal => Some(Welford::diagonal(d)),
            MetricAdaptation::Dense => Some(Welford::dense(d)),
        };
        WindowedState {
            da: self.step.dual_averaging(kernel.step_size(chain).to_f64()),
            welford,
            schedule: self.schedule(warmup),
            window: 0,
            metric_updates: 0,
        }
    }

    fn adapt(
        &self,
        kernel: &K,
        chain: &mut K::State,
        state: &mut WindowedState,
        iteration: usize,
        info: &StepInfo,
    ) {
        let h = state.da.update(info.accept_prob);
        set_h(kernel, chain, h);
        let Some(welford) = state.welford.as_mut() else {
            return;
        };
        let Some(&(start, end)) = state.schedule.windows.get(state.window) else {
            return;
        };
        if iteration < start {
            return;
        }
        // The estimator was built with the kernel's dimension, and a kernel's position has
        // that length, so this cannot fail.
        let _ = welford.add(kernel.position(chain));
        if iteration + 1 == end {
            state.window += 1;
            let d = welford.dim();
            let enough =
                !welford.is_dense() || welford.count() >= self.dense_min_per_dim.saturating_mul(d);
            if enough {
                let est = welford.regularized();
                let metric = if welford.is_dense() {
                    Metric::dense(&est.iter().map(|&v| K::Scalar::c(v)).collect::<Vec<_>>())
                } else {
                    Metric::diagonal(est.iter().map(|&v| K::Scalar::c(v)).collect())
                };
                // An estimate that is not SPD in the kernel's precision keeps the old metric.
                if let Ok(m) = metric
                    && kernel.set_metric(chain, m).is_ok()
                {
                    state.metric_updates += 1;
                }
            }
            welford.reset();
            let h_bar = state.da.final_step_size();
            set_h(kernel, chain, h_bar);
            state.da.restart(h_bar);
        }
    }

    fn finish(&self, kernel: &K, chain: &mut K::State, state: WindowedState) -> Option<f64> {
        set_h(kernel, chain, state.da.final_step_size());
        Some(kernel.step_size(chain).to_f64())
    }

    fn adapted_metric(&self, kernel: &K, chain: &K::State) -> Option<Vec<f64>> {
        Some(kernel.metric(chain).to_f64_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stan_windows() {
        let s = WarmupSchedule::stan(1000);
        assert_eq!(
            s.windows(),
            &[(75, 100), (100, 150), (150, 250), (250, 450), (450, 950)]
        );
        // Too short for 75 + 25 + 50: 15 % / 10 % fallback, one window.
        let s = WarmupSchedule::stan(100);
        assert_eq!(s.windows(), &[(15, 90)]);
        assert!(WarmupSchedule::stan(10).windows().is_empty());
        // Windows tile the slow phase exactly.
        for w in [150usize, 151, 200, 333, 500, 2000, 5000] {
            let s = WarmupSchedule::stan(w);
            let ws = s.windows();
            assert_eq!(ws[0].0, 75);
            assert_eq!(ws.last().unwrap().1, w - 50);
            for k in 1..ws.len() {
                assert_eq!(ws[k].0, ws[k - 1].1);
            }
        }
    }
}
