"""Devices: --device is checked before anything is made, env.json records it, and genlab code says where
every tensor it creates lives (no GPU here: the plumbing is tested on the CPU, under DeviceGuard)."""
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import genlab.probes as probes
from device_guard import SRC, DeviceGuard
from genlab.cli import main
from genlab.errors import GenlabError
from genlab.models.mlp import MLP
from genlab.models.stacked import MaskedWidths, StackedMLP
from genlab.runtime import as_tensor, device, device_info, model_device, resolve_device, use_device

EXP = "cheap-multiplication"
NO_CUDA = not torch.cuda.is_available()


# ---- the command line ---------------------------------------------------------------------------------
def _commands(tmp: Path, dev: str) -> dict[str, list[str]]:
    return {"run": ["run", EXP, "--scale", "quick", "--out", str(tmp / "r"), "--device", dev],
            "reproduce": ["reproduce", "--quick", "--only", EXP, "--out", str(tmp / "a"), "--device", dev],
            "sweep": ["sweep", EXP, "seed=0,1", "--out", str(tmp / "s"), "--device", dev],
            "restore": ["restore", str(tmp / "in.png"), "-o", str(tmp / "o.png"), "--net", "small", "--quiet",
                        "--max-iters", "2", "--device", dev]}


@pytest.mark.parametrize("dev", ["tpu", "cuda:x", pytest.param("cuda", marks=pytest.mark.skipif(
    not NO_CUDA, reason="this machine has CUDA")), pytest.param("mps", marks=pytest.mark.skipif(
        torch.backends.mps.is_available(), reason="this machine has MPS"))])
@pytest.mark.parametrize("command", ["run", "reproduce", "sweep", "restore"])
def test_a_device_this_machine_lacks_is_one_line_exit_2_and_nothing_written(tmp_path, monkeypatch, capsys,
                                                                             command, dev):
    from genlab.data.images import save_image
    save_image(np.full((8, 8), 0.5, np.float32), tmp_path / "in.png")
    monkeypatch.chdir(tmp_path)
    assert main(_commands(tmp_path, dev)[command]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"genlab: error: device={dev}:"), err
    assert sorted(os.listdir(tmp_path)) == ["in.png"], os.listdir(tmp_path)


def test_resolve_device_auto_order_and_bad_values():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if not NO_CUDA else "mps" if torch.backends.mps.is_available()
                                           else "cpu")
    with pytest.raises(GenlabError, match="unknown device"):
        resolve_device("gpu")
    if NO_CUDA:
        with pytest.raises(GenlabError, match="no CUDA"):
            resolve_device("cuda:0")


def test_env_json_records_the_device_and_config_json_does_not(tmp_path):
    from genlab.execution import execute
    from genlab.experiments import get
    exp = get(EXP)
    run = execute(exp, exp.config_for("quick", 0), tmp_path / "r", scale="quick", device="cpu")
    env = json.loads((run.path / "env.json").read_text())
    assert env["device"] == "cpu" and env["device_name"] and "deterministic_algorithms" in env
    assert "device" not in json.dumps(json.loads((run.path / "config.json").read_text()))  # not the run's identity
    assert device() == torch.device("cpu")  # execute's use_device is undone


def test_the_device_reaches_every_worker_task(tmp_path, monkeypatch):
    import genlab.runner as runner
    seen = []
    monkeypatch.setattr(runner, "execute", lambda *a, **k: seen.append(k["device"]) or (_ for _ in ()).throw(
        RuntimeError("stop")))
    runner.run_task(runner.Task(EXP, "quick", str(tmp_path / "r"), device="cpu"))
    assert seen == ["cpu"]

    class Backend:
        def run_tasks(self, tasks):
            seen.extend(t.device for t in tasks)
            return []
    from genlab.sweep import sweep
    sweep(EXP, ["seed=0,1"], out=tmp_path / "s", backend=Backend(), device="cpu")
    assert seen == ["cpu", "cpu", "cpu"]


# ---- the guard itself can fail ------------------------------------------------------------------------
def test_the_guard_catches_a_factory_call_without_device_from_genlab_code():
    fake = compile("import torch\nx = torch.zeros(3)\ny = torch.ones(2, device='cpu')\n", f"{SRC}/fake.py", "exec")
    with DeviceGuard() as g:
        exec(fake, {})
    assert g.violations == ["fake.py:2 zeros"]


# ---- probes, models, the loop, the DIP fit: no tensor made without device= ----------------------------
def _guarded(fn):
    with DeviceGuard() as g:
        out = fn()
    assert g.violations == [], g.violations
    return out


def _net(d_in=1, d_out=1, seed=0):
    return MLP((d_in, 6, d_out), "tanh", seed=seed, device="cpu")


def _mse(out, y):
    return ((out - y) ** 2).mean()


