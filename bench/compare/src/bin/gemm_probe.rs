//! GFLOP/s of single-precision GEMM shapes of the workloads: matrixmultiply (the default,
//! patched as in the root workspace) against the `gemm` crate. Medians of repeated runs.
//!
//! ```text
//! MATMUL_NUM_THREADS=2 cargo run --release --bin gemm_probe
//! ```
//! Each library at 1 thread and at 2 (matrixmultiply: `with_max_threads(1)` against its pool of
//! `MATMUL_NUM_THREADS`; gemm: `Parallelism::None` against `Parallelism::Rayon(2)`).

use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time(flops: f64, mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    let t = Instant::now();
    let mut reps = 0;
    while t.elapsed().as_secs_f64() < 0.05 {
        f();
        reps += 1;
    }
    let per = t.elapsed().as_secs_f64() / reps as f64;
    let reps = ((0.02 / per).ceil() as usize).max(1);
    let samples = (0..15)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            flops * reps as f64 / t.elapsed().as_secs_f64() / 1e9
        })
        .collect();
    median(samples)
}

fn main() {
    // (m, k, n, label): C[m,n] = A[m,k] B[k,n], all row-major.
    let shapes = [
        (1024, 1024, 1024, "1024^3"),
        (64, 784, 128, "mlp-small fc1 fwd"),
        (256, 784, 1024, "mlp-wide fc1 fwd"),
        (256, 1024, 1024, "mlp-wide fc2 fwd"),
        (1024, 256, 1024, "mlp-wide fc2 dW"),
        (128, 64, 784, "mlp-small fc1 dW"),
        (32, 144, 196, "lenet conv2 per-sample"),
        (32, 144, 12544, "lenet conv2 batched"),
        (1, 784, 128, "mlp-small fc1 b1"),
        (64, 128, 784, "mlp-small fc1 dx (no: first layer)"),
        (128, 64, 10, "mlp-small fc2 dW"),
        (144, 32, 196, "lenet conv2 dcols per-sample"),
        (16, 9, 784, "lenet conv1 per-sample"),
        (64, 1568, 128, "lenet fc1 fwd"),
        (128, 64, 1568, "lenet fc1 dW"),
    ];
    println!(
        "{:<40}{:>10}{:>10}{:>10}{:>10}{:>10}   GFLOP/s",
        "shape", "mm 1t", "mm 2t", "mm split", "gemm 1t", "gemm 2t"
    );
    for (m, k, n, label) in shapes {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
        let mut c = vec![0f32; m * n];
        let flops = 2.0 * (m * k * n) as f64;
        let mm = |threads: usize, c: &mut Vec<f32>| {
            time(flops, || {
                matrixmultiply::with_max_threads(threads, || unsafe {
                    matrixmultiply::sgemm(
                        m,
                        k,
                        n,
                        1.0,
                        a.as_ptr(),
                        k as isize,
                        1,
                        b.as_ptr(),
                        n as isize,
                        1,
                        0.0,
                        c.as_mut_ptr(),
                        n as isize,
                        1,
                    )
                })
            })
        };
        // Our own split: rows (or columns, if wider) in halves, one single-threaded GEMM each.
        let split = |c: &mut Vec<f32>| {
            let cp = c.as_mut_ptr() as usize;
            time(flops, || {
                matrixmultiply::for_each_part(|part, parts| {
                    let by_rows = m >= n;
                    let len = if by_rows { m } else { n };
                    let (lo, hi) = (len * part / parts, len * (part + 1) / parts);
                    unsafe {
                        let c = cp as *mut f32;
                        if by_rows {
                            matrixmultiply::sgemm(
                                hi - lo,
                                k,
                                n,
                                1.0,
                                a.as_ptr().add(lo * k),
                                k as isize,
                                1,
                                b.as_ptr(),
                                n as isize,
                                1,
                                0.0,
                                c.add(lo * n),
                                n as isize,
                                1,
                            )
                        } else {
                            matrixmultiply::sgemm(
                                m,
                                k,
                                hi - lo,
                                1.0,
                                a.as_ptr(),
                                k as isize,
                                1,
                                b.as_ptr().add(lo),
                                n as isize,
                                1,
                                0.0,
                                c.add(lo),
                                n as isize,
                                1,
                            )
                        }
                    }
                })
            })
        };
        let ge = |par: gemm::Parallelism, c: &mut Vec<f32>| {
            time(flops, || unsafe {
                gemm::gemm(
                    m,
                    n,
                    k,
                    c.as_mut_ptr(),
                    1,
                    n as isize,
                    false,
                    a.as_ptr(),
                    1,
                    k as isize,
                    b.as_ptr(),
                    1,
                    n as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    par,
                )
            })
        };
        let r = [
            mm(1, &mut c),
            mm(2, &mut c),
            split(&mut c),
            ge(gemm::Parallelism::None, &mut c),
            ge(gemm::Parallelism::Rayon(2), &mut c),
        ];
        println!(
            "{:<40}{:>10.1}{:>10.1}{:>10.1}{:>10.1}{:>10.1}",
            format!("{label} {m}x{k}x{n}"),
            r[0],
            r[1],
            r[2],
            r[3],
            r[4]
        );
    }
}
