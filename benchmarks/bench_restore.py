"""`genlab restore` end to end on a noisy colour image, against the paper network's peak on the same image.

    python benchmarks/bench_restore.py --size 512 --reference /work/paper512/curve.json --paper-s-per-iter 7.49 \
        -- --time-budget 580
    python benchmarks/bench_restore.py --size 256 -- --ensemble 1 --tile 0

Writes astronaut (resized to --size, sigma 25/255, seed 0: the image of
bench_dip.py and dip_curves.py) and its clean version as PNGs in a temporary
folder, runs ``genlab restore NOISY -o OUT --reference CLEAN --quiet`` plus
the arguments after ``--`` in a subprocess, samples the resident memory of
that process and of its worker processes together every 0.2 s, and prints
the wall time (Python's start included), the PSNR restore reports, the peak
of the summed memory and, with ``--reference`` (a curve.json from
``dip_curves.py run=DIR`` or a ``bench_dip.py --save-curve`` file), the gap
to that curve's peak.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (Linux /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += int(next(ln for ln in Path(f"/proc/{p}/status").read_text().splitlines()
                              if ln.startswith("VmRSS:")).split()[1]) * 1024
            for t in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (t / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            pass
    return total


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--reference", help="curve.json of the paper network on the same image and size")
    ap.add_argument("--paper-s-per-iter", type=float, default=None,
                    help="the paper configuration's seconds per iteration here (bench_dip.py --configs paper): "
                         "prints its time to within 0.3 dB of its peak and the ratio")
    a = ap.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    import numpy as np

    from genlab.data.images import save_image
    from genlab.experiments.deep_image_prior.common import square_image
    from genlab.physics import GaussianNoise
    ref_peak = None
    if a.reference:
        try:
            ref = json.loads(Path(a.reference).read_text())
            ref["curve_psnr"], ref["curve_steps"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise SystemExit(f"--reference {a.reference}: not a curve.json from dip_curves.py run=DIR "
                             f"or bench_dip.py --save-curve ({e})") from None
        if ref.get("size") != a.size:
            raise SystemExit(f"{a.reference} is a {ref.get('size')} px curve; run with --size {ref.get('size')}")
        ref_peak = max(ref["curve_psnr"])
        band = next(st for st, q in zip(ref["curve_steps"], ref["curve_psnr"]) if q >= ref_peak - 0.3)
    clean = square_image("astronaut", a.size, 32)
    noisy = GaussianNoise(25 / 255).corrupt(clean, np.random.default_rng(0))
    with tempfile.TemporaryDirectory() as d:
        save_image(clean, f"{d}/clean.png")
        save_image(noisy, f"{d}/noisy.png")
        cmd = [sys.executable, "-m", "genlab", "restore", f"{d}/noisy.png", "-o", f"{d}/out.png",
               "--reference", f"{d}/clean.png", "--quiet", *extra]
        t0, peak = time.perf_counter(), 0
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        while p.poll() is None:
            peak = max(peak, tree_rss(p.pid))
            time.sleep(0.2)
        wall, out = time.perf_counter() - t0, p.stdout.read()
    if p.returncode:
        raise SystemExit(f"genlab restore failed (exit {p.returncode})")
    print(out.strip())
    got = float(re.search(r"PSNR ([0-9.]+) dB", out).group(1))
    row = {"size": a.size, "args": " ".join(extra), "wall_s": round(wall, 1), "psnr": got,
           "peak_rss_gb_summed": round(peak / 1e9, 2)}
    if ref_peak is not None:
        row.update(paper_peak=round(ref_peak, 2), gap_db=round(ref_peak - got, 2), within_0_3=ref_peak - got <= 0.3,
                   paper_band_step=band)
        if a.paper_s_per_iter:  # not the reference's own s/iter: a resumed curve times only its last part
            spi = a.paper_s_per_iter
            row.update(paper_s_per_iter=spi, paper_time_to_band_s=round(band * spi), ratio=round(band * spi / wall, 1))
    print(json.dumps(row))
    return row


if __name__ == "__main__":
    main()
