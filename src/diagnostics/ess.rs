//! Effective sample size (ESS) exactly as ArviZ (`arviz.ess`, 0.23) and
//! Vehtari et al. (2021).
//!
//! All variants run the same estimator ([`ess_mean`] on transformed draws):
//! split the chains in halves, compute per-chain FFT autocovariances `γ̂_{c,t}`
//! and combine them across the `M` (split) chains of `N` draws:
//!
//! ```text
//! W     = mean_c γ̂_{c,0} · N/(N−1)                 (mean within-chain variance)
//! var⁺  = W·(N−1)/N + var_c(x̄_c)                   (ddof = 1; only if M > 1)
//! ρ̂_t   = 1 − (W − mean_c γ̂_{c,t}) / var⁺
//! ```
//!
//! Geyer's (1992) initial positive sequence: sum pairs `P_k = ρ̂_{2k} + ρ̂_{2k+1}`
//! while positive (the first negative pair is dropped, but its even term is
//! kept if it is positive); then the initial monotone sequence: each pair is
//! capped at the previous one. With `T` the last odd lag kept,
//!
//! ```text
//! τ̂   = −1 + 2·Σ_{t=0}^{T} ρ̂_t + ρ̂_{T+1}
//! τ̂   = max(τ̂, 1/log₁₀(M·N))
//! ESS = M·N / τ̂
//! ```
//!
//! If all (transformed) draws are identical (range < 1e-15) the ESS is defined
//! as the number of draws, like ArviZ.
//!
//! References: Geyer (1992), *Statistical Science* 7(4); Vehtari, Gelman,
//! Simpson, Carpenter & Bürkner (2021), *Bayesian Analysis* 16(2), 667–718.

use super::autocorr::AutocovSum;
use super::transform::{check_prob, quantile_sorted_mquantiles, split_flat, z_scale_flat};
use super::{Result, finite, mean, to_matrix, var};

