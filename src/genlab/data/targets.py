"""1-D targets for the frequency principle: sums of sines, user functions, files, random data."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from genlab import runtime
from genlab.errors import GenlabError


def grid(n: int, lo: float = -math.pi, hi: float = math.pi, endpoint: bool = False) -> np.ndarray:
    """n uniform samples on [lo, hi) (periodic grid, so DFT index k is k cycles per period)."""
    return np.linspace(lo, hi, n, endpoint=endpoint)


def sines(x: np.ndarray, freqs: Sequence[float], amps: Sequence[float] | None = None) -> np.ndarray:
    """Σ_i a_i sin(f_i x)."""
    amps = [1.0] * len(freqs) if amps is None else amps
    if len(amps) != len(freqs):
        raise GenlabError(f"{len(freqs)} frequencies but {len(amps)} amplitudes; give one amplitude per frequency")
    return sum(a * np.sin(f * x) for f, a in zip(freqs, amps))


def from_function(fn: Callable[[np.ndarray], np.ndarray] | str, x: np.ndarray) -> np.ndarray:
    """Evaluate a callable, or a numpy expression in ``x`` such as ``"sin(x) + 0.5*sin(4*x)"``."""
    if callable(fn):
        return np.asarray(fn(x), dtype=np.float64)
    allowed = {k: getattr(np, k) for k in ("sin", "cos", "exp", "abs", "tanh", "sign", "pi", "sqrt", "log", "where")}
    try:
        # Expressions only: no builtins, only numpy functions and x.
        return np.asarray(eval(compile(fn, "<target>", "eval"), {"__builtins__": {}}, {**allowed, "x": x}), float) * np.ones_like(x)
    except Exception as e:
        raise GenlabError(f"target expression {fn!r} could not be evaluated ({e}); use numpy names such as sin(x) + cos(3*x)") from None


def from_file(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) from a two-column .csv/.txt or a .npy/.npz (keys x, y) file."""
    p = Path(path)
    if not p.exists():
        raise GenlabError(f"target file {p} does not exist; give a .csv with two columns x,y or a .npz with x and y")
    try:
        if p.suffix == ".npz":
            d = np.load(p)
            x, y = d["x"], d["y"]
        elif p.suffix == ".npy":
            a = np.load(p)
            x, y = a[:, 0], a[:, 1]
        else:
            a = np.loadtxt(p, delimiter="," if p.suffix == ".csv" else None, ndmin=2)
            x, y = a[:, 0], a[:, 1]
    except Exception as e:
        raise GenlabError(f"cannot read target file {p} ({e}); give two columns x,y") from None
    order = np.argsort(x)
    return np.asarray(x, float)[order], np.asarray(y, float)[order]


def random_target(n: int, seed: int = 0, kind: str = "uniform") -> np.ndarray:
    """White targets with no low-frequency dominance: i.i.d. uniform[-1, 1] or ±1 labels."""
    rng = np.random.default_rng(seed)
    if kind == "sign":
        return rng.choice([-1.0, 1.0], size=n)
    return rng.uniform(-1, 1, size=n)


def product_data(n_inputs: Sequence[int], n_max: int, n_samples: int, generator: torch.Generator,
                 device: torch.device | str | None = None):
    """Per member: x ~ U[-1, 1]^{n_k} (zero-padded to n_max) and y = prod(x) / std, one draw per distinct n.

    Drawn on the CPU with ``generator`` (a CPU generator), so every device sees the same data, then moved
    to ``device`` (default: the current device, :func:`genlab.runtime.device`).
    """
    xs, ys, cache = [], [], {}
    for n in n_inputs:
        if n not in cache:
            x = torch.rand(n_samples, n, generator=generator, device="cpu") * 2 - 1
            y = x.prod(1, keepdim=True)
            cache[n] = (torch.nn.functional.pad(x, (0, n_max - n)), y / (3.0 ** (-n / 2)))  # std of prod = 3^{-n/2}
        xs.append(cache[n][0])
        ys.append(cache[n][1])
    dev = runtime.device() if device is None else device
    return torch.stack(xs).to(dev), torch.stack(ys).to(dev)

