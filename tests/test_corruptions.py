"""Each corruption's defining property (Zhang et al. 2017, Section 2)."""
import numpy as np
import pytest

from genlab.data import corruptions as C
from genlab.errors import GenlabError

rng = np.random.default_rng(0)
IMGS = rng.integers(0, 256, (50, 8, 8, 3)).astype(np.uint8)
GRAY = rng.integers(0, 256, (50, 6, 6)).astype(np.uint8)
Y = rng.integers(0, 10, 20000)


def test_p0_changes_nothing_and_fraction_matches_p():
    y0, m0 = C.corrupt_labels(Y, 0.0, 10, seed=1)
    assert np.array_equal(y0, Y) and not m0.any()
    for p in (0.2, 0.5, 1.0):
        y, m = C.corrupt_labels(Y, p, 10, seed=1)
        assert abs(m.mean() - p) < 0.02                      # the redrawn fraction is p
        changed = (y != Y).mean()
        assert abs(changed - p * 0.9) < 0.02                 # a redrawn label keeps its class 1 time in 10
        assert np.array_equal(y[~m], Y[~m]) and y.min() >= 0 and y.max() <= 9
    assert np.array_equal(C.corrupt_labels(Y, 0.3, 10, 7)[0], C.corrupt_labels(Y, 0.3, 10, 7)[0])  # seeded
    r = C.random_labels(Y, 10, seed=2)
    assert abs((r != Y).mean() - 0.9) < 0.02 and np.bincount(r, minlength=10).min() > 1800  # uniform


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_level_outside_unit_interval_is_refused(p):
    with pytest.raises(GenlabError, match=r"outside \[0, 1\]"):
        C.corrupt_labels(Y, p, 10, 0)


def test_shuffled_pixels_is_one_permutation_for_all_images():
    perm = C.pixel_permutation(IMGS, seed=3)
    assert np.array_equal(np.sort(perm), np.arange(64))      # a permutation
    s = C.shuffled_pixels(IMGS, seed=3)
    flat, sflat = IMGS.reshape(50, 64, 3), s.reshape(50, 64, 3)
    assert np.array_equal(sflat, flat[:, perm])              # the same one for every image, channels together
    x, y, xt = C.apply("shuffled_pixels", IMGS[:30], Y[:30], 10, 3, IMGS[30:])
    assert np.array_equal(np.concatenate([x, xt]), s)        # train and test share it
    g = C.shuffled_pixels(GRAY, seed=3)
    assert np.array_equal(np.sort(g.reshape(50, -1), 1), np.sort(GRAY.reshape(50, -1), 1))


def test_random_pixels_is_a_new_permutation_per_image():
    r = C.random_pixels(IMGS, seed=4)
    flat, rflat = IMGS.reshape(50, 64, 3), r.reshape(50, 64, 3)
    perms = []
    for i in range(50):  # each image: its own pixels (rgb triples) rearranged
        idx = [int(np.flatnonzero((flat[i] == px).all(1))[0]) for px in rflat[i]]
        assert sorted(idx) == list(range(64)) or len(np.unique(flat[i], axis=0)) < 64
        perms.append(tuple(idx))
    assert len(set(perms)) == 50


def test_gaussian_images_match_mean_and_variance():
    x = rng.random((400, 28, 28)).astype(np.float32) * 200 + 20
    g = C.gaussian_images(x, seed=5)
    assert g.shape == x.shape and abs(g.mean() - x.mean()) < 0.5 and abs(g.std() / x.std() - 1) < 0.01
    assert abs(float(np.corrcoef(g.ravel(), x.ravel())[0, 1])) < 0.01


def test_apply_keeps_true_labels_and_unknown_kind():
    x, y, _ = C.apply("true", GRAY, Y[:50], 10, 0)
    assert x is GRAY and np.array_equal(y, Y[:50])
    _, y, _ = C.apply("random_labels", GRAY, Y[:50], 10, 0)
    assert not np.array_equal(y, Y[:50])
    with pytest.raises(GenlabError, match="unknown corruption"):
        C.apply("blur", GRAY, Y[:50], 10, 0)
