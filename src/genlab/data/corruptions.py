"""The randomization tests of Zhang et al. 2017 (Section 2): seeded corruptions of a data set.

Zhang, Bengio, Hardt, Recht, Vinyals, "Understanding deep learning requires
rethinking generalization", ICLR 2017, Section 2 and Fig. 1. Every function
takes a seed and never changes its input. Images are float arrays of shape
(N, ...) where the first axis indexes images; pixel permutations act on the
spatial positions (all channels of a pixel move together, as in the paper).
"""
from __future__ import annotations

import numpy as np

from genlab.errors import GenlabError

CORRUPTIONS = ("true", "random_labels", "shuffled_pixels", "random_pixels", "gaussian")


def _check_p(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise GenlabError(f"corruption level p={p} is outside [0, 1]; use a probability such as 0.2")


def corrupt_labels(y: np.ndarray, p: float, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Replace each label, with probability ``p``, by a uniform random class.

    Returns (labels, mask) where ``mask`` marks the labels that were redrawn;
    a redrawn label equals the true one with probability 1/n_classes, as in the paper.
    """
    _check_p(p)
    rng = np.random.default_rng(seed)
    mask = rng.random(len(y)) < p
    out = np.array(y, dtype=np.int64, copy=True)
    out[mask] = rng.integers(0, n_classes, size=int(mask.sum()))
    return out, mask


def random_labels(y: np.ndarray, n_classes: int, seed: int) -> np.ndarray:
    """Every label replaced by a uniform random class (p = 1)."""
    return corrupt_labels(y, 1.0, n_classes, seed)[0]


def _positions(x: np.ndarray) -> tuple[int, tuple[int, ...]]:
    """Number of pixel positions and the trailing channel shape: (N,H,W) -> H*W; (N,H,W,C) -> H*W, (C,)."""
    if x.ndim == 4:
        return x.shape[1] * x.shape[2], (x.shape[3],)
    return int(np.prod(x.shape[1:])), ()


def pixel_permutation(x: np.ndarray, seed: int) -> np.ndarray:
    """The one permutation of pixel positions that :func:`shuffled_pixels` applies."""
    return np.random.default_rng(seed).permutation(_positions(x)[0])


def shuffled_pixels(x: np.ndarray, seed: int, perm: np.ndarray | None = None) -> np.ndarray:
    """One fixed permutation of the pixels applied to every image (train and test share ``seed``)."""
    n, ch = _positions(x)
    perm = pixel_permutation(x, seed) if perm is None else perm
    return x.reshape(len(x), n, *ch)[:, perm].reshape(x.shape)


def random_pixels(x: np.ndarray, seed: int) -> np.ndarray:
    """A new random permutation of the pixels for each image."""
    n, ch = _positions(x)
    rng = np.random.default_rng(seed)
    perms = np.argsort(rng.random((len(x), n)), axis=1)  # one uniform permutation per row
    flat = x.reshape(len(x), n, *ch)
    return np.take_along_axis(flat, perms.reshape(len(x), n, *([1] * len(ch))), axis=1).reshape(x.shape)


def gaussian_images(x: np.ndarray, seed: int) -> np.ndarray:
    """Gaussian noise images with the data's mean and variance (one scalar each, as in the paper)."""
    rng = np.random.default_rng(seed)
    x64 = np.asarray(x, dtype=np.float64)
    return (rng.standard_normal(x.shape) * x64.std() + x64.mean()).astype(np.float32)


def apply(kind: str, x: np.ndarray, y: np.ndarray, n_classes: int, seed: int,
          x_test: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Apply one of :data:`CORRUPTIONS` to a training set (and the same pixel permutation to ``x_test``).

    Returns (x, y, x_test). Labels of ``x_test`` are never touched: test error is
    always measured against the true test labels.
    """
    if kind == "true":
        return x, y, x_test
    if kind == "random_labels":
        return x, random_labels(y, n_classes, seed), x_test
    if kind == "shuffled_pixels":
        perm = pixel_permutation(x, seed)
        return shuffled_pixels(x, seed, perm), y, None if x_test is None else shuffled_pixels(x_test, seed, perm)
    if kind == "random_pixels":
        return random_pixels(x, seed), y, None if x_test is None else random_pixels(x_test, seed + 1)
    if kind == "gaussian":
        return gaussian_images(x, seed), y, None if x_test is None else gaussian_images(x_test, seed + 1)
    raise GenlabError(f"unknown corruption {kind!r}; choose one of: {', '.join(CORRUPTIONS)}")
