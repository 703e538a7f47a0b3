"""The Hessian of a loss with respect to a model's parameters, exactly or by sampling.

``Hessian(model, loss_fn, (x, y))`` is H = d^2 L / d theta^2 of L = loss_fn(model(x), y) at
the model's current parameters theta (n of them, flattened in ``model.parameters()``
order, or only the subset given by ``params=``: the per-layer diagonal block).

- ``hvp(v)``: H v by double backpropagation (Pearlmutter 1994), never forming H.
- ``exact()``: the (n, n) matrix, for small nets only (``max_exact``).
- ``eigenvalues(k)``: the top-k (or bottom-k) eigenvalues by Lanczos with full
  reorthogonalization, repeated from random starts to report their spread.
- ``trace()``: Hutchinson's estimator E[v^T H v] with Rademacher v, with the spread
  over independent repeats.
- ``density()``: the spectral density by stochastic Lanczos quadrature (Ubaru, Chen &
  Saad 2017; Ghorbani et al. 2019): Ritz values weighted by squared first components
  of the Lanczos eigenvectors, averaged over random starts, Gaussian-broadened.

Results land in attributes ending in ``_``. Work is in float64 on the Lanczos side;
H v is computed in the model's dtype, on the device of its parameters (the Lanczos vectors
live there too, except on MPS, which has no float64: there they are kept on the CPU). Random
start vectors are drawn on the CPU from ``seed`` and moved, so every device starts alike.
"""
from __future__ import annotations

import math
from typing import Callable, Iterable

import numpy as np
import torch

from genlab.errors import GenlabError


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


