"""genlab.optim against closed forms on quadratics, where the Hessian is known exactly."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from genlab.models.mlp import MLP
from genlab.optim import SecondOrder, find_critical_point, flat_params, ntk_gd, set_params, spectral_step
from genlab.probes.hessian import Hessian, index
from genlab.train import train


class Point(nn.Module):
    """theta itself is the output: with ``quadratic`` as loss, L(theta) = 1/2 theta^T A theta - b^T theta."""

    def __init__(self, theta):
        super().__init__()
        self.theta = nn.Parameter(torch.tensor(theta, dtype=torch.float64))

    def forward(self, x):
        return self.theta


def quadratic(A, b):
    return lambda theta, _: 0.5 * theta @ A @ theta - b @ theta


def _rotated(lam, angle=0.7):
    c, s = math.cos(angle), math.sin(angle)
    Q = torch.tensor([[c, -s], [s, c]], dtype=torch.float64)
    return Q @ torch.diag(torch.tensor(lam, dtype=torch.float64)) @ Q.T, Q


def test_spectral_step_is_abs_inverse_and_damped_newton():
    H, Q = _rotated([2.0, -4.0])
    g = torch.tensor([1.0, 3.0], dtype=torch.float64)
    c = Q.T @ g
    # saddle-free Newton: |H|^-1 g, |H| = Q diag(|lambda|) Q^T (Dauphin et al. 2014, Eq. 9); damping adds to |lambda|
    assert torch.allclose(spectral_step(H, g, "saddle-free", 0.0), Q @ (c / torch.tensor([2.0, 4.0], dtype=torch.float64)))
    assert torch.allclose(spectral_step(H, g, "saddle-free", 0.5), Q @ (c / torch.tensor([2.5, 4.5], dtype=torch.float64)))
    # damping 0: Newton's H^-1 g, which keeps the sign of the negative curvature
    assert torch.allclose(spectral_step(H, g, "newton", 0.0), torch.linalg.solve(H, g))
    d = 0.3
    lam = torch.tensor([2.0, -4.0], dtype=torch.float64)
    assert torch.allclose(spectral_step(H, g, "newton", d), Q @ (lam / (lam ** 2 + d ** 2) * c))


def test_newton_step_solves_a_convex_quadratic_in_one_step():
    A, _ = _rotated([1.0, 3.0])
    b = torch.tensor([1.0, -2.0], dtype=torch.float64)
    model, loss = Point([0.5, 0.5]), quadratic(A, b)
    data = (torch.zeros(1), torch.zeros(1))
    opt = SecondOrder(model.parameters(), lambda: Hessian(model, loss, data), lr=1.0, damping=1e-8, mode="newton")
    train(model, lambda m, _: loss(m(None), None), steps=1, optimizer=lambda p: opt, progress=False)
    assert torch.allclose(model.theta.detach(), torch.linalg.solve(A, b), atol=1e-7)


def test_newton_is_attracted_to_a_saddle_and_saddle_free_newton_is_repelled():
    A = torch.diag(torch.tensor([1.0, -1.0], dtype=torch.float64))   # L = (x^2 - y^2) / 2, saddle at 0
    loss, data, d = quadratic(A, torch.zeros(2, dtype=torch.float64)), (torch.zeros(1), torch.zeros(1)), 0.01
    ends = {}
    for mode in ("newton", "saddle-free"):
        model = Point([1.0, 1.0])
        opt = SecondOrder(model.parameters(), lambda m=model: Hessian(m, loss, data), lr=1.0, damping=d, mode=mode)
        train(model, lambda m, _: loss(m(None), None), steps=1, optimizer=lambda p, o=opt: o, progress=False)
        ends[mode] = model.theta.detach()
    # g = (1, -1): Newton steps by g * lambda / (lambda^2 + d^2), saddle-free by g / (|lambda| + d)
    f = 1 / (1 + d ** 2)
    assert torch.allclose(ends["newton"], torch.tensor([1 - f, 1 - f], dtype=torch.float64))   # both coordinates -> 0
    assert torch.allclose(ends["saddle-free"], torch.tensor([1 - 1 / (1 + d), 1 + 1 / (1 + d)], dtype=torch.float64))
    assert ends["newton"].norm() < 0.01 and ends["saddle-free"][1] > 1.9   # one toward the saddle, one away


def test_second_order_refuses_an_unknown_mode():
    model = Point([0.0])
    with pytest.raises(ValueError, match="choose saddle-free or newton"):
        SecondOrder(model.parameters(), None, mode="sfn")


def test_find_critical_point_finds_the_saddle_of_x2_minus_y2():
    A = torch.diag(torch.tensor([2.0, -2.0], dtype=torch.float64))   # L = x^2 - y^2
    loss, data = quadratic(A, torch.zeros(2, dtype=torch.float64)), (torch.zeros(1), torch.zeros(1))
    model = Point([0.3, -0.2])
    gn, iters = find_critical_point(model, loss, data, iters=40, tol=1e-10)
    assert gn < 1e-10 and iters < 40
    assert torch.allclose(model.theta.detach(), torch.zeros(2, dtype=torch.float64), atol=1e-10)
    lam = torch.linalg.eigvalsh(Hessian(model, loss, data).exact()).numpy()
    assert np.allclose(lam, [-2.0, 2.0]) and index(lam) == 0.5       # a saddle: half the directions descend


def test_find_critical_point_on_a_network_reaches_a_zero_gradient():
    torch.manual_seed(0)
    x, y = torch.randn(40, 3, dtype=torch.float64), torch.randn(40, 2, dtype=torch.float64)
    model = MLP((3, 4, 2), "identity", 0.01, seed=0).double()
    loss = lambda o, t: 0.5 * ((o - t) ** 2).sum(1).mean()  # noqa: E731
    g0 = float(Hessian(model, loss, (x, y)).gradient().norm())
    gn, _ = find_critical_point(model, loss, (x, y), iters=40, tol=1e-9)
    assert gn < 1e-9 < g0
    assert float(Hessian(model, loss, (x, y)).gradient().norm()) == pytest.approx(gn)   # the model holds the point


def test_flat_and_set_params_round_trip():
    model = MLP((3, 5, 2), "tanh", seed=1)
    theta = flat_params(model)
    assert theta.shape == (3 * 5 + 5 + 5 * 2 + 2,)
    set_params(model, torch.arange(theta.numel(), dtype=torch.float64))    # cast to the model's dtype
    assert model[0].weight.dtype == torch.float32 and float(model[0].weight.detach()[0, 1]) == 1.0
    assert torch.equal(flat_params(model), torch.arange(theta.numel(), dtype=torch.float32))


def test_ntk_gd_scales_each_weights_step_by_its_fan_in():
    w, b = nn.Parameter(torch.zeros(2, 8, 3)), nn.Parameter(torch.zeros(2, 1, 3))   # (M, fan_in, fan_out) and a bias
    opt = ntk_gd(0.4)([w, b])
    assert [g["lr"] for g in opt.param_groups] == [pytest.approx(0.05), 0.4]
