"""Fully connected networks with an explicit, seedable initialization."""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

ACTIVATIONS = {
    "tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "gelu": nn.GELU,
    "softplus": nn.Softplus, "identity": nn.Identity, "sin": None,
}


class Sine(nn.Module):
    def forward(self, x):
        return torch.sin(x)


def activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    cls = ACTIVATIONS[name]
    return Sine() if cls is None else cls()   # only "sin" maps to None


def init_linear_(layer: nn.Linear, init_std: float | None, generator: torch.Generator | None = None) -> None:
    """Weights ~ N(0, init_std^2) and biases too (Xu et al.'s convention), or PyTorch's default when None."""
    if init_std is None:
        bound = 1 / math.sqrt(layer.in_features)
        with torch.no_grad():
            layer.weight.uniform_(-bound, bound, generator=generator)
            layer.bias.uniform_(-bound, bound, generator=generator)
        return
    with torch.no_grad():
        layer.weight.normal_(0.0, init_std, generator=generator)
        layer.bias.normal_(0.0, init_std, generator=generator)


class MLP(nn.Sequential):
    """``widths=(d_in, h1, ..., d_out)``; the activation follows every layer but the last.

    init_std: weights and biases drawn from N(0, init_std^2) (the frequency-principle
    papers' "small/large initialization"); None keeps PyTorch's default.
    device: where the net lives (None: the CPU; move it with ``.to``); it is initialized on the CPU either way.
    """

    def __init__(self, widths: Sequence[int], activation_name: str = "tanh", init_std: float | None = None,
                 seed: int | None = None, device: torch.device | str | None = None):
        layers: list[nn.Module] = []
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            # With a seed, skip nn.Linear's own init: it would draw from the global RNG
            # only to be overwritten, coupling this model to unrelated randomness.
            lin = nn.utils.skip_init(nn.Linear, a, b) if g is not None else nn.Linear(a, b)
            init_linear_(lin, init_std, g)
            layers.append(lin)
            if i < len(widths) - 2:
                layers.append(activation(activation_name))
        super().__init__(*layers)
        self.widths, self.activation_name = tuple(widths), activation_name
        if device is not None:
            self.to(device)

    def linears(self) -> list[nn.Linear]:
        return [m for m in self if isinstance(m, nn.Linear)]
