"""genlab export / --report-to: what the trackers' own readers find equals what the run stored.

The oracle is the run folder read through the run store (Run.series, Run.metrics, claims.json, the PNGs),
indexed here by hand, never genlab.export's own flattening.
"""
import json
import sys

import numpy as np
import pytest

from genlab.cli import main
from genlab.errors import GenlabError
from genlab.export import MAX_CHANNELS, export
from genlab.runs import Run

SMALL = ["steps=120", "n_seeds=2", "widths=1,32,1", "probe_every=10"]


@pytest.fixture(scope="module")
def fp_run(tmp_path_factory):
    """A real fp-1d run (a few seconds), exported to TensorBoard by --report-to as it ends."""
    root = tmp_path_factory.mktemp("export")
    folder = root / "fp"
    import os
    old = os.getcwd()
    os.chdir(root)  # --report-to writes to the default destination, ./tensorboard
    try:
        assert main(["run", "fp-1d", "--scale", "quick", *SMALL, "--out", str(folder), "--quiet",
                     "--report-to", "tensorboard"]) == 0
    finally:
        os.chdir(old)
    return Run(folder), root


def accumulator(logdir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    ea = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    ea.Reload()
    return ea


def test_report_to_tensorboard_holds_the_series_metrics_claims_config_figure_and_status(fp_run):
    pytest.importorskip("tensorboard")
    run, root = fp_run
    assert not (run.path / "checkpoints").exists()          # a complete run drops them by default
    ea = accumulator(root / "tensorboard" / "fp")
    steps, values, axes = run.series("train/spectrum")
    assert axes == ("step", "model", "peak") and values.shape[1:] == (2, 3)
    for m in range(2):
        for p in range(3):
            ev = ea.Scalars(f"series/train/spectrum/model_{m}/peak_{p}")
            assert [e.step for e in ev] == steps.tolist()
            np.testing.assert_allclose([e.value for e in ev], values[:, m, p], rtol=1e-6)   # float32 in TensorBoard
    for step, name, key, value in run.metrics:
        ev = ea.Scalars(f"metrics/{name}/{key}" if key else f"metrics/{name}")
        assert [(e.step, pytest.approx(e.value, rel=1e-6)) for e in ev if e.step == step] == [(step, value)]
    for c in run.claims:
        if c["value"] is None:
            assert f"claims/{c['id']}" not in ea.Tags()["scalars"]
        else:
            assert ea.Scalars(f"claims/{c['id']}")[0].value == pytest.approx(c["value"], rel=1e-6)
        text = ea.Tensors(f"claims/{c['id']}/text_summary")[0].tensor_proto.string_val[0].decode()
        assert text.startswith(f"**{c['verdict']}**")
    status = ea.Tensors("run/status/text_summary")[0].tensor_proto.string_val[0].decode()
    assert status.startswith("complete")
    from PIL import Image
    (png,) = run.figure_files()
    img = ea.Images(f"figures/{png.stem}")[0]
    with Image.open(png) as im:
        assert (img.width, img.height) == im.size
    from tensorboard.plugins.hparams import plugin_data_pb2
    content = ea.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    hp = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.hparams
    cfg = run.config["config"]
    assert hp["lr"].number_value == pytest.approx(cfg["lr"]) and hp["steps"].number_value == cfg["steps"]
    assert hp["activation"].string_value == cfg["activation"] and hp["widths"].string_value == str(cfg["widths"])


def test_mlflow_export_read_back_with_an_mlflow_client(fp_run, tmp_path):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient
    run, _ = fp_run
    store = tmp_path / "mlruns"
    (where,) = export([run.path], "mlflow", store)
    client = MlflowClient(tracking_uri=store.as_uri())
    exp = client.get_experiment_by_name("genlab/fp-1d")
    (mr,) = client.search_runs([exp.experiment_id])
    rid = mr.info.run_id
    assert rid in where and mr.info.status == "FINISHED" and mr.data.tags["genlab.status"] == "complete"
    steps, values, _ = run.series("train/spectrum")
    hist = client.get_metric_history(rid, "series/train/spectrum/model_1/peak_2")
    assert [h.step for h in hist] == steps.tolist()
    assert [h.value for h in hist] == values[:, 1, 2].astype(float).tolist()      # exact: MLflow keeps float64
    for step, name, key, value in run.metrics:
        h = client.get_metric_history(rid, f"metrics/{name}/{key}" if key else f"metrics/{name}")
        assert [(x.step, x.value) for x in h] == [(step, value)]
    for c in run.claims:
        assert mr.data.metrics.get(f"claims/{c['id']}") == c["value"]
        assert mr.data.tags[f"claim.{c['id']}.verdict"] == c["verdict"]
    cfg = run.config["config"]
    assert mr.data.params["lr"] == str(cfg["lr"]) and mr.data.params["widths"] == str(cfg["widths"])
    assert [f.path for f in client.list_artifacts(rid, "figures")] == [f"figures/{p.name}" for p in run.figure_files()]
    export([run.path], "mlflow", store)                  # again: replaces the earlier export, does not add to it
    assert len(client.search_runs([exp.experiment_id])) == 1


def fake_run(folder, status="failed", width=MAX_CHANNELS + 1):
    """A run folder written through the run store by hand: a wide series, a metric with a key, a failed status."""
    run = Run(folder)
    run.begin("fp-1d", "quick", {"seed": 0, "lr": 0.5, "nested": {"a": 1}})
    rng = np.random.default_rng(0)
    run.record("fit/wide", [0, 5, 10], rng.normal(size=(3, width)), axes=("freq",))
    run.record("fit/loss", [0, 5, 10], [3.0, 2.0, 1.0])
    run.log("acc", 0.25, step=7, key="test set")
    run.flush()
    run.set_status(status, "ValueError: boom")
    return run


def test_a_wide_series_goes_in_as_mean_min_max_and_a_failed_run_says_so(tmp_path):
    pytest.importorskip("tensorboard")
    run = fake_run(tmp_path / "r")
    export([tmp_path / "r"], "tensorboard", tmp_path / "tb")
    ea = accumulator(tmp_path / "tb" / "r")
    _, values, _ = run.series("fit/wide")
    for f in ("mean", "min", "max"):
        np.testing.assert_allclose([e.value for e in ea.Scalars(f"series/fit/wide/{f}")], getattr(values, f)(axis=1), rtol=1e-6)
    assert not [t for t in ea.Tags()["scalars"] if "freq_" in t]
    assert [e.value for e in ea.Scalars("series/fit/loss")] == [3.0, 2.0, 1.0]
    assert ea.Scalars("metrics/acc/test set")[0].step == 7
    assert ea.Tensors("run/status/text_summary")[0].tensor_proto.string_val[0].decode() == "failed: ValueError: boom"


def test_mlflow_marks_a_failed_run_failed_with_nested_params(tmp_path):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient
    fake_run(tmp_path / "r", width=4)
    export([tmp_path], "mlflow", tmp_path / "ml")                        # a folder above the run finds it
    client = MlflowClient(tracking_uri=(tmp_path / "ml").as_uri())
    (mr,) = client.search_runs([client.get_experiment_by_name("genlab/fp-1d").experiment_id])
    assert mr.info.status == "FAILED" and mr.data.tags["genlab.reason"] == "ValueError: boom"
    assert mr.data.params["nested.a"] == "1" and mr.data.metrics["series/fit/wide/freq_3"] == pytest.approx(0, abs=5)


def test_missing_tracker_or_folder_is_one_line_exit_2_and_nothing_written(tmp_path, monkeypatch, capsys):
    fake_run(tmp_path / "r")
    monkeypatch.setitem(sys.modules, "mlflow", None)                     # as if not installed
    assert main(["export", str(tmp_path / "r"), "--to", "mlflow", "--dest", str(tmp_path / "ml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "pip install 'genlab[mlflow]'" in err and not (tmp_path / "ml").exists()
    assert main(["run", "fp-1d", "--out", str(tmp_path / "new"), "--report-to", "mlflow"]) == 2  # before training
    assert "genlab[mlflow]" in capsys.readouterr().err and not (tmp_path / "new").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(GenlabError, match="holds no genlab run"):
        export([tmp_path / "empty"], "tensorboard", tmp_path / "tb")
    with pytest.raises(SystemExit):
        main(["export", str(tmp_path / "r"), "--to", "wandb"])


def test_keep_checkpoints_and_report_redraws_a_run_without_them(fp_run, tmp_path, capsys):
    run, _ = fp_run
    before = json.loads((run.path / "claims.json").read_text())
    assert main(["report", str(run.path)]) == 0                          # no checkpoints: figures and claims again
    assert json.loads((run.path / "claims.json").read_text()) == before and run.figure_files()
    kept = tmp_path / "kept"
    assert main(["run", "fp-1d", "--scale", "quick", *SMALL, "--out", str(kept), "--quiet", "--keep-checkpoints"]) == 0
    assert (kept / "checkpoints" / "train.pt").is_file()
    assert json.loads((kept / "claims.json").read_text()) == before     # same config and seed, same claims
