"""fp-image: a coordinate network (x, y) -> gray value learns an image coarse to fine.

Paper: Xu, Zhang, Xiao, "Training behavior of deep neural network in frequency
domain" (2018), Fig. 2 (the camera man learned coarse to fine); Xu 2018,
"Understanding training and generalization in deep learning by Fourier analysis".
Command: ``genlab run fp-image --scale quick``.
Any PNG/JPEG works: ``genlab run fp-image image=photo.png --scale quick``.
Claim: the relative error of the lowest radial frequency band of the 2-D FFT
(DC excluded; :class:`genlab.probes.BandProbe`) reaches a set error
``threshold`` (0.3) before the highest band does, in at least ``min_ordered``
(90 %) of seeds, and when it does the highest band's error is still above
``gap_error`` (0.8) in at least ``min_gap`` of seeds. Shapes: pixel coordinates
(H*W, 2) in [-1, 1]^2, gray values (H*W, 1).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from genlab import runtime
from genlab.config import Config, check, param
from genlab.data.images import load_image
from genlab.experiments.base import claim, experiment
from genlab.losses import stacked_mse
from genlab.models.mlp import ACTIVATIONS
from genlab.models.stacked import StackedMLP
from genlab.params import show_value as _csv
from genlab.plot import plt
from genlab.probes.bands import BandProbe
from genlab.probes.spectrum import first_below
from genlab.train import Every, supervised, train

SOURCE = "Xu et al. 2018 (arXiv:1807.01251), Fig. 2"


@dataclass(frozen=True)
class FpImageConfig(Config):
    """Defaults: the paper scale (a 128 px image, a 400-200-200-100 net, 20,000 Adam steps)."""

    image: str = param("camera", path=True)        # a built-in name (genlab.data.images.BUILTIN) or a PNG/JPEG path
    size: int = param(128, ge=8, le=512, why='size**2 pixels are the full batch')              # shorter side after resizing
    widths: tuple[int, ...] = param((2, 400, 200, 200, 100, 1), ge=1, le=4096, min_len=2, max_len=16)
    activation: str = param("relu", choices=tuple(ACTIVATIONS))
    init_std: float | None = param(None, gt=0, le=100)  # None: PyTorch's default init
    lr: float = param(1e-3, gt=0, le=10)
    steps: int = param(20000, ge=1, le=10**7)
    probe_every: int = param(100, ge=1, le=10**7)
    n_bands: int = param(4, ge=2, le=64)
    n_seeds: int = param(3, ge=1, le=1000)
    n_snapshots: int = param(6, ge=2, le=100)
    threads: int = param(1, ge=1, le=256, why='intra-op threads')
    # the claims' thresholds
    threshold: float = param(0.3, gt=0, lt=1)       # the "set error" a band must reach
    min_ordered: float = param(0.9, ge=0, le=1)
    gap_error: float = param(0.8, gt=0, le=1)
    min_gap: float = param(0.9, ge=0, le=1)

    def validate(self):
        super().validate()
        check(self.widths[0] == 2 and self.widths[-1] == 1, f"widths={_csv(self.widths)} must start with 2 (x, y) and end with 1 (gray)")
        load_image(self.image, gray=True)  # an unreadable image fails here, in one line, before any output


def first_image(probe: BandProbe):
    """A snapshot for the figure: the first model's image, (H, W)."""
    return lambda model, state=None: probe.images(model)[0]


def run(cfg: FpImageConfig, run):
    img = load_image(cfg.image, gray=True, size=cfg.size)
    probe = BandProbe(img, cfg.n_bands)
    dev = runtime.device()
    y = torch.as_tensor(img.reshape(-1, 1), dtype=torch.float32, device=dev)
    model = StackedMLP(cfg.n_seeds, cfg.widths, cfg.activation, cfg.init_std,
                       seeds=[cfg.seed * 1000 + k for k in range(cfg.n_seeds)]).to(dev)
    cbs = [Every(cfg.probe_every, probe), Every(cfg.probe_every, first_image(probe), "image", axes=("y", "x"))]
    res = train(model, supervised(stacked_mse, probe.x_.to(dev), y), steps=cfg.steps, lr=cfg.lr, callbacks=cbs, run=run,
                phase="train", threads=cfg.threads, desc="fp-image")
    run.save_arrays(target=img)
    run.log("final_loss", float(res.history.values("loss")[-1]), cfg.steps)


