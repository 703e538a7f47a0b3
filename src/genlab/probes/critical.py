"""Statistics of critical points and of escapes from plateaus (Dauphin et al. 2014, Figs. 1 and 4).

- :func:`distinct_critical`: which of many root-search results are critical points
  (||grad L|| below a tolerance), one per distinct (loss, index) pair, since
  searches from nearby starts land on the same point.
- :func:`escape_step`: the first step at which a loss curve has dropped a given
  amount below its start (how long an optimizer stays on a saddle's plateau).

The index of a point (fraction of negative Hessian eigenvalues) is
:func:`genlab.probes.hessian.index`; the root search is :func:`genlab.optim.find_critical_point`.
"""
from __future__ import annotations

import numpy as np


def distinct_critical(loss, grad_norm, index, grad_tol: float, decimals: int = 6) -> np.ndarray:
    """Positions of the distinct critical points among N searched points, in their order.

    loss, grad_norm, index: (N,) per point. A point is critical when ``grad_norm < grad_tol``;
    of the critical points with the same (loss, index) rounded to ``decimals``, the first is kept.
    """
    loss, grad_norm, index = (np.asarray(a, dtype=float) for a in (loss, grad_norm, index))
    crit = np.nonzero(grad_norm < grad_tol)[0]
    _, keep = np.unique(np.round(np.stack([loss[crit], index[crit]], axis=1), decimals), axis=0, return_index=True)
    return crit[np.sort(keep)]


def escape_step(loss, drop: float) -> int:
    """First step at which ``loss`` (T,) is ``drop`` below ``loss[0]``, else -1 (never)."""
    loss = np.asarray(loss)
    hit = np.nonzero(loss <= loss[0] - drop)[0]
    return int(hit[0]) if len(hit) else -1


__all__ = ["distinct_critical", "escape_step"]
