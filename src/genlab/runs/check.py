"""Is a run folder whole? Each file a run reads is checked before it is used, and a damaged one is
one line naming the file and the fix (:class:`DamagedRunError`, exit 2), never a traceback.

What each file must be, and the fix when it is not:

- ``config.json``: a JSON object with ``experiment`` (a string) and ``config`` (an object). The folder
  cannot be resumed or redrawn without it: start again in another folder.
- ``status.json``: a JSON object with ``status`` (a string). Deleting it makes the folder resumable:
  the run continues from its checkpoints.
- ``claims.json``: a JSON list of objects; ``genlab report`` writes it again from the stored results.
- ``metrics.csv`` and ``arrays.npz``: the stored results (rows step,name,key,value; a numpy archive);
  without them the run starts again.
- ``checkpoints/<phase>.pt``: a torch file holding a dict with the keys training resumes from;
  deleting it trains that phase again.
"""
from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

from genlab.errors import GenlabError

CHECKPOINT_KEYS = ("model", "optimizer", "history", "callbacks", "torch_rng", "numpy_rng", "step")


class DamagedRunError(GenlabError):
    """A file of a run folder is not what genlab wrote."""


def damaged(path: Path, what: str, fix: str) -> DamagedRunError:
    return DamagedRunError(f"{path} is damaged ({what}); {fix}")


def _start_over(folder: Path) -> str:
    return f"delete the folder {folder} (or choose another --out) and run again"


def read_json_file(path: Path, kind: type, fix: str):
    """The JSON in ``path`` if it is a ``kind`` (dict or list), else :class:`DamagedRunError`."""
    try:
        obj = json.loads(path.read_text())
    except UnicodeDecodeError:
        raise damaged(path, "not text", fix) from None
    except ValueError as e:
        raise damaged(path, f"not JSON: {str(e).splitlines()[0]}", fix) from None
    except IsADirectoryError:
        raise damaged(path, "a folder, not a file", fix) from None
    if not isinstance(obj, kind):
        raise damaged(path, f"a JSON {type(obj).__name__}, not a JSON {'object' if kind is dict else 'list'}", fix)
    return obj


def check_config(folder: Path) -> dict:
    p = folder / "config.json"
    d = read_json_file(p, dict, _start_over(folder))
    if not isinstance(d.get("experiment"), str) or not isinstance(d.get("config"), dict):
        raise damaged(p, "no 'experiment' name or no 'config' object", _start_over(folder))
    return d


def check_status(folder: Path) -> dict:
    p = folder / "status.json"
    if not p.exists():
        return {"status": "missing"}
    fix = f"delete {p} and run the same command again: the run resumes from its checkpoints"
    d = read_json_file(p, dict, fix)
    if not isinstance(d.get("status"), str):
        raise damaged(p, "no 'status' string", fix)
    return d


def check_claims(folder: Path) -> list:
    p = folder / "claims.json"
    if not p.exists():
        return []
    fix = f"write it again with genlab report {folder}"
    d = read_json_file(p, list, fix)
    if not all(isinstance(c, dict) and "verdict" in c and "id" in c for c in d):
        raise damaged(p, "a claim without 'id' or 'verdict'", fix)
    return d


def check_metrics(folder: Path) -> None:
    p = folder / "metrics.csv"
    if not p.exists():
        return
    try:
        with open(p, newline="") as f:
            for row in csv.DictReader(f):
                int(row["step"]), str(row["name"]), str(row["key"]), float(row["value"])
    except (KeyError, TypeError, ValueError, UnicodeDecodeError, csv.Error):
        raise damaged(p, "not rows of step,name,key,value", _start_over(folder)) from None


def check_arrays(folder: Path) -> None:
    import numpy as np
    p = folder / "arrays.npz"
    if not p.exists():
        return
    try:
        with open(p, "rb") as f, np.load(f, allow_pickle=False) as z:  # our handle: closed on any error
            for k in z.files:
                z[k]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError):
        raise damaged(p, "not a numpy .npz archive", _start_over(folder)) from None


def load_checkpoint_file(path: Path) -> dict:
    """A checkpoint written by :meth:`Run.save_checkpoint`, or :class:`DamagedRunError`."""
    import pickle

    import torch
    folder = path.parent.parent
    fix = f"delete it to train that phase again, or {_start_over(folder)}"
    try:
        # Our own file, written by save_checkpoint: it holds numpy histories too.
        ck = torch.load(path, map_location="cpu", weights_only=False)
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile,
            AttributeError, ImportError, IndexError, KeyError, TypeError):
        raise damaged(path, "not a torch checkpoint", fix) from None
    if not isinstance(ck, dict) or any(k not in ck for k in CHECKPOINT_KEYS):
        raise damaged(path, f"not a training checkpoint: it needs the keys {', '.join(CHECKPOINT_KEYS)}", fix)
    return ck


def check_run(folder: Path | str, deep: bool = True, checkpoints: bool = False, claims: bool = True) -> None:
    """Raise :class:`DamagedRunError` for the first damaged file. ``deep``: the stored results too
    (metrics.csv, arrays.npz); ``checkpoints``: every checkpoint as well (what a resume reads)."""
    folder = Path(folder)
    check_config(folder)
    check_status(folder)
    if claims:
        check_claims(folder)
    if deep:
        check_metrics(folder)
        check_arrays(folder)
    if checkpoints and (folder / "checkpoints").is_dir():
        for p in sorted((folder / "checkpoints").glob("*.pt")):
            load_checkpoint_file(p)


__all__ = ["CHECKPOINT_KEYS", "DamagedRunError", "check_run", "load_checkpoint_file", "read_json_file"]
