"""Every probe in genlab.probes follows one protocol, checked in the style of sklearn's parametrize_with_checks.

The protocol (STYLE.md, issue 12):

1. The constructor stores each setting under its own public name.
2. Public attributes are settings or end in ``_``: results, and quantities the constructor derives from
   the settings alone (a target's spectrum); anything else is private (a leading underscore).
3. Measuring a model does not change the settings; what it measures is returned or stored in ``*_``.
   (A setting that is itself an instrument, such as the estimator an InformationPlane feeds or the
   Average a DIP callback reads, keeps its identity and updates its own ``*_`` results.)
4. Callable on a stacked model (:class:`genlab.models.StackedMLP`): a stack of M gives M results, member
   k's equal to member k measured alone. Probes of the whole parameter vector (Hessian, Landscape) declare
   it (``whole``): they run on a stack and return a finite result of the documented shape. Where the rule
   has no meaning (a DIP fit is one network; a stopping rule makes one decision per fit), the Case says
   why (``not_stacked``) and the check is skipped with that reason.

To add a probe: export it in genlab.probes.__all__ and add a :class:`Case` to CASES (how to build it with
small settings, and how to measure a model with it). test_every_exported_probe_has_a_case fails until then.
"""
import inspect
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest
import torch
from torch import nn

import genlab.probes as probes
from genlab.callbacks import History, State
from genlab.models import StackedMLP
from genlab.models.mlp import MLP

M, WIDTHS = 3, (1, 12, 1)
X = torch.linspace(-np.pi, np.pi, 33)[:-1].reshape(-1, 1)
Y = torch.sin(X) + 0.5 * torch.sin(4 * X)
LABELS = (Y[:, 0] > 0).long()
YS = np.stack([np.sin((k + 1) * X[:, 0].numpy()) for k in range(M)])   # one target per member (M, N)
IMAGE = (1, 1, 4, 8)                                                  # a DIP fit's output, (1, C, H, W)


def member(k: int) -> nn.Module:
    return MLP(WIDTHS, "tanh", None, seed=k)


def stacked() -> nn.Module:
    return StackedMLP(M, WIDTHS, "tanh")        # member k initialized exactly like member(k)


def as_stack(model: nn.Module) -> StackedMLP:
    """A lone MLP as a stack of one (for probes documented to take a stack)."""
    if isinstance(model, StackedMLP):
        return model
    s = StackedMLP(1, WIDTHS, "tanh")
    s.load_members([model])
    return s


MEMBER0 = member(0)


def mse_stack(out, y):
    return ((out - y) ** 2).mean()


@dataclass
class Case:
    """How to build a probe (settings only) and measure one model with it -> {result name: value}.

    alone(k): the probe for member k measured alone, where each member has its own setting (a target);
    by default make(). whole: {result: shape on the stack} for probes of the whole parameter vector.
    not_stacked: why rule 4 does not apply.
    """

    make: Callable[[], Any]
    measure: Callable[[Any, nn.Module], dict]
    alone: Callable[[int], Any] | None = None
    whole: dict[str, tuple] | None = None
    not_stacked: str = ""


def _fit(probe, model):
    with torch.no_grad():
        probe.fit(model(X), LABELS)
    return {"I_xt_": probe.I_xt_, "I_ty_": probe.I_ty_}


def _hessian(probe, model):
    # Hessian takes its model in the constructor: another model needs another Hessian with the same settings.
    if model is not probe.model:
        probe = type(probe)(model, probe.loss_fn, probe.data)
    return {"eigenvalues_": probe.eigenvalues(k=1, n_iter=10, repeats=1)}


def _plane(probe, model):
    r = probe.measure(as_stack(model))
    return {k: r[k].T for k in ("I_xt_binning", "I_ty_binning", "I_xt_kde", "I_ty_kde")} | {"accuracy": r["accuracy"]}


# ---- training-time callbacks: a few steps of a fit whose output at step s is model(X) scaled by (1 + s / 10)
class Identity:
    """The degradation of denoising (HeldOut scores A x on held-out pixels)."""

    def forward(self, x):
        return x


def output(model, step: int) -> torch.Tensor:
    with torch.no_grad():
        return (model(X) * (1 + step / 10)).reshape(-1, *IMAGE[1:])       # (1 or M, 1, 4, 8)


