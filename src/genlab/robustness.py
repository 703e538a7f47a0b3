"""``genlab robustness EXPERIMENT``: is a verdict robust to the experiment's free choices?

An experiment declares its free choices (``experiment(..., robustness={"image": ["astronaut", "coffee"]})``):
settings the paper fixes by convention (an image, a size, a measurement threshold), not the
settings its claim is about. This command runs the scale's config (the base point) and then
varies **one key at a time** to each listed value, every point an ordinary resumable run folder
made by :func:`genlab.runner.run_task` through a :class:`~genlab.parallel.Backend`. One at a time,
not the full product: k keys of m values cost 1 + k*m runs instead of (m+1)^k, and a flip
is then named by the one setting that caused it. Interactions between free choices are what
``genlab sweep`` (the product) is for.

For each claim the verdict at every point is labelled ``robust`` (the same verdict everywhere)
or ``setting-sensitive``, naming each ``key=value`` whose verdict differs from the base's.
The result is ``robustness.json`` and ``robustness.md`` beside the point folders; a rerun
skips complete points.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import fields
from pathlib import Path

from genlab.errors import GenlabError
from genlab.io import atomic_write_json, atomic_write_text, check_writable, path_arg
from genlab.parallel import Backend, LocalBackend, add_backend_arguments, make_backend
from genlab.runs import Run, check_out_folder
from genlab.runs.folders import robustness_file
from genlab.runtime import add_device_argument
from genlab.sweep import parse_grid, point_name

__all__ = ["declared_grid", "label", "points", "robustness"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment")
    p.add_argument("--scale", choices=["quick", "default", "paper"], default="quick")
    p.add_argument("--grid", action="append", default=None, metavar="key=v1,v2",
                   help="a free choice and its values (repeatable; default: the experiment's declared grid)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: every core)")
    add_backend_arguments(p)
    add_device_argument(p)
    p.add_argument("--out", type=path_arg, default=None,
                   help="folder (default: ./robustness/<experiment>-<scale>); rerun to resume")
    p.add_argument("--quiet", action="store_true")


def _text(v) -> str:
    return ",".join(map(str, v)) if isinstance(v, tuple) else repr(v) if isinstance(v, float) else str(v)


def declared_grid(exp) -> list[str]:
    """The experiment's declared free choices as grid entries (``key=v1|v2|``: '|' keeps tuple values whole)."""
    return [f"{k}=" + "|".join(_text(v) for v in vals) + "|" for k, vals in exp.robustness.items()]


def points(exp, grid: list[str], scale: str) -> list[dict[str, str]]:
    """The base point ``{}``, then each key's values one at a time (a value equal to the base's is the base)."""
    base = exp.config_for(scale).to_dict()
    out: list[dict[str, str]] = [{}]
    for entry in grid:
        for pt in parse_grid(exp, [entry], scale):  # checks the key and values (one line, exit 2)
            if exp.config_for(scale, overrides=[f"{k}={v}" for k, v in pt.items()]).to_dict() != base:
                out.append(pt)
    return out


def label(verdicts: dict[str, str], base: str = "base") -> dict:
    """``robust`` when every point that has a verdict agrees; else ``setting-sensitive`` with the points that
    differ from the base (``flips``). A point without a verdict (its run failed) is listed as ``missing``."""
    have = {p: v for p, v in verdicts.items() if v in ("holds", "fails", "inconclusive")}
    ref = have.get(base)
    flips = [p for p, v in have.items() if p != base and v != ref] if ref is not None else []
    same = len(set(have.values())) <= 1
    return {"label": "robust" if same else "setting-sensitive", "base": ref, "flips": flips,
            "missing": [p for p in verdicts if p not in have]}


