"""fp-early-stopping: on a noisy low-frequency target, stopping early generalizes better.

Paper: Xu, Zhang, Xiao, "Training behavior of deep neural network in frequency
domain" (2018, arXiv:1807.01251), its discussion of early stopping; Xu et
al., "Frequency Principle" (CiCP 2019). The F-Principle explains it: the network fits the
target's dominant low frequencies first and the noise, which is spread over
all frequencies and so dominates the high ones, only later.
Command: ``genlab run fp-early-stopping --scale quick``.
Claims: the clean test MSE at its best step is at least ``ratio_min`` (1.5x)
lower than at the end of training (median over seeds); stopping where a noisy
validation set is best (no clean data needed) is at least ``val_ratio_min``
(1.3x) better than the end; at the best step the low-frequency peak is fitted
(Δ_F < ``low_fit``, 0.2) while the noise band is not (relative error >
``noise_unfit``, 0.7) in at least ``min_why`` (90 %) of seeds. Each seed has its
own noise draw and initialization; the noise band is measured by
:class:`genlab.probes.StackBandError`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genlab.config import Config, check, param
from genlab.data.targets import grid, sines
from genlab.experiments.base import claim, experiment
from genlab.experiments.frequency_principle.common import mse_per_model, train_seeds
from genlab.models.mlp import ACTIVATIONS
from genlab.params import show_value as _csv
from genlab.plot import plt
from genlab.probes.bands import StackBandError
from genlab.train import Every

SOURCE = "Xu et al. 2018 (arXiv:1807.01251), early stopping"


@dataclass(frozen=True)
class FpEarlyStoppingConfig(Config):
    """Defaults: the paper scale (20 seeds, a 200-200-100 net, 20,000 Adam steps)."""

    # noisy training samples on a uniform grid of [-pi, pi)
    n_samples: int = param(40, ge=8, le=10**5, why='10**5 x 4096: 1.6 GB a layer')
    freqs: tuple[float, ...] = param((1.0, 3.0), gt=0, le=5*10**4, min_len=1, max_len=64)
    amps: tuple[float, ...] = param((1.0, 0.3), gt=0, le=10**3, min_len=1, max_len=64)
    noise_std: float = param(0.5, gt=0, le=100)
    high_band_from: int = param(6, ge=1, le=5*10**4)       # DFT index where the noise band starts (above every target freq)
    n_test: int = param(300, ge=10, le=10**6)
    widths: tuple[int, ...] = param((1, 200, 200, 100, 1), ge=1, le=4096, min_len=2, max_len=16, why='4096**2: 64 MB a layer')
    activation: str = param("tanh", choices=tuple(ACTIVATIONS))
    init_std: float = param(0.1, gt=0, le=100)
    lr: float = param(5e-4, gt=0, le=10)
    steps: int = param(20000, ge=1, le=10**7)
    probe_every: int = param(50, ge=1, le=10**7)
    n_seeds: int = param(20, ge=1, le=1000)
    threads: int = param(1, ge=1, le=256, why='intra-op threads')
    # the claims' thresholds
    ratio_min: float = param(1.5, gt=0, le=10**6)        # end / best test MSE
    val_ratio_min: float = param(1.3, gt=0, le=10**6)    # end / at-validation-stop test MSE
    low_fit: float = param(0.2, gt=0, le=1)          # Δ_F of the low peak at the best step is below this ...
    noise_unfit: float = param(0.7, gt=0, le=1)      # ... while the noise band's error is above this
    min_why: float = param(0.9, ge=0, le=1)

    def validate(self):
        super().validate()
        check(len(self.freqs) == len(self.amps), f"freqs={_csv(self.freqs)} and amps={_csv(self.amps)} need the same length")
        check(all(f < self.high_band_from for f in self.freqs),
              f"freqs={_csv(self.freqs)} must lie below high_band_from={self.high_band_from}")
        check(self.high_band_from < self.n_samples // 2,
              f"high_band_from={self.high_band_from} must be below n_samples/2={self.n_samples // 2}; lower it or raise n_samples")
        check(self.widths[0] == 1 and self.widths[-1] == 1, f"widths={_csv(self.widths)} must start and end with 1 (1-D in, 1-D out)")


def run(cfg: FpEarlyStoppingConfig, run):
    n, M = cfg.n_samples, cfg.n_seeds
    rng = np.random.default_rng(cfg.seed)
    x = grid(n)
    y = sines(x, cfg.freqs, cfg.amps)
    Y = y[None] + cfg.noise_std * rng.standard_normal((M, n))
    x_val = x + np.pi / n  # a noisy validation set at the midpoints, drawn like the training set
    Y_val = sines(x_val, cfg.freqs, cfg.amps)[None] + cfg.noise_std * rng.standard_normal((M, n))
    x_test = np.linspace(-np.pi, np.pi, cfg.n_test, endpoint=False)
    y_test = sines(x_test, cfg.freqs, cfg.amps)
    every = cfg.probe_every
    res, _ = train_seeds(run, "train", x, Y, n_seeds=M, widths=cfg.widths, activation=cfg.activation,
                         init_std=cfg.init_std, lr=cfg.lr, steps=cfg.steps, probe_every=every, seed=cfg.seed,
                         peaks=np.rint(cfg.freqs).astype(int), threads=cfg.threads,
                         extra_callbacks=[Every(every, mse_per_model(x, Y), "train_mse"),
                                          Every(every, mse_per_model(x_val, Y_val), "val_mse"),
                                          Every(every, mse_per_model(x_test, y_test), "test_mse"),
                                          Every(every, StackBandError(x, Y, cfg.high_band_from, n // 2 + 1), "noise_band")])
    run.save_arrays(x=x, Y=Y, x_test=x_test, y_test=y_test, peaks=np.rint(cfg.freqs).astype(int))
    run.log("final_loss", float(res.history.values("loss")[-1]), cfg.steps)


def measures(run) -> dict:
    """Per seed: best test step, test MSE there, at the validation minimum and at the end, and end / the two."""
    test = run.series("train/test_mse")
    te, va, steps = test.values, run.series("train/val_mse").values, test.steps
    M = te.shape[1]
    best, stop = te.argmin(0), va.argmin(0)
    return {"best_step": steps[best], "stop_step": steps[stop], "best": te.min(0),
            "at_stop": te[stop, np.arange(M)], "end": te[-1],
            "r_best": te[-1] / te.min(0), "r_val": te[-1] / te[stop, np.arange(M)],
            "low_at_best": run.series("train/spectrum").values[best, np.arange(M), 0],
            "noise_at_best": run.series("train/noise_band").values[best, np.arange(M)]}


def figures(run, cfg: FpEarlyStoppingConfig):
    a, m = run.arrays, measures(run)
    s = run.series("train/test_mse").steps
    fig, ax = plt.subplots(1, 3, figsize=(16, 4))
    for name, c in (("train_mse", "C0"), ("val_mse", "C1"), ("test_mse", "C2")):
        ax[0].semilogy(s, run.series(f"train/{name}").values, color=c, lw=1, alpha=0.8)
        ax[0].plot([], [], color=c, label=name.replace("_", " ") + (" (clean)" if name == "test_mse" else " (noisy)"))
    ax[0].axvline(m["best_step"][0], color="k", ls=":", lw=1, label=f"best test step (seed {cfg.seed * 1000})")
    ax[0].set_xlabel("step")
    ax[0].set_title("MSE over training (one line per seed)")
    ax[0].legend(fontsize=7)
    ax[1].plot(s, run.series("train/spectrum").values[:, :, 0], color="C4", lw=1)
    ax[1].plot(s, run.series("train/noise_band").values, color="C3", lw=1)
    ax[1].plot([], [], color="C4", label=f"Δ_F at k={int(a['peaks'][0])} (low)")
    ax[1].plot([], [], color="C3", label=f"noise band k >= {cfg.high_band_from}")
    ax[1].set_ylim(0, 1.3)
    ax[1].set_xlabel("step")
    ax[1].set_title("relative error vs the noisy training target")
    ax[1].legend(fontsize=7)
    ax[2].plot(a["x_test"], a["y_test"], "k-", lw=1, label="clean target")
    ax[2].plot(a["x"], a["Y"][0], "o", ms=3, color="C0", label="noisy samples (seed 0)")
    ax[2].set_title(f"target, noise std {cfg.noise_std}")
    ax[2].legend(fontsize=7)
    fig.tight_layout()
    run.save_figure(fig, "fp_early_stopping")


def per_seed(m: dict, cfg: FpEarlyStoppingConfig) -> dict:
    """Each claim's statement on each seed alone (same thresholds): claim id -> (M,) bool."""
    return {"fp-es-best": m["r_best"] >= cfg.ratio_min, "fp-es-validation": m["r_val"] >= cfg.val_ratio_min,
            "fp-es-why": (m["low_at_best"] < cfg.low_fit) & (m["noise_at_best"] > cfg.noise_unfit)}


