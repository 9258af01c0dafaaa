//! Transformations used by the convergence diagnostics: chain splitting, rank
//! normalisation, the inverse standard normal CDF and sample quantiles.

use super::{Result, check_finite, finite, invalid, to_matrix};

/// Splits every chain into its first and last halves, giving `2 × chains`
/// chains of `⌊n/2⌋` draws (the middle draw of an odd-length chain is dropped),
/// as ArviZ's `_split_chains`.
///
/// ```text
/// chain c = (x_1 … x_n)  ↦  (x_1 … x_h),  (x_{n−h+1} … x_n),   h = ⌊n/2⌋
/// ```
///
/// Output order: first halves of all chains, then second halves.
///
/// # Errors
/// Fewer than one chain of two draws, unequal lengths or non-finite draws.
///
/// ```
/// use langevin::diagnostics::split_chains;
/// let s = split_chains(&[vec![1.0, 2.0, 3.0, 4.0, 5.0]]).unwrap();
/// assert_eq!(s, vec![vec![1.0, 2.0], vec![4.0, 5.0]]);
/// ```
pub fn split_chains<C: AsRef<[f64]>>(chains: &[C]) -> Result<Vec<Vec<f64>>> {
    let m = to_matrix(chains, 1, 2)?;
    Ok(split_matrix(&m))
}

pub(crate) fn split_matrix(m: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = m[0].len();
    let h = n / 2;
    let mut out: Vec<Vec<f64>> = m.iter().map(|c| c[..h].to_vec()).collect();
    out.extend(m.iter().map(|c| c[n - h..].to_vec()));
    out
}

/// Rank normalisation (Vehtari et al. 2021, eq. 14): pooled average ranks
/// `r` (ties get the mean of their ranks), Blom's fractional offset and the
/// inverse normal CDF:
///
/// ```text
/// z = Φ⁻¹( (r − 3/8) / (S + 1/4) ),   S = total number of draws
/// ```
///
/// The chains are *not* split here; the output has the input's shape.
///
/// # Errors
/// Empty input, unequal lengths or non-finite draws.
///
/// ```
/// use langevin::diagnostics::rank_normalize;
/// let z = rank_normalize(&[vec![3.0, 1.0], vec![2.0, 2.0]]).unwrap();
/// assert!(z[0][0] > 0.0 && z[0][1] < 0.0);
/// assert!((z[1][0] - z[1][1]).abs() < 1e-15); // ties share a rank
/// ```
pub fn rank_normalize<C: AsRef<[f64]>>(chains: &[C]) -> Result<Vec<Vec<f64>>> {
    let m = to_matrix(chains, 1, 1)?;
    Ok(z_scale(&m))
}

/// Average ranks (1-based) of a flat slice, as `scipy.stats.rankdata(method="average")`.
pub(crate) fn average_ranks(xs: &[f64]) -> Vec<f64> {
    let n = xs.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut ranks = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        // `total_cmp` equality, so that -0.0 and 0.0 tie like in numpy.
        while j < n && xs[idx[j]] <= xs[idx[i]] {
            j += 1;
        }
        // ranks i+1 ..= j, average (i + 1 + j) / 2
        let r = (i + 1 + j) as f64 / 2.0;
        for &k in &idx[i..j] {
            ranks[k] = r;
        }
        i = j;
    }
    ranks
}

/// Rank-normalises an already validated matrix (ArviZ `_z_scale`).
pub(crate) fn z_scale(m: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let flat: Vec<f64> = m.iter().flatten().copied().collect();
    let s = flat.len() as f64;
    let ranks = average_ranks(&flat);
    let c = 3.0 / 8.0;
    let mut it = ranks
        .into_iter()
        .map(|r| inv_norm_unchecked((r - c) / (s - 2.0 * c + 1.0)));
    m.iter()
        .map(|row| row.iter().map(|_| it.next().unwrap_or(0.0)).collect())
        .collect()
}

/// Inverse of the standard normal CDF, `Φ⁻¹(p)` for `0 < p < 1`.
///
/// Acklam's rational approximation (relative error < 1.2e-9) followed by one
/// Halley step on `Φ(x) − p`, with `Φ` evaluated through `erfc` in the lower
/// tail (and by the exact reflection `Φ⁻¹(p) = −Φ⁻¹(1 − p)` for `p > 1/2`),
/// which gives close to full double precision (tested against SciPy's
/// `ndtri` to 1e-15 relative).
///
/// ```text
/// e = Φ(x₀) − p,   u = e·√(2π)·exp(x₀²/2),   x₁ = x₀ − u / (1 + x₀u/2)
/// ```
///
/// # Errors
/// `p` not in the open interval `(0, 1)` (including NaN).
///
/// ```
/// use langevin::diagnostics::inverse_normal_cdf;
/// let x = inverse_normal_cdf(0.975).unwrap();
/// assert!((x - 1.959963984540054).abs() < 1e-15);
/// ```
pub fn inverse_normal_cdf(p: f64) -> Result<f64> {
    if p > 0.0 && p < 1.0 {
        Ok(inv_norm_unchecked(p))
    } else {
        Err(invalid("p", format!("must lie in (0, 1), got {p}")))
    }
}

