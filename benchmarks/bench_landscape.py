"""Time a 2-D filter-normalized landscape slice with 1 and 2 worker processes.

Usage: ``python benchmarks/bench_landscape.py [--grid 31] [--width 256] [--n 5000]``
A one-hidden-layer ReLU net (100 -> width -> 10) on random data; the grid has
grid x grid points, each a full forward pass and cross-entropy. Reports wall
seconds per slice and checks that both worker counts give identical losses.
The 2-worker time includes spawning the workers (about a second or two each).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from genlab.models.mlp import MLP  # noqa: E402
from genlab.probes.landscape import Landscape  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--grid", type=int, default=31)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--chunk", type=int, default=32)
    a = p.parse_args()
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(a.n, 100, generator=g), torch.randint(0, 10, (a.n,), generator=g)
    model = MLP((100, a.width, 10), "relu", seed=0)
    alphas = np.linspace(-1, 1, a.grid)
    res = {}
    for workers in (1, 2):
        t = time.perf_counter()
        res[workers] = Landscape(F.cross_entropy, (x, y), workers=workers, chunk_size=a.chunk).slice_2d(model, alphas).losses_
        dt = time.perf_counter() - t
        print(f"workers={workers}: {dt:.2f} s for {a.grid}x{a.grid} points "
              f"({1000 * dt / a.grid ** 2:.2f} ms/point), width {a.width}, {a.n} examples")
    print("identical results:", bool(np.array_equal(res[1], res[2])))


if __name__ == "__main__":
    main()
