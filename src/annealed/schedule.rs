//! Noise schedules: geometric and Karras σ levels, linear and cosine β(t).

#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::{Error, Real, Result};

/// A validated sequence of noise levels `σ_1 > σ_2 > … > σ_L > 0` (strictly decreasing,
/// finite, positive), as used by annealed Langevin dynamics (Song & Ermon 2019) and by
/// Karras-style samplers.
///
/// | constructor | levels |
/// |---|---|
/// | [`SigmaLevels::geometric`] | `σ_i = σ_max (σ_min/σ_max)^((i−1)/(L−1))` (NCSN: 1 → 0.01, L = 10) |
/// | [`SigmaLevels::karras`] | `σ_i = (σ_max^(1/ρ) + (i−1)/(L−1) (σ_min^(1/ρ) − σ_max^(1/ρ)))^ρ`, ρ = 7 (Karras et al. 2022, eq. 5) |
/// | [`SigmaLevels::new`] | any user list, validated |
///
/// ```
/// use langevin::annealed::SigmaLevels;
/// let s = SigmaLevels::<f64>::geometric(1.0, 0.01, 10)?;
/// assert_eq!(s.len(), 10);
/// assert!((s.as_slice()[9] - 0.01).abs() < 1e-15);
/// assert!(SigmaLevels::<f64>::new(vec![1.0, 1.0]).is_err());   // not strictly decreasing
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * Y. Song, S. Ermon (2019), Generative modeling by estimating gradients of the data
///   distribution, *NeurIPS*.
/// * T. Karras, M. Aittala, T. Aila, S. Laine (2022), Elucidating the design space of
///   diffusion-based generative models, *NeurIPS*.
#[derive(Debug, Clone, PartialEq)]
pub struct SigmaLevels<T> {
    sigmas: Vec<T>,
}

impl<T: Real> SigmaLevels<T> {
    /// Validates a user-given list of levels.
    ///
    /// # Errors
    /// [`Error::ZeroCount`] for an empty list; [`Error::InvalidSchedule`] if a level is not
    /// finite and positive or the list is not strictly decreasing.
    pub fn new(sigmas: Vec<T>) -> Result<Self> {
        if sigmas.is_empty() {
            return Err(Error::ZeroCount {
                what: "noise levels",
            });
        }
        for (i, &s) in sigmas.iter().enumerate() {
            if !(s.finite() && s > T::zero()) {
                return Err(Error::InvalidSchedule {
                    reason: format!("σ[{i}] = {s} must be finite and > 0"),
                });
            }
            if i > 0 && !(s < sigmas[i - 1]) {
                return Err(Error::InvalidSchedule {
                    reason: format!(
                        "noise levels must be strictly decreasing, but σ[{i}] = {s} ≥ σ[{}] = {}; \
                         list them from the largest to the smallest",
                        i - 1,
                        sigmas[i - 1]
                    ),
                });
            }
        }
        Ok(Self { sigmas })
    }

    /// `levels` geometrically spaced levels from `sigma_max` down to `sigma_min` (both
    /// included). With one level, `sigma_max` must equal `sigma_min`.
    ///
    /// # Errors
    /// [`Error::ZeroCount`] if `levels == 0`; [`Error::InvalidSchedule`] unless
    /// `sigma_max > sigma_min > 0` (or both equal with one level).
    pub fn geometric(sigma_max: T, sigma_min: T, levels: usize) -> Result<Self> {
        Self::check_range(sigma_max, sigma_min, levels)?;
        if levels == 1 {
            return Self::new(vec![sigma_max]);
        }
        let (a, b) = (sigma_max.to_f64(), sigma_min.to_f64());
        let r = (b / a).ln();
        let mut s: Vec<T> = (0..levels)
            .map(|i| T::c(a * (r * i as f64 / (levels - 1) as f64).exp()))
            .collect();
        s[0] = sigma_max;
        s[levels - 1] = sigma_min;
        Self::new(s)
    }

