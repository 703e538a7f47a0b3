"""The 12-bit task of the information-plane experiments (Shwartz-Ziv & Tishby 2017).

``var_u.mat`` (MATLAB v5) holds ``F``: the 4,096 binary patterns of 12 bits, and
``y``: a binary label per pattern. It is read from disk, never regenerated, so
every run sees the exact data of the original code.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from genlab.data.vision import data_root
from genlab.errors import GenlabError


def load_var_u(data_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return (F, y): F float32 (4096, 12) in {0, 1}, y int64 (4096,) in {0, 1}."""
    path = data_root(data_dir) / "ib" / "var_u.mat"
    if not path.exists():
        raise GenlabError(f"missing data file {path}; put the original var_u.mat from the IDNNs code there "
                          "(or set GENLAB_DATA to a folder holding ib/var_u.mat)")
    import scipy.io
    try:
        d = scipy.io.loadmat(path)
        F, y = np.asarray(d["F"], dtype=np.float32), np.asarray(d["y"]).reshape(-1).astype(np.int64)
    except (OSError, ValueError, KeyError) as e:
        raise GenlabError(f"cannot read {path} ({type(e).__name__}: {e}); it must hold arrays F and y") from None
    if F.shape[0] != len(y):
        raise GenlabError(f"{path}: F has {F.shape[0]} rows but y has {len(y)} labels; the file is damaged")
    return F, y
