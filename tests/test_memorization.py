"""Memorization family (Zhang et al. 2017): models, kernel interpolation, and each claim at quick scale."""
import numpy as np
import pytest
import torch

import kernel_kn
from genlab.cli import main as cli_main
from genlab.errors import GenlabError
from genlab.experiments import get
from genlab.models.kernel import KernelInterpolant, check_memory, gaussian_kernel, largest_n, memory_bytes
from genlab.models.vision import ARCHS, build
from genlab.runner import execute


def claims_of(run):
    return {c["id"]: c for c in run.claims}


@pytest.mark.parametrize("arch", ARCHS)
def test_every_arch_maps_images_to_logits(arch):
    net = build(arch, (3, 16, 16), 10, width=0.0625, seed=0)
    assert net(torch.randn(2, 3, 16, 16)).shape == (2, 10)
    if arch.startswith("mlp"):
        assert build(arch, (1, 40), 10, seed=0)(torch.randn(5, 1, 40)).shape == (5, 10)


def test_gaussian_kernel_against_direct_formula():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(7, 5)), rng.normal(size=(4, 5))
    direct = np.exp(-((a[:, None] - b[None]) ** 2).sum(-1) / (2 * 1.3 ** 2))
    assert np.allclose(gaussian_kernel(a, b, 1.3), direct, atol=1e-13)


def test_kernel_interpolates_exactly_and_refuses_what_does_not_fit():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(300, 20)), rng.integers(0, 10, 300)   # random labels: still interpolated
    m = KernelInterpolant(chunk=64).fit(x, y)
    assert (m.predict(x) == y).all()
    assert np.abs(m.decision_function(x) - np.eye(10)[y]).max() < 1e-8
    need = memory_bytes(17435, 784)
    assert 4.8e9 < need < 5.2e9                                      # 2 x 17,435^2 x 8 B plus the data
    fits = largest_n(1e9, 784)
    assert memory_bytes(fits, 784) <= 1e9 < memory_bytes(fits + 1, 784)
    with pytest.raises(GenlabError, match=f"use n_train={fits} or less"):
        check_memory(60000, 784, limit=1e9)


@pytest.mark.slow
def test_kernel_interpolation_quick_claims(tmp_path):
    exp = get("kernel-interpolation")
    run = execute(exp, exp.config_for("quick"), tmp_path / "k")
    c = claims_of(run)
    assert c["kernel-train-zero"]["value"] == 0 and c["kernel-train-zero"]["verdict"] == "holds"
    assert c["kernel-test-error"]["value"] < 0.08 - 0.01              # real generalization, with a margin
    assert "n = 3,000" in c["kernel-test-error"]["note"]
    assert kernel_kn.check("kernel-interpolation", run, exp.config_for("quick"))["kernel-train-zero"] == (5, 5)


@pytest.mark.slow
def test_randomization_quick_every_setting_reaches_100_percent(tmp_path):
    exp = get("mem-randomization")
    run = execute(exp, exp.config_for("quick", overrides=["n_train=300"]), tmp_path / "r")
    c = claims_of(run)
    assert c["mem-fit-100"]["verdict"] == "holds" and c["mem-fit-99.9"]["verdict"] == "holds"
    for cid, bar in (("mem-fit-100", 1.0), ("mem-fit-99.9", 0.999)):   # k/N recounted: each setting's own net
        last = [run.series(f"{kind}/train_acc").values[-1] for kind in exp.config_for("quick").corruptions]
        assert (c[cid]["k"], c[cid]["of"], c[cid]["per"]) == (sum(a >= bar for a in last), 5, "nets")
    e = {k: run.scalar("epoch_100", k) for k in ("true", "random_labels")}
    assert e["random_labels"] > 1.5 * e["true"]                      # random labels take longer (Fig. 1a)
    assert (run.path / "figures" / "randomization.png").exists()


