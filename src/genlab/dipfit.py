"""Fitting a Deep Image Prior to one observation, through :func:`genlab.train.train`.

Ulyanov et al. 2018: minimize ``|| m * (A f_theta(z + reg_noise_std * n_t) - y) ||^2``
(plus, optionally, ``tv_weight`` times the total variation of the output: DIP-TV, Liu et al. 2019)
over theta from a random init, with a fixed code z, a fresh Gaussian ``n_t``
each step (from torch's global RNG, so a checkpointed run resumes exactly) and
the output averaged as ``x_avg <- exp_weight * x_avg + (1 - exp_weight) * x_t``.
:class:`DIPMonitor` keeps that average, the PSNR against a clean image when
one is known, snapshots, and an automatic stopping rule from
:mod:`genlab.stopping` when none is.
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from genlab.data.degradations import Physics
from genlab.metrics import psnr
from genlab.models.dip import NetSpec, make_input
from genlab.train import Callback, State, train


def to_tensor(img: np.ndarray) -> torch.Tensor:
    """(H, W) or (H, W, C) float -> (1, C, H, W)."""
    t = torch.as_tensor(np.ascontiguousarray(img), dtype=torch.float32)
    return t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None].contiguous()


def to_image(t: torch.Tensor) -> np.ndarray:
    """(1, C, H, W) -> (H, W) for one channel, else (H, W, C)."""
    a = t.detach().float()[0].cpu().numpy()
    return a[0].copy() if a.shape[0] == 1 else np.ascontiguousarray(a.transpose(1, 2, 0))  # never a view


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Anisotropic TV of (N, C, H, W) images: mean |horizontal difference| + mean |vertical difference|."""
    return (x[..., :, 1:] - x[..., :, :-1]).abs().mean() + (x[..., 1:, :] - x[..., :-1, :]).abs().mean()


