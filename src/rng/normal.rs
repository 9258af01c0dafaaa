//! Vectorised standard normals: a 256-layer ziggurat on eight Xoshiro256++ lanes.
//!
//! # The stream
//! [`SimdNormal::new`]`(seed)` runs [`LANES`]` = 8` independent Xoshiro256++ generators; lane
//! `j` is exactly [`crate::rng::stream`]`(seed, j)`. Each lane draws its own sequence of
//! normals with the scalar [`Ziggurat`] sampler below, and the output interleaves them: value
//! `8k + j` of the stream is lane `j`'s `k`-th normal. Fills of any sizes cut the same
//! sequence (a partly used block is kept for the next call), so `fill(3)` then `fill(5)`
//! gives the same eight values as `fill(8)`. The definition involves only the lanes' integer
//! streams, one IEEE multiplication and comparison on the fast path, and `exp`/`ln` of the
//! platform's libm on the rare (≈ 1 %) slow path, evaluated in scalar code; Rust never fuses a
//! multiply and an add, so the values are **bit-identical on every instruction-set path**
//! ([`SimdPath::Portable`], [`SimdPath::Avx2`], [`SimdPath::Avx512`] — checked by
//! `tests/simd_normals.rs`, which also pins golden values).
//!
//! # Method and exactness
//! The ziggurat of Marsaglia & Tsang (2000) in Doornik's (2005) layout covers
//! `f(x) = exp(−x²/2)` on `x ≥ 0` with 256 layers of equal area `V`: layer `i ≥ 1` is the
//! rectangle `[0, X[i]] × [F[i], F[i+1]]`, layer 0 the rectangle `[0, R] × [0, f(R)]` plus the
//! tail beyond `R = 3.6541…`, treated as a rectangle of width `X[0] = V / f(R)`. One 64-bit
//! draw gives the layer `i` (its low 8 bits) and a signed uniform `u ∈ [−1, 1)` (its high 52
//! bits — disjoint bits, avoiding the correlation of the original 32-bit version that Doornik
//! pointed out); the candidate is `x = u X[i]`:
//! * `|x| < X[i+1]`: the point lies under the curve — accept (≈ 98.8 % of draws; this is the
//!   part evaluated eight lanes at a time);
//! * `i = 0`: sample the tail `|x| > R` exactly with Marsaglia's (1964) method: repeat
//!   `a = −ln(U₁)/R, b = −ln(U₂)` until `2b ≥ a²`, return `±(R + a)`;
//! * otherwise the wedge: accept if `F[i] + (F[i+1] − F[i]) U < f(x)`, else start over.
//!
//! Every accepted point is uniform under the graph of `f` (a uniform layer, a uniform point in
//! it, rejection of what lies above the curve), so `x` is exactly N(0, 1) up to the resolution
//! of the uniforms (2⁻⁵² on the fast path, 2⁻⁵³ in the wedge and tail) and the rounding of the
//! tables to `f64` (generated in 60-digit arithmetic by `tests/fixtures/make_ziggurat_tables.py`).
//!
//! # Speed
//! The eight lanes' Xoshiro256++ updates, the layer lookup, the multiplication and the
//! acceptance test run as vector code (AVX2: two 4-lane halves, the generator update written
//! with explicit vector operations because AVX2 has no 64-bit rotate); a lane that leaves the
//! fast path finishes in scalar code. Runtime dispatch uses `pulp`, so a binary built for
//! baseline x86-64 still takes the AVX2 path where the CPU has it. Measured on the crate's
//! (shared, loaded) benchmark machine, user time of 10⁸ normals: AVX2 2.1–2.2 ns per normal,
//! rand_distr's scalar ziggurat 2.4–2.9 ns, the portable path 3.3 ns, AVX-512 3.4 ns (its table
//! lookups become 512-bit gathers) — a modest gain, not the 2–3× a vector generator can reach:
//! the per-lane table lookups (scalar loads and inserts on AVX2) dominate. See
//! `benches/normals.rs`.
//!
//! # References
//! * G. Marsaglia, W. W. Tsang (2000), The ziggurat method for generating random variables,
//!   *J. Stat. Softw.* 5(8).
//! * J. A. Doornik (2005), An improved ziggurat method to generate normal random samples,
//!   University of Oxford working paper.
//! * G. Marsaglia (1964), Generating a variable from the tail of the normal distribution,
//!   *Technometrics* 6(1):101–102.
//! * D. Blackman, S. Vigna (2021), Scrambled linear pseudorandom number generators, *ACM
//!   Trans. Math. Softw.* 47(4):36.
//! * G. E. P. Box, M. E. Muller (1958), A note on the generation of random normal deviates,
//!   *Ann. Math. Statist.* 29(2):610–611 — the alternative exact method, not used here: it
//!   needs vectorised `ln`, `sin` and `cos` accurate to the last bit on every path, and a
//!   prototype that had them (AVX2, four lanes, series for `ln` on `[√½, √2)` and for `sin`,
//!   `cos` on `[−π/4, π/4]` with the quadrant taken from the random bits, no table at all)
//!   spent about 100 vector operations per eight normals and ran 1.3–2.0× *slower* than
//!   rand_distr's scalar ziggurat in alternating rounds on the benchmark machine.

