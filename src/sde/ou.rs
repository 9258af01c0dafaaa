use super::brownian::BrownianPath;
use super::{NoiseKind, Sde};
use crate::density::Target;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::{Error, Real, Result};
use rand::Rng;

/// The d-dimensional isotropic Ornstein–Uhlenbeck process
///
/// ```text
/// dX_t = −θ (X_t − μ) dt + σ dW_t,        θ > 0, σ > 0, μ ∈ ℝᵈ
/// ```
///
/// with independent coordinates and scalar (hence additive) noise. Its transition law is
/// Gaussian and known exactly (Kloeden & Platen 1992, §4.4):
///
/// ```text
/// X_{t+Δ} | X_t ~ N( μ + (X_t − μ) e^{−θΔ},  σ² (1 − e^{−2θΔ}) / (2θ) · I )
/// stationary law  N(μ, σ²/(2θ) I)
/// ```
///
/// Euler–Maruyama with step `h` is the linear recursion `y' = a y + σ ΔW`, `a = 1 − θh`,
/// `y = x − μ`, whose moments after `K` steps are also exact:
///
/// ```text
/// E[X_K] = μ + a^K (x₀ − μ)        Var[X_K] = σ² h (1 − a^{2K}) / (1 − a²)
/// EM stationary variance (σ²/(2θ)) / (1 − θh/2),  stable iff 0 < θh < 2
/// ```
///
/// Because the noise is additive, Euler–Maruyama has strong order 1 on it (not ½).
///
/// # Example
/// ```
/// use langevin::sde::OrnsteinUhlenbeck;
/// let ou = OrnsteinUhlenbeck::new(vec![1.0, -1.0], 2.0, 0.5)?;
/// let (m, v) = ou.em_moments(3.0, 0, 0.1, 10);
/// assert!((m - (1.0 + 0.8f64.powi(10) * 2.0)).abs() < 1e-12);
/// assert!(v > 0.0 && v < ou.em_stationary_variance(0.1).unwrap());
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct OrnsteinUhlenbeck<T> {
    theta: T,
    sigma: T,
    mu: Vec<T>,
}

impl<T: Real> OrnsteinUhlenbeck<T> {
    /// The OU process with mean `mu` (its length is the dimension), rate `theta > 0` and
    /// noise `sigma > 0`.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] for an empty `mu`, [`Error::NonFiniteInput`] for a
    /// non-finite mean, [`Error::InvalidParameter`] unless `theta` and `sigma` are finite
    /// and positive.
    pub fn new(mu: Vec<T>, theta: T, sigma: T) -> Result<Self> {
        if mu.is_empty() {
            return Err(Error::ZeroDimension {
                what: "Ornstein–Uhlenbeck mean",
            });
        }
        crate::error::check_finite("Ornstein–Uhlenbeck mean", &mu)?;
        for (name, v) in [("theta", theta), ("sigma", sigma)] {
            let f = v.to_f64();
            if !(f.is_finite() && f > 0.0) {
                return Err(Error::InvalidParameter {
                    name,
                    value: f,
                    expected: "a finite value > 0",
                });
            }
        }
        Ok(Self { theta, sigma, mu })
    }

    /// The mean-reversion rate θ.
    pub fn theta(&self) -> T {
        self.theta
    }
    /// The noise coefficient σ.
    pub fn sigma(&self) -> T {
        self.sigma
    }
    /// The long-run mean μ.
    pub fn mu(&self) -> &[T] {
        &self.mu
    }

    /// The stationary variance σ²/(2θ) of every coordinate.
    pub fn stationary_variance(&self) -> f64 {
        let (th, s) = (self.theta.to_f64(), self.sigma.to_f64());
        s * s / (2.0 * th)
    }

    /// The exact transition mean `μ + (x − μ) e^{−θΔ}` written into `out`.
    pub fn transition_mean_into(&self, x: &[T], dt: T, out: &mut [T]) {
        let e = (-self.theta * dt).exp();
        for ((o, &xi), &m) in out.iter_mut().zip(x).zip(&self.mu) {
            *o = m + (xi - m) * e;
        }
    }

    /// The exact transition variance `σ² (1 − e^{−2θΔ}) / (2θ)` (every coordinate).
    pub fn transition_variance(&self, dt: T) -> T {
        let two = T::c(2.0);
        let s2 = self.sigma * self.sigma;
        // −expm1(−2θΔ) without cancellation for small Δ.
        let e = (-two * self.theta * dt).exp_m1();
        -s2 * e / (two * self.theta)
    }

