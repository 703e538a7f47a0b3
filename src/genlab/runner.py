"""Run experiments into run folders: fresh, resumed, or redrawn; one orchestrator for many.

:func:`execute` runs one experiment into one folder. ``genlab run`` is
:func:`run_command`; ``genlab reproduce`` (:func:`reproduce`) and ``genlab
sweep`` (:mod:`genlab.sweep`) hand :class:`Task` items to :func:`run_task`
through a :class:`~genlab.parallel.Backend`: the same worker for both.
"""
from __future__ import annotations

import random
import re
import sys
import time
import traceback
from dataclasses import fields
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import torch

from genlab.config import Config
from genlab.errors import DivergedError, GenlabError, RunFailed
from genlab.experiments.base import Experiment, get
from genlab.io import check_path, check_writable, rmdirs
from genlab.parallel import Backend, LocalBackend
from genlab.runs import LAYOUT, Run, atlas_run, atlas_runs, check_out_folder
from genlab.runs.check import DamagedRunError, check_run
from genlab.runs.lock import RunLock


def default_folder(exp: Experiment, scale: str, seed: int, root: Path | str = "runs") -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{exp.id}-{scale}-s{seed}-{stamp}"
    folder, n = base, 1
    while folder.exists():  # two runs started in the same second get their own folders
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    return folder


def check_inputs(cfg: Config) -> None:
    """Folders a config names (fields ``*_dir``, empty for the default) exist: checked before any run
    starts, so a sweep or an atlas with a wrong data_dir is one line, not one error per run."""
    for f in fields(cfg):
        v = getattr(cfg, f.name)
        if f.name.endswith("_dir") and isinstance(v, str) and v:
            check_path(v, f.name)
            if not Path(v).is_dir():
                raise GenlabError(f"{f.name}={v}: no such folder; give the folder that holds the data sets "
                                  f"(or leave {f.name} empty for the default)")


def execute(exp: Experiment, cfg: Config, out: Path | str | None = None, scale: str = "custom",
            root: Path | str = "runs", keep_checkpoints: bool = False,
            on_start: Callable[[str], None] | None = None) -> Run:
    """Run ``exp`` with ``cfg`` into ``out`` (resuming if it holds the same unfinished run), holding the
    folder's lock (:mod:`genlab.runs.lock`) from before it is read until the last file is written.
    ``on_start(state)`` is called once the folder is locked and checked (state: fresh, resume, complete).
    A run that ends complete drops its checkpoints unless ``keep_checkpoints`` (figures and claims need only
    the results)."""
    folder = Path(out) if out is not None else default_folder(exp, scale, cfg.seed, root)
    check_out_folder(folder)
    try:  # before anything is written: numpy takes seeds in [0, 2^32) only
        random.seed(cfg.seed)
        np.random.seed(cfg.seed)
        torch.manual_seed(cfg.seed)
    except (ValueError, OverflowError, RuntimeError):
        raise GenlabError(f"seed={cfg.seed} is outside [0, 2^32); give a seed from 0 to {2**32 - 1}") from None
    created = [p for p in (folder, *folder.parents) if not p.exists()]
    check_writable(folder)
    run = Run(folder)
    lock = RunLock(folder)
    try:
        lock.acquire()
    except GenlabError:
        rmdirs(created)
        raise
    try:
        if lock.took_over:
            h = lock.took_over
            print(f"genlab: {folder} was locked by pid {h.get('pid', '?')} on host {h.get('host', '?')}, "
                  "which is gone; taking it over", file=sys.stderr)
        try:
            state = run.begin(exp.id, scale, cfg.to_dict())  # refuses a folder holding another run
        except GenlabError:
            lock.release()
            rmdirs(created)
            raise
        if on_start is not None:
            on_start(state)
        if state != "complete":
            _train(exp, cfg, run, fresh=state == "fresh", created=created, lock=lock, keep_checkpoints=keep_checkpoints)
    finally:
        lock.release()
    return run


def _train(exp: Experiment, cfg: Config, run: Run, fresh: bool, created: list[Path], lock: RunLock,
           keep_checkpoints: bool = False) -> None:
    t0 = time.perf_counter()
    try:
        exp.run(cfg, run)
        run.log("wall_seconds", time.perf_counter() - t0)
        run.flush()
        finalize(run, exp)
        if not keep_checkpoints:
            run.drop_checkpoints()
    except DivergedError as e:
        run.flush()
        run.set_status("diverged", str(e))
        raise
    except KeyboardInterrupt:
        run.set_status("interrupted", "stopped by the user; run again with the same --out to resume")
        raise
    except DamagedRunError as e:  # found only once training resumed (a checkpoint that does not fit the model)
        run.set_status("failed", str(e))
        raise
    except GenlabError:
        # Bad input found inside the experiment (a missing data file, say) before it trained:
        # a fresh run leaves nothing behind, as for any other bad input.
        if fresh and not run.has_checkpoints:
            lock.release()
            run.discard(created)
        else:
            run.set_status("failed", "bad input; see the error")
        raise
    except Exception as e:
        why = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        run.set_status("failed", why, traceback=traceback.format_exc())
        raise RunFailed(f"{why}; {run.path / 'status.json'} records it with the traceback") from e


