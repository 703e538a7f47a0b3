"""Run experiments into run folders: fresh, resumed, or redrawn; one orchestrator for many.

:func:`~genlab.execution.execute` runs one experiment into one folder. ``genlab run`` is
:func:`run_command`; ``genlab reproduce`` (:func:`reproduce`) and ``genlab
sweep`` (:mod:`genlab.sweep`) hand :class:`Task` items to :func:`run_task`
through a :class:`~genlab.parallel.Backend`: the same worker for both.
"""
from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import NamedTuple

from genlab.errors import GenlabError
from genlab.execution import check_inputs, default_folder, execute, finalize
from genlab.io import check_writable
from genlab.parallel import Backend, LocalBackend
from genlab.runs import LAYOUT, Run, atlas_run, atlas_runs, check_out_folder
from genlab.runs.check import check_run
from genlab.runtime import resolve_device

__all__ = ["Task", "check_inputs", "default_folder", "execute", "finalize", "redraw", "reproduce", "run_command",
           "run_task", "runs_needed", "select"]

def redraw(folder: Path | str) -> list[dict]:
    """``genlab report RUN_DIR``: figures and claims again, without training."""
    run = Run(folder)
    if not run.exists:
        raise GenlabError(f"{folder} is not a genlab run folder (no config.json); give a folder made by genlab run")
    check_run(folder, claims=False)  # the stored results it redraws from are whole (claims are written again)
    if run.config.get("layout", 1) < LAYOUT:
        raise GenlabError(f"{folder} was written by genlab before the redesign (run-folder layout 1, now {LAYOUT}); "
                          f"its figures cannot be redrawn: run it again with genlab run {run.config.get('experiment')}")
    st = run.status.get("status")
    if st != "complete":
        raise GenlabError(f"run {folder} is {st}, not complete; resume it with genlab run {run.config['experiment']} --out {folder}")
    return finalize(run)


# ---- genlab run, genlab report ------------------------------------------------
def run_command(exp_id: str, scale: str | None = None, seed: int | None = None, overrides: list[str] = (),
                out: Path | None = None, report_to: tuple[str, ...] = (), keep_checkpoints: bool = False,
                device: str | None = None) -> Run:
    """``genlab run``: with ``--out`` holding a run and nothing else given, resume exactly what is there;
    ``report_to`` trackers get the run when it ends, whatever its status (:mod:`genlab.export`).
    ``device`` ("auto", "cpu", "cuda", "mps"; None: :func:`genlab.runtime.device`) is where it trains; it is
    not part of the run's identity, so a run may be resumed on another device."""
    from genlab.experiments import get
    from genlab.export import check_trackers, report_runs
    from genlab.report import print_claims
    exp = get(exp_id)
    stored = None
    if out is not None:
        check_out_folder(out)
    if out is not None and scale is None and seed is None and not overrides:
        _, stored = Run(out).resume_state(exp.id)
    if stored is not None:
        scale, cfg = stored.get("scale", "default"), exp.config.from_dict(stored["config"])
    else:
        scale = scale or "default"
        cfg = exp.config_for(scale, seed, list(overrides))
    check_inputs(cfg)
    if out is not None:
        check_writable(out, keep=False)  # before saying "running": a bad --out is the only line printed
    check_trackers(report_to)  # a tracker asked for but not installed fails before the run
    out = out if out is not None else default_folder(exp, scale, cfg.seed)
    t0 = time.perf_counter()
    # said once the folder is locked and checked: a locked or damaged --out is the only line printed
    say = lambda state: print(f"genlab: running {exp.id} ({scale}, seed {cfg.seed})", file=sys.stderr)  # noqa: E731
    try:
        run = execute(exp, cfg, out, scale=scale, keep_checkpoints=keep_checkpoints, on_start=say, device=device)
    finally:
        report_runs(report_to, [out])
    print_claims(run, time.perf_counter() - t0)
    return run


def report_command(folder: Path, compare: list[Path] | None = None) -> None:
    """``genlab report``: redraw one run, or every complete run of an atlas and then the atlas (with
    ``compare``, other atlases' verdicts beside its own: :mod:`genlab.compare`)."""
    from genlab.report import print_claims, write_atlas
    if not folder.exists():
        raise GenlabError(f"{folder} does not exist; give a run folder or an atlas folder")
    dirs = atlas_runs(folder)
    if dirs is None and compare:
        raise GenlabError(f"--compare needs an atlas folder, and {folder} is not one (no runs/ in it); "
                          "give the folder genlab reproduce --out wrote")
    if compare:
        from genlab.compare import other_runs
        other_runs(compare)  # a wrong --compare is one line before anything is redrawn
    if dirs is None:
        redraw(folder)
        print_claims(Run(folder))
        return
    for d in dirs:
        if Run(d).is_complete:
            redraw(d)
    scales = {Run(d).config.get("scale") for d in dirs}
    title = f"genlab atlas ({scales.pop()})" if len(scales) == 1 else "genlab atlas"
    md, html = write_atlas(dirs, folder, title=title, compare=compare)
    print(f"atlas: {html} and {md}")


