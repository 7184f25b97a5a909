//! After its first step, which allocates its buffers, an optimizer step allocates nothing, for
//! every optimizer in its most stateful configuration, with a learning-rate schedule stepping
//! too: counted by a global allocator wrapping the system one (as in alloc_free_training.rs).
//!
//! One test function only: the counter sees every thread, so no other test may run alongside.

mod common;

use common::alloc::{allocations_during, Counting};

use tapeless::ndarray::{Array1, Array4};
use tapeless::prelude::*;

#[global_allocator]
static GLOBAL: Counting = Counting;

network! {
    /// Parameters of rank 4 (conv weights), 2 (linear weights) and 1 (biases).
    pub struct SmallCnn {
        input: [1, 12, 12],
        conv1: Conv2d<1, 8, 3>(padding = 1),
        relu1: ReLU,
        pool1: MaxPool2d<2> -> [8, 6, 6],
        flat: Flatten -> [288],
        fc1: Linear<288, 32>,
        tanh1: Tanh,
        fc2: Linear<32, 10>,
        loss: CrossEntropy,
    }
}

struct Batch {
    x: Array4<f32>,
    y: Array1<usize>,
}

fn train_step<O: Optimizer<f32>>(net: &mut SmallCnn, opt: &mut O, batch: &Batch) -> f32 {
    let loss = net
        .loss(batch.x.view(), batch.y.view())
        .expect("valid batch");
    net.backward().expect("after a loss");
    opt.step(net);
    net.zero_grad();
    loss
}

/// The optimizer's first step allocates its buffers (if it keeps any); the next ones, with a
/// schedule changing the learning rate after each, allocate nothing.
fn check<O: Optimizer<f32>, S: LrScheduler>(
    name: &str,
    mut opt: O,
    schedule: impl FnOnce(&O) -> S,
    stateful: bool,
    batch: &Batch,
) {
    let mut net = SmallCnn::seeded(5);
    let mut schedule = schedule(&opt);
    let first = allocations_during(|| {
        train_step(&mut net, &mut opt, batch);
    });
    assert!(!stateful || first > 0, "{name}: the first step allocates");
    let state = opt.state();
    assert_eq!(state.buffers.is_empty(), !stateful, "{name}: buffers");
    std::thread::sleep(std::time::Duration::from_millis(50));

    let mut losses = [0.0f32; 4];
    let steady = allocations_during(|| {
        for loss in &mut losses {
            *loss = train_step(&mut net, &mut opt, batch);
            schedule.step(&mut opt);
        }
    });
    assert_eq!(steady, 0, "{name}: allocations in 4 steady-state steps");
    assert!(
        losses[3] < losses[0],
        "{name}: training on one batch lowers its loss: {losses:?}"
    );

    // The optimizer step alone, too, with the learning rate set by hand.
    let alone = allocations_during(|| {
        opt.set_lr(opt.lr() * 0.5);
        opt.step(&mut net);
    });
    assert_eq!(alone, 0, "{name}: allocations in a lone step");
}

fn step_lr<O: Optimizer<f32>>(opt: &O) -> StepLR {
    StepLR::new(opt, 2, 0.5)
}

#[test]
fn optimizer_steps_after_the_first_allocate_nothing() {
    let batch = Batch {
        x: Array4::from_shape_fn((8, 1, 12, 12), |(n, _, h, w)| {
            ((n * 5 + h * 3 + w * 7) % 13) as f32 / 13.0 - 0.5
        }),
        y: Array1::from_shape_fn(8, |n| n % 10),
    };

    // Warm up the network's buffers and matrixmultiply's threads (whose start-up allocations
    // happen whenever the OS runs them) before anything is counted.
    let mut warm = SmallCnn::seeded(0);
    let mut sgd = Sgd::new(0.0);
    train_step(&mut warm, &mut sgd, &batch);
    train_step(&mut warm, &mut sgd, &batch);
    std::thread::sleep(std::time::Duration::from_millis(200));

    check("Sgd", Sgd::new(0.05), step_lr, false, &batch);
    check(
        "Sgd(momentum, dampening, weight decay)",
        Sgd::new(0.05)
            .momentum(0.9)
            .dampening(0.1)
            .weight_decay(1e-3),
        |opt: &_| ExponentialLR::new(opt, 0.9),
        true,
        &batch,
    );
    check(
        "Sgd(nesterov)",
        Sgd::new(0.05)
            .momentum(0.9)
            .nesterov(true)
            .weight_decay(1e-3),
        step_lr,
        true,
        &batch,
    );
    check(
        "RmsProp(centered, momentum, weight decay)",
        RmsProp::new(1e-3)
            .centered(true)
            .momentum(0.5)
            .weight_decay(1e-3),
        |opt: &_| CosineAnnealingLR::new(opt, 10, 1e-4),
        true,
        &batch,
    );
    check(
        "Adagrad",
        Adagrad::new(0.05)
            .lr_decay(0.01)
            .weight_decay(1e-3)
            .initial_accumulator_value(0.1),
        step_lr,
        true,
        &batch,
    );
    check(
        "Adam(amsgrad, weight decay)",
        Adam::new(1e-2).amsgrad(true).weight_decay(1e-3),
        step_lr,
        true,
        &batch,
    );
    check(
        "AdamW(amsgrad)",
        AdamW::new(1e-2).amsgrad(true),
        |opt: &_| CosineAnnealingLR::new(opt, 10, 0.0),
        true,
        &batch,
    );
}
