"""Folders that hold many runs, and what env.json records about the machine.

An atlas holds ``runs/<experiment id>/`` beside ``report.md`` and
``report.html``; a sweep holds one run folder per grid point beside
``sweep.csv``, ``sweep.md`` and ``sweep.png``. With :mod:`genlab.runs`, the
only code that knows these names.
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from genlab.errors import GenlabError
from genlab.io import check_path
from genlab.runs import Run


def find_runs(folder: Path | str) -> list[Path]:
    """The run folders at ``folder`` or up to three levels below it (runs/, an atlas, a sweep), sorted."""
    folder = Path(folder)
    if Run(folder).exists:
        return [folder]
    return sorted({p.parent for depth in ("*", "*/*", "*/*/*") for p in folder.glob(f"{depth}/config.json")})


def summary(folder: Path | str) -> dict | None:
    """experiment, scale, seed, status, reason and claims of the run at ``folder``; None if it holds no readable run."""
    r = Run(folder)
    try:
        c = r.config
        return {"experiment": c.get("experiment", "?"), "scale": c.get("scale", "?"),
                "seed": c.get("config", {}).get("seed", "?"), "status": r.status.get("status", "?"),
                "reason": r.status.get("reason", ""), "claims": r.claims}
    except (GenlabError, OSError, ValueError, AttributeError):
        return None


def check_out_folder(folder: Path | str, what: str = "--out") -> None:
    """Raise GenlabError unless ``folder`` may hold new runs: a name the file system takes, and not
    inside another run's folder (its figures/ or checkpoints/, say), where the two would mix."""
    folder = Path(folder)
    check_path(folder, what)
    for p in Path(os.path.abspath(folder)).resolve().parents:
        if Run(p).exists:
            raise GenlabError(f"{what} {folder} is inside the run folder {p}; choose a folder outside it")


def atlas_run(atlas: Path | str, experiment: str) -> Path:
    return Path(atlas) / "runs" / experiment


def atlas_runs(folder: Path | str) -> list[Path] | None:
    """The run folders of the atlas at ``folder`` (sorted); None if ``folder`` is not an atlas."""
    folder = Path(folder)
    if not (folder / "runs").is_dir() or Run(folder).exists:
        return None
    return sorted(d for d in (folder / "runs").iterdir() if Run(d).exists)


def sweep_file(sweep: Path | str, kind: str) -> Path:
    """A sweep's aggregate: ``kind`` "csv" or "md" (the table) or "png" (its figure)."""
    return Path(sweep) / f"sweep.{kind}"



def environment(seed: int | None, threads: int | None = None) -> dict:
    import torch

    from genlab.runtime import device_info  # the current device (genlab.runtime.use_device), its name, TF32
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        rev = None
    from genlab import __version__
    return {
        "genlab": __version__, "python": sys.version.split()[0], "torch": torch.__version__,
        "numpy": np.__version__, "platform": platform.platform(), **device_info(),
        "threads": threads or torch.get_num_threads(), "seed": seed, "git_revision": rev,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
