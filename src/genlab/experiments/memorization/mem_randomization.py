"""mem-randomization: a network fits random labels, shuffled or random pixels and Gaussian images to 100 %.

Paper: Zhang, Bengio, Hardt, Recht, Vinyals, "Understanding deep learning requires
rethinking generalization", ICLR 2017, Fig. 1a (learning curves under randomization).
Command: ``genlab run mem-randomization --scale quick``; ``genlab run mem-randomization-cifar10`` runs
the same on CIFAR-10, because a claim seen only on MNIST should be checked on harder data
(``dataset=mnist|cifar10|fashion-mnist|mnist1d`` picks any other).
Paper scale against the paper: the paper's Inception, SGD lr 0.1 (momentum 0.9, decay 0.95 per
epoch), batch 128, no weight decay or augmentation, 28x28 centre crops and per-image whitening, up to
500 epochs; what differs: the images are every training image on disk (5,085 CIFAR-10 images in
../shared/data, the paper's 50,000 with the full data set; each claim records its n), and the MNIST
twin is not in the paper (its paper value is CIFAR-10's).
Claim: true labels, random labels, shuffled pixels, random pixels and Gaussian images all
reach ``fit_acc`` (100 %) training accuracy, and each reaches ``near_fit_acc`` (99.9 %).
"""
from __future__ import annotations

from dataclasses import dataclass

from genlab.config import check, param
from genlab.data.corruptions import CORRUPTIONS
from genlab.experiments.base import claim, experiment
from genlab.experiments.memorization.common import ARCHS, PAPER, MemConfig, corrupted, fit, load, n_train_used
from genlab.plot import plt

SOURCE = f"{PAPER}, Fig. 1a"
PAPER_FIT = ("Fig. 1a: Inception on CIFAR-10 (50,000 images, SGD lr 0.1), every setting at 100 % training accuracy; "
             "Table 1: 100.0 % with true labels for all four networks (as a fraction here: 1.0)")


@dataclass(frozen=True)
class RandomizationConfig(MemConfig):
    """Defaults: the paper scale (Inception, lr 0.1, all images, up to 500 epochs)."""

    arch: str = param("inception", choices=ARCHS)
    lr: float = param(0.1, gt=0, le=10)
    corruptions: tuple[str, ...] = param(CORRUPTIONS, choices=CORRUPTIONS, min_len=1, max_len=16)
    # the claims' thresholds: the paper's "100 % training accuracy", and 99.9 % for near-duplicates
    fit_acc: float = param(1.0, gt=0, le=1)
    near_fit_acc: float = param(0.999, gt=0, le=1)

    def validate(self):
        super().validate()
        check(self.near_fit_acc <= self.fit_acc, f"near_fit_acc={self.near_fit_acc:g} must be at most fit_acc={self.fit_acc:g}")


def run(cfg: RandomizationConfig, run):
    ds = load(cfg)
    for kind in cfg.corruptions:  # phase = kind: the series are <kind>/loss and <kind>/train_acc
        r = fit(run, kind, cfg, cfg.arch, corrupted(ds, kind, 0.0, cfg.seed), cfg.seed)
        for k in ("epoch_100", "epoch_999", "final_acc", "final_test_err"):
            run.log(k, r[k], key=kind)


def figures(run, cfg: RandomizationConfig):
    fig, ax = plt.subplots(1, 2, figsize=(12, 4))
    for kind in cfg.corruptions:
        loss, acc = run.series(f"{kind}/loss"), run.series(f"{kind}/train_acc")
        ax[0].plot(loss.steps, loss.values, label=kind.replace("_", " "), lw=1)
        ax[1].plot(acc.steps, acc.values, label=kind.replace("_", " "))
    ax[0].set(xlabel="step", ylabel="training loss (cross-entropy)", yscale="log",
              title=f"{cfg.arch} on {cfg.n_train or 'all'} {cfg.dataset} images (Fig. 1a)")
    ax[1].set(xlabel="step", ylabel="training accuracy", title="fit to 100 % (stops there)")
    ax[1].axhline(1.0, color="k", lw=0.5)
    ax[0].legend()
    run.save_figure(fig, "randomization")


def claims(run, cfg: RandomizationConfig):
    acc = {k: run.scalar("final_acc", k) for k in cfg.corruptions}
    e100 = {k: run.scalar("epoch_100", k) for k in cfg.corruptions}
    e999 = {k: run.scalar("epoch_999", k) for k in cfg.corruptions}
    n999 = sum(a >= cfg.near_fit_acc for a in acc.values())
    each = lambda bar: [a >= bar for a in acc.values()]  # noqa: E731  (each setting trains its own net)
    fmt = lambda d: ", ".join(f"{k}: {v:g}" for k, v in d.items())  # noqa: E731
    n = n_train_used(cfg)
    return [
        claim("mem-fit-100", "true labels, random labels, shuffled pixels, random pixels and Gaussian images "
              "all reach 100 % training accuracy", min(acc.values()), source=SOURCE, at_least=cfg.fit_acc,
              unit=f"training accuracy in all {len(acc)} settings (the lowest)",
              note=f"epochs to 100 %: {fmt(e100)}; final accuracy: {fmt(acc)}", n=n, paper_value=1.0,
              paper_setting=PAPER_FIT, seeds=each(cfg.fit_acc), per="nets"),
        claim("mem-fit-99.9", "each setting reaches 99.9 % training accuracy (near-duplicates with different "
              "random labels take the last epochs)", float(n999) / len(acc), source=SOURCE, at_least=1.0,
              unit=f"of the {len(acc)} settings at >= {cfg.near_fit_acc:g} training accuracy (all)",
              note=f"epochs to 99.9 %: {fmt(e999)}", n=n, paper_value=1.0, paper_setting=PAPER_FIT,
              seeds=each(cfg.near_fit_acc), per="nets"),
    ]


# quick and default: a one-hidden-layer MLP (lr 0.01, up to 200 epochs) on the first images
QUICK = {"n_train": 500, "n_test": 1000, "arch": "mlp1x512", "lr": 0.01, "max_epochs": 200}
DEFAULT = {"n_train": 2000, "n_test": 2000, "arch": "mlp1x512", "lr": 0.01, "max_epochs": 200}
CLAIM = "true labels, random labels, shuffled/random pixels and Gaussian images all reach 100 % training accuracy"

# the twins differ only in data (base) and time; quick times were measured on the shared 2-core machine
# under heavy contention (less on a quiet one)
BOTH = dict(source=SOURCE, claim=CLAIM, config=RandomizationConfig, quick=QUICK, default=DEFAULT, run=run,
            figures=figures, claims=claims)
EXPERIMENT = experiment(id="mem-randomization", title="Fitting random labels and random pixels (mnist)",
                        times={"quick": "20 s", "default": "30 s", "paper": "days (GPU)"}, **BOTH)
EXPERIMENT_CIFAR10 = experiment(id="mem-randomization-cifar10",
                                title="Fitting random labels and random pixels (cifar10)", base={"dataset": "cifar10"},
                                times={"quick": "55 s", "default": "30 s", "paper": "days (GPU)"}, **BOTH)
