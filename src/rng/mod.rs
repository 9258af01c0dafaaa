//! Seeding: one run seed, one independent, portable stream per chain.
//!
//! Chain `c` of a run with seed `s` uses a [`Xoshiro256PlusPlus`] generator whose 256-bit
//! state is filled by SplitMix64 from `mix(s, c)`, a bijective 64-bit hash of the pair. The
//! stream depends only on `(s, c)` — not on the thread that runs the chain, nor on how many
//! chains run — so one seed gives bit-identical traces on 1 thread and on many. Xoshiro256++
//! is portable (its output is specified bit for bit) and draws normals about twice as fast
//! as ChaCha8; rand's `StdRng` is documented as non-portable and is never used.
//!
//! Normals: the samplers draw them with rand_distr's scalar ziggurat by default
//! ([`Normals::Scalar`]); [`Normals::Simd`] switches a sampler to [`SimdNormal`], eight
//! Xoshiro256++ lanes with a vectorised ziggurat (see [`normal`] for the
//! method, its exactness and its documented stream).

pub mod normal;
mod ziggurat_tables;

pub use normal::{LANES, SimdNormal, SimdPath, Ziggurat};

use rand::SeedableRng;
pub use rand_xoshiro::Xoshiro256PlusPlus;

/// The generator type used for every chain, path and particle stream.
pub type ChainRng = Xoshiro256PlusPlus;

/// SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijection of `u64` with good avalanche.
#[inline]
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The stream of chain (or path, or particle) `index` in a run seeded with `seed`.
///
/// ```
/// use langevin::rng::stream;
/// use rand::RngExt;
/// let a: f64 = stream(42, 0).random();
/// let b: f64 = stream(42, 0).random();
/// let c: f64 = stream(42, 1).random();
/// assert_eq!(a, b);
/// assert_ne!(a, c);
/// ```
pub fn stream(seed: u64, index: u64) -> ChainRng {
    Xoshiro256PlusPlus::seed_from_u64(stream_key(seed, index))
}

/// The `seed_from_u64` key of [`stream`]`(seed, index)`.
#[inline]
pub(crate) fn stream_key(seed: u64, index: u64) -> u64 {
    // Hash the index first so that (s, c) and (s + 1, c − 1) do not collide.
    splitmix64(seed ^ splitmix64(index.wrapping_mul(0xD1B5_4A32_D192_ED03)))
}

/// Where a sampler takes its standard normals from (`Ula::with_normals`,
/// `Mala::with_normals`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Normals {
    /// rand_distr's scalar ziggurat on the chain's RNG, one draw at a time (the default; the
    /// streams of earlier releases).
    #[default]
    Scalar,
    /// [`SimdNormal`]: on its first step a chain draws one `u64` from its RNG and seeds a
    /// vectorised generator with it (`SimdNormal::from_rng`); the normals then come from that
    /// generator, any other randomness (MALA's uniform) from the chain's RNG. Still one
    /// stream per chain and seed, independent of the thread count. Faster draws on AVX2
    /// (≈ 1.2–1.3× rand_distr's, see [`normal`]).
    Simd,
}
