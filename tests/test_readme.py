"""The README's commands are the ones that work: catalogue = registry, set-up = CI, snippets run."""
import re
import shlex
from pathlib import Path

import numpy as np

from genlab.experiments import registry

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
SETUP_RUN = "pip install -e . && genlab reproduce --quick"
SETUP_TEST = "pip install -e '.[test]' && python -m pytest -q"


def catalogue_rows(text: str) -> list[list[str]]:
    """Rows of the table that follows the `<!-- catalogue` marker (header and rule left out)."""
    lines = text[text.index("<!-- catalogue"):].splitlines()[1:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return [r for r in rows[2:]]


def test_catalogue_lists_exactly_the_registered_experiments_with_their_command():
    rows = catalogue_rows(README)
    ids = [r[0] for r in rows]
    assert sorted(ids) == sorted(registry()), "README catalogue rows vs `genlab list` ids"
    assert len(ids) == len(set(ids))
    for r in rows:
        assert len(r) == 6, r
        exp = registry()[r[0]]
        assert r[1] == exp.family, r[0]
        assert r[4] == f"`genlab run {r[0]}`", r[0]


def normalized(command: str) -> list[list[str]]:
    """`a && b` as token lists, with `python -m pip` = `pip` and pip's -q dropped."""
    out = []
    for part in command.split("&&"):
        toks = shlex.split(part)
        if toks[:3] == ["python", "-m", "pip"]:
            toks = toks[2:]
        if toks[:1] == ["pip"]:
            toks = [t for t in toks if t not in ("-q", "--quiet")]
        out.append(toks)
    return out


def test_setup_commands_are_in_the_readme_and_ci_runs_the_test_command():
    blocks = re.findall(r"```bash\n(.*?)```", README, re.S)
    commands = [line.strip() for b in blocks for line in b.splitlines() if line.strip()]
    assert SETUP_RUN in commands and SETUP_TEST in commands
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.lstrip().startswith("#")]
    runs = [line for line in ci if "pytest" in line]
    assert len(runs) == 1 and normalized(runs[0]) == normalized(SETUP_TEST)
    assert "set -euo pipefail" in ci


def section_code(heading: str) -> str:
    """The first ```python block under ``heading`` in the README."""
    assert heading in README, f"no section {heading!r}"
    return re.search(r"```python\n(.*?)```", README[README.index(heading):], re.S).group(1)


def test_own_model_snippet_shows_low_frequency_first(capsys):
    ns = {}
    exec(compile(section_code("## Use the instruments on your own model"), "snippet", "exec"), ns)
    probe, steps, errors = ns["probe"], ns["steps"], ns["errors"]
    assert probe.peaks_.tolist() == [1, 5]
    t = ns["first_below"](steps, errors, 0.1)
    assert np.isfinite(t[0]) and t[0] < t[1]                  # k=1 converges first (k=5 later or not yet)
    assert errors[-1, 0] < 0.1 < errors[-1, 1]
    assert set(ns["norms_before"]) == {"0.weight", "2.weight"}
    assert "spectral norms" in capsys.readouterr().out
