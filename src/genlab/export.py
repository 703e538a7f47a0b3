"""Runs into the trackers researchers already use: TensorBoard and MLflow (optional extras).

``genlab export RUN_DIR... --to tensorboard|mlflow [--dest D]`` exports finished (or failed) runs;
``--report-to`` on ``run``, ``reproduce`` and ``sweep`` exports each run when the command ends. Both
trackers get the same names:

- every recorded series ``<phase>/<name>`` -> scalars ``series/<phase>/<name>`` against its steps. A series
  with axes besides the step gives one scalar per index, named with its axes
  (``series/fit/spectrum/peak_2``; ``.../model_0/peak_2`` for a stack of models) while there are at most
  :data:`MAX_CHANNELS` of them; a wider one (a whole spectrum, a weight matrix) gives three, ``.../mean``,
  ``.../min`` and ``.../max`` over its other axes (the full array stays in the run, and in ``genlab.load``);
- every metrics.csv row -> scalar ``metrics/<name>`` (``metrics/<name>/<key>`` when it has a key) at its step;
- the config -> hyper-parameters (TensorBoard's HParams tab) / params (MLflow), nested keys joined by ".";
- each claim -> scalar ``claims/<id>`` (its measured value, when a finite number) and its verdict, threshold
  and statement as text ``claims/<id>`` (TensorBoard) / tags ``claim.<id>.verdict`` etc. (MLflow);
- figures -> images ``figures/<name>`` / artifacts under ``figures/``;
- the status -> text ``run/status`` / the MLflow run's status (FINISHED, FAILED, KILLED) and tag ``genlab.status``.

Characters a tracker refuses in a name become ``_``. TensorBoard stores scalars as float32. Exporting a run
again replaces its earlier export (TensorBoard: its event files in ``DEST/<run name>``; MLflow: the run tagged
with the same run folder). Destinations: TensorBoard a log folder (default ``./tensorboard``, one subfolder per
run: ``tensorboard --logdir tensorboard``); MLflow a tracking URI, or a folder for a local file store (default
``$MLFLOW_TRACKING_URI``, else ``./mlruns``), one MLflow experiment per genlab experiment.
"""
from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from genlab.errors import GenlabError, need
from genlab.runs import Run, find_runs

TRACKERS = ("none", "tensorboard", "mlflow")
MAX_CHANNELS = 64  # scalars per series and step before a series is summarized by mean, min and max
_MLFLOW_STATUS = {"complete": "FINISHED", "interrupted": "KILLED", "running": "RUNNING"}


def _name(text: str) -> str:
    return re.sub(r"[^\w./ :-]", "_", text)


def scalars(run: Run) -> Iterator[tuple[str, int, float]]:
    """(tag, step, value) of every series (one per index, or mean/min/max) and every metrics.csv row."""
    for name in run.series_names():
        steps, raw, axes = run.series(name)
        shape = raw.shape[1:]
        values = np.asarray(raw, dtype=float).reshape(len(steps), -1)
        if values.shape[1] == 1 and not shape:
            channels = [(f"series/{name}", values[:, 0])]
        elif values.shape[1] <= MAX_CHANNELS:
            idx = np.indices(shape).reshape(len(shape), -1).T
            channels = [(f"series/{name}/" + "/".join(f"{a}_{i}" for a, i in zip(axes[1:], ix)), values[:, j])
                        for j, ix in enumerate(idx)]
        else:
            channels = [(f"series/{name}/{f}", getattr(np, f"nan{f}")(values, axis=1)) for f in ("mean", "min", "max")]
        for tag, col in channels:
            yield from ((_name(tag), int(s), float(v)) for s, v in zip(steps, col))
    for step, name, key, value in run.metrics:
        yield _name(f"metrics/{name}/{key}" if key else f"metrics/{name}"), step, value


def params(run: Run) -> dict[str, str | float | int | bool]:
    """The config flattened (nested keys joined by "."), with experiment and scale; lists and tuples as text."""
    stored = run.config
    out: dict[str, str | float | int | bool] = {"experiment": stored.get("experiment", "?"), "scale": stored.get("scale", "?")}

    def walk(prefix: str, d: dict) -> None:
        for k, v in d.items():
            if isinstance(v, dict):
                walk(f"{prefix}{k}.", v)
            else:
                out[_name(prefix + str(k))] = v if isinstance(v, (int, float, str, bool)) else str(v)
    walk("", stored.get("config", {}))
    return out


def claim_values(run: Run) -> dict[str, float]:
    """``claims/<id>``: each claim's measured value, where it is a finite number."""
    return {_name(f"claims/{c['id']}"): float(c["value"]) for c in run.claims
            if isinstance(c.get("value"), (int, float)) and not isinstance(c["value"], bool) and math.isfinite(c["value"])}


def check_trackers(trackers: Sequence[str]) -> list[str]:
    """The trackers asked for (``none`` dropped), each importable: a missing one fails here, before any run."""
    asked = [t for t in dict.fromkeys(trackers) if t != "none"]
    for t in asked:
        if t not in TRACKERS:
            raise GenlabError(f"unknown tracker {t!r}; choose one of: {', '.join(TRACKERS)}")
        need("torch.utils.tensorboard" if t == "tensorboard" else "mlflow", t)
    return asked


