//! The vectorised normal generator `langevin::rng::SimdNormal`: its documented stream (lanes,
//! interleaving, golden values), bit-identity across instruction-set paths, and its law
//! (KS and Anderson–Darling at n = 10⁷, the tail beyond R and beyond 6σ, moments, lane
//! correlations).
//!
//! False-failure budget: ≈ 2e-6 per test (Bonferroni over each test's sub-statistics); every
//! seed is fixed, so a pass is reproducible. Each statistical test names the bug it catches
//! with the value the statistic took when that bug was put into `src/rng/normal.rs` (measured
//! on this code, then reverted).

use langevin::diagnostics::{anderson_darling, ks_test};
use langevin::rng::{LANES, SimdNormal, SimdPath, Ziggurat, stream};
use rand::RngExt;
use statrs::distribution::{Normal, Uniform};
use statrs::function::erf::erfc;

/// `P(Z > t)` with full relative accuracy in the upper tail.
fn sf(t: f64) -> f64 {
    0.5 * erfc(t / std::f64::consts::SQRT_2)
}

fn draws(seed: u64, n: usize) -> Vec<f64> {
    let mut z = vec![0.0; n];
    SimdNormal::new(seed).fill(&mut z);
    z
}

/// The documented stream: value `8k + j` is the `k`-th draw of the scalar `Ziggurat` from
/// `stream(seed, j)`. Catches: lanes seeded other than as documented, a vector fast path that
/// differs from the scalar definition in any bit, slow-path bookkeeping (a missed lane
/// finishing from the wrong lane's state).
#[test]
fn lanes_are_the_documented_streams() {
    for seed in [0u64, 7, 2026] {
        let n = 8 * 20_000; // ≈ 1 900 slow-path visits per lane: wedge and tail exercised
        let z = draws(seed, n);
        for j in 0..LANES {
            let mut rng = stream(seed, j as u64);
            for k in 0..n / LANES {
                let r: f64 = rng.sample(Ziggurat);
                assert_eq!(
                    z[LANES * k + j].to_bits(),
                    r.to_bits(),
                    "seed {seed}, lane {j}, draw {k}"
                );
            }
        }
    }
}

/// Every path this CPU has (Portable, AVX2, AVX-512) gives the same bits, however the
/// stream is cut into fills, and `next_f64` agrees with `fill`; an `f32` fill is the rounded
/// `f64` stream. Catches: a path-dependent result (a fused multiply-add, a lane-count
/// dependence), the buffer of a partly used block being dropped or reused.
#[test]
fn every_path_gives_the_same_bits() {
    let n = 40_000;
    let reference = draws(99, n);
    let paths = SimdPath::available();
    eprintln!("paths available: {paths:?}");
    let cuts = [1usize, 7, 8, 9, 3, 64, 1000, 5, 17, 2048];
    for &p in &paths {
        let mut g = SimdNormal::new(99).on_path(p).expect("listed as available");
        assert_eq!(g.path(), p);
        let mut got = Vec::with_capacity(n);
        let mut c = 0;
        while got.len() < n {
            let m = cuts[c % cuts.len()].min(n - got.len());
            c += 1;
            let mut buf = vec![0.0f64; m];
            g.fill(&mut buf);
            got.extend_from_slice(&buf);
            if got.len() < n {
                got.push(g.next_f64());
            }
        }
        for (k, (a, b)) in got.iter().zip(&reference).enumerate() {
            assert_eq!(a.to_bits(), b.to_bits(), "path {p:?}, value {k}");
        }
        let mut g32 = SimdNormal::new(99).on_path(p).unwrap();
        let mut z32 = vec![0.0f32; 1001];
        g32.fill(&mut z32);
        for (a, b) in z32.iter().zip(&reference) {
            assert_eq!(a.to_bits(), (*b as f32).to_bits());
        }
    }
}

/// Golden values: the first values of `SimdNormal::new(2026)` and of `Ziggurat` on
/// `stream(1, 0)`, as bit patterns. Catches: any change of the stream (tables, bit layout,
/// seeding, interleaving) — such a change must be deliberate and listed in the CHANGELOG.
#[test]
fn golden_values() {
    const SIMD_2026: [u64; 12] = [
        0xbff9_5aac_b413_2826,
        0xbfdd_8fe4_e43c_ad4f,
        0xbfe5_5823_497b_db4c,
        0xbfdc_3dd3_9851_3c2b,
        0x3fe0_25b4_2000_9f90,
        0x3fe3_8ad6_70f6_88e6,
        0x3fe1_d359_1b2c_c97f,
        0xbfce_0c79_5a9b_b7eb,
        0xbffb_2af0_f974_77ac,
        0x3ff1_84f8_c6ef_7823,
        0xbff6_71cc_e2a7_6169,
        0x3fd9_5d7c_133e_3ab4,
    ];
    const ZIG_1_0: [u64; 4] = [
        0x3fdc_59e3_de3e_8980,
        0x3fef_0fc3_c293_dae5,
        0xbff7_2d1f_d844_2056,
        0x3fec_c2e1_5571_88f8,
    ];
    let z = draws(2026, SIMD_2026.len());
    let mut rng = stream(1, 0);
    let s: Vec<f64> = (0..ZIG_1_0.len()).map(|_| rng.sample(Ziggurat)).collect();
    for (a, g) in z.iter().zip(SIMD_2026) {
        assert_eq!(a.to_bits(), g);
    }
    for (a, g) in s.iter().zip(ZIG_1_0) {
        assert_eq!(a.to_bits(), g);
    }
}

