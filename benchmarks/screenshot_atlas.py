"""Render an atlas's report.html in a real headless browser and save a PNG of what a reader sees.

The atlas is meant to open offline from its folder: this loads it from a ``file://``
address in Chromium with the network switched off (a proxy that goes nowhere), so a
figure or a style that needed the network would show up missing in the picture.

    apt-get install -y chromium                                           # Debian's package
    python benchmarks/screenshot_atlas.py ATLAS_DIR --out docs/atlas.png   # the first screen, 1400x900
    python benchmarks/screenshot_atlas.py ATLAS_DIR --out full.png --height 6000 --width 1400

The first screen of the quick atlas is kept in docs/atlas.png (shrunk to --scale of its size).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    sys.exit(f"no headless browser found (tried {', '.join(BROWSERS)}); install one: apt-get install -y chromium")


def screenshot(page: Path, out: Path, width: int = 1400, height: int = 900, timeout: float = 120) -> Path:
    """``page`` rendered at ``width`` x ``height`` CSS pixels into the PNG ``out``; lazy images load first."""
    with tempfile.TemporaryDirectory() as profile:
        cmd = [find_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--proxy-server=127.0.0.1:9", "--no-first-run", f"--user-data-dir={profile}",
               "--virtual-time-budget=5000", f"--window-size={width},{height}", f"--screenshot={out.resolve()}",
               page.resolve().as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0 or not out.is_file():
        sys.exit(f"chromium failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("atlas", type=Path, help="an atlas folder (holding report.html) or the report.html itself")
    ap.add_argument("--out", type=Path, default=Path("atlas.png"))
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=900)
    ap.add_argument("--scale", type=float, default=1.0, help="shrink the PNG by this factor (docs/atlas.png: 0.6)")
    a = ap.parse_args(argv)
    page = a.atlas / "report.html" if a.atlas.is_dir() else a.atlas
    if not page.is_file():
        sys.exit(f"{page} not found; give an atlas folder written by genlab reproduce or genlab report")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    screenshot(page, a.out, a.width, a.height)
    if a.scale != 1.0:
        from PIL import Image
        im = Image.open(a.out).convert("RGB")
        im = im.resize((round(im.width * a.scale), round(im.height * a.scale)), Image.LANCZOS)
        im.quantize(colors=128).save(a.out, optimize=True)
    print(f"{a.out}: {a.width}x{a.height} of {page} ({a.out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
