"""`genlab restore --task inpaint / sr`: the fill against biharmonic inpainting, known pixels kept exactly,
windows for both tasks (exact sizes, blending without seams), the held-out stop on known pixels only."""
from __future__ import annotations

import numpy as np
import pytest

from genlab.cli import main
from genlab.data.images import load_image, save_image
from genlab.physics import Downsampling, Inpainting, random_mask
from genlab.probes.image import psnr, ssim

FAST = ["--net", "small", "--threads", "1", "--quiet"]


def _q8(img):  # what a PNG stores
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8) / 255.0


def _files(tmp_path, clean, mask):
    save_image(clean, tmp_path / "clean.png")
    save_image(clean * (mask if clean.ndim == 2 else mask[..., None]), tmp_path / "holes.png")
    save_image(mask, tmp_path / "mask.png")
    return [str(tmp_path / "holes.png"), "--task", "inpaint", "--mask", str(tmp_path / "mask.png")]


def test_half_the_pixels_missing_the_fill_beats_biharmonic_on_a_texture(tmp_path, capsys):
    from skimage.restoration import inpaint_biharmonic
    img = load_image("brick", gray=True, size=64)
    clean = _q8(img[:64, (img.shape[1] - 64) // 2:][:, :64])
    mask = random_mask(64, 64, 0.5, np.random.default_rng(0))
    hole = mask < 0.5
    argv = _files(tmp_path, clean, mask)
    out = tmp_path / "out.png"
    assert main(["restore", *argv, "-o", str(out), "--max-iters", "800", "--stop", "none",
                 "--reference", str(tmp_path / "clean.png"), *FAST]) == 0
    got = load_image(out)
    base = inpaint_biharmonic(clean * mask, hole)
    assert psnr(got, clean, where=hole) > psnr(base, clean, where=hole) + 0.5  # measured: +1.2 dB
    text = capsys.readouterr().out
    assert f"on the {int(hole.sum())} unknown pixels: PSNR" in text


def test_known_pixels_come_back_exactly_unless_raw(tmp_path):
    clean = _q8(load_image("astronaut", size=40)[:37, :33])
    mask = random_mask(37, 33, 0.5, np.random.default_rng(1))
    argv = _files(tmp_path, clean, mask)
    given = load_image(tmp_path / "holes.png")
    for extra in ([], ["--tile", "64"], ["--raw"]):
        out = tmp_path / "out.png"
        assert main(["restore", *argv, "-o", str(out), "--max-iters", "5", *extra, *FAST]) == 0
        got = load_image(out)
        assert got.shape == clean.shape
        same = np.array_equal(got[mask > 0.5], given[mask > 0.5])
        assert same != (extra == ["--raw"])  # --raw: the network's own output there, not the input


def test_default_windows_fall_back_to_the_whole_image_when_one_is_all_hole(tmp_path, capsys):
    clean = _q8(load_image("astronaut", gray=True, size=384))
    mask = np.ones((384, 384), np.float32)
    mask[:240, :240] = 0  # the top-left window (of 3 x 3 at the default --tile 128, 160 px) has no known pixel
    argv = _files(tmp_path, clean, mask)
    out = tmp_path / "out.png"
    assert main(["restore", *argv, "-o", str(out), "--max-iters", "2", *FAST]) == 0
    assert "fitting the whole image instead" in capsys.readouterr().err
    got = load_image(out)
    given = load_image(tmp_path / "holes.png")
    assert got.shape == clean.shape and np.array_equal(got[mask > 0.5], given[mask > 0.5])
    # asked for explicitly, the windows are refused in one line instead
    assert main(["restore", *argv, "-o", str(tmp_path / "o2.png"), "--max-iters", "2", "--tile", "256", *FAST]) == 2
    assert "too few to fit" in capsys.readouterr().err and not (tmp_path / "o2.png").exists()


def test_unknown_pixel_scores_select_the_holes():
    rng = np.random.default_rng(0)
    ref = rng.random((20, 24, 3))
    x = ref.copy()
    hole = np.zeros((20, 24), bool)
    hole[5:9, 3:15] = True
    x[hole] += 0.1
    assert psnr(x, ref, where=hole) == pytest.approx(20.0)  # MSE 0.01 there, 0 elsewhere
    assert psnr(x, ref) == pytest.approx(20.0 - 10 * np.log10(hole.mean()))
    assert ssim(x, ref, where=~hole) > ssim(x, ref, where=hole)
    with pytest.raises(ValueError, match="no pixels"):
        psnr(x, ref, where=np.zeros((20, 24), bool))


def _identity_fits(monkeypatch, f):
    """Each window's "fit" returns its observation (nearest-upsampled f times): a perfect fit."""
    from genlab.dip import FitResult, windows
    seen = []

    def exact(obs, physics, settings, out_shape=None, **kw):
        seen.append((obs, out_shape, physics))
        up = np.kron(obs, np.ones((f, f) + (1,) * (obs.ndim - 2), np.float32))
        return FitResult(up, 3, 4, "completed", None, None)

    monkeypatch.setattr(windows, "fit", exact)
    return seen


@pytest.mark.parametrize("task", ["inpaint", "sr", "constant"])
def test_windows_give_the_size_back_and_blend_without_seams(monkeypatch, task):
    from genlab.dip import FitSettings, windows
    from genlab.models.dip import NetSpec
    f = 4 if task == "sr" else 1
    seen = _identity_fits(monkeypatch, f)
    rng = np.random.default_rng(0)
    y = np.full((40, 56, 3), 0.37, np.float32) if task == "constant" else rng.random((40, 56, 3)).astype(np.float32)
    mask = random_mask(40, 56, 0.5, rng)
    physics = Downsampling(f) if task == "sr" else Inpainting(mask)
    small = FitSettings(NetSpec(channels=8, depth=3, in_channels=4))  # multiple 8: sr windows on a grid of 2
    r = windows.fit_tiles(y, physics, small, tile=24 * f, overlap=8 * f, weight=None if task == "sr" else mask)
    want = np.kron(y, np.ones((f, f, 1), np.float32))
    assert r.x.shape == (40 * f, 56 * f, 3) and len(r.tiles) == len(seen) == 2 * 2
    assert np.abs(r.x - want).max() < 1e-6  # every window put back where it came from, weights summing to 1
    for obs, out_shape, ph in seen:
        assert out_shape == (obs.shape[0] * f, obs.shape[1] * f)
        if task != "sr":  # each window's operator sees its own part of the mask
            assert ph.mask.shape == obs.shape[:2]


def test_restore_sr_in_windows_keeps_the_exact_size(tmp_path, capsys):
    lr = load_image("camera", gray=True, size=48)[:37, :45]
    save_image(lr, tmp_path / "lr.png")
    out = tmp_path / "big.png"
    assert main(["restore", str(tmp_path / "lr.png"), "-o", str(out), "--task", "sr", "--factor", "4",
                 "--tile", "64", "--max-iters", "5", *FAST]) == 0
    assert load_image(out).shape == (148, 180)
    assert "windows" in capsys.readouterr().out


def test_heldout_stop_holds_out_known_pixels_only():
    import torch

    from genlab.dip import HeldOut
    mask = torch.as_tensor(random_mask(64, 64, 0.5, np.random.default_rng(2)))[None, None]
    rule = HeldOut(fraction=0.2)
    weight = rule.prepare(torch.zeros(1, 1, 64, 64), Inpainting(mask[0, 0].numpy()), mask)
    val = rule.val_
    assert val is not None and val.sum() > 0.15 * mask.sum()
    assert float((val * (1 - mask)).sum()) == 0  # never a pixel to fill in
    assert torch.equal(weight + val, mask)       # the rest of the known pixels stay in the loss


def test_bad_masks_and_windows_give_one_line(tmp_path, capsys):
    img = load_image("astronaut", size=96)[:96, :96]
    mask = np.ones((96, 96), np.float32)
    mask[:, :70] = 0  # the left windows have nothing to fit
    argv = _files(tmp_path, img, mask)
    out = tmp_path / "never.png"
    assert main(["restore", *argv, "-o", str(out), "--tile", "64", "--max-iters", "2", *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "known pixels" in err and "--tile" in err, err
    assert not out.exists()
    assert main(["restore", *argv, "-o", str(out), "--tile", "0", "--max-iters", "2", *FAST]) == 0  # one fit: fine
