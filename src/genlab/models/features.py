"""Fixed feature maps for kernel machines (Zhang et al. 2017, Section 5), computed in blocks.

- :class:`RandomConvFeatures`: Coates and Ng's single-layer encoder with random filters
  (Coates & Ng, "The importance of encoding versus training with sparse coding and vector
  quantization", ICML 2011): every ``size`` x ``size`` patch is brightness/contrast
  normalized, ``(p - mean(p)) / sqrt(var(p) + eps_norm)``, and ZCA-whitened (mean and
  whitening fitted on ``n_patches`` random training patches); it is correlated with
  ``n_filters`` random Gaussian unit filters (stride 1), rectified with the polarity split
  ``max(0, z - alpha)``, ``max(0, -z - alpha)``, and averaged over a ``pool`` x ``pool`` grid:
  ``2 * pool**2`` features per filter. The normalization and whitening are folded into the
  filters, so the encoder is three convolutions of the raw image.
- :class:`GaborFeatures`: the moduli of a fixed Gabor bank's responses
  (``skimage.filters.gabor_kernel``; zero-padded "same" convolution sampled at every second
  pixel), averaged over a ``pool`` x ``pool`` grid: ``pool**2`` features per filter.
  Nothing is learned.

Both take images (n, H, W) or (n, H, W, C), uint8 (scaled to [0, 1]) or float, and return
float32 features (n, n_filters * per_filter) from ``transform(X, filters=slice)``, with the
columns of filter j at ``[j * per_filter, (j + 1) * per_filter)``, so any block of filters
can be computed alone. :func:`feature_distances` sums ``||phi(x_i) - phi(x_j)||^2`` over
filter blocks: only one block of features is held at a time, which is how 32,000 filters fit
in memory; :func:`distance_memory_bytes` estimates its peak before anything is allocated.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from genlab.models.kernel import squared_distances
from genlab.runtime import device as runtime_device


def _images(X: np.ndarray, device: torch.device) -> torch.Tensor:
    """(n, C, H, W) float32 in [0, 1] for uint8 input, on ``device``."""
    x = np.asarray(X)
    x = x[..., None] if x.ndim == 3 else x
    t = torch.from_numpy(np.array(x.transpose(0, 3, 1, 2), dtype=np.float32)).to(device)  # a writable copy
    return t / 255.0 if x.dtype == np.uint8 else t


class _BlockedMap:
    """transform() over blocks of images and of filters; subclasses give _respond(x, filters) -> (B, f, per_filter).

    The features are computed on ``device`` (None: :func:`genlab.runtime.device` when used) and returned as numpy.
    """

    n_filters: int
    per_filter: int
    block: int
    filter_block: int
    device: torch.device | str | None = None

    def _device(self) -> torch.device:
        return runtime_device() if self.device is None else torch.device(self.device)

    def filter_blocks(self) -> list[slice]:
        return [slice(i, min(i + self.filter_block, self.n_filters)) for i in range(0, self.n_filters, self.filter_block)]

    def transform(self, X: np.ndarray, filters: slice | None = None) -> np.ndarray:
        """Features of the filters in ``filters`` (default all): float32 (n, len(filters) * per_filter)."""
        start, stop, _ = (filters or slice(None)).indices(self.n_filters)
        nf = stop - start
        out = np.empty((len(X), nf * self.per_filter), np.float32)
        with torch.no_grad():
            for i in range(0, len(X), self.block):
                x = _images(X[i:i + self.block], self._device())
                for j in range(0, nf, self.filter_block):
                    f = slice(start + j, start + min(j + self.filter_block, nf))
                    cols = slice(j * self.per_filter, (j + f.stop - f.start) * self.per_filter)
                    out[i:i + len(x), cols] = self._respond(x, f).reshape(len(x), -1).cpu().numpy()
        return out

    def _respond(self, x: torch.Tensor, f: slice) -> torch.Tensor:
        raise NotImplementedError


class RandomConvFeatures(_BlockedMap):
    """Random convolutional features (Coates & Ng 2011). After :meth:`fit`: ``filters_`` (n_filters, C, size, size)."""

    def __init__(self, n_filters: int = 1024, size: int = 6, pool: int = 2, alpha: float = 0.25,
                 eps_norm: float = 10 / 255**2, eps_zca: float = 0.1, n_patches: int = 10000, seed: int = 0,
                 block: int = 16, filter_block: int = 512, device: torch.device | str | None = None):
        self.device = device
        self.n_filters, self.size, self.pool, self.alpha = n_filters, size, pool, alpha
        self.eps_norm, self.eps_zca, self.n_patches, self.seed = eps_norm, eps_zca, n_patches, seed
        self.block, self.filter_block, self.per_filter = block, filter_block, 2 * pool * pool

    def _normalized(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Patch means and 1 / sqrt(var + eps_norm), (B, 1, H', W'), by convolution with a box filter."""
        box = torch.ones(1, x.shape[1], self.size, self.size, device=x.device)
        k = box.numel()
        mu = F.conv2d(x, box) / k
        var = (F.conv2d(x * x, box) / k - mu * mu).clamp_min(0)
        return mu, torch.rsqrt(var + self.eps_norm)

    def fit(self, X: np.ndarray) -> "RandomConvFeatures":
        dev = self._device()
        x = _images(X, dev)
        n, c, h, w = x.shape
        # patches and filters are drawn on the CPU from the seed (the same ones on every device), then moved
        s, g, cpu = self.size, torch.Generator().manual_seed(self.seed), torch.device("cpu")
        img = torch.randint(0, n, (self.n_patches,), generator=g, device=cpu).to(dev)
        r, q = (torch.randint(0, d - s + 1, (self.n_patches,), generator=g, device=cpu).to(dev) for d in (h, w))
        a = torch.arange(s, device=dev)
        p = x[img[:, None, None, None], torch.arange(c, device=dev)[None, :, None, None],
              (r[:, None] + a)[:, None, :, None], (q[:, None] + a)[:, None, None, :]].reshape(self.n_patches, -1)
        p = ((p - p.mean(1, keepdim=True)) / torch.sqrt(p.var(1, unbiased=False, keepdim=True) + self.eps_norm)).double()
        mean = p.mean(0)
        evals, U = torch.linalg.eigh(torch.cov(p.T))
        Z = U @ torch.diag(1 / torch.sqrt(evals.clamp_min(0) + self.eps_zca)) @ U.T  # symmetric ZCA
        W0 = torch.randn(self.n_filters, c * s * s, generator=g, dtype=torch.float64, device=cpu).to(dev)
        W = (W0 / W0.norm(dim=1, keepdim=True)) @ Z  # w0 . Z (p' - mean) = (Z w0) . p' - (Z w0) . mean
        self.filters_ = W.float().reshape(self.n_filters, c, s, s)
        self.sums_, self.offsets_ = W.sum(1).float(), (W @ mean).float()
        return self

    def _respond(self, x: torch.Tensor, f: slice) -> torch.Tensor:
        mu, inv = self._normalized(x)
        z = F.conv2d(x, self.filters_[f])
        z.sub_(mu * self.sums_[f, None, None]).mul_(inv).sub_(self.offsets_[f, None, None])
        pos = F.adaptive_avg_pool2d((z - self.alpha).clamp_min_(0), self.pool)
        neg = F.adaptive_avg_pool2d(z.neg_().sub_(self.alpha).clamp_min_(0), self.pool)
        return torch.stack((pos, neg), 2).reshape(len(x), pos.shape[1], -1)  # (B, f, 2 * pool^2)


