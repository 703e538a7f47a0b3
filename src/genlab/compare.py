"""Two scales side by side in the atlas: ``genlab report ATLAS --compare OTHER`` (or ``genlab reproduce
... --compare OTHER``) shows, beside each claim of ATLAS, the same claim measured in the other atlas's run
of the same experiment (typically ATLAS at default scale, OTHER at quick).

Where the two verdicts differ the claim gets one generated sentence: both measured values with their
thresholds, data sizes and verdicts, and the config settings that differ between the two runs (read from
their stored ``config.json``), so a reader sees what changed between the scales and by how much.
Nothing is trained or recomputed: both sides are the stored ``claims.json``.
"""
from __future__ import annotations

from pathlib import Path

from genlab.errors import GenlabError
from genlab.experiments.base import SCALES
from genlab.runs import Run, atlas_runs, find_runs, summary

MAX_SETTINGS = 8  # settings named in a sentence; the rest are counted


def fmt_n(n) -> str:
    """A data size as written in the atlas: 60,000; '' when there is none."""
    if n is None or n == "":
        return ""
    try:
        return f"{int(n):,}"
    except (TypeError, ValueError):
        return str(n)


def other_runs(folders: list[Path]) -> dict[str, Run]:
    """The complete runs under ``folders`` (atlases, sweeps, run folders) by experiment id; the first wins."""
    found: dict[str, Run] = {}
    for folder in folders:
        folder = Path(folder)
        if not folder.exists():
            raise GenlabError(f"--compare {folder} does not exist; give the folder of the other atlas "
                              "(for example atlas-quick, written by genlab reproduce --quick)")
        dirs = atlas_runs(folder)
        for d in dirs if dirs is not None else find_runs(folder):
            s = summary(d)
            if s is not None and s["status"] == "complete":
                found.setdefault(s["experiment"], Run(d))
    if not found:
        raise GenlabError(f"--compare {', '.join(map(str, folders))} holds no complete run; give an atlas folder "
                          "written by genlab reproduce")
    return found


def _show(v) -> str:
    from genlab.report import fmt_value
    return fmt_value(v)


def config_diff(a: dict, b: dict, limit: int = MAX_SETTINGS) -> str:
    """'key a -> b, ...' for the settings whose values differ (the seed and the thread count are not settings)."""
    keys = [k for k in dict.fromkeys([*a, *b]) if k not in ("seed", "threads") and a.get(k) != b.get(k)]
    parts = [f"{k} {_show(a.get(k))} -> {_show(b.get(k))}" for k in keys[:limit]]
    if len(keys) > limit:
        parts.append(f"and {len(keys) - limit} more")
    return ", ".join(parts)


def _side(scale: str, c: dict) -> str:
    from genlab.report import fmt_value
    n = f", n = {fmt_n(c.get('n'))}" if c.get("n") is not None else ""
    t = str(c.get("threshold", ""))
    return f"{scale} measured {fmt_value(c.get('value'), t)} (threshold {t}{n}: {c['verdict']})"


def scale_sentence(scale_a: str, claim_a: dict, cfg_a: dict, scale_b: str, claim_b: dict, cfg_b: dict) -> str:
    """Why the verdict of one claim differs between two runs: the numbers on each side and the settings that
    differ, the smaller scale first."""
    rank = {s: i for i, s in enumerate(SCALES)}
    (sa, ca, fa), (sb, cb, fb) = sorted([(scale_a, claim_a, cfg_a), (scale_b, claim_b, cfg_b)],
                                        key=lambda t: rank.get(t[0], len(rank)))
    diff = config_diff(fa, fb)
    settings = f"; the settings that differ ({sa} -> {sb}): {diff}" if diff else "; the two runs have the same settings"
    return f"The verdict differs between scales: {_side(sa, ca)}, {_side(sb, cb)}{settings}."


def attach(sections: list[dict], others: dict[str, Run]) -> list[str]:
    """Give each section its other run (``other``: scale, folder) and each row its other claim (``other``) and,
    where the verdicts differ, its sentence (``scale_note``). Returns the other scales shown, in order."""
    from genlab.report import MARK, fmt_value
    shown: list[str] = []
    for s in sections:
        run = others.get(s["id"])
        s["other"] = None
        if run is None or s["status"] != "complete":
            continue
        stored = run.config
        scale, theirs = stored.get("scale", "?"), {c["id"]: c for c in run.claims}
        s["other"] = {"scale": scale, "folder": str(run.path), "claims": list(theirs.values())}
        shown.append(scale)
        mine_cfg = Run(s["path"]).config.get("config", {})
        for x in s["rows"]:
            c = theirs.get(x["id"])
            x["other"] = None if c is None else {
                "measured": fmt_value(c.get("value"), str(c.get("threshold", ""))), "verdict": c["verdict"],
                "mark": MARK.get(c["verdict"], c["verdict"]), "n": fmt_n(c.get("n")), "threshold": c.get("threshold", "")}
            if c is not None and c["verdict"] != x["verdict"]:
                x["scale_note"] = scale_sentence(s["scale"], x["claim"], mine_cfg, scale, c, stored.get("config", {}))
    return list(dict.fromkeys(shown))