pub(crate) fn inv_norm_unchecked(p: f64) -> f64 {
    if p > 0.5 {
        // 1 − p is exact for p in [0.5, 1].
        -inv_norm_lower(1.0 - p)
    } else {
        inv_norm_lower(p)
    }
}

/// Φ⁻¹(p) for 0 < p ≤ 1/2.
fn inv_norm_lower(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e+01,
        2.209460984245205e+02,
        -2.759285104469687e+02,
        1.383577518672690e+02,
        -3.066479806614716e+01,
        2.506628277459239e+00,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e+01,
        1.615858368580409e+02,
        -1.556989798598866e+02,
        6.680131188771972e+01,
        -1.328068155288572e+01,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e+00,
        -2.549732539343734e+00,
        4.374664141464968e+00,
        2.938163982698783e+00,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-03,
        3.224671290700398e-01,
        2.445134137142996e+00,
        3.754408661907416e+00,
    ];
    const P_LOW: f64 = 0.02425;
    let x0 = if p < P_LOW {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    // One Halley step on Φ(x) − p, with the residual computed relative to p
    // (in log space in the tail) so that tiny p loses no precision.
    let half_x2 = 0.5 * x0 * x0;
    let rel = phi_lower_rel_residual(x0, half_x2, p);
    let u = rel * (p.ln() + half_x2 + 0.5 * (2.0 * std::f64::consts::PI).ln()).exp();
    let x1 = x0 - u / (1.0 + 0.5 * x0 * u);
    if x1.is_finite() { x1 } else { x0 }
}

/// `Φ(x)/p − 1` for `x ≲ 0`, where `half_x2 = x²/2`.
///
/// For `t = −x/√2 < 0.8`: `erfc(t) = 1 − erf(t)` with the positive-term series
/// `erf(t) = (2/√π)·e^{−t²}·Σ_{n≥0} 2ⁿ t^{2n+1} / (2n+1)!!`;
/// otherwise Laplace's continued fraction
/// `erfc(t) = e^{−t²}/√π · 1/(t + (1/2)/(t + 1/(t + (3/2)/(t + …))))`
/// evaluated by the modified Lentz method, and the ratio taken in log space.
fn phi_lower_rel_residual(x: f64, half_x2: f64, p: f64) -> f64 {
    let t = -x / std::f64::consts::SQRT_2;
    if t < 0.8 {
        let t2 = t * t;
        let mut term = t;
        let mut sum = t;
        let mut n = 0.0;
        loop {
            n += 1.0;
            term *= 2.0 * t2 / (2.0 * n + 1.0);
            sum += term;
            if term.abs() <= 1e-17 * sum.abs() || n > 500.0 {
                break;
            }
        }
        let erf = std::f64::consts::FRAC_2_SQRT_PI * (-half_x2).exp() * sum;
        0.5 * (1.0 - erf) / p - 1.0
    } else {
        // Lentz for f = t + a1/(t + a2/(t + …)), a_n = n/2.
        let tiny = 1e-300;
        let mut f = t;
        let mut c = f;
        let mut d = 0.0;
        let mut n = 0.0;
        loop {
            n += 1.0;
            let a = 0.5 * n;
            d = t + a * d;
            if d.abs() < tiny {
                d = tiny;
            }
            d = 1.0 / d;
            c = t + a / c;
            if c.abs() < tiny {
                c = tiny;
            }
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() <= 1e-16 || n > 5000.0 {
                break;
            }
        }
        // ln Φ(x) = −t² − ln f − ln(2√π)
        let ln_phi = -half_x2 - f.ln() - (2.0 * std::f64::consts::PI.sqrt()).ln();
        (ln_phi - p.ln()).exp_m1()
    }
}

