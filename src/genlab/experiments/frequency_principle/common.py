"""The frequency-principle recipe: 1-D sine targets, many seeds trained at once with a spectrum probe."""
from __future__ import annotations

import numpy as np
import torch

from genlab import runtime
from genlab.data.targets import grid, sines
from genlab.losses import per_model_mse, stacked_mse
from genlab.models.stacked import StackedMLP
from genlab.probes.spectrum import SpectrumProbe, StackSpectrum
from genlab.train import Every, supervised, train


def sine_data(n: int, freqs, amps):
    x = grid(n)
    y = sines(x, freqs, amps)
    return x, y


def train_seeds(run, phase: str, x: np.ndarray, y: np.ndarray, *, n_seeds: int, widths, activation: str,
                init_std, lr: float, steps: int, probe_every: int, optimizer: str = "adam", seed: int = 0,
                peaks=None, n_peaks=None, form: str = "complex", threads: int = 1, extra_callbacks=(),
                on_diverge: str = "raise"):
    """Train ``n_seeds`` MLPs at once on (x, y) and record Δ_F per peak every ``probe_every`` steps.

    y: (N,) one target for all, or (n_seeds, N) a target per model (then ``peaks`` is required).
    init_std: one value or one per model. Returns (result, probe):
    ``result.history.values("spectrum")`` is (T, n_seeds, K).
    """
    dev = runtime.device()
    xt = torch.as_tensor(x, dtype=torch.float32, device=dev).reshape(-1, 1)
    model = StackedMLP(n_seeds, widths, activation, init_std, seeds=[seed * 1000 + k for k in range(n_seeds)]).to(dev)
    y = np.asarray(y)
    if y.ndim == 2:
        yt = torch.as_tensor(y, dtype=torch.float32, device=dev).unsqueeze(-1)
        probe, loss = StackSpectrum(x, y, peaks, form), per_model_mse
    else:
        yt = torch.as_tensor(y, dtype=torch.float32, device=dev).reshape(-1, 1)
        probe, loss = SpectrumProbe(xt, yt, peaks=peaks, n_peaks=n_peaks, form=form), stacked_mse
    cbs = [Every(probe_every, probe, "spectrum"), *extra_callbacks]
    res = train(model, supervised(loss, xt, yt), steps=steps, optimizer=optimizer, lr=lr, callbacks=cbs,
                run=run, phase=phase, threads=threads, desc=phase, on_diverge=on_diverge)
    return res, probe


def mse_per_model(x: np.ndarray, Y: np.ndarray):
    """``fn(model, state)`` -> (M,) MSE of a stack at points x against Y ((N,) shared or (M, N))."""
    dev = runtime.device()
    xt = torch.as_tensor(np.asarray(x), dtype=torch.float32, device=dev).reshape(-1, 1)
    yt = torch.as_tensor(np.asarray(Y), dtype=torch.float32, device=dev)
    yt = yt.reshape(1, -1, 1) if yt.dim() == 1 else yt.unsqueeze(-1)
    return lambda model, state=None: ((model(xt) - yt) ** 2).mean(dim=(1, 2)).cpu().numpy()
