use super::{Analytic, ExactSample, ln_2pi};
use crate::density::{
    LogDensity, NoiseConditionalLogDensity, NoiseConditionalScore, Score, Target,
};
use crate::error::{check_finite, check_len};
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::{Error, Real, Result};
use rand::{Rng, RngExt};
use statrs::distribution::{ContinuousCDF, Normal};

/// A Gaussian mixture `p(x) = Σ_k w_k N(x; μ_k, diag(s_k²))` with diagonal (or isotropic)
/// component covariances, and its exact smoothed versions.
///
/// ```text
/// log p(x)  = logsumexp_k [ log w_k + log N(x; μ_k, S_k) ]
/// ∇log p(x) = Σ_k r_k(x) · (−S_k⁻¹ (x − μ_k)),   r_k = softmax_k(log w_k + log N(x; μ_k, S_k))
/// ```
///
/// The responsibilities are formed by a *streaming* log-sum-exp (running maximum, rescaled
/// accumulators), so the evaluation is stable far from every mode (no `0/0`) and allocates
/// nothing, whatever the number of components.
///
/// **Smoothed laws.** If `X ~ p` and `Y = α X + τ Z` with `Z ~ N(0, I)`, then `Y` is again a
/// mixture, with means `α μ_k` and covariances `α² S_k + τ² I`.
/// [`GaussianMixture::log_density_and_score_smoothed`] evaluates it for any `(α, τ²)`:
/// `(1, σ²)` is the NCSN noise level σ ([`NoiseConditionalScore`]), `(α_t, 1 − α_t²)` the
/// VP-SDE marginal at time t, `(1, σ(t)²)` the VE-SDE marginal.
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::targets::GaussianMixture;
/// let gmm = GaussianMixture::<f64>::ring(8, 4.0, 0.5)?;   // 8 modes on a circle of radius 4
/// assert_eq!(gmm.dim(), 2);
/// assert!(check_score(&gmm, &[1.0, 3.0])?.passed(1e-6));
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct GaussianMixture<T> {
    dim: usize,
    /// log w_k (normalised weights).
    log_w: Vec<T>,
    /// w_k (normalised).
    w: Vec<f64>,
    /// K × d row-major means.
    means: Vec<T>,
    /// K × d row-major variances.
    vars: Vec<T>,
    /// d × K coordinate-major means (μ_ki at `i * K + k`): the isotropic evaluation loops
    /// over components innermost, which vectorises.
    means_t: Vec<T>,
    /// K × d row-major precisions 1 / s_ki².
    prec: Vec<T>,
    /// Per component: −½ (d log 2π + Σ_i log s_ki²).
    log_norm: Vec<T>,
    /// Per component the variance s_k², when every component is isotropic.
    iso_var: Option<Vec<T>>,
    /// The variance shared by every component, when they are isotropic and equal.
    common_var: Option<T>,
}

/// Components are processed in blocks of this many: their log terms live on the stack, the
/// weights `e^{l_k − m}` are formed by one vectorised pass ([`Real::exp_in_place`]).
const BLOCK: usize = 32;

/// How the per-component variances of a smoothed evaluation are formed.
#[derive(Clone, Copy)]
enum Smooth<T> {
    /// Isotropic components (any `(α, τ²)`): one precision and one normaliser per component,
    /// means read coordinate-major.
    Iso,
    /// Isotropic components with one shared variance: `(precision, normaliser)` for all.
    Common(T, T),
    /// Diagonal components, `(α, τ²) = (1, 0)`: the stored precisions and normalisers.
    Plain,
    /// Diagonal components smoothed: per-coordinate variances `α² s_ki² + τ²`.
    Diag,
}

