"""saddle-index, saddle-free-newton: critical points of small networks are mostly saddles.

Paper: Dauphin, Pascanu, Gulcehre, Cho, Ganguli, Bengio, "Identifying and attacking the
saddle point problem in high-dimensional non-convex optimization" (NIPS 2014), Fig. 1
(index of critical points against training error) and Fig. 4 (saddle-free Newton
escapes the plateau; Newton is attracted to the saddle).
Command: ``genlab run saddle-index --scale quick`` (about 10 s of CPU; default about
50 s) and ``genlab run saddle-free-newton --scale quick`` (about 3 s).
Claims: over the distinct critical points found, the index (fraction of negative Hessian
eigenvalues) has Spearman rank correlation >= 0.7 with the loss; from a plateau near the
origin saddle saddle-free Newton leaves in fewer steps than gradient descent, and damped
Newton does not leave (it moves toward the saddle).

Data: 4x4 average-pooled MNIST (16 inputs), a few hundred images, squared loss on
centred one-hot targets; networks 16-h-10 with a few hundred parameters, so the exact
Hessian costs milliseconds. saddle-index defaults to a linear hidden layer: there Newton-type
root search reliably reaches critical points; with tanh it stalls at ||g|| ~ 1e-4
(gradient-flat regions), and such points are not counted (``activation=tanh`` shows it).
saddle-free-newton gives gradient descent lr 1 = 1/lambda_max at the saddle (the step
Newton takes along the top curvature); near its stability limit (lr_gd=1.9) gradient
descent leaves in 11 steps against saddle-free Newton's 8-9: the advantage shrinks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import spearmanr

from genlab.config import Config, check
from genlab.experiments._saddle import downsampled_mnist
from genlab.optim import SecondOrder, find_critical_point, flat_params, set_params
from genlab.experiments.base import Claim, Experiment, register, verdict
from genlab.models.mlp import MLP
from genlab.probes.hessian import Hessian, index
from genlab.runtime import num_threads
from genlab.train import Every, supervised, train
from genlab.plot import plt


SOURCE_INDEX = "Dauphin et al. 2014, Fig. 1"
SOURCE_SFN = "Dauphin et al. 2014, Fig. 4"


def squared_loss(out, y):
    return 0.5 * ((out - y) ** 2).sum(1).mean()


@dataclass(frozen=True)
class SaddleIndexConfig(Config):
    n_samples: int = 300
    hidden: int = 8
    activation: str = "identity"
    init_stds: tuple[float, ...] = (0.01, 0.03)   # trajectories cycle through these init scales
    lr: float = 0.1
    steps: int = 2000
    n_trajectories: int = 4
    starts_per_trajectory: int = 16
    first_pick: int = 40
    newton_iters: int = 25
    grad_tol: float = 1e-6
    eig_tol: float = 1e-3
    threads: int = 1

    def validate(self):
        super().validate()
        check(self.n_samples >= 20 and self.hidden >= 1, "n_samples >= 20 and hidden >= 1")
        check(self.activation in ("identity", "tanh"), f"activation={self.activation!r}; choose identity or tanh")
        n = 16 * self.hidden + self.hidden + self.hidden * 10 + 10
        check(n <= 2000, f"hidden={self.hidden} gives {n} parameters; the exact Hessian needs <= 2000 (use hidden <= 70)")
        check(1 <= self.first_pick < self.steps, "first_pick must lie in [1, steps)")
        check(self.steps >= 10 and self.n_trajectories >= 1 and self.starts_per_trajectory >= 2, "steps >= 10, starts >= 2")


def run_index(cfg: SaddleIndexConfig, run):
    # One intra-op thread: eigh of a 200x200 matrix is ~10x slower with two contended threads.
    with num_threads(cfg.threads):
        _run_index(cfg, run)


def _run_index(cfg: SaddleIndexConfig, run):
    x, y, _ = downsampled_mnist(cfg.n_samples, seed=cfg.seed)
    widths = (x.shape[1], cfg.hidden, 10)
    rows = []
    for t in range(cfg.n_trajectories):
        std = cfg.init_stds[t % len(cfg.init_stds)]
        model = MLP(widths, cfg.activation, std, seed=cfg.seed * 1000 + t).double()
        every = 1  # every step: large inits leave their first plateau within a few steps
        res = train(model, supervised(squared_loss, x, y), steps=cfg.steps, optimizer="gd", lr=cfg.lr,
                    callbacks=[Every(every, lambda m, s: flat_params(m), "theta")], run=run, phase=f"traj{t}",
                    threads=cfg.threads, desc=f"trajectory {t}")
        thetas = res.history.values("theta")
        # Start the root search from the first point and from log-spaced points after step
        # ``first_pick``: from a small init, GD passes saddle after saddle (plateau after plateau).
        picks = np.unique(np.r_[0, np.round(np.logspace(np.log10(cfg.first_pick), np.log10(len(thetas) - 1),
                                                        cfg.starts_per_trajectory - 1))].astype(int))
        for i in picks:
            probe = MLP(widths, cfg.activation).double()
            set_params(probe, torch.as_tensor(thetas[i]))
            gn, iters = find_critical_point(probe, squared_loss, (x, y), iters=cfg.newton_iters, tol=cfg.grad_tol * 0.1)
            h = Hessian(probe, squared_loss, (x, y))
            lam = torch.linalg.eigvalsh(h.exact()).numpy()
            rows.append([t, std, i * every, h.loss_, gn, index(lam, cfg.eig_tol), lam.min(), lam.max(), iters])
    rows = np.array(rows)
    run.save_arrays(points=rows, columns=np.array(["trajectory", "init_std", "start_step", "loss", "grad_norm", "index",
                                                   "lambda_min", "lambda_max", "newton_iters"]))
    run.log("n_points", len(rows))
    run.log("n_critical", int((rows[:, 4] < cfg.grad_tol).sum()))


LOSS, GN, IDX = 3, 4, 5   # columns of the stored points


def distinct_critical(points, grad_tol):
    """Critical points (||g|| < grad_tol), one per distinct (loss to 1e-6, index)."""
    crit = points[points[:, GN] < grad_tol]
    _, keep = np.unique(np.round(crit[:, [LOSS, IDX]], 6), axis=0, return_index=True)
    return crit[np.sort(keep)]


def figures_index(run, cfg: SaddleIndexConfig):
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


def claims_index(run, cfg: SaddleIndexConfig):
    d = distinct_critical(run.arrays["points"], cfg.grad_tol)
    if len(d) < 4 or np.ptp(d[:, IDX]) == 0:
        rho, ok = float("nan"), None
    else:
        rho = float(spearmanr(d[:, LOSS], d[:, IDX]).statistic)
        ok = rho >= 0.7
    n = len(run.arrays["points"])
    return [Claim("saddle-index-correlation", "critical points with higher training loss have a larger index "
                  "(more negative Hessian eigenvalues)", SOURCE_INDEX, rho, "Spearman rho >= 0.7 over distinct critical points",
                  verdict(ok), f"{len(d)} distinct critical points (||g|| < {cfg.grad_tol:g}) from {n} starts; "
                  f"index from {d[:, IDX].min() if len(d) else float('nan'):.3f} to {d[:, IDX].max() if len(d) else float('nan'):.3f}; "
                  f"eigenvalues below -{cfg.eig_tol:g} max|lambda| count as negative")]


@dataclass(frozen=True)
class SfnConfig(Config):
    n_samples: int = 300
    hidden: int = 6
    activation: str = "tanh"
    init_std: float = 1e-3
    steps: int = 60
    lr_gd: float = 1.0          # 1/lambda_max at the origin saddle (lambda_max about 1.0)
    lr_newton: float = 1.0
    damping: float = 0.1
    escape_drop: float = 0.05
    threads: int = 1

    def validate(self):
        super().validate()
        check(self.activation in ("identity", "tanh"), f"activation={self.activation!r}; choose identity or tanh")
        check(self.steps >= 2 and self.lr_gd > 0 and self.lr_newton > 0 and self.damping > 0, "steps >= 2; lr_gd, lr_newton, damping > 0")


METHODS = ("gd", "newton", "saddle-free")


def run_sfn(cfg: SfnConfig, run):
    with num_threads(cfg.threads):
        _run_sfn(cfg, run)


def _run_sfn(cfg: SfnConfig, run):
    x, y, _ = downsampled_mnist(cfg.n_samples, seed=cfg.seed)
    widths = (x.shape[1], cfg.hidden, 10)
    start = MLP(widths, cfg.activation, cfg.init_std, seed=cfg.seed).double()
    saddle = MLP(widths, cfg.activation).double()
    set_params(saddle, flat_params(start))
    gn, _ = find_critical_point(saddle, squared_loss, (x, y), iters=30, tol=1e-10)
    lam = torch.linalg.eigvalsh(Hessian(saddle, squared_loss, (x, y)).exact()).numpy()
    theta_s = flat_params(saddle)
    losses, dists = {}, {}
    for method in METHODS:
        model = MLP(widths, cfg.activation).double()
        set_params(model, flat_params(start))
        if method == "gd":
            opt, lr = "gd", cfg.lr_gd
        else:
            def opt(params, mode=method, model=model):
                return SecondOrder(params, lambda: Hessian(model, squared_loss, (x, y)), lr=cfg.lr_newton,
                                   damping=cfg.damping, mode=mode)
            lr = cfg.lr_newton
        res = train(model, supervised(squared_loss, x, y), steps=cfg.steps, optimizer=opt, lr=lr, run=run, phase=method,
                    callbacks=[Every(1, lambda m, s: float((flat_params(m) - theta_s).norm()), "dist")],
                    threads=cfg.threads, desc=method)
        losses[method] = np.concatenate([[Hessian(start, squared_loss, (x, y)).loss_], res.history.values("loss")[1:],
                                         [Hessian(model, squared_loss, (x, y)).loss_]])
        dists[method] = res.history.values("dist")
    run.save_arrays(**{f"loss_{m}": losses[m] for m in METHODS}, **{f"dist_{m}": dists[m] for m in METHODS},
                    saddle_eigenvalues=lam, saddle_loss=np.array(Hessian(saddle, squared_loss, (x, y)).loss_),
                    saddle_grad_norm=np.array(gn))


def escape_step(loss, drop):
    """First step at which the loss is ``drop`` below its start, else -1."""
    hit = np.nonzero(loss <= loss[0] - drop)[0]
    return int(hit[0]) if len(hit) else -1


def figures_sfn(run, cfg: SfnConfig):
    a = run.arrays
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    for m in METHODS:
        ax[0].plot(a[f"loss_{m}"], label=m)
        ax[1].plot(a[f"dist_{m}"], label=m)
    ax[0].axhline(float(a["saddle_loss"]), color="k", ls=":", label="saddle")
    ax[0].set_xlabel("step")
    ax[0].set_ylabel("training loss")
    ax[0].legend()
    ax[1].set_yscale("log")
    ax[1].set_xlabel("step")
    ax[1].set_ylabel("distance to the saddle ||theta - theta_s||")
    neg = float(np.mean(a["saddle_eigenvalues"] < -1e-3 * np.abs(a["saddle_eigenvalues"]).max()))
    ax[1].set_title(f"saddle: loss {float(a['saddle_loss']):.3f}, index {neg:.2f}", fontsize=9)
    run.save_figure(fig, "saddle-free-newton")


def claims_sfn(run, cfg: SfnConfig):
    a = run.arrays
    t = {m: escape_step(a[f"loss_{m}"], cfg.escape_drop) for m in METHODS}
    never = cfg.steps + 1
    tg, ts = (t["gd"] if t["gd"] >= 0 else never), (t["saddle-free"] if t["saddle-free"] >= 0 else never)
    d = a["dist_newton"]
    note = f"steps to drop {cfg.escape_drop} below the start (-1: never in {cfg.steps}): {t}"
    return [Claim("sfn-escapes-faster", "saddle-free Newton leaves the plateau in fewer steps than gradient descent",
                  SOURCE_SFN, float(ts), f"< gradient descent's {tg} steps", verdict(ts < tg and ts <= cfg.steps), note),
            Claim("newton-attracted", "damped Newton is attracted to the saddle: it does not leave the plateau and "
                  "ends closer to the saddle than it started", SOURCE_SFN, float(d[-1] / d[0]),
                  "Newton never escapes and final/initial distance to the saddle < 1",
                  verdict(t["newton"] < 0 and d[-1] < d[0]), note + f"; Newton's distance {d[0]:.3g} -> {d[-1]:.3g}")]


register(Experiment(
    id="saddle-index", family="saddle-points", title="index of critical points against their training loss",
    source=SOURCE_INDEX, claim="the index of critical points rises with their loss (Spearman rho >= 0.7)",
    config=SaddleIndexConfig,
    scales={"quick": SaddleIndexConfig(n_samples=200, steps=1000, n_trajectories=2, starts_per_trajectory=12, newton_iters=16),
            "default": SaddleIndexConfig(),
            "paper": SaddleIndexConfig(n_samples=1000, hidden=20, n_trajectories=20, steps=5000)},
    times={"quick": "10 s", "default": "50 s", "paper": "20 min"},
    run=run_index, figures=figures_index, claims=claims_index))

register(Experiment(
    id="saddle-free-newton", family="saddle-points", title="saddle-free Newton against Newton and gradient descent",
    source=SOURCE_SFN, claim="saddle-free Newton escapes a saddle's plateau first; Newton is attracted to the saddle",
    config=SfnConfig,
    scales={"quick": SfnConfig(steps=40), "default": SfnConfig(), "paper": SfnConfig(n_samples=1000, hidden=20, steps=200)},
    times={"quick": "3 s", "default": "9 s", "paper": "2 min"},
    run=run_sfn, figures=figures_sfn, claims=claims_sfn))
