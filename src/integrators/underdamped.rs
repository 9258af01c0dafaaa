//! BAOAB and OBABO splittings of underdamped (kinetic) Langevin dynamics.

use crate::density::{Score, Target};
use crate::error::{check_len, check_positive};
use crate::mcmc::{Kernel, StepInfo};
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::{Error, Real, Result};
use rand::Rng;

/// B: the momentum kick `v ← v + τ ∇log p(x)` (`g` the cached score). Shared by the
/// splittings here and by [`crate::mcmc::Malt`].
#[inline]
pub(crate) fn kick<T: Real>(v: &mut [T], g: &[T], tau: T) {
    for (v, &g) in v.iter_mut().zip(g) {
        *v += tau * g;
    }
}

/// A: the position drift `x ← x + τ M⁻¹ v` (diagonal `M`, given as `1/M`).
#[inline]
pub(crate) fn drift<T: Real>(x: &mut [T], v: &[T], inv_mass: &[T], tau: T) {
    for ((x, &v), &im) in x.iter_mut().zip(v).zip(inv_mass) {
        *x += tau * im * v;
    }
}

/// Shared configuration of the two splittings.
#[derive(Debug, Clone)]
struct Config<P: Target> {
    target: P,
    h: P::Scalar,
    gamma: P::Scalar,
    /// Diagonal mass M.
    mass: Vec<P::Scalar>,
    /// 1/M.
    inv_mass: Vec<P::Scalar>,
    /// sqrt(M (1 − c²)) with c the O-step contraction.
    o_scale: Vec<P::Scalar>,
    /// The O-step contraction exp(−γ τ) (τ = h for BAOAB, h/2 for OBABO).
    c: P::Scalar,
    /// How `init` sets v.
    velocity: InitialVelocity<P::Scalar>,
}

/// How the underdamped kernels ([`Baoab`], [`Obabo`]) start the velocity variable v of a
/// chain; set with `with_initial_velocity`.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub enum InitialVelocity<T> {
    /// The default: a draw from the stationary law N(0, M), `v_j = sqrt(M_j) ξ_j`, taken at
    /// the chain's first [`Kernel::step`] from the **first d standard normals of the chain's
    /// transition stream** (for [`crate::run::Sampler`]: `crate::rng::stream(seed, chain)`),
    /// so runs stay bit-reproducible and no extra stream is needed. The deterministic
    /// [`Baoab::step_with_noise`] / [`Obabo::step_with_noise`] do not draw it: their v
    /// starts at 0 unless set with `velocity_mut`. Setting v through
    /// [`UnderdampedState::velocity_mut`] before the first step cancels the draw.
    #[default]
    Gaussian,
    /// v = 0 (the behaviour of langevin 0.1).
    Zero,
    /// Chain `c` starts at `velocities[c]` (each of length d, finite).
    Given(Vec<Vec<T>>),
}