class DIPObjective:
    """Objective closure for ``train``: masked MSE between ``A f(z + noise)`` and y, plus ``tv_weight`` times
    the output's :func:`total_variation`; extras carry the output (the mean over the members of a
    :class:`~genlab.models.dip.Members` generator).

    weight: (1, 1, h, w) 0/1 weights in measurement space (known, not held out).
    """

    def __init__(self, z: torch.Tensor, y: torch.Tensor, physics: Physics, reg_noise_std: float = 1 / 30,
                 weight: torch.Tensor | None = None, bf16: bool = False, channels_last: bool = False,
                 tv_weight: float = 0.0):
        self.z, self.y, self.physics, self.reg_noise_std = z, y, physics, float(reg_noise_std)
        self.weight, self.bf16, self.tv_weight = weight, bf16, float(tv_weight)
        if not self.tv_weight >= 0:
            raise ValueError(f"tv_weight must be >= 0 (0: the paper's loss), got {tv_weight}")
        self.fmt = torch.channels_last if channels_last else torch.contiguous_format
        if weight is not None:
            self.denom = float(weight.sum()) * y.shape[1]

    def __call__(self, model, batch):
        z = self.z + self.reg_noise_std * torch.randn_like(self.z) if self.reg_noise_std > 0 else self.z
        with torch.autocast(self.z.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            x = model(z.contiguous(memory_format=self.fmt))
        x = x.float().contiguous()
        r = self.physics.forward(x) - self.y  # members (batch K) broadcast against y: the mean of their losses
        loss = r.square().mean() if self.weight is None else (r.square() * self.weight).sum() / (self.denom * len(x))
        if self.tv_weight > 0:  # over the whole output, known pixels or not: the mean over the members
            loss = loss + self.tv_weight * total_variation(x)
        x = x.detach()
        return loss, {"x": x if len(x) == 1 else x.mean(0, keepdim=True)}


class DIPMonitor(Callback):
    """EMA of the outputs, PSNR against ``clean``, snapshots, a stopping rule, a time budget, a progress bar.

    Results: ``x_avg_`` (the running average), ``best_`` (step, image) chosen by
    the stopping rule (or by the oracle PSNR when there is no rule), ``oracle_``
    (step, psnr) of the averaged output, ``snapshots_`` {step: (raw, avg)}.
    """

    at_start = False

    def __init__(self, exp_weight: float = 0.99, clean: np.ndarray | None = None, record_every: int = 10,
                 snapshot_steps=(), rule=None, time_budget: float | None = None, progress: bool = False,
                 total: int | None = None, crop=None, desc: str = "restore"):
        self.exp_weight, self.record_every, self.rule = exp_weight, max(1, record_every), rule
        self.clean = None if clean is None else to_tensor(clean)
        self.snapshot_steps, self.time_budget, self.crop = set(snapshot_steps), time_budget, crop
        self.x_avg_, self.best_, self.oracle_, self.snapshots_ = None, (0, None), (0, -math.inf), {}
        self.t0, self.elapsed_ = None, 0.0
        self.bar = None
        if progress:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=total, desc=desc, dynamic_ncols=True, mininterval=0.5, leave=False)

    def _psnr(self, x):
        return psnr(x, self.clean)

    def __call__(self, state: State):
        if "x" not in state.extras:
            return None
        if self.t0 is None:
            self.t0 = time.perf_counter() - self.elapsed_
        x = state.extras["x"]
        w = self.exp_weight
        self.x_avg_ = x.clone() if self.x_avg_ is None else self.x_avg_.mul_(w).add_(x, alpha=1 - w)
        s, h = state.step, state.history
        if self.rule is not None:
            self.rule.update(s, x, self.x_avg_)
            if self.rule.improved_:
                self.best_ = (s, self.x_avg_.clone())
        if self.clean is not None and s % self.record_every == 0:
            p_avg, p_raw = self._psnr(self.x_avg_), self._psnr(x)
            h.record("psnr_avg", s, p_avg)
            h.record("psnr_raw", s, p_raw)
            if p_avg > self.oracle_[1]:
                self.oracle_ = (s, p_avg)
                if self.rule is None:
                    self.best_ = (s, self.x_avg_.clone())
        if self.rule is not None and s % self.record_every == 0 and self.rule.signal_ is not None:
            h.record("stop_signal", s, self.rule.signal_)
        if s in self.snapshot_steps:
            self.snapshots_[s] = (to_image(x), to_image(self.x_avg_))
        self.elapsed_ = time.perf_counter() - self.t0
        if self.bar is not None:
            self.bar.update(1)
            post = {}
            if self.rule is not None and self.rule.signal_ is not None:
                post[self.rule.name] = f"{self.rule.signal_:.3g}"
                post["best"] = self.best_[0]
            if self.clean is not None and "psnr_avg" in h:
                post["psnr"] = f"{h.values('psnr_avg')[-1]:.2f}"
            self.bar.set_postfix(post, refresh=False)
        if self.rule is not None and self.rule.should_stop_:
            return f"stopped by {self.rule.name}: best at step {self.best_[0]}"
        if self.time_budget is not None and self.elapsed_ >= self.time_budget:
            return f"time budget of {self.time_budget:g} s reached at step {s}"
        return None

    def close(self):
        if self.bar is not None:
            self.bar.close()

    def state_dict(self):
        return {"x_avg": self.x_avg_, "best": self.best_, "oracle": self.oracle_, "snapshots": self.snapshots_,
                "elapsed": self.elapsed_, "rule": self.rule.state_dict() if self.rule is not None else None}

    def load_state_dict(self, d):
        self.x_avg_, self.best_, self.oracle_, self.snapshots_ = d["x_avg"], d["best"], d["oracle"], d["snapshots"]
        self.elapsed_ = d["elapsed"]
        if self.rule is not None and d["rule"] is not None:
            self.rule.load_state_dict(d["rule"])


@dataclass
class FitResult:
    x: np.ndarray                  # the chosen restoration (H, W[, C])
    step: int                      # the step it comes from
    steps_done: int
    stopped_reason: str
    history: object
    monitor: DIPMonitor
    model: torch.nn.Module
    extra: dict = field(default_factory=dict)


