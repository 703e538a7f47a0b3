"""Loss-landscape slices: filter-normalized random directions and linear interpolation.

Paper: Li, Xu, Taylor, Studer, Goldstein, "Visualizing the Loss Landscape of
Neural Nets" (NeurIPS 2018), Sec. 4 and Fig. 1; interpolation after
Goodfellow, Vinyals, Saxe (ICLR 2015).

For parameters θ and directions δ, η the probe evaluates

    f(α)    = L(θ + α δ)                  (``slice_1d``)
    f(α, β) = L(θ + α δ + β η)            (``slice_2d``)
    g(α)    = L((1 − α) θ_a + α θ_b)      (``interpolate``)

where L(θ) = loss_fn(model_θ(x), y). Random directions are filter-normalized
(Li et al. eq. 1): each filter d_ij of δ (a row of a weight matrix, an output
channel of a conv kernel: dimension 0 in torch's layout) is rescaled to the norm
of the corresponding filter θ_ij, d_ij <- d_ij / ||d_ij|| * ||θ_ij||. Parameters
with one dimension or none (biases, BatchNorm) get a zero direction with
``ignore="biasbn"`` (the setting of the authors' published plots), or the
parameter itself with ``ignore="none"`` (their code's other choice). Directions a user passes are used
as given.

Grid points are independent, so they go in chunks through
:func:`genlab.parallel.parallel_map`; each point is computed the same way in
any process with the same thread count, so 1 and 2 workers give identical
numbers. Filters are dimension 0 of each parameter (torch's layout); for a
stacked ensemble, probe one member (``StackedMLP.member(k)``). Results (``alphas_``, ``betas_``, ``losses_``, ``directions_``) hold the
last slice computed; ``losses_`` is (len(alphas),) or (len(alphas), len(betas)).
"""
from __future__ import annotations

import pickle
from typing import Callable, Sequence

import numpy as np
import torch
from torch.func import functional_call

from genlab.errors import GenlabError
from genlab.parallel import parallel_map
from genlab.runtime import as_tensor, model_device, num_threads

Directions = dict[str, torch.Tensor]


def _params(model: torch.nn.Module) -> Directions:
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def random_directions(model: torch.nn.Module, seed: int = 0, norm: str = "filter", ignore: str = "biasbn") -> Directions:
    """A Gaussian direction per parameter, normalized per filter (``norm="filter"``) or per layer; drawn on the
    CPU from ``seed`` (the same direction on every device), then moved to the parameter's device."""
    if norm not in ("filter", "layer", "none"):
        raise GenlabError(f"norm={norm!r} is not known; choose filter, layer or none")
    if ignore not in ("biasbn", "none"):
        raise GenlabError(f"ignore={ignore!r} is not known; choose biasbn or none")
    g = torch.Generator().manual_seed(int(seed))
    out = {}
    for name, w in _params(model).items():
        d = torch.randn(w.shape, generator=g, dtype=w.dtype, device="cpu").to(w.device)
        if w.dim() <= 1:
            d = torch.zeros_like(w) if ignore == "biasbn" else w.clone()
        elif norm == "filter":
            dn = d.flatten(1).norm(dim=1).clamp_min(1e-12)
            d = d * (w.flatten(1).norm(dim=1) / dn).view(-1, *([1] * (w.dim() - 1)))
        elif norm == "layer":
            d = d * (w.norm() / d.norm().clamp_min(1e-12))
        out[name] = d
    return out


def _evaluate_chunk(task) -> list[float]:
    """Losses at θ_c = base + Σ_k c_k dirs_k for each coefficient row c (a worker's unit of work)."""
    model, base, dirs, coeffs, loss_fn, x, y, threads = task
    points = ({n: base[n] + sum(float(ck) * d[n] for ck, d in zip(c, dirs)) if dirs else base[n] for n in base}
              for c in coeffs)
    return _losses(model, points, loss_fn, x, y, threads)


def _losses(model, points, loss_fn, x, y, threads) -> list[float]:
    was, out = model.training, []
    try:
        with num_threads(threads), torch.no_grad():
            model.eval()  # BatchNorm/dropout as at test time; the user's mode is restored below
            for p in points:
                out.append(float(loss_fn(functional_call(model, p, (x,)), y)))
    finally:
        model.train(was)
    return out


