"""`genlab restore` end to end against the classical method a user would otherwise pick, on the same image.

    python benchmarks/bench_restore.py --size 512 --reference /work/paper512/curve.json --paper-s-per-iter 7.49 \
        -- --time-budget 580
    python benchmarks/bench_restore.py --task inpaint --image camera --size 128 --iterations 300
    python benchmarks/bench_restore.py --task sr --image astronaut --size 128 --iterations 300 -- --tile 64

Makes the clean image (a scikit-image name or a file: shorter side resized to
--size and centre-cropped to a square, or with --crop the centre --size
square at full resolution) and its degraded version, writes both as PNGs in a
temporary folder, and runs each method as its own process on the same files:

- denoise (sigma 25/255, seed 0: astronaut is the image of bench_dip.py):
  ``dip`` (restore), ``nlm`` (scikit-image non-local means, h = 0.8 sigma,
  5x5 patches, 13x13 search: its documented example, given the true sigma,
  which restore is not), ``bm3d`` (only where the ``bm3d`` package is installed: an optional
  comparison, non-commercial licence; given the true sigma);
- inpaint (--mask random: 50 % of the pixels dropped, seed 0; text; holes):
  ``dip`` and ``biharmonic`` (scikit-image ``inpaint_biharmonic``);
- sr (--factor 4; the low-resolution image is restore's own operator, the
  box-filter average of f x f blocks, not the paper's Lanczos kernel): ``dip``,
  ``bicubic`` and ``lanczos`` (PIL resizing of the low-resolution PNG).

Each method's process (and its worker processes) is timed: wall time, CPU
time (user + sys of it and its children: the fair measure when other jobs
share the cores) and peak resident memory, summed over its processes every
0.05 s (and, for one-process baselines, its own peak, VmHWM). Scores are
computed here on the written 8-bit files: PSNR and SSIM (RGB, data range 1,
no crop: genlab.probes.image), on the unknown pixels for inpainting, and for
SR the paper's convention too (Y channel of BT.601, 4-px border crop).
Arguments after ``--`` go to restore; --iterations N adds ``--max-iters N``.
With --reference (a curve.json of the paper network on the same denoising
image and size) the dip row also gets the gap to that curve's peak.
One JSON row per method is printed, and appended to --out.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASELINES = {"denoise": ["nlm", "bm3d"], "inpaint": ["biharmonic"], "sr": ["bicubic", "lanczos"]}
DEFAULT_IMAGE = {"denoise": "astronaut", "inpaint": "camera", "sr": "astronaut"}
SIGMA = 25 / 255


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


def measure(cmd: list[str]) -> tuple[str, float, float, int]:
    """Run ``cmd``; (stdout, wall s, CPU s of it and its children, peak summed RSS bytes)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0, peak = time.perf_counter(), 0
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    while p.poll() is None:
        peak = max(peak, tree_rss(p.pid))
        time.sleep(0.05)
    wall, out = time.perf_counter() - t0, p.stdout.read() if p.stdout else ""
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if p.returncode:
        raise SystemExit(f"{' '.join(cmd[:6])} ... failed (exit {p.returncode})")
    for ln in out.splitlines():  # a one-process baseline reports its own peak: short runs escape the sampling
        if ln.startswith("maxrss_kb "):
            peak = max(peak, int(ln.split()[1]) * 1024)
    return out, wall, cpu, peak


def _peak_line() -> str:
    """This process's peak resident memory (VmHWM: ru_maxrss would count the parent's memory at the fork)."""
    kb = next(ln for ln in Path("/proc/self/status").read_text().splitlines() if ln.startswith("VmHWM:")).split()[1]
    return f"maxrss_kb {kb}"


