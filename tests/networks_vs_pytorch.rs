//! Whole generated networks against PyTorch (`tests/fixtures/make_network_fixtures.py`): the
//! forward output, the loss and every parameter's gradient, in f64 (1e-10) and f32 (1e-5);
//! then that a second backward accumulates and `zero_grad` clears.

mod common;

use common::networks::*;
use common::{assert_close, Fixture, FixtureFloat};
use tapeless::Network;

fn check<N: Network>(mut net: N, name: &str)
where
    N::Elem: FixtureFloat,
{
    let f = Fixture::network(name);
    load_parameters(&mut net, &f);
    let x = f.get::<N::Elem>("x");
    let case = format!("{name} ({})", std::any::type_name::<N::Elem>());

    let output = net.forward_dyn(x.view()).unwrap().to_owned();
    assert_close(&case, "output", &output, &f.get::<N::Elem>("output"));

    let loss = fixture_loss(&mut net, &f, x.view());
    assert_close(
        &case,
        "loss",
        &tapeless::ndarray::arr0(loss).into_dyn(),
        &f.get::<N::Elem>("loss"),
    );
    net.backward().unwrap();
    let grads = gradients(&net);
    for (param, grad) in &grads {
        assert_close(
            &case,
            &format!("grad {param}"),
            grad,
            &f.get::<N::Elem>(&format!("grad.{param}")),
        );
    }

    // backward adds into .grad, as PyTorch's does: a second pass doubles it (to rounding,
    // since the second pass adds its terms one by one onto the first's sum).
    fixture_loss(&mut net, &f, x.view());
    net.backward().unwrap();
    for ((param, once), (_, twice)) in grads.iter().zip(gradients(&net)) {
        assert_close(
            &case,
            &format!("accumulated {param}"),
            &twice,
            &once.mapv(|g| g + g),
        );
    }
    net.zero_grad();
    assert!(gradients(&net)
        .iter()
        .all(|(_, g)| g.iter().all(|v| *v == N::Elem::default())));
}

#[test]
fn mlp_with_sigmoid_tanh_leaky_relu_and_mse() {
    check(MlpSigmoidMse64::seeded(0), "mlp_sigmoid_mse");
    check(MlpSigmoidMse32::seeded(0), "mlp_sigmoid_mse");
}

#[test]
fn logistic_regression_with_bce() {
    check(Logistic64::seeded(0), "logistic");
    check(Logistic32::seeded(0), "logistic");
}

#[test]
fn lenet_with_cross_entropy() {
    check(LeNet64::seeded(0), "lenet");
    check(LeNet32::seeded(0), "lenet");
}

#[test]
fn cnn_with_stride_padding_dilation_and_both_pools() {
    check(CnnOdd64::seeded(0), "cnn_odd");
    check(CnnOdd32::seeded(0), "cnn_odd");
}

#[test]
fn flatten_before_the_first_linear() {
    check(FlattenFirst64::seeded(0), "flatten_first");
    check(FlattenFirst32::seeded(0), "flatten_first");
}
