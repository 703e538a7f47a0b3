"""saddle-index and saddle-free-newton at quick scale with margins; the critical-point statistics against known answers."""
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from genlab.data.preprocess import downsampled_mnist
from genlab.errors import GenlabError
from genlab.experiments.base import get
from genlab.experiments.saddle_points.saddle_free_newton import METHODS, loss_curve
from genlab.losses import squared_loss
from genlab.probes.critical import distinct_critical, escape_step
from genlab.probes.hessian import index
from genlab.runner import execute


def _claims(exp_id, tmp_path):
    exp = get(exp_id)
    run = execute(exp, exp.config_for("quick"), out=tmp_path / exp_id, scale="quick")
    assert run.status["status"] == "complete"
    assert [p.name for p in (run.path / "figures").iterdir()] == [f"{exp_id}.png"]
    return run, {c["id"]: c for c in run.claims}


@pytest.mark.slow
def test_saddle_index_correlates_with_loss(tmp_path):
    run, c = _claims("saddle-index", tmp_path)
    claim = c["saddle-index-correlation"]
    assert claim["verdict"] == "holds" and claim["value"] >= 0.8   # threshold 0.7
    assert int(re.match(r"(\d+) distinct", claim["note"]).group(1)) >= 5
    theta, cfg = run.series("traj0/theta"), get("saddle-index").config_for("quick")
    # only the root search's starts are kept (Every(at=...)): step 0 to the last step, 16-8-10 parameters each
    assert theta.values.shape[1] == 16 * 8 + 8 + 8 * 10 + 10 and 2 <= len(theta.steps) <= cfg.starts_per_trajectory
    assert theta.steps[0] == 0 and theta.steps[-1] == cfg.steps


@pytest.mark.slow
def test_saddle_free_newton_escapes_newton_attracted(tmp_path):
    run, c = _claims("saddle-free-newton", tmp_path)
    assert c["sfn-escapes-faster"]["verdict"] == "holds"
    cfg = get("saddle-free-newton").config_for("quick")
    curves = {m: loss_curve(run, m) for m in METHODS}
    assert all(len(v) == cfg.steps + 1 for v in curves.values())     # the loss after 0..steps updates
    t = {m: escape_step(curves[m], cfg.escape_drop) for m in METHODS}
    assert t["newton"] == -1 and t["saddle-free"] > 0
    assert t["saddle-free"] * 1.5 <= t["gd"]                       # at least 1.5x fewer steps
    assert c["newton-attracted"]["verdict"] == "holds" and c["newton-attracted"]["value"] < 0.5
    assert curves["newton"].min() > curves["newton"][0] - 0.01     # Newton never leaves the plateau


def test_distinct_critical_keeps_one_per_loss_and_index():
    loss = np.array([1.0, 1.0 + 1e-9, 2.0, 2.0, 0.5, 3.0])
    grad = np.array([1e-8, 1e-8, 1e-8, 1e-8, 1e-3, 1e-8])         # the fifth is not critical
    idx = np.array([0.2, 0.2, 0.3, 0.4, 0.0, 0.5])
    assert distinct_critical(loss, grad, idx, 1e-6).tolist() == [0, 2, 3, 5]   # 0 and 1 are one point
    assert distinct_critical(loss, grad, idx, 1e-12).tolist() == []


def test_escape_step_is_the_first_drop_below_start():
    assert escape_step([1.0, 0.99, 0.96, 0.94, 0.5], 0.05) == 3
    assert escape_step([1.0, 0.99, 1.2], 0.05) == -1
    assert escape_step([1.0, 0.95], 0.05) == 1                      # exactly the drop counts


def test_squared_loss_is_half_the_summed_error_per_sample():
    out, y = torch.tensor([[1.0, 2.0], [0.0, 0.0]]), torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    assert float(squared_loss(out, y)) == pytest.approx(0.5 * (5.0 + 9.0) / 2)


def test_downsampled_mnist_is_pooled_standardized_and_centred():
    x, y, labels = downsampled_mnist(50, seed=0)
    assert x.shape == (50, 16) and x.dtype == torch.float64 and y.shape == (50, 10)
    assert torch.allclose(x.mean(0), torch.zeros(16, dtype=torch.float64), atol=1e-9)
    assert torch.equal(y.argmax(1), labels) and torch.allclose(y.sum(1), torch.zeros(50, dtype=torch.float64))
    x32, *_ = downsampled_mnist(50, seed=0, dtype=torch.float32)
    assert x32.dtype == torch.float32 and torch.allclose(x32.double(), x, atol=1e-4)


def test_bad_config_is_one_line():
    with pytest.raises(GenlabError, match=r"hidden=500 is outside \[1, 70\].*exact Hessian") as e:
        get("saddle-index").config_for("quick", overrides=["hidden=500"])
    assert "\n" not in str(e.value)
    with pytest.raises(GenlabError, match="activation=.relu. is not a valid choice; choose one of: identity, tanh"):
        get("saddle-free-newton").config_for("quick", overrides=["activation=relu"])


def test_docs_snippet_runs():
    text = (Path(__file__).parents[1] / "docs" / "information-plane-and-saddles.md").read_text()
    code = [c for c in re.findall(r"```python\n(.*?)```", text, re.S) if "find_critical_point" in c]
    assert len(code) == 1, "docs/information-plane-and-saddles.md: the saddle snippet is missing"
    ns = {}
    exec(compile(code[0], "docs-saddles", "exec"), ns)
    assert ns["grad_norm"] < 1e-10 and 0 < index(ns["lam"]) < 1
    assert 0 < escape_step(ns["res"].history.values("loss"), 0.05) <= 20   # saddle-free Newton leaves the plateau

