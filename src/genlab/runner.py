"""Run one experiment into a run folder: fresh, resumed, or redrawn."""
from __future__ import annotations

import json
import random
import time
from pathlib import Path

import numpy as np
import torch

from genlab.config import Config
from genlab.errors import DivergedError, GenlabError
from genlab.experiments.base import Experiment, get
from genlab.io import check_writable, rmdirs
from genlab.runs import LAYOUT, Run, environment


def default_folder(exp: Experiment, scale: str, seed: int, root: Path | str = "runs") -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{exp.id}-{scale}-s{seed}-{stamp}"
    folder, n = base, 1
    while folder.exists():  # two runs started in the same second get their own folders
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    return folder


def execute(exp: Experiment, cfg: Config, out: Path | str | None = None, scale: str = "custom",
            root: Path | str = "runs") -> Run:
    """Run ``exp`` with ``cfg`` into ``out`` (resuming if it holds the same unfinished run)."""
    folder = Path(out) if out is not None else default_folder(exp, scale, cfg.seed, root)
    created = [p for p in (folder, *folder.parents) if not p.exists()]
    check_writable(folder)
    run = Run(folder)
    record = {"experiment": exp.id, "scale": scale, "layout": LAYOUT, "config": cfg.to_dict()}
    cfg_path = folder / "config.json"
    fresh = not cfg_path.exists()
    if not fresh:
        old = json.loads(cfg_path.read_text())
        if old.get("experiment") != exp.id or old.get("config") != record["config"]:
            raise GenlabError(f"{folder} holds a run of {old.get('experiment')} with another config; "
                              "choose a new --out folder (or the same overrides to resume)")
        if run.status.get("status") == "complete":
            return run
        run.remove_temp_files()  # a kill mid-write leaves one; the renamed files are whole
    else:
        run.write_json("config.json", record)
    run.write_json("env.json", environment(cfg.seed))
    run.set_status("running")
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    t0 = time.perf_counter()
    try:
        exp.run(cfg, run)
        run.log("wall_seconds", time.perf_counter() - t0)
        run.flush()
        finalize(run, exp)
    except DivergedError as e:
        run.flush()
        run.set_status("diverged", str(e))
        raise
    except KeyboardInterrupt:
        run.set_status("interrupted", "stopped by the user; run again with the same --out to resume")
        raise
    except GenlabError:
        # Bad input found inside the experiment (a missing data file, say) before it trained:
        # a fresh run leaves nothing behind, as for any other bad input.
        if fresh and not (folder / "checkpoints").exists():
            _remove_fresh_run(folder, created)
        else:
            run.set_status("failed", "bad input; see the error")
        raise
    except Exception as e:
        run.set_status("failed", f"{type(e).__name__}: {e}")
        raise
    return run


def _remove_fresh_run(folder: Path, created: list[Path]) -> None:
    """Delete the files this call wrote into a fresh run folder, then the folders it made."""
    for name in ("config.json", "env.json", "status.json", "metrics.csv", "arrays.npz", "claims.json"):
        (folder / name).unlink(missing_ok=True)
    for f in (folder / "figures").glob("*.png") if (folder / "figures").is_dir() else []:
        f.unlink()
    rmdirs([folder / "figures", *created])


def finalize(run: Run, exp: Experiment | None = None) -> list[dict]:
    """Draw the figures and judge the claims from the stored results; mark the run complete."""
    exp = exp or get(run.config["experiment"])
    cfg = exp.config.from_dict(run.config["config"])
    exp.figures(run, cfg)
    claims = [c.to_dict() for c in exp.claims(run, cfg)]
    run.write_json("claims.json", claims)
    run.set_status("complete")
    return claims


def redraw(folder: Path | str) -> list[dict]:
    """``genlab report RUN_DIR``: figures and claims again, without training."""
    run = Run(folder)
    if not (run.path / "config.json").exists():
        raise GenlabError(f"{folder} is not a genlab run folder (no config.json); give a folder made by genlab run")
    if run.config.get("layout", 1) < LAYOUT:
        raise GenlabError(f"{folder} was written by genlab before the redesign (run-folder layout 1, now {LAYOUT}); "
                          f"its figures cannot be redrawn: run it again with genlab run {run.config.get('experiment')}")
    st = run.status.get("status")
    if st not in ("complete",):
        raise GenlabError(f"run {folder} is {st}, not complete; resume it with genlab run {run.config['experiment']} --out {folder}")
    return finalize(run)
