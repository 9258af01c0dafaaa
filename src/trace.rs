//! [`Trace`]: the draws of a multi-chain run with per-chain statistics.

use crate::Real;
use crate::diagnostics::health::{HealthReport, HealthThresholds, HealthWarning};
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::transform::{Bijection, Constrained};
use core::time::Duration;
use rayon::prelude::*;

/// The output of [`crate::run::Sampler::run`]: post-warm-up draws of every chain and the
/// per-chain acceptance statistics.
///
/// Draws are stored per chain, row-major (`draws × dim`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Trace<T> {
    /// Dimension d.
    pub dim: usize,
    /// Draws per chain (after warm-up and thinning).
    pub n_draws: usize,
    /// `chains[c]` holds chain c's draws, row-major `n_draws × dim`.
    pub chains: Vec<Vec<T>>,
    /// Fraction of accepted proposals after warm-up, per chain.
    pub acceptance_rate: Vec<f64>,
    /// Mean Metropolis–Hastings acceptance probability `min(1, r)` after warm-up, per chain
    /// (the Rao–Blackwellised acceptance rate).
    pub mean_accept_prob: Vec<f64>,
    /// Divergent proposals per chain, warm-up included ([`crate::StepInfo::divergent`]).
    pub divergences: Vec<usize>,
    /// Divergent proposals per chain during warm-up only.
    pub warmup_divergences: Vec<usize>,
    /// Wall-clock time of the whole run.
    pub wall_time: Duration,
    /// Final adapted step size per chain, when the run adapted it.
    pub adapted_step_size: Option<Vec<f64>>,
    /// Final adapted metric (mass matrix) per chain, when the run adapted one: its diagonal
    /// (length `dim`) or the full matrix row-major (length `dim²`).
    pub adapted_mass: Option<Vec<Vec<f64>>>,
    /// How the run was made: sampler, parameters, warm-up, thinning, seed, chains, wall time
    /// per chain (written by [`crate::export::CmdStanCsv`] into its header).
    pub config: RunConfig,
}

/// The configuration of the run that produced a [`Trace`] (the adapted step sizes and metrics
/// are in [`Trace::adapted_step_size`] and [`Trace::adapted_mass`]).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct RunConfig {
    /// The kernel's name ([`crate::Kernel::name`], e.g. `mala`).
    pub sampler: String,
    /// The kernel's parameters before any adaptation ([`crate::Kernel::parameters`], e.g.
    /// `("step_size", 0.3)`).
    pub parameters: Vec<(String, f64)>,
    /// Recorded draws per chain.
    pub draws: usize,
    /// Warm-up transitions per chain.
    pub warmup: usize,
    /// Thinning: every `thin`-th post-warm-up transition was recorded.
    pub thin: usize,
    /// The run seed.
    pub seed: u64,
    /// Number of chains of the run (of every shard together when the trace is a shard).
    pub chains: usize,
    /// Index in the run of this trace's first chain: 0, unless the trace is a shard
    /// (`Sampler::chain_range`), whose chains are `first_chain .. first_chain + n_chains()`.
    pub first_chain: usize,
    /// Wall-clock time of each chain (warm-up and sampling).
    pub chain_wall_time: Vec<Duration>,
    /// The kernel's step beside its known stability bound on the target
    /// ([`crate::Kernel::stability_bound`]), checked by the health report.
    pub stability: Option<crate::mcmc::StabilityBound>,
}

impl<T: Real> Trace<T> {
    /// Number of chains.
    pub fn n_chains(&self) -> usize {
        self.chains.len()
    }

    /// Draw `i` of chain `c`.
    ///
    /// # Panics
    /// If `c` or `i` is out of range.
    pub fn draw(&self, c: usize, i: usize) -> &[T] {
        &self.chains[c][i * self.dim..(i + 1) * self.dim]
    }