use super::ziggurat_tables::{F, X};
use crate::Real;
use pulp::{Simd, WithSimd};
use rand::Rng;
use rand_distr::Distribution;

/// `X[i]` and `X[i+1]` for `i < 256` as two tables indexed alike (so that both lookups are
/// one gather each on the vector path).
static X_LO: [f64; 256] = shifted(0);
static X_HI: [f64; 256] = shifted(1);

const fn shifted(by: usize) -> [f64; 256] {
    let mut a = [0.0; 256];
    let mut i = 0;
    while i < 256 {
        a[i] = X[i + by];
        i += 1;
    }
    a
}

/// The logical number of lanes of [`SimdNormal`] (fixed, whatever the vector width).
pub const LANES: usize = 8;

/// 2⁻⁵³.
const TWO_M53: f64 = 1.0 / 9_007_199_254_740_992.0;

/// The layer index and signed uniform `u ∈ [−1, 1)` of one 64-bit draw: bits 0–7 and 12–63.
#[inline(always)]
fn decode(b: u64) -> (usize, f64) {
    let i = (b & 0xff) as usize;
    // Exponent of 2.0 over the top 52 bits: a value in [2, 4); minus 3 gives [−1, 1).
    let u = f64::from_bits((b >> 12) | 0x4000_0000_0000_0000) - 3.0;
    (i, u)
}

/// A uniform in `[0, 1)` with 53 random bits.
#[inline(always)]
fn unit_closed_open(b: u64) -> f64 {
    (b >> 11) as f64 * TWO_M53
}

/// A uniform in `(0, 1]` with 53 random bits (safe for `ln`).
#[inline(always)]
fn unit_open_closed(b: u64) -> f64 {
    ((b >> 11) + 1) as f64 * TWO_M53
}

/// Marsaglia's (1964) exact sampler of `Z | Z > a` for `a > 0` (`next` yields 64-bit draws).
#[inline]
fn tail_beyond(a: f64, mut next: impl FnMut() -> u64) -> f64 {
    loop {
        let x = -unit_open_closed(next()).ln() / a;
        let y = -unit_open_closed(next()).ln();
        if 2.0 * y >= x * x {
            return a + x;
        }
    }
}

/// What follows a fast-path miss with layer `i`, uniform `u` and candidate `x`: the tail
/// (`i = 0`), or the wedge test; `None` means start over with a fresh draw.
#[inline]
fn slow_path(i: usize, u: f64, x: f64, mut next: impl FnMut() -> u64) -> Option<f64> {
    if i == 0 {
        let t = tail_beyond(X[1], &mut next);
        return Some(if u < 0.0 { -t } else { t });
    }
    let v = unit_closed_open(next());
    if F[i] + (F[i + 1] - F[i]) * v < (-0.5 * x * x).exp() {
        Some(x)
    } else {
        None
    }
}