def steps(cb, model, before=(), results=(), n: int = 6) -> dict:
    """Call ``before`` callbacks (e.g. the Average it reads) then ``cb`` for steps 1..n -> {result: value}."""
    history, said = History(), None
    for s in range(1, n + 1):
        state = State(s, float(n - s), model, {"x": output(model, s)}, history, None)  # type: ignore[arg-type]
        for b in before:
            b(state)
        said = cb(state) or said
    return {r: getattr(cb, r) for r in results} | {"history": {k: history.values(k) for k in history.names()},
                                                  "stopped": said}


def _rule(rule, model):
    rule.prepare(output(model, 0), Identity(), None)
    for s in range(1, 7):
        x = output(model, s)
        rule.update(s, x, x)
    return {"signal_": rule.signal_, "best_step_": rule.best_step_, "should_stop_": rule.should_stop_}


def _stacked_series(measure):
    """Per-member comparison of a callback's result array (not of the stop reason or the history)."""
    return lambda p, m: {k: v for k, v in measure(p, m).items() if k.endswith("_")}


ONE_FIT = "a DIP fit trains one network, not a stack: {} of its one output image"
CLEAN = Y.reshape(IMAGE)
CASES: dict[str, Case] = {
    "SpectrumProbe": Case(lambda: probes.SpectrumProbe(X, Y, peaks=[1, 4]), lambda p, m: {"errors": p(m)}),
    "SpectralAmplitude": Case(lambda: probes.SpectralAmplitude(X, [1, 4], [1.0, 0.5]), lambda p, m: {"amplitudes_": p(m)}),
    "FilterProbe": Case(lambda: probes.FilterProbe(X, Y), lambda p, m: p(m)),
    "FourierGradient": Case(lambda: probes.FourierGradient(X[:, 0], Y[:, 0], [1.0, 2.0, 4.0]),
                            lambda p, m: p(m)),
    "BandProbe": Case(lambda: probes.BandProbe(Y.reshape(4, 8).numpy(), n_bands=2, coords=X),
                      lambda p, m: {"errors": p(m)}),
    "StackBandError": Case(lambda: probes.StackBandError(X[:, 0], YS, 1, 5), lambda p, m: {"band_error": p(m)},
                           alone=lambda k: probes.StackBandError(X[:, 0], YS[k:k + 1], 1, 5)),
    "SpectralNorms": Case(probes.SpectralNorms,
                          lambda p, m: {f"layer{i}": v for i, v in enumerate(p(m).values())}),
    "BinningMI": Case(lambda: probes.BinningMI(n_bins=10, range=(-2, 2)), _fit),
    "KDEMI": Case(lambda: probes.KDEMI(noise_variance=1e-2), _fit),
    "InformationPlane": Case(lambda: probes.InformationPlane(X, LABELS, [0], probes.BinningMI(10, (-1, 1)),
                                                             probes.KDEMI(1e-2), kde_models=M), _plane),
    "Hessian": Case(lambda: probes.Hessian(MEMBER0, mse_stack, (X, Y)), _hessian, whole={"eigenvalues_": (1,)}),
    "Landscape": Case(lambda: probes.Landscape(mse_stack, (X, Y), seed=0),
                      lambda p, m: {"losses_": p.slice_1d(m, [-0.5, -0.25, 0.0, 0.25, 0.5]).losses_},
                      whole={"losses_": (5,)}),
    "FitMonitor": Case(lambda: probes.FitMonitor(X, LABELS, per_epoch=1, x_test=X, y_test=LABELS),
                       lambda p, m: steps(p, m, results=("epoch_999_", "epoch_100_")),
                       not_stacked="a classifier's callback that stops its one training at 100 % training "
                                   "accuracy; a stack's members reach it at different steps"),
    "Average": Case(lambda: probes.Average(exp_weight=0.9), _stacked_series(
        lambda p, m: steps(p, m, results=("x_avg_",)))),      # elementwise: a stack of outputs averages per member
    "Snapshots": Case(lambda: probes.Snapshots([2, 4], probes.Average(0.9)),
                      lambda p, m: steps(p, m, before=(p.average,), results=("snapshots_",)),
                      not_stacked=ONE_FIT.format("snapshots")),
    "PSNRTrace": Case(lambda: probes.PSNRTrace(CLEAN, probes.Average(0.9), every=1, keep_best=True),
                      lambda p, m: steps(p, m, before=(p.average,), results=("oracle_", "best_")),
                      not_stacked=ONE_FIT.format("the PSNR")),
    "RuleStop": Case(lambda: probes.RuleStop(probes.WMV(window=2, patience=2), probes.Average(0.9), record_every=1),
                     lambda p, m: steps(p, m, before=(p.average,), results=("best_",)),
                     not_stacked=ONE_FIT.format("one stopping decision from the average")),
    "TimeBudget": Case(lambda: probes.TimeBudget(seconds=60.0), lambda p, m: steps(p, m, results=("elapsed_",)),
                       not_stacked="wall-clock time of the fit, not a quantity of the model"),
    "ProgressBar": Case(lambda: probes.ProgressBar(total=6, desc="conformance"),
                        lambda p, m: steps(p, m) | {"closed": p.close()},
                        not_stacked="a display of the fit's progress, it measures nothing"),
    "WMV": Case(lambda: probes.WMV(window=2, patience=2), _rule, not_stacked=ONE_FIT.format("one stopping signal (the windowed variance)")),
    "HeldOut": Case(lambda: probes.HeldOut(fraction=0.25, patience=2, every=1, seed=0), _rule,
                    not_stacked=ONE_FIT.format("one stopping signal (the held-out error)")),
    "StopBelow": Case(lambda: probes.StopBelow(threshold=2.5), lambda p, m: steps(p, m),
                      not_stacked="stops on the training loss, one number for the whole fit"),
}


