"""Image quality: PSNR and SSIM, with their convention recorded next to the number.

Convention (``CONVENTION``): images as float in [0, 1] (data range 1), computed
on all channels as given (RGB, not the Y channel), no border crop. PSNR is
``10 log10(1 / MSE)``; SSIM is Wang et al. 2004 with a 7x7 uniform window
(scikit-image's defaults), averaged over channels. ``genlab restore`` prints the
convention with every score; the DIP experiments score with these functions.
"""
from __future__ import annotations

import numpy as np

CONVENTION = {"colour_space": "RGB (or gray as given; alpha excluded)", "data_range": 1.0, "border_crop": 0,
              "ssim": "scikit-image structural_similarity, 7x7 uniform window, channel mean"}


def _np(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def mse(x, ref) -> float:
    x, ref = _np(x), _np(ref)
    if x.shape != ref.shape:
        raise ValueError(f"shapes differ: {x.shape} vs {ref.shape}")
    return float(np.mean((x - ref) ** 2))


def psnr(x, ref, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB (inf for identical images)."""
    m = mse(x, ref)
    return float("inf") if m == 0 else float(10 * np.log10(data_range ** 2 / m))


def ssim(x, ref, data_range: float = 1.0) -> float:
    """Structural similarity of (H, W) or (H, W, C) images in [0, data_range]."""
    from skimage.metrics import structural_similarity
    x, ref = _np(x), _np(ref)
    if x.shape != ref.shape:
        raise ValueError(f"shapes differ: {x.shape} vs {ref.shape}")
    return float(structural_similarity(x, ref, data_range=data_range, channel_axis=-1 if x.ndim == 3 else None))