impl<P: Score> Config<P> {
    fn new(target: P, h: P::Scalar, gamma: P::Scalar, o_fraction: f64) -> Result<Self> {
        check_positive("step size h", h.to_f64())?;
        let g = gamma.to_f64();
        if !(g.is_finite() && g >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "friction gamma",
                value: g,
                expected: "a finite friction γ ≥ 0",
            });
        }
        let d = target.dim();
        if d == 0 {
            return Err(Error::ZeroDimension { what: "target" });
        }
        let mut cfg = Self {
            target,
            h,
            gamma,
            mass: vec![P::Scalar::one(); d],
            inv_mass: vec![P::Scalar::one(); d],
            o_scale: vec![P::Scalar::zero(); d],
            c: (-gamma * h * P::Scalar::c(o_fraction)).exp(),
            velocity: InitialVelocity::Gaussian,
        };
        cfg.refresh();
        Ok(cfg)
    }

    fn refresh(&mut self) {
        let one_m_c2 = P::Scalar::one() - self.c * self.c;
        for ((o, &m), im) in self
            .o_scale
            .iter_mut()
            .zip(&self.mass)
            .zip(self.inv_mass.iter_mut())
        {
            *o = (m * one_m_c2).sqrt();
            *im = m.recip();
        }
    }

    fn set_mass(&mut self, mass: Vec<P::Scalar>) -> Result<()> {
        check_len("mass diagonal", self.target.dim(), mass.len())?;
        for (i, &m) in mass.iter().enumerate() {
            let f = m.to_f64();
            if !(f.is_finite() && f > 0.0) {
                return Err(Error::NonFiniteInput {
                    what: "mass diagonal (entries must be finite and > 0)",
                    index: i,
                });
            }
        }
        self.mass = mass;
        self.refresh();
        Ok(())
    }

    fn set_velocity(&mut self, velocity: InitialVelocity<P::Scalar>) -> Result<()> {
        if let InitialVelocity::Given(vs) = &velocity {
            let d = self.target.dim();
            for v in vs {
                check_len("initial velocity of a chain", d, v.len())?;
                if let Some(i) = v.iter().position(|x| !x.to_f64().is_finite()) {
                    return Err(Error::NonFiniteInput {
                        what: "initial velocity (entries must be finite)",
                        index: i,
                    });
                }
            }
        }
        self.velocity = velocity;
        Ok(())
    }

    fn init(
        &self,
        x0: &[P::Scalar],
        chain: usize,
        noise: usize,
    ) -> Result<UnderdampedState<P::Scalar>> {
        let d = self.target.dim();
        crate::mcmc::check_x0(x0, d, chain)?;
        let mut score = vec![P::Scalar::zero(); d];
        self.target.score_into(x0, &mut score);
        crate::mcmc::check_score_at_x0(&score, chain)?;
        let (v, draw_velocity) = match &self.velocity {
            InitialVelocity::Gaussian => (vec![P::Scalar::zero(); d], true),
            InitialVelocity::Zero => (vec![P::Scalar::zero(); d], false),
            InitialVelocity::Given(vs) => match vs.get(chain) {
                Some(v) => (v.clone(), false),
                None => {
                    return Err(Error::InvalidInitialState {
                        chain,
                        reason: format!(
                            "InitialVelocity::Given holds {} velocities; give one per chain",
                            vs.len()
                        ),
                    });
                }
            },
        };
        Ok(UnderdampedState {
            x: x0.to_vec(),
            v,
            draw_velocity,
            score,
            noise: vec![P::Scalar::zero(); noise * d],
            chain,
            step: 0,
        })
    }

    #[inline]
    fn b(&self, s: &mut UnderdampedState<P::Scalar>) {
        kick(&mut s.v, &s.score, P::Scalar::c(0.5) * self.h);
    }
    #[inline]
    fn a(&self, s: &mut UnderdampedState<P::Scalar>, tau: P::Scalar) {
        drift(&mut s.x, &s.v, &self.inv_mass, tau);
    }
    #[inline]
    fn o(&self, v: &mut [P::Scalar], xi: &[P::Scalar]) {
        for ((v, &z), &sc) in v.iter_mut().zip(xi).zip(&self.o_scale) {
            *v = self.c * *v + sc * z;
        }
    }
    #[inline]
    fn rescore(&self, s: &mut UnderdampedState<P::Scalar>) {
        self.target.score_into(&s.x, &mut s.score);
    }
    /// Checks the caller's noise (`blocks` · d standard normals) and state dimensions.
    fn check_noise(
        &self,
        s: &UnderdampedState<P::Scalar>,
        xi: &[P::Scalar],
        blocks: usize,
    ) -> Result<()> {
        let d = self.target.dim();
        check_len("state of an underdamped kernel", d, s.x.len())?;
        check_len("standard normals ξ of one step", blocks * d, xi.len())
    }
    fn finish(&self, s: &mut UnderdampedState<P::Scalar>) -> Result<()> {
        let step = s.step;
        s.step += 1;
        crate::mcmc::unadjusted_step_result(&s.x, s.chain, step)?;
        crate::mcmc::unadjusted_step_result(&s.v, s.chain, step)?;
        Ok(())
    }
}

