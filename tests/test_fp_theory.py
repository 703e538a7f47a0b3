"""fp-theory and fp-beyond-nyquist: the per-frequency gradient probe against oracles, and the claims at quick scale."""
import math

import numpy as np
import pytest
import torch
from torch import nn

import fp_kn
from genlab.data.targets import grid
from genlab.experiments import get
from genlab.models.stacked import StackedMLP
from genlab.probes import FourierGradient, energy_above, fit_slope, theory_factor
from genlab.runner import execute


def _claims(exp_id, tmp_path):
    """The claims of a quick run, after checking their k of N against a hand count (tests/fp_kn.py)."""
    exp = get(exp_id)
    run = execute(exp, exp.config_for("quick"), tmp_path / exp_id, scale="quick")
    claims = {c["id"]: c for c in run.claims}
    fp_kn.check_k_of_n(exp_id, claims, run)
    return claims


def _net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(1, 3), nn.Tanh(), nn.Linear(3, 1)).double()


@pytest.mark.parametrize("window_std", [None, 0.8])
def test_per_frequency_gradient_matches_finite_differences(window_std):
    x = grid(32)
    y = np.sin(x) + np.sin(3 * x)
    ks = np.array([1.0, 2.0, 5.0])
    net = _net()
    probe = FourierGradient(x, y, ks, window_std)
    got = probe(net)
    xt = torch.as_tensor(x).reshape(-1, 1)
    params = list(net.parameters())
    flat = torch.cat([p.detach().ravel() for p in params])

    def L(theta):  # L(k) written out independently: |Σ win (h − f) e^{−ikx} Δx|²
        i = 0
        with torch.no_grad():
            for p in params:
                p.copy_(theta[i:i + p.numel()].view_as(p))
                i += p.numel()
            r = net(xt)[:, 0].numpy() - y
        xc = (x.min() + x.max()) / 2   # the window is centred on the samples' midpoint
        win = np.ones_like(x) if window_std is None else np.exp(-(x - xc) ** 2 / (2 * window_std ** 2))
        return np.abs((np.exp(-1j * np.outer(ks, x)) * win * (x[1] - x[0])) @ r) ** 2

    eps, g = 1e-6, np.zeros((len(ks), len(flat)))
    for i in range(len(flat)):
        e = torch.zeros_like(flat)
        e[i] = eps
        g[:, i] = (L(flat + e) - L(flat - e)) / (2 * eps)
    L(flat)
    assert np.allclose(got["grad"], np.linalg.norm(g, axis=1), rtol=1e-5)
    assert np.allclose(got["A"] ** 2, L(flat), rtol=1e-8)


def test_stack_gradient_equals_each_member_alone():
    x = grid(32)
    y = np.sin(2 * x)
    stack = StackedMLP(3, (1, 8, 1), "tanh", [0.5, 1.0, 2.0], seeds=[0, 1, 2])
    probe = FourierGradient(x, y, [1, 4, 9], 0.8)
    got = probe(stack)["grad"]
    for m in range(3):
        assert np.allclose(got[m], probe(stack.member(m))["grad"], rtol=1e-6)


def test_theory_factor_slope_single_neuron():
    # One neuron, no window: the factor is |a| exp(−π k/(2|w|)), slope −π/(2|w|) exactly.
    net = _net()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[2.0], [0.1], [0.1]]))
        net[2].weight.copy_(torch.tensor([[1.5, 0.0, 0.0]]))
    ks = np.arange(1, 10)
    f = theory_factor(net, ks)
    assert np.isclose(fit_slope(ks, f), -math.pi / 4, rtol=1e-9)
    assert np.isclose(f[0], 1.5 * math.exp(-math.pi / 4), rtol=1e-9)


def test_energy_above_parseval_and_cutoff():
    x = grid(256)
    h = np.sin(3 * x) + 0.5 * np.cos(40 * x)
    assert np.isclose(energy_above(h, -1), np.mean(h ** 2))         # all of it: Parseval
    assert np.isclose(energy_above(h, 16), 0.5 ** 2 / 2)            # only the k = 40 cosine
    assert energy_above(np.sin(3 * x), 16) < 1e-25


@pytest.mark.slow
def test_fp_theory_quick(tmp_path):
    c = _claims("fp-theory", tmp_path)
    s = c["fp-theory-slope"]
    assert s["verdict"] == "holds" and 0.75 <= s["value"] <= 1.33          # measured 0.87
    assert c["fp-theory-flatten"]["verdict"] == "holds" and c["fp-theory-flatten"]["value"] >= 4   # measured 5.6
    o = c["fp-theory-order"]   # does not hold at quick scale (1500 steps: the high peaks have not converged)
    assert math.isfinite(o["value"]) and o["verdict"] == ("holds" if o["value"] >= 0.9 else "fails")


@pytest.mark.slow
def test_fp_beyond_nyquist_quick(tmp_path):
    c = _claims("fp-beyond-nyquist", tmp_path)
    assert c["fp-nyquist-energy"]["verdict"] == "holds" and c["fp-nyquist-energy"]["value"] >= 20   # measured 66
    assert c["fp-nyquist-heldout"]["verdict"] == "holds" and c["fp-nyquist-heldout"]["value"] >= 0.85  # measured 0.97
