"""saddle-index: the critical points of a small network's loss are saddles, more so at higher loss.

Paper: Dauphin, Pascanu, Gulcehre, Cho, Ganguli, Bengio, "Identifying and attacking the
saddle point problem in high-dimensional non-convex optimization" (NIPS 2014), Fig. 1
(index of critical points against training error).
Command: ``genlab run saddle-index --scale quick``.
Claim: over the distinct critical points found, the index (fraction of negative Hessian
eigenvalues) has Spearman rank correlation at least ``min_rho`` (0.7) with the training
loss; with fewer than ``min_points`` (4) distinct points, or all of one index, it is inconclusive.

Data: 4x4 average-pooled MNIST (16 inputs), a few hundred images, squared loss on
centred one-hot targets; networks 16-h-10 with a few hundred parameters, so the exact
Hessian costs milliseconds. Gradient descent from small inits passes saddle after saddle;
a Levenberg-Marquardt root search of grad L = 0 (:func:`genlab.optim.find_critical_point`)
from points along each trajectory lands on them. The hidden layer is linear by default:
there the root search reliably reaches critical points; with tanh it stalls at
||g|| ~ 1e-4 (gradient-flat regions), and such points are not counted (``activation=tanh`` shows it).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from genlab.config import Config, check, param
from genlab.experiments.base import claim, experiment
from genlab.experiments.saddle_points.common import in_threads, task
from genlab.losses import squared_loss
from genlab.models.mlp import MLP
from genlab.optim import find_critical_point, flat_params, set_params
from genlab.plot import plt
from genlab.probes.critical import distinct_critical
from genlab.probes.hessian import Hessian, index
from genlab.probes.statistics import spearman
from genlab.train import Every, supervised, train

SOURCE = "Dauphin et al. 2014, Fig. 1"
COLUMNS = ("trajectory", "init_std", "start_step", "loss", "grad_norm", "index", "lambda_min", "lambda_max",
           "newton_iters")
LOSS, GN, IDX = (COLUMNS.index(c) for c in ("loss", "grad_norm", "index"))


@dataclass(frozen=True)
class SaddleIndexConfig(Config):
    """Defaults: the paper scale (1,000 images, 16-20-10, 20 trajectories of 5,000 GD steps)."""

    n_samples: int = param(1000, ge=20, le=70000, why='MNIST has 70,000 images')
    hidden: int = param(20, ge=1, le=70, why="the exact Hessian over 27*hidden+10 parameters must have at most 2000 rows")
    activation: str = param("identity", choices=('identity', 'tanh'))
    init_stds: tuple[float, ...] = param((0.01, 0.03), gt=0, le=100, min_len=1, max_len=64)   # trajectories cycle through these init scales
    lr: float = param(0.1, gt=0, le=10)
    steps: int = param(5000, ge=1, le=10**7)
    n_trajectories: int = param(20, ge=1, le=1000)
    starts_per_trajectory: int = param(16, ge=2, le=1000)
    first_pick: int = param(40, ge=1, le=10**7)
    newton_iters: int = param(25, ge=1, le=10**4)
    grad_tol: float = param(1e-6, gt=0, le=1)
    eig_tol: float = param(1e-3, gt=0, le=1)
    threads: int = param(1, ge=1, le=256, why='intra-op threads')
    # the claim's thresholds (Dauphin et al. Fig. 1 shows a near-monotone rise of the index with the loss)
    min_rho: float = param(0.7, ge=-1, le=1)
    min_points: int = param(4, ge=3, le=10**6)

    def validate(self):
        super().validate()
        n = 16 * self.hidden + self.hidden + self.hidden * 10 + 10
        check(n <= 2000, f"hidden={self.hidden} gives {n} parameters; the exact Hessian needs <= 2000 (use hidden <= 70)")
        check(self.first_pick < self.steps, f"first_pick={self.first_pick} must be below steps={self.steps}")
        check(self.steps >= 10, f"steps={self.steps} must be at least 10")


@in_threads
def run(cfg: SaddleIndexConfig, run):
    x, y, widths = task(cfg)
    rows = []
    for t in range(cfg.n_trajectories):
        std = cfg.init_stds[t % len(cfg.init_stds)]
        model = MLP(widths, cfg.activation, std, seed=cfg.seed * 1000 + t).double().to(x.device)
        # Start the root search from the first point and from log-spaced points after step
        # ``first_pick``: from a small init, GD passes saddle after saddle (plateau after plateau).
        picks = np.unique(np.r_[0, np.round(np.logspace(np.log10(cfg.first_pick), np.log10(cfg.steps),
                                                        cfg.starts_per_trajectory - 1))].astype(int))
        train(model, supervised(squared_loss, x, y), steps=cfg.steps, optimizer="gd", lr=cfg.lr,
              callbacks=[Every(1, lambda m, s: flat_params(m), "theta", axes=("parameter",), at=picks)], run=run,
              phase=f"traj{t}", threads=cfg.threads, desc=f"trajectory {t}")
        snap = run.series(f"traj{t}/theta")
        thetas = dict(zip(snap.steps.tolist(), snap.values))  # the parameters at the picked steps only
        for i in picks:
            probe = MLP(widths, cfg.activation).double().to(x.device)
            set_params(probe, torch.as_tensor(thetas[i], device=x.device))
            gn, iters = find_critical_point(probe, squared_loss, (x, y), iters=cfg.newton_iters, tol=cfg.grad_tol * 0.1)
            h = Hessian(probe, squared_loss, (x, y))
            lam = torch.linalg.eigvalsh(h.exact()).cpu().numpy()
            rows.append([t, std, i, h.loss_, gn, index(lam, cfg.eig_tol), lam.min(), lam.max(), iters])
    rows = np.array(rows)
    run.save_arrays(points=rows, columns=np.array(COLUMNS))
    run.log("n_points", len(rows))
    run.log("n_critical", int((rows[:, GN] < cfg.grad_tol).sum()))


def figures(run, cfg: SaddleIndexConfig):
    p = run.arrays["points"]
    crit = p[:, GN] < cfg.grad_tol
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    ax[0].scatter(p[~crit, LOSS], p[~crit, IDX], marker="x", color="0.6", label=f"not converged (||g|| >= {cfg.grad_tol:g})")
    ax[0].scatter(p[crit, LOSS], p[crit, IDX], color="C3", label="critical points")
    ax[0].set_xlabel("training loss at the point")
    ax[0].set_ylabel("index (fraction of negative eigenvalues)")
    ax[0].set_title(f"16-{cfg.hidden}-10 {cfg.activation}, {cfg.n_samples} downsampled MNIST images", fontsize=9)
    ax[0].legend(fontsize=8)
    ax[1].hist(np.log10(np.maximum(p[:, GN], 1e-16)), bins=20, color="0.4")
    ax[1].axvline(np.log10(cfg.grad_tol), color="C3", ls="--")
    ax[1].set_xlabel("log10 ||grad L|| after the Newton root search")
    run.save_figure(fig, "saddle-index")


def claims(run, cfg: SaddleIndexConfig):
    p = run.arrays["points"]
    d = p[distinct_critical(p[:, LOSS], p[:, GN], p[:, IDX], cfg.grad_tol)]
    measurable = len(d) >= cfg.min_points and np.ptp(d[:, IDX]) > 0
    rho = spearman(d[:, LOSS], d[:, IDX]) if measurable else float("nan")
    lo, hi = (d[:, IDX].min(), d[:, IDX].max()) if len(d) else (float("nan"), float("nan"))
    return [claim("saddle-index-correlation", "critical points with higher training loss have a larger index "
                  "(more negative Hessian eigenvalues)", rho, source=SOURCE, at_least=cfg.min_rho,
                  unit=f"(Spearman rho over at least {cfg.min_points} distinct critical points)",
                  note=f"{len(d)} distinct critical points (||g|| < {cfg.grad_tol:g}) from {len(p)} starts; "
                       f"index from {lo:.3f} to {hi:.3f}; eigenvalues below -{cfg.eig_tol:g} max|lambda| count as negative")]


EXPERIMENT = experiment(
    id="saddle-index", title="index of critical points against their training loss", source=SOURCE,
    claim="the index of critical points rises with their loss (Spearman rho >= 0.7)",
    config=SaddleIndexConfig,
    quick={"n_samples": 200, "hidden": 8, "steps": 1000, "n_trajectories": 2, "starts_per_trajectory": 12,
           "newton_iters": 16},
    default={"n_samples": 300, "hidden": 8, "steps": 2000, "n_trajectories": 4},
    times={"quick": "10 s", "default": "50 s", "paper": "20 min"},
    run=run, figures=figures, claims=claims)
