//! A 2-16-1 MLP learns the two-moons data set with tapeless' kernels called by hand: the
//! forward and backward passes that `network!` will generate, written out, with plain SGD.
//!
//! cargo run --release --example two_moons_kernels

use tapeless::init::Rng;
use tapeless::ndarray::{Array1, Array2, Axis};
use tapeless::{Activation, Reduction};

/// Two interleaved half circles with noise, labels 0 and 1.
fn two_moons(n: usize, rng: &mut Rng) -> (Array2<f32>, Array2<f32>) {
    let mut x = Array2::zeros((n, 2));
    let mut y = Array2::zeros((n, 1));
    for i in 0..n {
        let t = std::f64::consts::PI * rng.uniform();
        let (px, py, label) = if i % 2 == 0 {
            (t.cos(), t.sin(), 0.0)
        } else {
            (1.0 - t.cos(), 0.5 - t.sin(), 1.0)
        };
        x[[i, 0]] = (px + 0.1 * rng.normal()) as f32;
        x[[i, 1]] = (py + 0.1 * rng.normal()) as f32;
        y[[i, 0]] = label;
    }
    (x, y)
}

/// PyTorch's default Linear init: U(−1/√in, 1/√in) for weight and bias.
fn linear_init(out: usize, inp: usize, rng: &mut Rng) -> (Array2<f32>, Array1<f32>) {
    let bound = 1.0 / (inp as f64).sqrt();
    let w = Array2::from_shape_simple_fn((out, inp), || rng.uniform_in(-bound, bound) as f32);
    let b = Array1::from_shape_simple_fn(out, || rng.uniform_in(-bound, bound) as f32);
    (w, b)
}

fn main() -> Result<(), tapeless::Error> {
    let mut rng = Rng::new(7);
    let (x, target) = two_moons(512, &mut rng);
    let n = x.nrows();
    let (mut w1, mut b1) = linear_init(16, 2, &mut rng);
    let (mut w2, mut b2) = linear_init(1, 16, &mut rng);
    // Buffers allocated once; the loop below allocates nothing.
    let mut h = Array2::zeros((n, 16));
    let mut logits = Array2::zeros((n, 1));
    let mut dlogits = Array2::zeros((n, 1));
    let mut dh = Array2::zeros((n, 16));
    let (mut dw1, mut db1) = (Array2::zeros(w1.dim()), Array1::zeros(16));
    let (mut dw2, mut db2) = (Array2::zeros(w2.dim()), Array1::zeros(1));
    let lr = 0.5f32;

    for epoch in 0..=2000 {
        tapeless::linear_forward(
            x.view(),
            w1.view(),
            Some(b1.view()),
            Activation::Tanh,
            h.view_mut(),
        )?;
        tapeless::linear_forward(
            h.view(),
            w2.view(),
            Some(b2.view()),
            Activation::Identity,
            logits.view_mut(),
        )?;
        let loss = tapeless::bce_with_logits(
            logits.view(),
            target.view(),
            Reduction::Mean,
            Some(dlogits.view_mut()),
        )?;

        // Gradients accumulate, as PyTorch's do: clear them before each backward pass.
        dw1.fill(0.0);
        dw2.fill(0.0);
        db1.fill(0.0);
        db2.fill(0.0);
        tapeless::linear_backward(
            h.view(),
            w2.view(),
            Activation::Identity,
            logits.view(),
            dlogits.view_mut(),
            dw2.view_mut(),
            Some(db2.view_mut()),
            Some(dh.view_mut()),
        )?;
        tapeless::linear_backward(
            x.view(),
            w1.view(),
            Activation::Tanh,
            h.view(),
            dh.view_mut(),
            dw1.view_mut(),
            Some(db1.view_mut()),
            None, // the input needs no gradient
        )?;
        w1.scaled_add(-lr, &dw1);
        b1.scaled_add(-lr, &db1);
        w2.scaled_add(-lr, &dw2);
        b2.scaled_add(-lr, &db2);

        if epoch % 250 == 0 {
            let correct = logits
                .index_axis(Axis(1), 0)
                .iter()
                .zip(target.index_axis(Axis(1), 0))
                .filter(|(&z, &t)| (z > 0.0) == (t > 0.5))
                .count();
            println!(
                "epoch {epoch:4}  loss {loss:.4}  accuracy {:.1}%",
                100.0 * correct as f64 / n as f64
            );
        }
    }
    Ok(())
}
