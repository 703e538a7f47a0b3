"""Shared parts of the memorization family (Zhang et al. 2017): config fields, data, and fitting to 100 %.

Every experiment of the family trains through :func:`genlab.train.train` with
SGD (momentum 0.9), mini-batches of 128 and the paper's learning-rate decay
(times ``lr_decay`` per epoch), no weight decay, dropout or augmentation.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from genlab.config import Config, check
from genlab.data import corruptions
from genlab.data.preprocess import prepare
from genlab.data.vision import DATASETS, load_dataset
from genlab.models.vision import ARCHS, build
from genlab.probes.fit import FitMonitor
from genlab.train import MiniBatches, supervised, train

PAPER = "Zhang et al., Understanding deep learning requires rethinking generalization, ICLR 2017"


@dataclass(frozen=True)
class MemConfig(Config):
    dataset: str = "mnist"
    data_dir: str = ""         # "" -> $GENLAB_DATA, else the user cache, else ../shared/data
    n_train: int = 1000        # first n training images (0: all)
    n_test: int = 1000
    width: float = 1.0         # multiplies every hidden size (1.0: the paper's)
    lr: float = 0.01
    lr_decay: float = 0.95     # per epoch of decay_images images seen
    decay_images: int = 50000  # the paper's CIFAR-10 epoch, so a subset gets the paper's schedule per step
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 128
    max_epochs: int = 200
    threads: int = 1

    def validate(self):
        super().validate()
        check(self.dataset in DATASETS, f"unknown dataset {self.dataset!r}; choose one of: {', '.join(DATASETS)}")
        check(self.n_train >= 0 and self.n_test >= 0, "n_train and n_test must be >= 0 (0: all)")
        check(self.lr > 0 and 0 < self.lr_decay <= 1, "lr must be > 0 and lr_decay in (0, 1]")
        check(0 <= self.momentum < 1 and self.weight_decay >= 0, "momentum must be in [0, 1), weight_decay >= 0")
        check(self.batch_size > 0 and self.max_epochs > 0 and self.width > 0 and self.decay_images > 0,
              "batch_size, max_epochs, width, decay_images must be > 0")


def check_archs(archs) -> None:
    bad = [a for a in archs if a not in ARCHS]
    check(not bad, f"unknown arch {bad[0] if bad else ''!r}; choose from: {', '.join(ARCHS)}")


def check_levels(levels) -> None:
    bad = [p for p in levels if not 0.0 <= p <= 1.0]
    check(not bad, f"corruption level {bad[0] if bad else ''} is outside [0, 1]; use levels such as 0,0.2,0.4")


def load(cfg: MemConfig):
    """The data set, cut to ``n_train`` / ``n_test`` images (the first ones: deterministic)."""
    ds = load_dataset(cfg.dataset, cfg.data_dir or None)
    cut = lambda a, n: a[:n] if n else a  # noqa: E731
    return dataclasses.replace(ds, x_train=cut(ds.x_train, cfg.n_train), y_train=cut(ds.y_train, cfg.n_train),
                               x_test=cut(ds.x_test, cfg.n_test), y_test=cut(ds.y_test, cfg.n_test))


def corrupted(ds, kind: str = "true", p: float = 0.0, seed: int = 0):
    """(x, y, x_test, y_test) tensors: corruption ``kind`` (or labels corrupted with probability p), preprocessed."""
    x, y, xt = ds.x_train, ds.y_train, ds.x_test
    if p > 0:
        y = corruptions.corrupt_labels(y, p, ds.n_classes, seed)[0]
    x, y, xt = corruptions.apply(kind, x, y, ds.n_classes, seed, xt)
    x, xt = prepare(dataclasses.replace(ds, x_train=x, x_test=xt))
    return torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(xt), torch.from_numpy(ds.y_test)


def fit(run, phase: str, cfg: MemConfig, arch: str, data, seed: int) -> dict:
    """Train ``arch`` on ``data`` = (x, y, x_test, y_test) until 100 % training accuracy or ``max_epochs``."""
    x, y, xt, yt = data
    model = build(arch, tuple(x.shape[1:]), 10, cfg.width, seed)
    batches = MiniBatches(x, y, cfg.batch_size, seed=seed)
    per_epoch = batches.per_epoch
    mon = FitMonitor(x, y, per_epoch, xt, yt)
    decay, every = cfg.lr_decay, max(1, cfg.decay_images // cfg.batch_size)  # steps per decay
    res = train(model, supervised(F.cross_entropy), steps=cfg.max_epochs * per_epoch, optimizer="sgd", lr=cfg.lr,
                momentum=cfg.momentum, weight_decay=cfg.weight_decay, lr_schedule=lambda s: decay ** (s // every),
                batches=batches, callbacks=[mon], run=run, phase=phase, threads=cfg.threads,
                checkpoint_every=max(per_epoch * 50, 1), desc=phase)
    h = res.history
    nan = float("nan")
    return {"loss": h.values("loss"), "loss_steps": h.steps("loss"), "acc": h.values("train_acc"),
            "acc_steps": h.steps("train_acc"), "test_err": h.values("test_err"), "per_epoch": per_epoch,
            "epoch_100": nan if mon.epoch_100_ is None else float(mon.epoch_100_),
            "epoch_999": nan if mon.epoch_999_ is None else float(mon.epoch_999_),
            "final_acc": float(h.values("train_acc")[-1]) if "train_acc" in h else nan,
            "final_test_err": float(h.values("test_err")[-1]) if "test_err" in h else nan}

