"""`genlab restore`: restores, keeps the input's exact size and alpha, and fails cleanly on bad input.

Also the pieces only restore uses: its typed config, thread and precision choices, windows."""
from __future__ import annotations

import importlib
import os

import numpy as np
import pytest

from genlab.cli import main
from genlab.data.images import load_image, save_image
from genlab.physics import GaussianNoise
from genlab.probes.image import psnr

FAST = ["--net", "small", "--threads", "1", "--quiet"]


def _clean(h=29, w=37, gray=False):
    img = load_image("chelsea", gray=gray, size=max(h, w))
    return np.ascontiguousarray(img[:h, :w])


def _q8(img):  # what a PNG stores
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8) / 255.0


def test_restore_denoise_is_closer_to_the_truth_and_keeps_the_odd_size(tmp_path, capsys):
    clean = _q8(_clean())
    noisy = GaussianNoise(25 / 255).corrupt(clean, np.random.default_rng(0))
    save_image(clean, tmp_path / "clean.png")
    save_image(noisy, tmp_path / "noisy.png")
    out = tmp_path / "out.png"
    rc = main(["restore", str(tmp_path / "noisy.png"), "-o", str(out), "--task", "denoise", "--max-iters", "300",
               "--reference", str(tmp_path / "clean.png"), *FAST])
    assert rc == 0
    res = load_image(out)
    assert res.shape == clean.shape
    assert psnr(res, clean) > psnr(_q8(noisy), clean) + 2.0
    text = capsys.readouterr().out
    assert "PSNR" in text and "SSIM" in text and "data range 1" in text


@pytest.mark.parametrize("mode", ["gray", "rgba"])
def test_gray_and_rgba_round_trip_with_exact_size(tmp_path, mode):
    from PIL import Image
    rgb = _clean(23, 31)
    if mode == "gray":
        arr = (_clean(23, 31, gray=True) * 255).astype(np.uint8)
    else:
        alpha = np.tile(np.linspace(0, 255, 31, dtype=np.uint8), (23, 1))
        arr = np.dstack([(rgb * 255).astype(np.uint8), alpha])
    Image.fromarray(arr).save(tmp_path / "in.png")
    out = tmp_path / "out.png"
    assert main(["restore", str(tmp_path / "in.png"), "-o", str(out), "--max-iters", "3", *FAST]) == 0
    with Image.open(out) as im:
        got = np.asarray(im)
        assert im.size == (31, 23) and im.mode == ("L" if mode == "gray" else "RGBA")
    if mode == "rgba":
        assert np.array_equal(got[..., 3], arr[..., 3])  # alpha kept exactly


def test_inpaint_and_sr_sizes(tmp_path):
    clean = _clean(24, 28)
    mask = np.ones(clean.shape[:2], np.float32)
    mask[8:14, 5:20] = 0
    save_image(clean * mask[..., None], tmp_path / "holes.png")
    save_image(mask, tmp_path / "mask.png")
    for ens in ("1", "2"):  # an ensemble's members share the masked loss and the SR operator
        assert main(["restore", str(tmp_path / "holes.png"), "-o", str(tmp_path / "a.png"), "--task", "inpaint",
                     "--mask", str(tmp_path / "mask.png"), "--max-iters", "3", "--ensemble", ens, *FAST]) == 0
        assert load_image(tmp_path / "a.png").shape == clean.shape
        assert main(["restore", str(tmp_path / "holes.png"), "-o", str(tmp_path / "b.png"), "--task", "sr",
                     "--factor", "2", "--max-iters", "3", "--ensemble", ens, *FAST]) == 0
        assert load_image(tmp_path / "b.png").shape == (48, 56, 3)


