"""The networks of Zhang et al. 2017 (Appendix A), scaled to a CPU.

- ``mlp1x512`` / ``mlp3x512``: flatten, one or three hidden ReLU layers of 512 units.
- ``alexnet``: the small AlexNet of the appendix: two (conv 5x5 -> max-pool 3x3 ->
  local response normalization) modules, then fully connected 384 and 192 units.
- ``inception``: the small Inception of the appendix (conv 3x3 96, Inception and
  Downsample modules, global mean pooling), every channel count times ``width``.

Input: float (N, C, H, W) (or (N, 1, L) for MNIST-1D, MLPs only); output: logits (N, n_classes).
``width`` multiplies every hidden size so the nets fit a 2-core CPU (1.0 is the paper's).
"""
from __future__ import annotations

import torch
from torch import nn

from genlab.errors import GenlabError
from genlab.models.mlp import MLP

ARCHS = ("mlp1x512", "mlp3x512", "alexnet", "inception")


class FlatMLP(nn.Module):
    """An :class:`~genlab.models.MLP` on flattened inputs."""

    def __init__(self, d_in: int, hidden: tuple[int, ...], n_classes: int, seed: int | None = None):
        super().__init__()
        self.mlp = MLP((d_in, *hidden, n_classes), "relu", None, seed)

    def forward(self, x):
        return self.mlp(x.flatten(1))


class SmallAlexNet(nn.Module):
    def __init__(self, in_ch: int, n_classes: int, width: float = 1.0):
        super().__init__()
        c = max(4, int(round(64 * width)))
        blocks = []
        for cin in (in_ch, c):
            blocks += [nn.Conv2d(cin, c, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1),
                       nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)]
        self.features = nn.Sequential(*blocks)
        h1, h2 = max(8, int(round(384 * width))), max(8, int(round(192 * width)))
        self.head = nn.Sequential(nn.Flatten(), nn.LazyLinear(h1), nn.ReLU(), nn.Linear(h1, h2), nn.ReLU(),
                                  nn.Linear(h2, n_classes))

    def forward(self, x):
        return self.head(self.features(x))


def _conv(cin: int, cout: int, k: int, stride: int = 1) -> nn.Sequential:
    # the appendix's conv module: convolution, batch normalization, ReLU
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, padding=k // 2 if stride == 1 else 0, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU())


class Inception(nn.Module):
    """Two branches, a 1x1 conv with ``c1`` channels and a 3x3 conv with ``c3``, concatenated."""

    def __init__(self, cin: int, c1: int, c3: int):
        super().__init__()
        self.b1, self.b3, self.out = _conv(cin, c1, 1), _conv(cin, c3, 3), c1 + c3

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x)], 1)


class Downsample(nn.Module):
    """A stride-2 3x3 conv with ``c`` channels beside a 3x3 max-pool, concatenated."""

    def __init__(self, cin: int, c: int):
        super().__init__()
        self.conv, self.pool, self.out = _conv(cin, c, 3, stride=2), nn.MaxPool2d(3, 2), cin + c

    def forward(self, x):
        return torch.cat([self.conv(x), self.pool(x)], 1)


class SmallInception(nn.Module):
    def __init__(self, in_ch: int, n_classes: int, width: float = 1.0):
        super().__init__()
        w = lambda c: max(2, int(round(c * width)))  # noqa: E731
        layers: list[nn.Module] = [_conv(in_ch, w(96), 3)]
        cin = w(96)
        spec = [("i", 32, 32), ("i", 32, 48), ("d", 80), ("i", 112, 48), ("i", 96, 64), ("i", 80, 80),
                ("i", 48, 96), ("d", 96), ("i", 176, 160), ("i", 176, 160)]
        for s in spec:
            m = Inception(cin, w(s[1]), w(s[2])) if s[0] == "i" else Downsample(cin, w(s[1]))
            layers.append(m)
            cin = m.out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(cin, n_classes)

    def forward(self, x):
        return self.head(self.features(x).mean(dim=(2, 3)))


def build(arch: str, input_shape: tuple[int, ...], n_classes: int = 10, width: float = 1.0,
          seed: int | None = None) -> nn.Module:
    """The network ``arch`` for inputs of shape ``input_shape`` (C, H, W) or (1, L)."""
    if seed is not None:
        torch.manual_seed(seed)  # conv layers use torch's default init from the global generator
    d_in = 1
    for s in input_shape:
        d_in *= int(s)
    hid = max(8, int(round(512 * width)))
    if arch == "mlp1x512":
        return FlatMLP(d_in, (hid,), n_classes, seed)
    if arch == "mlp3x512":
        return FlatMLP(d_in, (hid, hid, hid), n_classes, seed)
    if arch in ("alexnet", "inception"):
        if len(input_shape) != 3:
            raise GenlabError(f"arch={arch} needs images; use an MLP (mlp1x512, mlp3x512) for {input_shape} inputs")
        net = (SmallAlexNet if arch == "alexnet" else SmallInception)(input_shape[0], n_classes, width)
        with torch.no_grad():
            net.eval()
            net(torch.zeros(1, *input_shape, device="cpu"))  # materialize lazy layers (built on the CPU; move with .to)
        net.train()
        return net
    raise GenlabError(f"unknown arch {arch!r}; choose one of: {', '.join(ARCHS)}")
