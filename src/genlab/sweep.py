"""``genlab sweep EXPERIMENT key=v1,v2 ...``: a grid of runs, one folder each, in local worker processes.

Each grid point (the cartesian product of the listed values) is an ordinary run
folder made by :func:`genlab.runner.run_task`, the worker ``genlab reproduce`` uses too, so a sweep resumes after an
interruption by skipping complete runs and resuming unfinished ones. Values are
separated by commas; for a tuple-valued key each comma-separated value is one
grid point (``levels=0,0.5,1`` gives three runs with ``levels=(0,)``, ``(0.5,)``,
``(1,)``), and ``|`` separates grid points that hold several values
(``levels=0,1|0,0.5,1``). The aggregate is ``sweep.csv`` and ``sweep.md``
(every run's swept values, claims' measured values and verdicts, scalar metrics)
and ``sweep.png``.

Work is handed to a :class:`~genlab.parallel.Backend`: :class:`~genlab.parallel.LocalBackend`
(local worker processes) or :class:`~genlab.parallel.RayBackend`.
"""
from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import re
import sys
import time
import typing
from dataclasses import fields
from pathlib import Path
from typing import Any, get_origin

from genlab.errors import GenlabError
from genlab.export import add_output_arguments
from genlab.io import atomic_write_text, check_writable, path_arg
from genlab.parallel import Backend, LocalBackend, RayBackend, add_backend_arguments, make_backend
from genlab.runs import Run, check_out_folder, sweep_file
from genlab.runtime import add_device_argument, resolve_device

__all__ = ["Backend", "LocalBackend", "RayBackend", "aggregate", "parse_grid", "point_name", "sweep"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment")
    p.add_argument("--scale", choices=["quick", "default", "paper"], default="quick")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: every core)")
    add_backend_arguments(p)
    p.add_argument("--out", type=path_arg, default=None, help="sweep folder (default: ./sweeps/<experiment>-<scale>); rerun to resume")
    p.add_argument("--quiet", action="store_true")
    add_device_argument(p)
    add_output_arguments(p)
    p.add_argument("grid", nargs="+", metavar="key=v1,v2", help="values to sweep (a single value fixes a key)")


def parse_grid(exp, grid: list[str], scale: str = "quick") -> list[dict[str, str]]:
    """Grid points as dicts of override strings, validated against the config before anything runs."""
    hints = typing.get_type_hints(exp.config)
    names = [f.name for f in fields(exp.config)]
    axes: list[tuple[str, list[str]]] = []
    for item in grid:
        if "=" not in item:
            raise GenlabError(f"grid entry '{item}' is not of the form key=v1,v2 (for example seed=0,1,2)")
        key, raw = (s.strip() for s in item.split("=", 1))
        if key not in names:
            raise GenlabError(f"unknown config key '{key}' for {exp.id}; valid keys: {', '.join(names)}")
        if key in dict(axes):
            raise GenlabError(f"grid key '{key}' is given twice ({key}={','.join(dict(axes)[key])} and {item}); "
                              f"give all its values in one entry, {key}=v1,v2,...")
        if "|" in raw or (get_origin(hints[key]) is not tuple):
            vals = [v.strip() for v in raw.split("|" if "|" in raw else ",")]
        else:
            vals = [v.strip() for v in raw.split(",")]
        vals = [v for v in vals if v != ""]
        if not vals:
            raise GenlabError(f"grid entry '{item}' has no values")
        axes.append((key, vals))
    points = [dict(zip([k for k, _ in axes], combo)) for combo in itertools.product(*[v for _, v in axes])]
    seen: dict[str, dict[str, str]] = {}
    folders: dict[str, dict[str, str]] = {}
    from genlab.runner import check_inputs
    for pt in points:  # bad values fail here, in one line, before any worker starts
        cfg = exp.config_for(scale).override(dict(pt))
        check_inputs(cfg)
        key = json.dumps(cfg.to_dict(), sort_keys=True)
        # a repeated point would run two workers into one folder: refused, not silently dropped
        for table, what in ((seen, "are the same config"), (folders, f"would share the folder {point_name(pt)}")):
            other = table.setdefault(key if table is seen else point_name(pt), pt)
            if other is not pt:
                a, b = (" ".join(f"{k}={v}" for k, v in p.items()) for p in (other, pt))
                raise GenlabError(f"grid points {a} and {b} {what}; give each value once")
    return points


