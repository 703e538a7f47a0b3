"""cheap-depth: deep nets need far fewer neurons than shallow ones for products of many inputs.

Paper: Lin, Tegmark, Rolnick, "Why does deep and cheap learning work so well?"
(J. Stat. Phys. 2017), Sec. III and Fig. 2: the product of n inputs takes about 4n
neurons in a deep binary tree of multiplication gates, 2^n in a shallow net.
Command: ``genlab run cheap-depth --scale quick``.
Claim: the fewest hidden neurons a trained shallow (one-hidden-layer) softplus net needs
to reach relative RMS error ``epsilon`` (0.1) on prod(x_1..x_n), x ~ U[-1, 1]^n, grows
about geometrically with n (fitted factor per extra input at least ``growth_threshold``,
1.5; the paper's construction has 2^n), while the deep tree of gates
(:func:`genlab.models.product.product_net`: 4 per gate plus 2 per carried input) reaches
ε too and needs fewer neurons than the shallow count at the largest n (shallow / deep
above ``min_ratio``, 1).

Shallow nets of all (n, width, seed) are trained at once in one masked stack
(:class:`genlab.models.stacked.MaskedWidths`); the deep nets are constructed, not trained.
The claims take the best seed's count per n; each is also counted seed by seed (k of ``n_seeds``).
Relative RMS error: RMS(f − y) / std(y) on fresh test points.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from genlab import runtime
from genlab.config import Config, check, param
from genlab.data.targets import product_data
from genlab.experiments.base import claim, experiment
from genlab.models.product import product_net
from genlab.models.stacked import MaskedWidths
from genlab.params import show_value as _csv
from genlab.plot import plt
from genlab.train import train

SOURCE = "Lin, Tegmark & Rolnick 2017, Fig. 2 and Sec. III"


@dataclass(frozen=True)
class DepthConfig(Config):
    """Defaults: the paper scale (n = 2..6, widths 2..256, 4 seeds, 20,000 Adam steps)."""

    n_values: tuple[int, ...] = param((2, 3, 4, 5, 6), ge=2, le=12, min_len=2, max_len=11, why='inputs of 2**n monomials')
    widths: tuple[int, ...] = param((2, 4, 8, 16, 32, 64, 128, 256), ge=1, le=4096, min_len=1, max_len=16)
    n_seeds: int = param(4, ge=1, le=64)
    n_train: int = param(4000, ge=1, le=10**5)
    n_test: int = param(4000, ge=1, le=10**5)
    steps: int = param(20000, ge=1, le=10**7)
    lr: float = param(0.03, gt=0, le=10)
    lam: float = param(0.1, gt=0, le=1)          # input scale of the constructed deep gates
    threads: int = param(1, ge=1, le=256, why='intra-op threads')
    # the claims' thresholds: ε is the error every net must reach; 2^n in the paper's construction
    epsilon: float = param(0.1, gt=0, lt=1)
    growth_threshold: float = param(1.5, gt=0, le=10**6)
    min_ratio: float = param(1.0, gt=0, le=10**6)

    def validate(self):
        super().validate()
        check(list(self.widths) == sorted(set(self.widths)), f"widths={_csv(self.widths)} must increase")


def run(cfg: DepthConfig, run):
    combos = [(n, w, s) for n in cfg.n_values for w in cfg.widths for s in range(cfg.n_seeds)]
    n_in, wid = [c[0] for c in combos], [c[1] for c in combos]
    n_max, dev = max(cfg.n_values), runtime.device()
    g = torch.Generator().manual_seed(cfg.seed)  # data drawn on the CPU: the same on every device
    x, y = product_data(n_in, n_max, cfg.n_train, g)
    xt, yt = product_data(n_in, n_max, cfg.n_test, g)
    model = MaskedWidths(n_in, wid, "softplus", seeds=[cfg.seed * 100003 + k for k in range(len(combos))]).to(dev)
    train(model, lambda m, _: ((m(x) - y) ** 2).mean(dim=(1, 2)).sum(), steps=cfg.steps, lr=cfg.lr,
          lr_schedule=lambda s: 0.5 * (1 + math.cos(math.pi * s / cfg.steps)), run=run, phase="shallow",
          threads=cfg.threads, desc="shallow nets")
    with torch.no_grad():
        rel = (((model(xt) - yt) ** 2).mean(dim=(1, 2)).sqrt() / yt.std(dim=(1, 2))).cpu().numpy()
    shallow_err_seeds = rel.reshape(len(cfg.n_values), len(cfg.widths), cfg.n_seeds)
    deep_err, deep_neurons = [], []
    for n in cfg.n_values:
        net, k = product_net(n, cfg.lam)
        net = net.to(dev)
        xd = (torch.rand(cfg.n_test, n, generator=g, dtype=torch.float64, device="cpu") * 2 - 1).to(dev)
        yd = xd.prod(1)
        with torch.no_grad():
            deep_err.append(float(((net(xd)[:, 0] - yd) ** 2).mean().sqrt() / yd.std()))
        deep_neurons.append(k)
    run.save_arrays(n_values=np.asarray(cfg.n_values), widths=np.asarray(cfg.widths),
                    shallow_err=shallow_err_seeds.min(axis=2), shallow_err_seeds=shallow_err_seeds,
                    deep_err=np.asarray(deep_err), deep_neurons=np.asarray(deep_neurons))


def _counts(cfg: DepthConfig, a, err=None):
    """Fewest shallow neurons reaching ε per n (censored at the largest width tried: NaN); ``err`` (n, widths):
    the errors to count on, by default the best seed's ``shallow_err``."""
    ok = (a["shallow_err"] if err is None else err) <= cfg.epsilon
    return np.array([a["widths"][np.argmax(r)] if r.any() else np.nan for r in ok], dtype=float)


