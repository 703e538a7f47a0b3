"""Intra-op threads per workload: steps/s with 1 and with 2 threads.

Workloads, each trained with Adam through genlab.train.train:
  mlp-fp1d   one 1-200-100-100-1 tanh MLP on 61 samples (fp-1d's network)
  stack-fp1d 10 of them as one StackedMLP (fp-1d's default ensemble)
  mlp-3x512  a 784-512-512-512-10 ReLU MLP on a batch of 512
  conv-128   a 4-layer 32-channel conv net, 3x128x128 image in and out (DIP-sized layer widths, smaller)
Rounds alternate the thread counts; the median round is reported. Use the faster
count per workload: ``train(..., threads=n)``.

    python benchmarks/bench_threads.py [--rounds 3] [--seconds 2]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from genlab.data.targets import grid, sines  # noqa: E402
from genlab.losses import stacked_mse
from genlab.models.mlp import MLP  # noqa: E402
from genlab.models.stacked import StackedMLP  # noqa: E402
from genlab.train import supervised, train  # noqa: E402


def workloads():
    x = torch.as_tensor(grid(61), dtype=torch.float32).reshape(-1, 1)
    y = torch.as_tensor(sines(grid(61), (1, 3, 5)), dtype=torch.float32).reshape(-1, 1)
    xb, yb = torch.randn(512, 784), torch.randint(0, 10, (512,))
    img = torch.rand(1, 3, 128, 128)
    conv = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 3, 3, padding=1))
    return {
        "mlp-fp1d": (MLP((1, 200, 100, 100, 1), "tanh", 0.1, seed=0), supervised(nn.functional.mse_loss, x, y)),
        "stack-fp1d": (StackedMLP(10, (1, 200, 100, 100, 1), "tanh", 0.1), supervised(stacked_mse, x, y)),
        "mlp-3x512": (MLP((784, 512, 512, 512, 10), "relu", seed=0), supervised(nn.functional.cross_entropy, xb, yb)),
        "conv-128": (conv, supervised(nn.functional.mse_loss, img, img)),
    }


def steps_per_second(model, objective, threads: int, seconds: float) -> float:
    train(model, objective, steps=2, threads=threads, lr=1e-4)          # warm-up at this thread count
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        train(model, objective, steps=5, threads=threads, lr=1e-4)
        n += 5
    return n / (time.perf_counter() - t0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2.0, help="timed seconds per workload, thread count and round")
    ap.add_argument("--only", action="append", help="only this workload (repeatable)")
    a = ap.parse_args(argv)
    print(f"{'workload':<12} {'1 thread':>12} {'2 threads':>12} {'2 vs 1':>8}   (steps/s, median of {a.rounds} rounds)")
    for name, (model, objective) in workloads().items():
        if a.only and name not in a.only:
            continue
        r = {1: [], 2: []}
        for _ in range(a.rounds):
            for t in (1, 2):
                r[t].append(steps_per_second(model, objective, t, a.seconds))
        one, two = np.median(r[1]), np.median(r[2])
        print(f"{name:<12} {one:>12.1f} {two:>12.1f} {two / one:>7.2f}x", flush=True)


if __name__ == "__main__":
    main()
