"""cheap-multiplication: four softplus neurons multiply two numbers, with error ~ λ².

Paper: Lin, Tegmark, Rolnick, "Why does deep and cheap learning work so well?"
(J. Stat. Phys. 2017), Sec. III, Fig. 2 (the multiplication gate).
Command: ``genlab run cheap-multiplication --scale quick``.
Claim: the 4-neuron softplus gate's max error on [-1, 1]² shrinks like λ² as the input
scale λ shrinks: the log-log slope fitted on λ <= ``fit_max`` lies in ``slope_range``
([1.8, 2.2]).

The gate (:func:`genlab.models.product.product_net` with n = 2) has error
σ''''(0) xy (x² + y²) λ² / (6 σ''(0)) to leading order (−xy(x²+y²)λ²/12 for softplus);
in float32 the cancellation's round-off, of order eps/λ², takes over for small λ, which
the figure shows too. Also trained: ``n_trained`` 4-neuron nets from random inits, to see
whether gradient descent finds a multiplier (relative RMS error RMS(f − xy) / std(xy)).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from genlab import runtime
from genlab.config import Config, check, param
from genlab.experiments.base import claim, experiment
from genlab.losses import stacked_mse
from genlab.models.product import product_net
from genlab.models.stacked import StackedMLP
from genlab.params import show_value as _csv
from genlab.plot import plt
from genlab.train import train

SOURCE = "Lin, Tegmark & Rolnick 2017, Fig. 2 and Sec. III"


@dataclass(frozen=True)
class MultConfig(Config):
    """Defaults: the paper scale (49 values of λ, a 201² grid, 32 trained nets of 5,000 steps)."""

    lam_min: float = param(1e-3, gt=0, le=1)
    lam_max: float = param(1.0, gt=0, le=1)
    n_lam: int = param(49, ge=4, le=1000, why='each λ evaluates the grid: 1000 x 4001**2 points take minutes')
    fit_max: float = param(0.1, gt=0, le=1)      # fit the slope on λ <= fit_max (the asymptotic regime)
    # test points per axis on [-1, 1]^2
    grid: int = param(201, ge=3, le=4001, why='grid**2 test points: 4001**2 doubles are 128 MB an array')
    train_steps: int = param(5000, ge=0, le=10**7)   # also train 4-neuron nets from random inits (0: skip)
    n_trained: int = param(32, ge=1, le=1000)
    lr: float = param(0.01, gt=0, le=10)
    # the claim's threshold: the leading-order error is ∝ λ²
    slope_range: tuple[float, float] = param((1.8, 2.2), ge=-100, le=100, min_len=2, max_len=2)

    def validate(self):
        super().validate()
        check(self.lam_min < self.fit_max <= self.lam_max,
              f"lam_min={self.lam_min:g}, fit_max={self.fit_max:g}, lam_max={self.lam_max:g}: need lam_min < fit_max <= lam_max")
        check(self.slope_range[0] <= self.slope_range[1],
              f"slope_range={_csv(self.slope_range)} is reversed; give lo,hi with lo <= hi (e.g. slope_range=1.8,2.2)")


def run(cfg: MultConfig, run):
    lams = np.geomspace(cfg.lam_min, cfg.lam_max, cfg.n_lam)
    dev = runtime.device()
    g = torch.linspace(-1, 1, cfg.grid, dtype=torch.float64, device=dev)
    x = torch.cartesian_prod(g, g)
    y = x[:, 0] * x[:, 1]
    err = np.zeros((2, len(lams)))
    for i, lam in enumerate(lams):
        net, _ = product_net(2, float(lam))
        net = net.to(dev)
        with torch.no_grad():
            err[0, i] = float((net(x)[:, 0] - y).abs().max())
            err[1, i] = float((net.float()(x.float())[:, 0].double() - y).abs().max())
    run.save_arrays(lams=lams, err64=err[0], err32=err[1])
    if cfg.train_steps:
        # Can gradient descent find a 4-neuron multiplier? Relative RMS error RMS(f - xy) / std(xy) per seed.
        xf, yf = x.float(), y.float()[:, None]
        net = StackedMLP(cfg.n_trained, (2, 4, 1), "softplus", seeds=[cfg.seed * 1000 + k for k in range(cfg.n_trained)]).to(dev)
        train(net, lambda m, _: stacked_mse(m(xf), yf), steps=cfg.train_steps, lr=cfg.lr,
              lr_schedule=lambda s: 0.5 * (1 + math.cos(math.pi * s / cfg.train_steps)), run=run, phase="trained_gate",
              threads=1, desc="4-neuron nets")
        with torch.no_grad():
            rel = ((net(xf) - yf) ** 2).mean(dim=(1, 2)).sqrt() / yf.std()
        run.save_arrays(trained_rel_err=rel.cpu().numpy())


def _fitted(cfg: MultConfig, a):
    """λ values in the fit (λ <= fit_max) and the log-log line (slope, intercept) through their errors."""
    sel = a["lams"] <= cfg.fit_max * (1 + 1e-9)
    return sel, np.polyfit(np.log(a["lams"][sel]), np.log(a["err64"][sel]), 1)


def figures(run, cfg: MultConfig):
    a = run.arrays
    _, (k, c) = _fitted(cfg, a)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.loglog(a["lams"], a["err64"], "o-", label="4-neuron gate, float64")
    ax.loglog(a["lams"], a["err32"], "x--", alpha=0.7, label="same gate, float32 (round-off ~ eps/λ²)")
    ax.loglog(a["lams"], np.exp(c) * a["lams"] ** k, "k:", label=f"fit on λ <= {cfg.fit_max}: slope {k:.3f}")
    ax.loglog(a["lams"], a["lams"] ** 2 / 6, "-", color="C3", alpha=0.4, label="theory λ²/6 (max over [-1,1]²)")
    ax.set_xlabel("input scale λ")
    ax.set_ylabel("max |gate(x, y) − xy|")
    ax.set_title("softplus multiplication gate: error ~ λ²")
    if "trained_rel_err" in a:
        ax.text(0.02, 0.97, f"trained 4-neuron nets ({len(a['trained_rel_err'])} seeds): best relative RMS error "
                f"{a['trained_rel_err'].min():.3f}", transform=ax.transAxes, va="top", fontsize=8)
    ax.legend(fontsize=8)
    run.save_figure(fig, "multiplication_gate")


def claims(run, cfg: MultConfig):
    a = run.arrays
    sel, (k, _) = _fitted(cfg, a)
    trained = (f"; 4-neuron nets trained from random inits reach relative RMS error "
               f"{a['trained_rel_err'].min():.3g} (best of {len(a['trained_rel_err'])})" if "trained_rel_err" in a else "")
    return [claim("gate-lambda2", "the multiplication gate's error shrinks like λ² as the input scale λ shrinks",
                  float(k), source=SOURCE, within=cfg.slope_range, unit="(log-log slope of the max error against λ)",
                  note=f"fit on {int(sel.sum())} values of λ in [{cfg.lam_min:g}, {cfg.fit_max:g}], float64; "
                       f"max error at λ={cfg.lam_max:g}: {a['err64'][-1]:.3g}" + trained)]


EXPERIMENT = experiment(
    id="cheap-multiplication", title="Multiplication from 4 neurons, error ~ λ²", source=SOURCE,
    claim="the 4-neuron gate's error shrinks like λ² (fitted slope in [1.8, 2.2])",
    config=MultConfig,
    quick={"n_lam": 13, "grid": 41, "train_steps": 1000, "n_trained": 8},
    default={"n_lam": 25, "grid": 101, "train_steps": 2000, "n_trained": 8},
    times={"quick": "3 s", "default": "15 s", "paper": "1 min"},
    run=run, figures=figures, claims=claims)
