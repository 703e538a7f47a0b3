"""The atlas and `genlab runs` over hand-made run folders: a section per experiment, relative figure links
that resolve, a verdict on every claim row, failed runs shown rather than hidden."""
import os
import re
from html.parser import HTMLParser

import pytest

from genlab.cli import main
from genlab.plot import plt
from genlab.report import LONG_NOTE, MARK, VERDICTS, first_clause, fmt_value, k_of_n, tidy_note, write_atlas
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


class Page(HTMLParser):
    """The atlas's structure as a browser sees it: sections, images, claim rows and their verdict cells,
    the dashboard's cells."""

    def __init__(self):
        super().__init__()
        self.sections, self.imgs, self.rows, self.dashboard, self.links = [], [], [], [], []
        self._verdict = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and "data-experiment" in a:
            self.sections.append(a["data-experiment"])
        elif tag == "img":
            self.imgs.append(a["src"])
        elif tag == "link" or (tag == "script" and a.get("src")):
            self.links.append(a.get("href") or a.get("src"))
        elif tag == "tr" and "claim" in a.get("class", "").split():
            self.rows.append({"section": self.sections[-1], "verdict": a.get("data-verdict"), "cell": ""})
        elif tag == "td" and "verdict" in a.get("class", "").split():
            self._verdict = True
        elif tag == "td" and "data-scale" in a:
            self.dashboard.append({k: int(a[f"data-{k}"]) for k in VERDICTS} | {"scale": a["data-scale"]})

    def handle_endtag(self, tag):
        self._verdict = self._verdict and tag != "td"

    def handle_data(self, data):
        if self._verdict:
            self.rows[-1]["cell"] += data


def parse(page: str) -> Page:
    p = Page()
    p.feed(page)
    return p


def md_claim_rows(md: str) -> list[list[str]]:
    rows = [line for line in md.splitlines() if re.match(r"^\| \d+ \|", line)]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", r)[1:-1]] for r in rows]


def test_atlas_has_a_section_per_experiment_relative_figures_and_a_verdict_per_claim(atlas):
    dirs = sorted((atlas / "runs").iterdir())
    md_path, html_path = write_atlas(dirs, atlas, title="t")
    md, page = md_path.read_text(), html_path.read_text()
    p = parse(page)
    assert sorted(p.sections) == ["cheap-multiplication", "saddle-free-newton"]     # one section each, no more
    for exp_id in p.sections:
        assert len(re.findall(rf"^### {exp_id}$", md, flags=re.M)) == 1
    assert "broken" not in md and "broken" not in page
    links = re.findall(r"!\[[^]]*\]\(([^)]+)\)", md)
    assert sorted(links) == sorted(p.imgs) == ["runs/cheap-multiplication/figures/depth.png",
                                               "runs/cheap-multiplication/figures/gate.png"]
    assert all(not os.path.isabs(link) and (atlas / link).is_file() for link in links)
    assert p.links == [] and "http" not in page      # self-contained: opens offline
    # every claim row carries a verdict, in its class and in its cell; sections in the catalogue's family order
    assert [(r["section"], r["verdict"], r["cell"].strip()) for r in p.rows] == [
        ("saddle-free-newton", "inconclusive", "inconclusive"), ("cheap-multiplication", "holds", "holds"),
        ("cheap-multiplication", "fails", "FAILS")]
    failing = page.split("id=\"failing\"", 1)[1].split("</section>", 1)[0]
    assert "#depth" not in failing and "cheap-multiplication--depth" in failing and "note depth" in failing
    rows = md_claim_rows(md)
    # columns: #, claim, paper, measured, n, threshold, verdict, why
    assert [(r[1], r[6]) for r in rows] == [("run failed", "inconclusive"), ("statement of gate", "holds"),
                                            ("statement of depth", "FAILS")]
    assert all(r[6].split()[0] in MARK.values() for r in rows)
    assert rows[0][7] == "ValueError: boom"                    # a failed run is shown, with why
    assert md.index("## Claims that fail (1)") < md.index("## Contents") < md.index("### saddle-free-newton")
    assert "1 hold, 1 fail, 1 inconclusive" in md


def test_dashboard_counts_equal_the_claim_rows_per_family_and_scale(atlas):
    fake_run(atlas_run(atlas, "cheap-depth"), "cheap-depth", "complete", claims=[("a", 2.0, "holds")], figures=["d"])
    cfg = Run(atlas_run(atlas, "cheap-depth")).path / "config.json"
    cfg.write_text(cfg.read_text().replace('"quick"', '"default"'))
    p = parse(write_atlas(sorted((atlas / "runs").iterdir()), atlas)[1].read_text())
    cells = {(c["scale"]): c for c in p.dashboard if c["holds"] + c["fails"] + c["inconclusive"]}
    assert cells == {"quick": {"scale": "quick", "holds": 1, "fails": 1, "inconclusive": 0},
                     "default": {"scale": "default", "holds": 1, "fails": 0, "inconclusive": 0}}
    assert sum(c[v] for c in p.dashboard for v in VERDICTS) == len(p.rows)
    assert sum(c["inconclusive"] for c in p.dashboard) == 1 and len(p.dashboard) == 2 * 2    # 2 families x 2 scales


@pytest.mark.parametrize("value, threshold, shown", [
    (4.800000190734863, ">= 1.5 x", "4.8"), (0.0405149, "< 0.1", "0.0405"), (202.355, ">= 10 x", "202"),
    (1.0, ">= 0.9 of seeds", "1"), (0.0, "<= 0", "0"), (12345.6, "> 1", "12,346"), (8.62e-14, "<= 1e-9", "8.62e-14"),
    (1.49996, "> 1.5", "1.49996"),          # never rounded onto the bound it is judged against
    (0.0999, "< 0.1", "0.0999"), (None, "> 1", "not measured"), ("a string", "", "a string")])
def test_numbers_are_rounded_to_what_they_mean(value, threshold, shown):
    assert fmt_value(value, threshold) == shown


def test_notes_lose_float32_noise_and_give_one_clause_of_why():
    note = "per seed: [4.800000190734863, 0.0010900000343099236]; best (a; b) steps [80]; 8/8 seeds"
    assert tidy_note(note) == "per seed: [4.8, 0.00109]; best (a; b) steps [80]; 8/8 seeds"
    assert first_clause("x (a; b) y; z") == "x (a; b) y" and len(first_clause("w " * 200)) == LONG_NOTE
    assert k_of_n({"note": tidy_note(note)}) == "8/8 seeds" and k_of_n({"note": "3 of 4"}) == ""
    assert k_of_n({"k": 3, "n": 4, "note": ""}) == "3/4"


def test_runs_lists_complete_failed_and_damaged_runs(atlas, capsys):
    assert main(["runs", str(atlas)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("experiment") and len(out) == 5
    # the damaged folder is listed (not skipped, not a crash), with the file and the fix under it
    assert out[1].split()[:4] == ["?", "?", "?", "damaged"] and out[1].endswith("broken")
    assert "config.json is damaged (not JSON" in out[2] and "delete the folder" in out[2]
    assert out[3].split()[:4] == ["cheap-multiplication", "quick", "3", "complete"] and "1 hold, 1 fail" in out[3]
    assert out[4].split()[:5] == ["saddle-free-newton", "quick", "3", "failed", "-"]