def test_every_probe_makes_its_tensors_on_the_models_device():
    x = np.linspace(-1, 1, 32, endpoint=False)
    y = np.sin(3 * np.pi * x)
    xt = torch.tensor(x, dtype=torch.float32, device="cpu").reshape(-1, 1)
    yt = torch.tensor(y, dtype=torch.float32, device="cpu").reshape(-1, 1)
    net, stack = _net(), StackedMLP(3, (1, 6, 1), device="cpu")
    hidden = StackedMLP(2, (4, 5, 3, 2), init="normal_fan_in", device="cpu")
    codes = torch.tensor([[0, 0, 1, 1], [0, 1, 0, 1]] * 4, dtype=torch.float32, device="cpu")
    labels = torch.tensor([0, 1] * 4, device="cpu")
    img = np.outer(np.sin(np.linspace(0, 3, 8)), np.cos(np.linspace(0, 2, 8)))
    seen = set()

    def use(name, fn):
        seen.add(name)
        return _guarded(fn)

    use("SpectrumProbe", lambda: probes.SpectrumProbe(x[:, None], y, n_peaks=2, device="cpu")(net))
    use("SpectralAmplitude", lambda: probes.SpectralAmplitude(x, [1, 3])(stack))
    use("BandProbe", lambda: probes.BandProbe(img, 2, device="cpu")(MLP((2, 4, 1), seed=0, device="cpu")))
    use("StackBandError", lambda: probes.StackBandError(x, np.stack([y] * 3), 1, 4, device="cpu")(stack))
    use("FilterProbe", lambda: probes.FilterProbe(xt, yt, device="cpu")(net))
    use("SpectralNorms", lambda: probes.SpectralNorms()(stack))
    use("FourierGradient", lambda: probes.FourierGradient(x, y, [1.0, 3.0], device="cpu")(stack))
    use("BinningMI", lambda: probes.BinningMI(8).fit(codes[None], labels))
    use("KDEMI", lambda: probes.KDEMI(max_samples=6).fit(codes, labels))
    ip = probes.InformationPlane(codes, labels, [0], probes.BinningMI(8), probes.KDEMI(), 1)
    use("InformationPlane", lambda: ip.measure(hidden))
    fm = probes.FitMonitor(codes, labels, per_epoch=1)
    use("FitMonitor", lambda: fm._acc(MLP((4, 3, 2), seed=0, device="cpu"), codes, labels))
    use("Landscape", lambda: probes.Landscape(_mse, (xt, yt)).slice_2d(net, alphas=[-1, 0, 1]))

    def hessian():
        h = probes.Hessian(net, _mse, (xt, yt))
        h.exact(), h.eigenvalues(2, n_iter=8, repeats=2), h.trace(n_samples=3, repeats=2), h.density(2, 8)
        return h
    h = use("Hessian", hessian)
    assert h.H_.device == model_device(net) and h.eigenvalues_.shape == (2,)
    for name in ("psnr", "ssim"):
        use(name, lambda: getattr(probes, name)(img, img * 0.9))
    classes = {n for n in probes.__all__ if isinstance(getattr(probes, n), type) and not n[0] == "_"}
    dip_monitors = {n for n in classes if getattr(probes, n).__module__.startswith("genlab.dip")}  # below
    assert classes - dip_monitors - seen == set(), "a probe class without a device test: add it here"


def test_the_hessian_gives_the_same_numbers_when_the_default_device_is_meta():
    x = torch.linspace(-1, 1, 16, device="cpu").reshape(-1, 1)
    y = torch.sin(3 * x)
    net = _net()
    ref = probes.Hessian(net, _mse, (x, y)).eigenvalues(2, n_iter=10, repeats=2)
    with torch.device("meta"):  # a factory call without device= would make a meta tensor and fail to give numbers
        got = probes.Hessian(net, _mse, (x, y)).eigenvalues(2, n_iter=10, repeats=2)
    np.testing.assert_array_equal(got, ref)


def test_every_model_class_builds_where_it_is_told():
    from genlab.dip import PRESETS
    from genlab.models.dip import make_input
    from genlab.models.features import GaborFeatures, RandomConvFeatures
    from genlab.models.kernel import KernelInterpolant
    from genlab.models.product import product_net
    from genlab.models.vision import build as build_vision
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (6, 12, 12), dtype=np.uint8)
    built = [_guarded(lambda: MLP((2, 3, 1), seed=0, device="cpu")),
             _guarded(lambda: StackedMLP(2, (2, 3, 1), device="cpu")),
             _guarded(lambda: StackedMLP(2, (2, 3, 1), init="normal_fan_in", device="cpu")),
             _guarded(lambda: MaskedWidths((2, 3), (4, 2), device="cpu")),
             _guarded(lambda: product_net(3, 0.1)[0]),
             _guarded(lambda: build_vision("mlp1x512", (1, 8, 8), 10, width=0.02, seed=0)),
             _guarded(lambda: build_vision("alexnet", (3, 16, 16), 10, width=0.05, seed=0))]
    for m in built:
        assert model_device(m) == torch.device("cpu")
    m = _guarded(lambda: PRESETS["small"].fit.net.build(1))
    z = _guarded(lambda: make_input(m, 32, 32))
    assert z.device == model_device(m)
    _guarded(lambda: RandomConvFeatures(n_filters=4, size=3, n_patches=50, device="cpu").fit(imgs).transform(imgs))
    _guarded(lambda: GaborFeatures((0.2,), 2, pool=2, device="cpu").transform(imgs))
    _guarded(lambda: KernelInterpolant(device="cpu").fit(imgs.reshape(6, -1) / 255.0, np.arange(6) % 2, 2))
    member = StackedMLP(2, (2, 3, 1), device="cpu").member(1)
    assert model_device(member) == torch.device("cpu")


