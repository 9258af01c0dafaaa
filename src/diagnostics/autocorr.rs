//! Autocovariance and autocorrelation of a single chain via a radix-2 FFT.

use super::{DiagnosticsError, Result, check_finite, finite, invalid, mean};

/// Minimal complex number for the FFT.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Complex {
    pub(crate) re: f64,
    pub(crate) im: f64,
}

impl Complex {
    fn mul(self, o: Complex) -> Complex {
        Complex {
            re: self.re * o.re - self.im * o.im,
            im: self.re * o.im + self.im * o.re,
        }
    }
    fn add(self, o: Complex) -> Complex {
        Complex {
            re: self.re + o.re,
            im: self.im + o.im,
        }
    }
    fn sub(self, o: Complex) -> Complex {
        Complex {
            re: self.re - o.re,
            im: self.im - o.im,
        }
    }
}

/// In-place iterative radix-2 Cooley–Tukey FFT; `buf.len()` must be a power of
/// two. `inverse` uses the `+i` sign and does *not* divide by the length.
pub(crate) fn fft_in_place(buf: &mut [Complex], inverse: bool) {
    let n = buf.len();
    debug_assert!(n.is_power_of_two());
    if n <= 1 {
        return;
    }
    // Bit-reversal permutation.
    let bits = n.trailing_zeros();
    for i in 0..n {
        let j = i.reverse_bits() >> (usize::BITS - bits);
        if j > i {
            buf.swap(i, j);
        }
    }
    // Twiddles computed directly (no recurrence) for accuracy.
    let sign = if inverse { 1.0 } else { -1.0 };
    let tw: Vec<Complex> = (0..n / 2)
        .map(|k| {
            let a = sign * 2.0 * std::f64::consts::PI * k as f64 / n as f64;
            Complex {
                re: a.cos(),
                im: a.sin(),
            }
        })
        .collect();
    let mut len = 2;
    while len <= n {
        let half = len / 2;
        let step = n / len;
        for start in (0..n).step_by(len) {
            for k in 0..half {
                let w = tw[k * step];
                let a = buf[start + k];
                let b = buf[start + k + half].mul(w);
                buf[start + k] = a.add(b);
                buf[start + k + half] = a.sub(b);
            }
        }
        len *= 2;
    }
}

/// Validates a chain and returns its autocovariance (internal, no checks).
pub(crate) fn autocov_unchecked(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let m = (2 * n).next_power_of_two();
    let mu = mean(x);
    let mut buf = vec![Complex::default(); m];
    for (b, &v) in buf.iter_mut().zip(x) {
        b.re = v - mu;
    }
    fft_in_place(&mut buf, false);
    for b in buf.iter_mut() {
        *b = Complex {
            re: b.re * b.re + b.im * b.im,
            im: 0.0,
        };
    }
    fft_in_place(&mut buf, true);
    let scale = 1.0 / (m as f64 * n as f64);
    buf[..n].iter().map(|c| c.re * scale).collect()
}

/// Autocovariance of one chain at every lag `0 … n−1`, computed with a
/// zero-padded (to a power of two ≥ 2n) radix-2 FFT, in O(n log n):
///
/// ```text
/// γ̂(t) = (1/n) Σ_{i=0}^{n−1−t} (x_i − x̄)(x_{i+t} − x̄)
/// ```
///
/// This is the biased (1/n) estimator used by ArviZ's `autocov`
/// (and by Geyer 1992), which keeps the sequence positive semi-definite.
///
/// # Errors
/// An empty chain or a non-finite draw.
///
/// ```
/// use langevin::diagnostics::autocovariance;
/// let g = autocovariance(&[1.0, 2.0, 3.0, 4.0]).unwrap();
/// assert!((g[0] - 1.25).abs() < 1e-12);   // population variance
/// assert!((g[1] - 0.3125).abs() < 1e-12); // (−1.5·−0.5 + −0.5·0.5 + 0.5·1.5)/4
/// ```
pub fn autocovariance(chain: &[f64]) -> Result<Vec<f64>> {
    if chain.is_empty() {
        return Err(invalid("chain", "must contain at least one draw"));
    }
    check_finite("chain", chain)?;
    let g = autocov_unchecked(chain);
    for &v in &g {
        finite("autocovariance", v)?;
    }
    Ok(g)
}

/// Autocorrelation of one chain at every lag `0 … n−1`:
///
/// ```text
/// ρ̂(t) = γ̂(t) / γ̂(0)
/// ```
///
/// with `γ̂` from [`autocovariance`] (as ArviZ's `autocorr`).
///
/// # Errors
/// An empty chain, a non-finite draw, or a constant chain (`γ̂(0) = 0`).
///
/// ```
/// use langevin::diagnostics::autocorrelation;
/// let r = autocorrelation(&[1.0, -1.0, 1.0, -1.0]).unwrap();
/// assert!((r[0] - 1.0).abs() < 1e-12 && (r[1] + 0.75).abs() < 1e-12);
/// ```
pub fn autocorrelation(chain: &[f64]) -> Result<Vec<f64>> {
    let g = autocovariance(chain)?;
    let g0 = g[0];
    if g0 <= 0.0 {
        return Err(DiagnosticsError::ZeroVariance {
            what: "autocorrelation",
        });
    }
    Ok(g.into_iter().map(|v| v / g0).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn direct(x: &[f64]) -> Vec<f64> {
        let n = x.len();
        let mu = mean(x);
        (0..n)
            .map(|t| {
                (0..n - t)
                    .map(|i| (x[i] - mu) * (x[i + t] - mu))
                    .sum::<f64>()
                    / n as f64
            })
            .collect()
    }

    /// Catches: FFT bit-reversal/twiddle bugs, insufficient zero padding
    /// (circular wrap-around), wrong normalisation. Deterministic.
    #[test]
    fn fft_autocov_matches_direct_sum() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        for &n in &[1usize, 2, 3, 5, 64, 100, 257, 1000] {
            let mut x = vec![0.0; n];
            let mut prev = 0.0;
            for v in x.iter_mut() {
                prev = 0.8 * prev + rng.random::<f64>() - 0.5;
                *v = prev + 3.0;
            }
            let a = autocovariance(&x).unwrap();
            let b = direct(&x);
            let scale = b[0].abs().max(1e-300);
            for t in 0..n {
                assert!(
                    (a[t] - b[t]).abs() <= 1e-12 * scale,
                    "n={n} t={t}: {} vs {}",
                    a[t],
                    b[t]
                );
            }
        }
    }

    /// Catches: forward/inverse sign or scaling mismatch in the FFT.
    #[test]
    fn fft_roundtrip() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let orig: Vec<Complex> = (0..128)
            .map(|_| Complex {
                re: rng.random(),
                im: rng.random(),
            })
            .collect();
        let mut buf = orig.clone();
        fft_in_place(&mut buf, false);
        fft_in_place(&mut buf, true);
        for (a, b) in buf.iter().zip(&orig) {
            assert!((a.re / 128.0 - b.re).abs() < 1e-14 && (a.im / 128.0 - b.im).abs() < 1e-14);
        }
    }

    /// Catches: silently returning NaN for bad input.
    #[test]
    fn rejects_bad_input() {
        assert!(autocovariance(&[]).is_err());
        assert!(autocovariance(&[1.0, f64::NAN]).is_err());
        assert!(autocorrelation(&[2.0, 2.0, 2.0]).is_err());
    }
}