    /// The Karras et al. (2022) levels with exponent `rho` (they recommend ρ = 7), which
    /// spend more levels at small σ than a geometric ladder.
    ///
    /// # Errors
    /// As [`SigmaLevels::geometric`], plus [`Error::InvalidParameter`] unless `rho` is finite
    /// and positive.
    pub fn karras(sigma_max: T, sigma_min: T, levels: usize, rho: f64) -> Result<Self> {
        if !(rho.is_finite() && rho > 0.0) {
            return Err(Error::InvalidParameter {
                name: "rho",
                value: rho,
                expected: "finite and > 0 (Karras et al. use 7)",
            });
        }
        Self::check_range(sigma_max, sigma_min, levels)?;
        if levels == 1 {
            return Self::new(vec![sigma_max]);
        }
        let (a, b) = (
            sigma_max.to_f64().powf(1.0 / rho),
            sigma_min.to_f64().powf(1.0 / rho),
        );
        let mut s: Vec<T> = (0..levels)
            .map(|i| {
                let u = i as f64 / (levels - 1) as f64;
                T::c((a + u * (b - a)).powf(rho))
            })
            .collect();
        s[0] = sigma_max;
        s[levels - 1] = sigma_min;
        Self::new(s)
    }

    fn check_range(sigma_max: T, sigma_min: T, levels: usize) -> Result<()> {
        if levels == 0 {
            return Err(Error::ZeroCount {
                what: "noise levels",
            });
        }
        let ok = sigma_min.finite()
            && sigma_max.finite()
            && sigma_min > T::zero()
            && (sigma_max > sigma_min || (levels == 1 && sigma_max == sigma_min));
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidSchedule {
                reason: format!(
                    "need σ_max > σ_min > 0 (finite), got σ_max = {sigma_max}, σ_min = {sigma_min}"
                ),
            })
        }
    }

    /// The levels, largest first.
    pub fn as_slice(&self) -> &[T] {
        &self.sigmas
    }
    /// The number of levels L.
    pub fn len(&self) -> usize {
        self.sigmas.len()
    }
    /// Always `false` (a validated schedule has at least one level).
    pub fn is_empty(&self) -> bool {
        self.sigmas.is_empty()
    }
    /// The largest level σ_1.
    pub fn sigma_max(&self) -> T {
        self.sigmas[0]
    }
    /// The smallest level σ_L.
    pub fn sigma_min(&self) -> T {
        self.sigmas[self.sigmas.len() - 1]
    }
}

/// A noise-rate schedule β(t) on t ∈ [0, 1] for the VP and sub-VP SDEs, with its integral
/// `B(t) = ∫₀ᵗ β(s) ds` in closed form, so that the VP mean coefficient is
/// `α_t = exp(−B(t)/2)` exactly.
///
/// | schedule | β(t) | B(t) |
/// |---|---|---|
/// | `Linear` (Ho et al. 2020; Song et al. 2021) | `β₀ + t (β₁ − β₀)` (defaults 0.1, 20) | `β₀ t + ½ t² (β₁ − β₀)` |
/// | `Cosine` (Nichol & Dhariwal 2021) | `min(β_c(t), β_clip)` with `β_c = π/(1+s) · tan(π/2 · (t+s)/(1+s))` | `−ln ᾱ(t)` with `ᾱ(t) = cos²(π/2·(t+s)/(1+s)) / cos²(π/2·s/(1+s))` until the clip, linear after |
///
/// The cosine β diverges at t = 1 (ᾱ(1) = 0), so it is clipped at `β_clip` (the continuous
/// analogue of Nichol & Dhariwal's clip of the discrete β at 0.999); B(t) integrates the
/// clipped β exactly, so α_t stays consistent with the drift.
///
/// ```
/// use langevin::annealed::BetaSchedule;
/// let lin = BetaSchedule::linear(0.1, 20.0)?;
/// assert!((lin.integral(1.0) - 10.05).abs() < 1e-12);
/// let cos = BetaSchedule::cosine(0.008, 20.0)?;
/// assert!(cos.beta(0.5) > 0.0 && cos.beta(1.0) == 20.0);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * J. Ho, A. Jain, P. Abbeel (2020), Denoising diffusion probabilistic models, *NeurIPS*.
/// * A. Nichol, P. Dhariwal (2021), Improved denoising diffusion probabilistic models, *ICML*.
/// * Y. Song, J. Sohl-Dickstein, D. P. Kingma, A. Kumar, S. Ermon, B. Poole (2021),
///   Score-based generative modeling through stochastic differential equations, *ICLR*.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BetaSchedule {
    /// `β(t) = beta_min + t (beta_max − beta_min)`.
    Linear {
        /// β(0).
        beta_min: f64,
        /// β(1).
        beta_max: f64,
    },
    /// The cosine schedule with offset `s` (0.008), β clipped at `clip`.
    Cosine {
        /// The offset s.
        s: f64,
        /// The largest β (the clip).
        clip: f64,
        /// The time where `β_c(t) = clip` (precomputed).
        t_clip: f64,
    },
}

