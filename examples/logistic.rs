//! Logistic regression: one `Linear<2, 1>` and the binary cross-entropy with logits is
//! logistic regression (the sigmoid lives inside the loss). It learns to separate two classes
//! of 2-D points that the line x₂ = 2·x₁ + 0.5 divides, and prints the boundary it found.
//!
//! ```text
//! cargo run --release --example logistic
//! ```
//!
//! It prints the loss and accuracy every 100 steps of full-batch gradient descent, e.g.
//! `step  100  loss 0.0910  accuracy 100.00%`, the test accuracy, then the learned boundary
//! as an equation, `w·x + b = 0: -7.5755·x₁ + 3.6836·x₂ - 1.7111 = 0`, and solved for x₂,
//! `x₂ = 2.0566·x₁ + 0.4645`, next to the true line. Takes well under a second.

use tapeless::init::Rng;
use tapeless::ndarray::{Array2, Axis};
use tapeless::prelude::*;

network! {
    /// Logistic regression on 2-D points: a linear score, squashed by the loss.
    pub struct Logistic {
        input: [2],
        linear: Linear<2, 1>,
        loss: BCEWithLogits,
    }
}

/// The true boundary x₂ = SLOPE·x₁ + INTERCEPT, and the gap kept empty around it.
const SLOPE: f64 = 2.0;
const INTERCEPT: f64 = 0.5;
const MARGIN: f64 = 0.1;

/// `n` points uniform on [-2, 2]², none within `MARGIN` of the line; label 1 above it.
fn separable_points(n: usize, rng: &mut Rng) -> (Array2<f32>, Array2<f32>) {
    let (mut x, mut y) = (Array2::zeros((n, 2)), Array2::zeros((n, 1)));
    let mut i = 0;
    while i < n {
        let (x1, x2) = (rng.uniform_in(-2.0, 2.0), rng.uniform_in(-2.0, 2.0));
        // Signed distance to the line SLOPE·x₁ - x₂ + INTERCEPT = 0.
        let d = (x2 - SLOPE * x1 - INTERCEPT) / (1.0 + SLOPE * SLOPE).sqrt();
        if d.abs() < MARGIN {
            continue;
        }
        x[[i, 0]] = x1 as f32;
        x[[i, 1]] = x2 as f32;
        y[[i, 0]] = if d > 0.0 { 1.0 } else { 0.0 };
        i += 1;
    }
    (x, y)
}

/// The fraction of samples whose logit has the sign of their label.
fn accuracy(logits: &Array2<f32>, labels: &Array2<f32>) -> f64 {
    let right = logits
        .iter()
        .zip(labels)
        .filter(|(&z, &t)| (z > 0.0) == (t > 0.5))
        .count();
    right as f64 / labels.len() as f64
}

fn main() -> Result<(), tapeless::Error> {
    let mut rng = Rng::new(11);
    let (x, y) = separable_points(400, &mut rng);
    let (x_test, y_test) = separable_points(200, &mut rng);
    println!(
        "400 training and 200 test points on [-2, 2]², class 1 above x₂ = {SLOPE}·x₁ + \
         {INTERCEPT} ({} of the training points)",
        y.sum_axis(Axis(0))[0]
    );

    let mut net = Logistic::seeded(0);
    let mut opt = Sgd::new(0.5);
    for step in 1..=1000 {
        let loss = net.loss(x.view(), y.view())?; // the whole set is one batch
        net.backward()?;
        opt.step(&mut net);
        net.zero_grad();
        if step == 1 || step % 100 == 0 {
            let logits = net.forward(x.view())?.to_owned();
            println!(
                "step {step:>4}  loss {loss:.4}  accuracy {:.2}%",
                100.0 * accuracy(&logits, &y)
            );
        }
    }
    let logits = net.forward(x_test.view())?.to_owned();
    println!("test accuracy {:.2}%", 100.0 * accuracy(&logits, &y_test));

    let w = &net.linear.weight.value;
    let b = net.linear.bias.as_ref().expect("Linear has a bias").value[0];
    let (w1, w2) = (w[[0, 0]], w[[0, 1]]);
    let sign = |v: f32| if v < 0.0 { '-' } else { '+' };
    println!(
        "learned boundary w·x + b = 0: {w1:.4}·x₁ {} {:.4}·x₂ {} {:.4} = 0",
        sign(w2),
        w2.abs(),
        sign(b),
        b.abs()
    );
    println!(
        "  i.e. x₂ = {:.4}·x₁ {} {:.4}   (true line: x₂ = {SLOPE}·x₁ + {INTERCEPT}); \
         class 1 where w·x + b > 0",
        -w1 / w2,
        sign(-b / w2),
        (b / w2).abs()
    );
    Ok(())
}
