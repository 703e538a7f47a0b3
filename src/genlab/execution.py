"""Run one experiment into one run folder: fresh, resumed, or left alone when complete.

:func:`execute` checks the folder (:func:`genlab.runs.check_out_folder`), seeds every generator, takes
the folder's lock (:mod:`genlab.runs.lock`), checks each file a resume reads (:mod:`genlab.runs.check`),
trains, draws the figures and judges the claims (:func:`finalize`). Bad input leaves nothing; a run that
stops for any other reason records why in status.json (:class:`~genlab.errors.RunFailed`, exit status 1).
:mod:`genlab.runner` builds the commands on it.
"""
from __future__ import annotations

import random
import sys
import time
import traceback
from dataclasses import fields
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from genlab.config import Config
from genlab.errors import DivergedError, GenlabError, RunFailed
from genlab.experiments.base import Experiment, get
from genlab.io import check_path, check_writable, rmdirs
from genlab.runs import Run, check_out_folder
from genlab.runs.check import DamagedRunError
from genlab.runs.lock import RunLock
from genlab.runtime import device as runtime_device
from genlab.runtime import use_device


def default_folder(exp: Experiment, scale: str, seed: int, root: Path | str = "runs") -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{exp.id}-{scale}-s{seed}-{stamp}"
    folder, n = base, 1
    while folder.exists():  # two runs started in the same second get their own folders
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    return folder


def check_inputs(cfg: Config) -> None:
    """Folders a config names (fields ``*_dir``, empty for the default) exist, and so do the images it names
    (fields ``image`` and ``*_image``: a built-in name or a file): checked before any run starts, so a sweep,
    a robustness grid or an atlas with a wrong data_dir or image is one line, not one error per run."""
    for f in fields(cfg):
        v = getattr(cfg, f.name)
        if f.name.endswith("_dir") and isinstance(v, str) and v:
            check_path(v, f.name)
            if not Path(v).is_dir():
                raise GenlabError(f"{f.name}={v}: no such folder; give the folder that holds the data sets "
                                  f"(or leave {f.name} empty for the default)")
        elif (f.name == "image" or f.name.endswith("_image")) and isinstance(v, str) and v:
            from genlab.data.images import BUILTIN
            if v not in BUILTIN:
                check_path(v, f.name)
                if not Path(v).is_file():
                    raise GenlabError(f"{f.name}={v}: no such image; give a PNG/JPEG file or a built-in name "
                                      f"({', '.join(BUILTIN[:5])}, ...)")


def execute(exp: Experiment, cfg: Config, out: Path | str | None = None, scale: str = "custom",
            root: Path | str = "runs", keep_checkpoints: bool = False,
            on_start: Callable[[str], None] | None = None, device: str | torch.device | None = None) -> Run:
    """Run ``exp`` with ``cfg`` into ``out`` (resuming if it holds the same unfinished run), holding the
    folder's lock (:mod:`genlab.runs.lock`) from before it is read until the last file is written.
    ``on_start(state)`` is called once the folder is locked and checked (state: fresh, resume, complete).
    A run that ends complete drops its checkpoints unless ``keep_checkpoints`` (figures and claims need only
    the results). ``device`` ("auto", "cpu", "cuda[:N]", "mps"; None: the current
    :func:`genlab.runtime.device`) is where the experiment builds its models and data
    (:func:`genlab.runtime.use_device`); env.json records it. It is not part of the run's identity
    (config.json): a run may be resumed on another device."""
    with use_device(runtime_device() if device is None else device):  # a device this machine lacks: nothing made
        return _execute(exp, cfg, out, scale, root, keep_checkpoints, on_start)


def _execute(exp: Experiment, cfg: Config, out: Path | str | None, scale: str, root: Path | str,
             keep_checkpoints: bool, on_start: Callable[[str], None] | None) -> Run:
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


__all__ = ["check_inputs", "default_folder", "execute", "finalize"]
