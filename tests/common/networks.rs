//! The networks of `tests/fixtures/make_network_fixtures.py`, declared with `network!` in f64
//! and f32, and the glue to run any of them against its fixture.

use tapeless::ndarray::{ArrayD, ArrayViewD};
use tapeless::prelude::*;
use tapeless::{Network, Target};

use super::{Fixture, FixtureFloat};

/// Declares the same network twice: `#[dtype(f64)] $f64` and `$f32`.
macro_rules! both_dtypes {
    ($f64:ident, $f32:ident { $($body:tt)* }) => {
        network! { #[dtype(f64)] pub struct $f64 { $($body)* } }
        network! { pub struct $f32 { $($body)* } }
    };
}

both_dtypes!(MlpSigmoidMse64, MlpSigmoidMse32 {
    input: [4],
    fc1: Linear<4, 8>,
    sig1: Sigmoid,
    fc2: Linear<8, 6>,
    tanh2: Tanh,
    lrelu2: LeakyReLU(slope = 0.2),
    fc3: Linear<6, 3>,
    loss: MSE,
});

both_dtypes!(Logistic64, Logistic32 {
    input: [2],
    linear: Linear<2, 1>,
    loss: BCEWithLogits,
});

both_dtypes!(LeNet64, LeNet32 {
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
});

both_dtypes!(CnnOdd64, CnnOdd32 {
    input: [3, 13, 11],
    conv1: Conv2d<3, 4, 3>(stride = 2, padding = 1, dilation = 2) -> [4, 6, 5],
    lrelu1: LeakyReLU(slope = 0.1),
    pool1: AvgPool2d<2>(stride = 1) -> [4, 5, 4],
    conv2: Conv2d<4, 6, 2, 3>(padding = (1, 0)) -> [6, 6, 2],
    tanh2: Tanh,
    pool2: MaxPool2d<2> -> [6, 3, 1],
    flat: Flatten -> [18],
    fc: Linear<18, 5>,
    loss: CrossEntropy(reduction = sum),
});

both_dtypes!(FlattenFirst64, FlattenFirst32 {
    input: [2, 3, 3],
    flat: Flatten,
    fc1: Linear<18, 7>,
    relu1: ReLU,
    fc2: Linear<7, 2>,
    loss: MSE(reduction = sum),
});

/// Sets every parameter of `net` from the fixture (same names, same shapes, nothing missing).
pub fn load_parameters<N: Network>(net: &mut N, f: &Fixture)
where
    N::Elem: FixtureFloat,
{
    let mut loaded = vec![];
    net.visit_parameters_mut(&mut |mut p| {
        let value = f.get::<N::Elem>(p.name);
        assert_eq!(value.shape(), p.value.shape(), "{}: {}", f.name, p.name);
        p.value.assign(&value);
        loaded.push(p.name);
    });
    let in_file = f
        .names()
        .into_iter()
        .filter(|n| !n.starts_with("grad.") && (n.ends_with("weight") || n.ends_with("bias")))
        .count();
    assert_eq!(loaded.len(), in_file, "{}: parameters {loaded:?}", f.name);
}

/// Every parameter's gradient, by name.
pub fn gradients<N: Network>(net: &N) -> Vec<(&'static str, ArrayD<N::Elem>)> {
    let mut grads = vec![];
    net.visit_parameters(&mut |name, _, grad| grads.push((name, grad.to_owned())));
    grads
}

/// The fixture's target, as the network's loss takes it.
pub fn target<'a, T: FixtureFloat>(
    f: &Fixture,
    classes: &'a mut Option<tapeless::ndarray::Array1<usize>>,
    values: &'a mut Option<ArrayD<T>>,
) -> Target<'a, T> {
    if f.dtype("target") == "I64" {
        *classes = Some(f.ids("target").into_dimensionality().unwrap());
        Target::Classes(classes.as_ref().unwrap().view())
    } else {
        *values = Some(f.get::<T>("target"));
        Target::Values(values.as_ref().unwrap().view())
    }
}

/// `loss_dyn` on the fixture's input and target.
pub fn fixture_loss<N: Network>(net: &mut N, f: &Fixture, x: ArrayViewD<'_, N::Elem>) -> N::Elem
where
    N::Elem: FixtureFloat,
{
    let (mut classes, mut values) = (None, None);
    let target = target(f, &mut classes, &mut values);
    net.loss_dyn(x, target)
        .unwrap_or_else(|e| panic!("{}: {e}", f.name))
}
