"""The Markdown is the test: every snippet in README.md and docs/*.md runs (or parses) as written there.

- Every ```python block is executed from the Markdown itself, in order, one namespace per file (a later
  block may use an earlier one's names), in a scratch folder. A block preceded by ``<!-- no-run -->``
  (too slow, or it needs the user's own image) is compiled and its imports resolved, not run.
  Some blocks have an oracle in CHECKS: what the text around them says they show.
- Every line of a ```bash/```console block (or an unlabelled block of commands) that calls ``genlab`` is
  parsed by genlab.cli's parser; ``genlab run`` and ``genlab sweep`` lines also name a registered experiment,
  and run's key=value overrides validate against its config.
- The README's catalogue lists exactly the registered experiments; CI runs the README's test command.
"""
import ast
import importlib
import re
import shlex
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from genlab.cli import parse
from genlab.experiments import registry

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
NO_RUN = "<!-- no-run -->"


def blocks(path: Path) -> list[dict]:
    """Fenced blocks of a Markdown file: language, code, line, heading above, and whether marked no-run."""
    text = path.read_text()
    out = []
    for m in FENCE.finditer(text):
        before = text[:m.start()]
        heading = ([h for h in re.findall(r"^#+ .*$", before, re.M)] or [""])[-1]
        out.append({"lang": m.group(1), "code": m.group(2), "line": before.count("\n") + 1, "heading": heading,
                    "no_run": before.rstrip().endswith(NO_RUN)})
    return out


PYTHON = [(p, i) for p in DOCS for i, b in enumerate(blocks(p)) if b["lang"] == "python"]


def rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


@lru_cache(maxsize=None)
def namespace_after(path: Path, index: int, workdir: Path) -> dict:
    """The namespace once the file's python blocks up to ``index`` have run (earlier ones from the cache)."""
    import os
    bs = blocks(path)
    earlier = [i for i, b in enumerate(bs[:index]) if b["lang"] == "python" and not b["no_run"]]
    ns = dict(namespace_after(path, earlier[-1], workdir)) if earlier else {"__name__": "__main__"}
    b = bs[index]
    code = compile("\n" * (b["line"]) + b["code"], str(path), "exec")   # tracebacks point at the Markdown line
    old = os.getcwd()
    os.chdir(workdir)
    try:
        exec(code, ns)
    finally:
        os.chdir(old)
    return ns


def check_imports(code: str) -> None:
    """Every module a snippet imports exists and has the names it takes from it."""
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.ImportFrom):
            m = importlib.import_module(node.module)
            missing = [a.name for a in node.names if not hasattr(m, a.name)]
            assert not missing, f"{node.module} has no {missing}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                importlib.import_module(a.name)


def check_own_model(ns, out):
    """README: low frequency first on your own model."""
    probe, steps, errors = ns["probe"], ns["steps"], ns["errors"]
    assert probe.peaks_.tolist() == [1, 5]
    t = ns["first_below"](steps, errors, 0.1)
    assert np.isfinite(t[0]) and t[0] < t[1] and t[0] <= 100          # "k = 1 drops below 0.1 within 100 steps"
    assert errors[-1, 0] < 0.1 < errors[-1, 1]                          # "k = 5 is still far above it after 600"
    assert set(ns["norms_before"]) == {"0.weight", "2.weight"} and "spectral norms" in out


def check_spectrum_probe(ns, out):
    """docs/frequency-principle.md: the low peak reaches 0.1 within tens of steps, the high one later."""
    t = ns["first_below"](ns["result"].history.steps("spectrum"), ns["err"], 0.1)
    assert ns["err"].shape[1] == 2 and t[0] < 100 and (not np.isfinite(t[1]) or t[1] > t[0] + 100)


def check_hessian_mi(ns, out):
    hess, mi, kde = ns["hess"], ns["mi"], ns["kde"]
    assert len(hess.eigenvalues_) == 3 and hess.eigenvalues_[0] > 0 and hess.trace_std_ >= 0
    assert ns["block"].exact().shape == (10 * 16 + 16,) * 2
    assert 0 < mi.I_xt_ <= np.log2(256) + 1e-9 and 0 <= mi.I_ty_ <= np.log2(3) + 1e-9
    assert kde.I_xt_ > 0 and mi.params_["estimator"] == "binning"


def check_landscape(ns, out):
    ls = ns["ls"]
    assert ls.losses_.shape == (11, 11) and np.isfinite(ls.losses_).all()
    assert ls.losses_[5, 5] == pytest.approx(ls.center_loss_) and Path("landscape.png").stat().st_size > 1000