# ---- the checks -----------------------------------------------------------------------------------------------
def settings_of(probe) -> list[str]:
    return [n for n, p in inspect.signature(type(probe).__init__).parameters.items()
            if n != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def check_constructor_stores_settings(case: Case):
    probe = case.make()
    missing = [n for n in settings_of(probe) if not hasattr(probe, n)]
    assert not missing, f"{type(probe).__name__}: constructor settings not stored under their names: {missing}"


def check_public_names_after_construction(case: Case):
    probe = case.make()
    settings = settings_of(probe)
    other = [n for n in vars(probe) if not n.startswith("_") and n not in settings and not n.endswith("_")]
    assert not other, f"{type(probe).__name__}: public attributes that are neither settings nor derived_: {other}"


def _snapshot(v):
    return v.clone() if isinstance(v, torch.Tensor) else v.copy() if isinstance(v, np.ndarray) else None


def check_results_end_in_underscore(case: Case):
    probe = case.alone(0) if case.alone else case.make()      # the probe as built for a lone model
    settings = {n: getattr(probe, n, None) for n in settings_of(probe)}
    values = {n: _snapshot(v) for n, v in settings.items()}
    case.measure(probe, MEMBER0)
    public = [n for n in vars(probe) if not n.startswith("_")]
    other = [n for n in public if n not in settings and not n.endswith("_")]
    assert not other, f"{type(probe).__name__}: public attributes that are neither settings nor results_: {other}"
    changed = [n for n, v in settings.items() if getattr(probe, n, None) is not v
               or (values[n] is not None and not np.array_equal(np.asarray(values[n]), np.asarray(v)))]
    assert not changed, f"{type(probe).__name__}: measuring changed the settings {changed}"


def check_callable_on_a_stacked_model(case: Case):
    if case.not_stacked:
        pytest.skip(f"not applicable: {case.not_stacked}")
    whole = case.measure(case.make(), stacked())
    if case.whole is not None:          # a quantity of the whole parameter vector: one finite result, its shape
        assert sorted(whole) == sorted(case.whole), f"results {sorted(whole)}, documented {sorted(case.whole)}"
        for name, shape in case.whole.items():
            v = np.asarray(whole[name])
            assert v.shape == shape and np.isfinite(v).all(), f"{name}: {v.shape} {v}, expected finite {shape}"
        return
    alone = [case.measure(case.alone(k) if case.alone else case.make(), member(k)) for k in range(M)]
    for name, value in whole.items():
        v = np.asarray(value)
        assert v.ndim >= 1 and v.shape[0] == M, f"{name}: shape {v.shape} on a stack of {M}, expected ({M}, ...)"
        for k in range(M):
            assert np.allclose(v[k], np.asarray(alone[k][name]), rtol=1e-4, atol=1e-6), f"{name}: member {k}"


CHECKS = [check_constructor_stores_settings, check_public_names_after_construction, check_results_end_in_underscore,
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

    class Mutates:
        def __init__(self, x):
            self.x = x.clone()

        def __call__(self, model, state=None):
            self.x.mul_(2)                            # changes a setting in place
            return {"out_": np.full(2, np.nan)}       # not finite

    with pytest.raises(AssertionError):
        check_results_end_in_underscore(Case(lambda: Mutates(X), lambda p, m: p(m)))
    for shape in [(2,), (3,)]:                        # not finite; then not the documented shape either
        with pytest.raises(AssertionError):
            check_callable_on_a_stacked_model(Case(lambda: Mutates(X), lambda p, m: p(m), whole={"out_": shape}))