impl<T: Real> GaussianMixture<T> {
    /// A mixture with isotropic components: `weights[k]` (any positive numbers, normalised
    /// here), `means[k]` (each of length d) and `variances[k]` (the component's s_k²).
    ///
    /// # Errors
    /// [`Error::ZeroCount`] with no components, [`Error::ZeroDimension`] for empty means,
    /// [`Error::DimensionMismatch`] for ragged inputs, [`Error::InvalidParameter`] for a
    /// non-positive weight or variance, [`Error::NonFiniteInput`] for non-finite means.
    pub fn new(weights: Vec<T>, means: Vec<Vec<T>>, variances: Vec<T>) -> Result<Self> {
        check_len(
            "variances (one per component)",
            means.len(),
            variances.len(),
        )?;
        let vars = means
            .iter()
            .zip(&variances)
            .map(|(m, &v)| vec![v; m.len()])
            .collect();
        Self::with_diagonal(weights, means, vars)
    }

    /// A mixture whose component `k` has covariance `diag(variances[k])`.
    ///
    /// # Errors
    /// As [`GaussianMixture::new`].
    pub fn with_diagonal(
        weights: Vec<T>,
        means: Vec<Vec<T>>,
        variances: Vec<Vec<T>>,
    ) -> Result<Self> {
        let k = means.len();
        if k == 0 {
            return Err(Error::ZeroCount {
                what: "mixture components",
            });
        }
        check_len("weights (one per component)", k, weights.len())?;
        check_len("variances (one per component)", k, variances.len())?;
        let d = means[0].len();
        if d == 0 {
            return Err(Error::ZeroDimension {
                what: "mixture component mean",
            });
        }
        let mut total = 0.0;
        for &w in &weights {
            let w = w.to_f64();
            if !(w.is_finite() && w > 0.0) {
                return Err(Error::InvalidParameter {
                    name: "mixture weight",
                    value: w,
                    expected: "finite and > 0 (weights are normalised to sum to 1)",
                });
            }
            total += w;
        }
        let mut flat_m = Vec::with_capacity(k * d);
        let mut flat_v = Vec::with_capacity(k * d);
        let mut log_norm = Vec::with_capacity(k);
        for (m, v) in means.iter().zip(&variances) {
            check_len("mixture component mean", d, m.len())?;
            check_len("mixture component variances", d, v.len())?;
            check_finite("mixture component mean", m)?;
            let mut ln_det = 0.0;
            for &vi in v {
                let f = vi.to_f64();
                if !(f.is_finite() && f > 0.0) {
                    return Err(Error::InvalidParameter {
                        name: "mixture component variance",
                        value: f,
                        expected: "finite and > 0",
                    });
                }
                ln_det += f.ln();
            }
            flat_m.extend_from_slice(m);
            flat_v.extend_from_slice(v);
            log_norm.push(T::c(-0.5 * (d as f64 * ln_2pi() + ln_det)));
        }
        let w: Vec<f64> = weights.iter().map(|&w| w.to_f64() / total).collect();
        let iso_var: Option<Vec<T>> = flat_v
            .chunks_exact(d)
            .map(|v| v.iter().all(|&vi| vi == v[0]).then_some(v[0]))
            .collect();
        let common_var = iso_var
            .as_ref()
            .and_then(|v| v.iter().all(|&vk| vk == v[0]).then_some(v[0]));
        let mut means_t = vec![T::zero(); k * d];
        for (c, m) in flat_m.chunks_exact(d).enumerate() {
            for (i, &mi) in m.iter().enumerate() {
                means_t[i * k + c] = mi;
            }
        }
        Ok(Self {
            dim: d,
            log_w: w.iter().map(|&w| T::c(w.ln())).collect(),
            w,
            means_t,
            prec: flat_v.iter().map(|&v| T::one() / v).collect(),
            means: flat_m,
            vars: flat_v,
            log_norm,
            iso_var,
            common_var,
        })
    }

    /// `modes` equal-weight isotropic components with standard deviation `std`, their means
    /// equally spaced on the circle of radius `radius` in ℝ² (the first at angle 0). With
    /// `modes = 8` this is the classic 8-Gaussian ring of the score-based-modelling
    /// literature.
    ///
    /// # Errors
    /// [`Error::ZeroCount`] if `modes == 0`, [`Error::InvalidParameter`] for a non-positive
    /// `std` or non-finite `radius`.
    pub fn ring(modes: usize, radius: T, std: T) -> Result<Self> {
        Self::ring_weighted(vec![T::one(); modes], radius, std)
    }

