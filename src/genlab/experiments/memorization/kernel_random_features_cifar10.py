"""kernel-random-features-cifar10: kernel interpolation on random convolutional features beats raw pixels.

Paper: Zhang et al., "Understanding deep learning requires rethinking generalization",
ICLR 2017, Section 5: on CIFAR-10 (n = 50,000) the exact interpolating kernel solve reaches
46 % test error on raw pixels, 17 % on the features of 32,000 random convolutional filters
(Coates & Ng 2011), and 15 % with an l2 penalty added.
Command: ``genlab run kernel-random-features-cifar10 --scale quick``.
Features (:class:`genlab.models.features.RandomConvFeatures`): 6 x 6 x 3 patches, brightness/contrast
normalized and ZCA-whitened, ``n_filters`` random unit filters, polarity-split rectification
max(0, +-z - 0.25), averaged over 2 x 2 quadrants: 8 features per filter (256,000 at 32,000
filters). Kernel, bandwidth and solves: :mod:`genlab.experiments.memorization._kernel_curve`
(Gaussian kernel, sigma = 0.5 x median distance; exact solve and ridge = 0.1).
Only 5,085 CIFAR-10 training images are on disk, so the paper's n is out of reach: the run reports
a learning curve over ``sizes`` and a power-law extrapolation to n = 50,000, labelled as such.
Memory is estimated before anything is allocated; a run that would not fit stops with a one-line error.
Claim: features beat raw pixels by at least ``min_feature_gain`` (5 points; the paper's gap is 29)
at every n; the l2 penalty changes the error by less than ``max_l2_change`` (the paper's 2 points);
the exact solve interpolates; extrapolated to n = 50,000 the error is at most
``max_extrapolated_error`` (the paper's 17 % + 3 points).
"""
from __future__ import annotations

from dataclasses import dataclass

from genlab.config import param
from genlab.experiments.base import experiment
from genlab.experiments.memorization._kernel_curve import IMAGE_DATASETS, SOURCE, CurveConfig, claims, figures, run_curve
from genlab.models.features import RandomConvFeatures


@dataclass(frozen=True)
class RandomFeaturesConfig(CurveConfig):
    """Defaults: the paper scale (32,000 filters, n up to 50,000, all 10,000 test images)."""

    dataset: str = param("cifar10", choices=IMAGE_DATASETS)
    features: str = param("random-conv", choices=("random-conv",))  # the name in claim ids
    n_filters: int = param(32000, ge=1, le=10**5, why='the paper: 32,000; computed a block of filters at a time')
    filter_size: int = param(6, ge=1, le=28, why='a filter must fit in a 28 x 28 MNIST image')
    pool: int = param(2, ge=1, le=16, why='2 x pool**2 features per filter')
    alpha: float = param(0.25, ge=0, le=100)     # Coates & Ng's soft threshold on the normalized, whitened response
    # filters whose features are held at once
    filter_block: int = param(512, ge=1, le=4096, why="the block's response maps: 24 bytes x 16 images x 4096 x 1024 pixels, 1.6 GB")


def run(cfg: RandomFeaturesConfig, run):
    fmap = RandomConvFeatures(n_filters=cfg.n_filters, size=cfg.filter_size, pool=cfg.pool, alpha=cfg.alpha,
                              seed=cfg.seed, filter_block=cfg.filter_block)
    run_curve(cfg, run, fmap)


EXPERIMENT = experiment(
    id="kernel-random-features-cifar10", title="Kernel interpolation on random convolutional features (cifar10)",
    source=SOURCE, config=RandomFeaturesConfig,
    claim="random convolutional features beat raw pixels at every n; the l2 penalty moves the error < 2 points",
    quick={"sizes": (200, 400, 800, 1200, 1600), "n_test": 1017, "n_filters": 256},
    default={"sizes": (318, 636, 1271, 2543, 5085), "n_test": 1017, "n_filters": 1600},
    times={"quick": "27 s", "default": "2.5 min", "paper": "~2 h on 16 cores, 75 GB (estimate)"},
    # free choices: the kernel width (x the median distance) and the ridge of the l2 comparison
    robustness={"bandwidth_scale": [0.25, 1.0], "ridge": [0.01, 1.0]},
    run=run, figures=figures, claims=claims)
