"""The information-plane probe: closed forms on a saturated stack, the estimators' own numbers, the recorder."""
import math
import re
from pathlib import Path

import numpy as np
import torch

from genlab.callbacks import History, State
from genlab.losses import stacked_ce
from genlab.models.stacked import StackedMLP
from genlab.probes import InformationPlane
from genlab.probes.information import KDEMI, BinningMI
from genlab.runs import Run
from genlab.train import supervised, train


def _two_bits():
    """All 4 patterns of 2 bits in {-1, 1}, each 8 times; the label is the first bit."""
    x = torch.tensor([[a, b] for a in (-1.0, 1.0) for b in (-1.0, 1.0)]).repeat(8, 1)
    return x, (x[:, 0] > 0).long()


def test_saturated_tanh_layer_has_the_closed_form_plane():
    # Weights 100 * I saturate tanh to exactly +-1: the hidden layer is the input's sign pattern,
    # so under binning I(X;T) = H(T) = 2 bits (4 equiprobable codes) and I(T;Y) = H(Y) = 1 bit.
    x, y = _two_bits()
    stack = StackedMLP(3, (2, 2, 2), "tanh", init="normal_fan_in", seed=0)
    with torch.no_grad():
        stack.weights[0].copy_(100 * torch.eye(2).expand(3, 2, 2))
        stack.weights[1].copy_(torch.tensor([[-1.0, 1.0], [0.0, 0.0]]).expand(3, 2, 2))   # predicts y exactly
    probe = InformationPlane(x, y, at_steps=[0], binning=BinningMI(30, (-1, 1)), kde=KDEMI(1e-3), kde_models=2)
    r = probe.measure(stack)
    assert r["I_xt_binning"].shape == (1, 3) and r["I_xt_kde"].shape == (1, 2)   # (layer, model)
    np.testing.assert_allclose(r["I_xt_binning"], 2.0, atol=1e-12)
    np.testing.assert_allclose(r["I_ty_binning"], 1.0, atol=1e-12)
    # KDE: 4 clusters 2 apart, noise s^2 = 1e-3: the bound is log2 of the number of distinct points
    np.testing.assert_allclose(r["I_xt_kde"], 2.0, atol=1e-6)
    np.testing.assert_allclose(r["I_ty_kde"], 1.0, atol=1e-6)
    np.testing.assert_array_equal(r["bin_range"], [[-1.0, 1.0]])
    np.testing.assert_array_equal(r["accuracy"], np.ones(3, dtype=np.float32))
    assert probe.params_["kde"]["models"] == 2 and probe.params_["binning"]["n_bins"] == 30


def test_measure_equals_the_estimators_on_each_hidden_layer():
    torch.manual_seed(0)
    x, y = torch.randint(0, 2, (200, 12)).float(), torch.randint(0, 2, (200,))
    stack = StackedMLP(4, (12, 6, 5, 2), "relu", init="normal_fan_in", seed=1)
    probe = InformationPlane(x, y, [0], BinningMI(30, None), KDEMI(1e-3, 64, seed=0), kde_models=3)
    r = probe.measure(stack)
    with torch.no_grad():
        out, hidden = stack(x, return_hidden=True)
    for layer, T in enumerate(hidden):
        b = BinningMI(30, None).fit(T, y)
        k = KDEMI(1e-3, 64, seed=0).fit(T[:3], y)
        np.testing.assert_array_equal(r["I_xt_binning"][layer], b.I_xt_)
        np.testing.assert_array_equal(r["I_ty_binning"][layer], b.I_ty_)
        np.testing.assert_array_equal(r["I_xt_kde"][layer], k.I_xt_)
        np.testing.assert_array_equal(r["I_ty_kde"][layer], k.I_ty_)
        np.testing.assert_array_equal(r["bin_range"][layer], [float(T.min()), float(T.max())])   # observed range
    assert np.all(r["I_xt_binning"] <= math.log2(200) + 1e-9)
    np.testing.assert_array_equal(r["accuracy"], (out.argmax(-1) == y).float().mean(1).numpy())


def test_callback_measures_only_at_its_steps_and_records_into_the_run(tmp_path):
    x, y = _two_bits()
    stack = StackedMLP(2, (2, 4, 3, 2), "tanh", init="normal_fan_in", seed=0)
    probe = InformationPlane(x, y, [0, 3, 5], BinningMI(30, (-1, 1)), KDEMI(1e-3), kde_models=1)
    h = History()
    assert probe(State(1, 0.0, stack, {}, h, None)) is None and h.names() == []   # step 1: not measured
    run = Run(tmp_path / "run")
    train(stack, supervised(lambda out, t: stacked_ce(out, t).sum(), x, y), steps=6, lr=1e-2, callbacks=[probe],
          run=run, phase="train")
    s = run.series("train/ib/I_xt_binning")
    np.testing.assert_array_equal(s.steps, [0, 3, 5])
    assert s.axes == ("step", "layer", "model") and s.values.shape == (3, 2, 2)
    assert run.series("train/ib/I_ty_kde").values.shape == (3, 2, 1)
    assert run.series("train/ib/bin_range").axes == ("step", "layer", "bound")
    assert run.series("train/ib/accuracy").axes == ("step", "model")


def test_docs_snippet_runs():
    text = (Path(__file__).parents[1] / "docs" / "information-plane-and-saddles.md").read_text()
    code = [c for c in re.findall(r"```python\n(.*?)```", text, re.S) if "InformationPlane" in c]
    assert code, "docs/information-plane-and-saddles.md has no InformationPlane snippet"
    ns: dict = {}
    exec(compile(code[0], "docs-information-plane", "exec"), ns)
    xt = ns["plane"].values
    assert xt.shape == (3, 2, 4) and np.all((xt >= 0) & (xt <= math.log2(32) + 1e-9))