    /// As [`GaussianMixture::ring`], with one weight per mode (normalised here) — the
    /// unequal-weight ring on which mode-weight recovery is tested.
    ///
    /// # Errors
    /// As [`GaussianMixture::ring`], plus invalid weights as in [`GaussianMixture::new`].
    pub fn ring_weighted(weights: Vec<T>, radius: T, std: T) -> Result<Self> {
        let modes = weights.len();
        if modes == 0 {
            return Err(Error::ZeroCount { what: "ring modes" });
        }
        if !radius.finite() {
            return Err(Error::InvalidParameter {
                name: "radius",
                value: radius.to_f64(),
                expected: "finite",
            });
        }
        let means = (0..modes)
            .map(|k| {
                let a = 2.0 * core::f64::consts::PI * k as f64 / modes as f64;
                vec![radius * T::c(a.cos()), radius * T::c(a.sin())]
            })
            .collect();
        Self::new(weights, means, vec![std * std; modes])
    }

    /// The smoothed dice law on ℝ: the equal-weight mixture of `N(k, std²)` for the faces
    /// `k = 1, …, 6`. With a small `std` (say 0.1) it is nearly discrete; Langevin with noise
    /// visits the six faces equally, gradient ascent (no noise) collapses onto the nearest face.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-positive or non-finite `std`.
    pub fn dice(std: T) -> Result<Self> {
        let means = (1..=6).map(|k| vec![T::c(k as f64)]).collect();
        Self::new(vec![T::one(); 6], means, vec![std * std; 6])
    }

    /// Number of components K.
    pub fn n_components(&self) -> usize {
        self.w.len()
    }
    /// The normalised weights w_k.
    pub fn weights(&self) -> &[f64] {
        &self.w
    }
    /// The mean of component `k` (`None` if out of range).
    pub fn component_mean(&self, k: usize) -> Option<&[T]> {
        self.means.get(k * self.dim..(k + 1) * self.dim)
    }
    /// The diagonal of the covariance of component `k` (`None` if out of range).
    pub fn component_variances(&self, k: usize) -> Option<&[T]> {
        self.vars.get(k * self.dim..(k + 1) * self.dim)
    }

    /// The index of the component with the largest responsibility at `x` (for counting mode
    /// visits). Ties go to the lower index.
    pub fn nearest_component(&self, x: &[T]) -> usize {
        let mut best = (T::neg_infinity(), 0);
        for k in 0..self.w.len() {
            let l = self.component_log_term(x, k);
            if l > best.0 {
                best = (l, k);
            }
        }
        best.1
    }

    /// `log w_k + log N(x; μ_k, S_k)` (the unsmoothed log term of component `k`).
    #[inline]
    fn component_log_term(&self, x: &[T], k: usize) -> T {
        let d = self.dim;
        let mu = &self.means[k * d..(k + 1) * d];
        let prec = &self.prec[k * d..(k + 1) * d];
        let mut q = T::zero();
        for i in 0..d {
            let y = x[i] - mu[i];
            q += y * y * prec[i];
        }
        self.log_w[k] + self.log_norm[k] - T::c(0.5) * q
    }

    /// The evaluation mode for `(α, τ²)`, with its per-call constants.
    #[inline]
    fn smooth_mode(&self, alpha: T, tau2: T) -> Smooth<T> {
        let plain = alpha == T::one() && tau2 == T::zero();
        if let Some(v) = self.common_var {
            let v = alpha * alpha * v + tau2;
            let c0 = T::c(-0.5 * self.dim as f64 * ln_2pi());
            Smooth::Common(T::one() / v, c0 - T::c(0.5 * self.dim as f64) * v.ln())
        } else if self.iso_var.is_some() {
            Smooth::Iso
        } else if plain {
            Smooth::Plain
        } else {
            Smooth::Diag
        }
    }

