"""The kernel solve at the paper's size: direct (Cholesky) vs iterative (Nyström-preconditioned CG).

    python benchmarks/bench_kernel_solve.py mnist --solver direct            # n = 17,435 MNIST images on disk
    python benchmarks/bench_kernel_solve.py mnist --solver cg --dtype float64
    python benchmarks/bench_kernel_solve.py mnist --solver cg --dtype float32
    python benchmarks/bench_kernel_solve.py synthetic --n 60000 --iters 60    # the memory path at n = 60,000

``mnist``: kernel interpolation (sigma = 0.5 x median distance, as kernel-interpolation) on every training
image in ../shared/data, test error on the 10,000 test images. ``synthetic``: n 784-dim images made from
the MNIST images on disk, each a copy shifted by 1 or 2 pixels with Gaussian pixel noise (so the kernel's
spectrum is MNIST-like, and no two points coincide); it builds the float32 triangle, the Nyström
preconditioner and runs ``--iters`` CG steps, then extrapolates the iterations to ``--tol`` from the
residual's measured rate (labelled as an extrapolation). One run per process, so the peak RSS is its own.
Times are CPU seconds (user + sys, this process) and wall seconds; the machine's 2 cores are shared.
Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np  # noqa: E402

from genlab.data.vision import load_dataset  # noqa: E402
from genlab.models.kernel import KernelInterpolant, median_sigma  # noqa: E402
from genlab.models.kernel_solve import StripGram, nystrom, pcg  # noqa: E402


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux: KiB


def flat(a: np.ndarray) -> np.ndarray:
    return a.reshape(len(a), -1).astype(np.float64) / 255.0


def mnist(args) -> dict:
    ds = load_dataset("mnist", None)
    X, y, Xt, yt = flat(ds.x_train), ds.y_train, flat(ds.x_test), ds.y_test
    c0, w0 = cpu(), time.perf_counter()
    m = KernelInterpolant(scale=0.5, solver=args.solver, tol=args.tol, gram_dtype=args.dtype,
                          landmarks=args.landmarks).fit(X, y)
    c1, w1 = cpu(), time.perf_counter()
    f = m.decision_function(X)
    out = dict(n=len(X), solver=m.solver_, dtype=m.gram_dtype_, tol=args.tol, landmarks=args.landmarks,
               fit_cpu_s=round(c1 - c0, 1), fit_wall_s=round(w1 - w0, 1), peak_rss_gb=round(peak_gb(), 2),
               iterations=m.iterations_, relative_residual=m.residual_,
               max_abs_residual=float(np.abs(f - np.eye(10)[y]).max()), train_error=float((f.argmax(1) != y).mean()),
               test_error=float((m.predict(Xt) != yt).mean()))
    np.save(Path(args.save) / f"alpha_{m.solver_}_{m.gram_dtype_}.npy", m.alpha_) if args.save else None
    return out


def synthetic(args) -> dict:
    ds = load_dataset("mnist", None)
    rng = np.random.default_rng(0)
    src = rng.integers(0, len(ds.x_train), args.n)
    X = np.empty((args.n, 784))
    for i in range(0, args.n, 4096):  # a shifted, noisy copy of a random training image
        s = src[i:i + 4096]
        img = ds.x_train[s].astype(np.float64) / 255.0
        dx, dy = rng.choice([-2, -1, 1, 2], (2, len(s)))
        img = np.stack([np.roll(im, (a, b), (0, 1)) for im, a, b in zip(img, dx, dy)])
        X[i:i + len(s)] = np.clip(img.reshape(len(s), -1) + 0.05 * rng.standard_normal((len(s), 784)), 0, 1)
    Y = np.eye(10)[ds.y_train[src]]
    sigma = 0.5 * median_sigma(X)
    c0, w0 = cpu(), time.perf_counter()
    gram = StripGram(X, sigma, args.block, np.float32)
    c1, w1 = cpu(), time.perf_counter()
    U, lam = nystrom(gram, args.landmarks)
    c2, w2 = cpu(), time.perf_counter()
    floor = lam[-1]
    hist: list = []
    pcg(gram.matvec, lambda R: R - U @ ((1.0 - floor / lam)[:, None] * (U.T @ R)), Y, args.tol, args.iters,
        history=hist)
    c3, w3 = cpu(), time.perf_counter()
    res = np.array([r for _, r in hist])
    k = len(res) // 2  # the rate over the second half of the steps run (the first steps converge faster)
    rate = (np.log(res[-1]) - np.log(res[k])) / (len(res) - 1 - k)
    to_tol = len(res) + max(0.0, (np.log(args.tol) - np.log(res[-1])) / rate) if rate < 0 else float("inf")
    return dict(n=args.n, d=784, sigma=round(sigma, 3), block=args.block, landmarks=args.landmarks,
                gram_gb=round(gram.nbytes / 2**30, 2), kernel_cpu_s=round(c1 - c0, 1), kernel_wall_s=round(w1 - w0, 1),
                nystrom_cpu_s=round(c2 - c1, 1), nystrom_wall_s=round(w2 - w1, 1), cg_steps=len(res),
                cg_cpu_s_per_step=round((c3 - c2) / len(res), 2), cg_wall_s_per_step=round((w3 - w2) / len(res), 2),
                residuals={str(i + 1): float(res[i]) for i in sorted({0, 9, 19, len(res) // 2, len(res) - 1})},
                log10_residual_per_step=round(rate / np.log(10), 5), tol=args.tol,
                steps_to_tol_EXTRAPOLATED=round(to_tol), lam_landmark=float(floor), lam_top=float(lam[0]),
                peak_rss_gb=round(peak_gb(), 2))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("what", choices=("mnist", "synthetic"))
    p.add_argument("--solver", default="cg", choices=("direct", "cg", "auto"))
    p.add_argument("--dtype", default="auto", choices=("auto", "float64", "float32"))
    p.add_argument("--tol", type=float, default=1e-6)
    p.add_argument("--landmarks", type=int, default=1000)
    p.add_argument("--n", type=int, default=60000)
    p.add_argument("--iters", type=int, default=60)
    p.add_argument("--block", type=int, default=2048)
    p.add_argument("--save", default="", help="folder to save alpha in (mnist)")
    args = p.parse_args()
    print(json.dumps((mnist if args.what == "mnist" else synthetic)(args)), flush=True)


if __name__ == "__main__":
    main()
