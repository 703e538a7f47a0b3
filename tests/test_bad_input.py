"""Bad input of every kind is one line, exit status 2, and nothing new on disk; two writers never mix one
run folder; a run that breaks for another reason says why in status.json and exits 1 (issue 16)."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from genlab.cli import main
from genlab.experiments import get
from genlab.runner import execute
from genlab.runs import Run
from genlab.runs.lock import LOCK_NAME, RunLock

SRC = str(Path(__file__).resolve().parents[1] / "src")
EXP = "cheap-multiplication"
LONG = "a" * 300


def genlab(*args, **kw):
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-m", "genlab", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kw)


def code(argv: list[str]) -> int:
    """main's exit status; argparse's usage errors exit through SystemExit."""
    try:
        return main(argv)
    except SystemExit as e:
        return int(e.code or 0)


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    """A real, complete quick run folder (3 s)."""
    exp = get(EXP)
    return execute(exp, exp.config_for("quick"), tmp_path_factory.mktemp("done") / "run", scale="quick",
                   keep_checkpoints=True).path


# ---- the lock ------------------------------------------------------------------
def test_a_locked_folder_names_its_holder_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    with RunLock(out):
        before = files(out)
        assert main(["run", EXP, "--scale", "quick", "--out", str(out)]) == 2
        line = one_line(capsys)
        assert f"pid {os.getpid()} on host {socket.gethostname()}" in line and "choose another --out" in line
        assert files(out) == before  # only the holder's lock file
    assert not (out / LOCK_NAME).exists()  # released: the file goes with it


def test_a_stale_lock_of_a_killed_process_is_taken_over(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    pid = dead_pid()
    (out / LOCK_NAME).write_text(json.dumps({"pid": pid, "host": socket.gethostname(), "time": "then"}))
    assert main(["run", EXP, "--scale", "quick", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"locked by pid {pid} on host {socket.gethostname()}, which is gone; taking it over" in err
    assert Run(out).is_complete and not (out / LOCK_NAME).exists()


def test_two_processes_on_one_folder_one_wins_and_the_folder_is_whole(tmp_path):
    out = tmp_path / "run"
    procs = {seed: genlab("run", EXP, "--scale", "quick", "--quiet", "--seed", str(seed), "--out", str(out))
             for seed in (1, 2)}
    res = {seed: (p.communicate(timeout=300)[1], p.returncode)[::-1] for seed, p in procs.items()}
    codes = sorted(rc for rc, _ in res.values())
    assert codes == [0, 2], res
    (winner,) = [s for s, (rc, _) in res.items() if rc == 0]
    (loser_err,) = [err for rc, err in res.values() if rc == 2]
    assert len(loser_err.strip().splitlines()) == 1, loser_err
    assert "is being written by pid" in loser_err or "with another config" in loser_err
    # config.json says the winner's seed, and the results are exactly the winner's: rerun it as the oracle
    assert Run(out).config["config"]["seed"] == winner and Run(out).is_complete
    exp = get(EXP)
    ref = execute(exp, exp.config_for("quick", winner), tmp_path / "ref", scale="quick")
    got = Run(out).arrays
    assert sorted(got) == sorted(ref.arrays) and all(np.array_equal(got[k], ref.arrays[k]) for k in got)


# ---- a damaged run folder ------------------------------------------------------
def _garble(p: Path):
    p.write_bytes(b"\x00garbled{")


DAMAGE = {  # file -> how it is damaged
    "config.json not JSON": ("config.json", _garble),
    "config.json a list": ("config.json", lambda p: p.write_text("[1, 2]")),
    "status.json garbled": ("status.json", _garble),
    "status.json without status": ("status.json", lambda p: p.write_text('{"reason": 1}')),
    "claims.json garbled": ("claims.json", _garble),
    "claims.json a dict": ("claims.json", lambda p: p.write_text('{"a": 1}')),
    "metrics.csv garbled": ("metrics.csv", lambda p: p.write_text("step,name\nx,y\n")),
    "arrays.npz garbled": ("arrays.npz", _garble),
    "arrays.npz truncated": ("arrays.npz", lambda p: p.write_bytes(p.read_bytes()[:100])),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_each_damaged_file_is_one_line_naming_it_from_run_report_and_runs(done, tmp_path, case, capsys):
    name, damage = DAMAGE[case]
    run = tmp_path / "run"
    shutil.copytree(done, run)
    damage(run / name)
    before = files(run)
    commands = [["run", EXP, "--out", str(run)], ["report", str(run)], ["runs", str(run)]]
    if name == "claims.json":
        commands.remove(["report", str(run)])  # report writes the claims again: that is the fix it names
    if name in ("metrics.csv", "arrays.npz"):
        commands.remove(["runs", str(run)])  # the listing reads config, status and claims only
    for argv in commands:
        assert main(argv) == 2, argv
        line = one_line(capsys)
        assert f"{run / name} is damaged" in line and ("delete" in line or "genlab report" in line), (argv, line)
        assert files(run) == before, argv  # nothing written
    # the listing of the folder above goes on: the damaged run is listed as damaged, the whole one as it is
    shutil.copytree(done, tmp_path / "whole")
    if name not in ("metrics.csv", "arrays.npz"):
        assert main(["runs", str(tmp_path)]) == 0
        out = capsys.readouterr().out
        assert "damaged" in out and f"{run / name} is damaged" in out and "complete" in out


def test_claims_json_garbled_is_written_again_by_report(done, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(done, run)
    _garble(run / "claims.json")
    assert main(["report", str(run)]) == 0
    assert Run(run).claims == Run(done).claims


def _ck_list(p):
    torch.save([1, 2], p)


def _ck_wrong_model(p):
    ck = torch.load(p, weights_only=False)
    ck["model"] = {"nonsense": torch.zeros(3)}
    torch.save(ck, p)


@pytest.mark.parametrize("damage,what", [(_garble, "not a torch checkpoint"), (_ck_list, "not a training checkpoint"),
                                         (_ck_wrong_model, "does not fit this phase")])
def test_a_damaged_checkpoint_of_an_unfinished_run_is_one_line(done, tmp_path, damage, what, capsys):
    run = tmp_path / "run"
    shutil.copytree(done, run)
    Run(run).set_status("interrupted", "killed")
    (ck,) = sorted((run / "checkpoints").glob("*.pt"))
    damage(ck)
    before = files(run)
    assert main(["run", EXP, "--out", str(run)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    # a checkpoint that loads but does not fit the model is found when training resumes, after "running"
    assert len(err) == (2 if what == "does not fit this phase" else 1), err
    line = err[-1]
    assert f"{ck} is damaged ({what}" in line and "delete it to train that phase again" in line
    if len(err) == 1:
        assert files(run) == before
    else:  # the resume had begun: status.json says why it stopped, nothing else changed
        assert Run(run).status["status"] == "failed" and Run(run).status["reason"] == line.split("error: ", 1)[1]
        assert {k: v for k, v in files(run).items() if k not in ("status.json", "env.json")} == \
               {k: v for k, v in before.items() if k not in ("status.json", "env.json")}
    ck.unlink()  # the fix the line names: the phase trains again and the run completes
    assert main(["run", EXP, "--out", str(run), "--quiet"]) == 0 and Run(run).is_complete


# ---- a run that breaks for another reason ---------------------------------------
def test_a_run_that_breaks_records_why_and_exits_1_in_one_line(tmp_path, capsys, monkeypatch):
    def boom(cfg, run):
        run.log("before", 1.0)
        return 1 / 0
    monkeypatch.setattr(get(EXP), "run", boom)
    out = tmp_path / "run"
    assert main(["run", EXP, "--scale", "quick", "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and err[0].startswith("genlab: running")  # the run had started: then one line
    assert err[1].startswith("genlab: run failed: ZeroDivisionError") and "status.json" in err[1]
    st = Run(out).status
    assert st["status"] == "failed" and st["reason"].startswith("ZeroDivisionError") and "1 / 0" in st["traceback"]


# ---- options of run, reproduce, sweep: one line, nothing written -----------------
def bad_commands(tmp: Path, done: Path) -> dict[str, list[str]]:
    o = str(tmp / "out")
    return {
        "reproduce --seed -1": ["reproduce", "--quick", "--only", EXP, "--seed", "-1", "--out", o],
        "run --seed 2^32": ["run", EXP, "--scale", "quick", "--seed", str(2**32), "--out", o],
        "sweep data_dir=/missing": ["sweep", "mem-test-error", "data_dir=/missing", "seed=0,1", "--out", o],
        "sweep seed=0,0": ["sweep", EXP, "seed=0,0", "--out", o],
        "sweep seed=0,1 seed=2": ["sweep", EXP, "seed=0,1", "seed=2", "--out", o],
        "sweep lr=0.01,1e-2": ["sweep", EXP, "lr=0.01,1e-2", "--out", o],
        "run --out long": ["run", EXP, "--out", f"{o}/{LONG}"],
        "reproduce --out long": ["reproduce", "--quick", "--only", EXP, "--out", f"{o}/{LONG}"],
        "sweep --out long": ["sweep", EXP, "seed=0", "--out", f"{o}/{LONG}"],
        "run image= long": ["run", "fp-image", "--scale", "quick", f"image={o}/{LONG}.png", "--out", o],
        "run --out ''": ["run", EXP, "--out", ""],
        "report ''": ["report", ""],
        "run --out in figures/": ["run", EXP, "--out", str(done / "figures" / "x")],
        "run --out in checkpoints/": ["run", EXP, "--out", str(done / "checkpoints")],
        "sweep --out in a run": ["sweep", EXP, "seed=0", "--out", str(done / "sweep")],
        "reproduce --out in a run": ["reproduce", "--quick", "--only", EXP, "--out", str(done / "atlas")],
    }


@pytest.mark.parametrize("case", list(bad_commands(Path("/x"), Path("/y"))))
def test_bad_options_are_one_line_exit_2_and_write_nothing(done, tmp_path, case, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = bad_commands(tmp_path, done)[case]
    before = files(done)
    assert code(argv) == 2
    line = one_line(capsys)
    assert line.startswith("genlab: error:") and "Traceback" not in line
    assert sorted(os.listdir(tmp_path)) == [] and files(done) == before, case
    key = {"reproduce --seed -1": "seed=-1", "sweep data_dir=/missing": "data_dir=/missing",
           "sweep seed=0,0": "seed=0 and seed=0", "sweep seed=0,1 seed=2": "'seed' is given twice",
           "sweep lr=0.01,1e-2": "lr=0.01 and lr=1e-2", "run --out ''": "empty", "report ''": "empty"}.get(case)
    assert key is None or key in line, line
    if "long" in case:
        assert "255" in line and ("bytes" in line or "too long" in line), line
    if any(w in case for w in ("in figures", "in checkpoints", "in a run")):
        assert f"inside the run folder {done}" in line


# ---- Ctrl-C while reproduce's workers start ------------------------------------------
def _children(pid: int) -> list[int]:
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                kids.append(int(d))
    return kids


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to see the worker processes")
def test_ctrl_c_while_workers_import_torch_is_one_clean_line(tmp_path):
    atlas = tmp_path / "atlas"
    # SIGINT as in a terminal: a shell without job control (CI in the background, nohup) starts its
    # children with SIGINT ignored, and Python then keeps ignoring it
    p = genlab("reproduce", "--quick", "--only", EXP, "--only", "fp-1d", "--workers", "2", "--quiet",
               "--out", str(atlas), start_new_session=True,
               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    t0 = time.monotonic()
    while len(_children(p.pid)) < 2 and time.monotonic() - t0 < 60:  # the workers have started
        time.sleep(0.02)
    time.sleep(1.0)  # ... and are importing torch
    os.killpg(p.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    # the plan and the progress lines of runs that had begun, then the one line
    lines = [x for x in err.splitlines() if not x.startswith(("[", "reproduce: "))]
    assert lines == ["genlab: interrupted; run the same command again to resume"], err
    for d in (atlas / "runs").glob("*"):  # a run that had begun says it was interrupted
        assert Run(d).status["status"] == "interrupted" and not (d / LOCK_NAME).exists()


# ---- genlab restore ------------------------------------------------------------------
@pytest.fixture
def images(tmp_path):
    from genlab.data.images import save_image
    rng = np.random.default_rng(0)
    save_image(rng.random((20, 20, 3)), tmp_path / "img.png")
    save_image(rng.random((20, 20, 3)), tmp_path / "ref.png")
    save_image(np.ones((20, 20)), tmp_path / "mask.png")
    save_image(np.full((20, 20), 127 / 255), tmp_path / "gray127.png")
    save_image(rng.random((1, 1, 3)), tmp_path / "one.png")
    (tmp_path / "link.png").symlink_to(tmp_path / "img.png")
    (tmp_path / "sub").mkdir()
    return tmp_path


FAST = ["--net", "small", "--quiet", "--max-iters", "2"]


@pytest.mark.parametrize("out,extra,what", [
    ("img.png", [], "input"), ("./link.png", [], "input"), ("sub/../img.png", [], "input"),
    ("mask.png", ["--task", "inpaint", "--mask", "mask.png"], "mask"),
    ("ref.png", ["--reference", "ref.png"], "reference"), ("link.png", ["--reference", "img.png"], "input")])
def test_restore_never_writes_over_its_inputs(images, monkeypatch, capsys, out, extra, what):
    monkeypatch.chdir(images)
    before = files(images)
    assert main(["restore", "img.png", "-o", out, *extra, *FAST]) == 2
    line = one_line(capsys)
    assert f"is the {what}" in line and "never writes over its inputs" in line
    assert files(images) == before


@pytest.mark.parametrize("argv,needle", [
    (["one.png", "-o", "o.png"], "one.png is 1x1"),
    (["img.png", "-o", "o.png", "--task", "inpaint", "--mask", "gray127.png"], "brightest value is 127 of 255"),
    (["img.png", "-o", "o.png", "--threads", "0"], "--threads 0"),
    (["img.png", "-o", LONG + ".png"], "the file system allows 255"),
    (["img.png", "-o", ""], "empty")])
def test_restore_bad_input_creates_nothing_not_even_the_snapshots_folder(images, monkeypatch, capsys, argv, needle):
    monkeypatch.chdir(images)
    before = files(images)
    assert code(["restore", *argv, "--snapshots", "snaps", *FAST]) == 2
    line = one_line(capsys)
    assert needle in line and "all black" not in line, line
    assert files(images) == before and not (images / "snaps").exists()


def test_restore_threads_beyond_the_cores_are_clamped_or_refused_in_one_line(images, monkeypatch, capsys):
    monkeypatch.chdir(images)
    assert code(["restore", "img.png", "-o", "o.png", "--threads", "1000000", *FAST]) == 2  # past any machine
    assert "--threads 1000000" in one_line(capsys) and not (images / "o.png").exists()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert main(["restore", "img.png", "-o", "o.png", "--threads", str(cores + 1), *FAST]) == 0  # no libgomp crash
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"genlab: --threads {cores + 1} is more than the {cores} cores this process may use; using {cores}"]
    assert (images / "o.png").is_file()
