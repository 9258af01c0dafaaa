#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::rng::stream;
use crate::{Error, Real, Result};
use rand::Rng;

/// A replayable Brownian path stored at its finest resolution, from which increments of any
/// coarser step (an integer multiple `r` of the fine step δ) are formed exactly by summation.
///
/// Strong errors at several step sizes must be measured on *one* Brownian path per sample;
/// this type makes that explicit. The path of index `i` in a study seeded with `s` is drawn
/// from [`crate::rng::stream`]`(s, i)`, so studies are reproducible and independent of the
/// thread count.
///
/// # Layout
/// For `m` driving Brownian motions and `n` fine steps the path stores, per fine step `j`,
/// `ΔW_j = W(t_{j+1}) − W(t_j) ~ N(0, δ I)` and optionally (for strong-order-1.5 schemes such
/// as [`crate::integrators::Sra1`]) the time integral
///
/// ```text
/// ΔZ_j = ∫_{t_j}^{t_{j+1}} (W_s − W_{t_j}) ds,     Var ΔZ = δ³/3,  Cov(ΔW, ΔZ) = δ²/2
/// ```
///
/// drawn as `ΔW = √δ ξ₁`, `ΔZ = ½ δ^{3/2} (ξ₁ + ξ₂/√3)` (Kloeden & Platen 1992, §10.4).
/// A coarse step `k` of ratio `r` covers fine steps `kr … kr + r − 1` and
///
/// ```text
/// ΔW = Σ_j ΔW_j,        ΔZ = Σ_j [ ΔZ_j + δ (W(t_j) − W(t_{kr})) ]
/// ```
///
/// which is exact (no approximation of the joint law).
///
/// # Example
/// ```
/// use langevin::sde::BrownianPath;
/// let mut path = BrownianPath::<f64>::with_area(1, 8, 0.125)?;
/// path.regenerate(42, 0);
/// let (mut w, mut z) = ([0.0], [0.0]);
/// path.increment_with_area(8, 0, &mut w, &mut z)?; // the whole interval [0, 1]
/// assert!((w[0] - path.total()[0]).abs() < 1e-12);
/// // Past the end of the path: a typed error, not a panic.
/// assert!(path.increment(8, 1, &mut w).is_err());
/// # Ok::<(), langevin::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct BrownianPath<T> {
    m: usize,
    n: usize,
    dt: T,
    dw: Vec<T>,
    dz: Option<Vec<T>>,
    total: Vec<T>,
}

