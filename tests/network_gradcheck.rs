//! Every generated backward pass against central finite differences of its own loss, in f64:
//! for each parameter, the analytic gradient of up to 24 entries (all of them for small
//! tensors) against (L(θ + h) − L(θ − h)) / 2h.

mod common;

use common::networks::*;
use common::Fixture;
use tapeless::init::Rng;
use tapeless::Network;

const H: f64 = 1e-6;

fn gradcheck<N: Network<Elem = f64>>(mut net: N, name: &str) {
    let f = Fixture::network(name);
    load_parameters(&mut net, &f);
    let x = f.get::<f64>("x");
    fixture_loss(&mut net, &f, x.view());
    net.backward().unwrap();
    let analytic = gradients(&net);

    let mut rng = Rng::new(7);
    let mut worst = 0.0f64;
    for (param, grad) in &analytic {
        let len = grad.len();
        let entries: Vec<usize> = if len <= 24 {
            (0..len).collect()
        } else {
            (0..24).map(|_| rng.below(len)).collect()
        };
        for i in entries {
            let mut loss_at = |delta: f64| {
                nudge(&mut net, param, i, delta);
                let l = fixture_loss(&mut net, &f, x.view());
                nudge(&mut net, param, i, -delta);
                l
            };
            let numeric = (loss_at(H) - loss_at(-H)) / (2.0 * H);
            let a = grad.as_slice_memory_order().unwrap()[i];
            // Finite differences carry ~1e-10 absolute noise per entry (see gradcheck.rs), so
            // entries below 1e-3 are compared on that scale.
            let err = (a - numeric).abs() / a.abs().max(numeric.abs()).max(1e-3);
            worst = worst.max(err);
            assert!(
                err < 1e-6,
                "{name}: {param}[{i}]: backward {a:e}, finite differences {numeric:e}"
            );
        }
    }
    eprintln!("{name}: worst relative error {worst:e}");
}

/// Adds `delta` to entry `i` (memory order) of parameter `param`.
fn nudge<N: Network<Elem = f64>>(net: &mut N, param: &str, i: usize, delta: f64) {
    net.visit_parameters_mut(&mut |mut p| {
        if p.name == param {
            p.value.as_slice_memory_order_mut().unwrap()[i] += delta;
        }
    });
}

#[test]
fn mlp_with_sigmoid_tanh_leaky_relu_and_mse() {
    gradcheck(MlpSigmoidMse64::seeded(0), "mlp_sigmoid_mse");
}

#[test]
fn logistic_regression_with_bce() {
    gradcheck(Logistic64::seeded(0), "logistic");
}

#[test]
fn lenet_with_cross_entropy() {
    gradcheck(LeNet64::seeded(0), "lenet");
}

#[test]
fn cnn_with_stride_padding_dilation_and_both_pools() {
    gradcheck(CnnOdd64::seeded(0), "cnn_odd");
}

#[test]
fn flatten_before_the_first_linear() {
    gradcheck(FlattenFirst64::seeded(0), "flatten_first");
}