/// ArviZ `_ess` on an already validated matrix (no splitting).
pub(crate) fn ess_raw<C: AsRef<[f64]>>(m: &[C]) -> f64 {
    let n_chain = m.len();
    let n_draw = m[0].as_ref().len();
    let size = (n_chain * n_draw) as f64;
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for c in m {
        for &v in c.as_ref() {
            if v.is_nan() {
                // `min`/`max` would skip it and a NaN among equal values would
                // pass as a constant chain.
                return f64::NAN;
            }
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if hi - lo < 1e-15 {
        return size;
    }
    let mut acov_sum = AutocovSum::new(n_draw);
    for c in m {
        acov_sum.add(c.as_ref());
    }
    let acov_sum = acov_sum.finish();
    let nd = n_draw as f64;
    let mean_acov = |t: usize| acov_sum[t] / n_chain as f64;
    let chain_mean: Vec<f64> = m.iter().map(|c| mean(c.as_ref())).collect();
    let mean_var = mean_acov(0) * nd / (nd - 1.0);
    let mut var_plus = mean_var * (nd - 1.0) / nd;
    if n_chain > 1 {
        var_plus += var(&chain_mean, 1);
    }
    let rho = |t: usize| 1.0 - (mean_var - mean_acov(t)) / var_plus;

    let nd_i = n_draw as isize;
    let mut rho_hat_t = vec![0.0; n_draw];
    let mut rho_hat_even = 1.0;
    rho_hat_t[0] = rho_hat_even;
    let mut rho_hat_odd = rho(1);
    rho_hat_t[1] = rho_hat_odd;

    // Geyer's initial positive sequence.
    let mut t: isize = 1;
    while t < nd_i - 3 && rho_hat_even + rho_hat_odd > 0.0 {
        let tu = t as usize;
        rho_hat_even = rho(tu + 1);
        rho_hat_odd = rho(tu + 2);
        if rho_hat_even + rho_hat_odd >= 0.0 {
            rho_hat_t[tu + 1] = rho_hat_even;
            rho_hat_t[tu + 2] = rho_hat_odd;
        }
        t += 2;
    }
    if rho_hat_even.is_nan() || rho_hat_odd.is_nan() {
        // A NaN pair ends the loop above like a negative one would.
        return f64::NAN;
    }
    let max_t = t - 2;
    // Improve the estimate with the (positive) even term of the last pair.
    if rho_hat_even > 0.0 {
        rho_hat_t[(max_t + 1) as usize] = rho_hat_even;
    }
    // Geyer's initial monotone sequence.
    let mut t: isize = 1;
    while t <= max_t - 2 {
        let tu = t as usize;
        if rho_hat_t[tu + 1] + rho_hat_t[tu + 2] > rho_hat_t[tu - 1] + rho_hat_t[tu] {
            rho_hat_t[tu + 1] = (rho_hat_t[tu - 1] + rho_hat_t[tu]) / 2.0;
            rho_hat_t[tu + 2] = rho_hat_t[tu + 1];
        }
        t += 2;
    }
    let upto = (max_t + 1) as usize; // exclusive end of the doubled sum
    let mut tau_hat = -1.0 + 2.0 * rho_hat_t[..upto].iter().sum::<f64>();
    if upto < n_draw {
        tau_hat += rho_hat_t[upto];
    }
    if tau_hat.is_nan() || rho_hat_t.iter().any(|r| r.is_nan()) {
        // As ArviZ: NaN autocorrelations (overflow) poison the estimate;
        // public wrappers turn this into `DiagnosticsError::Overflow`.
        return f64::NAN;
    }
    let tau_hat = tau_hat.max(1.0 / size.log10());
    size / tau_hat
}

/// [`ess_raw`] of a flat chain-major buffer of chains of `n` draws.
pub(crate) fn ess_flat(flat: &[f64], n: usize) -> f64 {
    ess_raw(&flat.chunks_exact(n).collect::<Vec<_>>())
}

/// Bulk ESS on a validated matrix.
pub(crate) fn ess_bulk_m(m: &[Vec<f64>]) -> f64 {
    let (split, h) = split_flat(m);
    ess_flat(&z_scale_flat(&split), h)
}

/// ESS of the indicator `x ≤ Q(prob)` on a validated matrix, given its pooled draws sorted.
pub(crate) fn ess_quantile_sorted(m: &[Vec<f64>], sorted: &[f64], prob: f64) -> f64 {
    let q = quantile_sorted_mquantiles(sorted, prob);
    let ind: Vec<Vec<f64>> = m
        .iter()
        .map(|c| c.iter().map(|&v| if v <= q { 1.0 } else { 0.0 }).collect())
        .collect();
    let (split, h) = split_flat(&ind);
    ess_flat(&split, h)
}

/// The pooled draws of a validated matrix, sorted.
pub(crate) fn sorted_pooled(m: &[Vec<f64>]) -> Vec<f64> {
    let mut flat: Vec<f64> = m.iter().flatten().copied().collect();
    flat.sort_unstable_by(f64::total_cmp);
    flat
}

/// ESS of the indicator `x ≤ Q(prob)` on a validated matrix.
pub(crate) fn ess_quantile_m(m: &[Vec<f64>], prob: f64) -> f64 {
    ess_quantile_sorted(m, &sorted_pooled(m), prob)
}

/// Tail ESS on a validated matrix, given its pooled draws sorted.
pub(crate) fn ess_tail_sorted(m: &[Vec<f64>], sorted: &[f64]) -> f64 {
    super::min_nan(
        ess_quantile_sorted(m, sorted, 0.05),
        ess_quantile_sorted(m, sorted, 0.95),
    )
}

/// Tail ESS on a validated matrix.
pub(crate) fn ess_tail_m(m: &[Vec<f64>]) -> f64 {
    ess_tail_sorted(m, &sorted_pooled(m))
}

/// Bulk ESS: the ESS of the rank-normalised split chains (Vehtari et al.
/// 2021, §4.3; ArviZ `ess(method="bulk")`):
///
/// ```text
/// ESS_bulk = ESS( Φ⁻¹((rank(split(x)) − 3/8)/(S + 1/4)) )
/// ```
///
/// Needs at least one chain of at least four draws.
///
/// # Errors
/// Too few draws, unequal chain lengths or non-finite draws.
///
/// ```
/// use langevin::diagnostics::ess_bulk;
/// // Two well-mixed, independent-looking chains of 100 draws.
/// let a: Vec<f64> = (0..100).map(|i| ((i * 37) % 101) as f64).collect();
/// let b: Vec<f64> = (0..100).map(|i| ((i * 53) % 103) as f64).collect();
/// let ess = ess_bulk(&[a, b]).unwrap();
/// assert!(ess > 50.0);
/// ```
pub fn ess_bulk<C: AsRef<[f64]>>(chains: &[C]) -> Result<f64> {
    finite("ESS", ess_bulk_m(&to_matrix(chains, 1, 4)?))
}

/// Tail ESS: the minimum of the ESSs of the indicators `x ≤ Q(0.05)` and
/// `x ≤ Q(0.95)` on split chains (Vehtari et al. 2021, §4.3; ArviZ
/// `ess(method="tail")`). `Q` is the pooled type-7 quantile.
///
/// ```text
/// ESS_tail = min( ESS(split(1{x ≤ Q(0.05)})), ESS(split(1{x ≤ Q(0.95)})) )
/// ```
///
/// # Errors
/// Too few draws (one chain of four), unequal lengths or non-finite draws.
pub fn ess_tail<C: AsRef<[f64]>>(chains: &[C]) -> Result<f64> {
    finite("ESS", ess_tail_m(&to_matrix(chains, 1, 4)?))
}

/// Quantile ESS: ESS of the split indicator `1{x ≤ Q(prob)}` (ArviZ
/// `ess(method="quantile", prob=prob)`).
///
/// # Errors
/// `prob` not in `(0, 1)`, too few draws, unequal lengths or non-finite draws.
pub fn ess_quantile<C: AsRef<[f64]>>(chains: &[C], prob: f64) -> Result<f64> {
    check_prob("prob", prob)?;
    finite("ESS", ess_quantile_m(&to_matrix(chains, 1, 4)?, prob))
}

/// Basic ESS for the mean: the ESS estimator on split chains, without rank
/// normalisation (ArviZ `ess(method="mean")`). Use it for MCSE of the mean;
/// it is only meaningful when the mean and variance exist.
///
/// ```text
/// ESS_mean = ESS(split(x))
/// ```
///
/// # Errors
/// Too few draws (one chain of four), unequal lengths or non-finite draws.
///
/// ```
/// use langevin::diagnostics::ess_mean;
/// // A strongly positively autocorrelated chain has a small ESS.
/// let x: Vec<f64> = (0..400).map(|i| ((i / 40) % 2) as f64).collect();
/// assert!(ess_mean(&[x]).unwrap() < 40.0);
/// ```
pub fn ess_mean<C: AsRef<[f64]>>(chains: &[C]) -> Result<f64> {
    let (split, h) = split_flat(&to_matrix(chains, 1, 4)?);
    finite("ESS", ess_flat(&split, h))
}

/// ESS for the standard deviation (ArviZ `ess(method="sd")`): the ESS of
/// the split squared deviations from the pooled mean.
///
/// ```text
/// ESS_sd = ESS(split((x − x̄)²))
/// ```
///
/// # Errors
/// Too few draws (one chain of four), unequal lengths or non-finite draws.
pub fn ess_sd<C: AsRef<[f64]>>(chains: &[C]) -> Result<f64> {
    let m = to_matrix(chains, 1, 4)?;
    let mu = mean(&m.iter().flatten().copied().collect::<Vec<_>>());
    let sq: Vec<Vec<f64>> = m
        .iter()
        .map(|c| c.iter().map(|v| (v - mu) * (v - mu)).collect())
        .collect();
    let (split, h) = split_flat(&sq);
    finite("ESS", ess_flat(&split, h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// Catches: `min`/`max` skipping a NaN in the constant-chain check, so
    /// that `[1, 1, NaN, 1, 1, 1]` came back as "constant" with ESS = 6
    /// (issue 10 item 19); and `f64::min` in the tail ESS returning the other
    /// operand when one is NaN.
    #[test]
    fn nan_is_not_swallowed() {
        assert!(ess_raw(&[vec![1.0, 1.0, f64::NAN, 1.0, 1.0, 1.0]]).is_nan());
        assert!(ess_raw(&[vec![1.0, 2.0, f64::NAN, 1.0, 3.0, 1.0]]).is_nan());
        assert!(super::super::min_nan(f64::NAN, 3.0).is_nan());
        assert!(super::super::min_nan(3.0, f64::NAN).is_nan());
        assert!(super::super::min_nan(3.0, 2.0).to_bits() == 2.0f64.to_bits());
    }

    fn ar1(rng: &mut Xoshiro256PlusPlus, phi: f64, n: usize) -> Vec<f64> {
        let mut x = Vec::with_capacity(n);
        let mut prev: f64 = StandardNormal.sample(rng);
        prev /= (1.0f64 - phi * phi).sqrt();
        for _ in 0..n {
            let e: f64 = StandardNormal.sample(rng);
            prev = phi * prev + e;
            x.push(prev);
        }
        x
    }

    /// Catches: a wrong τ formula (e.g. missing factor 2). For an AR(1) with
    /// φ = 0.5 the true ESS/N = (1 − φ)/(1 + φ) = 1/3. With 4 × 5000 draws the
    /// estimator's relative sd is ≈ 3%, so a 15% band has false-failure rate
    /// far below 1e-6 (and the seed is fixed anyway).
    #[test]
    fn ar1_ess_near_theory() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
        let chains: Vec<Vec<f64>> = (0..4).map(|_| ar1(&mut rng, 0.5, 5000)).collect();
        let want = 20000.0 / 3.0;
        for ess in [ess_mean(&chains).unwrap(), ess_bulk(&chains).unwrap()] {
            assert!((ess / want - 1.0).abs() < 0.15, "ess {ess} vs {want}");
        }
    }

    /// Catches: NaN/panic on constant chains, missing validation.
    #[test]
    fn edge_cases() {
        let c = vec![vec![1.0; 10], vec![1.0; 10]];
        assert!((ess_mean(&c).unwrap() - 20.0).abs() < 1e-12);
        assert!(ess_bulk(&[vec![1.0, 2.0, 3.0]]).is_err());
        assert!(ess_bulk(&[vec![1.0, 2.0, 3.0, 4.0], vec![1.0]]).is_err());
        assert!(ess_tail(&[vec![1.0, 2.0, f64::NAN, 4.0]]).is_err());
        assert!(ess_quantile(&[vec![1.0, 2.0, 3.0, 4.0]], 1.0).is_err());
        // Finite but huge draws overflow: an error, never NaN.
        let huge = vec![vec![1e300, -1e300, 3e299, -2e300, 5e299, 1e300]];
        assert!(matches!(
            ess_mean(&huge),
            Err(crate::diagnostics::DiagnosticsError::Overflow { .. })
        ));
        assert!(crate::diagnostics::Summary::new("h", &huge).is_err());
        assert!(ess_bulk(&huge).unwrap().is_finite()); // rank based: fine
        // Minimal sizes must give finite answers.
        for n in 4..12 {
            let x: Vec<f64> = (0..n).map(|i| ((i * 7) % 5) as f64).collect();
            assert!(ess_bulk(std::slice::from_ref(&x)).unwrap().is_finite());
            assert!(ess_tail(std::slice::from_ref(&x)).unwrap().is_finite());
            assert!(ess_mean(&[x]).unwrap().is_finite());
        }
    }
}
