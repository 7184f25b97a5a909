//! The workloads of the training-step benchmarks (issue 6), shared by `benches/train_step.rs`
//! (criterion) and the comparison harness's tapeless runner (`bench/compare/src/tapeless.rs`),
//! which includes this file by path.
//!
//! Each training workload is one full step — forward, loss, backward, optimizer step,
//! `zero_grad` — on a fixed random batch; each inference workload is one forward pass.
//!
//! | name | network | loss | batch | optimizer |
//! |---|---|---|---:|---|
//! | `mlp-tiny` | Linear(2,16) Sigmoid Linear(16,1) | MSE | 32 | SGD lr 0.1 |
//! | `mlp-small` | Linear(784,128) ReLU Linear(128,10) | cross-entropy | 64 | SGD lr 0.01 |
//! | `mlp-wide` | Linear(784,1024) ReLU Linear(1024,1024) ReLU Linear(1024,10) | cross-entropy | 256 | Adam lr 1e-3 |
//! | `cnn-lenet` | the LeNet of DESIGN.md | cross-entropy | 64 | Adam lr 1e-3 |
//! | `mlp-small-infer` | mlp-small, forward only | | 1 | |
//! | `cnn-lenet-infer` | cnn-lenet, forward only | | 1 | |
#![allow(dead_code)] // each user runs its own part

use std::hint::black_box;

use tapeless::init::Rng;
use tapeless::ndarray::{Array, Array1, Array2, Dimension, ShapeBuilder};
use tapeless::prelude::*;

network! {
    /// mlp-tiny: a 2-16-1 regression MLP.
    pub struct MlpTiny {
        input: [2],
        fc1: Linear<2, 16>,
        sig1: Sigmoid,
        fc2: Linear<16, 1>,
        loss: MSE,
    }
}

network! {
    /// mlp-small: the classic MNIST MLP.
    pub struct MlpSmall {
        input: [784],
        fc1: Linear<784, 128>,
        relu1: ReLU,
        fc2: Linear<128, 10>,
        loss: CrossEntropy,
    }
}

network! {
    /// mlp-wide: two 1024-wide hidden layers.
    pub struct MlpWide {
        input: [784],
        fc1: Linear<784, 1024>,
        relu1: ReLU,
        fc2: Linear<1024, 1024>,
        relu2: ReLU,
        fc3: Linear<1024, 10>,
        loss: CrossEntropy,
    }
}

network! {
    /// cnn-lenet: the LeNet of DESIGN.md.
    pub struct LeNet {
        input: [1, 28, 28],
        conv1: Conv2d<1, 16, 3>(padding = 1),
        relu1: ReLU,
        pool1: MaxPool2d<2> -> [16, 14, 14],
        conv2: Conv2d<16, 32, 3>(padding = 1),
        relu2: ReLU,
        pool2: MaxPool2d<2>,
        flat: Flatten -> [1568],
        fc1: Linear<1568, 128>,
        relu3: ReLU,
        fc2: Linear<128, 10>,
        loss: CrossEntropy,
    }
}

/// The workloads, in the order tables list them.
pub const NAMES: [&str; 6] = [
    "mlp-tiny",
    "mlp-small",
    "mlp-wide",
    "cnn-lenet",
    "mlp-small-infer",
    "cnn-lenet-infer",
];

/// A standard-normal array of `shape` from `seed`.
fn normal<Sh: ShapeBuilder>(shape: Sh, seed: u64) -> Array<f32, Sh::Dim>
where
    Sh::Dim: Dimension,
{
    let mut rng = Rng::new(seed);
    let mut a = Array::zeros(shape);
    a.mapv_inplace(|_: f32| rng.normal() as f32);
    a
}

fn classes(n: usize, seed: u64) -> Array1<usize> {
    let mut rng = Rng::new(seed);
    Array1::from_shape_fn(n, |_| rng.below(10))
}

/// One step of workload `name` as a closure (each call runs one training step or one forward
/// pass and returns the loss, or the first output), with its network, optimizer and data
/// built once; `None` for an unknown name.
pub fn make(name: &str) -> Option<Box<dyn FnMut() -> f32>> {
    Some(match name {
        "mlp-tiny" => {
            let (x, y): (Array2<f32>, Array2<f32>) = (normal((32, 2), 1), normal((32, 1), 2));
            let mut net = MlpTiny::seeded(0);
            let mut opt = Sgd::new(0.1);
            Box::new(move || {
                let loss = net.loss(x.view(), y.view()).expect("valid batch");
                net.backward().expect("after a loss");
                opt.step(&mut net);
                net.zero_grad();
                black_box(loss)
            })
        }
        "mlp-small" => {
            let (x, y): (Array2<f32>, _) = (normal((64, 784), 1), classes(64, 2));
            let mut net = MlpSmall::seeded(0);
            let mut opt = Sgd::new(0.01);
            Box::new(move || {
                let loss = net.loss(x.view(), y.view()).expect("valid batch");
                net.backward().expect("after a loss");
                opt.step(&mut net);
                net.zero_grad();
                black_box(loss)
            })
        }
        "mlp-wide" => {
            let (x, y): (Array2<f32>, _) = (normal((256, 784), 1), classes(256, 2));
            let mut net = MlpWide::seeded(0);
            let mut opt = Adam::new(1e-3);
            Box::new(move || {
                let loss = net.loss(x.view(), y.view()).expect("valid batch");
                net.backward().expect("after a loss");
                opt.step(&mut net);
                net.zero_grad();
                black_box(loss)
            })
        }
        "cnn-lenet" => {
            let x = normal((64, 1, 28, 28), 1);
            let y = classes(64, 2);
            let mut net = LeNet::seeded(0);
            let mut opt = Adam::new(1e-3);
            Box::new(move || {
                let loss = net.loss(x.view(), y.view()).expect("valid batch");
                net.backward().expect("after a loss");
                opt.step(&mut net);
                net.zero_grad();
                black_box(loss)
            })
        }
        "mlp-small-infer" => {
            let x: Array2<f32> = normal((1, 784), 1);
            let mut net = MlpSmall::seeded(0);
            Box::new(move || {
                let y = net.forward(x.view()).expect("valid batch");
                black_box(y[[0, 0]])
            })
        }
        "cnn-lenet-infer" => {
            let x = normal((1, 1, 28, 28), 1);
            let mut net = LeNet::seeded(0);
            Box::new(move || {
                let y = net.forward(x.view()).expect("valid batch");
                black_box(y[[0, 0]])
            })
        }
        _ => return None,
    })
}