    /// The series of coordinate `j` in chain `c`, as `f64` (for diagnostics).
    pub fn coordinate(&self, c: usize, j: usize) -> Vec<f64> {
        self.chains[c]
            .chunks_exact(self.dim)
            .map(|x| x[j].to_f64())
            .collect()
    }

    /// Coordinate `j` of every chain: `out[c]` is chain c's series (ready for R-hat / ESS).
    pub fn coordinate_chains(&self, j: usize) -> Vec<Vec<f64>> {
        (0..self.n_chains())
            .map(|c| self.coordinate(c, j))
            .collect()
    }

    /// The final draw of every chain (IID across chains: the input of choice for
    /// goodness-of-fit tests).
    pub fn last_draws(&self) -> Vec<&[T]> {
        self.chains
            .iter()
            .filter(|c| !c.is_empty())
            .map(|c| &c[c.len() - self.dim..])
            .collect()
    }

    /// Mean of chain `c`, per coordinate (NaN for a chain without draws).
    pub fn chain_mean(&self, c: usize) -> Vec<f64> {
        let mut m = vec![0.0; self.dim];
        for x in self.chains[c].chunks_exact(self.dim) {
            for (mi, xi) in m.iter_mut().zip(x) {
                *mi += xi.to_f64();
            }
        }
        // An empty chain has no mean: NaN (0/0), never a plausible 0.
        let n = (self.chains[c].len() / self.dim.max(1)) as f64;
        m.iter_mut().for_each(|v| *v /= n);
        m
    }

    /// Pooled mean over all chains and draws (NaN without draws).
    pub fn mean(&self) -> Vec<f64> {
        if self.n_chains() == 0 {
            return vec![f64::NAN; self.dim];
        }
        let mut m = vec![0.0; self.dim];
        let c = self.n_chains() as f64;
        for k in 0..self.n_chains() {
            for (a, b) in m.iter_mut().zip(self.chain_mean(k)) {
                *a += b / c;
            }
        }
        m
    }

    /// Pooled covariance over all chains and draws (row-major d × d, divisor N − 1; NaN with
    /// fewer than two draws), computed in two passes around the pooled mean.
    pub fn covariance(&self) -> Vec<f64> {
        let d = self.dim;
        let mean = self.mean();
        let mut cov = vec![0.0; d * d];
        let mut n = 0usize;
        let mut y = vec![0.0; d];
        for chain in &self.chains {
            for x in chain.chunks_exact(d) {
                for i in 0..d {
                    y[i] = x[i].to_f64() - mean[i];
                }
                for i in 0..d {
                    for j in 0..=i {
                        cov[i * d + j] += y[i] * y[j];
                    }
                }
                n += 1;
            }
        }
        let div = if n < 2 { f64::NAN } else { (n - 1) as f64 };
        for i in 0..d {
            for j in 0..=i {
                cov[i * d + j] /= div;
                cov[j * d + i] = cov[i * d + j];
            }
        }
        cov
    }

    /// Pooled variance per coordinate (the diagonal of [`Trace::covariance`], divisor
    /// N − 1), in two passes around the pooled mean: O(N d) time and O(d) memory, without
    /// building the d × d matrix. NaN with fewer than two draws in all.
    pub fn variance(&self) -> Vec<f64> {
        let d = self.dim;
        let mean = self.mean();
        let mut v = vec![0.0; d];
        let mut n = 0usize;
        for chain in &self.chains {
            for x in chain.chunks_exact(d) {
                for ((vi, xi), mi) in v.iter_mut().zip(x).zip(&mean) {
                    let y = xi.to_f64() - mi;
                    *vi += y * y;
                }
                n += 1;
            }
        }
        let div = if n < 2 { f64::NAN } else { (n - 1) as f64 };
        v.iter_mut().for_each(|vi| *vi /= div);
        v
    }

    /// Acceptance rate averaged over chains.
    pub fn acceptance(&self) -> f64 {
        mean_of(&self.acceptance_rate)
    }

