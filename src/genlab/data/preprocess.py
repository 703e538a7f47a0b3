"""Preprocessing of vision data: Zhang et al. 2017's crops and whitening; pooled MNIST for tiny nets.

- :func:`prepare`: Zhang et al. 2017 (Appendix A): 28x28 centre crops and per-image whitening.
  Shapes: images in uint8 (N, H, W) or (N, H, W, C) in, float32 (N, C, H, W) out
  (MNIST-1D: float (N, L) in, float32 (N, 1, L) out). Labels are untouched.
- :func:`area_downsample`, :func:`downsampled_mnist`: MNIST pooled to a few inputs, small
  enough for the exact Hessian of a network on it (Dauphin et al. 2014's experiments).
"""
from __future__ import annotations

import numpy as np

from genlab.data.vision import Dataset, load_dataset


def center_crop(x: np.ndarray, size: int) -> np.ndarray:
    """Central ``size`` x ``size`` crop of (N, H, W[, C]) images."""
    h, w = x.shape[1], x.shape[2]
    if size > min(h, w):
        raise ValueError(f"crop {size} larger than the images ({h}x{w})")
    top, left = (h - size) // 2, (w - size) // 2
    return x[:, top:top + size, left:left + size]


def per_image_whitening(x: np.ndarray) -> np.ndarray:
    """Subtract each image's mean and divide by its std, floored at 1/sqrt(#values) so flat images stay finite.

    This is TensorFlow's ``per_image_standardization``, the paper's whitening.
    """
    x = np.asarray(x, dtype=np.float32)
    axes = tuple(range(1, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    std = x.std(axis=axes, keepdims=True)
    floor = 1.0 / np.sqrt(np.prod(x.shape[1:]))
    return (x - mean) / np.maximum(std, floor)


def to_nchw(x: np.ndarray) -> np.ndarray:
    if x.ndim == 3:
        return x[:, None]
    if x.ndim == 4:
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    return x[:, None]  # (N, L) -> (N, 1, L)


def prepare(ds: Dataset, crop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(x_train, x_test) as float32 (N, C, H, W) with the paper's preprocessing.

    CIFAR-10: 28x28 centre crop (``crop``, default 28) then per-image whitening.
    MNIST / Fashion-MNIST: pixels / 255, then per-image whitening, so every data
    set reaches the network on the same scale. MNIST-1D: per-sequence whitening.
    """
    out = []
    for x in (ds.x_train, ds.x_test):
        if ds.name == "cifar10":
            x = center_crop(x, crop or 28)
        if x.dtype == np.uint8:
            x = x.astype(np.float32) / 255.0
        out.append(to_nchw(per_image_whitening(x)).astype(np.float32))
    return out[0], out[1]


def area_downsample(images: np.ndarray, side: int, dtype=None, device=None):
    """(N, H, W) uint8 -> (N, side*side) tensor on [0, 1], each pixel the mean over its area.

    For side dividing H this is average pooling (28 -> 4 pools 7x7 blocks); for other
    sides (28 -> 10) area interpolation. ``dtype`` defaults to float32. Pooled on the CPU (the
    same numbers on every device), then moved to ``device`` (default: the current device).
    """
    import torch
    import torch.nn.functional as F
    # a copy: IDX arrays are read-only
    x = torch.tensor(np.asarray(images)[:, None], dtype=dtype or torch.float32, device="cpu") / 255.0
    return F.interpolate(x, size=(side, side), mode="area").flatten(1).to(_device(device))


def downsampled_mnist(n: int, pool: int = 7, seed: int = 0, dtype=None, data_dir=None, device=None):
    """``n`` MNIST training images (a seeded random subset), average-pooled by ``pool``, for the squared loss.

    28/7 = 4x4 = 16 inputs, each standardized over the ``n`` images; targets are one-hot
    minus 0.1 (centred). ``dtype`` defaults to float64. Returns (x (n, (28/pool)^2),
    y_onehot (n, 10), labels (n,) int64), computed on the CPU and moved to ``device`` (default: the
    current device).
    """
    import torch
    d = load_dataset("mnist", data_dir)
    idx = np.random.default_rng(seed).permutation(len(d.x_train))[:n]
    x = area_downsample(d.x_train[idx], 28 // pool, dtype or torch.float64, device="cpu")
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    labels = torch.tensor(d.y_train[idx], device="cpu")
    y = torch.nn.functional.one_hot(labels, 10).to(dtype or torch.float64) - 0.1
    dev = _device(device)
    return x.to(dev), y.to(dev), labels.to(dev)


def _device(device):
    from genlab import runtime
    return runtime.device() if device is None else device
