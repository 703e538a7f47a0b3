"""The Hessian probe against torch.linalg.eigvalsh of the exact Hessian on tiny nets."""
import numpy as np
import pytest
import torch
from torch import nn

from genlab.errors import GenlabError
from genlab.models.mlp import MLP
from genlab.probes.hessian import Hessian, index


@pytest.fixture(scope="module")
def tiny():
    torch.set_num_threads(1)  # module fixtures run before the per-test thread fixture
    torch.manual_seed(0)
    model = MLP((5, 8, 3), "tanh", seed=0).double()
    x = torch.randn(64, 5, dtype=torch.float64)
    y = torch.randint(0, 3, (64,))
    h = Hessian(model, nn.functional.cross_entropy, (x, y))
    lam = torch.linalg.eigvalsh(h.exact()).numpy()
    return model, x, y, h, lam


def test_exact_matches_autograd_and_hvp(tiny):
    model, x, y, h, lam = tiny
    flat = torch.nn.utils.parameters_to_vector(model.parameters()).detach()
    shapes = [p.shape for p in model.parameters()]

    def f(theta):
        ps, i = [], 0
        for s in shapes:
            n = int(np.prod(s))
            ps.append(theta[i:i + n].reshape(s))
            i += n
        out = torch.func.functional_call(model, {k: p for (k, _), p in zip(model.named_parameters(), ps)}, (x,))
        return nn.functional.cross_entropy(out, y)

    H_ref = torch.autograd.functional.hessian(f, flat)
    assert torch.allclose(h.H_, H_ref, atol=1e-10)
    v = torch.randn(h.n_params_, dtype=torch.float64)
    assert torch.allclose(h.hvp(v), H_ref @ v, atol=1e-10)


def test_lanczos_top_and_bottom_k(tiny):
    *_, h, lam = tiny
    top = h.eigenvalues(k=3, n_iter=40, repeats=3)
    assert np.allclose(top, lam[::-1][:3], rtol=1e-6, atol=1e-8)
    assert np.all(h.eigenvalues_std_ < 1e-6)                        # converged: no run-to-run spread
    assert np.allclose(h.eigenvalues(k=2, which="smallest"), lam[:2], atol=1e-8)
    assert index(lam) > 0                                           # a random point of a tanh net is a saddle-like point


def test_hutchinson_trace_within_tolerance(tiny):
    *_, h, lam = tiny
    est = h.trace(n_samples=100, repeats=5, seed=1)
    # Rademacher variance is 2 sum_{i != j} H_ij^2; 500 samples give a standard error of about 2 %.
    H = h.H_.numpy()
    se = np.sqrt(2 * ((H ** 2).sum() - (np.diag(H) ** 2).sum()) / 500)
    assert abs(est - lam.sum()) < 4 * se
    assert h.trace_std_ > 0 and len(h.trace_repeats_) == 5


def test_slq_density_integrates_to_one_and_matches_moments(tiny):
    *_, h, lam = tiny
    grid, dens = h.density(n_runs=40, n_iter=20, seed=2)
    assert np.trapezoid(dens, grid) == pytest.approx(1.0, abs=1e-3)
    assert np.allclose(h.weights_.sum(1), 1.0)
    n = len(lam)
    for p in (1, 2):
        # Each run is v^T f(H) v for a unit random v: the relative error scales as sqrt(2 / n / runs).
        assert h.moment(p) == pytest.approx((lam ** p).mean(), rel=0.25)
    assert h.nodes_.max() == pytest.approx(lam.max(), rel=1e-4)     # extreme Ritz values converge first
    assert n == h.n_params_


def test_per_layer_restriction_is_the_diagonal_block(tiny):
    model, x, y, h, lam = tiny
    first = Hessian(model, nn.functional.cross_entropy, (x, y), params=["0."])
    k = first.n_params_
    assert k == 5 * 8 + 8
    assert torch.allclose(first.exact(), h.H_[:k, :k], atol=1e-12)
    by_module = Hessian(model, nn.functional.cross_entropy, (x, y), params=model[0])
    assert by_module.n_params_ == k


def test_bad_input_is_one_clear_line(tiny):
    model, x, y, *_ = tiny
    with pytest.raises(GenlabError, match="no parameters"):
        Hessian(nn.Tanh(), nn.functional.mse_loss, (x, x))
    with pytest.raises(GenlabError, match="not a scalar"):
        Hessian(model, lambda o, t: nn.functional.cross_entropy(o, t, reduction="none"), (x, y))
    with pytest.raises(GenlabError, match=r"model\(x\) failed on data x of shape \(64, 7\)"):
        Hessian(model, nn.functional.cross_entropy, (torch.randn(64, 7, dtype=torch.float64), y))
    with pytest.raises(GenlabError, match="pair"):
        Hessian(model, nn.functional.cross_entropy, x)
    big = Hessian(model, nn.functional.cross_entropy, (x, y), max_exact=10)
    with pytest.raises(GenlabError, match="too large to form exactly.*Lanczos") as e:
        big.exact()
    assert "\n" not in str(e.value)                                 # one line