    /// Mean acceptance probability averaged over chains.
    pub fn mean_accept_prob(&self) -> f64 {
        mean_of(&self.mean_accept_prob)
    }

    /// The ArviZ-style summary table of every coordinate (mean, sd, 5/50/95% quantiles,
    /// MCSEs, bulk and tail ESS, rank-normalised split R-hat) with the run's health report
    /// ([`Trace::check`]) printed under it; `names` defaults to `x[0]`, `x[1]`, … when `None`.
    /// The result dereferences to the [`SummaryTable`](crate::diagnostics::SummaryTable).
    ///
    /// # Errors
    /// [`crate::Error::Diagnostics`] when the draws are too few (at least 4 per chain) or
    /// non-finite, [`crate::Error::DimensionMismatch`] if `names` has the wrong length.
    ///
    /// # Example
    /// ```
    /// use langevin::prelude::*;
    /// use langevin::targets::Gaussian;
    /// let mala = Mala::new(Gaussian::<f64>::standard(2)?, 0.8)?;
    /// let trace = Sampler::new(500).chains(4).warmup(100).seed(1).run(&mala, &[vec![0.0; 2]])?;
    /// let table = trace.summary(Some(&["a", "b"]))?;
    /// assert!(table.rows.iter().all(|r| r.r_hat.unwrap() < 1.05));
    /// println!("{table}");
    /// # Ok::<(), langevin::Error>(())
    /// ```
    pub fn summary(&self, names: Option<&[&str]>) -> crate::Result<TraceSummary> {
        let default: Vec<String> = (0..self.dim).map(|j| format!("x[{j}]")).collect();
        let names: Vec<&str> = match names {
            Some(n) => {
                crate::error::check_len("parameter names", self.dim, n.len())?;
                n.to_vec()
            }
            None => default.iter().map(String::as_str).collect(),
        };
        let per_param: Vec<Vec<Vec<f64>>> =
            (0..self.dim).map(|j| self.coordinate_chains(j)).collect();
        let refs: Vec<&[Vec<f64>]> = per_param.iter().map(Vec::as_slice).collect();
        Ok(TraceSummary {
            table: crate::diagnostics::summarize(&refs, &names)?,
            health: self.check(),
        })
    }

    /// The health report of the run with the default [`HealthThresholds`]: see
    /// [`Trace::check_with`].
    ///
    /// # Example
    /// A step far too large: MALA rejects every proposal, the chains never move.
    /// ```
    /// use langevin::prelude::*;
    /// use langevin::diagnostics::health::HealthWarning;
    /// use langevin::targets::Gaussian;
    /// let mala = Mala::new(Gaussian::<f64>::standard(2)?, 1e6)?;
    /// let trace = Sampler::new(500).chains(2).warmup(100).seed(1).run(&mala, &[vec![0.5; 2]])?;
    /// let report = trace.check();
    /// assert!(report.warnings.contains(&HealthWarning::NoAcceptance { chain: 0 }));
    /// println!("{report}");
    /// # Ok::<(), langevin::Error>(())
    /// ```
    pub fn check(&self) -> HealthReport {
        self.check_with(&HealthThresholds::default())
    }

    /// The warnings of [`Trace::check`].
    pub fn warnings(&self) -> Vec<HealthWarning> {
        self.check().warnings
    }

