"""Memorization (Zhang et al. 2017, Fig. 1): nets fit random labels and random images; fitting slows and
test error rises with label corruption.

Paper: Zhang, Bengio, Hardt, Recht, Vinyals, "Understanding deep learning requires
rethinking generalization", ICLR 2017, Fig. 1a (learning curves under randomization),
Fig. 1b (time to fit against label corruption), Fig. 1c (test error against corruption).
Commands: ``genlab run mem-randomization --scale quick`` (about 20 s on 2 busy CPU cores),
``genlab run mem-convergence --scale quick`` (about 55 s), ``genlab run mem-test-error --scale quick``
(about 60 s); each takes ``dataset=mnist|cifar10|fashion-mnist|mnist1d`` and is also registered
for CIFAR-10 (``...-cifar10``), because a claim seen only on MNIST should be checked on harder data.
Claims: every randomization reaches 100 % training accuracy; the epochs to fit grow with the
corruption level p (slowdown factor reported at p = 1); test error rises with p and reaches chance
(90 %) at p = 1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genlab.config import check
from genlab.data.corruptions import CORRUPTIONS
from genlab.experiments._mem import PAPER, MemConfig, check_archs, check_levels, corrupted, fit, load
from genlab.probes.statistics import spearman
from genlab.experiments.base import Claim, Experiment, register, verdict
from genlab.plot import plt


LEVELS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass(frozen=True)
class RandomizationConfig(MemConfig):
    arch: str = "mlp1x512"
    corruptions: tuple[str, ...] = CORRUPTIONS

    def validate(self):
        super().validate()
        check_archs([self.arch])
        bad = [c for c in self.corruptions if c not in CORRUPTIONS]
        check(not bad and len(self.corruptions) > 0, f"unknown corruption {bad[:1]}; choose from: {', '.join(CORRUPTIONS)}")


@dataclass(frozen=True)
class CorruptionConfig(MemConfig):
    archs: tuple[str, ...] = ("mlp1x512", "mlp3x512")
    levels: tuple[float, ...] = LEVELS

    def validate(self):
        super().validate()
        check_archs(self.archs)
        check_levels(self.levels)
        check(len(self.archs) > 0 and len(self.levels) > 0, "archs and levels must not be empty")


# ---- Fig. 1a ---------------------------------------------------------------
def run_randomization(cfg: RandomizationConfig, run):
    ds = load(cfg)
    out = {}
    for kind in cfg.corruptions:
        r = fit(run, kind, cfg, cfg.arch, corrupted(ds, kind, 0.0, cfg.seed), cfg.seed)
        out.update({f"loss_{kind}": r["loss"], f"loss_steps_{kind}": r["loss_steps"],
                    f"acc_{kind}": r["acc"], f"acc_steps_{kind}": r["acc_steps"]})
        for k in ("epoch_100", "epoch_999", "final_acc", "final_test_err"):
            run.log(k, r[k], key=kind)
    run.save_arrays(**out)


def figures_randomization(run, cfg: RandomizationConfig):
    a = run.arrays
    fig, ax = plt.subplots(1, 2, figsize=(12, 4))
    for kind in cfg.corruptions:
        ax[0].plot(a[f"loss_steps_{kind}"], a[f"loss_{kind}"], label=kind.replace("_", " "), lw=1)
        ax[1].plot(a[f"acc_steps_{kind}"], a[f"acc_{kind}"], label=kind.replace("_", " "))
    ax[0].set(xlabel="step", ylabel="training loss (cross-entropy)", yscale="log",
              title=f"{cfg.arch} on {cfg.n_train or 'all'} {cfg.dataset} images (Fig. 1a)")
    ax[1].set(xlabel="step", ylabel="training accuracy", title="fit to 100 % (stops there)")
    ax[1].axhline(1.0, color="k", lw=0.5)
    ax[0].legend()
    run.save_figure(fig, "randomization")


def claims_randomization(run, cfg: RandomizationConfig):
    acc = {k: run.scalar("final_acc", k) for k in cfg.corruptions}
    e100 = {k: run.scalar("epoch_100", k) for k in cfg.corruptions}
    e999 = {k: run.scalar("epoch_999", k) for k in cfg.corruptions}
    src = f"{PAPER}, Fig. 1a"
    n100 = sum(a >= 1.0 for a in acc.values())
    n999 = sum(a >= 0.999 for a in acc.values())
    fmt = lambda d: ", ".join(f"{k}: {v:g}" for k, v in d.items())  # noqa: E731
    return [
        Claim("mem-fit-100", "true labels, random labels, shuffled pixels, random pixels and Gaussian images "
              "all reach 100 % training accuracy", src, min(acc.values()), f"100 % in all {len(acc)} settings",
              verdict(n100 == len(acc)), f"epochs to 100 %: {fmt(e100)}; final accuracy: {fmt(acc)}"),
        Claim("mem-fit-99.9", "each setting reaches 99.9 % training accuracy (near-duplicates with different "
              "random labels take the last epochs)", src, float(n999) / len(acc), f"99.9 % in all {len(acc)} settings",
              verdict(n999 == len(acc)), f"epochs to 99.9 %: {fmt(e999)}"),
    ]


# ---- Fig. 1b and 1c: a grid of corruption levels x architectures --------------
def run_grid(cfg: CorruptionConfig, run):
    ds = load(cfg)
    shape = (len(cfg.archs), len(cfg.levels))
    epochs, steps, err, acc = (np.full(shape, np.nan) for _ in range(4))
    for i, arch in enumerate(cfg.archs):
        for j, p in enumerate(cfg.levels):
            r = fit(run, f"{arch}-p{p:g}", cfg, arch, corrupted(ds, "true", p, cfg.seed), cfg.seed)
            acc[i, j], err[i, j] = r["final_acc"], r["final_test_err"]
            epochs[i, j] = r["epoch_100"]
            steps[i, j] = r["epoch_100"] * r["per_epoch"]
            key = f"{arch}/p={p:g}"
            for name, v in (("epochs_to_fit", epochs[i, j]), ("steps_to_fit", steps[i, j]),
                            ("test_error", err[i, j]), ("final_acc", acc[i, j])):
                run.log(name, v, key=key)
    # Unkeyed means over the grid: for a one-point grid (a sweep's run) they are that point's values.
    for name, v in (("epochs_to_fit", epochs), ("steps_to_fit", steps), ("test_error", err), ("final_acc", acc)):
        run.log(name, float(np.mean(v)))
    run.save_arrays(levels=np.asarray(cfg.levels), epochs_to_fit=epochs, steps_to_fit=steps, test_error=err,
                    final_acc=acc)


def figures_convergence(run, cfg: CorruptionConfig):
    a = run.arrays
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    for i, arch in enumerate(cfg.archs):
        ax[0].plot(a["levels"], a["steps_to_fit"][i], "o-", label=arch)
        ax[1].plot(a["levels"], a["steps_to_fit"][i] / a["steps_to_fit"][i][0], "o-", label=arch)
    ax[0].set(xlabel="label corruption p", ylabel="steps to 100 % training accuracy",
              title=f"{cfg.n_train or 'all'} {cfg.dataset} images (Fig. 1b)")
    ax[1].set(xlabel="label corruption p", ylabel="time to fit / time at p = 0", title="slowdown")
    ax[0].legend()
    run.save_figure(fig, "convergence")


def claims_convergence(run, cfg: CorruptionConfig):
    a = run.arrays
    t, lv = a["steps_to_fit"], a["levels"]
    rho = [spearman(lv, t[i]) for i in range(len(cfg.archs))]
    have = 0.0 in cfg.levels and 1.0 in cfg.levels
    factor = [float(t[i][list(cfg.levels).index(1.0)] / t[i][list(cfg.levels).index(0.0)]) if have else np.nan
              for i in range(len(cfg.archs))]
    unfit = int(np.isnan(t).sum())
    src = f"{PAPER}, Fig. 1b"
    ok_rho = None if unfit or not np.isfinite(rho).all() else min(rho) >= 0.8
    ok_f = None if unfit or not have else min(factor) > 1.5
    note = f"{unfit} runs did not reach 100 % in {cfg.max_epochs} epochs; " if unfit else ""
    return [
        Claim("mem-slowdown-order", "time to fit grows with the label corruption level", src,
              float(np.nanmin(rho)) if np.isfinite(rho).any() else None, "Spearman(p, time) >= 0.8 for every arch",
              verdict(ok_rho), note + "Spearman per arch: " + ", ".join(f"{a_}: {r:.2f}" for a_, r in zip(cfg.archs, rho))),
        Claim("mem-slowdown-factor", "fitting random labels (p = 1) takes longer than true labels (a small "
              "constant factor in the paper)", src, float(np.nanmin(factor)) if have else None,
              "time(p=1) / time(p=0) > 1.5 for every arch", verdict(ok_f),
              note + "factor per arch: " + ", ".join(f"{a_}: {f:.2f}" for a_, f in zip(cfg.archs, factor))),
    ]


def figures_test_error(run, cfg: CorruptionConfig):
    a = run.arrays
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, arch in enumerate(cfg.archs):
        ax.plot(a["levels"], a["test_error"][i], "o-", label=arch)
    ax.axhline(0.9, color="k", ls="--", lw=0.8, label="chance (90 %)")
    ax.set(xlabel="label corruption p", ylabel="test error at 100 % training accuracy", ylim=(0, 1),
           title=f"{cfg.n_train or 'all'} {cfg.dataset} images (Fig. 1c)")
    ax.legend()
    run.save_figure(fig, "test_error")


def claims_test_error(run, cfg: CorruptionConfig):
    a = run.arrays
    err, lv = a["test_error"], a["levels"]
    rho = [spearman(lv, err[i]) for i in range(len(cfg.archs))]
    src = f"{PAPER}, Fig. 1c"
    n_test = max(1, cfg.n_test or 10000)
    margin = max(0.03, 3 * np.sqrt(0.9 * 0.1 / n_test))  # 3 binomial standard deviations around chance
    at1 = [float(err[i][list(cfg.levels).index(1.0)]) for i in range(len(cfg.archs))] if 1.0 in cfg.levels else []
    return [
        Claim("mem-test-error-rises", "test error rises with the label corruption level", src,
              float(np.nanmin(rho)) if np.isfinite(rho).any() else None, "Spearman(p, test error) >= 0.9 for every arch",
              verdict(None if not np.isfinite(rho).all() else min(rho) >= 0.9),
              "test error per arch and p: " + "; ".join(f"{a_}: {np.round(err[i], 3).tolist()}" for i, a_ in enumerate(cfg.archs))),
        Claim("mem-test-error-chance", "at p = 1 the test error is at chance (90 % for 10 classes)", src,
              max(abs(e - 0.9) for e in at1) if at1 else None, f"|error - 0.9| <= {margin:.3f} (3 binomial sd)",
              verdict(None if not at1 else max(abs(e - 0.9) for e in at1) <= margin),
              f"test error at p = 1: {at1}" if at1 else "p = 1 not among the levels"),
    ]


def _register(suffix: str, dataset: str, times: dict):
    quick = dict(dataset=dataset, n_train=500, n_test=1000)
    default = dict(dataset=dataset, n_train=2000, n_test=2000)
    paper = dict(dataset=dataset, n_train=0, n_test=0)
    register(Experiment(
        id=f"mem-randomization{suffix}", family="memorization", title=f"Fitting random labels and random pixels ({dataset})",
        source=f"{PAPER}, Fig. 1a", claim="true labels, random labels, shuffled/random pixels and Gaussian images all reach 100 % training accuracy",
        config=RandomizationConfig,
        scales={"quick": RandomizationConfig(**quick), "default": RandomizationConfig(**default),
                "paper": RandomizationConfig(**paper, arch="inception", lr=0.1, max_epochs=500)},
        times=times["rand"], run=run_randomization, figures=figures_randomization, claims=claims_randomization))
    register(Experiment(
        id=f"mem-convergence{suffix}", family="memorization", title=f"Time to fit against label corruption ({dataset})",
        source=f"{PAPER}, Fig. 1b", claim="time to reach 100 % training accuracy grows with label corruption p",
        config=CorruptionConfig,
        # quick: 3 levels x 2 archs (6 fits) to stay near a minute; default: all 6 levels, 3 archs
        scales={"quick": CorruptionConfig(**quick, levels=(0.0, 0.5, 1.0)),
                "default": CorruptionConfig(**default, archs=("mlp1x512", "mlp3x512", "alexnet"), width=0.5),
                "paper": CorruptionConfig(**paper, archs=("mlp1x512", "mlp3x512", "alexnet", "inception"), max_epochs=500)},
        times=times["conv"], run=run_grid, figures=figures_convergence, claims=claims_convergence))
    register(Experiment(
        id=f"mem-test-error{suffix}", family="memorization", title=f"Test error against label corruption ({dataset})",
        source=f"{PAPER}, Fig. 1c", claim="test error at zero training error rises with p and reaches chance at p = 1",
        config=CorruptionConfig,
        scales={"quick": CorruptionConfig(**quick, archs=("mlp1x512",)), "default": CorruptionConfig(**default),
                "paper": CorruptionConfig(**paper, archs=("mlp1x512", "mlp3x512", "alexnet", "inception"), max_epochs=500)},
        times=times["err"], run=run_grid, figures=figures_test_error, claims=claims_test_error))


# quick times: measured on the shared 2-core machine under heavy contention (less on a quiet one)
_register("", "mnist", {"rand": {"quick": "20 s", "default": "2 min", "paper": "days (GPU)"},
                        "conv": {"quick": "55 s", "default": "30 min", "paper": "weeks (GPU)"},
                        "err": {"quick": "60 s", "default": "10 min", "paper": "weeks (GPU)"}})
_register("-cifar10", "cifar10", {"rand": {"quick": "55 s", "default": "5 min", "paper": "days (GPU)"},
                                  "conv": {"quick": "90 s", "default": "1 h", "paper": "weeks (GPU)"},
                                  "err": {"quick": "25 s", "default": "15 min", "paper": "weeks (GPU)"}})
