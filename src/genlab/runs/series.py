"""Series in a run's arrays.npz: what a probe recorded over training, with its steps and named axes.

A series NAME is stored as NAME (values, first axis the step), NAME@step (the steps) and, for
all series at once, @axes (a JSON table of each series' axis names).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

from genlab.errors import GenlabError

_STEP, _AXES = "@step", "@axes"


class Series(NamedTuple):
    steps: np.ndarray
    values: np.ndarray
    axes: tuple[str, ...]


def _name_axes(declared: tuple[str, ...], ndim: int) -> tuple[str, ...]:
    """A probe names the trailing axes of one measurement; a stack adds a leading one, its "model" axis."""
    declared = declared[len(declared) - ndim:] if len(declared) > ndim else declared
    lead = ndim - len(declared)
    extra = ("model",) if lead == 1 else tuple(f"axis{i}" for i in range(lead))
    return extra + declared


def _axes_table(arrays: dict[str, np.ndarray]) -> dict[str, list[str]]:
    a = arrays.get(_AXES)
    return json.loads(str(a)) if a is not None else {}


def store_series(arrays: dict[str, np.ndarray], name: str, steps, values, axes: tuple[str, ...] = ()) -> None:
    values = np.asarray(values)
    arrays[name] = values
    arrays[f"{name}{_STEP}"] = np.asarray(steps, dtype=np.int64)
    table = _axes_table(arrays)
    table[name] = ["step", *_name_axes(tuple(axes), values.ndim - 1)]
    arrays[_AXES] = np.asarray(json.dumps(table, sort_keys=True))


def load_series(arrays: dict[str, np.ndarray], name: str, where: Path) -> Series:
    if f"{name}{_STEP}" not in arrays:
        have = ", ".join(series_names(arrays)) or "none"
        raise GenlabError(f"series {name!r} is not recorded in {where}; recorded: {have}")
    return Series(arrays[f"{name}{_STEP}"], arrays[name], tuple(_axes_table(arrays).get(name, ("step",))))


def series_names(arrays: dict[str, np.ndarray]) -> list[str]:
    return [k[: -len(_STEP)] for k in arrays if k.endswith(_STEP)]
