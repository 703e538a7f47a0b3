"""Oracles for the spectrum probe: analytic signals whose spectra are known exactly."""
import numpy as np
import pytest
import torch

from genlab.data.targets import grid, sines
from genlab.models.stacked import StackedMLP
from genlab.probes.spectrum import SpectrumProbe, dft, first_below, relative_error, select_peaks

N = 64
FREQS, AMPS = (2, 5, 11), (1.0, 0.5, 2.0)


def signal(x):
    return sines(x, FREQS, AMPS)


def test_rfft_of_sines_peaks_at_frequencies_with_magnitude_n_a_over_2():
    x = grid(N)
    spec = np.abs(dft(signal(x), x))
    assert spec.shape == (N // 2 + 1,)
    for f, a in zip(FREQS, AMPS):
        assert spec[f] == pytest.approx(N * a / 2, rel=1e-10)
    others = np.setdiff1d(np.arange(len(spec)), FREQS)
    assert spec[others].max() < 1e-9 * N


def test_select_peaks_finds_exactly_the_frequencies():
    x = grid(N)
    spec = dft(signal(x), x)
    assert select_peaks(spec).tolist() == list(FREQS)
    assert select_peaks(spec, n_peaks=2).tolist() == [2, 11]        # the two tallest, by frequency
    # A large mean (DC) must neither count as a peak nor hide the others.
    assert select_peaks(dft(signal(x) + 100.0, x)).tolist() == list(FREQS)


def test_nonuniform_dft_on_a_uniform_grid_equals_the_fft():
    x0 = 2 * np.pi * np.arange(N) / N                        # grid starting at 0: identical coefficients
    y = signal(x0) + 0.3 * np.cos(7 * x0)
    k = np.arange(N // 2 + 1)
    np.testing.assert_allclose(dft(y, x0, freqs=k), np.fft.rfft(y), atol=1e-9)
    x = grid(N)                                               # [-π, π): a shift by π multiplies by (-1)^k
    np.testing.assert_allclose(dft(y, x, freqs=k), (-1.0) ** k * np.fft.rfft(y), atol=1e-9)


def test_shuffled_grid_is_not_taken_for_uniform():
    x = grid(N)
    perm = np.random.default_rng(0).permutation(N)
    with pytest.raises(ValueError):
        dft(signal(x)[perm], x[perm])


def test_relative_error_forms():
    x = grid(N)
    y_hat = dft(signal(x), x)[list(FREQS)]
    assert np.all(relative_error(y_hat, y_hat) == 0)
    rng = np.random.default_rng(1)
    h_hat = y_hat * (1 + 0.3 * rng.standard_normal(3)) * np.exp(1j * rng.uniform(-1, 1, 3))
    assert np.all(relative_error(h_hat, y_hat, "magnitude") <= relative_error(h_hat, y_hat, "complex") + 1e-12)
    # A pure phase shift (the signal delayed): magnitude error 0, complex error 2|sin(φ/2)|.
    shifted = y_hat * np.exp(1j * 0.5)
    np.testing.assert_allclose(relative_error(shifted, y_hat, "magnitude"), 0, atol=1e-12)
    np.testing.assert_allclose(relative_error(shifted, y_hat, "complex"), 2 * np.sin(0.25), rtol=1e-9)


def test_probe_on_an_ensemble_gives_one_row_per_model():
    x = torch.as_tensor(grid(61), dtype=torch.float32).reshape(-1, 1)
    y = torch.as_tensor(sines(grid(61), (1, 3, 5)), dtype=torch.float32).reshape(-1, 1)
    probe = SpectrumProbe(x, y)
    assert probe.peaks_.tolist() == [1, 3, 5]
    model = StackedMLP(4, (1, 16, 1), "tanh", init_std=0.1)
    err = probe(model)
    assert err.shape == (4, 3)
    # Row m is exactly what the probe says about member m alone.
    np.testing.assert_allclose(err[2], probe(model.member(2)), rtol=1e-5)
    # The target itself has zero error; half the target has error 0.5 at every peak.
    np.testing.assert_allclose(probe.errors(y), 0, atol=1e-6)
    np.testing.assert_allclose(probe.errors(0.5 * y), 0.5, rtol=1e-5)


def test_first_below():
    steps = np.array([0, 10, 20, 30])
    err = np.array([[1.0, 1.0, 0.9], [0.05, 0.5, 0.9], [0.01, 0.08, 0.9], [0.2, 0.01, 0.9]])
    t = first_below(steps, err, 0.1)
    assert t[0] == 10 and t[1] == 20 and np.isinf(t[2])
    t3 = first_below(steps, np.stack([err, err[:, ::-1]], axis=1), 0.1)   # (T, M, K) -> (M, K)
    assert t3.shape == (2, 3) and t3[1, 2] == 10