def export(folders: Sequence[Path | str], to: str, dest: Path | str | None = None) -> list[str]:
    """Export the runs at (or under: an atlas, a sweep) ``folders`` to tracker ``to``; where each went."""
    check_trackers([to])
    runs = [Path(r) for f in folders for r in _runs_at(Path(f))]
    names: dict[str, int] = {}
    where = []
    for folder in runs:
        base = _name(folder.name)
        names[base] = names.get(base, 0) + 1  # two runs of the same name in one call get -2, -3, ...
        name = base if names[base] == 1 else f"{base}-{names[base]}"
        fn = _tensorboard if to == "tensorboard" else _mlflow
        where.append(fn(Run(folder), name, dest))
    return where


def report_runs(trackers: Sequence[str], folders: Sequence[Path | str]) -> None:
    """``--report-to``: export ``folders`` that hold a run to each tracker, at its default destination."""
    present = [f for f in folders if Run(f).exists]
    for t in check_trackers(trackers):
        for w in export(present, t) if present else []:
            print(f"genlab: exported to {t}: {w}")


def add_output_arguments(p) -> None:
    """``--report-to`` and ``--keep-checkpoints``: what ``run``, ``reproduce`` and ``sweep`` leave behind, and where."""
    p.add_argument("--report-to", action="append", choices=TRACKERS, default=None, metavar="TRACKER",
                   help="also export each run to this tracker when it ends: none, tensorboard (./tensorboard) or mlflow "
                        "($MLFLOW_TRACKING_URI or ./mlruns); repeatable")
    p.add_argument("--keep-checkpoints", action="store_true",
                   help="keep a complete run's checkpoints/ (by default dropped: a complete run needs none)")


def _runs_at(folder: Path) -> list[Path]:
    if not folder.exists():
        raise GenlabError(f"{folder} does not exist; give a run folder (or an atlas or sweep folder)")
    found = find_runs(folder)
    if not found:
        raise GenlabError(f"{folder} holds no genlab run (no config.json); give a folder made by genlab run")
    return found


def _tensorboard(run: Run, name: str, dest: Path | str | None) -> str:
    need("torch.utils.tensorboard", "tensorboard")
    from PIL import Image
    from torch.utils.tensorboard import SummaryWriter
    from torch.utils.tensorboard.summary import hparams
    logdir = Path(dest or "tensorboard") / name
    for old in logdir.glob("events.out.tfevents.*"):  # exporting again replaces the earlier export
        old.unlink()
    with SummaryWriter(log_dir=str(logdir)) as w:
        for tag, step, value in scalars(run):
            w.add_scalar(tag, value, step)
        values = claim_values(run)
        for tag, value in values.items():
            w.add_scalar(tag, value, 0)
        for c in run.claims:
            w.add_text(_name(f"claims/{c['id']}"), f"**{c['verdict']}**: measured {c.get('value')} "
                       f"(threshold {c.get('threshold')}). {c.get('statement', '')}", 0)
        st = run.status
        w.add_text("run/status", f"{st.get('status')}: {st.get('reason', '')}", 0)
        for f in run.figure_files():
            with Image.open(f) as im:
                w.add_image(_name(f"figures/{f.stem}"), np.asarray(im.convert("RGB")), 0, dataformats="HWC")
        for s in hparams(params(run), values):  # the HParams tab: config beside the claims' values
            w.file_writer.add_summary(s)
    return str(logdir)


def _mlflow(run: Run, name: str, dest: Path | str | None) -> str:
    need("mlflow", "mlflow")
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient
    uri = str(dest or os.environ.get("MLFLOW_TRACKING_URI") or "mlruns")
    if "://" not in uri and not uri.startswith(("sqlite:", "databricks")):
        # A folder: MLflow's local file store, which MLflow 3 keeps (in maintenance) behind this switch.
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        uri = Path(uri).resolve().as_uri()
    client = MlflowClient(tracking_uri=uri)
    stored = run.config
    exp_name = f"genlab/{stored.get('experiment', '?')}"
    exp = client.get_experiment_by_name(exp_name)
    exp_id = exp.experiment_id if exp else client.create_experiment(exp_name)
    path = str(run.path.resolve())
    for old in client.search_runs([exp_id], filter_string=f"tags.`genlab.folder` = '{path}'"):
        client.delete_run(old.info.run_id)  # exporting again replaces the earlier export
    st = run.status
    tags = {"genlab.folder": path, "genlab.status": str(st.get("status")), "genlab.reason": str(st.get("reason", ""))[:5000]}
    for c in run.claims:
        tags.update({f"claim.{_name(c['id'])}.{k}": str(c.get(k))[:5000] for k in ("verdict", "threshold", "statement")})
    mrun = client.create_run(exp_id, run_name=name)
    rid = mrun.info.run_id
    now = int(time.time() * 1000)
    metrics = [Metric(t, v, now, s) for t, s, v in scalars(run)] + [Metric(t, v, now, 0) for t, v in claim_values(run).items()]
    ps = [Param(k, str(v)[:6000]) for k, v in params(run).items()]
    ts = [RunTag(k, v) for k, v in tags.items()]
    for i in range(0, len(ps), 100):  # the tracking API's batch limits: 100 params, 100 tags, 1000 metrics
        client.log_batch(rid, params=ps[i:i + 100])
    for i in range(0, len(ts), 100):
        client.log_batch(rid, tags=ts[i:i + 100])
    for i in range(0, len(metrics), 1000):
        client.log_batch(rid, metrics=metrics[i:i + 1000])
    for f in run.figure_files():
        client.log_artifact(rid, str(f), "figures")
    status = _MLFLOW_STATUS.get(str(st.get("status")), "FAILED")
    if status != "RUNNING":
        client.set_terminated(rid, status)
    return f"{uri} (experiment {exp_name}, run {name}, id {rid})"
