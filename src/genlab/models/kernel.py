"""Exact Gaussian-kernel interpolation (Zhang et al. 2017, Section 5), in float64 with a chunked kernel.

``KernelInterpolant(bandwidth=...).fit(X, Y)`` solves ``K alpha = Y`` exactly, where
``K[i, j] = exp(-||x_i - x_j||^2 / (2 sigma^2))`` and ``Y`` is the one-hot label matrix
(n, c): no ridge term, so the interpolant reproduces every training label (training
error 0). Shapes: X float (n, d), labels int (n,). The kernel matrix is built in
row chunks (peak extra memory ``chunk * n`` values) and factorized by Cholesky into a
second n x n array, so the peak is about ``16 n^2`` bytes plus the data; :func:`memory_bytes` estimates it
before anything is allocated. When that does not fit, ``solver="cg"`` (or ``"auto"``) solves the same
system iteratively on the stored upper triangle of K (:mod:`genlab.models.kernel_solve`: half the memory,
float64 or float32, Nyström-preconditioned conjugate gradients to a relative residual ``tol``).
"""
from __future__ import annotations

import numpy as np
import torch

from genlab.errors import GenlabError
from genlab.runtime import available_memory
from genlab.runtime import device as runtime_device


def memory_bytes(n: int, d: int, n_classes: int = 10, chunk: int = 1024) -> int:
    """Peak bytes of :meth:`KernelInterpolant.fit`: the n x n float64 kernel and its Cholesky factor,
    the data, one chunk, Y and alpha."""
    return 8 * (2 * n * n + n * d + min(chunk, n) * n + 2 * n * n_classes + n)


def largest_n(budget: float, d: int, n_classes: int = 10, chunk: int = 1024) -> int:
    """The largest n whose :func:`memory_bytes` fits in ``budget`` bytes."""
    b = d + min(chunk, 1 << 30) + 2 * n_classes + 1
    n = int((-b + np.sqrt(b * b + 8 * budget / 8)) / 4)  # root of 2 n^2 + b n = budget / 8
    while n > 0 and memory_bytes(n, d, n_classes, chunk) > budget:
        n -= 1
    while memory_bytes(n + 1, d, n_classes, chunk) <= budget:
        n += 1
    return max(0, n)



def check_memory(n: int, d: int, n_classes: int = 10, chunk: int = 1024, limit: float | None = None) -> int:
    """Raise GenlabError (before allocating) if the solve would not fit; return the estimate in bytes."""
    need = memory_bytes(n, d, n_classes, chunk)
    limit = 0.8 * available_memory() if limit is None else float(limit)
    if need > limit:
        raise GenlabError(f"kernel problem with n={n} needs {need / 2**30:.3g} GiB but {limit / 2**30:.3g} GiB is available; "
                          f"use n_train={largest_n(limit, d, n_classes, chunk)} or less")
    return need


SOLVERS, GRAM_DTYPES = ("direct", "cg", "auto"), ("auto", "float64", "float32")


