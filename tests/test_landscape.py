"""The landscape probe against its oracles (closed-form quadratic, filter norms, endpoints) and bad input."""
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from genlab.errors import GenlabError
from genlab.models.mlp import MLP
from genlab.probes.landscape import Landscape, random_directions


class Quadratic(nn.Module):
    """model(x) = w (ignores x); with QuadLoss the loss is 0.5 wᵀ A w."""

    def __init__(self, w0):
        super().__init__()
        self.w = nn.Parameter(torch.as_tensor(w0, dtype=torch.float64))

    def forward(self, x):
        return self.w


class QuadLoss:
    def __init__(self, A):
        self.A = A

    def __call__(self, w, y):
        return 0.5 * w @ self.A @ w


def _quad(n=5, seed=0):
    g = np.random.default_rng(seed)
    B = g.normal(size=(n, n))
    A = torch.as_tensor(B @ B.T + np.eye(n))
    return Quadratic(g.normal(size=n)), QuadLoss(A), (torch.zeros(3, 1), torch.zeros(3, 1))


def test_slice_1d_and_2d_equal_closed_form_on_quadratic():
    model, loss, data = _quad()
    A, w0 = loss.A.numpy(), model.w.detach().numpy()
    g = np.random.default_rng(1)
    d, e = g.normal(size=5), g.normal(size=5)
    alphas = np.linspace(-2, 2, 9)
    ls = Landscape(loss, data).slice_1d(model, alphas, direction={"w": torch.as_tensor(d)})
    f = lambda w: 0.5 * w @ A @ w  # noqa: E731
    np.testing.assert_allclose(ls.losses_, [f(w0 + a * d) for a in alphas], rtol=1e-10)
    # closed form as a polynomial in α: f(w0) + α dᵀAw0 + α²/2 dᵀAd
    np.testing.assert_allclose(ls.losses_, f(w0) + alphas * (d @ A @ w0) + 0.5 * alphas**2 * (d @ A @ d), rtol=1e-10)
    ls.slice_2d(model, alphas, alphas[:5], directions=[{"w": torch.as_tensor(d)}, {"w": torch.as_tensor(e)}])
    want = np.array([[f(w0 + a * d + b * e) for b in alphas[:5]] for a in alphas])
    assert ls.losses_.shape == (9, 5)
    np.testing.assert_allclose(ls.losses_, want, rtol=1e-10)
    assert ls.center_loss_ == pytest.approx(f(w0))


def test_filter_normalization_gives_each_filter_the_models_norm():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 7))
    d = random_directions(model, seed=3)
    for name, p in model.named_parameters():
        if p.dim() <= 1:
            assert torch.count_nonzero(d[name]) == 0, name  # biases and BN are not perturbed (ignore="biasbn")
        else:
            np.testing.assert_allclose(d[name].flatten(1).norm(dim=1), p.detach().flatten(1).norm(dim=1), rtol=1e-5)
            assert not torch.allclose(d[name], p.detach())  # a random direction, not θ itself
    d2 = random_directions(model, seed=3, ignore="none")
    assert torch.equal(d2["0.bias"], model[0].bias.detach())


def test_interpolation_endpoints_and_workers_identical():
    x, y = torch.randn(64, 3), torch.randn(64, 1)
    a, b = MLP((3, 8, 1), "tanh", seed=1), MLP((3, 8, 1), "tanh", seed=2)
    loss = nn.functional.mse_loss
    ls = Landscape(loss, (x, y), chunk_size=4).interpolate(a, b, alphas=np.linspace(0, 1, 11))
    with torch.no_grad():
        assert ls.losses_[0] == pytest.approx(float(loss(a(x), y)), rel=1e-6)
        assert ls.losses_[-1] == pytest.approx(float(loss(b(x), y)), rel=1e-6)
    one = Landscape(loss, (x, y), chunk_size=7).slice_2d(a, np.linspace(-1, 1, 6)).losses_
    two = Landscape(loss, (x, y), chunk_size=7, workers=2).slice_2d(a, np.linspace(-1, 1, 6)).losses_
    np.testing.assert_array_equal(one, two)
    assert one[2:4, 2:4].min() < one.max()  # not flat: the slice moves the loss
    assert a.training  # the probe restores the model's mode


class NoParams(nn.Module):
    def forward(self, x):
        return x


@pytest.mark.parametrize("model, loss, data, match", [
    (NoParams(), nn.functional.mse_loss, (torch.randn(4, 3), torch.randn(4, 3)), "no parameters"),
    (nn.Linear(3, 1), lambda o, y: (o - y) ** 2, (torch.randn(4, 3), torch.randn(4, 1)), "scalar"),
    (nn.Linear(3, 1), nn.functional.mse_loss, (torch.randn(4, 5), torch.randn(4, 1)), "wrong shape"),
    (nn.Linear(3, 1), nn.functional.mse_loss, (torch.randn(4, 3), torch.randn(6, 1)), "wrong shape"),
    ("not a model", nn.functional.mse_loss, (torch.randn(4, 3), torch.randn(4, 1)), "not a torch.nn.Module"),
])
def test_bad_input_is_one_line(model, loss, data, match):
    with pytest.raises(GenlabError, match=match) as e:
        Landscape(loss, data).slice_1d(model, [0.0, 1.0])
    assert "\n" not in str(e.value)


def test_bad_grid_is_one_line():
    with pytest.raises(GenlabError, match="alphas") as e:
        Landscape(nn.functional.mse_loss, (torch.randn(4, 3), torch.randn(4, 1))).slice_1d(nn.Linear(3, 1), [])
    assert "\n" not in str(e.value)


def test_readme_snippet(tmp_path, monkeypatch):
    """The README section's code block (docs/loss-surfaces-and-cheap-learning.md), run as written."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "loss-surfaces-and-cheap-learning.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    ns = {}
    exec(compile(code, "loss-surfaces-and-cheap-learning.md", "exec"), ns)
    ls = ns["ls"]
    assert (tmp_path / "landscape.png").stat().st_size > 1000
    assert ls.losses_.shape == (11, 11) and np.isfinite(ls.losses_).all()
    assert ls.losses_[5, 5] == pytest.approx(ls.center_loss_)
