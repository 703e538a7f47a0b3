"""The one training loop. Every phenomenon plugs in as a callback (a probe).

``train(model, objective, steps=...)`` runs full-batch or mini-batch training
with any torch optimizer, records the loss, calls callbacks at their own
cadence, stops on a callback's request (early stopping) or on a non-finite
loss (the divergence guard), and, given a :class:`~genlab.runs.Run`,
checkpoints so that a killed run resumes where it stopped with identical
numbers. It knows nothing about experiments.

An *objective* is ``objective(model, batch) -> loss`` or ``-> (loss, extras)``;
``extras`` (a dict) reaches the callbacks, for example a network output that a
probe wants without a second forward pass. :func:`supervised` builds the common
one from a loss function and (x, y) data.
"""
from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import torch
from tqdm.auto import tqdm

from genlab.callbacks import Callback, EarlyStopping, Every, History, State  # noqa: F401  (Every re-exported)
from genlab.errors import DivergedError

Objective = Callable[[torch.nn.Module, Any], "torch.Tensor | tuple[torch.Tensor, dict]"]


@dataclass
class TrainResult:
    model: torch.nn.Module
    history: History
    steps_done: int
    stopped_reason: str = "completed"
    resumed_from: int = 0
    extra: dict = field(default_factory=dict)


def supervised(loss_fn: Callable, x: torch.Tensor | None = None, y: torch.Tensor | None = None) -> Objective:
    """Objective ``loss_fn(model(x), y)``: full batch when (x, y) are given, else from the batch."""
    def objective(model, batch):
        bx, by = (x, y) if batch is None else batch
        return loss_fn(model(bx), by)
    return objective