def _summary(exp, scale: str, pts: list[dict], folders: list[Path]) -> dict:
    names = ["base" if not pt else " ".join(f"{k}={v}" for k, v in pt.items()) for pt in pts]
    claims: dict[str, dict] = {}
    for name, folder in zip(names, folders):
        r = Run(folder)
        got = r.claims if r.is_complete else []
        for c in got:
            e = claims.setdefault(c["id"], {"id": c["id"], "statement": c["statement"], "threshold": c["threshold"],
                                            "verdicts": {}, "values": {}})
            e["verdicts"][name], e["values"][name] = c["verdict"], c["value"]
    for e in claims.values():
        e["verdicts"] = {n: e["verdicts"].get(n, "missing") for n in names}
        e["values"] = {n: e["values"].get(n) for n in names}
        e.update(label(e["verdicts"]))
    return {"experiment": exp.id, "scale": scale, "points": names,
            "folders": {n: f.name for n, f in zip(names, folders)},
            "status": {n: Run(f).status.get("status", "missing") for n, f in zip(names, folders)},
            "claims": list(claims.values())}


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.3g}" if isinstance(v, float) else str(v)


def table(s: dict) -> str:
    head = f"# Robustness of {s['experiment']} ({s['scale']}): one free choice at a time\n\n"
    lines = ["| claim | label | " + " | ".join(s["points"]) + " |", "|---|---|" + "---|" * len(s["points"])]
    for c in s["claims"]:
        lab = c["label"] + (f" (flips at {'; '.join(c['flips'])})" if c["flips"] else "")
        cells = [f"{c['verdicts'][p]} {_fmt(c['values'][p])}" for p in s["points"]]
        lines.append(f"| {c['id']} | {lab} | " + " | ".join(cells) + " |")
    return head + "\n".join(lines) + "\n"


def robustness(exp_id: str, grid: list[str] | None = None, scale: str = "quick", out: Path | str | None = None,
               backend: Backend | None = None, device: str | None = None) -> tuple[dict, Path]:
    """Run (or resume) the base point and each one-at-a-time variation; write and return the summary."""
    from genlab.experiments import get
    from genlab.runner import Task, check_inputs
    exp = get(exp_id)
    grid = list(grid) if grid else declared_grid(exp)
    if not grid:
        names = ", ".join(f.name for f in fields(exp.config))
        raise GenlabError(f"{exp.id} declares no free choices; give some with --grid key=v1,v2 (keys: {names})")
    pts = points(exp, grid, scale)
    for pt in pts:  # a value that names a missing image or folder: one line before anything is written
        check_inputs(exp.config_for(scale, None, [f"{k}={v}" for k, v in pt.items()]))
    out = Path(out) if out is not None else Path("robustness") / f"{exp.id}-{scale}"
    check_out_folder(out)
    check_writable(out)
    folders = [out / point_name(pt) for pt in pts]
    todo = [Task(exp.id, scale, str(f), None, tuple(f"{k}={v}" for k, v in pt.items()), device=device)
            for f, pt in zip(folders, pts) if not Run(f).is_complete]
    print(f"genlab robustness: {exp.id} ({scale}): {len(pts)} points, {len(pts) - len(todo)} already complete",
          file=sys.stderr)
    for r in (backend or LocalBackend(desc="robustness")).run_tasks(todo) if todo else []:
        if r["error"]:
            print(f"  {r['folder']}: {r['error']}", file=sys.stderr)
    s = _summary(exp, scale, pts, folders)
    atomic_write_json(robustness_file(out, "json"), s)
    atomic_write_text(robustness_file(out, "md"), table(s))
    return s, out


def main(args) -> int:
    if getattr(args, "quiet", False):
        from genlab.runtime import set_quiet
        set_quiet()
    backend = make_backend(args, workers=args.workers)
    t0 = time.perf_counter()
    s, out = robustness(args.experiment, args.grid, args.scale, args.out, backend, device=args.device)
    print(table(s))
    print(f"robustness: {robustness_file(out, 'md')} ({time.perf_counter() - t0:.0f} s)")
    return 1 if any(v != "complete" for v in s["status"].values()) else 0
