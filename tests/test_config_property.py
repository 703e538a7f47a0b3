"""Property: any value of any config field, and any option of run, sweep, restore, reproduce and report,
either validates or is one GenlabError line naming the key, with nothing written (issue 16).

Values are drawn from each field's declaration (genlab.params.param) and from outside it: wrong types,
nan/inf, negatives, huge numbers, empty lists, control characters, over-long paths. The commands run
in-process in an empty temporary folder with the work itself stubbed out: reaching the stub means the
input validated; exit 2 must come with one line on stderr and an empty folder.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
import typing
from dataclasses import fields
from pathlib import Path
from typing import Literal, get_args, get_origin

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genlab import cli
from genlab.errors import GenlabError
from genlab.experiments import registry
from genlab.params import spec_of

EXPS = registry()
IDS = sorted(EXPS)
COUNTS = {"config": 0, "config_valid": 0, "cli": 0, "cli_valid": 0}
SETTINGS = settings(max_examples=400, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # hypothesis's report imports mypy_extensions
JUNK = ["", "abc", "nan", "inf", "-inf", "-1", "0", "1.5", "1e308", "-1e9", "4294967296", "1000000000",
        "10" * 12, "a" * 300, "x\ny", "none", "true", ",", "1,,2", "(1,2", "[]"]


def _bounds(spec, integer: bool):
    lo = spec.ge if spec.ge is not None else (spec.gt + (1 if integer else 0) if spec.gt is not None else -1e6)
    hi = spec.le if spec.le is not None else (spec.lt - (1 if integer else 0) if spec.lt is not None else 1e6)
    return lo, hi


def scalar_text(tp, spec) -> st.SearchStrategy[str]:
    """Strings for one scalar of type ``tp``: inside the declaration, just outside it, and junk."""
    if get_origin(tp) is Literal:
        return st.sampled_from([str(a) for a in get_args(tp)] + ["bogus"])
    if tp is bool:
        return st.sampled_from(["true", "false", "maybe"])
    if tp is str:
        good = st.sampled_from([str(c) for c in spec.choices]) if spec.choices else st.sampled_from(["camera", "x"])
        return st.one_of(good, st.text(max_size=12), st.sampled_from(JUNK))
    integer = tp is int
    lo, hi = _bounds(spec, integer)
    if integer:
        inside = st.integers(int(lo), int(hi)).map(str)
        near = st.sampled_from([int(lo) - 1, int(hi) + 1, *spec.allow]).map(str)
    else:
        inside = st.floats(float(lo), float(hi), allow_nan=False,
                           exclude_min=spec.gt is not None, exclude_max=spec.lt is not None).map(repr)
        near = st.sampled_from([lo - abs(lo) * 0.1 - 1e-9, hi + abs(hi) * 0.1 + 1e-9]).map(repr)
    return st.one_of(inside, inside, near, st.integers(-10 ** 12, 10 ** 12).map(str), st.sampled_from(JUNK))


def field_text(cls, name: str) -> st.SearchStrategy[str]:
    tp, spec = typing.get_type_hints(cls)[name], spec_of(cls, name)
    if get_origin(tp) in (typing.Union, getattr(__import__("types"), "UnionType")):
        inner = [a for a in get_args(tp) if a is not type(None)][0]
        return st.one_of(st.just("none"), field_text_of(inner, spec))
    return field_text_of(tp, spec)


def field_text_of(tp, spec) -> st.SearchStrategy[str]:
    if get_origin(tp) is tuple:
        args = get_args(tp)
        elem = args[0]
        lo, hi = spec.min_len or 0, (spec.max_len or 8)
        lists = st.lists(scalar_text(elem, spec), min_size=lo, max_size=min(hi, 8))
        return st.one_of(lists.map(",".join), st.lists(scalar_text(elem, spec), max_size=hi + 3).map(",".join),
                         st.sampled_from(["", "1", "nan,1,1"]))
    return scalar_text(tp, spec)


@st.composite
def overrides(draw, exp_id: str, n_max: int = 3):
    cls = EXPS[exp_id].config
    names = [f.name for f in fields(cls)]
    keys = draw(st.lists(st.sampled_from(names), min_size=1, max_size=n_max, unique=True))
    return [(k, draw(field_text(cls, k))) for k in keys]


def _names(msg: str) -> str:
    return msg.replace("-", "_")


def _mentions(msg: str, keys) -> bool:
    m = _names(msg)
    return any(re.search(rf"(?<![A-Za-z0-9]){re.escape(k.replace('-', '_').strip('_'))}(?![A-Za-z0-9])", m) for k in keys)


@contextlib.contextmanager
def empty_cwd():
    """A fresh empty working folder for one example (hypothesis reuses function-scoped fixtures)."""
    old = os.getcwd()
    with tempfile.TemporaryDirectory() as d:
        os.chdir(d)
        try:
            yield Path(d)
        finally:
            os.chdir(old)


@SETTINGS
@given(data=st.data())
def test_any_config_value_validates_or_is_one_line_naming_the_key(data):
    exp_id = data.draw(st.sampled_from(IDS))
    pairs = data.draw(overrides(exp_id))
    COUNTS["config"] += 1
    with empty_cwd() as cwd:
        _config_case(exp_id, pairs)
        assert not any(cwd.iterdir())


def _config_case(exp_id, pairs):
    try:
        cfg = EXPS[exp_id].config_for("quick", overrides=[f"{k}={v}" for k, v in pairs])
    except GenlabError as e:
        msg = str(e)
        assert "\n" not in msg, msg
        assert _mentions(msg, [k for k, _ in pairs] + ["seed"]), (pairs, msg)
    else:
        COUNTS["config_valid"] += 1
        cfg.validate()


@SETTINGS
@given(exp_id=st.sampled_from(IDS), key=st.data(),
       value=st.sampled_from([1.5, True, None, "x", (), (1, 2), float("nan"), -(10 ** 20), [1, 2], object()]))
def test_python_values_of_the_wrong_type_are_refused(exp_id, key, value):
    cls = EXPS[exp_id].config
    name = key.draw(st.sampled_from([f.name for f in fields(cls)]))
    COUNTS["config"] += 1
    try:
        EXPS[exp_id].scales["quick"].override({name: value})
    except GenlabError as e:
        assert "\n" not in str(e) and _mentions(str(e), [name]), (name, value, str(e))
    else:
        COUNTS["config_valid"] += 1


class _Reached(Exception):
    """The stubbed work was reached: the input validated."""


class _Backend:
    def __init__(self, *a, **k):
        pass

    def map(self, fn, items):
        raise _Reached

    def run_tasks(self, tasks):
        raise _Reached


@pytest.fixture
def stubbed(monkeypatch, tmp_path_factory):
    import importlib

    import genlab.parallel
    import genlab.runner
    import genlab.sweep
    dip_fit, dip_windows = (importlib.import_module(f"genlab.dip.{m}") for m in ("fit", "windows"))

    def reached(*a, **k):
        raise _Reached

    monkeypatch.setattr(genlab.runner, "execute", reached)
    monkeypatch.setattr(genlab.runner, "LocalBackend", _Backend)
    monkeypatch.setattr(genlab.parallel, "LocalBackend", _Backend)   # make_backend builds it from here
    monkeypatch.setattr(genlab.sweep, "LocalBackend", _Backend)
    monkeypatch.setattr(dip_fit, "fit", reached)
    monkeypatch.setattr(dip_windows, "fit_tiles", reached)
    from genlab.data.images import save_image
    img = tmp_path_factory.mktemp("inputs") / "in.png"
    save_image(np.random.default_rng(0).random((40, 48, 3)), img)
    return img


def _restore_flags():
    from genlab.dip.config import RestoreConfig
    return RestoreConfig, [f.name for f in fields(RestoreConfig)]


PATHS = st.sampled_from(["out", "runs/a", "", "a" * 300, "x\ny", "deep/er/folder"])


@st.composite
def command(draw, img: Path):
    kind = draw(st.sampled_from(["run", "sweep", "restore", "reproduce", "report"]))
    exp_id = draw(st.sampled_from(IDS))
    named = []
    if kind == "run":
        argv = ["run", exp_id, "--quiet", "--scale", draw(st.sampled_from(["quick", "quick", "huge"]))]
        named.append("scale")
        if draw(st.booleans()):
            argv += ["--seed", draw(scalar_text(int, spec_of(EXPS[exp_id].config, "seed")))]
            named.append("seed")
        if draw(st.booleans()):
            argv += ["--out", draw(PATHS)]
            named.append("out")
        pairs = draw(overrides(exp_id, 2))
        argv += [f"{k}={v}" for k, v in pairs]
        named += [k for k, _ in pairs]
    elif kind == "sweep":
        pairs = draw(overrides(exp_id, 2))
        argv = ["sweep", exp_id, "--quiet", "--out", draw(PATHS), *[f"{k}={v}" for k, v in pairs]]
        named += ["out", "grid", "sweep", *[k for k, _ in pairs]]
    elif kind == "reproduce":
        argv = ["reproduce", "--quick", "--quiet", "--only", exp_id, "--out", draw(PATHS),
                "--seed", draw(st.sampled_from(["0", "-1", "4294967296", "4294967295", "x", "7"]))]
        named += ["out", "seed"]
    elif kind == "report":
        argv = ["report", draw(PATHS)]
        named += ["folder", "report"]
    else:
        cls, names = _restore_flags()
        pairs = draw(st.lists(st.sampled_from(names), max_size=3, unique=True))
        argv = ["restore", str(img), "-o", draw(st.sampled_from(["out.png", "o/out.png", "out.txt", "a" * 300 + ".png"])),
                "--quiet"]
        flags = {f.name for f in fields(cls) if f.type in (bool, "bool")}  # on/off switches take no value
        for k in pairs:
            argv += [f"--{k.replace('_', '-')}"] + ([] if k in flags else [draw(field_text(cls, k))])
        if "threads" not in pairs:
            argv += ["--threads", "1"]
        named += ["output", "out", "image", "input", "mask", "memory", "window", *pairs]
    return argv, named


@SETTINGS
@given(data=st.data())
def test_any_command_line_validates_or_exits_2_in_one_line_with_nothing_written(data, stubbed):
    argv, named = data.draw(command(stubbed))
    COUNTS["cli"] += 1
    with empty_cwd() as cwd:
        _command_case(argv, named, cwd)


def _command_case(argv, named, cwd):
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = cli.main(argv)
    except _Reached:
        COUNTS["cli_valid"] += 1
        return
    except SystemExit as e:  # argparse
        rc = e.code
    lines = [ln for ln in err.getvalue().splitlines() if ln.startswith("genlab")]
    assert rc == 2, (argv, rc, err.getvalue())
    assert len(err.getvalue().splitlines()) == 1 and len(lines) == 1, (argv, err.getvalue())
    assert _mentions(lines[0], named), (argv, lines[0])
    assert not any(cwd.iterdir()), (argv, list(cwd.rglob("*")))


def test_counts_of_inputs_tried():
    """Runs last: how many inputs the properties above tried (printed with -s; asserted nonzero)."""
    print(f"\nproperty inputs tried: {COUNTS}")
    if COUNTS["config"]:
        assert COUNTS["config"] >= 100 and 0 < COUNTS["config_valid"] < COUNTS["config"]