def _interp_chunk(task) -> list[float]:
    model, pa, pb, alphas, loss_fn, x, y, threads = task
    points = ({n: (1 - float(a)) * pa[n] + float(a) * pb[n] for n in pa} for a in alphas)
    return _losses(model, points, loss_fn, x, y, threads)


class Landscape:
    """Slices of a loss landscape around a model (Li et al. 2018).

    loss_fn: ``loss_fn(model(x), y) -> scalar tensor`` (a module-level function or
    a loss module, so worker processes can receive it). data: ``(x, y)`` with the
    same number of rows. seed draws the random directions; workers/chunk_size/threads
    control the grid evaluation.
    """

    betas_: np.ndarray | None   # None after slice_1d and interpolate

    def __init__(self, loss_fn: Callable, data: tuple, *, norm: str = "filter", ignore: str = "biasbn",
                 seed: int = 0, workers: int = 1, chunk_size: int = 64, threads: int = 1):
        self.loss_fn, self.data, self.norm, self.ignore = loss_fn, data, norm, ignore
        self.seed, self.workers, self.chunk_size, self.threads = seed, workers, chunk_size, threads

    # ---- validation: everything a user can get wrong, checked before any work ----
    def _check(self, model) -> tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(model, torch.nn.Module):
            raise GenlabError(f"the model is a {type(model).__name__}, not a torch.nn.Module; pass the network itself")
        if not any(True for _ in model.parameters()):
            raise GenlabError(f"{type(model).__name__} has no parameters, so it has no loss landscape; pass a trainable model")
        if not (isinstance(self.data, (tuple, list)) and len(self.data) == 2):
            raise GenlabError("data must be a pair (x, y) of tensors with one row per example")
        x, y = (as_tensor(t, device=model_device(model)) for t in self.data)  # the data follow the model
        if x.dim() == 0 or y.dim() == 0 or len(x) != len(y):
            raise GenlabError(f"data has the wrong shape: x {tuple(x.shape)} and y {tuple(y.shape)} need the same "
                              "number of rows (first dimension)")
        was = model.training
        model.eval()
        try:
            with torch.no_grad():
                out = model(x[:2])
        except (RuntimeError, ValueError, IndexError, TypeError) as e:
            raise GenlabError(f"data has the wrong shape or dtype for the model: model(x) with x {tuple(x.shape)} "
                              f"{x.dtype} failed ({str(e).splitlines()[0]}); give x what the model expects") from None
        finally:
            model.train(was)
        try:
            loss = self.loss_fn(out, y[:2])
        except (RuntimeError, ValueError, IndexError, TypeError) as e:
            raise GenlabError(f"loss_fn(model(x), y) failed with y {tuple(y.shape)} ({str(e).splitlines()[0]}); "
                              "check that y matches the model's output") from None
        if not (isinstance(loss, torch.Tensor) and loss.numel() == 1):
            shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
            raise GenlabError(f"loss_fn must return a scalar tensor but returned {shape}; reduce it (mean or sum)")
        if self.workers > 1:
            try:
                pickle.dumps((model, self.loss_fn))
            except Exception:
                raise GenlabError("the model or loss_fn cannot be sent to worker processes (a lambda or local "
                                  "function?); use a module-level function or workers=1") from None
        return x, y

    @staticmethod
    def _coords(values, name: str) -> np.ndarray:
        try:
            a = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise GenlabError(f"{name} must be a sequence of numbers, e.g. np.linspace(-1, 1, 21)") from None
        if a.ndim != 1 or len(a) == 0 or not np.isfinite(a).all():
            raise GenlabError(f"{name} must be a non-empty 1-D sequence of finite numbers, e.g. np.linspace(-1, 1, 21)")
        return a

    def _run(self, fn, model, head: tuple, points: np.ndarray, x, y) -> np.ndarray:
        chunks = [points[i:i + self.chunk_size] for i in range(0, len(points), self.chunk_size)]
        tasks = [(model, *head, c, self.loss_fn, x, y, self.threads) for c in chunks]
        res = parallel_map(fn, tasks, workers=self.workers, threads=self.threads, desc="landscape")
        return np.asarray([v for r in res for v in r], dtype=np.float64)

    def _directions(self, model, given, k: int) -> list[Directions]:
        names = [n for n, _ in model.named_parameters()]
        if given is None:
            return [random_directions(model, self.seed + i, self.norm, self.ignore) for i in range(k)]
        given = list(given)
        out = []
        for d in given:
            if not isinstance(d, dict):
                d = dict(zip(names, d))
            if set(d) != set(names):
                raise GenlabError(f"a direction needs one tensor per parameter ({', '.join(names)})")
            for n, p in model.named_parameters():
                if tuple(d[n].shape) != tuple(p.shape):
                    raise GenlabError(f"direction for {n} has shape {tuple(d[n].shape)}, the parameter {tuple(p.shape)}")
            out.append({n: as_tensor(d[n], dtype=p.dtype, device=p.device) for n, p in model.named_parameters()})
        return out

    def slice_1d(self, model, alphas: Sequence[float] = tuple(np.linspace(-1, 1, 41)), direction=None) -> "Landscape":
        """f(α) = L(θ + α δ); δ is filter-normalized random unless given (dict name -> tensor)."""
        x, y = self._check(model)
        self.directions_ = self._directions(model, None if direction is None else [direction], 1)
        self.alphas_, self.betas_ = self._coords(alphas, "alphas"), None
        self.losses_ = self._run(_evaluate_chunk, model, (_params(model), self.directions_),
                                 self.alphas_[:, None], x, y)
        self.center_loss_ = self._center(model, x, y)
        return self

    def slice_2d(self, model, alphas: Sequence[float] = tuple(np.linspace(-1, 1, 21)),
                 betas: Sequence[float] | None = None, directions=None) -> "Landscape":
        """f(α, β) = L(θ + α δ + β η) on the grid alphas x betas; ``losses_`` is (len(alphas), len(betas))."""
        x, y = self._check(model)
        if directions is not None and len(list(directions)) != 2:
            raise GenlabError("slice_2d needs two directions (δ, η)")
        self.directions_ = self._directions(model, directions, 2)
        self.alphas_ = self._coords(alphas, "alphas")
        bs = self.alphas_.copy() if betas is None else self._coords(betas, "betas")
        self.betas_ = bs
        a, b = np.meshgrid(self.alphas_, bs, indexing="ij")
        pts = np.stack([a.ravel(), b.ravel()], 1)
        self.losses_ = self._run(_evaluate_chunk, model, (_params(model), self.directions_), pts, x, y
                                 ).reshape(len(self.alphas_), len(bs))
        self.center_loss_ = self._center(model, x, y)
        return self

    def interpolate(self, model_a, model_b, alphas: Sequence[float] = tuple(np.linspace(-0.25, 1.25, 31))) -> "Landscape":
        """g(α) = L((1 − α) θ_a + α θ_b): α = 0 is model_a, α = 1 is model_b (same architecture)."""
        x, y = self._check(model_a)
        self._check(model_b)
        pa, pb = _params(model_a), _params(model_b)
        if {n: tuple(p.shape) for n, p in pa.items()} != {n: tuple(p.shape) for n, p in pb.items()}:
            raise GenlabError("interpolate needs two models of the same architecture (same parameter names and shapes)")
        self.directions_ = [{n: pb[n] - pa[n] for n in pa}]
        self.alphas_, self.betas_ = self._coords(alphas, "alphas"), None
        self.losses_ = self._run(_interp_chunk, model_a, (pa, pb), self.alphas_, x, y)
        self.center_loss_ = self._center(model_a, x, y)
        return self

    def _center(self, model, x, y) -> float:
        return _evaluate_chunk((model, _params(model), [], [()], self.loss_fn, x, y, self.threads))[0]


def plot_slice(ax, alphas, losses, label=None, log: bool = False, xlabel: str = "α"):
    """A 1-D slice or an interpolation: loss against α."""
    ax.plot(alphas, losses, "-", label=label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    return ax


def plot_contour(ax, alphas, betas, losses, levels: int = 20, log: bool = True, title: str = ""):
    """Contour figure of a 2-D slice (Li et al. Fig. 1 style); log-spaced levels by default."""
    z = np.asarray(losses, dtype=np.float64)
    if log and np.all(z > 0):
        lv = np.geomspace(z.min(), z.max(), levels) if z.max() > z.min() else levels
    else:
        lv = levels
    a, b = np.meshgrid(alphas, betas, indexing="ij")
    cs = ax.contour(a, b, z, levels=lv, cmap="viridis", linewidths=0.8)
    ax.plot([0], [0], "r*", ms=9, label="θ")
    ax.set_xlabel("α (direction δ)")
    ax.set_ylabel("β (direction η)")
    ax.set_aspect("equal", adjustable="box")
    if title:
        ax.set_title(title)
    return cs
