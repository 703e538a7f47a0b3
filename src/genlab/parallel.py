"""Local worker processes: the one place genlab runs independent work in parallel.

``parallel_map(fn, items, workers)`` runs ``fn(item)`` for each item in
``workers`` spawned processes (each limited to ``threads`` intra-op threads so
2 workers on 2 cores do not oversubscribe) and returns results in order.
``fn`` must be importable (a module-level function). With ``workers=1`` it
runs in-process, which is also what tests use. Sweeps and landscape grids
build on this; a Ray backend can replace it behind the same signature.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from typing import Any, Callable, Iterable

from tqdm.auto import tqdm

from genlab.runtime import is_quiet, progress_disabled, set_quiet


def _init_worker(threads: int, quiet: bool):
    import torch
    os.environ["OMP_NUM_THREADS"] = str(threads)
    torch.set_num_threads(threads)
    set_quiet(quiet)


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def parallel_map(fn: Callable[[Any], Any], items: Iterable[Any], workers: int | None = None, threads: int = 1,
                 progress: bool | None = None, desc: str = "work") -> list[Any]:
    items = list(items)
    workers = default_workers() if workers is None else max(1, int(workers))
    if workers == 1 or len(items) <= 1:
        return [fn(it) for it in tqdm(items, desc=desc, disable=progress_disabled(progress), leave=False)]
    out: list[Any] = [None] * len(items)
    with ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=get_context("spawn"),
                             initializer=_init_worker, initargs=(threads, is_quiet())) as ex:
        futs = {ex.submit(fn, it): i for i, it in enumerate(items)}
        for f in tqdm(as_completed(futs), total=len(futs), desc=desc, leave=False,
                      disable=progress_disabled(progress)):
            out[futs[f]] = f.result()
    return out
