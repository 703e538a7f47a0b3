"""Relative error over whole frequency bands: 1-D DFT bands and radial bands of an image.

Where a target has no few isolated peaks to follow (noise spread over all
frequencies, a natural image), the frequency principle is measured band by
band: the relative error ‖ĥ − ŷ‖_band / ‖ŷ‖_band of the network output's
Fourier coefficients ĥ against the target's ŷ over one band of frequencies.

- ``band_error``: 1-D, DFT indices k_lo <= k < k_hi (Xu et al. 2018,
  arXiv:1807.01251: the noise band of a noisy low-frequency target).
- ``radial_band_errors``: 2-D, bands of equal radial width |f| of the 2-D FFT up
  to the corner frequency, DC excluded (Xu et al. 2018, Fig. 2: a coordinate
  network (x, y) -> gray value learns an image coarse to fine).
- ``BandProbe`` / ``StackBandError``: the same as probes for
  :class:`genlab.train.Every`, on a single model or a stack of M models.
"""
from __future__ import annotations

import numpy as np
import torch

from genlab.probes.spectrum import _np, dft
from genlab.runtime import as_tensor, follow


def band_error(out, y, k_lo: int, k_hi: int) -> np.ndarray:
    """Relative DFT error over the band k_lo <= k < k_hi: ‖ĥ−ŷ‖ / ‖ŷ‖ (out: (..., N), y: (N,))."""
    h, t = dft(out)[..., k_lo:k_hi], dft(y)[k_lo:k_hi]
    return np.linalg.norm(h - t, axis=-1) / max(np.linalg.norm(t), 1e-12)


def radial_bands(shape: tuple[int, int], n_bands: int) -> tuple[np.ndarray, np.ndarray]:
    """Band index per 2-D FFT coefficient (by radial frequency, 0 = lowest) and the band edges.

    shape: (H, W). Returns band (H, W) ints in [0, n_bands) and edges (n_bands + 1,)
    in cycles per pixel, from 0 to the corner frequency sqrt(0.5² + 0.5²).
    """
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.fftfreq(shape[1])[None, :]
    r = np.sqrt(fx ** 2 + fy ** 2)
    edges = np.linspace(0, r.max() + 1e-12, n_bands + 1)
    return np.clip(np.digitize(r, edges) - 1, 0, n_bands - 1), edges


def radial_band_errors(pred, target, n_bands: int = 4) -> np.ndarray:
    """Relative error per radial frequency band: ‖ĥ−ŷ‖_band / ‖ŷ‖_band (DC excluded) -> (n_bands,).

    pred, target: (..., H, W); the 2-D FFT runs over the last two axes (put
    colour channels first; leading axes are summed into one norm). A band where
    the target has no energy (below 1e-12 of the total) has no relative error: NaN.
    """
    p, t = _np(pred), _np(target)
    hp, ht = np.fft.fft2(p), np.fft.fft2(t)
    band, _ = radial_bands(t.shape[-2:], n_bands)
    band = band.copy()
    band[0, 0] = -1  # the mean is not a frequency
    total = np.sqrt((np.abs(ht[..., band >= 0]) ** 2).sum())
    out = np.full(n_bands, np.nan)
    for b in range(n_bands):
        m = band == b
        den = np.sqrt((np.abs(ht[..., m]) ** 2).sum())
        if den > 1e-12 * max(total, 1e-300):
            out[b] = np.sqrt((np.abs(hp[..., m] - ht[..., m]) ** 2).sum()) / den
    return out


def pixel_coordinates(h: int, w: int) -> np.ndarray:
    """Pixel centres as (h*w, 2) points (x, y) in [-1, 1]^2, row-major like the image."""
    yy, xx = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
    return np.stack([xx.ravel(), yy.ravel()], 1)


class BandProbe:
    """Relative error per radial band of a coordinate network's image (Xu et al. 2018, Fig. 2).

    target: (H, W) gray image; coords: the (H*W, 2) inputs the model takes, row-major
    like the image (default :func:`pixel_coordinates`). ``probe(model)`` -> (n_bands,)
    for a model mapping (H*W, 2) -> (H*W, 1), (M, n_bands) for a stack giving
    (M, H*W, 1); band 0 is the lowest. ``images(model)`` -> (M, H, W) (M = 1 unstacked).
    After construction (derived from the settings alone): ``x_`` the (H*W, 2) model inputs, ``band_`` (H, W)
    band index per FFT coefficient, ``edges_``.
    """

    name, axes = "bands", ("band",)

    def __init__(self, target, n_bands: int = 4, coords=None, device=None):
        self.target = _np(target)
        if self.target.ndim != 2:
            raise ValueError(f"target must be one (H, W) gray image, got shape {self.target.shape}")
        self.n_bands, self.coords, self.device = n_bands, coords, device
        coords = pixel_coordinates(*self.target.shape) if coords is None else coords
        self.x_ = as_tensor(coords, dtype=torch.float32, device=device)  # follows the model at each call
        self.band_, self.edges_ = radial_bands(self.target.shape, n_bands)

    def images(self, model) -> np.ndarray:
        self.x_ = follow(self.x_, model)
        with torch.no_grad():
            return model(self.x_)[..., 0].cpu().numpy().reshape(-1, *self.target.shape)

    def errors(self, images) -> np.ndarray:
        """(M, H, W) images -> (M, n_bands) relative errors, one image at a time."""
        return np.stack([radial_band_errors(im, self.target, self.n_bands) for im in images])

    def __call__(self, model, state=None) -> np.ndarray:
        self.x_ = follow(self.x_, model)
        with torch.no_grad():
            out = model(self.x_)
        err = self.errors(out[..., 0].cpu().numpy().reshape(-1, *self.target.shape))
        return err if out.dim() == 3 else err[0]


class StackBandError:
    """Relative DFT error over the band k_lo <= k < k_hi when each model of a stack has its own target.

    x: (N,) uniform grid; Y: (M, N) targets. ``probe(model)`` -> (M,) for a stack
    mapping (N, 1) -> (M, N, 1); a lone model (N, 1) -> (N, 1) with Y (1, N) -> (1,). Xu et al. 2018: the noise band of noisy targets.
    """

    name, axes = "band_error", ()

    def __init__(self, x, Y, k_lo: int, k_hi: int, device=None):
        self.x = as_tensor(x, dtype=torch.float32, device=device).reshape(-1, 1)
        self.Y, self.k_lo, self.k_hi, self.device = np.asarray(Y), k_lo, k_hi, device

    def __call__(self, model, state=None) -> np.ndarray:
        self.x = follow(self.x, model)
        with torch.no_grad():
            out = model(self.x)[..., 0].cpu().numpy().reshape(-1, len(self.x))
        return np.array([band_error(out[m], self.Y[m], self.k_lo, self.k_hi) for m in range(len(self.Y))])
