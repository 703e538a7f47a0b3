"""The run store: one folder per run, atomic writes, resume.

A run folder holds::

    config.json   the full config (with its class name), written first
    env.json      versions, device, threads, seed, git revision
    status.json   running | complete | diverged | failed | interrupted, with a reason
    metrics.csv   tidy rows: step, name, key, value
    arrays.npz    named numpy arrays (snapshots, histories)
    checkpoints/  one file per training phase, to resume a killed run
    claims.json   the verdicts, written after the figures
    figures/      PNG figures, pure functions of the stored results
    .lock         while a process writes the folder (:mod:`genlab.runs.lock`)

:mod:`genlab.runs.folders` knows the folders that hold many runs (atlas, sweep);
:mod:`genlab.runs.check` what each file must be (a damaged one is one line naming it and its fix).

Every file is written to a temporary name in the same folder and renamed into
place, so a kill at any moment leaves either the old file, or the new one,
never half of one. ``status.json`` turns ``complete`` only after every result
file is in place.
"""
from __future__ import annotations

import contextlib
import csv
import io
import pickle
import time
import zipfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from genlab.errors import GenlabError
from genlab.io import atomic_write_bytes, atomic_write_json, atomic_write_text, rmdirs
from genlab.runs.check import DamagedRunError, check_claims, check_config, check_run, check_status, load_checkpoint_file
from genlab.runs.series import Series, load_series, series_names, store_series

# The files a run writes (besides figures/ and checkpoints/): what discarding a fresh run deletes.
_FILES = ("config.json", "env.json", "status.json", "metrics.csv", "arrays.npz", "claims.json")
# The layout written by this version. 1: before series were recorded by the loop (arrays under experiments' own keys).
LAYOUT = 2


