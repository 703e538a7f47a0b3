"""fp-filtering: on MNIST an MLP fits the low-frequency part of the labels first (filtering method).

Paper: Xu, Zhang, Luo, Xiao, Ma, "Frequency Principle: Fourier analysis sheds
light on deep neural networks" (CiCP 2019), the filtering method on MNIST
(two filter widths δ).
Command: ``genlab run fp-filtering --scale quick`` (about 15 s on 2 shared CPU
cores; default about 1 min (43 s measured, shared), paper about 30 min
(estimated)). Data: the MNIST training files, found by
``genlab.data.vision.load_dataset("mnist")``.
Claim: for each filter width δ, the low-frequency error e_low reaches 0.1
before the high-frequency error e_high does, in at least 90 % of seeds, and
when it does e_high is still above 0.3. See ``genlab.probes.filtering`` for
e_low, e_high and δ (here a fraction of the median squared distance between
training images). Shapes: images (N, 784) in [0, 1], one-hot labels (N, 10),
MSE loss as in the paper.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from genlab.config import Config, check
from genlab.data.vision import load_dataset
from genlab.losses import stacked_mse
from genlab.models.stacked import StackedMLP
from genlab.experiments.base import Claim, Experiment, register, verdict
from genlab.probes.filtering import FilterProbe
from genlab.probes.spectrum import first_below
from genlab.train import Every, supervised, train
from genlab.plot import plt


SOURCE = "Xu et al. 2019 (CiCP), filtering method, MNIST"


@dataclass(frozen=True)
class FpFilteringConfig(Config):
    dataset: str = "mnist"
    n_train: int = 300            # the first n training images
    widths: tuple[int, ...] = (784, 128, 10)
    activation: str = "relu"
    lr: float = 1e-3
    steps: int = 200
    probe_every: int = 5
    delta_rel: tuple[float, ...] = (0.05, 0.2)   # δ as a fraction of the median squared distance
    threshold: float = 0.1
    gap_min: float = 0.3
    n_seeds: int = 2
    threads: int = 1

    def validate(self):
        super().validate()
        check(self.dataset in ("mnist", "fashion-mnist"), f"dataset={self.dataset!r}; choose mnist or fashion-mnist")
        check(20 <= self.n_train <= 20000, f"n_train={self.n_train} must lie in [20, 20000]")
        check(self.widths[0] == 784 and self.widths[-1] == 10, "widths must start with 784 (28x28 pixels) and end with 10 classes")
        check(len(self.delta_rel) >= 1 and all(d > 0 for d in self.delta_rel), "delta_rel needs positive values")
        check(self.lr > 0 and self.steps > 0 and self.probe_every > 0 and self.n_seeds >= 1,
              "lr, steps, probe_every and n_seeds must be positive")


def run(cfg: FpFilteringConfig, run):
    ds = load_dataset(cfg.dataset)
    check(len(ds.x_train) >= cfg.n_train, f"only {len(ds.x_train)} training images available; lower n_train")
    x = torch.as_tensor(ds.x_train[:cfg.n_train].reshape(cfg.n_train, -1) / 255.0, dtype=torch.float32)
    y = torch.nn.functional.one_hot(torch.as_tensor(ds.y_train[:cfg.n_train], dtype=torch.int64), 10).float()
    probes = [FilterProbe(x, y, delta_rel=d) for d in cfg.delta_rel]
    model = StackedMLP(cfg.n_seeds, cfg.widths, cfg.activation, None,
                       seeds=[cfg.seed * 1000 + k for k in range(cfg.n_seeds)])
    cbs = [Every(cfg.probe_every, p, f"delta{i}") for i, p in enumerate(probes)]
    res = train(model, supervised(stacked_mse, x, y), steps=cfg.steps, lr=cfg.lr, callbacks=cbs, run=run,
                phase="train", threads=cfg.threads, desc="fp-filtering")
    h = res.history
    run.save_arrays(steps=h.steps("delta0/e_low"), delta=np.array([p.delta_ for p in probes]),
                    high_share=np.array([np.linalg.norm(p.y_high_) / np.linalg.norm(y.numpy()) for p in probes]),
                    e_low=np.stack([h.values(f"delta{i}/e_low") for i in range(len(probes))]),    # (D, T, M)
                    e_high=np.stack([h.values(f"delta{i}/e_high") for i in range(len(probes))]))
    run.log("final_loss", float(h.values("loss")[-1]), cfg.steps)


def figures(run, cfg: FpFilteringConfig):
    a = run.arrays
    D = len(a["delta"])
    fig, ax = plt.subplots(1, D, figsize=(5.5 * D, 4), squeeze=False)
    for i in range(D):
        ax[0, i].semilogy(a["steps"], a["e_low"][i], color="tab:blue", lw=1)
        ax[0, i].semilogy(a["steps"], a["e_high"][i], color="tab:red", lw=1)
        ax[0, i].plot([], [], color="tab:blue", label="e_low")
        ax[0, i].plot([], [], color="tab:red", label="e_high")
        ax[0, i].axhline(cfg.threshold, color="k", ls=":", lw=1)
        ax[0, i].set_xlabel("step")
        ax[0, i].set_title(f"{cfg.dataset}, N={cfg.n_train}, δ={a['delta'][i]:.3g} ({cfg.delta_rel[i]} x median |x−x'|²)")
        ax[0, i].legend()
    fig.tight_layout()
    run.save_figure(fig, "fp_filtering")


def claims(run, cfg: FpFilteringConfig):
    a = run.arrays
    out = []
    for i, d in enumerate(a["delta"]):
        t_lo = first_below(a["steps"], a["e_low"][i], cfg.threshold)
        t_hi = first_below(a["steps"], a["e_high"][i], cfg.threshold)
        conv = np.isfinite(t_lo)
        first = conv & (t_lo < t_hi)
        hi_then = np.array([a["e_high"][i][np.searchsorted(a["steps"], t_lo[m]), m] if conv[m] else np.nan
                            for m in range(len(t_lo))])
        ok = first & (hi_then > cfg.gap_min)
        frac = float(ok.mean())
        out.append(Claim(f"fp-filtering-delta{i}", f"e_low reaches {cfg.threshold} before e_high, which is then still above "
                         f"{cfg.gap_min} (δ = {d:.3g})", SOURCE, frac, ">= 0.9 of seeds",
                         verdict(None if not conv.any() else frac >= 0.9),
                         f"first step below {cfg.threshold}: e_low {t_lo.tolist()}, e_high {t_hi.tolist()} (inf = not within "
                         f"{cfg.steps}); e_high then {np.round(hi_then, 3).tolist()}; the high part carries "
                         f"{a['high_share'][i]:.0%} of the labels' norm"))
    return out


EXPERIMENT = register(Experiment(
    id="fp-filtering", family="frequency-principle", title="MNIST: the low-frequency part of the labels is fitted first",
    source=SOURCE, claim="with the filtering method, e_low reaches 0.1 before e_high on MNIST (each δ, >= 90 % of seeds)",
    config=FpFilteringConfig,
    scales={"quick": FpFilteringConfig(),
            "default": FpFilteringConfig(n_train=1000, widths=(784, 256, 10), steps=400, n_seeds=3),
            "paper": FpFilteringConfig(n_train=10000, widths=(784, 400, 200, 10), steps=3000, n_seeds=5,
                                       probe_every=20)},
    times={"quick": "15 s", "default": "1 min", "paper": "30 min"},
    run=run, figures=figures, claims=claims))