@pytest.mark.slow
def test_corruption_grid_quick_slowdown_and_test_error(tmp_path):
    exp = get("mem-convergence")
    cfg = exp.config_for("quick", overrides=["archs=mlp1x512", "n_train=300"])
    run = execute(exp, cfg, tmp_path / "g")
    t = run.arrays["steps_to_fit"][0]
    assert t[2] > 1.5 * t[0]                                         # slower at p = 1 than p = 0
    err = run.arrays["test_error"][0]
    assert err[0] < 0.3 and err[1] > err[0] + 0.1 and abs(err[2] - 0.9) < 0.04   # rises to chance
    from genlab.experiments.memorization.mem_test_error import claims as claims_test_error
    ct = {c.id: c for c in claims_test_error(run, cfg)}
    assert ct["mem-test-error-rises"].verdict == "holds" and ct["mem-test-error-chance"].verdict == "holds"
    cc = {c["id"]: c for c in run.claims}
    for c_ in (*ct.values(), *(cc[i] for i in ("mem-slowdown-order", "mem-slowdown-factor"))):  # one arch: 1/1
        c_ = c_ if isinstance(c_, dict) else c_.to_dict()
        assert (c_["k"], c_["of"], c_["per"]) == (int(c_["verdict"] == "holds"), 1, "archs")


def _hand_spearman(x, y):
    rank = lambda v: np.array([np.sum(v < a) + (np.sum(v == a) - 1) / 2 for a in v])  # noqa: E731  (ties: mean rank)
    return np.corrcoef(rank(np.asarray(x)), rank(np.asarray(y)))[0, 1]


def test_corruption_claims_judge_each_arch_alone(shared_data):
    """A two-arch grid where the archs disagree: the claims' values and verdicts are over both archs (the worst),
    and k of 2 archs is recounted by hand from each arch's own curve."""
    from types import SimpleNamespace

    from genlab.experiments.memorization import mem_convergence, mem_test_error
    cfg = get("mem-convergence").config_for("quick", overrides=["n_train=10", "levels=0,0.2,0.5,1"])
    steps = np.array([[100., 150, 300, 400], [100., 300, 200, 140]])   # arch 0 ordered (x4), arch 1 not (x1.4)
    err = np.array([[0.2, 0.5, 0.7, 0.91], [0.3, 0.6, 0.5, 0.8]])      # arch 0 rises to chance, arch 1 neither
    run = SimpleNamespace(arrays={"levels": np.array(cfg.levels), "steps_to_fit": steps, "test_error": err})
    got = {c.id: c for c in mem_convergence.claims(run, cfg) + mem_test_error.claims(run, cfg)}
    margin = max(cfg.min_chance_margin, cfg.chance_sds * np.sqrt(0.09 / cfg.n_test))
    lv = np.array(cfg.levels)
    hand = {"mem-slowdown-order": [_hand_spearman(lv, t) >= cfg.min_slowdown_rho for t in steps],
            "mem-slowdown-factor": [t[-1] / t[0] > cfg.min_slowdown_factor for t in steps],
            "mem-test-error-rises": [_hand_spearman(lv, e) >= cfg.min_error_rho for e in err],
            "mem-test-error-chance": [abs(e[-1] - 0.9) <= margin for e in err]}
    for cid, flags in hand.items():
        c = got[cid]
        assert (c.k, c.of, c.per) == (sum(flags), 2, "archs") and flags == [True, False], cid
        assert c.verdict == "fails", cid                               # the worst arch decides, as before


def test_bad_input_is_one_line_exit_2(capsys, tmp_path):
    cases = [(["run", "mem-test-error", "dataset=svhn"], "dataset='svhn' is not a valid choice"),
             (["run", "mem-test-error", "levels=0,1.5"], "outside [0, 1]"),
             (["run", "kernel-interpolation", "max_memory_gb=0.001", "--out", str(tmp_path / "k")], "use n_train=")]
    for args, text in cases:
        assert cli_main(args) == 2
        err = [e for e in capsys.readouterr().err.splitlines() if e.startswith("genlab: error")]
        assert len(err) == 1 and text in err[0]
    with pytest.raises(GenlabError, match="arch"):
        get("mem-convergence").config_for("quick", overrides=["archs=resnet"])


def test_readme_snippet(capsys):
    """The README's 'probes on your own model' snippet, as written in docs/memorization.md."""
    import re
    from pathlib import Path
    text = (Path(__file__).resolve().parents[1] / "docs" / "memorization.md").read_text()
    code = re.findall(r"```python\n(.*?)```", text, re.S)[-1]
    exec(compile(code, "readme-mem", "exec"), {})
    out = capsys.readouterr().out
    assert "kernel train error 0.0" in out
    epochs = out.strip().splitlines()[-1].split(":")[-1].strip()
    assert epochs != "None" and int(epochs) < 300


