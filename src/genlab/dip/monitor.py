"""What a Deep Image Prior fit measures while it runs, one callback per job.

Ulyanov et al. 2018 report the exponential average of the outputs
(``x_avg <- exp_weight * x_avg + (1 - exp_weight) * x_t``) and its PSNR
against the clean image over iterations. Each class below is a
:class:`~genlab.train.Callback` for :func:`genlab.train.train` with one job;
:func:`genlab.dip.fit` wires them in this order (the order matters: later ones
read :class:`Average`, and a callback that stops training ends the step):

- :class:`Average`: the running average ``x_avg_`` (1, C, H, W);
- :class:`Snapshots`: raw and averaged outputs as images at chosen steps;
- :class:`PSNRTrace`: ``psnr_avg`` and ``psnr_raw`` against a known clean image
  (convention: :mod:`genlab.probes.image`), the oracle peak ``oracle_``;
- :class:`RuleStop`: feeds a stopping rule (:mod:`genlab.dip.stopping`), keeps the
  averaged output at the rule's best step, records ``stop_signal``, stops;
- :class:`TimeBudget`: stops after a number of seconds of fitting;
- :class:`ProgressBar`: a tqdm bar over the estimated stop, with the stopping signal and the live PSNR.
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from genlab.callbacks import Callback, State
from genlab.probes.image import psnr
from genlab.runtime import as_tensor, progress_disabled


def to_tensor(img: np.ndarray, device: torch.device | str | None = None) -> torch.Tensor:
    """(H, W) or (H, W, C) float -> (1, C, H, W) on ``device`` (None: :func:`genlab.runtime.device`)."""
    t = as_tensor(np.ascontiguousarray(img), dtype=torch.float32, device=device)
    return t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None].contiguous()


def to_image(t: torch.Tensor) -> np.ndarray:
    """(1, C, H, W) -> (H, W) for one channel, else (H, W, C)."""
    a = t.detach().float()[0].cpu().numpy()
    return a[0].copy() if a.shape[0] == 1 else np.ascontiguousarray(a.transpose(1, 2, 0))  # never a view


class Average(Callback):
    """The paper's exponential average of the outputs ``state.extras["x"]``; result ``x_avg_`` (1, C, H, W)."""

    at_start = False

    def __init__(self, exp_weight: float = 0.99):
        self.exp_weight = exp_weight
        self.x_avg_: torch.Tensor | None = None

    def __call__(self, state: State):
        x, w = state.extras["x"], self.exp_weight
        if self.x_avg_ is not None and self.x_avg_.device != x.device:  # resumed: a checkpoint loads on the CPU
            self.x_avg_ = self.x_avg_.to(x.device)
        self.x_avg_ = x.clone() if self.x_avg_ is None else self.x_avg_.mul_(w).add_(x, alpha=1 - w)

    def state_dict(self):
        return {"x_avg": self.x_avg_}

    def load_state_dict(self, d):
        self.x_avg_ = d["x_avg"]


class Snapshots(Callback):
    """Raw and averaged outputs as images at ``steps``: ``snapshots_`` {step: (raw, avg)}, each (H, W[, C])."""

    at_start = False

    def __init__(self, steps, average: Average):
        self.steps, self.average = set(steps), average
        self.snapshots_: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __call__(self, state: State):
        if state.step in self.steps:
            avg = self.average.x_avg_
            assert avg is not None, "Average must run before Snapshots"
            self.snapshots_[state.step] = (to_image(state.extras["x"]), to_image(avg))

    def state_dict(self):
        return {"snapshots": self.snapshots_}

    def load_state_dict(self, d):
        self.snapshots_ = d["snapshots"]


class PSNRTrace(Callback):
    """PSNR (dB, :func:`genlab.probes.image.psnr`) of the averaged and raw outputs against ``clean`` every
    ``every`` steps, recorded as ``psnr_avg`` and ``psnr_raw``; ``oracle_`` = (step, PSNR) of the best
    average; with ``keep_best``, ``best_`` = (step, that averaged output)."""

    at_start = False

    def __init__(self, clean: torch.Tensor, average: Average, every: int = 10, keep_best: bool = False):
        self.clean, self.average, self.every, self.keep_best = clean, average, max(1, every), keep_best
        self.oracle_: tuple[int, float] = (0, -math.inf)
        self.best_: tuple[int, torch.Tensor | None] = (0, None)

    def __call__(self, state: State):
        avg, s = self.average.x_avg_, state.step
        assert avg is not None, "Average must run before PSNRTrace"
        p_avg, p_raw = psnr(avg, self.clean), psnr(state.extras["x"], self.clean)
        state.history.record("psnr_avg", s, p_avg)
        state.history.record("psnr_raw", s, p_raw)
        if p_avg > self.oracle_[1]:
            self.oracle_ = (s, p_avg)
            if self.keep_best:
                self.best_ = (s, avg.clone())

    def state_dict(self):
        return {"oracle": self.oracle_, "best": self.best_}

    def load_state_dict(self, d):
        self.oracle_, self.best_ = d["oracle"], d["best"]