/// Per-chain state of [`Baoab`] and [`Obabo`]: position x, the variable v of the SDE in
/// [`Baoab`] (a momentum: `dX = M⁻¹V dt`, stationary law N(0, M)), the cached score at x, a
/// noise buffer, and the step counter.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "checkpoint", derive(serde::Serialize, serde::Deserialize))]
pub struct UnderdampedState<T> {
    x: Vec<T>,
    v: Vec<T>,
    /// v is still to be drawn from N(0, M) at the first `Kernel::step`.
    draw_velocity: bool,
    score: Vec<T>,
    noise: Vec<T>,
    chain: usize,
    step: usize,
}

impl<T: Real> UnderdampedState<T> {
    /// The position x.
    pub fn position(&self) -> &[T] {
        &self.x
    }
    /// The velocity variable v (stationary law N(0, M)).
    pub fn velocity(&self) -> &[T] {
        &self.v
    }
    /// Mutable access to v, e.g. to set a start of your own; calling it before the first
    /// step cancels the default draw of v from N(0, M) (see [`InitialVelocity`]).
    pub fn velocity_mut(&mut self) -> &mut [T] {
        self.draw_velocity = false;
        &mut self.v
    }
    /// The cached score ∇log p(x).
    pub fn score(&self) -> &[T] {
        &self.score
    }
    /// Transitions taken so far.
    pub fn steps(&self) -> usize {
        self.step
    }
}

macro_rules! kernel_common {
    ($name:ident, $noise:expr) => {
        impl<P: Score> $name<P> {
            /// Sets a diagonal mass matrix M (entries finite and > 0); the default is I.
            ///
            /// # Errors
            /// [`Error::DimensionMismatch`] or [`Error::NonFiniteInput`] for a bad diagonal.
            pub fn with_mass(mut self, mass: Vec<P::Scalar>) -> Result<Self> {
                self.cfg.set_mass(mass)?;
                Ok(self)
            }
            /// How each chain's velocity starts (default [`InitialVelocity::Gaussian`], a
            /// draw from N(0, M)).
            ///
            /// # Errors
            /// [`Error::DimensionMismatch`] or [`Error::NonFiniteInput`] for a given
            /// velocity of the wrong length or with non-finite entries (a missing chain is
            /// reported by `init` as [`Error::InvalidInitialState`]).
            pub fn with_initial_velocity(
                mut self,
                velocity: InitialVelocity<P::Scalar>,
            ) -> Result<Self> {
                self.cfg.set_velocity(velocity)?;
                Ok(self)
            }
            /// The step size h.
            pub fn step_size(&self) -> P::Scalar {
                self.cfg.h
            }
            /// The friction γ.
            pub fn friction(&self) -> P::Scalar {
                self.cfg.gamma
            }
            /// The diagonal of the mass matrix M.
            pub fn mass(&self) -> &[P::Scalar] {
                &self.cfg.mass
            }
            /// The target.
            pub fn target(&self) -> &P {
                &self.cfg.target
            }
            /// The number of standard normals one step consumes (`d` or `2d`).
            pub fn noise_len(&self) -> usize {
                $noise * self.cfg.target.dim()
            }
        }

        impl<P: Score + Sync> Kernel for $name<P> {
            type Scalar = P::Scalar;
            type State = UnderdampedState<P::Scalar>;
            fn dim(&self) -> usize {
                self.cfg.target.dim()
            }
            fn init(&self, x0: &[P::Scalar], chain: usize) -> Result<Self::State> {
                self.cfg.init(x0, chain, $noise)
            }
            fn step<R: Rng + ?Sized>(
                &self,
                state: &mut Self::State,
                rng: &mut R,
            ) -> Result<StepInfo> {
                if state.draw_velocity {
                    // v ~ N(0, M) from the first d normals of the transition stream.
                    state.draw_velocity = false;
                    crate::real::fill_standard_normal(rng, &mut state.v);
                    for (v, &m) in state.v.iter_mut().zip(&self.cfg.mass) {
                        *v *= m.sqrt();
                    }
                }
                let mut noise = core::mem::take(&mut state.noise);
                crate::real::fill_standard_normal(rng, &mut noise);
                let out = self.step_with_noise(state, &noise);
                state.noise = noise;
                out.map(|()| StepInfo::UNADJUSTED)
            }
            fn position<'a>(&self, state: &'a Self::State) -> &'a [P::Scalar] {
                &state.x
            }
        }
    };
}

