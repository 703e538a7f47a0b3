"""What genlab prints and writes about finished runs: the atlas (every run's figures and a claims
table, as Markdown and HTML), a run's claims, the table of ``genlab runs``, and ``genlab list``."""
from __future__ import annotations

import csv
import json
import math
import os
import re
import sys
import time
from pathlib import Path

from genlab.compare import attach, fmt_n, other_runs
from genlab.errors import GenlabError
from genlab.experiments.base import registry
from genlab.io import atomic_write_text
from genlab.runs import Run, find_runs, summary
from genlab.runs.check import check_run
from genlab.runs.folders import atlas_seeds

MARK = {"holds": "holds", "fails": "FAILS", "inconclusive": "inconclusive"}
VERDICTS = ("holds", "fails", "inconclusive")
_LONG_FLOAT = re.compile(r"-?\d+\.\d{5,}(?:e[-+]?\d+)?")   # float32 noise in notes: 4.800000190734863
_K_OF_N = re.compile(r"\b(\d+)\s*/\s*(\d+)\s+(?:of\s+)?(seeds?|runs?|settings?|targets?|masks?|pairs?)\b")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
LONG_NOTE = 140  # characters: a note longer than this is folded behind its first clause


def fmt_value(v, threshold: str = "") -> str:
    """A measured number rounded to what it means: three significant digits, more only where the rounded
    number would read as equal to a bound in the threshold text; thousands without decimals."""
    if v is None:
        return "not measured"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    if not math.isfinite(v):
        return str(v)
    if float(v).is_integer() and abs(v) < 1e6:
        return str(int(v))
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) < 1e-3:
        return f"{v:.2e}"
    bounds = {float(b) for b in _NUMBER.findall(threshold)}
    for digits in range(3, 7):
        text = f"{v:.{digits}g}"
        if float(text) not in bounds:
            return text
    return text


def tidy_note(note: str) -> str:
    """A note with float32 noise rounded (4.800000190734863 -> 4.8)."""
    return _LONG_FLOAT.sub(lambda m: f"{float(m.group()):.4g}", str(note or ""))


def first_clause(note: str, limit: int = LONG_NOTE) -> str:
    """The note's first clause (up to the first '; '), cut at ``limit`` characters: one sentence of why."""
    depth, head = 0, note
    for i, ch in enumerate(note):   # a '; ' inside brackets is part of the clause
        depth += (ch in "([{") - (ch in ")]}")
        if depth <= 0 and note.startswith("; ", i):
            head = note[:i]
            break
    return head if len(head) <= limit else head[: limit - 1].rstrip() + "…"


def k_of_n(c: dict) -> str:
    """'k/N seeds' where the claim records it (fields k and of, or a 'k/N seeds' in its note), else ''.
    The noun is the claim's ``per`` ('folds'), else the threshold's ('>= 0.9 of draws' -> 'k/N draws'); seeds
    where it names none."""
    if c.get("k") is not None and c.get("of") is not None:
        if c.get("per"):
            return f"{c['k']}/{c['of']} {c['per']}"
        m = re.search(r"\bof (?:[\w-]+ )*?(\w+)$", str(c.get("threshold", "")).strip())
        return f"{c['k']}/{c['of']} {m.group(1) if m else 'seeds'}"
    m = _K_OF_N.search(str(c.get("note", "")))
    return f"{m.group(1)}/{m.group(2)} {m.group(3)}" if m else ""


def seed_counts(atlas: Path, exp_id: str) -> dict[str, str]:
    """Claim id -> 'holds in k/N seeds' from the atlas's seed summary (``reproduce --seeds``), if there is one."""
    from genlab.seeds import kn_text, read_summary
    s = read_summary(atlas_seeds(atlas, exp_id))
    return {c["id"]: f"holds in {kn_text(c)}" for c in s["claims"]} if s else {}


