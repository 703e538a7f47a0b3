"""What an experiment is: a config with three scales, a run function, figures and claims.

An experiment module defines one or more :class:`Experiment` objects and
passes each to :func:`register`. The registry discovers every module in
``genlab.experiments`` on first use, so adding a family is adding a module.

- ``run(cfg, run)`` trains and measures, writing metrics and arrays through the
  :class:`~genlab.runs.Run`. Training goes through :func:`genlab.train.train`
  with ``run=run`` and a distinct ``phase`` per training, so a killed run resumes.
- ``figures(run)`` draws from the stored results alone (``run.arrays``,
  ``run.metrics``, ``run.config``) and saves with ``run.save_figure``.
- ``claims(run)`` returns a list of :class:`Claim`, also from stored results.
"""
from __future__ import annotations

import importlib
import math
import pkgutil
from dataclasses import asdict, dataclass, field
from typing import Callable, Literal

import numpy as np

from genlab.config import Config
from genlab.errors import GenlabError

Verdict = Literal["holds", "fails", "inconclusive"]
SCALES = ("quick", "default", "paper")


@dataclass
class Claim:
    """A paper's statement, where it is from, what we measured and the verdict."""

    id: str
    statement: str
    source: str
    value: float | str | None
    threshold: str
    verdict: Verdict
    note: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        v = d["value"]
        if isinstance(v, np.integer):
            d["value"] = int(v)
        elif isinstance(v, (float, np.floating)):
            # NaN/inf are not JSON: a value that could not be measured is recorded as null.
            d["value"] = float(f"{float(v):.6g}") if math.isfinite(float(v)) else None
        return d


def verdict(ok: bool | None) -> Verdict:
    return "inconclusive" if ok is None else ("holds" if ok else "fails")


@dataclass
class Experiment:
    id: str
    family: str
    title: str
    source: str            # paper and figure
    claim: str             # the claim in one sentence
    config: type[Config]
    scales: dict[str, Config]
    times: dict[str, str]  # expected CPU time per scale, e.g. {"quick": "10 s", ...}
    run: Callable
    figures: Callable
    claims: Callable
    tags: tuple[str, ...] = field(default_factory=tuple)

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


def register(exp: Experiment) -> Experiment:
    if exp.id in _REGISTRY and _REGISTRY[exp.id] is not exp:
        raise ValueError(f"experiment id {exp.id!r} registered twice")
    missing = [s for s in SCALES if s not in exp.scales]
    if missing:
        raise ValueError(f"{exp.id}: scales {missing} missing; every experiment has quick, default and paper")
    _REGISTRY[exp.id] = exp
    return exp


# The atlas's order: DESIGN.md's table of phenomena. Families not listed come last.
FAMILY_ORDER = ("frequency-principle", "deep-image-prior", "memorization", "information-plane", "loss-surfaces",
                "saddle-points", "cheap-learning")


def registry() -> dict[str, Experiment]:
    """Every experiment, by id, grouped by family in FAMILY_ORDER (then registration order)."""
    global _DISCOVERED, _REGISTRY
    if not _DISCOVERED:
        import genlab.experiments as pkg
        for m in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
            if not m.name.startswith("_") and m.name != "base":
                importlib.import_module(f"genlab.experiments.{m.name}")
        rank = {f: i for i, f in enumerate(FAMILY_ORDER)}
        order = sorted(_REGISTRY.values(), key=lambda e: rank.get(e.family, len(rank)))  # stable
        _REGISTRY = {e.id: e for e in order}
        _DISCOVERED = True
    return _REGISTRY


def get(exp_id: str) -> Experiment:
    reg = registry()
    if exp_id not in reg:
        raise GenlabError(f"unknown experiment '{exp_id}'; choose one of: {', '.join(reg)} (see genlab list)")
    return reg[exp_id]


def families() -> list[str]:
    return list(dict.fromkeys(e.family for e in registry().values()))
