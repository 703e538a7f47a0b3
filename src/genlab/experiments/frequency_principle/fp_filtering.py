"""fp-filtering: on MNIST an MLP fits the low-frequency part of the labels first (filtering method).

Paper: Xu, Zhang, Luo, Xiao, Ma, "Frequency Principle: Fourier analysis sheds
light on deep neural networks" (CiCP 2019), its section on the filtering method
(MNIST, two filter widths δ).
Command: ``genlab run fp-filtering --scale quick``. Data: the MNIST training
files, found by ``genlab.data.vision.load_dataset("mnist")``.
Claim: for each filter width δ, the low-frequency error e_low reaches
``threshold`` (0.1) before the high-frequency error e_high does, and when it
does e_high is still above ``gap_min`` (0.3), in at least ``min_ordered``
(90 %) of seeds. See ``genlab.probes.filtering`` for
e_low, e_high and δ (here a fraction of the median squared distance between
training images). Shapes: images (N, 784) in [0, 1], one-hot labels (N, 10),
MSE loss as in the paper.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from genlab import runtime
from genlab.config import Config, check, param
from genlab.data.vision import load_dataset
from genlab.experiments.base import claim, experiment
from genlab.losses import stacked_mse
from genlab.models.mlp import ACTIVATIONS
from genlab.models.stacked import StackedMLP
from genlab.params import show_value as _csv
from genlab.plot import plt
from genlab.probes.filtering import FilterProbe
from genlab.probes.spectrum import first_below
from genlab.train import Every, supervised, train

SOURCE = "Xu et al. 2019 (CiCP), filtering method, MNIST"


@dataclass(frozen=True)
class FpFilteringConfig(Config):
    """Defaults: the paper scale (10,000 images, a 400-200 net, 3,000 Adam steps, 5 seeds)."""

    dataset: str = param("mnist", choices=('mnist', 'fashion-mnist'))
    # the first n training images
    n_train: int = param(10000, ge=20, le=20000, why='the n x n distance matrix: 20000**2 floats are 1.6 GB')
    widths: tuple[int, ...] = param((784, 400, 200, 10), ge=1, le=4096, min_len=2, max_len=16)
    activation: str = param("relu", choices=tuple(ACTIVATIONS))
    lr: float = param(1e-3, gt=0, le=10)
    steps: int = param(3000, ge=1, le=10**7)
    probe_every: int = param(20, ge=1, le=10**7)
    # δ as a fraction of the median squared distance
    delta_rel: tuple[float, ...] = param((0.05, 0.2), gt=0, le=100, min_len=1, max_len=16)
    n_seeds: int = param(5, ge=1, le=1000)
    threads: int = param(1, ge=1, le=256, why='intra-op threads')
    # the claims' thresholds
    threshold: float = param(0.1, gt=0, lt=1)        # the error e_low (and e_high) must reach
    gap_min: float = param(0.3, gt=0, le=1)          # e_high is still above this when e_low arrives
    min_ordered: float = param(0.9, ge=0, le=1)

    def validate(self):
        super().validate()
        check(self.widths[0] == 784 and self.widths[-1] == 10,
              f"widths={_csv(self.widths)} must start with 784 (28x28 pixels) and end with 10 classes")


def run(cfg: FpFilteringConfig, run):
    ds = load_dataset(cfg.dataset)
    check(len(ds.x_train) >= cfg.n_train, f"only {len(ds.x_train)} training images available; lower n_train")
    dev = runtime.device()
    x = torch.as_tensor(ds.x_train[:cfg.n_train].reshape(cfg.n_train, -1) / 255.0, dtype=torch.float32, device=dev)
    y = torch.nn.functional.one_hot(torch.as_tensor(ds.y_train[:cfg.n_train], dtype=torch.int64, device=dev), 10).float()
    probes = [FilterProbe(x, y, delta_rel=d) for d in cfg.delta_rel]
    model = StackedMLP(cfg.n_seeds, cfg.widths, cfg.activation, None,
                       seeds=[cfg.seed * 1000 + k for k in range(cfg.n_seeds)]).to(dev)
    cbs = [Every(cfg.probe_every, p, f"delta{i}") for i, p in enumerate(probes)]
    res = train(model, supervised(stacked_mse, x, y), steps=cfg.steps, lr=cfg.lr, callbacks=cbs, run=run,
                phase="train", threads=cfg.threads, desc="fp-filtering")
    run.save_arrays(delta=np.array([p.delta_ for p in probes]),
                    high_share=np.array([np.linalg.norm(p.y_high_) / np.linalg.norm(y.cpu().numpy()) for p in probes]))
    run.log("final_loss", float(res.history.values("loss")[-1]), cfg.steps)


def filter_errors(run, i: int):
    """Filter width i: steps (T,), e_low (T, M) and e_high (T, M)."""
    lo, hi = run.series(f"train/delta{i}/e_low"), run.series(f"train/delta{i}/e_high")
    return lo.steps, lo.values, hi.values


def figures(run, cfg: FpFilteringConfig):
    a = run.arrays
    D = len(a["delta"])
    fig, ax = plt.subplots(1, D, figsize=(5.5 * D, 4), squeeze=False)
    for i in range(D):
        steps, e_low, e_high = filter_errors(run, i)
        ax[0, i].semilogy(steps, e_low, color="C0", lw=1)
        ax[0, i].semilogy(steps, e_high, color="C3", lw=1)
        ax[0, i].plot([], [], color="C0", label="e_low")
        ax[0, i].plot([], [], color="C3", label="e_high")
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
        steps, e_low, e_high = filter_errors(run, i)
        t_lo = first_below(steps, e_low, cfg.threshold)
        t_hi = first_below(steps, e_high, cfg.threshold)
        conv = np.isfinite(t_lo)
        first = conv & (t_lo < t_hi)
        hi_then = np.array([e_high[np.searchsorted(steps, t_lo[m]), m] if conv[m] else np.nan
                            for m in range(len(t_lo))])
        ok = first & (hi_then > cfg.gap_min)
        frac = float(ok.mean())
        out.append(claim(f"fp-filtering-delta{i}", f"e_low reaches {cfg.threshold} before e_high, which is then still "
                         f"above {cfg.gap_min} (δ = {d:.3g})", frac, source=SOURCE, at_least=cfg.min_ordered,
                         unit="of seeds", inconclusive=not conv.any(), seeds=ok,
                         note=f"first step below {cfg.threshold}: e_low {t_lo.tolist()}, e_high {t_hi.tolist()} (inf = "
                              f"not within {cfg.steps}); e_high then {np.round(hi_then, 3).tolist()}; the high part "
                              f"carries {a['high_share'][i]:.0%} of the labels' norm"))
    return out


EXPERIMENT = experiment(
    id="fp-filtering", title="MNIST: the low-frequency part of the labels is fitted first", source=SOURCE,
    claim="with the filtering method, e_low reaches 0.1 before e_high on MNIST (each δ, >= 90 % of seeds)",
    config=FpFilteringConfig,
    quick={"n_train": 300, "widths": (784, 128, 10), "steps": 200, "n_seeds": 2, "probe_every": 5},
    default={"n_train": 1000, "widths": (784, 256, 10), "steps": 400, "n_seeds": 3, "probe_every": 5},
    times={"quick": "15 s", "default": "25 s", "paper": "30 min"},
    run=run, figures=figures, claims=claims)
