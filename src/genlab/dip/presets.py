"""The Deep Image Prior's settings, each defined once.

- :data:`PAPER_NET`: Ulyanov et al. 2018's hourglass (supplementary, Fig. 21: 5 scales of
  128 channels, 4 skip channels, 32 input channels, bilinear upsampling; about 2.2 M
  parameters). Its numbers are :class:`~genlab.models.dip.NetSpec`'s defaults.
- :data:`PAPER_FIT`: the paper's fit of that network (Adam at lr 0.01, input jitter 1/30,
  averaging weight 0.99, a code uniform in [0, 0.1)): :class:`~genlab.dip.FitSettings`'s defaults.
- :data:`PAPER_STEPS`: the paper's iterations per task.
- :data:`PRESETS`: the networks ``genlab restore --net`` offers, each a typed :class:`Preset`
  (a network and the settings it is fitted with, and why).
- :data:`TASKS`: what ``genlab restore`` does per task unless told otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, Literal

from genlab.dip.fit import FitSettings
from genlab.models.dip import NetSpec

PAPER_NET = NetSpec()
PAPER_FIT = FitSettings(net=PAPER_NET)
PAPER_STEPS = {"denoise": 3000, "jpeg": 2400, "inpaint": 5000, "sr": 2000}


@dataclass(frozen=True)
class Preset:
    """A named generator with the settings it is fitted with (``fit.steps`` is set per task by restore)."""

    name: str
    doc: str
    fit: FitSettings


def _preset(name: str, doc: str, net: NetSpec, **changes) -> Preset:
    return Preset(name, doc, replace(PAPER_FIT, net=net, **changes))


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("paper", "the paper's hourglass (about 2.2 M parameters) and settings", PAPER_FIT),
    _preset("fast", "the same hourglass with 48 channels (about 6x faster per iteration than paper)",
            NetSpec(channels=48, depth=5, skip=4, in_channels=16)),
    _preset("lite", "32 channels (12x faster than paper in fp32, 22x with bf16, at 512x512)",
            NetSpec(channels=32, depth=5, skip=4, in_channels=8)),
    # chosen by the measurements in benchmarks/RESULTS.md: at 512x512 lr 0.005 gained 0.3 dB at
    # iteration 1000 over 0.01
    _preset("swift", "restore's default for denoising: lite with 16 skip channels and nearest upsampling, "
                     "fitted with half the paper's input jitter and lr 0.005: at 256x256 it peaks in about 900 "
                     "iterations where lite is still rising at 2000, but 0.7 dB below the paper net's peak",
            NetSpec(channels=32, depth=5, skip=16, in_channels=8, upsample="nearest"), lr=0.005,
            reg_noise_std=1 / 60),
    # chosen by benchmarks/inpaint_curve.py at 256x256 (camera, half the pixels dropped) and restore at 512x512
    # (RESULTS.md, session 8): 16 skip channels and nearest upsampling (the paper's inpainting network has 128
    # and nearest too) gained 2.0 dB over lite at 1,600 iterations (30.05 against 28.02); half the paper's jitter was faster at
    # 256 px but 0.1 dB worse at 512 px in 10 minutes; no jitter overfits within 600 iterations
    _preset("fill", "restore's default for inpainting: swift's network fitted with the paper's lr 0.01 and jitter "
                    "1/30: at 256x256 with half the pixels missing 30.0 dB on them after 1,600 iterations where "
                    "lite has 28.0",
            NetSpec(channels=32, depth=5, skip=16, in_channels=8, upsample="nearest")),
    _preset("decoder", "Heckel and Hand's Deep Decoder (64 channels, under-parameterized)",
            NetSpec("decoder", depth=5, channels=64)),
    _preset("small", "thumbnails and tests: 3 scales of 16 channels", NetSpec(channels=16, depth=3, skip=4, in_channels=8)),
)}
# --tv (DIP-TV, Liu et al. 2019) is off in every preset: on swift, a weight of 0.02 raised the peak by 0.4 dB
# at 256x256 but later, and cost 0.18 dB at 512x512 after the ~1,850 iterations of 10 minutes (RESULTS.md)


# chosen by the comparison in benchmarks/RESULTS.md; every task but sr (TASKS) stops by it
DEFAULT_STOP: Final[Literal["heldout", "wmv", "none"]] = "heldout"


@dataclass(frozen=True)
class TaskDefaults:
    """What ``genlab restore --task T`` uses unless told otherwise.

    steps: --max-iters (the paper's). net: --net (a :data:`PRESETS` name). tile: --tile, one network per
    overlapping window of about this size (0: one for the whole image). ensemble: --ensemble, networks
    averaged per image or window. stop: --stop, the stopping rule.
    """

    steps: int
    net: str
    tile: int = 0
    ensemble: int = 1
    stop: Literal["heldout", "wmv", "none"] = DEFAULT_STOP


TASKS: dict[str, TaskDefaults] = {
    # swift was chosen on denoising measurements, fill on inpainting ones; jpeg and sr keep lite. Denoising
    # with 256-px windows and 2 networks each reached within 0.3 dB of the paper network's 512x512 peak
    # in 10 minutes on 2 cores. Inpainting in 128-px windows (160 px with their overlap): at 512 px in 10
    # minutes +0.18 (camera), +0.53 (astronaut) and +1.07 dB (motorcycle) on the dropped pixels over 256-px
    # windows (benchmarks/RESULTS.md, session 9)
    "denoise": TaskDefaults(PAPER_STEPS["denoise"], "swift", tile=256, ensemble=2),
    "jpeg": TaskDefaults(PAPER_STEPS["jpeg"], "lite"),
    "inpaint": TaskDefaults(PAPER_STEPS["inpaint"], "fill", tile=128),
    # sr in 128-px output windows (160 px with their overlap) without a stopping rule, as the paper runs its
    # fixed 2,000 iterations: at 512 px in 10 minutes +1.01 dB over bicubic on the motorcycle (+0.44 with
    # 256-px windows and the held-out rule, which holds out only about 80 of a 40x40 input window's pixels
    # and stopped some windows after 280 iterations) (RESULTS.md, session 10)
    "sr": TaskDefaults(PAPER_STEPS["sr"], "lite", tile=128, stop="none"),
}
TILE_OVERLAP = 32  # windows overlap by at least this many pixels and are blended linearly

__all__ = ["PAPER_NET", "PAPER_FIT", "PAPER_STEPS", "Preset", "PRESETS", "TaskDefaults", "TASKS", "TILE_OVERLAP",
           "DEFAULT_STOP"]