class Run:
    """A run folder. Experiments write through it; figures and claims read from it."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._metrics: list[tuple[int, str, str, float]] | None = None
        self._index: dict[tuple[int, str, str], int] = {}
        self._indexed = 0  # rows covered by _index
        self._arrays: dict[str, np.ndarray] | None = None

    def remove_temp_files(self) -> list[Path]:
        """Delete temporaries a killed writer left behind (``.<name>.*.tmp``); resume calls this."""
        gone = []
        for p in self.path.rglob(".*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
                gone.append(p)
        return gone

    def discard(self, created: Sequence[Path] = ()) -> None:
        """Delete what a fresh run wrote into this folder, then the folders in ``created`` (made for it) if empty."""
        for name in _FILES:
            (self.path / name).unlink(missing_ok=True)
        for f in self.figure_files():
            f.unlink()
        rmdirs([self.path / "figures", *created])

    # ---- metadata -------------------------------------------------------
    @property
    def exists(self) -> bool:
        """Whether this folder holds a run (its config.json is written first)."""
        return (self.path / "config.json").is_file()

    @property
    def config(self) -> dict:
        """config.json: experiment, scale, layout and the config (DamagedRunError if it is not that)."""
        if not self.exists:
            raise GenlabError(f"{self.path / 'config.json'} does not exist; is {self.path} a genlab run folder?")
        return check_config(self.path)

    @property
    def status(self) -> dict:
        """status.json; a damaged one reads as status "damaged" with the error as its reason."""
        try:
            return check_status(self.path)
        except DamagedRunError as e:
            return {"status": "damaged", "reason": str(e)}

    @property
    def is_complete(self) -> bool:
        return self.status.get("status") == "complete"

    def resume_state(self, experiment: str, config: dict | None = None) -> tuple[str, dict | None]:
        """The one place resume is decided: ``("fresh", None)`` when no run is here, else ``("complete" | "resume",
        the stored config.json)``; ``config`` None takes the stored run as it is. Another run here is refused."""
        if not self.exists:
            return "fresh", None
        stored = self.config
        if stored.get("experiment") != experiment:
            raise GenlabError(f"{self.path} holds a run of {stored.get('experiment')}, not {experiment}; choose another --out")
        if config is not None and stored.get("config") != config:
            raise GenlabError(f"{self.path} holds a run of {experiment} with another config; "
                              "choose a new --out folder (or the same overrides to resume)")
        return ("complete" if self.is_complete else "resume"), stored

    def begin(self, experiment: str, scale: str, config: dict) -> str:
        """Start or resume the run here, marked running; returns :meth:`resume_state`'s verdict ("complete": untouched)."""
        state, _ = self.resume_state(experiment, config)
        if state != "fresh":  # every file this run will read is whole, before anything is written
            check_run(self.path, checkpoints=state == "resume", claims=state == "complete")
        if state == "resume":
            self.remove_temp_files()  # a kill mid-write leaves one; the renamed files are whole
        elif state == "fresh":
            self.write_json("config.json", {"experiment": experiment, "scale": scale, "layout": LAYOUT, "config": config})
        if state != "complete":
            self.write_json("env.json", environment(config.get("seed")))
            self.set_status("running")
        return state

    def set_status(self, status: str, reason: str = "", **extra) -> None:
        atomic_write_json(self.path / "status.json",
                          {"status": status, "reason": reason, "time": time.strftime("%Y-%m-%dT%H:%M:%S"), **extra})


    def write_json(self, name: str, obj: Any) -> None:
        atomic_write_json(self.path / name, obj)

    # ---- metrics: tidy rows --------------------------------------------
    @property
    def metrics(self) -> list[tuple[int, str, str, float]]:
        if self._metrics is None:
            rows: list[tuple[int, str, str, float]] = []
            p = self.path / "metrics.csv"
            if p.exists():
                try:
                    with open(p, newline="") as f:
                        for row in csv.DictReader(f):
                            rows.append((int(row["step"]), row["name"], row["key"], float(row["value"])))
                except (KeyError, TypeError, ValueError, UnicodeDecodeError, csv.Error):
                    check_run(self.path)  # names the file and the fix
                    raise
            self._metrics = rows
        return self._metrics

    def log(self, name: str, value: float, step: int = 0, key: str = "") -> None:
        """Record one metric row (kept in memory until :meth:`flush`).

        (step, name, key) identifies a row: logging it again replaces the value,
        so a resumed run that re-logs what it logged before the kill ends with
        the same rows as an uninterrupted one.
        """
        rows = self.metrics
        if self._indexed != len(rows):  # rows loaded from disk or appended directly
            self._index = {r[:3]: i for i, r in enumerate(rows)}
        row = (int(step), str(name), str(key), float(value))
        i = self._index.get(row[:3])
        if i is None:
            self._index[row[:3]] = len(rows)
            rows.append(row)
        else:
            rows[i] = row
        self._indexed = len(rows)

    def metric(self, name: str, key: str = "") -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) of one metric series."""
        rows = [(s, v) for s, n, k, v in self.metrics if n == name and k == key]
        if not rows:
            return np.zeros(0, int), np.zeros(0)
        s, v = zip(*rows)
        return np.asarray(s), np.asarray(v)

    def scalar(self, name: str, key: str = "") -> float:
        s, v = self.metric(name, key)
        if len(v) == 0:
            raise KeyError(f"metric {name}/{key} not recorded in {self.path}")
        return float(v[-1])

    # ---- arrays --------------------------------------------------------
    @property
    def arrays(self) -> dict[str, np.ndarray]:
        if self._arrays is None:
            p = self.path / "arrays.npz"
            arrays: dict[str, np.ndarray] = {}
            if p.exists():
                try:
                    with open(p, "rb") as f, np.load(f, allow_pickle=False) as z:  # closed on any error too
                        arrays = {k: z[k] for k in z.files}
                except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
                    check_run(self.path)  # names the file and the fix
                    raise
            self._arrays = arrays
        return self._arrays

    def save_array(self, name: str, value) -> None:
        self.arrays[name] = np.asarray(value)

    def save_arrays(self, **values) -> None:
        for k, v in values.items():
            self.save_array(k, v)

    # ---- series: what probes recorded over training (stored in arrays.npz; see runs/series.py) ----
    def record(self, name: str, steps, values, axes: tuple[str, ...] = ()) -> None:
        """Store a series: ``values[i]`` was measured at ``steps[i]``; ``axes`` name the trailing axes of
        one measurement (an extra leading axis, from a stacked model, is named "model"). The training loop
        calls this for every series in its history (``<phase>/<name>``); read them back with :meth:`series`."""
        store_series(self.arrays, name, steps, values, axes)

    def series(self, name: str) -> Series:
        """A recorded series: ``(steps, values, axes)``, with ``axes[0] == "step"``."""
        return load_series(self.arrays, name, self.path)

    def series_names(self) -> list[str]:
        return series_names(self.arrays)

    def flush(self) -> None:
        """Write metrics and arrays atomically."""
        if self._metrics is not None:
            text = io.StringIO()
            w = csv.writer(text, lineterminator="\n")
            w.writerow(["step", "name", "key", "value"])
            w.writerows((s, n, k, repr(v)) for s, n, k, v in self._metrics)
            atomic_write_text(self.path / "metrics.csv", text.getvalue())
        if self._arrays is not None:
            data = io.BytesIO()
            # numpy's stub: mypy matches **dict[str, ndarray] against the keyword allow_pickle: bool too.
            np.savez_compressed(data, **self._arrays)  # type: ignore[arg-type]
            atomic_write_bytes(self.path / "arrays.npz", data.getvalue())

    # ---- checkpoints ---------------------------------------------------
    def checkpoint_path(self, phase: str) -> Path:
        return self.path / "checkpoints" / f"{phase}.pt"

    def save_checkpoint(self, phase: str, state: dict) -> None:
        import torch
        buf = io.BytesIO()
        torch.save(state, buf, pickle_protocol=pickle.HIGHEST_PROTOCOL)
        atomic_write_bytes(self.checkpoint_path(phase), buf.getvalue())

    def load_checkpoint(self, phase: str) -> dict | None:
        p = self.checkpoint_path(phase)
        return load_checkpoint_file(p) if p.exists() else None

    @property
    def has_checkpoints(self) -> bool:
        return (self.path / "checkpoints").exists()

    def drop_checkpoints(self) -> int:
        """Delete checkpoints/ (a complete run needs none: figures and claims read the results); bytes freed."""
        files = [p for p in (self.path / "checkpoints").glob("*") if p.is_file()]
        freed = sum(p.stat().st_size for p in files)
        for p in files:
            p.unlink()
        rmdirs([self.path / "checkpoints"])
        return freed

    # ---- figures -------------------------------------------------------
    @property
    def figures_dir(self) -> Path:
        d = self.path / "figures"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def figure_files(self) -> list[Path]:
        """The run's figures (PNG), sorted by name; none if it has drawn none."""
        d = self.path / "figures"
        return sorted(d.glob("*.png")) if d.is_dir() else []

    def save_figure(self, fig, name: str) -> Path:
        """Save a matplotlib figure atomically as figures/<name>.png and close it."""
        from genlab.plot import save_figure
        return save_figure(fig, self.figures_dir / f"{name}.png")

    def save_claims(self, claims: list[dict]) -> None:
        self.write_json("claims.json", claims)

    @property
    def claims(self) -> list[dict]:
        """claims.json ([] before the run completes; DamagedRunError if it is not a list of claims)."""
        return check_claims(self.path)


from genlab.runs.folders import atlas_run, atlas_runs, check_out_folder, environment, find_runs, summary, sweep_file  # noqa: E402

__all__ = ["LAYOUT", "DamagedRunError", "Run", "Series", "atlas_run", "atlas_runs", "check_out_folder", "environment",
           "find_runs", "summary", "sweep_file"]