/// One normal by the ziggurat from a source of 64-bit draws (the per-lane definition).
#[inline]
fn ziggurat(mut next: impl FnMut() -> u64) -> f64 {
    loop {
        let (i, u) = decode(next());
        let x = u * X[i];
        if x.abs() < X[i + 1] {
            return x;
        }
        if let Some(z) = slow_path(i, u, x, &mut next) {
            return z;
        }
    }
}

/// The scalar 256-layer ziggurat sampler of N(0, 1) that defines each lane of
/// [`SimdNormal`] (see the [module docs](self) for the method), usable on its own with any
/// RNG. Not the same stream as rand_distr's `StandardNormal` (different tables and bit
/// layout), but the same law.
///
/// ```
/// use langevin::rng::{stream, Ziggurat};
/// use rand::RngExt;
/// let mut rng = stream(1, 0);
/// let z: Vec<f64> = (0..10_000).map(|_| rng.sample(Ziggurat)).collect();
/// assert!((z.iter().sum::<f64>() / 1e4).abs() < 0.05);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ziggurat;

impl Distribution<f64> for Ziggurat {
    #[inline]
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        ziggurat(|| rng.next_u64())
    }
}

impl Ziggurat {
    /// An exact draw of `Z | Z > a` for a standard normal `Z` and `a > 0` (Marsaglia 1964) —
    /// the sampler of the ziggurat's tail (`a = R ≈ 3.654`), public so that its law can be
    /// tested far out (e.g. beyond 6σ). Returns NaN for `a ≤ 0` or non-finite `a`.
    pub fn tail<R: Rng + ?Sized>(a: f64, rng: &mut R) -> f64 {
        if !(a > 0.0 && a.is_finite()) {
            return f64::NAN;
        }
        tail_beyond(a, || rng.next_u64())
    }

    /// The tail start `R = 3.6541528853610088` of the 256-layer table: a draw from the
    /// ziggurat exceeds `R` in absolute value only through [`Ziggurat::tail`].
    pub const TAIL_START: f64 = super::ziggurat_tables::R;
}

/// The eight Xoshiro256++ states, word-major so that each word vectorises across lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lanes {
    s: [[u64; LANES]; 4],
}

impl Lanes {
    /// Lane `j` = `crate::rng::stream(seed, j)`: the key is hashed as in `stream`, and the
    /// state is the first four SplitMix64 outputs from that key (rand_xoshiro's
    /// `seed_from_u64`, checked against it in `tests/simd_normals.rs`).
    fn new(seed: u64) -> Self {
        let mut s = [[0u64; LANES]; 4];
        for j in 0..LANES {
            let key = super::stream_key(seed, j as u64);
            for (w, row) in s.iter_mut().enumerate() {
                row[j] = super::splitmix64(key.wrapping_add((w as u64).wrapping_mul(GOLDEN)));
            }
        }
        Self { s }
    }

    /// One Xoshiro256++ output of lane `j` (scalar).
    #[inline]
    fn next_lane(&mut self, j: usize) -> u64 {
        let [s0, s1, s2, s3] = &mut self.s;
        let r = s0[j]
            .wrapping_add(s3[j])
            .rotate_left(23)
            .wrapping_add(s0[j]);
        let t = s1[j] << 17;
        s2[j] ^= s0[j];
        s3[j] ^= s1[j];
        s1[j] ^= s2[j];
        s0[j] ^= s3[j];
        s2[j] ^= t;
        s3[j] = s3[j].rotate_left(45);
        r
    }

    /// One output of every lane (written as array operations so that they vectorise).
    #[inline(always)]
    fn next_all(&mut self) -> [u64; LANES] {
        let [s0, s1, s2, s3] = &mut self.s;
        let mut r = [0u64; LANES];
        for j in 0..LANES {
            r[j] = s0[j]
                .wrapping_add(s3[j])
                .rotate_left(23)
                .wrapping_add(s0[j]);
            let t = s1[j] << 17;
            s2[j] ^= s0[j];
            s3[j] ^= s1[j];
            s1[j] ^= s2[j];
            s0[j] ^= s3[j];
            s2[j] ^= t;
            s3[j] = s3[j].rotate_left(45);
        }
        r
    }

