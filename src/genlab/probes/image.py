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


def _where(where, shape) -> np.ndarray:
    w = np.asarray(where, dtype=bool)
    if w.shape != tuple(shape[:2]):
        raise ValueError(f"where has shape {w.shape}, the images {shape[:2]}")
    if not w.any():
        raise ValueError("where selects no pixels")
    return w


def mse(x, ref, where=None) -> float:
    """Mean squared error; ``where`` ((H, W) booleans): over those pixels only (all channels)."""
    x, ref = _np(x), _np(ref)
    if x.shape != ref.shape:
        raise ValueError(f"shapes differ: {x.shape} vs {ref.shape}")
    d = (x - ref) ** 2
    return float(np.mean(d if where is None else d[_where(where, d.shape)]))


def psnr(x, ref, data_range: float = 1.0, where=None) -> float:
    """Peak signal-to-noise ratio in dB (inf for identical images); ``where``: over those pixels only."""
    m = mse(x, ref, where)
    return float("inf") if m == 0 else float(10 * np.log10(data_range ** 2 / m))


def ssim(x, ref, data_range: float = 1.0, where=None) -> float:
    """Structural similarity of (H, W) or (H, W, C) images in [0, data_range]; ``where`` ((H, W) booleans):
    the mean of the SSIM map (each pixel's 7x7 window) over those pixels instead of over the image."""
    from skimage.metrics import structural_similarity
    x, ref = _np(x), _np(ref)
    if x.shape != ref.shape:
        raise ValueError(f"shapes differ: {x.shape} vs {ref.shape}")
    axis = -1 if x.ndim == 3 else None
    if where is None:
        return float(structural_similarity(x, ref, data_range=data_range, channel_axis=axis))
    s_map = structural_similarity(x, ref, data_range=data_range, channel_axis=axis, full=True)[1]
    return float(np.mean(s_map[_where(where, s_map.shape)]))
