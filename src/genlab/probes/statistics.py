"""Statistics of orderings and curves: which frequency converged first, how much a curve oscillates.

Inputs are the series a spectrum probe records: errors (T, M, K) over T steps,
M models (seeds) and K frequencies sorted low to high.
"""
from __future__ import annotations

import numpy as np

from genlab.probes.spectrum import first_below


def ordering(steps: np.ndarray, err: np.ndarray, threshold: float = 0.1):
    """Per seed: first step each peak is below threshold, and whether they come low to high.

    err: (T, M, K). A seed is ordered when t_1 < t_2 < ... < t_K, where a peak
    that never converges counts as later than any that does (but two peaks
    that both never converge are not ordered).
    """
    t = first_below(steps, err, threshold)            # (M, K)
    ok = np.ones(t.shape[0], dtype=bool)
    for k in range(t.shape[1] - 1):
        a, b = t[:, k], t[:, k + 1]
        ok &= np.isfinite(a) & ((a < b) | ~np.isfinite(b))
    return t, ok


def error_at_first_convergence(steps, err, threshold: float = 0.1):
    """Per seed: the highest peak's error at the step the lowest peak first drops below threshold."""
    t = first_below(steps, err[:, :, :1], threshold)[:, 0]
    out = np.full(err.shape[1], np.nan)
    for m in range(err.shape[1]):
        if np.isfinite(t[m]):
            out[m] = err[np.searchsorted(steps, t[m]), m, -1]
    return out


def concordance(t: np.ndarray) -> np.ndarray:
    """Per seed: the fraction of peak pairs (lower, higher) that converge in frequency order.

    t: (M, K) first-convergence steps (inf = never), peaks sorted low to high.
    Pairs where neither converged say nothing and are left out; a tie counts
    half. 1 = strictly low to high, 0.5 = no preference, 0 = high to low;
    nan where no pair counts.
    """
    t = np.asarray(t, dtype=float)
    out = np.full(t.shape[0], np.nan)
    for m in range(t.shape[0]):
        score, n = 0.0, 0
        for i in range(t.shape[1]):
            for j in range(i + 1, t.shape[1]):
                if np.isfinite(t[m, i]) or np.isfinite(t[m, j]):
                    score += 1.0 if t[m, i] < t[m, j] else (0.5 if t[m, i] == t[m, j] else 0.0)
                    n += 1
        if n:
            out[m] = score / n
    return out



def oscillation(curve) -> tuple[np.ndarray, np.ndarray]:
    """How much an error curve (T, ...) moves beyond a monotone decrease.

    Returns (excess total variation, direction changes) over the first axis.
    The excess is Σ|e_{t+1} − e_t| − |e_T − e_0|: zero for a monotone curve,
    twice the total rise otherwise. Direction changes count sign flips of the
    increments, ignoring increments below 1e-4 of the curve's range (flat parts).
    """
    e = np.asarray(curve, dtype=np.float64)
    d = np.diff(e, axis=0)
    excess = np.abs(d).sum(0) - np.abs(e[-1] - e[0])
    tol = 1e-4 * (e.max(0) - e.min(0) + 1e-12)
    sgn = np.where(np.abs(d) > tol, np.sign(d), 0.0)
    flips = np.zeros(e.shape[1:], dtype=int)
    last = np.zeros(e.shape[1:])
    for t in range(len(sgn)):
        s = sgn[t]
        flips += ((s != 0) & (last != 0) & (s != last)).astype(int)
        last = np.where(s != 0, s, last)
    return excess, flips


def spearman(x, y) -> float:
    """Spearman rank correlation (average ranks for ties), NaN if either side is constant."""
    from scipy.stats import spearmanr
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return float("nan")
    return float(spearmanr(x[ok], y[ok]).statistic)



__all__ = ["ordering", "error_at_first_convergence", "concordance", "oscillation", "spearman"]
