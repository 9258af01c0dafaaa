use super::{NoiseKind, Sde};
use crate::density::{Score, Target};
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::{Error, Real, Result};

/// Underdamped (kinetic) Langevin dynamics as a 2d-dimensional [`Sde`] on `z = (x, v)`:
///
/// ```text
/// dX = M⁻¹ V dt
/// dV = ∇log p(X) dt − γ V dt + sqrt(2γ) M^{1/2} dW        stationary law p(x) N(v; 0, M)
/// ```
///
/// with friction `γ ≥ 0` and a diagonal mass `M`. The noise is [`NoiseKind::Diagonal`] with
/// coefficients `0` on the x block and `sqrt(2γ m_i)` on the v block, so any generic
/// integrator (e.g. [`crate::EulerMaruyama`]) runs on it; the state is `[x₁…x_d, v₁…v_d]`.
/// For sampling prefer the splittings [`crate::integrators::Baoab`] and
/// [`crate::integrators::Obabo`], which integrate the O part exactly and keep BAOAB's exact
/// configurational law on Gaussians.
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::sde::UnderdampedLangevinSde;
/// use langevin::targets::Gaussian;
/// let sde = UnderdampedLangevinSde::new(Gaussian::<f64>::standard(1)?, 2.0)?;
/// assert_eq!(sde.dim(), 2);
/// let mut f = [0.0; 2];
/// sde.drift_into(0.0, &[1.0, 0.5], &mut f);
/// assert_eq!(f, [0.5, -1.0 - 2.0 * 0.5]);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * B. Leimkuhler, C. Matthews (2015), *Molecular Dynamics*, Springer, ch. 6–7.
#[derive(Debug, Clone)]
pub struct UnderdampedLangevinSde<P: Target> {
    target: P,
    gamma: P::Scalar,
    inv_mass: Vec<P::Scalar>,
    noise: Vec<P::Scalar>,
}

impl<P: Score> UnderdampedLangevinSde<P> {
    /// Unit mass, friction `gamma ≥ 0`.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`]; [`Error::InvalidParameter`] unless `gamma` is finite and ≥ 0.
    pub fn new(target: P, gamma: P::Scalar) -> Result<Self> {
        let d = target.dim();
        Self::with_mass(target, gamma, vec![P::Scalar::one(); d])
    }

    /// Diagonal mass `mass` (entries finite and > 0), friction `gamma ≥ 0`.
    ///
    /// # Errors
    /// As [`UnderdampedLangevinSde::new`], plus [`Error::DimensionMismatch`] /
    /// [`Error::NonFiniteInput`] for a bad mass diagonal.
    pub fn with_mass(target: P, gamma: P::Scalar, mass: Vec<P::Scalar>) -> Result<Self> {
        let d = target.dim();
        if d == 0 {
            return Err(Error::ZeroDimension { what: "target" });
        }
        let g = gamma.to_f64();
        if !(g.is_finite() && g >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "friction gamma",
                value: g,
                expected: "a finite friction γ ≥ 0",
            });
        }
        crate::error::check_len("mass diagonal", d, mass.len())?;
        if let Some(index) = mass
            .iter()
            .position(|m| !(m.finite() && *m > P::Scalar::zero()))
        {
            return Err(Error::NonFiniteInput {
                what: "mass diagonal (entries must be finite and > 0)",
                index,
            });
        }
        let two_g = P::Scalar::c(2.0) * gamma;
        let mut noise = vec![P::Scalar::zero(); 2 * d];
        for (n, &m) in noise[d..].iter_mut().zip(&mass) {
            *n = (two_g * m).sqrt();
        }
        Ok(Self {
            target,
            gamma,
            inv_mass: mass.iter().map(|m| m.recip()).collect(),
            noise,
        })
    }

    /// The target.
    pub fn target(&self) -> &P {
        &self.target
    }
    /// The friction γ.
    pub fn friction(&self) -> P::Scalar {
        self.gamma
    }
}

impl<P: Target> Target for UnderdampedLangevinSde<P> {
    type Scalar = P::Scalar;
    fn dim(&self) -> usize {
        2 * self.target.dim()
    }
}

impl<P: Score> Sde for UnderdampedLangevinSde<P> {
    fn noise_kind(&self) -> NoiseKind {
        NoiseKind::Diagonal
    }
    fn drift_into(&self, _t: P::Scalar, z: &[P::Scalar], out: &mut [P::Scalar]) {
        let d = self.target.dim();
        let (x, v) = z.split_at(d);
        let (fx, fv) = out.split_at_mut(d);
        for ((o, &vi), &im) in fx.iter_mut().zip(v).zip(&self.inv_mass) {
            *o = im * vi;
        }
        self.target.score_into(x, fv);
        for (o, &vi) in fv.iter_mut().zip(v) {
            *o -= self.gamma * vi;
        }
    }
    fn diffusion_into(&self, _t: P::Scalar, _z: &[P::Scalar], out: &mut [P::Scalar]) {
        out.copy_from_slice(&self.noise);
    }
    fn diffusion_derivative_into(
        &self,
        _t: P::Scalar,
        _z: &[P::Scalar],
        out: &mut [P::Scalar],
    ) -> bool {
        for o in out.iter_mut() {
            *o = P::Scalar::zero();
        }
        true
    }
}
