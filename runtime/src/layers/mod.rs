//! One module a layer family, each with forward and backward kernels on ndarray views.
//!
//! Conventions shared by every kernel here: arrays are NCHW / `[N, features]` with the batch
//! first; outputs are written into caller-provided buffers (so a training step allocates
//! nothing); parameter gradients are *accumulated* (like PyTorch's `.grad`), input gradients are
//! *overwritten*; shapes are checked and a mismatch is an [`Error`](crate::Error) naming the
//! layer and the shapes, returned before anything is written.

pub mod activation;
pub mod conv;
pub mod flatten;
pub mod linear;
pub mod pool;
