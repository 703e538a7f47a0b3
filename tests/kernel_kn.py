"""Hand counts of the kernel claims' "k of 5 folds": each claim's statement redone fold by fold, in plain loops over a
quick run's stored per-image arrays (``train_wrong``, ``test_wrong``), not through the experiments' helpers.
Folds: image i in fold i % 5, of the test images (of the first s training images at size s for training error).

``check(exp_id, run, cfg)`` asserts every claim records k, of = 5 and per = "folds" as the hand count gives them."""
from __future__ import annotations

import math

FOLDS = 5


def _rate(wrong, f: int) -> float:
    """Error rate of fold f: images f, f + 5, f + 10, ..."""
    members = range(f, len(wrong), FOLDS)
    return sum(1 for i in members if wrong[i]) / len(members)


def _extrapolate(sizes, errors, n: int) -> float:
    """err = a n^-b by least squares on (log n, log err) in closed form; errors floored at 1e-6 as in the experiment."""
    xs, ys = [math.log(s) for s in sizes], [math.log(max(e, 1e-6)) for e in errors]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return math.exp(my - slope * mx) * n ** slope


def kernel_interpolation(run, cfg) -> dict[str, tuple[int, int]]:
    tr, te = run.arrays["train_wrong"], run.arrays["test_wrong"]
    assert abs(sum(map(bool, te)) / len(te) - run.scalar("test_error")) < 1e-12  # the arrays are the claim's errors
    return {"kernel-train-zero": (sum(_rate(tr, f) <= cfg.max_train_error for f in range(FOLDS)), FOLDS),
            "kernel-test-error": (sum(_rate(te, f) <= cfg.max_test_error for f in range(FOLDS)), FOLDS)}


def kernel_curve(run, cfg) -> dict[str, tuple[int, int]]:
    sizes, tr, te, p = [int(s) for s in run.arrays["sizes"]], run.arrays["train_wrong"], run.arrays["test_wrong"], cfg.features
    pixels, feats, feats_l2 = 0, 2, 3  # rows: pixels, pixels + l2, features, features + l2
    counts = {"interpolates": 0, "beat-pixels": 0, "l2": 0, "extrapolated": 0}
    for f in range(FOLDS):
        err = {r: [_rate(te[r, j], f) for j in range(len(sizes))] for r in range(4)}
        train = [_rate(tr[feats, j, :s], f) for j, s in enumerate(sizes)]
        counts["interpolates"] += max(train) <= 0.0
        counts["beat-pixels"] += min(a - b for a, b in zip(err[pixels], err[feats])) >= cfg.min_feature_gain
        counts["l2"] += max(abs(a - b) for a, b in zip(err[feats_l2], err[feats])) < cfg.max_l2_change
        counts["extrapolated"] += _extrapolate(sizes, err[feats], cfg.paper_n) <= cfg.max_extrapolated_error
    return {f"kernel-{p}-{name}": (k, FOLDS) for name, k in counts.items()}


def check(exp_id: str, run, cfg) -> dict[str, tuple[int, int]]:
    hand = (kernel_interpolation if exp_id.startswith("kernel-interpolation") else kernel_curve)(run, cfg)
    got = {c["id"]: (c.get("k"), c.get("of"), c.get("per")) for c in run.claims}
    for cid, (k, of) in hand.items():
        assert got[cid] == (k, of, "folds"), (cid, got[cid], (k, of))
    return hand
