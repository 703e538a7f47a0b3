"""Mutual-information estimators against closed forms on data with known answers."""
import math

import numpy as np
import pytest

from genlab.errors import GenlabError
from genlab.probes.information import KDEMI, BinningMI, discrete_mi


def test_discrete_mi_closed_forms():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 8, 40_000)
    assert discrete_mi(a, a) == pytest.approx(math.log2(8), abs=1e-3)          # I(X;X) = H(X) = 3 bits
    assert discrete_mi(a, rng.integers(0, 8, len(a))) < 3e-3                    # independent -> 0 (+ plug-in bias)
    # Y = X mod 2 keeps one bit of X exactly
    assert discrete_mi(a, a % 2) == pytest.approx(1.0, abs=1e-3)


def test_binning_equals_closed_form_on_discrete_activations():
    # T takes 4 exact grid values per unit, so the bins recover T exactly: I(X;T) = H(T).
    rng = np.random.default_rng(1)
    n = 4096
    codes = rng.integers(0, 4, (n, 2))
    T = codes / 3.0 * 2 - 1                                   # values in {-1, -1/3, 1/3, 1}
    y = codes[:, 0] % 2                                       # label = a function of T's first unit
    est = BinningMI(n_bins=4, range=(-1, 1)).fit(T, y)
    key = codes[:, 0] * 4 + codes[:, 1]
    p = np.bincount(key, minlength=16) / n
    H = -(p[p > 0] * np.log2(p[p > 0])).sum()
    assert est.I_xt_ == pytest.approx(H, abs=1e-9)
    assert est.I_ty_ == pytest.approx(discrete_mi(key, y), abs=1e-9)
    assert est.I_ty_ == pytest.approx(discrete_mi(y, y), abs=1e-9)        # T determines Y: I(T;Y) = H(Y)
    assert est.params_ == {"estimator": "binning", "n_bins": 4, "range": [-1, 1], "range_used": [-1, 1], "units": "bits"}


def test_binning_stack_matches_one_by_one_and_x_ids():
    rng = np.random.default_rng(2)
    T = np.tanh(rng.normal(size=(3, 500, 5)))
    y = rng.integers(0, 2, 500)
    stack = BinningMI(30, (-1, 1)).fit(T, y)
    for m in range(3):
        one = BinningMI(30, (-1, 1)).fit(T[m], y)
        assert stack.I_xt_[m] == pytest.approx(one.I_xt_) and stack.I_ty_[m] == pytest.approx(one.I_ty_)
    # Rows in pairs share an input id x while their T differ: I(X;T) = H(X) = log2(250) < H(T) = log2(500).
    x = np.arange(500) // 2
    e = BinningMI(30, (-1, 1)).fit(T[0], y, x=x)
    assert e.H_t_ == pytest.approx(math.log2(500)) and e.I_xt_ == pytest.approx(math.log2(250))
    wide = BinningMI(30, (-1, 1)).fit(np.tanh(rng.normal(size=(500, 20))), y)   # > int64 key: folding path
    assert wide.I_xt_ == pytest.approx(math.log2(500), abs=1e-9)


def test_kde_bound_behaves():
    rng = np.random.default_rng(3)
    n = 400
    y = np.repeat([0, 1], n // 2)
    centers = np.where(y[:, None] == 1, 1.0, -1.0) * np.ones((n, 2))
    values = []
    for sep in (0.0, 0.02, 0.05, 0.2):
        T = centers * sep + 0.01 * rng.normal(size=(n, 2))
        e = KDEMI(noise_variance=1e-3).fit(T, y)
        assert 0 <= e.I_xt_ <= math.log2(n) + 1e-9                 # bounded by log N
        assert e.I_ty_ <= e.I_xt_ + 1e-9
        values.append(e.I_ty_)
    assert all(b > a for a, b in zip(values, values[1:]))          # increases with class separation
    assert values[0] < 0.1 and values[-1] > 0.95                   # 0 bits -> 1 bit = H(Y)
    spread = KDEMI().fit(rng.normal(size=(n, 3)) * 10, y)
    assert spread.I_xt_ == pytest.approx(math.log2(n), abs=1e-3)   # far-apart points: the bound log N
    assert spread.params_["estimator"] == "kde-upper" and spread.params_["noise_variance"] == 1e-3


def test_bad_input_is_one_clear_line():
    with pytest.raises(GenlabError, match="one label per row"):
        BinningMI().fit(np.zeros((10, 3)), np.zeros(9))
    with pytest.raises(GenlabError, match=r"give \(N, d\)"):
        KDEMI().fit(np.zeros(10), np.zeros(10))
    with pytest.raises(GenlabError, match="n_bins"):
        BinningMI(n_bins=1)
    with pytest.raises(GenlabError, match="noise_variance"):
        KDEMI(noise_variance=0)
