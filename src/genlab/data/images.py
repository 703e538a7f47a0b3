"""Images: any PNG/JPEG file or a built-in test image, as float arrays in [0, 1]."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from genlab.errors import GenlabError
from genlab.io import check_path

BUILTIN = ("camera", "astronaut", "brick", "grass", "gravel", "coffee", "chelsea", "rocket", "text",
           "moon", "page", "coins", "horse", "cat")


def builtin_image(name: str) -> np.ndarray:
    from skimage import data
    if name not in BUILTIN:
        raise GenlabError(f"unknown built-in image {name!r}; choose one of: {', '.join(BUILTIN)}, or give a file path")
    img = getattr(data, name)()
    return _to_float(img)


def _to_float(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype == bool:
        return img.astype(np.float32)
    if np.issubdtype(img.dtype, np.integer):
        return (img.astype(np.float32) / np.iinfo(img.dtype).max).astype(np.float32)
    return np.clip(img.astype(np.float32), 0, 1)


def load_image(source: str | Path, gray: bool | None = None, size: int | tuple[int, int] | None = None,
               keep_alpha: bool = False) -> np.ndarray:
    """Load a file or built-in image as float32 in [0, 1]: (H, W) gray or (H, W, C).

    gray=True converts to luminance (ITU-R 601); size resizes (int: the shorter side).
    keep_alpha=True keeps an alpha channel as the last channel ((H, W, 2) or (H, W, 4)).
    """
    s = str(source)
    if s in BUILTIN and not Path(s).exists():
        img = builtin_image(s)
    else:
        check_path(s, "image")
        p = Path(s)
        if not p.exists():
            raise GenlabError(f"image {p} does not exist; give a PNG/JPEG path or a built-in name ({', '.join(BUILTIN[:5])}, ...)")
        from PIL import Image, UnidentifiedImageError
        try:
            with Image.open(p) as im:
                im.load()
                # Networks here see gray or RGB: alpha is dropped (LA -> L, RGBA/P -> RGB)
                # unless the caller keeps it (genlab restore passes it through).
                if keep_alpha and (im.mode in ("RGBA", "RGBa", "PA") or (im.mode == "P" and "transparency" in im.info)):
                    im = im.convert("RGBA")
                elif keep_alpha and im.mode in ("LA", "La"):
                    im = im.convert("LA")
                elif im.mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "RGBA", "RGBa"):
                    im = im.convert("RGB")
                elif im.mode in ("LA", "La"):
                    im = im.convert("L")
                integer16 = im.mode.startswith("I")
                if im.mode.startswith("I") or im.mode == "F":
                    im = im.convert("F")
                arr = np.asarray(im)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
            raise GenlabError(f"cannot read {p} as an image ({type(e).__name__}); give a PNG or JPEG file") from None
        if arr.dtype != np.float32:
            img = _to_float(arr)
        else:  # 16-bit integers are on 0..65535; float images are taken as already on [0, 1]
            img = np.clip(arr / 65535.0 if integer16 else arr, 0, 1).astype(np.float32)
    if gray and img.ndim == 3:
        rgb = img[..., :3]
        img = (rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)).astype(np.float32)
    if size is not None:
        img = resize(img, size)
    return img


def resize(img: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Antialiased resize; an int sets the shorter side."""
    from skimage.transform import resize as sk_resize
    h, w = img.shape[:2]
    if isinstance(size, int):
        scale = size / min(h, w)
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
    out = sk_resize(img, size + img.shape[2:], anti_aliasing=True, preserve_range=True)
    return np.clip(out, 0, 1).astype(np.float32)


def save_image(img: np.ndarray, path: str | Path) -> None:
    """Save float [0, 1] (H, W) or (H, W, C) as 8-bit PNG/JPEG, atomically."""
    import io

    from PIL import Image

    from genlab.io import atomic_write_bytes
    p = Path(path)
    a = (np.clip(np.asarray(img), 0, 1) * 255 + 0.5).astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG"}.get(p.suffix.lower(), "PNG")
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format=fmt)
    atomic_write_bytes(p, buf.getvalue())
