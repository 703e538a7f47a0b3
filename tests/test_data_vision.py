"""Loaders against the shared files (../shared/data) and their failure modes."""
import hashlib
import shutil

import numpy as np
import pytest

from genlab.data import vision
from genlab.data.preprocess import center_crop, per_image_whitening, prepare
from genlab.data.vision import SOURCES, default_data_dir, load_dataset, read_idx, verify
from genlab.errors import GenlabError

SHARED = default_data_dir()
pytestmark = pytest.mark.skipif(SHARED is None, reason="needs ../shared/data beside the checkout")


def test_mnist_shapes_dtypes_and_a_known_image():
    d = load_dataset("mnist", SHARED)
    assert d.x_train.shape == (17435, 28, 28) and d.x_test.shape == (10000, 28, 28)
    assert d.x_train.dtype == np.uint8 and d.y_train.dtype == np.int64
    assert d.y_train.min() == 0 and d.y_train.max() == 9 and set(np.unique(d.y_test)) == set(range(10))
    # the first MNIST training image is the famous "5", the first test image a "7"
    assert d.y_train[0] == 5 and d.y_test[0] == 7
    assert hashlib.md5(d.x_train[0].tobytes()).hexdigest() == "2ce86e4daeeff3a0cdebce6897c784ba"


def test_official_checksums_match_the_official_test_files():
    for url, fname, checksum in SOURCES["mnist"]:
        if fname.startswith("t10k"):  # byte-identical to the official files in shared/data
            verify(SHARED / "mnist" / fname, checksum)
    assert set(SOURCES) == set(vision.DATASETS)
    assert all(c.startswith(("md5:", "sha256:")) for v in SOURCES.values() for _, _, c in v)


def test_cifar10_and_mnist1d():
    c = load_dataset("cifar10", SHARED)
    assert c.x_train.shape == (5085, 32, 32, 3) and c.x_test.shape == (1017, 32, 32, 3)
    assert c.x_train.dtype == np.uint8 and c.y_train.max() == 9 and c.y_train.min() == 0
    assert list(c.y_train[:3]) == [6, 9, 9] and c.y_test[0] == 3  # frog, truck, truck; cat
    assert hashlib.md5(c.x_train[0].tobytes()).hexdigest() == "dda89751086497ac02ef2dec67b0394e"
    m = load_dataset("mnist1d", SHARED)
    assert m.x_train.shape == (4000, 40) and m.x_test.shape == (1000, 40) and m.y_train.max() == 9


@pytest.mark.parametrize("gz", [True, False])
def test_fashion_mnist_idx_plain_or_gzipped(tmp_path, gz, write_idx):
    f = tmp_path / "fashion-mnist"
    f.mkdir()
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 7), ("t10k", 3)):
        sfx = ".gz" if gz else ""
        write_idx(f / f"{prefix}-images-idx3-ubyte{sfx}", rng.integers(0, 255, (n, 28, 28)), gz)
        write_idx(f / f"{prefix}-labels-idx1-ubyte{sfx}", rng.integers(0, 10, n), gz)
    d = load_dataset("fashion-mnist", tmp_path)
    assert d.x_train.shape == (7, 28, 28) and d.y_test.shape == (3,)


def test_bad_files_name_the_file(tmp_path):
    (tmp_path / "mnist").mkdir()
    src = SHARED / "mnist" / "t10k-labels-idx1-ubyte.gz"
    trunc = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    trunc.write_bytes(src.read_bytes()[:2000])
    with pytest.raises(GenlabError, match="t10k-labels-idx1-ubyte.gz"):
        read_idx(trunc)
    short = tmp_path / "short-idx1-ubyte"
    short.write_bytes(bytes([0, 0, 8, 1]) + (100).to_bytes(4, "big") + bytes(50))
    with pytest.raises(GenlabError, match="short-idx1-ubyte.*header says"):
        read_idx(short)
    shutil.copy(src, tmp_path / "copy.gz")
    with pytest.raises(GenlabError, match="checksum mismatch for .*copy.gz"):
        verify(tmp_path / "copy.gz", "md5:" + "0" * 32)
    with pytest.raises(GenlabError, match="missing data file .*mnist.*download\\('mnist'\\)"):
        load_dataset("mnist", tmp_path / "nowhere")
    (tmp_path / "cifar-10-batches-py").mkdir()
    (tmp_path / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"\x80\x02}q\x00")
    with pytest.raises(GenlabError, match="data_batch_1"):
        load_dataset("cifar10", tmp_path)
    with pytest.raises(GenlabError, match="unknown dataset 'svhn'"):
        load_dataset("svhn", tmp_path)


def test_genlab_data_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path))
    assert vision.data_root() == tmp_path
    monkeypatch.setenv("GENLAB_DATA", str(SHARED))
    assert load_dataset("mnist1d").x_train.shape == (4000, 40)


def test_preprocessing_crop_and_whitening():
    x = np.arange(2 * 32 * 32 * 3).reshape(2, 32, 32, 3).astype(np.uint8)
    assert np.array_equal(center_crop(x, 28), x[:, 2:30, 2:30])
    w = per_image_whitening(np.random.default_rng(0).random((5, 28, 28, 3)) * 255)
    assert np.allclose(w.mean((1, 2, 3)), 0, atol=1e-5) and np.allclose(w.std((1, 2, 3)), 1, atol=1e-4)
    assert np.isfinite(per_image_whitening(np.zeros((1, 4, 4)))).all()  # a flat image stays finite
    c = load_dataset("cifar10", SHARED)
    c.x_train, c.x_test = c.x_train[:4], c.x_test[:2]
    xt, xs = prepare(c)
    assert xt.shape == (4, 3, 28, 28) and xs.shape == (2, 3, 28, 28) and xt.dtype == np.float32
