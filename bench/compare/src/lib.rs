//! The line protocol every worker of the harness speaks (the PyTorch worker speaks it too, in
//! `torch_worker.py`), so `compare.py` can drive them all alike, interleaved.
//!
//! On stdin, one command a line; on stdout, one JSON line an answer:
//! - `info` -> `{"framework": ..., "version": ..., "threads": ...}`
//! - `run WORKLOAD MS` -> `{"workload": ..., "us": [...]}`: the workload is built and warmed up
//!   the first time it is asked for, then run in chunks of `k` steps (`k` chosen once so a chunk
//!   lasts about 2 ms) for about `MS` milliseconds; `us` holds each chunk's µs per step.
//!   `{"workload": ..., "error": ...}` if the worker does not have it.
//! - `quit` (or end of input) -> exits.

use std::collections::HashMap;
use std::io::{self, BufRead, Write};
use std::time::{Duration, Instant};

/// One step of a workload: a training step or a forward pass.
pub type Step = Box<dyn FnMut() -> f32>;

struct Built {
    step: Step,
    chunk: usize,
}

/// Builds `step`, runs it for warm-up (at least 20 steps and 0.3 s), and sizes its chunks.
fn warm_up(mut step: Step) -> Built {
    let start = Instant::now();
    let mut steps = 0usize;
    while steps < 20 || start.elapsed() < Duration::from_millis(300) {
        step();
        steps += 1;
    }
    let per_step = start.elapsed().as_secs_f64() / steps as f64;
    let chunk = ((2e-3 / per_step).ceil() as usize).max(1);
    Built { step, chunk }
}

/// Serves the protocol on stdin/stdout until `quit`.
pub fn serve(
    framework: &str,
    version: &str,
    threads: usize,
    mut make: impl FnMut(&str) -> Option<Step>,
) {
    let mut built: HashMap<String, Built> = HashMap::new();
    let stdin = io::stdin();
    let mut out = io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line.expect("stdin");
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["info"] => writeln!(
                out,
                r#"{{"framework": "{framework}", "version": "{version}", "threads": {threads}}}"#
            ),
            ["run", name, ms] => {
                let ms: u64 = ms.parse().expect("MS is an integer");
                if !built.contains_key(*name) {
                    match make(name) {
                        Some(step) => {
                            built.insert(name.to_string(), warm_up(step));
                        }
                        None => {
                            writeln!(out, r#"{{"workload": "{name}", "error": "unsupported"}}"#)
                                .unwrap();
                            out.flush().unwrap();
                            continue;
                        }
                    }
                }
                let b = built.get_mut(*name).expect("built above");
                let budget = Duration::from_millis(ms);
                let start = Instant::now();
                let mut us = Vec::new();
                while us.len() < 3 || start.elapsed() < budget {
                    let t = Instant::now();
                    for _ in 0..b.chunk {
                        (b.step)();
                    }
                    us.push(t.elapsed().as_secs_f64() * 1e6 / b.chunk as f64);
                }
                let list: Vec<String> = us.iter().map(|u| format!("{u:.4}")).collect();
                writeln!(
                    out,
                    r#"{{"workload": "{name}", "us": [{}]}}"#,
                    list.join(", ")
                )
            }
            ["quit"] => break,
            _ => writeln!(out, r#"{{"error": "unknown command {line:?}"}}"#),
        }
        .unwrap();
        out.flush().unwrap();
    }
}

/// Peak resident set size of this process so far, in MiB (`getrusage`'s `ru_maxrss`, read
/// from `/proc/self/status` as `VmHWM`).
pub fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The thread count the harness asked for (its `BENCH_THREADS`), for `info`.
pub fn threads() -> usize {
    std::env::var("BENCH_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// CPU time of the calling thread, in seconds: what a kernel costs even when other processes
/// share the machine (for the probes; the harness itself reports wall-clock time).
pub fn thread_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}
