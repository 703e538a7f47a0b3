"""genlab.physics: the degradation operators match their definitions; A is linear, with a known adjoint."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from genlab.data.images import load_image
from genlab.dip import to_image, to_tensor
from genlab.errors import GenlabError
from genlab.physics import JPEG, Downsampling, GaussianNoise, Inpainting, Physics, make_physics, random_mask, text_mask
from genlab.probes.image import psnr


def _img(size=64):
    img = load_image("chelsea", size=size)
    return np.ascontiguousarray(img[:size, :size])


def test_degradations_match_their_definitions():
    rng = np.random.default_rng(0)
    flat = np.full((64, 64, 3), 0.5, np.float32)
    assert abs(float(GaussianNoise(0.1).corrupt(flat, rng).std()) - 0.1) < 0.005
    img = _img(64)
    assert psnr(JPEG(10).corrupt(img, None), img) < psnr(JPEG(60).corrupt(img, None), img) - 3
    y = Downsampling(4).corrupt(img, None)
    assert y.shape == (16, 16, 3) and np.allclose(y[1, 2], img[4:8, 8:12].mean((0, 1)), atol=1e-6)
    assert abs(float(random_mask(64, 64, 0.5, rng).mean()) - 0.5) < 0.05
    t = text_mask(64, 64)
    assert 0.6 < t.mean() < 0.97


@pytest.mark.parametrize("op", [Physics(), Downsampling(2), Downsampling(4),
                                Inpainting(random_mask(16, 16, 0.5, np.random.default_rng(3)))])
def test_operators_are_linear_with_the_adjoint_their_definition_gives(op):
    g = torch.Generator().manual_seed(0)
    x, x2 = torch.rand(1, 3, 16, 16, generator=g), torch.rand(1, 3, 16, 16, generator=g)
    assert torch.allclose(op.forward(2 * x - 3 * x2), 2 * op.forward(x) - 3 * op.forward(x2), atol=1e-6)
    y = torch.rand(op.forward(x).shape, generator=g)
    f = getattr(op, "factor", 1)
    # A^T: box downsampling's is nearest upsampling divided by factor**2; a mask's is the mask itself
    adj = torch.repeat_interleave(torch.repeat_interleave(y, f, 2), f, 3) / f ** 2 if f > 1 else op.forward(y)
    assert float((op.forward(x) * y).sum()) == pytest.approx(float((x * adj).sum()), rel=1e-5)
    assert op.forward(x).shape == (1, 3, 16 // f, 16 // f)


def test_corrupt_is_forward_for_the_deterministic_operators_and_inpainting_is_idempotent():
    img = _img(32)
    for op in (Downsampling(4), Inpainting(random_mask(32, 32, 0.3, np.random.default_rng(1)))):
        assert np.allclose(op.corrupt(img, None), to_image(op.forward(to_tensor(img))), atol=1e-6)
    m = Inpainting(random_mask(32, 32, 0.3, np.random.default_rng(1)))
    x = to_tensor(img)
    assert torch.equal(m.forward(m.forward(x)), m.forward(x))
    gray = img.mean(2)
    assert Downsampling(2).corrupt(gray, None).shape == (16, 16)


def test_bad_operators_are_refused_in_one_line():
    with pytest.raises(GenlabError, match="factor"):
        Downsampling(1)
    with pytest.raises(GenlabError, match="no known pixels"):
        Inpainting(np.zeros((4, 4)))
    with pytest.raises(GenlabError, match="needs --mask"):
        make_physics("inpaint")
    assert isinstance(make_physics("sr", factor=3), Downsampling) and make_physics("sr", factor=3).factor == 3