    /// The next normal of every lane into `out` (`out[j]` from lane `j`). The fast path is
    /// branch-free array code (vectorised); any miss hands the block to `finish_misses`.
    #[inline(always)]
    fn block(&mut self, out: &mut [f64; LANES]) {
        let b = self.next_all();
        self.block_from(b, out);
    }

    /// As [`Lanes::block`], from the lanes' next outputs `b` (already drawn).
    #[inline(always)]
    fn block_from(&mut self, b: [u64; LANES], out: &mut [f64; LANES]) {
        let mut ok = [0u64; LANES];
        for j in 0..LANES {
            let (i, u) = decode(b[j]);
            let x = u * X_LO[i];
            out[j] = x;
            ok[j] = u64::from(x.abs() < X_HI[i]);
        }
        let all = ok.iter().fold(1u64, |a, &o| a & o);
        if all == 0 {
            self.finish_misses(b, out);
        }
    }

    /// The scalar continuation of the lanes that left the fast path.
    #[cold]
    #[inline(never)]
    fn finish_misses(&mut self, b: [u64; LANES], out: &mut [f64; LANES]) {
        for j in 0..LANES {
            let (i, u) = decode(b[j]);
            let x = u * X[i];
            if x.abs() < X[i + 1] {
                continue;
            }
            out[j] = match slow_path(i, u, x, || self.next_lane(j)) {
                Some(z) => z,
                None => ziggurat(|| self.next_lane(j)),
            };
        }
    }
}

/// SplitMix64's increment (rand_xoshiro's `SplitMix64` adds it before each output).
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The instruction-set path a [`SimdNormal`] runs on. All paths give the same bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SimdPath {
    /// No runtime-detected extension: the baseline of the target (SSE2 on x86-64, NEON on
    /// aarch64), vectorised by the compiler where it can.
    Portable,
    /// x86-64-v3: AVX2 (+ FMA, unused: the arithmetic has no fused operations).
    Avx2,
    /// x86-64-v4: AVX-512 F/BW/CD/DQ/VL.
    Avx512,
}

impl SimdPath {
    /// The paths this CPU can run, narrowest first (always starts with `Portable`).
    pub fn available() -> Vec<SimdPath> {
        let mut v = vec![SimdPath::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if pulp::x86::V3::try_new().is_some() {
                v.push(SimdPath::Avx2);
            }
            if pulp::x86::V4::try_new().is_some() {
                v.push(SimdPath::Avx512);
            }
        }
        v
    }

    /// The path [`SimdNormal::new`] uses: AVX2 where available, else the portable path.
    /// AVX-512 is not chosen by default: its table lookups compile to 512-bit gathers, which
    /// made it slower than the AVX2 path on the machine it was measured on (3.4 against
    /// 2.1 ns per normal); force it with [`SimdNormal::on_path`].
    pub fn best() -> SimdPath {
        if Self::available().contains(&SimdPath::Avx2) {
            SimdPath::Avx2
        } else {
            SimdPath::Portable
        }
    }

    fn arch(self) -> Option<pulp::Arch> {
        match self {
            SimdPath::Portable => Some(pulp::Arch::Scalar),
            #[cfg(target_arch = "x86_64")]
            SimdPath::Avx2 => pulp::x86::V3::try_new().map(pulp::Arch::V3),
            #[cfg(target_arch = "x86_64")]
            SimdPath::Avx512 => pulp::x86::V4::try_new().map(pulp::Arch::V4),
            #[cfg(not(target_arch = "x86_64"))]
            _ => None,
        }
    }
}

