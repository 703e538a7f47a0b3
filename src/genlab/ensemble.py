"""Many small independent networks trained in one process at once.

``StackedMLP`` holds M MLPs with the same layer widths as stacked weight
tensors ``(M, d_in, d_out)`` and evaluates them with one batched matmul per
layer. Training it on the *sum* of the per-model losses gives each model
exactly the gradient it would get alone, and Adam and SGD act elementwise, so
the result equals training the M models one by one (within float tolerance;
``tests/test_ensemble.py`` checks it) at a fraction of the Python overhead.

Models may differ in seed and in init scale (``init_std`` per model). For
different widths, build one stack per width.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from genlab.models.mlp import MLP, activation


class StackedMLP(nn.Module):
    """M independent MLPs. Input (N, d) is shared; (M, N, d) gives each its own.

    Output: (M, N, d_out).
    """

    def __init__(self, n_models: int, widths: Sequence[int], activation_name: str = "tanh",
                 init_std: float | Sequence[float] | None = None, seeds: Sequence[int] | None = None):
        super().__init__()
        self.n_models, self.widths, self.activation_name = n_models, tuple(widths), activation_name
        seeds = list(seeds) if seeds is not None else list(range(n_models))
        stds = ([None if s is None else float(s) for s in init_std]
                if init_std is not None and not isinstance(init_std, (int, float)) else [init_std] * n_models)
        if len(seeds) != n_models or len(stds) != n_models:
            raise ValueError("seeds and init_std need one entry per model")
        # Initialize each member exactly like a lone MLP with its seed, then stack.
        members = [MLP(widths, activation_name, s, seed=k) for k, s in zip(seeds, stds)]
        self.load_members(members)
        self.act = activation(activation_name)

    def load_members(self, members: Sequence[MLP]) -> None:
        lins = [m.linears() for m in members]
        self.weights = nn.ParameterList(
            nn.Parameter(torch.stack([ls[i].weight.detach().t() for ls in lins]).contiguous()) for i in range(len(lins[0])))
        self.biases = nn.ParameterList(
            nn.Parameter(torch.stack([ls[i].bias.detach() for ls in lins]).unsqueeze(1).contiguous()) for i in range(len(lins[0])))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.unsqueeze(0).expand(self.n_models, *x.shape) if x.dim() == 2 else x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w)
            if i < last:
                h = self.act(h)
        return h

    def member(self, k: int) -> MLP:
        """Model ``k`` as a plain MLP (a copy)."""
        # nn.Linear's constructor draws from the global RNG even when MLP has a seed; fork it so
        # that calling member() mid-training (in a callback) does not change the run's numbers.
        with torch.random.fork_rng(devices=[]):
            m = MLP(self.widths, self.activation_name, seed=0)
        with torch.no_grad():
            for lin, w, b in zip(m.linears(), self.weights, self.biases):
                lin.weight.copy_(w[k].t())
                lin.bias.copy_(b[k, 0])
        return m


def stacked_mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Sum over models of each model's mean squared error (out: (M, N, d), y: (N, d))."""
    return ((out - y.unsqueeze(0)) ** 2).mean(dim=(1, 2)).sum()
