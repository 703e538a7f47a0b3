"""Shared pieces of the Deep Image Prior experiments: config, image preparation, one fit, figures."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genlab.config import Config, check
from genlab.data.images import load_image
from genlab.dipfit import fit
from genlab.metrics import psnr
from genlab.models.dip import NetSpec
from genlab.plot import plt


SOURCE = "Ulyanov, Vedaldi, Lempitsky, Deep Image Prior, CVPR 2018"


@dataclass(frozen=True)
class DipConfig(Config):
    """Shared settings; the paper's are channels=128, depth=5, skip=4, in_channels=32, lr=0.01,
    reg_noise_std=1/30, exp_weight=0.99, input_scale=0.1."""

    image: str = "chelsea"
    size: int = 64
    net: str = "skip"
    channels: int = 32
    depth: int = 4
    skip: int = 4
    in_channels: int = 8
    steps: int = 800
    lr: float = 0.01
    reg_noise_std: float = 1 / 30
    exp_weight: float = 0.99
    input_scale: float = 0.1
    record_every: int = 10
    threads: int = 1

    def validate(self):
        super().validate()
        check(self.size >= 2 ** self.depth, f"size={self.size} must be at least 2**depth={2 ** self.depth}")
        check(self.net in ("skip", "decoder"), f"net={self.net!r}; choose skip or decoder")
        check(self.channels > 0 and self.depth > 0 and self.steps > 0, "channels, depth and steps must be positive")
        check(self.lr > 0 and 0 <= self.exp_weight < 1, "lr must be positive and exp_weight in [0, 1)")
        check(self.reg_noise_std >= 0 and self.record_every > 0, "reg_noise_std >= 0 and record_every > 0 please")

    @property
    def spec(self) -> NetSpec:
        return NetSpec(self.net, self.depth, self.channels, self.skip, self.in_channels)


def square_image(name: str, size: int, multiple: int, gray: bool = False) -> np.ndarray:
    """A built-in or file image, shorter side resized to ``size``, centre-cropped to a square of a multiple."""
    img = load_image(name, gray=gray, size=size)
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[..., :3]
    s = size // multiple * multiple
    h, w = img.shape[:2]
    t, l = (h - s) // 2, (w - s) // 2
    return np.ascontiguousarray(img[t:t + s, l:l + s])


def fit_and_store(run, cfg: DipConfig, prefix: str, clean, y, physics, snapshot_fracs=(0.05, 0.2, 1.0),
                  out_shape=None, phase=None):
    """Fit, then store the PSNR curves, snapshots and the oracle-best image under ``prefix``."""
    snaps = sorted({max(1, int(round(f * cfg.steps))) for f in snapshot_fracs})
    r = fit(y, physics, net=cfg.spec, out_shape=out_shape, steps=cfg.steps, lr=cfg.lr, reg_noise_std=cfg.reg_noise_std,
            exp_weight=cfg.exp_weight, input_scale=cfg.input_scale, clean=clean, record_every=cfg.record_every,
            snapshot_steps=snaps, seed=cfg.seed, threads=cfg.threads, run=run, phase=phase or prefix)
    h, m = r.history, r.monitor
    s = sorted(m.snapshots_)
    run.save_arrays(**{f"{prefix}_steps": h.steps("psnr_avg"), f"{prefix}_psnr_avg": h.values("psnr_avg"),
                       f"{prefix}_psnr_raw": h.values("psnr_raw"), f"{prefix}_loss": h.values("loss"),
                       f"{prefix}_snap_steps": np.asarray(s), f"{prefix}_best": r.x,
                       f"{prefix}_snaps_raw": np.stack([m.snapshots_[k][0] for k in s]),
                       f"{prefix}_snaps_avg": np.stack([m.snapshots_[k][1] for k in s]),
                       f"{prefix}_observed": y, f"{prefix}_clean": clean})
    run.log(f"{prefix}/psnr_observed", psnr(y, clean) if y.shape == clean.shape else float("nan"))
    run.log(f"{prefix}/psnr_peak", m.oracle_[1], m.oracle_[0])
    run.log(f"{prefix}/peak_step", m.oracle_[0])
    run.log(f"{prefix}/psnr_last", float(h.values("psnr_avg")[-1]), r.steps_done)
    run.log(f"{prefix}/psnr_raw_peak", float(h.values("psnr_raw").max()))
    return r


def peak(run, prefix: str) -> tuple[int, float]:
    a = run.arrays
    i = int(np.argmax(a[f"{prefix}_psnr_avg"]))
    return int(a[f"{prefix}_steps"][i]), float(a[f"{prefix}_psnr_avg"][i])


def _show(ax, img, title):
    ax.imshow(np.clip(img, 0, 1), cmap="gray" if np.ndim(img) == 2 else None, vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title, fontsize=8)
    ax.axis("off")


def curve_and_snapshots(run, prefixes: list[str], labels: list[str], name: str, observed_label: str = "observed"):
    """One row per fit: PSNR over iterations, then observed, snapshots (averaged output), best, clean."""
    a = run.arrays
    n = max(len(a[f"{p}_snap_steps"]) for p in prefixes) + 4
    fig, axes = plt.subplots(len(prefixes), n, figsize=(2.3 * n + 2, 2.4 * len(prefixes)), squeeze=False,
                             gridspec_kw={"width_ratios": [2.2] + [1] * (n - 1)})
    for row, (p, lab) in zip(axes, zip(prefixes, labels)):
        st, pa, pr = a[f"{p}_steps"], a[f"{p}_psnr_avg"], a[f"{p}_psnr_raw"]
        row[0].plot(st, pr, color="0.6", lw=1, label="raw output")
        row[0].plot(st, pa, "C0", lw=1.5, label="averaged (EMA)")
        obs, clean = a[f"{p}_observed"], a[f"{p}_clean"]
        if obs.shape == clean.shape:
            row[0].axhline(psnr(obs, clean), color="C3", ls="--", lw=1, label=observed_label)
        ps, pv = peak(run, p)
        row[0].plot([ps], [pv], "k*", ms=9, label=f"peak {pv:.2f} dB @ {ps}")
        row[0].set_xlabel("iteration")
        row[0].set_ylabel("PSNR (dB)")
        row[0].set_title(lab, fontsize=9)
        row[0].legend(fontsize=7)
        _show(row[1], obs, observed_label)
        k = 2
        for s, im in zip(a[f"{p}_snap_steps"], a[f"{p}_snaps_avg"]):
            _show(row[k], im, f"iter {s}: {psnr(im, clean):.1f} dB")
            k += 1
        _show(row[k], a[f"{p}_best"], f"best {pv:.1f} dB")
        _show(row[k + 1], clean, "clean")
        for ax in row[k + 2:]:
            ax.axis("off")
    run.save_figure(fig, name)
