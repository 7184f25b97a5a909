//! Data the compiler cannot see: each mistake is an `Err` naming the network, the layer and the
//! shapes, and a failed call leaves parameters and gradients exactly as they were.

mod common;

use common::networks::{LeNet32, MlpSigmoidMse32};
use tapeless::ndarray::{Array1, Array2, Array4, ArrayD};
use tapeless::{Network, Target};

/// Every parameter's value and gradient.
type Snapshot<T> = Vec<(ArrayD<T>, ArrayD<T>)>;

/// Every parameter value and gradient, to compare before and after a failed call.
fn snapshot<N: Network>(net: &N) -> Snapshot<N::Elem> {
    let mut all = vec![];
    net.visit_parameters(&mut |_, v, g| all.push((v.to_owned(), g.to_owned())));
    all
}

fn trained_once() -> (LeNet32, Array4<f32>, Array1<usize>) {
    let mut net = LeNet32::seeded(3);
    let x = Array4::from_shape_fn((4, 1, 28, 28), |(n, _, h, w)| ((n + h + 2 * w) % 5) as f32);
    let y = Array1::from(vec![0, 3, 9, 1]);
    net.loss(x.view(), y.view()).unwrap();
    net.backward().unwrap(); // gradients are non-zero from here on
    (net, x, y)
}

#[test]
fn wrong_input_shape_names_the_network_and_shapes() {
    let (mut net, _, y) = trained_once();
    let before = snapshot(&net);
    let x = Array4::<f32>::zeros((4, 3, 28, 28));
    let err = net.loss(x.view(), y.view()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "LeNet32: input batch has shape [4, 3, 28, 28], expected [N, 1, 28, 28] with N ≥ 1"
    );
    let empty = Array4::<f32>::zeros((0, 1, 28, 28));
    assert!(net.forward(empty.view()).is_err(), "a batch of 0 samples");
    assert_eq!(snapshot(&net), before);
}

#[test]
fn wrong_target_length_and_class_out_of_range() {
    let (mut net, x, _) = trained_once();
    let before = snapshot(&net);
    let err = net
        .loss(x.view(), Array1::from(vec![1, 2, 3]).view())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "LeNet32.loss: target has shape [3], expected [4] (one class id per sample)"
    );
    let err = net
        .loss(x.view(), Array1::from(vec![1, 2, 10, 3]).view())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "LeNet32.loss: target class 10 of sample 2 is out of range for 10 classes"
    );
    assert_eq!(snapshot(&net), before);
}

#[test]
fn backward_needs_a_fresh_loss() {
    let mut fresh = LeNet32::seeded(1);
    let err = fresh.backward().unwrap_err();
    assert!(
        err.to_string()
            .starts_with("LeNet32: backward() needs a loss() first"),
        "{err}"
    );

    let (mut net, x, y) = trained_once();
    let before = snapshot(&net);
    let err = net.backward().unwrap_err();
    assert!(
        err.to_string()
            .contains("no loss() since the last backward()"),
        "{err}"
    );
    net.forward(x.view()).unwrap();
    let err = net.backward().unwrap_err();
    assert!(
        err.to_string()
            .contains("forward(), which computes no loss"),
        "{err}"
    );
    assert_eq!(
        snapshot(&net),
        before,
        "failed backward calls changed the network"
    );

    // A failed loss() does not spoil the one before it: backward still uses that one.
    net.loss(x.view(), y.view()).unwrap();
    assert!(net
        .loss(x.view(), Array1::from(vec![0, 0, 0, 99]).view())
        .is_err());
    net.backward().unwrap();
}

#[test]
fn value_targets_must_have_the_output_shape() {
    let mut net = MlpSigmoidMse32::seeded(0);
    let x = Array2::<f32>::zeros((5, 4));
    let before = snapshot(&net);
    let err = net
        .loss(x.view(), Array2::zeros((5, 2)).view())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "MlpSigmoidMse32.loss: target has shape [5, 2], expected [5, 3] (the output's shape)"
    );
    assert_eq!(snapshot(&net), before);
}

#[test]
fn dynamic_entry_points_check_rank_and_target_kind() {
    let mut net = LeNet32::seeded(0);
    let x3 = ArrayD::<f32>::zeros(vec![1, 28, 28]);
    let err = net.forward_dyn(x3.view()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "LeNet32: input batch has shape [1, 28, 28], expected an array of rank 4"
    );
    let x = ArrayD::<f32>::zeros(vec![2, 1, 28, 28]);
    let values = ArrayD::<f32>::zeros(vec![2, 10]);
    let err = net
        .loss_dyn(x.view(), Target::Values(values.view()))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "LeNet32.loss: CrossEntropy takes class ids (Target::Classes)"
    );
}

#[test]
fn backward_from_a_custom_gradient_matches_the_builtin_loss() {
    // MSE (mean) over [5, 3]: dL/dy = 2 (y − t) / 15, fed by hand.
    let mut a = MlpSigmoidMse32::seeded(4);
    let mut b = MlpSigmoidMse32::seeded(4);
    let x = Array2::from_shape_fn((5, 4), |(i, j)| (i as f32 - j as f32) / 3.0);
    let t = Array2::from_shape_fn((5, 3), |(i, j)| (i * j) as f32 / 10.0);
    a.loss(x.view(), t.view()).unwrap();
    a.backward().unwrap();
    let y = b.forward(x.view()).unwrap().to_owned();
    let grad = (&y - &t) * (2.0 / 15.0);
    b.backward_from(grad.view()).unwrap();
    for ((_, ga), (_, gb)) in snapshot(&a).iter().zip(snapshot(&b).iter()) {
        assert!(ga
            .iter()
            .zip(gb)
            .all(|(p, q)| (p - q).abs() <= 1e-6 * (1.0 + p.abs())));
    }
    assert!(
        b.backward_from(grad.view()).is_err(),
        "a second backward needs a new forward"
    );
}
