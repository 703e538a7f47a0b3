"""The memorization recipe (Zhang et al. 2017): config fields, data, corruption, and fitting to 100 %.

Every experiment of the family trains through :func:`genlab.train.train` with
SGD (momentum 0.9), mini-batches of 128 and the paper's learning-rate decay
(times ``lr_decay`` per epoch), no weight decay, dropout or augmentation.
A fit in phase ``<phase>`` records ``<phase>/loss``, ``<phase>/train_acc`` and
``<phase>/test_err`` into the run (read them with ``run.series``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from genlab import runtime
from genlab.config import Config, param
from genlab.data import corruptions
from genlab.data.preprocess import per_image_whitening, prepare
from genlab.data.vision import DATASETS, load_dataset
from genlab.models.vision import ARCHS, build
from genlab.probes.fit import FitMonitor, time_to_fit
from genlab.train import MiniBatches, supervised, train

PAPER = "Zhang et al., Understanding deep learning requires rethinking generalization, ICLR 2017"
LEVELS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
# The paper's Table 1 (CIFAR-10, the rows without augmentation or weight decay), in %: training and test
# accuracy with true labels, and test accuracy after fitting random labels.
TABLE1 = {"mlp1x512": (100.0, 50.51, 10.61), "mlp3x512": (100.0, 52.39, 10.48),
          "alexnet": (100.0, 76.07, 9.86), "inception": (100.0, 85.75, 9.78)}
TABLE1_SETTING = ("CIFAR-10, 50,000 training images, Table 1: no augmentation, no weight decay, 28x28 centre crops, "
                  "per-image whitening")


@dataclass(frozen=True)
class DataConfig(Config):
    """Which images: the first ``n_train`` / ``n_test`` of a vision data set (0: all)."""

    dataset: str = param("mnist", choices=DATASETS)
    data_dir: str = param("", path=True)         # "" -> $GENLAB_DATA, else the user cache, else ../shared/data
    n_train: int = param(0, ge=1, le=10**6, allow=(0,))
    n_test: int = param(0, ge=1, le=10**6, allow=(0,))


@dataclass(frozen=True)
class MemConfig(DataConfig):
    """Defaults: the paper's training setup on all images of the data set."""

    # multiplies every hidden size (1.0: the paper's)
    width: float = param(1.0, gt=0, le=16, why='the hidden sizes times 16: an MLP 3x8192 on CIFAR-10')
    lr: float = param(0.01, gt=0, le=10)
    lr_decay: float = param(0.95, gt=0, le=1)     # per epoch of decay_images images seen
    decay_images: int = param(50000, ge=1, le=10**8)  # the paper's CIFAR-10 epoch, so a subset gets the paper's schedule per step
    momentum: float = param(0.9, ge=0, lt=1)
    weight_decay: float = param(0.0, ge=0, le=1)
    batch_size: int = param(128, ge=1, le=10**5)
    max_epochs: int = param(500, ge=1, le=10**5)
    threads: int = param(1, ge=1, le=256, why='intra-op threads')


@dataclass(frozen=True)
class CorruptionConfig(MemConfig):
    """A grid of label-corruption levels x architectures (Fig. 1b and 1c read the same grid).

    Defaults: the paper's four networks and six levels. The thresholds of both
    figures' claims are here, so either claim set can be read from either run.
    """

    archs: tuple[str, ...] = param(("mlp1x512", "mlp3x512", "alexnet", "inception"), choices=ARCHS, min_len=1, max_len=16)
    levels: tuple[float, ...] = param(LEVELS, ge=0, le=1, min_len=1, max_len=101)
    min_slowdown_rho: float = param(0.8, ge=0, le=1)       # Fig. 1b: Spearman(p, time to fit) for every arch
    min_slowdown_factor: float = param(1.5, gt=0, le=10**6)    # Fig. 1b: time(p = 1) / time(p = 0), exceeded by every arch
    min_error_rho: float = param(0.9, ge=0, le=1)          # Fig. 1c: Spearman(p, test error) for every arch
    chance_error: float = param(0.9, gt=0, lt=1)           # Fig. 1c: chance for 10 classes, reached at p = 1 ...
    chance_sds: float = param(3.0, gt=0, le=100)             # ... within this many binomial sd of the test set
    min_chance_margin: float = param(0.03, ge=0, le=1)     # ... and at least this
    # 0: the images as they are; else averaged down to side x side pixels, so that a CPU's few thousand images
    # outnumber the inputs as the paper's 50,000 outnumber CIFAR-10's 2,352 (mem_convergence.py's docstring)
    side: int = param(0, ge=2, le=64, allow=(0,))


def load(cfg: MemConfig):
    """The data set, cut to ``n_train`` / ``n_test`` images (the first ones: deterministic)."""
    ds = load_dataset(cfg.dataset, cfg.data_dir or None)
    cut = lambda a, n: a[:n] if n else a  # noqa: E731
    return dataclasses.replace(ds, x_train=cut(ds.x_train, cfg.n_train), y_train=cut(ds.y_train, cfg.n_train),
                               x_test=cut(ds.x_test, cfg.n_test), y_test=cut(ds.y_test, cfg.n_test))


