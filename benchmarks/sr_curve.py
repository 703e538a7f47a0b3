"""The gain of a DIP super-resolution fit over bicubic against iterations, one window, one thread (issue 17).

    python benchmarks/sr_curve.py --net lite --size 256 --steps 3000
    python benchmarks/sr_curve.py --net lite --size 256 --steps 3000 --lr 0.02
    python benchmarks/sr_curve.py --net lite --channels 24 --cpu-budget 300

The clean image is the one ``bench_restore.py --task sr --size N`` makes (a scikit-image
name or a file, resized and centre-cropped, stored as 8 bits); the low-resolution image
is restore's operator (the box average of f x f blocks), stored as 8 bits; bicubic is
PIL's, as in bench_restore.py. The fit is :func:`genlab.dip.fit` with the ``--net``
preset's settings on the whole image (one window: at --size 256 restore's default
256-px windows are one window too), bf16 and channels-last as restore uses them, one
thread, no stopping rule. Every --every steps one line of JSON gives the step, the
process's CPU seconds (the fit stops once --cpu-budget of them are spent) and the gain of the running average over bicubic (Y channel of
BT.601, 4-px border crop: the paper's convention).
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from types import SimpleNamespace


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--image", default="astronaut")
    ap.add_argument("--size", type=int, default=256, help="side of the output")
    ap.add_argument("--factor", type=int, default=4)
    ap.add_argument("--net", default="lite")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--lr", type=float, default=None, help="override the preset's learning rate")
    ap.add_argument("--channels", type=int, default=None, help="override the preset's channels per scale")
    ap.add_argument("--skip", type=int, default=None, help="override the preset's skip channels")
    ap.add_argument("--upsample", choices=["bilinear", "nearest"], default=None)
    ap.add_argument("--cpu-budget", type=float, default=None, help="stop after this many CPU seconds")
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    import numpy as np
    import torch
    from PIL import Image

    from bench_restore import make_case, y_psnr  # this folder is on sys.path when run as a script
    from genlab.callbacks import Callback
    from genlab.data.images import load_image
    from genlab.dip import Runtime, fit
    from genlab.dip.monitor import Average, to_image
    from genlab.dip.presets import PRESETS
    from genlab.physics import Downsampling
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as d:
        case = SimpleNamespace(image=a.image, size=a.size, crop=False, task="sr", factor=a.factor)
        clean = make_case(case, d)[0]
        low = load_image(f"{d}/input.png")
        with Image.open(f"{d}/input.png") as im:
            im.load()
            big = im.resize((im.width * a.factor, im.height * a.factor), Image.BICUBIC)
        bicubic = y_psnr(np.asarray(big, np.float64) / 255, clean, 4)
    settings = PRESETS[a.net].fit
    net = replace(settings.net, **{k: v for k, v in (("channels", a.channels), ("skip", a.skip),
                                                      ("upsample", a.upsample)) if v is not None})
    settings = replace(settings, net=net, steps=a.steps, **({} if a.lr is None else {"lr": a.lr}))
    print(json.dumps({"image": a.image, "size": a.size, "net": a.net, "spec": str(settings.net), "lr": settings.lr,
                      "bicubic_y_crop4": round(bicubic, 2)}), flush=True)

    class Log(Callback):
        at_start = False

        def __init__(self):
            self.t0, self.avg = time.process_time(), Average(settings.exp_weight)  # the paper's average, as fit's

        def __call__(self, state):
            self.avg(state)
            cpu = time.process_time() - self.t0
            if state.step % a.every == 0:
                x = np.clip(to_image(self.avg.x_avg_), 0, 1)
                print(json.dumps({"step": state.step, "cpu_s": round(cpu, 1),
                                  "gain_y_crop4": round(y_psnr(x, clean, 4) - bicubic, 2)}), flush=True)
            return "CPU budget reached" if a.cpu_budget is not None and cpu >= a.cpu_budget else None

    fit(low, Downsampling(a.factor), settings, out_shape=clean.shape[:2], callbacks=(Log(),), seed=a.seed,
        runtime=Runtime(threads=1, bf16=True, channels_last=True))


if __name__ == "__main__":
    main()
