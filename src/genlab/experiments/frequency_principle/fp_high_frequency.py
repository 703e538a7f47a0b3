"""fp-high-frequency: with a high-frequency-dominant target, low frequencies converge with oscillation.

Paper: Xu, Zhang, Xiao, "Training behavior of deep neural network in frequency
domain" (2018), Fig. 4.
Command: ``genlab run fp-high-frequency --scale quick``.
Claims: for 0.2 sin x + 0.6 sin 3x + sin 5x the relative error Δ_F of the
lowest peak oscillates at least ``ratio_min`` (3x) more than for the
low-frequency-dominant sin x + 0.6 sin 3x + 0.2 sin 5x (median over seeds), and
within the high-frequency-dominant target the lower the frequency the more it
oscillates (in at least ``min_decreasing``, 90 %, of seeds).

Oscillation measure (:func:`genlab.probes.statistics.oscillation`): the excess total variation of a Δ_F
curve sampled every ``probe_every`` steps over the first ``osc_window`` steps
(the convergence phase; later Adam jitter around the fit would dilute it),
Σ|e_{t+1} − e_t| − |e_T − e_0|, which is 0 for a monotone curve and twice the
total rise otherwise; the number of direction changes is recorded beside it.
One stack trains both targets.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genlab.config import Config, check, param
from genlab.data.targets import grid, sines
from genlab.experiments.base import claim, experiment
from genlab.experiments.frequency_principle.common import train_seeds
from genlab.models.mlp import ACTIVATIONS
from genlab.params import show_value as _csv
from genlab.plot import heatmap, plt
from genlab.probes.statistics import oscillation

SOURCE = "Xu et al. 2018 (arXiv:1807.01251), Fig. 4"


@dataclass(frozen=True)
class FpHighFrequencyConfig(Config):
    """Defaults: the paper scale (20 seeds per target, a 200-200-100 net, 10,000 Adam steps)."""

    n_samples: int = param(61, ge=8, le=10**5, why='10**5 x 4096: 1.6 GB a layer')
    freqs: tuple[float, ...] = param((1.0, 3.0, 5.0), gt=0, le=5*10**4, min_len=2, max_len=64)
    amps_high: tuple[float, ...] = param((0.2, 0.6, 1.0), gt=0, le=10**3, min_len=1, max_len=64)   # high-frequency dominant
    amps_low: tuple[float, ...] = param((1.0, 0.6, 0.2), gt=0, le=10**3, min_len=1, max_len=64)    # the low-frequency-dominant comparison
    widths: tuple[int, ...] = param((1, 200, 200, 100, 1), ge=1, le=4096, min_len=2, max_len=16, why='4096**2: 64 MB a layer')
    activation: str = param("tanh", choices=tuple(ACTIVATIONS))
    init_std: float = param(0.1, gt=0, le=100)
    optimizer: str = param("adam", choices=('adam', 'gd'))
    lr: float = param(2e-4, gt=0, le=10)
    steps: int = param(10000, ge=1, le=10**7)
    probe_every: int = param(5, ge=1, le=10**7)         # the oscillation measure depends on it: keep it fixed when comparing
    osc_window: int = param(1000, ge=1, le=10**7)       # oscillation is measured over steps 0..osc_window, the convergence phase
    n_seeds: int = param(20, ge=1, le=1000)            # per target
    threads: int = param(1, ge=1, le=256, why='intra-op threads')
    # the claims' thresholds
    ratio_min: float = param(3.0, gt=0, le=10**6)       # lowest peak's oscillation, high- / low-dominant target
    min_decreasing: float = param(0.9, ge=0, le=1)  # seeds whose oscillation falls strictly from low to high peaks

    def validate(self):
        super().validate()
        check(len(self.freqs) == len(self.amps_high) == len(self.amps_low),
              f"freqs={_csv(self.freqs)}, amps_high and amps_low need the same length")
        check(list(self.freqs) == sorted(self.freqs), f"freqs={_csv(self.freqs)} must be increasing")
        check(all(f < self.n_samples / 2 for f in self.freqs),
              f"freqs={_csv(self.freqs)} must lie below n_samples/2={self.n_samples / 2:g}; lower them or raise n_samples")
        check(self.amps_high[-1] > self.amps_high[0],
              f"amps_high={_csv(self.amps_high)} must make the highest frequency dominate (last > first)")
        check(self.amps_low[0] > self.amps_low[-1],
              f"amps_low={_csv(self.amps_low)} must make the lowest frequency dominate (first > last)")
        check(self.osc_window >= 10 * self.probe_every,
              f"osc_window={self.osc_window} must span at least 10 probes (10 x probe_every={self.probe_every})")
        check(self.widths[0] == 1 and self.widths[-1] == 1, f"widths={_csv(self.widths)} must start and end with 1 (1-D in, 1-D out)")


def run(cfg: FpHighFrequencyConfig, run):
    M, x = cfg.n_seeds, grid(cfg.n_samples)
    y_high, y_low = sines(x, cfg.freqs, cfg.amps_high), sines(x, cfg.freqs, cfg.amps_low)
    Y = np.concatenate([np.repeat(y_high[None], M, 0), np.repeat(y_low[None], M, 0)])
    res, _ = train_seeds(run, "train", x, Y, n_seeds=2 * M, widths=cfg.widths, activation=cfg.activation,
                         init_std=cfg.init_std, lr=cfg.lr, steps=cfg.steps, probe_every=cfg.probe_every,
                         optimizer=cfg.optimizer, seed=cfg.seed, peaks=np.rint(cfg.freqs).astype(int),
                         threads=cfg.threads)
    run.save_arrays(x=x, y_high=y_high, y_low=y_low, peaks=np.rint(cfg.freqs).astype(int))
    run.log("final_loss", float(res.history.values("loss")[-1]), cfg.steps)


def measures(run, cfg: FpHighFrequencyConfig) -> dict:
    # A fixed window, so that later Adam jitter around the converged fit does not dilute the comparison.
    err = run.series("train/spectrum")
    keep = err.steps <= cfg.osc_window
    excess, flips = oscillation(err.values[keep])  # (2M, K) each
    M = cfg.n_seeds
    return {"excess_high": excess[:M], "excess_low": excess[M:], "flips_high": flips[:M], "flips_low": flips[M:]}


def figures(run, cfg: FpHighFrequencyConfig):
    a, m, M = run.arrays, measures(run, cfg), cfg.n_seeds
    err = run.series("train/spectrum")
    labels = [str(p) for p in a["peaks"]]
    fig, ax = plt.subplots(1, 4, figsize=(20, 4))
    heatmap(ax[0], err.steps, err.values[:, 0], labels, f"Δ_F, high-dominant {cfg.amps_high}")
    heatmap(ax[1], err.steps, err.values[:, M], labels, f"Δ_F, low-dominant {cfg.amps_low}")
    ax[2].plot(err.steps, err.values[:, :M, 0], color="C3", lw=0.8)
    ax[2].plot(err.steps, err.values[:, M:, 0], color="C0", lw=0.8)
    ax[2].plot([], [], color="C3", label="high-dominant target")
    ax[2].plot([], [], color="C0", label="low-dominant target")
    ax[2].set_ylim(0, 2)
    ax[2].set_xlabel("step")
    ax[2].set_title(f"Δ_F of the lowest peak (k={labels[0]})")
    ax[2].legend(fontsize=7)
    k = np.arange(len(labels))
    ax[3].bar(k - 0.2, np.median(m["excess_high"], 0), 0.4, color="C3", label="high-dominant")
    ax[3].bar(k + 0.2, np.median(m["excess_low"], 0), 0.4, color="C0", label="low-dominant")
    ax[3].set_xticks(k)
    ax[3].set_xticklabels(labels)
    ax[3].set_xlabel("frequency")
    ax[3].set_title(f"excess total variation, steps 0-{cfg.osc_window} (median)")
    ax[3].legend(fontsize=7)
    fig.tight_layout()
    run.save_figure(fig, "fp_high_frequency")


def per_seed(m: dict, cfg: FpHighFrequencyConfig) -> dict:
    """Each claim's statement on each seed alone (same thresholds): claim id -> (M,) bool. The oscillation claim
    compares the two targets, so it is evaluated per pair of nets with the same seed index k (one per target)."""
    hi, lo = m["excess_high"], m["excess_low"]
    return {"fp-hf-oscillation": hi[:, 0] / np.maximum(lo[:, 0], 1e-12) >= cfg.ratio_min,
            "fp-hf-lower-more": np.all(np.diff(hi, axis=1) < 0, axis=1)}


def claims(run, cfg: FpHighFrequencyConfig):
    m = measures(run, cfg)
    hi, lo = m["excess_high"], m["excess_low"]
    ratio = float(np.median(hi[:, 0]) / max(np.median(lo[:, 0]), 1e-12))
    ok = per_seed(m, cfg)
    frac = float(ok["fp-hf-lower-more"].mean())
    return [
        claim("fp-hf-oscillation", "with a high-frequency-dominant target the lowest peak's error oscillates several "
              "times more than with a low-frequency-dominant one", ratio, source=SOURCE, at_least=cfg.ratio_min,
              unit="x (median excess total variation of Δ_F at the lowest peak)", seeds=ok["fp-hf-oscillation"],
              note=f"excess TV per seed: high-dominant {np.round(hi[:, 0], 2).tolist()}, low-dominant "
                   f"{np.round(lo[:, 0], 2).tolist()}; direction changes: high {m['flips_high'][:, 0].tolist()}, low "
                   f"{m['flips_low'][:, 0].tolist()}; {cfg.optimizer}, sampled every {cfg.probe_every} steps, over "
                   f"steps 0-{cfg.osc_window}"),
        claim("fp-hf-lower-more", "the lower the frequency, the more its error oscillates (high-frequency-dominant target)",
              frac, source=SOURCE, at_least=cfg.min_decreasing, seeds=ok["fp-hf-lower-more"],
              unit="of seeds with excess TV strictly decreasing from low to high peaks",
              note=f"median excess TV per peak: {np.round(np.median(hi, 0), 2).tolist()}"),
    ]


EXPERIMENT = experiment(
    id="fp-high-frequency", title="high-frequency-dominant target: low frequencies converge with oscillation",
    source=SOURCE, claim="the lowest peak's error oscillates >= 3x more than for a low-frequency-dominant target",
    config=FpHighFrequencyConfig,
    quick={"n_seeds": 3, "steps": 1000, "lr": 1e-3, "widths": (1, 200, 100, 1)},
    default={"n_seeds": 8, "steps": 3000, "lr": 1e-3, "widths": (1, 200, 100, 1)},
    times={"quick": "15 s", "default": "30 s", "paper": "15 min"},
    run=run, figures=figures, claims=claims)
