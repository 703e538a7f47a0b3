"""Stopping a Deep Image Prior fit without the clean image.

Two rules, each with ``update(step, x, x_avg)`` called every step, results
``signal_`` (the latest value), ``improved_`` (this step is the new best),
``should_stop_`` and ``best_step_``:

- :class:`WMV`: ES-WMV of Wang, Li, Zhuang, Chen, Liang, Sun, "Early stopping
  for deep image prior" (TMLR 2023): the variance of the last ``window`` raw
  outputs, ``VAR_t = 1/W sum_w ||x_{t-w} - mean||^2 / N``, dips where the
  reconstruction is best; stop when it has not reached a new minimum for
  ``patience`` steps. O(N) memory via running sums (float64).
- :class:`HeldOut`: hold out a random ``fraction`` of the observed pixels from
  the loss and score the averaged output on them. For denoising
  ``E[(x_i - y_i)^2] = (x_i - x*_i)^2 + sigma^2`` on a held-out pixel, so the
  validation MSE tracks the true MSE up to a constant.

``prepare(y, physics, weight)`` lets a rule change the loss weights before the
fit (HeldOut removes its pixels from them). :class:`StopBelow` is the
time-to-fit stop of the paper's Fig. 2 (stop once the loss is below a level),
a plain :class:`~genlab.train.Callback`.
"""
from __future__ import annotations

from collections import deque

import numpy as np
import torch

from genlab.callbacks import Callback


class _Rule:
    name = "rule"

    def __init__(self, patience: int):
        self.patience = int(patience)
        self.signal_: float | None = None
        self.best_value_, self.best_step_ = np.inf, 0
        self.improved_, self.should_stop_ = False, False

    def prepare(self, y: torch.Tensor, physics, weight: torch.Tensor | None) -> torch.Tensor | None:
        return weight

    def _score(self, step: int, value: float | None) -> None:
        self.improved_ = False
        if value is None:
            return
        self.signal_ = value
        if value < self.best_value_:
            self.best_value_, self.best_step_, self.improved_ = value, step, True
        self.should_stop_ = step - self.best_step_ >= self.patience

    def state_dict(self):
        return {k: v for k, v in self.__dict__.items()}

    def load_state_dict(self, d):
        self.__dict__.update(d)


class WMV(_Rule):
    """ES-WMV: windowed moving variance of the raw outputs (window W, patience P in steps)."""

    name = "wmv"

    def __init__(self, window: int = 100, patience: int = 500):
        super().__init__(patience)
        self.window = int(window)
        self._buf: deque = deque()
        self._sum: torch.Tensor | None = None   # running sum of the window (float64)
        self._sq = 0.0

    def update(self, step, x, x_avg):
        # float16 storage halves the ring buffer; the variance is a mean over N, far above fp16 rounding.
        v = x.detach().double()
        if self._sum is not None and self._sum.device != v.device:  # resumed: a checkpoint loads on the CPU
            self._sum, self._buf = self._sum.to(v.device), deque(b.to(v.device) for b in self._buf)
        self._buf.append(x.detach().half())
        self._sum = v.clone() if self._sum is None else self._sum.add_(v)
        self._sq += float(v.square().sum())
        if len(self._buf) > self.window:
            old = self._buf.popleft().double()
            self._sum.sub_(old)
            self._sq -= float(old.square().sum())
        if len(self._buf) < self.window:
            return self._score(step, None)
        n = self._sum.numel()
        var = (self._sq / self.window - float((self._sum / self.window).square().sum())) / n
        self._score(step, max(var, 0.0))


class HeldOut(_Rule):
    """Validation MSE of ``A x_avg`` on a random ``fraction`` of observed pixels kept out of the loss.

    ``prepare`` sets ``val_``, the held-out mask (1, 1, H, W), and ``denom_``, the number of held-out values.
    """

    name = "heldout"

    def __init__(self, fraction: float = 0.05, patience: int = 500, every: int = 5, seed: int = 1234):
        super().__init__(patience)
        self.fraction, self.every, self.seed = float(fraction), max(1, int(every)), seed
        self.val_: torch.Tensor | None = None   # the held-out pixels (1, 1, H, W), set by prepare

    def prepare(self, y, physics, weight):
        self._y, self._physics = y, physics
        h, w = y.shape[-2:]
        g = torch.Generator().manual_seed(self.seed)
        dev = y.device  # the pixels are drawn on the CPU (the same ones on every device), then moved
        hold = (torch.rand(1, 1, h, w, generator=g, device="cpu") < self.fraction).float().to(dev)
        known = torch.ones(1, 1, h, w, device=dev) if weight is None else weight.to(dev)
        val = hold * known
        if val.sum() == 0:  # tiny images: hold out at least one known pixel
            val = known * (torch.arange(h * w, device=dev).reshape(1, 1, h, w) == int(known.flatten().argmax())).float()
        self.val_ = val
        self.denom_ = float(val.sum()) * y.shape[1]
        return known * (1 - val)

    def update(self, step, x, x_avg):
        if step % self.every:
            return self._score(step, None)
        assert self.val_ is not None, "HeldOut.prepare must run before update"
        if self.val_.device != x_avg.device:  # resumed: a checkpoint loads on the CPU
            self.val_ = self.val_.to(x_avg.device)
        r = self._physics.forward(x_avg) - self._y
        self._score(step, float((r.square() * self.val_).sum()) / self.denom_)

    def state_dict(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("_y", "_physics")}

    def load_state_dict(self, d):
        # checkpoints written before the results took their trailing underscore name them "val" and "denom"
        super().load_state_dict({k + "_" if k in ("val", "denom") else k: v for k, v in d.items()})


RULES = {"wmv": WMV, "heldout": HeldOut}


def make_rule(name: str | None, **kw):
    if name in (None, "none", "oracle"):
        return None
    if name not in RULES:
        from genlab.errors import GenlabError
        raise GenlabError(f"unknown stopping rule {name!r}; choose one of: {', '.join(RULES)}, none")
    return RULES[name](**kw)


class StopBelow(Callback):
    """Stop training once the loss is below ``threshold`` (time-to-fit measurement, Ulyanov et al. Fig. 2)."""

    at_start = False

    def __init__(self, threshold: float):
        self.threshold = threshold

    def __call__(self, state):
        if state.loss < self.threshold:
            return f"loss below {self.threshold:g} at step {state.step}"
        return None


__all__ = ["WMV", "HeldOut", "RULES", "make_rule", "StopBelow"]