# ---- many runs: the one worker, for reproduce and sweep -----------------------
class Task(NamedTuple):
    """One run for a worker. ``tag`` ("[i/n]") makes the worker print progress lines; "" runs silently."""
    experiment: str
    scale: str
    folder: str
    seed: int | None = None
    overrides: tuple[str, ...] = ()
    tag: str = ""
    t_start: float = 0.0
    keep_checkpoints: bool = False
    before_s: float = 0.0          # the catalogue's seconds for the tasks before this one (per worker)
    left_s: float | None = None    # ... for this one and those after it (per worker); None: not known
    device: str | None = None      # "auto", "cpu", "cuda[:N]", "mps" (a string: it crosses process boundaries)


_TIME = re.compile(r"^~?\s*(\d+(?:\.\d+)?)\s*(s|min|h)\b")


def catalogue_seconds(text: str) -> float | None:
    """Seconds in an Experiment.times entry ('15 s', '1.5 min', '~9 h (GPU: minutes)'); None for 'days (GPU)'."""
    m = _TIME.match(text.strip())
    return float(m.group(1)) * {"s": 1, "min": 60, "h": 3600}[m.group(2)] if m else None


def _dur(s: float) -> str:
    return f"{s:.0f} s" if s < 90 else f"{s / 60:.0f} min" if s < 5400 else f"{s / 3600:.1f} h"


def eta(task: Task, now: float | None = None) -> str:
    """What is left when ``task`` starts: the catalogue's times of this task and those after it, scaled by the pace
    so far (elapsed / the catalogue's time of the tasks already done), once a minute of the catalogue's work is
    behind: before that the tasks still running make the pace meaningless (a second worker's first task)."""
    if task.left_s is None:
        return "time left unknown (the catalogue gives no time for some)"
    elapsed = (now or time.time()) - task.t_start
    pace = elapsed / task.before_s if task.before_s >= 60 and elapsed > 0 else 1.0
    return f"about {_dur(task.left_s * pace)} left"


def run_task(task: Task) -> dict:
    """Worker: one run into its folder (resuming it); an error becomes the result, not a crash of the batch."""
    from genlab.experiments import get
    t0 = time.perf_counter()
    result = {"folder": task.folder, "error": "", "seconds": 0.0}
    try:
        exp = get(task.experiment)
        if task.tag:
            print(f"{task.tag} {exp.id} ({task.scale}, expected {exp.times.get(task.scale, '?')}; "
                  f"{_dur(time.time() - task.t_start)} elapsed, {eta(task)}) ...", file=sys.stderr, flush=True)
        run = execute(exp, exp.config_for(task.scale, task.seed, list(task.overrides)), Path(task.folder), scale=task.scale,
                      keep_checkpoints=task.keep_checkpoints, device=task.device)
    except Exception as e:  # noqa: BLE001 - one broken run (or missing data set) must not stop the others
        result["error"] = f"{type(e).__name__}: {e}"
        if task.tag:
            print(f"{task.tag} {task.experiment}: {result['error']}", file=sys.stderr, flush=True)
    else:
        if task.tag:
            v = [c["verdict"] for c in run.claims]
            print(f"{task.tag} {exp.id}: done in {time.perf_counter() - t0:.0f} s; {v.count('holds')} hold, "
                  f"{v.count('fails')} fail, {v.count('inconclusive')} inconclusive", file=sys.stderr, flush=True)
    result["seconds"] = time.perf_counter() - t0
    return result


def select(only: list[str] | None = None) -> list[str]:
    """The experiment ids of ``reproduce --only`` (families or ids; every experiment when None)."""
    from genlab.experiments import registry
    exps = list(registry().values())
    if only:
        known = {e.family for e in exps} | {e.id for e in exps}
        bad = [o for o in only if o not in known]
        if bad:
            fams = ", ".join(dict.fromkeys(e.family for e in exps))
            raise GenlabError(f"unknown family or experiment {bad[0]!r}; choose a family ({fams}) "
                              "or an experiment id (see genlab list)")
        exps = [e for e in exps if e.family in only or e.id in only]
    return [e.id for e in exps]


