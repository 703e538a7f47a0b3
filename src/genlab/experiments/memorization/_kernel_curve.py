"""The kernel-features recipe (Zhang et al. 2017, Section 5): learning curves of kernel interpolation
on raw pixels and on a fixed feature map, exact and l2-penalized, and a power-law extrapolation.

Shared by ``kernel-random-features-cifar10`` and ``kernel-gabor-mnist``. For the largest n the
squared-distance matrix from every image (training and test) to the first n training images is
built once, in blocks (pixels: rows of images; features: blocks of filters, so the features are
never held whole); every smaller n reads its top-left part. At each n, on pixels and on features
alike: the Gaussian kernel of :mod:`genlab.models.kernel` with sigma = ``bandwidth_scale`` x the
median pairwise training distance (0.5, as in ``kernel-interpolation``: fixed, not tuned here),
then the exact solve ``K alpha = Y`` and the penalized ``(K + ridge I) alpha = Y``.
The power law ``err = a n^-b`` is fitted by least squares in log-log coordinates over all sizes
and evaluated at the paper's n: an extrapolation, not a measurement, and labelled so.
k of N: the solves have no randomness that matters, so each claim is also judged, inside the run, on 5
disjoint stride folds (image i in fold i % 5) of the test images (the training images of each size for
``-interpolates``): the claim's own quantity (smallest gain over n, largest l2 change over n, the power
law fitted to the fold's errors at each n) against the claim's own threshold, shown as "k/5 folds".
The run stores which image each solve gets wrong (``test_wrong``, ``train_wrong``: bool) for this.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from genlab.config import check, param
from genlab.data.vision import load_dataset
from genlab.errors import GenlabError
from genlab.experiments.base import claim
from genlab.experiments.memorization.common import DataConfig, fold_errors
from genlab.models.features import distance_memory_bytes, feature_distances
from genlab.models.kernel import median_sigma_d2, solve, squared_distances
from genlab.params import show_value as _csv
from genlab.plot import plt
from genlab.runtime import available_memory

SOURCE = "Zhang et al., Understanding deep learning requires rethinking generalization, ICLR 2017, Section 5"
IMAGE_DATASETS = ("mnist", "fashion-mnist", "cifar10")  # the feature maps take (n, H, W[, C]) images
ROWS = ("pixels", "pixels + l2", "features", "features + l2")  # the rows of the stored curves


@dataclass(frozen=True)
class CurveConfig(DataConfig):
    """Learning-curve settings; the experiments add their feature map's fields and the paper's numbers."""

    features: str = ""                  # names the feature map in claim ids and figures (declared per experiment)
    sizes: tuple[int, ...] = param((3125, 6250, 12500, 25000, 50000), ge=2, le=10**5, min_len=5, max_len=32,
                                   why='float64 distances (n + n_test) x n: 88 GB at n = 10**5, n_test = 10**4')
    n_test: int = param(10000, ge=1, le=10**5)
    bandwidth_scale: float = param(0.5, gt=0, le=100)
    ridge: float = param(0.1, gt=0, le=10**3)  # l2 penalty: a tenth of the kernel's unit diagonal, chosen before running
    max_memory_gb: float = param(0.0, ge=0, le=10**5)  # 0: 80 % of the memory available now
    row_chunk: int = param(2048, ge=1, le=65536)
    paper_n: int = param(50000, ge=1, le=10**7)
    paper_error: float = param(0.17, ge=0, le=1)         # the paper's error of the interpolating kernel on features
    paper_error_l2: float = param(0.15, ge=0, le=1)      # ... with the l2 penalty (0: not reported)
    paper_error_pixels: float = param(0.46, ge=0, le=1)  # ... on raw pixels
    # the claims' thresholds (set from the paper before running)
    min_feature_gain: float = param(0.05, ge=0, lt=1)    # features beat pixels by at least this much at every n
    max_l2_change: float = param(0.02, gt=0, le=1)       # |error with l2 - error without| stays below the paper's 2 points
    max_extrapolated_error: float = param(0.20, gt=0, le=1)

    def validate(self):
        super().validate()
        check(all(a < b for a, b in zip(self.sizes, self.sizes[1:])),
              f"sizes={_csv(self.sizes)} must increase (at least 5 training-set sizes); sort them and drop repeats")


def _curve(d2: np.ndarray, n: int, Y: np.ndarray, yt: np.ndarray, cfg: CurveConfig):
    """(train error, test error) of the exact and the penalized solve at each size: (2, 2, len(sizes)); and which
    training images (the first s at size s; False past s) and test images each solve gets wrong: (2, S, n), (2, S, m)."""
    out = np.zeros((2, 2, len(cfg.sizes)))
    train_wrong = np.zeros((2, len(cfg.sizes), n), bool)
    test_wrong = np.zeros((2, len(cfg.sizes), len(yt)), bool)
    for j, s in enumerate(cfg.sizes):
        g = -1 / (2 * (cfg.bandwidth_scale * median_sigma_d2(d2[:s, :s], seed=cfg.seed)) ** 2)
        K, Kt = np.exp(g * d2[:s, :s]), np.exp(g * d2[n:, :s])
        for i, ridge in enumerate((0.0, cfg.ridge)):
            K0 = K.copy() if ridge else K  # solve() adds the ridge in place
            alpha = solve(K0, Y[:s], ridge)
            train_wrong[i, j, :s] = (K @ alpha).argmax(1) != Y[:s].argmax(1)  # with the unpenalized K
            test_wrong[i, j] = (Kt @ alpha).argmax(1) != yt
            out[i, 0, j] = np.mean(train_wrong[i, j, :s])
            out[i, 1, j] = np.mean(test_wrong[i, j])
    return out, train_wrong, test_wrong


def power_law(sizes, errors) -> tuple[float, float]:
    """Fit err = a n^-b by least squares in log-log coordinates; return (a, b)."""
    slope, icpt = np.polyfit(np.log(np.asarray(sizes, float)), np.log(np.maximum(errors, 1e-6)), 1)
    return float(math.exp(icpt)), float(-slope)


def run_curve(cfg: CurveConfig, run, fmap) -> None:
    """Learning curves on pixels and on ``fmap`` (fitted here on the largest training set)."""
    ds = load_dataset(cfg.dataset, cfg.data_dir or None)
    n, m = cfg.sizes[-1], min(cfg.n_test, len(ds.x_test))
    if n > len(ds.x_train):
        raise GenlabError(f"sizes: largest n = {n} but {len(ds.x_train)} {cfg.dataset} training images are on disk; "
                          f"use sizes up to {len(ds.x_train)} (or data_dir with the full data set)")
    pix = int(np.prod(ds.x_train.shape[1:]))
    solves = 8 * (2 * n * n + m * n)  # K, its factor, the test kernel
    need = max(8 * (n + m) * (n + pix + min(cfg.row_chunk, n + m)),
               distance_memory_bytes(fmap, n + m, n, int(np.prod(ds.x_train.shape[1:3])), cfg.row_chunk)) + solves
    limit = cfg.max_memory_gb * 2**30 if cfg.max_memory_gb else 0.8 * available_memory()
    if need > limit:
        raise GenlabError(f"sizes up to n={n} with n_test={m} need {need / 2**30:.3g} GiB but {limit / 2**30:.3g} GiB "
                          f"is available; lower the largest of sizes or n_test")
    X = np.concatenate([ds.x_train[:n], ds.x_test[:m]])
    Y, yt = np.eye(ds.n_classes)[ds.y_train[:n]], ds.y_test[:m].astype(int)
    flat = X.reshape(len(X), -1).astype(np.float64) / (255.0 if X.dtype == np.uint8 else 1.0)
    d2 = np.empty((n + m, n))
    for i in range(0, n + m, cfg.row_chunk):
        squared_distances(flat[i:i + cfg.row_chunk], flat[:n], out=d2[i:i + cfg.row_chunk])
    del flat
    pixels = _curve(d2, n, Y, yt, cfg)
    del d2
    fmap.fit(ds.x_train[:n])
    feats = _curve(feature_distances(fmap, X, n, cfg.row_chunk), n, Y, yt, cfg)
    errors = np.concatenate([pixels[0], feats[0]])  # (4, 2, S): rows ROWS, (train, test), sizes
    run.save_arrays(sizes=np.array(cfg.sizes), train_error=errors[:, 0], test_error=errors[:, 1],
                    train_wrong=np.concatenate([pixels[1], feats[1]]), test_wrong=np.concatenate([pixels[2], feats[2]]))
    for r, name in enumerate(ROWS):
        for j, s in enumerate(cfg.sizes):
            run.log("test_error", errors[r, 1, j], step=s, key=name)
        a, b = power_law(cfg.sizes, errors[r, 1])
        run.log("power_law_exponent", b, key=name)
        run.log("extrapolated_error", a * cfg.paper_n ** -b, key=name)
    run.log("feature_dim", fmap.n_filters * fmap.per_filter)


def figures(run, cfg: CurveConfig):
    sizes, err = run.arrays["sizes"], run.arrays["test_error"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    grid = np.geomspace(sizes[0], cfg.paper_n, 50)
    for r, (name, style) in enumerate(zip(ROWS, ("o-", "o--", "s-", "s--"))):
        line, = ax.loglog(sizes, err[r], style, label=f"{name} (measured)")
        a, b = power_law(sizes, err[r])
        ax.loglog(grid, a * grid ** -b, ":", color=line.get_color(), alpha=0.6)
    for v, name in ((cfg.paper_error_pixels, "pixels"), (cfg.paper_error, cfg.features), (cfg.paper_error_l2, "+ l2")):
        if not v:
            continue  # not reported
        ax.plot([cfg.paper_n], [v], "k*", ms=10)
        ax.annotate(f"paper: {name} {v:.1%}", (cfg.paper_n, v), textcoords="offset points", xytext=(-110, 4), fontsize=8)
    ax.set(xlabel="training images n", ylabel="test error",
           title=f"kernel interpolation, {cfg.dataset}: pixels vs {cfg.features}\n(dotted: power-law extrapolation)")
    ax.legend(fontsize=8)
    run.save_figure(fig, "learning_curve")


def by_fold(run, cfg: CurveConfig) -> dict[str, np.ndarray]:
    """Whether each claim's statement holds on each fold: {claim suffix: (FOLDS,) bool}; {} for a run stored
    without ``test_wrong`` (from before the folds)."""
    a = run.arrays
    if "test_wrong" not in a or "train_wrong" not in a:
        return {}
    sizes, ef = a["sizes"], fold_errors(a["test_wrong"])  # (4, S, FOLDS): rows ROWS, sizes, folds
    tr = np.stack([fold_errors(a["train_wrong"][2, j, :int(s)]) for j, s in enumerate(sizes)])  # (S, FOLDS)
    fits = [power_law(sizes, ef[2, :, f]) for f in range(ef.shape[-1])]
    return {"interpolates": tr.max(0) <= 0.0,
            "beat-pixels": (ef[0] - ef[2]).min(0) >= cfg.min_feature_gain,
            "l2": np.abs(ef[3] - ef[2]).max(0) < cfg.max_l2_change,
            "extrapolated": np.array([c * cfg.paper_n ** -b for c, b in fits]) <= cfg.max_extrapolated_error}


def claims(run, cfg: CurveConfig):
    sizes, err, tr = run.arrays["sizes"], run.arrays["test_error"], run.arrays["train_error"]
    gain, l2 = err[0] - err[2], err[3] - err[2]
    per_n = ", ".join(f"{int(s)}: {g:+.1%}" for s, g in zip(sizes, gain))
    ext = run.scalar("extrapolated_error", key="features")
    ext_px = run.scalar("extrapolated_error", key="pixels")
    fit = f"power law fitted to n = {int(sizes[0])}..{int(sizes[-1])}, exponent {run.scalar('power_law_exponent', key='features'):.2f}"
    n = int(sizes[-1])  # the largest training set measured; the extrapolation is to cfg.paper_n
    at = f"{cfg.dataset}, n = {cfg.paper_n:,}, exact solve"
    k = by_fold(run, cfg)
    return [
        claim(f"kernel-{cfg.features}-interpolates", f"the exact kernel solve on {cfg.features} has zero training error",
              float(tr[2].max()), source=SOURCE, at_most=0.0, note="largest training error over the sizes", n=n,
              paper_value=0.0, paper_setting=f"{at}: interpolates by construction",
              seeds=k.get("interpolates"), per="folds"),
        claim(f"kernel-{cfg.features}-beat-pixels", f"kernel interpolation on {cfg.features} beats raw pixels at every n",
              float(gain.min()), source=SOURCE, at_least=cfg.min_feature_gain,
              note=f"smallest over n of (pixel error - feature error); per n: {per_n}",
              paper_value=cfg.paper_error_pixels - cfg.paper_error, n=n,
              paper_setting=f"{at}: pixels {cfg.paper_error_pixels:g} - {cfg.features} {cfg.paper_error:g} test error",
              seeds=k.get("beat-pixels"), per="folds"),
        claim(f"kernel-{cfg.features}-l2", "the l2 penalty changes the test error by less than the paper's 2 points",
              float(np.abs(l2).max()), source=SOURCE, below=cfg.max_l2_change,
              note=f"largest |error with l2 - without| over n; ridge = {cfg.ridge:g}; signed per n: "
                   + ", ".join(f"{int(s)}: {d:+.2%}" for s, d in zip(sizes, l2)),
              paper_value=cfg.paper_error - cfg.paper_error_l2 if cfg.paper_error_l2 else None,
              paper_setting=f"{at}: {cfg.features} {cfg.paper_error:g} without, {cfg.paper_error_l2:g} with l2"
              if cfg.paper_error_l2 else "", n=n, seeds=k.get("l2"), per="folds"),
        claim(f"kernel-{cfg.features}-extrapolated",
              f"EXTRAPOLATION, not a measurement: the interpolating kernel on {cfg.features} at the paper's n",
              ext, source=SOURCE, at_most=cfg.max_extrapolated_error,
              note=f"{fit}; pixels extrapolate to {ext_px:.1%} (paper {cfg.paper_error_pixels:.1%}); "
                   f"largest measured n = {int(sizes[-1]):,}: {err[2][-1]:.1%}",
              paper_value=cfg.paper_error, paper_setting=f"{at}: test error on {cfg.features}", n=n,
              seeds=k.get("extrapolated"), per="folds"),
    ]
