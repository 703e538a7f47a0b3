"""Shared fixtures. Environment first: matplotlib without a display, no progress bars."""
import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["TQDM_DISABLE"] = "1"

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
