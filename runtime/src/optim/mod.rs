//! Optimizers with torch.optim's semantics, each in its own module, each over any [`Network`].
//!
//! An optimizer finds the parameters through [`Network::visit_parameters_mut`], in declaration
//! order; its per-parameter state is allocated on the first `step` and reused after, so a step
//! allocates nothing. `step` reads `.grad` and never clears it: call the network's `zero_grad`
//! (as in PyTorch), or let gradients accumulate over micro-batches on purpose.

pub mod adagrad;
pub mod adam;
mod buffers;
pub mod lr_scheduler;
pub mod rmsprop;
pub mod sgd;

pub use adagrad::Adagrad;
pub use adam::{Adam, AdamW};
pub use lr_scheduler::{CosineAnnealingLR, ExponentialLR, LrScheduler, StepLR};
pub use rmsprop::RmsProp;
pub use sgd::Sgd;

use ndarray::ArrayD;

use crate::element::Float;
use crate::error::Result;
use crate::network::Network;

/// What every optimizer offers: an update from the current gradients, a learning rate that
/// schedules may change between steps, and its state for checkpoints.
pub trait Optimizer<T: Float> {
    /// Updates every parameter of `net` from its gradient.
    fn step<N: Network<Elem = T>>(&mut self, net: &mut N);

    /// The current learning rate.
    fn lr(&self) -> f64;

    /// Changes the learning rate used by the next `step` (what schedulers call).
    fn set_lr(&mut self, lr: f64);

    /// The optimizer's state: its step count and every buffer (momentum, running averages),
    /// named `"<buffer>/<parameter>"`, e.g. `"exp_avg/fc1.weight"`.
    fn state(&self) -> OptimizerState<T>;

    /// Restores a state from [`state`](Optimizer::state). Errors (changing nothing) if a
    /// buffer is missing, extra, or has another shape than the optimizer's.
    fn load_state(&mut self, state: OptimizerState<T>) -> Result<()>;
}

/// A snapshot of an optimizer, for saving alongside a checkpoint.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OptimizerState<T> {
    /// Steps taken so far.
    pub steps: u64,
    /// Named buffers, in a stable order.
    pub buffers: Vec<(String, ArrayD<T>)>,
}

/// Runs `f`, compiled for AVX2 too where the CPU has it (chosen at run time): element-wise
/// updates over slices then run eight floats wide, and Adam's square roots and divisions
/// bound its step otherwise. Same operations, same results (no contraction into FMAs).
#[inline(always)]
pub(crate) fn vectorised<F: FnOnce()>(f: F) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { run_avx2(f) };
        }
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn run_avx2<F: FnOnce()>(f: F) {
    f()
}
