"""How much memory a Deep Image Prior fit needs, and a refusal in one line when it does not fit."""
from __future__ import annotations

import math

from genlab.errors import GenlabError
from genlab.models.dip import NetSpec
from genlab.runtime import available_memory


def activation_floats(spec: NetSpec, channels: int, h: int = 64, w: int = 64) -> float:
    """Output elements per pixel of every leaf module that allocates (in-place activations do not),
    counted on a small forward pass; activations scale with H x W."""
    import torch

    from genlab.models.dip import make_input
    m = spec.build(channels)
    count = [0]
    hooks = [mod.register_forward_hook(lambda _m, _i, o: count.__setitem__(0, count[0] + o.numel()))
             for mod in m.modules() if not list(mod.children()) and not getattr(mod, "inplace", False)]
    with torch.no_grad():
        m(make_input(m, h, w))
    for hk in hooks:
        hk.remove()
    return count[0] / (h * w)


def estimate_bytes(spec: NetSpec, channels: int, h: int, w: int, bf16: bool = False) -> int:
    """Peak resident bytes of fitting ``spec`` to an (h, w) image with ``channels`` channels."""
    # Fitted to peak RSS measured with the tuned allocator (benchmarks/RESULTS.md):
    # in fp32 about 2.2 bytes of RSS per byte of fp32 forward outputs (autograd keeps
    # them; the backward makes gradients), in bf16 autocast about 1.1 (measured at
    # 512x512: swift 1.03 GB, lite 0.92, fast 1.13, paper 2.17, three swift 1.75;
    # this gives 0.99, 0.92, 1.14, 2.23, 2.07), plus ~450 MB for Python, torch and buffers.
    return int(activation_floats(spec, channels) * h * w * 4 * (1.1 if bf16 else 2.2) + 4.5e8)


def check_memory(spec: NetSpec, channels: int, h: int, w: int, name: str, hint: str = "", bf16: bool = False,
                 copies: int = 1) -> None:
    """Raise GenlabError (saying what size fits) when ``copies`` fits need more than 85 % of the memory available."""
    need, have = copies * estimate_bytes(spec, channels, h, w, bf16), available_memory()
    if need > 0.85 * have:
        per_px = (need - 4.5e8) / (h * w)
        side = int(math.sqrt(max(0.85 * have - 4.5e8, 0) / per_px))
        fits = f"at most about {side}x{side} fits: crop or downscale it" if side >= 16 else \
            "no image fits with this network: free memory or try --net small"
        raise GenlabError(f"a {w}x{h} image needs about {need / 1e9:.1f} GB with the '{name}' network but "
                          f"{have / 1e9:.1f} GB is available; {fits}{hint}")


__all__ = ["activation_floats", "estimate_bytes", "check_memory"]
