"""A verdict over seeds: ``genlab run EXP --seeds N`` and ``genlab reproduce --seeds N``.

N runs with seeds ``seed .. seed+N-1``, each an ordinary resumable run folder made by
:func:`genlab.runner.run_task` through a :class:`~genlab.parallel.Backend` (the worker of
``reproduce`` and ``sweep``), then one summary per claim (:func:`summarize`): holds in k of N
runs, how many were inconclusive, and the mean, sample standard deviation, min and max of the
measured value. ``genlab run`` puts the runs in ``<out>/seed-<s>/``; ``genlab reproduce`` keeps
``runs/<id>`` as the first seed's run (the atlas's) and puts the others in ``seeds/<id>/seed-<s>/``.
The summary is ``seeds.json`` and ``seeds.md`` beside the seed folders.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from genlab.errors import GenlabError
from genlab.io import atomic_write_json, atomic_write_text
from genlab.parallel import Backend, LocalBackend
from genlab.runs import Run, atlas_run
from genlab.runs.folders import atlas_seeds, seed_folder, seeds_file

__all__ = ["atlas_seed_folders", "check_seeds", "kn_text", "read_summary", "run_seeds", "seeds_command", "summarize",
           "summarize_atlas", "table", "write_summary"]


def check_seeds(n: int | None) -> None:
    if n is not None and n < 1:
        raise GenlabError(f"--seeds {n}: the number of seeds must be at least 1 (for example --seeds 5)")


def _stats(values: list[float]) -> dict:
    """mean, sample standard deviation (ddof=1; None below two values), min and max of the finite values."""
    x = np.array([v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)],
                 dtype=float)
    if not x.size:
        return {"n": 0, "mean": None, "std": None, "min": None, "max": None}
    return {"n": int(x.size), "mean": float(x.mean()), "std": float(x.std(ddof=1)) if x.size > 1 else None,
            "min": float(x.min()), "max": float(x.max())}


def summarize(folders: list[Path], seeds: list[int]) -> dict:
    """Per claim over the runs in ``folders`` (seed ``seeds[i]`` in ``folders[i]``): ``holds`` of ``of`` (the
    complete runs that state the claim), ``fails``, ``inconclusive``, the value's statistics, each run's
    verdict and value, and ``within``: the claims' own k/of over the seeds trained inside each run (or the folds,
    nets it names in ``per``), pooled; empty unless every run that states the claim counted it."""
    runs, claims = [], {}  # type: ignore[var-annotated]
    for folder, seed in zip(folders, seeds):
        r = Run(folder)
        st = r.status.get("status", "missing") if r.exists else "missing"
        runs.append({"seed": seed, "folder": str(folder), "status": st})
        if st != "complete":
            continue
        for c in r.claims:
            e = claims.setdefault(c["id"], {"id": c["id"], "statement": c["statement"], "threshold": c["threshold"],
                                            "verdicts": {}, "values": {}, "k": 0, "k_of": 0, "per": "", "counted": 0})
            e["verdicts"][seed], e["values"][seed] = c["verdict"], c["value"]
            if c.get("k") is not None and c.get("of") is not None:
                e["k"] += c["k"]
                e["k_of"] += c["of"]
                e["per"], e["counted"] = c.get("per") or "seeds", e["counted"] + 1
    out = []
    for e in claims.values():
        v = list(e["verdicts"].values())
        out.append({"id": e["id"], "statement": e["statement"], "threshold": e["threshold"],
                    "holds": v.count("holds"), "of": len(v), "fails": v.count("fails"),
                    "inconclusive": v.count("inconclusive"), "value": _stats(list(e["values"].values())),
                    # pooled only when every run that states the claim counted it
                    "within": f"{e['k']}/{e['k_of']}" if e["k_of"] and e["counted"] == len(v) else "", "per": e["per"],
                    "runs": [{"seed": s, "verdict": e["verdicts"][s], "value": e["values"][s]} for s in e["verdicts"]]})
    return {"seeds": list(seeds), "runs": runs, "missing": sum(r["status"] != "complete" for r in runs), "claims": out}


def kn_text(c: dict) -> str:
    """'k/N seeds' for one claim of a summary: over its runs, or, where each run judges the claim on several
    seeds (folds, nets) inside it and those outnumber the runs, over them pooled ('7/8 seeds (2 runs)')."""
    within = c.get("within") or ""
    if within and int(within.split("/")[1]) > c["of"]:
        return f"{within} {c.get('per') or 'seeds'} ({c['of']} runs)"
    return f"{c['holds']}/{c['of']} seeds"


def _num(v) -> str:
    return "-" if v is None else f"{v:.4g}"


def table(summary: dict) -> str:
    """The summary as a Markdown table: one row per claim."""
    lines = ["| claim | holds in | inconclusive | mean ± std | min | max | threshold | inside runs |",
             "|---|---|---|---|---|---|---|---|"]
    for c in summary["claims"]:
        s = c["value"]
        spread = "-" if s["mean"] is None else f"{_num(s['mean'])} ± {_num(s['std'])}"
        lines.append(f"| {c['id']} | {c['holds']} of {c['of']} | {c['inconclusive']} | {spread} | {_num(s['min'])} | "
                     f"{_num(s['max'])} | {c['threshold']} | "
                     f"{(c['within'] + ' ' + (c.get('per') or 'seeds')) if c['within'] else '-'} |")
    if summary["missing"]:
        bad = ", ".join(f"seed {r['seed']} {r['status']}" for r in summary["runs"] if r["status"] != "complete")
        lines.append(f"\nNot counted (run not complete): {bad}.")
    return "\n".join(lines) + "\n"


def write_summary(summary: dict, folder: Path, head: dict) -> None:
    atomic_write_json(seeds_file(folder, "json"), {**head, **summary})
    atomic_write_text(seeds_file(folder, "md"), f"# {head.get('experiment', '')} over seeds {summary['seeds']}\n\n"
                      + table(summary))


def read_summary(folder: Path) -> dict | None:
    """The ``seeds.json`` in ``folder``; None if there is none (or it cannot be read)."""
    import json
    try:
        return json.loads(seeds_file(folder, "json").read_text())
    except (OSError, ValueError):
        return None


def run_seeds(exp_id: str, scale: str, seed: int, n: int, out: Path, overrides: list[str] | tuple[str, ...] = (),
              backend: Backend | None = None, keep_checkpoints: bool = False, device: str | None = None) -> dict:
    """``genlab run EXP --seeds N``: the N runs into ``out/seed-<s>/`` (complete ones kept), then the summary."""
    from genlab.experiments import get
    from genlab.runner import Task, check_inputs
    exp = get(exp_id)
    seeds = list(range(seed, seed + n))
    for s in seeds:  # every seed's config is valid before anything is written
        check_inputs(exp.config_for(scale, s, list(overrides)))
    folders = [seed_folder(out, s) for s in seeds]
    todo = [Task(exp.id, scale, str(f), s, tuple(overrides), keep_checkpoints=keep_checkpoints, device=device)
            for f, s in zip(folders, seeds) if not Run(f).is_complete]
    print(f"genlab: {exp.id} ({scale}) over seeds {seeds[0]}..{seeds[-1]}: {len(todo)} to run, "
          f"{n - len(todo)} complete", file=sys.stderr)
    for r in (backend or LocalBackend(desc="seeds")).run_tasks(todo) if todo else []:
        if r["error"]:
            print(f"  {r['folder']}: {r['error']}", file=sys.stderr)
    summary = summarize(folders, seeds)
    write_summary(summary, out, {"experiment": exp.id, "scale": scale, "overrides": list(overrides)})
    return summary


def atlas_seed_folders(atlas: Path, exp_id: str, scale: str, seed: int | None, n: int) -> list[tuple[Path, int]]:
    """``genlab reproduce --seeds N``: the first seed (``seed``, else the scale's) is the atlas's ``runs/<id>``;
    the others go in ``seeds/<id>/seed-<s>/``."""
    from genlab.experiments import get
    seed = get(exp_id).config_for(scale).seed if seed is None else seed
    return [(atlas_run(atlas, exp_id), seed)] + [(seed_folder(atlas_seeds(atlas, exp_id), s), s)
                                               for s in range(seed + 1, seed + n)]


def summarize_atlas(atlas: Path, exp_ids: list[str], scale: str, seed: int | None, n: int | dict[str, int]) -> None:
    """Each experiment's seed summary over its ``n`` runs (a number per experiment id, or one for all) in
    ``seeds/<id>/`` (the atlas shows its k/N)."""
    for exp_id in exp_ids:
        pairs = atlas_seed_folders(atlas, exp_id, scale, seed, n[exp_id] if isinstance(n, dict) else n)
        summary = summarize([f for f, _ in pairs], [s for _, s in pairs])
        write_summary(summary, atlas_seeds(atlas, exp_id), {"experiment": exp_id, "scale": scale, "overrides": []})


def seeds_command(args) -> int:
    """``genlab run EXP --seeds N``: the seed set into ``--out`` (default ``runs/<id>-<scale>-seeds<a>-<b>``, so
    the same command again resumes it), then its table."""
    from genlab.experiments import get
    from genlab.export import check_trackers, report_runs
    from genlab.io import check_writable
    from genlab.runs import check_out_folder
    check_seeds(args.seeds)
    exp = get(args.experiment)
    scale, seed = args.scale or "default", 0 if args.seed is None else args.seed
    from genlab.runner import check_inputs
    check_inputs(exp.config_for(scale, seed, list(args.overrides)))  # a bad override, seed or data_dir: one line first
    out = args.out or Path("runs") / f"{exp.id}-{scale}-seeds{seed}-{seed + args.seeds - 1}"
    check_out_folder(out)
    if Run(out).exists:
        raise GenlabError(f"--out {out} holds a single run; give a new folder for a seed set")
    check_writable(out)
    check_trackers(tuple(args.report_to or ()))
    summary = run_seeds(exp.id, scale, seed, args.seeds, out, list(args.overrides), keep_checkpoints=args.keep_checkpoints,
                        device=getattr(args, "device", None))
    report_runs(tuple(args.report_to or ()), [seed_folder(out, s) for s in summary["seeds"]])
    print(table(summary))
    print(f"seeds: {seeds_file(out, 'md')}")
    return 1 if summary["missing"] else 0
