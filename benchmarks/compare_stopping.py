"""Which automatic stop lands closest to the oracle peak PSNR? ES-WMV vs held-out pixels.

For each image: add Gaussian noise (sigma = 25/255), fit with each rule running
*passively* (the fit goes on to ``--steps`` so the oracle peak of the averaged
output is known), and record the iterate the rule would have returned when it
first asked to stop. Gap = oracle peak PSNR - PSNR of that iterate.

    python benchmarks/compare_stopping.py --size 64 --steps 1000 --images chelsea astronaut coffee camera

Prints one JSON line per (image, rule) and a summary; ``--out FILE`` appends the lines.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import numpy as np

from genlab.dip import PRESETS, WMV, HeldOut, Runtime, fit
from genlab.experiments.deep_image_prior.common import square_image
from genlab.physics import GaussianNoise
from genlab.probes.image import psnr


class Passive:
    """Run a rule without stopping: remember where it would have stopped and freeze its choice there."""

    def __init__(self, rule):
        self.rule, self.name = rule, rule.name
        self.stop_at_, self.improved_, self.should_stop_, self.signal_ = None, False, False, None

    def prepare(self, y, physics, weight):
        return self.rule.prepare(y, physics, weight)

    def update(self, step, x, x_avg):
        self.rule.update(step, x, x_avg)
        self.signal_ = self.rule.signal_
        self.improved_ = self.rule.improved_ and self.stop_at_ is None
        if self.stop_at_ is None and self.rule.should_stop_:
            self.stop_at_ = step

    def state_dict(self):
        return {}

    def load_state_dict(self, d):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--patience", type=int, default=150)
    ap.add_argument("--net", default="fast", choices=list(PRESETS))
    ap.add_argument("--images", nargs="+", default=["chelsea", "astronaut", "coffee", "camera"])
    ap.add_argument("--rules", nargs="+", default=["wmv", "heldout"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bf16", action="store_true", help="bfloat16 autocast (to measure its effect on PSNR)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    rows = []
    for name in a.images:
        settings = replace(PRESETS[a.net].fit, steps=a.steps)
        clean = square_image(name, a.size, settings.net.multiple)
        ph = GaussianNoise(25 / 255)
        y = ph.corrupt(clean, np.random.default_rng(0))
        for rname in a.rules:
            rule = Passive(WMV(window=100, patience=a.patience) if rname == "wmv" else HeldOut(patience=a.patience))
            t0 = time.perf_counter()
            r = fit(y, ph, settings, clean=clean, rule=rule, record_every=5, runtime=Runtime(threads=a.threads, bf16=a.bf16))
            chosen = psnr(r.x, clean)
            row = {"image": name, "size": a.size, "net": a.net, "bf16": a.bf16, "rule": rname, "noisy_psnr": psnr(y, clean),
                   "oracle_step": r.oracle[0], "oracle_psnr": r.oracle[1],
                   "stop_at": rule.stop_at_, "chosen_step": r.step, "chosen_psnr": chosen,
                   "gap_db": r.oracle[1] - chosen, "seconds": time.perf_counter() - t0}
            rows.append(row)
            print(json.dumps(row), flush=True)
            if a.out:
                with open(a.out, "a") as f:
                    f.write(json.dumps(row) + "\n")
    for rname in a.rules:
        g = [r["gap_db"] for r in rows if r["rule"] == rname]
        print(f"{rname}: mean gap {np.mean(g):.3f} dB, max {np.max(g):.3f} dB over {len(g)} images")


if __name__ == "__main__":
    main()
