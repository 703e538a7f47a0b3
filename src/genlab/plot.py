"""Shared figure helpers. The matplotlib backend is chosen here, once, for every figure genlab draws.

Figures are pure functions of stored results; they are saved atomically as PNG
(:func:`save_figure`), whether they belong to a run, a sweep or the atlas.
"""
from __future__ import annotations

import io as _io
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")  # no display: figures are files
import matplotlib.pyplot as plt  # noqa: E402

from genlab.io import atomic_write_bytes  # noqa: E402

DPI = 110

# Okabe & Ito's palette (safe for the common colour-vision deficiencies) in matplotlib's tab10 order, so "C0".."C3"
# keep their roles: C0 blue, C1 orange, C2 bluish green, C3 vermillion (tab10's red), then purple, sky blue, yellow,
# black. Heatmaps use viridis (perceptually uniform, colour-blind safe). Set once, here, for every figure.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
matplotlib.rcParams.update({"axes.prop_cycle": matplotlib.cycler(color=PALETTE), "image.cmap": "viridis",
                            "figure.constrained_layout.use": False, "legend.framealpha": 0.85})


def save_figure(fig, path: Path | str, dpi: int = DPI) -> Path:
    """Save ``fig`` atomically as a PNG at ``path`` and close it."""
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    path = Path(path)
    atomic_write_bytes(path, buf.getvalue())
    return path


def heatmap(ax, steps, err, peak_labels, title="", colorbar: bool = True, level: float | None = None,
            cmap: str = "viridis_r"):
    """Relative error per peak (rows, lowest at the bottom) over training (columns), with its colour bar.

    ``level``: a claim's convergence threshold; marked on the colour bar, and on each row at the first step
    the peak's error falls below it (white bar). cmap: "viridis_r" (dark = large error); "viridis" for a
    quantity that grows toward 1 (an amplitude)."""
    im = ax.imshow(np.asarray(err).T, aspect="auto", origin="lower", cmap=cmap, vmin=0, vmax=1,
                   extent=[steps[0], steps[-1], -0.5, len(peak_labels) - 0.5], interpolation="nearest")
    ax.set_yticks(range(len(peak_labels)))
    ax.set_yticklabels(peak_labels)
    ax.set_xlabel("step")
    ax.set_ylabel("frequency")
    ax.set_title(title)
    if colorbar:
        cb = ax.figure.colorbar(im, ax=ax, label="relative error", fraction=0.046, pad=0.03)
        if level is not None:
            cb.ax.axhline(level, color="w", lw=2)
    if level is not None:
        e, steps = np.asarray(err), np.asarray(steps)
        for j in range(e.shape[1]):
            below = np.flatnonzero(e[:, j] < level)
            if below.size:
                ax.plot(steps[below[0]], j, marker="|", color="w", ms=16, mew=2.5,
                        label=f"first error < {level:g}" if j == 0 else None)
        if any(np.any(e[:, j] < level) for j in range(e.shape[1])):
            ax.legend(loc="upper right", fontsize=7, facecolor="0.35", labelcolor="w", framealpha=0.9)
    return im


def threshold_line(ax, value: float, label: str, axis: str = "y", **kw):
    """A claim's threshold drawn where it is a line on the plot: dashed black, labelled in the legend."""
    style = {"color": "k", "linestyle": "--", "linewidth": 1.1, "label": label, "zorder": 1} | kw
    return ax.axhline(value, **style) if axis == "y" else ax.axvline(value, **style)


def thin_ticks(ax, axis: str = "x", rotation: float = 0, n: int = 6):
    """At most ``n`` tick labels on ``axis`` (log axes: decades only, no minor labels), rotated if asked."""
    from matplotlib.ticker import LogLocator, MaxNLocator, NullFormatter
    a = ax.xaxis if axis == "x" else ax.yaxis
    if a.get_scale() == "log":
        a.set_major_locator(LogLocator(base=10, numticks=n))
        a.set_minor_formatter(NullFormatter())
    else:
        a.set_major_locator(MaxNLocator(n))
    if rotation:
        ax.tick_params(axis=axis, labelrotation=rotation)


__all__ = ["plt", "save_figure", "heatmap", "threshold_line", "thin_ticks", "DPI", "PALETTE"]
