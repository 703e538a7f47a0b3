"""Runs on workers that do not share a disk with the driver: the Ray backend's side of ``reproduce`` and ``sweep``.

The driver packs what a run folder already holds (an unfinished run resumes from its checkpoints) and
sends it with the :class:`~genlab.runner.Task`; the worker lands it in a temporary folder of its own,
runs :func:`~genlab.runner.run_task` there, and sends every file of the folder back through Ray's
object store. The driver writes them into the run's folder under the folder's lock, each file
atomically, ``status.json`` last: the folder says ``complete`` only once every file is in place,
wherever the run was made. Per task, Ray reserves as many CPUs as the experiment's ``threads``
(1 when it has none); ``--quiet`` goes with every task.
"""
from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from genlab.errors import GenlabError
from genlab.io import atomic_write_bytes, check_writable
from genlab.runs.lock import LOCK_NAME, RunLock

STATUS = "status.json"


def pack(folder: Path | str) -> dict[str, bytes]:
    """Every file of a run folder by its relative path (the lock and temporaries left out)."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != LOCK_NAME and not (p.name.startswith(".") and p.name.endswith(".tmp"))}


def land(files: dict[str, bytes], folder: Path | str) -> None:
    """Make ``folder`` hold exactly ``files`` (as :func:`pack` gives them), under its lock; each file
    atomically, files it no longer has removed, ``status.json`` last."""
    folder = Path(folder)
    for rel in files:
        p = PurePosixPath(rel)
        if p.is_absolute() or ".." in p.parts or not p.parts:
            raise GenlabError(f"a shipped run names the file {rel!r}, outside its folder; nothing of it was written")
    check_writable(folder)
    with RunLock(folder):
        for rel, data in files.items():
            if rel != STATUS:
                atomic_write_bytes(folder / rel, data)
        for p in sorted(folder.rglob("*"), reverse=True):  # deepest first: emptied folders go too
            rel = p.relative_to(folder).as_posix()
            if p.is_file() and rel not in files and p.name != LOCK_NAME:
                p.unlink()
            elif p.is_dir() and not any(p.iterdir()):
                p.rmdir()
        if STATUS in files:
            atomic_write_bytes(folder / STATUS, files[STATUS])


def task_threads(task: Any) -> int:
    """The CPUs a run takes: its config's ``threads`` (1 for experiments without one)."""
    from genlab.experiments import get
    cfg = get(task.experiment).config_for(task.scale, task.seed, list(task.overrides))
    return max(1, int(getattr(cfg, "threads", None) or 1))


def run_shipped(item: tuple[Any, dict[str, bytes], int]) -> dict:
    """Worker: the run into a temporary folder (resuming what was shipped), its files back with the result."""
    import torch

    from genlab.runner import run_task
    task, files, threads = item
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory(prefix="genlab-") as tmp:
        local = Path(tmp) / (Path(task.folder).name or "run")
        if files:
            land(files, local)
        result = run_task(task._replace(folder=str(local)))
        result["error"] = result["error"].replace(str(local), task.folder)
        result["folder"], result["files"] = task.folder, pack(local)
    return result


def run_on_ray(ray: Any, tasks: list, call: Any) -> list[dict]:
    """Driver: every task as a Ray task; each finished run written into its folder as it comes back."""
    from genlab.runtime import is_quiet
    items = [(t, pack(t.folder), task_threads(t)) for t in tasks]
    cpus = int(ray.cluster_resources().get("CPU", 0))
    most = max((n for _, _, n in items), default=1)
    if most > cpus:
        raise GenlabError(f"a run asks for threads={most} but the Ray cluster has {cpus} CPUs; "
                          f"give threads={max(cpus, 1)} or fewer, or a larger cluster with --address")
    remote = ray.remote(call)
    refs = {remote.options(num_cpus=n).remote(run_shipped, (t, f, n), is_quiet()): i
            for i, (t, f, n) in enumerate(items)}
    del items  # the shipped folders now live in the object store
    out: list[Any] = [None] * len(tasks)
    pending = list(refs)
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            result = ray.get(done[0])
            files = result.pop("files")
            if files:
                land(files, result["folder"])
            out[refs[done[0]]] = result
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    return out
