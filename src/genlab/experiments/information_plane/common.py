"""The information-plane recipe: many seeds of a 12-10-7-5-4-3-2 net on the 12-bit task, probed at log-spaced epochs.

Data: all 4096 patterns of var_u.mat (Shwartz-Ziv & Tishby's 12-bit task); X is uniform
over them, so I(X;T) = H(T) under binning. The seeds train at once as one
:class:`~genlab.models.StackedMLP` with the original code's init (``init="normal_fan_in"``).
The estimators' settings are the config's fields (``n_bins``, ``bin_range``,
``kde_variance``, ``kde_samples``, ``kde_seeds``), stored with the run in config.json;
the range the bins actually spanned is the series ``train/ib/bin_range``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from genlab import runtime
from genlab.config import Config, check, param
from genlab.data.ib import load_var_u
from genlab.experiments.base import claim
from genlab.models.stacked import StackedMLP
from genlab.params import show_value as _csv
from genlab.plot import plt
from genlab.probes.information import KDEMI, BinningMI
from genlab.probes.information_plane import InformationPlane
from genlab.train import MiniBatches, train

SOURCE_TANH = "Shwartz-Ziv & Tishby 2017, Fig. 3"
SOURCE_RELU = "Saxe et al. 2018 (ICLR), Fig. 1"


@dataclass(frozen=True)
class IBConfig(Config):
    """Defaults: the paper scale (50 seeds, 8000 epochs, tanh, bins over [-1, 1])."""

    activation: str = param("tanh", choices=('tanh', 'relu'))
    widths: tuple[int, ...] = param((12, 10, 7, 5, 4, 3, 2), ge=1, le=1024, min_len=3, max_len=16)
    n_seeds: int = param(50, ge=1, le=1000)
    epochs: int = param(8000, ge=2, le=10**6)
    lr: float = param(4e-4, gt=0, le=10)
    batch_size: int = param(512, ge=1, le=4096, why='the data set has 4096 patterns')
    train_fraction: float = param(0.8, gt=0, le=1)
    n_snapshots: int = param(50, ge=3, le=1000)
    n_bins: int = param(30, ge=2, le=10**4)
    bin_range: tuple[float, float] | None = param((-1.0, 1.0), min_len=2, max_len=2)   # None: each snapshot's observed [min, max]
    kde_variance: float = param(1e-3, gt=0, le=100)
    kde_samples: int = param(4096, ge=16, le=8192, why='the KDE forms kde_samples**2 distances: 8192**2 floats are 0.5 GB a layer')
    kde_seeds: int = param(10, ge=1, le=1000)
    threads: int = param(1, ge=1, le=256, why='intra-op threads')
    # the claims' thresholds, in bits
    compression_bits: float = param(0.5, gt=0, le=12, why='the input holds 12 bits')
    fitting_bits: float = param(0.3, gt=0, le=1, why='the label holds 1 bit')

    def validate(self):
        super().validate()
        check(self.widths[0] == 12 and self.widths[-1] == 2,
              f"widths={_csv(self.widths)} must start with 12 (the 12-bit input) and end with 2 (two classes)")
        check(self.kde_seeds <= self.n_seeds, f"kde_seeds={self.kde_seeds} must be at most n_seeds={self.n_seeds}")
        check(self.bin_range is None or self.bin_range[0] < self.bin_range[1],
              f"bin_range={_csv(self.bin_range or ())} must be (lo, hi) with lo < hi, or none")


# Deltas from the paper scale, shared by ib-tanh and ib-relu.
QUICK = {"n_seeds": 8, "epochs": 150, "lr": 2e-3, "n_snapshots": 20, "kde_samples": 512, "kde_seeds": 4}
DEFAULT = {"n_seeds": 16, "epochs": 2000, "n_snapshots": 30, "kde_samples": 1024, "kde_seeds": 4}


def train_information_plane(cfg: IBConfig, run) -> None:
    """Train the stack on 80 % of the patterns; record the information plane as ``train/ib/<key>``."""
    F, y = load_var_u()
    dev = runtime.device()
    X, Y = torch.from_numpy(F).to(dev), torch.from_numpy(y).to(dev)
    g = torch.Generator().manual_seed(cfg.seed)  # the split is drawn on the CPU: the same on every device
    train_idx = torch.randperm(len(X), generator=g, device="cpu")[: int(round(cfg.train_fraction * len(X)))].to(dev)
    batches = MiniBatches(X[train_idx], Y[train_idx], cfg.batch_size, seed=cfg.seed)
    model = StackedMLP(cfg.n_seeds, cfg.widths, cfg.activation, init="normal_fan_in", seed=cfg.seed).to(dev)
    M = cfg.n_seeds

    def objective(model, batch):
        bx, by = batch
        # Sum of the per-seed mean losses: each seed gets exactly its own gradient.
        return nn.functional.cross_entropy(model(bx).reshape(-1, 2), by.repeat(M)) * M

    epochs = np.unique(np.round(np.logspace(0, np.log10(cfg.epochs), cfg.n_snapshots)).astype(int))
    epochs = np.concatenate([[0], epochs])
    probe = InformationPlane(X, Y, epochs * batches.per_epoch, BinningMI(cfg.n_bins, cfg.bin_range),
                             KDEMI(cfg.kde_variance, cfg.kde_samples, seed=cfg.seed), cfg.kde_seeds)
    train(model, objective, steps=cfg.epochs * batches.per_epoch, lr=cfg.lr, batches=batches,
          callbacks=[probe], run=run, phase="train", threads=cfg.threads, desc=f"ib-{cfg.activation}")
    run.log("steps_per_epoch", batches.per_epoch)
    run.log("final_accuracy", float(run.series("train/ib/accuracy").values[-1].mean()), cfg.epochs)


def plane(run) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(epochs (S,), {key: values (S, ...)}) of the recorded information plane."""
    names = ("I_xt_binning", "I_ty_binning", "I_xt_kde", "I_ty_kde", "bin_range", "accuracy")
    series = {k: run.series(f"train/ib/{k}") for k in names}
    return series["I_xt_binning"].steps // int(run.scalar("steps_per_epoch")), {k: s.values for k, s in series.items()}


