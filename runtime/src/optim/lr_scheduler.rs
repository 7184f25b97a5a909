//! Learning-rate schedules: `torch.optim.lr_scheduler`'s `StepLR`, `ExponentialLR` and
//! `CosineAnnealingLR`, for any [`Optimizer`].
//!
//! A scheduler captures the optimizer's learning rate when it is made, the base rate γ₀ (epoch
//! 0), and [`LrScheduler::step`], called once per epoch after the optimizer's steps, moves to
//! the next epoch e and sets the optimizer's rate to PyTorch's closed form:
//!
//! ```text
//! StepLR(step_size s, gamma g):              γ_e = γ₀ g^⌊e / s⌋
//! ExponentialLR(gamma g):                    γ_e = γ₀ g^e
//! CosineAnnealingLR(T_max T, eta_min η):     γ_e = η + (γ₀ − η) (1 + cos(π e / T)) / 2
//! ```
//!
//! PyTorch's `step()` computes the same rates recursively from the optimizer's current rate;
//! the closed forms agree with it to rounding as long as nothing else changes the rate. Past
//! T, the cosine rises again (period 2T), as PyTorch's does without restarts.

use crate::element::Float;

use super::Optimizer;

/// What every schedule offers: the rate of any epoch, and a step to the next epoch.
pub trait LrScheduler {
    /// The learning rate of `epoch` (0 is the base rate, captured at construction).
    fn lr_at(&self, epoch: u64) -> f64;

    /// Epochs stepped so far (PyTorch's `last_epoch`).
    fn last_epoch(&self) -> u64;

    /// Moves the epoch counter on without touching an optimizer.
    fn advance(&mut self);

    /// The rate of the current epoch (PyTorch's `get_last_lr()`).
    fn last_lr(&self) -> f64 {
        self.lr_at(self.last_epoch())
    }

    /// Moves to the next epoch and sets `opt`'s learning rate to that epoch's.
    fn step<T: Float, O: Optimizer<T> + ?Sized>(&mut self, opt: &mut O) {
        self.advance();
        opt.set_lr(self.last_lr());
    }
}

/// Multiplies the learning rate by `gamma` every `step_size` epochs:
/// γ_e = γ₀ gamma^⌊e / step_size⌋.
#[derive(Clone, Debug, PartialEq)]
pub struct StepLR {
    base_lr: f64,
    step_size: u64,
    gamma: f64,
    epoch: u64,
}

impl StepLR {
    /// A schedule from `opt`'s current learning rate.
    ///
    /// # Panics
    /// If `step_size` is zero.
    pub fn new<T: Float, O: Optimizer<T> + ?Sized>(opt: &O, step_size: u64, gamma: f64) -> Self {
        assert!(step_size > 0, "StepLR: step_size must be positive");
        StepLR {
            base_lr: opt.lr(),
            step_size,
            gamma,
            epoch: 0,
        }
    }
}

impl LrScheduler for StepLR {
    fn lr_at(&self, epoch: u64) -> f64 {
        self.base_lr * self.gamma.powf((epoch / self.step_size) as f64)
    }

    fn last_epoch(&self) -> u64 {
        self.epoch
    }

    fn advance(&mut self) {
        self.epoch += 1;
    }
}

/// Multiplies the learning rate by `gamma` every epoch: γ_e = γ₀ gamma^e.
#[derive(Clone, Debug, PartialEq)]
pub struct ExponentialLR {
    base_lr: f64,
    gamma: f64,
    epoch: u64,
}

impl ExponentialLR {
    /// A schedule from `opt`'s current learning rate.
    pub fn new<T: Float, O: Optimizer<T> + ?Sized>(opt: &O, gamma: f64) -> Self {
        ExponentialLR {
            base_lr: opt.lr(),
            gamma,
            epoch: 0,
        }
    }
}

impl LrScheduler for ExponentialLR {
    fn lr_at(&self, epoch: u64) -> f64 {
        self.base_lr * self.gamma.powf(epoch as f64)
    }

    fn last_epoch(&self) -> u64 {
        self.epoch
    }

    fn advance(&mut self) {
        self.epoch += 1;
    }
}

/// Anneals the learning rate from γ₀ down to `eta_min` over `t_max` epochs along a half
/// cosine: γ_e = eta_min + (γ₀ − eta_min)(1 + cos(π e / t_max)) / 2.
#[derive(Clone, Debug, PartialEq)]
pub struct CosineAnnealingLR {
    base_lr: f64,
    t_max: u64,
    eta_min: f64,
    epoch: u64,
}

impl CosineAnnealingLR {
    /// A schedule from `opt`'s current learning rate down to `eta_min` (PyTorch's default is
    /// 0) at epoch `t_max`.
    ///
    /// # Panics
    /// If `t_max` is zero.
    pub fn new<T: Float, O: Optimizer<T> + ?Sized>(opt: &O, t_max: u64, eta_min: f64) -> Self {
        assert!(t_max > 0, "CosineAnnealingLR: t_max must be positive");
        CosineAnnealingLR {
            base_lr: opt.lr(),
            t_max,
            eta_min,
            epoch: 0,
        }
    }
}

impl LrScheduler for CosineAnnealingLR {
    fn lr_at(&self, epoch: u64) -> f64 {
        let phase = std::f64::consts::PI * epoch as f64 / self.t_max as f64;
        self.eta_min + (self.base_lr - self.eta_min) * (1.0 + phase.cos()) / 2.0
    }

    fn last_epoch(&self) -> u64 {
        self.epoch
    }

    fn advance(&mut self) {
        self.epoch += 1;
    }
}
