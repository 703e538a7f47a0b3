"""Mutual information between a layer's activations T, the input X and the label Y.

Two estimators, as used in the information-plane debate:

- :class:`BinningMI` (Shwartz-Ziv & Tishby 2017): discretize every unit of T into
  ``n_bins`` equal bins over ``range``; then T is a discrete variable and
  I(X;T) = H(T) + H(X) - H(X,T), I(T;Y) = H(T) + H(Y) - H(T,Y) are exact plug-in
  entropies. With X uniform over distinct patterns (the 12-bit task),
  I(X;T) = H(T).
- :class:`KDEMI` (Kolchinsky & Tracey 2017, as used by Saxe et al. 2018): T plus
  Gaussian noise of variance ``noise_variance``; the pairwise-distance upper bound
  of the mixture entropy gives I(X;T) = log N - mean_i log sum_j exp(-|t_i - t_j|^2 / 2 s^2),
  and I(T;Y) = H(T) - sum_c p_c H(T | Y=c) with the same bound per class.

Both take T as (N, d) or a stack (M, N, d) of M networks (many seeds at once),
report bits, and record the estimator and its parameters in ``params_``.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from genlab.errors import GenlabError
from genlab.runtime import as_tensor

LOG2 = math.log(2.0)


def _as_stack(T, y, x=None):
    """T as a stack (M, N, d) on its own device (an array: the CPU), y and x as int64 ids beside it."""
    T = (T if isinstance(T, torch.Tensor) else torch.as_tensor(np.asarray(T), device="cpu")).detach()
    if T.dim() == 2:
        T, single = T.unsqueeze(0), True
    elif T.dim() == 3:
        single = False
    else:
        raise GenlabError(f"activations T have shape {tuple(T.shape)}; give (N, d) or a stack (M, N, d)")
    y = as_tensor(y, device=T.device).reshape(-1).long()
    if len(y) != T.shape[1]:
        raise GenlabError(f"T has {T.shape[1]} rows but y has {len(y)} labels; give one label per row of T")
    if x is not None:
        x = as_tensor(x, device=T.device).reshape(-1).long()
        if len(x) != T.shape[1]:
            raise GenlabError(f"T has {T.shape[1]} rows but x has {len(x)} ids; give one input id per row of T")
    return T, y, x, single


def dense_rank(keys: torch.Tensor) -> torch.Tensor:
    """Per row of ``keys`` (M, N) int64: ids 0..K-1 of the distinct values, in sorted order."""
    s, order = torch.sort(keys, dim=1)
    new = torch.ones_like(s, dtype=torch.long)
    new[:, 1:] = (s[:, 1:] != s[:, :-1]).long()
    ids = torch.cumsum(new, dim=1) - 1
    out = torch.empty_like(ids)
    out.scatter_(1, order, ids)
    return out


def entropy_of_ids(ids: torch.Tensor, size: int | None = None) -> torch.Tensor:
    """Plug-in entropy in bits of each row of ids (M, N), values in [0, size) (default N)."""
    M, N = ids.shape
    size = N if size is None else int(size)
    dev = ids.device
    counts = torch.zeros(M, size, dtype=torch.float64, device=dev).scatter_add_(
        1, ids, torch.ones(M, N, dtype=torch.float64, device=dev))
    p = counts / N
    return -(p * torch.log2(torch.where(p > 0, p, torch.ones_like(p)))).sum(1)


def rows_to_ids(codes: torch.Tensor, base: int) -> torch.Tensor:
    """Dense ids of the distinct rows of ``codes`` (M, N, d), entries in [0, base)."""
    M, N, d = codes.shape
    if d * math.log2(max(base, 2)) < 62:  # exact positional key fits in int64
        w = base ** torch.arange(d - 1, -1, -1, dtype=torch.long, device=codes.device)
        return dense_rank((codes.long() * w).sum(-1))
    # Wide layers: fold one column at a time, re-ranking so the key never exceeds N * base.
    ids = torch.zeros(M, N, dtype=torch.long, device=codes.device)
    for j in range(d):
        ids = dense_rank(ids * base + codes[..., j].long())
    return ids


def discrete_mi(a, b) -> float:
    """I(A;B) in bits of two discrete sequences (N,) of ints: the closed form H(A)+H(B)-H(A,B)."""
    a = as_tensor(a).reshape(1, -1).long()
    b = as_tensor(b, device=a.device).reshape(1, -1).long()
    ia, ib = dense_rank(a), dense_rank(b)
    return float(entropy_of_ids(ia) + entropy_of_ids(ib) - entropy_of_ids(dense_rank(ia * a.shape[1] + ib)))


class BinningMI:
    """Binning estimator of I(X;T) and I(T;Y) in bits.

    n_bins: equal-width bins per unit (Shwartz-Ziv & Tishby used 30).
    range: (lo, hi) of the bins, e.g. (-1, 1) for tanh; None uses the observed
        [min, max] of T at each fit (for ReLU the range is a choice: it is recorded).

    ``fit(T, y, x=None)``: T (N, d) or (M, N, d); y (N,) labels; x (N,) input ids
    (None: every row is a distinct input, so I(X;T) = H(T)). Sets ``I_xt_``,
    ``I_ty_``, ``H_t_`` (floats, or arrays (M,) for a stack), ``range_`` and ``params_``.
    """

    def __init__(self, n_bins: int = 30, range: tuple[float, float] | None = None):
        if int(n_bins) < 2:
            raise GenlabError(f"n_bins={n_bins} is too small; use at least 2 (the papers use 30)")
        if range is not None and not range[1] > range[0]:
            raise GenlabError(f"range={range} is empty; give (lo, hi) with hi > lo")
        self.n_bins, self.range = int(n_bins), range

    def fit(self, T, y, x=None) -> "BinningMI":
        T, y, x, single = _as_stack(T, y, x)
        lo, hi = self.range if self.range is not None else (float(T.min()), float(T.max()))
        hi = hi if hi > lo else lo + 1e-12
        codes = ((T.double() - lo) / (hi - lo) * self.n_bins).floor().clamp_(0, self.n_bins - 1).long()
        t = rows_to_ids(codes, self.n_bins)
        M, N = t.shape
        h_t = entropy_of_ids(t)
        yid = dense_rank(y.unsqueeze(0)).expand(M, N)
        C = int(yid.max()) + 1  # few classes: the joint (T, Y) key is small enough to count without sorting
        i_ty = h_t + entropy_of_ids(yid) - entropy_of_ids(t * C + yid, N * C)
        if x is None:
            i_xt = h_t
        else:
            xid = dense_rank(x.unsqueeze(0)).expand(M, N)
            i_xt = h_t + entropy_of_ids(xid) - entropy_of_ids(dense_rank(t * N + xid))
        self.H_t_, self.I_xt_, self.I_ty_ = (_out(v, single) for v in (h_t, i_xt, i_ty))
        self.range_ = (lo, hi)
        self.params_ = {"estimator": "binning", "n_bins": self.n_bins,
                        "range": "observed" if self.range is None else list(self.range),
                        "range_used": [lo, hi], "units": "bits"}
        return self


class KDEMI:
    """Kernel (pairwise-distance) upper bound on I(X;T) and I(T;Y) in bits (Saxe et al. 2018).

    noise_variance: variance s^2 of the Gaussian noise added to T (Saxe et al.: 1e-3).
    max_samples: estimate on a fixed random subset of this many rows (the cost is
        O(M N^2 d)); None uses every row. The bound on I(X;T) is then log2(max_samples).

    ``fit(T, y)`` sets ``I_xt_``, ``I_ty_`` (floats or arrays (M,)) and ``params_``.
    """

    def __init__(self, noise_variance: float = 1e-3, max_samples: int | None = None, seed: int = 0):
        if not noise_variance > 0:
            raise GenlabError(f"noise_variance={noise_variance} must be positive (Saxe et al. use 1e-3)")
        self.noise_variance, self.max_samples, self.seed = float(noise_variance), max_samples, seed

    def fit(self, T, y) -> "KDEMI":
        T, y, _, single = _as_stack(T, y)
        N = T.shape[1]
        if self.max_samples is not None and self.max_samples < N:
            # drawn on the CPU (the same subset on every device), then moved to T's
            idx = torch.randperm(N, generator=torch.Generator().manual_seed(self.seed), device="cpu")
            idx = idx[: self.max_samples].to(T.device)
            T, y, N = T[:, idx], y[idx], self.max_samples
        yid = dense_rank(y.unsqueeze(0))[0]
        onehot = torch.nn.functional.one_hot(yid).float()          # (N, C)
        n_c = onehot.sum(0)
        i_xt, i_ty = [], []
        for Tm in T.float():  # one model at a time: the (N, N) kernel matrix dominates memory
            sq = Tm.square().sum(1)
            d2 = (sq[:, None] + sq[None, :] - 2 * Tm @ Tm.T).clamp_(min=0)
            d2.fill_diagonal_(0.0)  # the self term is exactly exp(0) = 1, so no row needs a max shift
            K = torch.exp_(d2.mul_(-1.0 / (2 * self.noise_variance)))
            lse = torch.log(K.sum(1)).double()
            lse_c = torch.log((K @ onehot).gather(1, yid[:, None])[:, 0]).double()
            h = math.log(N) - lse.mean()       # H_upper(T) - H(T|X): the d/2 log(2 pi e s^2) terms cancel
            h_cond = sum(float(n_c[c]) / N * (math.log(float(n_c[c])) - lse_c[yid == c].mean())
                         for c in range(len(n_c)))
            i_xt.append(float(h) / LOG2)
            i_ty.append(float(h - h_cond) / LOG2)
        self.I_xt_, self.I_ty_ = (_out(torch.tensor(v, device="cpu"), single) for v in (i_xt, i_ty))
        self.params_ = {"estimator": "kde-upper", "noise_variance": self.noise_variance,
                        "n_samples": N, "units": "bits"}
        return self


def _out(v: torch.Tensor, single: bool):
    a = v.double().cpu().numpy()
    return float(a[0]) if single else a
