//! The driving layer: running many chains of a [`crate::Kernel`] — warm-up and its
//! [`Adaptation`], recorded draws and thinning, per-chain seeding, parallelism, and the
//! [`Observer`] hook.
//!
//! | file | concern |
//! |---|---|
//! | `driver.rs` | [`Sampler`]: the run builder and the per-chain loop |
//! | `observer.rs` | [`Observer`]: per-transition callbacks (progress bars, custom recording) |
//! | `stream.rs` | [`Sampler::stream_to`]: draws written to a [`DrawSink`] as they are produced (formats and readers in [`crate::stream`]) |
//! | `shard.rs` | [`Sampler::chain_range`], [`Trace::merge`](crate::Trace::merge), shard files: one seeded run split over jobs or machines |
//! | `adaptation.rs` | [`Adaptation`], [`NoAdaptation`]: the warm-up hook (the strategies are in [`crate::adapt`]) |
//! | `checkpoint.rs` | [`checkpoint`] (feature `checkpoint`): `Sampler::checkpoint_every`, bit-identical resume, the checkpoint file format |
//!
//! Thread pools are not a driver concern of their own: every parallel loop of the crate (this
//! driver, the particle samplers, the multi-path SDE solver) goes through the crate-private
//! `pool` module below all of them.

mod adaptation;
#[cfg(feature = "checkpoint")]
pub mod checkpoint;
mod driver;
mod observer;
pub mod shard;
mod stream;

pub use adaptation::{Adaptation, NoAdaptation};
pub use driver::{CANCEL_CHECK_EVERY, Sampler};
pub use observer::Observer;
pub use shard::shard_range;
pub use stream::{ChainSummary, ChainWriter, DrawSink, StreamedRun};
