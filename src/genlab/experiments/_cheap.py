"""Pieces of the cheap-learning experiments (Lin, Tegmark & Rolnick 2017).

- :func:`product_net`: the constructive deep network for x_1 x_2 ... x_n, a
  binary tree of 4-neuron multiplication gates (Lin et al. Fig. 2). A gate on
  (a, b) uses hidden units σ(λ(±a ± b)) and outputs
  [σ(λ(a+b)) + σ(−λ(a+b)) − σ(λ(a−b)) − σ(−λ(a−b))] / (4 σ''(0) λ²) = ab (1 + O(λ²)).
  An input without a partner in a layer is carried by two units,
  [σ(λa) − σ(−λa)] / (2 σ'(0) λ) = a (1 + O(λ²)), and counted. With n = 2 it is
  exactly the 4-neuron gate.
- :class:`MaskedWidths`: many one-hidden-layer nets of different widths and input
  sizes in one stacked computation, so one call of ``train`` searches them all.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from genlab.ensemble import StackedMLP

# σ = softplus: σ'(0) = 1/2, σ''(0) = 1/4 (≠ 0, which the gate needs), σ''''(0) = −1/8.
SOFTPLUS_D1, SOFTPLUS_D2 = 0.5, 0.25


def product_net(n: int, lam: float, dtype=torch.float64) -> tuple[nn.Sequential, int]:
    """A softplus network computing prod(x_1..x_n) for x in [-1, 1]^n; returns (net, hidden neurons)."""
    # Each current value is a linear form over the previous layer's units (or the inputs): a row vector.
    values = [np.eye(n)[i] for i in range(n)]
    layers: list[nn.Module] = []
    neurons = 0
    while len(values) > 1:
        rows, outs = [], []
        for j in range(0, len(values) - 1, 2):
            a, b = values[j], values[j + 1]
            k = len(rows)
            rows += [lam * (a + b), -lam * (a + b), lam * (a - b), -lam * (a - b)]
            outs.append((k, np.array([1.0, 1.0, -1.0, -1.0]) / (4 * SOFTPLUS_D2 * lam ** 2)))
        if len(values) % 2:
            k = len(rows)
            rows += [lam * values[-1], -lam * values[-1]]
            outs.append((k, np.array([1.0, -1.0]) / (2 * SOFTPLUS_D1 * lam)))
        lin = nn.Linear(len(values[0]), len(rows), dtype=dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.as_tensor(np.stack(rows)))
            lin.bias.zero_()
        layers += [lin, nn.Softplus()]
        neurons += len(rows)
        values = []
        for k, c in outs:
            v = np.zeros(len(rows))
            v[k:k + len(c)] = c
            values.append(v)
    out = nn.Linear(len(values[0]), 1, dtype=dtype)
    with torch.no_grad():
        out.weight.copy_(torch.as_tensor(values[0][None]))
        out.bias.zero_()  # σ(0) terms cancel in pairs, so no offset is needed
    return nn.Sequential(*layers, out), neurons


class MaskedWidths(nn.Module):
    """M one-hidden-layer nets in one stack: net k has n_k inputs and w_k hidden units.

    Inputs (M, N, n_max) with unused columns zero; hidden units beyond w_k are
    masked to zero, so they get no gradient and the net is exactly width w_k.
    Each member is initialized like a lone nn.Linear of its own size
    (PyTorch's U(±1/sqrt(fan_in)), rescaled from the stack's fan-in).
    Output (M, N, 1).
    """

    def __init__(self, n_inputs: Sequence[int], widths: Sequence[int], activation_name: str = "softplus",
                 seeds: Sequence[int] | None = None):
        super().__init__()
        n_max, w_max, M = max(n_inputs), max(widths), len(widths)
        self.stack = StackedMLP(M, (n_max, w_max, 1), activation_name, seeds=seeds)
        with torch.no_grad():
            s_in = torch.sqrt(torch.tensor([n_max / n for n in n_inputs], dtype=torch.float32)).view(M, 1, 1)
            s_out = torch.sqrt(torch.tensor([w_max / w for w in widths], dtype=torch.float32)).view(M, 1, 1)
            self.stack.weights[0].mul_(s_in)
            self.stack.biases[0].mul_(s_in)
            self.stack.weights[1].mul_(s_out)
            self.stack.biases[1].mul_(s_out)
        mask = torch.zeros(M, 1, w_max)
        for k, w in enumerate(widths):
            mask[k, 0, :w] = 1.0
        self.register_buffer("mask", mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.stack
        h = s.act(torch.baddbmm(s.biases[0], x, s.weights[0])) * self.mask
        return torch.baddbmm(s.biases[1], h, s.weights[1])


def product_data(n_inputs: Sequence[int], n_max: int, n_samples: int, generator: torch.Generator):
    """Per member: x ~ U[-1, 1]^{n_k} (zero-padded to n_max) and y = prod(x) / std, one draw per distinct n."""
    xs, ys, cache = [], [], {}
    for n in n_inputs:
        if n not in cache:
            x = torch.rand(n_samples, n, generator=generator) * 2 - 1
            y = x.prod(1, keepdim=True)
            cache[n] = (torch.nn.functional.pad(x, (0, n_max - n)), y / (3.0 ** (-n / 2)))  # std of prod = 3^{-n/2}
        xs.append(cache[n][0])
        ys.append(cache[n][1])
    return torch.stack(xs), torch.stack(ys)
