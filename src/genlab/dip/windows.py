"""Fitting a large image in overlapping windows, one Deep Image Prior per window, blended back.

A network peaks sooner on a 256-px window than on a whole 512-px image, and
windows fit side by side in 1-thread worker processes (benchmarks/RESULTS.md),
so ``genlab restore`` denoises large images this way. Inpainting windows see
their part of the mask; super-resolution windows are laid out on the
low-resolution grid, and each window's output is compared, downsampled, with
its low-resolution window.
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, replace

import numpy as np
import torch

from genlab.dip.fit import FitSettings, Storage, fit
from genlab.dip.runtime import Runtime
from genlab.physics import Physics


def tile_layout(n: int, size: int, overlap: int, multiple: int) -> tuple[int, list[int]]:
    """Windows along one side of length ``n`` (a multiple of ``multiple``): about ``size`` long, a multiple of
    ``multiple``, neighbours overlapping by at least ``overlap``. Returns (window length, offsets)."""
    k = max(1, round(n / size))
    if k == 1:
        return n, [0]
    length = min(n, -(-(n + (k - 1) * overlap) // (k * multiple)) * multiple)
    return length, [int(round(i * (n - length) / (k - 1))) for i in range(k)]


def window_layout(shape: tuple[int, int], tile: int, overlap: int, multiple: int, factor: int = 1):
    """Windows of an observation of ``shape`` (H, W) whose restoration is ``factor`` times larger per side.

    Laid out on the observation's grid with :func:`tile_layout` (about ``tile / factor`` long, overlapping by
    at least ``overlap / factor``, rounded up, each a multiple of ``multiple / gcd(multiple, factor)``), so a
    window's output, ``factor`` times larger, is a multiple of ``multiple`` and downsamples exactly to its
    observed window. Returns ((window height, tops), (window width, lefts), overlap) on the observation's grid.
    """
    m = multiple // math.gcd(multiple, factor)
    ov = -(-overlap // factor)
    (th, tops), (tw, lefts) = (tile_layout(n, max(1, round(tile / factor)), ov, m) for n in shape)
    return (th, tops), (tw, lefts), ov


def _ramp(length: int, overlap: int) -> np.ndarray:
    """Blending weight along one side of a tile: rising linearly over ``overlap`` pixels at each end."""
    i = np.arange(length, dtype=np.float64)
    return np.minimum(1.0, np.minimum(i + 0.5, length - i - 0.5) / max(overlap, 1))


def _crop(ref: np.ndarray | None, t: int, left: int, h: int, w: int) -> np.ndarray | None:
    """The part of the (unpadded) reference under a window, for its bar's live PSNR; None where there is none."""
    if ref is None:
        return None
    c = ref[t:t + h, left:left + w]
    return c if c.size else None


@dataclass
class TiledResult:
    x: np.ndarray          # the blended restoration (H, W[, C])
    tiles: list            # ((top, left, size_h, size_w), FitResult) per tile
    steps_done: int        # iterations over all tiles
    step: str              # where the windows' outputs come from, e.g. "640-910 in 4 windows"
    stopped_reason: str
    snapshots: dict        # {step: blended averaged output}; a tile that stopped earlier gives its last


def _fit_window(item: dict) -> tuple:
    """One window of :func:`fit_tiles` (module level, so worker processes can run it)."""
    from genlab.runtime import tune_allocator
    tune_allocator(large_buffers=True)
    rt = item["runtime"]
    if item["deadline"] is not None:  # an equal share of what is left for this worker's remaining windows
        rt = replace(rt, time_budget=max(0.1, (item["deadline"] - time.time()) / item["left"]))
    rf = item["rule_factory"]
    r = fit(item["y"], item["physics"], item["settings"], clean=item["clean"], weight=item["weight"],
            rule=rf() if rf else None, runtime=rt, **item["kw"])
    if item["strip"]:  # what crosses the process boundary: the images and the history, not the network
        r.model, r.x_avg = None, None
    return item["box"], r