def baseline(name: str, src: str, dst: str, extra: str) -> None:
    """Run one classical method on the PNG ``src`` and write ``dst`` (this script's --baseline mode)."""
    import numpy as np

    from genlab.data.images import load_image, save_image
    img = load_image(src)
    axis = -1 if img.ndim == 3 else None
    if name == "nlm":
        from skimage.restoration import denoise_nl_means  # given the true sigma (estimate_sigma needs pywt)
        out = denoise_nl_means(img, h=0.8 * SIGMA, sigma=SIGMA, fast_mode=True, patch_size=5, patch_distance=6,
                               channel_axis=axis)
    elif name == "bm3d":
        import bm3d  # optional: pip install bm3d (non-commercial licence)
        out = bm3d.bm3d_rgb(img, SIGMA) if img.ndim == 3 else bm3d.bm3d(img, SIGMA)
    elif name == "biharmonic":
        from skimage.restoration import inpaint_biharmonic
        out = inpaint_biharmonic(img, load_image(extra, gray=True) <= 0.5, channel_axis=axis)
    else:  # bicubic, lanczos: PIL, as an image editor would
        from PIL import Image
        f = int(extra)
        with Image.open(src) as im:
            im.load()
            big = im.resize((im.width * f, im.height * f), Image.BICUBIC if name == "bicubic" else Image.LANCZOS)
        big.save(dst)
        print(_peak_line())
        return
    save_image(np.clip(out, 0, 1), dst)
    print(_peak_line())


def y_psnr(x, ref, crop: int) -> float:
    """PSNR of the Y channel (ITU-R BT.601, as MATLAB's rgb2ycbcr) with a ``crop``-pixel border removed."""
    import numpy as np

    from genlab.probes.image import psnr

    def y(a):
        a = np.asarray(a, np.float64)
        return a if a.ndim == 2 else (16 + 65.481 * a[..., 0] + 128.553 * a[..., 1] + 24.966 * a[..., 2]) / 255
    c = (slice(crop, -crop or None),) * 2
    return psnr(y(x)[c], y(ref)[c])


