"""Speed of the memorization family: train() against a plain PyTorch loop, the sweep's use of both cores,
and the exact kernel solve at n = 17,435.

    python benchmarks/bench_memorization.py            # train() vs plain loop, sweep wall time
    python benchmarks/bench_memorization.py --kernel   # also the kernel solve at n = 17,435 (1-3 min, 2.5 GB)

Prints Markdown lines to paste into benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from genlab.experiments.memorization.common import MemConfig, corrupted, load  # noqa: E402
from genlab.models.vision import build  # noqa: E402
from genlab.train import MiniBatches, supervised, train  # noqa: E402


def epochs_per_second(epochs: int = 3, repeats: int = 3) -> tuple[float, float]:
    """MLP 3x512 on the 5,085-image CIFAR-10 subset, batch 128, SGD momentum 0.9, 1 thread."""
    cfg = MemConfig(dataset="cifar10", n_train=0, n_test=10)
    x, y, _, _ = corrupted(load(cfg))
    torch.set_num_threads(1)
    batches = MiniBatches(x, y, 128, seed=0)
    steps = epochs * batches.per_epoch

    def genlab_loop():
        model = build("mlp3x512", tuple(x.shape[1:]), 10, seed=0)
        t = time.perf_counter()
        train(model, supervised(F.cross_entropy), steps=steps, optimizer="sgd", lr=0.01, momentum=0.9,
              lr_schedule=lambda s: 0.95 ** (s // batches.per_epoch), batches=batches, threads=1)
        return epochs / (time.perf_counter() - t)

    def plain_loop():
        model = build("mlp3x512", tuple(x.shape[1:]), 10, seed=0)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, 0.95)
        t = time.perf_counter()
        for e in range(epochs):
            perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(e))
            for i in range(0, len(x), 128):
                idx = perm[i:i + 128]
                opt.zero_grad(set_to_none=True)
                loss = F.cross_entropy(model(x[idx]), y[idx])
                loss.backward()
                opt.step()
            sched.step()
        return epochs / (time.perf_counter() - t)

    g, p = [], []
    for r in range(repeats):  # interleaved, alternating which goes first, so contention hits both alike
        for f in ((genlab_loop, plain_loop) if r % 2 else (plain_loop, genlab_loop)):
            (g if f is genlab_loop else p).append(f())
    return max(g), max(p)


def overhead_per_step(steps: int = 3000) -> tuple[float, float]:
    """Microseconds per step of train() and of a plain loop on a tiny linear model: the loop's own cost."""
    torch.set_num_threads(1)
    x, y = torch.randn(5120, 20), torch.randint(0, 10, (5120,))
    b = MiniBatches(x, y, 128, seed=0)
    best_g, best_p = float("inf"), float("inf")
    for _ in range(3):
        m = torch.nn.Linear(20, 10)
        t = time.perf_counter()
        train(m, supervised(F.cross_entropy), steps=steps, optimizer="sgd", lr=0.01, momentum=0.9,
              lr_schedule=lambda s: 0.95 ** (s // 40), batches=b, threads=1)
        best_g = min(best_g, (time.perf_counter() - t) / steps * 1e6)
        m = torch.nn.Linear(20, 10)
        opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
        t = time.perf_counter()
        for s in range(steps):
            bx, by = b(s)
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(m(bx), by).backward()
            opt.step()
        best_p = min(best_p, (time.perf_counter() - t) / steps * 1e6)
    return best_g, best_p


def _startup(_):
    from genlab.experiments import registry
    return len(registry())


def worker_startup() -> float:
    """Seconds for 2 spawned workers to start and import genlab's experiments (the fixed cost of a parallel sweep)."""
    from genlab.parallel import parallel_map
    t = time.perf_counter()
    parallel_map(_startup, [0, 1], workers=2)
    return time.perf_counter() - t


def sweep_wall(n_train: int = 2000) -> tuple[float, float]:
    """A 2-run sweep (levels 0 and 1) with 2 workers against the same 2 runs one after the other."""
    from genlab.sweep import LocalBackend, sweep
    grid = ["levels=0,1", "archs=mlp1x512", f"n_train={n_train}", "n_test=500"]
    out = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            sweep("mem-test-error", grid, "quick", Path(d) / "s", LocalBackend(workers=workers))
            out[workers] = time.perf_counter() - t
    return out[1], out[2]


KERNEL_CHILD = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
from genlab.data.vision import load_dataset
from genlab.models.kernel import KernelInterpolant, memory_bytes
d = load_dataset("mnist")
X = d.x_train.reshape(len(d.x_train), -1) / 255.0
t = time.perf_counter(); m = KernelInterpolant(scale=0.5).fit(X, d.y_train); solve = time.perf_counter() - t
err = float((m.predict(d.x_test.reshape(len(d.x_test), -1) / 255.0) != d.y_test).mean())
print(json.dumps({"n": len(X), "solve_s": solve, "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                  "estimate_gb": memory_bytes(len(X), X.shape[1]) / 2**30, "test_error": err}))
"""


def kernel_solve() -> dict:
    src = str(Path(__file__).resolve().parents[1] / "src")
    out = subprocess.run([sys.executable, "-c", KERNEL_CHILD, src], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", action="store_true", help="also time the kernel solve at n = 17,435")
    ap.add_argument("--only", choices=["train", "sweep", "kernel"], default=None, help="one part only")
    a = ap.parse_args()
    print(f"machine: {os.cpu_count()}-core CPU, date {time.strftime('%Y-%m-%d %H:%M')}, load {os.getloadavg()[0]:.1f}")
    if a.only in (None, "train"):
        g, p = epochs_per_second()
        print(f"| MLP 3x512, CIFAR-10 5,085 images, epochs/s | train(): {g:.2f} | plain loop: {p:.2f} | ratio {g / p:.2f} |")
        og, op = overhead_per_step()
        print(f"| loop cost per step, tiny linear model | train(): {og:.0f} us | plain loop: {op:.0f} us | difference {og - op:.0f} us |")
    if a.only in (None, "sweep"):
        print(f"| 2 spawned workers start and import genlab | {worker_startup():.1f} s |")
        seq, par = sweep_wall()
        print(f"| 2-run sweep wall time | 1 worker: {seq:.1f} s | 2 workers: {par:.1f} s | speed-up {seq / par:.2f} |")
    if a.kernel or a.only == "kernel":
        k = kernel_solve()
        print(f"| kernel solve n={k['n']} | {k['solve_s']:.1f} s | peak RSS {k['peak_gb']:.2f} GiB "
              f"(estimate {k['estimate_gb']:.2f} GiB) | test error {k['test_error']:.4f} |")
