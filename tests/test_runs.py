"""The run store: atomic writes, kill and resume, determinism, the divergence guard."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from genlab.cli import main
from genlab.config import Config
from genlab.errors import DivergedError
from genlab.experiments.base import Experiment, get
from genlab.io import atomic_write_json, atomic_write_text
from genlab.models.mlp import MLP
from genlab.runner import execute
from genlab.runs import Run
from genlab.train import supervised, train

SRC = str(Path(__file__).resolve().parents[1] / "src")
SMALL = ["steps=600", "n_seeds=2", "probe_every=20"]


def genlab_cmd(*args):
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return [sys.executable, "-m", "genlab", *args], env


def temp_files(folder):
    return [p for p in Path(folder).rglob("*") if p.name.endswith(".tmp")]


def test_atomic_writes_replace_whole_files_and_leave_no_temporaries(tmp_path):
    atomic_write_text(tmp_path / "a.txt", "one")
    atomic_write_text(tmp_path / "a.txt", "two")
    atomic_write_json(tmp_path / "sub" / "b.json", {"x": np.float32(1.5), "y": np.arange(2)})
    assert (tmp_path / "a.txt").read_text() == "two"
    assert json.loads((tmp_path / "sub" / "b.json").read_text()) == {"x": 1.5, "y": [0, 1]}
    assert temp_files(tmp_path) == []
    assert (tmp_path / "a.txt").stat().st_mode & 0o044  # readable by others, unlike mkstemp's 0600
    with pytest.raises(TypeError):  # a failed write leaves the old file and no temporary
        atomic_write_json(tmp_path / "sub" / "b.json", {"bad": object()})
    assert json.loads((tmp_path / "sub" / "b.json").read_text())["x"] == 1.5
    assert temp_files(tmp_path) == []


def test_metric_rows_are_keyed_by_step_name_and_key(run_dir):
    run = Run(run_dir)
    run.log("loss", 1.0, step=5)
    run.log("loss", 2.0, step=5)            # a resumed run re-logging a row replaces it
    run.log("loss", 3.0, step=6, key="a")
    run.flush()
    again = Run(run_dir)
    assert again.metrics == [(5, "loss", "", 2.0), (6, "loss", "a", 3.0)]
    again.log("loss", 4.0, step=5)
    assert again.metric("loss") == (pytest.approx([5]), pytest.approx([4.0]))


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_arrays_as_an_uninterrupted_one(tmp_path):
    ref, killed = tmp_path / "ref", tmp_path / "killed"
    cmd, env = genlab_cmd("run", "fp-1d", "--scale", "quick", *SMALL, "--out", str(killed))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ck = killed / "checkpoints" / "train.pt"

    def kill_after_first_checkpoint():
        deadline = time.monotonic() + 120
        while not ck.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)

    watcher = threading.Thread(target=kill_after_first_checkpoint)
    watcher.start()
    # Meanwhile, the uninterrupted reference in this process (torch releases the GIL in its kernels).
    assert main(["run", "fp-1d", "--scale", "quick", *SMALL, "--out", str(ref)]) == 0
    watcher.join()
    proc.wait()
    step = torch.load(ck, weights_only=False)["step"]
    assert 0 < step < 600, "the kill came too late to test a resume"
    assert Run(killed).status["status"] == "running"
    assert not (killed / "claims.json").exists()

    assert main(["run", "fp-1d", "--out", str(killed)]) == 0     # resume: config from the folder
    a, b = Run(ref), Run(killed)
    assert b.status["status"] == "complete"
    assert sorted(a.arrays) == sorted(b.arrays)
    for k in a.arrays:
        np.testing.assert_array_equal(a.arrays[k], b.arrays[k], err_msg=k)
    strip = lambda rows: [r for r in rows if r[1] != "wall_seconds"]  # noqa: E731
    assert strip(a.metrics) == strip(b.metrics)
    assert json.loads((ref / "claims.json").read_text()) == json.loads((killed / "claims.json").read_text())
    assert temp_files(ref) == [] and temp_files(killed) == []


def test_same_config_and_seed_give_identical_arrays(tmp_path):
    exp = get("fp-1d")
    cfg = exp.config_for("quick", overrides=["steps=120", "n_seeds=1", "widths=1,32,1", "probe_every=10"])
    one, two = execute(exp, cfg, tmp_path / "one"), execute(exp, cfg, tmp_path / "two")
    assert one.arrays.keys() == two.arrays.keys()
    for k in one.arrays:
        np.testing.assert_array_equal(one.arrays[k], two.arrays[k], err_msg=k)
    other = execute(exp, cfg.override(["seed=1"]), tmp_path / "three")
    assert not np.array_equal(one.series("train/spectrum").values, other.series("train/spectrum").values)


# ---- the divergence guard ------------------------------------------------

def exploding():
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 16).reshape(-1, 1)
    return MLP((1, 8, 1), "relu", 1.0, seed=0), supervised(torch.nn.functional.mse_loss, x, 3 * x)


def test_divergence_raises_with_the_step_or_stops_with_the_reason():
    model, obj = exploding()
    with pytest.raises(DivergedError, match=r"at step \d+"):
        train(model, obj, steps=200, optimizer="gd", lr=1e4)
    model, obj = exploding()
    res = train(model, obj, steps=200, optimizer="gd", lr=1e4, on_diverge="stop")
    assert res.stopped_reason.startswith("diverged") and f"at step {res.steps_done}" in res.stopped_reason
    assert res.steps_done < 200


def _diverging_run(cfg, run):
    model, obj = exploding()
    train(model, obj, steps=200, optimizer="gd", lr=cfg.lr, run=run, phase="fit")


def _never(*_):
    raise AssertionError("figures and claims are not drawn for a diverged run")


def test_a_diverged_run_says_so_and_resuming_it_diverges_again(run_dir):
    exp = Experiment("test-diverge", "test", "diverges", "none", "none", DivergingConfig,
                     {s: DivergingConfig() for s in ("quick", "default", "paper")}, {}, _diverging_run, _never, _never)
    with pytest.raises(DivergedError) as err:
        execute(exp, DivergingConfig(), run_dir)
    st = Run(run_dir).status
    assert st["status"] == "diverged" and "at step" in st["reason"] and st["reason"] == str(err.value)
    assert not (run_dir / "claims.json").exists()
    with pytest.raises(DivergedError):      # not silently "complete" on the second try
        execute(exp, DivergingConfig(), run_dir)


from dataclasses import dataclass  # noqa: E402


@dataclass(frozen=True)
class DivergingConfig(Config):
    lr: float = 1e4
