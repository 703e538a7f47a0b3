"""The Deep Image Prior family's shared recipe: the config (paper defaults), image preparation, one fit
stored into the run, and the figure of PSNR curves and snapshots."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genlab import runtime
from genlab.config import Config, check, param
from genlab.data.images import load_image
from genlab.dip import PAPER_FIT, PAPER_NET, FitSettings, Runtime, Storage, fit
from genlab.models.dip import NetSpec
from genlab.plot import plt
from genlab.probes.image import psnr

SOURCE = "Ulyanov, Vedaldi, Lempitsky, Deep Image Prior, CVPR 2018"
# The scales' deltas from the paper's network at 512 px: quick, a 4-scale 32-channel hourglass on 64 px
# (about 115 k parameters); default, the paper's 5 scales and 32 input channels with 32 channels on 96 px
# (about 2.3x quick's cost per step: 1.5-2 CPU minutes per 2,000-step fit, measured in issue 13, so the
# default atlas fits in an hour; 64 channels on 128 px cost 16x quick, 15 min to 1 h per experiment).
QUICK_NET = {"size": 64, "channels": 32, "depth": 4, "in_channels": 8}
DEFAULT_NET = {"size": 96, "channels": 32}


@dataclass(frozen=True)
class DipConfig(Config):
    """Shared settings; the defaults are the paper's network and fit (:data:`genlab.dip.PAPER_NET`,
    :data:`genlab.dip.PAPER_FIT`) on a 512-px image."""

    image: str = param("chelsea", path=True)
    size: int = param(512, ge=2, le=1024, why='the paper network at 1024 px needs about 9 GB')
    net: str = param(PAPER_NET.kind, choices=('skip', 'decoder'))
    channels: int = param(PAPER_NET.channels, ge=1, le=256)
    depth: int = param(PAPER_NET.depth, ge=1, le=8)
    skip: int = param(PAPER_NET.skip, ge=0, le=256)
    in_channels: int = param(PAPER_NET.in_channels, ge=1, le=256)
    steps: int = param(PAPER_FIT.steps, ge=1, le=10**7)
    lr: float = param(PAPER_FIT.lr, gt=0, le=10)
    reg_noise_std: float = param(PAPER_FIT.reg_noise_std, ge=0, le=10)
    exp_weight: float = param(PAPER_FIT.exp_weight, ge=0, lt=1)
    input_scale: float = param(PAPER_FIT.input_scale, gt=0, le=100)
    record_every: int = param(10, ge=1, le=10**7)
    threads: int = param(1, ge=1, le=256, why='intra-op threads')

    def validate(self):
        super().validate()
        check(self.size >= 2 ** self.depth, f"size={self.size} must be at least 2**depth={2 ** self.depth}; raise size or lower depth")
    @property
    def spec(self) -> NetSpec:
        return NetSpec(self.net, self.depth, self.channels, self.skip, self.in_channels)

    @property
    def settings(self) -> FitSettings:
        return FitSettings(self.spec, self.steps, self.lr, self.reg_noise_std, self.exp_weight,
                           input_scale=self.input_scale)


def fit_runtime(cfg: DipConfig) -> Runtime:
    """Where a fit runs: the config's threads, on the current device (:func:`genlab.runtime.device`)."""
    return Runtime(threads=cfg.threads, device=str(runtime.device()))


def square_image(name: str, size: int, multiple: int, gray: bool = False) -> np.ndarray:
    """A built-in or file image, shorter side resized to ``size``, centre-cropped to a square of a multiple."""
    img = load_image(name, gray=gray, size=size)
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[..., :3]
    s = size // multiple * multiple
    h, w = img.shape[:2]
    t, left = (h - s) // 2, (w - s) // 2
    return np.ascontiguousarray(img[t:t + s, left:left + s])


def fit_and_store(run, cfg: DipConfig, prefix: str, clean, y, physics, snapshot_fracs=(0.05, 0.2, 1.0),
                  out_shape=None):
    """Fit in phase ``prefix`` (the loop records ``<prefix>/psnr_avg``, ``psnr_raw``, ``loss``), then store
    the snapshots, the oracle-best image, the observation and the clean image under ``prefix``."""
    snaps = sorted({max(1, int(round(f * cfg.steps))) for f in snapshot_fracs})
    r = fit(y, physics, cfg.settings, out_shape=out_shape, clean=clean, record_every=cfg.record_every, seed=cfg.seed,
            runtime=fit_runtime(cfg), storage=Storage(run=run, phase=prefix, snapshot_steps=tuple(snaps)))
    s = sorted(r.snapshots)
    run.save_arrays(**{f"{prefix}_snap_steps": np.asarray(s), f"{prefix}_best": r.x,
                       f"{prefix}_snaps_raw": np.stack([r.snapshots[k][0] for k in s]),
                       f"{prefix}_snaps_avg": np.stack([r.snapshots[k][1] for k in s]),
                       f"{prefix}_observed": y, f"{prefix}_clean": clean})
    avg, raw = run.series(f"{prefix}/psnr_avg").values, run.series(f"{prefix}/psnr_raw").values
    run.log(f"{prefix}/psnr_observed", psnr(y, clean) if y.shape == clean.shape else float("nan"))
    run.log(f"{prefix}/psnr_peak", r.oracle[1], r.oracle[0])
    run.log(f"{prefix}/peak_step", r.oracle[0])
    run.log(f"{prefix}/psnr_last", float(avg[-1]), r.steps_done)
    run.log(f"{prefix}/psnr_raw_peak", float(raw.max()))
    return r


def peak(run, prefix: str) -> tuple[int, float]:
    """(step, PSNR) of the averaged output's peak, from the recorded series."""
    st, pa, _ = run.series(f"{prefix}/psnr_avg")
    i = int(np.argmax(pa))
    return int(st[i]), float(pa[i])


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
        (st, pa, _), pr = run.series(f"{p}/psnr_avg"), run.series(f"{p}/psnr_raw").values
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
