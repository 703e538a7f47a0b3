"""Compare every claim's value and verdict in two atlases: ``python benchmarks/compare_atlases.py BEFORE AFTER``.

An atlas is a folder with ``runs/<id>/claims.json`` (``genlab reproduce --out``). A claim is matched by
(experiment, claim id); the exit status is 1 when any value or verdict differs or a claim is missing on one
side, so the comparison can gate a refactoring that must not change results (issue 12).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def claims(atlas: Path) -> dict[tuple[str, str], tuple]:
    out: dict[tuple[str, str], tuple] = {}
    for d in sorted((atlas / "runs").iterdir()):
        p = d / "claims.json"
        if not p.exists():
            out[(d.name, "<no claims.json>")] = (None, "missing")
            continue
        for c in json.loads(p.read_text()):
            out[(d.name, c["id"])] = (c["value"], c["verdict"])
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    a, b = (claims(Path(x)) for x in argv)
    keys = sorted(set(a) | set(b))
    diff = [k for k in keys if a.get(k) != b.get(k)]
    for k in diff:
        print(f"DIFF {k[0]} {k[1]}: before {a.get(k)} after {b.get(k)}")
    print(f"{len(keys) - len(diff)} claims identical (value and verdict), {len(diff)} differ, of {len(keys)}")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