    /// The health report of the run (thresholds and their sources in
    /// [`crate::diagnostics::health`]). In order, it flags:
    ///
    /// * per chain: no accepted proposal after warm-up ([`HealthWarning::NoAcceptance`]), an
    ///   acceptance rate below `min_acceptance` ([`HealthWarning::LowAcceptance`]; unadjusted
    ///   kernels report 1 and are never flagged), coordinates constant over all draws
    ///   ([`HealthWarning::ConstantChain`]);
    /// * divergent transitions after warm-up ([`HealthWarning::Divergences`]);
    /// * over coordinates that no chain holds constant, with two chains or more: R-hat above
    ///   `max_rhat`, bulk or tail ESS below `min_ess_per_chain × chains` (one warning per
    ///   kind, naming the worst coordinate and how many are affected);
    /// * [`HealthWarning::Undiagnosable`] when R-hat or ESS cannot be computed (fewer than 4
    ///   draws per chain, non-finite draws).
    ///
    /// With one chain, R-hat is not computed (it needs two); ESS is.
    pub fn check_with(&self, thresholds: &HealthThresholds) -> HealthReport {
        let mut warnings = Vec::new();
        if let Some(b) = self.config.stability.filter(|b| b.is_unstable()) {
            warnings.push(HealthWarning::UnstableStep {
                step_size: b.step_size,
                max_step_size: b.max_step_size,
            });
        }
        let chains = self.n_chains();
        let d = self.dim;
        let mut constant_coord = vec![false; d];
        for c in 0..chains {
            let rate = self.acceptance_rate.get(c).copied().unwrap_or(f64::NAN);
            if self.n_draws > 0 {
                if rate == 0.0 {
                    warnings.push(HealthWarning::NoAcceptance { chain: c });
                } else if rate < thresholds.min_acceptance {
                    warnings.push(HealthWarning::LowAcceptance {
                        chain: c,
                        rate,
                        threshold: thresholds.min_acceptance,
                    });
                }
            }
            let consts = self.constant_coordinates(c);
            if let Some(&first) = consts.first() {
                for &j in &consts {
                    constant_coord[j] = true;
                }
                warnings.push(HealthWarning::ConstantChain {
                    chain: c,
                    coordinates: consts.len(),
                    first,
                });
            }
        }
        let post: usize = self
            .divergences
            .iter()
            .zip(&self.warmup_divergences)
            .map(|(a, b)| a.saturating_sub(*b))
            .sum();
        if post > 0 {
            warnings.push(HealthWarning::Divergences {
                count: post,
                transitions: self.n_draws * self.config.thin.max(1) * chains,
            });
        }
        if self.n_draws < 4 || chains == 0 {
            warnings.push(HealthWarning::Undiagnosable {
                reason: format!(
                    "{} draw(s) per chain: R-hat and ESS need at least 4",
                    self.n_draws
                ),
            });
            return HealthReport { warnings };
        }
        let ess_min = thresholds.min_ess_per_chain * chains as f64;
        // (worst coordinate, worst value, count) per kind.
        let mut rhat = (0usize, f64::NEG_INFINITY, 0usize);
        let mut bulk = (0usize, f64::INFINITY, 0usize);
        let mut tail = (0usize, f64::INFINITY, 0usize);
        let mut failure = None;
        // Per coordinate (in parallel: the diagnostics of one coordinate run on one thread, and
        // the results are folded in coordinate order, so the report does not depend on the
        // number of threads): R-hat (two chains or more), bulk and tail ESS.
        let per_coord: Vec<(usize, CoordinateDiagnostics)> = (0..d)
            .into_par_iter()
            .filter(|&j| !constant_coord[j])
            .map(|j| {
                let x = self.coordinate_chains(j);
                let r = (|| -> Result<_, crate::diagnostics::DiagnosticsError> {
                    let r = if chains >= 2 {
                        Some(crate::diagnostics::rhat_rank(&x)?)
                    } else {
                        None
                    };
                    Ok((
                        r,
                        crate::diagnostics::ess_bulk(&x)?,
                        crate::diagnostics::ess_tail(&x)?,
                    ))
                })();
                (j, r.map_err(|e| format!("x[{j}]: {e}")))
            })
            .collect();
        for (j, r) in per_coord {
            let (r, b, t) = match r {
                Ok(v) => v,
                Err(e) => {
                    failure.get_or_insert(e);
                    continue;
                }
            };
            if let Some(v) = r.filter(|&v| v > thresholds.max_rhat) {
                rhat.2 += 1;
                if v > rhat.1 {
                    rhat = (j, v, rhat.2);
                }
            }
            for (kind, v) in [(&mut bulk, b), (&mut tail, t)] {
                if v < ess_min {
                    kind.2 += 1;
                    if v < kind.1 {
                        *kind = (j, v, kind.2);
                    }
                }
            }
        }
        if rhat.2 > 0 {
            warnings.push(HealthWarning::HighRhat {
                coordinate: rhat.0,
                rhat: rhat.1,
                coordinates: rhat.2,
                threshold: thresholds.max_rhat,
            });
        }
        if bulk.2 > 0 {
            warnings.push(HealthWarning::LowEssBulk {
                coordinate: bulk.0,
                ess: bulk.1,
                coordinates: bulk.2,
                threshold: ess_min,
            });
        }
        if tail.2 > 0 {
            warnings.push(HealthWarning::LowEssTail {
                coordinate: tail.0,
                ess: tail.1,
                coordinates: tail.2,
                threshold: ess_min,
            });
        }
        if let Some(reason) = failure {
            warnings.push(HealthWarning::Undiagnosable { reason });
        }
        HealthReport { warnings }
    }

