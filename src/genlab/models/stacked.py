"""Many small independent MLPs trained in one process at once (a stack).

``StackedMLP`` holds M MLPs with the same layer widths as stacked weight
tensors ``(M, d_in, d_out)`` and evaluates them with one batched matmul per
layer. Training it on the *sum* of the per-model losses gives each model
exactly the gradient it would get alone, and Adam and SGD act elementwise, so
the result equals training the M models one by one (within float tolerance;
``tests/test_ensemble.py`` checks it) at a fraction of the Python overhead.

Models may differ in seed and in init scale (``init_std`` per model). For
different widths, build one stack per width. ``init="normal_fan_in"`` draws the
whole stack from one generator instead (weights ~ N(0, 1/d_in), biases zero), the
convention of Shwartz-Ziv & Tishby's information-plane code.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from genlab.models.mlp import MLP, activation

INITS = ("members", "normal_fan_in")


class StackedMLP(nn.Module):
    """M independent MLPs. Input (N, d) is shared; (M, N, d) gives each its own.

    Output: (M, N, d_out); ``forward(x, return_hidden=True)`` also returns every
    hidden layer's activations, a list of (M, N, d_l).

    init: "members" (default) initializes model k like a lone :class:`MLP` with
        seed ``seeds[k]`` and ``init_std[k]``; "normal_fan_in" draws, layer by layer
        from one generator seeded with ``seed``, weights (M, d_in, d_out) ~ N(0, 1/d_in)
        and sets biases to zero (Shwartz-Ziv & Tishby 2017; it leaves the global RNG alone).
    device: where the stack lives (None: the CPU, move it with ``.to``). The weights are always drawn on
        the CPU, so a seed gives the same networks on every device.
    """

    def __init__(self, n_models: int, widths: Sequence[int], activation_name: str = "tanh",
                 init_std: float | Sequence[float] | None = None, seeds: Sequence[int] | None = None,
                 init: str = "members", seed: int = 0, device: torch.device | str | None = None):
        super().__init__()
        self.n_models, self.widths, self.activation_name = n_models, tuple(widths), activation_name
        if init not in INITS:
            raise ValueError(f"init={init!r}; choose one of {', '.join(INITS)}")
        if init == "normal_fan_in":
            if init_std is not None or seeds is not None:
                raise ValueError('init="normal_fan_in" takes one seed=, not seeds= or init_std=')
            g = torch.Generator().manual_seed(seed)
            self.weights = nn.ParameterList(nn.Parameter(torch.randn(n_models, a, b, generator=g, device="cpu") / a ** 0.5)
                                            for a, b in zip(self.widths[:-1], self.widths[1:]))
            self.biases = nn.ParameterList(nn.Parameter(torch.zeros(n_models, 1, b, device="cpu")) for b in self.widths[1:])
        else:
            self.load_members(self._members(n_models, init_std, seeds))
        self.act = activation(activation_name)
        if device is not None:
            self.to(device)

    def _members(self, n_models, init_std, seeds) -> list[MLP]:
        seeds = list(seeds) if seeds is not None else list(range(n_models))
        stds = ([None if s is None else float(s) for s in init_std]
                if init_std is not None and not isinstance(init_std, (int, float)) else [init_std] * n_models)
        if len(seeds) != n_models or len(stds) != n_models:
            raise ValueError("seeds and init_std need one entry per model")
        # Initialize each member exactly like a lone MLP with its seed, then stack.
        return [MLP(self.widths, self.activation_name, s, seed=k) for k, s in zip(seeds, stds)]

    def load_members(self, members: Sequence[MLP]) -> None:
        lins = [m.linears() for m in members]
        self.weights = nn.ParameterList(
            nn.Parameter(torch.stack([ls[i].weight.detach().t() for ls in lins]).contiguous()) for i in range(len(lins[0])))
        self.biases = nn.ParameterList(
            nn.Parameter(torch.stack([ls[i].bias.detach() for ls in lins]).unsqueeze(1).contiguous()) for i in range(len(lins[0])))

    def forward(self, x: torch.Tensor, return_hidden: bool = False):
        h = x.unsqueeze(0).expand(self.n_models, *x.shape) if x.dim() == 2 else x
        last, hidden = len(self.weights) - 1, []
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w)
            if i < last:
                h = self.act(h)
                hidden.append(h)
        return (h, hidden) if return_hidden else h

    def member(self, k: int) -> MLP:
        """Model ``k`` as a plain MLP (a copy, on the stack's device)."""
        # nn.Linear's constructor draws from the global RNG even when MLP has a seed; fork it so
        # that calling member() mid-training (in a callback) does not change the run's numbers.
        with torch.random.fork_rng(devices=[]):
            m = MLP(self.widths, self.activation_name, seed=0)
        with torch.no_grad():
            for lin, w, b in zip(m.linears(), self.weights, self.biases):
                lin.weight.copy_(w[k].t())
                lin.bias.copy_(b[k, 0])
        return m.to(self.weights[0].device)


class MaskedWidths(nn.Module):
    """M one-hidden-layer nets in one stack: net k has n_k inputs and w_k hidden units.

    Inputs (M, N, n_max) with unused columns zero; hidden units beyond w_k are
    masked to zero, so they get no gradient and the net is exactly width w_k.
    Each member is initialized like a lone nn.Linear of its own size
    (PyTorch's U(±1/sqrt(fan_in)), rescaled from the stack's fan-in).
    Output (M, N, 1). device: as for :class:`StackedMLP` (the mask buffer moves with the module).
    """

    def __init__(self, n_inputs: Sequence[int], widths: Sequence[int], activation_name: str = "softplus",
                 seeds: Sequence[int] | None = None, device: torch.device | str | None = None):
        super().__init__()
        n_max, w_max, M = max(n_inputs), max(widths), len(widths)
        self.stack = StackedMLP(M, (n_max, w_max, 1), activation_name, seeds=seeds)
        with torch.no_grad():
            s_in = torch.sqrt(torch.tensor([n_max / n for n in n_inputs], dtype=torch.float32, device="cpu")).view(M, 1, 1)
            s_out = torch.sqrt(torch.tensor([w_max / w for w in widths], dtype=torch.float32, device="cpu")).view(M, 1, 1)
            self.stack.weights[0].mul_(s_in)
            self.stack.biases[0].mul_(s_in)
            self.stack.weights[1].mul_(s_out)
            self.stack.biases[1].mul_(s_out)
        mask = torch.zeros(M, 1, w_max, device="cpu")
        for k, w in enumerate(widths):
            mask[k, 0, :w] = 1.0
        self.register_buffer("mask", mask)
        if device is not None:
            self.to(device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.stack
        h = s.act(torch.baddbmm(s.biases[0], x, s.weights[0])) * self.mask
        return torch.baddbmm(s.biases[1], h, s.weights[1])


