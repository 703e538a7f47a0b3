"""A verdict over seeds (k of N, the value's spread) and over an experiment's free choices (robust or not)."""
import json
import math

import pytest

from genlab.cli import main as cli_main
from genlab.experiments import get
from genlab.experiments.base import claim, experiment
from genlab.report import atlas_context, k_of_n
from genlab.robustness import declared_grid, label, points, robustness
from genlab.seeds import run_seeds, summarize, summarize_atlas, table
from genlab.sweep import LocalBackend


def fake_run(folder, claims, status="complete", exp="fp-1d"):
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"experiment": exp, "scale": "quick", "layout": 2, "config": {}}))
    (folder / "status.json").write_text(json.dumps({"status": status, "reason": ""}))
    if status == "complete":
        (folder / "claims.json").write_text(json.dumps(claims))
    return folder


def c(id, value, verdict, **kw):
    return {"id": id, "statement": f"{id} holds", "source": "", "value": value, "threshold": ">= 1",
            "verdict": verdict, "note": "", **kw}


def test_k_of_n_and_spread_against_hand_computed(tmp_path):
    runs = [[c("a", 1.0, "holds"), c("b", None, "inconclusive", k=2, of=3)],
            [c("a", 2.0, "fails"), c("b", 0.5, "holds", k=3, of=3)],
            [c("a", 4.0, "holds"), c("b", 0.7, "holds", k=1, of=3)]]
    folders = [fake_run(tmp_path / f"seed-{s}", r) for s, r in zip((5, 6, 7), runs)]
    folders.append(fake_run(tmp_path / "seed-8", [], status="failed"))
    s = summarize(folders, [5, 6, 7, 8])
    a, b = s["claims"]
    assert (a["holds"], a["of"], a["fails"], a["inconclusive"]) == (2, 3, 1, 0)
    # values 1, 2, 4: mean 7/3; sample variance ((4/3)^2 + (1/3)^2 + (5/3)^2) / 2 = 7/3
    assert a["value"]["mean"] == pytest.approx(7 / 3) and a["value"]["std"] == pytest.approx(math.sqrt(7 / 3))
    assert (a["value"]["min"], a["value"]["max"], a["value"]["n"]) == (1.0, 4.0, 3)
    # b: an inconclusive run (no value) is counted in N but not in the spread; 0.5 and 0.7: mean 0.6, std 0.1*sqrt(2)
    assert (b["holds"], b["of"], b["inconclusive"]) == (2, 3, 1)
    assert b["value"]["mean"] == pytest.approx(0.6) and b["value"]["std"] == pytest.approx(0.1 * math.sqrt(2))
    assert b["within"] == "6/9"                                  # the seeds trained inside each run, pooled
    assert s["missing"] == 1 and s["runs"][3]["status"] == "failed"
    md = table(s)
    assert "| a | 2 of 3 | 0 | 2.333 ± 1.528 | 1 | 4 |" in md and "seed 8 failed" in md


def test_claim_carries_its_own_k_of_n():
    x = claim("x", "ordered", 2 / 3, source="s", at_least=0.9, unit="of seeds", seeds=[True, False, True])
    assert (x.k, x.of, x.verdict) == (2, 3, "fails") and x.to_dict()["of"] == 3
    assert k_of_n(x.to_dict()) == "2/3 seeds"
    assert claim("y", "s", 1.0, source="s", at_least=0).k is None


def test_atlas_shows_k_of_n_from_the_seed_summary(tmp_path):
    fake_run(tmp_path / "runs" / "fp-1d", [c("fp1d-order", 1.0, "holds", k=8, of=8)])
    fake_run(tmp_path / "seeds" / "fp-1d" / "seed-1", [c("fp1d-order", 0.8, "fails")])
    ctx = atlas_context([tmp_path / "runs" / "fp-1d"], tmp_path, "t")
    assert ctx["sections"][0]["rows"][0]["kn"] == "8/8 seeds"   # one run: the claim's own seeds
    summarize_atlas(tmp_path, ["fp-1d"], "quick", 0, 2)
    ctx = atlas_context([tmp_path / "runs" / "fp-1d"], tmp_path, "t")
    assert ctx["sections"][0]["rows"][0]["kn"] == "holds in 1/2 seeds"   # seed 1 counted nothing inside
    (tmp_path / "seeds" / "fp-1d" / "seed-1" / "claims.json").write_text(json.dumps([c("fp1d-order", 0.8, "fails", k=5, of=8)]))
    summarize_atlas(tmp_path, ["fp-1d"], "quick", 0, {"fp-1d": 2})
    ctx = atlas_context([tmp_path / "runs" / "fp-1d"], tmp_path, "t")
    assert ctx["sections"][0]["rows"][0]["kn"] == "holds in 13/16 seeds (2 runs)"


def test_robust_or_setting_sensitive():
    assert label({"base": "fails", "image=x": "fails", "n=1": "fails"}) == {
        "label": "robust", "base": "fails", "flips": [], "missing": []}
    got = label({"base": "fails", "image=x": "holds", "n=1": "fails", "n=2": "inconclusive", "n=3": "missing"})
    assert got["label"] == "setting-sensitive" and got["flips"] == ["image=x", "n=2"] and got["missing"] == ["n=3"]


