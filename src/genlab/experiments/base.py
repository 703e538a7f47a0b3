"""What an experiment is: a config with three scales, a run function, figures and claims.

An experiment lives in ``genlab/experiments/<family>/<name>.py`` (the family's
shared recipe in ``common.py``) and is declared by one call to
:func:`experiment`; experiments/README.md shows the template.

- The config dataclass's defaults are the paper's own settings (the ``paper``
  scale); ``quick`` and ``default`` are written as deltas from it. A claim's
  threshold is a config field, so one number sets both the verdict and the text.
- ``run(cfg, run)`` trains and measures. Training goes through
  :func:`genlab.train.train` with ``run=run`` and a distinct ``phase`` per
  training: the probes' series land in the run as ``<phase>/<name>`` and a killed
  run resumes.
- ``figures(run, cfg)`` draws from the stored results alone (``run.series``,
  ``run.arrays``, ``run.metrics``) and saves with ``run.save_figure``.
- ``claims(run, cfg)`` returns a list of :class:`Claim` built with :func:`claim`,
  also from stored results.
"""
from __future__ import annotations

import importlib
import inspect
import itertools
import math
import pkgutil
import sys
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Literal

import numpy as np

from genlab.config import Config
from genlab.errors import GenlabError

Verdict = Literal["holds", "fails", "inconclusive"]
SCALES = ("quick", "default", "paper")


@dataclass
class Claim:
    """A paper's statement, where it is from, what we measured, the threshold and the verdict.

    paper_value: the paper's own number for the same quantity, where it has one
    (with ``paper_setting``: data size, network, iterations, metric convention).
    n: the data size the measured value rests on (training images, patterns, samples), the
    number actually used where only a subset is on disk; None where a data size means nothing.
    """

    id: str
    statement: str
    source: str
    value: float | str | None
    threshold: str
    verdict: Verdict
    note: str = ""
    paper_value: float | str | None = None
    paper_setting: str = ""
    n: int | None = None
    k: int | None = None   # a claim over the seeds trained inside the run: it holds for k of them ...
    of: int | None = None  # ... of this many (the report shows "k/of seeds")
    per: str = ""          # what k and of count when not seeds: "folds", "nets", "masks" (the report's noun)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["n"] = None if self.n is None else int(self.n)
        for k in ("value", "paper_value"):
            v = d[k]
            if isinstance(v, np.integer):
                d[k] = int(v)
            elif isinstance(v, (float, np.floating)):
                # NaN/inf are not JSON: a value that could not be measured is recorded as null.
                d[k] = float(f"{float(v):.6g}") if math.isfinite(float(v)) else None
        return d


def verdict(ok: bool | None) -> Verdict:
    return "inconclusive" if ok is None else ("holds" if ok else "fails")


def _num(x: float) -> str:
    return f"{x:g}"