def claims(run, cfg: FpEarlyStoppingConfig):
    m = measures(run)
    r_best, r_val = m["r_best"], m["r_val"]
    med, med_val = float(np.median(r_best)), float(np.median(r_val))
    ok = per_seed(m, cfg)
    why = float(np.mean(ok["fp-es-why"]))
    return [
        claim("fp-es-best", "the clean test error at the best step is lower than at the end of training", med,
              source=SOURCE, at_least=cfg.ratio_min, unit="x (median over seeds of end / best test MSE)",
              seeds=ok["fp-es-best"],
              note=f"per seed: {np.round(r_best, 2).tolist()}; best steps {m['best_step'].tolist()} of {cfg.steps}; "
                   f"test MSE best {np.round(m['best'], 4).tolist()}, end {np.round(m['end'], 4).tolist()}"),
        claim("fp-es-validation", "stopping at the minimum of a noisy validation error beats training to the end",
              med_val, source=SOURCE, at_least=cfg.val_ratio_min, unit="x (median of end / at-stop test MSE)",
              seeds=ok["fp-es-validation"],
              note=f"per seed: {np.round(r_val, 2).tolist()}; stop steps {m['stop_step'].tolist()} (what EarlyStopping "
                   "with restore_best and unlimited patience would pick)"),
        claim("fp-es-why", f"at the best step the low frequency is fitted (Δ_F < {cfg.low_fit}) but the noise band is "
              f"not (error > {cfg.noise_unfit})", why, source=SOURCE, at_least=cfg.min_why, unit="of seeds",
              seeds=ok["fp-es-why"],
              note=f"Δ_F(low) at best {np.round(m['low_at_best'], 3).tolist()}; noise-band error at best "
                   f"{np.round(m['noise_at_best'], 3).tolist()}"),
    ]


EXPERIMENT = experiment(
    id="fp-early-stopping", title="early stopping helps on a noisy low-frequency target", source=SOURCE,
    claim="test MSE at the best step >= 1.5x lower than at the end; the noise (high frequencies) is fitted last",
    config=FpEarlyStoppingConfig,
    quick={"n_seeds": 4, "steps": 2000, "lr": 2e-3, "probe_every": 20, "widths": (1, 200, 100, 1)},
    default={"n_seeds": 10, "steps": 5000, "lr": 2e-3, "probe_every": 20, "widths": (1, 200, 100, 1)},
    times={"quick": "12 s", "default": "15 s", "paper": "10 min"},
    run=run, figures=figures, claims=claims)