    /// Log density and score of the smoothed mixture `law(α X + τ Z)`, `X ~ p`, `Z ~ N(0, I)`:
    /// components `N(α μ_k, α² S_k + τ² I)`. Writes the score into `out` and returns the
    /// (normalised) log density. `(α, τ²) = (1, 0)` is the mixture itself.
    ///
    /// Cost per call: one pass over the K × d means for the log terms, one vectorised `exp`
    /// pass over the K weights, one pass for the score; per-call constants (for components of
    /// one shared variance, a single division and logarithm) are formed once per call, not per
    /// component and coordinate.
    ///
    /// Non-finite `x` gives a NaN log density and score (never a silently finite value).
    pub fn log_density_and_score_smoothed(&self, x: &[T], alpha: T, tau2: T, out: &mut [T]) -> T {
        let (m, s) = self.evaluate(x, alpha, tau2, Some(out));
        m + s.ln()
    }

    /// The score of the smoothed mixture alone (no logarithm for the density).
    #[inline]
    pub(crate) fn score_smoothed(&self, x: &[T], alpha: T, tau2: T, out: &mut [T]) {
        let _ = self.evaluate(x, alpha, tau2, Some(out));
    }

    /// Log density of the smoothed mixture (see
    /// [`GaussianMixture::log_density_and_score_smoothed`]).
    pub fn log_density_smoothed(&self, x: &[T], alpha: T, tau2: T) -> T {
        let (m, s) = self.evaluate(x, alpha, tau2, None);
        m + s.ln()
    }

