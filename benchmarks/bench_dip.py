"""Speed and memory of DIP denoising on a CPU: the paper's configuration vs `genlab restore`'s network.

``restore`` here is one fit of the whole image with restore's network and
settings (swift, bf16): restore's default before session 5. Its default now
fits 256-px windows with 2 networks each in parallel workers; time that end
to end with ``benchmarks/bench_restore.py``.

Each configuration runs in its own subprocess (so its peak resident memory,
ru_maxrss from os.wait4, is its own) on the same noisy colour image
(astronaut, sigma = 25/255), and reports seconds per iteration (median after 2
warm-up steps). With ``--steps N`` large enough to pass the peak it also
reports the PSNR curve and the time to come within 0.3 dB of the paper
configuration's peak.

    python benchmarks/bench_dip.py --size 512 --iters 10            # s/iter and memory only
    python benchmarks/bench_dip.py --size 256 --iters 10 --variants  # allocator / channels_last / bf16 levers
    python benchmarks/bench_dip.py --size 128 --steps 2000            # whole curves (long)

The paper configuration's whole curve at 512x512 takes hours on 2 CPU cores;
on a GPU it takes minutes, and it can be computed once and reused:

    python benchmarks/bench_dip.py --size 512 --steps 3000 --configs paper \
        --device cuda --save-curve paper512.json                      # on a GPU machine
    python benchmarks/bench_dip.py --size 512 --steps 2000 --configs restore \
        --reference paper512.json                                      # here, on the CPU
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

CONFIGS = {
    "paper": {"net": "paper", "tune": False, "bf16": False, "channels_last": False},
    "paper+alloc": {"net": "paper", "tune": True, "bf16": False, "channels_last": False},
    "paper+alloc+cl": {"net": "paper", "tune": True, "bf16": False, "channels_last": True},
    "paper+alloc+bf16": {"net": "paper", "tune": True, "bf16": True, "channels_last": True},
    "fast": {"net": "fast", "tune": True, "bf16": False, "channels_last": False},
    "fast+bf16": {"net": "fast", "tune": True, "bf16": True, "channels_last": True},
    "lite": {"net": "lite", "tune": True, "bf16": False, "channels_last": False},
    "lite+bf16": {"net": "lite", "tune": True, "bf16": True, "channels_last": True},
    "decoder": {"net": "decoder", "tune": True, "bf16": False, "channels_last": False},
}


def _restore_default() -> dict:
    """`genlab restore`'s network, precision and settings on the whole image (``--tile 0 --ensemble 1``)."""
    from genlab.dip import TASKS
    from genlab.dip.runtime import use_bf16
    bf16 = use_bf16("auto", 512 * 512)
    return {"net": TASKS["denoise"].net, "tune": True, "bf16": bf16, "channels_last": bf16, "settings": "restore"}


CONFIGS["restore"] = _restore_default()
for _k in (2, 3):  # `genlab restore --ensemble K`
    CONFIGS[f"restore+ens{_k}"] = {**CONFIGS["restore"], "members": _k}


def worker(cfg: dict) -> dict:
    import os

    from genlab.runtime import tune_allocator
    if cfg["tune"]:
        tune_allocator(large_buffers=True)  # before the first large allocation
    else:
        os.environ["GENLAB_MALLOC"] = "0"  # the untuned baseline: train() must not tune either
    from dataclasses import replace

    import numpy as np

    from genlab.dip import PAPER_FIT, PRESETS, Runtime, fit
    from genlab.experiments.deep_image_prior.common import square_image
    from genlab.physics import GaussianNoise
    from genlab.train import Callback

    class Clock(Callback):
        at_start = False

        def __init__(self):
            self.t = [time.perf_counter()]

        def __call__(self, state):
            self.t.append(time.perf_counter())

    preset = PRESETS[cfg["net"]].fit
    spec = replace(preset.net, members=cfg.get("members", 1))
    clean = square_image("astronaut", cfg["size"], spec.multiple)
    ph = GaussianNoise(25 / 255)
    y = ph.corrupt(clean, np.random.default_rng(0))
    clock = Clock()
    steps = cfg["steps"] or cfg["iters"] + 2
    # the paper's lr and input jitter unless the config is restore's, which uses its net's settings
    settings = preset if cfg.get("settings") == "restore" else PAPER_FIT
    device = cfg.get("device", "cpu")
    r = fit(y, ph, replace(settings, net=spec, steps=steps), clean=clean if cfg["steps"] else None,
            callbacks=[clock], record_every=10,
            runtime=Runtime(threads=cfg["threads"], bf16=cfg["bf16"],
                            channels_last=cfg["channels_last"] and device == "cpu", device=device))
    dt = np.diff(clock.t)
    out = {"s_per_iter": float(np.median(dt[2:])) if len(dt) > 2 else float(dt.mean()), "steps": int(len(dt))}
    if cfg["steps"]:
        h = r.history
        out["curve_steps"] = h.steps("psnr_avg").tolist()
        out["curve_psnr"] = h.values("psnr_avg").tolist()
        out["curve_time"] = [float(clock.t[s] - clock.t[0]) for s in out["curve_steps"]]
    return out