def choose_solver(n: int, d: int, n_classes: int = 10, chunk: int = 1024, limit: float | None = None,
                  solver: str = "auto", gram_dtype: str = "auto", block: int = 2048,
                  landmarks: int = 1000) -> tuple[str, str, int]:
    """(solver, stored dtype, bytes needed): "auto" takes the direct Cholesky solve when it fits in ``limit``
    (default 80 % of the memory available now), else CG; gram_dtype "auto" stores the triangle in float32
    (refined in float64): on MNIST at n = 17,435 it reached the same residual and test error as float64 in
    240 instead of 390 CPU seconds, with half the memory (benchmarks/RESULTS.md).
    Raises GenlabError (before allocating) when the choice does not fit, or for an unknown name."""
    from genlab.models.kernel_solve import cg_memory_bytes
    if solver not in SOLVERS:
        raise GenlabError(f"solver={solver!r} is not a kernel solver; use one of {', '.join(SOLVERS)}")
    if gram_dtype not in GRAM_DTYPES:
        raise GenlabError(f"gram_dtype={gram_dtype!r} is not a storage type; use one of {', '.join(GRAM_DTYPES)}")
    limit = 0.8 * available_memory() if limit is None else float(limit)
    if solver == "direct" or (solver == "auto" and memory_bytes(n, d, n_classes, chunk) <= limit):
        return "direct", "float64", check_memory(n, d, n_classes, chunk, limit)
    dt = "float32" if gram_dtype == "auto" else gram_dtype
    need = cg_memory_bytes(n, d, n_classes, block, np.dtype(dt).itemsize, landmarks)
    if need > limit:
        lo, hi = 0, n  # the largest n whose CG solve fits (the need grows with n)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if cg_memory_bytes(mid, d, n_classes, block, np.dtype(dt).itemsize, landmarks) <= limit \
                else (lo, mid - 1)
        raise GenlabError(f"kernel problem with n={n} needs {need / 2**30:.3g} GiB for the {dt} CG solve but "
                          f"{limit / 2**30:.3g} GiB is available; use n_train={lo} or less")
    return "cg", dt, need


def squared_distances(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """||a_i - b_j||^2, shape (len(a), len(b)), clipped at 0."""
    out = np.matmul(a, b.T, out=out)
    out *= -2.0
    out += np.einsum("ij,ij->i", a, a)[:, None]
    out += np.einsum("ij,ij->i", b, b)[None, :]
    return np.maximum(out, 0.0, out=out)  # rounding can make a squared distance slightly negative


def gaussian_kernel(a: np.ndarray, b: np.ndarray, sigma: float, out: np.ndarray | None = None) -> np.ndarray:
    """exp(-||a_i - b_j||^2 / (2 sigma^2)) in float64, shape (len(a), len(b))."""
    out = squared_distances(a, b, out=out)
    out *= -1.0 / (2.0 * sigma * sigma)
    return np.exp(out, out=out)


def solve(K: np.ndarray, Y: np.ndarray, ridge: float = 0.0, sigma: float = float("nan"),
          device: torch.device | str | None = None) -> np.ndarray:
    """alpha with (K + ridge I) alpha = Y, by Cholesky in float64; K (n, n) is overwritten when ridge > 0.

    ridge = 0 is the exact interpolating solve (Zhang et al. 2017, Section 5); ridge > 0 the l2-penalized one.
    device: where the factorization runs (None: :func:`genlab.runtime.device`; MPS has no float64: the CPU);
    K and the result are numpy arrays in host memory either way.
    """
    dev = torch.device(device) if device is not None else runtime_device()
    dev = torch.device("cpu") if dev.type == "mps" else dev
    if ridge:
        K[np.diag_indices_from(K)] += ridge
    # Exact solve of the SPD system by Cholesky in float64: a solve, not training.
    # torch's MKL LAPACK, not scipy's: scipy 1.17 with its OpenBLAS 0.3.31 crashed (segmentation fault
    # in potrf, through both solve(assume_a="pos") and cho_factor) at n = 17,435, a matrix over 2 GiB.
    L, info = torch.linalg.cholesky_ex(torch.from_numpy(K).to(dev))  # on the CPU it shares K's memory
    if int(info) != 0:
        raise GenlabError(f"the kernel matrix is numerically singular at sigma={sigma:.4g} "
                          f"(Cholesky failed at column {int(info)}); use a smaller bandwidth (scale=0.25)")
    # two triangular solves, not cholesky_solve: that copies the factor (a third n x n array, measured)
    z = torch.linalg.solve_triangular(L, torch.from_numpy(np.asarray(Y, dtype=np.float64)).to(dev), upper=False)
    return torch.linalg.solve_triangular(L.mT, z, upper=True).cpu().numpy()


def median_sigma(x: np.ndarray, m: int = 1000, seed: int = 0) -> float:
    """The median heuristic: sigma = median pairwise distance among (up to) ``m`` training points."""
    idx = np.random.default_rng(seed).permutation(len(x))[:m]
    s = x[idx]
    sq = np.einsum("ij,ij->i", s, s)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * s @ s.T, 0)
    return float(np.sqrt(np.median(d2[np.triu_indices(len(s), 1)])))


