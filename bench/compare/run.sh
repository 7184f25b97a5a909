#!/usr/bin/env bash
# The comparison harness of issue 6, in one command, from anywhere:
#
#     bench/compare/run.sh                     # all workloads, 1 and 2 threads, MNIST runs
#     bench/compare/run.sh --rounds 3 --ms 200 --mnist-epochs 0   # quicker
#     bench/compare/run.sh --frameworks tapeless,pytorch --workloads cnn-lenet
#
# It builds the Rust workers (tapeless and candle, in this directory's own workspace, so the
# root workspace never compiles candle), then runs compare.py, which prints a Markdown report.
#
# PyTorch: TORCH_VENV names a virtual environment with torch installed; by default
# ~/.cache/tapeless-bench/venv, created here (outside the repository) on first use with
# `pip install torch` from PyPI.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${TORCH_VENV:-$HOME/.cache/tapeless-bench/venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
    echo "creating $venv with PyTorch from PyPI" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet torch numpy
fi
cargo build --release --quiet --manifest-path "$here/Cargo.toml" --bin tapeless_worker --bin candle_worker
exec python3 "$here/compare.py" --bin-dir "$here/target/release" --torch-python "$venv/bin/python" \
    --data "$root/data/mnist-10k" --command "bench/compare/run.sh${*:+ $*}" "$@"
