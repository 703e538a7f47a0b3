"""Vision data sets from their standard files: MNIST, Fashion-MNIST, CIFAR-10, MNIST-1D.

Files are looked up in ``data_dir``, else ``$GENLAB_DATA``, else the user
cache (``~/.cache/genlab``), each data set in its usual sub-folder
(``mnist/``, ``fashion-mnist/``, ``cifar-10-batches-py/``, ``mnist1d/``).
Nothing is downloaded at run time; when files are missing the error says
which files to put where, and :func:`download` (run by hand on a connected
machine) fetches the official files and checks their published checksums. ``load_dataset`` returns numpy arrays:
images as uint8 (N, H, W) or (N, H, W, C) (MNIST-1D: float (N, 40)) and
labels as int64.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genlab.errors import GenlabError

DATASETS = ("mnist", "fashion-mnist", "cifar10", "mnist1d")
FOLDERS = {"mnist": "mnist", "fashion-mnist": "fashion-mnist", "cifar10": "cifar-10-batches-py", "mnist1d": "mnist1d"}

# The official files with their published MD5 sums (the sums torchvision and the data sets' pages list).
# MNIST-1D has no published sum: the SHA-256 below is that of the frozen pickle kept in shared/data.
_MNIST = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_FASHION = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
SOURCES: dict[str, list[tuple[str, str, str]]] = {  # name -> [(url, file name, "md5:..."/"sha256:...")]
    "mnist": [(_MNIST + f, f, "md5:" + h) for f, h in (
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"))],
    "fashion-mnist": [(_FASHION + f, f, "md5:" + h) for f, h in (
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"))],
    "cifar10": [("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", "cifar-10-python.tar.gz",
                 "md5:c58f30108f718f92721af3b95e74349a")],
    "mnist1d": [("https://github.com/greydanus/mnist1d/raw/master/mnist1d_data.pkl", "mnist1d_data.pkl",
                 "sha256:e95257676e9fb04568e46dda007da22cc8664ccba1451456afde55d7f6dd6aa5")],
}


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
                      f"(or set GENLAB_DATA / data_dir= to a folder holding {folder.name}/){_hint(folder.name)}")


def _hint(folder_name: str) -> str:
    name = {v: k for k, v in FOLDERS.items()}.get(folder_name, folder_name)
    return f", or on a connected machine: python -c \"from genlab.data.vision import download; download('{name}')\""


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
                          f"(or set GENLAB_DATA / data_dir=){_hint(path.parent.name)}")
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
        raise GenlabError(f"missing data file {p}; put the frozen MNIST-1D pickle there (or set GENLAB_DATA / data_dir=){_hint('mnist1d')}")
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


def file_digest(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(path: Path, checksum: str) -> None:
    """Raise GenlabError naming ``path`` unless its digest equals ``checksum`` ("md5:..." or "sha256:...")."""
    algo, want = checksum.split(":", 1)
    got = file_digest(path, algo)
    if got != want:
        raise GenlabError(f"checksum mismatch for {path}: {algo} {got}, expected {want}; delete it and download it again")


def download(name: str, root: str | Path | None = None) -> Path:
    """Fetch the official files of ``name`` into ``root/<folder>`` and check their sums.

    For a connected machine only: genlab never calls this at run time. Usage:
    ``python -c "from genlab.data.vision import download; download('mnist')"``.
    """
    if name not in SOURCES:
        raise GenlabError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    root = Path(root) if root is not None else data_root()
    folder = root / FOLDERS[name]
    folder.mkdir(parents=True, exist_ok=True)
    for url, fname, checksum in SOURCES[name]:
        dest = (root if name == "cifar10" else folder) / fname
        if not dest.exists():
            tmp = dest.with_name(dest.name + ".part")
            urllib.request.urlretrieve(url, tmp)  # noqa: S310 - official https sources above
            os.replace(tmp, dest)
        verify(dest, checksum)
        if name == "cifar10":
            with tarfile.open(dest) as tar:  # holds cifar-10-batches-py/
                tar.extractall(root, filter="data")
    return folder


def default_data_dir() -> Path | None:
    """``../shared/data`` next to a source checkout, for tests and quick runs; else None."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        cand = parent.parent / "shared" / "data"
        if (parent / "pyproject.toml").exists() and cand.is_dir():
            return cand
    return None