def check_memorization(ns, out):
    assert "kernel train error 0.0" in out
    epochs = out.strip().splitlines()[-1].split(":")[-1].strip()
    assert epochs != "None" and int(epochs) < 300


def check_tidy(ns, out):
    """README: the long frame holds the stored series; the curve is its mean over seeds."""
    from genlab.runs import Run
    steps, values, axes = Run("runs/fp-small").series("train/spectrum")
    assert list(ns["spec"].columns) == ["run", *axes, "value"] and len(ns["spec"]) == values.size
    np.testing.assert_allclose(ns["curve"].to_numpy(), values.mean(axis=1))
    assert "fp1d-order:verdict" in out


# (file, heading) -> oracle on the namespace and printed output after that block.
CHECKS = {
    ("README.md", "## Use the instruments on your own model"): check_own_model,
    ("README.md", "## Use your tools: TensorBoard, MLflow, pandas, Ray"): check_tidy,
    ("docs/frequency-principle.md", None): check_spectrum_probe,
    ("docs/information-plane-and-saddles.md", None): check_hessian_mi,
    ("docs/loss-surfaces-and-cheap-learning.md", None): check_landscape,
    ("docs/memorization.md", "## the probes on your own model"): check_memorization,
}


@pytest.mark.parametrize("path, index", PYTHON, ids=[f"{rel(p)}:{blocks(p)[i]['line']}" for p, i in PYTHON])
def test_python_snippet_runs_as_written(path, index, tmp_path_factory, capsys, monkeypatch):
    b = blocks(path)[index]
    if b["no_run"]:
        compile(b["code"], str(path), "exec")
        check_imports(b["code"])
        return
    workdir = tmp_path_factory.getbasetemp() / "docs" / path.stem
    workdir.mkdir(parents=True, exist_ok=True)
    ns = namespace_after(path, index, workdir)
    out = capsys.readouterr().out
    check = CHECKS.get((rel(path), b["heading"])) or CHECKS.get((rel(path), None))
    if check is not None:
        monkeypatch.chdir(workdir)
        check(ns, out)


def test_every_oracle_has_its_snippet():
    have = {(rel(p), blocks(p)[i]["heading"]) for p, i in PYTHON} | {(rel(p), None) for p, i in PYTHON}
    assert not [k for k in CHECKS if k not in have], "CHECKS names a block that is not in the Markdown"


def genlab_commands() -> list[tuple[str, int, list[str]]]:
    """(file, line, argv) of every `genlab ...` command in a bash/console/unlabelled block."""
    out = []
    for p in DOCS:
        for b in blocks(p):
            if b["lang"] not in ("bash", "console", "sh", "shell", ""):
                continue
            for j, line in enumerate(b["code"].splitlines()):
                for part in line.lstrip("$ ").split("&&"):
                    toks = shlex.split(part, comments=True)
                    while toks and re.match(r"^[A-Z_]+=", toks[0]):     # GENLAB_DATA=... genlab run ...
                        toks = toks[1:]
                    if toks[:1] == ["genlab"]:
                        out.append((rel(p), b["line"] + 1 + j, toks[1:]))
    return out


COMMANDS = genlab_commands()


@pytest.mark.parametrize("argv", [c[2] for c in COMMANDS], ids=[f"{c[0]}:{c[1]}" for c in COMMANDS])
def test_genlab_command_parses(argv):
    args = parse(argv)
    if args.command in ("run", "sweep"):
        assert args.experiment in registry(), f"unknown experiment {args.experiment}"
    if args.command == "run":
        exp = registry()[args.experiment]
        exp.config_for(args.scale or "default", args.seed, args.overrides)    # overrides validate


def test_the_markdown_has_commands_and_snippets():
    assert len(COMMANDS) >= 10 and len(PYTHON) >= 6


# ---- the README's catalogue and set-up ------------------------------------------------------------------------
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
    return rows[2:]


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
    bash = [b for b in blocks(ROOT / "README.md") if b["lang"] == "bash"]
    commands = [line.strip() for b in bash for line in b["code"].splitlines() if line.strip()]
    assert SETUP_RUN in commands and SETUP_TEST in commands
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.lstrip().startswith("#")]
    assert "set -euo pipefail" in ci
    steps = [normalized(line) for line in ci]
    flat = [toks for s in steps for toks in s]
    install, test = normalized(SETUP_TEST)
    assert install in flat and test in flat and flat.index(install) < flat.index(test)
    assert sum("pytest" in line for line in ci) == 1
    assert ["ruff", "check", "src", "tests", "benchmarks"] in flat and ["mypy"] in flat
