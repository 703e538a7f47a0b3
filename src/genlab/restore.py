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
Without a reference the fit stops at the best iterate by a stopping rule
(:mod:`genlab.stopping`; default chosen by the comparison in
benchmarks/RESULTS.md). Every input problem is one line, exit status 2, and
no output file (the output is written to a temporary name and renamed).
"""
from __future__ import annotations

import math
import os
from functools import partial
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from genlab.errors import GenlabError
from genlab.runtime import available_memory, cpu_has_bf16, idle_cores, tune_allocator
from genlab.models.dip import NetSpec

NETS = {
    # the paper's hourglass (about 2.2 M parameters)
    "paper": NetSpec(),
    # the same hourglass with 48 channels (about 6x faster per iteration than paper)
    "fast": NetSpec(channels=48, depth=5, skip=4, in_channels=16),
    # 32 channels (12x faster than paper in fp32, 22x with bf16, at 512x512)
    "lite": NetSpec(channels=32, depth=5, skip=4, in_channels=8),
    # restore's default: lite with 16 skip channels and nearest upsampling, fitted with half the
    # paper's input jitter and lr 0.005: at 256x256 it peaks in about 900 iterations where lite
    # is still rising at 2000, but 0.7 dB below the paper net's peak (benchmarks/RESULTS.md)
    "swift": NetSpec(channels=32, depth=5, skip=16, in_channels=8, upsample="nearest"),
    "decoder": NetSpec("decoder", depth=5, channels=64),
    # thumbnails and tests: 3 scales of 16 channels
    "small": NetSpec(channels=16, depth=3, skip=4, in_channels=8),
}
# swift was chosen on denoising measurements; the other tasks keep the net they had (not re-measured)
DEFAULT_NETS = {"denoise": "swift", "jpeg": "lite", "inpaint": "lite", "sr": "lite"}
DEFAULT_NET, DEFAULT_STOP = DEFAULT_NETS["denoise"], "heldout"
# Adam's learning rate and the std of the Gaussian jitter added to the code z at each step:
# the paper's (0.01, 1/30), except for swift, whose settings were chosen by the measurements
# in benchmarks/RESULTS.md (at 512x512 lr 0.005 gained 0.3 dB at iteration 1000 over 0.01)
# --tv (DIP-TV, Liu et al. 2019) is off by default: on swift, a weight of 0.02 raised the peak by 0.4 dB
# at 256x256 but later, and cost 0.18 dB at 512x512 after the ~1,850 iterations of 10 minutes (RESULTS.md)
FIT_SETTINGS = {"swift": {"lr": 0.005, "reg_noise_std": 1 / 60}}
PAPER_SETTINGS = {"lr": 0.01, "reg_noise_std": 1 / 30, "tv_weight": 0.0}


def fit_settings(net: str) -> dict:
    """``lr``, ``reg_noise_std`` and ``tv_weight`` for a network of NETS."""
    return {**PAPER_SETTINGS, **FIT_SETTINGS.get(net, {})}


# --tile: one network per overlapping window of about this size (0: one for the whole image); windows
# overlap by at least TILE_OVERLAP pixels and are blended linearly
DEFAULT_TILE = {"denoise": 256, "jpeg": 0}
# --ensemble: networks averaged per image or window. Denoising defaults to 2: with 256-px windows that
# is what reached within 0.3 dB of the paper network's 512x512 peak in 10 minutes on 2 cores
DEFAULT_ENSEMBLE = {"denoise": 2}
TILE_OVERLAP = 32

TASK_ITERS = {"denoise": 3000, "jpeg": 2400, "inpaint": 5000, "sr": 2000}


def add_arguments(p) -> None:
    p.add_argument("input", type=Path, help="PNG or JPEG to restore")
    p.add_argument("-o", "--output", type=Path, required=True, help="where to write the result (.png or .jpg)")
    p.add_argument("--task", choices=list(TASK_ITERS), default="denoise")
    p.add_argument("--mask", type=Path, help="inpainting mask, same size as the image: white = known pixels")
    p.add_argument("--factor", type=int, default=4, help="super-resolution factor (default 4)")
    p.add_argument("--reference", type=Path, help="the clean image: report PSNR and SSIM against it")
    p.add_argument("--max-iters", type=int, default=None, help="most iterations (default: the paper's per task)")
    p.add_argument("--time-budget", type=float, default=None, metavar="SECONDS", help="stop after this long")
    p.add_argument("--snapshots", type=Path, help="folder for intermediate (averaged) outputs")
    p.add_argument("--stop", choices=["heldout", "wmv", "none"], default=DEFAULT_STOP,
                   help=f"automatic stopping rule (default {DEFAULT_STOP}); none: run all iterations")
    p.add_argument("--patience", type=int, default=None, help="iterations without improvement before stopping")
    p.add_argument("--net", choices=list(NETS), default=None,
                   help="generator (default: swift for denoise, lite for the other tasks)")
    p.add_argument("--ensemble", type=int, default=None, metavar="K",
                   help="fit K independently initialized networks and average them: higher PSNR for K times "
                        "the time per iteration and K times the memory (default 2 for denoise, 1 for the others)")
    p.add_argument("--tile", type=int, default=None, metavar="SIZE",
                   help="denoise/jpeg: fit one network per overlapping window of about SIZE x SIZE pixels, "
                        "side by side on the idle cores, and blend them (default 256 for denoise, 0 for jpeg: "
                        "one network for the whole image)")
    p.add_argument("--reg-noise", type=float, default=None, metavar="STD",
                   help="input jitter per step (default: 1/60 for swift, the paper's 1/30 for the others)")
    p.add_argument("--tv", type=float, default=None, metavar="WEIGHT",
                   help="weight of the output's total variation in the loss (DIP-TV), e.g. 0.02: +0.4 dB at "
                        "256x256 but a later peak, no gain at 512x512 in 10 min (default 0, the paper's loss)")
    p.add_argument("--lr", type=float, default=None,
                   help="Adam's learning rate (default: 0.005 for swift, the paper's 0.01 for the others)")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto",
                   help="bf16 autocast, or auto: bf16 on CPUs with AVX512-BF16/AMX for images of 128x128 and more")
    p.add_argument("--threads", type=int, default=None, help="intra-op threads (default: the cores idle at the start)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bar")


# ---- allocator ------------------------------------------------------------------------------------


def use_bf16(precision: str, pixels: int) -> bool:
    """bf16 where the CPU computes it natively and the image is large enough for it to pay."""
    if precision != "auto":
        return precision == "bf16"
    return pixels >= 128 * 128 and cpu_has_bf16()




def default_threads(pixels: int) -> int:
    """The cores idle now, and 1 for small images.

    Measured on a 2-core machine: with both cores idle, 2 threads ran the
    512x512 default 1.3x faster than 1; shared with other jobs, two OpenMP
    threads competing for busy cores ran 20x slower per step than one, and
    below about 128x128 one thread is faster anyway. The load average lags by
    a minute (a job that just ended still counts), so the idle share of
    ``/proc/stat`` over a quarter second decides, and the load average only
    where that cannot be read.
    """
    n = os.cpu_count() or 1
    if pixels < 128 * 128:
        return 1
    free = idle_cores()
    if free is None:
        try:
            free = n - os.getloadavg()[0]
        except OSError:
            free = float(n)
    return max(1, min(n, int(free + 0.5)))


# ---- memory estimate ------------------------------------------------------------------------------


def activation_floats(spec: NetSpec, channels: int, h: int = 64, w: int = 64) -> float:
    """Output elements per pixel of every leaf module that allocates (in-place activations do not),
    counted on a small forward pass; activations scale with H x W."""
    import torch
    from genlab.models.dip import make_input
    m = spec.build(channels)
    count = [0]
    hooks = [mod.register_forward_hook(lambda _m, _i, o: count.__setitem__(0, count[0] + o.numel()))
             for mod in m.modules() if not list(mod.children()) and not getattr(mod, "inplace", False)]
    with torch.no_grad():
        m(make_input(m, h, w))
    for hk in hooks:
        hk.remove()
    return count[0] / (h * w)


def estimate_bytes(spec: NetSpec, channels: int, h: int, w: int, bf16: bool = False) -> int:
    # Fitted to peak RSS measured with the tuned allocator (benchmarks/RESULTS.md):
    # in fp32 about 2.2 bytes of RSS per byte of fp32 forward outputs (autograd keeps
    # them; the backward makes gradients), in bf16 autocast about 1.1 (measured at
    # 512x512: swift 1.03 GB, lite 0.92, fast 1.13, paper 2.17, three swift 1.75;
    # this gives 0.99, 0.92, 1.14, 2.23, 2.07), plus ~450 MB for Python, torch and buffers.
    return int(activation_floats(spec, channels) * h * w * 4 * (1.1 if bf16 else 2.2) + 4.5e8)


def _check_memory(spec, channels, h, w, name, hint="", bf16=False, copies=1):
    need, have = copies * estimate_bytes(spec, channels, h, w, bf16), available_memory()
    if need > 0.85 * have:
        per_px = (need - 4.5e8) / (h * w)
        side = int(math.sqrt(max(0.85 * have - 4.5e8, 0) / per_px))
        fits = f"at most about {side}x{side} fits: crop or downscale it" if side >= 16 else \
            "no image fits with this network: free memory or try --net small"
        raise GenlabError(f"a {w}x{h} image needs about {need / 1e9:.1f} GB with the '{name}' network but "
                          f"{have / 1e9:.1f} GB is available; {fits}{hint}")


# ---- input / output -------------------------------------------------------------------------------
def _open_size(path: Path, what: str) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError
    if not path.exists():
        raise GenlabError(f"{what} {path} does not exist; give a PNG or JPEG file")
    if path.is_dir():
        raise GenlabError(f"{what} {path} is a folder; give a PNG or JPEG file")
    try:
        with Image.open(path) as im:
            return im.size  # (W, H), read from the header without decoding the pixels
    except Image.DecompressionBombError:
        raise GenlabError(f"{what} {path} has too many pixels to restore in memory; crop or downscale it") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise GenlabError(f"cannot read {what} {path} as an image; give a PNG or JPEG file") from None


def _load(path: Path, what: str, gray: bool | None = None) -> np.ndarray:
    from genlab.data.images import load_image
    _open_size(path, what)
    try:
        return load_image(path, gray=gray, keep_alpha=not gray)  # alpha passes through restore
    except GenlabError:
        raise GenlabError(f"cannot read {what} {path} as an image; give a PNG or JPEG file") from None


def split_alpha(img: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(H, W, 2|4) -> colour and alpha; gray (H, W) and RGB pass through."""
    if img.ndim == 3 and img.shape[2] in (2, 4):
        return np.ascontiguousarray(img[..., :-1] if img.shape[2] == 4 else img[..., 0]), img[..., -1]
    return img, None


