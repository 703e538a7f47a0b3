"""The files ``genlab restore`` reads and writes: checked before any work, each problem one line.

Images are float in [0, 1], (H, W) gray or (H, W, C); alpha passes through
restore untouched; sides are mirror-padded to the network's multiple and
cropped back.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from genlab.errors import GenlabError


def open_size(path: Path, what: str) -> tuple[int, int]:
    """(W, H) of an image file, read from its header without decoding the pixels."""
    from PIL import Image, UnidentifiedImageError

    from genlab.io import check_path
    check_path(path, what)
    if not path.exists():
        raise GenlabError(f"{what} {path} does not exist; give a PNG or JPEG file")
    if path.is_dir():
        raise GenlabError(f"{what} {path} is a folder; give a PNG or JPEG file")
    try:
        with Image.open(path) as im:
            return im.size
    except Image.DecompressionBombError:
        raise GenlabError(f"{what} {path} has too many pixels to restore in memory; crop or downscale it") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise GenlabError(f"cannot read {what} {path} as an image; give a PNG or JPEG file") from None


def load(path: Path, what: str, gray: bool | None = None) -> np.ndarray:
    from genlab.data.images import load_image
    open_size(path, what)
    try:
        return load_image(path, gray=gray, keep_alpha=not gray)  # alpha passes through restore
    except GenlabError:
        raise GenlabError(f"cannot read {what} {path} as an image; give a PNG or JPEG file") from None


def split_alpha(img: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(H, W, 2|4) -> colour and alpha; gray (H, W) and RGB pass through."""
    if img.ndim == 3 and img.shape[2] in (2, 4):
        return np.ascontiguousarray(img[..., :-1] if img.shape[2] == 4 else img[..., 0]), img[..., -1]
    return img, None


def _same(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same file on disk (links, ./, ..) or the same absolute name."""
    try:
        if a.exists() and b.exists():
            return a.samefile(b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def check_inputs_kept(output: Path, snapshots: Path | None, inputs: dict[str, Path | None]) -> None:
    """Refuse an output (or a snapshot, ``iter_NNNNN.png`` in ``snapshots``) that would write over an input."""
    for what, p in inputs.items():
        if p is None:
            continue
        if _same(output, p):
            raise GenlabError(f"output {output} is the {what} {p}; restore never writes over its inputs: "
                              "give another -o")
        if snapshots is not None and re.fullmatch(r"iter_\d{5}\.png", p.name) and _same(snapshots, p.parent):
            raise GenlabError(f"--snapshots {snapshots} holds the {what} {p}, which a snapshot would replace; "
                              "give another --snapshots folder")


def check_output(path: Path, what: str = "output", suffixes=(".png", ".jpg", ".jpeg")) -> None:
    """An image file (or, with no suffixes, a folder) that can be written; nothing is created."""
    from genlab.io import check_path, check_writable
    check_path(path, what)
    if suffixes and path.suffix.lower() not in suffixes:
        raise GenlabError(f"{what} {path} must end in {', '.join(suffixes)}")
    folder = path.parent if suffixes else path
    if path.is_dir() and suffixes:
        raise GenlabError(f"{what} {path} is a folder; give a file name ending in .png")
    if suffixes and not folder.is_dir():
        raise GenlabError(f"cannot write {what} {path}: folder {folder} does not exist")
    check_writable(folder, what, "choose another path", keep=False)


def pad_to(img: np.ndarray, multiple: int, min_size: int = 0) -> tuple[np.ndarray, tuple[int, int]]:
    """Mirror-pad the bottom and right to a multiple of ``multiple`` (and at least ``min_size``);
    returns the padded image and the original (H, W)."""
    h, w = img.shape[:2]
    ph, pw = max(-h % multiple, min_size - h), max(-w % multiple, min_size - w)
    pads = ((0, ph), (0, pw)) + ((0, 0),) * (img.ndim - 2)
    return np.pad(img, pads, mode="symmetric"), (h, w)


__all__ = ["open_size", "load", "split_alpha", "check_inputs_kept", "check_output", "pad_to"]
