"""saddle-free-newton: saddle-free Newton leaves a saddle's plateau first; Newton is attracted to the saddle.

Paper: Dauphin, Pascanu, Gulcehre, Cho, Ganguli, Bengio, "Identifying and attacking the
saddle point problem in high-dimensional non-convex optimization" (NIPS 2014), Fig. 4
(saddle-free Newton escapes the plateau; Newton is attracted to the saddle).
Command: ``genlab run saddle-free-newton --scale quick``.
Claim: from a plateau near the origin saddle, saddle-free Newton (|H|^-1 g) drops the loss
``escape_drop`` (0.05) below its start in fewer steps than gradient descent, and damped
Newton never does, ending closer to the saddle than it started (final/initial distance
below ``max_distance_ratio``, 1).

Data and networks as in saddle-index (4x4-pooled MNIST, 16-h-10, squared loss), with
tanh units and a tiny init, so training starts on the plateau of the saddle at the origin;
the saddle itself is located by :func:`genlab.optim.find_critical_point`. Gradient descent
gets lr 1 = 1/lambda_max at the saddle (the step Newton takes along the top curvature);
near its stability limit (lr_gd=1.9) it leaves in 11 steps against saddle-free Newton's
8-9: the advantage shrinks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from genlab.config import Config, param
from genlab.experiments.base import claim, experiment
from genlab.experiments.saddle_points.common import in_threads, task
from genlab.losses import squared_loss
from genlab.models.mlp import MLP
from genlab.optim import SecondOrder, find_critical_point, flat_params, set_params
from genlab.plot import plt
from genlab.probes.critical import escape_step
from genlab.probes.hessian import Hessian
from genlab.train import Every, supervised, train

SOURCE = "Dauphin et al. 2014, Fig. 4"
METHODS = ("gd", "newton", "saddle-free")


@dataclass(frozen=True)
class SfnConfig(Config):
    """Defaults: the paper scale (1,000 images, 16-20-10 tanh, 200 steps per method)."""

    n_samples: int = param(1000, ge=20, le=70000, why='MNIST has 70,000 images')
    hidden: int = param(20, ge=1, le=150, why='the exact Hessian over 27*hidden+10 parameters must have at most 4000 rows')
    activation: str = param("tanh", choices=('identity', 'tanh'))
    init_std: float = param(1e-3, gt=0, le=100)
    steps: int = param(200, ge=2, le=10**6)
    lr_gd: float = param(1.0, gt=0, le=10)          # 1/lambda_max at the origin saddle (lambda_max about 1.0)
    lr_newton: float = param(1.0, gt=0, le=10)
    damping: float = param(0.1, gt=0, le=10**6)
    threads: int = param(1, ge=1, le=256, why='intra-op threads')
    # the claims' thresholds: "left the plateau" means the loss dropped escape_drop below its start
    escape_drop: float = param(0.05, gt=0, le=1)
    max_distance_ratio: float = param(1.0, gt=0, le=10**6)


@in_threads
def run(cfg: SfnConfig, run):
    x, y, widths = task(cfg)
    start = MLP(widths, cfg.activation, cfg.init_std, seed=cfg.seed).double().to(x.device)
    saddle = MLP(widths, cfg.activation).double().to(x.device)
    set_params(saddle, flat_params(start))
    gn, _ = find_critical_point(saddle, squared_loss, (x, y), iters=30, tol=1e-10)
    lam = torch.linalg.eigvalsh(Hessian(saddle, squared_loss, (x, y)).exact()).cpu().numpy()
    theta_s = flat_params(saddle)
    final = {}
    for method in METHODS:
        model = MLP(widths, cfg.activation).double().to(x.device)
        set_params(model, flat_params(start))
        if method == "gd":
            opt, lr = "gd", cfg.lr_gd
        else:
            def opt(params, mode=method, model=model):
                return SecondOrder(params, lambda: Hessian(model, squared_loss, (x, y)), lr=cfg.lr_newton,
                                   damping=cfg.damping, mode=mode)
            lr = cfg.lr_newton
        train(model, supervised(squared_loss, x, y), steps=cfg.steps, optimizer=opt, lr=lr, run=run, phase=method,
              callbacks=[Every(1, lambda m, s: float((flat_params(m) - theta_s).norm()), "dist")],
              threads=cfg.threads, desc=method)
        final[method] = Hessian(model, squared_loss, (x, y)).loss_
    run.save_arrays(**{f"final_loss_{m}": np.array(final[m]) for m in METHODS}, saddle_eigenvalues=lam,
                    saddle_loss=np.array(Hessian(saddle, squared_loss, (x, y)).loss_), saddle_grad_norm=np.array(gn))


def loss_curve(run, method: str) -> np.ndarray:
    """The training loss after 0, 1, ..., steps updates: the loop's loss (measured before each update), then the final one."""
    return np.append(run.series(f"{method}/loss").values, run.arrays[f"final_loss_{method}"])


def figures(run, cfg: SfnConfig):
    a = run.arrays
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
    for m in METHODS:
        ax[0].plot(loss_curve(run, m), label=m)
        ax[1].plot(run.series(f"{m}/dist").values, label=m)
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


def claims(run, cfg: SfnConfig):
    t = {m: escape_step(loss_curve(run, m), cfg.escape_drop) for m in METHODS}
    never = cfg.steps + 1
    tg, ts = (t["gd"] if t["gd"] >= 0 else never), (t["saddle-free"] if t["saddle-free"] >= 0 else never)
    d = run.series("newton/dist").values
    note = f"steps to drop {cfg.escape_drop} below the start (-1: never in {cfg.steps}): {t}"
    return [claim("sfn-escapes-faster", "saddle-free Newton leaves the plateau in fewer steps than gradient descent",
                  float(ts), source=SOURCE, below=float(tg), unit="steps (gradient descent's escape)",
                  require=ts <= cfg.steps, note=note),
            claim("newton-attracted", "damped Newton is attracted to the saddle: it does not leave the plateau and "
                  "ends closer to the saddle than it started", float(d[-1] / d[0]), source=SOURCE,
                  below=cfg.max_distance_ratio, unit="(final / initial distance to the saddle), with Newton never escaping",
                  require=t["newton"] < 0, note=note + f"; Newton's distance {d[0]:.3g} -> {d[-1]:.3g}")]


EXPERIMENT = experiment(
    id="saddle-free-newton", title="saddle-free Newton against Newton and gradient descent", source=SOURCE,
    claim="saddle-free Newton escapes a saddle's plateau first; Newton is attracted to the saddle",
    config=SfnConfig,
    quick={"n_samples": 300, "hidden": 6, "steps": 40},
    default={"n_samples": 300, "hidden": 6, "steps": 60},
    times={"quick": "3 s", "default": "9 s", "paper": "2 min"},
    run=run, figures=figures, claims=claims)
