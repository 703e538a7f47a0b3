"""Degradation operators ("physics", deepinv's word) for the Deep Image Prior, with a way to corrupt a clean image.

Each operator has ``forward(x)``: the differentiable map from an image
``x`` of shape (1, C, H, W) in [0, 1] to measurement space (what a DIP fit
compares with the observation y), ``corrupt(img, rng)``: numpy (H, W[, C]) clean
-> observed y, and ``mask``: which measurement pixels the loss may see (None:
all). Ulyanov et al. 2018 (Sec. 4) fit ``|| A f_theta(z) - y ||^2`` (masked for
inpainting, with A a downsampler for super-resolution).
"""
from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F

from genlab.errors import GenlabError


class Physics:
    """Identity operator; subclasses override ``forward`` / ``corrupt``."""

    name = "identity"
    mask: np.ndarray | None = None  # (h, w) in measurement space, 1 = known

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def corrupt(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.asarray(img, dtype=np.float32)

    def describe(self) -> dict:
        return {"name": self.name}

    def crop(self, top: int, left: int, h: int, w: int) -> Physics:
        """The operator for the window of measurement rows top..top+h, columns left..left+w (fitting in
        windows, :func:`genlab.dip.fit_tiles`); an operator that acts pixel by pixel or block by block
        is its own."""
        return self


class GaussianNoise(Physics):
    """y = clip(x + sigma * n, 0, 1): the paper's denoising setting (sigma = 25/255)."""

    name = "denoise"

    def __init__(self, sigma: float = 25 / 255):
        self.sigma = float(sigma)

    def corrupt(self, img, rng):
        y = img + self.sigma * rng.standard_normal(img.shape).astype(np.float32)
        return np.clip(y, 0, 1).astype(np.float32)

    def describe(self):
        return {"name": self.name, "sigma": self.sigma}


class JPEG(Physics):
    """y = JPEG(x) at ``quality`` (PIL, 4:2:0 chroma subsampling); A is the identity for the fit."""

    name = "jpeg"

    def __init__(self, quality: int = 10):
        self.quality = int(quality)

    def corrupt(self, img, rng):
        from PIL import Image
        a = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, format="JPEG", quality=self.quality)
        buf.seek(0)
        with Image.open(buf) as im:
            return (np.asarray(im).astype(np.float32) / 255).reshape(img.shape)

    def describe(self):
        return {"name": self.name, "quality": self.quality}


class Inpainting(Physics):
    """A x = m * x with a binary mask m (1 = known); the loss sees only known pixels."""

    name = "inpaint"

    def __init__(self, mask: np.ndarray):
        mask = np.asarray(mask, dtype=np.float32)
        if mask.ndim != 2:
            raise GenlabError(f"a mask must be a 2-D (H, W) array, got shape {mask.shape}")
        if mask.sum() == 0:
            raise GenlabError("the mask has no known pixels (all zero); white (nonzero) marks the pixels to keep")
        self.mask = (mask > 0.5).astype(np.float32)
        self._m = torch.from_numpy(self.mask)[None, None]

    def forward(self, x):
        if self._m.device != x.device:
            self._m = self._m.to(x.device)
        return x * self._m

    def crop(self, top, left, h, w):
        m = self.mask[top:top + h, left:left + w]
        if m.sum() < 2:  # the held-out stop keeps one out of the fit to judge it
            raise GenlabError(f"the window of rows {top}-{top + h - 1}, columns {left}-{left + w - 1} has "
                              f"{int(m.sum())} known pixels, too few to fit (2 or more): use larger windows "
                              "(--tile) or the whole image (--tile 0)")
        return Inpainting(m)

    def corrupt(self, img, rng):
        m = self.mask if img.ndim == 2 else self.mask[..., None]
        return (img * m).astype(np.float32)

    def describe(self):
        return {"name": self.name, "known_fraction": float(self.mask.mean())}


class Downsampling(Physics):
    """A = box-filter downsampling by ``factor`` (average of factor x factor blocks).

    The paper uses a Lanczos kernel; the box filter is its simplest antialiased
    stand-in, and the same A produces y, so the fit is consistent.
    """

    name = "sr"

    def __init__(self, factor: int = 4):
        if factor < 2:
            raise GenlabError(f"factor={factor}; super-resolution needs an integer factor >= 2")
        self.factor = int(factor)

    def forward(self, x):
        return F.avg_pool2d(x, self.factor)

    def corrupt(self, img, rng):
        f = self.factor
        h, w = img.shape[0] // f * f, img.shape[1] // f * f
        t = torch.from_numpy(np.ascontiguousarray(img[:h, :w], dtype=np.float32))
        t = t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None]
        y = self.forward(t)[0]
        return (y[0] if img.ndim == 2 else y.permute(1, 2, 0)).numpy().astype(np.float32)

    def describe(self):
        return {"name": self.name, "factor": self.factor}


# ---- masks: (H, W) float32, 1 = known pixel -------------------------------------------------

def random_mask(h: int, w: int, drop: float, rng: np.random.Generator) -> np.ndarray:
    """Drop a fraction ``drop`` of the pixels uniformly at random (the paper's 50 % case)."""
    return (rng.random((h, w)) >= drop).astype(np.float32)


def holes_mask(h: int, w: int, n: int, radius: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` round holes of the given radius (in pixels) at random centres."""
    yy, xx = np.mgrid[:h, :w]
    m = np.ones((h, w), np.float32)
    for cy, cx in zip(rng.uniform(0, h, n), rng.uniform(0, w, n)):
        m[(yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2] = 0
    return m


def text_mask(h: int, w: int, text: str = "Deep Image Prior", size: int | None = None) -> np.ndarray:
    """Lines of text drawn over the image (the paper's text-overlay inpainting)."""
    from PIL import Image, ImageDraw, ImageFont
    size = size or max(8, h // 8)
    im = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=size)
    step = int(size * 1.6)
    for i, y in enumerate(range(size // 3, h, step)):
        draw.text((-(i * size) % (2 * size) - size, y), (text + "  ") * (w // size + 2), fill=0, font=font)
    return (np.asarray(im) > 127).astype(np.float32)


def make_physics(task: str, *, sigma: float = 25 / 255, quality: int = 10, mask: np.ndarray | None = None,
                 factor: int = 4) -> Physics:
    if task == "denoise":
        return GaussianNoise(sigma)
    if task == "jpeg":
        return JPEG(quality)
    if task == "inpaint":
        if mask is None:
            raise GenlabError("--task inpaint needs --mask MASK (white = known pixels)")
        return Inpainting(mask)
    if task == "sr":
        return Downsampling(factor)
    raise GenlabError(f"unknown task {task!r}; choose denoise, jpeg, inpaint or sr")