def _plan(todo: list[Task], scale: str, workers: int, what: str, kept: int) -> list[Task]:
    """``todo`` with each task's share of the catalogue's time before and after it (the progress line's ETA),
    and one line saying how much is left."""
    from genlab.experiments import get
    secs = [catalogue_seconds(get(t.experiment).times.get(scale, "")) for t in todo]
    n_w = max(1, min(workers, len(todo)))
    todo = [t._replace(before_s=sum(x or 0 for x in secs[:k]) / n_w,
                       left_s=None if None in secs[k:] else sum(secs[k:]) / n_w) for k, t in enumerate(todo)]  # type: ignore[arg-type]
    if todo:
        total = f"about {_dur(todo[0].left_s)}" if todo[0].left_s is not None else "a time the catalogue cannot give"
        print(f"reproduce: {len(todo)} {what} to run, {kept} kept; {total} on {n_w} worker(s) "
              "by the catalogue's times", file=sys.stderr, flush=True)
    return todo


def runs_needed(claims: list[dict], n: int) -> int:
    """Runs (seeds) of one experiment for every claim to be judged on at least ``n`` units: a claim judged on
    ``of`` seeds (or folds, nets) inside each run needs ceil(n / of) runs, one without a count n."""
    return max([-(-n // max(1, int(c.get("of") or 1))) for c in claims] or [1])


def reproduce(exp_ids: list[str], scale: str, out: Path, seed: int | None = None, workers: int = 1,
              backend: Backend | None = None, report_to: tuple[str, ...] = (), keep_checkpoints: bool = False,
              compare: list[Path] | None = None, device: str | None = None, seeds: int = 1) -> int:
    """``genlab reproduce``: each experiment into ``out/runs/<id>`` (complete ones kept), then the atlas (with
    ``compare``, other atlases' verdicts beside its own); ``report_to`` trackers get every run at the end.
    Every worker trains on ``device`` (several workers share one GPU).

    ``seeds`` > 1: every claim is judged on at least that many seeds. Once an experiment's first run is done,
    it gets :func:`runs_needed` runs in all (seeds seed+1, ... in ``out/seeds/<id>/``,
    :func:`genlab.seeds.atlas_seed_folders`): none more where its run already judges each claim on that many
    seeds or folds inside it, ``seeds`` where a claim has no count. The atlas shows each claim's k of N."""
    from genlab.experiments import get
    from genlab.export import check_trackers, report_runs
    from genlab.report import write_atlas
    from genlab.seeds import atlas_seed_folders, summarize_atlas
    if device is not None:
        resolve_device(device)  # a device this machine lacks: one line before the atlas folder exists
    check_out_folder(out)
    if compare:
        from genlab.compare import other_runs
        other_runs(compare)  # a wrong --compare is one line before anything runs
    for exp_id in exp_ids:  # a bad --seed, scale or data_dir is one line before the atlas folder exists
        check_inputs(get(exp_id).config_for(scale, seed))
    check_writable(out)
    check_trackers(report_to)
    t_all = time.time()
    # experiments use one intra-op thread each: one per core
    backend = backend or LocalBackend(max(1, workers), threads=1, progress=False, desc="reproduce")

    def run_all(jobs: list[tuple[str, Path, int | None]], what: str) -> int:
        todo = []
        for i, (exp_id, folder, s) in enumerate(jobs, 1):
            if Run(folder).is_complete:
                print(f"[{i}/{len(jobs)}] {exp_id}: already complete, kept", file=sys.stderr)
            else:
                todo.append(Task(exp_id, scale, str(folder), s, (), f"[{i}/{len(jobs)}]", t_all,
                                 keep_checkpoints=keep_checkpoints, device=device))
        todo = _plan(todo, scale, workers, what, len(jobs) - len(todo))
        return sum(bool(r["error"]) for r in backend.run_tasks(todo)) if todo else 0

    dirs = [atlas_run(out, e) for e in exp_ids]
    failures = run_all([(e, d, seed) for e, d in zip(exp_ids, dirs)], "experiments")
    if seeds > 1:
        extra, counts = [], {}
        for exp_id, d in zip(exp_ids, dirs):
            r = Run(d)
            counts[exp_id] = runs_needed(r.claims, seeds) if r.is_complete else 1
            pairs = atlas_seed_folders(out, exp_id, scale, seed, counts[exp_id])
            extra += [(exp_id, f, s) for f, s in pairs[1:]]
        # the longest first, so that the last one to finish is a short one
        extra.sort(key=lambda j: -(catalogue_seconds(get(j[0]).times.get(scale, "")) or 0))
        failures += run_all(extra, "further seeds")
        summarize_atlas(out, [e for e in exp_ids if counts[e] > 1], scale, seed, counts)
    md, html = write_atlas(dirs, out, title=f"genlab atlas ({scale})", compare=compare)
    print(f"atlas: {html} and {md} ({time.time() - t_all:.0f} s)")
    report_runs(report_to, dirs)
    return 1 if failures else 0