def fit(y: np.ndarray, physics: Physics, *, net: NetSpec = NetSpec(), out_shape: tuple[int, int] | None = None,
        steps: int = 3000, lr: float = 0.01, reg_noise_std: float = 1 / 30, exp_weight: float = 0.99,
        input_scale: float = 0.1, tv_weight: float = 0.0, clean: np.ndarray | None = None,
        weight: np.ndarray | None = None, rule=None,
        record_every: int = 10, snapshot_steps=(), seed: int = 0, threads: int | None = None,
        time_budget: float | None = None, progress: bool = False, bf16: bool = False, channels_last: bool = False,
        callbacks=(), run=None, phase: str = "dip", device: str = "cpu",
        checkpoint_every: int | None = None, desc: str = "restore") -> FitResult:
    """Fit a DIP generator to the observation ``y`` (H, W[, C]) under ``physics``.

    out_shape: the (H, W) of the image to restore (defaults to y's; SR passes the
    high-resolution size). weight: (h, w) loss weights in measurement space
    (defaults to ``physics.mask``). The network and z are drawn from ``seed``;
    the per-step noise from torch's global RNG (seeded here too). tv_weight:
    the weight of the output's total variation in the loss (0: the paper's loss). callbacks: more
    :class:`~genlab.train.Callback` s for ``train`` (after the monitor). device:
    where to fit ("cpu", or "cuda" for reference curves on a GPU; bf16 then
    autocasts on that device). run, checkpoint_every: a :class:`~genlab.runs.Run`
    to checkpoint into (every ``checkpoint_every`` steps, default a tenth of
    ``steps``), so a killed fit resumes where it stopped.
    """
    torch.manual_seed(seed)
    yt = to_tensor(y)
    H, W = out_shape or y.shape[:2]
    model = net.build(yt.shape[1])
    z = make_input(model, H, W, input_scale)
    if weight is None and physics.mask is not None:
        weight = physics.mask
    wt = None if weight is None else torch.as_tensor(np.asarray(weight, np.float32))[None, None]
    if rule is not None:
        wt = rule.prepare(yt, physics, wt)
    dev = torch.device(device)
    if dev.type != "cpu":  # everything the step touches moves with the model
        model, z, yt = model.to(dev), z.to(dev), yt.to(dev)
        wt = None if wt is None else wt.to(dev)
        if rule is not None:
            rule.__dict__.update({k: v.to(dev) for k, v in vars(rule).items() if isinstance(v, torch.Tensor)})
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    obj = DIPObjective(z, yt, physics, reg_noise_std, wt, bf16=bf16, channels_last=channels_last,
                       tv_weight=tv_weight)
    mon = DIPMonitor(exp_weight, clean, record_every, snapshot_steps, rule, time_budget, progress, steps, desc=desc)
    if mon.clean is not None:
        mon.clean = mon.clean.to(dev)
    try:
        res = train(model, obj, steps=steps, lr=lr, callbacks=[mon, *callbacks], run=run, phase=phase, threads=threads,
                    progress=False, checkpoint_every=checkpoint_every)
    finally:
        mon.close()
    step, best = mon.best_
    if best is None:  # no rule and no reference: the last average
        step, best = res.steps_done, mon.x_avg_
    return FitResult(to_image(best), step, res.steps_done, res.stopped_reason, res.history, mon, model)


