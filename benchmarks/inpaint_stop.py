"""What the held-out stop picks when inpainting, against the best iterate on the pixels to fill in.

    python benchmarks/inpaint_stop.py --image camera --size 128 --mask holes --steps 1500

Fits restore's inpainting network (``--net``, default restore's: fill, 1 thread) to the
masked image for ``--steps`` iterations without stopping, while the held-out
rule (5 % of the KNOWN pixels kept out of the loss, as ``genlab restore
--stop heldout`` does) scores the averaged output every 5 steps; snapshots
every ``--every`` steps give the PSNR on the unknown pixels (after putting
the known pixels back). Prints one JSON row: the rule's best step and the
hole PSNR there (nearest snapshot), the best snapshot's step and PSNR, and the
step restore would have stopped at with its default patience (a tenth of
the steps, at least 100), the step its output would come from and the hole
PSNR there.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace


def masked_image(image: str, size: int, kind: str, drop: float = 0.5):
    """(clean, mask, hole, known): the image resized to ``size`` (shorter side) and centre-cropped to a
    multiple-of-32 square, a ``kind`` mask (seed 0; random: ``drop`` of the pixels), its dropped pixels
    (booleans) and the mask broadcastable against the image."""
    import numpy as np

    from genlab.data.images import load_image
    from genlab.physics import holes_mask, random_mask, text_mask
    img = load_image(image, size=size)
    s, (h, w) = size // 32 * 32, img.shape[:2]
    clean = np.ascontiguousarray(img[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s])
    rng = np.random.default_rng(0)
    mask = {"random": lambda: random_mask(s, s, drop, rng), "text": lambda: text_mask(s, s),
            "holes": lambda: holes_mask(s, s, 6, s / 12, rng)}[kind]()
    return clean, mask, mask <= 0.5, mask if clean.ndim == 2 else mask[..., None]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--image", default="camera")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--mask", choices=["random", "text", "holes"], default="holes")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--net", default="fill")
    a = ap.parse_args(argv)
    import numpy as np
    import torch

    from genlab.dip import Storage, fit, make_rule
    from genlab.dip.presets import PRESETS
    from genlab.physics import Inpainting
    from genlab.probes.image import psnr
    torch.set_num_threads(1)
    clean, mask, hole, known = masked_image(a.image, a.size, a.mask)
    s = clean.shape[0]
    rule = make_rule("heldout", patience=10 ** 9)  # never stops: the whole curve is seen
    t0 = time.process_time()
    r = fit(clean * known, Inpainting(mask), replace(PRESETS[a.net].fit, steps=a.steps), rule=rule,
            storage=Storage(snapshot_steps=range(a.every, a.steps + 1, a.every)))
    curve = {st: psnr(np.where(known > 0.5, clean, avg), clean, where=hole) for st, (_raw, avg) in r.snapshots.items()}
    best = max(curve, key=curve.__getitem__)
    near = min(curve, key=lambda st: abs(st - rule.best_step_))
    patience = max(100, a.steps // 10)
    sig = dict(zip(r.history.steps("stop_signal").tolist(), r.history.values("stop_signal").tolist()))  # every 10
    low, low_at, stop_at = float("inf"), 0, a.steps
    for st in sorted(sig):  # the step the default patience would have stopped at (on the recorded points)
        if sig[st] < low:
            low, low_at = sig[st], st
        elif st - low_at >= patience:
            stop_at = st
            break
    row = {"image": a.image, "size": s, "mask": a.mask, "unknown_fraction": round(float(hole.mean()), 3),
           "net": a.net, "steps": a.steps, "heldout_best_step": rule.best_step_,
           "psnr_unknown_at_heldout_step": round(curve[near], 2), "oracle_step": best,
           "psnr_unknown_oracle": round(curve[best], 2), "psnr_unknown_last": round(curve[max(curve)], 2),
           "default_patience": patience, "default_stop_step": stop_at, "default_output_step": low_at,
           "psnr_unknown_at_default_output": round(curve[min(curve, key=lambda st: abs(st - low_at))], 2),
           "cpu_s": round(time.process_time() - t0, 1),
           "curve": {st: round(q, 2) for st, q in sorted(curve.items())}}
    print(json.dumps(row, default=int))
    return row


if __name__ == "__main__":
    main()
