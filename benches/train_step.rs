//! Training-step and batch-1 inference benchmarks of tapeless, the workloads of issue 6
//! (`benches/workloads/mod.rs` declares them).
//!
//! ```text
//! cargo bench --bench train_step                      # every workload
//! cargo bench --bench train_step -- cnn-lenet         # one
//! MATMUL_NUM_THREADS=1 cargo bench --bench train_step # one thread (default: one a physical core)
//! ```
//!
//! Side-by-side numbers against PyTorch and candle come from `bench/compare/run.sh`.

mod workloads;

use criterion::{criterion_group, criterion_main, Criterion};

fn train_step(c: &mut Criterion) {
    for name in workloads::NAMES {
        let mut step = workloads::make(name).expect("a known workload");
        c.bench_function(name, |b| b.iter(&mut step));
    }
}

criterion_group!(benches, train_step);
criterion_main!(benches);
