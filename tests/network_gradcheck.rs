//! Every generated backward pass against central finite differences of its own loss, in f64,
//! through the user-facing `tapeless::gradcheck`: up to 24 entries of each parameter.

mod common;

use common::networks::*;
use common::Fixture;
use tapeless::ndarray::{Array1, Array2, ArrayD, ArrayViewD};
use tapeless::{gradcheck_with, GradcheckOptions, Network, Target};

fn check<N: Network<Elem = f64>>(mut net: N, name: &str) {
    let f = Fixture::network(name);
    load_parameters(&mut net, &f);
    let x = f.get::<f64>("x");
    let (classes, values): (Option<Array1<usize>>, Option<ArrayD<f64>>) =
        if f.dtype("target") == "I64" {
            (Some(f.ids("target").into_dimensionality().unwrap()), None)
        } else {
            (None, Some(f.get::<f64>("target")))
        };
    let target = match (&classes, &values) {
        (Some(c), _) => Target::Classes(c.view()),
        (_, Some(v)) => Target::Values(v.view()),
        _ => unreachable!(),
    };
    // Gradients the caller had are kept.
    net.visit_parameters_mut(&mut |mut p| p.grad.fill(0.5));
    let options = GradcheckOptions {
        max_entries: Some(24),
        ..GradcheckOptions::default()
    };
    let report = gradcheck_with(&mut net, x.view(), target, options).unwrap();
    eprintln!("{name}:\n{report}");
    assert!(report.max_error() < 1e-6, "{name}:\n{report}");
    assert!(report.parameters.iter().all(|p| p.checked > 0));
    net.visit_parameters(&mut |n, _, g| {
        assert!(g.iter().all(|&v| v == 0.5), "{n}: gradient not restored")
    });
}

#[test]
fn mlp_with_sigmoid_tanh_leaky_relu_and_mse() {
    check(MlpSigmoidMse64::seeded(0), "mlp_sigmoid_mse");
}

#[test]
fn logistic_regression_with_bce() {
    check(Logistic64::seeded(0), "logistic");
}

#[test]
fn lenet_with_cross_entropy() {
    check(LeNet64::seeded(0), "lenet");
}

#[test]
fn cnn_with_stride_padding_dilation_and_both_pools() {
    check(CnnOdd64::seeded(0), "cnn_odd");
}

#[test]
fn flatten_before_the_first_linear() {
    check(FlattenFirst64::seeded(0), "flatten_first");
}

tapeless::network! {
    #[dtype(f64)]
    struct Tiny {
        input: [3],
        fc: Linear<3, 2>,
        tanh: Tanh,
        loss: MSE,
    }
}

/// A network whose backward pass is wrong by 10%: everything else is `Tiny`'s.
struct Wrong(Tiny);

impl Network for Wrong {
    type Elem = f64;
    const NAME: &'static str = "Wrong";
    const INPUT_SHAPE: &'static [usize] = &[3];
    const OUTPUT_SHAPE: &'static [usize] = &[2];
    const PARAMETERS: usize = 8;
    fn visit_parameters(&self, f: &mut tapeless::network::ParamVisitor<'_, f64>) {
        self.0.visit_parameters(f)
    }
    fn visit_parameters_mut(&mut self, f: &mut dyn FnMut(tapeless::ParamMut<'_, f64>)) {
        self.0.visit_parameters_mut(f)
    }
    fn forward_dyn(&mut self, x: ArrayViewD<'_, f64>) -> tapeless::Result<ArrayViewD<'_, f64>> {
        self.0.forward_dyn(x)
    }
    fn loss_dyn(
        &mut self,
        x: ArrayViewD<'_, f64>,
        target: Target<'_, f64>,
    ) -> tapeless::Result<f64> {
        self.0.loss_dyn(x, target)
    }
    fn backward(&mut self) -> tapeless::Result<()> {
        self.0.backward()?;
        self.0
            .visit_parameters_mut(&mut |mut p| p.grad.mapv_inplace(|g| 1.1 * g));
        Ok(())
    }
    fn summary(&self) -> &'static str {
        self.0.summary()
    }
}

/// The check must be able to fail: a backward pass off by 10% shows as an error of ~0.09.
#[test]
fn gradcheck_detects_a_wrong_backward_pass() {
    let x = Array2::from_shape_fn((4, 3), |(i, j)| (i + 2 * j) as f64 / 5.0 - 0.5);
    let t = Array2::from_shape_fn((4, 2), |(i, j)| (i * j) as f64 / 3.0);
    let target = || Target::Values(t.view().into_dyn());
    let good = tapeless::gradcheck(&mut Tiny::seeded(1), x.view().into_dyn(), target()).unwrap();
    assert!(good.max_error() < 1e-7, "{good}");
    let bad =
        tapeless::gradcheck(&mut Wrong(Tiny::seeded(1)), x.view().into_dyn(), target()).unwrap();
    assert!((bad.max_error() - 0.1 / 1.1).abs() < 1e-3, "{bad}");
}