class MiniBatches:
    """Seeded mini-batches of (x, y): epoch ``e`` uses permutation ``seed + e``.

    Stateless in the step index, so a resumed run draws exactly the batches
    the uninterrupted run would have drawn.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int = 0, drop_last: bool = False):
        self.x, self.y, self.batch_size, self.seed = x, y, int(batch_size), seed
        n = len(x)
        self.per_epoch = n // self.batch_size if drop_last else math.ceil(n / self.batch_size)
        self._epoch, self._perm = -1, None

    def __call__(self, step: int):
        epoch, i = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 100003 + epoch)
            self._perm, self._epoch = torch.randperm(len(self.x), generator=g), epoch
        idx = self._perm[i * self.batch_size:(i + 1) * self.batch_size]
        return self.x[idx], self.y[idx]


def make_optimizer(name: str, params: Iterable, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
    name = name.lower()
    if name == "adam":
        params = list(params)
        # The fused CPU kernel does Adam's update in one pass instead of ~10 ops per tensor:
        # about a third of a small net's step time (benchmarks/RESULTS.md).
        fused = all(isinstance(p, torch.Tensor) and p.device.type == "cpu" and p.dtype in (torch.float32, torch.float64)
                    for p in params) or None
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=fused)
    if name in ("sgd", "gd"):
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; use adam, sgd or gd")


_ALLOCATOR_TUNED: set[str] = set()


def tune_allocator(large_buffers: bool = False) -> bool:
    """Keep freed memory in the process instead of returning it to the OS (glibc only; once).

    A step allocates and frees the same large activations over and over. glibc
    serves blocks above 128 KiB with mmap and trims the heap on free, so every
    step pays fresh page faults; a stacked ensemble's (M, N, width) activations
    are megabytes. Raising the mmap and trim thresholds cut the CPU time per
    step of 64 fp-1d networks by about a fifth (benchmarks/RESULTS.md).

    large_buffers: also send blocks above the mmap threshold's 32 MiB ceiling
    through the heap (M_MMAP_MAX=0) and bound the arenas (M_ARENA_MAX=2): conv
    nets on large images (the DIP at 512x512 has 134 MB activations) then stop
    page-faulting every iteration (1.4x per step measured), at the price of a
    higher peak. ``genlab restore`` asks for it. Called by :func:`train`;
    ``GENLAB_MALLOC=0`` leaves the allocator alone.
    """
    mode = "large" if large_buffers else "default"
    if os.environ.get("GENLAB_MALLOC", "1") == "0":
        return False
    if mode in _ALLOCATOR_TUNED or "large" in _ALLOCATOR_TUNED:
        return True
    _ALLOCATOR_TUNED.add(mode)
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD, M_MMAP_MAX, M_ARENA_MAX = -1, -2, -3, -4, -8
        ok = libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)          # glibc's maximum on 64-bit
        ok &= libc.mallopt(M_TRIM_THRESHOLD, 2 ** 31 - 1 if large_buffers else 1 << 30)
        ok &= libc.mallopt(M_TOP_PAD, 64 << 20)
        if large_buffers:
            ok &= libc.mallopt(M_MMAP_MAX, 0) & libc.mallopt(M_ARENA_MAX, 2)
        return bool(ok)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to tune
        return False


def progress_disabled(progress: bool | None) -> bool | None:
    """tqdm's ``disable`` for a ``progress`` setting: None means a bar on a TTY only.

    ``TQDM_DISABLE=1`` (set by ``genlab --quiet`` and by CI) is read here, at call
    time: tqdm itself reads it only once, at import, and an explicit ``disable``
    argument overrides it anyway.
    """
    if progress is not None:
        return not progress
    if os.environ.get("TQDM_DISABLE", "").lower() in ("1", "true", "yes", "on"):
        return True
    return None


@contextlib.contextmanager
def num_threads(n: int | None):
    """Set torch's intra-op threads for a workload, then restore them."""
    if not n:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def train(model: torch.nn.Module, objective: Objective, *, steps: int, optimizer: str | Callable = "adam",
          lr: float = 1e-3, momentum: float = 0.0, weight_decay: float = 0.0,
          lr_schedule: Callable[[int], float] | None = None, batches: Callable[[int], Any] | None = None,
          callbacks: Iterable[Callback] = (), run=None, phase: str = "train", checkpoint_every: int | None = None,
          on_diverge: str = "raise", loss_every: int = 1, threads: int | None = None,
          progress: bool | None = None, desc: str | None = None) -> TrainResult:
    """Train ``model`` for ``steps`` optimizer steps.

    optimizer: "adam", "sgd"/"gd" (plain, full batch), or ``params -> torch.optim.Optimizer``.
    lr_schedule: multiplier of ``lr`` as a function of the step (stateless, so resumable).
    batches: ``step -> batch`` passed to the objective (None: full batch, the objective holds the data).
    run, phase: with a run, checkpoints go to ``run/checkpoints/<phase>.pt`` every
        ``checkpoint_every`` steps and at the end; a finished phase is not trained again.
    on_diverge: "raise" a DivergedError, or "stop" and return with the reason.
    """
    tune_allocator()
    callbacks = list(callbacks)
    opt = optimizer(model.parameters()) if callable(optimizer) else make_optimizer(
        optimizer, model.parameters(), lr, momentum, weight_decay)
    base_lrs = [g["lr"] for g in opt.param_groups]
    history = History()
    start, reason = 0, None
    if run is not None:
        ck = run.load_checkpoint(phase)
        if ck is not None:
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
            history.load_state_dict(ck["history"])
            for cb, s in zip(callbacks, ck["callbacks"]):
                cb.load_state_dict(s)
            torch.set_rng_state(ck["torch_rng"])
            np.random.set_state(ck["numpy_rng"])
            start, reason = ck["step"], ck.get("stopped_reason")
            if ck.get("diverged") and on_diverge == "raise":
                # The same config diverges again at the same step: say so instead of carrying on.
                raise DivergedError(reason)
    resumed_from = start
    if checkpoint_every is None:
        checkpoint_every = max(1, steps // 10)

    def save(step, stopped=None, diverged=False):
        if run is None:
            return
        # Results first, checkpoint second: a kill in between resumes from the older
        # checkpoint and re-logs the same rows (Run.log replaces a row with the same
        # step, name and key), so nothing logged by callbacks is lost or doubled.
        run.flush()
        run.save_checkpoint(phase, {"diverged": diverged,
            "step": step, "model": model.state_dict(), "optimizer": opt.state_dict(),
            "history": history.state_dict(), "callbacks": [cb.state_dict() for cb in callbacks],
            "torch_rng": torch.get_rng_state(), "numpy_rng": np.random.get_state(), "stopped_reason": stopped})

    def call_callbacks(state):
        for cb in callbacks:
            if state.step % cb.every == 0 and (state.step > 0 or cb.at_start):
                r = cb(state)
                if r:
                    return r
        return None

    if reason is not None:  # the phase finished before; nothing to train
        _finish(model, callbacks)
        return TrainResult(model, history, start, reason, resumed_from)

    with num_threads(threads):
        model.train()
        if start == 0:
            r = call_callbacks(State(0, math.nan, model, {}, history, opt))
            if r:
                save(0, r)
                return TrainResult(model, history, 0, r, 0)
        bar = tqdm(total=steps, initial=start, desc=desc or phase, disable=progress_disabled(progress),
                   leave=False, dynamic_ncols=True, mininterval=0.5)
        step = start
        try:
            while step < steps:
                if lr_schedule is not None:
                    m = lr_schedule(step)
                    for g, b in zip(opt.param_groups, base_lrs):
                        g["lr"] = b * m
                batch = batches(step) if batches is not None else None
                opt.zero_grad(set_to_none=True)
                out = objective(model, batch)
                loss, extras = out if isinstance(out, tuple) else (out, {})
                lv = float(loss.detach())
                if not math.isfinite(lv):
                    msg = f"diverged: loss became {lv} at step {step} of phase '{phase}'; lower the learning rate or the init scale"
                    save(step, msg, diverged=True)
                    if on_diverge == "stop":
                        bar.close()
                        return TrainResult(model, history, step, msg, resumed_from)
                    raise DivergedError(msg)
                loss.backward()
                opt.step()
                step += 1
                if step % loss_every == 0:
                    history.record("loss", step, lv)
                bar.update(1)
                if step % 20 == 0:
                    bar.set_postfix(loss=f"{lv:.3g}", refresh=False)
                r = call_callbacks(State(step, lv, model, extras, history, opt))
                if r:
                    reason = r
                    break
                if step % checkpoint_every == 0 and step < steps:
                    save(step)
        finally:
            bar.close()
    reason = reason or "completed"
    save(step, reason)
    _finish(model, callbacks)
    return TrainResult(model, history, step, reason, resumed_from)


def _finish(model, callbacks):
    for cb in callbacks:
        if isinstance(cb, EarlyStopping) and cb.restore_best and cb.best_state is not None:
            model.load_state_dict(cb.best_state)


__all__ = ["train", "supervised", "MiniBatches", "TrainResult", "make_optimizer", "num_threads", "tune_allocator",
           "Callback", "Every", "EarlyStopping", "History", "State"]
