"""genlab.probes.image: PSNR and SSIM against closed forms, with the convention they record."""
from __future__ import annotations

import numpy as np
import pytest

from genlab.data.images import load_image
from genlab.physics import GaussianNoise
from genlab.probes import CONVENTION, psnr, ssim


def test_psnr_and_ssim_oracles():
    x = np.full((16, 16, 3), 0.5)
    assert psnr(x + 0.1, x) == pytest.approx(20.0)
    assert ssim(x, x) == pytest.approx(1.0)
    img = np.ascontiguousarray(load_image("chelsea", size=32)[:32, :32])
    assert ssim(GaussianNoise(0.2).corrupt(img, np.random.default_rng(1)), img) < 0.7


def test_psnr_convention_is_data_range_one_all_channels_no_crop():
    x = np.zeros((8, 8, 3))
    y = x.copy()
    y[0, 0, 0] = 1.0  # one wrong value at the border of one channel: MSE 1 / 192, nothing cropped
    assert psnr(y, x) == pytest.approx(10 * np.log10(192))
    assert psnr(y * 255, x, data_range=255.0) == pytest.approx(psnr(y, x))
    assert psnr(x, x) == float("inf")
    assert CONVENTION["data_range"] == 1.0 and CONVENTION["border_crop"] == 0
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(x, x[:4])