/// KS and Anderson–Darling of 10⁷ draws against N(0, 1), each at false-failure rate 1e-6
/// (p-values from `langevin::diagnostics`: exact KS tail, Marsaglia & Marsaglia's AD).
/// Catches (measured with the bug put in): the fast-path test against the layer's own width
/// `X[i]` instead of `X[i+1]` (whole layers accepted, no wedge, no tail) — AD p = 6e-11
/// (fails; KS p = 3.2e-3 alone would pass); the wedge test skipped (every wedge candidate
/// accepted) — AD p = 6e-11, KS p = 3.7e-3. AD is the stronger of the two for these
/// shape errors; KS guards against location/scale errors in the bulk.
#[test]
fn ks_and_anderson_darling_at_ten_million() {
    let z = draws(12_345, 10_000_000);
    let std = Normal::standard();
    let ks = ks_test(&z, &std).unwrap();
    let ad = anderson_darling(&z, &std).unwrap();
    eprintln!(
        "KS D = {:.3e} (sqrt(n) D = {:.3}), p = {:.3e}; AD A² = {:.3}, p = {:.3e}",
        ks.statistic,
        ks.statistic * (z.len() as f64).sqrt(),
        ks.p_value,
        ad.statistic,
        ad.p_value
    );
    assert!(ks.p_value > 1e-6, "KS rejects N(0, 1): {ks:?}");
    assert!(ad.p_value > 1e-6, "AD rejects N(0, 1): {ad:?}");
}

/// The tail beyond the ziggurat's R = 3.654 (reached only through the tail sampler), from
/// 10⁸ draws: (a) the number of `|z| > R` against Binomial(n, 2Φ(−R)) (≈ 25 800 ± 161),
/// |z-score| < 5 (false-failure 5.7e-7); (b) the conditional law of `|z|` given `|z| > R`,
/// by KS of `u = Φ(−|z|)/Φ(−R)` against U(0, 1) (false-failure 1e-6). Total 1.6e-6.
/// The values beyond 5σ and 6σ are counted and printed (expected 57.3 and 0.197 at
/// n = 10⁸: too few for a test of their own; `tail_sampler_beyond_six_sigma` tests there).
/// Catches (measured): a tail sampler without its rejection step (an exponential beyond R)
/// — conditional KS p = 1.4e-32 (193 values beyond 5σ instead of ≈ 58); the exponential's
/// rate `a²` instead of `a` — p = 0 (no value beyond 5σ).
#[test]
fn tail_beyond_r() {
    let r = Ziggurat::TAIL_START;
    let mut g = SimdNormal::new(77);
    let mut buf = vec![0.0f64; 1 << 20];
    let (mut total, mut tail) = (0usize, Vec::new());
    let (mut beyond5, mut beyond6) = (0usize, 0usize);
    while total < 100_000_000 {
        g.fill(&mut buf);
        total += buf.len();
        for &v in &buf {
            let a = v.abs();
            if a > r {
                tail.push(a);
                beyond5 += usize::from(a > 5.0);
                beyond6 += usize::from(a > 6.0);
            }
        }
    }
    let p = 2.0 * sf(r);
    let mean = total as f64 * p;
    let zc = (tail.len() as f64 - mean) / (mean * (1.0 - p)).sqrt();
    let u: Vec<f64> = tail.iter().map(|&a| sf(a) / sf(r)).collect();
    let ks = ks_test(&u, &Uniform::new(0.0, 1.0).unwrap()).unwrap();
    eprintln!(
        "n = {total}: {} beyond R (expected {mean:.1}, z = {zc:.2}); beyond 5: {beyond5} \
         (expected {:.1}); beyond 6: {beyond6} (expected {:.3}); conditional KS p = {:.3e}",
        tail.len(),
        total as f64 * 2.0 * sf(5.0),
        total as f64 * 2.0 * sf(6.0),
        ks.p_value
    );
    assert!(zc.abs() < 5.0, "tail frequency off: z = {zc}");
    assert!(ks.p_value > 1e-6, "tail law off: {ks:?}");
}