def median_sigma_d2(d2: np.ndarray, m: int = 1000, seed: int = 0) -> float:
    """:func:`median_sigma` from a precomputed square matrix of squared distances (the same sample of points)."""
    idx = np.random.default_rng(seed).permutation(len(d2))[:m]
    return float(np.sqrt(np.median(d2[np.ix_(idx, idx)][np.triu_indices(len(idx), 1)])))


class KernelInterpolant:
    """Minimum-norm interpolant of one-hot labels in the Gaussian RKHS (no regularization).

    bandwidth: sigma, or "median" (the median heuristic, times ``scale``).
    solver: "direct" (Cholesky), "cg" (iterative, :func:`genlab.models.kernel_solve.cg_solve`) or "auto"
    (:func:`choose_solver`); tol, gram_dtype, block, landmarks, max_iter: the iterative solve's settings.
    After :meth:`fit`: ``sigma_``, ``alpha_`` (n, c), ``X_`` (n, d), ``solver_``, ``gram_dtype_``,
    ``memory_bytes_``, ``residual_`` (max over classes of ||K alpha - y|| / ||y||, float64), ``iterations_``.
    """

    def __init__(self, bandwidth: float | str = "median", scale: float = 1.0, chunk: int = 1024,
                 memory_limit: float | None = None, seed: int = 0, solver: str = "auto", tol: float = 1e-6,
                 gram_dtype: str = "auto", block: int = 2048, landmarks: int = 1000, max_iter: int = 5000,
                 progress: bool | None = None, device: torch.device | str | None = None):
        self.bandwidth, self.scale, self.chunk, self.memory_limit, self.seed = bandwidth, scale, chunk, memory_limit, seed
        self.solver, self.tol, self.gram_dtype, self.block = solver, tol, gram_dtype, block
        self.landmarks, self.max_iter, self.progress = landmarks, max_iter, progress
        self.device = device  # where the direct solve runs (None: genlab.runtime.device()); CG and the kernel: numpy

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int = 10) -> "KernelInterpolant":
        X = np.ascontiguousarray(X, dtype=np.float64)
        n, d = X.shape
        self.solver_, self.gram_dtype_, self.memory_bytes_ = choose_solver(
            n, d, n_classes, self.chunk, self.memory_limit, self.solver, self.gram_dtype, self.block, self.landmarks)
        self.sigma_ = (median_sigma(X, seed=self.seed) if self.bandwidth == "median" else float(self.bandwidth)) * self.scale
        Y = np.eye(n_classes)[np.asarray(y)]
        if self.solver_ == "cg":
            from genlab.models.kernel_solve import cg_solve
            self.alpha_, self.info_ = cg_solve(X, Y, self.sigma_, self.tol, np.dtype(self.gram_dtype_), self.block,
                                               self.landmarks, self.max_iter, seed=self.seed, progress=self.progress)
            self.residual_, self.iterations_ = self.info_.residual, self.info_.iterations
        else:
            K = np.empty((n, n))
            for i in range(0, n, self.chunk):
                gaussian_kernel(X[i:i + self.chunk], X, self.sigma_, out=K[i:i + self.chunk])
            self.alpha_ = solve(K, Y, sigma=self.sigma_, device=self.device)
            norms = np.linalg.norm(Y, axis=0)
            self.residual_ = float(np.max(np.linalg.norm(K @ self.alpha_ - Y, axis=0) / np.where(norms > 0, norms, 1.0)))
            self.iterations_ = 0
            del K
        self.X_ = X
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """K(X, X_train) @ alpha, chunked: (m, c)."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        out = np.empty((len(X), self.alpha_.shape[1]))
        for i in range(0, len(X), self.chunk):
            out[i:i + self.chunk] = gaussian_kernel(X[i:i + self.chunk], self.X_, self.sigma_) @ self.alpha_
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.decision_function(X).argmax(1)