impl BetaSchedule {
    /// The linear schedule; Song et al. (2021) use `(0.1, 20)`.
    ///
    /// # Errors
    /// [`Error::InvalidSchedule`] unless `0 ≤ beta_min ≤ beta_max`, `beta_max > 0`, finite.
    pub fn linear(beta_min: f64, beta_max: f64) -> Result<Self> {
        let ok = beta_min.is_finite()
            && beta_max.is_finite()
            && beta_min >= 0.0
            && beta_max >= beta_min
            && beta_max > 0.0;
        if !ok {
            return Err(Error::InvalidSchedule {
                reason: format!(
                    "linear β needs finite 0 ≤ β_min ≤ β_max with β_max > 0, got ({beta_min}, {beta_max}); \
                     Song et al. (2021) use (0.1, 20)"
                ),
            });
        }
        Ok(Self::Linear { beta_min, beta_max })
    }

    /// The cosine schedule of Nichol & Dhariwal (2021) with offset `s` (they use 0.008) and
    /// β clipped at `clip` (e.g. 20).
    ///
    /// # Errors
    /// [`Error::InvalidSchedule`] unless `s > 0` and `clip > β_c(0)` are finite.
    pub fn cosine(s: f64, clip: f64) -> Result<Self> {
        let half_pi = core::f64::consts::FRAC_PI_2;
        if !(s.is_finite() && s > 0.0 && clip.is_finite()) {
            return Err(Error::InvalidSchedule {
                reason: format!(
                    "cosine schedule needs finite s > 0 and a finite clip, got s = {s}, clip = {clip}"
                ),
            });
        }
        let c = core::f64::consts::PI / (1.0 + s);
        let b0 = c * (half_pi * s / (1.0 + s)).tan();
        if !(clip > b0) {
            return Err(Error::InvalidSchedule {
                reason: format!("cosine clip {clip} must exceed β(0) = {b0}"),
            });
        }
        // β_c(t) = clip ⇔ tan(π/2 (t+s)/(1+s)) = clip / c.
        let t_clip = ((clip / c).atan() / half_pi * (1.0 + s) - s).min(1.0);
        Ok(Self::Cosine { s, clip, t_clip })
    }

    /// β(t).
    pub fn beta(&self, t: f64) -> f64 {
        match *self {
            Self::Linear { beta_min, beta_max } => beta_min + t * (beta_max - beta_min),
            Self::Cosine { s, clip, t_clip } => {
                if t >= t_clip {
                    clip
                } else {
                    let c = core::f64::consts::PI / (1.0 + s);
                    c * (core::f64::consts::FRAC_PI_2 * (t + s) / (1.0 + s)).tan()
                }
            }
        }
    }

    /// `B(t) = ∫₀ᵗ β(u) du`.
    pub fn integral(&self, t: f64) -> f64 {
        match *self {
            Self::Linear { beta_min, beta_max } => {
                beta_min * t + 0.5 * t * t * (beta_max - beta_min)
            }
            Self::Cosine { s, clip, t_clip } => {
                let half_pi = core::f64::consts::FRAC_PI_2;
                let lcos = |u: f64| (half_pi * (u + s) / (1.0 + s)).cos().ln();
                let tt = t.min(t_clip);
                // −ln ᾱ(t) = −2 ln cos(·)(t) + 2 ln cos(·)(0)
                let b = -2.0 * (lcos(tt) - lcos(0.0));
                if t > t_clip {
                    b + clip * (t - t_clip)
                } else {
                    b
                }
            }
        }
    }
}