def point_name(pt: dict[str, str]) -> str:
    return "_".join(f"{k}={re.sub(r'[^A-Za-z0-9.+-]+', '-', v)}" for k, v in pt.items()) or "base"


def sweep(exp_id: str, grid: list[str], scale: str = "quick", out: Path | str | None = None,
          backend: Backend | None = None, report_to: tuple[str, ...] = (), keep_checkpoints: bool = False,
          device: str | None = None) -> tuple[list[dict], Path]:
    """Run (or resume) the grid on ``device`` (every worker; None: :func:`genlab.runtime.device`); return the
    aggregate rows and the sweep folder."""
    from genlab.experiments import get
    from genlab.export import check_trackers, report_runs
    from genlab.runner import Task
    from genlab.sweep_plot import plot_sweep
    exp = get(exp_id)
    points = parse_grid(exp, grid, scale)
    if device is not None:
        resolve_device(device)  # a device this machine lacks: one line before the sweep folder exists
    out = Path(out) if out is not None else Path("sweeps") / f"{exp.id}-{scale}"
    check_out_folder(out)
    check_writable(out)
    check_trackers(report_to)
    folders = [out / point_name(pt) for pt in points]
    todo = [Task(exp.id, scale, str(f), None, tuple(f"{k}={v}" for k, v in pt.items()),
                 keep_checkpoints=keep_checkpoints, device=device)
            for f, pt in zip(folders, points) if not Run(f).is_complete]
    print(f"genlab sweep: {len(points)} runs, {len(points) - len(todo)} already complete", file=sys.stderr)
    results = (backend or LocalBackend()).run_tasks(todo) if todo else []
    errors = {r["folder"]: r["error"] for r in results if r["error"]}
    rows = aggregate(folders, points, errors)
    write_table(rows, out)
    plot_sweep(rows, [k for k in points[0]] if points else [], sweep_file(out, "png"), exp.id)
    report_runs(report_to, folders)
    return rows, out


def aggregate(folders: list[Path], points: list[dict], errors: dict[str, str] | None = None) -> list[dict]:
    """One row per run: swept values, status, each claim's value and verdict, each last scalar metric."""
    rows = []
    for folder, pt in zip(folders, points):
        r = Run(folder)
        row: dict[str, Any] = dict(pt)
        row["status"] = r.status.get("status", "missing")
        row["folder"] = folder.name
        for c in r.claims:
            row[f"{c['id']}"] = c["value"]
            row[f"{c['id']}:verdict"] = c["verdict"]
        last: dict[str, float] = {}
        for _, name, key, v in r.metrics:
            last[f"{name}[{key}]" if key else name] = v
        row.update(last)
        if errors and str(folder) in errors:
            row["error"] = errors[str(folder)]
        rows.append(row)
    return rows


def write_table(rows: list[dict], out: Path) -> None:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    # swept keys, status, claims, run-level metrics first; per-key metrics (name[key]) and the folder last
    cols.sort(key=lambda c: 2 if c == "folder" else (1 if "[" in c else 0))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(sweep_file(out, "csv"), buf.getvalue())
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else ("" if v is None else str(v))  # noqa: E731
    md = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    md += ["| " + " | ".join(fmt(r.get(c)) for c in cols) + " |" for r in rows]
    atomic_write_text(sweep_file(out, "md"), "\n".join(md) + "\n")


def main(args) -> int:
    if getattr(args, "quiet", False):
        from genlab.runtime import set_quiet
        set_quiet()
    backend = make_backend(args, workers=args.workers)
    t0 = time.perf_counter()
    rows, out = sweep(args.experiment, args.grid, args.scale, args.out, backend, tuple(args.report_to or ()),
                      args.keep_checkpoints, device=args.device)
    bad = [r for r in rows if r["status"] != "complete"]
    print(f"sweep folder: {out} ({len(rows)} runs, {len(bad)} not complete) in {time.perf_counter() - t0:.1f} s")
    print(f"  table: {sweep_file(out, 'md')}  figure: {sweep_file(out, 'png')}")
    for r in bad:
        print(f"  {r['folder']}: {r['status']} {r.get('error', '')}")
    return 1 if bad else 0
