"""The figure of a sweep: each claim's measured value against the first swept key (a pure function of the rows)."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from genlab.plot import plt, save_figure


def _num(v) -> float | None:
    try:
        return float(str(v).strip("()[] ,").split(",")[0].split("|")[0])
    except (TypeError, ValueError):
        return None


def plot_sweep(rows: list[dict], keys: list[str], path: Path, title: str = "") -> Path | None:
    """x = the first swept key; one panel per claim value and per run-level metric (no [key]), up to 8;
    one line per combination of the other swept keys (mean ± sd over seeds)."""
    if not rows or not keys:
        return None
    skip = set(keys) | {"status", "folder", "error"}
    cols = [k for k in dict.fromkeys(k for r in rows for k in r)
            if k not in skip and not k.endswith(":verdict") and "[" not in k]
    panels = [c for c in cols if sum(_num(r.get(c)) is not None for r in rows) >= 1][:8]
    if not panels:
        return None
    varying = [k for k in keys if len({str(r.get(k)) for r in rows}) > 1] or keys[:1]
    xkey, group_keys = varying[0], [k for k in varying[1:] if k != "seed"]
    numeric_x = all(_num(r[xkey]) is not None for r in rows)
    xs = list(dict.fromkeys(r[xkey] for r in rows))
    ncol = min(4, len(panels))
    nrow = (len(panels) + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.5 * ncol, 3.6 * nrow), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax, cid in zip(axes.flat, panels):  # cid: a claim id or a metric name
        groups: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for r in rows:
            v = _num(r.get(cid))
            if v is not None and r.get("status") == "complete":
                groups[", ".join(f"{k}={r[k]}" for k in group_keys) or "all"][r[xkey]].append(v)
        for label, by_x in groups.items():
            pts = [(x, np.mean(by_x[x]), np.std(by_x[x])) for x in xs if x in by_x]
            px = [(_num(x) if numeric_x else xs.index(x)) for x, _, _ in pts]
            ax.errorbar(px, [m for _, m, _ in pts], yerr=[s for _, _, s in pts], marker="o", capsize=3, label=label)
        if not numeric_x:
            ax.set_xticks(range(len(xs)), xs, rotation=30)
        ax.set(xlabel=xkey, ylabel="measured value", title=cid)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.suptitle(f"sweep of {title}" + (" (mean ± sd over seeds)" if "seed" in keys else ""))
    fig.subplots_adjust(top=0.88)
    return save_figure(fig, path, dpi=100)