def test_grid_is_one_key_at_a_time_and_checked():
    exp = get("dip-fitting-speed")
    pts = points(exp, declared_grid(exp), "quick")
    assert pts[0] == {} and len(pts) == 1 + sum(len(v) for v in exp.robustness.values())
    assert all(len(p) == 1 for p in pts[1:])
    assert points(exp, ["threshold=0.002,0.004"], "quick") == [{}, {"threshold": "0.004"}]  # the base value is the base
    with pytest.raises(ValueError, match="robustness nope"):
        experiment(id="bad-grid", title="", source="", claim="", config=type(exp.scales["quick"]), run=None,
                   figures=None, claims=None, times={"quick": "", "default": "", "paper": ""}, family="x",
                   robustness={"nope": [1]})
    assert "bad-grid" not in __import__("genlab.experiments.base", fromlist=["x"])._REGISTRY


@pytest.mark.parametrize("argv", [["run", "fp-1d", "--seeds", "0"], ["reproduce", "--quick", "--seeds", "-1"],
                                  ["robustness", "fp-1d", "--grid", "depth=1,2"],
                                  ["robustness", "dip-sr", "--grid", "image=astronaut,nosuch.png"],  # checked per point
                                  ["run", "fp-image", "--scale", "quick", "image=nosuch.png"],
                                  ["robustness", "fp-1d"]])  # fp-1d declares no free choices
def test_bad_input_is_one_line_and_writes_nothing(argv, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli_main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("genlab: error:") and not out.exists()


@pytest.mark.slow
def test_seeds_and_robustness_end_to_end(tmp_path):
    """cheap-multiplication (3 s a run): two seeds, then a one-key grid; a rerun resumes without running."""
    s = run_seeds("cheap-multiplication", "quick", 3, 2, tmp_path / "s", backend=LocalBackend(workers=1))
    assert s["seeds"] == [3, 4] and s["claims"][0]["of"] == 2 and (tmp_path / "s" / "seed-4" / "claims.json").exists()
    assert json.loads((tmp_path / "s" / "seeds.json").read_text())["experiment"] == "cheap-multiplication"
    r, out = robustness("cheap-multiplication", ["train_steps=500"], "quick", tmp_path / "r", LocalBackend(workers=1))
    assert r["points"] == ["base", "train_steps=500"] and all(v == "complete" for v in r["status"].values())
    assert {c["label"] for c in r["claims"]} <= {"robust", "setting-sensitive"}
    stamp = (out / "base" / "status.json").stat().st_mtime_ns
    robustness("cheap-multiplication", ["train_steps=500"], "quick", out, LocalBackend(workers=1))
    assert (out / "base" / "status.json").stat().st_mtime_ns == stamp


@pytest.mark.slow
def test_reproduce_with_seeds_keeps_the_atlas_layout(tmp_path):
    """cheap-multiplication's claim has no count inside its run: 2 runs. fp-theory judges its claims on 4, 2
    and 4 seeds inside one quick run: --seeds 2 adds no run."""
    from genlab.runner import reproduce
    assert reproduce(["cheap-multiplication", "fp-theory"], "quick", tmp_path, seeds=2,
                     backend=LocalBackend(workers=1)) == 0
    assert not (tmp_path / "seeds" / "fp-theory").exists()
    assert "2/2 seeds" in (tmp_path / "report.md").read_text()      # fp-theory-flatten's own count, one run
    assert json.loads((tmp_path / "runs" / "cheap-multiplication" / "config.json").read_text())["config"]["seed"] == 0
    assert json.loads((tmp_path / "seeds" / "cheap-multiplication" / "seed-1" / "config.json").read_text())["config"]["seed"] == 1
    s = json.loads((tmp_path / "seeds" / "cheap-multiplication" / "seeds.json").read_text())
    assert s["seeds"] == [0, 1] and s["claims"][0]["of"] == 2
    assert f"holds in {s['claims'][0]['holds']}/2 seeds" in (tmp_path / "report.md").read_text()


def test_k_of_n_takes_its_noun_from_the_threshold():
    x = claim("x", "ordered", 2 / 3, source="s", at_least=0.9, unit="of draws", seeds=[True, False, True])
    assert k_of_n(x.to_dict()) == "2/3 draws"
    y = claim("y", "ordered", 0.0, source="s", at_least=0.9, unit="of small-init seeds", seeds=[False] * 4)
    assert k_of_n(y.to_dict()) == "0/4 seeds"


def test_runs_needed_counts_the_seeds_inside_a_run():
    from genlab.runner import runs_needed
    assert runs_needed([{"of": None}, {"of": 10}], 5) == 5   # a claim without a count: 5 runs
    assert runs_needed([{"of": 3}, {"of": 8}], 5) == 2       # 3 seeds a run: 6 in 2 runs
    assert runs_needed([{"of": 5}, {"of": 16}], 5) == 1
    assert runs_needed([{"of": 4}], 1) == 1 and runs_needed([], 5) == 1


@pytest.mark.parametrize("argv, n", [(["reproduce"], 5), (["reproduce", "--quick"], 1),
                                     (["reproduce", "--seeds", "2"], 2), (["reproduce", "--scale", "paper"], 1)])
def test_the_default_atlas_judges_each_claim_on_five_seeds(monkeypatch, tmp_path, argv, n):
    import genlab.runner
    from genlab.cli import main
    got = {}
    monkeypatch.setattr(genlab.runner, "reproduce", lambda *a, **k: got.update(k) or 0)
    assert main(argv + ["--out", str(tmp_path / "a")]) == 0
    assert got["seeds"] == n


def test_a_pooled_count_shows_its_runs():
    from genlab.seeds import kn_text
    assert kn_text({"holds": 2, "of": 2, "within": "5/6", "per": "folds"}) == "5/6 folds (2 runs)"
    assert kn_text({"holds": 4, "of": 5, "within": "", "per": ""}) == "4/5 seeds"
    assert kn_text({"holds": 4, "of": 5, "within": "3/3", "per": "seeds"}) == "4/5 seeds"
