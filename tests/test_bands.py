"""Oracles for the band probes: images and signals whose band content is known exactly."""
import numpy as np
import pytest
import torch
from torch import nn

from genlab.data.targets import grid
from genlab.probes import BandProbe, StackBandError, pixel_coordinates, radial_band_errors
from genlab.train import Every

N = 64
YY, XX = np.mgrid[0:N, 0:N] / N
# Bands are 0.177 cycles/px wide; one component in each (radii 0.03, 0.24, 0.44, 0.55).
TARGET = (np.sin(2 * np.pi * 2 * XX) + np.cos(2 * np.pi * (12 * XX + 10 * YY))
          + 0.5 * np.sin(2 * np.pi * (20 * XX + 20 * YY)) + 0.5 * np.cos(2 * np.pi * (25 * XX + 25 * YY)))
TOP = 0.2 * np.cos(2 * np.pi * (28 * XX + 27 * YY))   # radius ≈ 0.61 cycles/px: the top band only


class Painter(nn.Module):
    """A 'network' that paints fixed images: (N, 2) coordinates -> (N, 1), or (M, N, 1) for several."""

    def __init__(self, *images):
        super().__init__()
        self.out = torch.as_tensor(np.stack([im.reshape(-1, 1) for im in images]), dtype=torch.float64)

    def forward(self, x):
        assert x.shape == (N * N, 2)
        return self.out if len(self.out) > 1 else self.out[0]


def test_radial_band_errors_high_frequency_perturbation_raises_only_the_high_band():
    np.testing.assert_allclose(radial_band_errors(TARGET, TARGET, 4), 0, atol=1e-12)
    e = radial_band_errors(TARGET + TOP, TARGET, 4)
    assert e[-1] == pytest.approx(0.4, rel=1e-9)                      # ‖0.2 cos‖ / ‖0.5 cos‖
    np.testing.assert_allclose(e[:-1], 0, atol=1e-10)
    # A band with no target energy has no relative error.
    assert np.isnan(radial_band_errors(TARGET, np.sin(2 * np.pi * 2 * XX), 4)[1:]).all()


def test_pixel_coordinates_are_row_major_in_the_unit_square():
    c = pixel_coordinates(3, 5)
    assert c.shape == (15, 2)
    assert c[0].tolist() == [-1, -1] and c[4].tolist() == [1, -1] and c[5].tolist() == [-1, 0] and c[-1].tolist() == [1, 1]


def test_band_probe_finds_the_perturbed_band():
    probe = BandProbe(TARGET, n_bands=4)
    np.testing.assert_allclose(probe(Painter(TARGET)), 0, atol=1e-12)      # one model: (n_bands,)
    e = probe(Painter(TARGET + TOP))
    assert e.shape == (4,) and e[-1] == pytest.approx(0.4, rel=1e-9)     # ‖0.2 cos‖ / ‖0.5 cos‖
    np.testing.assert_allclose(e[:-1], 0, atol=1e-10)


def test_band_probe_on_a_stack_gives_one_row_per_model():
    probe = BandProbe(TARGET, n_bands=4)
    e = probe(Painter(TARGET, 0.5 * TARGET, TARGET + TOP, TARGET + 3.0))   # a constant offset is DC: no band
    assert e.shape == (4, 4)
    np.testing.assert_allclose(e[0], 0, atol=1e-12)
    np.testing.assert_allclose(e[1], 0.5, rtol=1e-9)                     # half the image: half of every band
    np.testing.assert_allclose(e[2], [0, 0, 0, 0.4], atol=1e-10)
    np.testing.assert_allclose(e[3], 0, atol=1e-10)
    assert probe.images(Painter(TARGET, TOP)).shape == (2, N, N)
    cb = Every(5, probe)
    assert (cb.name, cb.axes) == ("bands", ("band",))
    with pytest.raises(ValueError, match="gray image"):
        BandProbe(np.stack([TARGET, TARGET]))


def test_stack_band_error_per_model_target():
    x = grid(64)
    Y = np.stack([np.sin(x) + np.sin(10 * x), np.sin(x) + 0.5 * np.sin(20 * x)])
    probe = StackBandError(x, Y, 5, 33)
    model = lambda xt: torch.sin(xt).expand(2, -1, -1)   # noqa: E731  fits only the low frequency, per model
    np.testing.assert_allclose(probe(model), [1.0, 1.0], rtol=1e-6)   # the high band entirely missing
    fit = torch.as_tensor(Y, dtype=torch.float32).unsqueeze(-1)
    np.testing.assert_allclose(probe(lambda xt: fit), [0, 0], atol=1e-6)
