"""loss-minima-spread: the final losses of many trained nets bunch up toward the best as width grows.

Paper: Choromanska, Henaff, Mathieu, Ben Arous, LeCun, "The Loss Surfaces of
Multilayer Networks" (AISTATS 2015), Sec. 6 and Fig. 2 (one-hidden-layer ReLU
nets of 25 to 500 units on MNIST downsampled to 10x10, many random inits each).
Command: ``genlab run loss-minima-spread --scale quick``.
Claim: the standard deviation and the interquartile range of the final test
losses shrink from the smallest to the largest width (ratio largest / smallest
below ``ratio_threshold``, 0.5), and the median moves toward the lowest loss seen
(gap ratio below the same 0.5).

Each width's nets are one :class:`~genlab.models.stacked.StackedMLP` trained with Adam
on mini-batches and a cosine-decayed step size, so each net settles into its
minimum. Loss: cross-entropy (mean over examples); inputs: 28x28 images
area-averaged to 10x10, standardized with the training mean and std. The run
also draws the landscape probe on these nets: a 2-D filter-normalized slice
around one net of the largest width and the interpolation between two nets of
the smallest and of the largest width (Li et al. 2018; Goodfellow et al. 2015).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from genlab import runtime
from genlab.config import Config, param
from genlab.data.preprocess import area_downsample
from genlab.data.vision import load_dataset
from genlab.experiments.base import claim, experiment
from genlab.losses import stacked_ce
from genlab.models.stacked import StackedMLP
from genlab.plot import plt
from genlab.probes.landscape import Landscape, plot_contour, plot_slice
from genlab.train import MiniBatches, train

SOURCE = "Choromanska et al. 2015, Fig. 2"


@dataclass(frozen=True)
class SpreadConfig(Config):
    """Defaults: the paper scale (100 nets per width, all 60,000 MNIST training images)."""

    widths: tuple[int, ...] = param((25, 50, 100, 250, 500), ge=1, le=8192, min_len=2, max_len=16)
    n_nets: int = param(100, ge=4, le=1000)
    n_train: int = param(60000, ge=1, le=60000)
    n_test: int = param(10000, ge=1, le=10000)
    side: int = param(10, ge=2, le=28)
    activation: str = param("relu", choices=('relu', 'tanh', 'sigmoid', 'softplus'))
    steps: int = param(6000, ge=1, le=10**7)
    batch_size: int = param(500, ge=1, le=60000)
    lr: float = param(0.01, gt=0, le=10)
    grid: int = param(41, ge=3, le=401)              # landscape points per axis
    span: float = param(1.0, gt=0, le=100)           # landscape α, β in [-span, span]
    n_landscape: int = param(2000, ge=1, le=60000)     # training examples the landscape is evaluated on
    landscape_workers: int = param(2, ge=1, le=256)
    data_dir: str = param("", path=True)
    threads: int = param(1, ge=1, le=256, why='intra-op threads')
    # the claims' threshold: largest-width / smallest-width ratio of spread and of the median's gap
    ratio_threshold: float = param(0.5, gt=0, le=10)


def _data(cfg: SpreadConfig):
    """Pooled and standardized on the CPU (the same numbers on every device), then moved to the current device."""
    ds = load_dataset("mnist", cfg.data_dir or None)
    xtr, xte = (area_downsample(a, cfg.side, device="cpu") for a in (ds.x_train[:cfg.n_train], ds.x_test[:cfg.n_test]))
    mu, sd = xtr.mean(), xtr.std()
    dev = runtime.device()
    return (((xtr - mu) / sd).to(dev), torch.as_tensor(ds.y_train[:cfg.n_train], device=dev),
            ((xte - mu) / sd).to(dev), torch.as_tensor(ds.y_test[:cfg.n_test], device=dev))


def run(cfg: SpreadConfig, run):
    # All of it at cfg.threads: the data's standardization and the final losses are float
    # reductions whose rounding depends on the thread count, and the claims compare 4th digits.
    with runtime.num_threads(cfg.threads):
        _train_and_probe(cfg, run)


def _train_and_probe(cfg: SpreadConfig, run):
    xtr, ytr, xte, yte = _data(cfg)
    d_in = cfg.side * cfg.side
    train_l, test_l, kept = [], [], {}
    for w in cfg.widths:
        model = StackedMLP(cfg.n_nets, (d_in, w, 10), cfg.activation,
                           seeds=[cfg.seed * 100003 + w * 1000 + k for k in range(cfg.n_nets)]).to(xtr.device)
        train(model, lambda m, b: stacked_ce(m(b[0]), b[1]).sum(), steps=cfg.steps, lr=cfg.lr,
              lr_schedule=lambda s: 0.5 * (1 + math.cos(math.pi * s / cfg.steps)),
              batches=MiniBatches(xtr, ytr, min(cfg.batch_size, len(xtr)), seed=cfg.seed),
              run=run, phase=f"width{w}", threads=cfg.threads, desc=f"width {w}")
        with torch.no_grad():
            train_l.append(stacked_ce(model(xtr), ytr).cpu().numpy())
            test_l.append(stacked_ce(model(xte), yte).cpu().numpy())
        if w in (cfg.widths[0], cfg.widths[-1]):
            kept[w] = (model.member(0), model.member(1))
    run.save_arrays(widths=np.asarray(cfg.widths), train_losses=np.stack(train_l), test_losses=np.stack(test_l))
    # The probe on the trained nets: loss on (part of) the training set, as Li et al. plot it.
    ls = Landscape(F.cross_entropy, (xtr[:cfg.n_landscape], ytr[:cfg.n_landscape]), seed=cfg.seed,
                   workers=cfg.landscape_workers, threads=cfg.threads)
    big, small = kept[cfg.widths[-1]], kept[cfg.widths[0]]
    grid = np.linspace(-cfg.span, cfg.span, cfg.grid)
    ls.slice_2d(big[0], grid)
    run.save_arrays(slice_alphas=ls.alphas_, slice_betas=ls.betas_, slice_losses=ls.losses_)
    alphas = np.linspace(-0.25, 1.25, 31)
    run.save_arrays(interp_alphas=alphas, interp_small=ls.interpolate(*small, alphas).losses_,
                    interp_big=ls.interpolate(*big, alphas).losses_)
    for w, te in zip(cfg.widths, test_l):
        run.log("test_loss_std", float(np.std(te)), key=f"w{w}")
        run.log("test_loss_median", float(np.median(te)), key=f"w{w}")


def _stats(a):
    te = a["test_losses"]
    q1, med, q3 = np.percentile(te, [25, 50, 75], axis=1)
    return te.std(axis=1), q3 - q1, med, te.min()


def figures(run, cfg: SpreadConfig):
    a = run.arrays
    widths, te = a["widths"], a["test_losses"]
    std, iqr, med, lo = _stats(a)
    fig, ax = plt.subplots(1, 2, figsize=(13, 4.2))
    bins = np.linspace(te.min(), np.percentile(te, 99.5), 40)
    for w, row in zip(widths, te):
        ax[0].hist(row, bins=bins, histtype="step", lw=1.5, label=f"{w} hidden units")
    ax[0].set_xlabel("final test loss (cross-entropy)")
    ax[0].set_ylabel("number of nets")
    ax[0].set_title(f"{te.shape[1]} nets per width, MNIST {cfg.side}x{cfg.side}")
    ax[0].legend()
    ax[1].boxplot(list(te), tick_labels=[str(w) for w in widths])
    for i, (s, q) in enumerate(zip(std, iqr), 1):
        ax[1].annotate(f"sd {s:.3f}\nIQR {q:.3f}", (i, np.max(te[i - 1])), ha="center", va="bottom", fontsize=8)
    ax[1].axhline(lo, color="C3", ls=":", label="lowest loss of all nets")
    ax[1].set_xlabel("hidden units")
    ax[1].set_ylabel("final test loss")
    ax[1].legend()
    run.save_figure(fig, "loss_spread")

    fig, ax = plt.subplots(1, 2, figsize=(12, 4.8))
    cs = plot_contour(ax[0], a["slice_alphas"], a["slice_betas"], a["slice_losses"],
                      title=f"training loss around a {widths[-1]}-unit net (filter-normalized)")
    ax[0].clabel(cs, fontsize=7, fmt="%.2g")
    plot_slice(ax[1], a["interp_alphas"], a["interp_small"], label=f"{widths[0]} units", log=True)
    plot_slice(ax[1], a["interp_alphas"], a["interp_big"], label=f"{widths[-1]} units", log=True)
    ax[1].set_title("linear interpolation between two trained nets (α=0, α=1)")
    ax[1].legend()
    run.save_figure(fig, "landscape")


def claims(run, cfg: SpreadConfig):
    a = run.arrays
    widths = a["widths"]
    std, iqr, med, lo = _stats(a)
    r_std, r_iqr = std[-1] / std[0], iqr[-1] / iqr[0]
    gap0, gap1 = med[0] - lo, med[-1] - lo
    r_gap = gap1 / gap0 if gap0 > 0 else float("nan")
    t = {"source": SOURCE, "below": cfg.ratio_threshold, "unit": "(largest / smallest width)"}
    per = ", ".join(f"{w}: {s:.4f}" for w, s in zip(widths, std))
    return [
        claim("spread-std", "the standard deviation of the final test losses shrinks as the width grows",
              float(r_std), note=f"std per width: {per}", **t),
        claim("spread-iqr", "the interquartile range of the final test losses shrinks as the width grows",
              float(r_iqr), note="IQR per width: " + ", ".join(f"{w}: {q:.4f}" for w, q in zip(widths, iqr)), **t),
        claim("toward-lowest", "the distribution moves toward the lowest loss: the median's gap to the lowest "
              "loss of all nets shrinks with width", float(r_gap),
              note=f"lowest loss {lo:.4f}; median gap {gap0:.4f} at width {widths[0]}, {gap1:.4f} at width {widths[-1]}",
              **t),
    ]


EXPERIMENT = experiment(
    id="loss-minima-spread", title="Spread of trained losses shrinks with width", source=SOURCE,
    claim="std and IQR of final test losses of many nets shrink with width; the median nears the best",
    config=SpreadConfig,
    quick={"widths": (10, 25, 100), "n_nets": 16, "n_train": 5000, "n_test": 2000, "steps": 300, "grid": 15,
           "landscape_workers": 1},
    # default: the paper's five widths, 20 nets each, on 10,000 images for 750 steps (2.5x quick's)
    default={"n_nets": 20, "n_train": 10000, "n_test": 2000, "steps": 750, "grid": 21, "landscape_workers": 1},
    times={"quick": "30 s", "default": "2.5 min", "paper": "4 h"},
    run=run, figures=figures, claims=claims)
