"""genlab sweep: grid parsing, local workers, resume, aggregate table and figure, the Ray stub."""
import csv
import importlib.util

import pytest

from genlab.cli import main as cli_main
from genlab.errors import GenlabError
from genlab.experiments import get
from genlab.sweep import LocalBackend, RayBackend, parse_grid, point_name, sweep


def test_parse_grid_tuple_fields_and_bad_values():
    exp = get("mem-test-error")
    pts = parse_grid(exp, ["levels=0,0.5", "archs=mlp1x512", "seed=0,1"])
    assert len(pts) == 4 and pts[0] == {"levels": "0", "archs": "mlp1x512", "seed": "0"}
    assert len(parse_grid(exp, ["levels=0,1|0.5"])) == 2          # '|' separates multi-value points
    assert point_name({"levels": "0,1", "seed": "0"}) == "levels=0-1_seed=0"
    with pytest.raises(GenlabError, match="outside"):
        parse_grid(exp, ["levels=0,2"])
    with pytest.raises(GenlabError, match="unknown config key 'depth'"):
        parse_grid(exp, ["depth=1,2"])


@pytest.mark.slow
def test_two_run_sweep_in_workers_then_resume(tmp_path):
    grid = ["levels=0,1", "archs=mlp1x512", "n_train=100", "n_test=300"]
    rows, out = sweep("mem-test-error", grid, "quick", tmp_path / "s", LocalBackend(workers=2))
    assert [r["status"] for r in rows] == ["complete", "complete"]
    err = {r["levels"]: r["test_error"] for r in rows}
    assert err["1"] > err["0"] + 0.3                                # the table carries the measured values
    with open(out / "sweep.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 2 and "mem-test-error-chance" in table[0] and (out / "sweep.png").exists()
    stamp = {p: (p / "status.json").stat().st_mtime_ns for p in out.iterdir() if p.is_dir()}
    rows2, _ = sweep("mem-test-error", grid, "quick", out, LocalBackend(workers=2))  # resume: nothing reruns
    assert stamp == {p: (p / "status.json").stat().st_mtime_ns for p in out.iterdir() if p.is_dir()}
    assert rows2 == rows


@pytest.mark.skipif(importlib.util.find_spec("ray") is not None, reason="ray is installed")
def test_ray_backend_needs_ray():
    with pytest.raises(GenlabError, match=r"pip install .genlab\[ray\]"):
        RayBackend()


def test_cli_sweep_bad_key_is_one_line(capsys, tmp_path):
    assert cli_main(["sweep", "mem-test-error", "--out", str(tmp_path / "x"), "width=abc"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "width" in err[0]
