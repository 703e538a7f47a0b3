"""fp-failure: where the frequency principle fails (random targets, large initialization).

Paper: Xu, Zhang, Xiao, "Training behavior of deep neural network in frequency
domain" (2018, arXiv:1807.01251), its discussion of where the F-Principle
fails: targets without low-frequency dominance, and large initial weights.
Command: ``genlab run fp-failure --scale quick``.
Claims: (a) for a random target (no low-frequency dominance) the DFT peaks do
not converge low to high (concordance at most ``max_concordance``, 0.6); (b)
with a large initialization (weight std 1 against 0.1) the low-to-high ordering
collapses (when the lowest peak reaches ``threshold`` the highest is above
``gap_error`` in at most ``max_large_gap`` of large-init seeds, while in at
least ``min_small_gap`` of small-init ones), and the error at held-out points
(the midpoints of the training grid) is far worse: at least ``test_ratio_min``
(10x) here (the issue saw about 100x). One stack trains all three groups at once: small-init and
large-init nets on sin x + sin 3x + sin 5x, and small-init nets each on its own
random target.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from genlab import runtime
from genlab.config import Config, check, param
from genlab.data.targets import grid, random_target, sines
from genlab.experiments.base import claim, experiment
from genlab.experiments.frequency_principle.common import mse_per_model, train_seeds
from genlab.models.mlp import ACTIVATIONS
from genlab.params import show_value as _csv
from genlab.plot import heatmap, plt
from genlab.probes.spectrum import dft, select_peaks
from genlab.probes.statistics import concordance, error_at_first_convergence, ordering
from genlab.train import Every

SOURCE = "Xu et al. 2018 (arXiv:1807.01251), random data and large initialization"
GROUPS = ("small", "large", "random")


@dataclass(frozen=True)
class FpFailureConfig(Config):
    """Defaults: the paper scale (20 seeds per group, a 200-200-200-100 net, 10,000 Adam steps)."""

    n_samples: int = param(61, ge=16, le=10**5, why='10**5 x 4096: 1.6 GB a layer')
    freqs: tuple[float, ...] = param((1.0, 3.0, 5.0), gt=0, le=5*10**4, min_len=1, max_len=64)
    widths: tuple[int, ...] = param((1, 200, 200, 200, 100, 1), ge=1, le=4096, min_len=2, max_len=16, why='4096**2: 64 MB a layer')
    activation: str = param("tanh", choices=tuple(ACTIVATIONS))
    small_std: float = param(0.1, gt=0, le=100)
    large_std: float = param(1.0, gt=0, le=100)
    random_peaks: int = param(4, ge=2, le=1000)        # tallest DFT peaks of each random target to follow
    lr: float = param(2e-4, gt=0, le=10)
    steps: int = param(10000, ge=1, le=10**7)
    probe_every: int = param(10, ge=1, le=10**7)
    n_seeds: int = param(20, ge=1, le=1000)            # per group
    threads: int = param(1, ge=1, le=256, why='intra-op threads')
    # the claims' thresholds
    threshold: float = param(0.1, gt=0, lt=1)       # a peak has converged when its Δ_F is below this
    max_concordance: float = param(0.6, ge=0, le=1)  # random targets: 0.5 = no order, 1 = strictly low to high
    gap_error: float = param(0.5, gt=0, le=1)       # the highest peak is "far behind" when its Δ_F is above this ...
    max_large_gap: float = param(0.5, ge=0, le=1)   # ... in at most this fraction of large-init seeds
    min_small_gap: float = param(0.9, ge=0, le=1)   # ... and in at least this fraction of small-init seeds
    test_ratio_min: float = param(10.0, gt=0, le=10**6)  # held-out MSE, large / small init

    def validate(self):
        super().validate()
        check(all(f < self.n_samples / 2 for f in self.freqs),
              f"freqs={_csv(self.freqs)} must lie below n_samples/2={self.n_samples / 2:g}; lower them or raise n_samples")
        check(self.small_std < self.large_std, f"small_std={self.small_std:g} must be below large_std={self.large_std:g}")
        check(self.widths[0] == 1 and self.widths[-1] == 1, f"widths={_csv(self.widths)} must start and end with 1 (1-D in, 1-D out)")


def run(cfg: FpFailureConfig, run):
    M, n = cfg.n_seeds, cfg.n_samples
    x = grid(n)
    amps = [1.0] * len(cfg.freqs)
    y = sines(x, cfg.freqs, amps)
    Y_rand = np.stack([random_target(n, seed=cfg.seed * 1000 + k) for k in range(M)])
    # Random targets have no designated frequencies: follow each one's tallest local maxima.
    pk_rand = [select_peaks(dft(r), cfg.random_peaks) for r in Y_rand]
    check(all(len(p) == cfg.random_peaks for p in pk_rand),
          f"a random target has fewer than random_peaks={cfg.random_peaks} peaks; lower random_peaks")
    pk_rand = np.stack(pk_rand)
    pk_sine = np.broadcast_to(np.rint(cfg.freqs).astype(int), (2 * M, len(cfg.freqs)))
    K = max(len(cfg.freqs), cfg.random_peaks)
    # Pad the shorter peak list by repeating its last entry, so one stack probes every group.
    pad = lambda p: np.concatenate([p, np.repeat(p[:, -1:], K - p.shape[1], 1)], 1)  # noqa: E731
    peaks = np.concatenate([pad(pk_sine), pad(pk_rand)])
    Y = np.concatenate([np.repeat(y[None], 2 * M, 0), Y_rand])
    stds = [cfg.small_std] * M + [cfg.large_std] * M + [cfg.small_std] * M
    x_test = x + np.pi / n  # the midpoints between training samples
    y_test = sines(x_test, cfg.freqs, amps)
    res, _ = train_seeds(run, "train", x, Y, n_seeds=3 * M, widths=cfg.widths, activation=cfg.activation,
                         init_std=stds, lr=cfg.lr, steps=cfg.steps, probe_every=cfg.probe_every, seed=cfg.seed,
                         peaks=peaks, threads=cfg.threads,
                         extra_callbacks=[_every_test(cfg, x_test, y_test)])
    x_dense = np.linspace(-np.pi, np.pi, 400)
    with torch.no_grad():
        xt = torch.as_tensor(x_dense, dtype=torch.float32, device=runtime.device()).reshape(-1, 1)
        dense = res.model(xt)[..., 0].cpu().numpy()
    run.save_arrays(x=x, y=y, Y_random=Y_rand, peaks=peaks, n_sine_peaks=len(cfg.freqs), x_dense=x_dense, dense=dense)
    run.log("final_loss", float(res.history.values("loss")[-1]), cfg.steps)


def _every_test(cfg, x_test, y_test):
    return Every(max(cfg.probe_every, cfg.steps // 50), mse_per_model(x_test, y_test), "test_mse")


def _group(g, M):
    i = GROUPS.index(g)
    return slice(i * M, (i + 1) * M)


def figures(run, cfg: FpFailureConfig):
    a, M, ks = run.arrays, cfg.n_seeds, int(run.arrays["n_sine_peaks"])
    err, test = run.series("train/spectrum"), run.series("train/test_mse")
    fig, ax = plt.subplots(2, 3, figsize=(16, 8))
    titles = {"small": f"small init (std {cfg.small_std})", "large": f"large init (std {cfg.large_std})",
              "random": "random target, small init"}
    for j, g in enumerate(GROUPS):
        m = _group(g, M).start
        nk = ks if g != "random" else cfg.random_peaks
        heatmap(ax[0, j], err.steps, err.values[:, m, :nk], [str(p) for p in a["peaks"][m, :nk]],
                f"Δ_F per peak: {titles[g]}", level=cfg.threshold)
    for j, g in enumerate(("small", "large")):
        m = _group(g, M).start
        ax[1, j].plot(a["x_dense"], np.sum([np.sin(f * a["x_dense"]) for f in cfg.freqs], 0), "k-", lw=1, label="target")
        ax[1, j].plot(a["x_dense"], a["dense"][m], "-", color="C3", lw=1, label="network")
        ax[1, j].plot(a["x"], a["y"], "ko", ms=3, label="training samples")
        ax[1, j].set_title(f"fit after training: {titles[g]}")
        ax[1, j].legend(fontsize=7)
    for g, c in (("small", "C0"), ("large", "C3")):
        ax[1, 2].semilogy(test.steps, test.values[:, _group(g, M)], color=c, lw=1)
        ax[1, 2].plot([], [], color=c, label=titles[g])
    ax[1, 2].set_xlabel("step")
    ax[1, 2].set_title("held-out MSE (grid midpoints)")
    ax[1, 2].legend()
    fig.tight_layout()
    run.save_figure(fig, "fp_failure")


def measures(run, cfg: FpFailureConfig) -> dict:
    """Ordering fractions, highest-peak error at first convergence and the held-out MSE per group."""
    M, ks, err = cfg.n_seeds, int(run.arrays["n_sine_peaks"]), run.series("train/spectrum")
    out = {}
    for g in GROUPS:
        e = err.values[:, _group(g, M), :(ks if g != "random" else cfg.random_peaks)]
        t, ok = ordering(err.steps, e, cfg.threshold)
        out[g] = {"t": t, "ordered": ok, "concordance": concordance(t),
                  "hi_at_first": error_at_first_convergence(err.steps, e, cfg.threshold)}
    final = run.series("train/test_mse").values[-1]
    out["test_small"], out["test_large"] = final[:M], final[M:2 * M]
    return out


def per_seed(m: dict, cfg: FpFailureConfig) -> dict:
    """Each claim's statement on each seed alone (same thresholds): claim id -> bool array.

    random: per random target whose concordance is defined (the claim's mean leaves the others out; None if none is).
    The large-init claims compare groups, so they are evaluated per pair of small- and large-init nets with the same
    seed index k.
    """
    conc = m["random"]["concordance"]
    conc = conc[np.isfinite(conc)]
    gap_s, gap_l = (m[g]["hi_at_first"] > cfg.gap_error for g in ("small", "large"))
    return {"fp-failure-random": conc <= cfg.max_concordance if conc.size else None,
            "fp-failure-large-order": ~gap_l & gap_s,
            "fp-failure-large-test": m["test_large"] / m["test_small"] >= cfg.test_ratio_min}


def claims(run, cfg: FpFailureConfig):
    m = measures(run, cfg)
    ok = per_seed(m, cfg)
    r, s, la = m["random"], m["small"], m["large"]
    conc_r = float(np.nanmean(r["concordance"])) if np.isfinite(r["concordance"]).any() else float("nan")
    gap_s = float(np.mean(s["hi_at_first"] > cfg.gap_error))
    gap_l = float(np.mean(la["hi_at_first"] > cfg.gap_error))
    ratio = float(np.median(m["test_large"]) / np.median(m["test_small"]))
    t_fmt = lambda t: np.round(np.where(np.isfinite(t), t, np.nan).mean(0), 0).tolist()  # noqa: E731
    return [
        claim("fp-failure-random", "for random targets (no low-frequency dominance) the peaks do not converge low to high",
              conc_r, source=SOURCE, at_most=cfg.max_concordance, seeds=ok["fp-failure-random"],
              unit="concordance (fraction of peak pairs converging low before high; 0.5 = no order, 1 = strict)",
              note=f"per random target: {np.round(r['concordance'], 2).tolist()} (threshold {cfg.threshold}; pairs where "
                   f"neither peak converged left out); first-convergence steps {r['t'].tolist()}; small-init sine "
                   f"concordance {np.nanmean(s['concordance']):.2f}, large-init {np.nanmean(la['concordance']):.2f}. A "
                   "concordance near 1 means the net still fits a random target's low frequencies first: what fails "
                   "there is generalization, not the order"),
        claim("fp-failure-large-order", f"with large init (std {cfg.large_std}) the ordering collapses: when the lowest "
              f"peak reaches {cfg.threshold}, the highest is no longer far behind (its error is not above {cfg.gap_error})",
              gap_l, source=SOURCE, at_most=cfg.max_large_gap, seeds=ok["fp-failure-large-order"],
              unit=f"of large-init seeds with highest-peak error > {cfg.gap_error}, while >= {cfg.min_small_gap:g} of "
                   f"small-init (std {cfg.small_std}) seeds",
              require=gap_s >= cfg.min_small_gap,
              note=f"small init: {gap_s:.2f} of seeds; median highest-peak error then: small "
                   f"{np.nanmedian(s['hi_at_first']):.3g}, large {np.nanmedian(la['hi_at_first']):.3g}; mean "
                   f"first-convergence steps small {t_fmt(s['t'])}, large {t_fmt(la['t'])}"),
        claim("fp-failure-large-test", "large init generalizes far worse: held-out MSE (grid midpoints) large / small init",
              ratio, source=SOURCE, at_least=cfg.test_ratio_min, unit="x (median over seeds)", seeds=ok["fp-failure-large-test"],
              note=f"final held-out MSE small {np.round(m['test_small'], 5).tolist()}, large "
                   f"{np.round(m['test_large'], 4).tolist()}; the issue's runs saw about 100x"),
    ]


EXPERIMENT = experiment(
    id="fp-failure", title="where the F-Principle fails: random targets, large init", source=SOURCE,
    claim="random targets: no low-to-high ordering; large init: ordering collapses and held-out MSE >= 10x worse",
    config=FpFailureConfig,
    quick={"n_seeds": 3, "steps": 1000, "lr": 2e-3, "probe_every": 5, "widths": (1, 200, 100, 100, 1)},
    default={"n_seeds": 8, "steps": 2000, "lr": 1e-3, "probe_every": 5, "widths": (1, 200, 100, 100, 1)},
    times={"quick": "15 s", "default": "30 s", "paper": "10 min"},
    robustness={"threshold": [0.05, 0.2]},  # free choice: the relative error that counts as converged
    run=run, figures=figures, claims=claims)