class RuleStop(Callback):
    """Feed ``rule`` (a :mod:`genlab.dip.stopping` rule) every step; ``best_`` = (step, averaged output) at
    the rule's best; records the rule's ``stop_signal`` every ``record_every`` steps; stops when it says."""

    at_start = False

    def __init__(self, rule, average: Average, record_every: int = 10):
        self.rule, self.average, self.record_every = rule, average, max(1, record_every)
        self.best_: tuple[int, torch.Tensor | None] = (0, None)

    def __call__(self, state: State):
        s, avg = state.step, self.average.x_avg_
        self.rule.update(s, state.extras["x"], avg)
        if self.rule.improved_:
            assert avg is not None, "Average must run before RuleStop"
            self.best_ = (s, avg.clone())
        if s % self.record_every == 0 and self.rule.signal_ is not None:
            state.history.record("stop_signal", s, self.rule.signal_)
        if self.rule.should_stop_:
            return f"stopped by {self.rule.name}: best at step {self.best_[0]}"
        return None

    def state_dict(self):
        return {"rule": self.rule.state_dict(), "best": self.best_}

    def load_state_dict(self, d):
        self.rule.load_state_dict(d["rule"])
        self.best_ = d["best"]


class TimeBudget(Callback):
    """Stop once ``seconds`` of fitting have passed (a resumed fit counts the time before the kill): ``elapsed_``."""

    at_start = False

    def __init__(self, seconds: float | None):
        self.seconds, self.elapsed_ = seconds, 0.0
        self._t0: float | None = None

    def __call__(self, state: State):
        now = time.perf_counter()
        if self._t0 is None:
            self._t0 = now - self.elapsed_
        self.elapsed_ = now - self._t0
        if self.seconds is not None and self.elapsed_ >= self.seconds:
            return f"time budget of {self.seconds:g} s reached at step {state.step}"
        return None

    def state_dict(self):
        return {"elapsed": self.elapsed_}

    def load_state_dict(self, d):
        self.elapsed_ = d["elapsed"]


class ProgressBar(Callback):
    """A tqdm bar over the steps the fit is expected to take, showing the rule's signal and best step and the
    PSNR of the running average. It only reads the fit's state: no number the fit computes changes.

    The bar's total is the current estimate of the step the fit stops at, updated every step: the iteration
    cap ``total``; with a stopping ``rule``, no later than its best step so far plus its patience (it stops
    once it has gone ``patience`` steps without a new best, so it cannot stop sooner, and a new best moves
    the estimate on); with a time ``budget``, no later than the steps the budget allows at the pace so far;
    never below the step reached. :meth:`finish` sets it to the actual stop, so the bar ends at 100 %.

    reference: the clean image (1, C, h, w) on the fit's device; every ``psnr_every`` steps the bar shows the PSNR
    (:func:`genlab.probes.image.psnr`) of the running average's top-left h x w (the unpadded output) against
    it, before rounding to 8 bits. Without it, the latest ``psnr_avg`` of :class:`PSNRTrace`, if recorded.
    """

    at_start = False

    def __init__(self, total: int, desc: str = "restore", rule: RuleStop | None = None, *,
                 reference: torch.Tensor | None = None, average: Average | None = None,
                 budget: TimeBudget | None = None, psnr_every: int = 10, file=None):
        from tqdm.auto import tqdm
        if reference is not None and average is None:
            raise ValueError("a reference needs the Average whose output it scores")
        self.total, self.desc, self.rule, self.budget = total, desc, rule, budget
        self.reference, self.average, self.psnr_every, self.file = reference, average, max(1, psnr_every), file
        self.psnr_: float | None = None
        # on stderr: on a terminal, unless quiet or TQDM_DISABLE (read now); on a file given: always
        self._bar = tqdm(total=self.estimate(0), desc=desc, dynamic_ncols=True, mininterval=0.5, leave=True, file=file,
                         disable=progress_disabled(None) if file is None else False)

    def estimate(self, step: int) -> int:
        """The step the fit is expected to stop at, seen from ``step`` (see the class docstring)."""
        est = self.total
        if self.rule is not None:
            est = min(est, self.rule.rule.best_step_ + self.rule.rule.patience)
        b = self.budget
        if b is not None and b.seconds is not None and b.elapsed_ > 0:
            est = min(est, math.ceil(step * b.seconds / b.elapsed_))
        return max(step, est)

    def __call__(self, state: State):
        s = state.step
        self._bar.total = self.estimate(s)
        post: dict[str, str | int] = {}
        r = self.rule
        if r is not None and r.rule.signal_ is not None:
            post[r.rule.name] = f"{r.rule.signal_:.3g}"
            post["best"] = r.best_[0]
        if self.reference is not None and (self.psnr_ is None or s % self.psnr_every == 0):
            avg = self.average.x_avg_ if self.average is not None else None
            if avg is not None:
                h, w = self.reference.shape[-2:]
                self.psnr_ = psnr(avg[..., :h, :w], self.reference)
        elif self.reference is None and "psnr_avg" in state.history:
            self.psnr_ = state.history.values("psnr_avg")[-1]
        if self.psnr_ is not None:
            post["psnr"] = f"{self.psnr_:.2f}"
        self._bar.set_postfix(post, refresh=False)
        self._bar.update(s - self._bar.n)

    def finish(self, steps_done: int):
        """The fit stopped after ``steps_done`` steps: the bar's total becomes that, and it shows 100 %."""
        self._bar.total = self._bar.n = steps_done
        self._bar.refresh()

    def close(self):
        self._bar.close()


__all__ = ["Average", "Snapshots", "PSNRTrace", "RuleStop", "TimeBudget", "ProgressBar", "to_tensor", "to_image"]
