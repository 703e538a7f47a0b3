"""genlab.load / load_runs and genlab runs --format: the frames hold exactly what the run store holds."""
import csv
import io
import json
import sys

import numpy as np
import pytest

import genlab
from genlab.cli import main
from genlab.errors import GenlabError
from genlab.runs import Run

pd = pytest.importorskip("pandas")


def make_run(folder, seed, verdict="holds"):
    """A run written through the run store: a stacked series with named axes, metrics with and without keys."""
    run = Run(folder)
    run.begin("fp-1d", "quick", {"seed": seed, "lr": 0.1 * (seed + 1), "widths": [1, 8, 1]})
    rng = np.random.default_rng(seed)
    run.record("train/spectrum", [0, 10, 20, 30], rng.normal(size=(4, 2, 3)), axes=("peak",))   # a stack: "model"
    run.record("train/loss", [0, 10, 20, 30], rng.normal(size=4))
    run.log("final_loss", 0.5 + seed, step=30)
    run.log("err", 0.25, step=30, key="peak 1")
    run.flush()
    run.save_claims([{"id": "c1", "statement": "s", "value": float(seed), "threshold": "> 0", "verdict": verdict}])
    run.set_status("complete")
    return run


def test_load_frames_equal_the_stored_run(tmp_path):
    run = make_run(tmp_path / "a", 1)
    res = genlab.load(tmp_path / "a")
    assert res.config.to_dict("records") == [{"run": "a", "experiment": "fp-1d", "scale": "quick", "status": "complete",
                                              "seed": 1, "lr": 0.2, "widths": [1, 8, 1]}]
    assert [tuple(r) for r in res.metrics.itertuples(index=False)] == [("a", *row) for row in run.metrics]
    assert res.claims.loc[0, "verdict"] == "holds" and res.claims.loc[0, "value"] == 1.0
    assert res.series_names == ["train/loss", "train/spectrum"]
    s = res.series("train/spectrum")
    assert list(s.columns) == ["run", "step", "model", "peak", "value"] and len(s) == 4 * 2 * 3
    steps, values, _ = run.series("train/spectrum")
    for t in range(4):                                  # every stored value, found by its named axes
        for m in range(2):
            for p in range(3):
                row = s[(s.step == steps[t]) & (s.model == m) & (s.peak == p)]
                assert row.value.tolist() == [values[t, m, p]]
    loss = res.series("train/loss")
    assert list(loss.columns) == ["run", "step", "value"] and loss.value.tolist() == run.series("train/loss").values.tolist()
    with pytest.raises(GenlabError, match="not recorded"):
        res.series("train/nope")


def test_load_runs_stacks_a_sweep_with_a_run_column(tmp_path):
    for i in range(3):
        make_run(tmp_path / f"seed={i}", i, "holds" if i else "fails")
    res = genlab.load_runs(tmp_path)
    assert sorted(res.config.run) == ["seed=0", "seed=1", "seed=2"]
    s = res.series("train/spectrum")
    assert len(s) == 3 * 24 and s.groupby("run").size().tolist() == [24, 24, 24]
    for i in range(3):
        assert s[s.run == f"seed={i}"].value.tolist() == Run(tmp_path / f"seed={i}").series("train/spectrum").values.reshape(-1).tolist()
    t = res.table.set_index("run")
    assert t.loc["seed=2", "c1"] == 2.0 and t.loc["seed=0", "c1:verdict"] == "fails" and t.loc["seed=1", "lr"] == 0.2
    m = res.metrics
    assert m[(m.name == "err") & (m.key == "peak 1")].run.tolist() == ["seed=0", "seed=1", "seed=2"]


def test_runs_format_csv_and_json(tmp_path, capsys):
    make_run(tmp_path / "x" / "a", 0, "fails")
    make_run(tmp_path / "x" / "b", 1)
    assert main(["runs", str(tmp_path), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["experiment"], r["seed"], r["status"], r["holds"], r["fails"]) for r in rows] == \
        [("fp-1d", "0", "complete", "0", "1"), ("fp-1d", "1", "complete", "1", "0")]
    assert main(["runs", str(tmp_path), "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert [g["claims"] for g in got] == [Run(tmp_path / "x" / d).claims for d in ("a", "b")]


def test_bad_folder_and_missing_pandas_are_one_line_errors(tmp_path, monkeypatch):
    with pytest.raises(GenlabError, match="not a genlab run folder"):
        genlab.load(tmp_path)
    with pytest.raises(GenlabError, match="no genlab runs"):
        genlab.load_runs(tmp_path)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(GenlabError, match=r"pip install 'genlab\[pandas\]'"):
        genlab.load(tmp_path)
