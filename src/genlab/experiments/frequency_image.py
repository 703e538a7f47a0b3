"""fp-image: a coordinate network (x, y) -> gray value learns an image coarse to fine.

Paper: Xu, Zhang, Xiao, "Training behavior of deep neural network in frequency
domain" (2018), Fig. 2 (the camera man learned coarse to fine); Xu 2018,
"Understanding training and generalization in deep learning by Fourier analysis".
Command: ``genlab run fp-image --scale quick`` (about 15 s on 2 shared CPU cores;
default about 1 min (50 s measured, shared), paper about 1 h (estimated)).
Any PNG/JPEG works: ``genlab run fp-image image=photo.png --scale quick``.
Claim: the relative error of the lowest radial frequency band of the 2-D FFT
(DC excluded) reaches a set error (0.3) before the highest band does, in at
least 90 % of seeds, and when it does the highest band's error is still above
0.8. Shapes: pixel coordinates (H*W, 2) in [-1, 1]^2, gray values (H*W, 1).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from genlab.config import Config, check
from genlab.data.images import load_image
from genlab.losses import stacked_mse
from genlab.models.stacked import StackedMLP
from genlab.experiments.base import Claim, Experiment, register, verdict
from genlab.probes.spectrum import first_below, radial_band_errors
from genlab.train import Every, supervised, train
from genlab.plot import plt


SOURCE = "Xu et al. 2018 (arXiv:1807.01251), Fig. 2"


@dataclass(frozen=True)
class FpImageConfig(Config):
    image: str = "camera"        # a built-in name (genlab.data.images.BUILTIN) or a PNG/JPEG path
    size: int = 32               # shorter side after resizing
    widths: tuple[int, ...] = (2, 128, 128, 1)
    activation: str = "relu"
    init_std: float | None = None  # None: PyTorch's default init
    lr: float = 1e-3
    steps: int = 500
    probe_every: int = 10
    n_bands: int = 4
    threshold: float = 0.3       # the "set error" a band must reach
    n_seeds: int = 3
    n_snapshots: int = 6
    threads: int = 1

    def validate(self):
        super().validate()
        check(8 <= self.size <= 512, f"size={self.size} must lie in [8, 512]")
        check(self.widths[0] == 2 and self.widths[-1] == 1, "widths must start with 2 (x, y) and end with 1 (gray)")
        check(self.n_bands >= 2, "n_bands must be at least 2 (a low and a high band)")
        check(0 < self.threshold < 1, "threshold (the set relative error) must lie in (0, 1)")
        check(self.lr > 0 and self.steps > 0 and self.probe_every > 0, "lr, steps and probe_every must be positive")
        check(self.n_seeds >= 1 and self.n_snapshots >= 2, "n_seeds >= 1 and n_snapshots >= 2 needed")
        check(self.init_std is None or self.init_std > 0, "init_std must be positive (or none for PyTorch's default)")
        load_image(self.image, gray=True)  # an unreadable image fails here, in one line, before any output


def coordinates(h: int, w: int) -> np.ndarray:
    """Pixel centres as (h*w, 2) points (x, y) in [-1, 1]^2, row-major like the image."""
    yy, xx = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
    return np.stack([xx.ravel(), yy.ravel()], 1)


class BandProbe:
    """Relative error per radial band of each model's image: ``probe(model)`` -> (M, n_bands)."""

    def __init__(self, coords, img: np.ndarray, n_bands: int):
        self.x, self.img, self.n_bands = torch.as_tensor(coords, dtype=torch.float32), img, n_bands

    def images(self, model) -> np.ndarray:
        return model(self.x)[..., 0].numpy().reshape(-1, *self.img.shape)

    def __call__(self, model, state=None):
        ims = self.images(model)
        return {"bands": np.stack([radial_band_errors(im, self.img, self.n_bands) for im in ims]), "image0": ims[0]}


def run(cfg: FpImageConfig, run):
    img = load_image(cfg.image, gray=True, size=cfg.size)
    coords = coordinates(*img.shape)
    x = torch.as_tensor(coords, dtype=torch.float32)
    y = torch.as_tensor(img.reshape(-1, 1), dtype=torch.float32)
    model = StackedMLP(cfg.n_seeds, cfg.widths, cfg.activation, cfg.init_std,
                       seeds=[cfg.seed * 1000 + k for k in range(cfg.n_seeds)])
    probe = BandProbe(coords, img, cfg.n_bands)
    res = train(model, supervised(stacked_mse, x, y), steps=cfg.steps, lr=cfg.lr,
                callbacks=[Every(cfg.probe_every, probe, "probe")], run=run, phase="train",
                threads=cfg.threads, desc="fp-image")
    h = res.history
    run.save_arrays(target=img, steps=h.steps("probe/bands"), band_errors=h.values("probe/bands"),
                    images=h.values("probe/image0").astype(np.float32))
    run.log("final_loss", float(h.values("loss")[-1]), cfg.steps)


