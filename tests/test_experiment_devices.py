"""Experiments and data loaders follow the current device (issue 13).

Static: every torch factory call in ``experiments/`` and ``data/`` says ``device=``, every
``torch.from_numpy(...)`` is moved with ``.to(...)``, and every ``.numpy()`` goes through ``.cpu()``
(all 32 experiments, without running them). Dynamic: one experiment per family, shrunk, runs under
:class:`DeviceGuard` with ``runtime.use_device("cpu")``; a factory call without ``device=`` from the
experiment or data code fails the test, one from a lower layer (models, probes, train, dip) is reported
as an expected failure naming the file.
"""
from __future__ import annotations

import ast
import functools
import sys
from pathlib import Path

import pytest

import genlab
from device_guard import FACTORIES, DeviceGuard
from genlab import runtime
from genlab.execution import execute
from genlab.experiments.base import families, get, registry

SRC = Path(genlab.__file__).resolve().parent
OURS = ("experiments/", "data/")


def device_problems(source: str) -> list[str]:
    """``line: what`` for each spot in ``source`` that does not say where a tensor lives."""
    tree = ast.parse(source)
    parent = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        f, kw = node.func, {k.arg for k in node.keywords}
        is_torch = isinstance(f.value, ast.Name) and f.value.id == "torch"
        if is_torch and f.attr in FACTORIES and "device" not in kw:
            out.append(f"{node.lineno}: torch.{f.attr} without device=")
        elif is_torch and f.attr == "from_numpy":
            up = parent.get(node)
            if not (isinstance(up, ast.Attribute) and up.attr == "to"):
                out.append(f"{node.lineno}: torch.from_numpy(...) not followed by .to(device)")
        elif f.attr == "numpy" and not node.args:
            inner = f.value
            if not (isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute) and inner.func.attr == "cpu"):
                out.append(f"{node.lineno}: .numpy() without .cpu() first")
    return sorted(out, key=lambda s: int(s.split(":")[0]))


def scanned_files() -> list[Path]:
    return sorted(p for d in OURS for p in (SRC / d).rglob("*.py"))


def test_the_scan_finds_what_it_should():
    bad = ("import torch\n"
           "a = torch.zeros(3)\n"
           "b = torch.from_numpy(x)\n"
           "c = model(a).numpy()\n"
           "d = torch.randn(2, generator=g, device='cpu').to(dev)\n"
           "e = torch.from_numpy(x).to(dev)\n"
           "f = model(a).cpu().numpy()\n"
           "g = torch.as_tensor(y, dtype=torch.float32, device=dev)\n")
    assert device_problems(bad) == ["2: torch.zeros without device=",
                                    "3: torch.from_numpy(...) not followed by .to(device)",
                                    "4: .numpy() without .cpu() first"]


def test_the_scan_covers_every_experiment():
    files = {str(p) for p in scanned_files()}
    modules = {sys.modules[e.run.__module__].__file__ for e in registry().values()}
    assert len(registry()) >= 32
    assert modules <= {str(Path(m).resolve()) for m in files} | files


def test_experiment_and_data_code_say_where_tensors_live():
    problems = [f"{p.relative_to(SRC)}:{line}" for p in scanned_files() for line in device_problems(p.read_text())]
    assert problems == []


# One experiment per family, shrunk to a few seconds: each runs its family's common recipe on the device.
CASES = {
    "frequency-principle": ("fp-beyond-nyquist", ["steps=60", "check_every=10", "n_seeds=1", "widths=1,16,1"]),
    "cheap-learning": ("cheap-depth", ["steps=20", "n_train=50", "n_test=100", "widths=2,4"]),
    "deep-image-prior": ("dip-fitting-speed", ["size=16", "channels=8", "depth=2", "skip=2", "steps=20"]),
    "information-plane": ("ib-relu", ["epochs=4", "n_seeds=2", "kde_seeds=1", "n_snapshots=3", "kde_samples=64"]),
    "memorization": ("mem-randomization", ["n_train=64", "n_test=64", "max_epochs=2", "corruptions=true,gaussian"]),
    "loss-surfaces": ("loss-minima-spread", ["steps=10", "n_nets=4", "n_train=200", "n_test=100", "grid=3",
                                             "n_landscape=100", "widths=4,8"]),
    "saddle-points": ("saddle-free-newton", ["steps=5", "n_samples=40", "hidden=3"]),
}


def test_every_family_has_a_case():
    assert set(CASES) == set(families())


@functools.lru_cache(maxsize=None)
def _violations(exp_id: str, out: str) -> tuple[str, ...]:
    family = next(f for f, (i, _) in CASES.items() if i == exp_id)
    exp = get(exp_id)
    cfg = exp.config_for("quick", overrides=CASES[family][1])
    runtime.set_quiet(True)
    with runtime.use_device("cpu"), DeviceGuard() as g:
        execute(exp, cfg, out=Path(out) / exp_id)
    return tuple(g.violations)


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("device_runs"))


@pytest.mark.parametrize("exp_id", [i for i, _ in CASES.values()])
def test_experiment_builds_on_the_device(exp_id, runs_dir):
    mine = [v for v in _violations(exp_id, runs_dir) if v.startswith(OURS)]
    assert mine == []


@pytest.mark.parametrize("exp_id", [i for i, _ in CASES.values()])
def test_lower_layers_build_on_the_device(exp_id, runs_dir):
    theirs = [v for v in _violations(exp_id, runs_dir) if not v.startswith(OURS)]
    assert theirs == [], f"factory calls without device= below the experiments (models/probes/train/dip): {theirs}"