/// A vectorised generator of standard normals: eight Xoshiro256++ lanes and a ziggurat whose
/// fast path runs on all lanes at once. See the [module docs](self) for the stream, the
/// method and its exactness.
///
/// ```
/// use langevin::rng::SimdNormal;
/// let mut g = SimdNormal::new(42);
/// let mut z = vec![0.0f64; 10_000];
/// g.fill(&mut z);
/// let var = z.iter().map(|v| v * v).sum::<f64>() / 1e4;
/// assert!((var - 1.0).abs() < 0.06); // 4 standard errors
/// // Same seed, same stream, however it is cut:
/// let mut h = SimdNormal::new(42);
/// let (mut a, mut b) = (vec![0.0f64; 3], vec![0.0f64; 9_997]);
/// h.fill(&mut a);
/// h.fill(&mut b);
/// assert_eq!(&z[..3], &a[..]);
/// assert_eq!(&z[3..], &b[..]);
/// ```
#[derive(Debug, Clone)]
pub struct SimdNormal {
    lanes: Lanes,
    buf: [f64; LANES],
    /// Next unread value of `buf` (`LANES` when empty).
    pos: usize,
    path: SimdPath,
    arch: pulp::Arch,
}

struct FillOp<'a, T> {
    lanes: &'a mut Lanes,
    out: &'a mut [T],
}

impl<T: Real> WithSimd for FillOp<'_, T> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) -> Self::Output {
        let mut lanes = *self.lanes;
        let mut z = [0.0f64; LANES];
        for c in self.out.chunks_exact_mut(LANES) {
            lanes.block(&mut z);
            for j in 0..LANES {
                c[j] = T::c(z[j]);
            }
        }
        *self.lanes = lanes;
    }
}

/// The AVX2 path's Xoshiro256++ update with explicit vector operations: AVX2 has no 64-bit
/// rotate, and left to itself the compiler rotates lane by lane in scalar registers.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{LANES, Lanes};
    use pulp::x86::V3;
    use pulp::{Simd, u64x4};

    #[inline(always)]
    fn rotl<const L: i32, const R: i32>(v: V3, x: u64x4) -> u64x4 {
        v.or_u64s(v.shl_const_u64x4::<L>(x), v.shr_const_u64x4::<R>(x))
    }

    #[inline(always)]
    fn next_all(v: V3, lanes: &mut Lanes) -> [u64; LANES] {
        let mut r = [0u64; LANES];
        for half in 0..2 {
            let o = 4 * half;
            let ld = |row: &[u64; LANES]| u64x4(row[o], row[o + 1], row[o + 2], row[o + 3]);
            let [r0, r1, r2, r3] = &mut lanes.s;
            let (mut s0, mut s1, mut s2, mut s3) = (ld(r0), ld(r1), ld(r2), ld(r3));
            let res = v.add_u64s(rotl::<23, 41>(v, v.add_u64s(s0, s3)), s0);
            let t = v.shl_const_u64x4::<17>(s1);
            s2 = v.xor_u64s(s2, s0);
            s3 = v.xor_u64s(s3, s1);
            s1 = v.xor_u64s(s1, s2);
            s0 = v.xor_u64s(s0, s3);
            s2 = v.xor_u64s(s2, t);
            s3 = rotl::<45, 19>(v, s3);
            let st = |row: &mut [u64; LANES], x: u64x4| {
                row[o..o + 4].copy_from_slice(&[x.0, x.1, x.2, x.3]);
            };
            st(r0, s0);
            st(r1, s1);
            st(r2, s2);
            st(r3, s3);
            r[o..o + 4].copy_from_slice(&[res.0, res.1, res.2, res.3]);
        }
        r
    }

    pub(super) struct FillOp<'a, T> {
        pub(super) v3: V3,
        pub(super) lanes: &'a mut Lanes,
        pub(super) out: &'a mut [T],
    }

    impl<T: crate::Real> pulp::WithSimd for FillOp<'_, T> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, _simd: S) -> Self::Output {
            let mut lanes = *self.lanes;
            let mut z = [0.0f64; LANES];
            for c in self.out.chunks_exact_mut(LANES) {
                let b = next_all(self.v3, &mut lanes);
                lanes.block_from(b, &mut z);
                for j in 0..LANES {
                    c[j] = T::c(z[j]);
                }
            }
            *self.lanes = lanes;
        }
    }
}