def _md(text) -> str:
    """A Markdown table cell: pipes escaped, one line."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def collect(run_dirs: list[Path]) -> list[tuple[Run, dict]]:
    """The readable runs of ``run_dirs`` with their experiment's metadata, in the catalogue's order."""
    reg = registry()
    rank = {k: i for i, k in enumerate(reg)}
    out = []
    for d in run_dirs:
        r = Run(d)
        s = summary(d) if r.exists else None
        if s is None:
            continue
        exp = reg.get(s["experiment"])
        out.append((r, {"id": s["experiment"], "scale": s["scale"], "seed": s["seed"],
                        "title": exp.title if exp else s["experiment"], "family": exp.family if exp else "other",
                        "source": exp.source if exp else "", "status": r.status}))
    return sorted(out, key=lambda x: rank.get(x[1]["id"], len(rank)))


def _row(meta: dict, c: dict, number: int) -> dict:
    note = tidy_note(c.get("note", ""))
    paper = fmt_value(c["paper_value"]) if c.get("paper_value") is not None else ""
    return {"number": number, "anchor": f"{meta['id']}--{c['id']}", "exp": meta["id"], "id": c["id"],
            "statement": c["statement"], "source": c.get("source", ""), "paper": paper,
            "paper_setting": c.get("paper_setting", ""), "measured": fmt_value(c["value"], str(c["threshold"])),
            "threshold": str(c["threshold"]), "verdict": c["verdict"], "mark": MARK.get(c["verdict"], c["verdict"]),
            "kn": k_of_n(c), "note": note, "why": first_clause(note), "long": len(note) > LONG_NOTE,
            "n": fmt_n(c.get("n")), "scale": meta["scale"], "claim": c, "other": None, "scale_note": ""}


def atlas_context(run_dirs: list[Path], out_dir: Path, title: str, compare: list[Path] | None = None) -> dict:
    """Everything the atlas templates show: the dashboard, the failing claims, the sections; with ``compare``
    (other atlases), each claim beside the same claim of the other atlas's run (:mod:`genlab.compare`)."""
    sections, number = [], 0
    for r, meta in collect(run_dirs):
        st = meta["status"].get("status")
        claims = r.claims if st == "complete" else [  # a run that did not finish still gets a row: the atlas hides nothing
            {"id": "run", "statement": f"run {st}", "source": meta["source"], "value": None, "threshold": "",
             "verdict": "inconclusive", "note": meta["status"].get("reason", "")}]
        rows, over = [], seed_counts(out_dir, meta["id"])
        for c in claims:
            number += 1
            rows.append(_row(meta, c, number))
            if c["id"] in over:  # the verdict over the seeds of `reproduce --seeds` replaces one run's own k/N
                rows[-1]["kn"] = over[c["id"]]
        sections.append({**meta, "status": st, "reason": meta["status"].get("reason", "") if st != "complete" else "",
                         "folder": os.path.relpath(r.path, out_dir), "rows": rows, "path": r.path, "other": None,
                         "counts": {v: sum(x["verdict"] == v for x in rows) for v in VERDICTS},
                         "figures": [os.path.relpath(f, out_dir).replace(os.sep, "/") for f in r.figure_files()]})
    scales = list(dict.fromkeys(s["scale"] for s in sections))
    other_scales = [sc for sc in attach(sections, other_runs(compare)) if sc not in scales] if compare else []
    families: dict[str, dict] = {}
    for s in sections:
        fam = families.setdefault(s["family"], {"name": s["family"], "sections": [], "by_scale": {
            sc: dict.fromkeys(VERDICTS, 0) for sc in scales + other_scales}})
        fam["sections"].append(s)
        for v in VERDICTS:
            fam["by_scale"][s["scale"]][v] += s["counts"][v]
            if s["other"] and s["other"]["scale"] in other_scales:
                fam["by_scale"][s["other"]["scale"]][v] += sum(c["verdict"] == v for c in s["other"]["claims"])
    scales += other_scales
    rows = [x for s in sections for x in s["rows"]]
    return {"title": title, "when": time.strftime("%Y-%m-%d %H:%M"), "scales": scales, "families": list(families.values()),
            "sections": sections, "totals": {v: sum(x["verdict"] == v for x in rows) for v in VERDICTS},
            "failing": [x for x in rows if x["verdict"] == "fails"],
            "inconclusive": [x for x in rows if x["verdict"] == "inconclusive"], "n_runs": len(sections),
            "differ": [x for x in rows if x["scale_note"]], "compared": bool(compare)}


def _render(name: str, ctx: dict) -> str:
    import jinja2
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                             autoescape=name.endswith(".html.j2"), trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    env.filters["md"] = _md
    env.filters["cap"] = lambda t: str(t)[:1].upper() + str(t)[1:]
    return env.get_template(name).render(**ctx)