def fit_tiles(y: np.ndarray, physics: Physics, settings: FitSettings = FitSettings(), *, tile: int,
              overlap: int = 32, clean: np.ndarray | None = None, weight: np.ndarray | None = None,
              rule_factory=None, snapshot_steps=(), seed: int = 0, record_every: int = 10,
              runtime: Runtime = Runtime(), workers: int = 1) -> TiledResult:
    """Fit one DIP per overlapping window of about ``tile`` x ``tile`` output pixels, and blend them
    (linear ramps over the overlaps).

    Each window is fitted by :func:`~genlab.dip.fit` with ``settings``, its part of the observation ``y``
    and of ``weight`` (loss weights on y's grid, e.g. the known pixels), the operator
    ``physics.crop(...)`` (an inpainting mask cut to the window), its own network and stopping rule (a
    fresh one from ``rule_factory()``, which must pickle when workers > 1: a ``functools.partial`` of
    :func:`genlab.dip.make_rule`, say). For super-resolution (``physics.factor`` f) the windows are laid
    out on y's low-resolution grid (:func:`window_layout`) and each fits an output f times larger, so
    the result is f times y's size; ``clean`` is at the output's size. Each side of length n gets
    round(n / tile) windows (at least one); y's sides must be multiples of
    ``settings.net.multiple / gcd(multiple, f)`` (pad first).
    workers > 1 fits that many windows at once in worker processes of
    ``runtime.threads // workers`` threads each (on 2 cores, two 1-thread workers
    make more iterations than one 2-thread process). ``runtime.time_budget`` is
    shared out: each window gets an equal part of what is left to its worker. With one worker, each
    window has its own bar (``runtime.reference`` cropped to it for the live PSNR); with more, the bar counts
    finished windows.
    """
    H, W = y.shape[:2]
    f = int(getattr(physics, "factor", None) or 1)
    m = settings.net.multiple // math.gcd(settings.net.multiple, f)
    if H % m or W % m:
        raise ValueError(f"the observation's sides ({H}x{W}) must be multiples of {m}: pad it first")
    (th, tops), (tw, lefts), ov = window_layout((H, W), tile, overlap, settings.net.multiple, f)
    boxes = [(t, left, th, tw) for t in tops for left in lefts]
    workers = max(1, min(int(workers), len(boxes)))
    per = max(1, (runtime.threads or torch.get_num_threads()) // workers)
    deadline = None if runtime.time_budget is None else time.time() + runtime.time_budget
    items = []
    for k, (t, left, h, w) in enumerate(boxes):
        sl = (slice(t, t + h), slice(left, left + w))
        hr = (slice(f * t, f * (t + h)), slice(f * left, f * (left + w)))  # the window on the output's grid
        items.append({"box": (t, left, h, w), "y": y[sl], "physics": physics.crop(t, left, h, w),
                      "settings": settings, "clean": None if clean is None else clean[hr],
                      "weight": None if weight is None else weight[sl], "rule_factory": rule_factory,
                      "deadline": deadline, "left": -(-(len(boxes) - k) // workers), "strip": workers > 1,
                      "runtime": replace(runtime, threads=per, progress=runtime.progress and workers == 1,
                                         desc=f"window {k + 1}/{len(boxes)}", time_budget=None,
                                         reference=_crop(runtime.reference, f * t, f * left, f * h, f * w)
                                         if workers == 1 else None),
                      "kw": {"seed": seed, "record_every": record_every, "out_shape": (f * h, f * w),
                             "storage": Storage(snapshot_steps=tuple(snapshot_steps))}})
    if workers == 1:
        results = [_fit_window(it) for it in items]
    else:
        from genlab.parallel import parallel_map
        results = parallel_map(_fit_window, items, workers=workers, threads=per, progress=runtime.progress,
                               desc="windows")

    out_shape = (f * H, f * W) + results[0][1].x.shape[2:]

    def ramp(h, w):  # on the output's grid
        g = np.outer(_ramp(f * h, f * ov if h < H else 0), _ramp(f * w, f * ov if w < W else 0))
        return g.reshape(g.shape + (1,) * (len(out_shape) - 2))

    def blend(pick):
        acc = np.zeros(out_shape, np.float64)
        norm = np.zeros(out_shape[:2] + (1,) * (len(out_shape) - 2), np.float64)
        for (t, left, h, w), r in results:
            g = ramp(h, w)
            acc[f * t:f * (t + h), f * left:f * (left + w)] += g * pick(r)
            norm[f * t:f * (t + h), f * left:f * (left + w)] += g
        return (acc / norm).astype(np.float32)

    snaps = {}
    for s in sorted({s for _, r in results for s in r.snapshots}):
        def last(r, s=s):  # a window that stopped earlier gives its last snapshot
            have = [q for q in r.snapshots if q <= s]
            return r.snapshots[max(have)][1] if have else r.x
        snaps[s] = blend(last)
    steps = [r.step for _, r in results]
    where = str(steps[0]) if min(steps) == max(steps) else f"{min(steps)}-{max(steps)}"
    reasons = sorted({re.sub(r":.*| of [0-9.e+]+ s| at step.*", "", r.stopped_reason) for _, r in results})
    return TiledResult(blend(lambda r: r.x), results, sum(r.steps_done for _, r in results),
                       f"{where} in {len(boxes)} windows", "; ".join(reasons), snaps)


__all__ = ["tile_layout", "window_layout", "fit_tiles", "TiledResult"]
