"""The training loop: resume equals uninterrupted, the recorder, loss_every, end hooks, the divergence guard."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from genlab.callbacks import Callback, EarlyStopping, Every
from genlab.errors import DivergedError
from genlab.runs import Run
from genlab.train import MiniBatches, supervised, train

STEPS = 40


class Killed(Exception):
    """Stands for a kill -9 at a given step (after that step's checkpoint, if any, was written)."""


class KillAt(Callback):
    at_start = False

    def __init__(self, step):
        self.step = step

    def __call__(self, state):
        if state.step == self.step:
            raise Killed(state.step)


def data():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(48, 3, generator=g)
    return x, torch.sin(x.sum(1, keepdim=True))


def net():
    torch.manual_seed(0)
    # Dropout draws from the global torch RNG every step: a resume must restore that state too.
    return nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Dropout(0.1), nn.Linear(16, 1))


def lr_now(model, state):
    return state.optimizer.param_groups[0]["lr"]


def schedule(step):
    return 0.5 ** (step // 10)  # halves every 10 steps


def fit(run=None, kill=None, callbacks=(), steps=STEPS, **kw):
    x, y = data()
    model = net()
    cbs = [Every(1, lr_now, "lr"), *callbacks] + ([KillAt(kill)] if kill else [])
    res = train(model, supervised(nn.functional.mse_loss), steps=steps, lr=0.05, lr_schedule=schedule,
                batches=MiniBatches(x, y, 16, seed=3), callbacks=cbs, run=run, checkpoint_every=8,
                threads=1, **kw)
    return model, res


def same_weights(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_lr_schedule_and_weights_across_a_resume_equal_an_uninterrupted_run(tmp_path):
    ref_model, ref = fit()
    lrs = ref.history.values("lr")
    assert lrs.tolist() == [0.05 * schedule(max(s - 1, 0)) for s in ref.history.steps("lr")]   # lr of step s-1 seen at s
    run = Run(tmp_path / "run")
    with pytest.raises(Killed):
        fit(run, kill=21)                                  # last checkpoint at step 16
    model, res = fit(Run(tmp_path / "run"))
    assert res.resumed_from == 16 and res.steps_done == STEPS
    assert res.history.steps("lr").tolist() == ref.history.steps("lr").tolist()
    assert res.history.values("lr").tolist() == lrs.tolist()
    assert res.history.values("loss").tolist() == ref.history.values("loss").tolist()
    assert same_weights(model, ref_model)


def test_callback_state_on_resume(tmp_path):
    # A metric that improves, then stalls: EarlyStopping's counters must survive the kill.
    seq = [5.0, 4.0, 3.0, 2.0, 2.5, 2.6, 1.9, 2.2, 2.3, 2.4, 2.5, 2.6]

    def stopper():
        return EarlyStopping(lambda m, s: seq[s.step // 4], every=4, patience=4, name="val")

    _, ref = fit(callbacks=[ref_es := stopper()])
    assert ref.stopped_reason.startswith("early stopping") and ref.steps_done == 40   # 4 checks after step 24
    with pytest.raises(Killed):
        fit(Run(tmp_path / "run"), kill=30, callbacks=[stopper()])
    es = stopper()
    _, res = fit(Run(tmp_path / "run"), callbacks=[es])
    assert res.resumed_from == 24 and (es.best_value, es.best_step, es.bad) == (ref_es.best_value, ref_es.best_step, ref_es.bad)
    assert res.stopped_reason == ref.stopped_reason and res.steps_done == ref.steps_done
    assert res.history.values("val").tolist() == ref.history.values("val").tolist()


def test_loss_every_records_every_kth_step_with_the_same_values():
    _, every1 = fit(steps=20)
    _, every5 = fit(steps=20, loss_every=5)
    assert every5.history.steps("loss").tolist() == [5, 10, 15, 20]
    assert every5.history.values("loss").tolist() == every1.history.values("loss")[4::5].tolist()


class Snapshots(Callback):
    """Keeps a copy of the weights at every step (an oracle for restore_best)."""

    def __init__(self):
        self.at = {}

    def __call__(self, state):
        self.at[state.step] = {k: v.clone() for k, v in state.model.state_dict().items()}


def test_early_stopping_restore_best_through_the_end_hook(tmp_path):
    seq = [3.0, 2.0, 1.0, 1.5, 1.2, 1.1, 4.0]              # best at the third check (step 2)
    snaps = Snapshots()
    es = EarlyStopping(lambda m, s: seq[s.step], every=1, patience=3, restore_best=True)
    model, res = fit(Run(tmp_path / "run"), callbacks=[snaps, es], steps=10)
    assert res.steps_done == 5 and es.best_step == 2 and es.best_value == 1.0
    assert not torch.equal(snaps.at[5]["0.weight"], snaps.at[2]["0.weight"])
    assert all(torch.equal(model.state_dict()[k], v) for k, v in snaps.at[2].items())
    # Without restore_best the last weights stay.
    model, _ = fit(callbacks=[EarlyStopping(lambda m, s: seq[s.step], every=1, patience=3), Snapshots()], steps=10)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in snaps.at[5].items())
    # A finished phase found on resume: the checkpoint holds the last weights, the end hook puts the best back.
    es2 = EarlyStopping(lambda m, s: seq[s.step], every=1, patience=3, restore_best=True)
    model, res = fit(Run(tmp_path / "run"), callbacks=[Snapshots(), es2], steps=10)
    assert res.steps_done == 5 and res.resumed_from == 5 and es2.best_step == 2
    assert all(torch.equal(model.state_dict()[k], v) for k, v in snaps.at[2].items())


class Peaks:
    """A probe in the protocol's shape: a name and the axes of one measurement."""

    name, axes = "spectrum", ("peak",)

    def __call__(self, model, state):
        return np.array([state.step, 2.0 * state.step])


def test_recorder_writes_phase_series_with_named_axes_and_a_finished_phase_records_the_same(tmp_path):
    run = Run(tmp_path / "run")
    _, res = fit(run, callbacks=[Every(10, Peaks()), Every(20, lambda m, s: {"a": 1.0, "b": s.step}, "pair")],
                 phase="fit")
    run.flush()                                             # what the runner does after the experiment's run()
    stored = Run(tmp_path / "run")                          # read back from disk, not from memory
    spec = stored.series("fit/spectrum")
    assert spec.axes == ("step", "peak") and spec.steps.tolist() == [0, 10, 20, 30, 40]
    assert spec.values.tolist() == [[s, 2 * s] for s in (0, 10, 20, 30, 40)]
    loss = stored.series("fit/loss")
    assert loss.axes == ("step",) and loss.steps.tolist() == list(range(1, STEPS + 1))
    assert loss.values.tolist() == res.history.values("loss").tolist()
    assert stored.series("fit/pair/b").values.tolist() == [0, 20, 40]
    assert stored.series("fit/lr").values[-1] == pytest.approx(0.05 * schedule(STEPS - 1))
    assert sorted(stored.series_names()) == ["fit/loss", "fit/lr", "fit/pair/a", "fit/pair/b", "fit/spectrum"]
    before = {n: stored.series(n) for n in stored.series_names()}
    # Train again into the same run: the phase is finished, nothing trains, the same series are recorded.
    again = Run(tmp_path / "run")
    _, res2 = fit(again, callbacks=[Every(10, Peaks()), Every(20, lambda m, s: {"a": 1.0, "b": s.step}, "pair")],
                  phase="fit")
    assert res2.resumed_from == STEPS and res2.steps_done == STEPS
    again.flush()
    after = Run(tmp_path / "run")
    for n, s in before.items():
        t = after.series(n)
        assert t.axes == s.axes and np.array_equal(t.steps, s.steps) and np.array_equal(t.values, s.values), n
    # record=False writes nothing.
    quiet = Run(tmp_path / "quiet")
    fit(quiet, phase="fit", record=False)
    quiet.flush()
    assert Run(tmp_path / "quiet").series_names() == []


class NanAfter:
    """An objective whose loss is NaN from the ``k``-th call on (call k is step k, counted from 0)."""

    def __init__(self, k):
        self.k, self.calls = k, 0

    def __call__(self, model, batch):
        x, y = data()
        loss = nn.functional.mse_loss(model(x), y)
        self.calls += 1
        return loss * math.nan if self.calls > self.k else loss


def test_divergence_guard_raises_or_stops_with_step_and_phase(tmp_path):
    with pytest.raises(DivergedError, match=r"loss became nan at step 3 of phase 'warmup'"):
        train(net(), NanAfter(3), steps=10, phase="warmup", threads=1)
    res = train(net(), NanAfter(3), steps=10, on_diverge="stop", threads=1)
    assert res.steps_done == 3 and res.stopped_reason.startswith("diverged") and len(res.history.values("loss")) == 3
    assert np.isfinite(res.history.values("loss")).all()
    # With a run: the diverged phase is checkpointed; running it again says so instead of training on.
    run = Run(tmp_path / "run")
    with pytest.raises(DivergedError):
        train(net(), NanAfter(3), steps=10, run=run, threads=1)
    objective = NanAfter(100)
    with pytest.raises(DivergedError, match="at step 3"):
        train(net(), objective, steps=10, run=Run(tmp_path / "run"), threads=1)
    assert objective.calls == 0
