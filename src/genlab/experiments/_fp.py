"""Shared pieces of the frequency-principle experiments (1-D targets, ensembles, heatmaps)."""
from __future__ import annotations

import numpy as np
import torch

from genlab.data.targets import grid, sines
from genlab.ensemble import StackedMLP, stacked_mse
from genlab.probes.spectrum import SpectrumProbe, first_below
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

    Returns (result, probe): ``result.history.values("spectrum")`` is (T, n_seeds, K).
    """
    xt = torch.as_tensor(x, dtype=torch.float32).reshape(-1, 1)
    yt = torch.as_tensor(y, dtype=torch.float32).reshape(-1, 1)
    model = StackedMLP(n_seeds, widths, activation, init_std, seeds=[seed * 1000 + k for k in range(n_seeds)])
    probe = SpectrumProbe(xt, yt, peaks=peaks, n_peaks=n_peaks, form=form)
    cbs = [Every(probe_every, probe, "spectrum"), *extra_callbacks]
    res = train(model, supervised(stacked_mse, xt, yt), steps=steps, optimizer=optimizer, lr=lr, callbacks=cbs,
                run=run, phase=phase, threads=threads, desc=phase, on_diverge=on_diverge)
    return res, probe


def ordering(steps: np.ndarray, err: np.ndarray, threshold: float = 0.1):
    """Per seed: first step each peak is below threshold, and whether they come low to high.

    err: (T, M, K). A seed is ordered when t_1 < t_2 < ... < t_K, where a peak
    that never converges counts as later than any that does (but two peaks
    that both never converge are not ordered).
    """
    t = first_below(steps, err, threshold)            # (M, K)
    ok = np.ones(t.shape[0], dtype=bool)
    for k in range(t.shape[1] - 1):
        a, b = t[:, k], t[:, k + 1]
        ok &= np.isfinite(a) & ((a < b) | ~np.isfinite(b))
    return t, ok


def error_at_first_convergence(steps, err, threshold: float = 0.1):
    """Per seed: the highest peak's error at the step the lowest peak first drops below threshold."""
    t = first_below(steps, err[:, :, :1], threshold)[:, 0]
    out = np.full(err.shape[1], np.nan)
    for m in range(err.shape[1]):
        if np.isfinite(t[m]):
            out[m] = err[np.searchsorted(steps, t[m]), m, -1]
    return out


def plot_heatmap(ax, steps, err, peak_labels, title=""):
    """Relative error per peak (rows, lowest at the bottom) over training (columns)."""
    im = ax.imshow(np.asarray(err).T, aspect="auto", origin="lower", cmap="viridis_r", vmin=0, vmax=1,
                   extent=[steps[0], steps[-1], -0.5, len(peak_labels) - 0.5], interpolation="nearest")
    ax.set_yticks(range(len(peak_labels)))
    ax.set_yticklabels(peak_labels)
    ax.set_xlabel("step")
    ax.set_ylabel("frequency")
    ax.set_title(title)
    return im
