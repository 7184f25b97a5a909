//! Times single kernels on LeNet's shapes (batch 64), to see where a training step goes.
//!
//! ```text
//! MATMUL_NUM_THREADS=1 cargo run --release --bin kernel_probe
//! ```

use std::hint::black_box;

use tapeless::init::Rng;
use tapeless::layers::conv::conv2d_backward_from_input;
use tapeless::ndarray::{Array, Array3, Array4};
use tapeless::{conv2d_backward, conv2d_forward, max_pool2d_backward, max_pool2d_forward};
use tapeless::{Activation, Window2d};
use tapeless_compare::thread_cpu_seconds;

fn time(label: &str, mut f: impl FnMut()) {
    let filter = std::env::args().nth(1).unwrap_or_default();
    if !label.contains(&filter) {
        return;
    }
    // KP_REPS=n: run n times untimed (for callgrind's instruction counts).
    if let Some(reps) = std::env::var("KP_REPS").ok().and_then(|r| r.parse().ok()) {
        for _ in 0..reps {
            f();
        }
        println!("{label}: {reps} untimed runs");
        return;
    }
    for _ in 0..3 {
        f();
    }
    let mut samples = vec![];
    for _ in 0..15 {
        let t = thread_cpu_seconds();
        let mut reps = 0;
        while thread_cpu_seconds() - t < 0.02 {
            f();
            reps += 1;
        }
        samples.push((thread_cpu_seconds() - t) * 1e6 / reps as f64);
    }
    samples.sort_by(f64::total_cmp);
    println!(
        "{label:<40}{:>10.1} µs (thread CPU time)",
        samples[samples.len() / 2]
    );
}

fn random<D: tapeless::ndarray::Dimension>(shape: D) -> Array<f32, D> {
    let mut rng = Rng::new(1);
    let mut a = Array::zeros(shape);
    a.mapv_inplace(|_: f32| rng.normal() as f32);
    a
}

fn main() {
    let n = 64;
    let pool = Window2d::new((2, 2)).stride((2, 2));
    for (c, h) in [(16, 28), (32, 14)] {
        let x: Array4<f32> = random(tapeless::ndarray::Dim([n, c, h, h]));
        let mut y = Array4::<f32>::zeros((n, c, h / 2, h / 2));
        let mut am = Array4::<usize>::zeros((n, c, h / 2, h / 2));
        time(&format!("max_pool2d_forward {c}x{h}x{h}"), || {
            max_pool2d_forward(x.view(), &pool, y.view_mut(), am.view_mut()).unwrap();
            black_box(&y);
        });
        let mut dx = Array4::<f32>::zeros((n, c, h, h));
        time(&format!("max_pool2d_backward {c}x{h}x{h}"), || {
            max_pool2d_backward(y.view(), am.view(), dx.view_mut()).unwrap();
            black_box(&dx);
        });
    }
    for (cin, cout, h) in [(1, 16, 28), (16, 32, 14)] {
        let window = Window2d::new((3, 3)).padding((1, 1));
        let x: Array4<f32> = random(tapeless::ndarray::Dim([n, cin, h, h]));
        let w: Array4<f32> = random(tapeless::ndarray::Dim([cout, cin, 3, 3]));
        let b = tapeless::ndarray::Array1::<f32>::zeros(cout);
        let (k, p) = (cin * 9, h * h);
        let mut cols = Array3::<f32>::zeros((n, k, p));
        let mut y = Array4::<f32>::zeros((n, cout, h, h));
        time(&format!("conv2d_forward {cin}->{cout} {h}x{h}"), || {
            conv2d_forward(
                x.view(),
                w.view(),
                Some(b.view()),
                &window,
                Activation::ReLU,
                cols.view_mut(),
                y.view_mut(),
            )
            .unwrap();
            black_box(&y);
        });
        let mut dy: Array4<f32> = random(tapeless::ndarray::Dim([n, cout, h, h]));
        let mut dw = Array4::<f32>::zeros((cout, cin, 3, 3));
        let mut db = tapeless::ndarray::Array1::<f32>::zeros(cout);
        time(&format!("conv2d_backward (no dx) {cin}->{cout}"), || {
            conv2d_backward(
                w.view(),
                &window,
                cols.view(),
                Activation::ReLU,
                y.view(),
                dy.view_mut(),
                dw.view_mut(),
                Some(db.view_mut()),
                None,
            )
            .unwrap();
        });
        time(
            &format!("conv2d_backward_from_input (no dx) {cin}->{cout}"),
            || {
                conv2d_backward_from_input(
                    w.view(),
                    &window,
                    x.view(),
                    Activation::ReLU,
                    y.view(),
                    dy.view_mut(),
                    dw.view_mut(),
                    Some(db.view_mut()),
                    None,
                )
                .unwrap();
            },
        );
        let mut dx = Array4::<f32>::zeros((n, cin, h, h));
        time(
            &format!("conv2d_backward_from_input (dx) {cin}->{cout}"),
            || {
                conv2d_backward_from_input(
                    w.view(),
                    &window,
                    x.view(),
                    Activation::ReLU,
                    y.view(),
                    dy.view_mut(),
                    dw.view_mut(),
                    Some(db.view_mut()),
                    Some(dx.view_mut()),
                )
                .unwrap();
            },
        );
        let mut cols1 = Array3::<f32>::zeros((1, k, p));
        time(&format!("conv2d_forward one slot {cin}->{cout}"), || {
            conv2d_forward(
                x.view(),
                w.view(),
                Some(b.view()),
                &window,
                Activation::ReLU,
                cols1.view_mut(),
                y.view_mut(),
            )
            .unwrap();
            black_box(&y);
        });
        time(&format!("conv2d_backward (dx) {cin}->{cout}"), || {
            conv2d_backward(
                w.view(),
                &window,
                cols.view(),
                Activation::ReLU,
                y.view(),
                dy.view_mut(),
                dw.view_mut(),
                Some(db.view_mut()),
                Some(dx.view_mut()),
            )
            .unwrap();
        });
    }
}
