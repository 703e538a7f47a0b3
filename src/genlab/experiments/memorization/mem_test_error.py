"""mem-test-error: at zero training error, the test error rises with label corruption up to chance.

Paper: Zhang, Bengio, Hardt, Recht, Vinyals, "Understanding deep learning requires
rethinking generalization", ICLR 2017, Fig. 1c (test error against label corruption).
Command: ``genlab run mem-test-error --scale quick``; ``genlab run mem-test-error-cifar10`` runs the
same on CIFAR-10 (``dataset=mnist|cifar10|fashion-mnist|mnist1d`` picks any other).
Paper scale against the paper: the paper's four networks at their widths, the six levels 0 to 1,
SGD (momentum 0.9, decay 0.95 per epoch), batch 128, no weight decay or augmentation, 28x28 centre crops
and per-image whitening; what differs: one learning rate (``lr`` 0.01, the paper's for AlexNet and the
MLPs; the paper gives Inception 0.1), every training image on disk (5,085 CIFAR-10 images in
../shared/data, the paper's 50,000 with the full data set; each claim records its n), and the MNIST
twin is not in the paper (its paper values are CIFAR-10's).
Claim: for every architecture the test error at 100 % training accuracy rises with the
corruption level p (Spearman >= ``min_error_rho``, 0.9), and at p = 1 it is at chance
(``chance_error``, 90 % for 10 classes) within the larger of ``min_chance_margin`` (0.03)
and ``chance_sds`` (3) binomial standard deviations of the test set.
"""
from __future__ import annotations

import numpy as np

from genlab.experiments.base import claim, experiment
from genlab.experiments.memorization.common import PAPER, TABLE1, TABLE1_SETTING, CorruptionConfig, n_train_used, run_grid
from genlab.plot import plt
from genlab.probes.statistics import spearman

SOURCE = f"{PAPER}, Fig. 1c"


def run(cfg: CorruptionConfig, run):
    run_grid(cfg, run)  # phases <arch>-p<level>; the grid goes to arrays and metrics


def figures(run, cfg: CorruptionConfig):
    a = run.arrays
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, arch in enumerate(cfg.archs):
        ax.plot(a["levels"], a["test_error"][i], "o-", label=arch)
    ax.axhline(cfg.chance_error, color="k", ls="--", lw=0.8, label=f"chance ({cfg.chance_error * 100:g} %)")
    ax.set(xlabel="label corruption p", ylabel="test error at 100 % training accuracy", ylim=(0, 1),
           title=f"{cfg.n_train or 'all'} {cfg.dataset} images (Fig. 1c)")
    ax.legend()
    run.save_figure(fig, "test_error")


def claims(run, cfg: CorruptionConfig):
    a = run.arrays
    err, lv = a["test_error"], a["levels"]
    rho = [spearman(lv, err[i]) for i in range(len(cfg.archs))]
    n_test = max(1, cfg.n_test or 10000)
    chance = cfg.chance_error
    margin = max(cfg.min_chance_margin, cfg.chance_sds * np.sqrt(chance * (1 - chance) / n_test))
    at1 = [float(err[i][list(cfg.levels).index(1.0)]) for i in range(len(cfg.archs))] if 1.0 in cfg.levels else []
    # each arch alone, with the claims' own thresholds: its own Spearman, its own error at p = 1
    rho_ok = [bool(np.isfinite(r) and r >= cfg.min_error_rho) for r in rho]
    chance_ok = [bool(abs(e - chance) <= margin) for e in at1] if at1 else None
    n, table = n_train_used(cfg), [a_ for a_ in cfg.archs if a_ in TABLE1]
    ends = "; ".join(f"{a_} {100 - TABLE1[a_][1]:.2f} -> {100 - TABLE1[a_][2]:.2f}" for a_ in table)
    paper_chance = max((round(abs(1 - TABLE1[a_][2] / 100 - chance), 4) for a_ in table), default=None)
    table_note = f"{TABLE1_SETTING}; random labels, test accuracy: " + ", ".join(f"{a_} {TABLE1[a_][2]:g} %" for a_ in table)
    return [
        claim("mem-test-error-rises", "test error rises with the label corruption level",
              float(np.nanmin(rho)) if np.isfinite(rho).any() else None, source=SOURCE,
              at_least=cfg.min_error_rho, unit="Spearman(p, test error) for every arch (the lowest)",
              inconclusive=not np.isfinite(rho).all(),
              note="test error per arch and p: " + "; ".join(f"{a_}: {np.round(err[i], 3).tolist()}"
                                                            for i, a_ in enumerate(cfg.archs)), n=n,
              paper_value=f"test error % (p = 0 -> p = 1): {ends}" if table else None,
              paper_setting=f"{TABLE1_SETTING}; Table 1 gives the ends of the curve (Fig. 1c), no rank correlation"
              if table else "", seeds=rho_ok, per="archs"),
        claim("mem-test-error-chance", f"at p = 1 the test error is at chance ({chance * 100:g} % for 10 classes)",
              max(abs(e - chance) for e in at1) if at1 else None, source=SOURCE, at_most=margin,
              unit=f"on |error - {chance:g}| (the larger of {cfg.min_chance_margin:g} and {cfg.chance_sds:g} "
              "binomial sd)", inconclusive=not at1,
              note=f"test error at p = 1: {at1}" if at1 else "p = 1 not among the levels", n=n,
              paper_value=paper_chance, paper_setting=f"{table_note} (the largest |error - {chance:g}| over the "
              "networks run here)" if table else "", seeds=chance_ok, per="archs"),
    ]


CLAIM = "test error at zero training error rises with p and reaches chance at p = 1"
QUICK = {"n_train": 500, "n_test": 1000, "max_epochs": 200, "archs": ("mlp1x512",)}
DEFAULT = {"n_train": 2000, "n_test": 2000, "max_epochs": 200, "archs": ("mlp1x512", "mlp3x512")}

TITLE = "Test error against label corruption"
TIMES = {"mnist": {"quick": "60 s", "default": "3 min", "paper": "weeks (GPU)"},  # quick: see mem_randomization.py
         "cifar10": {"quick": "25 s", "default": "2 min", "paper": "weeks (GPU)"}}
BOTH = dict(source=SOURCE, claim=CLAIM, config=CorruptionConfig, quick=QUICK, default=DEFAULT, run=run,
            figures=figures, claims=claims)
EXPERIMENT = experiment(id="mem-test-error", title=f"{TITLE} (mnist)", times=TIMES["mnist"], **BOTH)
EXPERIMENT_CIFAR10 = experiment(id="mem-test-error-cifar10", title=f"{TITLE} (cifar10)", base={"dataset": "cifar10"},
                                times=TIMES["cifar10"], **BOTH)
