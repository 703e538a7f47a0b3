"""The atlas and `genlab runs` over hand-made run folders: a section per experiment, relative figure links
that resolve, a verdict on every claim row, failed runs shown rather than hidden."""
import os
import re

import pytest

from genlab.cli import main
from genlab.plot import plt
from genlab.report import MARK, write_atlas
from genlab.runs import LAYOUT, Run, atlas_run


def fake_run(folder, exp_id, status, claims=(), figures=(), reason=""):
    run = Run(folder)
    run.write_json("config.json", {"experiment": exp_id, "scale": "quick", "layout": LAYOUT, "config": {"seed": 3}})
    for name in figures:
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, 1], [1, 0])
        run.save_figure(fig, name)
    if claims:
        run.write_json("claims.json", [{"id": c, "statement": f"statement of {c}", "source": "a paper", "value": v,
                                        "threshold": "at least 0.5", "verdict": verdict, "note": f"note {c}"}
                                       for c, v, verdict in claims])
    run.set_status(status, reason)
    return run


@pytest.fixture
def atlas(tmp_path):
    out = tmp_path / "atlas"
    fake_run(atlas_run(out, "cheap-multiplication"), "cheap-multiplication", "complete",
             claims=[("gate", 0.9, "holds"), ("depth", 0.1, "fails")], figures=["gate", "depth"])
    fake_run(atlas_run(out, "saddle-free-newton"), "saddle-free-newton", "failed", reason="ValueError: boom")
    broken = atlas_run(out, "broken")
    broken.mkdir(parents=True)
    (broken / "config.json").write_text("{")            # damaged: not in the atlas, listed by genlab runs
    return out


def table_rows(md: str) -> list[list[str]]:
    claims = md.split("## Claims", 1)[1].split("## Figures", 1)[0]
    rows = [line for line in claims.splitlines() if line.startswith("| ") and not line.startswith("| experiment")]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", r)[1:-1]] for r in rows]


def test_atlas_has_a_section_per_experiment_relative_figures_and_a_verdict_per_claim(atlas):
    dirs = sorted((atlas / "runs").iterdir())
    md_path, html_path = write_atlas(dirs, atlas, title="t")
    md, page = md_path.read_text(), html_path.read_text()
    for exp_id in ("cheap-multiplication", "saddle-free-newton"):
        assert len(re.findall(rf"^#### {exp_id}: ", md, flags=re.M)) == 1
        assert page.count(f"<h3 id='{exp_id}'>") == 1
    assert "broken" not in md
    links = re.findall(r"!\[[^]]*\]\(([^)]+)\)", md)
    imgs = re.findall(r"<img src='([^']+)'", page)
    assert sorted(links) == sorted(imgs) == ["runs/cheap-multiplication/figures/depth.png",
                                             "runs/cheap-multiplication/figures/gate.png"]
    assert all(not os.path.isabs(link) and (atlas / link).is_file() for link in links)
    rows = table_rows(md)
    assert [(r[0], r[5]) for r in rows] == [("cheap-multiplication", "holds"), ("cheap-multiplication", "FAILS"),
                                            ("saddle-free-newton", "inconclusive")]
    assert all(r[5] in MARK.values() for r in rows)
    assert rows[2][1] == "run failed" and rows[2][6] == "ValueError: boom"    # a failed run is shown, with why
    assert "1 hold, 1 fail, 1 inconclusive" in md
    assert page.count("<tr class='") == 3


def test_runs_lists_complete_failed_and_damaged_runs(atlas, capsys):
    assert main(["runs", str(atlas)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("experiment") and len(out) == 5
    # the damaged folder is listed (not skipped, not a crash), with the file and the fix under it
    assert out[1].split()[:4] == ["?", "?", "?", "damaged"] and out[1].endswith("broken")
    assert "config.json is damaged (not JSON" in out[2] and "delete the folder" in out[2]
    assert out[3].split()[:4] == ["cheap-multiplication", "quick", "3", "complete"] and "1 hold, 1 fail" in out[3]
    assert out[4].split()[:5] == ["saddle-free-newton", "quick", "3", "failed", "-"]