    /// The coordinates in which chain `c` takes a single value over all its draws.
    fn constant_coordinates(&self, c: usize) -> Vec<usize> {
        let d = self.dim;
        let chain = &self.chains[c];
        if self.n_draws < 2 || chain.len() < d {
            return Vec::new();
        }
        let first = &chain[..d];
        let mut constant = vec![true; d];
        for x in chain.chunks_exact(d).skip(1) {
            for ((k, a), b) in constant.iter_mut().zip(x).zip(first) {
                // Bit equality: a chain that moved by any amount is not constant.
                *k &= a.to_f64().to_bits() == b.to_f64().to_bits();
            }
        }
        (0..d).filter(|&j| constant[j]).collect()
    }

    /// The trace carried by an [`Error::Unhealthy`](crate::Error::Unhealthy) (a strict run
    /// with warnings), if `error` is one and its scalar is `T`.
    pub fn from_error(error: &crate::Error) -> Option<&Trace<T>>
    where
        T: 'static,
    {
        match error {
            crate::Error::Unhealthy { trace, .. } => trace.0.downcast_ref::<Trace<T>>(),
            _ => None,
        }
    }

    /// The trace as a strict-mode error when its health report has warnings.
    pub(crate) fn into_checked(self) -> crate::Result<Self>
    where
        T: 'static,
    {
        let report = self.check();
        if report.is_ok() {
            Ok(self)
        } else {
            Err(crate::Error::Unhealthy {
                report,
                trace: crate::error::UnhealthyTrace(std::sync::Arc::new(self)),
            })
        }
    }

    /// Minimum bulk ESS over coordinates (Vehtari et al. 2021), the usual efficiency figure
    /// (divide by [`Trace::wall_time`] for ESS per second).
    ///
    /// NaN when a chain is constant in some coordinate: a chain that never moved has no
    /// effective sample size. (ArviZ, and [`crate::diagnostics::ess_bulk`] on slices, return
    /// the number of draws there; see [`crate::diagnostics::health`].)
    ///
    /// # Errors
    /// [`crate::Error::Diagnostics`] when the draws are too few or non-finite.
    pub fn min_ess_bulk(&self) -> crate::Result<f64> {
        if (0..self.n_chains()).any(|c| !self.constant_coordinates(c).is_empty()) {
            return Ok(f64::NAN);
        }
        let ess = (0..self.dim)
            .into_par_iter()
            .map(|j| crate::diagnostics::ess_bulk(&self.coordinate_chains(j)))
            .collect::<Result<Vec<f64>, _>>()?;
        Ok(ess.into_iter().fold(f64::INFINITY, f64::min))
    }