def finalize(run: Run, exp: Experiment | None = None) -> list[dict]:
    """Draw the figures and judge the claims from the stored results; mark the run complete."""
    exp = exp or get(run.config["experiment"])
    cfg = exp.config.from_dict(run.config["config"])
    exp.figures(run, cfg)
    claims = [c.to_dict() for c in exp.claims(run, cfg)]
    run.save_claims(claims)
    run.set_status("complete")
    return claims


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
                out: Path | None = None, report_to: tuple[str, ...] = (), keep_checkpoints: bool = False) -> Run:
    """``genlab run``: with ``--out`` holding a run and nothing else given, resume exactly what is there;
    ``report_to`` trackers get the run when it ends, whatever its status (:mod:`genlab.export`)."""
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
        run = execute(exp, cfg, out, scale=scale, keep_checkpoints=keep_checkpoints, on_start=say)
    finally:
        report_runs(report_to, [out])
    print_claims(run, time.perf_counter() - t0)
    return run


def report_command(folder: Path) -> None:
    """``genlab report``: redraw one run, or every complete run of an atlas and then the atlas."""
    from genlab.report import print_claims, write_atlas
    if not folder.exists():
        raise GenlabError(f"{folder} does not exist; give a run folder or an atlas folder")
    dirs = atlas_runs(folder)
    if dirs is None:
        redraw(folder)
        print_claims(Run(folder))
        return
    for d in dirs:
        if Run(d).is_complete:
            redraw(d)
    scales = {Run(d).config.get("scale") for d in dirs}
    title = f"genlab atlas ({scales.pop()})" if len(scales) == 1 else "genlab atlas"
    md, html = write_atlas(dirs, folder, title=title)
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


_TIME = re.compile(r"^~?\s*(\d+(?:\.\d+)?)\s*(s|min|h)\b")


def catalogue_seconds(text: str) -> float | None:
    """Seconds in an Experiment.times entry ('15 s', '1.5 min', '~9 h (GPU: minutes)'); None for 'days (GPU)'."""
    m = _TIME.match(text.strip())
    return float(m.group(1)) * {"s": 1, "min": 60, "h": 3600}[m.group(2)] if m else None


def _dur(s: float) -> str:
    return f"{s:.0f} s" if s < 90 else f"{s / 60:.0f} min" if s < 5400 else f"{s / 3600:.1f} h"


def eta(task: Task, now: float | None = None) -> str:
    """What is left when ``task`` starts: the catalogue's times of this task and those after it, scaled by the pace
    so far (elapsed / the catalogue's time of the tasks already done)."""
    if task.left_s is None:
        return "time left unknown (the catalogue gives no time for some)"
    elapsed = (now or time.time()) - task.t_start
    pace = elapsed / task.before_s if task.before_s > 0 and elapsed > 0 else 1.0
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
                      keep_checkpoints=task.keep_checkpoints)
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


def reproduce(exp_ids: list[str], scale: str, out: Path, seed: int | None = None, workers: int = 1,
              backend: Backend | None = None, report_to: tuple[str, ...] = (), keep_checkpoints: bool = False) -> int:
    """``genlab reproduce``: each experiment into ``out/runs/<id>`` (complete ones kept), then the atlas;
    ``report_to`` trackers get every run of the atlas at the end."""
    from genlab.experiments import get
    from genlab.export import check_trackers, report_runs
    from genlab.report import write_atlas
    check_out_folder(out)
    for exp_id in exp_ids:  # a bad --seed, scale or data_dir is one line before the atlas folder exists
        check_inputs(get(exp_id).config_for(scale, seed))
    check_writable(out)
    check_trackers(report_to)
    dirs, todo, t_all = [], [], time.time()
    for i, exp_id in enumerate(exp_ids, 1):
        folder = atlas_run(out, exp_id)
        dirs.append(folder)
        if Run(folder).is_complete:
            print(f"[{i}/{len(exp_ids)}] {exp_id}: already complete, kept", file=sys.stderr)
        else:
            todo.append(Task(exp_id, scale, str(folder), seed, (), f"[{i}/{len(exp_ids)}]", t_all,
                             keep_checkpoints=keep_checkpoints))
    # what is left, from the catalogue's times: per worker, since the workers share the list
    secs = [catalogue_seconds(get(t.experiment).times.get(scale, "")) for t in todo]
    n_w = max(1, min(workers, len(todo)))
    todo = [t._replace(before_s=sum(x or 0 for x in secs[:k]) / n_w,
                       left_s=None if None in secs[k:] else sum(secs[k:]) / n_w) for k, t in enumerate(todo)]  # type: ignore[arg-type]
    if todo:
        total = f"about {_dur(todo[0].left_s)}" if todo[0].left_s is not None else "a time the catalogue cannot give"
        print(f"reproduce: {len(todo)} to run, {len(exp_ids) - len(todo)} kept; {total} on {n_w} worker(s) "
              "by the catalogue's times", file=sys.stderr, flush=True)
    # experiments use one intra-op thread each: one per core
    backend = backend or LocalBackend(n_w, threads=1, progress=False, desc="reproduce")
    failures = sum(bool(r["error"]) for r in backend.map(run_task, todo)) if todo else 0
    md, html = write_atlas(dirs, out, title=f"genlab atlas ({scale})")
    print(f"atlas: {html} and {md} ({time.time() - t_all:.0f} s)")
    report_runs(report_to, dirs)
    return 1 if failures else 0
