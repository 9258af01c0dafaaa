//! Denoising score matching (Vincent 2011): the loss of any noise-conditional score model on a
//! data set.

use crate::density::NoiseConditionalScore;
use crate::error::check_finite;
#[allow(unused_imports)]
use crate::real::scalar_traits::*;
use crate::rng::stream;
use crate::{Error, Real, Result};
use rayon::prelude::*;

/// The result of [`dsm_loss`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DsmLoss {
    /// The loss `(1/L) Σ_i λ(σ_i) ℓ(σ_i)`, averaged over data points and draws.
    pub total: f64,
    /// Monte Carlo standard error of `total` (from the per-point values, which are IID).
    pub std_error: f64,
    /// `λ(σ_i) ℓ(σ_i)` per level.
    pub per_level: Vec<f64>,
    /// The contribution of each data point (averaged over levels and draws); two models
    /// evaluated with the same seed see the same noise, so their per-point differences give a
    /// paired comparison.
    pub per_point: Vec<f64>,
}

/// The denoising score-matching loss (Vincent 2011) with the weighting λ(σ) = σ² of Song &
/// Ermon (2019):
///
/// ```text
/// x̃ = x₀ + σ z,  z ~ N(0, I)
/// λ(σ) ℓ(σ) = ½ σ² E ‖s(x̃, σ) + (x̃ − x₀)/σ²‖² = ½ E ‖σ s(x̃, σ) + z‖²
/// loss = (1/L) Σ_i λ(σ_i) ℓ(σ_i)
/// ```
///
/// averaged over the data points (`data` row-major, `n × d`) with `draws` noise draws per
/// point and level. Its minimiser over all functions is the exact score of the smoothed data
/// law — for data drawn from a law p, the score of `p ∗ N(0, σ²I)`; for the data set itself,
/// [`super::EmpiricalScore`]. The minimum is not 0: `E‖σ s + z‖² = d − σ² E‖s‖²`.
/// Data point j draws its noise from `stream(seed, j)`, so the result is thread-count
/// independent and two models compared with one seed see identical noise.
///
/// # Errors
/// [`Error::ZeroCount`] for no levels, no data or `draws = 0`; [`Error::ZeroDimension`];
/// [`Error::DimensionMismatch`] if `data.len()` is not a multiple of d;
/// [`Error::NonFiniteInput`] for non-finite data; [`Error::InvalidSchedule`] for a
/// non-positive σ.
///
/// ```
/// use langevin::annealed::dsm_loss;
/// use langevin::prelude::*;
/// use langevin::targets::GaussianMixture;
/// let gmm = GaussianMixture::<f64>::ring(4, 2.0, 0.3)?;
/// let mut rng = langevin::rng::stream(1, 0);
/// let mut data = vec![0.0; 2 * 500];
/// for x in data.chunks_exact_mut(2) { gmm.sample_into(&mut rng, x); }
/// let loss = dsm_loss(&gmm, &data, &[1.0, 0.3], 4, 7)?;
/// assert!(loss.total > 0.0 && loss.total < 1.0);
/// # Ok::<(), langevin::Error>(())
/// ```
///
/// # References
/// * P. Vincent (2011), A connection between score matching and denoising autoencoders,
///   *Neural Computation* 23(7):1661–1674.
/// * Y. Song, S. Ermon (2019), *NeurIPS* (the λ(σ) = σ² weighting).
pub fn dsm_loss<P>(
    score: &P,
    data: &[P::Scalar],
    sigmas: &[P::Scalar],
    draws: usize,
    seed: u64,
) -> Result<DsmLoss>
where
    P: NoiseConditionalScore + Sync + ?Sized,
{
    let d = score.dim();
    if d == 0 {
        return Err(Error::ZeroDimension { what: "score" });
    }
    if sigmas.is_empty() {
        return Err(Error::ZeroCount {
            what: "noise levels",
        });
    }
    if draws == 0 {
        return Err(Error::ZeroCount {
            what: "noise draws",
        });
    }
    if data.is_empty() {
        return Err(Error::ZeroCount {
            what: "data points",
        });
    }
    crate::error::check_len(
        "data (row-major n × d)",
        data.len().div_ceil(d) * d,
        data.len(),
    )?;
    check_finite("data", data)?;
    if let Some(s) = sigmas
        .iter()
        .find(|s| !(s.finite() && **s > P::Scalar::zero()))
    {
        return Err(Error::InvalidSchedule {
            reason: format!("noise level σ = {s} must be finite and > 0"),
        });
    }
    let n = data.len() / d;
    let nl = sigmas.len();
    // Row j holds point j's loss at every level; one buffer, no per-point allocation.
    let mut rows = vec![0.0f64; n * nl];
    rows.par_chunks_mut(nl).enumerate().for_each_init(
        || {
            (
                vec![P::Scalar::zero(); d],
                vec![P::Scalar::zero(); d],
                vec![P::Scalar::zero(); d],
            )
        },
        |(xt, z, s), (j, per)| {
            let mut rng = stream(seed, j as u64);
            let x0 = &data[j * d..(j + 1) * d];
            for (l, &sigma) in sigmas.iter().enumerate() {
                let mut acc = 0.0;
                for _ in 0..draws {
                    crate::real::fill_standard_normal(&mut rng, z);
                    for ((a, &b), &zi) in xt.iter_mut().zip(x0).zip(z.iter()) {
                        *a = b + sigma * zi;
                    }
                    score.score_sigma_into(xt, sigma, s);
                    let mut q = 0.0;
                    for (&si, &zi) in s.iter().zip(z.iter()) {
                        let r = (sigma * si + zi).to_f64();
                        q += r * r;
                    }
                    acc += 0.5 * q;
                }
                per[l] = acc / draws as f64;
            }
        },
    );
    let mut per_level = vec![0.0; nl];
    let mut per_point = Vec::with_capacity(n);
    for r in rows.chunks_exact(nl) {
        for (pl, &v) in per_level.iter_mut().zip(r) {
            *pl += v / n as f64;
        }
        per_point.push(r.iter().sum::<f64>() / nl as f64);
    }
    let total = per_point.iter().sum::<f64>() / n as f64;
    let var = if n > 1 {
        per_point.iter().map(|v| (v - total).powi(2)).sum::<f64>() / (n - 1) as f64
    } else {
        0.0
    };
    Ok(DsmLoss {
        total,
        std_error: (var / n as f64).sqrt(),
        per_level,
        per_point,
    })
}
