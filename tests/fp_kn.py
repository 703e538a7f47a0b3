"""Hand computations of the frequency-principle claims' "k of N": each claim's statement redone seed by seed, in
plain loops over a quick run's stored series and arrays (not through the experiments' helpers).

``expected(exp_id, run, cfg)`` -> {claim id: (k, of)}. Claims left without k/of are absent."""
from __future__ import annotations

import numpy as np
import pytest

from genlab.experiments import get
from genlab.probes.fourier_gradient import fit_slope
from genlab.probes.spectrum import first_below
from genlab.probes.statistics import concordance


def _first(curve, threshold):
    """Index of the first entry below threshold, None if none."""
    return next((i for i, v in enumerate(curve) if v < threshold), None)


def _kn(flags) -> tuple[int, int]:
    flags = [bool(f) for f in flags]
    return sum(flags), len(flags)


def _hi_at_first(err, m, threshold):
    """The highest peak's error when the lowest first drops below threshold (None: never)."""
    i = _first(err[:, m, 0], threshold)
    return None if i is None else err[i, m, -1]


def fp_1d(run, cfg):
    err = run.series("train/spectrum").values
    his = [_hi_at_first(err, m, cfg.threshold) for m in range(err.shape[1])]
    return {"fp1d-gap": _kn(h > cfg.gap_error for h in his if h is not None)}


def fp_image(run, cfg):
    e = run.series("train/bands").values
    his = [_hi_at_first(e, m, cfg.threshold) for m in range(e.shape[1])]
    return {"fp-image-gap": _kn(h is not None and h > cfg.gap_error for h in his)}


def fp_early_stopping(run, cfg):
    te, va = run.series("train/test_mse").values, run.series("train/val_mse").values
    low, noise = run.series("train/spectrum").values[:, :, 0], run.series("train/noise_band").values
    best, val, why = [], [], []
    for m in range(te.shape[1]):
        b, s = int(np.argmin(te[:, m])), int(np.argmin(va[:, m]))
        best.append(te[-1, m] / te[b, m] >= cfg.ratio_min)
        val.append(te[-1, m] / te[s, m] >= cfg.val_ratio_min)
        why.append(low[b, m] < cfg.low_fit and noise[b, m] > cfg.noise_unfit)
    return {"fp-es-best": _kn(best), "fp-es-validation": _kn(val), "fp-es-why": _kn(why)}


def fp_failure(run, cfg):
    n, series = cfg.n_seeds, run.series("train/spectrum")
    err, final = series.values, run.series("train/test_mse").values[-1]
    conc = concordance(first_below(series.steps, err[:, 2 * n:, :cfg.random_peaks], cfg.threshold))
    ks = len(cfg.freqs)
    order = []
    for k in range(n):   # small-init net k against large-init net k
        s, la = (_hi_at_first(err[:, :, :ks], m, cfg.threshold) for m in (k, n + k))
        order.append(s is not None and s > cfg.gap_error and not (la is not None and la > cfg.gap_error))
    return {"fp-failure-random": _kn(c <= cfg.max_concordance for c in conc if np.isfinite(c)),
            "fp-failure-large-order": _kn(order),
            "fp-failure-large-test": _kn(final[n + k] / final[k] >= cfg.test_ratio_min for k in range(n))}


def fp_spectral_norm(run, cfg):
    def change(phase):   # (M, L): |last - first| / first per seed and layer
        names = sorted(s for s in run.series_names() if s.startswith(f"{phase}/norm/"))
        v = np.stack([run.series(s).values for s in names], -1)
        return np.abs(v[-1] - v[0]) / v[0]
    gd = [change(f"gd_w{W}") for W in cfg.hidden]
    err = run.series(f"gd_w{cfg.hidden[-1]}/spectrum").values
    out = {"small": [], "all": [], "width": [], "adam": []}
    for m in range(cfg.n_seeds):
        t = [_first(err[:, m, j], cfg.threshold) for j in range(err.shape[2])]
        ordered = all(a is not None and (b is None or a < b) for a, b in zip(t, t[1:]))
        out["small"].append(ordered and gd[-1][m, 1:-1].max() < cfg.change_max)
        out["all"].append(gd[-1][m].max() < cfg.change_max)
        falls = all(np.all(gd[i + 1][m] < gd[i][m]) for i in range(len(gd) - 1))
        out["width"].append(falls and min(gd[0][m] / np.maximum(gd[-1][m], 1e-12)) >= cfg.min_shrink)
        if cfg.adam_width:
            ad, g = change(f"adam_w{cfg.adam_width}")[m, 1:-1].max(), change(f"gd_w{cfg.adam_width}")[m, 1:-1].max()
            out["adam"].append(ad / max(g, 1e-12) >= cfg.adam_ratio_min)
    res = {f"fp-sn-{k}": _kn(v) for k, v in (("small-change", out["small"]), ("all-layers", out["all"]),
                                              ("width", out["width"]), ("adam", out["adam"]))}
    return res if cfg.adam_width else {k: v for k, v in res.items() if k != "fp-sn-adam"}


