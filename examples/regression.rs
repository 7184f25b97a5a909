//! Regression: a 1-32-32-1 tanh MLP learns y = sin(x) on [-π, π] from 256 noisy samples, with
//! the mean squared error and Adam, in mini-batches of 32.
//!
//! ```text
//! cargo run --release --example regression
//! ```
//!
//! It prints the training loss falling, from `epoch    1  mse 0.27219` to
//! `epoch  500  mse 0.00223` (the noise alone has mse 0.0025), then the fit on a grid next to
//! sin(x) and its largest error (about 0.04), and writes the samples and the fitted curve to
//! `target/regression.png` (`--out FILE.png` for another path). Takes under a second.

mod common;

use std::f64::consts::PI;
use std::path::PathBuf;

use tapeless::init::Rng;
use tapeless::ndarray::{s, Array2};
use tapeless::prelude::*;

use common::plot::{Canvas, Chart, Corner, Series, BLUE, VERMILLION};
use common::{repo_root, shown, Args};

network! {
    /// A small MLP for a function of one variable.
    pub struct Curve {
        input: [1],
        fc1: Linear<1, 32>,
        tanh1: Tanh,
        fc2: Linear<32, 32>,
        tanh2: Tanh,
        fc3: Linear<32, 1>,
        loss: MSE,
    }
}

const USAGE: &str = "usage: regression [--out FILE.png] [--epochs N]";
const SAMPLES: usize = 256;
const BATCH: usize = 32;
const NOISE: f64 = 0.05;

fn main() -> std::process::ExitCode {
    common::main(run)
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut out = repo_root().join("target/regression.png");
    let mut epochs: usize = 500;
    let mut args = Args::new(USAGE);
    while let Some(name) = args.next_option() {
        match name.as_str() {
            "--out" => out = args.value::<PathBuf>(&name),
            "--epochs" => epochs = args.value(&name),
            other => args.fail(&format!("unknown option {other}")),
        }
    }

    // y = sin(x) + noise, x uniform on [-π, π]; inputs and targets are [N, 1] arrays.
    let mut rng = Rng::new(3);
    let x = Array2::from_shape_simple_fn((SAMPLES, 1), || rng.uniform_in(-PI, PI) as f32);
    let y = x.mapv(|v| (f64::from(v).sin() + NOISE * rng.normal()) as f32);
    println!(
        "{SAMPLES} samples of sin(x) + N(0, {NOISE}²) noise on [-π, π]; the noise alone has \
         mse {:.5}",
        NOISE * NOISE
    );

    let mut net = Curve::seeded(0);
    let mut opt = Adam::new(0.01);
    let mut schedule = StepLR::new(&opt, (epochs as u64 / 3).max(1), 0.3);
    let mut order: Vec<usize> = (0..SAMPLES).collect();
    let (mut xb, mut yb) = (Array2::zeros((BATCH, 1)), Array2::zeros((BATCH, 1)));
    for epoch in 1..=epochs {
        // Shuffle, then mini-batches of 32: loss, backward, step, zero_grad.
        for i in (1..SAMPLES).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let mut sum = 0.0;
        for batch in order.chunks(BATCH) {
            for (row, &i) in batch.iter().enumerate() {
                xb[[row, 0]] = x[[i, 0]];
                yb[[row, 0]] = y[[i, 0]];
            }
            let n = batch.len();
            let loss = net.loss(xb.slice(s![..n, ..]), yb.slice(s![..n, ..]))?;
            net.backward()?;
            opt.step(&mut net);
            net.zero_grad();
            sum += f64::from(loss) * n as f64;
        }
        schedule.step(&mut opt);
        if [1, 5, 10, 25, 50].contains(&epoch) || epoch % 100 == 0 {
            println!(
                "epoch {epoch:>4}  mse {:.5}  (lr {:.1e})",
                sum / SAMPLES as f64,
                opt.lr()
            );
        }
    }

    // The fit on a grid, against the function without noise.
    let grid = Array2::from_shape_fn((201, 1), |(i, _)| {
        (-PI + 2.0 * PI * i as f64 / 200.0) as f32
    });
    let fit = net.forward(grid.view())?.to_owned();
    println!("\n      x    sin(x)     fit");
    for i in (0..201).step_by(25) {
        let v = f64::from(grid[[i, 0]]);
        println!("{v:>7.3}  {:>8.4}  {:>7.4}", v.sin(), fit[[i, 0]]);
    }
    let worst = (0..201)
        .map(|i| (f64::from(fit[[i, 0]]) - f64::from(grid[[i, 0]]).sin()).abs())
        .fold(0.0, f64::max);
    println!("largest |fit - sin(x)| on the grid: {worst:.4}");

    let chart = Chart {
        title: "MLP fit of sin(x) from noisy samples (MSE)".into(),
        x_label: "x".into(),
        y_label: "y".into(),
        series: vec![
            Series {
                name: "samples".into(),
                color: BLUE,
                points: x
                    .iter()
                    .zip(&y)
                    .map(|(&a, &b)| (a.into(), b.into()))
                    .collect(),
                line: false,
                dot: 2.5,
            },
            Series {
                name: "fit".into(),
                color: VERMILLION,
                points: grid
                    .iter()
                    .zip(&fit)
                    .map(|(&a, &b)| (a.into(), b.into()))
                    .collect(),
                line: true,
                dot: 0.0,
            },
        ],
        legend: Corner::BottomRight,
        y_range: Some((-1.4, 1.4)),
        integer_x: false,
    };
    let mut canvas = Canvas::new(800, 500);
    chart.draw(&mut canvas, 0, 0, 800, 500);
    canvas.save_png(&out)?;
    println!("wrote {}", shown(&out));
    Ok(())
}