def write_atlas(run_dirs: list[Path], out_dir: Path, title: str = "genlab atlas",
                compare: list[Path] | None = None) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` in ``out_dir``: a dashboard per family, the failing claims first,
    then one section per experiment with its figures beside its claims (paper value, measured value, n,
    threshold, verdict; with ``compare``, the other atlas's measured value and verdict too). The HTML needs no
    network: its style is inline and its figures are the runs' PNGs, linked by relative paths."""
    out_dir = Path(out_dir)
    ctx = atlas_context(run_dirs, out_dir, title, compare)
    md_path, html_path = out_dir / "report.md", out_dir / "report.html"
    atomic_write_text(md_path, _render("atlas.md.j2", ctx))
    atomic_write_text(html_path, _render("atlas.html.j2", ctx))
    return md_path, html_path


def print_claims(run: Run, seconds: float | None = None) -> None:
    """The run folder and one line per claim (``genlab run``, ``genlab report RUN``)."""
    extra = f" in {seconds:.1f} s" if seconds is not None else ""
    scale = run.config.get("scale", "?")
    print(f"run folder: {run.path}{extra} ({scale} scale)")
    for c in run.claims:
        v = fmt_value(c["value"], str(c["threshold"]))
        n = f", n = {fmt_n(c['n'])}" if c.get("n") is not None else ""
        print(f"  [{c['verdict']:>12}] {c['id']}: measured {v}{n} at {scale} scale (threshold {c['threshold']})")
        if c.get("paper_value") is not None:
            setting = f" ({c['paper_setting']})" if c.get("paper_setting") else ""
            print(f"  {'':>14} paper: {fmt_value(c['paper_value'])}{setting}")


def _summary_or_damaged(d: Path) -> dict:
    """summary(d), or a "damaged" entry whose reason names the damaged file and its fix."""
    s = summary(d)
    if s is not None:
        return s
    try:
        check_run(d, deep=False)
        why = f"{d} cannot be read"
    except GenlabError as e:
        why = str(e)
    return {"experiment": "?", "scale": "?", "seed": "?", "status": "damaged", "reason": why, "claims": []}


def print_runs(folder: Path, fmt: str = "table") -> None:
    """``genlab runs``: one row per run under ``folder`` with experiment, scale, seed, status and verdicts; ``fmt``
    "csv" (a row per run, verdict counts) or "json" (a list of runs, each with its claims) for scripts.
    A damaged folder is listed as "damaged" (the table adds a line naming the file and the fix) and the
    listing goes on; asked for alone, it is the error (exit 2)."""
    if not folder.exists():
        raise GenlabError(f"{folder} does not exist; give the folder that holds your runs (default ./runs)")
    dirs = find_runs(folder)
    if dirs == [folder]:
        check_run(folder, deep=False)
    found = [(d, _summary_or_damaged(d)) for d in dirs]
    rows = [{"folder": str(d), **{k: s[k] for k in ("experiment", "scale", "seed", "status", "reason")},
             **{v: [c["verdict"] for c in s["claims"]].count(v) for v in ("holds", "fails", "inconclusive")},
             "claims": s["claims"]} for d, s in found]
    if fmt == "json":
        print(json.dumps(rows, indent=1))
        return
    if fmt == "csv":
        w = csv.DictWriter(sys.stdout, fieldnames=[k for k in rows[0] if k != "claims"] if rows else ["folder"],
                           extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        return
    if not rows:
        print(f"no runs under {folder}")
        return
    print(f"{'experiment':<22} {'scale':<8} {'seed':>4} {'status':<12} {'verdicts':<22} folder")
    for r in rows:
        inc = f", {r['inconclusive']} inc" if r["inconclusive"] else ""
        vs = f"{r['holds']} hold, {r['fails']} fail{inc}" if r["claims"] else "-"
        print(f"{r['experiment']:<22} {r['scale']:<8} {r['seed']:>4} {r['status']:<12} {vs:<22} {r['folder']}")
        if r["status"] == "damaged":
            print(f"{'':<22} {r['reason']}")


def print_experiments(family: str | None = None, as_json: bool = False) -> None:
    """``genlab list``: every experiment (of ``family``) with its source, claim and time per scale."""
    exps = [e for e in registry().values() if not family or e.family == family]
    if not exps and family:
        fams = list(dict.fromkeys(e.family for e in registry().values()))
        raise GenlabError(f"unknown family '{family}'; choose one of: {', '.join(fams)}")
    if as_json:
        print(json.dumps([e.describe() for e in exps], indent=2))
        return
    fam = None
    for e in exps:
        if e.family != fam:
            fam = e.family
            print(f"\n{fam}")
        t = ", ".join(f"{k} {v}" for k, v in e.times.items())
        print(f"  {e.id:<22} {e.source}\n  {'':<22} {e.claim}\n  {'':<22} time: {t}")
