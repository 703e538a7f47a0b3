"""Every probe in genlab.probes follows one protocol, checked in the style of sklearn's parametrize_with_checks.

The protocol (STYLE.md, issue 12): settings in the constructor (it stores them under their own names and
computes nothing: no result attribute yet), results on the object in attributes ending in ``_`` (or
returned), and callable on a stacked model: a stack of M models gives M results, member k's equal to the
result on member k alone.

To add a probe: export it in genlab.probes.__all__ and add a :class:`Case` to CASES (how to build it with
its settings, and how to measure a model with it). test_every_exported_probe_has_a_case fails until then.
"""
import inspect
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest
import torch
from torch import nn

import genlab.probes as probes
from genlab.ensemble import StackedMLP
from genlab.models.mlp import MLP

M, WIDTHS = 3, (1, 12, 1)
X = torch.linspace(-np.pi, np.pi, 33)[:-1].reshape(-1, 1)
Y = torch.sin(X) + 0.5 * torch.sin(4 * X)
LABELS = (Y[:, 0] > 0).long()


def member(k: int) -> nn.Module:
    return MLP(WIDTHS, "tanh", None, seed=k)


def stacked() -> nn.Module:
    return StackedMLP(M, WIDTHS, "tanh")        # member k initialized exactly like member(k)


MEMBER0 = member(0)


def mse_stack(out, y):
    return ((out - y) ** 2).mean()


@dataclass
class Case:
    """How to build a probe (settings only) and measure one model with it -> {result name: value}."""

    make: Callable[[], Any]
    measure: Callable[[Any, nn.Module], dict]


def _fit(probe, model):
    with torch.no_grad():
        probe.fit(model(X), LABELS)
    return {"I_xt_": probe.I_xt_, "I_ty_": probe.I_ty_}


def _hessian(probe, model):
    # Hessian takes its model in the constructor: another model needs another Hessian with the same settings.
    if model is not probe.model:
        probe = type(probe)(model, probe.loss_fn, probe.data)
    return {"eigenvalues_": probe.eigenvalues(k=1, n_iter=10, repeats=1)}


CASES: dict[str, Case] = {
    "SpectrumProbe": Case(lambda: probes.SpectrumProbe(X, Y, peaks=[1, 4]), lambda p, m: {"errors": p(m)}),
    "SpectralAmplitude": Case(lambda: probes.SpectralAmplitude(X, [1, 4], [1.0, 0.5]), lambda p, m: {"amplitudes_": p(m)}),
    "FilterProbe": Case(lambda: probes.FilterProbe(X, Y), lambda p, m: p(m)),
    "BinningMI": Case(lambda: probes.BinningMI(n_bins=10, range=(-2, 2)), _fit),
    "KDEMI": Case(lambda: probes.KDEMI(noise_variance=1e-2), _fit),
    "Hessian": Case(lambda: probes.Hessian(MEMBER0, mse_stack, (X, Y)), _hessian),
    "Landscape": Case(lambda: probes.Landscape(mse_stack, (X, Y), seed=0),
                      lambda p, m: {"losses_": p.slice_1d(m, [-0.5, -0.25, 0.0, 0.25, 0.5]).losses_}),
}


# ---- the checks -----------------------------------------------------------------------------------------------
def settings_of(probe) -> list[str]:
    return [n for n, p in inspect.signature(type(probe).__init__).parameters.items()
            if n != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def check_constructor_stores_settings(case: Case):
    probe = case.make()
    missing = [n for n in settings_of(probe) if not hasattr(probe, n)]
    assert not missing, f"{type(probe).__name__}: constructor settings not stored under their names: {missing}"


def check_constructor_computes_nothing(case: Case):
    probe = case.make()
    results = [n for n in vars(probe) if n.endswith("_") and not n.startswith("_")]
    assert not results, f"{type(probe).__name__}: results {results} exist right after construction"


def check_results_end_in_underscore(case: Case):
    probe = case.make()
    settings = {n: getattr(probe, n, None) for n in settings_of(probe)}
    case.measure(probe, MEMBER0)
    public = [n for n in vars(probe) if not n.startswith("_")]
    other = [n for n in public if n not in settings and not n.endswith("_")]
    assert not other, f"{type(probe).__name__}: public attributes that are neither settings nor results_: {other}"
    changed = [n for n, v in settings.items() if getattr(probe, n, None) is not v]
    assert not changed, f"{type(probe).__name__}: measuring changed the settings {changed}"


def check_callable_on_a_stacked_model(case: Case):
    whole = case.measure(case.make(), stacked())
    alone = [case.measure(case.make(), member(k)) for k in range(M)]
    for name, value in whole.items():
        v = np.asarray(value)
        assert v.ndim >= 1 and v.shape[0] == M, f"{name}: shape {v.shape} on a stack of {M}, expected ({M}, ...)"
        for k in range(M):
            assert np.allclose(v[k], np.asarray(alone[k][name]), rtol=1e-4, atol=1e-6), f"{name}: member {k}"


CHECKS = [check_constructor_stores_settings, check_constructor_computes_nothing, check_results_end_in_underscore,
          check_callable_on_a_stacked_model]


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__ for c in CHECKS])
@pytest.mark.parametrize("name", list(CASES))
def test_probe_protocol(name, check):
    torch.manual_seed(0)
    check(CASES[name])


def test_every_exported_probe_has_a_case():
    classes = [n for n in probes.__all__ if inspect.isclass(getattr(probes, n))]
    assert classes, "genlab.probes exports no probe class"
    assert sorted(n for n in classes if n not in CASES) == [], "add a Case for each exported probe"
    assert all(n in classes for n in CASES), "CASES names a probe genlab.probes does not export"


def test_the_checks_can_fail():
    """The checks against a probe that breaks each rule (their oracle)."""
    class Bad:
        def __init__(self, x, scale=1.0):
            self.x_ = x                               # computed in the constructor, setting not stored
            self.cache = None

        def __call__(self, model, state=None):
            with torch.no_grad():
                self.cache = model(X)                 # a result without the trailing underscore
            return {"out": float(self.cache.sum())}   # one number for a whole stack

    bad = Case(lambda: Bad(X), lambda p, m: p(m))
    for check in CHECKS:
        with pytest.raises(AssertionError):
            check(bad)