def band_times(run, cfg: FpImageConfig) -> np.ndarray:
    """(M, n_bands): first step each band's relative error is below the set error (inf: never)."""
    e = run.series("train/bands")
    return first_below(e.steps, e.values, cfg.threshold)


def figures(run, cfg: FpImageConfig):
    target, ims, e = run.arrays["target"], run.series("train/image"), run.series("train/bands")
    steps = ims.steps
    picks = np.unique(np.geomspace(1, len(steps) - 1, cfg.n_snapshots - 1).astype(int))
    picks = [0, *picks.tolist()]
    fig, ax = plt.subplots(1, len(picks) + 2, figsize=(2.4 * (len(picks) + 2) + 3, 3))
    for j, i in enumerate(picks):
        ax[j].imshow(ims.values[i], cmap="gray", vmin=0, vmax=1)
        ax[j].set_title(f"step {steps[i]}")
        ax[j].axis("off")
    ax[len(picks)].imshow(target, cmap="gray", vmin=0, vmax=1)
    ax[len(picks)].set_title(f"target {cfg.image} {target.shape[1]}x{target.shape[0]}")
    ax[len(picks)].axis("off")
    colors = plt.cm.viridis(np.linspace(0, 0.9, cfg.n_bands))
    for b in range(cfg.n_bands):
        ax[-1].plot(e.steps, e.values[:, :, b], color=colors[b], lw=1)
        ax[-1].plot([], [], color=colors[b], label=f"band {b}" + (" (low)" if b == 0 else " (high)" if b == cfg.n_bands - 1 else ""))
    ax[-1].axhline(cfg.threshold, color="k", ls=":", lw=1, label="set error")
    ax[-1].set_xlabel("step")
    ax[-1].set_ylabel("relative error per radial band")
    ax[-1].set_ylim(0, 1.3)
    ax[-1].legend(fontsize=7)
    fig.tight_layout()
    run.save_figure(fig, "fp_image")


def claims(run, cfg: FpImageConfig):
    e = run.series("train/bands")
    t = band_times(run, cfg)
    lo, hi = t[:, 0], t[:, -1]
    conv = np.isfinite(lo)
    first = conv & (lo < hi)  # a high band that never reaches the set error counts as later
    hi_then = np.array([e.values[np.searchsorted(e.steps, lo[m]), m, -1] if conv[m] else np.nan
                        for m in range(len(lo))])
    gap = hi_then > cfg.gap_error  # per seed; a seed whose low band never converged counts as not holding
    frac, frac_gap = float(first.mean()), float(np.mean(gap))
    fmt = lambda v: np.where(np.isfinite(v), v, -1).astype(int).tolist()  # noqa: E731
    return [
        claim("fp-image-order", f"the lowest radial band reaches relative error {cfg.threshold} before the highest band",
              frac, source=SOURCE, at_least=cfg.min_ordered, unit="of seeds", inconclusive=not conv.any(), seeds=first,
              note=f"first step below {cfg.threshold} per seed: low band {fmt(lo)}, high band {fmt(hi)} (-1 = not within "
                   f"{cfg.steps} steps); final band errors (seed {cfg.seed * 1000}): {np.round(e.values[-1, 0], 3).tolist()}"),
        claim("fp-image-gap", "when the lowest band reaches the set error, the highest band's error is still above "
              f"{cfg.gap_error}", frac_gap, source=SOURCE, at_least=cfg.min_gap, unit="of seeds", inconclusive=not conv.any(),
              seeds=gap, note=f"highest-band error then, per seed: {np.round(hi_then, 3).tolist()}"),
    ]


EXPERIMENT = experiment(
    id="fp-image", title="a coordinate network learns an image coarse to fine", source=SOURCE,
    claim="the lowest radial frequency band of the image reaches a set error before the highest band",
    config=FpImageConfig,
    quick={"size": 32, "widths": (2, 128, 128, 1), "steps": 500, "probe_every": 10},
    default={"size": 40, "widths": (2, 128, 128, 1), "steps": 1500, "probe_every": 20},
    times={"quick": "15 s", "default": "25 s", "paper": "1 h"},
    run=run, figures=figures, claims=claims)
