"""The PyTorch worker of the comparison harness: the workloads of benches/workloads/mod.rs in
PyTorch eager on the CPU, speaking the line protocol of src/lib.rs on stdin/stdout.

    python torch_worker.py                    # serve the protocol
    python torch_worker.py mnist DIR EPOCHS   # LeNet on MNIST: seconds per epoch, peak RSS

Threads: BENCH_THREADS (the harness sets it, with OMP_NUM_THREADS and MKL_NUM_THREADS) goes to
torch.set_num_threads. Extra workload: cnn-lenet-cl, cnn-lenet in channels_last memory format.

PyTorch comes from PyPI, in a virtual environment outside the repository (run.sh makes one if
TORCH_VENV does not name one):

    python3 -m venv ~/.cache/tapeless-bench/venv
    ~/.cache/tapeless-bench/venv/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu
"""

import gzip
import json
import os
import resource
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

THREADS = int(os.environ.get("BENCH_THREADS", "1"))
torch.set_num_threads(THREADS)
torch.manual_seed(0)


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1568, 128), nn.ReLU(), nn.Linear(128, 10),
    )


def mlp_small():
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


def train_step(model, opt, x, y, loss_fn):
    def step():
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss
    return step


def infer(model, x):
    model.eval()

    def step():
        with torch.inference_mode():
            return model(x)
    return step


def make(name):
    if name == "mlp-tiny":
        m = nn.Sequential(nn.Linear(2, 16), nn.Sigmoid(), nn.Linear(16, 1))
        return train_step(m, torch.optim.SGD(m.parameters(), lr=0.1),
                          torch.randn(32, 2), torch.randn(32, 1), F.mse_loss)
    if name == "mlp-small":
        m = mlp_small()
        return train_step(m, torch.optim.SGD(m.parameters(), lr=0.01),
                          torch.randn(64, 784), torch.randint(0, 10, (64,)), F.cross_entropy)
    if name == "mlp-wide":
        m = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                          nn.Linear(1024, 10))
        return train_step(m, torch.optim.Adam(m.parameters(), lr=1e-3),
                          torch.randn(256, 784), torch.randint(0, 10, (256,)), F.cross_entropy)
    if name in ("cnn-lenet", "cnn-lenet-cl"):
        m = lenet()
        x = torch.randn(64, 1, 28, 28)
        if name == "cnn-lenet-cl":
            m = m.to(memory_format=torch.channels_last)
            x = x.to(memory_format=torch.channels_last)
        return train_step(m, torch.optim.Adam(m.parameters(), lr=1e-3),
                          x, torch.randint(0, 10, (64,)), F.cross_entropy)
    if name == "mlp-small-infer":
        return infer(mlp_small(), torch.randn(1, 784))
    if name == "cnn-lenet-infer":
        return infer(lenet(), torch.randn(1, 1, 28, 28))
    return None


def serve():
    built = {}
    for line in sys.stdin:
        words = line.split()
        if words == ["info"]:
            out = {"framework": "pytorch", "version": torch.__version__, "threads": THREADS}
        elif len(words) == 3 and words[0] == "run":
            name, ms = words[1], int(words[2])
            if name not in built:
                step = make(name)
                if step is None:
                    print(json.dumps({"workload": name, "error": "unsupported"}), flush=True)
                    continue
                start, steps = time.perf_counter(), 0
                while steps < 20 or time.perf_counter() - start < 0.3:
                    step()
                    steps += 1
                per_step = (time.perf_counter() - start) / steps
                built[name] = (step, max(1, int(-(-2e-3 // per_step))))
            step, chunk = built[name]
            us = []
            start = time.perf_counter()
            while len(us) < 3 or time.perf_counter() - start < ms / 1e3:
                t = time.perf_counter()
                for _ in range(chunk):
                    step()
                us.append((time.perf_counter() - t) * 1e6 / chunk)
            out = {"workload": name, "us": [round(u, 4) for u in us]}
        elif words == ["quit"]:
            break
        else:
            out = {"error": f"unknown command {line!r}"}
        print(json.dumps(out), flush=True)


def read_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(raw[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)


def mnist(directory, epochs):
    """The plain recipe, as the tapeless worker runs it: LeNet, Adam 1e-3, batch 64, shuffled,
    no augmentation, MNIST's normalisation."""
    def load(prefix):
        x = read_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte.gz")).float() / 255
        y = read_idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte.gz")).long()
        return ((x - 0.1307) / 0.3081).unsqueeze(1), y

    (xtr, ytr), (xte, yte) = load("train"), load("test")
    model = lenet()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(7)
    seconds = []
    for _ in range(epochs):
        t = time.perf_counter()
        order = torch.randperm(len(xtr), generator=gen)
        for i in range(0, len(xtr), 64):
            idx = order[i:i + 64]
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            opt.zero_grad()
        seconds.append(time.perf_counter() - t)
    with torch.inference_mode():  # in batches of 64, as trained
        correct = sum((model(xte[i:i + 64]).argmax(1) == yte[i:i + 64]).sum().item()
                      for i in range(0, len(xte), 64))
    accuracy = correct / len(xte)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"framework": "pytorch", "threads": THREADS,
                      "epoch_s": [round(s, 4) for s in seconds],
                      "test_accuracy": round(accuracy, 4), "peak_rss_mib": round(peak, 1)}))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "mnist":
        mnist(sys.argv[2], int(sys.argv[3]))
    else:
        serve()