# ---- tiles ----------------------------------------------------------------------------------------
def tile_layout(n: int, size: int, overlap: int, multiple: int) -> tuple[int, list[int]]:
    """Windows along one side of length ``n`` (a multiple of ``multiple``): about ``size`` long, a multiple of
    ``multiple``, neighbours overlapping by at least ``overlap``. Returns (window length, offsets)."""
    k = max(1, round(n / size))
    if k == 1:
        return n, [0]
    length = min(n, -(-(n + (k - 1) * overlap) // (k * multiple)) * multiple)
    return length, [int(round(i * (n - length) / (k - 1))) for i in range(k)]


def _ramp(length: int, overlap: int) -> np.ndarray:
    """Blending weight along one side of a tile: rising linearly over ``overlap`` pixels at each end."""
    i = np.arange(length, dtype=np.float64)
    return np.minimum(1.0, np.minimum(i + 0.5, length - i - 0.5) / max(overlap, 1))


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
    budget = None
    if item["deadline"] is not None:  # an equal share of what is left for this worker's remaining windows
        budget = max(0.1, (item["deadline"] - time.time()) / item["left"])
    rf = item["rule_factory"]
    r = fit(item["y"], item["physics"], clean=item["clean"], weight=item["weight"], rule=rf() if rf else None,
            time_budget=budget, desc=item["desc"], **item["kw"])
    if item["strip"]:  # what crosses the process boundary: the images and the history, not the network
        r.model = None
        r.monitor.rule, r.monitor.x_avg_, r.monitor.best_ = None, None, (r.monitor.best_[0], None)
    return item["box"], r


def fit_tiles(y: np.ndarray, physics: Physics, *, tile: int, overlap: int = 32, net: NetSpec = NetSpec(),
              clean: np.ndarray | None = None, weight: np.ndarray | None = None, rule_factory=None,
              time_budget: float | None = None, snapshot_steps=(), progress: bool = False,
              workers: int = 1, threads: int | None = None, **kw) -> TiledResult:
    """Fit one DIP per overlapping window of about ``tile`` x ``tile`` pixels of ``y``, and blend them
    (linear ramps over the overlaps).

    For observations measured pixel by pixel (denoising, JPEG): each window is
    fitted by :func:`fit` with its own network and stopping rule (a fresh one
    from ``rule_factory()``, which must pickle when workers > 1: a
    ``functools.partial`` of :func:`genlab.stopping.make_rule`, say). Each side of length n gets
    round(n / tile) windows (at least one), each a multiple of
    ``net.multiple``, so y's sides must be multiples of it too (pad first).
    workers > 1 fits that many windows at once in worker processes of
    ``threads // workers`` threads each (on 2 cores, two 1-thread workers
    make more iterations than one 2-thread process). ``time_budget`` is
    shared out: each window gets an equal part of what is left to its worker.
    More keywords go to :func:`fit`.
    """
    H, W = y.shape[:2]
    if H % net.multiple or W % net.multiple:
        raise ValueError(f"the image's sides ({H}x{W}) must be multiples of {net.multiple}: pad it first")
    if getattr(physics, "factor", None) is not None or physics.mask is not None:
        raise ValueError("tiles need an unmasked observation measured pixel by pixel (denoising, JPEG); "
                         "pass a mask as weight=")
    (th, tops), (tw, lefts) = (tile_layout(n, tile, overlap, net.multiple) for n in (H, W))
    boxes = [(t, l, th, tw) for t in tops for l in lefts]
    workers = max(1, min(int(workers), len(boxes)))
    per = max(1, (threads or torch.get_num_threads()) // workers)
    deadline = None if time_budget is None else time.time() + time_budget
    items = []
    for k, (t, l, h, w) in enumerate(boxes):
        sl = (slice(t, t + h), slice(l, l + w))
        items.append({"box": (t, l, h, w), "y": y[sl], "physics": physics, "clean": None if clean is None else clean[sl],
                      "weight": None if weight is None else weight[sl], "rule_factory": rule_factory,
                      "deadline": deadline, "left": -(-(len(boxes) - k) // workers), "strip": workers > 1,
                      "desc": f"window {k + 1}/{len(boxes)}",
                      "kw": {**kw, "net": net, "snapshot_steps": snapshot_steps, "threads": per,
                             "progress": progress and workers == 1}})
    if workers == 1:
        results = [_fit_window(it) for it in items]
    else:
        from genlab.parallel import parallel_map
        results = parallel_map(_fit_window, items, workers=workers, threads=per, progress=progress, desc="windows")

    def ramp(h, w):
        g = np.outer(_ramp(h, overlap if h < H else 0), _ramp(w, overlap if w < W else 0))
        return g.reshape(g.shape + (1,) * (y.ndim - 2))

    acc = np.zeros(y.shape, np.float64)
    norm = np.zeros(y.shape[:2] + (1,) * (y.ndim - 2), np.float64)
    for (t, l, h, w), r in results:
        acc[t:t + h, l:l + w] += ramp(h, w) * r.x
        norm[t:t + h, l:l + w] += ramp(h, w)
    snaps = {}
    for s in sorted({s for _, r in results for s in r.monitor.snapshots_}):
        a = np.zeros(y.shape, np.float64)
        for (t, l, h, w), r in results:  # a window that stopped earlier gives its last snapshot
            have = [q for q in r.monitor.snapshots_ if q <= s]
            a[t:t + h, l:l + w] += ramp(h, w) * (r.monitor.snapshots_[max(have)][1] if have else r.x)
        snaps[s] = (a / norm).astype(np.float32)
    steps = [r.step for _, r in results]
    where = str(steps[0]) if min(steps) == max(steps) else f"{min(steps)}-{max(steps)}"
    reasons = sorted({re.sub(r":.*| of [0-9.e+]+ s| at step.*", "", r.stopped_reason) for _, r in results})
    return TiledResult((acc / norm).astype(np.float32), results, sum(r.steps_done for _, r in results),
                       f"{where} in {len(boxes)} windows", "; ".join(reasons), snaps)
