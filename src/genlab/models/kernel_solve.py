"""Iterative Gaussian-kernel solve for n too large for Cholesky (Zhang et al. 2017 at n = 60,000).

The kernel matrix K is held as its upper triangle in row strips (strip i: rows ``[s_i, s_i + block)``,
columns ``[s_i, n)``): half the memory of the square, ``itemsize * n^2 / 2`` bytes (float64: 14.4 GB at
n = 60,000; float32: 7.2 GB). Each strip is computed from the data in float64 and stored in ``dtype``.
``K @ V`` is two matrix products per strip (the strip and its transpose), summed in float64.

``K alpha = Y`` is solved by preconditioned conjugate gradients on all c right-hand sides at once
(one CG recurrence per column, one pass over K per iteration), stopped when every column's relative
residual ``||K alpha - y||_2 / ||y||_2`` is below ``tol``. Preconditioner: a Nyström approximation of K
from ``landmarks`` random columns (K ~ C W^+ C^T = U diag(lam) U^T, as in EigenPro, Ma & Belkin 2017,
and randomized Nyström preconditioning, Frangella, Tropp & Udell 2023):
``P^-1 = lam_r U diag(1 / lam) U^T + (I - U U^T)`` maps the top r eigenvalues of K to about lam_r, so
the condition number falls from lam_1 / lam_n to about lam_r / lam_n.

With float32 storage the solve is refined in float64: the residual ``Y - K alpha`` is recomputed from
the data in float64 blocks and the correction solved again (iterative refinement), until the float64
residual is below ``tol`` or ``max_refine`` corrections were made. The residual reported is that
float64 one.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from genlab.errors import GenlabError
from genlab.models.kernel import gaussian_kernel
from genlab.runtime import progress_disabled


def cg_memory_bytes(n: int, d: int, n_classes: int = 10, block: int = 2048, itemsize: int = 8,
                    landmarks: int = 1000) -> int:
    """Peak bytes of :func:`cg_solve`: the stored triangle, one float64 strip being computed, the data,
    the Nyström factors (C and U, n x landmarks) and the CG vectors (about 8 n x c)."""
    b, r = min(block, n), min(landmarks, n)
    return itemsize * (n * n + n * b) // 2 + 8 * (b * n + n * d + 2 * n * r + r * r + 8 * n * n_classes)


class StripGram:
    """The upper triangle of the Gaussian kernel matrix of X (n, d) in row strips of ``block`` rows."""

    def __init__(self, X: np.ndarray, sigma: float, block: int = 2048, dtype=np.float64, progress: bool | None = None):
        self.n, self.block, self.dtype = len(X), block, np.dtype(dtype)
        self.starts = list(range(0, self.n, block))
        self.strips = []
        tmp = np.empty((min(block, self.n), self.n))
        for s in tqdm(self.starts, desc="kernel strips", leave=False, disable=progress_disabled(progress)):
            rows = X[s:s + block]
            k = gaussian_kernel(rows, X[s:], sigma, out=tmp[:len(rows), :self.n - s])
            self.strips.append(np.array(k, dtype=self.dtype))  # float64 values, stored in dtype
        self.nbytes = sum(a.nbytes for a in self.strips)

    def matvec(self, V: np.ndarray) -> np.ndarray:
        """K @ V for V (n, c), float64 out (each strip's product in the storage dtype)."""
        out = np.zeros((self.n, V.shape[1]))
        Vs = V.astype(self.dtype, copy=False)
        for s, a in zip(self.starts, self.strips):
            b = a.shape[0]
            out[s:s + b] += a @ Vs[s:]                   # the strip: diagonal block and the blocks right of it
            out[s + b:] += a[:, b:].T @ Vs[s:s + b]      # its transpose: the blocks below the diagonal
        return out

    def columns(self, idx: np.ndarray) -> np.ndarray:
        """K[:, idx] (n, len(idx)) in float64, read from the stored triangle."""
        out = np.empty((self.n, len(idx)))
        for s, a in zip(self.starts, self.strips):
            b = a.shape[0]
            right = idx >= s
            out[s:s + b, right] = a[:, idx[right] - s]        # this strip's rows of the columns right of s
            mine = right & (idx < s + b)
            out[s:, mine] = a[idx[mine] - s].T                # row c of the strip: K[c, s:] = K[s:, c]
        return out


def nystrom(gram: StripGram, landmarks: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(U (n, r) orthonormal, lam (r,) descending): K ~ U diag(lam) U^T from ``landmarks`` random columns."""
    idx = np.sort(np.random.default_rng(seed).choice(gram.n, min(landmarks, gram.n), replace=False))
    C = gram.columns(idx)
    w, V = np.linalg.eigh(C[idx])
    keep = w > 1e-10 * w[-1]                       # W^+ on its numerically positive eigenvalues
    B = C @ (V[:, keep] / np.sqrt(w[keep]))        # K ~ B B^T
    s2, Q = np.linalg.eigh(B.T @ B)                 # B = U diag(s) Q^T: U = B Q / s (cheaper than an SVD of B)
    good = s2 > 1e-12 * s2[-1]
    s2, Q = s2[good][::-1], Q[:, good][:, ::-1]
    return B @ (Q / np.sqrt(s2)), s2


@dataclass
class SolveInfo:
    """What the iterative solve did: iterations (CG steps over all refinements), the final relative residual
    max_j ||K alpha_j - y_j|| / ||y_j|| in float64, refinements, seconds, and the stored triangle's bytes."""

    iterations: int
    residual: float
    refinements: int
    seconds: float
    gram_bytes: int
    seconds_per_iteration: float


def pcg(matvec, precond, Y: np.ndarray, tol: float, max_iter: int, progress: bool | None = None,
        desc: str = "CG", history: list | None = None) -> tuple[np.ndarray, int, float]:
    """Preconditioned CG for every column of Y at once; returns (solution, iterations, relative residual
    of the recurrence). Stops when every column's ||r|| / ||y|| < tol or after max_iter steps; appends
    (seconds, relative residual) after each step to ``history`` when given."""
    norms = np.linalg.norm(Y, axis=0)
    norms[norms == 0] = 1.0
    A, R = np.zeros_like(Y), Y.copy()
    Z = precond(R)
    P, rz = Z.copy(), np.sum(R * Z, 0)
    res = float(np.max(np.linalg.norm(R, axis=0) / norms))
    it, t0 = 0, time.perf_counter()
    with tqdm(total=max_iter, desc=desc, leave=False, disable=progress_disabled(progress)) as bar:
        while res >= tol and it < max_iter:
            Q = matvec(P)
            pq = np.sum(P * Q, 0)
            step = np.divide(rz, pq, out=np.zeros_like(rz), where=pq > 0)
            A += step * P
            R -= step * Q
            res = float(np.max(np.linalg.norm(R, axis=0) / norms))
            Z = precond(R)
            rz_new = np.sum(R * Z, 0)
            P = Z + np.divide(rz_new, rz, out=np.zeros_like(rz), where=rz > 0) * P
            rz, it = rz_new, it + 1
            if history is not None:
                history.append((time.perf_counter() - t0, res))
            bar.update()
            bar.set_postfix(residual=f"{res:.2e}", refresh=False)
    return A, it, res


def kernel_matvec64(X: np.ndarray, sigma: float, V: np.ndarray, block: int = 2048) -> np.ndarray:
    """K @ V with K recomputed from the data in float64 row blocks (nothing n x n held)."""
    out = np.empty((len(X), V.shape[1]))
    tmp = np.empty((min(block, len(X)), len(X)))
    for s in range(0, len(X), block):
        rows = X[s:s + block]
        out[s:s + len(rows)] = gaussian_kernel(rows, X, sigma, out=tmp[:len(rows)]) @ V
    return out


def cg_solve(X: np.ndarray, Y: np.ndarray, sigma: float, tol: float = 1e-6, dtype=np.float64, block: int = 2048,
             landmarks: int = 1000, max_iter: int = 5000, max_refine: int = 3, seed: int = 0,
             progress: bool | None = None) -> tuple[np.ndarray, SolveInfo]:
    """alpha with K alpha = Y (relative residual < tol in float64), by Nyström-preconditioned CG on the stored
    triangle of K, refined in float64 when it is stored in float32. Raises GenlabError if it does not converge."""
    t0 = time.perf_counter()
    Y = np.asarray(Y, dtype=np.float64)
    gram = StripGram(X, sigma, block, dtype, progress)
    U, lam = nystrom(gram, landmarks, seed)
    floor = lam[-1]

    def precond(R):
        UR = U.T @ R
        return R - U @ ((1.0 - floor / lam)[:, None] * UR)  # lam_r U diag(1/lam) U^T R + (I - U U^T) R

    exact = gram.dtype == np.float64
    norms = np.linalg.norm(Y, axis=0)
    norms[norms == 0] = 1.0  # a class with no training point: its column of alpha is 0
    alpha, R, iters, refinements, t_cg = np.zeros_like(Y), Y.copy(), 0, 0, 0.0
    floor_tol = 0.0 if exact else 1e-4  # float32 CG stalls near 1e-7 x kappa: solve each correction to 1e-4 of its size
    while True:
        t1 = time.perf_counter()
        rel = max(tol * np.min(norms / np.maximum(np.linalg.norm(R, axis=0), 1e-300)), floor_tol)
        delta, k, _ = pcg(gram.matvec, precond, R, rel, max_iter - iters, progress, desc=f"CG (refinement {refinements})")
        t_cg += time.perf_counter() - t1
        alpha += delta
        iters += k
        R = Y - (gram.matvec(alpha) if exact else kernel_matvec64(X, sigma, alpha, block))
        residual = float(np.max(np.linalg.norm(R, axis=0) / norms))
        if residual < tol or refinements >= max_refine or iters >= max_iter:
            break
        refinements += 1
    if residual >= tol:
        raise GenlabError(f"the kernel CG solve stopped at relative residual {residual:.3g} > tol={tol:g} after {iters} "
                          f"iterations; raise max_iter (now {max_iter}) or landmarks (now {landmarks}), or use a smaller bandwidth")
    info = SolveInfo(iters, residual, refinements, time.perf_counter() - t0, gram.nbytes, t_cg / max(iters, 1))
    return alpha, info
