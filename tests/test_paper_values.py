"""The papers' numbers beside ours: claims carry the paper's value, its setting and the n they rest on; the atlas
puts them in columns, and with --compare puts another scale's verdict beside each claim, with a sentence
where the two differ."""
import json
from html import escape as html_escape

import numpy as np
import pytest

from genlab.cli import main
from genlab.compare import config_diff, scale_sentence
from genlab.experiments import get
from genlab.experiments.base import Claim, claim
from genlab.report import write_atlas
from genlab.runs import LAYOUT, Run, Series, atlas_run, atlas_runs


class FakeRun:
    """Stored results as a claims() function reads them, without training."""

    def __init__(self, arrays=None, scalars=None, series=None):
        self.arrays, self._scalars, self._series = arrays or {}, scalars or {}, series or {}

    def scalar(self, name, key=None):
        return self._scalars.get((name, key), self._scalars.get(name, 1.0))

    def metric(self, name):  # (steps, values) of a logged metric; none logged here
        return np.arange(0), np.asarray(self._scalars.get(name, []), float).reshape(-1)

    def series(self, name):
        v = np.asarray(self._series[name], float)
        return Series(np.arange(len(v)) * 10, v, ("step",))


def by_id(claims):
    return {c.id: c for c in claims}


# ---- the values: Zhang et al. 2017 ---------------------------------------------------------------------------
def test_claim_records_n_and_old_claims_read_as_none():
    c = claim("x", "s", 0.5, source="p", at_least=0.1, n=np.int64(3000), paper_value=0.4, paper_setting="n = 60,000")
    d = c.to_dict()
    assert d["n"] == 3000 and type(d["n"]) is int and d["paper_value"] == 0.4
    assert json.loads(json.dumps(d))["n"] == 3000
    assert Claim("x", "s", "p", 0.5, ">= 0.1", "holds").to_dict()["n"] is None


@pytest.mark.parametrize("exp_id", ["mem-test-error", "mem-test-error-cifar10"])
def test_table1_random_labels_at_chance(exp_id, shared_data):
    exp = get(exp_id)
    cfg = exp.config_for("paper").override({"n_train": 700, "data_dir": str(shared_data)})  # the four networks
    err = np.tile(np.linspace(0.5, 0.9, len(cfg.levels)), (len(cfg.archs), 1))
    c = by_id(exp.claims(FakeRun({"test_error": err, "levels": np.asarray(cfg.levels)}), cfg))
    # |(1 - 10.61 %) - 0.9| for MLP 1x512 is the largest of Table 1's four random-label rows
    assert c["mem-test-error-chance"].paper_value == pytest.approx(0.0061, abs=1e-9)
    setting = c["mem-test-error-chance"].paper_setting
    for acc in ("10.61", "10.48", "9.86", "9.78"):
        assert acc in setting
    assert "no augmentation, no weight decay" in setting and "CIFAR-10" in setting
    ends = c["mem-test-error-rises"].paper_value
    for pair in ("49.49 -> 89.39", "47.61 -> 89.52", "23.93 -> 90.14", "14.25 -> 90.22"):  # 100 - Table 1's accuracies
        assert pair in ends
    assert {x.n for x in c.values()} == {700}


def test_fit_claims_carry_100_percent_and_the_data_size(shared_data):
    exp = get("mem-randomization-cifar10")
    cfg = exp.config_for("paper").override({"data_dir": str(shared_data)})  # n_train = 0: every image on disk
    from genlab.data.vision import load_dataset
    on_disk = len(load_dataset("cifar10", str(shared_data)).y_train)
    c = by_id(exp.claims(FakeRun(), cfg))
    assert c["mem-fit-100"].paper_value == 1.0 and "Inception on CIFAR-10" in c["mem-fit-100"].paper_setting
    assert c["mem-fit-100"].n == on_disk and c["mem-fit-99.9"].n == on_disk