    /// The shared evaluation: block by block, log terms `l_k` on the stack, a running maximum
    /// `m`, weights `e^{l_k − m}` by one vectorised pass, the score accumulated as
    /// `Σ_k e^{l_k − m} P_k (α μ_k − x)` and divided by `Σ_k e^{l_k − m}` at the end. For
    /// isotropic components the quadratic forms and the score are loops over components
    /// (coordinate-major means): `q_k = Σ_i (x_i − α μ_ik)²`, and with `w_k = e^{l_k − m} p_k`,
    /// `score_i ∝ α Σ_k w_k μ_ik − x_i Σ_k w_k`. Returns `(m, s)` with the log density
    /// `m + ln s`; `(NaN, NaN)` (and a NaN score) when it is not finite.
    fn evaluate(&self, x: &[T], alpha: T, tau2: T, mut out: Option<&mut [T]>) -> (T, T) {
        let d = self.dim;
        let n_comp = self.w.len();
        let mode = self.smooth_mode(alpha, tau2);
        let half = T::c(0.5);
        let c0 = T::c(-0.5 * d as f64 * ln_2pi());
        let half_d = T::c(0.5 * d as f64);
        if let Some(o) = out.as_deref_mut() {
            o.fill(T::zero());
        }
        let mut l = [T::zero(); BLOCK];
        // Isotropic modes: per component of the block, its precision and normaliser.
        let mut p = [T::zero(); BLOCK];
        let mut c = [T::zero(); BLOCK];
        let mut m = T::neg_infinity();
        let mut s = T::zero();
        let mut start = 0;
        while start < n_comp {
            let nb = BLOCK.min(n_comp - start);
            let lw = &self.log_w[start..start + nb];
            match mode {
                Smooth::Common(..) | Smooth::Iso => {
                    match mode {
                        Smooth::Common(pc, norm) => {
                            p[..nb].fill(pc);
                            c[..nb].fill(norm);
                        }
                        _ if alpha == T::one() && tau2 == T::zero() => {
                            // Unsmoothed: the stored precisions and normalisers.
                            for j in 0..nb {
                                p[j] = self.prec[(start + j) * d];
                                c[j] = self.log_norm[start + j];
                            }
                        }
                        _ => {
                            let iso = self.iso_var.as_deref().unwrap_or(&[]);
                            for j in 0..nb.min(iso.len().saturating_sub(start)) {
                                let v = alpha * alpha * iso[start + j] + tau2;
                                p[j] = T::one() / v;
                                c[j] = c0 - half_d * v.ln();
                            }
                        }
                    }
                    let q = &mut l[..nb];
                    q.fill(T::zero());
                    for i in 0..d {
                        let xi = x[i];
                        let row = &self.means_t[i * n_comp + start..i * n_comp + start + nb];
                        for (qj, &mu) in q.iter_mut().zip(row) {
                            let y = xi - alpha * mu;
                            *qj += y * y;
                        }
                    }
                    for j in 0..nb {
                        l[j] = lw[j] + c[j] - half * p[j] * l[j];
                    }
                }
                Smooth::Plain | Smooth::Diag => {
                    for j in 0..nb {
                        let k = start + j;
                        let mu = &self.means[k * d..(k + 1) * d];
                        l[j] = if let Smooth::Plain = mode {
                            let pk = &self.prec[k * d..(k + 1) * d];
                            let mut q = T::zero();
                            for i in 0..d {
                                let y = x[i] - mu[i];
                                q += y * y * pk[i];
                            }
                            lw[j] + self.log_norm[k] - half * q
                        } else {
                            let var = &self.vars[k * d..(k + 1) * d];
                            let mut q = T::zero();
                            let mut ln_det = T::zero();
                            for i in 0..d {
                                let v = alpha * alpha * var[i] + tau2;
                                let y = x[i] - alpha * mu[i];
                                q += y * y / v;
                                ln_det += v.ln();
                            }
                            lw[j] + c0 - half * ln_det - half * q
                        };
                    }
                }
            }
            // The block's maximum (NaN terms are skipped here and poison `s` below).
            let mut bm = T::neg_infinity();
            for &lj in &l[..nb] {
                if lj > bm {
                    bm = lj;
                }
            }
            if bm > m {
                // exp(−∞) = 0 clears the empty accumulators of the first block.
                let rescale = if m == T::neg_infinity() {
                    T::zero()
                } else {
                    (m - bm).exp()
                };
                s *= rescale;
                if let Some(o) = out.as_deref_mut() {
                    for oi in o.iter_mut() {
                        *oi *= rescale;
                    }
                }
                m = bm;
            }
            for lj in l[..nb].iter_mut() {
                *lj -= m;
            }
            T::exp_in_place(&mut l[..nb]);
            for &e in &l[..nb] {
                s += e;
            }
            if let Some(o) = out.as_deref_mut() {
                match mode {
                    Smooth::Common(..) | Smooth::Iso => {
                        let mut sw = T::zero();
                        for j in 0..nb {
                            // Reuse `c` for the weights w_j = e_j p_j.
                            c[j] = l[j] * p[j];
                            sw += c[j];
                        }
                        let w = &c[..nb];
                        for i in 0..d {
                            let row = &self.means_t[i * n_comp + start..i * n_comp + start + nb];
                            let mut acc = T::zero();
                            for (&wj, &mu) in w.iter().zip(row) {
                                acc += wj * mu;
                            }
                            o[i] += alpha * acc - x[i] * sw;
                        }
                    }
                    Smooth::Plain | Smooth::Diag => {
                        for j in 0..nb {
                            let k = start + j;
                            let e = l[j];
                            let mu = &self.means[k * d..(k + 1) * d];
                            if let Smooth::Plain = mode {
                                let pk = &self.prec[k * d..(k + 1) * d];
                                for i in 0..d {
                                    o[i] += e * pk[i] * (mu[i] - x[i]);
                                }
                            } else {
                                let var = &self.vars[k * d..(k + 1) * d];
                                for i in 0..d {
                                    let v = alpha * alpha * var[i] + tau2;
                                    o[i] += e * (alpha * mu[i] - x[i]) / v;
                                }
                            }
                        }
                    }
                }
            }
            start += nb;
        }
        if !(s > T::zero() && m.finite() && s.finite()) {
            // Every component underflowed to −∞ (x astronomically far away) or x is not
            // finite: report NaN rather than a silently wrong finite value.
            if let Some(o) = out {
                o.fill(T::c(f64::NAN));
            }
            return (T::c(f64::NAN), T::c(f64::NAN));
        }
        if let Some(o) = out {
            let inv = T::one() / s;
            for oi in o.iter_mut() {
                *oi *= inv;
            }
        }
        (m, s)
    }
}