/// The BAOAB splitting of underdamped (kinetic) Langevin dynamics (Leimkuhler & Matthews
/// 2013, 2015):
///
/// ```text
/// dX = M⁻¹ V dt,     dV = ∇log p(X) dt − γ V dt + sqrt(2γ) M^{1/2} dW
/// stationary law  p(x) · N(v; 0, M)
/// ```
///
/// One step of size h (one score evaluation, cached in the state), `c = e^{−γh}`:
///
/// ```text
/// B: v ← v + (h/2) ∇log p(x)
/// A: x ← x + (h/2) M⁻¹ v
/// O: v ← c v + sqrt((1 − c²) M) ξ,    ξ ~ N(0, I)       (exact OU flow)
/// A: x ← x + (h/2) M⁻¹ v
/// B: v ← v + (h/2) ∇log p(x)
/// ```
///
/// # Bias and stability
/// BAOAB's configurational (x) marginal has O(h²) bias in general, and is *exact* for
/// Gaussian targets: on `N(m, 1/k)` with M = 1 the stationary variance of x is exactly `1/k`
/// for every stable h (`h²k < 4`), while v is biased (`Var v = 1 − h²k/4`). In the high-friction
/// limit γh → ∞ it becomes the "Leimkuhler–Matthews" non-Markovian scheme. Unadjusted: a
/// non-finite state stops the chain with [`Error::NonFiniteState`].
///
/// [`Baoab::step_with_noise`] is the deterministic step given `ξ` (length d); the
/// [`Kernel`] implementation draws `ξ` and runs with [`crate::run::Sampler`]. Each chain's
/// v starts as a draw from N(0, M) unless told otherwise ([`InitialVelocity`]).
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::integrators::Baoab;
/// use langevin::targets::Gaussian;
/// let kernel = Baoab::new(Gaussian::<f64>::standard(2)?, 0.5, 1.0)?;
/// let trace = Sampler::new(4_000).chains(2).warmup(200).seed(3).run(&kernel, &[vec![0.0, 0.0]])?;
/// assert!((trace.variance()[0] - 1.0).abs() < 0.2);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * B. Leimkuhler, C. Matthews (2013), Rational construction of stochastic numerical methods
///   for molecular sampling, *Appl. Math. Res. Express* 2013(1):34–56.
/// * B. Leimkuhler, C. Matthews (2015), *Molecular Dynamics*, Springer, ch. 7.
#[derive(Debug, Clone)]
pub struct Baoab<P: Score> {
    cfg: Config<P>,
}

impl<P: Score> Baoab<P> {
    /// BAOAB with step `h > 0`, friction `γ ≥ 0` and unit mass.
    ///
    /// # Errors
    /// [`Error::InvalidStepSize`] for a bad `h`, [`Error::InvalidParameter`] for a bad `γ`,
    /// [`Error::ZeroDimension`] for a 0-dimensional target.
    pub fn new(target: P, h: P::Scalar, gamma: P::Scalar) -> Result<Self> {
        Ok(Self {
            cfg: Config::new(target, h, gamma, 1.0)?,
        })
    }