def run_config(name: str, a) -> dict:
    cfg = {**CONFIGS[name], "size": a.size, "iters": a.iters, "steps": a.steps, "threads": a.threads,
           "device": a.device}
    if a.device != "cpu":
        cfg["bf16"] = False  # a reference curve on a GPU: the paper's fp32
    p = subprocess.Popen([sys.executable, __file__, "--worker", json.dumps(cfg)], stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "TQDM_DISABLE": "1"})
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    if status != 0:
        raise SystemExit(f"{name} failed (status {status})")
    res = json.loads(out.strip().splitlines()[-1])
    res.update(name=name, peak_rss_gb=ru.ru_maxrss * 1024 / 1e9, size=a.size, threads=a.threads, device=a.device)
    return res


def time_within(res: dict, target: float, tol: float = 0.3):
    for s, p, t in zip(res.get("curve_steps", []), res.get("curve_psnr", []), res.get("curve_time", [])):
        if p >= target - tol:
            return s, t
    return None, None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--iters", type=int, default=10, help="timed iterations (after 2 warm-up steps)")
    ap.add_argument("--steps", type=int, default=0, help="run whole curves of this many steps (with PSNR)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--variants", action="store_true", help="also the allocator / channels_last / bf16 variants")
    ap.add_argument("--configs", nargs="+", default=None, choices=list(CONFIGS))
    ap.add_argument("--device", default="cpu", help="cuda: run the configs on a GPU in fp32 (reference curves)")
    ap.add_argument("--save-curve", help="write the first config's result (with its curve) to this JSON file")
    ap.add_argument("--reference", help="a JSON file from --save-curve: the curve whose peak the others are timed to")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(worker(json.loads(a.worker))))
        return
    names = a.configs or (list(CONFIGS) if a.variants else ["paper", "restore"])
    ref = None
    if a.reference:  # checked before any config runs
        try:
            with open(a.reference) as f:
                ref = json.load(f)
            ref["curve_psnr"], ref["size"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise SystemExit(f"--reference {a.reference}: not a curve from --save-curve ({e}); "
                             "make one with --steps N --save-curve FILE") from None
        if ref.get("size") != a.size:
            raise SystemExit(f"{a.reference} is a {ref.get('size')} px curve; run with --size {ref.get('size')}")
    rows = [run_config(n, a) for n in names]
    if a.save_curve:
        from pathlib import Path

        from genlab.io import atomic_write_json
        atomic_write_json(Path(a.save_curve), rows[0])  # a killed run leaves no half-written curve
    if ref is not None:
        rows.insert(0, {**ref, "name": f"{ref['name']} ({a.reference})"})
    base = rows[0]
    peak = max(base["curve_psnr"]) if base.get("curve_psnr") else None
    print(f"DIP denoising, astronaut {a.size}x{a.size} RGB, sigma 25/255, {a.threads} threads")
    print(f"{'config':<18} {'s/iter':>8} {'x faster':>9} {'peak RSS GB':>12} {'peak dB':>8} {'to peak-0.3 dB':>16}")
    def num(v, spec):  # a reference curve from dip_curves.py has no time or memory: "-"
        return "-" if v is None else format(v, spec)

    for r in rows:
        extra = ""
        if peak is not None:
            s, t = time_within(r, peak)
            when = "-" if "curve_time" not in r else "never" if s is None else f"{t:.0f} s (it {s})"
            extra = f"{max(r['curve_psnr']):8.2f} {when:>16}"
        spi, b = r.get("s_per_iter"), base.get("s_per_iter")
        print(f"{r['name']:<18} {num(spi, '.3f'):>8} {num(b / spi if b and spi else None, '.2f'):>9} "
              f"{num(r.get('peak_rss_gb'), '.2f'):>12} {extra}")
    print(json.dumps(rows if not a.steps else [{k: v for k, v in r.items() if not k.startswith("curve")} for r in rows]))


if __name__ == "__main__":
    main()
