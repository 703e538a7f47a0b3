"""Time and memory of a whole atlas: ``genlab reproduce`` end to end.

    python benchmarks/bench_atlas.py --out atlas-default            # default scale
    python benchmarks/bench_atlas.py --out atlas-quick --quick

Prints the wall time, the CPU seconds of all workers, the peak resident memory summed over the
process tree (sampled by :func:`bench_restore.measure`) and the claims' verdicts. The default atlas's
target is at most 60 minutes and under 8 GB on 2 cores (benchmarks/RESULTS.md has the measurements).
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_restore import measure  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="atlas folder (a complete one is kept: use a new one)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    cmd = [sys.executable, "-m", "genlab", "reproduce", "--out", str(a.out), "--quiet", "--workers", str(a.workers)]
    _, wall, cpu, peak = measure(cmd + (["--quick"] if a.quick else []))
    verdicts = collections.Counter(c["verdict"] for f in sorted(a.out.glob("runs/*/claims.json"))
                                   for c in json.loads(f.read_text()))
    print(f"{'quick' if a.quick else 'default'} atlas: {wall / 60:.1f} min wall, {cpu / 60:.1f} CPU-min, "
          f"peak {peak / 2**30:.2f} GiB (all processes); claims {dict(verdicts)}")


if __name__ == "__main__":
    main()