/// The tail sampler itself far out: 10⁶ draws of `Z | Z > 6` (`Ziggurat::tail(6.0, ·)`, the
/// same code the ziggurat runs at R), KS of `Φ(−z)/Φ(−6)` against U(0, 1), false-failure
/// 1e-6. Catches (measured): the tail without its rejection step — KS p = 1.6e-221; the
/// exponential's rate `a²` instead of `a` — p = 0.
#[test]
fn tail_sampler_beyond_six_sigma() {
    let mut rng = stream(6, 0);
    let n = 1_000_000;
    let u: Vec<f64> = (0..n)
        .map(|_| {
            let t = Ziggurat::tail(6.0, &mut rng);
            assert!(t > 6.0);
            sf(t) / sf(6.0)
        })
        .collect();
    let ks = ks_test(&u, &Uniform::new(0.0, 1.0).unwrap()).unwrap();
    eprintln!(
        "Z | Z > 6: KS D = {:.3e}, p = {:.3e}",
        ks.statistic, ks.p_value
    );
    assert!(ks.p_value > 1e-6, "{ks:?}");
    assert!(Ziggurat::tail(0.0, &mut rng).is_nan());
}

/// Mean, variance, third moment and excess kurtosis of 10⁷ draws, each standardised by its
/// exact null standard error (sqrt(1/n), sqrt(2/n), sqrt(15/n), sqrt(96/n)); |z| < 5.2 each,
/// two-sided 2.0e-7 each, 8e-7 over the four. Catches (measured): the fast-path test against
/// `X[i]` instead of `X[i+1]` — variance z = 15.4; the wedge test skipped — z = 15.9.
#[test]
fn moments() {
    let z = draws(31_337, 10_000_000);
    let n = z.len() as f64;
    let (mut s1, mut s2, mut s3, mut s4) = (0.0, 0.0, 0.0, 0.0);
    for &v in &z {
        let v2 = v * v;
        s1 += v;
        s2 += v2;
        s3 += v2 * v;
        s4 += v2 * v2;
    }
    let stats = [
        ("mean", s1 / n, 0.0, (1.0 / n).sqrt()),
        ("E z²", s2 / n, 1.0, (2.0 / n).sqrt()),
        ("E z³", s3 / n, 0.0, (15.0 / n).sqrt()),
        ("E z⁴", s4 / n, 3.0, (96.0 / n).sqrt()),
    ];
    for (name, v, expect, se) in stats {
        let zs = (v - expect) / se;
        eprintln!("{name} = {v:.6} (z = {zs:.2})");
        assert!(zs.abs() < 5.2, "{name} = {v}, z = {zs}");
    }
}

/// Correlations between stream values `k` and `k + L`, L = 1..8 (L < 8 pairs different lanes
/// in one block, L = 8 the same lane's consecutive draws), of `z` and of `|z|` (dependence
/// through a shared layer index shows in `|z|`): 16 statistics, each `r sqrt(n)` ~ N(0, 1)
/// under independence, |·| < 5.3 (two-sided 1.2e-7 each, 1.9e-6 in all), n = 10⁷.
/// Catches (measured): every lane seeded with the same key — lag-1 `r sqrt(n)` = 2768; lane
/// `j` = lane 0's stream advanced by `j` draws (a botched jump-ahead: overlapping streams,
/// which drift apart at each slow-path visit) — lag-1 `r sqrt(n)` = 6.0, caught with little
/// margin (a subtler overlap could pass; `lanes_are_the_documented_streams` pins the
/// seeding itself).
#[test]
fn lanes_are_uncorrelated() {
    let z = draws(4_242, 10_000_000);
    let m_abs = (2.0 / std::f64::consts::PI).sqrt();
    let sd_abs = (1.0 - 2.0 / std::f64::consts::PI).sqrt();
    for lag in 1..=8 {
        let m = z.len() - lag;
        let (mut c, mut ca) = (0.0, 0.0);
        for k in 0..m {
            c += z[k] * z[k + lag];
            ca += (z[k].abs() - m_abs) * (z[k + lag].abs() - m_abs);
        }
        let r = c / m as f64;
        let ra = ca / (m as f64 * sd_abs * sd_abs);
        let (t, ta) = (r * (m as f64).sqrt(), ra * (m as f64).sqrt());
        eprintln!("lag {lag}: r sqrt(n) = {t:.2}, r_abs sqrt(n) = {ta:.2}");
        assert!(t.abs() < 5.3 && ta.abs() < 5.3, "lag {lag}: {t}, {ta}");
    }
}
