"""Time the frequency-principle family at quick scale: ``python benchmarks/bench_fp.py``.

Runs ``genlab reproduce --quick --only frequency-principle`` into a fresh
temporary atlas folder (the same path ``genlab reproduce`` takes), and prints
the wall and CPU time in all, the wall time per experiment (from each run's ``wall_seconds``
metric, which excludes figure drawing), plus the verdicts.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


def main() -> int:
    from genlab.cli import main as genlab
    from genlab.runs import Run
    with tempfile.TemporaryDirectory(prefix="bench_fp_") as d:
        t0, c0 = time.perf_counter(), time.process_time()
        rc = genlab(["reproduce", "--quick", "--only", "frequency-principle", "--out", d, "--quiet"])
        total, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"\nreproduce --quick --only frequency-principle: {total:.1f} s wall, {cpu:.1f} s CPU of this process (exit {rc})")
        print(f"{'experiment':<20} {'train+measure s':>16}  verdicts")
        for run_dir in sorted((Path(d) / "runs").iterdir()):
            r = Run(run_dir)
            v = [c["verdict"] for c in r.claims]
            print(f"{run_dir.name:<20} {r.scalar('wall_seconds'):>16.1f}  {v.count('holds')} hold, "
                  f"{v.count('fails')} fail, {v.count('inconclusive')} inconclusive")
        print(f"machine: {os.cpu_count()} CPUs; load average at the end {os.getloadavg()[0]:.1f}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
