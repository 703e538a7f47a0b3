"""Atomic writes and writability checks: a kill at any moment leaves the old file or the new one.

Every result genlab writes goes through :func:`atomic_write_bytes` (a temporary
file in the same folder, fsync, rename).
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from genlab.errors import GenlabError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); results are ordinary files (0666 & ~umask).
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def check_writable(folder: Path, what: str = "output folder", fix: str = "choose another with --out",
                   keep: bool = True) -> None:
    """Raise GenlabError unless ``folder`` can be created and written to (and leave nothing if not).

    keep=False removes the folders the check created, for a check made before the real work.
    """
    folder = Path(folder)
    created = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".probe.")
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        rmdirs(created)  # leave nothing behind
        raise GenlabError(f"cannot write to {what} {folder}: {e.strerror or e}; {fix}") from None
    if not keep:
        rmdirs(created)


NAME_MAX, PATH_MAX = 255, 4096  # bytes: Linux's limits (macOS: 255 and 1024)


def _short(s: str) -> str:
    return s if len(s) <= 60 else f"{s[:40]}...{s[-12:]}"


def check_path(path: Path | str, what: str = "path") -> None:
    """Raise GenlabError unless ``path`` is a name the file system accepts (not empty, no NUL,
    each part at most NAME_MAX bytes, the whole at most PATH_MAX): before any file is made."""
    s = os.fspath(path)
    if s == "":
        raise GenlabError(f"{what} is empty; give a path")
    if "\0" in s:
        raise GenlabError(f"{what} {_short(repr(s))} contains a NUL character; give a path without it")
    long = [p for p in Path(s).parts if len(os.fsencode(p)) > NAME_MAX]
    if long:
        raise GenlabError(f"{what} {_short(s)} has a name of {len(os.fsencode(long[0]))} bytes; "
                          f"the file system allows {NAME_MAX}: choose a shorter name")
    if len(os.fsencode(os.path.abspath(s))) >= PATH_MAX:
        raise GenlabError(f"{what} {_short(s)} is {len(os.fsencode(os.path.abspath(s)))} bytes long as an absolute "
                          f"path; the limit is {PATH_MAX}: choose a shorter path")


def path_arg(s: str) -> Path:
    """argparse ``type=`` for a path option: '' and names the file system refuses are usage errors."""
    import argparse
    try:
        check_path(s, "the path")
    except GenlabError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return Path(s)


def rmdirs(folders: list[Path]) -> None:
    """Remove empty folders, deepest first; a folder that is not empty stays."""
    for p in folders:
        try:
            p.rmdir()
        except OSError:
            pass


__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_json", "check_path", "check_writable", "path_arg",
           "rmdirs"]
