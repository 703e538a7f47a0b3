"""dip-jpeg: fitted to a JPEG, the network's output is blurry early, clean at its best, and the artifacts return late.

Paper: Ulyanov, Vedaldi, Lempitsky, "Deep Image Prior", CVPR 2018, Fig. 5 (JPEG
artifact removal, quality 10).
Command: ``genlab run dip-jpeg``. Scales: quick fits a 64x64 crop with a
32-channel, 4-scale hourglass for 2,500 steps (at 64 px the artifacts come
back slowly: at 1,000 steps the last iterate was only 0.15 dB under the best,
at 2,500 it is 0.47 dB under); default fits 96 px with the paper's 5 scales and
32 channels for the paper's 2,400 steps; paper fits 512 px with the paper's network.
Claim: at the best point the output is closer to the original than the JPEG is
(by more than ``min_best_gain_db``), and both an early iterate (5 % of the
steps) and the last one fall more than ``min_order_gap_db`` below that best.
"""
from __future__ import annotations

from dataclasses import dataclass

from genlab.config import param
from genlab.dip import PAPER_STEPS
from genlab.experiments.base import claim, experiment
from genlab.experiments.deep_image_prior import common
from genlab.physics import JPEG
from genlab.probes.image import psnr


@dataclass(frozen=True)
class JpegConfig(common.DipConfig):
    image: str = "astronaut"
    steps: int = PAPER_STEPS["jpeg"]
    quality: int = param(10, ge=1, le=95)
    min_best_gain_db: float = param(0.0, ge=-100, le=100)   # the best iterate above the JPEG by more than this
    min_order_gap_db: float = param(0.2, ge=-100, le=100)   # early and last iterates below the best by more than this


def run(cfg: JpegConfig, run):
    clean = common.square_image(cfg.image, cfg.size, 2 ** cfg.depth)
    ph = JPEG(cfg.quality)
    y = ph.corrupt(clean, None)
    # early = 5 % of the steps (blur); the paper's late iterate is at 50,000 steps
    common.fit_and_store(run, cfg, "jpeg", clean, y, ph, snapshot_fracs=(0.05, 1.0))


def figures(run, cfg: JpegConfig):
    common.curve_and_snapshots(run, ["jpeg"], [f"JPEG quality {cfg.quality}: early (blur), best, late (artifacts)"],
                        "dip_jpeg", f"JPEG q={cfg.quality}")


def claims(run, cfg: JpegConfig):
    a = run.arrays
    obs = psnr(a["jpeg_observed"], a["jpeg_clean"])
    s, p = common.peak(run, "jpeg")
    early = psnr(a["jpeg_snaps_avg"][0], a["jpeg_clean"])
    last = float(run.series("jpeg/psnr_avg").values[-1])
    src = f"{common.SOURCE}, Fig. 5 (JPEG artifact removal)"
    return [
        claim("dip-jpeg-best", "at the best point the output is closer to the original than the JPEG is", p - obs,
              source=src, above=cfg.min_best_gain_db, unit="dB", note=f"JPEG {obs:.2f} dB, best {p:.2f} dB at iteration {s}"),
        claim("dip-jpeg-order", "early iterates are blurry and late ones bring the artifacts back: both below the best",
              min(p - early, p - last), source=src, above=cfg.min_order_gap_db, unit="dB",
              note=f"early (iter {int(a['jpeg_snap_steps'][0])}) {early:.2f} dB, last {last:.2f} dB"),
    ]


EXPERIMENT = experiment(
    id="dip-jpeg", title="DIP JPEG artifact removal: blur, clean, artifacts again", source=f"{common.SOURCE}, Fig. 5",
    claim="the best iterate beats the JPEG; early and late iterates are worse", config=JpegConfig,
    quick={**common.QUICK_NET, "steps": 2500, "image": "chelsea"}, default=common.DEFAULT_NET,
    times={"quick": "55 s", "default": "2 min", "paper": "~7 h (GPU: minutes)"},
    run=run, figures=figures, claims=claims)
