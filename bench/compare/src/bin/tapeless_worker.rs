//! The tapeless worker of the comparison harness.
//!
//! ```text
//! tapeless_worker                         # serve the protocol of src/lib.rs on stdin/stdout
//! tapeless_worker profile WORKLOAD STEPS  # run STEPS steps (for perf / callgrind)
//! tapeless_worker mnist DIR EPOCHS        # LeNet on MNIST: seconds per epoch, peak RSS
//! ```
//!
//! Threads: matrixmultiply reads `MATMUL_NUM_THREADS` once, at the first GEMM.

#[path = "../../../../benches/workloads/mod.rs"]
mod workloads;

use std::time::Instant;

use tapeless::prelude::*;
use tapeless_compare::{peak_rss_mib, serve, threads};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => serve(
            "tapeless",
            env!("CARGO_PKG_VERSION"),
            threads(),
            workloads::make,
        ),
        ["profile", name, steps] => {
            let mut step = workloads::make(name).expect("a known workload");
            let steps: usize = steps.parse().expect("STEPS");
            let t = Instant::now();
            for _ in 0..steps {
                step();
            }
            let us = t.elapsed().as_secs_f64() * 1e6 / steps as f64;
            eprintln!("{name}: {us:.2} µs per step over {steps} steps");
        }
        ["mnist", dir, epochs] => mnist(dir, epochs.parse().expect("EPOCHS")),
        _ => panic!("usage: tapeless_worker [profile WORKLOAD STEPS | mnist DIR EPOCHS]"),
    }
}

/// The plain recipe: LeNet, Adam 1e-3, batch 64, shuffled, no augmentation; one line of JSON
/// with each epoch's seconds, the test accuracy after the last, and the peak RSS.
fn mnist(dir: &str, epochs: usize) {
    let data = Mnist::load(dir).expect("MNIST files");
    let mut net = workloads::LeNet::seeded(42);
    let mut opt = Adam::new(1e-3);
    let mut loader = data.train.batches(64).shuffled(7);
    let mut seconds = vec![];
    for _ in 0..epochs {
        let t = Instant::now();
        while let Some((x, y)) = loader.next_batch() {
            net.loss(x.view(), y.view()).expect("valid batch");
            net.backward().expect("after a loss");
            opt.step(&mut net);
            net.zero_grad();
        }
        seconds.push(t.elapsed().as_secs_f64());
    }
    let test = data.test.images();
    let labels = data.test.labels();
    let mut correct = 0;
    // Evaluated in batches of 64, as trained, so the network's buffers keep their size.
    for start in (0..test.shape()[0]).step_by(64) {
        let end = (start + 64).min(test.shape()[0]);
        let x = test.slice(tapeless::ndarray::s![start..end, .., .., ..]);
        let out = net.forward(x).expect("valid batch");
        for (row, &label) in out
            .rows()
            .into_iter()
            .zip(labels.slice(tapeless::ndarray::s![start..end]))
        {
            let best = (0..row.len())
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap();
            correct += usize::from(best == label);
        }
    }
    let list: Vec<String> = seconds.iter().map(|s| format!("{s:.4}")).collect();
    println!(
        r#"{{"framework": "tapeless", "threads": {}, "epoch_s": [{}], "test_accuracy": {:.4}, "peak_rss_mib": {:.1}}}"#,
        threads(),
        list.join(", "),
        correct as f64 / labels.len() as f64,
        peak_rss_mib()
    );
}