def claim(id: str, statement: str, value: float | None, *, source: str, at_least: float | None = None,
          at_most: float | None = None, above: float | None = None, below: float | None = None,
          within: tuple[float, float] | None = None, unit: str = "", require: bool = True,
          inconclusive: bool = False, note: str = "", paper_value: float | str | None = None,
          paper_setting: str = "", n: int | None = None,
          seeds: np.ndarray | list[bool] | None = None, per: str = "") -> Claim:
    """A :class:`Claim` whose verdict and threshold text come from the same number.

    Give exactly one comparison: ``at_least`` (>=), ``at_most`` (<=), ``above`` (>),
    ``below`` (<) or ``within`` (lo <= value <= hi). ``unit`` follows the number in
    the threshold text (">= 0.9 of seeds"). ``require`` is a further condition the
    claim needs (stated in ``unit`` or ``note``); ``inconclusive`` (or a value that
    is None or NaN) makes the verdict inconclusive: the effect could not be measured.
    ``paper_value``/``paper_setting`` and ``n`` are recorded as given (see :class:`Claim`).
    ``seeds``: for a claim over the seeds a run trains (a fraction of seeds), whether the statement held for each;
    recorded as ``k`` of ``of`` seeds. ``per`` names what ``seeds`` counts when it is not seeds trained inside
    the run (``"folds"``: disjoint parts of the test set of a run with no randomness; ``"nets"``, ``"masks"``).
    """
    given = {k: v for k, v in (("at_least", at_least), ("at_most", at_most), ("above", above),
                               ("below", below), ("within", within)) if v is not None}
    if len(given) != 1:
        raise ValueError(f"claim {id}: give exactly one of at_least, at_most, above, below, within (got {list(given)})")
    (op, bound), = given.items()
    text = {"at_least": ">= {}", "at_most": "<= {}", "above": "> {}", "below": "< {}"}.get(op, "in [{}]")
    text = text.format(", ".join(map(_num, bound)) if op == "within" else _num(bound))  # type: ignore[arg-type]
    if unit:
        text = f"{text} {unit}"
    measurable = value is not None and not (isinstance(value, float) and math.isnan(value)) and not inconclusive
    ok = None
    if measurable:
        v = float(value)  # type: ignore[arg-type]
        ok = {"at_least": lambda: v >= bound, "at_most": lambda: v <= bound, "above": lambda: v > bound,
              "below": lambda: v < bound, "within": lambda: bound[0] <= v <= bound[1]}[op]() and bool(require)
    k = of = None
    if seeds is not None:
        k, of = int(np.sum(seeds)), int(np.size(seeds))
    return Claim(id, statement, source, value, text, verdict(ok), note, paper_value, paper_setting, n, k, of,
                 per if seeds is not None else "")


@dataclass
class Experiment:
    id: str
    family: str
    title: str
    source: str            # paper and figure
    claim: str             # the claim in one sentence
    config: type[Config]
    scales: dict[str, Config]
    times: dict[str, str]  # expected CPU time per scale: the one place it is written
    run: Callable
    figures: Callable
    claims: Callable
    doc: str = ""          # the module's docstring as written (paper, figure, command, claim)
    module: str = ""       # the module that declared it: genlab.experiments.<family>.<name>
    tags: tuple[str, ...] = field(default_factory=tuple)
    robustness: dict[str, tuple] = field(default_factory=dict)  # free choices: config key -> values to try

    def config_for(self, scale: str, seed: int | None = None, overrides: list[str] | None = None) -> Config:
        if scale not in self.scales:
            raise GenlabError(f"unknown scale '{scale}' for {self.id}; choose one of: {', '.join(self.scales)}")
        cfg = self.scales[scale]
        if seed is not None:
            cfg = cfg.override({"seed": seed})
        if overrides:
            cfg = cfg.override(overrides)
        cfg.validate()
        return cfg

    def describe(self) -> dict:
        return {"id": self.id, "family": self.family, "title": self.title, "source": self.source,
                "claim": self.claim, "times": self.times, "scales": list(self.scales),
                "command": f"genlab run {self.id}",
                "config": {name: cfg.to_dict() for name, cfg in self.scales.items()}}


_REGISTRY: dict[str, Experiment] = {}
_DISCOVERED = False


