//! Short training runs on real digits (`data/mnist-10k`), so that a regression in a kernel, a
//! backward pass, an optimizer or the batching shows up as a failed accuracy, and the training
//! helpers' own contracts (`evaluate` on a case counted by hand, the progress line, errors).
//!
//! The runs are deterministic (seeded initialisation and shuffling; each GEMM output element is
//! summed by one thread in a fixed order), so the accuracies in the comments are what they
//! reach; the asserted floors sit about a point and a half below them.

use tapeless::ndarray::{array, Array1, Array4};
use tapeless::prelude::*;
use tapeless::train::{count_correct, evaluate_batched};

network! {
    /// The MLP of examples/mnist_mlp.rs.
    pub struct Mlp {
        input: [784],
        fc1: Linear<784, 128>,
        relu1: ReLU,
        fc2: Linear<128, 10>,
        loss: CrossEntropy,
    }
}

network! {
    /// A small CNN: every kernel of LeNet (conv with padding, fused ReLU, max pooling,
    /// flatten, linear, cross-entropy) at a quarter of its width.
    pub struct SmallCnn {
        input: [1, 28, 28],
        conv1: Conv2d<1, 4, 3>(padding = 1),
        relu1: ReLU,
        pool1: MaxPool2d<2> -> [4, 14, 14],
        conv2: Conv2d<4, 8, 3>(padding = 1),
        relu2: ReLU,
        pool2: MaxPool2d<2>,
        flat: Flatten -> [392],
        fc: Linear<392, 10>,
        loss: CrossEntropy,
    }
}

network! {
    /// Three class scores that are the two inputs and a constant, once the weights are set.
    pub struct Tiny {
        input: [2],
        fc: Linear<2, 3>,
        loss: CrossEntropy,
    }
}

fn mnist() -> Mnist {
    Mnist::load(concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist-10k")).expect("data/mnist-10k")
}

fn quiet(epochs: usize, batch_size: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size,
        seed: 3,
        verbose: false,
        ..TrainConfig::default()
    }
}

/// 375 steps (3 epochs of the 8,000 training digits in batches of 64) of SGD with momentum:
/// the MLP goes from chance to 92.80% on the 2,000 test digits.
#[test]
fn mlp_with_sgd_momentum_learns_digits() {
    let data = mnist();
    let mut net = Mlp::seeded(1);
    let (_, before) = evaluate(&mut net, &data.test).unwrap();
    assert!(before < 0.2, "untrained accuracy {before}");

    let mut opt = Sgd::new(0.01).momentum(0.9);
    let history = fit(
        &mut net,
        &mut opt,
        &data.train,
        &data.test,
        &quiet(3, 64),
        |_| {},
    )
    .unwrap();
    assert_eq!(history.len(), 3);
    let last = &history[2];
    println!("{last}");
    assert!(last.train_loss < history[0].train_loss);
    assert!(last.test_loss < 0.3, "test loss {}", last.test_loss);
    assert!(
        last.test_accuracy >= 0.915,
        "test accuracy {:.2}%, expected ≥ 91.5%",
        100.0 * last.test_accuracy
    );
    // The record's accuracy is `evaluate`'s.
    assert_eq!(
        evaluate(&mut net, &data.test).unwrap(),
        (last.test_loss, last.test_accuracy)
    );
}

/// 500 steps (2 epochs of the 8,000 training digits in batches of 32) of Adam, halving the
/// rate after the first epoch: the small CNN reaches 93.85% on the 2,000 test digits.
#[test]
fn cnn_with_adam_learns_digits() {
    let data = mnist();
    let mut net = SmallCnn::seeded(1);
    let mut opt = Adam::new(2e-3);
    let mut schedule = StepLR::new(&opt, 1, 0.5);
    let history = fit(
        &mut net,
        &mut opt,
        &data.train,
        &data.test,
        &quiet(2, 32),
        |opt| schedule.step(opt),
    )
    .unwrap();
    let last = &history[1];
    println!("{last}");
    assert_eq!(history[0].lr, 2e-3);
    assert_eq!(last.lr, 1e-3, "the schedule halved the rate after epoch 1");
    assert!(
        last.test_accuracy >= 0.925,
        "test accuracy {:.2}%, expected ≥ 92.5%",
        100.0 * last.test_accuracy
    );
}

