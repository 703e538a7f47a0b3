"""The frequency principle's theory, measured: the gradient of each frequency's loss.

Xu, Zhang, Luo, Xiao, Ma, "Frequency Principle: Fourier analysis sheds light on
deep neural networks", CiCP 28 (2020), Section 4 (arXiv:1901.06523). For one
hidden layer h(x) = Σ_j a_j tanh(w_j x + b_j) + c and the loss at frequency k,

    L(k) = |ĥ(k) − f̂(k)|² = A(k)²,

the gradient with respect to any parameter of neuron j carries the factor
A(k) · exp(−π|k| / (2|w_j|)) times a polynomial in (a_j, w_j, b_j, k): the
Fourier transform of tanh(w x + b) has its nearest singularities (the poles of
tanh at w x + b = ±iπ/2) at distance π/(2|w|) from the real axis, and that
distance sets the exponential decay. Small |w|: low frequencies get
exponentially larger gradients; large |w|: the factor flattens.

Conventions (recorded by the probe as ``convention``): angular frequency k on
samples x (uniform on [−π, π) gives integer k), transform
ĝ(k) = Σ_n win(x_n) g(x_n) e^{−i k x_n} Δx with a Gaussian window
win(x) = exp(−(x − x̄)² / (2 s²)). Why a window: on a finite interval the DFT
of a function that is not periodic has a 1/k tail from the jump between its
ends, which swamps any exponential decay; the theory is about the transform
on the whole line. The Gaussian makes the residual vanish smoothly inside the
interval, so the windowed transform decays with the tanh poles' rate
exp(−π|k|/(2|w_j|)) (times a k-independent factor exp(π²/(8 w_j² s²)) from
the window at the pole) once k > π/(2|w_j| s²); below that the window's own
Gaussian decay exp(−k² s²/2) dominates. ``window_std=None`` is the plain DFT.

w_eff. The network's gradient sums its neurons, each with its own factor; at
large k the neurons with the largest |w_j| (nearest poles) dominate, so neither
the mean nor the RMS of |w_j| gives the slope. :func:`theory_factor` sums the
theory's per-neuron factors with the residue's amplitude (|a_j|, times the
window at the pole), and ``w_eff`` is the single |w| with the same log-slope
over the fitted frequencies: ``w_eff = −π / (2 · slope)``. The RMS of |w_j| is
reported beside it. Gradients are computed in float64 on a copy of the model.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch.func import functional_call, jacrev

from genlab.models.stacked import StackedMLP
from genlab.runtime import as_tensor, follow


def window(x: np.ndarray, window_std: float | None) -> np.ndarray:
    """Gaussian window centred on the samples' midpoint (ones when ``window_std`` is None)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    if window_std is None:
        return np.ones_like(x)
    c = 0.5 * (x.min() + x.max())
    return np.exp(-((x - c) ** 2) / (2 * window_std ** 2))


def transform_matrix(x, ks, window_std: float | None) -> np.ndarray:
    """(K, N) complex matrix C with ĝ(k) = C @ g(x): windowed DFT at angular frequencies ``ks``."""
    x = np.asarray(x, dtype=np.float64).ravel()
    dx = (x.max() - x.min()) / max(len(x) - 1, 1)
    return np.exp(-1j * np.outer(np.asarray(ks, dtype=np.float64), x)) * window(x, window_std)[None] * dx


def hidden_layer(model: torch.nn.Module):
    """(a, w, b) of a one-hidden-layer 1-D net as float64 arrays, (M, m) for a stack or (m,) for one net."""
    if isinstance(model, StackedMLP):
        if len(model.weights) != 2 or model.widths[0] != 1 or model.widths[-1] != 1:
            raise ValueError(f"need a 1-m-1 stack, got widths {model.widths}")
        w, b, a = model.weights[0][:, 0, :], model.biases[0][:, 0, :], model.weights[1][:, :, 0]
    else:
        lins = [mod for mod in model.modules() if isinstance(mod, torch.nn.Linear)]
        if len(lins) != 2 or lins[0].in_features != 1 or lins[1].out_features != 1:
            raise ValueError("need a one-hidden-layer net Linear(1, m) -> activation -> Linear(m, 1)")
        w, b, a = lins[0].weight[:, 0], lins[0].bias, lins[1].weight[0]
    f = lambda t: t.detach().cpu().double().numpy()  # noqa: E731
    return f(a), f(w), f(b)


def theory_factor(model: torch.nn.Module, ks, x=None, window_std: float | None = None) -> np.ndarray:
    """Σ_j |a_j| · exp(−π|k|/(2|w_j|)) per k, windowed as below: (K,) or (M, K) for a stack.

    The theory's polynomial in (a_j, w_j, b_j, k) is left out (it is the factor that the paper
    and the claim are about); over a fit range of k it tilts the measured slope by about
    log(k_hi/k_lo)/(k_hi − k_lo) per power of k.

    tanh(w_j x + b_j) is singular at x = c_j ± i d_j, c_j = −b_j/w_j, d_j = π/(2|w_j|). With a
    Gaussian window of std s centred at x̄, shifting the transform's contour to the pole gives
    exp(−k d_j + d_j²/(2s²) − (c_j − x̄)²/(2s²)) once k ≥ d_j/s²; below that the contour stops
    at the window's saddle (imaginary part k s²) and the term is the window's exp(−k²s²/2 − (c_j − x̄)²/(2s²)).
    The two agree at k = d_j/s². Without a window the term is exp(−k d_j).
    """
    a, w, b = hidden_layer(model)
    d = np.pi / (2 * np.maximum(np.abs(w), 1e-12))[..., None, :]          # (..., 1, m)
    log_amp = np.log(np.maximum(np.abs(a), 1e-300))[..., None, :]          # the residue at neuron j's pole ∝ a_j
    k = np.abs(np.asarray(ks, dtype=np.float64))[:, None]                 # (K, 1)
    if window_std is None:
        logs = log_amp - k * d
    else:
        s2 = window_std ** 2
        xc = 0.0 if x is None else float(0.5 * (np.min(x) + np.max(x)))
        c = (-b / np.where(w == 0, 1e-12, w))[..., None, :]
        logs = log_amp - (c - xc) ** 2 / (2 * s2) + np.where(k * s2 >= d, -k * d + d ** 2 / (2 * s2), -k ** 2 * s2 / 2)
    top = logs.max(-1, keepdims=True)                                     # log-sum-exp over neurons
    return np.exp(top[..., 0]) * np.exp(logs - top).sum(-1)


