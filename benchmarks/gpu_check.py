"""Every experiment at quick scale on CUDA against the CPU: claims compared, wall times recorded.

Run on a machine with an NVIDIA GPU (CI has none, so this is the only check of the CUDA path)::

    PYTHONPATH=src python benchmarks/gpu_check.py                  # every experiment
    PYTHONPATH=src python benchmarks/gpu_check.py --only fp-1d --only dip-denoise --out gpu-check

Each experiment runs at quick scale, seed 0, once with ``device="cpu"`` into ``OUT/cpu/runs/<id>`` and once
with ``device="cuda"`` into ``OUT/cuda/runs/<id>`` (:func:`genlab.execution.execute`; complete runs are kept,
so a second call only redoes what is missing). For every claim it prints the two values, their relative
difference and both verdicts; per experiment the wall seconds of each run (the run's own ``wall_seconds``).
The table is also written as a markdown section (``--md``, default ``OUT/gpu_check.md``) to paste into
benchmarks/RESULTS.md. Float32 on both (TF32 off on CUDA), but kernels differ, so values may differ in the
last digits and chaotic training runs more; a verdict that changes is what to look at.

Exit status: 0 when every verdict agrees, 1 when one differs or a run failed, 2 (one line) without CUDA.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

from genlab.errors import GenlabError
from genlab.execution import execute
from genlab.experiments import get
from genlab.runner import select
from genlab.runs import Run
from genlab.runtime import device_info, set_quiet, use_device

DEVICES = ("cpu", "cuda")


def run_one(exp_id: str, dev: str, out: Path, seed: int) -> dict:
    """One quick run on ``dev``: its claims by id, wall seconds and error (empty when it completed)."""
    exp, folder = get(exp_id), out / dev / "runs" / exp_id
    t0 = time.perf_counter()
    try:
        execute(exp, exp.config_for("quick", seed), folder, scale="quick", device=dev)
        error = ""
    except Exception as e:  # noqa: BLE001 - one broken run must not stop the check of the others
        error = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    run = Run(folder)
    walls = [v for _, name, _, v in run.metrics if name == "wall_seconds"] if run.exists else []
    return {"claims": {c["id"]: c for c in (run.claims if run.exists else [])}, "error": error,
            "seconds": walls[-1] if walls else time.perf_counter() - t0}


def rel_diff(a, b) -> float:
    if a is None or b is None:
        return math.nan
    a, b = float(a), float(b)
    if a == b:
        return 0.0
    return abs(a - b) / max(abs(a), abs(b), 1e-12)


def compare(exp_id: str, res: dict[str, dict]) -> list[dict]:
    cpu, gpu = res["cpu"]["claims"], res["cuda"]["claims"]
    rows = []
    for cid in dict.fromkeys([*cpu, *gpu]):
        c, g = cpu.get(cid, {}), gpu.get(cid, {})
        rows.append({"experiment": exp_id, "claim": cid, "cpu": c.get("value"), "cuda": g.get("value"),
                     "rel_diff": rel_diff(c.get("value"), g.get("value")), "cpu_verdict": c.get("verdict", "-"),
                     "cuda_verdict": g.get("verdict", "-"), "same": c.get("verdict") == g.get("verdict")})
    return rows


def fmt(v) -> str:
    return "-" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)


def markdown(rows: list[dict], times: dict[str, dict[str, float]], errors: list[str], name: str) -> str:
    same = sum(r["same"] for r in rows)
    lines = [f"## GPU check: quick scale, seed 0, CPU against {name} ({time.strftime('%Y-%m-%d')})", "",
             f"`PYTHONPATH=src python benchmarks/gpu_check.py`: {same} of {len(rows)} verdicts agree; "
             f"{len(errors)} run(s) failed.", "",
             "| experiment | claim | CPU value | CUDA value | rel. diff | CPU verdict | CUDA verdict |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['experiment']} | {r['claim']} | {fmt(r['cpu'])} | {fmt(r['cuda'])} | {fmt(r['rel_diff'])} | "
              f"{r['cpu_verdict']} | {r['cuda_verdict']}{'' if r['same'] else ' (differs)'} |" for r in rows]
    lines += ["", "| experiment | CPU s | CUDA s | CPU / CUDA |", "|---|---|---|---|"]
    lines += [f"| {e} | {t['cpu']:.1f} | {t['cuda']:.1f} | {t['cpu'] / max(t['cuda'], 1e-9):.2f} |"
              for e, t in times.items()]
    lines += [f"- failed: {e}" for e in errors]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", action="append", default=None, metavar="ID", help="an experiment id or family; repeatable")
    p.add_argument("--out", type=Path, default=Path("gpu-check"), help="folder for the runs (default ./gpu-check)")
    p.add_argument("--md", type=Path, default=None, help="markdown section (default OUT/gpu_check.md)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if not torch.cuda.is_available():  # before anything is written
        print("gpu_check: no CUDA device here (torch.cuda.is_available() is False); run it on a machine with an "
              "NVIDIA GPU and a CUDA build of torch", file=sys.stderr)
        return 2
    try:
        ids = select(args.only)
    except GenlabError as e:
        print(f"gpu_check: {e}", file=sys.stderr)
        return 2
    set_quiet()
    with use_device("cuda"):
        name = device_info()["device_name"]
    rows, times, errors = [], {}, []
    for i, exp_id in enumerate(ids, 1):
        res = {dev: run_one(exp_id, dev, args.out, args.seed) for dev in DEVICES}
        errors += [f"{exp_id} on {d}: {res[d]['error']}" for d in DEVICES if res[d]["error"]]
        times[exp_id] = {d: res[d]["seconds"] for d in DEVICES}
        rows += compare(exp_id, res)
        print(f"[{i}/{len(ids)}] {exp_id}: cpu {times[exp_id]['cpu']:.1f} s, cuda {times[exp_id]['cuda']:.1f} s",
              file=sys.stderr, flush=True)
    print(f"{'experiment':28} {'claim':34} {'cpu':>10} {'cuda':>10} {'rel.diff':>9}  verdicts")
    for r in rows:
        print(f"{r['experiment']:28} {r['claim']:34} {fmt(r['cpu']):>10} {fmt(r['cuda']):>10} "
              f"{fmt(r['rel_diff']):>9}  {r['cpu_verdict']}/{r['cuda_verdict']}{'' if r['same'] else '  DIFFERS'}")
    for e in errors:
        print(f"failed: {e}")
    md = args.md or args.out / "gpu_check.md"
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(markdown(rows, times, errors, name))
    same = sum(r["same"] for r in rows)
    print(f"{same} of {len(rows)} verdicts agree, {len(errors)} run(s) failed; markdown: {md}")
    return 0 if same == len(rows) and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