FOLDS = 5  # the kernel claims' k of N: disjoint parts of the evaluation set (a kernel solve has no seed to vary)


def fold_errors(wrong, k: int = FOLDS) -> np.ndarray:
    """Error rate on each of ``k`` disjoint stride folds of the last axis (image i in fold i % k): shape (..., k)."""
    wrong = np.asarray(wrong, bool)
    return np.stack([wrong[..., f::k].mean(-1) for f in range(k)], -1)


def n_train_used(cfg: DataConfig) -> int:
    """The number of training images a run of ``cfg`` used: ``n_train``, or all on disk, whichever is fewer."""
    return len(load(cfg).y_train)


def pooled(x: np.ndarray, side: int) -> np.ndarray:
    """Images (N, C, H, W) area-averaged to ``side`` x ``side`` and whitened again, each on its own."""
    t = torch.from_numpy(np.ascontiguousarray(x)).to("cpu")  # pooled on the CPU: the same numbers on every device
    small = F.interpolate(t, size=(side, side), mode="area").cpu().numpy()
    return per_image_whitening(small).astype(np.float32)


def corrupted(ds, kind: str = "true", p: float = 0.0, seed: int = 0, side: int = 0):
    """(x, y, x_test, y_test) tensors on the current device: corruption ``kind`` (or labels corrupted with
    probability p, drawn with numpy: the same on every device), preprocessed; with ``side``, the images
    averaged down to side x side pixels (:func:`pooled`)."""
    x, y, xt = ds.x_train, ds.y_train, ds.x_test
    if p > 0:
        y = corruptions.corrupt_labels(y, p, ds.n_classes, seed)[0]
    x, y, xt = corruptions.apply(kind, x, y, ds.n_classes, seed, xt)
    x, xt = prepare(dataclasses.replace(ds, x_train=x, x_test=xt))
    if side and x.ndim == 4:
        x, xt = pooled(x, side), pooled(xt, side)
    dev = runtime.device()
    return tuple(torch.from_numpy(a).to(dev) for a in (x, y, xt, ds.y_test))


def fit(run, phase: str, cfg: MemConfig, arch: str, data, seed: int) -> dict:
    """Train ``arch`` on ``data`` = (x, y, x_test, y_test) until 100 % training accuracy or ``max_epochs``.

    Returns the epochs to 99.9 % and 100 % training accuracy (NaN if not reached), the final
    training accuracy and test error, and the steps per epoch.
    """
    x, y, xt, yt = data
    model = build(arch, tuple(x.shape[1:]), 10, cfg.width, seed).to(x.device)
    batches = MiniBatches(x, y, cfg.batch_size, seed=seed)
    per_epoch = batches.per_epoch
    mon = FitMonitor(x, y, per_epoch, xt, yt)
    decay, every = cfg.lr_decay, max(1, cfg.decay_images // cfg.batch_size)  # steps per decay
    train(model, supervised(F.cross_entropy), steps=cfg.max_epochs * per_epoch, optimizer="sgd", lr=cfg.lr,
          momentum=cfg.momentum, weight_decay=cfg.weight_decay, lr_schedule=lambda s: decay ** (s // every),
          batches=batches, callbacks=[mon], run=run, phase=phase, threads=cfg.threads,
          checkpoint_every=max(per_epoch * 50, 1), desc=phase)
    acc, err = run.series(f"{phase}/train_acc"), run.series(f"{phase}/test_err")
    return {"per_epoch": per_epoch,
            "epoch_100": time_to_fit(acc.steps, acc.values, 1.0) // per_epoch,
            "epoch_999": time_to_fit(acc.steps, acc.values, 0.999) // per_epoch,
            "final_acc": float(acc.values[-1]), "final_test_err": float(err.values[-1])}


def run_grid(cfg: CorruptionConfig, run):
    """Fit every architecture at every corruption level; log and save the grid (archs x levels)."""
    ds = load(cfg)
    shape = (len(cfg.archs), len(cfg.levels))
    epochs, steps, err, acc = (np.full(shape, np.nan) for _ in range(4))
    for i, arch in enumerate(cfg.archs):
        for j, p in enumerate(cfg.levels):
            r = fit(run, f"{arch}-p{p:g}", cfg, arch, corrupted(ds, "true", p, cfg.seed, cfg.side), cfg.seed)
            acc[i, j], err[i, j] = r["final_acc"], r["final_test_err"]
            epochs[i, j] = r["epoch_100"]
            steps[i, j] = r["epoch_100"] * r["per_epoch"]
            key = f"{arch}/p={p:g}"
            for name, v in (("epochs_to_fit", epochs[i, j]), ("steps_to_fit", steps[i, j]),
                            ("test_error", err[i, j]), ("final_acc", acc[i, j])):
                run.log(name, v, key=key)
    # Unkeyed means over the grid: for a one-point grid (a sweep's run) they are that point's values.
    for name, v in (("epochs_to_fit", epochs), ("steps_to_fit", steps), ("test_error", err), ("final_acc", acc)):
        run.log(name, float(np.mean(v)))
    run.save_arrays(levels=np.asarray(cfg.levels), epochs_to_fit=epochs, steps_to_fit=steps, test_error=err,
                    final_acc=acc)