/// Five samples whose scores are (x1, x2, 0.5): predictions 0, 1, 2, 0 (a tie between
/// classes 0 and 1 goes to the first), 2 against labels 0, 1, 2, 1, 0: 3 of 5 right.
#[test]
fn evaluate_counts_argmax_hits_and_averages_cross_entropy() {
    let mut net = Tiny::seeded(0);
    net.fc
        .weight
        .value
        .assign(&array![[1.0f32, 0.0], [0.0, 1.0], [0.0, 0.0]]);
    net.fc
        .bias
        .as_mut()
        .unwrap()
        .value
        .assign(&array![0.0f32, 0.0, 0.5]);
    let points = [[2.0, 1.0], [0.0, 3.0], [0.0, 0.0], [1.0, 1.0], [-1.0, -2.0]];
    let labels = [0usize, 1, 2, 1, 0];
    let images = Array4::from_shape_fn((5, 1, 1, 2), |(n, _, _, i)| points[n][i] as f32);
    let data = Dataset::new(images, Array1::from(labels.to_vec())).unwrap();

    // Cross-entropy by hand: log Σ exp(scores) − score of the label, averaged.
    let expected_loss = points
        .iter()
        .zip(labels)
        .map(|(&[a, b], label)| {
            let scores = [a, b, 0.5f64];
            let lse = scores.iter().map(|s| s.exp()).sum::<f64>().ln();
            lse - scores[label]
        })
        .sum::<f64>()
        / 5.0;

    for batch_size in [1, 2, 5, 256] {
        let (loss, accuracy) = evaluate_batched(&mut net, &data, batch_size).unwrap();
        assert_eq!(accuracy, 0.6, "batch size {batch_size}");
        assert!(
            (loss - expected_loss).abs() < 1e-6,
            "batch size {batch_size}: loss {loss}, by hand {expected_loss}"
        );
    }
    assert_eq!(evaluate(&mut net, &data).unwrap().1, 0.6);

    let scores = array![[0.1f32, 0.9], [0.7, 0.3], [f32::NAN, 1.0], [0.5, 0.5]];
    assert_eq!(count_correct(scores.view(), array![1, 1, 1, 0].view()), 2);
}

#[test]
fn data_that_does_not_fit_the_network_is_an_error() {
    let data = mnist();
    let mut net = Tiny::seeded(0);
    let err = evaluate(&mut net, &data.test).unwrap_err().to_string();
    assert!(
        err.contains("Tiny") && err.contains("[1, 28, 28]") && err.contains("2 values a sample"),
        "{err}"
    );
    let mut opt = Sgd::new(0.1);
    let err = fit(
        &mut net,
        &mut opt,
        &data.train.take(10),
        &data.test,
        &quiet(1, 4),
        |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("2 values a sample"), "{err}");
    let empty = data.test.take(0);
    assert!(evaluate(&mut Mlp::seeded(0), &empty).is_err());
}

#[test]
fn progress_counts_and_formats() {
    let mut progress = Progress::new("epoch 1/3", 4).visible(false);
    progress.update(64, 0.5);
    progress.update(32, 2.0);
    assert_eq!(progress.samples(), 96);
    assert_eq!(progress.batches(), 2);
    assert!((progress.mean_loss() - 1.0).abs() < 1e-12);
    let line = progress.line(2.0);
    assert!(
        line.starts_with("epoch 1/3 [##########----------] 2/4"),
        "{line}"
    );
    assert!(line.contains("loss 2.0000 (mean 1.0000)"), "{line}");
    assert!(line.contains("samples/s"), "{line}");
    progress.finish();
}
