"""The genlab command: bad input is one line on stderr, exit 2, no traceback, nothing written."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from genlab.cli import main
from genlab.experiments import registry

SRC = str(Path(__file__).resolve().parents[1] / "src")
TINY = ["steps=120", "n_seeds=1", "widths=1,32,1", "probe_every=10"]


def test_unknown_experiment_in_a_real_process_is_one_line_and_writes_nothing(tmp_path):
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.run([sys.executable, "-m", "genlab", "run", "nope", "--out", "r1"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.startswith("genlab: error: unknown experiment 'nope'; choose one of: ") and "fp-1d" in p.stderr
    assert len(p.stderr.splitlines()) == 1 and "Traceback" not in p.stderr
    assert list(tmp_path.iterdir()) == []                      # no run folder, no ./runs


# In-process: main() returning 2 (instead of raising) is what keeps a traceback off the screen.
def bad_input_cases(tmp):
    a_file = tmp / "a_file"
    a_file.write_text("not a folder")
    return [
        (["run", "fp-1d", "--scale", "quick", "stpes=5", "--out", str(tmp / "r2")],
         ["unknown config key 'stpes' for Fp1dConfig; valid keys: seed, n_samples"]),
        (["run", "fp-1d", "--scale", "quick", "--out", str(tmp / "r3"), "steps=many"], ["steps='many' is not an integer"]),
        (["run", "fp-1d", "--scale", "quick", "lr=-1", "--out", str(tmp / "r4")], ["lr=-1 is outside (0, 10]; e.g. lr=0.0002"]),
        (["run", "fp-1d", "--scale", "quick", "--out", str(a_file / "run")], ["cannot write to output folder", "Not a directory"]),
        (["run", "fp-1d", "--scale", "quick", "--out", "/proc/genlab_x/run"], ["cannot write to output folder"]),
        (["reproduce", "--quick", "--only", "astrology", "--out", str(tmp / "atlas")],
         ["unknown family or experiment 'astrology'", "frequency-principle"]),
        (["report", str(tmp / "nothing")], ["does not exist"]),
        (["list", "--family", "astrology"], ["unknown family 'astrology'; choose one of: frequency-principle"]),
        (["runs", str(a_file)], ["no runs"]),
    ]


def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys):
    for cmd, needles in bad_input_cases(tmp_path):
        before = sorted(tmp_path.rglob("*"))
        rc = main(cmd)
        out, err = capsys.readouterr()
        if cmd[0] == "runs":  # not an error: a file holds no runs
            assert rc == 0 and needles[0] in out
            continue
        assert rc == 2, (cmd, err)
        assert err.startswith("genlab: error: ") and len(err.splitlines()) == 1, (cmd, err)
        for n in needles:
            assert n in err, (cmd, err)
        assert sorted(tmp_path.rglob("*")) == before, cmd
    assert (tmp_path / "a_file").read_text() == "not a folder" and not Path("/proc/genlab_x").exists()


def test_argparse_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        main(["run", "fp-1d", "--scale", "huge"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "quick" in err


def test_list_json_has_every_field_for_every_experiment(capsys):
    assert main(["list", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert [i["id"] for i in items] == list(registry())
    fields = {"id", "family", "title", "source", "claim", "times", "scales", "command", "config"}
    for i in items:
        assert fields <= set(i), i["id"]
        assert all(i[f] for f in fields - {"config"}), i["id"]
        assert i["scales"] == ["quick", "default", "paper"] and set(i["config"]) == set(i["scales"])
        assert i["command"] == f"genlab run {i['id']}"


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    assert main(["run", "fp-1d", "--scale", "quick", *TINY, "--out", str(root / "fp")]) == 0
    return root


def test_runs_lists_a_finished_run(finished, capsys):
    assert main(["runs", str(finished)]) == 0
    out = capsys.readouterr().out.splitlines()
    row = [line for line in out if line.startswith("fp-1d")]
    assert len(row) == 1 and "quick" in row[0] and "complete" in row[0] and str(finished / "fp") in row[0]


def test_report_redraws_figures_and_the_same_claims(finished, capsys):
    run = finished / "fp"
    claims = json.loads((run / "claims.json").read_text())
    for f in (run / "figures").iterdir():
        f.unlink()
    assert main(["report", str(run)]) == 0
    assert json.loads((run / "claims.json").read_text()) == claims
    assert (run / "figures" / "fp1d.png").stat().st_size > 1000


def test_a_complete_run_is_not_trained_again_and_another_config_is_refused(finished, capsys):
    run = finished / "fp"
    mtime = (run / "arrays.npz").stat().st_mtime_ns
    assert main(["run", "fp-1d", "--out", str(run)]) == 0
    assert (run / "arrays.npz").stat().st_mtime_ns == mtime
    assert main(["run", "fp-1d", "--scale", "quick", "steps=7", "--out", str(run)]) == 2
    assert "another config" in capsys.readouterr().err


def test_atlas_links_resolve_and_every_claim_is_listed(finished, tmp_path):
    import re

    from genlab.report import write_atlas
    md, html = write_atlas([finished / "fp", tmp_path / "not-a-run"], finished, title="t")
    text, page = md.read_text(), html.read_text()
    claims = json.loads((finished / "fp" / "claims.json").read_text())
    for c in claims:
        assert c["statement"] in text and c["note"] in text and c["statement"] in page
    links = re.findall(r"!\[[^]]*\]\(([^)]+)\)", text) + re.findall(r"<img src='([^']+)'", page)
    assert len(links) == 2 and all((finished / link).is_file() for link in links)


def test_progress_bars_only_on_a_tty_unless_disabled(monkeypatch):
    from genlab.runtime import progress_disabled
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    assert progress_disabled(None) is None          # tqdm: a bar on a TTY, none in a pipe or a log
    assert progress_disabled(True) is False and progress_disabled(False) is True
    monkeypatch.setenv("TQDM_DISABLE", "1")        # genlab --quiet, CI
    assert progress_disabled(None) is True


def test_missing_data_found_inside_the_experiment_leaves_no_run_folder(tmp_path, capsys):
    empty = tmp_path / "no_data"
    empty.mkdir()
    out = tmp_path / "runs" / "r"
    rc = main(["run", "kernel-interpolation", "--scale", "quick", f"data_dir={empty}", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "missing data file" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()          # nothing half-written, not even the folder


@pytest.mark.slow
def test_reproduce_runs_in_workers_then_keeps_complete_runs(tmp_path, capfd):
    out = tmp_path / "atlas"
    cmd = ["reproduce", "--quick", "--only", "cheap-multiplication", "--only", "saddle-free-newton",
           "--workers", "2", "--out", str(out), "--quiet"]
    assert main(cmd) == 0
    err = capfd.readouterr().err                          # the workers' lines too (they write to the same fd)
    for i, exp_id in ((1, "saddle-free-newton"), (2, "cheap-multiplication")):  # registry order
        assert f"[{i}/2] {exp_id}: done in" in err
        assert json.loads((out / "runs" / exp_id / "status.json").read_text())["status"] == "complete"
    assert "it/s" not in err                              # --quiet reached the workers: no progress bars
    report = (out / "report.md").read_text()
    assert "\n### cheap-multiplication\n" in report and "\n### saddle-free-newton\n" in report
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("status.json")}
    assert main(cmd) == 0                                 # again: nothing reruns, the atlas is rewritten
    err = capfd.readouterr().err
    assert err.count("already complete, kept") == 2 and "done in" not in err
    assert stamps == {p: p.stat().st_mtime_ns for p in out.rglob("status.json")}
