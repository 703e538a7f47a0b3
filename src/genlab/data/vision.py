"""Vision data sets from their standard files: MNIST, Fashion-MNIST, CIFAR-10, MNIST-1D.

Files are looked up in ``data_dir``, else ``$GENLAB_DATA``, else the user
cache (``~/.cache/genlab``), each data set in its usual sub-folder
(``mnist/``, ``fashion-mnist/``, ``cifar-10-batches-py/``, ``mnist1d/``).
Nothing is downloaded at run time; when files are missing the error says
which files to put where. ``load_dataset`` returns numpy arrays:
images as uint8 (N, H, W) or (N, H, W, C) (MNIST-1D: float (N, 40)) and
labels as int64.
"""
from __future__ import annotations

import gzip
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genlab.errors import GenlabError

DATASETS = ("mnist", "fashion-mnist", "cifar10", "mnist1d")


@dataclass
class Dataset:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int = 10


def data_root(data_dir: str | Path | None = None) -> Path:
    if data_dir is not None:
        return Path(data_dir)
    if os.environ.get("GENLAB_DATA"):
        return Path(os.environ["GENLAB_DATA"])
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "genlab"
    shared = default_data_dir()
    if shared is not None and not cache.exists():
        return shared  # a source checkout next to ../shared/data (tests, quick runs)
    return cache


def _find(folder: Path, stem: str) -> Path:
    for cand in (folder / f"{stem}.gz", folder / stem):
        if cand.exists():
            return cand
    raise GenlabError(f"missing data file {folder / (stem + '.gz')}; put the official file there "
                      f"(or set GENLAB_DATA / --data-dir to a folder holding {folder.name}/)")


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzipped or not), checking its header against its size."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise GenlabError(f"cannot read {path} ({e}); the file is damaged or truncated, fetch it again") from None
    if len(raw) < 8 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise GenlabError(f"{path} is not an unsigned-byte IDX file (bad header); fetch the official file again")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    need = int(np.prod(dims))
    if len(raw) - offset != need:
        raise GenlabError(f"{path}: header says {dims} ({need} bytes) but the file holds {len(raw) - offset}; "
                          "the file is truncated or damaged, fetch it again")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def load_idx_set(folder: Path, name: str) -> Dataset:
    parts = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        x = read_idx(_find(folder, f"{prefix}-images-idx3-ubyte"))
        y = read_idx(_find(folder, f"{prefix}-labels-idx1-ubyte")).astype(np.int64)
        if len(x) != len(y):
            raise GenlabError(f"{folder}: {len(x)} {split} images but {len(y)} labels; the files do not belong together")
        parts[split] = (x, y)
    return Dataset(name, *parts["train"], *parts["test"])


def _unpickle(path: Path):
    if not path.exists():
        raise GenlabError(f"missing data file {path}; put the official CIFAR-10 python batches there "
                          "(or set GENLAB_DATA / --data-dir)")
    try:
        with open(path, "rb") as f:
            return pickle.load(f, encoding="bytes")
    except Exception as e:
        raise GenlabError(f"cannot read {path} ({type(e).__name__}); the file is damaged or truncated, fetch it again") from None


def load_cifar10(folder: Path) -> Dataset:
    xs, ys = [], []
    for i in range(1, 6):
        d = _unpickle(folder / f"data_batch_{i}")
        xs.append(np.asarray(d[b"data"], dtype=np.uint8))
        ys.append(np.asarray(d[b"labels"], dtype=np.int64))
    t = _unpickle(folder / "test_batch")
    to_img = lambda a: a.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # noqa: E731  (N, 32, 32, 3)
    return Dataset("cifar10", to_img(np.concatenate(xs)), np.concatenate(ys),
                   to_img(np.asarray(t[b"data"], dtype=np.uint8)), np.asarray(t[b"labels"], dtype=np.int64))


def load_mnist1d(folder: Path) -> Dataset:
    p = folder / "mnist1d_data.pkl"
    if not p.exists():
        raise GenlabError(f"missing data file {p}; put the frozen MNIST-1D pickle there (or set GENLAB_DATA / --data-dir)")
    d = _unpickle(p)
    d = {k.decode() if isinstance(k, bytes) else k: v for k, v in d.items()}
    return Dataset("mnist1d", np.asarray(d["x"]), np.asarray(d["y"], np.int64),
                   np.asarray(d["x_test"]), np.asarray(d["y_test"], np.int64))


def load_dataset(name: str, data_dir: str | Path | None = None) -> Dataset:
    """Load a data set by name from its standard files (see the module docstring)."""
    root = data_root(data_dir)
    if name == "mnist":
        return load_idx_set(root / "mnist", "mnist")
    if name == "fashion-mnist":
        return load_idx_set(root / "fashion-mnist", "fashion-mnist")
    if name == "cifar10":
        return load_cifar10(root / "cifar-10-batches-py")
    if name == "mnist1d":
        return load_mnist1d(root / "mnist1d")
    raise GenlabError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")


def default_data_dir() -> Path | None:
    """``../shared/data`` next to a source checkout, for tests and quick runs; else None."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        cand = parent.parent / "shared" / "data"
        if (parent / "pyproject.toml").exists() and cand.is_dir():
            return cand
    return None