def fp_high_frequency(run, cfg):
    s = run.series("train/spectrum")
    e = s.values[s.steps <= cfg.osc_window]
    n, K = cfg.n_seeds, e.shape[2]
    tv = np.array([[np.abs(np.diff(e[:, m, j])).sum() - abs(e[-1, m, j] - e[0, m, j]) for j in range(K)]
                   for m in range(2 * n)])
    return {"fp-hf-oscillation": _kn(tv[k, 0] / max(tv[n + k, 0], 1e-12) >= cfg.ratio_min for k in range(n)),
            "fp-hf-lower-more": _kn(all(tv[k, j + 1] < tv[k, j] for j in range(K - 1)) for k in range(n))}


def fp_filtering(run, cfg):
    out = {}
    for i in range(len(run.arrays["delta"])):
        lo, hi = run.series(f"train/delta{i}/e_low").values, run.series(f"train/delta{i}/e_high").values
        flags = []
        for m in range(lo.shape[1]):
            a, b = _first(lo[:, m], cfg.threshold), _first(hi[:, m], cfg.threshold)
            flags.append(a is not None and (b is None or a < b) and hi[a, m] > cfg.gap_min)
        out[f"fp-filtering-delta{i}"] = _kn(flags)
    return out


def fp_beyond_nyquist(run, cfg):
    e, n = run.arrays["energy"], cfg.n_seeds
    top = (len(cfg.stds) - 1) * n
    return {"fp-nyquist-energy": _kn(e[k] == 0 or e[top + k] / e[k] >= cfg.min_energy_ratio for k in range(n))}


def fp_theory(run, cfg):
    ks, n, ns = run.arrays["ks"], cfg.n_seeds, len(cfg.small_stds)
    meas = fit_slope(ks, run.series("train/fourier_gradient/ratio").values)
    pred = fit_slope(ks, run.series("train/theory").values)
    r = [np.median(meas[:, m] / pred[:, m]) for m in range(ns * n)]
    flat = [np.median(meas[:, k]) / np.median(meas[:, len(cfg.stds) * n - n + k]) for k in range(n)]
    return {"fp-theory-slope": _kn(1 / cfg.slope_tol <= x <= cfg.slope_tol for x in r),
            "fp-theory-flatten": _kn(f >= cfg.min_flatten for f in flat)}


def expected(exp_id: str, run, cfg) -> dict[str, tuple[int, int]]:
    return globals()[exp_id.replace("-", "_")](run, cfg)


NOT_PER_SEED = {"fp-nyquist-heldout"}   # a rank correlation across all nets: no per-seed statement
FRACTIONS = {"fp1d-gap", "fp-image-gap", "fp-es-why", "fp-hf-lower-more", "fp-filtering-delta0", "fp-filtering-delta1"}


def check_k_of_n(exp_id, claims, run):
    """Every claim records k of N as a hand count over the stored arrays gives it; a fraction-of-seeds value is k/N."""
    want = expected(exp_id, run, get(exp_id).config_for("quick"))
    assert {c: (claims[c]["k"], claims[c]["of"]) for c in want} == want
    for c in claims.values():
        assert (c["k"] is None) == (c["id"] in NOT_PER_SEED), c["id"]
        if c["id"] in FRACTIONS:
            assert c["value"] == pytest.approx(c["k"] / c["of"])
