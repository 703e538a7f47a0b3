"""One DIP denoising curve for a network and fit settings: the lever table in benchmarks/RESULTS.md.

    python benchmarks/dip_curves.py size=256 steps=2000 channels=32 skip=16 upsample=nearest lr=0.005 rn=0.01667
    python benchmarks/dip_curves.py size=256 steps=2600 channels=128 in_channels=32 skip=4 threads=1   # the paper net
    python benchmarks/dip_curves.py size=512 steps=3000 channels=128 in_channels=32 skip=4 threads=1 run=/work/paper512
        # hours on a CPU: checkpoints every 50 steps into run=DIR; the same command resumes a killed run;
        # at the end DIR/curve.json can be bench_dip.py's --reference

Astronaut (resized to ``size``), sigma 25/255, seed 0, all pixels in the loss,
bf16 autocast + channels-last unless ``bf16=0``. Keys: size, steps, lr, rn
(input jitter), ew (EMA weight), tv (total-variation weight), bf16, threads, image, run (a folder to
checkpoint into and resume from), and any NetSpec field (channels, depth, skip,
in_channels, upsample, members). Prints the PSNR every 25 steps (flushed, for
long runs), then one JSON line: s/iter (of the steps run in this process),
the peak of the averaged output and its step, the first step within 0.3 dB of
it, and the PSNR at 100 / 250 / 500 / 1000 / 1500 / 2000 / 2500 / 3000.
"""
from __future__ import annotations

import json
import sys
import time

from genlab.runtime import tune_allocator
from genlab.train import Callback


def main(argv: list[str]) -> dict:
    tune_allocator(large_buffers=True)  # before the first large allocation
    import numpy as np

    from genlab.dip import FitSettings, Runtime, Storage, fit
    from genlab.experiments.deep_image_prior.common import square_image
    from genlab.models.dip import NetSpec
    from genlab.physics import GaussianNoise

    bad = [a for a in argv if "=" not in a]
    if bad:
        raise SystemExit(f"arguments are key=value pairs; got {bad[0]!r}")
    kw = dict(a.split("=", 1) for a in argv)
    size, steps = int(kw.pop("size", 256)), int(kw.pop("steps", 2000))
    lr, rn, ew = float(kw.pop("lr", 0.01)), float(kw.pop("rn", 1 / 30)), float(kw.pop("ew", 0.99))
    bf16, threads, image = kw.pop("bf16", "1") == "1", int(kw.pop("threads", 2)), kw.pop("image", "astronaut")
    run, tv = kw.pop("run", None), float(kw.pop("tv", 0))
    spec = NetSpec(**{k: int(v) if v.isdigit() else v for k, v in kw.items()})
    clean = square_image(image, size, spec.multiple)
    ph = GaussianNoise(25 / 255)
    y = ph.corrupt(clean, np.random.default_rng(0))

    class Clock(Callback):
        at_start = False

        def __init__(self):
            self.t0, self.t = time.perf_counter(), {}

        def __call__(self, state):
            self.t[state.step] = time.perf_counter() - self.t0
            h = state.history
            if state.step % 25 == 0 and "psnr_avg" in h:
                print(f"step {state.step} psnr_avg {h.values('psnr_avg')[-1]:.3f} t {self.t[state.step]:.0f}",
                      flush=True)

    clock = Clock()
    if run is not None:
        from genlab.runs import Run
        run = Run(run)
    r = fit(y, ph, FitSettings(spec, steps=steps, lr=lr, reg_noise_std=rn, exp_weight=ew, tv_weight=tv), clean=clean,
            callbacks=[clock], record_every=25, runtime=Runtime(threads=threads, bf16=bf16, channels_last=bf16),
            storage=Storage(run=run, checkpoint_every=50))
    st, pa = r.history.steps("psnr_avg"), r.history.values("psnr_avg")
    i = int(np.argmax(pa))
    band = next(int(s) for s, p in zip(st, pa) if p >= pa[i] - 0.3)
    first, last = min(clock.t, default=0), max(clock.t, default=0)  # none: a finished run, only reloaded
    spi = round((clock.t[last] - clock.t[first]) / (last - first), 3) if last > first else None
    row = {"size": size, "net": str(spec), "lr": lr, "rn": rn, "ew": ew, "tv": tv, "bf16": bf16, "threads": threads,
           "s_per_iter": spi, "peak": round(float(pa[i]), 2), "peak_step": int(st[i]),
           "band_step": band, "last": round(float(pa[-1]), 2),
           "at": {int(s): round(float(p), 2) for s, p in zip(st, pa) if s in (100, 250, 500, 1000, 1500, 2000, 2500, 3000)}}
    print(json.dumps(row))
    if run is not None:  # the whole curve, in bench_dip.py's --save-curve format: usable as its --reference
        from genlab.io import atomic_write_json
        atomic_write_json(run.path / "curve.json", {
            "name": f"dip_curves {spec.channels} ch", "size": size, "s_per_iter": spi, "peak_rss_gb": None,
            "curve_steps": [int(s) for s in st], "curve_psnr": [float(p) for p in pa]})
    return row


if __name__ == "__main__":
    main(sys.argv[1:])
