"""Local worker processes: the one place genlab runs independent work in parallel.

``parallel_map(fn, items, workers)`` runs ``fn(item)`` for each item in
``workers`` spawned processes (each limited to ``threads`` intra-op threads so
2 workers on 2 cores do not oversubscribe) and returns results in order.
``fn`` must be importable (a module-level function). With ``workers=1`` it
runs in-process, which is also what tests use. Landscape grids build on it
directly; runs (``genlab reproduce``, ``genlab sweep``) go through a
:class:`Backend`: :class:`LocalBackend` is this pool, :class:`RayBackend` the
same work as Ray tasks.
"""
from __future__ import annotations

import contextlib
import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

from tqdm.auto import tqdm

from genlab.errors import GenlabError
from genlab.runtime import is_quiet, progress_disabled, set_quiet


def _init_worker(threads: int, quiet: bool):
    # Workers start with SIGINT blocked (see _spawning): Ctrl-C goes to the parent alone, which stops
    # the workers with SIGTERM; from here on that is a KeyboardInterrupt, so a run is marked interrupted.
    signal.signal(signal.SIGTERM, _interrupt)
    import torch
    os.environ["OMP_NUM_THREADS"] = str(threads)
    torch.set_num_threads(threads)
    set_quiet(quiet)


_IN_TASK = False


def _interrupt(signum, frame):
    if not _IN_TASK:  # idle, or still starting: nothing to record
        os._exit(130)
    raise KeyboardInterrupt


def _in_worker(fn: Callable[[Any], Any], item: Any) -> Any:
    global _IN_TASK
    _IN_TASK = True
    try:
        return fn(item)
    except KeyboardInterrupt:  # stopped by the parent: the run has recorded it; leave without a traceback
        os._exit(130)
    finally:
        _IN_TASK = False


@contextlib.contextmanager
def _spawning():
    """SIGINT blocked while worker processes are started: they inherit the mask (across exec too) and
    never see Ctrl-C, so none prints a traceback from the middle of importing torch; a Ctrl-C in
    this window is delivered to the parent when it ends."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _stop(ex: ProcessPoolExecutor, grace: float = 10.0) -> None:
    """Stop the workers now (SIGTERM: each marks its run interrupted), without waiting for their work."""
    procs = list(getattr(ex, "_processes", {}).values())  # the executor has no public handle on them
    for p in procs:
        with contextlib.suppress(OSError):
            p.terminate()
    deadline = time.monotonic() + grace
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
    ex.shutdown(wait=False, cancel_futures=True)


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def parallel_map(fn: Callable[[Any], Any], items: Iterable[Any], workers: int | None = None, threads: int = 1,
                 progress: bool | None = None, desc: str = "work") -> list[Any]:
    items = list(items)
    workers = default_workers() if workers is None else max(1, int(workers))
    if workers == 1 or len(items) <= 1:
        return [fn(it) for it in tqdm(items, desc=desc, disable=progress_disabled(progress), leave=False)]
    out: list[Any] = [None] * len(items)
    ex = ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=get_context("spawn"),
                             initializer=_init_worker, initargs=(threads, is_quiet()))
    try:
        with _spawning():  # the pool starts its processes as work is submitted
            futs = {ex.submit(_in_worker, fn, it): i for i, it in enumerate(items)}
        for f in tqdm(as_completed(futs), total=len(futs), desc=desc, leave=False,
                      disable=progress_disabled(progress)):
            out[futs[f]] = f.result()
    except KeyboardInterrupt:
        _stop(ex)
        raise
    except BaseException:
        ex.shutdown(cancel_futures=True)
        raise
    ex.shutdown()
    return out


class Backend(Protocol):
    """Runs ``fn(item)`` for every item, returns the results in order."""

    def map(self, fn: Callable[[Any], Any], items: list) -> list: ...

    def run_tasks(self, tasks: list) -> list[dict]:
        """:func:`genlab.runner.run_task` for each task, each run ending in its folder on this machine."""
        ...


class LocalBackend:
    """:func:`parallel_map` in local worker processes (``workers=1``: in this process)."""

    def __init__(self, workers: int | None = None, threads: int = 1, progress: bool | None = None, desc: str = "sweep"):
        self.workers, self.threads, self.progress, self.desc = workers, threads, progress, desc

    def map(self, fn, items):
        return parallel_map(fn, items, workers=self.workers, threads=self.threads, progress=self.progress, desc=self.desc)

    def run_tasks(self, tasks):
        from genlab.runner import run_task
        return self.map(run_task, tasks)


class RayBackend:
    """Each item as a Ray task (``pip install genlab[ray]``), on the cluster at ``address`` or a local one
    started here; runs come back to this process through Ray's object store (:mod:`genlab.remote`)."""

    def __init__(self, address: str | None = None, threads: int = 1):
        try:
            import ray
        except ImportError:
            raise GenlabError("the ray backend needs Ray, an optional extra: pip install 'genlab[ray]'") from None
        self.ray, self.threads = ray, threads
        if not ray.is_initialized():
            # a local cluster's workers import the genlab this process runs (a source tree on PYTHONPATH too)
            src = str(Path(__file__).resolve().parents[1])
            env = {"env_vars": {"PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}}
            try:
                _reachable(address)
                ray.init(address=address, runtime_env=None if address else env, log_to_driver=not is_quiet(),
                         logging_level="ERROR")
            except (OSError, RuntimeError, ValueError) as e:
                raise GenlabError(f"cannot reach the Ray cluster at --address {address}: {str(e).splitlines()[0]}; "
                                  "start one with ray start --head, or leave out --address for a local one") from None

    def map(self, fn, items):
        task = self.ray.remote(num_cpus=self.threads)(_call)
        return self.ray.get([task.remote(fn, it, is_quiet()) for it in items])

    def run_tasks(self, tasks):
        from genlab.remote import run_on_ray
        return run_on_ray(self.ray, tasks, _call)


def _reachable(address: str | None) -> None:
    """A host:port address answers (Ray itself retries an unreachable one for minutes)."""
    import socket
    host, _, port = (address or "").rpartition(":")
    if host and port.isdigit() and "://" not in host:
        socket.create_connection((host, int(port)), timeout=5).close()


def _call(fn, item, quiet: bool):
    """A Ray task: ``fn(item)`` with the driver's --quiet (Ray workers do not run :func:`_init_worker`)."""
    set_quiet(quiet)
    return fn(item)


BACKENDS = {"local": LocalBackend, "ray": RayBackend}


def add_backend_arguments(p) -> None:
    """``--backend local|ray`` and ``--address`` (``genlab sweep``, ``genlab reproduce``)."""
    p.add_argument("--backend", choices=list(BACKENDS), default="local",
                   help="local worker processes, or Ray tasks (pip install 'genlab[ray]')")
    p.add_argument("--address", default=None,
                   help="with --backend ray: the cluster to join (ray start --head prints it; default: start a local one)")


def make_backend(args, **local) -> Backend:
    """The backend ``args`` ask for; ``local``: LocalBackend's keywords. ``--address`` without ray is a usage error."""
    if args.backend == "ray":
        return RayBackend(args.address)
    if args.address is not None:
        raise GenlabError(f"--address {args.address} is for the Ray backend; add --backend ray, or leave out --address")
    return LocalBackend(**local)
