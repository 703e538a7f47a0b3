"""The frequency-principle family: every claim at quick scale, with margins, plus the shared helpers' oracles."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import fp_kn
from genlab.errors import GenlabError
from genlab.experiments import get
from genlab.probes.bands import band_error
from genlab.probes.statistics import concordance, oscillation
from genlab.runner import execute, redraw

_RUNS: dict = {}


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """Run an experiment at quick scale (seed 0) once per module; return {claim id: claim} and the run."""
    def get_run(exp_id):
        if exp_id not in _RUNS:
            exp = get(exp_id)
            run = execute(exp, exp.config_for("quick"), tmp_path_factory.mktemp(exp_id), scale="quick")
            _RUNS[exp_id] = ({c["id"]: c for c in run.claims}, run)
        return _RUNS[exp_id]
    return get_run


# ---- helpers against oracles -------------------------------------------------

def test_oscillation_oracle():
    mono = np.linspace(1, 0, 50)
    ex, fl = oscillation(mono)
    assert ex == pytest.approx(0, abs=1e-12) and fl == 0
    zig = np.array([1.0, 0.5, 0.8, 0.2, 0.4, 0.0])   # rises of 0.3 and 0.2: excess = 2 * 0.5
    ex, fl = oscillation(np.stack([zig, mono[:6]], 1))
    assert ex[0] == pytest.approx(1.0) and fl[0] == 4 and ex[1] == pytest.approx(0, abs=1e-12)


def test_concordance_oracle():
    inf = np.inf
    t = np.array([[10, 20, 30], [30, 20, 10], [10, inf, inf], [inf, inf, inf], [10, 10, 20]], float)
    c = concordance(t)
    assert c[0] == 1 and c[1] == 0 and c[2] == 1 and np.isnan(c[3])
    assert c[4] == pytest.approx((0.5 + 1 + 1) / 3)


def test_band_error_oracle():
    x = np.linspace(-np.pi, np.pi, 64, endpoint=False)
    y = np.sin(x) + np.sin(10 * x)
    assert band_error(np.sin(x), y, 5, 33) == pytest.approx(1.0)       # the high band entirely missing
    assert band_error(np.sin(x), y, 0, 5) == pytest.approx(0, abs=1e-9)  # the low band exact


# ---- experiments at quick scale ---------------------------------------------

@pytest.mark.slow
def test_fp1d_orders_low_to_high(quick):
    claims, _ = quick("fp-1d")
    assert claims["fp1d-order"]["value"] >= 0.9 and claims["fp1d-order"]["verdict"] == "holds"
    assert claims["fp1d-gap"]["value"] >= 0.9 and claims["fp1d-gap"]["verdict"] == "holds"


@pytest.mark.slow
def test_fp_image_coarse_to_fine(quick):
    claims, run = quick("fp-image")
    assert claims["fp-image-order"]["verdict"] == "holds" and claims["fp-image-order"]["value"] >= 0.9
    assert claims["fp-image-gap"]["verdict"] == "holds"
    bands = run.series("train/bands").values
    cfg = get("fp-image").scales["quick"]
    # margin: the low band is well below the set error at the end, the high band far above it
    assert np.all(bands[-1, :, 0] < 0.8 * cfg.threshold)
    assert np.all(bands[-1, :, -1] > 0.8)
    assert run.series("train/image").values.shape[1:] == run.arrays["target"].shape


def test_fp_image_unreadable_file(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    with pytest.raises(GenlabError, match="cannot read") as e:
        get("fp-image").config_for("quick", overrides=[f"image={bad}"])
    assert "\n" not in str(e.value)


@pytest.mark.slow
def test_fp_early_stopping(quick):
    claims, _ = quick("fp-early-stopping")
    assert claims["fp-es-best"]["value"] >= 2.0        # threshold 1.5
    assert claims["fp-es-validation"]["value"] >= 1.8  # threshold 1.3
    assert claims["fp-es-why"]["value"] >= 0.9
    assert all(c["verdict"] == "holds" for c in claims.values())


@pytest.mark.slow
def test_fp_failure(quick):
    claims, _ = quick("fp-failure")
    # Measured: a random target's peaks still converge low to high (concordance ~1): the claim fails, honestly.
    assert claims["fp-failure-random"]["value"] >= 0.8 and claims["fp-failure-random"]["verdict"] == "fails"
    assert claims["fp-failure-large-order"]["verdict"] == "holds" and claims["fp-failure-large-order"]["value"] <= 0.34
    assert claims["fp-failure-large-test"]["value"] >= 30   # threshold 10; about 176 measured


@pytest.mark.slow
def test_fp_spectral_norm(quick):
    claims, _ = quick("fp-spectral-norm")
    assert claims["fp-sn-small-change"]["verdict"] == "holds" and claims["fp-sn-small-change"]["value"] < 0.07
    assert claims["fp-sn-width"]["value"] >= 2.5
    assert claims["fp-sn-adam"]["value"] >= 6
    assert claims["fp-sn-all-layers"]["verdict"] == "fails" and claims["fp-sn-all-layers"]["value"] > 0.3


@pytest.mark.slow
def test_fp_high_frequency(quick):
    claims, _ = quick("fp-high-frequency")
    assert claims["fp-hf-oscillation"]["value"] >= 3.0 and claims["fp-hf-oscillation"]["verdict"] == "holds"
    assert claims["fp-hf-lower-more"]["value"] == 1.0


@pytest.mark.slow
@pytest.mark.parametrize("exp_id", ["fp-1d", "fp-image", "fp-early-stopping", "fp-failure", "fp-spectral-norm",
                                    "fp-high-frequency", "fp-filtering"])
def test_report_reproduces_claims(quick, exp_id, tmp_path):
    _, run = quick(exp_id)
    copy = tmp_path / "run"
    shutil.copytree(run.path, copy)
    before = json.loads((copy / "claims.json").read_text())
    (copy / "claims.json").unlink()
    shutil.rmtree(copy / "figures")
    assert redraw(copy) == before
    assert json.loads((copy / "claims.json").read_text()) == before
    assert list((copy / "figures").glob("*.png"))


def test_readme_snippet_spectrum_probe():
    # The snippet of docs/frequency-principle.md: SpectrumProbe on your own model, through train().
    import torch
    from torch import nn

    from genlab.data.targets import grid
    from genlab.probes import SpectrumProbe, first_below
    from genlab.train import Every, supervised, train

    torch.manual_seed(0)
    x = torch.tensor(grid(64), dtype=torch.float32).reshape(-1, 1)   # uniform grid on [-pi, pi)
    y = torch.sin(x) + torch.sin(5 * x)                              # your target
    model = nn.Sequential(nn.Linear(1, 100), nn.Tanh(), nn.Linear(100, 100), nn.Tanh(), nn.Linear(100, 1))
    probe = SpectrumProbe(x, y, peaks=[1, 5])                        # DFT indices to follow
    result = train(model, supervised(nn.functional.mse_loss, x, y), steps=1000, lr=2e-3,
                   callbacks=[Every(10, probe, "spectrum")], threads=1)
    err = result.history.values("spectrum")                          # (T, 2): relative error per peak
    t = first_below(result.history.steps("spectrum"), err, 0.1)       # first step below 0.1: [t_1, t_5]
    assert t[0] < 100 and t[0] * 3 < t[1] < np.inf


def test_filter_probe_oracle():
    from genlab.probes.filtering import FilterProbe
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 3))
    y = rng.normal(size=(12, 2))
    delta = 1.7
    p = FilterProbe(x, y, delta=delta)
    # brute force: f_low_i = sum_j f_j G(x_i - x_j) / sum_j G(x_i - x_j), G(x) = exp(-|x|^2 / (2 delta))
    g = np.array([[np.exp(-np.sum((a - b) ** 2) / (2 * delta)) for b in x] for a in x])
    y_low = g @ y / g.sum(1, keepdims=True)
    assert np.allclose(p.y_low_, y_low) and np.allclose(p.y_high_, y - y_low)
    c = np.array([0.3, -0.2])      # a constant offset is pure low frequency (rows of the filter sum to 1)
    e = p.errors(y + c)
    assert e["e_high"] == pytest.approx(0, abs=1e-9)
    assert e["e_low"] == pytest.approx(np.sqrt(12) * np.linalg.norm(c) / np.linalg.norm(y_low))
    e = p.errors(np.stack([y, np.zeros_like(y)]))   # a stacked (M, N, k) output: the target, then zero
    assert np.allclose(e["e_low"], [0, 1]) and np.allclose(e["e_high"], [0, 1])


@pytest.mark.slow
def test_fp_filtering_mnist(quick):
    claims, run = quick("fp-filtering")
    assert all(c["verdict"] == "holds" and c["value"] >= 0.9 for c in claims.values())
    e_low = np.stack([run.series(f"train/delta{i}/e_low").values for i in range(len(run.arrays["delta"]))])
    e_high = np.stack([run.series(f"train/delta{i}/e_high").values for i in range(len(run.arrays["delta"]))])
    # margin: at the end e_low is far below e_high for every delta and seed
    assert np.all(e_low[:, -1] < 0.5 * e_high[:, -1])


FP_IDS = ["fp-1d", "fp-image", "fp-early-stopping", "fp-failure", "fp-spectral-norm", "fp-high-frequency", "fp-filtering"]


@pytest.mark.slow
@pytest.mark.parametrize("exp_id", FP_IDS)
def test_k_of_n_is_a_hand_count(quick, exp_id):
    fp_kn.check_k_of_n(exp_id, *quick(exp_id))


@pytest.mark.parametrize("exp_id", FP_IDS)
def test_every_scale_validates(exp_id):
    exp = get(exp_id)
    assert exp.family == "frequency-principle"
    for scale in ("quick", "default", "paper"):
        exp.config_for(scale)


def test_bad_overrides_are_one_line():
    for exp_id, bad in [("fp-spectral-norm", "adam_width=33"), ("fp-high-frequency", "amps_high=1,0.5,0.2"),
                        ("fp-failure", "large_std=0.01"), ("fp-early-stopping", "high_band_from=2")]:
        with pytest.raises(GenlabError) as e:
            get(exp_id).config_for("quick", overrides=[bad])
        assert "\n" not in str(e.value)


def test_fp_image_accepts_a_user_file(tmp_path):
    from genlab.data.images import save_image
    yy, xx = np.mgrid[0:20, 0:30] / 10.0
    path = tmp_path / "mine.png"
    save_image(0.5 + 0.4 * np.sin(xx) * np.cos(yy), path)
    exp = get("fp-image")
    cfg = exp.config_for("quick", overrides=[f"image={path}", "size=16", "steps=20", "probe_every=5", "n_seeds=1",
                                             "widths=2,16,1"])
    run = execute(exp, cfg, tmp_path / "run", scale="quick")
    assert run.status["status"] == "complete"
    assert run.arrays["target"].shape == (16, 24) and run.series("train/bands").values.shape == (5, 1, cfg.n_bands)
