"""Cheap learning: multiplication from 4 neurons, and depth makes products of many inputs cheap.

Paper: Lin, Tegmark, Rolnick, "Why does deep and cheap learning work so well?"
(J. Stat. Phys. 2017), Sec. III, Fig. 2 (the multiplication gate) and the
product of n inputs (deep: about 4n neurons; shallow: 2^n).

cheap-multiplication. Command: ``genlab run cheap-multiplication --scale quick``
(about 1 s). Claim: the 4-neuron softplus gate's error on [-1, 1]^2 shrinks like
λ² as the input scale λ shrinks: the fitted log-log slope lies in [1.8, 2.2].
The gate's error is σ''''(0) xy (x² + y²) λ² / (6 σ''(0)) to leading order
(−xy(x²+y²)λ²/12 for softplus); in float32 the cancellation's round-off, of
order eps/λ², takes over for small λ, which the figure shows too.

cheap-depth. Command: ``genlab run cheap-depth --scale quick`` (about 20 s;
default about 3 min). Claim: the fewest hidden neurons a trained shallow
(one-hidden-layer) softplus net needs to reach relative RMS error ε on
prod(x_1..x_n), x ~ U[-1, 1]^n, grows about geometrically with n (fitted factor
per extra input >= 1.5; the paper's construction has 2^n), while the deep
binary tree of gates needs 4 per gate plus 2 per carried input (about 4n) and
is below the shallow count at the largest n. Shallow nets of all (n, width,
seed) are trained at once in one masked stack; the deep nets are constructed.
Relative RMS error: RMS(f − y) / std(y) on fresh test points.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from genlab.config import Config, check
from genlab.losses import stacked_mse
from genlab.models.stacked import StackedMLP
from genlab.data.targets import product_data
from genlab.models.product import product_net
from genlab.models.stacked import MaskedWidths
from genlab.experiments.base import Claim, Experiment, register, verdict
from genlab.train import train
from genlab.plot import plt


SOURCE = "Lin, Tegmark & Rolnick 2017, Fig. 2 and Sec. III"


@dataclass(frozen=True)
class MultConfig(Config):
    lam_min: float = 1e-3
    lam_max: float = 1.0
    n_lam: int = 25
    fit_max: float = 0.1      # fit the slope on λ <= fit_max (the asymptotic regime)
    grid: int = 101           # test points per axis on [-1, 1]^2
    slope_range: tuple[float, float] = (1.8, 2.2)
    train_steps: int = 2000   # also train 4-neuron nets from random inits (0: skip)
    n_trained: int = 8
    lr: float = 0.01

    def validate(self):
        super().validate()
        check(0 < self.lam_min < self.fit_max <= self.lam_max, "need 0 < lam_min < fit_max <= lam_max")
        check(self.n_lam >= 4 and self.grid >= 3, "n_lam >= 4 and grid >= 3")
        check(self.train_steps >= 0 and self.n_trained >= 1 and self.lr > 0, "train_steps >= 0, n_trained >= 1, lr > 0")


def run_mult(cfg: MultConfig, run):
    lams = np.geomspace(cfg.lam_min, cfg.lam_max, cfg.n_lam)
    g = torch.linspace(-1, 1, cfg.grid, dtype=torch.float64)
    x = torch.cartesian_prod(g, g)
    y = x[:, 0] * x[:, 1]
    err = np.zeros((2, len(lams)))
    for i, lam in enumerate(lams):
        net, _ = product_net(2, float(lam))
        with torch.no_grad():
            err[0, i] = float((net(x)[:, 0] - y).abs().max())
            err[1, i] = float((net.float()(x.float())[:, 0].double() - y).abs().max())
    run.save_arrays(lams=lams, err64=err[0], err32=err[1])
    if cfg.train_steps:
        # Can gradient descent find a 4-neuron multiplier? Relative RMS error RMS(f - xy) / std(xy) per seed.
        xf, yf = x.float(), y.float()[:, None]
        net = StackedMLP(cfg.n_trained, (2, 4, 1), "softplus", seeds=[cfg.seed * 1000 + k for k in range(cfg.n_trained)])
        train(net, lambda m, _: stacked_mse(m(xf), yf), steps=cfg.train_steps, lr=cfg.lr,
              lr_schedule=lambda s: 0.5 * (1 + math.cos(math.pi * s / cfg.train_steps)), run=run, phase="trained_gate",
              threads=1, desc="4-neuron nets")
        with torch.no_grad():
            rel = ((net(xf) - yf) ** 2).mean(dim=(1, 2)).sqrt() / yf.std()
        run.save_arrays(trained_rel_err=rel.numpy())


def _slope(cfg: MultConfig, a):
    sel = a["lams"] <= cfg.fit_max * (1 + 1e-9)
    return np.polyfit(np.log(a["lams"][sel]), np.log(a["err64"][sel]), 1)


def figures_mult(run, cfg: MultConfig):
    a = run.arrays
    k, c = _slope(cfg, a)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.loglog(a["lams"], a["err64"], "o-", label="4-neuron gate, float64")
    ax.loglog(a["lams"], a["err32"], "x--", alpha=0.7, label="same gate, float32 (round-off ~ eps/λ²)")
    ax.loglog(a["lams"], np.exp(c) * a["lams"] ** k, "k:", label=f"fit on λ <= {cfg.fit_max}: slope {k:.3f}")
    ax.loglog(a["lams"], a["lams"] ** 2 / 6, "r-", alpha=0.4, label="theory λ²/6 (max over [-1,1]²)")
    ax.set_xlabel("input scale λ")
    ax.set_ylabel("max |gate(x, y) − xy|")
    ax.set_title("softplus multiplication gate: error ~ λ²")
    if "trained_rel_err" in a:
        ax.text(0.02, 0.97, f"trained 4-neuron nets ({len(a['trained_rel_err'])} seeds): best relative RMS error "
                f"{a['trained_rel_err'].min():.3f}", transform=ax.transAxes, va="top", fontsize=8)
    ax.legend(fontsize=8)
    run.save_figure(fig, "multiplication_gate")


def claims_mult(run, cfg: MultConfig):
    k, _ = _slope(cfg, run.arrays)
    lo, hi = cfg.slope_range
    return [Claim("gate-lambda2", "the multiplication gate's error shrinks like λ² as the input scale λ shrinks",
                  SOURCE, float(k), f"log-log slope in [{lo}, {hi}]", verdict(bool(lo <= k <= hi)),
                  f"fit on {int((run.arrays['lams'] <= cfg.fit_max * (1 + 1e-9)).sum())} values of λ in "
                  f"[{cfg.lam_min:g}, {cfg.fit_max:g}], float64; max error at λ={cfg.lam_max:g}: {run.arrays['err64'][-1]:.3g}"
                  + (f"; 4-neuron nets trained from random inits reach relative RMS error "
                     f"{run.arrays['trained_rel_err'].min():.3g} (best of {len(run.arrays['trained_rel_err'])})"
                     if "trained_rel_err" in run.arrays else ""))]


@dataclass(frozen=True)
class DepthConfig(Config):
    n_values: tuple[int, ...] = (2, 3, 4, 5)
    widths: tuple[int, ...] = (2, 4, 8, 16, 32, 64)
    n_seeds: int = 1
    n_train: int = 1000
    n_test: int = 4000
    steps: int = 3000
    lr: float = 0.03
    epsilon: float = 0.1      # the set relative RMS error
    lam: float = 0.1          # input scale of the constructed deep gates
    growth_threshold: float = 1.5
    threads: int = 1

    def validate(self):
        super().validate()
        check(len(self.n_values) >= 2 and min(self.n_values) >= 2, "n_values needs at least two n >= 2")
        check(list(self.widths) == sorted(set(self.widths)) and self.widths[0] >= 1, "widths must increase")
        check(self.n_seeds >= 1 and self.n_train > 0 and self.n_test > 0 and self.steps > 0, "positive sizes")
        check(0 < self.epsilon < 1 and 0 < self.lam <= 1, "0 < epsilon < 1 and 0 < lam <= 1")


def run_depth(cfg: DepthConfig, run):
    combos = [(n, w, s) for n in cfg.n_values for w in cfg.widths for s in range(cfg.n_seeds)]
    n_in, wid = [c[0] for c in combos], [c[1] for c in combos]
    n_max = max(cfg.n_values)
    g = torch.Generator().manual_seed(cfg.seed)
    x, y = product_data(n_in, n_max, cfg.n_train, g)
    xt, yt = product_data(n_in, n_max, cfg.n_test, g)
    model = MaskedWidths(n_in, wid, "softplus", seeds=[cfg.seed * 100003 + k for k in range(len(combos))])
    train(model, lambda m, _: ((m(x) - y) ** 2).mean(dim=(1, 2)).sum(), steps=cfg.steps, lr=cfg.lr,
          lr_schedule=lambda s: 0.5 * (1 + math.cos(math.pi * s / cfg.steps)), run=run, phase="shallow",
          threads=cfg.threads, desc="shallow nets")
    with torch.no_grad():
        rel = (((model(xt) - yt) ** 2).mean(dim=(1, 2)).sqrt() / yt.std(dim=(1, 2))).numpy()
    shallow_err = rel.reshape(len(cfg.n_values), len(cfg.widths), cfg.n_seeds).min(axis=2)
    deep_err, deep_neurons = [], []
    for n in cfg.n_values:
        net, k = product_net(n, cfg.lam)
        xd = torch.rand(cfg.n_test, n, generator=g, dtype=torch.float64) * 2 - 1
        yd = xd.prod(1)
        with torch.no_grad():
            deep_err.append(float(((net(xd)[:, 0] - yd) ** 2).mean().sqrt() / yd.std()))
        deep_neurons.append(k)
    run.save_arrays(n_values=np.asarray(cfg.n_values), widths=np.asarray(cfg.widths), shallow_err=shallow_err,
                    deep_err=np.asarray(deep_err), deep_neurons=np.asarray(deep_neurons))


def _counts(cfg: DepthConfig, a):
    """Fewest shallow neurons reaching ε per n (censored at the largest width tried: NaN)."""
    ok = a["shallow_err"] <= cfg.epsilon
    return np.array([a["widths"][np.argmax(r)] if r.any() else np.nan for r in ok], dtype=float)


def _growth(cfg: DepthConfig, a):
    c = _counts(cfg, a)
    # A censored count (ε not reached) exceeds the largest width: entering it as that width keeps the fit a lower bound.
    lower = np.where(np.isfinite(c), c, float(a["widths"][-1]))
    return float(2 ** np.polyfit(a["n_values"], np.log2(lower), 1)[0]), c


def figures_depth(run, cfg: DepthConfig):
    a = run.arrays
    growth, c = _growth(cfg, a)
    fig, ax = plt.subplots(1, 2, figsize=(12, 4.3))
    for i, n in enumerate(a["n_values"]):
        ax[0].loglog(a["widths"], a["shallow_err"][i], "o-", label=f"shallow, n={n}")
        ax[0].plot(a["deep_neurons"][i], a["deep_err"][i], "k*", ms=10)
    ax[0].axhline(cfg.epsilon, color="r", ls=":", label=f"ε = {cfg.epsilon}")
    ax[0].set_xticks(a["widths"], [str(w) for w in a["widths"]])
    ax[0].minorticks_off()
    ax[0].set_xlabel("hidden neurons")
    ax[0].set_ylabel("relative RMS error (best seed)")
    ax[0].set_title("trained shallow nets (lines) vs constructed deep nets (stars)")
    ax[0].legend(fontsize=8)
    n = a["n_values"]
    cens = ~np.isfinite(c)
    ax[1].semilogy(n[~cens], c[~cens], "o-", label=f"shallow (trained), ×{growth:.2f} per input")
    if cens.any():
        ax[1].semilogy(n[cens], np.full(cens.sum(), float(a["widths"][-1])), "^", color="C0",
                       label=f"shallow: not reached with {a['widths'][-1]} (lower bound)")
    ax[1].semilogy(n, a["deep_neurons"], "s-", label="deep (constructed)")
    ax[1].semilogy(n, 2.0 ** n, "k:", label="2^n")
    ax[1].set_xlabel("number of inputs n")
    ax[1].set_ylabel(f"neurons to reach ε = {cfg.epsilon}")
    ax[1].legend(fontsize=8)
    run.save_figure(fig, "depth_vs_shallow")


def claims_depth(run, cfg: DepthConfig):
    a = run.arrays
    growth, c = _growth(cfg, a)
    deep_ok = bool(np.all(a["deep_err"] <= cfg.epsilon))
    last = c[-1] if np.isfinite(c[-1]) else float(a["widths"][-1])  # censored: the count is even larger
    fewer = bool(last > a["deep_neurons"][-1])
    counts = ", ".join(f"n={n}: {int(v) if np.isfinite(v) else '>' + str(a['widths'][-1])}"
                       for n, v in zip(a["n_values"], c))
    deep = ", ".join(f"n={n}: {k}" for n, k in zip(a["n_values"], a["deep_neurons"]))
    return [
        Claim("shallow-exponential", "a shallow net needs a number of neurons that grows exponentially with n "
              "(2^n in the paper's construction)", SOURCE, growth, f"fitted factor per extra input >= {cfg.growth_threshold}",
              verdict(bool(growth >= cfg.growth_threshold)),
              f"shallow counts {counts} (trained, ε={cfg.epsilon}; a censored count enters the fit as the "
              "largest width, a lower bound); trained counts also reflect the optimizer, not only expressivity"),
        Claim("deep-cheaper", "a deep net (binary tree of 4-neuron gates, about 4n neurons) reaches the same error "
              "with fewer neurons than a shallow one at the largest n", SOURCE,
              float(last / a["deep_neurons"][-1]),
              f"shallow / deep neurons at n={a['n_values'][-1]} > 1, with deep error <= ε",
              verdict(bool(fewer and deep_ok)),
              f"deep counts {deep}; deep errors {np.round(a['deep_err'], 5).tolist()} at λ={cfg.lam}"
              + ("; the shallow count is censored, so the ratio is a lower bound" if not np.isfinite(c[-1]) else "")),
    ]


register(Experiment(
    id="cheap-multiplication", family="cheap-learning", title="Multiplication from 4 neurons, error ~ λ²",
    source=SOURCE, claim="the 4-neuron gate's error shrinks like λ² (fitted slope in [1.8, 2.2])",
    config=MultConfig,
    scales={"quick": MultConfig(n_lam=13, grid=41, train_steps=1000), "default": MultConfig(),
            "paper": MultConfig(n_lam=49, grid=201, train_steps=5000, n_trained=32)},
    times={"quick": "3 s", "default": "5 s", "paper": "1 min"},
    run=run_mult, figures=figures_mult, claims=claims_mult))

register(Experiment(
    id="cheap-depth", family="cheap-learning", title="Products of n inputs: deep nets need far fewer neurons",
    source=SOURCE, claim="shallow neuron count grows ~geometrically with n; the deep tree needs about 4n",
    config=DepthConfig,
    scales={"quick": DepthConfig(n_values=(2, 3, 4), widths=(2, 4, 8, 16, 32), n_seeds=1, n_train=500,
                                 n_test=2000, steps=1500),
            "default": DepthConfig(),
            "paper": DepthConfig(n_values=(2, 3, 4, 5, 6), widths=(2, 4, 8, 16, 32, 64, 128, 256), n_seeds=4,
                                 n_train=4000, steps=20000)},
    times={"quick": "20 s", "default": "3 min", "paper": "1 h"},
    run=run_depth, figures=figures_depth, claims=claims_depth))