def _growth(cfg: DepthConfig, a, err=None):
    c = _counts(cfg, a, err)
    # A censored count (ε not reached) exceeds the largest width: entering it as that width keeps the fit a lower bound.
    lower = np.where(np.isfinite(c), c, float(a["widths"][-1]))
    return float(2 ** np.polyfit(a["n_values"], np.log2(lower), 1)[0]), c


def _ratio(a, c):
    """Shallow / deep neurons at the largest n; a censored shallow count enters as the largest width (a lower bound)."""
    return float((c[-1] if np.isfinite(c[-1]) else float(a["widths"][-1])) / a["deep_neurons"][-1])


def _per_seed(cfg: DepthConfig, a):
    """Each trained seed alone: (its fitted growth factor, its shallow / deep ratio), arrays (seeds,); None for a run
    stored before the per-seed errors were."""
    if "shallow_err_seeds" not in a:
        return None
    fits = [_growth(cfg, a, e) for e in np.moveaxis(a["shallow_err_seeds"], 2, 0)]
    return np.array([g for g, _ in fits]), np.array([_ratio(a, c) for _, c in fits])


def figures(run, cfg: DepthConfig):
    a = run.arrays
    growth, c = _growth(cfg, a)
    fig, ax = plt.subplots(1, 2, figsize=(12, 4.3))
    for i, n in enumerate(a["n_values"]):
        ax[0].loglog(a["widths"], a["shallow_err"][i], "o-", label=f"shallow, n={n}")
        ax[0].plot(a["deep_neurons"][i], a["deep_err"][i], "k*", ms=10)
    ax[0].axhline(cfg.epsilon, color="C3", ls=":", label=f"ε = {cfg.epsilon}")
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


def claims(run, cfg: DepthConfig):
    a = run.arrays
    growth, c = _growth(cfg, a)
    deep_ok = bool(np.all(a["deep_err"] <= cfg.epsilon))
    per = _per_seed(cfg, a)
    counts = ", ".join(f"n={n}: {int(v) if np.isfinite(v) else '>' + str(a['widths'][-1])}"
                       for n, v in zip(a["n_values"], c))
    deep = ", ".join(f"n={n}: {k}" for n, k in zip(a["n_values"], a["deep_neurons"]))
    return [
        claim("shallow-exponential", "a shallow net needs a number of neurons that grows exponentially with n "
              "(2^n in the paper's construction)", growth, source=SOURCE, at_least=cfg.growth_threshold,
              unit="(fitted factor per extra input)", seeds=None if per is None else per[0] >= cfg.growth_threshold,
              note=f"shallow counts {counts} (trained, ε={cfg.epsilon}; a censored count enters the fit as the "
                   "largest width, a lower bound); trained counts also reflect the optimizer, not only expressivity"),
        claim("deep-cheaper", "a deep net (binary tree of 4-neuron gates, about 4n neurons) reaches the same error "
              "with fewer neurons than a shallow one at the largest n", _ratio(a, c),
              source=SOURCE, above=cfg.min_ratio, seeds=None if per is None else (per[1] > cfg.min_ratio) & deep_ok,
              unit=f"(shallow / deep neurons at n={a['n_values'][-1]}), with deep error <= ε", require=deep_ok,
              note=f"deep counts {deep}; deep errors {np.round(a['deep_err'], 5).tolist()} at λ={cfg.lam}"
                   + ("; the shallow count is censored, so the ratio is a lower bound" if not np.isfinite(c[-1]) else "")),
    ]


EXPERIMENT = experiment(
    id="cheap-depth", title="Products of n inputs: deep nets need far fewer neurons", source=SOURCE,
    claim="shallow neuron count grows ~geometrically with n; the deep tree needs about 4n",
    config=DepthConfig,
    quick={"n_values": (2, 3, 4), "widths": (2, 4, 8, 16, 32), "n_seeds": 1, "n_train": 500, "n_test": 2000,
           "steps": 1500},
    default={"n_values": (2, 3, 4, 5), "widths": (2, 4, 8, 16, 32, 64), "n_seeds": 1, "n_train": 1000,
             "steps": 3000},
    times={"quick": "20 s", "default": "1 min", "paper": "1 h"},
    run=run, figures=figures, claims=claims)
