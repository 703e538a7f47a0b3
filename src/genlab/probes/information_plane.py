"""The information plane of a stack of networks: I(X;T) and I(T;Y) of every hidden layer over training.

Shwartz-Ziv & Tishby, "Opening the black box of deep neural networks via information"
(2017), Fig. 3, and Saxe et al., "On the information bottleneck theory of deep
learning" (ICLR 2018), Fig. 1: the plane is drawn at log-spaced epochs, under binning
and under the KDE upper bound (:mod:`genlab.probes.information`).

:class:`InformationPlane` is a training callback (``train(..., callbacks=[probe])``)
that measures at the given steps only; ``probe.measure(model)`` measures a model
directly. The model is a stack (:class:`genlab.models.StackedMLP`) called as
``model(x, return_hidden=True) -> (out (M, N, C), [T_1, ..., T_L] each (M, N, d_l))``.
Series recorded (under ``<name>/<key>``, the step axis first):

- ``I_xt_binning``, ``I_ty_binning``: (layer, model) bits, every model of the stack;
- ``I_xt_kde``, ``I_ty_kde``: (layer, model) bits, the first ``kde_models`` models
  (the KDE costs O(N^2) per model);
- ``bin_range``: (layer, bound), the [lo, hi] the bins spanned (the observed range
  when the binning estimator has ``range=None``);
- ``accuracy``: (model,), accuracy of ``out.argmax(-1)`` against y on all of x.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import torch

from genlab.callbacks import Callback, State
from genlab.probes.information import KDEMI, BinningMI
from genlab.runtime import follow

AXES = {"I_xt_binning": ("layer", "model"), "I_ty_binning": ("layer", "model"),
        "I_xt_kde": ("layer", "model"), "I_ty_kde": ("layer", "model"),
        "bin_range": ("layer", "bound"), "accuracy": ("model",)}


class InformationPlane(Callback):
    """I(X;T), I(T;Y) of every hidden layer of every model of a stack, at the steps ``at_steps``.

    x: (N, d) inputs (all of them: X is uniform over the rows); y: (N,) labels.
    binning, kde: the estimators, with their settings; kde_models: how many models of the
    stack (the first ones) the KDE bound is computed for.
    Results of the last measurement: ``results_`` (a dict of arrays, keys as in ``AXES``);
    the estimators' conventions: ``params_``.
    """

    name = "ib"
    every, at_start = 1, True

    def __init__(self, x: torch.Tensor, y: torch.Tensor, at_steps: Iterable[int], binning: BinningMI,
                 kde: KDEMI, kde_models: int):
        self.x, self.y, self.at_steps = x, y, frozenset(int(s) for s in at_steps)
        self.binning, self.kde, self.kde_models = binning, kde, int(kde_models)

    @property
    def params_(self) -> dict:
        return {"binning": self.binning.params_, "kde": self.kde.params_ | {"models": self.kde_models}}

    def measure(self, model: torch.nn.Module) -> dict[str, np.ndarray]:
        self.x, self.y = follow(self.x, model), follow(self.y, model)  # the estimators run on the model's device
        with torch.no_grad():
            out, hidden = model(self.x, return_hidden=True)
        b_rows, k_rows, ranges = [], [], []
        for h in hidden:
            self.binning.fit(h, self.y)
            b_rows.append([self.binning.I_xt_, self.binning.I_ty_])
            ranges.append(self.binning.range_)
            self.kde.fit(h[: self.kde_models], self.y)
            k_rows.append([self.kde.I_xt_, self.kde.I_ty_])
        b, k = np.array(b_rows), np.array(k_rows)    # (L, 2, M), (L, 2, K)
        self.results_ = {"I_xt_binning": b[:, 0], "I_ty_binning": b[:, 1], "I_xt_kde": k[:, 0], "I_ty_kde": k[:, 1],
                         "bin_range": np.array(ranges),
                         "accuracy": (out.argmax(-1) == self.y).float().mean(1).cpu().numpy()}
        return self.results_

    def __call__(self, state: State) -> None:
        if state.step in self.at_steps:
            for key, v in self.measure(state.model).items():
                state.history.record(f"{self.name}/{key}", state.step, v, AXES[key])
        return None
