"""Fitting a Deep Image Prior to one observation, through :func:`genlab.train.train`.

Ulyanov et al. 2018: minimize ``|| m * (A f_theta(z + reg_noise_std * n_t) - y) ||^2``
(plus, optionally, ``tv_weight`` times the total variation of the output: DIP-TV, Liu et al. 2019)
over theta from a random init, with a fixed code z, a fresh Gaussian ``n_t``
each step (from torch's global RNG, so a checkpointed run resumes exactly) and
the output averaged as ``x_avg <- exp_weight * x_avg + (1 - exp_weight) * x_t``.

:func:`fit` takes its parameters in three groups: the maths (:class:`FitSettings`,
whose defaults are the paper's), the runtime (:class:`~genlab.dip.runtime.Runtime`)
and the storage (:class:`Storage`). What it measures on the way is
:mod:`genlab.dip.monitor`; stopping without the clean image is :mod:`genlab.dip.stopping`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from genlab.dip.monitor import Average, ProgressBar, PSNRTrace, RuleStop, Snapshots, TimeBudget, to_image, to_tensor
from genlab.dip.runtime import Runtime
from genlab.models.dip import NetSpec, make_input
from genlab.physics import Physics
from genlab.runtime import device as runtime_device
from genlab.runtime import resolve_device
from genlab.train import train


@dataclass(frozen=True)
class FitSettings:
    """The maths of one fit. The defaults are the paper's (Ulyanov et al. 2018, supplementary, denoising):
    the 2.2 M-parameter hourglass (``NetSpec()``), Adam at lr 0.01, input jitter 1/30, averaging weight 0.99,
    a code uniform in [0, 0.1), no TV term, 3,000 iterations."""

    net: NetSpec = NetSpec()
    steps: int = 3000
    lr: float = 0.01
    reg_noise_std: float = 1 / 30
    exp_weight: float = 0.99
    tv_weight: float = 0.0
    input_scale: float = 0.1


@dataclass(frozen=True)
class Storage:
    """Where a fit keeps what outlives it: a :class:`~genlab.runs.Run` to checkpoint into (phase ``phase``,
    every ``checkpoint_every`` steps, default a tenth of the steps; the series land there as
    ``<phase>/<name>``), and the steps whose outputs are kept as images (``snapshot_steps``)."""

    run: Any = None
    phase: str = "dip"
    snapshot_steps: tuple[int, ...] | range = ()
    checkpoint_every: int | None = None


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


@dataclass
class FitResult:
    x: np.ndarray                  # the chosen restoration (H, W[, C])
    step: int                      # the step it comes from
    steps_done: int
    stopped_reason: str
    history: object
    model: torch.nn.Module | None
    x_avg: torch.Tensor | None = None               # the last running average (1, C, H, W)
    oracle: tuple[int, float] = (0, -float("inf"))  # (step, PSNR) of the best average against clean
    snapshots: dict = field(default_factory=dict)   # {step: (raw, avg)} images
    elapsed: float = 0.0                            # seconds of fitting


def fit(y: np.ndarray, physics: Physics, settings: FitSettings = FitSettings(), *,
        out_shape: tuple[int, int] | None = None, clean: np.ndarray | None = None, weight: np.ndarray | None = None,
        rule=None, record_every: int = 10, seed: int = 0, callbacks=(), runtime: Runtime = Runtime(),
        storage: Storage = Storage()) -> FitResult:
    """Fit a DIP generator to the observation ``y`` (H, W[, C]) under ``physics``.

    out_shape: the (H, W) of the image to restore (defaults to y's; SR passes the
    high-resolution size). clean: the true image, to record the PSNR curves
    every ``record_every`` steps. weight: (h, w) loss weights in measurement space
    (defaults to ``physics.mask``). rule: a stopping rule of :mod:`genlab.dip.stopping`
    (the result is then the average at its best step; else at the PSNR peak when
    ``clean`` is given; else the last average). The network and z are drawn from
    ``seed``; the per-step noise from torch's global RNG (seeded here too).
    callbacks: more :class:`~genlab.train.Callback` s for ``train`` (after the monitor).
    """
    s, rt = settings, runtime
    dev = runtime_device() if rt.device is None else resolve_device(rt.device)
    torch.manual_seed(seed)
    yt = to_tensor(y, dev)
    H, W = out_shape or y.shape[:2]
    # initialized on the CPU from the seed (the same network on every device), then moved; z follows it
    model = s.net.build(yt.shape[1]).to(dev)
    z = make_input(model, H, W, s.input_scale)
    if weight is None and physics.mask is not None:
        weight = physics.mask
    wt = None if weight is None else torch.as_tensor(np.asarray(weight, np.float32), device=dev)[None, None]
    if rule is not None:
        wt = rule.prepare(yt, physics, wt)
    if rt.channels_last:
        # torch's stubs lack Module.to's memory_format overload (it exists at run time).
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    obj = DIPObjective(z, yt, physics, s.reg_noise_std, wt, bf16=rt.bf16, channels_last=rt.channels_last,
                       tv_weight=s.tv_weight)
    avg = Average(s.exp_weight)
    snaps = Snapshots(storage.snapshot_steps, avg)
    trace = None if clean is None else PSNRTrace(to_tensor(clean, dev), avg, record_every, keep_best=rule is None)
    stop = None if rule is None else RuleStop(rule, avg, record_every)
    budget = TimeBudget(rt.time_budget)
    bar = None
    if rt.progress:
        ref = None if rt.reference is None else to_tensor(rt.reference, dev)
        bar = ProgressBar(s.steps, rt.desc, stop, reference=ref, average=avg, budget=budget,
                          psnr_every=record_every)
    monitor = [c for c in (avg, snaps, trace, stop, budget, bar) if c is not None]
    try:
        res = train(model, obj, steps=s.steps, lr=s.lr, callbacks=[*monitor, *callbacks], run=storage.run,
                    phase=storage.phase, threads=rt.threads, progress=False, checkpoint_every=storage.checkpoint_every)
        if bar is not None:
            bar.finish(res.steps_done)
    finally:
        if bar is not None:
            bar.close()
    step, best = stop.best_ if stop is not None else trace.best_ if trace is not None else (0, None)
    if best is None:  # no rule and no reference: the last average
        step, best = res.steps_done, avg.x_avg_
    assert best is not None, "no output to return: the fit ran no steps"
    return FitResult(to_image(best), step, res.steps_done, res.stopped_reason, res.history, model, avg.x_avg_,
                     trace.oracle_ if trace is not None else (0, -float("inf")), snaps.snapshots_, budget.elapsed_)


__all__ = ["FitSettings", "Storage", "FitResult", "DIPObjective", "fit", "total_variation"]
