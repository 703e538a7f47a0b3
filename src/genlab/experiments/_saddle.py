"""Shared pieces of the saddle-point experiments: data, second-order steps, critical-point search.

Dauphin et al., "Identifying and attacking the saddle point problem in high-dimensional
non-convex optimization" (NIPS 2014). Everything here works on tiny networks (a few
hundred parameters), where the exact Hessian costs milliseconds.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from genlab.data.preprocess import area_downsample
from genlab.data.vision import load_dataset
from genlab.probes.hessian import Hessian


def downsampled_mnist(n: int, pool: int = 7, seed: int = 0, dtype=torch.float64):
    """The first ``n`` MNIST training images average-pooled by ``pool`` (28/7 = 4x4 = 16 inputs),
    each input standardized; targets one-hot centred (for the squared loss). Returns (x, y_onehot, labels)."""
    d = load_dataset("mnist")
    idx = np.random.default_rng(seed).permutation(len(d.x_train))[:n]
    x = area_downsample(d.x_train[idx], 28 // pool, dtype)
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    labels = torch.tensor(d.y_train[idx])
    y = nn.functional.one_hot(labels, 10).to(dtype) - 0.1
    return x, y, labels









