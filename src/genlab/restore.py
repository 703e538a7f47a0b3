"""``genlab restore``: restore one image with the Deep Image Prior, on a CPU, stopping by itself.

    genlab restore noisy.png -o clean.png --task denoise
    genlab restore photo.jpg -o fixed.png --task jpeg --time-budget 300
    genlab restore damaged.png -o filled.png --task inpaint --mask mask.png
    genlab restore small.png -o big.png --task sr --factor 4 --reference truth.png

Any PNG/JPEG, gray, RGB or RGBA (alpha is passed through, resized for SR), any
size: the image is reflect-padded to the network's multiple and cropped back.
Denoising fits images of 384 px or more a side in overlapping windows of about
256 px (``--tile``), two networks each (``--ensemble``), in parallel 1-thread
workers, and blends them: at 512x512 within 0.12 dB of the paper network's
peak in under 10 minutes on 2 cores (benchmarks/RESULTS.md, session 5).
Inpainting fits images of 192 px or more in windows of about 128 px and
super-resolution outputs of 192 px or more in 128-px windows, one network each (an inpainting window sees its part of the
mask; an SR window's output is compared, downsampled, with its
low-resolution window). Inpainting
returns the known pixels as given and the network's fill in the holes
(``--raw``: the network's output everywhere), and with ``--reference`` also
scores the unknown pixels alone.
Without a reference the fit stops at the best iterate by a stopping rule
(:mod:`genlab.dip.stopping`; default chosen by the comparison in
benchmarks/RESULTS.md), except super-resolution, which runs the paper's fixed iterations (or the
time budget). Every input problem is one line, exit status 2, and
no output file (the output is written to a temporary name and renamed).

This module is the command only: the options become a typed
:class:`~genlab.dip.config.RestoreConfig` (validated like ``genlab run``'s configs),
the presets are :mod:`genlab.dip.presets`, the memory estimate :mod:`genlab.dip.memory`.
"""
from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import fields
from functools import partial

import numpy as np

from genlab.dip.config import RestoreConfig
from genlab.dip.presets import DEFAULT_STOP, PRESETS, TASKS, TILE_OVERLAP
from genlab.errors import GenlabError
from genlab.io import path_arg
from genlab.runtime import add_device_argument

C = RestoreConfig  # its class attributes are the defaults


def add_arguments(p) -> None:
    p.add_argument("input", type=path_arg, help="PNG or JPEG to restore")
    p.add_argument("-o", "--output", type=path_arg, required=True, help="where to write the result (.png or .jpg)")
    p.add_argument("--task", choices=list(TASKS), default=C.task)
    p.add_argument("--mask", type=path_arg,
                   help="inpainting mask, same size as the image: white (128 or more of 255) = known pixels, "
                        "darker = pixels to fill in")
    p.add_argument("--factor", type=int, default=C.factor, help=f"super-resolution factor (default {C.factor})")
    p.add_argument("--reference", type=path_arg, help="the clean image: report PSNR and SSIM against it")
    p.add_argument("--max-iters", type=int, default=None, help="most iterations (default: the paper's per task)")
    p.add_argument("--time-budget", type=float, default=None, metavar="SECONDS", help="stop after this long")
    p.add_argument("--snapshots", type=path_arg, help="folder for intermediate (averaged) outputs")
    p.add_argument("--stop", choices=["heldout", "wmv", "none"], default=None,
                   help=f"automatic stopping rule (default {DEFAULT_STOP}; none for sr, which runs the paper's fixed "
                        "iterations); none: run all iterations")
    p.add_argument("--patience", type=int, default=None, help="iterations without improvement before stopping")
    p.add_argument("--net", choices=list(PRESETS), default=None,
                   help="generator (default: swift for denoise, fill for inpaint, lite for jpeg and sr)")
    p.add_argument("--ensemble", type=int, default=None, metavar="K",
                   help="fit K independently initialized networks and average them: higher PSNR for K times "
                        "the time per iteration and K times the memory (default 2 for denoise, 1 for the others)")
    p.add_argument("--tile", type=int, default=None, metavar="SIZE",
                   help="fit one network per overlapping window of about SIZE x SIZE output pixels, side by "
                        "side on the idle cores, and blend them (default 256 for denoise, 128 for inpaint and sr, 0 for "
                        "jpeg: one network for the whole image)")
    p.add_argument("--raw", action="store_true", default=None,
                   help="inpaint: write the network's output everywhere (default: the known pixels as given, "
                        "the network's fill only where the mask is dark)")
    p.add_argument("--reg-noise", type=float, default=None, metavar="STD",
                   help="input jitter per step (default: 1/60 for swift, the paper's 1/30 for the others)")
    p.add_argument("--tv", type=float, default=None, metavar="WEIGHT",
                   help="weight of the output's total variation in the loss (DIP-TV), e.g. 0.02: +0.4 dB at "
                        "256x256 but a later peak, no gain at 512x512 in 10 min (default 0, the paper's loss)")
    p.add_argument("--lr", type=float, default=None,
                   help="Adam's learning rate (default: 0.005 for swift, the paper's 0.01 for the others)")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16"], default=C.precision,
                   help="bf16 autocast, or auto: bf16 on CPUs with AVX512-BF16/AMX for images of 128x128 and more")
    p.add_argument("--threads", type=int, default=None, help="intra-op threads (default: the cores idle at the start)")
    p.add_argument("--seed", type=int, default=C.seed)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_device_argument(p)