def fit_slope(ks, values) -> np.ndarray:
    """Least-squares slope of log(values) against |k| along the last axis (NaN where a value is not positive)."""
    v = np.asarray(values, dtype=np.float64)
    k = np.abs(np.asarray(ks, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        lv = np.where(v > 0, np.log(v), np.nan)
    kc = k - k.mean()
    out = (lv - lv.mean(-1, keepdims=True)) @ kc / (kc @ kc)
    return np.asarray(out)


def w_eff(slope) -> np.ndarray:
    """The single |w| whose factor exp(−π|k|/(2|w|)) has log-slope ``slope``: −π/(2·slope)."""
    s = np.asarray(slope, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(s < 0, -np.pi / (2 * s), np.inf)


class FourierGradient:
    """Per-frequency loss L(k) = |r̂(k)|² of the residual r = h − f and the norm of its gradient.

    x: (N,) sample points (1-D inputs), y: (N,) target; ks: (K,) angular frequencies.
    ``probe(model)`` -> dict with ``grad`` ‖∇_θ L(k)‖ (over all parameters; per model of a
    :class:`StackedMLP`) and ``A`` = |r̂(k)|, each (K,) or (M, K); ``ratio`` = grad / A.
    Works on any model mapping (N, 1) to (N, 1) or (M, N, 1) whose parameters of model m
    are the m-th slices of a stack's tensors.
    """

    name, axes = "fourier_gradient", ("model", "k")

    def __init__(self, x, y, ks, window_std: float | None = None, device=None):
        xn = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x, dtype=np.float64).reshape(-1, 1)
        yn = np.asarray(y.detach().cpu() if isinstance(y, torch.Tensor) else y, dtype=np.float64).ravel()
        self.ks = np.asarray(ks, dtype=np.float64)
        self.window_std, self.device = window_std, device
        C = transform_matrix(xn.ravel(), self.ks, window_std)
        # on ``device`` (None: genlab.runtime.device()); each call moves them to the model's device
        self.x, self.y, self._C_re, self._C_im = (as_tensor(a, device=device) for a in (xn, yn, C.real, C.imag))
        self.convention_ = (f"L(k) = |Σ_n win(x_n)(h − f)(x_n) e^(−ik x_n) Δx|², win Gaussian std {window_std} "
                           "(None: plain DFT); grad: Euclidean norm over all parameters, float64")

    def losses(self, out: torch.Tensor) -> torch.Tensor:
        """L(k) for outputs (N,) -> (K,) or (M, N) -> (M, K)."""
        r = out - self.y
        re, im = r @ self._C_re.T, r @ self._C_im.T
        return re ** 2 + im ** 2

    def __call__(self, model: torch.nn.Module, state=None) -> dict:
        m = copy.deepcopy(model).double()
        self.x, self.y, self._C_re, self._C_im = (follow(t, m) for t in (self.x, self.y, self._C_re, self._C_im))
        params = {k: v.detach() for k, v in m.named_parameters()}
        stacked = isinstance(m, StackedMLP)

        def total(p):
            out = functional_call(m, p, (self.x,))[..., 0]
            L = self.losses(out)
            # Models of a stack are independent: the sum's gradient holds each model's in its slice.
            return (L.sum(0) if stacked else L), L

        with torch.enable_grad():
            jac, L = jacrev(total, has_aux=True)(params)   # jac[name]: (K, *param.shape)
        if stacked:
            sq = sum(j.pow(2).reshape(len(self.ks), m.n_models, -1).sum(-1) for j in jac.values())
            grad = sq.T.sqrt().cpu().numpy()            # (M, K)
        else:
            grad = sum(j.pow(2).reshape(len(self.ks), -1).sum(-1) for j in jac.values()).sqrt().cpu().numpy()
        A = L.detach().sqrt().cpu().numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = grad / A
        return {"grad": grad, "A": A, "ratio": ratio}


def energy_above(h, cutoff: float, x=None) -> np.ndarray:
    """Spectral energy of samples h above angular frequency ``cutoff``: Σ_{k > cutoff} |ĥ(k)|², Parseval-normalised.

    h: (..., N) on a uniform grid of one period (2π long: index k is angular frequency k).
    Normalised so the sum over all k (both signs) equals the mean of h², so a fine and a coarse
    grid of the same function give the same number. For the energy a function learned from N
    uniform samples holds beyond what they can see, pass ``cutoff = N / 2`` (their Nyquist frequency).
    """
    h = np.asarray(h, dtype=np.float64)
    n = h.shape[-1]
    c = np.fft.rfft(h, axis=-1) / n
    k = np.arange(c.shape[-1])
    weight = np.where((k == 0) | ((n % 2 == 0) & (k == n // 2)), 1.0, 2.0)  # one-sided: ±k counted once each
    return (np.abs(c) ** 2 * weight * (k > cutoff)).sum(-1)