    /// One deterministic BAOAB step given `xi` (d standard normals).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] unless `xi` has length d and `s` comes from a kernel of
    /// this dimension; [`Error::NonFiniteState`] if x or v becomes non-finite.
    pub fn step_with_noise(
        &self,
        s: &mut UnderdampedState<P::Scalar>,
        xi: &[P::Scalar],
    ) -> Result<()> {
        let c = &self.cfg;
        c.check_noise(s, xi, 1)?;
        let hh = P::Scalar::c(0.5) * c.h;
        c.b(s);
        c.a(s, hh);
        c.o(&mut s.v, xi);
        c.a(s, hh);
        c.rescore(s);
        c.b(s);
        c.finish(s)
    }
}
kernel_common!(Baoab, 1);

/// The OBABO splitting of underdamped Langevin dynamics (the SDE of [`Baoab`]); with
/// `c = e^{−γh/2}`:
///
/// ```text
/// O: v ← c v + sqrt((1 − c²) M) ξ₁
/// B: v ← v + (h/2) ∇log p(x)
/// A: x ← x + h M⁻¹ v
/// B: v ← v + (h/2) ∇log p(x)
/// O: v ← c v + sqrt((1 − c²) M) ξ₂
/// ```
///
/// The BAB core is velocity Verlet, so OBABO is the Langevin thermostat wrapped around a
/// leapfrog step (as in generalised HMC). Its x-marginal is O(h²)-biased even for Gaussians:
/// on `N(m, 1/k)` with M = 1 the stationary variance of x is `1/(k (1 − h²k/4))` and that of v
/// is 1 (exact), stable for `h²k < 4`. Noise: 2d standard normals per step (`ξ₁` then `ξ₂`).
///
/// # Example
/// ```
/// use langevin::prelude::*;
/// use langevin::integrators::Obabo;
/// use langevin::targets::Gaussian;
/// let kernel = Obabo::new(Gaussian::<f64>::standard(1)?, 0.5, 2.0)?;
/// let mut state = kernel.init(&[0.0], 0)?;
/// kernel.step_with_noise(&mut state, &[1.0, 0.0])?;
/// assert!(state.position()[0] > 0.0);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * B. Leimkuhler, C. Matthews (2013), *Appl. Math. Res. Express* 2013(1):34–56.
/// * B. Leimkuhler, C. Matthews (2015), *Molecular Dynamics*, Springer, ch. 7.
#[derive(Debug, Clone)]
pub struct Obabo<P: Score> {
    cfg: Config<P>,
}

impl<P: Score> Obabo<P> {
    /// OBABO with step `h > 0`, friction `γ ≥ 0` and unit mass.
    ///
    /// # Errors
    /// As [`Baoab::new`].
    pub fn new(target: P, h: P::Scalar, gamma: P::Scalar) -> Result<Self> {
        Ok(Self {
            cfg: Config::new(target, h, gamma, 0.5)?,
        })
    }

    /// One deterministic OBABO step given `xi` (2d standard normals: ξ₁ then ξ₂).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] unless `xi` has length 2d and `s` comes from a kernel of
    /// this dimension; [`Error::NonFiniteState`] if x or v becomes non-finite.
    pub fn step_with_noise(
        &self,
        s: &mut UnderdampedState<P::Scalar>,
        xi: &[P::Scalar],
    ) -> Result<()> {
        let c = &self.cfg;
        c.check_noise(s, xi, 2)?;
        let (xi1, xi2) = xi.split_at(s.x.len());
        c.o(&mut s.v, xi1);
        c.b(s);
        c.a(s, c.h);
        c.rescore(s);
        c.b(s);
        c.o(&mut s.v, xi2);
        c.finish(s)
    }
}
kernel_common!(Obabo, 2);