def main(args) -> int:
    from genlab.data.images import resize, save_image
    from genlab.dip import inputs, memory, windows
    from genlab.dip.fit import Storage, fit  # looked up at each call (tests wrap genlab.dip.fit.fit)
    from genlab.dip.runtime import Runtime, default_threads, use_bf16
    from genlab.dip.stopping import make_rule
    from genlab.physics import make_physics
    from genlab.probes.image import CONVENTION, psnr, ssim
    from genlab.runtime import resolve_device, tune_allocator

    t_start = time.perf_counter()
    dev = resolve_device(getattr(args, "device", None) or "cpu")  # a device this machine lacks: one line, no output
    tune_allocator(large_buffers=True)  # before the first large allocation
    given = {f.name: getattr(args, f.name) for f in fields(RestoreConfig) if getattr(args, f.name, None) is not None}
    cfg = RestoreConfig().override(given).resolved()
    inputs.check_output(args.output)
    if args.snapshots is not None:
        inputs.check_output(args.snapshots, "snapshots", suffixes=())
    inputs.check_inputs_kept(args.output, args.snapshots,
                             {"input": args.input, "mask": args.mask, "reference": args.reference})
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cfg.threads is not None and cfg.threads < 1:
        raise GenlabError(f"--threads {cfg.threads} is not a number of threads; give 1 to {cores} "
                          "(or leave it out: the idle cores)")
    if cfg.threads is not None and cfg.threads > cores:  # more threads than cores only slows a fit down
        print(f"genlab: --threads {cfg.threads} is more than the {cores} cores this process may use; using {cores}",
              file=sys.stderr)
        cfg = cfg.override({"threads": cores})
    settings = cfg.fit_settings()
    spec = settings.net
    W0, H0 = inputs.open_size(args.input, "input")
    if cfg.stop == "heldout" and W0 * H0 < 2:
        raise GenlabError(f"input {args.input} is {W0}x{H0}: the heldout stopping rule keeps a pixel out of the fit "
                          "to judge it, so it needs 2 pixels or more; give a larger image (or --stop none)")
    f = cfg.factor if cfg.task == "sr" else 1
    m_in = spec.multiple if f == 1 else spec.multiple // math.gcd(spec.multiple, f)
    # BatchNorm at the coarsest scale needs more than one value: at least 2 x multiple per side.
    min_in = -(-(-(-2 * spec.multiple // f)) // m_in) * m_in
    Hp, Wp = max(-(-H0 // m_in) * m_in, min_in) * f, max(-(-W0 // m_in) * m_in, min_in) * f
    tiled = bool(cfg.tile) and max(Hp, Wp) >= 1.5 * cfg.tile
    workers = 1
    if tiled:  # memory is that of one window per worker process
        (Ht, tops), (Wt, lefts), _ = windows.window_layout((Hp // f, Wp // f), cfg.tile, TILE_OVERLAP,
                                                           spec.multiple, f)
        Ht, Wt = Ht * f, Wt * f
    else:
        Ht, Wt = Hp, Wp
    bf16 = use_bf16(cfg.precision, Ht * Wt, dev.type)
    threads = cfg.threads or default_threads(Ht * Wt)
    if tiled:
        workers = min(threads, len(tops) * len(lefts))
    memory.check_memory(spec, 3, Ht, Wt, cfg.net if cfg.ensemble == 1 else f"{cfg.net} x {cfg.ensemble}",
                        ("" if cfg.ensemble == 1 else ", or lower --ensemble") + (f", or lower --factor {f}" if f > 1 else "")
                        + ("" if tiled else ", or fit it in windows with --tile 256")
                        + ("" if workers == 1 else ", or use fewer --threads"), bf16, copies=workers)

    img, alpha = inputs.split_alpha(inputs.load(args.input, "input"))
    if alpha is not None and args.output.suffix.lower() in (".jpg", ".jpeg"):
        raise GenlabError(f"{args.input} has an alpha channel that JPEG cannot store; write a .png output instead")
    mask = None
    if cfg.task == "inpaint":
        if args.mask is None:
            raise GenlabError("--task inpaint needs --mask MASK (same size as the image; white = known pixels)")
        mask = inputs.load(args.mask, "mask", gray=True)
        if mask.shape != img.shape[:2]:
            raise GenlabError(f"mask is {mask.shape[1]}x{mask.shape[0]} but the image is {img.shape[1]}x{img.shape[0]}; "
                              "give a mask of the same size")
        known = int((mask > 0.5).sum())
        if known == 0:  # the convention: 128 or more (of 255) is known (white), below 128 is filled in
            raise GenlabError(f"the mask {args.mask} has no known pixels: its brightest value is "
                              f"{round(float(mask.max()) * 255)} of 255, and only pixels of 128 or more count as "
                              "known (white = keep, darker = fill in); give a mask with white where the image is known")
        if known == 1 and cfg.stop == "heldout":
            raise GenlabError(f"the mask {args.mask} has 1 known pixel: the heldout stopping rule keeps one out of the "
                              "fit to judge it, so it needs 2 or more; whiten more of the mask (or --stop none)")
    ref = None
    if args.reference is not None:
        ref = inputs.split_alpha(inputs.load(args.reference, "reference"))[0]
        want = (H0 * f, W0 * f) + img.shape[2:]
        if ref.shape != want:
            raise GenlabError(f"reference has shape {ref.shape} but the restored image will have {want}; "
                              "give the clean image at the output's size and colour mode")

    y, (h, w) = inputs.pad_to(img, m_in, min_in)
    weight = np.zeros(y.shape[:2], np.float32)  # the padding is never fitted
    weight[:h, :w] = 1 if mask is None else (mask > 0.5)
    physics = make_physics(cfg.task, mask=weight if mask is not None else None, factor=max(f, 2))
    if tiled and mask is not None and args.tile is None:  # default windows, not asked for: one all hole fits none
        (Ht, tops), (Wt, lefts), _ = windows.window_layout(y.shape[:2], cfg.tile, TILE_OVERLAP, spec.multiple)
        if min(weight[t:t + Ht, le:le + Wt].sum() for t in tops for le in lefts) < 2:
            print(f"genlab: a {cfg.tile}-px window of {args.mask} has fewer than 2 known pixels; "
                  "fitting the whole image instead (--tile 0)", file=sys.stderr)
            memory.check_memory(spec, 3, Hp, Wp, cfg.net, ", or crop the image", bf16)
            tiled = False
    iters = cfg.max_iters
    rule_factory = partial(make_rule, None if cfg.stop == "none" else cfg.stop, patience=cfg.patience)
    snaps = range(max(1, iters // 10), iters + 1, max(1, iters // 10)) if args.snapshots else ()
    budget = None if cfg.time_budget is None else max(0.1, cfg.time_budget - (time.perf_counter() - t_start) - 1.0)
    progress = not args.quiet and sys.stderr.isatty()
    runtime = Runtime(threads=threads, bf16=bf16, channels_last=bf16, device=str(dev), time_budget=budget, progress=progress,
                      reference=ref if progress else None)  # the bar's live PSNR
    if tiled:
        # windows are fitted side by side, one thread each: on 2 idle cores two 1-thread fits make
        # more iterations than one 2-thread fit (benchmarks/RESULTS.md)
        r = windows.fit_tiles(y, physics, settings, tile=cfg.tile, overlap=TILE_OVERLAP, workers=workers,
                              weight=weight, rule_factory=rule_factory, snapshot_steps=snaps, seed=cfg.seed,
                              runtime=runtime)
        snapshots = r.snapshots
    else:
        r = fit(y, physics, settings, out_shape=(y.shape[0] * f, y.shape[1] * f), weight=weight, rule=rule_factory(),
                seed=cfg.seed, runtime=runtime, storage=Storage(snapshot_steps=snaps))
        snapshots = {s: avg for s, (_raw, avg) in r.snapshots.items()}
    out = r.x[:H0 * f, :W0 * f]
    if mask is not None and not cfg.raw:  # known pixels are known: the network fills only the holes
        known = (mask > 0.5).reshape(mask.shape + (1,) * (img.ndim - 2))
        out = np.where(known, img, out.reshape(img.shape))
    if alpha is not None:
        a = alpha if f == 1 else resize(alpha, (H0 * f, W0 * f))
        out = np.concatenate([out.reshape(out.shape[:2] + (-1,)), a[..., None]], axis=2)
    save_image(out, args.output)
    if args.snapshots:
        for s, avg in sorted(snapshots.items()):
            save_image(avg[:H0 * f, :W0 * f], args.snapshots / f"iter_{s:05d}.png")
    print(f"restored {args.input} -> {args.output}: {r.steps_done} iterations in {time.perf_counter() - t_start:.1f} s, "
          f"output from iteration {r.step} ({r.stopped_reason})")
    if ref is not None:
        col = out[..., :-1] if alpha is not None else out
        col = col[..., 0] if col.ndim == 3 and col.shape[2] == 1 else col
        q = (np.clip(col, 0, 1) * 255 + 0.5).astype(np.uint8) / 255.0  # score what was written (8 bit)
        before = f" (input {psnr(img, ref):.2f} dB)" if f == 1 else ""
        print(f"PSNR {psnr(q, ref):.2f} dB{before}, SSIM {ssim(q, ref):.4f} [{CONVENTION['colour_space']}, "
              f"data range {CONVENTION['data_range']:g}, border crop {CONVENTION['border_crop']}]")
        if mask is not None and (mask <= 0.5).any():
            hole = mask <= 0.5
            print(f"on the {int(hole.sum())} unknown pixels: PSNR {psnr(q, ref, where=hole):.2f} dB, "
                  f"SSIM {ssim(q, ref, where=hole):.4f} (mean of the SSIM map there)")
    return 0
