"""``genlab restore``'s typed config: the same config system as ``genlab run`` (:mod:`genlab.config`).

Options left unset (None) take the task's defaults (:data:`genlab.dip.presets.TASKS`) and the network's
fit settings (:data:`genlab.dip.presets.PRESETS`) in :meth:`RestoreConfig.resolved`. Range errors come
from :meth:`RestoreConfig.validate`: one line naming the option, the value and a valid one.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from genlab.config import Config, check, param
from genlab.dip.fit import FitSettings
from genlab.dip.presets import PRESETS, TASKS


@dataclass(frozen=True)
class RestoreConfig(Config):
    """What ``genlab restore`` computes (the files it reads and writes stay on the command line)."""

    task: Literal["denoise", "jpeg", "inpaint", "sr"] = "denoise"
    factor: int = param(4, ge=1, le=16, why='the output has factor**2 times the pixels')                      # super-resolution factor
    max_iters: int | None = param(None, ge=1, le=10**6)         # most iterations (None: the paper's per task)
    time_budget: float | None = param(None, gt=0, le=10**7)     # seconds
    stop: Literal["heldout", "wmv", "none"] | None = None  # None: the task's (DEFAULT_STOP; none for sr)
    patience: int | None = param(None, ge=1, le=10**6)          # iterations without improvement (None: a tenth of them, at least 100)
    net: str | None = None               # a PRESETS name (None: the task's)
    ensemble: int | None = param(None, ge=1, le=16)          # networks averaged (None: the task's)
    tile: int | None = param(None, ge=64, le=4096, allow=(0,))              # window side, 0: none (None: the task's)
    reg_noise: float | None = param(None, ge=0, lt=1)       # input jitter std (None: the network's preset)
    tv: float | None = param(None, ge=0, lt=1)              # total-variation weight (None: the preset's, 0)
    lr: float | None = param(None, gt=0, lt=1)              # Adam's learning rate (None: the network's preset)
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    threads: int | None = param(None, ge=1, le=256, why='intra-op threads')           # intra-op threads (None: the idle cores)
    raw: bool = False                    # inpaint: the network's output everywhere, not only in the holes

    @classmethod
    def show(cls, key: str, value) -> str:
        """Errors name the command-line option: ``--time-budget nan``."""
        from genlab.params import show_value
        return f"--{key.replace('_', '-')} {show_value(value)}"

    def validate(self) -> None:
        super().validate()
        check(self.max_iters is None or self.max_iters >= 1, f"--max-iters {self.max_iters}: give at least 1")
        check(self.time_budget is None or self.time_budget > 0,
              f"--time-budget {self.time_budget}: give a positive number of seconds")
        check(self.reg_noise is None or 0 <= self.reg_noise < 1,
              f"--reg-noise {self.reg_noise}: give a std in [0, 1), e.g. 0.033 (the paper's 1/30)")
        check(self.tv is None or 0 <= self.tv < 1,
              f"--tv {self.tv}: give a weight in [0, 1), e.g. 0.02 (0, the default: the paper's loss)")
        check(self.lr is None or 0 < self.lr < 1, f"--lr {self.lr}: give a learning rate in (0, 1), e.g. 0.01 (the paper's)")
        check(self.ensemble is None or 1 <= self.ensemble <= 16,
              f"--ensemble {self.ensemble}: give a number of networks from 1 to 16, e.g. 2")
        check(self.tile is None or self.tile == 0 or self.tile >= 64,
              f"--tile {self.tile}: give a window side of at least 64 pixels, e.g. 256, or 0 for none")
        check(self.task != "sr" or self.factor >= 2, f"--factor {self.factor}: super-resolution needs a factor >= 2")
        check(self.net is None or self.net in PRESETS, f"--net {self.net}: choose one of {', '.join(PRESETS)}")

    def resolved(self) -> RestoreConfig:
        """Every None filled in: the task's defaults, then the network's fit settings."""
        t = TASKS[self.task]
        net = self.net or t.net
        fit = PRESETS[net].fit
        steps = self.max_iters or t.steps
        return replace(self, net=net, max_iters=steps, patience=self.patience or max(100, steps // 10),
                       stop=self.stop or t.stop,
                       ensemble=t.ensemble if self.ensemble is None else self.ensemble,
                       tile=t.tile if self.tile is None else self.tile,
                       reg_noise=fit.reg_noise_std if self.reg_noise is None else self.reg_noise,
                       tv=fit.tv_weight if self.tv is None else self.tv, lr=fit.lr if self.lr is None else self.lr)

    def fit_settings(self) -> FitSettings:
        """The maths of the fit (call on a :meth:`resolved` config)."""
        net, members, steps, lr, reg_noise, tv = self.net, self.ensemble, self.max_iters, self.lr, self.reg_noise, self.tv
        assert (net is not None and members is not None and steps is not None and lr is not None
                and reg_noise is not None and tv is not None), "fit_settings needs a resolved() config"
        fit = PRESETS[net].fit
        return replace(fit, net=replace(fit.net, members=members), steps=steps, lr=lr,
                       reg_noise_std=reg_noise, tv_weight=tv)


__all__ = ["RestoreConfig"]
