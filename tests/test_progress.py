"""Progress that tells the truth: `genlab run` names each phase as it starts, `reproduce` says what is left with an
ETA from the catalogue's times (Experiment.times)."""
import pytest

from genlab.cli import main
from genlab.experiments import registry
from genlab.runner import Task, catalogue_seconds, eta


@pytest.mark.parametrize("text, seconds", [("15 s", 15), ("1.5 min", 90), ("~9 h (GPU: minutes)", 9 * 3600),
                                           ("30 min, 29 GB", 1800), ("days (GPU)", None), ("weeks (GPU)", None)])
def test_catalogue_times_are_read_as_seconds(text, seconds):
    assert catalogue_seconds(text) == seconds


def test_every_quick_and_default_time_in_the_catalogue_is_readable():
    for e in registry().values():
        assert catalogue_seconds(e.times["quick"]) is not None, e.id
        assert catalogue_seconds(e.times["default"]) is not None, e.id


def test_eta_scales_the_catalogue_by_the_pace_so_far():
    t = Task("x", "quick", "f", t_start=1000.0, before_s=60.0, left_s=120.0)
    assert eta(t, now=1000.0 + 120.0) == "about 4 min left"     # twice as slow as the catalogue so far
    assert eta(t._replace(before_s=0.0), now=1000.0) == "about 2 min left"
    # a second worker's first task: 15 s of catalogue work behind, 5 s elapsed, is no pace yet
    assert eta(t._replace(before_s=15.0), now=1005.0) == "about 2 min left"
    assert "unknown" in eta(t._replace(left_s=None), now=1001.0)


def test_reproduce_says_what_is_left_and_run_names_each_phase(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)     # phase lines are off only when progress is off
    out = tmp_path / "atlas"
    assert main(["reproduce", "--only", "saddle-free-newton", "--only", "cheap-multiplication", "--scale", "quick", "--workers", "1",
                 "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "reproduce: 2 experiments to run, 0 kept; about 6 s on 1 worker(s)" in err       # 3 s + 3 s in the catalogue
    assert "[1/2] saddle-free-newton (quick, expected 3 s; 0 s elapsed, about 6 s left)" in err
    assert "genlab: phase gd: 40 steps" in err and "genlab: phase saddle-free:" in err
    assert main(["reproduce", "--only", "saddle-free-newton", "--scale", "quick", "--out", str(out)]) == 0
    assert "[1/1] saddle-free-newton: already complete, kept" in capsys.readouterr().err