class GaborFeatures(_BlockedMap):
    """Moduli of a fixed Gabor bank (frequencies in cycles per pixel x orientations in [0, pi)), pooled."""

    def __init__(self, frequencies: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4), n_orientations: int = 8, pool: int = 7,
                 block: int = 128, filter_block: int = 32, device: torch.device | str | None = None):
        from skimage.filters import gabor_kernel
        self.device = device
        self.frequencies, self.n_orientations, self.pool = tuple(frequencies), n_orientations, pool
        self.block, self.filter_block, self.per_filter = block, filter_block, pool * pool
        self.kernels = [gabor_kernel(fr, theta=np.pi * o / n_orientations) for fr in self.frequencies
                        for o in range(n_orientations)]
        self.n_filters = len(self.kernels)
        self._groups = []  # per frequency: (first filter, last + 1, flipped real and imaginary parts, centred in k x k)
        for i in range(0, self.n_filters, n_orientations):
            ks = self.kernels[i:i + n_orientations]
            k = max(max(g.shape) for g in ks) | 1
            w = np.zeros((2 * len(ks), 1, k, k))
            for j, g in enumerate(ks):
                r, c = (k - g.shape[0]) // 2, (k - g.shape[1]) // 2
                w[2 * j:2 * j + 2, 0, r:r + g.shape[0], c:c + g.shape[1]] = np.stack([g.real, g.imag])[:, ::-1, ::-1]
            self._groups.append((i, i + len(ks), torch.from_numpy(w).float()))

    def fit(self, X: np.ndarray) -> "GaborFeatures":
        return self  # a fixed bank: nothing to learn

    def _respond(self, x: torch.Tensor, f: slice) -> torch.Tensor:
        """|x * g| at every second pixel (rows and columns 0, 2, ...) of the zero-padded "same" convolution, pooled.

        Convolution is correlation with the flipped kernel; each frequency's kernels are one strided conv2d.
        """
        x, out = x.mean(1, keepdim=True), []
        for first, stop, w in self._groups:
            lo, hi = max(first, f.start), min(stop, f.stop)
            if lo < hi:
                w = w[2 * (lo - first):2 * (hi - first)].to(x.device)
                ri = F.conv2d(x, w, stride=2, padding=w.shape[-1] // 2)
                out.append(F.adaptive_avg_pool2d(torch.sqrt(ri[:, 0::2] ** 2 + ri[:, 1::2] ** 2), self.pool).flatten(2))
        return torch.cat(out, 1)


def distance_memory_bytes(fmap: _BlockedMap, n_rows: int, n_cols: int, image_pixels: int, row_chunk: int = 2048) -> int:
    """Peak bytes of :func:`feature_distances`: the float64 result, one filter block of features (float32 and
    float64), one row chunk of distances, and the convolution's intermediate maps for one image block."""
    d = fmap.per_filter * min(fmap.filter_block, fmap.n_filters)
    conv = 6 * 4 * min(fmap.block, n_rows) * min(fmap.filter_block, fmap.n_filters) * image_pixels
    return 8 * n_rows * n_cols + 12 * n_rows * d + 8 * min(row_chunk, n_rows) * n_cols + conv


def feature_distances(fmap: _BlockedMap, X: np.ndarray, n_cols: int | None = None, row_chunk: int = 2048) -> np.ndarray:
    """||phi(x_i) - phi(x_j)||^2 for every row i of X and the first ``n_cols`` rows j (default all), float64
    (len(X), n_cols), accumulated over the map's filter blocks."""
    n_cols = len(X) if n_cols is None else n_cols
    out = np.zeros((len(X), n_cols))
    tmp = np.empty((min(row_chunk, len(X)), n_cols))
    for f in fmap.filter_blocks():
        phi = fmap.transform(X, f).astype(np.float64)
        for i in range(0, len(X), row_chunk):
            rows = phi[i:i + row_chunk]
            out[i:i + len(rows)] += squared_distances(rows, phi[:n_cols], out=tmp[:len(rows)])
    return out
