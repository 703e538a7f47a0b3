"""Many small nets at once (StackedMLP) against a Python loop over the same nets.

Trains M independent tanh MLPs (default 64 of 1-200-100-100-1, the fp-1d size) on
61 samples of sin x + sin 3x + sin 5x with Adam through genlab.train.train, once
as one StackedMLP and once one MLP at a time, for the same number of steps, on one
intra-op thread. Prints the time per model-step of each, the speedup and the max
abs difference of the final predictions (the two must agree).

    python benchmarks/bench_ensemble.py [--models 64] [--steps 50] [--rounds 3] [--widths 1,200,100,100,1]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from genlab.data.targets import grid, sines  # noqa: E402
from genlab.losses import stacked_mse
from genlab.models.stacked import StackedMLP  # noqa: E402
from genlab.train import supervised, train  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=64)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--widths", default="1,200,100,100,1")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--optimizer", default="adam")
    a = ap.parse_args(argv)
    widths = tuple(int(w) for w in a.widths.split(","))
    torch.set_num_threads(a.threads)
    x = torch.as_tensor(grid(61), dtype=torch.float32).reshape(-1, 1)
    y = torch.as_tensor(sines(grid(61), (1, 3, 5)), dtype=torch.float32).reshape(-1, 1)
    stack = StackedMLP(a.models, widths, "tanh", init_std=0.1)
    nets = [stack.member(k) for k in range(a.models)]
    lr = 2e-4 if a.optimizer == "adam" else 0.05

    # Warm-up (lazy imports, allocator) outside the timings.
    train(StackedMLP(2, widths, "tanh", 0.1), supervised(stacked_mse, x, y), steps=5, lr=lr, optimizer=a.optimizer)

    # Alternate the two in rounds and keep the median round: the machine is shared, and a
    # burst of load on one side would otherwise decide the ratio. Wall and CPU time both.
    rounds = {"stacked": [], "loop": []}
    for _ in range(a.rounds):
        w, c = time.perf_counter(), time.process_time()
        train(stack, supervised(stacked_mse, x, y), steps=a.steps, lr=lr, optimizer=a.optimizer, threads=a.threads)
        rounds["stacked"].append((time.perf_counter() - w, time.process_time() - c))
        w, c = time.perf_counter(), time.process_time()
        for net in nets:
            train(net, supervised(torch.nn.functional.mse_loss, x, y), steps=a.steps, lr=lr, optimizer=a.optimizer,
                  threads=a.threads)
        rounds["loop"].append((time.perf_counter() - w, time.process_time() - c))

    with torch.no_grad():
        diff = max(float((stack(x)[k] - net(x)).abs().max()) for k, net in enumerate(nets))
    per = a.models * a.steps
    med = {k: np.median(np.asarray(v), axis=0) for k, v in rounds.items()}
    print(f"{a.models} x {widths} tanh, {len(x)} samples, {a.optimizer}, {a.rounds} rounds of {a.steps} steps, "
          f"{a.threads} thread(s); median round")
    for k in ("stacked", "loop"):
        print(f"{k:>8}: wall {med[k][0]:.2f} s = {1e6 * med[k][0] / per:.1f} us per model-step; "
              f"CPU {1e6 * med[k][1] / per:.1f} us per model-step")
    print(f"speedup: {med['loop'][0] / med['stacked'][0]:.2f}x wall, {med['loop'][1] / med['stacked'][1]:.2f}x CPU; "
          f"max |stacked - loop| of final predictions: {diff:.2e}")


if __name__ == "__main__":
    main()