def _bad(tmp_path, capsys, argv, needle):
    out = tmp_path / "never.png"
    argv = [a.replace("OUT", str(out)) for a in argv]
    assert main(["restore", *argv, *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err, err
    assert not out.exists() and not list(tmp_path.glob(".never*"))


def test_bad_inputs_give_one_line_exit_2_and_no_file(tmp_path, capsys, monkeypatch):
    img = _clean(20, 20)
    save_image(img, tmp_path / "img.png")
    (tmp_path / "notes.txt").write_text("not an image")
    save_image(np.ones((10, 12)), tmp_path / "small_mask.png")
    save_image(np.zeros((20, 20)), tmp_path / "black_mask.png")
    p = str(tmp_path)
    _bad(tmp_path, capsys, [f"{p}/missing.png", "-o", "OUT"], "does not exist")
    _bad(tmp_path, capsys, [f"{p}/notes.txt", "-o", "OUT"], "cannot read")
    _bad(tmp_path, capsys, [f"{p}/img.png", "-o", "OUT", "--task", "inpaint", "--mask", f"{p}/small_mask.png"], "same size")
    _bad(tmp_path, capsys, [f"{p}/img.png", "-o", "OUT", "--task", "inpaint", "--mask", f"{p}/black_mask.png"], "no known pixels")
    _bad(tmp_path, capsys, [f"{p}/img.png", "-o", "OUT", "--task", "inpaint"], "needs --mask")
    _bad(tmp_path, capsys, [f"{p}/img.png", "-o", f"{p}/no/such/folder/x.png"], "does not exist")
    _bad(tmp_path, capsys, [f"{p}/img.png", "-o", f"{p}/out.txt"], "must end in")
    _bad(tmp_path, capsys, [f"{p}/img.png", "-o", "OUT", "--reg-noise", "-0.1"], "--reg-noise")
    _bad(tmp_path, capsys, [f"{p}/img.png", "-o", "OUT", "--lr", "0"], "--lr")
    _bad(tmp_path, capsys, [f"{p}/img.png", "-o", "OUT", "--tv", "-0.5"], "--tv")
    _bad(tmp_path, capsys, [f"{p}/img.png", "-o", "OUT", "--ensemble", "0"], "--ensemble")
    _bad(tmp_path, capsys, [f"{p}/img.png", "-o", "OUT", "--max-iters", "0"], "--max-iters")
    _bad(tmp_path, capsys, [f"{p}/img.png", "-o", "OUT", "--time-budget", "-1"], "--time-budget")
    _bad(tmp_path, capsys, [f"{p}/img.png", "-o", "OUT", "--task", "sr", "--factor", "1"], "--factor")
    _bad(tmp_path, capsys, [f"{p}/img.png", "-o", "OUT", "--seed", "-1"], "seed")
    monkeypatch.setattr("genlab.dip.memory.available_memory", lambda: 100_000_000)
    _bad(tmp_path, capsys, [f"{p}/img.png", "-o", "OUT"], "fits")


def test_too_large_image_says_what_fits(tmp_path, capsys, monkeypatch):
    from PIL import Image
    Image.new("RGB", (3000, 2000)).save(tmp_path / "big.png")  # only the header is read before refusing
    monkeypatch.setattr("genlab.dip.memory.available_memory", lambda: 2_000_000_000)
    _bad(tmp_path, capsys, [str(tmp_path / "big.png"), "-o", "OUT", "--tile", "0"], "at most about")
    monkeypatch.setattr("genlab.dip.memory.available_memory", lambda: 200_000_000)  # not even one window fits
    _bad(tmp_path, capsys, [str(tmp_path / "big.png"), "-o", "OUT"], "no image fits")


def test_precision_auto_uses_bf16_only_for_large_images_on_capable_cpus(monkeypatch):
    from genlab.dip import runtime
    monkeypatch.setattr(runtime, "cpu_has_bf16", lambda: True)
    assert runtime.use_bf16("auto", 512 * 512) and not runtime.use_bf16("auto", 64 * 64)
    assert not runtime.use_bf16("fp32", 512 * 512) and runtime.use_bf16("bf16", 8 * 8)
    monkeypatch.setattr(runtime, "cpu_has_bf16", lambda: False)
    assert not runtime.use_bf16("auto", 512 * 512)


def test_default_threads_follow_the_idle_cores(monkeypatch):
    from genlab.dip import runtime
    monkeypatch.setattr(runtime.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(runtime, "idle_cores", lambda: 1.9)
    assert runtime.default_threads(512 * 512) == 2 and runtime.default_threads(64 * 64) == 1
    monkeypatch.setattr(runtime, "idle_cores", lambda: 0.8)  # another job holds a core
    assert runtime.default_threads(512 * 512) == 1
    monkeypatch.setattr(runtime, "idle_cores", lambda: None)  # no /proc/stat: the load average decides
    monkeypatch.setattr(runtime.os, "getloadavg", lambda: (0.1, 0, 0))
    assert runtime.default_threads(512 * 512) == 2


def test_idle_cores_is_the_idle_share_of_proc_stat_times_the_cores(monkeypatch):
    import io

    from genlab import runtime
    # user nice system idle iowait ...: 600 of 700 jiffies idle (iowait counts as idle) between the samples
    samples = iter(["cpu  100 0 100 700 100 0 0 0 0 0\n", "cpu  150 0 150 1250 150 0 0 0 0 0\n"])
    monkeypatch.setattr(runtime, "open", lambda *a, **k: io.StringIO(next(samples)), raising=False)
    monkeypatch.setattr(runtime.os, "cpu_count", lambda: 4)
    assert runtime.idle_cores(0) == pytest.approx(4 * 600 / 700)
    monkeypatch.setattr(runtime, "open", lambda *a, **k: io.StringIO("garbage\n"), raising=False)
    assert runtime.idle_cores(0) is None  # unreadable: None, and the load average decides
    monkeypatch.undo()
    if os.path.exists("/proc/stat"):  # the real file is read: a number of cores, not None
        free = runtime.idle_cores(0.05)
        assert free is not None and 0 <= free <= (os.cpu_count() or 1) + 1e-9


def test_restore_config_is_validated_and_resolved_per_task():
    from genlab.dip import PRESETS, TASKS
    from genlab.dip.config import RestoreConfig
    from genlab.errors import GenlabError
    cfg = RestoreConfig().resolved()
    assert (cfg.net, cfg.ensemble, cfg.tile, cfg.max_iters, cfg.patience) == ("swift", 2, 256, 3000, 300)
    assert (cfg.lr, cfg.reg_noise, cfg.tv) == (0.005, 1 / 60, 0.0)
    s = cfg.fit_settings()
    assert s.net.members == 2 and s.net.upsample == "nearest" and s.steps == 3000
    sr = RestoreConfig().override(["task=sr", "max_iters=50", "lr=0.02"]).resolved()
    assert (sr.net, sr.ensemble, sr.tile, sr.patience, sr.lr, sr.stop) == ("lite", 1, 128, 100, 0.02, "none")
    assert cfg.stop == "heldout" and RestoreConfig(task="sr", stop="heldout").resolved().stop == "heldout"
    assert sr.fit_settings().reg_noise_std == PRESETS["lite"].fit.reg_noise_std == 1 / 30
    assert TASKS["jpeg"].steps == RestoreConfig(task="jpeg").resolved().max_iters == 2400
    ip = RestoreConfig(task="inpaint").resolved()  # the fill network in 128-px windows (RESULTS.md, sessions 8-9)
    assert (ip.net, ip.tile, ip.ensemble, ip.lr, ip.reg_noise) == ("fill", 128, 1, 0.01, 1 / 30)
    assert ip.fit_settings().net.skip == 16 and ip.fit_settings().net.upsample == "nearest"
    with pytest.raises(GenlabError, match="--ensemble 17"):
        RestoreConfig().override({"ensemble": 17})
    with pytest.raises(GenlabError, match="unknown config key"):
        RestoreConfig().override(["iters=3"])


def test_tiny_image_with_the_default_network(tmp_path):
    save_image(_clean(7, 9), tmp_path / "tiny.png")
    assert main(["restore", str(tmp_path / "tiny.png"), "-o", str(tmp_path / "t.png"), "--max-iters", "2",
                 "--threads", "1", "--quiet"]) == 0
    assert load_image(tmp_path / "t.png").shape == (7, 9, 3)
    assert main(["restore", str(tmp_path / "tiny.png"), "-o", str(tmp_path / "s.png"), "--task", "sr", "--factor", "3",
                 "--max-iters", "2", "--threads", "1", "--quiet"]) == 0
    assert load_image(tmp_path / "s.png").shape == (21, 27, 3)


def test_tv_weight_defaults_to_the_papers_loss_and_is_passed_to_the_fit(tmp_path, monkeypatch):
    save_image(_clean(), tmp_path / "img.png")
    seen = []
    fit_module = importlib.import_module("genlab.dip.fit")  # the module (genlab.dip.fit is also the function)
    real_fit = fit_module.fit

    def spy(y, physics, settings, **kw):
        seen.append(settings.tv_weight)
        return real_fit(y, physics, settings, **kw)

    monkeypatch.setattr(fit_module, "fit", spy)  # restore imports it when it runs
    for extra in ([], ["--tv", "0.02"]):
        assert main(["restore", str(tmp_path / "img.png"), "-o", str(tmp_path / "o.png"), "--max-iters", "2",
                     *FAST, *extra]) == 0
    assert seen == [0.0, 0.02]


@pytest.mark.parametrize("n,size,overlap,multiple", [(512, 256, 32, 32), (480, 256, 32, 32), (1024, 256, 32, 32),
                                                     (800, 300, 16, 8), (96, 256, 32, 32), (384, 256, 32, 32)])
def test_tile_layout_covers_the_side_with_overlapping_windows(n, size, overlap, multiple):
    from genlab.dip import tile_layout
    length, starts = tile_layout(n, size, overlap, multiple)
    assert length % multiple == 0 and length <= n and len(starts) == max(1, round(n / size))
    assert starts[0] == 0 and starts[-1] + length == n
    assert all(b - a <= length - overlap for a, b in zip(starts, starts[1:]))  # neighbours overlap enough


def test_tiles_blend_back_to_the_image_when_each_window_is_fitted_exactly(monkeypatch):
    from genlab.dip import FitResult, FitSettings, windows
    from genlab.models.dip import NetSpec
    rng = np.random.default_rng(0)
    y = rng.random((96, 160, 3)).astype(np.float32)
    seen = []

    def exact(obs, physics, settings, **kw):  # a "fit" that returns its window unchanged
        seen.append(obs.shape)
        return FitResult(obs.copy(), 7, 9, "completed", None, None)

    monkeypatch.setattr(windows, "fit", exact)
    small = FitSettings(NetSpec(channels=8, depth=3, in_channels=4))
    r = windows.fit_tiles(y, GaussianNoise(0.1), small, tile=64, overlap=16)
    assert len(r.tiles) == len(seen) == 2 * 2 and r.steps_done == 36 and r.step == "7 in 4 windows"
    assert np.allclose(r.x, y, atol=1e-6)
    with pytest.raises(ValueError, match="multiples"):
        windows.fit_tiles(y[:90], GaussianNoise(0.1), small, tile=64)


def test_restore_in_windows_is_closer_to_the_truth_and_keeps_the_size(tmp_path, capsys):
    clean = _q8(_clean(61, 141))
    noisy = GaussianNoise(25 / 255).corrupt(clean, np.random.default_rng(0))
    save_image(clean, tmp_path / "clean.png")
    save_image(noisy, tmp_path / "noisy.png")
    out = tmp_path / "out.png"
    assert main(["restore", str(tmp_path / "noisy.png"), "-o", str(out), "--max-iters", "300", "--tile", "64",
                 "--reference", str(tmp_path / "clean.png"), "--snapshots", str(tmp_path / "snaps"), *FAST]) == 0
    res = load_image(out)
    assert res.shape == clean.shape
    assert psnr(res, clean) > psnr(_q8(noisy), clean) + 2.0
    assert "in 2 windows" in capsys.readouterr().out  # 64x144 padded: one row of two windows
    assert len(list((tmp_path / "snaps").glob("iter_*.png"))) == 10


def test_tile_bad_input(tmp_path, capsys):
    save_image(_clean(20, 20), tmp_path / "img.png")
    p = str(tmp_path)
    _bad(tmp_path, capsys, [f"{p}/img.png", "-o", "OUT", "--tile", "10"], "--tile")
    _bad(tmp_path, capsys, [f"{p}/img.png", "-o", "OUT", "--tile", "-5", "--task", "sr"], "--tile")


def test_windows_in_two_worker_processes_give_the_same_image_as_one_by_one(tmp_path):
    noisy = GaussianNoise(25 / 255).corrupt(_clean(40, 100), np.random.default_rng(1))
    save_image(noisy, tmp_path / "noisy.png")
    outs = []
    for threads in ("1", "2"):  # --threads 2: two windows at once, one thread each
        out = tmp_path / f"out{threads}.png"
        assert main(["restore", str(tmp_path / "noisy.png"), "-o", str(out), "--max-iters", "40", "--tile", "64",
                     "--net", "small", "--threads", threads, "--quiet"]) == 0
        outs.append(np.asarray(load_image(out)))
    assert outs[0].shape == (40, 100, 3) and np.array_equal(outs[0], outs[1])
