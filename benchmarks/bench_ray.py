"""Overhead per task of the Ray backend against the local pool: the same N-run sweep of a cheap experiment.

Run: ``PYTHONPATH=src python benchmarks/bench_ray.py [N]``. Both backends get 2 workers (Ray: a local
cluster with num_cpus=2, started before the clock; its start is timed apart), and one in-process sweep
is the work itself. Each sweep goes into a fresh folder; the overhead per task is (ray - local) / N wall
seconds, for Ray's first sweep (workers import torch) and its second (Ray keeps its workers; the pool does not).
"""
import os
import sys
import tempfile
import time
from pathlib import Path

import ray

from genlab.parallel import LocalBackend, RayBackend
from genlab.runtime import set_quiet
from genlab.sweep import sweep


def main(n: int = 8) -> None:
    set_quiet()
    grid = [f"seed={','.join(map(str, range(n)))}", "train_steps=60", "n_trained=2", "n_lam=5", "grid=21"]
    t = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
             runtime_env={"env_vars": {"PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}})
    start = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        wall = {}
        for name, backend in (("in-process", LocalBackend(workers=1)), ("local", LocalBackend(workers=2)),
                              ("ray", RayBackend()), ("local", LocalBackend(workers=2)), ("ray", RayBackend())):
            t = time.perf_counter()
            rows, _ = sweep("cheap-multiplication", grid, "quick", Path(tmp) / f"{name}{len(wall)}", backend)
            assert all(r["status"] == "complete" for r in rows)
            wall.setdefault(name, []).append(time.perf_counter() - t)
    ray.shutdown()
    loc, (cold, warm) = min(wall["local"]), wall["ray"]
    print(f"{n} runs of cheap-multiplication (quick, train_steps=60 n_trained=2 n_lam=5 grid=21), 2 workers, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  ray local cluster start: {start:.1f} s")
    print("  sweep wall s: " + "; ".join(f"{k} {', '.join(f'{x:.1f}' for x in v)}" for k, v in wall.items()))
    print(f"  per task: in-process (1 worker) {wall['in-process'][0] / n:.2f} s, local pool {loc / n:.2f} s, "
          f"ray first sweep {cold / n:.2f} s, ray second sweep (workers warm) {warm / n:.2f} s")
    print(f"  ray against the local pool: {(cold - loc) / n:+.2f} s per task (first), {(warm - loc) / n:+.2f} s (second)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8)
