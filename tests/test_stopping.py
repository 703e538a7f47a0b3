"""genlab.dip.stopping: each rule on a synthetic signal whose answer is known in advance."""
from __future__ import annotations

import copy

import pytest
import torch

from genlab.callbacks import State
from genlab.dip.stopping import WMV, HeldOut, StopBelow, make_rule
from genlab.errors import GenlabError
from genlab.physics import Physics
from genlab.train import train


def _wmv_signal(t: int) -> torch.Tensor:
    """Outputs that alternate in sign with an amplitude falling to 0 at step 40, 0 for steps 40..60, then rising
    again (dyadic values, exact in fp16 and float64): the windowed variance falls, is exactly 0 once the
    window lies inside the plateau, and rises after it."""
    v = (-1) ** t * max(40 - t, 0, t - 60) / 64
    return torch.full((1, 3, 2, 2), v)


def _feed(rule, steps, signal):
    """Update the rule step by step as a fit does; the step at which it says stop (None: never)."""
    for t in steps:
        x = signal(t)
        rule.update(t, x, x)
        if rule.should_stop_:
            return t
    return None


def test_wmv_stops_patience_steps_after_the_window_first_fits_in_the_plateau():
    rule = WMV(window=5, patience=10)
    rule.update(1, _wmv_signal(1), None)
    assert rule.signal_ is None and not rule.should_stop_  # no variance before the window is full
    stopped = _feed(rule, range(2, 101), _wmv_signal)
    assert rule.best_step_ == 44 and rule.best_value_ == 0.0  # steps 40..44 are the first window at 0
    assert stopped == 54


def test_wmv_variance_is_the_windowed_variance_of_the_outputs():
    rule = WMV(window=3, patience=100)
    vals = [0.0, 1.0, 2.0, 4.0]
    for t, v in enumerate(vals, 1):
        rule.update(t, torch.full((1, 1, 2, 2), v), None)
    assert rule.signal_ == pytest.approx(torch.tensor([1.0, 2.0, 4.0]).var(unbiased=False).item())


def test_wmv_resumes_from_its_state():
    a = WMV(window=5, patience=10)
    _feed(a, range(1, 31), _wmv_signal)
    b = WMV(window=5, patience=10)
    b.load_state_dict(copy.deepcopy(a.state_dict()))
    assert _feed(a, range(31, 101), _wmv_signal) == _feed(b, range(31, 101), _wmv_signal) == 54


def test_heldout_scores_only_the_held_out_pixels_and_stops_after_the_known_minimum():
    y = torch.zeros(1, 1, 16, 16)
    rule = HeldOut(fraction=0.25, patience=20, every=5)
    weight = rule.prepare(y, Physics(), None)
    assert float((weight * rule.val_).sum()) == 0 and torch.equal(weight + rule.val_, torch.ones_like(y))
    assert 0.1 < float(rule.val_.mean()) < 0.4
    # the averaged output's error on every pixel is |t - 30| / 30: its validation MSE is 0 at step 30 exactly
    stopped = _feed(rule, range(1, 101), lambda t: torch.full((1, 1, 16, 16), abs(t - 30) / 30))
    assert rule.best_step_ == 30 and rule.best_value_ == 0.0 and stopped == 50
    assert rule.signal_ == pytest.approx((20 / 30) ** 2)  # the last scored step, 50


def test_heldout_holds_out_only_known_pixels():
    y = torch.zeros(1, 3, 8, 8)
    known = torch.zeros(1, 1, 8, 8)
    known[..., :4, :] = 1
    rule = HeldOut(fraction=0.5, patience=5)
    weight = rule.prepare(y, Physics(), known)
    assert float((rule.val_ * (1 - known)).sum()) == 0 and float((weight * (1 - known)).sum()) == 0
    assert rule.denom_ == float(rule.val_.sum()) * 3


def test_stop_below_stops_at_the_first_step_under_the_threshold():
    cb = StopBelow(0.01)
    first = next(s for s in range(1, 1000) if cb(State(s, 1 / s, None, {}, None, None)))
    assert first == 101  # 1/100 is not below 0.01
    # through the loop: SGD with lr 0.25 on (w - 1)^2 from w = 0 halves w - 1 each step, so the loss seen at
    # step s is 0.25 ** (s - 1): first below 1e-3 at s = 6
    model = torch.nn.Module()
    model.w = torch.nn.Parameter(torch.zeros(()))
    res = train(model, lambda m, b: (m.w - 1) ** 2, steps=100, optimizer="sgd", lr=0.25, callbacks=[StopBelow(1e-3)])
    assert res.steps_done == 6 and res.stopped_reason == "loss below 0.001 at step 6"


def test_make_rule_by_name():
    assert isinstance(make_rule("wmv", patience=3), WMV) and make_rule("heldout", patience=3).patience == 3
    assert make_rule(None) is None and make_rule("none") is None and make_rule("oracle") is None
    with pytest.raises(GenlabError, match="unknown stopping rule"):
        make_rule("psnr")
