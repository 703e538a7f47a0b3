"""Callbacks: how probes plug into the one training loop (genlab.train.train).

A callback is called every ``every`` optimizer steps with the :class:`State`;
it records into the run's :class:`History` and may stop training by returning
a reason. ``Every`` wraps any ``fn(model, state)`` probe; ``EarlyStopping``
watches a metric. Callbacks with state save and restore it, so a resumed run
continues exactly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np
import torch


class History:
    """Named series recorded during training: ``values(name)`` stacks them along a first axis, the step.

    ``axes(name)`` names the axes of one recorded value (after the step), as the
    probe that recorded it declared them; the run store keeps them with the series.
    """

    def __init__(self):
        self._steps: dict[str, list[int]] = {}
        self._values: dict[str, list[Any]] = {}
        self._axes: dict[str, tuple[str, ...]] = {}

    def record(self, name: str, step: int, value, axes: tuple[str, ...] | None = None) -> None:
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        self._steps.setdefault(name, []).append(int(step))
        self._values.setdefault(name, []).append(value)
        if axes is not None:
            self._axes[name] = tuple(axes)

    def axes(self, name: str) -> tuple[str, ...]:
        return self._axes.get(name, ())

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def names(self) -> list[str]:
        return list(self._values)

    def steps(self, name: str) -> np.ndarray:
        return np.asarray(self._steps.get(name, []), dtype=np.int64)

    def values(self, name: str) -> np.ndarray:
        return np.asarray(self._values.get(name, []))

    def state_dict(self) -> dict:
        return {"steps": self._steps, "values": self._values, "axes": self._axes}

    def load_state_dict(self, d: dict) -> None:
        self._steps, self._values, self._axes = d["steps"], d["values"], d.get("axes", {})


@dataclass
class State:
    """What a callback sees after each optimizer step."""

    step: int            # number of optimizer steps taken so far (1-based after the first)
    loss: float
    model: torch.nn.Module
    extras: dict
    history: History
    optimizer: torch.optim.Optimizer


class Callback:
    """Base callback: called every ``every`` steps (and at step 0 if ``at_start``).

    Return a string from :meth:`__call__` to stop training with that reason.
    :meth:`on_end` runs once when training ends (completed, stopped, or a
    finished phase found on resume), for work such as restoring the best weights.
    Callbacks that keep state override ``state_dict``/``load_state_dict`` so a
    resumed run continues exactly.
    """

    every: int = 1
    at_start: bool = True

    def __call__(self, state: State) -> str | None:  # pragma: no cover - interface
        return None

    def on_end(self, model: torch.nn.Module) -> None:
        """Called once after the last step."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, d: dict) -> None:
        pass


class Every(Callback):
    """Record ``fn(model, state)`` into the history under ``name`` every ``every`` steps.

    ``fn`` may return a number, an array or a dict of them (each recorded as
    ``name/key``). The model is in eval mode and gradients are off inside.
    ``fn`` is usually a probe (:mod:`genlab.probes`): ``name`` and ``axes``
    default to the probe's own, so its series reach the run under its name with
    named axes (the step axis comes first and is implied).
    """

    def __init__(self, every: int, fn: Callable, name: str | None = None, at_start: bool = True,
                 axes: tuple[str, ...] | None = None, at: Iterable[int] | None = None):
        self.every, self.fn, self.at_start = max(1, int(every)), fn, at_start
        self.at = None if at is None else frozenset(int(a) for a in at)  # only these steps, when given
        self.name = str(name or getattr(fn, "name", None) or getattr(fn, "__name__", "probe"))
        self.axes = tuple(axes) if axes is not None else tuple(getattr(fn, "axes", ()))

    def __call__(self, state: State):
        if self.at is not None and state.step not in self.at:
            return None
        was = state.model.training
        state.model.eval()
        with torch.no_grad():
            out = self.fn(state.model, state)
        state.model.train(was)
        if isinstance(out, dict):
            for k, v in out.items():
                state.history.record(f"{self.name}/{k}", state.step, v, self.axes)
        else:
            state.history.record(self.name, state.step, out, self.axes)
        return None


class EarlyStopping(Callback):
    """Stop when ``metric(model, state)`` has not improved for ``patience`` checks.

    Records the metric as ``name`` in the history; ``best_step`` and
    ``best_value`` hold the best point; with ``restore_best`` the model's
    weights at that point are put back when training ends.
    """

    def __init__(self, metric: Callable, every: int = 10, patience: int = 10, min_delta: float = 0.0,
                 name: str = "val_loss", restore_best: bool = False):
        self.metric, self.every, self.patience, self.min_delta = metric, max(1, every), patience, min_delta
        self.name, self.restore_best = name, restore_best
        self.best_value, self.best_step, self.bad = math.inf, 0, 0
        self.best_state: dict[str, torch.Tensor] | None = None
        self.at_start = True

    def __call__(self, state: State):
        was = state.model.training
        state.model.eval()
        with torch.no_grad():
            v = float(self.metric(state.model, state))
        state.model.train(was)
        state.history.record(self.name, state.step, v)
        if v < self.best_value - self.min_delta:
            self.best_value, self.best_step, self.bad = v, state.step, 0
            if self.restore_best:
                self.best_state = {k: t.detach().clone() for k, t in state.model.state_dict().items()}
        else:
            self.bad += 1
            if self.bad >= self.patience:
                return (f"early stopping: {self.name} did not improve for {self.patience} checks "
                        f"(best {self.best_value:.4g} at step {self.best_step})")
        return None

    def on_end(self, model: torch.nn.Module) -> None:
        if self.restore_best and self.best_state is not None:
            model.load_state_dict(self.best_state)

    def state_dict(self):
        return {"best_value": self.best_value, "best_step": self.best_step, "bad": self.bad, "best_state": self.best_state}

    def load_state_dict(self, d):
        self.best_value, self.best_step, self.bad, self.best_state = d["best_value"], d["best_step"], d["bad"], d["best_state"]
