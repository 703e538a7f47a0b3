"""The PSNR curve of a DIP inpainting fit against CPU time, and biharmonic on the same image and mask (issue 17).

    python benchmarks/inpaint_curve.py --net paper --size 256 --every 50 --cpu-budget 840
    python benchmarks/inpaint_curve.py --net lite --size 256 --every 50 --cpu-budget 360 --bf16

The clean image is a scikit-image name (or a file) resized so its shorter side is
--size, centre-cropped to a multiple of 32 (camera: its 512x512 picture resized to
256x256, the size of the paper's cameraman); --drop of its pixels are dropped at random
(seed 0: ``inpaint_stop.masked_image``, the image and mask of
``benchmarks/inpaint_stop.py --mask random``). The fit is :func:`genlab.dip.fit` with
the ``--net`` preset's settings (paper: the hourglass and Adam at lr 0.01 of
:data:`genlab.dip.presets.PAPER_FIT`, --steps defaulting to
``PAPER_STEPS["inpaint"]``), one thread, no stopping rule. Every --every steps one
line of JSON gives the step, the process's CPU seconds (user + sys: fair when other
jobs share the cores) and the PSNR of the running average on all pixels and on the
known and dropped ones (psnr_all and psnr_known: the output as it is; psnr_unknown: the same
pixels after putting the known ones back, as restore does); the fit stops at
--steps or once --cpu-budget CPU seconds are spent. The last line sums up: biharmonic
(scikit-image) on the dropped pixels and the best step of the curve.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--image", default="camera")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--drop", type=float, default=0.5)
    ap.add_argument("--net", default="paper")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None, help="override the preset's learning rate")
    ap.add_argument("--every", type=int, default=250)
    ap.add_argument("--cpu-budget", type=float, default=1200.0)
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--channels", type=int, default=None, help="override the preset's channels per scale")
    ap.add_argument("--skip", type=int, default=None, help="override the preset's skip channels")
    ap.add_argument("--upsample", choices=["bilinear", "nearest"], default=None)
    ap.add_argument("--reg-noise", type=float, default=None, help="override the preset's input jitter std")
    ap.add_argument("--seed", type=int, default=0, help="the network's and code's seed")
    ap.add_argument("--anneal", type=float, default=0.0,
                    help="decay the learning rate linearly to 0 over this last fraction of the steps")
    a = ap.parse_args(argv)
    import numpy as np
    import torch
    from skimage.restoration import inpaint_biharmonic

    from genlab.callbacks import Callback
    from genlab.dip import Runtime, fit
    from genlab.dip.monitor import Average, to_image
    from genlab.dip.presets import PAPER_STEPS, PRESETS
    from genlab.physics import Inpainting
    from genlab.probes.image import psnr
    from inpaint_stop import masked_image  # this folder is on sys.path when run as a script
    torch.set_num_threads(1)
    clean, mask, hole, known = masked_image(a.image, a.size, "random", a.drop)
    s = clean.shape[0]
    t_bh = time.process_time()
    bh = inpaint_biharmonic(clean * known, hole, channel_axis=None if clean.ndim == 2 else -1)
    bh_row = {"biharmonic_psnr_unknown": round(psnr(bh, clean, where=hole), 2),
              "biharmonic_psnr_all": round(psnr(bh, clean), 2), "biharmonic_cpu_s": round(time.process_time() - t_bh, 1)}
    print(json.dumps(bh_row), flush=True)
    rows: list[dict] = []

    class Log(Callback):
        at_start = False

        def __init__(self, settings):
            self.t0, self.avg = time.process_time(), Average(settings.exp_weight)  # the paper's average, as fit's

        def __call__(self, state):
            self.avg(state)
            if state.step % a.every:
                return None
            x, cpu = to_image(self.avg.x_avg_), time.process_time() - self.t0
            filled = np.where(known > 0.5, clean, x)
            rows.append({"step": state.step, "cpu_s": round(cpu, 1), "psnr_all": round(psnr(x, clean), 2),
                         "psnr_known": round(psnr(x, clean, where=~hole), 2),
                         "psnr_unknown": round(psnr(filled, clean, where=hole), 2)})
            print(json.dumps(rows[-1]), flush=True)
            return f"CPU budget of {a.cpu_budget:g} s reached" if cpu >= a.cpu_budget else None

    settings = PRESETS[a.net].fit
    net = replace(settings.net, **{k: v for k, v in (("channels", a.channels), ("skip", a.skip),
                                                      ("upsample", a.upsample)) if v is not None})
    settings = replace(settings, net=net, steps=a.steps or PAPER_STEPS["inpaint"],
                       **({} if a.lr is None else {"lr": a.lr}),
                       **({} if a.reg_noise is None else {"reg_noise_std": a.reg_noise}))
    class Anneal(Callback):
        at_start = False

        def __call__(self, state):
            left = 1 - state.step / settings.steps
            for g in state.optimizer.param_groups:
                g["lr"] = settings.lr * min(1.0, left / a.anneal)
            return None

    extra = (Anneal(),) if a.anneal > 0 else ()
    r = fit(clean * known, Inpainting(mask), settings, callbacks=(Log(settings), *extra), seed=a.seed,
            runtime=Runtime(threads=1, bf16=a.bf16, channels_last=a.bf16))
    best = max(rows, key=lambda q: q["psnr_unknown"])
    print(json.dumps({"image": a.image, "size": s, "drop": a.drop, "net": a.net, "spec": str(net), "lr": settings.lr,
                      "reg_noise": settings.reg_noise_std, "bf16": a.bf16, "anneal": a.anneal,
                      "steps_done": r.steps_done, "stopped": r.stopped_reason, "best": best, **bh_row}), flush=True)


if __name__ == "__main__":
    main()