def experiment(*, id: str, title: str, source: str, claim: str, config: type[Config], times: dict[str, str],
               run: Callable, figures: Callable, claims: Callable, quick: dict[str, Any] | None = None,
               default: dict[str, Any] | None = None, base: dict[str, Any] | None = None,
               family: str | None = None, tags: tuple[str, ...] = (),
               robustness: dict[str, list | tuple] | None = None) -> Experiment:
    """Declare and register one experiment.

    The ``paper`` scale is ``config(**base)``: the dataclass defaults (the paper's
    settings) with ``base`` applied (a variant's fixed settings, for example another
    data set); ``quick`` and ``default`` are deltas from it. ``times`` gives the
    expected CPU time per scale; it is appended to the module's docstring, so the
    docstring and ``genlab list`` cannot disagree. The family defaults to the
    module's folder (``experiments/frequency_principle/`` -> ``frequency-principle``). The module is
    the one that calls ``experiment()``, so ``run``, ``figures`` and ``claims`` may come from the
    family's ``common.py``. ``robustness`` names the free choices (config keys, each with a few values) that
    ``genlab robustness`` varies one at a time; keys and values are checked here.
    """
    caller = inspect.currentframe().f_back  # type: ignore[union-attr]
    module = sys.modules[caller.f_globals["__name__"]]  # type: ignore[union-attr]
    if family is None:
        pkg = (module.__package__ or "").split(".")
        family = pkg[-1].replace("_", "-") if len(pkg) > 2 else ""
    if not family:
        raise ValueError(f"{id}: put the module in experiments/<family>/ or give family=")
    paper = config(**(base or {}))
    scales = {"quick": replace(paper, **(quick or {})), "default": replace(paper, **(default or {})), "paper": paper}
    missing = [s for s in SCALES if s not in times]
    if missing:
        raise ValueError(f"{id}: times for scales {missing} missing")
    doc = module.__dict__.setdefault("_doc_as_written", inspect.cleandoc(module.__doc__ or ""))  # before any time line
    grid = {k: tuple(v) for k, v in (robustness or {}).items()}
    for (key, values), (scale, cfg) in itertools.product(grid.items(), scales.items()):
        for v in values:
            try:
                cfg.override({key: v})
            except GenlabError as e:
                raise ValueError(f"{id}: robustness {key}={v!r} at the {scale} scale: {e}") from None
    exp = Experiment(id=id, family=family, title=title, source=source, claim=claim, config=config, scales=scales,
                     times=dict(times), run=run, figures=figures, claims=claims, doc=doc, module=module.__name__,
                     tags=tuple(tags), robustness=grid)
    line = f"Time on 2 CPU cores ({id}): " + ", ".join(f"{s} {times[s]}" for s in SCALES) + "."
    if line not in (module.__doc__ or ""):
        module.__doc__ = (module.__doc__ or "").rstrip() + "\n\n" + line + "\n"
    return register(exp)


def register(exp: Experiment) -> Experiment:
    if exp.id in _REGISTRY and _REGISTRY[exp.id] is not exp and _REGISTRY[exp.id].run is not exp.run:
        raise ValueError(f"experiment id {exp.id!r} registered twice")
    missing = [s for s in SCALES if s not in exp.scales]
    if missing:
        raise ValueError(f"{exp.id}: scales {missing} missing; every experiment has quick, default and paper")
    _REGISTRY[exp.id] = exp
    return exp


# The atlas's order: DESIGN.md's table of phenomena. Families not listed come last.
FAMILY_ORDER = ("frequency-principle", "deep-image-prior", "memorization", "information-plane", "loss-surfaces",
                "saddle-points", "cheap-learning")


def _import_all() -> None:
    """Import every experiment module: ``experiments/<family>/<name>.py`` (not ``common`` or ``_*``).

    A family's ``__init__.py`` may list its modules in ``ORDER`` (the paper's order, used by
    ``genlab list`` and the atlas); the rest follow by name.
    """
    import genlab.experiments as pkg
    mods = sorted(pkgutil.walk_packages(pkg.__path__, "genlab.experiments."), key=lambda m: m.name)
    for fam in [m for m in mods if m.ispkg]:
        for leaf in getattr(importlib.import_module(fam.name), "ORDER", ()):
            importlib.import_module(f"{fam.name}.{leaf}")
    for m in mods:
        leaf = m.name.rsplit(".", 1)[1]
        if not (leaf.startswith("_") or leaf in ("base", "common") or m.ispkg):
            importlib.import_module(m.name)


def registry() -> dict[str, Experiment]:
    """Every experiment, by id, grouped by family in FAMILY_ORDER (then registration order)."""
    global _DISCOVERED, _REGISTRY
    if not _DISCOVERED:
        _import_all()
        rank = {f: i for i, f in enumerate(FAMILY_ORDER)}
        order = sorted(_REGISTRY.values(), key=lambda e: rank.get(e.family, len(rank)))  # stable
        _REGISTRY = {e.id: e for e in order}
        _DISCOVERED = True
    return _REGISTRY


def get(exp_id: str) -> Experiment:
    reg = registry()
    if exp_id not in reg:
        raise GenlabError(f"unknown experiment {exp_id!r}; choose one of: {', '.join(reg)} (see genlab list)")
    return reg[exp_id]


def families() -> list[str]:
    return list(dict.fromkeys(e.family for e in registry().values()))