def test_the_training_loop_makes_no_tensor_behind_the_users_back(tmp_path):
    from genlab.runs import Run
    from genlab.train import Every, MiniBatches, supervised, train
    x = torch.linspace(-1, 1, 20, device="cpu").reshape(-1, 1)
    y = torch.sin(3 * x)
    run = Run(tmp_path / "r")
    run.begin("test", "quick", {"seed": 0})
    res = _guarded(lambda: train(_net(), supervised(_mse), steps=6, batches=MiniBatches(x, y, 8, seed=0),
                                 callbacks=[Every(2, probes.SpectrumProbe(x, y[:, 0], n_peaks=1))],
                                 run=run, device="cpu"))
    assert res.steps_done == 6 and model_device(res.model) == torch.device("cpu")
    with pytest.raises(GenlabError, match="unknown device"):
        train(_net(), supervised(_mse, x, y), steps=1, device="tpu")

    def losses():  # SGD: torch's Adam makes its own step counters without device= (torch's, not genlab's)
        return train(_net(), supervised(_mse), steps=5, batches=MiniBatches(x, y, 8, seed=0), optimizer="sgd",
                     lr=0.1).history.values("loss")
    ref = losses()
    with torch.device("meta"):  # a tensor made without device= would be a meta tensor: no numbers
        np.testing.assert_array_equal(losses(), ref)


def test_a_tiny_dip_fit_makes_no_tensor_behind_the_users_back():
    from genlab.dip import PRESETS
    from genlab.dip.fit import FitSettings, fit
    from genlab.dip.runtime import Runtime, use_bf16
    from genlab.dip.stopping import make_rule
    from genlab.physics import make_physics
    y = np.random.default_rng(0).random((32, 32)).astype(np.float32)
    settings = FitSettings(net=PRESETS["small"].fit.net, steps=4)
    for rule in ("heldout", "wmv"):
        r = _guarded(lambda: fit(y, make_physics("denoise"), settings, rule=make_rule(rule, patience=2), clean=y,
                                 record_every=2, runtime=Runtime(device="cpu")))
        assert r.x.shape == y.shape and model_device(r.model) == torch.device("cpu")
    mask = np.ones((32, 32), np.float32)
    mask[:8] = 0
    _guarded(lambda: fit(y, make_physics("inpaint", mask=mask), settings, runtime=Runtime(device="cpu")))
    assert use_bf16("auto", 512 * 512, "cuda") is False and use_bf16("bf16", 64, "cuda") is True


def test_as_tensor_keeps_a_tensor_where_it_is_and_puts_arrays_on_the_current_device():
    t = torch.ones(2, device="meta")
    assert as_tensor(t).device.type == "meta"
    with use_device("cpu"):
        assert as_tensor([1.0, 2.0], dtype=torch.float32).device == torch.device("cpu")
    assert device_info()["device"] == "cpu"
    assert model_device(nn.ReLU()) == device()


def _gpu_check():
    import importlib.util
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"
    spec = importlib.util.spec_from_file_location("gpu_check", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(not NO_CUDA, reason="this machine has CUDA: the check would run")
def test_gpu_check_without_cuda_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys):
    assert _gpu_check().main(["--only", EXP, "--out", str(tmp_path / "g")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no CUDA device" in err[0] and not (tmp_path / "g").exists()


def test_gpu_check_compares_values_and_verdicts():
    gc = _gpu_check()
    claims = lambda v, verdict: {"claims": {"c": {"value": v, "verdict": verdict}}}  # noqa: E731
    same, diff = (gc.compare("x", {"cpu": claims(2.0, "holds"), "cuda": claims(c, v)})[0]
                  for c, v in ((2.002, "holds"), (1.0, "fails")))
    assert same["same"] and same["rel_diff"] == pytest.approx(0.002 / 2.002)
    assert not diff["same"] and diff["rel_diff"] == pytest.approx(0.5)
    md = gc.markdown([same, diff], {"x": {"cpu": 2.0, "cuda": 1.0}}, [], "H200")
    assert "1 of 2 verdicts agree" in md and "(differs)" in md and "| x | 2.0 | 1.0 | 2.00 |" in md
