"""Registry-wide conformance: every experiment has the one shape (experiments/README.md).

For each registered experiment: every scale validates; the module docstring, as
written, names the paper, a figure/table/section, the command and the claim, and
holds no time estimate (times live only in ``experiment(times=...)``); the
module sits at ``experiments/<family folder>/<id with _>.py``. Across the
registry, claim ids are unique. For a few cheap experiments (marked slow), the
figures and claims redrawn from the stored results (``genlab report``) equal
the ones written at the end of the run.
"""
import ast
import inspect
import json
import re
import textwrap
from pathlib import Path

import pytest

from genlab.cli import main
from genlab.experiments import registry
from genlab.experiments.base import SCALES

EXPERIMENTS = list(registry().values())
ids = [e.id for e in EXPERIMENTS]


@pytest.mark.parametrize("exp", EXPERIMENTS, ids=ids)
def test_every_scale_validates(exp):
    assert set(exp.scales) == set(SCALES)
    for scale in SCALES:
        cfg = exp.config_for(scale)
        assert isinstance(cfg, exp.config), scale
    # Paper defaults: the paper scale is the dataclass's own defaults (a variant's base= aside).
    assert exp.scales["quick"] != exp.scales["paper"], "quick scale equals paper scale: give quick={...} deltas"


def first_author(source: str) -> str:
    """'Xu et al. 2019 (CiCP), Fig. 1' -> 'Xu'; 'Lin, Tegmark & Rolnick 2017' -> 'Lin'."""
    return re.split(r"[\s,&]+", source.strip())[0]


# A time estimate: "10 s", "about 1 min", "5 minutes", "1.5 h", "2 hours", "CPU time".
TIME = re.compile(r"\b\d+(?:\.\d+)?\s*(?:s|sec|secs|seconds?|min|mins|minutes?|h|hrs?|hours?)\b|\bCPU time\b|\bruntime\b",
                  re.I)


@pytest.mark.parametrize("exp", EXPERIMENTS, ids=ids)
def test_docstring_names_paper_figure_command_and_claim(exp):
    doc = exp.doc
    assert doc, f"{exp.id}: the module has no docstring"
    assert first_author(exp.source) in doc, f"{exp.id}: the docstring does not name the paper ({exp.source})"
    # Where in the paper: a figure, table or section by number, or a section named by its topic.
    assert re.search(r"\b(Fig\.|Figs\.|Figure|Table|Section|Sec\.|§)|\b(section on|discussion of)\b", doc, re.I), \
        f"{exp.id}: no figure, table or section"
    assert f"genlab run {exp.id}" in doc, f"{exp.id}: the docstring does not give the command `genlab run {exp.id}`"
    assert re.search(r"^Claims?:", doc, re.M), f"{exp.id}: the docstring has no 'Claim:' paragraph"


@pytest.mark.parametrize("exp", EXPERIMENTS, ids=ids)
def test_docstring_as_written_holds_no_time_estimate(exp):
    hits = TIME.findall(exp.doc)
    assert not hits, f"{exp.id}: time estimates {hits} in the docstring; times go only in experiment(times=...)"
    assert all(exp.times[s] for s in SCALES)


@pytest.mark.parametrize("exp", EXPERIMENTS, ids=ids)
def test_module_path_is_family_folder_and_id(exp):
    module = exp.module
    folder = exp.family.replace("-", "_")
    *pkg, leaf = module.split(".")
    assert pkg == ["genlab", "experiments", folder], f"{exp.id}: in {module}, not genlab.experiments.{folder}"
    # A variant (another data set, base={...}) may live in its twin's module: mem-randomization-cifar10.
    own = exp.id.replace("-", "_")
    assert own == leaf or own.startswith(leaf + "_"), f"{exp.id}: module {leaf}.py, expected {own}.py"