def _check_output(path: Path, what: str = "output", suffixes=(".png", ".jpg", ".jpeg")) -> None:
    from genlab.io import check_writable
    if suffixes and path.suffix.lower() not in suffixes:
        raise GenlabError(f"{what} {path} must end in {', '.join(suffixes)}")
    folder = path.parent if suffixes else path
    if path.is_dir() and suffixes:
        raise GenlabError(f"{what} {path} is a folder; give a file name ending in .png")
    if suffixes and not folder.is_dir():
        raise GenlabError(f"cannot write {what} {path}: folder {folder} does not exist")
    check_writable(folder, what, "choose another path")


def pad_to(img: np.ndarray, multiple: int, min_size: int = 0) -> tuple[np.ndarray, tuple[int, int]]:
    """Mirror-pad the bottom and right to a multiple of ``multiple`` (and at least ``min_size``);
    returns the padded image and the original (H, W)."""
    h, w = img.shape[:2]
    ph, pw = max(-h % multiple, min_size - h), max(-w % multiple, min_size - w)
    pads = ((0, ph), (0, pw)) + ((0, 0),) * (img.ndim - 2)
    return np.pad(img, pads, mode="symmetric"), (h, w)


# ---- the command ----------------------------------------------------------------------------------
def main(args) -> int:
    from genlab.data.degradations import make_physics
    from genlab.data.images import resize, save_image
    from genlab.dipfit import fit
    from genlab.metrics import CONVENTION, psnr, ssim
    from genlab.stopping import make_rule

    t_start = time.perf_counter()
    tune_allocator(large_buffers=True)  # before the first large allocation
    if args.max_iters is not None and args.max_iters < 1:
        raise GenlabError(f"--max-iters {args.max_iters}: give at least 1")
    if args.time_budget is not None and args.time_budget <= 0:
        raise GenlabError(f"--time-budget {args.time_budget}: give a positive number of seconds")
    if args.reg_noise is not None and not 0 <= args.reg_noise < 1:
        raise GenlabError(f"--reg-noise {args.reg_noise}: give a std in [0, 1), e.g. 0.033 (the paper's 1/30)")
    if args.tv is not None and not 0 <= args.tv < 1:
        raise GenlabError(f"--tv {args.tv}: give a weight in [0, 1), e.g. 0.02 (0, the default: the paper's loss)")
    if args.lr is not None and not 0 < args.lr < 1:
        raise GenlabError(f"--lr {args.lr}: give a learning rate in (0, 1), e.g. 0.01 (the paper's)")
    if args.ensemble is None:
        args.ensemble = DEFAULT_ENSEMBLE.get(args.task, 1)
    if not 1 <= args.ensemble <= 16:
        raise GenlabError(f"--ensemble {args.ensemble}: give a number of networks from 1 to 16, e.g. 2")
    if args.tile is not None and args.tile != 0 and args.tile < 64:
        raise GenlabError(f"--tile {args.tile}: give a window side of at least 64 pixels, e.g. 256, or 0 for none")
    if args.tile and args.task in ("inpaint", "sr"):
        raise GenlabError(f"--tile works for denoise and jpeg; --task {args.task} fits the whole image, drop --tile")
    if args.task == "sr" and args.factor < 2:
        raise GenlabError(f"--factor {args.factor}: super-resolution needs a factor >= 2")
    _check_output(args.output)
    if args.snapshots is not None:
        _check_output(args.snapshots, "snapshots", suffixes=())
    net = args.net or DEFAULT_NETS[args.task]
    spec = replace(NETS[net], members=args.ensemble)
    W0, H0 = _open_size(args.input, "input")
    f = args.factor if args.task == "sr" else 1
    m_in = spec.multiple if f == 1 else spec.multiple // math.gcd(spec.multiple, f)
    # BatchNorm at the coarsest scale needs more than one value: at least 2 x multiple per side.
    min_in = -(-(-(-2 * spec.multiple // f)) // m_in) * m_in
    Hp, Wp = max(-(-H0 // m_in) * m_in, min_in) * f, max(-(-W0 // m_in) * m_in, min_in) * f
    tile = DEFAULT_TILE.get(args.task, 0) if args.tile is None else args.tile
    tiled = bool(tile) and max(Hp, Wp) >= 1.5 * tile
    workers = 1
    if tiled:  # memory is that of one window per worker process
        from genlab.dipfit import tile_layout
        (Ht, tops), (Wt, lefts) = (tile_layout(n, tile, TILE_OVERLAP, spec.multiple) for n in (Hp, Wp))
    else:
        Ht, Wt = Hp, Wp
    bf16 = use_bf16(args.precision, Ht * Wt)
    threads = args.threads or default_threads(Ht * Wt)
    if tiled:
        workers = min(threads, len(tops) * len(lefts))
    _check_memory(spec, 3, Ht, Wt, net if args.ensemble == 1 else f"{net} x {args.ensemble}",
                  ("" if args.ensemble == 1 else ", or lower --ensemble")
                  + ("" if tiled or args.task in ("inpaint", "sr") else ", or fit it in windows with --tile 256")
                  + ("" if workers == 1 else ", or use fewer --threads"), bf16, copies=workers)

    img, alpha = split_alpha(_load(args.input, "input"))
    if alpha is not None and args.output.suffix.lower() in (".jpg", ".jpeg"):
        raise GenlabError(f"{args.input} has an alpha channel that JPEG cannot store; write a .png output instead")
    mask = None
    if args.task == "inpaint":
        if args.mask is None:
            raise GenlabError("--task inpaint needs --mask MASK (same size as the image; white = known pixels)")
        mask = _load(args.mask, "mask", gray=True)
        if mask.shape != img.shape[:2]:
            raise GenlabError(f"mask is {mask.shape[1]}x{mask.shape[0]} but the image is {img.shape[1]}x{img.shape[0]}; "
                              "give a mask of the same size")
        if not (mask > 0.5).any():
            raise GenlabError("the mask has no known pixels (all black); white marks the pixels to keep")
    ref = None
    if args.reference is not None:
        ref = split_alpha(_load(args.reference, "reference"))[0]
        want = (H0 * f, W0 * f) + img.shape[2:]
        if ref.shape != want:
            raise GenlabError(f"reference has shape {ref.shape} but the restored image will have {want}; "
                              "give the clean image at the output's size and colour mode")

    y, (h, w) = pad_to(img, m_in, min_in)
    weight = np.zeros(y.shape[:2], np.float32)  # the padding is never fitted
    weight[:h, :w] = 1 if mask is None else (mask > 0.5)
    physics = make_physics(args.task, mask=weight if mask is not None else None, factor=max(f, 2))
    iters = args.max_iters or TASK_ITERS[args.task]
    patience = args.patience or max(100, iters // 10)
    rule_factory = partial(make_rule, None if args.stop == "none" else args.stop, patience=patience)
    snaps = range(max(1, iters // 10), iters + 1, max(1, iters // 10)) if args.snapshots else ()
    settings = fit_settings(net)
    budget = None if args.time_budget is None else max(0.1, args.time_budget - (time.perf_counter() - t_start) - 1.0)
    common = dict(net=spec, steps=iters, weight=weight, snapshot_steps=snaps, seed=args.seed, threads=threads,
                  time_budget=budget, reg_noise_std=settings["reg_noise_std"] if args.reg_noise is None else args.reg_noise,
                  lr=settings["lr"] if args.lr is None else args.lr,
                  tv_weight=settings["tv_weight"] if args.tv is None else args.tv,
                  progress=not args.quiet and sys.stderr.isatty(), bf16=bf16, channels_last=bf16)
    if tiled:
        from genlab.dipfit import fit_tiles
        # windows are fitted side by side, one thread each: on 2 idle cores two 1-thread fits make
        # more iterations than one 2-thread fit (benchmarks/RESULTS.md)
        r = fit_tiles(y, physics, tile=tile, overlap=TILE_OVERLAP, workers=workers,
                      rule_factory=rule_factory, **common)
        snapshots = r.snapshots
    else:
        r = fit(y, physics, out_shape=(y.shape[0] * f, y.shape[1] * f), rule=rule_factory(), **common)
        snapshots = {s: avg for s, (_raw, avg) in r.monitor.snapshots_.items()}
    out = r.x[:H0 * f, :W0 * f]
    if alpha is not None:
        a = alpha if f == 1 else resize(alpha, (H0 * f, W0 * f))
        out = np.concatenate([out.reshape(out.shape[:2] + (-1,)), a[..., None]], axis=2)
    save_image(out, args.output)
    if args.snapshots:
        for s, avg in sorted(snapshots.items()):
            save_image(avg[:H0 * f, :W0 * f], args.snapshots / f"iter_{s:05d}.png")
    msg = (f"restored {args.input} -> {args.output}: {r.steps_done} iterations in {time.perf_counter() - t_start:.1f} s, "
           f"output from iteration {r.step} ({r.stopped_reason})")
    print(msg)
    if ref is not None:
        col = out[..., :-1] if alpha is not None else out
        col = col[..., 0] if col.ndim == 3 and col.shape[2] == 1 else col
        q = (np.clip(col, 0, 1) * 255 + 0.5).astype(np.uint8) / 255.0  # score what was written (8 bit)
        before = f" (input {psnr(img, ref):.2f} dB)" if f == 1 else ""
        print(f"PSNR {psnr(q, ref):.2f} dB{before}, SSIM {ssim(q, ref):.4f} [{CONVENTION['colour_space']}, "
              f"data range {CONVENTION['data_range']:g}, border crop {CONVENTION['border_crop']}]")
    return 0