impl<T: Real> Target for GaussianMixture<T> {
    type Scalar = T;
    fn dim(&self) -> usize {
        self.dim
    }
}

impl<T: Real> LogDensity for GaussianMixture<T> {
    fn log_density(&self, x: &[T]) -> T {
        self.log_density_smoothed(x, T::one(), T::zero())
    }
}

impl<T: Real> Score for GaussianMixture<T> {
    fn score_into(&self, x: &[T], out: &mut [T]) {
        self.score_smoothed(x, T::one(), T::zero(), out);
    }
    fn log_density_and_score(&self, x: &[T], out: &mut [T]) -> Option<T> {
        Some(self.log_density_and_score_smoothed(x, T::one(), T::zero(), out))
    }
}

impl<T: Real> NoiseConditionalScore for GaussianMixture<T> {
    fn score_sigma_into(&self, x: &[T], sigma: T, out: &mut [T]) {
        self.score_smoothed(x, T::one(), sigma * sigma, out);
    }
    fn log_density_and_score_sigma(&self, x: &[T], sigma: T, out: &mut [T]) -> Option<T> {
        Some(self.log_density_and_score_smoothed(x, T::one(), sigma * sigma, out))
    }
}

impl<T: Real> NoiseConditionalLogDensity for GaussianMixture<T> {
    fn log_density_sigma(&self, x: &[T], sigma: T) -> T {
        self.log_density_smoothed(x, T::one(), sigma * sigma)
    }
}

impl<T: Real> Analytic for GaussianMixture<T> {
    fn exact_mean(&self) -> Vec<f64> {
        let d = self.dim;
        let mut m = vec![0.0; d];
        for (k, &w) in self.w.iter().enumerate() {
            for i in 0..d {
                m[i] += w * self.means[k * d + i].to_f64();
            }
        }
        m
    }
    fn exact_covariance(&self) -> Vec<f64> {
        let d = self.dim;
        let mean = self.exact_mean();
        let mut c = vec![0.0; d * d];
        for (k, &w) in self.w.iter().enumerate() {
            let mu = &self.means[k * d..(k + 1) * d];
            for i in 0..d {
                c[i * d + i] += w * self.vars[k * d + i].to_f64();
                for j in 0..d {
                    c[i * d + j] += w * mu[i].to_f64() * mu[j].to_f64();
                }
            }
        }
        for i in 0..d {
            for j in 0..d {
                c[i * d + j] -= mean[i] * mean[j];
            }
        }
        c
    }
    fn marginal_cdf(&self, i: usize, x: f64) -> Option<f64> {
        if i >= self.dim {
            return None;
        }
        let d = self.dim;
        let mut p = 0.0;
        for (k, &w) in self.w.iter().enumerate() {
            let n = Normal::new(
                self.means[k * d + i].to_f64(),
                self.vars[k * d + i].to_f64().sqrt(),
            )
            .ok()?;
            p += w * n.cdf(x);
        }
        Some(p)
    }
}

impl<T: Real> ExactSample for GaussianMixture<T> {
    fn sample_into<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut [T]) {
        let u: f64 = rng.random();
        let mut acc = 0.0;
        let mut k = self.w.len() - 1;
        for (j, &w) in self.w.iter().enumerate() {
            acc += w;
            if u < acc {
                k = j;
                break;
            }
        }
        let d = self.dim;
        for i in 0..d {
            out[i] = self.means[k * d + i] + self.vars[k * d + i].sqrt() * T::standard_normal(rng);
        }
    }
}