impl<T: Real> BrownianPath<T> {
    /// An (all-zero) path of `m` Brownian motions on `n` fine steps of size `dt`, storing
    /// `ΔW` only. Fill it with [`BrownianPath::regenerate`] or [`BrownianPath::fill`].
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] for `m = 0`, [`Error::ZeroCount`] for `n = 0`,
    /// [`Error::InvalidStepSize`] unless `dt` is finite and positive,
    /// [`Error::InvalidParameter`] if the span `n dt` is so large that the path's integrals
    /// would overflow, [`Error::AllocationTooLarge`] if `n × m` increments cannot be allocated.
    pub fn new(m: usize, n: usize, dt: T) -> Result<Self> {
        Self::build(m, n, dt, false)
    }

    /// As [`BrownianPath::new`], also storing the time integrals `ΔZ`.
    ///
    /// # Errors
    /// As [`BrownianPath::new`].
    pub fn with_area(m: usize, n: usize, dt: T) -> Result<Self> {
        Self::build(m, n, dt, true)
    }

    fn build(m: usize, n: usize, dt: T, area: bool) -> Result<Self> {
        if m == 0 {
            return Err(Error::ZeroDimension {
                what: "Brownian path",
            });
        }
        if n == 0 {
            return Err(Error::ZeroCount {
                what: "fine steps of a Brownian path",
            });
        }
        crate::error::check_positive("fine step of a Brownian path", dt.to_f64())?;
        // The path's integrals over its whole span reach (n δ)^{3/2} times a few normals: keep
        // them representable so that no increment overflows (margin 10⁶).
        let span = T::c(n as f64) * dt;
        if !(span * span.sqrt() * T::c(1e6)).finite() {
            return Err(Error::InvalidParameter {
                name: "fine step of a Brownian path",
                value: dt.to_f64(),
                expected: "n · dt small enough that 10⁶ (n dt)^{3/2} is finite in the scalar type",
            });
        }
        let too_large = || Error::AllocationTooLarge {
            what: "the fine increments of a Brownian path (n × m scalars)",
            bytes: (n as u128)
                .saturating_mul(m as u128)
                .saturating_mul(core::mem::size_of::<T>() as u128 * (1 + u128::from(area))),
        };
        let zeros = || -> Result<Vec<T>> {
            let len = n.checked_mul(m).ok_or_else(too_large)?;
            let mut v = Vec::new();
            v.try_reserve_exact(len).map_err(|_| too_large())?;
            v.resize(len, T::zero());
            Ok(v)
        };
        Ok(Self {
            m,
            n,
            dt,
            dw: zeros()?,
            dz: if area { Some(zeros()?) } else { None },
            total: vec![T::zero(); m],
        })
    }

    /// Redraws the path as path number `path` of a study seeded with `seed`
    /// (generator [`crate::rng::stream`]`(seed, path)`).
    pub fn regenerate(&mut self, seed: u64, path: u64) {
        let mut rng = stream(seed, path);
        self.fill(&mut rng);
    }

    /// The scale factors `(√δ, ½δ^{3/2})` of [`BrownianPath::draw_pair`] for a step `δ`.
    #[inline]
    pub(crate) fn pair_scales(dt: T) -> (T, T) {
        let sd = dt.sqrt();
        (sd, T::c(0.5) * dt * sd)
    }

    /// One jointly Gaussian pair `(ΔW, ΔZ) = (√δ ξ₁, ½δ^{3/2}(ξ₁ + ξ₂/√3))` from two standard
    /// normals, with `scales` from [`BrownianPath::pair_scales`]. The one definition of the
    /// pair, shared with [`crate::integrators::Sra1`]'s noise draw.
    #[inline]
    pub(crate) fn draw_pair<R: Rng + ?Sized>(rng: &mut R, scales: (T, T)) -> (T, T) {
        let (x1, x2) = (T::standard_normal(rng), T::standard_normal(rng));
        (
            scales.0 * x1,
            scales.1 * (x1 + x2 * T::c(1.0 / 3f64.sqrt())),
        )
    }

    /// Redraws the path from `rng`: per fine step, `m` values of `ΔW` (and, with area, the
    /// `m` values of `ΔZ`, each pair drawn jointly).
    pub fn fill<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        let scales = Self::pair_scales(self.dt);
        match &mut self.dz {
            None => {
                for w in self.dw.iter_mut() {
                    *w = scales.0 * T::standard_normal(rng);
                }
            }
            Some(dz) => {
                for (w, z) in self.dw.iter_mut().zip(dz.iter_mut()) {
                    (*w, *z) = Self::draw_pair(rng, scales);
                }
            }
        }
        for t in self.total.iter_mut() {
            *t = T::zero();
        }
        for j in 0..self.n {
            for (t, &w) in self
                .total
                .iter_mut()
                .zip(&self.dw[j * self.m..(j + 1) * self.m])
            {
                *t += w;
            }
        }
    }

    /// The number m of Brownian motions.
    pub fn noise_dim(&self) -> usize {
        self.m
    }
    /// The number of fine steps.
    pub fn fine_steps(&self) -> usize {
        self.n
    }
    /// The fine step δ.
    pub fn fine_step(&self) -> T {
        self.dt
    }
    /// The length `n δ` of the time interval.
    pub fn duration(&self) -> T {
        self.dt * T::c(self.n as f64)
    }
    /// Whether the path stores the time integrals ΔZ.
    pub fn has_area(&self) -> bool {
        self.dz.is_some()
    }
    /// `W(nδ) − W(0)` (length m).
    pub fn total(&self) -> &[T] {
        &self.total
    }
    /// The fine increment ΔW_j (length m).
    ///
    /// # Panics
    /// If `j ≥` [`BrownianPath::fine_steps`].
    pub fn fine_dw(&self, j: usize) -> &[T] {
        &self.dw[j * self.m..(j + 1) * self.m]
    }
    /// The fine time integral ΔZ_j (length m), if stored.
    ///
    /// # Panics
    /// If `j ≥` [`BrownianPath::fine_steps`] and ΔZ is stored.
    pub fn fine_dz(&self, j: usize) -> Option<&[T]> {
        self.dz.as_ref().map(|z| &z[j * self.m..(j + 1) * self.m])
    }

    /// The number of coarse steps of ratio `r` (`n / r`); `r` must divide `n`.
    pub fn coarse_steps(&self, r: usize) -> usize {
        self.n / r.max(1)
    }

    /// Checks that coarse step `k` of ratio `r` lies inside the path and that the output
    /// slices have length m.
    fn check_coarse(&self, r: usize, k: usize, outs: &[usize]) -> Result<()> {
        if r == 0 {
            return Err(Error::ZeroCount {
                what: "coarse step ratio r",
            });
        }
        let end = k.checked_add(1).and_then(|k1| k1.checked_mul(r));
        if end.is_none_or(|e| e > self.n) {
            return Err(Error::InvalidConfig {
                reason: format!(
                    "coarse step {k} of ratio {r} reaches past the path of {} fine steps; \
                     use k < {} (BrownianPath::coarse_steps)",
                    self.n,
                    self.n / r
                ),
            });
        }
        for &len in outs {
            crate::error::check_len("Brownian increment output", self.m, len)?;
        }
        Ok(())
    }

    /// Writes the increment `ΔW` of coarse step `k` of ratio `r` (fine steps `kr … kr+r−1`)
    /// into `dw` (length m).
    ///
    /// # Errors
    /// [`Error::ZeroCount`] for `r = 0`; [`Error::InvalidConfig`] if the coarse step reaches
    /// past the path (`(k + 1) r > n`); [`Error::DimensionMismatch`] unless `dw` has length m.
    /// Nothing is written on error.
    pub fn increment(&self, r: usize, k: usize, dw: &mut [T]) -> Result<()> {
        self.check_coarse(r, k, &[dw.len()])?;
        for w in dw.iter_mut() {
            *w = T::zero();
        }
        for j in k * r..(k + 1) * r {
            for (w, &f) in dw.iter_mut().zip(self.fine_dw(j)) {
                *w += f;
            }
        }
        Ok(())
    }

    /// Writes `ΔW` and `ΔZ = ∫ (W_s − W_{t_k}) ds` of coarse step `k` of ratio `r` into `dw`
    /// and `dz` (length m each), exactly from the fine pairs. Without stored area `ΔZ` is set
    /// to its conditional mean given the fine increments, `Σ_j δ (W(t_j) − W(t_k) + ΔW_j/2)`.
    ///
    /// # Errors
    /// As [`BrownianPath::increment`] (for `dw` and `dz`).
    pub fn increment_with_area(
        &self,
        r: usize,
        k: usize,
        dw: &mut [T],
        dz: &mut [T],
    ) -> Result<()> {
        self.check_coarse(r, k, &[dw.len(), dz.len()])?;
        for (w, z) in dw.iter_mut().zip(dz.iter_mut()) {
            *w = T::zero();
            *z = T::zero();
        }
        let half = T::c(0.5);
        for j in k * r..(k + 1) * r {
            let fz = self.fine_dz(j);
            for (i, ((w, z), &f)) in dw
                .iter_mut()
                .zip(dz.iter_mut())
                .zip(self.fine_dw(j))
                .enumerate()
            {
                // w holds W(t_j) − W(t_k) before adding the fine increment.
                let zj = fz.map_or(half * self.dt * f, |fz| fz[i]);
                *z += zj + self.dt * *w;
                *w += f;
            }
        }
        Ok(())
    }
}
