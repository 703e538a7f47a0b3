"""What genlab prints and writes about finished runs: the atlas (every run's figures and a claims
table, as Markdown and HTML), a run's claims, the table of ``genlab runs``, and ``genlab list``."""
from __future__ import annotations

import html
import json
import os
import time
from pathlib import Path

from genlab.errors import GenlabError
from genlab.experiments.base import registry
from genlab.io import atomic_write_text
from genlab.runs import Run, find_runs, summary
from genlab.runs.check import check_run

MARK = {"holds": "holds", "fails": "FAILS", "inconclusive": "inconclusive"}


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "not measured" if v is None else str(v)


def _md(text) -> str:
    """A Markdown table cell: pipes escaped, one line."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def collect(run_dirs: list[Path]) -> list[tuple[Run, dict]]:
    reg = registry()
    out = []
    for d in run_dirs:
        r = Run(d)
        s = summary(d) if r.exists else None
        if s is None:
            continue
        exp = reg.get(s["experiment"])
        out.append((r, {"id": s["experiment"], "scale": s["scale"], "seed": s["seed"],
                        "title": exp.title if exp else s["experiment"], "family": exp.family if exp else "?",
                        "source": exp.source if exp else "", "status": r.status}))
    return out


def write_atlas(run_dirs: list[Path], out_dir: Path, title: str = "genlab atlas") -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` in ``out_dir`` linking every run's figures."""
    out_dir = Path(out_dir)
    items = collect(run_dirs)
    when = time.strftime("%Y-%m-%d %H:%M")
    counts = {"holds": 0, "fails": 0, "inconclusive": 0}
    rows = []
    for r, meta in items:
        st = meta["status"].get("status")
        if st != "complete":  # a run that failed still gets a row: the atlas hides nothing
            rows.append((meta, {"statement": f"run {st}", "source": meta["source"], "value": None, "threshold": "",
                                "verdict": "inconclusive", "note": meta["status"].get("reason", "")}))
            counts["inconclusive"] += 1
            continue
        for c in r.claims:
            counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
            rows.append((meta, c))
    md = [f"# {title}", "", f"Generated {when}. Runs: {len(items)}; claims: "
          f"{counts['holds']} hold, {counts['fails']} fail, {counts['inconclusive']} inconclusive.", "",
          "## Claims", "", "| experiment | claim | source | measured | threshold | verdict | note |",
          "|---|---|---|---|---|---|---|"]
    for meta, c in rows:
        md.append(f"| {meta['id']} | {_md(c['statement'])} | {_md(c['source'])} | {_md(_fmt(c['value']))} | "
                  f"{_md(c['threshold'])} | {MARK.get(c['verdict'], c['verdict'])} | {_md(c.get('note', ''))} |")
    h = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
         "<style>body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em}table{border-collapse:collapse}"
         "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}.holds{background:#e6f6e6}"
         ".fails{background:#fbe3e3}.inconclusive{background:#f6f3dc}img{max-width:100%;border:1px solid #ddd}</style>",
         f"</head><body><h1>{html.escape(title)}</h1><p>Generated {when}. Runs: {len(items)}; claims: {counts['holds']} hold, "
         f"{counts['fails']} fail, {counts['inconclusive']} inconclusive.</p><h2>Claims</h2><table>"
         "<tr><th>experiment</th><th>claim</th><th>source</th><th>measured</th><th>threshold</th><th>verdict</th>"
         "<th>note</th></tr>"]
    for meta, c in rows:
        h.append(f"<tr class='{html.escape(c['verdict'])}'><td><a href='#{html.escape(meta['id'])}'>{html.escape(meta['id'])}</a></td>"
                 f"<td>{html.escape(c['statement'])}</td>"
                 f"<td>{html.escape(c['source'])}</td><td>{html.escape(_fmt(c['value']))}</td>"
                 f"<td>{html.escape(str(c['threshold']))}</td><td>{html.escape(MARK.get(c['verdict'], c['verdict']))}</td>"
                 f"<td>{html.escape(c.get('note', ''))}</td></tr>")
    h.append("</table>")
    md += ["", "## Figures", ""]
    family = None
    for r, meta in items:
        if meta["family"] != family:
            family = meta["family"]
            md += [f"### {family}", ""]
            h.append(f"<h2>{html.escape(family)}</h2>")
        st = meta["status"].get("status")
        md += [f"#### {meta['id']}: {meta['title']}", "", f"{meta['source']}. Scale {meta['scale']}, seed {meta['seed']}, "
               f"status {st}{': ' + meta['status'].get('reason', '') if st != 'complete' else ''}. "
               f"Run folder: `{os.path.relpath(r.path, out_dir)}`.", ""]
        reason = f": {meta['status'].get('reason', '')}" if st != "complete" else ""
        h.append(f"<h3 id='{html.escape(meta['id'])}'>{html.escape(meta['id'])}: {html.escape(meta['title'])}</h3>"
                 f"<p>{html.escape(meta['source'])}. Scale {html.escape(str(meta['scale']))}, seed {meta['seed']}, "
                 f"status {html.escape(str(st) + reason)}. Run folder: <code>{html.escape(os.path.relpath(r.path, out_dir))}</code>.</p>")
        for f in r.figure_files():
            rel = os.path.relpath(f, out_dir)
            md += [f"![{f.stem}]({rel})", ""]
            h.append(f"<p><img src='{html.escape(rel)}' alt='{html.escape(f.stem)}'></p>")
    h.append("</body></html>")
    md_path, html_path = out_dir / "report.md", out_dir / "report.html"
    atomic_write_text(md_path, "\n".join(md) + "\n")
    atomic_write_text(html_path, "\n".join(h) + "\n")
    return md_path, html_path


def print_claims(run: Run, seconds: float | None = None) -> None:
    """The run folder and one line per claim (``genlab run``, ``genlab report RUN``)."""
    extra = f" in {seconds:.1f} s" if seconds is not None else ""
    print(f"run folder: {run.path}{extra}")
    for c in run.claims:
        v = c["value"]
        v = f"{v:.4g}" if isinstance(v, float) else v
        print(f"  [{c['verdict']:>12}] {c['id']}: measured {v} (threshold {c['threshold']})")


def print_runs(folder: Path) -> None:
    """``genlab runs``: one row per run under ``folder`` with experiment, scale, seed, status and verdicts."""
    if not folder.exists():
        raise GenlabError(f"{folder} does not exist; give the folder that holds your runs (default ./runs)")
    dirs = find_runs(folder)
    if not dirs:
        print(f"no runs under {folder}")
        return
    if dirs == [folder]:
        check_run(folder, deep=False)  # the one run asked for: a damaged file is the error, exit 2
    print(f"{'experiment':<22} {'scale':<8} {'seed':>4} {'status':<12} {'verdicts':<22} folder")
    for d in dirs:  # a damaged folder is listed as damaged, with its file and fix, and the listing goes on
        s = summary(d)
        if s is None:
            try:
                check_run(d, deep=False)
                why = f"{d} cannot be read"
            except GenlabError as e:
                why = str(e)
            s = {"experiment": "?", "scale": "?", "seed": "?", "status": "damaged", "reason": why, "claims": []}
        v = [x["verdict"] for x in s["claims"]]
        inc = f", {v.count('inconclusive')} inc" if v.count("inconclusive") else ""
        vs = f"{v.count('holds')} hold, {v.count('fails')} fail{inc}" if v else "-"
        print(f"{s['experiment']:<22} {s['scale']:<8} {s['seed']:>4} {s['status']:<12} {vs:<22} {d}")
        if s["status"] == "damaged":
            print(f"{'':<22} {s['reason']}")


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
