"""Runs as pandas tables: ``genlab.load(RUN_DIR)`` and ``genlab.load_runs(DIR)`` (pandas is the extra ``genlab[pandas]``).

Every frame is long form with a ``run`` column (the run folder's name, or its path under DIR for
``load_runs``), so one run and a thousand stack the same way::

    res = genlab.load_runs("sweeps/mem-test-error-quick")
    res.config        one row per run: run, experiment, scale, status, then every config field
    res.metrics       run, step, name, key, value (metrics.csv)
    res.claims        run, scale, id, statement, paper_value, paper_setting, value, n, threshold, verdict, note, ...
                      (claims.json written before a field existed reads it as missing: NaN/None)
    res.series(NAME)  run, step, <its other axes: model, peak, ...>, value; res.series_names lists them
    res.table         one row per run: its config row beside each claim's value and verdict (<id>, <id>:verdict)

The other axes hold indices (0, 1, ...); what an index means (which frequency a peak is) is the probe's,
stored beside the series in the run's arrays (``Run.arrays``).
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from genlab.errors import GenlabError, need
from genlab.runs import Run, find_runs


def _pd():
    return need("pandas", "pandas")


class Results:
    """The tables of one or more runs (see the module docstring)."""

    def __init__(self, runs: dict[str, Run]):
        self.runs = runs

    def __repr__(self) -> str:
        return f"Results({len(self.runs)} runs: {', '.join(list(self.runs)[:5])}{', ...' if len(self.runs) > 5 else ''})"

    @cached_property
    def config(self):
        rows = []
        for name, r in self.runs.items():
            stored = r.config
            rows.append({"run": name, "experiment": stored.get("experiment"), "scale": stored.get("scale"),
                         "status": r.status.get("status"), **stored.get("config", {})})
        return _pd().DataFrame(rows)

    @cached_property
    def metrics(self):
        rows = [(name, *row) for name, r in self.runs.items() for row in r.metrics]
        return _pd().DataFrame(rows, columns=["run", "step", "name", "key", "value"])

    @cached_property
    def claims(self):
        rows = [{"run": name, "scale": r.config.get("scale"), **c} for name, r in self.runs.items() for c in r.claims]
        first = ["run", "scale", "id", "statement", "paper_value", "paper_setting", "value", "n", "threshold", "verdict"]
        return _pd().DataFrame(rows, columns=list(dict.fromkeys([*first, *(k for c in rows for k in c)])))

    @cached_property
    def series_names(self) -> list[str]:
        return sorted({n for r in self.runs.values() for n in r.series_names()})

    def series(self, name: str):
        """One long-form frame of series ``name`` over every run that recorded it: run, step, other axes, value."""
        pd = _pd()
        frames = [_series_frame(pd, run_name, r, name) for run_name, r in self.runs.items() if name in r.series_names()]
        if not frames:
            raise GenlabError(f"series {name!r} is not recorded in these runs; recorded: {', '.join(self.series_names) or 'none'}")
        return pd.concat(frames, ignore_index=True)

    @property
    def table(self):
        """One row per run: the config row, then each claim's measured value and verdict."""
        wide = {name: {k: v for c in r.claims for k, v in ((c["id"], c.get("value")), (f"{c['id']}:verdict", c["verdict"]))}
                for name, r in self.runs.items()}
        claims = _pd().DataFrame([{"run": n, **w} for n, w in wide.items()])
        return self.config.merge(claims, on="run", how="left")


def _series_frame(pd, run_name: str, run: Run, name: str):
    steps, values, axes = run.series(name)
    values = np.asarray(values)
    idx = np.indices(values.shape).reshape(values.ndim, -1)
    cols = {"run": run_name, "step": np.asarray(steps)[idx[0]]}
    cols.update({a: idx[i] for i, a in enumerate(axes[1:], 1)})
    cols["value"] = values.reshape(-1)
    return pd.DataFrame(cols)


def load(folder: Path | str) -> Results:
    """The tables of the run at ``folder``."""
    _pd()
    folder = Path(folder)
    if not Run(folder).exists:
        raise GenlabError(f"{folder} is not a genlab run folder (no config.json); for many runs use genlab.load_runs")
    return Results({folder.name: Run(folder)})


def load_runs(folder: Path | str) -> Results:
    """The tables of every run at or under ``folder`` (an atlas, a sweep, ./runs), stacked with a ``run`` column."""
    _pd()
    folder = Path(folder)
    found = find_runs(folder) if folder.is_dir() else []
    if not found:
        raise GenlabError(f"no genlab runs at or under {folder}; give a run, sweep or atlas folder")
    return Results({(d.relative_to(folder).as_posix() if d != folder else d.name): Run(d) for d in found})
