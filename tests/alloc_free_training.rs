//! After one step at a given batch size, a training step (loss, backward, update, zero_grad)
//! allocates nothing: counted by a global allocator wrapping the system one.

mod common;

use common::alloc::{allocations_during, Counting};
use common::networks::LeNet32;

use tapeless::ndarray::{Array1, Array4};
use tapeless::Network;

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Plain SGD through the `Network` visitor, as an optimizer does.
fn sgd_step(net: &mut LeNet32, lr: f32) {
    net.visit_parameters_mut(&mut |mut p| p.value.scaled_add(-lr, &p.grad));
}

fn train_step(net: &mut LeNet32, x: &Array4<f32>, y: &Array1<usize>) -> f32 {
    let loss = net.loss(x.view(), y.view()).expect("valid batch");
    net.backward().expect("after a loss");
    sgd_step(net, 0.01);
    net.zero_grad();
    loss
}

#[test]
fn steady_state_training_step_allocates_nothing() {
    let mut net = LeNet32::seeded(0);
    let batch = 16;
    let x = Array4::from_shape_fn((batch, 1, 28, 28), |(n, _, h, w)| {
        ((n * 7 + h * 3 + w) % 11) as f32 / 11.0
    });
    let y = Array1::from_shape_fn(batch, |n| n % 10);
    let small_x = x.slice(tapeless::ndarray::s![..5, .., .., ..]).to_owned();
    let small_y = y.slice(tapeless::ndarray::s![..5]).to_owned();

    // The first step grows the buffers (and matrixmultiply's per-thread packing buffer) and
    // starts matrixmultiply's thread pool. The pool's threads make their own start-up
    // allocations whenever the OS runs them, so give them a moment before counting.
    let first_allocations = allocations_during(|| {
        train_step(&mut net, &x, &y);
    });
    assert!(first_allocations > 0, "the counter counts");
    train_step(&mut net, &x, &y);
    std::thread::sleep(std::time::Duration::from_millis(200));

    let mut losses = Vec::with_capacity(3);
    let steady = allocations_during(|| {
        for _ in 0..3 {
            losses.push(train_step(&mut net, &x, &y));
        }
    });
    assert_eq!(
        steady, 0,
        "allocations in 3 steady-state steps at batch {batch}"
    );
    assert!(
        losses[2] < losses[0],
        "training on one batch lowers its loss: {losses:?}"
    );

    // A smaller batch fits in the buffers already grown.
    let smaller = allocations_during(|| {
        train_step(&mut net, &small_x, &small_y);
        net.forward(small_x.view()).expect("valid batch");
    });
    assert_eq!(smaller, 0, "allocations at a smaller batch");
}