def compression(epochs, I_xt):
    """Seed-mean I(X;T) of one layer: (peak - final) in bits, and the peak's epoch."""
    m = I_xt.mean(-1)
    p = int(np.argmax(m))
    return float(m[p] - m[-1]), int(epochs[p])


def per_seed(a: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The claims' measures for each seed alone, last hidden layer: ``drop_b`` (M,) and ``drop_k`` (K,), each
    seed's I(X;T) peak minus final (binning, KDE), and ``rise`` (M,), its I(T;Y) final minus initial (binning)."""
    xt_b, xt_k, ty = a["I_xt_binning"][:, -1], a["I_xt_kde"][:, -1], a["I_ty_binning"][:, -1]   # (S, seeds)
    return {"drop_b": xt_b.max(0) - xt_b[-1], "drop_k": xt_k.max(0) - xt_k[-1], "rise": ty[-1] - ty[0]}


def draw(run, cfg: IBConfig) -> None:
    """The plane under binning and under KDE (colour: log epoch), and the last layer's I(X;T) over epochs."""
    epochs, a = plane(run)
    ep = np.maximum(epochs, 1)
    fig, ax = plt.subplots(1, 3, figsize=(17, 4.6))
    for axis, est in zip(ax[:2], ("binning", "kde")):
        xt, ty = a[f"I_xt_{est}"].mean(-1), a[f"I_ty_{est}"].mean(-1)   # (S, L)
        for layer in range(xt.shape[1]):
            axis.plot(xt[:, layer], ty[:, layer], "-", color="0.75", lw=0.8, zorder=1)
            sc = axis.scatter(xt[:, layer], ty[:, layer], c=np.log10(ep), cmap="viridis", s=18, zorder=2)
        axis.set_xlabel("I(X;T) [bits]")
        axis.set_ylabel("I(T;Y) [bits]")
        what = f"{cfg.n_bins} bins, range {cfg.bin_range or 'observed'}" if est == "binning" else \
            f"KDE bound, s^2={cfg.kde_variance}, {cfg.kde_seeds} seeds"
        axis.set_title(f"{cfg.activation}: {what}", fontsize=9)
    fig.colorbar(sc, ax=ax[1], label="log10 epoch")
    last = a["I_xt_binning"][:, -1]
    ax[2].plot(ep, last.mean(-1), "k-", label="mean")
    ax[2].fill_between(ep, *np.percentile(last, [10, 90], axis=-1), color="0.8", label="10-90 % of seeds")
    ax[2].set_xscale("log")
    ax[2].set_xlabel("epoch")
    ax[2].set_ylabel("I(X;T) last hidden layer (binning) [bits]")
    ax[2].legend()
    run.save_figure(fig, f"ib-{cfg.activation}")


def measures(run, cfg: IBConfig) -> dict:
    """What the claims compare: compression under both estimators, the fitting rise (seed means; ``seeds``: the
    same per seed, :func:`per_seed`), and the notes' wording."""
    ep, a = plane(run)
    drop_b, at_b = compression(ep, a["I_xt_binning"][:, -1])
    drop_k, at_k = compression(ep, a["I_xt_kde"][:, -1])
    m = a["I_xt_binning"][:, -1].mean(-1)
    ty = a["I_ty_binning"][:, -1].mean(-1)
    rng = f"{cfg.n_bins} bins over {list(cfg.bin_range)}" if cfg.bin_range else f"{cfg.n_bins} bins over each snapshot's observed range"
    run_note = f"Adam lr {cfg.lr:g}, batch {cfg.batch_size}, {cfg.epochs} epochs"
    # n: the patterns the estimates rest on (binning: all 4096; KDE: kde_samples of them)
    return {"drop_b": drop_b, "drop_k": drop_k, "rise": float(ty[-1] - ty[0]), "bin_range": a["bin_range"],
            "seeds": per_seed(a),
            "n_b": 4096, "n_k": min(cfg.kde_samples, 4096),
            "binning": f"binning, {rng}",
            "kde": f"KDE bound, noise variance {cfg.kde_variance:g}, {cfg.kde_seeds} seeds x {cfg.kde_samples} patterns",
            "note_fit": f"I(T;Y) from {ty[0]:.3f} to {ty[-1]:.3f} bits; final accuracy on all 4096 patterns "
                        f"{float(a['accuracy'][-1].mean()):.3f}",
            "note_b": f"seed-mean ({cfg.n_seeds} seeds) I(X;T) {m.max():.2f} bits at its peak (epoch {at_b}), "
                      f"{m[-1]:.2f} bits at the end; {run_note}",
            "note_k": f"peak at epoch {at_k}; {run_note}"}


def fitting_claim(cfg: IBConfig, m: dict):
    return claim(f"ib-{cfg.activation}-fitting", "the last hidden layer's I(T;Y) rises during training (fitting phase)",
                 m["rise"], source=SOURCE_TANH, at_least=cfg.fitting_bits, unit="bits", note=m["note_fit"], n=m["n_b"],
                 seeds=m["seeds"]["rise"] >= cfg.fitting_bits)
