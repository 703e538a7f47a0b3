"""Frequency-resolved error: the instrument of the frequency principle.

For a target y sampled at points x and a network output h at the same points,
the relative error at frequency k is (Xu et al. 2019, eq. 2)

    Δ_F(k) = |ĥ(k) − ŷ(k)| / |ŷ(k)|              (form="complex")

The authors' released code compares magnitudes instead,

    Δ_F(k) = | |ĥ(k)| − |ŷ(k)| | / |ŷ(k)|        (form="magnitude")

which ignores phase errors, so it is never larger. Both are offered; every
result says which it used. On a uniform grid ``dft`` is the FFT; on any other
sample (non-uniform, or higher-dimensional projected on a direction) it is the
direct non-uniform DFT Σ_j y_j exp(−i k x_j). Errors over whole frequency bands
(1-D bands, radial bands of an image) are in :mod:`genlab.probes.bands`.
"""
from __future__ import annotations

from typing import Literal, Sequence

import numpy as np
import torch

from genlab.runtime import as_tensor, follow, model_device

Form = Literal["complex", "magnitude"]


def _np(a) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def is_uniform(x: np.ndarray, rtol: float = 1e-4) -> bool:
    """Equal positive steps *in the given order*: only then is sample j at time j for the FFT.

    (A shuffled grid is not uniform here: the FFT of samples out of order is not their spectrum.)
    """
    x = np.ravel(x)
    if len(x) < 3:
        return True
    d = np.diff(x)
    return bool(d.mean() > 0 and np.allclose(d, d.mean(), rtol=rtol, atol=1e-6 * max(1.0, abs(x).max())))


def dft(y, x=None, freqs=None) -> np.ndarray:
    """Fourier coefficients of samples ``y``; the last axis runs over samples.

    Without ``x`` (or with a uniform ``x`` and no ``freqs``): ``np.fft.rfft``, so
    coefficient k is frequency k cycles per record. With ``x`` and ``freqs``
    (angular frequencies): the direct non-uniform DFT Σ_j y_j exp(−i f x_j).
    """
    y = _np(y)
    if freqs is None:
        if x is not None and not is_uniform(_np(x)):
            raise ValueError("non-uniform samples need explicit freqs for the non-uniform DFT")
        return np.fft.rfft(y, axis=-1)
    x = _np(x).ravel()
    f = np.asarray(freqs, dtype=np.float64)
    kernel = np.exp(-1j * np.outer(x, f))          # (n, K)
    return y @ kernel


def select_peaks(spectrum, n_peaks: int | None = None, rel_height: float = 0.05, include_dc: bool = False) -> np.ndarray:
    """Indices of the local maxima of |spectrum|, lowest frequency first.

    A peak is a strict local maximum whose height is at least ``rel_height``
    of the largest; with ``n_peaks`` the tallest n are kept (then sorted by
    frequency). The DC term is left out unless ``include_dc``.
    """
    a = np.abs(np.asarray(spectrum))
    first = 0 if include_dc else 1
    if len(a) <= first:
        return np.zeros(0, dtype=int)
    # Heights are relative to the tallest candidate, so a large mean does not hide every peak.
    top = a[first:].max()
    found: list[int] = []
    for k in range(first, len(a)):
        left = a[k - 1] if k > 0 else -np.inf
        right = a[k + 1] if k + 1 < len(a) else -np.inf
        if a[k] > left and a[k] >= right and a[k] >= rel_height * top and a[k] > 0:
            found.append(k)
    cand = np.asarray(found, dtype=int)
    if n_peaks is not None and len(cand) > n_peaks:
        cand = np.sort(cand[np.argsort(a[cand])[::-1][:n_peaks]])
    return cand


def relative_error(h_hat, y_hat, form: Form = "complex") -> np.ndarray:
    """Δ_F per coefficient; inputs are complex coefficient arrays of equal shape."""
    h_hat, y_hat = np.asarray(h_hat), np.asarray(y_hat)
    if form == "complex":
        num = np.abs(h_hat - y_hat)
    elif form == "magnitude":
        num = np.abs(np.abs(h_hat) - np.abs(y_hat))
    else:
        raise ValueError(f"unknown form {form!r}; use 'complex' or 'magnitude'")
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero target coefficient gives inf (or nan for 0/0)
        return num / np.abs(y_hat)


