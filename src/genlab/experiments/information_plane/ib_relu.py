"""ib-relu: with ReLU the compression phase of the information plane disappears.

Paper: Saxe et al., "On the information bottleneck theory of deep learning" (ICLR 2018),
Fig. 1: the 12-10-7-5-4-3-2 network of Shwartz-Ziv & Tishby (2017) with ReLU units.
Command: ``genlab run ib-relu --scale quick``.
Claim: under the KDE estimator with which tanh compresses (noise variance 1e-3), the
last hidden layer's I(X;T) does not fall after its peak by ``compression_bits`` (0.5
bits) or more; its I(T;Y) still rises by at least ``fitting_bits`` (0.3 bits). ReLU
under binning (30 bins over each snapshot's observed range) is reported too: its range
grows tenfold in training, and with some seeds the widening bins alone make I(X;T) fall
(seed 2 at quick scale: 1.07 bits), as Saxe et al. warn about binning estimators.

Training, scales and estimators as in ib-tanh (experiments/information_plane/common.py).
"""
from __future__ import annotations

from genlab.experiments.base import claim, experiment
from genlab.experiments.information_plane import common


def claims(run, cfg: common.IBConfig):
    m = common.measures(run, cfg)
    hi = m["bin_range"][:, -1, 1]
    return [common.fitting_claim(cfg, m),
            claim("ib-relu-no-compression", "with ReLU, under the KDE estimator with which tanh compresses, the last "
                  "hidden layer's I(X;T) does not fall after its peak", m["drop_k"], source=common.SOURCE_RELU,
                  below=cfg.compression_bits, unit=f"bits ({m['kde']})", note=m["note_k"], n=m["n_k"],
                  seeds=m["seeds"]["drop_k"] < cfg.compression_bits),
            claim("ib-relu-no-compression-binning", "with ReLU, under binning, the last hidden layer's I(X;T) does not "
                  "fall after its peak", m["drop_b"], source=common.SOURCE_RELU, below=cfg.compression_bits,
                  unit=f"bits ({m['binning']})",
                  note=m["note_b"] + f"; the binned range grows from [0, {hi[0]:.2f}] to [0, {hi[-1]:.2f}] over training, "
                  "so the bins widen: a late drop under this estimator can come from the range, not the representation",
                  n=m["n_b"], seeds=m["seeds"]["drop_b"] < cfg.compression_bits)]


EXPERIMENT = experiment(
    id="ib-relu", title="information plane of a relu network on the 12-bit task", source=common.SOURCE_RELU,
    claim="with ReLU the last hidden layer's I(X;T) does not fall after its peak (KDE; binning reported)",
    config=common.IBConfig, base={"activation": "relu", "bin_range": None}, quick=common.QUICK, default=common.DEFAULT,
    times={"quick": "10 s", "default": "1.5 min", "paper": "1 h"},
    run=common.train_information_plane, figures=common.draw, claims=claims)
