//! Autocovariance and autocorrelation of a single chain via a real FFT (`realfft`, on top of
//! `rustfft`), zero-padded to a 5-smooth length ≥ 2n as ArviZ's `autocov` does.

use super::{DiagnosticsError, Result, check_finite, finite, invalid, mean};
use realfft::RealFftPlanner;
use realfft::num_complex::Complex;
use std::cell::RefCell;

thread_local! {
    /// One planner per thread: it caches the plans (twiddles) by length, so repeated
    /// diagnostics of equally long chains plan once.
    static PLANNER: RefCell<RealFftPlanner<f64>> = RefCell::new(RealFftPlanner::new());
}

/// The smallest `2^a 3^b 5^c ≥ n` (SciPy's `next_fast_len`, which ArviZ pads to).
fn fast_len(n: usize) -> usize {
    let mut best = n.next_power_of_two();
    let mut p5 = 1usize;
    while p5 < best {
        let mut p35 = p5;
        while p35 < best {
            // Smallest power of two taking p35 to ≥ n.
            let mut m = p35;
            while m < n {
                m *= 2;
            }
            best = best.min(m);
            p35 *= 3;
        }
        p5 *= 5;
    }
    best
}

/// Sums of the autocovariances of several equally long chains, in one inverse FFT.
///
/// `γ̂_c(t) = (1/n) Σ_i (x_{c,i} − x̄_c)(x_{c,i+t} − x̄_c)` is the inverse transform of the
/// power spectrum `|X_c|²/n` of the zero-padded centred chain, and the transform is linear, so
/// `Σ_c γ̂_c = IFFT(Σ_c |X_c|²)/(m n)`: one forward FFT per chain and one inverse in all.
pub(crate) struct AutocovSum {
    n: usize,
    m: usize,
    fwd: std::sync::Arc<dyn realfft::RealToComplex<f64>>,
    inv: std::sync::Arc<dyn realfft::ComplexToReal<f64>>,
    time: Vec<f64>,
    freq: Vec<Complex<f64>>,
    power: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
    chains: usize,
}

impl AutocovSum {
    /// A workspace for chains of `n ≥ 1` draws.
    pub(crate) fn new(n: usize) -> Self {
        let m = fast_len(2 * n);
        let (fwd, inv) = PLANNER.with(|p| {
            let mut p = p.borrow_mut();
            (p.plan_fft_forward(m), p.plan_fft_inverse(m))
        });
        let scratch_len = fwd.get_scratch_len().max(inv.get_scratch_len());
        Self {
            n,
            m,
            time: vec![0.0; m],
            freq: fwd.make_output_vec(),
            power: fwd.make_output_vec(),
            scratch: vec![Complex::default(); scratch_len],
            fwd,
            inv,
            chains: 0,
        }
    }

    /// Adds one chain (of the workspace's length) to the sum.
    pub(crate) fn add(&mut self, x: &[f64]) {
        debug_assert_eq!(x.len(), self.n);
        let mu = mean(x);
        for (t, &v) in self.time.iter_mut().zip(x) {
            *t = v - mu;
        }
        self.time[self.n..].fill(0.0);
        // Only fails on wrong buffer lengths, which `new` rules out; a NaN result would
        // surface as a non-finite ESS (an error), never as a plausible number.
        if self
            .fwd
            .process_with_scratch(&mut self.time, &mut self.freq, &mut self.scratch)
            .is_err()
        {
            self.power.fill(Complex::new(f64::NAN, 0.0));
        }
        for (p, f) in self.power.iter_mut().zip(&self.freq) {
            p.re += f.norm_sqr();
        }
        self.chains += 1;
    }

    /// The summed autocovariances at lags `0 … n−1` (consumes the accumulated spectrum).
    pub(crate) fn finish(mut self) -> Vec<f64> {
        for p in self.power.iter_mut() {
            p.im = 0.0;
        }
        if self
            .inv
            .process_with_scratch(&mut self.power, &mut self.time, &mut self.scratch)
            .is_err()
        {
            return vec![f64::NAN; self.n];
        }
        let scale = 1.0 / (self.m as f64 * self.n as f64);
        self.time.truncate(self.n);
        self.time.iter_mut().for_each(|v| *v *= scale);
        self.time
    }
}

/// Autocovariance of one chain (internal, no checks).
pub(crate) fn autocov_unchecked(x: &[f64]) -> Vec<f64> {
    let mut s = AutocovSum::new(x.len());
    s.add(x);
    s.finish()
}

/// Autocovariance of one chain at every lag `0 … n−1`, computed with a
/// zero-padded (to a 5-smooth length ≥ 2n) real FFT, in O(n log n):
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

    /// Catches: insufficient zero padding
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

    /// Catches: silently returning NaN for bad input.
    #[test]
    fn rejects_bad_input() {
        assert!(autocovariance(&[]).is_err());
        assert!(autocovariance(&[1.0, f64::NAN]).is_err());
        assert!(autocorrelation(&[2.0, 2.0, 2.0]).is_err());
    }
}
