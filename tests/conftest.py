"""Shared fixtures. Environment first: matplotlib without a display, no progress bars."""
import gzip
import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["TQDM_DISABLE"] = "1"

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def run_dir(tmp_path):
    """A fresh, not yet existing run folder."""
    return tmp_path / "run"


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny nets: one intra-op thread is faster and keeps results bit-reproducible."""
    import torch
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(autouse=True)
def _loud_after():
    """``--quiet`` in an in-process main() is a process-wide switch: turn it back off for the next test."""
    from genlab.runtime import set_quiet
    yield
    set_quiet(False)


@pytest.fixture(scope="session")
def shared_data():
    """The data folder beside the checkout (../shared/data); tests that need it are skipped without it."""
    from genlab.data.vision import default_data_dir
    d = default_data_dir()
    if d is None:
        pytest.skip("needs ../shared/data beside the checkout")
    return d


def _write_idx(path, arr, gz: bool) -> None:
    head = bytes([0, 0, 8, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(head + np.asarray(arr).astype(np.uint8).tobytes())


@pytest.fixture
def write_idx():
    """``write_idx(path, uint8 array, gz)``: an IDX file (MNIST's format), gzipped or plain."""
    return _write_idx
