#![doc = include_str!("../README.md")]

extern crate self as tapeless;

pub use tapeless_macros::network;
pub use tapeless_runtime::*;

/// What a program using tapeless imports: `use tapeless::prelude::*;`.
pub mod prelude {
    pub use tapeless_macros::network;
    pub use tapeless_runtime::data::{Dataset, Mnist, Normalize, Shift};
    pub use tapeless_runtime::optim::{
        Adagrad, Adam, AdamW, CosineAnnealingLR, ExponentialLR, LrScheduler, Optimizer, RmsProp,
        Sgd, StepLR,
    };
    pub use tapeless_runtime::train::{
        evaluate, fit, train_epoch, EpochRecord, Progress, TrainConfig,
    };
    pub use tapeless_runtime::{Activation, Error, Float, Network, Reduction, Result, Window2d};
}
