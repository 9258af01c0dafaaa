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

/// The split chains of a validated matrix, flat and chain-major (first halves, then second
/// halves), with their common length `⌊n/2⌋`.
pub(crate) fn split_flat<C: AsRef<[f64]>>(m: &[C]) -> (Vec<f64>, usize) {
    let n = m[0].as_ref().len();
    let h = n / 2;
    let mut out = Vec::with_capacity(2 * h * m.len());
    for c in m {
        out.extend_from_slice(&c.as_ref()[..h]);
    }
    for c in m {
        out.extend_from_slice(&c.as_ref()[n - h..]);
    }
    (out, h)
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

/// The pooled draws sorted by value (`total_cmp`), each with its flat index: the one sort
/// that every rank-based diagnostic of a parameter starts from.
pub(crate) fn sorted_with_index(xs: &[f64]) -> Vec<(f64, usize)> {
    let mut v: Vec<(f64, usize)> = xs.iter().copied().zip(0..).collect();
    v.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    v
}

/// Calls `f(start, end, rank)` for every run of tied values (`==`, so that -0.0 and 0.0 tie
/// like in NumPy) in the sorted sequence `key(0), key(1), …`, with the run's average 1-based
/// rank `(start + 1 + end) / 2`.
fn for_tie_groups(len: usize, key: impl Fn(usize) -> f64, mut f: impl FnMut(usize, usize, f64)) {
    let mut i = 0;
    while i < len {
        let v = key(i);
        let mut j = i + 1;
        while j < len && key(j) <= v {
            j += 1;
        }
        f(i, j, (i + 1 + j) as f64 / 2.0);
        i = j;
    }
}

/// Average ranks (1-based) of a flat slice, as `scipy.stats.rankdata(method="average")`.
#[cfg(test)]
pub(crate) fn average_ranks(xs: &[f64]) -> Vec<f64> {
    let sorted = sorted_with_index(xs);
    let mut ranks = vec![0.0; xs.len()];
    for_tie_groups(
        sorted.len(),
        |i| sorted[i].0,
        |a, b, r| sorted[a..b].iter().for_each(|&(_, k)| ranks[k] = r),
    );
    ranks
}

/// Blom's normal score of the average rank `r` among `s` draws (ArviZ `_z_scale`).
fn blom(r: f64, s: f64) -> f64 {
    let c = 3.0 / 8.0;
    inv_norm_unchecked((r - c) / (s - 2.0 * c + 1.0))
}

/// Rank normal scores from a sorted order: `order(i)` is the flat index of the `i`-th
/// smallest value and `key(i)` that value; one Φ⁻¹ per tie group.
fn z_from_order(
    len: usize,
    key: impl Fn(usize) -> f64,
    order: impl Fn(usize) -> usize,
) -> Vec<f64> {
    let s = len as f64;
    let mut out = vec![0.0; len];
    for_tie_groups(len, key, |a, b, r| {
        let z = blom(r, s);
        for i in a..b {
            out[order(i)] = z;
        }
    });
    out
}

/// Rank normal scores of a flat slice (ArviZ `_z_scale` on the pooled draws).
pub(crate) fn z_scale_flat(flat: &[f64]) -> Vec<f64> {
    let sorted = sorted_with_index(flat);
    z_from_order(sorted.len(), |i| sorted[i].0, |i| sorted[i].1)
}

/// Rank-normalises an already validated matrix (ArviZ `_z_scale`).
pub(crate) fn z_scale<C: AsRef<[f64]>>(m: &[C]) -> Vec<Vec<f64>> {
    let flat: Vec<f64> = m.iter().flat_map(|c| c.as_ref().iter().copied()).collect();
    let z = z_scale_flat(&flat);
    let n = m.first().map_or(0, |c| c.as_ref().len());
    z.chunks(n.max(1)).map(<[f64]>::to_vec).collect()
}

/// Both rank normalisations of the rank-normalised split R-hat, from **one** sort of the
/// pooled draws `flat`: the bulk scores `z(x)` and the folded scores `z(|x − median(x)|)`.
///
/// The folded values are sorted without a second sort: below the median they are the sorted
/// draws read backwards, from the median up they are read forwards, and `v ↦ |v − m|` is
/// monotone on each side (rounding is monotone), so merging the two runs sorts them.
/// Returns `(bulk, folded, median)`.
pub(crate) fn z_bulk_and_folded(flat: &[f64]) -> (Vec<f64>, Vec<f64>, f64) {
    let sorted = sorted_with_index(flat);
    let n = sorted.len();
    let bulk = z_from_order(n, |i| sorted[i].0, |i| sorted[i].1);
    let med = if n % 2 == 1 {
        sorted[n / 2].0
    } else {
        (sorted[n / 2 - 1].0 + sorted[n / 2].0) / 2.0
    };
    // First position whose value is ≥ the median: [0, p) lies below it, [p, n) above.
    let p = sorted.partition_point(|&(v, _)| v < med);
    let fold = |k: usize| (sorted[k].0 - med).abs();
    let mut merged: Vec<(f64, usize)> = Vec::with_capacity(n);
    let (mut lo, mut hi) = (p, p); // lo: next below-median index + 1; hi: next above
    while lo > 0 || hi < n {
        let take_lo = hi >= n || (lo > 0 && fold(lo - 1) <= fold(hi));
        let k = if take_lo {
            lo -= 1;
            lo
        } else {
            hi += 1;
            hi - 1
        };
        merged.push((fold(k), sorted[k].1));
    }
    let folded = z_from_order(n, |i| merged[i].0, |i| merged[i].1);
    (bulk, folded, med)
}

/// Inverse of the standard normal CDF, `Φ⁻¹(p)` for `0 < p < 1`.
///
/// Wichura's algorithm AS 241 (`PPND16`): three minimax rational functions of degree 7/7 —
/// in `q = p − 1/2` for `|q| ≤ 0.425`, and in `r = sqrt(−ln min(p, 1 − p))` for
/// `r ≤ 5` and `r > 5` (down to `p ≈ 1e-300`) — with relative error about `1e-16`
/// (tested against SciPy's `ndtri` to 1e-15 relative). No iteration, no `erfc`.
///
/// ```text
/// |q| ≤ 0.425:  Φ⁻¹(p) = q · A(0.180625 − q²) / B(0.180625 − q²)
/// otherwise:    Φ⁻¹(p) = ± C(r − 1.6) / D(r − 1.6)   (r ≤ 5),   ± E(r − 5) / F(r − 5)   (r > 5)
/// ```
///
/// Reference: M. J. Wichura (1988), Algorithm AS 241: The percentage points of the normal
/// distribution, *Applied Statistics* 37(3), 477–484.
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

/// `c[0] + c[1] x + … + c[7] x⁷` by Horner's rule.
#[inline(always)]
fn poly7(c: &[f64; 8], x: f64) -> f64 {
    let mut v = c[7];
    for k in (0..7).rev() {
        v = v * x + c[k];
    }
    v
}

/// AS 241 (`PPND16`) for `0 < p < 1` (Wichura 1988; coefficients from the paper).
pub(crate) fn inv_norm_unchecked(p: f64) -> f64 {
    const A: [f64; 8] = [
        3.3871328727963666080e0,
        1.3314166789178437745e+2,
        1.9715909503065514427e+3,
        1.3731693765509461125e+4,
        4.5921953931549871457e+4,
        6.7265770927008700853e+4,
        3.3430575583588128105e+4,
        2.5090809287301226727e+3,
    ];
    const B: [f64; 8] = [
        1.0,
        4.2313330701600911252e+1,
        6.8718700749205790830e+2,
        5.3941960214247511077e+3,
        2.1213794301586595867e+4,
        3.9307895800092710610e+4,
        2.8729085735721942674e+4,
        5.2264952788528545610e+3,
    ];
    const C: [f64; 8] = [
        1.42343711074968357734e0,
        4.63033784615654529590e0,
        5.76949722146069140550e0,
        3.64784832476320460504e0,
        1.27045825245236838258e0,
        2.41780725177450611770e-1,
        2.27238449892691845833e-2,
        7.74545014278341407640e-4,
    ];
    const D: [f64; 8] = [
        1.0,
        2.05319162663775882187e0,
        1.67638483018380384940e0,
        6.89767334985100004550e-1,
        1.48103976427480074590e-1,
        1.51986665636164571966e-2,
        5.47593808499534494600e-4,
        1.05075007164441684324e-9,
    ];
    const E: [f64; 8] = [
        6.65790464350110377720e0,
        5.46378491116411436990e0,
        1.78482653991729133580e0,
        2.96560571828504891230e-1,
        2.65321895265761230930e-2,
        1.24266094738807843860e-3,
        2.71155556874348757815e-5,
        2.01033439929228813265e-7,
    ];
    const F: [f64; 8] = [
        1.0,
        5.99832206555887937690e-1,
        1.36929880922735805310e-1,
        1.48753612908506148525e-2,
        7.86869131145613259100e-4,
        1.84631831751005468180e-5,
        1.42151175831644588870e-7,
        2.04426310338993978564e-15,
    ];
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q * poly7(&A, r) / poly7(&B, r);
    }
    // 1 − p is exact for p in [0.5, 1].
    let tail = if q < 0.0 { p } else { 1.0 - p };
    let r = (-tail.ln()).sqrt();
    let v = if r <= 5.0 {
        let r = r - 1.6;
        poly7(&C, r) / poly7(&D, r)
    } else {
        let r = r - 5.0;
        poly7(&E, r) / poly7(&F, r)
    };
    if q < 0.0 { -v } else { v }
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

    /// Catches: a wrong AS 241 coefficient or region boundary.
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