# ---- claim ids, read from the claims functions' source ------------------------------------------------------
class ClaimIds(ast.NodeVisitor):
    """The first argument of every ``claim(...)``/``Claim(...)`` in a function (and the module functions it calls).

    ``cfg.<field>`` in an f-string, and ``if cfg.<field> == value`` branches, are resolved against one
    config, so variants of one function (``ib-{cfg.activation}-fitting``) get their own ids; any other
    placeholder stays as ``{...}``.
    """

    def __init__(self, cfg, namespace, seen):
        self.cfg, self.ns, self.seen, self.ids = cfg, namespace, seen, []

    def value(self, node):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and hasattr(self.cfg, node.attr):
            return getattr(self.cfg, node.attr)
        if isinstance(node, ast.Constant):
            return node.value
        raise LookupError

    def text(self, node) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            out = []
            for part in node.values:
                if isinstance(part, ast.Constant):
                    out.append(str(part.value))
                else:
                    try:
                        out.append(str(self.value(part.value)))
                    except LookupError:
                        out.append("{...}")
            return "".join(out)
        return None

    def block(self, stmts) -> bool:
        """Visit statements in order; True once one returns for sure (what follows is not reached)."""
        for n in stmts:
            if isinstance(n, ast.If) and self.visit_If(n):
                return True
            if not isinstance(n, ast.If):
                self.visit(n)
            if isinstance(n, ast.Return):
                return True
        return False

    def visit_FunctionDef(self, node):
        self.block(node.body)

    def visit_If(self, node) -> bool:
        try:
            t = node.test
            if not (isinstance(t, ast.Compare) and len(t.ops) == 1 and isinstance(t.ops[0], (ast.Eq, ast.NotEq))):
                raise LookupError
            same = self.value(t.left) == self.value(t.comparators[0])
            taken = node.body if same == isinstance(t.ops[0], ast.Eq) else node.orelse
        except LookupError:
            self.generic_visit(node)
            return False
        self.visit(node.test)
        return self.block(taken)

    def visit_Call(self, node):
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
        first = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "id"), None)
        if name in ("claim", "Claim") and first is not None and (t := self.text(first)) is not None:
            self.ids.append(t)
        target = self.ns.get(name) if isinstance(f, ast.Name) else None
        if inspect.isfunction(target) and target.__module__.startswith("genlab.experiments") and target not in self.seen:
            self.seen.add(target)
            self.ids += claim_ids(target, self.cfg, self.seen)
        self.generic_visit(node)


def claim_ids(fn, cfg, seen=None) -> list[str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    v = ClaimIds(cfg, fn.__globals__, seen if seen is not None else {fn})
    v.visit(tree)
    return v.ids


def test_claim_ids_are_unique_across_the_registry():
    """One claim id, one claim; a variant on other data (same claims function, e.g. the -cifar10 twins)
    states the same claim, so it shares the id (the atlas and claims.json qualify it by experiment)."""
    owners: dict[str, set] = {}
    for exp in EXPERIMENTS:
        found = claim_ids(exp.claims, exp.scales["paper"])
        assert found, f"{exp.id}: no claim(...) call found in its claims function"
        assert len(set(found)) == len(found), f"{exp.id}: a claim id appears twice: {found}"
        for cid in found:
            owners.setdefault(cid, set()).add(exp.claims)
    shared = {cid: fns for cid, fns in owners.items() if len(fns) > 1}
    assert not shared, f"claim ids used by more than one claims function: {sorted(shared)}"


def test_claim_id_reader_on_a_known_function():
    """The reader above against a function whose ids are known (its oracle)."""
    from dataclasses import dataclass

    @dataclass
    class Cfg:
        activation: str = "tanh"

    def claims(run, cfg):  # noqa: ARG001 - read, not called
        out = [claim(f"ib-{cfg.activation}-fitting"), claim(f"delta{run}")]   # noqa: F821
        if cfg.activation == "tanh":
            return out + [claim("ib-tanh-compression")]                          # noqa: F821
        return out + [Claim("ib-relu-no-compression")]                           # noqa: F821

    assert claim_ids(claims, Cfg()) == ["ib-tanh-fitting", "delta{...}", "ib-tanh-compression"]
    assert claim_ids(claims, Cfg("relu")) == ["ib-relu-fitting", "delta{...}", "ib-relu-no-compression"]


# ---- figures and claims redrawn from the stored results -------------------------------------------------------
# Cheap experiments at quick scale (seconds each); small overrides keep them cheap.
REDRAW = {"cheap-multiplication": [], "saddle-free-newton": [], "fp-filtering": []}


@pytest.mark.slow
@pytest.mark.parametrize("exp_id", list(REDRAW))
def test_figures_and_claims_redrawn_from_stored_results_equal_the_written_ones(exp_id, tmp_path, capsys):
    out = tmp_path / exp_id
    assert main(["run", exp_id, "--scale", "quick", "--out", str(out), "--quiet", *REDRAW[exp_id]]) == 0
    written = json.loads((out / "claims.json").read_text())
    figures = {p.name: p.read_bytes() for p in (out / "figures").glob("*.png")}
    assert written and figures, f"{exp_id}: the run wrote no claims or no figures"
    (out / "claims.json").unlink()
    for p in (out / "figures").glob("*.png"):
        p.unlink()
    assert main(["report", str(out)]) == 0
    assert json.loads((out / "claims.json").read_text()) == written
    again = {p.name: p.read_bytes() for p in (out / "figures").glob("*.png")}
    assert sorted(again) == sorted(figures)
    assert all(len(b) > 1000 for b in again.values())
    assert again == figures, f"{exp_id}: redrawn figures differ from the written ones"   # same pixels, same bytes
    capsys.readouterr()


def test_the_redraw_set_is_registered():
    missing = [i for i in REDRAW if i not in registry()]
    assert not missing, f"REDRAW names unregistered experiments: {missing}"


def test_conformance_covers_every_experiment():
    assert len(EXPERIMENTS) >= 27 and all(Path(inspect.getfile(e.run)).suffix == ".py" for e in EXPERIMENTS)
