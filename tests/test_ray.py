"""The Ray backend against a real local Ray cluster: the same claims as local workers, run folders written by
the driver from what the workers send back, resume; and Ray asked for without Ray installed."""
import json
import sys
from pathlib import Path

import pytest

from genlab.cli import main as cli_main
from genlab.errors import GenlabError
from genlab.parallel import RayBackend
from genlab.remote import land, pack
from genlab.runs import Run
from genlab.runs.check import check_run
from genlab.sweep import LocalBackend, sweep

GRID = ["seed=0,1", "lr=0.01,0.02", "train_steps=60", "n_trained=2", "n_lam=5", "grid=21"]
SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'genlab[ray]')")
    # the workers import the genlab under test (this source tree), not another installed copy
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
             runtime_env={"env_vars": {"PYTHONPATH": SRC}})
    yield ray
    ray.shutdown()


def claims(rows):
    ids = {k.removesuffix(":verdict") for r in rows for k in r if k.endswith(":verdict")}
    return [{k: v for k, v in r.items() if k.removesuffix(":verdict") in ids or k == "folder"} for r in rows]


def test_ray_sweep_matches_local_lands_runs_and_resumes(ray_cluster, tmp_path, capsys):
    local, _ = sweep("cheap-multiplication", GRID, "quick", tmp_path / "local", LocalBackend(workers=1))
    rows, out = sweep("cheap-multiplication", GRID, "quick", tmp_path / "ray", RayBackend())
    assert [r["status"] for r in rows] == ["complete"] * 4
    assert claims(rows) == claims(local) and len(claims(rows)[0]) > 2  # the same claims
    for r in rows:  # each folder whole, as the driver wrote it: what the local run holds, no lock, no temporaries
        f = out / r["folder"]
        check_run(f)
        assert set(pack(f)) == set(pack(tmp_path / "local" / r["folder"])) and not (f / ".lock").exists()
        assert json.loads((f / "claims.json").read_text()) == json.loads((tmp_path / "local" / r["folder"] / "claims.json").read_text())
    stamp = {p: (p / "status.json").stat().st_mtime_ns for p in out.iterdir() if p.is_dir()}
    capsys.readouterr()
    rows2, _ = sweep("cheap-multiplication", GRID, "quick", out, RayBackend())  # resume: nothing reruns
    assert "4 runs, 4 already complete" in capsys.readouterr().err
    assert stamp == {p: (p / "status.json").stat().st_mtime_ns for p in out.iterdir() if p.is_dir()} and rows2 == rows


def test_land_replaces_the_folder_status_last_and_refuses_paths_outside(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "train.pt").write_bytes(b"old")       # a resumed run's checkpoint, gone once complete
    (run / "status.json").write_text('{"status": "interrupted"}')
    land({"status.json": b'{"status": "complete"}', "figures/a.png": b"png", "config.json": b"{}"}, run)
    assert pack(run) == {"config.json": b"{}", "figures/a.png": b"png", "status.json": b'{"status": "complete"}'}
    assert not (run / "checkpoints").exists() and not (run / ".lock").exists()
    with pytest.raises(GenlabError, match="outside its folder"):
        land({"../evil": b"x"}, tmp_path / "other")
    assert not (tmp_path / "evil").exists() and not (tmp_path / "other").exists()
    assert Run(run).status == {"status": "complete"}


def test_ray_asked_for_without_ray_is_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError, as when it is not installed
    assert cli_main(["sweep", "cheap-multiplication", "--backend", "ray", "--out", str(tmp_path / "s"), "seed=0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'genlab[ray]'" in err[0] and not (tmp_path / "s").exists()
    assert cli_main(["reproduce", "--address", "127.0.0.1:6379", "--only", "cheap-learning", "--out", str(tmp_path / "a")]) == 2
    assert "add --backend ray" in capsys.readouterr().err and not (tmp_path / "a").exists()


def test_an_address_that_does_not_answer_fails_at_once():
    from genlab.parallel import _reachable
    with pytest.raises(OSError):  # RayBackend turns it into one line; Ray itself would retry for minutes
        _reachable("127.0.0.1:1")
    _reachable(None)
    _reachable("auto")
