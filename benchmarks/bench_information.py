"""Mutual-information estimator throughput against a straightforward per-layer numpy loop.

    python benchmarks/bench_information.py            # estimators only (about a minute)
    python benchmarks/bench_information.py --ib-default   # also time ib-tanh at default scale

The baseline is the loop of the original information-plane code: for every network and
every layer, digitize the activations, find the distinct rows with np.unique and count
them, then do the same within each label. genlab's BinningMI does all networks of a stack
at once with integer row keys and one sort per quantity. Both must give the same bits.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

from genlab.probes.information import KDEMI, BinningMI


def numpy_binning(T, y, n_bins=30, lo=-1.0, hi=1.0):
    """Per-layer reference: I(X;T) = H(T), I(T;Y) = H(T) - sum_c p_c H(T | Y=c), in bits."""
    edges = np.linspace(lo, hi, n_bins + 1)[1:-1]
    d = np.digitize(T, edges)

    def H(rows):
        _, counts = np.unique(np.ascontiguousarray(rows), axis=0, return_counts=True)
        p = counts / counts.sum()
        return -(p * np.log2(p)).sum()

    h = H(d)
    h_cond = sum((y == c).mean() * H(d[y == c]) for c in np.unique(y))
    return h, h - h_cond


def numpy_kde(T, y, var=1e-3):
    """Straightforward KDE upper bound (Saxe et al.'s formula) with scipy's logsumexp."""
    from scipy.spatial.distance import cdist
    from scipy.special import logsumexp

    def h(x):
        D = cdist(x, x, "sqeuclidean") / (2 * var)
        return np.log(len(x)) - logsumexp(-D, axis=1).mean()

    hx = h(T)
    return hx / np.log(2), (hx - sum((y == c).mean() * h(T[y == c]) for c in np.unique(y))) / np.log(2)


def timeit(fn, repeats=3):
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ib-default", action="store_true", help="also time genlab run ib-tanh --scale default")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    M, N, widths = 16, 4096, (10, 7, 5, 4, 3)
    y = rng.integers(0, 2, N)
    layers = [np.tanh(rng.normal(size=(M, N, w)) * 2) for w in widths]
    est = BinningMI(30, (-1, 1))
    t_ref, ref = timeit(lambda: [[numpy_binning(L[m], y) for m in range(M)] for L in layers], 1)
    t_new, new = timeit(lambda: [(est.fit(L, y).I_xt_, est.I_ty_) for L in layers])
    diff = max(abs(ref[i][m][0] - new[i][0][m]) + abs(ref[i][m][1] - new[i][1][m]) for i in range(len(widths)) for m in range(M))
    n_est = M * len(widths)
    print(f"binning, {M} nets x {len(widths)} layers x {N} patterns ({n_est} estimates of I(X;T), I(T;Y)):")
    print(f"  numpy per-layer loop  {t_ref:7.3f} s  ({1e3 * t_ref / n_est:6.2f} ms per estimate)")
    print(f"  genlab BinningMI      {t_new:7.3f} s  ({1e3 * t_new / n_est:6.2f} ms per estimate)  speed-up {t_ref / t_new:.1f}x")
    print(f"  max |difference| {diff:.2e} bits")
    T, yk = layers[2][0, :1024], y[:1024]
    t_ref, ref = timeit(lambda: numpy_kde(T, yk), 1)
    t_new, new = timeit(lambda: KDEMI(1e-3).fit(T, yk))
    print(f"KDE bound, one layer, 1024 patterns: scipy {t_ref:.3f} s, genlab KDEMI {t_new:.3f} s "
          f"(speed-up {t_ref / t_new:.1f}x); difference {abs(ref[0] - new.I_xt_):.1e} / {abs(ref[1] - new.I_ty_):.1e} bits")
    if args.ib_default:
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "genlab", "run", "ib-tanh", "--scale", "default", "--out", f"{d}/r"],
                           check=True)
            print(f"genlab run ib-tanh --scale default: {time.perf_counter() - t:.0f} s wall")


if __name__ == "__main__":
    main()