class Hessian:
    """Hessian probe on any ``torch.nn.Module`` plus ``loss_fn(output, target) -> scalar``.

    data: (x, y) passed as ``loss_fn(model(x), y)`` (the full batch: H is of that loss).
    params: None (every parameter with requires_grad), a sub-module, or parameter
        names (prefixes of ``model.named_parameters()`` names, e.g. ``["0."]``).
    max_exact: the largest n for which ``exact()`` forms the matrix.
    """

    def __init__(self, model: torch.nn.Module, loss_fn: Callable, data, params=None, max_exact: int = 4000):
        if not isinstance(model, torch.nn.Module):
            raise GenlabError(f"model is a {type(model).__name__}, not a torch.nn.Module")
        if not (isinstance(data, (tuple, list)) and len(data) == 2):
            raise GenlabError("data must be a pair (x, y) used as loss_fn(model(x), y)")
        self.model, self.loss_fn, self.data, self.max_exact = model, loss_fn, tuple(data), int(max_exact)
        self.params = self._select(params)
        if not self.params:
            raise GenlabError("the model has no parameters that require gradients (or params= selected none); "
                              "a Hessian needs at least one")
        self.n_params_ = sum(p.numel() for p in self.params)
        self.device_ = self.params[0].device
        self._work = torch.device("cpu") if self.device_.type == "mps" else self.device_  # float64 lives here
        self._graph: torch.Tensor | None = None            # the flat first-order gradient, with its graph
        self._version: tuple[int, ...] | None = None      # the parameters' versions it was built at
        self.loss_ = float(self._loss().detach())

    def _select(self, params) -> list[torch.Tensor]:
        named = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        if params is None:
            return [p for _, p in named]
        if isinstance(params, torch.nn.Module):
            return [p for p in params.parameters() if p.requires_grad]
        params = list(params)
        if all(isinstance(p, str) for p in params):
            chosen: list[torch.Tensor] = [p for n, p in named if any(n == s or n.startswith(s) for s in params)]
            if not chosen:
                raise GenlabError(f"params={params} match no parameter; choose among {[n for n, _ in named]}")
            return chosen
        return [p for p in params if isinstance(p, torch.Tensor) and p.requires_grad]

    def _loss(self) -> torch.Tensor:
        x, y = self.data
        try:
            out = self.model(x)
        except (RuntimeError, ValueError, TypeError, IndexError) as e:
            shape = tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
            raise GenlabError(f"model(x) failed on data x of shape {shape}: {_first_line(e)}; "
                              "give x shaped as the model expects") from None
        try:
            loss = self.loss_fn(out, y)
        except (RuntimeError, ValueError, TypeError, IndexError) as e:
            raise GenlabError(f"loss_fn(model(x), y) failed: {_first_line(e)}; check the shape of y") from None
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
            raise GenlabError(f"loss_fn returned {shape}, not a scalar; reduce it (for example reduction='mean')")
        return loss.reshape(())

    def gradient(self) -> torch.Tensor:
        """The flat gradient (n,) at the current parameters."""
        return self._grad().detach().clone()

    def _grad(self) -> torch.Tensor:
        # The first-order graph is built once and reused by every H v until the parameters change.
        version = tuple(p._version for p in self.params)
        if self._graph is None or version != self._version:
            g = torch.autograd.grad(self._loss(), self.params, create_graph=True)
            self._graph, self._version = torch.cat([t.reshape(-1) for t in g]), version
        return self._graph

    def hvp(self, v) -> torch.Tensor:
        """H v for a flat vector v (n,)."""
        g = self._grad()
        v = torch.as_tensor(v, dtype=g.dtype, device=g.device).reshape(-1)
        if v.numel() != self.n_params_:
            raise GenlabError(f"v has {v.numel()} entries; the Hessian is over {self.n_params_} parameters")
        hv = torch.autograd.grad(g, self.params, grad_outputs=v, retain_graph=True, allow_unused=True)
        return torch.cat([(h if h is not None else torch.zeros_like(p)).reshape(-1) for h, p in zip(hv, self.params)])

    def exact(self) -> torch.Tensor:
        """The (n, n) Hessian, symmetrized; sets ``H_``."""
        n = self.n_params_
        if n > self.max_exact:
            raise GenlabError(f"the Hessian over {n} parameters is too large to form exactly (max_exact={self.max_exact}); "
                              "use Hessian.eigenvalues (Lanczos), .trace (Hutchinson) or .density (SLQ), "
                              "or restrict it with params=")
        g = self._grad()
        eye = torch.eye(n, dtype=g.dtype, device=g.device)
        try:  # all n products H e_i in one vmapped backward pass: several times faster than a loop
            cols = torch.autograd.grad(g, self.params, grad_outputs=eye, retain_graph=True, is_grads_batched=True,
                                       allow_unused=True)
            H = torch.cat([(c if c is not None else torch.zeros(n, *p.shape, dtype=g.dtype, device=g.device)).reshape(n, -1)
                           for c, p in zip(cols, self.params)], dim=1)
        except RuntimeError:  # an operation without a batching rule: fall back to one H v per column
            H = torch.stack([self.hvp(e) for e in eye])
        H = H.to(self._work).double()
        self.H_ = (H + H.T) / 2
        return self.H_

    def _start(self, g: torch.Generator) -> torch.Tensor:
        """A Gaussian start vector from the CPU generator ``g`` (the same on every device), moved to the work device."""
        return torch.randn(self.n_params_, generator=g, dtype=torch.float64, device="cpu").to(self._work)

    def lanczos(self, n_iter: int, v0: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """m <= n_iter steps of Lanczos from v0 with full reorthogonalization: (alpha (m,), beta (m-1,))."""
        n = self.n_params_
        m = min(int(n_iter), n)
        Q = torch.zeros(m, n, dtype=torch.float64, device=self._work)
        v0 = v0.to(self._work).double()
        q = v0 / v0.norm()
        alpha, beta = [], []
        for j in range(m):
            Q[j] = q
            w = self.hvp(q).to(self._work).double()
            a = float(w @ q)
            alpha.append(a)
            w = w - Q[: j + 1].T @ (Q[: j + 1] @ w)      # full reorthogonalization (twice is enough)
            w = w - Q[: j + 1].T @ (Q[: j + 1] @ w)
            b = float(w.norm())
            if j == m - 1 or b < 1e-10 * max(1.0, abs(a)):
                break                                    # invariant subspace: the Ritz values are exact
            beta.append(b)
            q = w / b
        return np.array(alpha), np.array(beta)

    def eigenvalues(self, k: int = 1, which: str = "largest", n_iter: int | None = None, repeats: int = 3,
                    seed: int = 0) -> np.ndarray:
        """Top-k ('largest' algebraic), bottom-k ('smallest') or largest-|.| ('magnitude') eigenvalues.

        Sets ``eigenvalues_`` (k,) from the first start and ``eigenvalues_std_`` (k,), the
        spread over ``repeats`` random starts.
        """
        if which not in ("largest", "smallest", "magnitude"):
            raise GenlabError(f"which={which!r}; choose largest, smallest or magnitude")
        k = min(int(k), self.n_params_)
        n_iter = n_iter or max(4 * k, 40)
        g = torch.Generator().manual_seed(seed)
        rows = []
        for _ in range(max(1, repeats)):
            theta = _ritz(*self.lanczos(n_iter, self._start(g)))[0]
            order = {"largest": -theta, "smallest": theta, "magnitude": -np.abs(theta)}[which]
            top = theta[np.argsort(order, kind="stable")][:k]
            rows.append(np.pad(top, (0, k - len(top)), constant_values=np.nan))
        runs = np.array(rows)
        self.eigenvalues_, self.eigenvalues_std_, self.eigenvalues_runs_ = runs[0], runs.std(0), runs
        return self.eigenvalues_

    def trace(self, n_samples: int = 50, repeats: int = 5, seed: int = 0) -> float:
        """Hutchinson: tr H = E[v^T H v], v Rademacher. Sets ``trace_`` (mean of all samples),
        ``trace_std_`` (std of the per-repeat means: the run-to-run spread) and ``trace_repeats_``."""
        g = torch.Generator().manual_seed(seed)
        means = []
        for _ in range(max(1, repeats)):
            s = 0.0
            for _ in range(n_samples):
                v = (torch.randint(0, 2, (self.n_params_,), generator=g, device="cpu").double() * 2 - 1).to(self._work)
                s += float(self.hvp(v).to(self._work).double() @ v)
            means.append(s / n_samples)
        self.trace_repeats_ = np.array(means)
        self.trace_, self.trace_std_ = float(self.trace_repeats_.mean()), float(self.trace_repeats_.std())
        return self.trace_

    def density(self, n_runs: int = 10, n_iter: int = 60, sigma: float | None = None, n_grid: int = 500,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Spectral density by SLQ. Sets ``nodes_``, ``weights_`` (n_runs, m) (weights sum to 1 per run),
        ``grid_`` and ``density_`` (integrates to 1 over the grid). sigma: broadening (default 1 % of the range)."""
        g = torch.Generator().manual_seed(seed)
        m = min(n_iter, self.n_params_)
        nodes, weights = np.full((n_runs, m), np.nan), np.zeros((n_runs, m))
        for r in range(n_runs):
            theta, U = _ritz(*self.lanczos(n_iter, self._start(g)))
            nodes[r, : len(theta)], weights[r, : len(theta)] = theta, U[0] ** 2
        lo, hi = np.nanmin(nodes), np.nanmax(nodes)
        sigma = sigma or 0.01 * max(hi - lo, 1e-12)
        grid = np.linspace(lo - 5 * sigma, hi + 5 * sigma, n_grid)
        ok = ~np.isnan(nodes)
        dens = (weights[ok][:, None] * np.exp(-(grid[None] - nodes[ok][:, None]) ** 2 / (2 * sigma ** 2))).sum(0)
        dens /= n_runs * sigma * math.sqrt(2 * math.pi)
        self.nodes_, self.weights_, self.grid_, self.density_, self.sigma_ = nodes, weights, grid, dens, sigma
        return grid, dens

    def moment(self, p: int) -> float:
        """SLQ estimate of (1/n) tr H^p from the last ``density()``."""
        return float(np.nansum(self.weights_ * np.nan_to_num(self.nodes_) ** p) / self.nodes_.shape[0])


def _ritz(alpha: np.ndarray, beta: np.ndarray):
    T = np.diag(alpha) + np.diag(beta[: len(alpha) - 1], 1) + np.diag(beta[: len(alpha) - 1], -1)
    return np.linalg.eigh(T)


def index(eigenvalues: Iterable[float], tol: float = 1e-6) -> float:
    """Fraction of eigenvalues below -tol * max|lambda| (Dauphin et al.'s index of a critical point)."""
    lam = np.asarray(list(eigenvalues), dtype=float)
    return float(np.mean(lam < -tol * np.abs(lam).max())) if lam.size else float("nan")
