"""Networks for products of inputs (Lin, Tegmark & Rolnick 2017, "Why does deep and cheap learning work so well?").

- :func:`product_net`: the constructive deep network for x_1 x_2 ... x_n, a
  binary tree of 4-neuron multiplication gates (Lin et al. Fig. 2). A gate on
  (a, b) uses hidden units σ(λ(±a ± b)) and outputs
  [σ(λ(a+b)) + σ(−λ(a+b)) − σ(λ(a−b)) − σ(−λ(a−b))] / (4 σ''(0) λ²) = ab (1 + O(λ²)).
  An input without a partner in a layer is carried by two units,
  [σ(λa) − σ(−λa)] / (2 σ'(0) λ) = a (1 + O(λ²)), and counted. With n = 2 it is
  exactly the 4-neuron gate.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

# σ = softplus: σ'(0) = 1/2, σ''(0) = 1/4 (≠ 0, which the gate needs), σ''''(0) = −1/8.
SOFTPLUS_D1, SOFTPLUS_D2 = 0.5, 0.25


def product_net(n: int, lam: float, dtype=torch.float64) -> tuple[nn.Sequential, int]:
    """A softplus network computing prod(x_1..x_n) for x in [-1, 1]^n; returns (net, hidden neurons)."""
    # Each current value is a linear form over the previous layer's units (or the inputs): a row vector.
    values = [np.eye(n)[i] for i in range(n)]
    layers: list[nn.Module] = []
    neurons = 0
    while len(values) > 1:
        rows: list[np.ndarray] = []
        outs: list[tuple[int, np.ndarray]] = []
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
            lin.weight.copy_(torch.as_tensor(np.stack(rows), device=lin.weight.device))
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
        out.weight.copy_(torch.as_tensor(values[0][None], device=out.weight.device))
        out.bias.zero_()  # σ(0) terms cancel in pairs, so no offset is needed
    return nn.Sequential(*layers, out), neurons


__all__ = ["product_net", "SOFTPLUS_D1", "SOFTPLUS_D2"]
