"""Shared pieces of the frequency-principle experiments (1-D targets, ensembles, heatmaps)."""
from __future__ import annotations

import numpy as np
import torch

from genlab.data.targets import grid, sines
from genlab.ensemble import StackedMLP, stacked_mse
from genlab.probes.spectrum import SpectrumProbe, dft, first_below
from genlab.train import Every, supervised, train


def sine_data(n: int, freqs, amps):
    x = grid(n)
    y = sines(x, freqs, amps)
    return x, y


def per_model_mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Sum over models of each model's MSE against its own target (out, y: (M, N, 1))."""
    return ((out - y) ** 2).mean(dim=(1, 2)).sum()


class StackSpectrum:
    """Δ_F per peak when each model of a stack has its own target: ``probe(model)`` -> (M, K).

    Y: (M, N) targets sampled at x (N,); peaks: DFT indices, (K,) shared or (M, K) per model.
    """

    def __init__(self, x, Y, peaks, form: str = "complex"):
        self.x = torch.as_tensor(np.asarray(x), dtype=torch.float32).reshape(-1, 1)
        Y = np.asarray(Y)
        pk = np.broadcast_to(np.asarray(peaks, dtype=int), (len(Y), np.shape(peaks)[-1]))
        self.probes = [SpectrumProbe(self.x, y, peaks=p, form=form) for y, p in zip(Y, pk)]
        self.peaks_ = pk

    def __call__(self, model, state=None) -> np.ndarray:
        out = model(self.x)[..., 0]
        return np.stack([p.errors(out[m]) for m, p in enumerate(self.probes)])


def train_seeds(run, phase: str, x: np.ndarray, y: np.ndarray, *, n_seeds: int, widths, activation: str,
                init_std, lr: float, steps: int, probe_every: int, optimizer: str = "adam", seed: int = 0,
                peaks=None, n_peaks=None, form: str = "complex", threads: int = 1, extra_callbacks=(),
                on_diverge: str = "raise"):
    """Train ``n_seeds`` MLPs at once on (x, y) and record Δ_F per peak every ``probe_every`` steps.

    y: (N,) one target for all, or (n_seeds, N) a target per model (then ``peaks`` is required).
    init_std: one value or one per model. Returns (result, probe):
    ``result.history.values("spectrum")`` is (T, n_seeds, K).
    """
    xt = torch.as_tensor(x, dtype=torch.float32).reshape(-1, 1)
    model = StackedMLP(n_seeds, widths, activation, init_std, seeds=[seed * 1000 + k for k in range(n_seeds)])
    y = np.asarray(y)
    if y.ndim == 2:
        yt = torch.as_tensor(y, dtype=torch.float32).unsqueeze(-1)
        probe, loss = StackSpectrum(x, y, peaks, form), per_model_mse
    else:
        yt = torch.as_tensor(y, dtype=torch.float32).reshape(-1, 1)
        probe, loss = SpectrumProbe(xt, yt, peaks=peaks, n_peaks=n_peaks, form=form), stacked_mse
    cbs = [Every(probe_every, probe, "spectrum"), *extra_callbacks]
    res = train(model, supervised(loss, xt, yt), steps=steps, optimizer=optimizer, lr=lr, callbacks=cbs,
                run=run, phase=phase, threads=threads, desc=phase, on_diverge=on_diverge)
    return res, probe


def mse_per_model(x: np.ndarray, Y: np.ndarray):
    """``fn(model, state)`` -> (M,) MSE of a stack at points x against Y ((N,) shared or (M, N))."""
    xt = torch.as_tensor(np.asarray(x), dtype=torch.float32).reshape(-1, 1)
    yt = torch.as_tensor(np.asarray(Y), dtype=torch.float32)
    yt = yt.reshape(1, -1, 1) if yt.dim() == 1 else yt.unsqueeze(-1)
    return lambda model, state=None: ((model(xt) - yt) ** 2).mean(dim=(1, 2)).numpy()


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


def band_error(out, y, k_lo: int, k_hi: int) -> np.ndarray:
    """Relative DFT error over the band k_lo <= k < k_hi: ‖ĥ−ŷ‖ / ‖ŷ‖ (out: (..., N), y: (N,))."""
    h, t = dft(out)[..., k_lo:k_hi], dft(y)[k_lo:k_hi]
    return np.linalg.norm(h - t, axis=-1) / max(np.linalg.norm(t), 1e-12)


def oscillation(curve) -> tuple[np.ndarray, np.ndarray]:
    """How much an error curve (T, ...) moves beyond a monotone decrease.

    Returns (excess total variation, direction changes) over the first axis.
    The excess is Σ|e_{t+1} − e_t| − |e_T − e_0|: zero for a monotone curve,
    twice the total rise otherwise. Direction changes count sign flips of the
    increments, ignoring increments below 1e-4 of the curve's range (flat parts).
    """
    e = np.asarray(curve, dtype=np.float64)
    d = np.diff(e, axis=0)
    excess = np.abs(d).sum(0) - np.abs(e[-1] - e[0])
    tol = 1e-4 * (e.max(0) - e.min(0) + 1e-12)
    sgn = np.where(np.abs(d) > tol, np.sign(d), 0.0)
    flips = np.zeros(e.shape[1:], dtype=int)
    last = np.zeros(e.shape[1:])
    for t in range(len(sgn)):
        s = sgn[t]
        flips += ((s != 0) & (last != 0) & (s != last)).astype(int)
        last = np.where(s != 0, s, last)
    return excess, flips


def concordance(t: np.ndarray) -> np.ndarray:
    """Per seed: the fraction of peak pairs (lower, higher) that converge in frequency order.

    t: (M, K) first-convergence steps (inf = never), peaks sorted low to high.
    Pairs where neither converged say nothing and are left out; a tie counts
    half. 1 = strictly low to high, 0.5 = no preference, 0 = high to low;
    nan where no pair counts.
    """
    t = np.asarray(t, dtype=float)
    out = np.full(t.shape[0], np.nan)
    for m in range(t.shape[0]):
        score, n = 0.0, 0
        for i in range(t.shape[1]):
            for j in range(i + 1, t.shape[1]):
                if np.isfinite(t[m, i]) or np.isfinite(t[m, j]):
                    score += 1.0 if t[m, i] < t[m, j] else (0.5 if t[m, i] == t[m, j] else 0.0)
                    n += 1
        if n:
            out[m] = score / n
    return out
