"""Drives the workers of the comparison harness (see run.sh): the same workloads for tapeless,
PyTorch and candle, at each thread count, interleaved, and prints a Markdown report.

Every (framework, thread count) is one long-lived worker process (thread counts are read from
the environment once per process). Each round asks every worker in turn for about --ms of each
workload, so all of them see the same machine conditions over the run; a step's time is the
median over every chunk of every round. Only one worker runs at a time.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

WORKLOADS = ["mlp-tiny", "mlp-small", "mlp-wide", "cnn-lenet", "mlp-small-infer",
             "cnn-lenet-infer"]


class Worker:
    def __init__(self, label, framework, threads, argv):
        self.label, self.framework, self.threads = label, framework, threads
        env = dict(os.environ)
        for var in ("BENCH_THREADS", "MATMUL_NUM_THREADS", "RAYON_NUM_THREADS",
                    "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=env, text=True, bufsize=1)
        self.info = self.ask("info")

    def ask(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.label} (threads {self.threads}) exited on {command!r}")
        return json.loads(line)

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        self.proc.wait(timeout=30)


def machine():
    model, cores = "?", "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        fields = dict(l.split(":", 1) for l in out.splitlines() if ":" in l)
        model = fields.get("Model name", "?").strip()
        cores = fields.get("CPU(s)", "?").strip()
        flags = fields.get("Flags", "")
        simd = "AVX-512" if "avx512f" in flags else ("AVX2+FMA" if "avx2" in flags else "SSE")
    except OSError:
        simd = "?"
    return f"{model}, {cores} CPUs, {simd}, {platform.system()} {platform.release()}"


def busy_processes():
    """Other CPU-hungry processes (cargo, rustc, python) besides this harness."""
    me = {os.getpid(), os.getppid()}
    out = subprocess.run(["ps", "-eo", "pid,pcpu,comm"], capture_output=True, text=True).stdout
    busy = []
    for line in out.splitlines()[1:]:
        pid, cpu, comm = line.split(None, 2)
        if int(pid) not in me and float(cpu) > 20 and "worker" not in comm and comm != "ps":
            busy.append(f"{comm.strip()} ({cpu}%)")
    return busy


def quantile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--torch-python", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--ms", type=int, default=400, help="per workload, worker and round")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--frameworks", default="tapeless,pytorch,candle")
    ap.add_argument("--mnist-epochs", type=int, default=2, help="0 skips the MNIST runs")
    ap.add_argument("--command", default="", help="the command line, for the report")
    ap.add_argument("--wait-idle", type=int, default=0, metavar="S",
                    help="first wait up to S seconds for an idle machine (1-minute load "
                         "average < 0.3, no other busy process)")
    args = ap.parse_args()

    here = os.path.dirname(os.path.abspath(__file__))
    argv = {
        "tapeless": [os.path.join(args.bin_dir, "tapeless_worker")],
        "pytorch": [args.torch_python, os.path.join(here, "torch_worker.py")],
        "candle": [os.path.join(args.bin_dir, "candle_worker")],
    }
    frameworks = args.frameworks.split(",")
    threads = [int(t) for t in args.threads.split(",")]
    workloads = args.workloads.split(",")
    waited = 0
    while waited < args.wait_idle and (os.getloadavg()[0] >= 0.3 or busy_processes()):
        print(f"waiting for an idle machine: load {os.getloadavg()[0]:.2f}, busy: "
              f"{', '.join(busy_processes()) or 'none'}", file=sys.stderr)
        time.sleep(30)
        waited += 30
    load_before = os.getloadavg()
    busy_before = busy_processes()
    started = datetime.datetime.now()

    workers = [Worker(f, f, t, argv[f]) for t in threads for f in frameworks]
    # (framework label, threads, workload) -> list of µs per step
    samples = {}
    jobs = []
    for w in workloads:
        for wk in workers:
            jobs.append((wk, w, wk.framework))
            if wk.framework == "pytorch" and w == "cnn-lenet":
                jobs.append((wk, "cnn-lenet-cl", "pytorch channels_last"))
    try:
        for r in range(args.rounds):
            print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
            # Rotate the order of the workers every round.
            order = jobs[r % len(jobs):] + jobs[:r % len(jobs)] if r else jobs
            order = sorted(order, key=lambda j: workloads.index(j[1]) if j[1] in workloads
                           else workloads.index("cnn-lenet"))
            for wk, w, label in order:
                reply = wk.ask(f"run {w} {args.ms}")
                if "us" in reply:
                    samples.setdefault((label, wk.threads, w if w != "cnn-lenet-cl" else
                                        "cnn-lenet"), []).extend(reply["us"])
                time.sleep(0.05)  # let OpenMP / rayon spinning threads go idle
    finally:
        infos = {(wk.framework, wk.threads): wk.info for wk in workers}
        for wk in workers:
            wk.close()

    mnist = []
    if args.mnist_epochs > 0:
        for t in threads:
            for f in ("tapeless", "pytorch"):
                if f not in frameworks:
                    continue
                env = dict(os.environ)
                for var in ("BENCH_THREADS", "MATMUL_NUM_THREADS", "RAYON_NUM_THREADS",
                            "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                    env[var] = str(t)
                print(f"mnist {f} threads {t}", file=sys.stderr)
                out = subprocess.run(argv[f] + ["mnist", args.data, str(args.mnist_epochs)],
                                     env=env, capture_output=True, text=True, check=True)
                mnist.append(json.loads(out.stdout.strip().splitlines()[-1]))

    load_after = os.getloadavg()
    busy_after = busy_processes()

    # -- report ---------------------------------------------------------------------------------
    lines = []
    p = lines.append
    p(f"Machine: {machine()}")
    versions = ", ".join(sorted({f"{i['framework']} {i['version']}" for i in infos.values()}))
    p(f"Frameworks: {versions}")
    p(f"Date: {started:%Y-%m-%d %H:%M}; {args.rounds} rounds x {args.ms} ms per workload and "
      f"worker, interleaved")
    idle = load_before[0] < 0.3 and not busy_before
    p(f"Load average before: {load_before[0]:.2f} (1 min), after: {load_after[0]:.2f}; other "
      f"busy processes before: {', '.join(busy_before) or 'none'}, after: "
      f"{', '.join(busy_after) or 'none'} -> machine {'idle' if idle else 'NOT idle'}")
    if args.command:
        p(f"Command: `{args.command}`")
    p("")
    p("| workload | threads | framework | µs per step (median) | p25–p75 | steps/s | "
      "time vs tapeless |")
    p("|---|---:|---|---:|---:|---:|---:|")
    labels = [f for f in frameworks]
    if "pytorch" in frameworks:
        labels.insert(labels.index("pytorch") + 1, "pytorch channels_last")
    for w in workloads:
        for t in threads:
            base = samples.get(("tapeless", t, w))
            base_med = statistics.median(base) if base else None
            for f in labels:
                xs = samples.get((f, t, w))
                if not xs:
                    continue
                med = statistics.median(xs)
                ratio = f"{med / base_med:.2f}x" if base_med else ""
                p(f"| {w} | {t} | {f} | {fmt(med)} | {fmt(quantile(xs, 0.25))}–"
                  f"{fmt(quantile(xs, 0.75))} | {1e6 / med:,.0f} | {ratio} |")
    if mnist:
        p("")
        p("LeNet on MNIST-10k (8,000 training digits), Adam 1e-3, batch 64, shuffled, "
          f"{args.mnist_epochs} epochs, then the 2,000 test digits in batches of 64; each "
          "framework in a fresh process, peak RSS over the whole run (data loading included):")
        p("")
        p("| framework | threads | s per epoch (each) | test accuracy | peak RSS (MiB) |")
        p("|---|---:|---|---:|---:|")
        for m in mnist:
            epochs = ", ".join(f"{s:.2f}" for s in m["epoch_s"])
            p(f"| {m['framework']} | {m['threads']} | {epochs} | "
              f"{100 * m['test_accuracy']:.2f}% | {m['peak_rss_mib']:.0f} |")
    print("\n".join(lines))


def fmt(us):
    if us >= 1000:
        return f"{us:,.0f}"
    if us >= 100:
        return f"{us:.0f}"
    if us >= 10:
        return f"{us:.1f}"
    return f"{us:.2f}"


if __name__ == "__main__":
    main()