def band_times(run, cfg: FpImageConfig) -> np.ndarray:
    """(M, n_bands): first step each band's relative error is below the set error (inf: never)."""
    return first_below(run.arrays["steps"], run.arrays["band_errors"], cfg.threshold)


def figures(run, cfg: FpImageConfig):
    a = run.arrays
    steps = a["steps"]
    picks = np.unique(np.geomspace(1, len(steps) - 1, cfg.n_snapshots - 1).astype(int))
    picks = [0, *picks.tolist()]
    fig, ax = plt.subplots(1, len(picks) + 2, figsize=(2.4 * (len(picks) + 2) + 3, 3))
    for j, i in enumerate(picks):
        ax[j].imshow(a["images"][i], cmap="gray", vmin=0, vmax=1)
        ax[j].set_title(f"step {steps[i]}")
        ax[j].axis("off")
    ax[len(picks)].imshow(a["target"], cmap="gray", vmin=0, vmax=1)
    ax[len(picks)].set_title(f"target {cfg.image} {a['target'].shape[1]}x{a['target'].shape[0]}")
    ax[len(picks)].axis("off")
    e = a["band_errors"]
    colors = plt.cm.viridis(np.linspace(0, 0.9, cfg.n_bands))
    for b in range(cfg.n_bands):
        ax[-1].plot(steps, e[:, :, b], color=colors[b], lw=1)
        ax[-1].plot([], [], color=colors[b], label=f"band {b}" + (" (low)" if b == 0 else " (high)" if b == cfg.n_bands - 1 else ""))
    ax[-1].axhline(cfg.threshold, color="k", ls=":", lw=1, label="set error")
    ax[-1].set_xlabel("step")
    ax[-1].set_ylabel("relative error per radial band")
    ax[-1].set_ylim(0, 1.3)
    ax[-1].legend(fontsize=7)
    fig.tight_layout()
    run.save_figure(fig, "fp_image")


def claims(run, cfg: FpImageConfig):
    a = run.arrays
    t = band_times(run, cfg)
    lo, hi = t[:, 0], t[:, -1]
    conv = np.isfinite(lo)
    first = conv & (lo < hi)  # a high band that never reaches the set error counts as later
    hi_then = np.array([a["band_errors"][np.searchsorted(a["steps"], lo[m]), m, -1] if conv[m] else np.nan
                        for m in range(len(lo))])
    frac, frac_gap = float(first.mean()), float(np.mean(hi_then > 0.8))
    fmt = lambda v: np.where(np.isfinite(v), v, -1).astype(int).tolist()  # noqa: E731
    return [
        Claim("fp-image-order", f"the lowest radial band reaches relative error {cfg.threshold} before the highest band",
              SOURCE, frac, ">= 0.9 of seeds", verdict(None if not conv.any() else frac >= 0.9),
              f"first step below {cfg.threshold} per seed: low band {fmt(lo)}, high band {fmt(hi)} (-1 = not within "
              f"{cfg.steps} steps); final band errors (seed {cfg.seed * 1000}): {np.round(a['band_errors'][-1, 0], 3).tolist()}"),
        Claim("fp-image-gap", "when the lowest band reaches the set error, the highest band's error is still above 0.8",
              SOURCE, frac_gap, ">= 0.9 of seeds", verdict(None if not conv.any() else frac_gap >= 0.9),
              f"highest-band error then, per seed: {np.round(hi_then, 3).tolist()}"),
    ]


EXPERIMENT = register(Experiment(
    id="fp-image", family="frequency-principle", title="a coordinate network learns an image coarse to fine",
    source=SOURCE, claim="the lowest radial frequency band of the image reaches a set error before the highest band",
    config=FpImageConfig,
    scales={"quick": FpImageConfig(),
            "default": FpImageConfig(size=40, steps=1500, probe_every=20),
            "paper": FpImageConfig(size=128, widths=(2, 400, 200, 200, 100, 1), steps=20000, probe_every=100,
                                   n_seeds=3)},
    times={"quick": "15 s", "default": "1 min", "paper": "1 h"},
    run=run, figures=figures, claims=claims))
