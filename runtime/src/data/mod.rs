//! Data sets: IDX files (MNIST, Fashion-MNIST), batching, shuffling, normalisation.
//!
//! - [`idx`]: the IDX file reader (plain or gzip).
//! - [`Dataset`]: images `[N, C, H, W]` as normalised `f32`, stored once, and class ids.
//! - [`Mnist`]: the four standard files of a directory, as training and test [`Dataset`]s.
//! - [`Batches`]: mini-batches, in order or shuffled per epoch from a seed, optionally
//!   augmented ([`Shift`]), as `[B, C, H, W]` or flat `[B, C*H*W]`.
//!
//! ```no_run
//! use tapeless_runtime::data::{Mnist, Shift};
//! # fn main() -> tapeless_runtime::Result<()> {
//! let data = Mnist::load("data/mnist-10k")?;             // train 8000, test 2000
//! let mut loader = data.train.batches(64).shuffled(7).augment(Shift { max: 2 });
//! for _epoch in 0..5 {
//!     while let Some((x, y)) = loader.next_batch() {     // x: [64, 1, 28, 28], y: [64]
//!         # let _ = (x, y);
//!     }                                                 // reshuffled for the next epoch
//! }
//! let test = data.test.images_flat();                    // [2000, 784], a view
//! # let _ = test;
//! # Ok(()) }
//! ```

mod batches;
mod dataset;
pub mod idx;
mod mnist;

pub use batches::{Batch, BatchIter, Batches, CowBatch, Flat, Images, Layout, Shift};
pub use dataset::{Dataset, Normalize};
pub use mnist::Mnist;
