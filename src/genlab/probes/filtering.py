"""The filtering method: low- and high-frequency error on high-dimensional data.

Xu et al., "Frequency Principle: Fourier analysis sheds light on deep neural
networks" (CiCP 2019), the filtering method. A Fourier transform over R^d is out of reach
for d = 784, so the target and the output are split by a Gaussian filter on
the training inputs x_i (N, d):

    f^{low,δ}_i = Σ_j f_j G_δ(x_i − x_j) / Σ_j G_δ(x_i − x_j),  G_δ(x) = exp(−|x|² / (2δ))
    f^{high,δ} = f − f^{low,δ}

and the errors are e_low = ‖y^low − h^low‖ / ‖y^low‖, e_high = ‖y^high − h^high‖ / ‖y^high‖
(norms over all samples and output dimensions). The F-Principle says e_low
falls before e_high. δ is a squared distance: pass it directly, or as
``delta_rel`` times the median squared distance between training inputs.
"""
from __future__ import annotations

import numpy as np
import torch

from genlab.runtime import as_tensor, follow


def _f64(x) -> torch.Tensor:
    """(N, ...) samples as (N, d) float64: on the tensor's device (the CPU for an array, or on MPS: no float64)."""
    dev = x.device if isinstance(x, torch.Tensor) and x.device.type != "mps" else torch.device("cpu")
    x = x.detach() if isinstance(x, torch.Tensor) else np.asarray(x)
    return torch.as_tensor(x, dtype=torch.float64, device=dev).reshape(len(x), -1)


def gaussian_filter_matrix(x, delta: float) -> np.ndarray:
    """Row-normalized Gaussian weights A (N, N): f^low = A f."""
    x = _f64(x)
    d2 = torch.cdist(x, x).pow(2)
    w = torch.exp(-(d2 - d2.min(dim=1, keepdim=True).values) / (2 * delta))  # shift rows for stability; cancels
    return (w / w.sum(dim=1, keepdim=True)).cpu().numpy()


def median_sq_distance(x) -> float:
    x = _f64(x)
    d2 = torch.cdist(x, x).pow(2)
    iu = torch.triu_indices(len(x), len(x), offset=1, device=x.device)
    return float(d2[iu[0], iu[1]].median())


class FilterProbe:
    """e_low and e_high of a model's output on the training inputs.

    x: (N, ...) inputs the model takes; y: (N, k) targets (one-hot for classes).
    After construction (derived from the settings alone): ``delta_``, ``y_low_``, ``y_high_``.
    ``probe(model)`` -> {"e_low": ..., "e_high": ...} (arrays (M,) for a stacked (M, N, k) output).
    """

    name, axes = "filtering", ()

    def __init__(self, x, y, delta: float | None = None, delta_rel: float = 0.1, device=None):
        self.x = x if isinstance(x, torch.Tensor) else as_tensor(x, dtype=torch.float32, device=device)
        self.y, self.delta, self.delta_rel, self.device = y, delta, delta_rel, device
        y = np.asarray(y.detach().cpu() if isinstance(y, torch.Tensor) else y, dtype=np.float64).reshape(len(self.x), -1)
        self.delta_ = float(delta) if delta is not None else delta_rel * median_sq_distance(self.x.reshape(len(self.x), -1))
        self._A = gaussian_filter_matrix(self.x.reshape(len(self.x), -1), self.delta_)
        self.y_low_ = self._A @ y
        self.y_high_ = y - self.y_low_

    def errors(self, output) -> dict:
        h = np.asarray(output.detach().cpu() if isinstance(output, torch.Tensor) else output, dtype=np.float64)
        stacked = h.ndim == 3
        h = h if stacked else h.reshape(1, len(self._A), -1)
        h_low = np.einsum("ij,mjk->mik", self._A, h)
        e_low = np.linalg.norm(h_low - self.y_low_, axis=(1, 2)) / np.linalg.norm(self.y_low_)
        e_high = np.linalg.norm((h - h_low) - self.y_high_, axis=(1, 2)) / np.linalg.norm(self.y_high_)
        return {"e_low": e_low if stacked else float(e_low[0]), "e_high": e_high if stacked else float(e_high[0])}

    def __call__(self, model: torch.nn.Module, state=None) -> dict:
        self.x = follow(self.x, model)
        with torch.no_grad():
            return self.errors(model(self.x))
