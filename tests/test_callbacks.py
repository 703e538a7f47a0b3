"""Callbacks on their own: Every's names and cadence, EarlyStopping's patience, History's state."""
import io

import numpy as np
import pytest
import torch
from torch import nn

from genlab.callbacks import EarlyStopping, Every, History, State
from genlab.train import supervised, train


class Probe:
    name, axes = "spectrum", ("peak",)

    def __call__(self, model, state):
        return np.zeros(2)


def a_probe_function(model, state):
    return 1.0


def test_every_takes_name_and_axes_from_the_probe_unless_given():
    e = Every(5, Probe())
    assert (e.name, e.axes, e.every) == ("spectrum", ("peak",), 5)
    e = Every(5, Probe(), name="mine", axes=("k",))
    assert (e.name, e.axes) == ("mine", ("k",))
    e = Every(0, a_probe_function)
    assert (e.name, e.axes, e.every) == ("a_probe_function", (), 1)


def tiny():
    torch.manual_seed(0)
    x = torch.randn(8, 2)
    return nn.Linear(2, 1), supervised(nn.functional.mse_loss, x, x[:, :1])


def test_every_cadence_eval_mode_no_grad_and_dicts():
    seen = []

    def probe(model, state):
        seen.append((state.step, model.training, torch.is_grad_enabled()))
        return {"a": state.step, "b": -state.step}

    model, obj = tiny()
    res = train(model, obj, steps=10, callbacks=[Every(3, probe, "p"), Every(4, Probe(), at_start=False)], threads=1)
    assert [s for s, *_ in seen] == [0, 3, 6, 9]
    assert all(not training and not grad for _, training, grad in seen) and model.training
    h = res.history
    assert h.steps("p/a").tolist() == [0, 3, 6, 9] and h.values("p/b").tolist() == [0, -3, -6, -9]
    assert h.steps("spectrum").tolist() == [4, 8] and h.values("spectrum").shape == (2, 2)
    assert h.axes("spectrum") == ("peak",)


def check(es, step, value):
    """Feed EarlyStopping one check with a known metric value; return its stop reason (or None)."""
    model = nn.Linear(1, 1)
    return es(State(step, 0.0, model, {}, History(), torch.optim.SGD(model.parameters(), lr=0.1)))


@pytest.mark.parametrize("seq, patience, min_delta, stops_at, best", [
    ([3.0, 2.0, 2.5, 2.4, 2.6, 1.0], 3, 0.0, 4, (2.0, 1)),       # three checks without improvement after check 1
    ([3.0, 2.0, 2.5, 1.5, 2.6, 2.7, 2.8], 3, 0.0, 6, (1.5, 3)),   # an improvement resets the count
    ([3.0, 2.9, 2.85, 2.8], 3, 0.25, 3, (3.0, 0)),                # smaller steps than min_delta are no improvement
    ([5.0, 4.0, 3.0, 2.0], 1, 0.0, None, (2.0, 3)),               # always improving: never stops
])
def test_early_stopping_patience_on_a_known_sequence(seq, patience, min_delta, stops_at, best):
    es = EarlyStopping(None, every=1, patience=patience, min_delta=min_delta)
    stopped = None
    for i, v in enumerate(seq):
        es.metric = lambda m, s, v=v: v
        if check(es, i, v):
            stopped = i
            break
    assert stopped == stops_at
    assert (es.best_value, es.best_step) == best


def test_history_state_dict_round_trip_through_a_checkpoint_file():
    h = History()
    for s in (0, 5, 10):
        h.record("loss", s, float(s) / 3)
        h.record("spectrum", s, torch.tensor([s, s + 1.0]), axes=("peak",))
    buf = io.BytesIO()
    torch.save(h.state_dict(), buf)                      # what a checkpoint does with it
    buf.seek(0)
    g = History()
    g.load_state_dict(torch.load(buf, weights_only=False))
    assert g.names() == ["loss", "spectrum"] and "spectrum" in g and "other" not in g
    for n in g.names():
        assert np.array_equal(g.steps(n), h.steps(n)) and np.array_equal(g.values(n), h.values(n))
        assert g.axes(n) == h.axes(n)
    assert g.axes("spectrum") == ("peak",) and g.values("spectrum").shape == (3, 2)
    g.record("loss", 15, 5.0)                            # a resumed run appends to the restored series
    assert g.steps("loss").tolist() == [0, 5, 10, 15]
