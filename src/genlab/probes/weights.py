"""Weight probes: the spectral norm (largest singular value) per layer, once or over training."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


def spectral_norms(model: nn.Module) -> dict[str, float]:
    """Largest singular value of each Linear/Conv weight, by parameter name.

    Conv kernels are flattened to (out, in*kh*kw). Stacked ensemble weights
    (M, a, b) give one norm per model as an array.
    """
    out = {}
    for name, p in model.named_parameters():
        if p.dim() < 2 or any(part.startswith("bias") for part in name.split(".")):
            continue  # biases (StackedMLP keeps them as (M, 1, d) in "biases.i") are not operators
        w = p.detach()
        w = (w.cpu() if w.device.type == "mps" else w).double()  # MPS has no float64; elsewhere on the model's device
        if w.dim() == 3 and not isinstance(_owner(model, name), nn.Conv1d):
            out[name] = torch.linalg.matrix_norm(w, ord=2).cpu().numpy()
        else:
            out[name] = float(torch.linalg.matrix_norm(w.reshape(w.shape[0], -1), ord=2))
    return out


def _owner(model, name):
    mod = model
    for part in name.split(".")[:-1]:
        mod = getattr(mod, part)
    return mod


def relative_change(before: dict, after: dict) -> dict[str, np.ndarray]:
    """|‖W_after‖ − ‖W_before‖| / ‖W_before‖ per layer."""
    return {k: np.abs(np.asarray(after[k]) - np.asarray(before[k])) / np.asarray(before[k]) for k in before}


class SpectralNorms:
    """Probe: the spectral norm of every weight matrix over training (Xu et al. 2018, Fig. 3).

    ``probe(model)`` -> {parameter name: norm} as :func:`spectral_norms` gives it (a float
    per matrix, an (M,) array per stacked (M, a, b) weight); biases are left out. With
    ``Every(k, SpectralNorms())`` each layer is recorded as ``norm/<parameter name>``.
    """

    name, axes = "norm", ()

    def __call__(self, model: nn.Module, state=None) -> dict[str, float]:
        return spectral_norms(model)