    /// Draws `X_{t+Δ}` given `X_t = x` exactly into `out`.
    pub fn sample_transition<R: Rng + ?Sized>(&self, x: &[T], dt: T, rng: &mut R, out: &mut [T]) {
        self.transition_mean_into(x, dt, out);
        let sd = self.transition_variance(dt).sqrt();
        for o in out.iter_mut() {
            *o += sd * T::standard_normal(rng);
        }
    }

    /// Exact mean and variance of coordinate `i` after `k` Euler–Maruyama steps of size `h`
    /// from `x₀` (see the type docs): `(μ + a^k (x₀ − μ), σ² h (1 − a^{2k})/(1 − a²))`,
    /// `a = 1 − θh` (variance `σ² h k` when `a² = 1`). An index `i ≥ d` is clamped to `d − 1`.
    pub fn em_moments(&self, x0: f64, i: usize, h: f64, k: u32) -> (f64, f64) {
        let (th, s, m) = (
            self.theta.to_f64(),
            self.sigma.to_f64(),
            self.mu[i.min(self.mu.len() - 1)].to_f64(),
        );
        let a = 1.0 - th * h;
        let ak = a.powi(k as i32);
        let mean = m + ak * (x0 - m);
        let one_m_a2 = 1.0 - a * a;
        let var = if one_m_a2.abs() < 1e-300 {
            s * s * h * k as f64
        } else {
            s * s * h * (1.0 - ak * ak) / one_m_a2
        };
        (mean, var)
    }

    /// The stationary variance `(σ²/(2θ)) / (1 − θh/2)` of Euler–Maruyama with step `h`;
    /// `None` when the recursion is unstable (`θh ≥ 2` or `h ≤ 0`).
    pub fn em_stationary_variance(&self, h: f64) -> Option<f64> {
        let th = self.theta.to_f64();
        if h > 0.0 && th * h < 2.0 {
            Some(self.stationary_variance() / (1.0 - th * h / 2.0))
        } else {
            None
        }
    }

    /// The solution `X(t₀ + nδ)` on a replayed Brownian path (for strong-error references):
    ///
    /// ```text
    /// X(T) = μ + e^{−θT}(x₀ − μ) + σ ∫ e^{−θ(T−s)} dW_s,
    /// ∫_{s_j}^{s_j+δ} e^{θ(s−s_j)} dW_s ≈ ΔW_j + θ (δ ΔW_j − ΔZ_j)
    /// ```
    ///
    /// summed over the path's fine steps. With the path's `ΔZ` (see
    /// [`BrownianPath::with_area`]) the L² error is O(δ²); without it `ΔZ_j` is replaced by
    /// its conditional mean `δ ΔW_j / 2` and the error is O(δ). The path's noise
    /// dimension must equal the OU dimension (`out` and `x0` have length d); extra entries
    /// of any of them are ignored.
    pub fn solve_on_path(&self, x0: &[T], path: &BrownianPath<T>, out: &mut [T]) {
        let dt = path.fine_step();
        let n = path.fine_steps();
        let total = dt * T::c(n as f64);
        let th = self.theta;
        let half = T::c(0.5);
        // out accumulates ∫ e^{−θ(T−s)} dW_s; the weight of fine step j is shared by all
        // coordinates, so it is computed once per step.
        for o in out.iter_mut() {
            *o = T::zero();
        }
        for j in 0..n {
            let w = (-th * (total - dt * T::c(j as f64))).exp();
            let fz = path.fine_dz(j);
            for (i, (o, &dw)) in out.iter_mut().zip(path.fine_dw(j)).enumerate() {
                let dz = fz.map_or(half * dt * dw, |z| z[i]);
                *o += w * (dw + th * (dt * dw - dz));
            }
        }
        let e = (-th * total).exp();
        for ((o, &x), &m) in out.iter_mut().zip(x0).zip(&self.mu) {
            *o = m + e * (x - m) + self.sigma * *o;
        }
    }
}

impl<T: Real> Target for OrnsteinUhlenbeck<T> {
    type Scalar = T;
    fn dim(&self) -> usize {
        self.mu.len()
    }
}

impl<T: Real> Sde for OrnsteinUhlenbeck<T> {
    fn noise_kind(&self) -> NoiseKind {
        NoiseKind::Scalar
    }
    #[inline]
    fn drift_into(&self, _t: T, x: &[T], out: &mut [T]) {
        for ((o, &xi), &m) in out.iter_mut().zip(x).zip(&self.mu) {
            *o = -self.theta * (xi - m);
        }
    }
    #[inline]
    fn diffusion_into(&self, _t: T, _x: &[T], out: &mut [T]) {
        out[0] = self.sigma;
    }
    fn diffusion_derivative_into(&self, _t: T, _x: &[T], out: &mut [T]) -> bool {
        for o in out.iter_mut() {
            *o = T::zero();
        }
        true
    }
}
