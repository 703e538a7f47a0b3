"""Run-to-run spread of the Hessian probe's stochastic estimates, against the exact spectrum.

    python benchmarks/bench_hessian.py     (about a minute)

A 16-64-10 tanh MLP (1,738 parameters) on 1,000 4x4-pooled MNIST images, cross-entropy,
at a point after 300 Adam steps. The exact Hessian (torch.linalg.eigvalsh) is the oracle;
each stochastic estimate is repeated over 10 seeds and reported as mean, std and the
worst relative error. Users of existing tools complain that this spread goes unreported.
"""
from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from genlab.data.preprocess import downsampled_mnist
from genlab.models.mlp import MLP
from genlab.probes.hessian import Hessian
from genlab.train import supervised, train


def main():
    torch.set_num_threads(1)
    x, _, labels = downsampled_mnist(1000, dtype=torch.float32)
    model = MLP((16, 64, 10), "tanh", seed=0)
    train(model, supervised(nn.functional.cross_entropy, x, labels), steps=300, lr=1e-2, threads=1, progress=False)
    h = Hessian(model, nn.functional.cross_entropy, (x, labels))
    t = time.perf_counter()
    lam = torch.linalg.eigvalsh(h.exact()).numpy()
    t_exact = time.perf_counter() - t
    print(f"n = {h.n_params_} parameters; exact Hessian + eigvalsh {t_exact:.2f} s; "
          f"lambda_max {lam[-1]:.4g}, trace {lam.sum():.4g}, lambda_min {lam[0]:.3g}")
    seeds = range(10)

    def report(name, values, truth, seconds):
        v = np.asarray(values)
        print(f"{name:38s} mean {v.mean():10.4g}  std {v.std():9.3g}  worst rel. error "
              f"{np.max(np.abs(v - truth)) / abs(truth):7.2%}  ({seconds / len(v):.2f} s per estimate)")

    for k, iters in ((1, 20), (5, 40)):
        t = time.perf_counter()
        vals = [h.eigenvalues(k=k, n_iter=iters, repeats=1, seed=s)[k - 1] for s in seeds]
        report(f"Lanczos lambda_{k} ({iters} iterations)", vals, lam[-k], time.perf_counter() - t)
    for n in (10, 100):
        t = time.perf_counter()
        vals = [h.trace(n_samples=n, repeats=1, seed=s) for s in seeds]
        report(f"Hutchinson trace ({n} samples)", vals, lam.sum(), time.perf_counter() - t)
    t = time.perf_counter()
    m1, m2 = [], []
    for s in seeds:
        h.density(n_runs=5, n_iter=40, seed=s)
        m1.append(h.moment(1))
        m2.append(h.moment(2))
    dt = time.perf_counter() - t
    report("SLQ (1/n) tr H (5 runs x 40 steps)", m1, lam.mean(), dt)
    report("SLQ (1/n) tr H^2 (5 runs x 40 steps)", m2, (lam ** 2).mean(), dt)


if __name__ == "__main__":
    main()