impl SimdNormal {
    /// The generator of `seed` on the [`SimdPath::best`] path (lane `j` is
    /// [`crate::rng::stream`]`(seed, j)`).
    pub fn new(seed: u64) -> Self {
        let path = SimdPath::best();
        Self {
            lanes: Lanes::new(seed),
            buf: [0.0; LANES],
            pos: LANES,
            path,
            arch: path.arch().unwrap_or(pulp::Arch::Scalar),
        }
    }

    /// The generator seeded by one `u64` drawn from `rng`: `SimdNormal::new(rng.next_u64())`
    /// (how the samplers derive it from a chain's stream).
    pub fn from_rng<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self::new(rng.next_u64())
    }

    /// The same generator forced onto `path`; `None` if this CPU cannot run it. The stream
    /// does not change (this exists to test exactly that, and to measure the paths).
    pub fn on_path(mut self, path: SimdPath) -> Option<Self> {
        self.arch = path.arch()?;
        self.path = path;
        Some(self)
    }

    /// The path in use.
    pub fn path(&self) -> SimdPath {
        self.path
    }

    /// The next value of the stream.
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        if self.pos == LANES {
            self.lanes.block(&mut self.buf);
            self.pos = 0;
        }
        let z = self.buf[self.pos];
        self.pos += 1;
        z
    }

    /// Fills `out` with the next `out.len()` values of the stream (rounded to `T`).
    #[inline]
    pub fn fill<T: Real>(&mut self, out: &mut [T]) {
        // Values left over from a partly used block come first.
        let lead = (LANES - self.pos).min(out.len());
        for o in out[..lead].iter_mut() {
            *o = T::c(self.buf[self.pos]);
            self.pos += 1;
        }
        let rest = &mut out[lead..];
        let full = rest.len() / LANES * LANES;
        let (body, tail) = rest.split_at_mut(full);
        if !body.is_empty() {
            match self.arch {
                #[cfg(target_arch = "x86_64")]
                pulp::Arch::V3(v3) => Simd::vectorize(
                    v3,
                    avx2::FillOp {
                        v3,
                        lanes: &mut self.lanes,
                        out: body,
                    },
                ),
                arch => arch.dispatch(FillOp {
                    lanes: &mut self.lanes,
                    out: body,
                }),
            }
        }
        if !tail.is_empty() {
            self.lanes.block(&mut self.buf);
            for (k, o) in tail.iter_mut().enumerate() {
                *o = T::c(self.buf[k]);
            }
            self.pos = tail.len();
        }
    }
}

/// Checkpoints (feature `checkpoint`) keep the eight lane states, the unread values of the
/// last block and the read position; the instruction-set path is chosen afresh on loading
/// ([`SimdPath::best`]): every path gives the same bits, so a run resumed on another machine
/// continues the same stream.
#[cfg(feature = "checkpoint")]
mod checkpoint_serde {
    use super::{LANES, Lanes, SimdNormal, SimdPath};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Saved {
        s: [[u64; LANES]; 4],
        buf: [f64; LANES],
        pos: usize,
    }

    impl Serialize for SimdNormal {
        fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
            Saved {
                s: self.lanes.s,
                buf: self.buf,
                pos: self.pos,
            }
            .serialize(ser)
        }
    }

    impl<'de> Deserialize<'de> for SimdNormal {
        fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
            let saved = Saved::deserialize(de)?;
            if saved.pos > LANES {
                return Err(serde::de::Error::custom(
                    "SimdNormal read position beyond its block",
                ));
            }
            let path = SimdPath::best();
            Ok(SimdNormal {
                lanes: Lanes { s: saved.s },
                buf: saved.buf,
                pos: saved.pos,
                path,
                arch: path.arch().unwrap_or(pulp::Arch::Scalar),
            })
        }
    }
}
