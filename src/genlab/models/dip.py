"""Deep Image Prior generators: the hourglass ``skip`` network and the Deep Decoder.

Ulyanov, Vedaldi, Lempitsky, "Deep Image Prior", CVPR 2018 (supplementary,
Fig. 21: the encoder-decoder with skip connections) and Heckel & Hand, "Deep
Decoder: Concise image representations from untrained non-convolutional
networks", ICLR 2019.

Both map a fixed random code ``z`` of shape ``(1, C_z, h, w)`` to an image
``(1, C_out, H, W)`` in [0, 1]; ``model.input_shape(H, W)`` gives ``(C_z, h, w)``.
``SkipNet`` needs H and W divisible by ``2 ** len(down)``; ``genlab restore``
pads to that and crops back.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol, Sequence, cast

import torch
from torch import nn

from genlab.runtime import model_device


def _act() -> nn.Module:
    return nn.LeakyReLU(0.2, inplace=True)


def _conv(c_in: int, c_out: int, k: int, stride: int = 1, pad: str = "reflection") -> nn.Sequential:
    # The paper pads by reflection so borders are not pulled towards zero.
    p = (k - 1) // 2
    layers: list[nn.Module] = []
    if p and pad == "reflection":
        layers.append(nn.ReflectionPad2d(p))
        p = 0
    layers.append(nn.Conv2d(c_in, c_out, k, stride=stride, padding=p, bias=True))
    return nn.Sequential(*layers)


class _Generator(Protocol):
    """What :class:`Members` and :func:`make_input` use of a generator (SkipNet, DeepDecoder, Members)."""

    def input_shape(self, h: int, w: int) -> tuple[int, int, int]: ...

    @property
    def multiple(self) -> int: ...


class _Level(nn.Module):
    """One scale of the hourglass: skip branch + (down, deeper, up), concatenated and convolved."""

    def __init__(self, c_in: int, down: int, up: int, skip: int, deeper: nn.Module | None, c_deeper_out: int | None,
                 k_down: int, k_up: int, k_skip: int, upsample: str, pad: str):
        super().__init__()
        self.skip = nn.Sequential(_conv(c_in, skip, k_skip, pad=pad), nn.BatchNorm2d(skip), _act()) if skip else None
        self.down = nn.Sequential(
            _conv(c_in, down, k_down, stride=2, pad=pad), nn.BatchNorm2d(down), _act(),
            _conv(down, down, k_down, pad=pad), nn.BatchNorm2d(down), _act())
        self.deeper = deeper
        self.upsample = nn.Upsample(scale_factor=2, mode=upsample, **({"align_corners": False} if upsample == "bilinear" else {}))
        if deeper is not None:
            assert c_deeper_out is not None, "a deeper level needs its output channels"
            c_cat = skip + c_deeper_out
        else:
            c_cat = skip + down
        self.up = nn.Sequential(
            nn.BatchNorm2d(c_cat),
            _conv(c_cat, up, k_up, pad=pad), nn.BatchNorm2d(up), _act(),
            _conv(up, up, 1, pad=pad), nn.BatchNorm2d(up), _act())

    def forward(self, x):
        d = self.down(x)
        if self.deeper is not None:
            d = self.deeper(d)
        d = self.upsample(d)
        h = torch.cat([self.skip(x), d], 1) if self.skip is not None else d
        return self.up(h)


class SkipNet(nn.Module):
    """The DIP hourglass: ``len(down)`` scales, stride-2 down, upsample, skip connections, sigmoid out.

    down/up/skip: channels per scale (finest first). The paper's default is
    ``down = up = (128,) * 5, skip = (4,) * 5``, 32 input channels, 3x3
    convolutions, bilinear upsampling: about 2.2 M parameters.
    """

    def __init__(self, in_channels: int = 32, out_channels: int = 3, down: Sequence[int] = (128,) * 5,
                 up: Sequence[int] = (128,) * 5, skip: Sequence[int] = (4,) * 5, k_down: int = 3, k_up: int = 3,
                 k_skip: int = 1, upsample: str = "bilinear", pad: str = "reflection", sigmoid: bool = True):
        super().__init__()
        if not (len(down) == len(up) == len(skip)) or len(down) < 1:
            raise ValueError("down, up and skip need the same (positive) number of scales")
        self.in_channels, self.depth = in_channels, len(down)
        ins = [in_channels] + list(down[:-1])
        deeper: nn.Module | None = None
        c_out: int | None = None
        for i in reversed(range(len(down))):   # build from the coarsest scale outwards
            deeper = _Level(ins[i], down[i], up[i], skip[i], deeper, c_out, k_down, k_up, k_skip, upsample, pad)
            c_out = up[i]
        assert deeper is not None   # len(down) >= 1 was checked
        self.body: nn.Module = deeper
        self.head = nn.Conv2d(up[0], out_channels, 1)
        self.sigmoid = sigmoid

    def input_shape(self, h: int, w: int) -> tuple[int, int, int]:
        return (self.in_channels, h, w)

    @property
    def multiple(self) -> int:
        """Image sides must be divisible by this."""
        return 2 ** self.depth

    def forward(self, z):
        y = self.head(self.body(z))
        return torch.sigmoid(y) if self.sigmoid else y


class DeepDecoder(nn.Module):
    """Heckel & Hand's Deep Decoder: 1x1 convolutions, bilinear upsampling, ReLU, channel normalization.

    Under-parameterized (k = 64, 6 layers: about 25 k weights for RGB), so it
    fits noise slowly; the input is a small random tensor ``(k, H/2^L, W/2^L)``
    with ``L = len(channels) - 1`` upsampling steps.
    """

    def __init__(self, out_channels: int = 3, channels: Sequence[int] = (64,) * 6, upsample: str = "bilinear"):
        super().__init__()
        layers: list[nn.Module] = []
        self.in_channels, self.ups = channels[0], len(channels) - 1
        for i in range(len(channels) - 1):
            layers += [nn.Conv2d(channels[i], channels[i + 1], 1, bias=False),
                       nn.Upsample(scale_factor=2, mode=upsample, **({"align_corners": False} if upsample == "bilinear" else {})),
                       nn.ReLU(inplace=True), nn.BatchNorm2d(channels[i + 1])]
        layers += [nn.Conv2d(channels[-1], channels[-1], 1, bias=False), nn.ReLU(inplace=True),
                   nn.BatchNorm2d(channels[-1]), nn.Conv2d(channels[-1], out_channels, 1, bias=False)]
        self.net = nn.Sequential(*layers)

    def input_shape(self, h: int, w: int) -> tuple[int, int, int]:
        return (self.in_channels, h // 2 ** self.ups, w // 2 ** self.ups)

    @property
    def multiple(self) -> int:
        return 2 ** self.ups

    def forward(self, z):
        return torch.sigmoid(self.net(z))


class Members(nn.Module):
    """K independently initialized generators; input (K, C, H, W), member k fits z[k], output (K, C_out, H, W).

    Each member sees only its own code (BatchNorm statistics stay per member), so
    one Adam over all parameters on the mean of the members' losses trains K
    independent fits in one loop; :class:`~genlab.dip.DIPObjective` averages
    their outputs into the estimate.
    """

    def __init__(self, nets: Sequence[nn.Module]):
        super().__init__()
        self.nets = nn.ModuleList(nets)
        self.members = len(self.nets)

    def input_shape(self, h: int, w: int) -> tuple[int, int, int]:
        return cast(_Generator, self.nets[0]).input_shape(h, w)

    @property
    def multiple(self) -> int:
        return cast(_Generator, self.nets[0]).multiple

    def forward(self, z):
        if z.shape[0] != self.members:
            raise ValueError(f"{self.members} members need a batch of {self.members} codes, got {z.shape[0]}")
        return torch.cat([net(z[k:k + 1]) for k, net in enumerate(self.nets)])


@dataclass(frozen=True)
class NetSpec:
    """A generator by name and widths: ``kind`` "skip" or "decoder"; ``channels`` per scale;
    ``members`` > 1: that many independently initialized copies whose outputs are averaged.

    The defaults are the paper's denoising network (``genlab.dip.PAPER_NET``)."""

    kind: str = "skip"
    depth: int = 5
    channels: int = 128
    skip: int = 4
    in_channels: int = 32
    upsample: str = "bilinear"
    members: int = 1

    @property
    def multiple(self) -> int:
        """Image sides must be divisible by this."""
        return 2 ** self.depth

    def build(self, out_channels: int) -> nn.Module:
        if self.members < 1:
            raise ValueError(f"members must be at least 1, got {self.members}")
        if self.members > 1:
            return Members([replace(self, members=1).build(out_channels) for _ in range(self.members)])
        if self.kind == "skip":
            return SkipNet(self.in_channels, out_channels, (self.channels,) * self.depth, (self.channels,) * self.depth,
                           (self.skip,) * self.depth, upsample=self.upsample)
        if self.kind == "decoder":
            return DeepDecoder(out_channels, (self.channels,) * (self.depth + 1), upsample=self.upsample)
        raise ValueError(f"unknown net kind {self.kind!r}; choose skip or decoder")


def make_input(model: nn.Module, h: int, w: int, scale: float = 0.1, generator: torch.Generator | None = None) -> torch.Tensor:
    """The fixed code z: uniform noise in [0, scale) of ``model.input_shape(h, w)`` (the paper's ``INPUT='noise'``),
    one per member of a :class:`Members` model, on the model's device (drawn on the CPU: the same code
    on every device)."""
    c, hh, ww = cast(_Generator, model).input_shape(h, w)
    z = torch.rand(getattr(model, "members", 1), c, hh, ww, generator=generator, device="cpu")
    return z.to(model_device(model)) * scale


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