@pytest.mark.parametrize("exp_id, paper, n_paper", [("kernel-interpolation", 0.012, "60,000"),
                                                     ("kernel-interpolation-cifar10", 0.46, "50,000")])
def test_kernel_interpolation_paper_error(exp_id, paper, n_paper):
    exp = get(exp_id)
    cfg = exp.config_for("quick")
    c = by_id(exp.claims(FakeRun(scalars={"n_train": 3000.0, "test_error": 0.05, "train_error": 0.0}), cfg))
    assert c["kernel-test-error"].paper_value == paper and f"n = {n_paper}" in c["kernel-test-error"].paper_setting
    assert c["kernel-train-zero"].paper_value == 0.0
    assert c["kernel-test-error"].n == 3000 and c["kernel-test-error"].value == 0.05  # ours and theirs both there


# ---- the values: the Deep Image Prior --------------------------------------------------------------------------
def _dip_run(prefix, extra=None):
    img = np.full((8, 8, 3), 0.5, np.float32)
    arrays = {f"{prefix}_clean": img, f"{prefix}_observed": img + 0.1, f"{prefix}_best": img, **(extra or {})}
    return FakeRun(arrays, series={f"{prefix}/psnr_avg": [20.0, 30.0, 29.0]})


def test_dip_denoise_and_sr_paper_values():
    exp = get("dip-denoise")
    c = by_id(exp.claims(_dip_run("denoise"), exp.config_for("quick")))
    assert "30.43" in c["dip-denoise-gain"].paper_value and "29.22" in c["dip-denoise-gain"].paper_value
    assert "sigma = 25" in c["dip-denoise-gain"].paper_setting
    exp = get("dip-sr")
    c = by_id(exp.claims(_dip_run("sr", {"sr_bicubic": np.full((8, 8, 3), 0.45, np.float32)}), exp.config_for("quick")))
    assert c["dip-sr"].paper_value == pytest.approx(29.90 - 28.43)
    for v in ("Set5", "29.90", "28.43", "Set14", "27.00", "26.05", "Y channel", "4-px"):
        assert v in c["dip-sr"].paper_setting


def test_dip_inpaint_has_the_papers_table():
    from genlab.experiments.deep_image_prior.dip_inpaint import PAPER_TABLE
    rows = {"Barbara": "32.22", "Boat": "33.06", "House": "39.16", "Lena": "36.16", "Peppers": "33.05",
            "C.man": "29.8", "Couple": "32.52", "Finger": "32.84", "Hill": "32.77", "Man": "32.20", "Montage": "34.54"}
    for name, v in rows.items():
        assert f"{name} {v}" in PAPER_TABLE
    assert "50 %" in PAPER_TABLE


# ---- the display ------------------------------------------------------------------------------------------------
def stored_run(folder, scale, config, claims):
    run = Run(folder)
    run.write_json("config.json", {"experiment": "kernel-interpolation", "scale": scale, "layout": LAYOUT,
                                   "config": {"seed": 0, **config}})
    run.write_json("claims.json", claims)
    run.set_status("complete")
    return run


def kernel_claims(value, threshold, n, paper=True):
    ok = value <= threshold
    extra = {"paper_value": 0.012, "paper_setting": "MNIST, n = 60,000", "n": n} if paper else {}  # old files: none
    return [{"id": "kernel-test-error", "statement": "the kernel generalizes", "source": "Zhang", "value": value,
             "threshold": f"<= {threshold:g}", "verdict": "holds" if ok else "fails", "note": "", **extra},
            {"id": "kernel-train-zero", "statement": "zero training error", "source": "Zhang", "value": 0.0,
             "threshold": "<= 0", "verdict": "holds", "note": "", **extra}]