def make_case(a, d: str):
    """Write clean.png, input.png (and mask.png); return (clean, hole or None, restore args, baseline extra)."""
    import numpy as np

    from genlab.data.images import load_image, save_image
    from genlab.physics import Downsampling, GaussianNoise, holes_mask, random_mask, text_mask
    img = load_image(a.image, size=None if a.crop else a.size)  # gray stays gray (camera), colour stays RGB
    s, (h, w) = a.size // 32 * 32 if a.task != "sr" else a.size // (32 * a.factor) * 32 * a.factor, img.shape[:2]
    clean = img[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    clean = (np.clip(clean, 0, 1) * 255 + 0.5).astype(np.uint8) / 255.0  # what a PNG stores
    save_image(clean, f"{d}/clean.png")
    n = clean.shape[0]
    if a.task == "denoise":
        save_image(GaussianNoise(SIGMA).corrupt(clean.astype(np.float32), np.random.default_rng(0)), f"{d}/input.png")
        return clean, None, [], ""
    if a.task == "sr":
        save_image(Downsampling(a.factor).corrupt(clean.astype(np.float32), None), f"{d}/input.png")
        return clean, None, ["--factor", str(a.factor)], str(a.factor)
    mask = {"random": lambda: random_mask(n, n, 0.5, np.random.default_rng(0)), "text": lambda: text_mask(n, n),
            "holes": lambda: holes_mask(n, n, 6, n / 12, np.random.default_rng(0))}[a.mask]()
    save_image(mask, f"{d}/mask.png")
    save_image(clean * (mask if clean.ndim == 2 else mask[..., None]), f"{d}/input.png")
    return clean, mask <= 0.5, ["--mask", f"{d}/mask.png"], f"{d}/mask.png"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--baseline"]:
        return baseline(*argv[1:5])
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--task", choices=list(BASELINES), default="denoise")
    ap.add_argument("--image", help="scikit-image name or file (default: astronaut; camera for inpaint)")
    ap.add_argument("--size", type=int, default=512, help="side of the clean (for sr: the output) image")
    ap.add_argument("--crop", action="store_true", help="centre crop at full resolution instead of resizing")
    ap.add_argument("--mask", choices=["random", "text", "holes"], default="random")
    ap.add_argument("--factor", type=int, default=4)
    ap.add_argument("--iterations", type=int, help="restore's --max-iters")
    ap.add_argument("--methods", help="comma-separated subset of: dip," + ",".join(sum(BASELINES.values(), [])))
    ap.add_argument("--out", help="append the JSON rows to this file")
    ap.add_argument("--reference", help="curve.json of the paper network on the same image and size (denoise)")
    ap.add_argument("--paper-s-per-iter", type=float, default=None,
                    help="the paper configuration's seconds per iteration here (bench_dip.py --configs paper): "
                         "prints its time to within 0.3 dB of its peak and the ratio")
    a = ap.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    a.image = a.image or DEFAULT_IMAGE[a.task]
    from genlab.data.images import load_image
    from genlab.probes.image import psnr, ssim
    ref_peak = band = None
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
    methods = ["dip"] + BASELINES[a.task]
    if a.methods:
        methods = [m for m in methods if m in a.methods.split(",")]
    if "bm3d" in methods:
        try:
            import bm3d  # noqa: F401
        except ImportError:
            print("bm3d is not installed: no BM3D row (pip install bm3d; non-commercial licence)", file=sys.stderr)
            methods.remove("bm3d")
    rows = []
    with tempfile.TemporaryDirectory() as d:
        clean, hole, task_args, bextra = make_case(a, d)
        for name in methods:
            if name == "dip":
                more = ["--max-iters", str(a.iterations)] if a.iterations else []
                cmd = [sys.executable, "-m", "genlab", "restore", f"{d}/input.png", "-o", f"{d}/{name}.png",
                       "--task", a.task, *task_args, "--reference", f"{d}/clean.png", "--quiet", *more, *extra]
            else:
                cmd = [sys.executable, __file__, "--baseline", name, f"{d}/input.png", f"{d}/{name}.png", bextra]
            out, wall, cpu, peak = measure(cmd)
            got = load_image(f"{d}/{name}.png")
            got = got[..., :3] if got.ndim == 3 and clean.ndim == 3 else got
            row = {"task": a.task, "image": a.image, "size": clean.shape[0], "method": name,
                   "args": " ".join(extra + (["--max-iters", str(a.iterations)] if a.iterations and name == "dip" else []))
                   if name == "dip" else "", "psnr": round(psnr(got, clean), 2), "ssim": round(ssim(got, clean), 4),
                   "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "peak_rss_gb_summed": round(peak / 1e9, 2)}
            if hole is not None:
                row.update(mask=a.mask, psnr_unknown=round(psnr(got, clean, where=hole), 2),
                           ssim_unknown=round(ssim(got, clean, where=hole), 4))
            if a.task == "sr":
                row.update(factor=a.factor, psnr_y_crop4=round(y_psnr(got, clean, 4), 2))
            if name == "dip":
                row["restore_says"] = out.strip().splitlines()[0] if out.strip() else ""
                if ref_peak is not None and band is not None:
                    row.update(paper_peak=round(ref_peak, 2), gap_db=round(ref_peak - row["psnr"], 2),
                               within_0_3=ref_peak - row["psnr"] <= 0.3, paper_band_step=band)
                    if a.paper_s_per_iter:  # not the reference's own s/iter: a resumed curve times only its last part
                        spi = a.paper_s_per_iter
                        row.update(paper_s_per_iter=spi, paper_time_to_band_s=round(band * spi),
                                   ratio=round(band * spi / wall, 1))
            rows.append(row)
            print(json.dumps(row), flush=True)
    if a.task == "sr" and "bicubic" in methods:
        bic = next(r for r in rows if r["method"] == "bicubic")["psnr_y_crop4"]
        for r in rows:
            r["gain_over_bicubic_y"] = round(r["psnr_y_crop4"] - bic, 2)
        print(json.dumps({r["method"]: r["gain_over_bicubic_y"] for r in rows}))
    if a.out:
        with open(a.out, "a") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in rows)
    return rows


if __name__ == "__main__":
    main()
