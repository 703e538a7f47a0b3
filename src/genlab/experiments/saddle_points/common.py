"""What saddle-index and saddle-free-newton share: the pooled-MNIST task and the thread setting."""
from __future__ import annotations

import functools

from genlab.data.preprocess import downsampled_mnist
from genlab.runtime import num_threads


def task(cfg):
    """(x, y, widths): ``cfg.n_samples`` 4x4-pooled MNIST images with centred one-hot targets (on the current
    device; build the models on ``x.device``), and the widths 16-``cfg.hidden``-10 of a network small enough
    for its exact Hessian."""
    x, y, _ = downsampled_mnist(cfg.n_samples, seed=cfg.seed)
    return x, y, (x.shape[1], cfg.hidden, 10)


def in_threads(body):
    """``run(cfg, run)`` under ``cfg.threads`` intra-op threads (the experiment's own run function,
    so it keeps its module): eigh of a 200x200 matrix is ~10x slower with two contended threads."""
    @functools.wraps(body)
    def run(cfg, run):
        with num_threads(cfg.threads):
            body(cfg, run)
    return run
