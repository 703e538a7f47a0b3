"""ib-tanh: a tanh network's hidden layers fit, then compress, in the information plane.

Paper: Shwartz-Ziv & Tishby, "Opening the black box of deep neural networks via
information" (2017), Fig. 3: a 12-10-7-5-4-3-2 tanh network on the 12-bit task;
the compression is checked under the KDE estimator of Saxe et al. (ICLR 2018), Fig. 1, too.
Command: ``genlab run ib-tanh --scale quick``.
Claim: the last hidden layer's I(T;Y) rises by at least ``fitting_bits`` (0.3 bits),
and its I(X;T) falls after its peak by at least ``compression_bits`` (0.5 bits), under
binning (30 bins over [-1, 1]) and under the KDE upper bound (noise variance 1e-3).

Many seeds train at once as one stacked network (weights (M, d_in, d_out)); the
information plane is the seed average, at log-spaced epochs; each claim is also counted
seed by seed (k of ``n_seeds``; of ``kde_seeds`` under KDE). Quick scale uses a 5x
larger Adam learning rate (2e-3) so that 150 epochs cover both phases; default and
paper use the original 4e-4.
"""
from __future__ import annotations

from genlab.experiments.base import claim, experiment
from genlab.experiments.information_plane import common


def claims(run, cfg: common.IBConfig):
    m = common.measures(run, cfg)
    return [common.fitting_claim(cfg, m),
            claim("ib-tanh-compression", "with tanh the last hidden layer's I(X;T) falls after its peak (compression phase)",
                  m["drop_b"], source=common.SOURCE_TANH, at_least=cfg.compression_bits, unit=f"bits ({m['binning']})",
                  note=m["note_b"], n=m["n_b"], seeds=m["seeds"]["drop_b"] >= cfg.compression_bits),
            claim("ib-tanh-compression-kde", "the same compression under the KDE estimator",
                  m["drop_k"], source=common.SOURCE_RELU, at_least=cfg.compression_bits, unit=f"bits ({m['kde']})",
                  note=m["note_k"], n=m["n_k"], seeds=m["seeds"]["drop_k"] >= cfg.compression_bits)]


EXPERIMENT = experiment(
    id="ib-tanh", title="information plane of a tanh network on the 12-bit task", source=common.SOURCE_TANH,
    claim="the last hidden layer's I(X;T) falls >= 0.5 bits after its peak (binning and KDE)",
    config=common.IBConfig, quick=common.QUICK, default=common.DEFAULT,
    times={"quick": "10 s", "default": "1.5 min", "paper": "1 h"},
    run=common.train_information_plane, figures=common.draw, claims=claims)
