//! Why deep sigmoid networks stop learning: the same 8-layer MLP (784-64-...-64-10, the same
//! initial weights) with Sigmoid and with ReLU between its layers, on MNIST digits.
//!
//! ```text
//! cargo run --release --example vanishing_gradients
//! ```
//!
//! It prints each layer's weight-gradient norm after one backward pass on the same batch: the
//! sigmoid network's shrink about 7-fold a layer towards the input (σ' ≤ 1/4, times small
//! weights), five orders of magnitude over the eight layers, while the ReLU network's stay
//! within one. Then both losses every 50 steps of the same SGD on the same batches, and the
//! test accuracy after 500 steps: the ReLU network learns (about 91%), the sigmoid one stays
//! at ln 10 = 2.30, chance level. Takes about a second. `--data DIR` reads another
//! MNIST-format folder.

mod common;

use std::path::PathBuf;

use tapeless::ndarray::{ArrayView1, ArrayView2};
use tapeless::prelude::*;

use common::{repo_root, shown, Args};

/// Declares the 8-layer MLP with the activation `$act` after each hidden layer.
macro_rules! deep_mlp {
    ($name:ident, $act:ident) => {
        network! {
            /// 784-64-64-64-64-64-64-64-10: eight Linear layers.
            pub struct $name {
                input: [784],
                fc1: Linear<784, 64>,
                act1: $act,
                fc2: Linear<64, 64>,
                act2: $act,
                fc3: Linear<64, 64>,
                act3: $act,
                fc4: Linear<64, 64>,
                act4: $act,
                fc5: Linear<64, 64>,
                act5: $act,
                fc6: Linear<64, 64>,
                act6: $act,
                fc7: Linear<64, 64>,
                act7: $act,
                fc8: Linear<64, 10>,
                loss: CrossEntropy,
            }
        }
    };
}

deep_mlp!(DeepSigmoid, Sigmoid);
deep_mlp!(DeepRelu, ReLU);

const STEPS: usize = 500;
const LR: f64 = 0.05;
const MOMENTUM: f64 = 0.9;

/// The L2 norm of every weight gradient, in layer order.
fn weight_grad_norms<N: Network<Elem = f32>>(net: &N) -> Vec<(&'static str, f64)> {
    let mut norms = Vec::new();
    net.visit_parameters(&mut |name, _, grad| {
        if name.ends_with(".weight") {
            let sum: f64 = grad.iter().map(|&g| f64::from(g).powi(2)).sum();
            norms.push((name, sum.sqrt()));
        }
    });
    norms
}

/// One training step on a batch: the four calls of every training loop. Returns the loss.
fn step<N: Network<Elem = f32>>(
    net: &mut N,
    opt: &mut Sgd,
    x: ArrayView2<'_, f32>,
    y: ArrayView1<'_, usize>,
) -> Result<f64> {
    let loss = net.loss_dyn(x.into_dyn(), tapeless::Target::Classes(y))?;
    net.backward()?;
    opt.step(net);
    net.zero_grad();
    Ok(f64::from(loss))
}

fn main() -> std::process::ExitCode {
    common::main(run)
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut data_dir: PathBuf = repo_root().join("data/mnist-10k");
    let mut args = Args::new("usage: vanishing_gradients [--data DIR]");
    while let Some(name) = args.next_option() {
        match name.as_str() {
            "--data" => data_dir = args.value(&name),
            other => args.fail(&format!("unknown option {other}")),
        }
    }
    let data = Mnist::load(&data_dir)?;
    println!(
        "{}: the same 8-layer MLP (784-64x7-10, same initial weights), Sigmoid vs ReLU",
        shown(&data_dir)
    );

    // Same seed, same shapes: the two networks start from identical weights.
    let mut sigmoid = DeepSigmoid::seeded(1);
    let mut relu = DeepRelu::seeded(1);

    // 1. One backward pass on the same batch of 64 digits.
    let mut loader = data.train.batches(64).shuffled(5).flat();
    let (x, y) = loader.next_batch().expect("a batch");
    let (loss_s, loss_r) = (sigmoid.loss(x, y)?, relu.loss(x, y)?);
    println!("\nloss on one batch of 64: sigmoid {loss_s:.4}, relu {loss_r:.4}");
    sigmoid.backward()?;
    relu.backward()?;
    let (gs, gr) = (weight_grad_norms(&sigmoid), weight_grad_norms(&relu));
    println!("‖∂loss/∂W‖ of each layer after one backward pass on it (input side first):");
    println!("layer         sigmoid        relu");
    for ((name, s), (_, r)) in gs.iter().zip(&gr) {
        println!("{name:<11} {s:>9.2e}   {r:>9.2e}");
    }
    let ratio = |g: &[(&str, f64)]| g[g.len() - 1].1 / g[0].1;
    println!(
        "last layer / first layer: sigmoid {:.0}x, relu {:.1}x",
        ratio(&gs),
        ratio(&gr)
    );
    sigmoid.zero_grad();
    relu.zero_grad();

    // 2. The same SGD on the same batches for both.
    println!("\nSGD lr {LR} momentum {MOMENTUM}, the same batches of 64 for both;");
    println!("training loss, mean of the last 50 steps:");
    println!(" step   sigmoid    relu");
    let (mut opt_s, mut opt_r) = (
        Sgd::new(LR).momentum(MOMENTUM),
        Sgd::new(LR).momentum(MOMENTUM),
    );
    let (mut sum_s, mut sum_r) = (0.0, 0.0);
    let mut loader = data.train.batches(64).shuffled(5).flat();
    let mut steps = 0;
    while steps < STEPS {
        // One epoch (125 batches of mnist-10k), or what is left of the STEPS.
        while let Some((x, y)) = loader.next_batch() {
            sum_s += step(&mut sigmoid, &mut opt_s, x, y)?;
            sum_r += step(&mut relu, &mut opt_r, x, y)?;
            steps += 1;
            if steps % 50 == 0 {
                println!("{steps:>5}   {:>7.4}  {:>7.4}", sum_s / 50.0, sum_r / 50.0);
                (sum_s, sum_r) = (0.0, 0.0);
            }
            if steps == STEPS {
                break;
            }
        }
    }
    let (_, acc_s) = evaluate(&mut sigmoid, &data.test)?;
    let (_, acc_r) = evaluate(&mut relu, &data.test)?;
    println!(
        "test accuracy after {STEPS} steps: sigmoid {:.2}%, relu {:.2}% (chance: 10%)",
        100.0 * acc_s,
        100.0 * acc_r
    );
    Ok(())
}
