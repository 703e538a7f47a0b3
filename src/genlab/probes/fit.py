"""Time to fit: training accuracy once per epoch, and the first epochs at 99.9 % and 100 % (Zhang et al. 2017, Fig. 1b).

:class:`FitMonitor` is a callback for :func:`genlab.train.train` on any classifier
``model(x) -> logits``; it stops training at 100 % training accuracy, the paper's
"time to overfit". :func:`time_to_fit` reads the same time from a recorded
accuracy series (``run.series("<phase>/train_acc")``).
"""
from __future__ import annotations

import numpy as np
import torch

from genlab.callbacks import Callback, State
from genlab.runtime import model_device


def time_to_fit(steps, accuracy, level: float = 1.0) -> float:
    """The first step at which ``accuracy`` reaches ``level`` (NaN if it never does).

    steps: (T,) the steps at which accuracy (T,) was measured, in increasing order.
    Zhang et al. 2017, Fig. 1b: the time to fit is the first time training accuracy
    is 100 %; divide by the steps per epoch for epochs.
    """
    steps, hit = np.asarray(steps), np.asarray(accuracy) >= level
    return float(steps[hit.argmax()]) if hit.any() else float("nan")


class FitMonitor(Callback):
    """Once per ``per_epoch`` steps: accuracy on the whole training set (x, y); stop at 100 %.

    Records ``train_acc`` (and ``test_err`` when test data are given) in the
    history; ``epoch_999_`` and ``epoch_100_`` hold the first epochs at 99.9 % and 100 %.
    """

    at_start = False

    def __init__(self, x, y, per_epoch: int, x_test=None, y_test=None, eval_batch: int = 2048):
        self.x, self.y, self.x_test, self.y_test, self.eval_batch = x, y, x_test, y_test, eval_batch
        self.per_epoch = per_epoch
        self.epoch_999_: int | None = None
        self.epoch_100_: int | None = None

    @property
    def every(self) -> int:
        """The loop calls the monitor once per epoch (the setting ``per_epoch``)."""
        return self.per_epoch

    @every.setter
    def every(self, steps: int) -> None:
        self.per_epoch = steps

    def _acc(self, model, x, y) -> float:
        dev, eb = model_device(model), self.eval_batch  # data held on another device move a batch at a time
        hits = sum(int((model(x[i:i + eb].to(dev)).argmax(1) == y[i:i + eb].to(dev)).sum())
                   for i in range(0, len(x), eb))
        return hits / len(x)

    def __call__(self, state: State):
        was = state.model.training
        state.model.eval()
        with torch.no_grad():
            acc = self._acc(state.model, self.x, self.y)
            if self.x_test is not None:
                state.history.record("test_err", state.step, 1.0 - self._acc(state.model, self.x_test, self.y_test))
        state.model.train(was)
        state.history.record("train_acc", state.step, acc)
        epoch = state.step // self.per_epoch
        if acc >= 0.999 and self.epoch_999_ is None:
            self.epoch_999_ = epoch
        if acc >= 1.0:
            self.epoch_100_ = epoch
            return f"100 % training accuracy after {epoch} epochs"
        return None

    def state_dict(self):
        return {"e999": self.epoch_999_, "e100": self.epoch_100_}

    def load_state_dict(self, d):
        self.epoch_999_, self.epoch_100_ = d["e999"], d["e100"]