/// Sample quantile with linear interpolation between order statistics
/// (Hyndman & Fan type 7; NumPy's default `method="linear"`, R's default),
/// over all draws of all chains pooled.
///
/// ```text
/// h = (N − 1)·q,   Q(q) = x₍⌊h⌋₎ + (h − ⌊h⌋)·(x₍⌊h⌋+1₎ − x₍⌊h⌋₎)    (0-based order statistics)
/// ```
///
/// # Errors
/// `q` outside `[0, 1]`, no draws, unequal lengths or non-finite draws.
///
/// ```
/// use langevin::diagnostics::quantile;
/// let q = quantile(&[vec![1.0, 2.0, 3.0, 4.0]], 0.5).unwrap();
/// assert!((q - 2.5).abs() < 1e-15);
/// ```
pub fn quantile<C: AsRef<[f64]>>(chains: &[C], q: f64) -> Result<f64> {
    if !(0.0..=1.0).contains(&q) {
        return Err(invalid("q", format!("must lie in [0, 1], got {q}")));
    }
    let m = to_matrix(chains, 1, 1)?;
    let mut flat: Vec<f64> = m.into_iter().flatten().collect();
    flat.sort_by(f64::total_cmp);
    finite("quantile", quantile_sorted_numpy(&flat, q))
}

/// NumPy `quantile(..., method="linear")` on sorted data, reproducing its
/// `_lerp` rounding.
pub(crate) fn quantile_sorted_numpy(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let h = (n - 1) as f64 * q;
    let lo = (h.floor() as usize).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    let t = h - lo as f64;
    let (a, b) = (sorted[lo], sorted[hi]);
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

/// `scipy.stats.mstats.mquantiles(alphap=1, betap=1)` on sorted data, as used
/// by ArviZ's `_quantile` (also type 7, different rounding).
pub(crate) fn quantile_sorted_mquantiles(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 1 {
        return sorted[0];
    }
    let m = 1.0 - p;
    let aleph = n as f64 * p + m;
    let k = aleph.clamp(1.0, (n - 1) as f64).floor();
    let gamma = (aleph - k).clamp(0.0, 1.0);
    let k = k as usize;
    (1.0 - gamma) * sorted[k - 1] + gamma * sorted[k]
}

/// NumPy `median` of a flat slice (mean of the two middle values for even length).
pub(crate) fn median(xs: &[f64]) -> f64 {
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if !n.is_multiple_of(2) {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// Validates a probability argument in the open interval (0, 1).
pub(crate) fn check_prob(name: &'static str, p: f64) -> Result<()> {
    check_finite(name, &[p])?;
    if p > 0.0 && p < 1.0 {
        Ok(())
    } else {
        Err(invalid(name, format!("must lie in (0, 1), got {p}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Catches: wrong Acklam coefficients or a missing/incorrect Halley step.
    /// Reference values from `scipy.special.ndtri` (SciPy 1.17.1).
    #[test]
    fn inverse_normal_matches_scipy() {
        let cases: [(f64, f64); 12] = [
            (1e-300, -37.0470962993612),
            (1e-20, -9.262340089798409),
            (1e-10, -6.361340902404056),
            (0.001, -3.090232306167813),
            (0.02425, -1.972961051311885),
            (0.1, -1.2815515655446004),
            (0.3, -0.5244005127080409),
            (0.5, 0.0),
            (0.6, 0.2533471031357997),
            (0.9, 1.2815515655446004),
            (0.975, 1.959963984540054),
            (0.999999, 4.753424308817087),
        ];
        for (p, want) in cases {
            let got = inverse_normal_cdf(p).unwrap();
            let tol = 1e-15 * want.abs().max(1.0);
            assert!((got - want).abs() <= 2.0 * tol, "p={p}: {got} vs {want}");
        }
        assert!(inverse_normal_cdf(0.0).is_err());
        assert!(inverse_normal_cdf(1.0).is_err());
        assert!(inverse_normal_cdf(f64::NAN).is_err());
    }

    /// Catches: wrong tie handling in ranks.
    #[test]
    fn average_ranks_ties() {
        let r = average_ranks(&[3.0, 1.0, 3.0, 2.0, 3.0]);
        assert_eq!(r, vec![4.0, 1.0, 4.0, 2.0, 4.0]);
    }

    /// Catches: an off-by-one in the type-7 quantile.
    #[test]
    fn quantile_type7() {
        let s = [1.0, 2.0, 4.0, 8.0, 16.0];
        for (q, want) in [
            (0.0, 1.0),
            (0.25, 2.0),
            (0.3, 2.4),
            (0.9, 12.8),
            (1.0, 16.0),
        ] {
            assert!((quantile_sorted_numpy(&s, q) - want).abs() < 1e-12);
            assert!((quantile_sorted_mquantiles(&s, q) - want).abs() < 1e-12);
        }
    }
}