@pytest.fixture
def two_atlases(tmp_path):
    quick, default = tmp_path / "atlas-quick", tmp_path / "atlas-default"
    stored_run(atlas_run(quick, "kernel-interpolation"), "quick", {"n_train": 3000, "max_test_error": 0.08},
               kernel_claims(0.0635, 0.08, 3000))
    stored_run(atlas_run(default, "kernel-interpolation"), "default", {"n_train": 17435, "max_test_error": 0.03},
               kernel_claims(0.035, 0.03, 17435))
    return quick, default


def test_atlas_shows_paper_measured_n_and_both_scales(two_atlases):
    quick, default = two_atlases
    md, html = write_atlas(atlas_runs(default), default, compare=[quick])
    text, page = md.read_text(), html.read_text()
    assert "| # | claim | paper | measured (default) | n | threshold | verdict | quick: measured, verdict | why |" in text
    row = next(line for line in text.splitlines() if line.startswith("| ") and "the kernel generalizes" in line)
    assert "0.012 (MNIST, n = 60,000)" in row and "| 0.035 | 17,435 | <= 0.03 | FAILS | 0.0635, n = 3,000 (holds) |" in row
    sentence = ("The verdict differs between scales: quick measured 0.0635 (threshold <= 0.08, n = 3,000: holds), "
                "default measured 0.035 (threshold <= 0.03, n = 17,435: fails); the settings that differ "
                "(quick -> default): n_train 3000 -> 17435, max_test_error 0.08 -> 0.03.")
    assert sentence in text and html_escape(sentence) in page
    assert "## Verdicts that differ between scales (1)" in text
    assert text.count("The verdict differs") == 2   # the list and the row; the claim that agrees gets none
    assert "| default | quick |" in text           # the dashboard counts both


def test_no_sentence_when_the_verdicts_agree_and_old_claims_still_render(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    stored_run(atlas_run(a, "kernel-interpolation"), "quick", {"n_train": 3000}, kernel_claims(0.05, 0.08, 0, paper=False))
    stored_run(atlas_run(b, "kernel-interpolation"), "default", {"n_train": 17435}, kernel_claims(0.02, 0.03, 0, paper=False))
    md, _ = write_atlas(atlas_runs(b), b, compare=[a])
    text = md.read_text()
    assert "The verdict differs" not in text and "None: every claim measured at both scales" in text
    assert "| - | 0.02 | - | <= 0.03 | holds | 0.05 (holds) |" in text  # no paper value, no n: dashes


def test_sentence_orders_the_scales_and_names_every_changed_setting():
    hi = {"value": 0.9, "threshold": ">= 0.5", "verdict": "holds", "n": 60000}
    lo = {"value": 0.1, "threshold": ">= 0.5", "verdict": "fails"}
    s = scale_sentence("paper", hi, {"steps": 3000, "seed": 1}, "quick", lo, {"steps": 700, "seed": 0})
    assert s.startswith("The verdict differs between scales: quick measured 0.1 (threshold >= 0.5: fails), "
                        "paper measured 0.9 (threshold >= 0.5, n = 60,000: holds)")
    assert s.endswith("(quick -> paper): steps 700 -> 3000.")
    assert config_diff({f"k{i}": i for i in range(12)}, {f"k{i}": -i - 1 for i in range(12)}).endswith("and 4 more")


def test_cli_compare_bad_folder_is_one_line_and_writes_nothing(two_atlases, capsys):
    quick, default = two_atlases
    for argv in (["report", str(default), "--compare", str(quick / "nothing")],
                 ["report", str(default), "--compare", str(default / "runs" / "kernel-interpolation" / "figures")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--compare" in err
    assert not (default / "report.md").exists()


def test_run_summary_prints_paper_scale_and_n(two_atlases, capsys):
    from genlab.report import print_claims
    _, default = two_atlases
    print_claims(Run(atlas_run(default, "kernel-interpolation")))
    out = capsys.readouterr().out
    assert "kernel-test-error: measured 0.035, n = 17,435 at default scale (threshold <= 0.03)" in out
    assert "paper: 0.012 (MNIST, n = 60,000)" in out
