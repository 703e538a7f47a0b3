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


def save_figure(fig, path: Path | str, dpi: int = DPI) -> Path:
    """Save ``fig`` atomically as a PNG at ``path`` and close it."""
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    path = Path(path)
    atomic_write_bytes(path, buf.getvalue())
    return path


def heatmap(ax, steps, err, peak_labels, title="", cmap="viridis_r"):
    """Relative error per peak (rows, lowest at the bottom) over training (columns), clipped to [0, 1].

    cmap: "viridis_r" (dark = large error); "viridis" for a quantity that grows toward 1 (an amplitude).
    """
    im = ax.imshow(np.asarray(err).T, aspect="auto", origin="lower", cmap=cmap, vmin=0, vmax=1,
                   extent=[steps[0], steps[-1], -0.5, len(peak_labels) - 0.5], interpolation="nearest")
    ax.set_yticks(range(len(peak_labels)))
    ax.set_yticklabels(peak_labels)
    ax.set_xlabel("step")
    ax.set_ylabel("frequency")
    ax.set_title(title)
    return im


__all__ = ["plt", "save_figure", "heatmap", "DPI"]
