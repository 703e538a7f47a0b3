"""Time and memory of a whole atlas: ``genlab reproduce`` end to end.

    python benchmarks/bench_atlas.py --out atlas-default            # default scale
    python benchmarks/bench_atlas.py --out atlas-quick --quick
    python benchmarks/bench_atlas.py --count atlas-default   # only the k of N the atlas shows (no run)

Prints the wall time, the CPU seconds of all workers, the peak resident memory summed over the
process tree (sampled by :func:`bench_restore.measure`) and the claims' verdicts. The default atlas's
target is at most 60 minutes and under 8 GB on 2 cores (benchmarks/RESULTS.md has the measurements).
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_restore import measure  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="atlas folder (a complete one is kept: use a new one)")
    ap.add_argument("--count", type=Path, help="an atlas folder: print the k of N it shows, run nothing")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    if not (a.out or a.count):
        ap.error("give --out (an atlas to make) or --count (an atlas to read)")
    if a.out:
        cmd = [sys.executable, "-m", "genlab", "reproduce", "--out", str(a.out), "--quiet", "--workers", str(a.workers)]
        _, wall, cpu, peak = measure(cmd + (["--quick"] if a.quick else []))
        verdicts = collections.Counter(c["verdict"] for f in sorted(a.out.glob("runs/*/claims.json"))
                                       for c in json.loads(f.read_text()))
        print(f"{'quick' if a.quick else 'default'} atlas: {wall / 60:.1f} min wall, {cpu / 60:.1f} CPU-min, "
              f"peak {peak / 2**30:.2f} GiB (all processes); claims {dict(verdicts)}")
    n = k_of_n_counts(a.out or a.count)
    shown = [x for x in n.values() if x is not None]
    print(f"k of N shown for {len(shown)} of {len(n)} claims; N >= 5 for {sum(x >= 5 for x in shown)}; "
          f"the smallest N: {min(shown, default=None)}")
    for name, x in n.items():
        if x is None or x < 5:
            print(f"  {name}: N = {x}")


def k_of_n_counts(atlas: Path) -> dict[str, int | None]:
    """'experiment/claim' -> the N of the k/N the atlas shows beside it (None: none shown)."""
    from genlab.report import atlas_context
    ctx = atlas_context(sorted(p.parent for p in atlas.glob("runs/*/config.json")), atlas, "n")
    out: dict[str, int | None] = {}
    for sec in ctx["sections"]:
        for row in sec["rows"]:
            m = re.search(r"(\d+)/(\d+)", row["kn"])
            out[f"{sec['id']}/{row['id']}"] = int(m.group(2)) if m else None
    return out


if __name__ == "__main__":
    main()
