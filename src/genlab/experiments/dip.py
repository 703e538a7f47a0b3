"""Deep Image Prior: an untrained hourglass network, fitted to one corrupted image, restores it.

Paper: Ulyanov, Vedaldi, Lempitsky, "Deep Image Prior", CVPR 2018: Fig. 4
(denoising: PSNR over iterations), Fig. 5 (JPEG artifact removal), Fig. 7
(inpainting: text, holes, 50 % of pixels dropped), Fig. 3 / Table 1 (4x SR).
Commands: ``genlab run dip-denoise --scale quick`` (and dip-jpeg, dip-inpaint,
dip-sr). Quick: 64x64 crops with a 32-channel, 4-scale hourglass (~115 k
parameters), 15-55 s each on 2 CPU cores; paper: 512x512, the 2.2 M-parameter
network and the paper's step counts (hours on a CPU).
Claim: the averaged output's PSNR against the clean image rises well above the
corrupted input's, peaks, and falls as the network goes on to fit the
corruption; with a mask the loss sees only known pixels yet the holes fill in;
the loss on the downsampled output alone gives a sharper 4x image than bicubic.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genlab.config import check
from genlab.data.degradations import JPEG, Downsampling, GaussianNoise, Inpainting, holes_mask, random_mask, text_mask
from genlab.experiments._dip import SOURCE, DipConfig, curve_and_snapshots, fit_and_store, peak, square_image
from genlab.experiments.base import Claim, Experiment, register, verdict
from genlab.metrics import psnr

PAPER_NET = dict(channels=128, depth=5, skip=4, in_channels=32, size=512)


# ---- denoising ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DenoiseConfig(DipConfig):
    sigma: float = 25 / 255
    min_gain_db: float = 3.0   # "well above" the noisy input
    min_drop_db: float = 0.5   # the last iterate below the peak by at least this

    def validate(self):
        super().validate()
        check(0 < self.sigma < 1, f"sigma={self.sigma} must lie in (0, 1) (data range 1)")


def run_denoise(cfg: DenoiseConfig, run):
    clean = square_image(cfg.image, cfg.size, 2 ** cfg.depth)
    ph = GaussianNoise(cfg.sigma)
    y = ph.corrupt(clean, np.random.default_rng(cfg.seed))
    fit_and_store(run, cfg, "denoise", clean, y, ph, snapshot_fracs=(0.05, 0.15, 0.4, 1.0))


def figures_denoise(run, cfg):
    curve_and_snapshots(run, ["denoise"], [f"denoising, sigma = {cfg.sigma * 255:.0f}/255 ({cfg.image}, {cfg.size} px)"],
                        "dip_denoise", "noisy input")


def claims_denoise(run, cfg):
    a = run.arrays
    obs = psnr(a["denoise_observed"], a["denoise_clean"])
    s, p = peak(run, "denoise")
    last = float(a["denoise_psnr_avg"][-1])
    src = f"{SOURCE}, Fig. 4 / Sec. 4 (denoising)"
    return [
        Claim("dip-denoise-gain", "the peak PSNR of the averaged output is well above the noisy input's", src,
              p - obs, f">= {cfg.min_gain_db} dB", verdict(p - obs >= cfg.min_gain_db),
              f"noisy {obs:.2f} dB, peak {p:.2f} dB at iteration {s}"),
        Claim("dip-denoise-falls", "left running, the network fits the noise: the last iterate falls below the peak", src,
              p - last, f">= {cfg.min_drop_db} dB below the peak", verdict(p - last >= cfg.min_drop_db),
              f"last ({int(a['denoise_steps'][-1])}) {last:.2f} dB"),
    ]


# ---- JPEG artifacts ------------------------------------------------------------------------------
@dataclass(frozen=True)
class JpegConfig(DipConfig):
    quality: int = 10

    def validate(self):
        super().validate()
        check(1 <= self.quality <= 95, f"quality={self.quality} must lie in 1..95")


def run_jpeg(cfg: JpegConfig, run):
    clean = square_image(cfg.image, cfg.size, 2 ** cfg.depth)
    ph = JPEG(cfg.quality)
    y = ph.corrupt(clean, None)
    # early = 5 % of the steps (blur); the paper's late iterate is at 50,000 steps, and at 64x64
    # the artifacts come back slowly: at 1,000 steps the last iterate was only 0.15 dB under the
    # best, at 2,500 it is 0.47 dB under (hence quick's 2,500 steps)
    fit_and_store(run, cfg, "jpeg", clean, y, ph, snapshot_fracs=(0.05, 1.0))


def figures_jpeg(run, cfg):
    curve_and_snapshots(run, ["jpeg"], [f"JPEG quality {cfg.quality}: early (blur), best, late (artifacts)"],
                        "dip_jpeg", f"JPEG q={cfg.quality}")


def claims_jpeg(run, cfg):
    a = run.arrays
    obs = psnr(a["jpeg_observed"], a["jpeg_clean"])
    s, p = peak(run, "jpeg")
    early = psnr(a["jpeg_snaps_avg"][0], a["jpeg_clean"])
    last = float(a["jpeg_psnr_avg"][-1])
    src = f"{SOURCE}, Fig. 5 (JPEG artifact removal)"
    return [
        Claim("dip-jpeg-best", "at the best point the output is closer to the original than the JPEG is", src,
              p - obs, "> 0 dB", verdict(p - obs > 0), f"JPEG {obs:.2f} dB, best {p:.2f} dB at iteration {s}"),
        Claim("dip-jpeg-order", "early iterates are blurry and late ones bring the artifacts back: both below the best",
              src, min(p - early, p - last), "> 0.2 dB", verdict(min(p - early, p - last) > 0.2),
              f"early (iter {int(a['jpeg_snap_steps'][0])}) {early:.2f} dB, last {last:.2f} dB"),
    ]


# ---- inpainting -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class InpaintConfig(DipConfig):
    text_image: str = "chelsea"
    holes_image: str = "astronaut"
    drop_image: str = "brick"
    n_holes: int = 3
    hole_radius: float = 0.09   # as a fraction of the side
    drop: float = 0.5
    min_gain_db: float = 1.0    # over filling the unknown pixels with the known pixels' mean colour

    def validate(self):
        super().validate()
        check(0 < self.drop < 1 and 0 < self.hole_radius < 0.5, "drop in (0, 1) and hole_radius in (0, 0.5) please")


CASES = ("text", "holes", "drop")


def _mask(case, cfg, s):
    rng = np.random.default_rng(cfg.seed + 7)
    if case == "text":
        return text_mask(s, s)
    if case == "holes":
        return holes_mask(s, s, cfg.n_holes, cfg.hole_radius * s, rng)
    return random_mask(s, s, cfg.drop, rng)


def run_inpaint(cfg: InpaintConfig, run):
    for case, name in zip(CASES, (cfg.text_image, cfg.holes_image, cfg.drop_image)):
        clean = square_image(name, cfg.size, 2 ** cfg.depth)
        ph = Inpainting(_mask(case, cfg, clean.shape[0]))
        y = ph.corrupt(clean, None)
        fit_and_store(run, cfg, case, clean, y, ph, snapshot_fracs=(0.05, 0.25, 1.0))
        run.save_array(f"{case}_mask", ph.mask)


def _mean_fill(y, mask):
    m = mask[..., None] if y.ndim == 3 else mask
    mean = (y * m).sum((0, 1)) / m.sum((0, 1))
    return y * m + mean * (1 - m)


def figures_inpaint(run, cfg):
    curve_and_snapshots(run, list(CASES), ["text overlay", f"{cfg.n_holes} large holes", f"{cfg.drop:.0%} of pixels dropped"],
                        "dip_inpaint", "masked input")


def claims_inpaint(run, cfg):
    a = run.arrays
    gains, parts = [], []
    for case in CASES:
        clean, mask, obs = a[f"{case}_clean"], a[f"{case}_mask"] > 0.5, a[f"{case}_observed"]
        hole = ~mask  # score only the pixels the loss never saw
        dip = float(psnr(a[f"{case}_best"][hole], clean[hole]))
        base = float(psnr(_mean_fill(obs, mask.astype(np.float32))[hole], clean[hole]))
        gains.append(dip - base)
        parts.append(f"{case}: {dip:.2f} dB vs mean-fill {base:.2f} dB")
    g = float(min(gains))
    return [Claim("dip-inpaint", "fitting only the known pixels, the network fills the unknown ones with plausible content",
                  f"{SOURCE}, Fig. 7 (inpainting)", g, f"PSNR on the unknown pixels >= {cfg.min_gain_db} dB above "
                  "a mean-colour fill, for every mask", verdict(g >= cfg.min_gain_db), "; ".join(parts))]


# ---- super-resolution -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SrConfig(DipConfig):
    factor: int = 4

    def validate(self):
        super().validate()
        check(self.factor >= 2 and self.size >= 4 * self.factor, f"factor={self.factor}: use >= 2 and size >= 4 * factor")


def run_sr(cfg: SrConfig, run):
    clean = square_image(cfg.image, cfg.size, max(2 ** cfg.depth, cfg.factor))
    ph = Downsampling(cfg.factor)
    y = ph.corrupt(clean, None)
    fit_and_store(run, cfg, "sr", clean, y, ph, snapshot_fracs=(0.05, 0.25, 1.0), out_shape=clean.shape[:2])
    from skimage.transform import resize
    bic = np.clip(resize(y, clean.shape, order=3, mode="edge", anti_aliasing=False), 0, 1).astype(np.float32)
    run.save_array("sr_bicubic", bic)


def figures_sr(run, cfg):
    curve_and_snapshots(run, ["sr"], [f"{cfg.factor}x super-resolution (loss on the downsampled output)"],
                        "dip_sr", f"low-res ({cfg.factor}x)")


def claims_sr(run, cfg):
    a = run.arrays
    bic = psnr(a["sr_bicubic"], a["sr_clean"])
    last = float(a["sr_psnr_avg"][-1])
    return [Claim("dip-sr", f"{cfg.factor}x: the DIP reconstruction beats bicubic upsampling", f"{SOURCE}, Table 1 / Fig. 3",
                  last - bic, "> 0 dB (last iterate vs bicubic)", verdict(last - bic > 0),
                  f"bicubic {bic:.2f} dB, DIP last {last:.2f} dB, peak {peak(run, 'sr')[1]:.2f} dB")]


# ---- registry -------------------------------------------------------------------------------------
def _scales(cls, quick: dict, default: dict, paper: dict):
    return {"quick": cls(**quick), "default": cls(**{**dict(size=128, channels=64, depth=5, in_channels=32), **default}),
            "paper": cls(**{**PAPER_NET, **paper})}


register(Experiment(
    id="dip-denoise", family="deep-image-prior", title="DIP denoising: PSNR rises, peaks, then falls",
    source=f"{SOURCE}, Fig. 4", claim="peak PSNR well above the noisy input's; the last iterate falls below the peak",
    config=DenoiseConfig, scales=_scales(DenoiseConfig, dict(steps=700), dict(steps=2000), dict(steps=3000)),
    times={"quick": "20 s", "default": "15 min", "paper": "~9 h (GPU: minutes)"},
    run=run_denoise, figures=figures_denoise, claims=claims_denoise))

register(Experiment(
    id="dip-jpeg", family="deep-image-prior", title="DIP JPEG artifact removal: blur, clean, artifacts again",
    source=f"{SOURCE}, Fig. 5", claim="the best iterate beats the JPEG; early and late iterates are worse",
    config=JpegConfig, scales=_scales(JpegConfig, dict(steps=2500), dict(steps=2400, image="astronaut"),
                                      dict(steps=2400, image="astronaut")),
    times={"quick": "55 s", "default": "15 min", "paper": "~7 h (GPU: minutes)"},
    run=run_jpeg, figures=figures_jpeg, claims=claims_jpeg))

register(Experiment(
    id="dip-inpaint", family="deep-image-prior", title="DIP inpainting: text, large holes, 50 % dropped pixels",
    source=f"{SOURCE}, Fig. 7", claim="from the known pixels alone, the fill beats a mean-colour fill by >= 1 dB",
    config=InpaintConfig, scales=_scales(InpaintConfig, dict(steps=500), dict(steps=3000), dict(steps=5000)),
    times={"quick": "35 s", "default": "1 h", "paper": "~15 h per mask (GPU: minutes)"},
    run=run_inpaint, figures=figures_inpaint, claims=claims_inpaint))

register(Experiment(
    id="dip-sr", family="deep-image-prior", title="DIP 4x super-resolution",
    source=f"{SOURCE}, Table 1", claim="the 4x DIP reconstruction beats bicubic upsampling",
    config=SrConfig, scales=_scales(SrConfig, dict(steps=600, size=64, image="astronaut"),
                                    dict(steps=2000, image="astronaut"), dict(steps=2000, image="astronaut")),
    times={"quick": "15 s", "default": "15 min", "paper": "~6 h (GPU: minutes)"},
    run=run_sr, figures=figures_sr, claims=claims_sr))
