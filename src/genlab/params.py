"""A config field's valid values, declared once next to its default, and the check that reads them.

    n_samples: int = param(61, ge=8, le=10**5)            # a range
    activation: str = param("tanh", choices=("tanh", "relu"))
    widths: tuple[int, ...] = param((1, 200, 1), ge=1, le=4096, min_len=2, max_len=16)  # per element
    n_train: int = param(0, ge=10, le=60000, allow=(0,))  # 0 (all) or a range
    image: str = param("camera", path=True)               # a name or a file path

:func:`validate_fields` (called by ``Config.validate``) checks every field of a
config: its type (from the annotation), finiteness (every float, unless
``finite=False``), the range, the choices, a tuple's length and each element.
A field without :func:`param` is checked for its type and finiteness only.
A subclass that redeclares a field with a plain default keeps its parent's
declaration. Errors are one line: the key, the value, what is wrong and the
fix (the valid range and the class's default as an example).
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from genlab.errors import GenlabError

PATH_MAX, NAME_MAX = 4096, 255  # Linux limits on a path and on one of its components (bytes)


@dataclass(frozen=True)
class Spec:
    """Valid values of one field (for a tuple: of each element, plus the tuple's length)."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple | None = None
    allow: tuple = ()          # values accepted besides the range (0 for "none" or "all", say)
    finite: bool = True
    min_len: int | None = None
    max_len: int | None = None
    path: bool = False
    why: str = ""              # said after the range: what the bound protects ("the W x W matrices fit in memory")

    def range_text(self) -> str:
        lo = f"[{_num(self.ge)}" if self.ge is not None else (f"({_num(self.gt)}" if self.gt is not None else "(-inf")
        hi = f"{_num(self.le)}]" if self.le is not None else (f"{_num(self.lt)})" if self.lt is not None else "inf)")
        extra = "".join(f" or {show_value(a)}" for a in self.allow)
        return f"{lo}, {hi}{extra}"


def param(default: Any, *, ge: float | None = None, gt: float | None = None, le: float | None = None,
          lt: float | None = None, choices: tuple | None = None, allow: tuple = (), finite: bool = True,
          min_len: int | None = None, max_len: int | None = None, path: bool = False, why: str = "") -> Any:
    """A dataclass field with ``default`` and its valid values (see the module docstring)."""
    spec = Spec(ge, gt, le, lt, tuple(choices) if choices is not None else None, tuple(allow), finite,
                min_len, max_len, path, why)
    return dataclasses.field(default=default, metadata={"spec": spec})


def spec_of(cls: type, name: str) -> Spec:
    """The declaration of field ``name``: the nearest class in the MRO that declared it with :func:`param`."""
    for base in cls.__mro__:
        f = getattr(base, "__dataclass_fields__", {}).get(name)
        if f is not None and "spec" in f.metadata:
            return f.metadata["spec"]
    return Spec()


def show_value(v: Any) -> str:
    """A value as the user would type it, on one line (strings quoted with escapes, tuples comma-separated)."""
    if isinstance(v, tuple):
        return ",".join(show_value(x) for x in v) if v else "''"
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, float):
        return f"{v:g}" if math.isfinite(v) else str(v)
    return str(v)


def _num(x: float) -> str:
    if isinstance(x, int) and abs(x) >= 10 ** 5 and x == 10 ** round(math.log10(abs(x))):
        return f"10**{round(math.log10(x))}"
    if isinstance(x, int) and x == 2 ** 32:
        return "2**32"
    return f"{x:g}" if isinstance(x, float) else str(x)


def type_ok(v: Any, tp: Any) -> bool:
    """Whether ``v`` has the annotated type (an int counts as a float; a bool is not a number)."""
    origin, args = get_origin(tp), get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return any(type_ok(v, a) for a in args)
    if tp is type(None):
        return v is None
    if origin is Literal:
        return any(v == a and type(v) is type(a) for a in args)
    if origin is tuple:
        if not isinstance(v, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(type_ok(x, args[0]) for x in v)
        return len(v) == len(args) and all(type_ok(x, a) for x, a in zip(v, args))
    if tp is bool:
        return isinstance(v, bool)
    if tp is int:
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)
    if tp is float:
        return isinstance(v, numbers.Real) and not isinstance(v, bool)
    if tp is str:
        return isinstance(v, str)
    return True


