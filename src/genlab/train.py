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

import math
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import torch
from tqdm.auto import tqdm

from genlab.callbacks import Callback, EarlyStopping, Every, History, State
from genlab.errors import DivergedError
from genlab.runs.check import DamagedRunError
from genlab.runtime import num_threads, progress_disabled, resolve_device, tune_allocator

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
        self._epoch, self._perm = -1, torch.empty(0, dtype=torch.long, device=x.device)

    def __call__(self, step: int):
        epoch, i = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 100003 + epoch)
            # drawn on the CPU (the same batches on every device), then moved to the data's device
            perm = torch.randperm(len(self.x), generator=g, device="cpu")
            self._perm, self._epoch = perm.to(self.x.device), epoch
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


def train(model: torch.nn.Module, objective: Objective, *, steps: int, optimizer: str | Callable = "adam",
          lr: float = 1e-3, momentum: float = 0.0, weight_decay: float = 0.0,
          lr_schedule: Callable[[int], float] | None = None, batches: Callable[[int], Any] | None = None,
          callbacks: Iterable[Callback] = (), run=None, phase: str = "train", checkpoint_every: int | None = None,
          on_diverge: str = "raise", loss_every: int = 1, threads: int | None = None,
          progress: bool | None = None, desc: str | None = None, record: bool = True,
          device: str | torch.device | None = None) -> TrainResult:
    """Train ``model`` for ``steps`` optimizer steps.

    optimizer: "adam", "sgd"/"gd" (plain, full batch), or ``params -> torch.optim.Optimizer``.
    lr_schedule: multiplier of ``lr`` as a function of the step (stateless, so resumable).
    batches: ``step -> batch`` passed to the objective (None: full batch, the objective holds the data).
    run, phase: with a run, checkpoints go to ``run/checkpoints/<phase>.pt`` every
        ``checkpoint_every`` steps and at the end; a finished phase is not trained again.
    on_diverge: "raise" a DivergedError, or "stop" and return with the reason.
    record: with a run, every series in the history (the loss and what each probe recorded) is written
        into the run as ``<phase>/<name>`` when the phase ends, with the probe's named axes; read it back
        with ``run.series("<phase>/<name>")``.
    device: move the model there first ("cpu", "cuda", ...; :func:`genlab.runtime.resolve_device`); None
        leaves it where it is. The loop creates no tensors of its own: the objective's data and the
        batches must live on the model's device (build them with ``device=runtime.model_device(model)``).
    """
    if device is not None:
        model = model.to(resolve_device(device))
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
            try:
                model.load_state_dict(ck["model"])
                opt.load_state_dict(ck["optimizer"])
                history.load_state_dict(ck["history"])
                for cb, s in zip(callbacks, ck["callbacks"]):
                    cb.load_state_dict(s)
                torch.set_rng_state(ck["torch_rng"])
                cuda_rng = ck.get("cuda_rng")  # a run resumed on another device (or none) keeps the CPU's only
                if cuda_rng is not None and torch.cuda.is_available() and len(cuda_rng) == torch.cuda.device_count():
                    torch.cuda.set_rng_state_all(cuda_rng)
                np.random.set_state(ck["numpy_rng"])
                start, reason = int(ck["step"]), ck.get("stopped_reason")
            except (KeyError, RuntimeError, ValueError, TypeError, AttributeError) as e:
                p = run.checkpoint_path(phase)
                raise DamagedRunError(f"{p} is damaged (does not fit this phase: {type(e).__name__}); delete it "
                                      f"to train that phase again, or delete {run.path} and run again") from None
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
            "torch_rng": torch.get_rng_state(), "numpy_rng": np.random.get_state(), "stopped_reason": stopped,
            # on CUDA the per-step noise (DIP) comes from the CUDA generators: a resume there is exact too
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None})

    def call_callbacks(state):
        for cb in callbacks:
            if state.step % cb.every == 0 and (state.step > 0 or cb.at_start):
                r = cb(state)
                if r:
                    return r
        return None

    if reason is not None:  # the phase finished before; nothing to train
        _finish(model, callbacks, history, run, phase, record)
        return TrainResult(model, history, start, reason, resumed_from)

    with num_threads(threads):
        model.train()
        if start == 0:
            r = call_callbacks(State(0, math.nan, model, {}, history, opt))
            if r:
                save(0, r)
                return TrainResult(model, history, 0, r, 0)
        quiet = progress_disabled(progress) is True
        if run is not None and not quiet:  # which phase runs, one line each, also where no bar is drawn (a log)
            print(f"genlab: phase {phase}: {'resuming at step ' + str(start) + ' of ' if start else ''}{steps} steps",
                  file=sys.stderr, flush=True)
        label = phase if desc in (None, phase) else f"{phase} ({desc})"  # the bar names the phase it counts
        bar = tqdm(total=steps, initial=start, desc=label, disable=progress_disabled(progress),
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
                        _record(history, run, phase, record)
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
    _finish(model, callbacks, history, run, phase, record)
    return TrainResult(model, history, step, reason, resumed_from)


def _record(history, run, phase, record):
    """Every recorded series goes into the run as ``<phase>/<name>``, with its named axes."""
    if run is not None and record:
        for name in history.names():
            run.record(f"{phase}/{name}", history.steps(name), history.values(name), history.axes(name))


def _finish(model, callbacks, history, run, phase, record):
    """End of a phase: the series into the run, then each callback's end hook."""
    _record(history, run, phase, record)
    for cb in callbacks:
        cb.on_end(model)


__all__ = ["train", "supervised", "MiniBatches", "TrainResult", "make_optimizer",
           "Callback", "Every", "EarlyStopping", "History", "State"]
