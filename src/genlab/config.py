"""Typed experiment configs: frozen dataclasses with ``key=value`` overrides.

Every experiment config subclasses :class:`Config`. Each field declares its
valid values once, next to its default, with :func:`param`
(``n_samples: int = param(61, ge=8, le=10**5)``); a subclass that changes only
the default inherits the declaration. Overrides from the command line are
parsed against the field's annotation (int, float, bool, str, tuples, Literal
choices, optional values); ``Config.validate`` then checks every field against
its type and declaration (numbers are finite unless a field says
``finite=False``) before a subclass's own cross-field checks. Errors are
:class:`GenlabError` with one line naming the key, the value and the fix.
"""
from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, fields, replace
from typing import Any, Literal, get_args, get_origin

from genlab.errors import GenlabError
from genlab.params import param, validate_fields

SEED_LIMIT = 2 ** 32  # numpy's legacy seeding takes [0, 2**32)


@dataclass(frozen=True)
class Config:
    """Base of every experiment config. ``seed`` drives all randomness."""

    seed: int = param(0, ge=0, lt=SEED_LIMIT)

    def validate(self) -> None:
        """Raise GenlabError on a value outside its field's declaration. Subclasses extend this
        (``super().validate()`` first, then their cross-field checks)."""
        validate_fields(self)

    @classmethod
    def show(cls, key: str, value: Any) -> str:
        """How an error names a setting: ``key=value`` (``genlab restore`` shows ``--key value``)."""
        from genlab.params import show_value
        return f"{key}={show_value(value)}"

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]):
        hints = typing.get_type_hints(cls)
        kw = {}
        for f in fields(cls):
            if f.name in d:
                kw[f.name] = _coerce_json(d[f.name], hints[f.name])
        return cls(**kw)

    def override(self, pairs: list[str] | dict[str, Any]):
        """Return a copy with ``key=value`` strings (or a dict) applied and validated."""
        hints = typing.get_type_hints(type(self))
        names = [f.name for f in fields(self)]
        items = pairs.items() if isinstance(pairs, dict) else (_split(p) for p in pairs)
        changes = {}
        for key, raw in items:
            if key not in hints or key not in names:
                raise GenlabError(
                    f"unknown config key {key!r} for {type(self).__name__}; valid keys: {', '.join(names)}")
            changes[key] = parse_value(raw, hints[key], key) if isinstance(raw, str) else raw
        cfg = replace(self, **changes)
        cfg.validate()
        return cfg


def _split(pair: str) -> tuple[str, str]:
    if "=" not in pair:
        raise GenlabError(f"override {pair!r} is not of the form key=value (for example steps=500)")
    k, v = pair.split("=", 1)
    return k.strip(), v.strip()


def _jsonable(v):
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    return v


def _coerce_json(v, tp):
    """JSON lists back to the annotated tuples, nested ones too (``tuple[tuple[int, ...], ...]``)."""
    origin, args = get_origin(tp), get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if v is None:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce_json(v, inner[0]) if len(inner) == 1 else (tuple(v) if isinstance(v, list) else v)
    if origin is tuple and isinstance(v, list):
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce_json(x, args[0]) for x in v)
        if len(args) == len(v):
            return tuple(_coerce_json(x, a) for x, a in zip(v, args))
        return tuple(v)
    return v


def parse_value(raw: str, tp, key: str = "value"):
    """Parse a command-line string into the annotated type, or raise GenlabError."""
    origin = get_origin(tp)
    args = get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and raw.lower() in ("none", "null", ""):
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return parse_value(raw, a, key)
            except GenlabError as e:
                errors.append(str(e))
        raise GenlabError(errors[0] if errors else f"{key}={raw!r} has the wrong type")
    if origin is Literal:
        choices = [str(a) for a in args]
        if raw not in choices:
            raise GenlabError(f"{key}={raw!r} is not a valid choice; choose one of: {', '.join(choices)}")
        return args[choices.index(raw)]
    if origin is tuple:
        parts = [p for p in raw.replace(";", ",").split(",") if p.strip() != ""] if raw.strip("()[] ") else []
        parts = [p.strip(" ()[]") for p in parts]
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(parse_value(p, args[0], key) for p in parts)
        if len(parts) != len(args):
            raise GenlabError(f"{key}={raw!r} needs {len(args)} comma-separated values")
        return tuple(parse_value(p, a, key) for p, a in zip(parts, args))
    if tp is bool:
        low = raw.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise GenlabError(f"{key}={raw!r} is not a boolean; use true or false")
    if tp is int:
        try:
            return int(raw)
        except ValueError:
            raise GenlabError(f"{key}={raw!r} is not an integer") from None
    if tp is float:
        try:
            return float(raw)
        except ValueError:
            raise GenlabError(f"{key}={raw!r} is not a number") from None
    if tp is str:
        return raw
    raise GenlabError(f"{key} has a type ({tp}) that cannot be set from the command line")


def check(cond: bool, message: str) -> None:
    """Raise GenlabError(message) unless cond; for use in ``validate``."""
    if not cond:
        raise GenlabError(message)


def config_json(cfg: Config) -> str:
    return json.dumps({"class": type(cfg).__name__, **cfg.to_dict()}, indent=2, sort_keys=True)


__all__ = ["Config", "SEED_LIMIT", "param", "parse_value", "check", "config_json", "dataclass", "dataclasses"]