class SpectrumProbe:
    """Relative error per selected frequency between a model's output and a target.

    Works on any model mapping (N, d) inputs to (N, 1) (or (M, N, 1) for a
    stacked ensemble, giving one row per model). 1-D inputs on a uniform grid
    use the FFT; otherwise pass angular ``freqs`` for the non-uniform DFT
    (for d > 1, samples are projected on ``direction``).

    After construction (derived from the settings alone): ``y_spectrum_``, ``peaks_`` (indices or the
    given freqs), ``y_hat_``.
    ``probe(model)`` -> array of Δ_F per peak, computed on the model's device (``x`` follows the model;
    ``device``: where an array ``x`` is put first, default :func:`genlab.runtime.device`).
    """

    name, axes = "spectrum", ("peak",)

    def __init__(self, x, y, peaks: Sequence[int] | None = None, freqs: Sequence[float] | None = None,
                 n_peaks: int | None = None, form: Form = "complex", direction=None, device=None):
        self.x = x if isinstance(x, torch.Tensor) else as_tensor(x, dtype=torch.float32, device=device)
        self.y, self.peaks, self.n_peaks, self.form, self.direction = y, peaks, n_peaks, form, direction
        self.device = device
        xn = _np(self.x)
        if xn.ndim == 2 and xn.shape[1] > 1:
            if freqs is None:
                raise ValueError("inputs of dimension > 1 need angular freqs (non-uniform DFT on a direction)")
            dvec = np.ones(xn.shape[1]) / np.sqrt(xn.shape[1]) if direction is None else np.asarray(direction, float)
            self._coord = xn @ (dvec / np.linalg.norm(dvec))
        else:
            self._coord = xn.ravel()
        self.freqs = None if freqs is None else np.asarray(freqs, dtype=np.float64)
        yv = _np(y).reshape(len(self._coord), -1)[:, 0]
        self.y_spectrum_ = dft(yv, self._coord, self.freqs)
        if self.freqs is None:
            self.peaks_ = np.asarray(peaks, dtype=int) if peaks is not None else select_peaks(self.y_spectrum_, n_peaks)
        else:
            self.peaks_ = np.arange(len(self.freqs))
        self.y_hat_ = self.y_spectrum_[self.peaks_]

    def errors(self, output) -> np.ndarray:
        """Δ_F per peak for network outputs (N,), (N, 1) or (M, N, 1) -> (K,) or (M, K)."""
        o = _np(output)
        o = o.reshape(o.shape[0], -1) if o.ndim == 3 else o.reshape(1, -1)
        h = dft(o, self._coord, self.freqs)
        err = relative_error(h[:, self.peaks_], self.y_hat_[None, :], self.form)
        return err[0] if _np(output).ndim < 3 else err

    def __call__(self, model: torch.nn.Module, state=None) -> np.ndarray:
        self.x = follow(self.x, model)
        with torch.no_grad():
            return self.errors(model(self.x))


def first_below(steps, errors, threshold: float) -> np.ndarray:
    """For each column of ``errors`` (T, K), the first step at which it is below threshold (inf if never)."""
    errors = np.asarray(errors)
    steps = np.asarray(steps)
    out = np.full(errors.shape[1:], np.inf)
    below = errors < threshold
    idx = below.argmax(axis=0)
    hit = below.any(axis=0)
    out[hit] = steps[idx[hit]]
    return out


class StackSpectrum:
    """Δ_F per peak when each model of a stack has its own target: ``probe(model)`` -> (M, K).

    Y: (M, N) targets sampled at x (N,); peaks: DFT indices, (K,) shared or (M, K) per model.
    Xu et al. 2018 (arXiv:1807.01251), random targets: each seed fits its own draw.
    """

    name, axes = "spectrum", ("model", "peak")

    def __init__(self, x, Y, peaks, form: Form = "complex", device=None):
        self.x = as_tensor(x, dtype=torch.float32, device=device).reshape(-1, 1)
        self.device = device
        Y = np.asarray(Y)
        pk = np.broadcast_to(np.asarray(peaks, dtype=int), (len(Y), np.shape(peaks)[-1]))
        self.probes = [SpectrumProbe(self.x, y, peaks=p, form=form) for y, p in zip(Y, pk)]
        self.peaks_ = pk

    def __call__(self, model, state=None) -> np.ndarray:
        self.x = follow(self.x, model)
        out = model(self.x)[..., 0]
        return np.stack([p.errors(out[m]) for m, p in enumerate(self.probes)])


def amplitude(h, freqs, amps=None) -> np.ndarray:
    """Amplitude of each DFT index ``freqs`` in samples ``h`` (last axis, a uniform periodic grid).

    A sum Σ_i A_i sin(2π k_i j / N + φ_i) has amplitude exactly A_i at k_i (for k_i < N/2):
    |rfft(h)[k]| is scaled by 2/N (1/N at k = 0 and k = N/2). With ``amps`` ((K,), or one row
    per model (M, K)) the result is normalized, |ĥ(k_i)| / A_i (Rahaman et al. 2019, Fig. 1).
    """
    h = _np(h)
    n = h.shape[-1]
    k = np.asarray(freqs, dtype=int)
    if k.min() < 0 or 2 * k.max() > n:
        raise ValueError(f"freqs must lie in [0, N/2={n // 2}] for {n} samples; got {k.tolist()}")
    scale = np.where((k == 0) | (2 * k == n), 1.0 / n, 2.0 / n)
    a = np.abs(np.fft.rfft(h, axis=-1)[..., k]) * scale
    return a if amps is None else a / np.asarray(amps, dtype=np.float64)


class SpectralAmplitude:
    """Normalized amplitude |ĥ(k_i)| / A_i of a model's output per frequency (Rahaman et al. 2019).

    x: (N,) or (N, 1) samples on a uniform periodic grid (then DFT index k is k cycles per record);
    freqs: the DFT indices k_i (K,); amps: target amplitudes A_i, (K,) shared or (M, K) one row
    per model of a stack (None: the raw amplitude). ``probe(model)`` -> (K,) for a model mapping
    (N, 1) -> (N, 1), (M, K) for a stack; the last result is kept in ``amplitudes_``.
    """

    name, axes = "amplitude", ("frequency",)

    def __init__(self, x, freqs: Sequence[int], amps=None):
        if not is_uniform(_np(x)):
            raise ValueError("SpectralAmplitude needs samples on a uniform grid, in order")
        self.x, self.freqs, self.amps = x, freqs, amps

    def __call__(self, model: torch.nn.Module, state=None) -> np.ndarray:
        x = as_tensor(_np(self.x), dtype=torch.float32, device=model_device(model)).reshape(-1, 1)
        with torch.no_grad():
            out = _np(model(x))
        self.amplitudes_ = amplitude(out[..., 0], self.freqs, self.amps)
        return self.amplitudes_