def _type_name(tp: Any) -> str:
    origin, args = get_origin(tp), get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(map(str, args))
    if origin is tuple:
        return "a comma-separated list" if len(args) == 2 and args[1] is Ellipsis else f"{len(args)} comma-separated values"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a text", type(None): "none"}.get(tp, str(tp))


def _problem(x: Any, spec: Spec) -> str:
    """What is wrong with one scalar ``x`` under ``spec`` ("" when nothing)."""
    if isinstance(x, str):
        if spec.choices is not None and x not in spec.choices:
            return f"is not a valid choice; choose one of: {', '.join(map(str, spec.choices))}"
        if spec.path or spec.choices is None:
            if "\x00" in x or "\n" in x or "\r" in x:
                return "holds a control character; give a plain name or path"
            if len(x.encode()) > PATH_MAX or any(len(part.encode()) > NAME_MAX for part in x.split("/")):
                return f"is too long for a path (at most {NAME_MAX} bytes a name, {PATH_MAX} in all); give a shorter one"
        return ""
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or x in spec.allow:
        return ""
    if spec.choices is not None and x not in spec.choices:
        return f"is not a valid choice; choose one of: {', '.join(map(str, spec.choices))}"
    if spec.finite and not math.isfinite(x):
        return f"is not a finite number; give a number in {spec.range_text()}"
    if math.isnan(x):
        return ""
    out = ((spec.ge is not None and x < spec.ge) or (spec.gt is not None and x <= spec.gt)
           or (spec.le is not None and x > spec.le) or (spec.lt is not None and x >= spec.lt))
    return f"is outside {spec.range_text()}" + (f" ({spec.why})" if spec.why else "") if out else ""


def validate_fields(cfg: Any) -> None:
    """Check every field of a config dataclass against its annotation and declaration; GenlabError if not."""
    cls = type(cfg)
    hints = typing.get_type_hints(cls)
    show = getattr(cls, "show", lambda k, v: f"{k}={show_value(v)}")
    for f in dataclasses.fields(cfg):
        v, spec, tp = getattr(cfg, f.name), spec_of(cls, f.name), hints.get(f.name)
        default = f.default if f.default is not dataclasses.MISSING else None
        example = f"; e.g. {show(f.name, default)}" if default is not None and default != v else ""
        if tp is not None and not type_ok(v, tp):
            raise GenlabError(f"{show(f.name, v)} is not {_type_name(tp)}{example}")
        if v is None:
            continue
        if isinstance(v, tuple):
            n = len(v)
            if (spec.min_len is not None and n < spec.min_len) or (spec.max_len is not None and n > spec.max_len):
                lo, hi = spec.min_len or 0, spec.max_len
                want = f"{lo} to {hi}" if hi is not None else f"at least {lo}"
                raise GenlabError(f"{show(f.name, v)} has {n} values; give {want}{example}")
            for x in v:
                problem = _problem(x, spec)
                if problem:
                    raise GenlabError(f"{show(f.name, v)}: the value {show_value(x)} {problem}{example}")
        else:
            problem = _problem(v, spec)
            if problem:
                raise GenlabError(f"{show(f.name, v)} {problem}{example}")


def check_path(option: str, value: Any) -> None:
    """A path given on the command line: not empty, no control characters, within the system's length limits."""
    text = str(value)
    if value is None:
        return
    if text in ("", "."):
        if option != "folder":
            raise GenlabError(f"{option} {show_value(text)} names the current folder; give a path such as runs/my-run")
        return
    problem = _problem(text, Spec(path=True))
    if problem:
        raise GenlabError(f"{option} {show_value(text)} {problem}")


def check_bytes(key: str, value: Any, need: float, limit: float, what: str, fits: str) -> None:
    """Raise GenlabError naming ``key`` when an allocation of ``need`` bytes exceeds ``limit`` (say what fits)."""
    if need > limit:
        raise GenlabError(f"{key}={show_value(value)} needs about {need / 1e9:.3g} GB for {what}, over the "
                          f"{limit / 1e9:.3g} GB allowed; {fits}")


__all__ = ["Spec", "param", "spec_of", "show_value", "type_ok", "validate_fields", "check_bytes", "check_path", "PATH_MAX", "NAME_MAX"]