    /// Maximum rank-normalised split R-hat over coordinates (values above 1.01 signal
    /// chains that have not mixed).
    ///
    /// # Errors
    /// [`crate::Error::Diagnostics`] when the draws are too few or non-finite.
    pub fn max_rhat(&self) -> crate::Result<f64> {
        let r = (0..self.dim)
            .into_par_iter()
            .map(|j| crate::diagnostics::rhat_rank(&self.coordinate_chains(j)))
            .collect::<Result<Vec<f64>, _>>()?;
        Ok(r.into_iter().fold(f64::NEG_INFINITY, f64::max))
    }

    /// Total divergences over chains.
    pub fn total_divergences(&self) -> usize {
        self.divergences.iter().sum()
    }
}

impl Trace<f64> {
    /// Maps every draw `z` of a trace sampled in unconstrained space to `x = T(z)` through
    /// the bijection `T` (for a [`Constrained`] target: `trace.constrain(target.bijection())`);
    /// the statistics (acceptance, divergences, timing, adapted parameters) are copied
    /// unchanged.
    ///
    /// # Example
    /// ```
    /// use langevin::prelude::*;
    /// use langevin::targets::Univariate;
    /// use langevin::transform::{Constrained, Constraint, Elementwise};
    /// use statrs::distribution::Gamma;
    /// let gamma = Univariate::new(Gamma::new(2.0, 1.0).unwrap());
    /// let z_target = Constrained::new(gamma, Elementwise::new(vec![Constraint::Positive])?)?;
    /// let mala = Mala::new(&z_target, 0.3)?;
    /// let z_trace = Sampler::new(200).chains(2).warmup(100).seed(5).run(&mala, &[vec![0.0]])?;
    /// let x_trace = z_trace.constrain(z_target.bijection());
    /// assert!(x_trace.chains[0].iter().all(|&x| x > 0.0));
    /// # Ok::<(), langevin::Error>(())
    /// ```
    pub fn constrain<B: Bijection + ?Sized>(&self, bijection: &B) -> Trace<f64> {
        let (n, m) = (bijection.unconstrained_dim(), bijection.constrained_dim());
        let chains = self
            .chains
            .iter()
            .map(|c| {
                let mut out = vec![0.0; c.len() / n.max(1) * m];
                for (z, x) in c.chunks_exact(n).zip(out.chunks_exact_mut(m)) {
                    bijection.forward(z, x);
                }
                out
            })
            .collect();
        let mut t = self.clone();
        t.dim = m;
        t.chains = chains;
        t
    }
}

// The deprecated trace mapping of `Constrained` lives here, on the driving side, so that the
// `transform` module never names `Trace`.
impl<P, B> Constrained<P, B>
where
    P: crate::LogDensity<Scalar = f64> + crate::Score,
    B: Bijection,
{
    /// Maps every draw of a trace of `z` (as returned by a sampler run on `self`) to `x`.
    #[deprecated(
        since = "0.2.0",
        note = "use `trace.constrain(target.bijection())` (`Trace::constrain`)"
    )]
    pub fn constrain_trace(&self, trace: &Trace<f64>) -> Trace<f64> {
        trace.constrain(self.bijection())
    }
}

/// R-hat (with two chains or more), bulk ESS and tail ESS of one coordinate, or why they
/// could not be computed.
type CoordinateDiagnostics = Result<(Option<f64>, f64, f64), String>;

fn mean_of(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// [`Trace::summary`]'s result: the summary table with the run's health report printed under
/// it. Dereferences to the [`SummaryTable`](crate::diagnostics::SummaryTable).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TraceSummary {
    /// The per-coordinate table.
    pub table: crate::diagnostics::SummaryTable,
    /// The health report ([`Trace::check`]).
    pub health: HealthReport,
}

impl core::ops::Deref for TraceSummary {
    type Target = crate::diagnostics::SummaryTable;
    fn deref(&self) -> &Self::Target {
        &self.table
    }
}

impl core::fmt::Display for TraceSummary {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.table)?;
        if !self.health.is_ok() {
            write!(f, "\n{}", self.health)?;
        }
        Ok(())
    }
}