def test_fit_monitor_against_manual_accuracy():
    """Oracle: the epoch FitMonitor reports is the first epoch whose manually computed accuracy is 100 %."""
    import torch.nn.functional as F

    from genlab.probes.fit import FitMonitor
    from genlab.train import MiniBatches, supervised, train
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 10, generator=g), torch.randint(0, 4, (64,), generator=g)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(10, 64), torch.nn.ReLU(), torch.nn.Linear(64, 4))
    b = MiniBatches(x, y, 16, seed=0)
    mon = FitMonitor(x, y, b.per_epoch)
    res = train(net, supervised(F.cross_entropy), steps=400 * b.per_epoch, optimizer="sgd", lr=0.1, momentum=0.9,
                batches=b, callbacks=[mon], threads=1)
    acc = res.history.values("train_acc")
    assert mon.epoch_100_ is not None and acc[-1] == 1.0 and (acc[:-1] < 1.0).all()
    assert res.steps_done == mon.epoch_100_ * b.per_epoch
    with torch.no_grad():
        assert (net(x).argmax(1) == y).all()


def test_time_to_fit_known_answer():
    """The first step at which accuracy reaches the level; NaN when it never does; exact at the level."""
    from genlab.probes import time_to_fit
    steps = np.array([8, 16, 24, 32, 40])
    acc = np.array([0.5, 0.9985, 0.999, 0.998, 1.0])     # dips after reaching 99.9 %: the first time counts
    assert time_to_fit(steps, acc, 1.0) == 40.0
    assert time_to_fit(steps, acc, 0.999) == 24.0
    assert time_to_fit(steps, acc, 0.0) == 8.0
    assert np.isnan(time_to_fit(steps, acc[:4], 1.0))
    assert np.isnan(time_to_fit([], [], 1.0))


def test_other_datasets_and_data_dir(tmp_path, shared_data, write_idx):
    """dataset=mnist1d (1-D inputs, MLP) and dataset=fashion-mnist read from data_dir=."""
    exp = get("mem-test-error")
    cfg = exp.config_for("quick", overrides=["dataset=mnist1d", "n_train=100", "n_test=200", "levels=0",
                                             f"data_dir={shared_data}", "max_epochs=300", "lr=0.1"])
    run = execute(exp, cfg, tmp_path / "m1d")
    assert run.arrays["final_acc"][0, 0] == 1.0 and run.arrays["test_error"][0, 0] < 0.9
    f = tmp_path / "data" / "fashion-mnist"
    f.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 40), ("t10k", 20)):
        write_idx(f / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 255, (n, 28, 28)), True)
        write_idx(f / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n), True)
    exp = get("mem-randomization")
    cfg = exp.config_for("quick", overrides=["dataset=fashion-mnist", f"data_dir={tmp_path / 'data'}",
                                             "corruptions=true,random_labels", "max_epochs=100"])
    assert claims_of(execute(exp, cfg, tmp_path / "fm"))["mem-fit-100"]["verdict"] == "holds"
    with pytest.raises(GenlabError, match="needs images"):
        execute(get("mem-test-error"), get("mem-test-error").config_for(
            "quick", overrides=["dataset=mnist1d", "archs=alexnet", "levels=0", "n_train=50"]), tmp_path / "bad")


def test_side_averages_the_images_down_and_whitens_them_again():
    """side=7: 28x28 images become 7x7 block means (an oracle: numpy reshape-mean), each whitened."""
    from genlab.data.preprocess import per_image_whitening
    from genlab.experiments.memorization.common import CorruptionConfig, pooled
    x = np.random.default_rng(0).normal(size=(3, 1, 28, 28)).astype(np.float32)
    got = pooled(x, 7)
    want = per_image_whitening(x.reshape(3, 1, 7, 4, 7, 4).mean(axis=(3, 5)))
    assert got.shape == (3, 1, 7, 7) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(got.reshape(3, -1).mean(1), 0, atol=1e-5)
    assert CorruptionConfig(side=7).side == 7
    with pytest.raises(GenlabError, match="side=1"):
        CorruptionConfig().override(["side=1"])
